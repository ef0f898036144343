"""gpugrad against PyTorch: values, gradients, second derivatives, node names, dtype
promotion and error messages of the same programs, written once for both libraries.

Each program takes the library module ``L`` (``torch`` or ``gpugrad``) first, so the same
code runs on both; inputs come from seeded NumPy generators.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gpugrad as gg  # noqa: E402

LIBS = {"torch": torch, "gpugrad": gg}
TOLERANCE = {"float64": {"rtol": 1e-9, "atol": 1e-11}, "float32": {"rtol": 2e-4, "atol": 2e-5}}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def _dtype_name(t) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _assert_same(ours, theirs, dtype: str, what: str) -> None:
    assert (ours is None) == (theirs is None), what
    if ours is None:
        return
    assert tuple(ours.shape) == tuple(theirs.shape), what
    assert _dtype_name(ours) == _dtype_name(theirs), what
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), err_msg=what, **TOLERANCE[dtype])


def _leaves(L, arrays: list[np.ndarray], dtype: str) -> list:
    return [L.tensor(a, dtype=getattr(L, dtype), requires_grad=True) for a in arrays]


def _outputs(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


# --- inputs -----------------------------------------------------------------------------
def N(*shape):  # noqa: N802 - short spec names keep the table readable
    return lambda rng: rng.standard_normal(shape)


def P(*shape):  # noqa: N802
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def V(*values):  # noqa: N802
    return lambda rng: np.array(values, dtype=np.float64)


def NZ(*shape):  # noqa: N802
    return lambda rng: rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@dataclass(frozen=True)
class Program:
    name: str
    fn: Callable
    inputs: tuple
    second_order: bool = True


def program(name, fn, *inputs, second_order=True) -> Program:
    return Program(name, fn, inputs, second_order)


PROGRAMS = [
    program(
        "elementwise_chain",
        lambda L, x, y: (x.sin() * y.exp() + x.tanh() / (1 + y * y)).sigmoid(),
        N(3, 4),
        N(3, 4),
    ),
    program(
        "unary_zoo",
        lambda L, x, p: (
            (x.cos() + p.log() + p.sqrt() - p.rsqrt() + x.expm1() + p.log1p() + x.tan() * 0.1)
            * p.reciprocal()
        ),
        NZ(2, 5),
        P(2, 5),
    ),
    program(
        "broadcast_chain",
        lambda L, x, y: ((x * y - x.exp()) ** 2 / (y.abs() + 1)).sum(0),
        N(3, 1),
        NZ(1, 4),
    ),
    program(
        "scalar_operands",
        lambda L, x, y: 1.0 - x / (2.0 + y * y) + 3 / (x * x + 1) - 2 * y + y / 4,
        N(2, 3),
        N(2, 3),
    ),
    program(
        "zero_dim_operands",
        lambda L, s, x: (s * x + s.exp() - x / (s * s + 1)).sum() * s,
        N(),
        N(4),
    ),
    program(
        "pow_family",
        lambda L, x, y: x.abs() ** 1.5 + 2.0**y + (x * x + 1) ** y + y**3 + x**-2,
        NZ(3, 4),
        N(3, 4),
    ),
    program(
        "rpow_special_bases",
        lambda L, y: 0.0**y + (-2.0) ** y + 1.0**y,
        V(1.0, 0.0, -1.0, 2.5),
        second_order=False,
    ),
    program("pow_tensor_broadcast", lambda L, x, y: L.pow(x, y).sum(), P(3, 1), N(4)),
    program(
        "kinks",
        lambda L, x, y: (
            (x.relu() + x.abs() * x.sign() + x.clamp(-0.5, 0.5) + y.clamp(min=0.1) + y.clamp(max=0))
            * y
        ),
        NZ(3, 4),
        NZ(3, 4),
    ),
    program(
        "where_maximum_minimum",
        lambda L, x, y: (
            L.where(x > y, x.sin(), y * 2)
            + L.maximum(x, y) * L.minimum(x, y * 0.5)
            + L.where(x > 0, x, 0.0)
        ),
        N(3, 4),
        N(3, 4),
    ),
    program(
        "linear_relu",
        lambda L, a, w, b: (a @ w + b).relu().sum(1),
        N(2, 3),
        N(3, 4),
        N(4),
    ),
    program(
        "mlp_log_softmax",
        lambda L, x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).log_softmax(-1),
        N(5, 3),
        N(3, 6),
        N(6),
        N(6, 4),
    ),
    program(
        "cross_entropy",
        lambda L, x: -(x.log_softmax(1)[L.arange(4), L.tensor([0, 2, 1, 2])]).mean(),
        N(4, 3),
    ),
    program(
        "attention",
        lambda L, q, k, v: ((q @ k.transpose(-2, -1)) / 2).softmax(-1) @ v,
        N(2, 3, 4),
        N(2, 5, 4),
        N(2, 5, 2),
    ),
    program(
        "layer_norm",
        lambda L, x, g, b: (
            (
                (x - x.mean(-1, keepdim=True))
                / (x.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt()
            )
            * g
            + b
        ),
        N(3, 5),
        N(5),
        N(5),
    ),
    program(
        "reductions",
        lambda L, x: (
            x.logsumexp(1)
            - x.amax(1)
            + x.max(0).values.sum()
            + x.min(1)[0]
            + x.amin(0).sum()
            + x.max()
            - x.min()
            + x.sum()
            + x.mean((0, 1))
        ),
        N(3, 4),
    ),
    program(
        "reductions_keepdim",
        lambda L, x: (
            x.sum((0, 2), keepdim=True) * x.mean(1, keepdim=True)
            + x.amin(-1, keepdim=True)
            + x.std(1, keepdim=True)
            + x.var((0, 1), keepdim=True, correction=0)
            + x.logsumexp((1, 2), keepdim=True)
        ),
        N(2, 3, 4),
    ),
    program(
        "std_var_prod",
        lambda L, x, y: x.std(0) * x.var() + y.prod(1).sum() + y.prod() + x.std(),
        N(3, 4),
        NZ(2, 3),
    ),
    program(
        "softmax_cumsum_flip",
        lambda L, x: x.softmax(0) * x.log_softmax(-1) + x.cumsum(1).flip(0) + x.cumsum(0),
        N(3, 4),
    ),
    program(
        "basic_indexing",
        lambda L, x: x[1:, ::2] * 2 + x[[0, 0, 2]].sum(0)[::2] + x[-1][1:3] + x[:2, 0, None],
        N(3, 4),
        second_order=False,
    ),
    program(
        "advanced_indexing",
        lambda L, x: (
            x[L.tensor([0, 1, 0, 0])] * x[:, [3, 3, 0, 1]][[2, 0, 1, 1]]
            + x[L.tensor([2, 0, 1, 1]), L.tensor([1, 1, 3, 0])]
            + x[1, [0, 2, 2, 3]]
        ),
        N(3, 4),
    ),
    program(
        "boolean_masks",
        lambda L, x: (
            x[x > 0].exp().sum() * x[..., -1].sum()
            + x[L.tensor([True, False, True])].sin().sum()
            + x[:, [True, False, False, True]].sum()
        ),
        NZ(3, 4),
    ),
    program(
        "cat_stack_split_chunk",
        lambda L, x, y: (
            L.cat([x.split(2, 1)[1].exp(), y * 3], 0).sum(1)
            + L.stack([x, x * y.sum()], 0).sum((0, 2)).sum()
            + L.cat(x.chunk(3, 0)[::-1], 1)[0, :6]
            + L.stack(x.chunk(2, 1), -1).sum((0, 1))[:1]
        ),
        N(3, 4),
        N(3, 2),
    ),
    program(
        "shape_gymnastics",
        lambda L, x: (
            (
                x.reshape(4, 6).t().unsqueeze(0).expand(2, 6, 4).permute(1, 0, 2).flatten(1)
                * x.view(-1)[:8]
            ).squeeze()
            + x.transpose(0, 2).reshape(24, 1).mT[0][::3]
            + x[0].T.contiguous().reshape(-1)[:8]
        ),
        N(2, 3, 4),
    ),
    program(
        "expand_broadcast_to",
        lambda L, x, y: x.expand_as(y) * y + L.broadcast_to(x, (3, 4)) * 2 + x.expand(-1, 4),
        N(3, 1),
        N(3, 4),
    ),
    program(
        "matmul_shapes",
        lambda L, v, m, b, c: (
            (v @ m).sum()
            + (m.mT @ v).sum()
            + (b @ c).sum((0, 1))
            + (v @ b).sum(0)
            + (b.mT @ v).sum()
            + (b @ m.mT).sum((0, 1))[:1]
        ),
        N(3),
        N(3, 4),
        N(2, 3, 4),
        N(2, 4, 4),
    ),
    program(
        "matmul_broadcast_batch",
        lambda L, a, b: (a @ b).exp().sum(),
        N(2, 1, 3, 4),
        N(3, 4, 2),
    ),
    program(
        "mm_bmm_mv_dot_outer",
        lambda L, a, b, v: (
            L.mm(a, b).sum(0)
            + L.bmm(a.unsqueeze(0).expand(2, 3, 4), b.unsqueeze(0).expand(2, 4, 3)).sum((0, 1))
            + L.mv(a, v).sum()
            + L.dot(v, v)
            + L.outer(v, v[:3]).sum(0)
            + a.matmul(v).sum()
        ),
        N(3, 4),
        N(4, 3),
        N(4),
    ),
    program(
        "clone_and_casts",
        lambda L, x, y: (
            (x.clone() * y).double().exp().float() * y + (x.to(L.float32) * 0.5 + 1).double()
        ),
        N(3),
        N(3),
    ),
    program("sum_to_size", lambda L, x: x.exp().sum_to_size(1, 4) * x[0], N(3, 4)),
]


def _run(L, prog: Program, dtype: str):
    rng = _rng(prog.name)
    arrays = [make(rng) for make in prog.inputs]
    leaves = _leaves(L, arrays, dtype)
    outputs = _outputs(prog.fn(L, *leaves))
    weights = _rng(prog.name + "/weights")
    loss = None
    for out in outputs:
        w = L.tensor(weights.standard_normal(tuple(out.shape)), dtype=out.dtype)
        term = (out * w).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    return outputs, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("prog", PROGRAMS, ids=lambda p: p.name)
def test_values_and_gradients_match_torch(prog: Program, dtype: str) -> None:
    ours, our_grads = _run(gg, prog, dtype)
    theirs, their_grads = _run(torch, prog, dtype)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        _assert_same(a, b, dtype, f"output {k}")
    for i, (a, b) in enumerate(zip(our_grads, their_grads)):
        _assert_same(a, b, dtype, f"grad of input {i}")


def _second_order(L, prog: Program, dtype: str):
    rng = _rng(prog.name)
    leaves = _leaves(L, [make(rng) for make in prog.inputs], dtype)
    loss = sum(o.sum() for o in _outputs(prog.fn(L, *leaves)))
    grads = L.autograd.grad(loss, leaves, create_graph=True)
    weights = _rng(prog.name + "/second")
    h = sum(
        (g * L.tensor(weights.standard_normal(tuple(g.shape)), dtype=g.dtype)).sum() + (g * g).sum()
        for g in grads
    )
    second = L.autograd.grad(h, leaves, allow_unused=True)
    return grads, [L.zeros_like(x) if s is None else s for x, s in zip(leaves, second)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("prog", [p for p in PROGRAMS if p.second_order], ids=lambda p: p.name)
def test_second_derivatives_match_torch(prog: Program, dtype: str) -> None:
    ours, our_second = _second_order(gg, prog, dtype)
    theirs, their_second = _second_order(torch, prog, dtype)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        _assert_same(a, b, dtype, f"first derivative for input {i}")
    for i, (a, b) in enumerate(zip(our_second, their_second)):
        _assert_same(a, b, dtype, f"second derivative for input {i}")


def test_mixed_dtype_gradients_keep_each_tensor_dtype() -> None:
    def run(L):
        x = L.tensor([0.5, -1.0, 2.0], dtype=L.float32, requires_grad=True)
        y = L.tensor([1.5, 0.25, -0.75], dtype=L.float64, requires_grad=True)
        s = L.tensor(3.0, dtype=L.float64, requires_grad=True)
        a = x.sin()
        seen = []
        a.register_hook(lambda g: seen.append(_dtype_name(g)))
        out = (
            (a * y).sin()
            + a * s
            + L.where(a > 0, a, y)
            + L.cat([a, y]).sum()
            + L.stack([a, y]).sum(0)
            + a.sum(dtype=L.float64)
        )
        out.sum().backward()
        return out, [x.grad, y.grad, s.grad], seen

    ours, our_grads, our_seen = run(gg)
    theirs, their_grads, their_seen = run(torch)
    _assert_same(ours, theirs, "float32", "output")
    for i, (a, b) in enumerate(zip(our_grads, their_grads)):
        _assert_same(a, b, "float32", f"grad of input {i}")
    assert our_seen == their_seen == ["float32"]


def test_mixed_dtype_second_derivatives_match_torch() -> None:
    def run(L):
        x = L.tensor([[0.5, -1.0, 2.0]], dtype=L.float32, requires_grad=True)
        y = L.tensor([[1.5], [0.25]], dtype=L.float64, requires_grad=True)
        f = (
            (x * y).sin()
            + L.where(x > 0, x, y) ** 2
            + L.cat([x, x * 2]).exp() * y
            + L.stack([x[0], x[0]]).sum() * y
        ).sum()
        gx, gy = L.autograd.grad(f, (x, y), create_graph=True)
        return [gx, gy, *L.autograd.grad((gx * gx).sum() + (gy**3).sum(), (x, y))]

    for k, (a, b) in enumerate(zip(run(gg), run(torch))):
        _assert_same(a, b, "float32", f"derivative {k}")


# --- random compositions ----------------------------------------------------------------
CHAIN_STEPS: dict[str, Callable] = {
    "sin": lambda L, s, x, y, b, w: s.sin(),
    "tanh": lambda L, s, x, y, b, w: s.tanh(),
    "sigmoid": lambda L, s, x, y, b, w: s.sigmoid(),
    "exp_tanh": lambda L, s, x, y, b, w: s.tanh().exp(),
    "soft_abs": lambda L, s, x, y, b, w: (s * s + 1).sqrt(),
    "log1p_square": lambda L, s, x, y, b, w: (s * s).log1p(),
    "relu": lambda L, s, x, y, b, w: s.relu(),
    "clamp": lambda L, s, x, y, b, w: s.clamp(-0.5, 0.5),
    "neg_abs": lambda L, s, x, y, b, w: -s.abs(),
    "half_square": lambda L, s, x, y, b, w: s * s * 0.5,
    "add_x": lambda L, s, x, y, b, w: s + x,
    "mul_y": lambda L, s, x, y, b, w: s * y,
    "div_y": lambda L, s, x, y, b, w: s / (1 + y * y),
    "rsub": lambda L, s, x, y, b, w: 1.5 - s,
    "maximum_y": lambda L, s, x, y, b, w: L.maximum(s, y),
    "where_x": lambda L, s, x, y, b, w: L.where(s > x, s, x * 0.5),
    "pow_y": lambda L, s, x, y, b, w: (s * s + 1) ** (y * 0.5),
    "add_row": lambda L, s, x, y, b, w: s + b,
    "mul_row": lambda L, s, x, y, b, w: s * b,
    "matmul_w": lambda L, s, x, y, b, w: (s @ w) * 0.5,
    "gram": lambda L, s, x, y, b, w: (s @ s.t() @ s) * 0.1,
    "center": lambda L, s, x, y, b, w: s - s.mean(1, keepdim=True),
    "normalize": lambda L, s, x, y, b, w: s / (s.std(1, keepdim=True) + 1),
    "softmax": lambda L, s, x, y, b, w: s.softmax(-1),
    "log_softmax": lambda L, s, x, y, b, w: s.log_softmax(0),
    "minus_logsumexp": lambda L, s, x, y, b, w: s - s.logsumexp(1, keepdim=True),
    "minus_amax": lambda L, s, x, y, b, w: s - s.amax(0, keepdim=True),
    "cumsum": lambda L, s, x, y, b, w: s.cumsum(1) * 0.3,
    "flip": lambda L, s, x, y, b, w: s.flip(0),
    "permute_columns": lambda L, s, x, y, b, w: s[:, [3, 0, 2, 1]],
    "repeat_rows": lambda L, s, x, y, b, w: s[[2, 0, 0]] + s[L.tensor([1, 1, 2])],
    "swap_halves": lambda L, s, x, y, b, w: L.cat(s.split(2, 1)[::-1], 1),
    "stack_sum": lambda L, s, x, y, b, w: L.stack([s, y]).sum(0),
    "transpose_twice": lambda L, s, x, y, b, w: s.t().reshape(4, 3).t() + s.T.mT,
}


def _chain(L, seed: int, steps: list[str], dtype: str):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in ((3, 4), (3, 4), (3, 4), (4,), (4, 4))]
    s0, x, y, b, w = _leaves(L, arrays, dtype)
    s = s0
    for step in steps:
        s = CHAIN_STEPS[step](L, s, x, y, b, w)
    (s * L.tensor(rng.standard_normal((3, 4)), dtype=s.dtype)).sum().backward()
    return s, [t.grad for t in (s0, x, y, b, w)]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**16),
    steps=st.lists(st.sampled_from(sorted(CHAIN_STEPS)), min_size=1, max_size=6),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_random_compositions_match_torch(seed: int, steps: list[str], dtype: str) -> None:
    ours, our_grads = _chain(gg, seed, steps, dtype)
    theirs, their_grads = _chain(torch, seed, steps, dtype)
    tol = TOLERANCE[dtype] if dtype == "float64" else {"rtol": 1e-3, "atol": 1e-4}
    assert _dtype_name(ours) == _dtype_name(theirs)
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), **tol)
    for a, b in zip(our_grads, their_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(_numpy(a), _numpy(b), **tol)


# --- node names -------------------------------------------------------------------------
FLOATING_METHODS = [
    "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid",
    "reciprocal",
]  # fmt: skip
UNARY_AND_REDUCTION_METHODS = FLOATING_METHODS + [
    "relu", "abs", "sign", "clone", "sum", "mean", "prod", "max", "min", "amax", "amin", "var",
    "std",
]  # fmt: skip


def _method(name: str) -> Callable:
    return lambda L, x, v, b: getattr(x, name)()


def _method_of_ints(name: str) -> Callable:
    return lambda L: getattr(L.tensor([1, 2]), name)()


NODE_NAMES: list[tuple[str, Callable]] = [
    ("add", lambda L, x, v, b: x + v),
    ("add_scalar", lambda L, x, v, b: x + 1),
    ("radd_scalar", lambda L, x, v, b: 1 + x),
    ("sub", lambda L, x, v, b: x - v),
    ("rsub", lambda L, x, v, b: 2 - x),
    ("mul", lambda L, x, v, b: x * v),
    ("div", lambda L, x, v, b: x / v),
    ("rdiv", lambda L, x, v, b: 2 / x),
    ("neg", lambda L, x, v, b: -x),
    ("pow_scalar", lambda L, x, v, b: x**2),
    ("pow_tensor", lambda L, x, v, b: x**v),
    ("rpow", lambda L, x, v, b: 2**x),
    ("matmul_1d_1d", lambda L, x, v, b: v @ v),
    ("matmul_2d_1d", lambda L, x, v, b: x @ v),
    ("matmul_1d_2d", lambda L, x, v, b: v[:3] @ x),
    ("matmul_2d_2d", lambda L, x, v, b: x @ x.t()),
    ("matmul_3d_3d", lambda L, x, v, b: b @ b.mT),
    ("matmul_3d_2d", lambda L, x, v, b: b @ x.t()),
    ("matmul_1d_3d", lambda L, x, v, b: v[:3] @ b),
    ("matmul_3d_1d", lambda L, x, v, b: b @ v),
    ("mm", lambda L, x, v, b: L.mm(x, x.t())),
    ("bmm", lambda L, x, v, b: L.bmm(b, b.mT)),
    ("mv", lambda L, x, v, b: L.mv(x, v)),
    ("dot", lambda L, x, v, b: L.dot(v, v)),
    ("outer", lambda L, x, v, b: L.outer(v, v)),
    *[(name, _method(name)) for name in UNARY_AND_REDUCTION_METHODS],
    ("clamp", lambda L, x, v, b: x.clamp(-0.5, 0.5)),
    ("clamp_min", lambda L, x, v, b: x.clamp(min=0)),
    ("maximum", lambda L, x, v, b: L.maximum(x, v)),
    ("minimum", lambda L, x, v, b: L.minimum(x, v)),
    ("where", lambda L, x, v, b: L.where(x > 0, x, v)),
    ("where_scalar", lambda L, x, v, b: L.where(x > 0, x, 0.0)),
    ("sum_dim", lambda L, x, v, b: x.sum(1)),
    ("sum_dims", lambda L, x, v, b: x.sum((0, 1))),
    ("mean_dim", lambda L, x, v, b: x.mean(0, keepdim=True)),
    ("prod_dim", lambda L, x, v, b: x.prod(1)),
    ("max_dim", lambda L, x, v, b: x.max(1).values),
    ("min_dim", lambda L, x, v, b: x.min(0)[0]),
    ("amax_dim", lambda L, x, v, b: x.amax(1)),
    ("var_dim", lambda L, x, v, b: x.var(1)),
    ("std_dim", lambda L, x, v, b: x.std(0)),
    ("logsumexp", lambda L, x, v, b: x.logsumexp(1)),
    ("cumsum", lambda L, x, v, b: x.cumsum(1)),
    ("softmax", lambda L, x, v, b: x.softmax(1)),
    ("log_softmax", lambda L, x, v, b: x.log_softmax(1)),
    ("flip", lambda L, x, v, b: x.flip(0)),
    ("reshape", lambda L, x, v, b: x.reshape(12)),
    ("reshape_copy", lambda L, x, v, b: x.t().reshape(12)),
    ("view", lambda L, x, v, b: x.view(2, 6)),
    ("flatten", lambda L, x, v, b: b.flatten()),
    ("squeeze", lambda L, x, v, b: x.unsqueeze(0).squeeze()),
    ("squeeze_dim", lambda L, x, v, b: x.unsqueeze(0).squeeze(0)),
    ("squeeze_dims", lambda L, x, v, b: x.unsqueeze(0).squeeze((0,))),
    ("unsqueeze", lambda L, x, v, b: x.unsqueeze(1)),
    ("transpose", lambda L, x, v, b: b.transpose(0, 2)),
    ("t", lambda L, x, v, b: x.t()),
    ("T", lambda L, x, v, b: x.T),
    ("mT", lambda L, x, v, b: b.mT),
    ("permute", lambda L, x, v, b: b.permute(2, 0, 1)),
    ("expand", lambda L, x, v, b: v.expand(3, 4)),
    ("expand_as", lambda L, x, v, b: v.expand_as(x)),
    ("broadcast_to", lambda L, x, v, b: L.broadcast_to(v, (2, 4))),
    ("sum_to_size", lambda L, x, v, b: x.sum_to_size(1, 4)),
    ("contiguous", lambda L, x, v, b: x.t().contiguous()),
    ("cat", lambda L, x, v, b: L.cat([x, x])),
    ("stack", lambda L, x, v, b: L.stack([v, v])),
    ("select", lambda L, x, v, b: x[0]),
    ("select_last", lambda L, x, v, b: x[..., 0]),
    ("select_after_slice", lambda L, x, v, b: x[1:, 0]),
    ("slice", lambda L, x, v, b: x[1:]),
    ("slice_columns", lambda L, x, v, b: x[:, ::2]),
    ("slice_after_select", lambda L, x, v, b: x[0, 1:]),
    ("full_slice", lambda L, x, v, b: x[:]),
    ("none", lambda L, x, v, b: x[None]),
    ("none_after_slice", lambda L, x, v, b: x[:, None]),
    ("index_tensor", lambda L, x, v, b: x[L.tensor([0, 2, 0])]),
    ("index_list", lambda L, x, v, b: x[[0, 1]]),
    ("index_0d_tensor", lambda L, x, v, b: x[L.tensor(1)]),
    ("index_mask", lambda L, x, v, b: x[x > 0]),
    ("split", lambda L, x, v, b: x.split(2)[1]),
    ("chunk", lambda L, x, v, b: x.chunk(2, 1)[0]),
    ("ellipsis", lambda L, x, v, b: x[...]),
    ("none_after_select", lambda L, x, v, b: x[0, None]),
    ("to_float32", lambda L, x, v, b: x.to(L.float32)),
    ("double", lambda L, x, v, b: x.float().double()),
]


def _node_inputs(L):
    rng = _rng("node names")
    arrays = [rng.uniform(0.5, 2.0, s) for s in ((3, 4), (4,), (2, 3, 4))]
    return _leaves(L, arrays, "float64")


def _node_name(t) -> str:
    shown = re.search(r"grad_fn=<(\w+)>", repr(t)).group(1)
    assert shown == t.grad_fn.name()
    return shown


@pytest.mark.parametrize("case", NODE_NAMES, ids=lambda c: c[0])
def test_node_names_match_torch(case) -> None:
    _, fn = case
    assert _node_name(fn(gg, *_node_inputs(gg))) == _node_name(fn(torch, *_node_inputs(torch)))


def test_next_functions_of_a_small_graph_match_torch() -> None:
    def names(L):
        x, v, _ = _node_inputs(L)
        out = (x * v).sin().sum()
        node = out.grad_fn
        chain = []
        while node is not None:
            chain.append(node.name())
            nexts = [n for n, _ in node.next_functions if n is not None]
            node = nexts[0] if nexts else None
        return chain

    assert names(gg) == names(torch)


# --- dtype promotion --------------------------------------------------------------------
PROMOTIONS: list[tuple[str, Callable]] = [
    ("float32_times_float", lambda L: L.ones(3, dtype=L.float32) * 2.5),
    ("float32_times_int", lambda L: L.ones(3, dtype=L.float32) * 2),
    ("float16_times_float", lambda L: L.ones(2, dtype=L.float16) * 2.5),
    ("int_plus_float", lambda L: L.tensor([1, 2]) + 1.5),
    ("int_plus_int", lambda L: L.tensor([1, 2]) + 1),
    ("int8_plus_int", lambda L: L.tensor([1, 2], dtype=L.int8) + 1),
    ("float_minus_int_tensor", lambda L: 1.5 - L.tensor([4, 2])),
    ("int_minus_int_tensor", lambda L: 1 - L.tensor([4, 2])),
    ("int_div_int", lambda L: L.tensor([1, 2]) / L.tensor([3, 4])),
    ("int32_div_int", lambda L: L.tensor([1, 2], dtype=L.int32) / 2),
    ("int_rdiv", lambda L: 3 / L.tensor([4, 2])),
    ("int_0d_div_int_0d", lambda L: L.tensor(2) / L.tensor(3)),
    ("float32_plus_float64_0d", lambda L: L.ones(3) + L.tensor(1.0, dtype=L.float64)),
    ("float64_0d_plus_float32_0d", lambda L: L.tensor(1.0, dtype=L.float64) + L.tensor(1.0)),
    ("int_plus_float64_0d", lambda L: L.tensor([1, 2]) + L.tensor(1.5, dtype=L.float64)),
    ("float16_plus_float64_0d", lambda L: L.ones(2, dtype=L.float16) + L.tensor(2.0).double()),
    ("float32_plus_int_0d", lambda L: L.ones(2) + L.tensor(1)),
    ("int8_times_int64_0d", lambda L: L.tensor([1, 2], dtype=L.int8) * L.tensor(3)),
    ("float32_plus_float64", lambda L: L.ones(2) + L.ones(2, dtype=L.float64)),
    ("float16_plus_float32", lambda L: L.ones(2, dtype=L.float16) + L.ones(2)),
    ("uint8_plus_int8", lambda L: L.tensor([1], dtype=L.uint8) + L.tensor([1], dtype=L.int8)),
    ("int32_plus_int64", lambda L: L.tensor([1], dtype=L.int32) + L.tensor([1])),
    ("bool_plus_bool", lambda L: L.tensor([True]) + L.tensor([True])),
    ("bool_plus_int", lambda L: L.tensor([True]) + 1),
    ("bool_times_float", lambda L: L.tensor([True]) * 1.5),
    ("bool_plus_uint8", lambda L: L.tensor([True]) + L.tensor([2], dtype=L.uint8)),
    ("int_pow_float", lambda L: L.tensor([1, 2]) ** 2.5),
    ("int_pow_int", lambda L: L.tensor([1, 2]) ** 2),
    ("int_rpow_int", lambda L: 2 ** L.tensor([1, 2])),
    ("int_rpow_float", lambda L: 2.0 ** L.tensor([1, 2])),
    ("int_pow_float_tensor", lambda L: L.tensor([1, 2, 3]).pow(L.tensor([2.0]))),
    (
        "where_mixed_floats",
        lambda L: L.where(L.tensor([True, False]), L.ones(2), L.zeros(2).double()),
    ),
    ("where_float32_scalar", lambda L: L.where(L.tensor([True, False]), L.ones(2), 2.0)),
    ("where_int_float_scalar", lambda L: L.where(L.tensor([True, False]), L.tensor([1, 2]), 2.5)),
    ("where_int_int_scalar", lambda L: L.where(L.tensor([True, False]), 3, L.tensor([1, 2]))),
    ("where_two_scalars", lambda L: L.where(L.tensor([True, False]), 1.5, 0)),
    ("where_two_int_scalars", lambda L: L.where(L.tensor([True, False]), 1, 0)),
    ("cat_mixed", lambda L: L.cat([L.ones(2), L.ones(2, dtype=L.float64)])),
    ("stack_int_float", lambda L: L.stack([L.ones(2, dtype=L.int32), L.ones(2)])),
    ("maximum_int_float", lambda L: L.maximum(L.tensor([1, 2]), L.ones(2))),
    ("clamp_int_float", lambda L: L.tensor([1, 2]).clamp(min=0.5)),
    ("clamp_int_int", lambda L: L.tensor([1, 2]).clamp(min=0)),
    ("sum_int32", lambda L: L.tensor([1, 2], dtype=L.int32).sum()),
    ("sum_bool", lambda L: L.tensor([True, False]).sum()),
    ("sum_as_float64", lambda L: L.ones(3).sum(dtype=L.float64)),
    ("sum_float_as_int", lambda L: L.tensor([1.5, 2.5]).sum(dtype=L.int64)),
    ("sum_int_as_float", lambda L: L.tensor([1, 2]).sum(0, dtype=L.float32)),
    ("prod_int32", lambda L: L.tensor([1, 2], dtype=L.int32).prod()),
    ("cumsum_int32", lambda L: L.tensor([1, 2], dtype=L.int32).cumsum(0)),
    ("max_int32", lambda L: L.tensor([1, 2], dtype=L.int32).max()),
    ("amax_int32", lambda L: L.tensor([1, 2], dtype=L.int32).amax()),
    ("neg_int32", lambda L: -L.tensor([1, 2], dtype=L.int32)),
    ("abs_int", lambda L: L.tensor([1, -2]).abs()),
    ("sign_int", lambda L: L.tensor([1, -2]).sign()),
    ("relu_int", lambda L: L.tensor([1, -2]).relu()),
    ("compare", lambda L: L.tensor([1, 2]) > 1),
    ("float_of_int", lambda L: L.tensor([1, 2]).float()),
    ("long_of_float", lambda L: L.tensor([1.5]).long()),
    ("double_times_float32", lambda L: L.tensor([1.0]).double() * L.tensor([2.0])),
    ("logsumexp_int", lambda L: L.tensor([1, 2]).logsumexp(0)),
    ("matmul_float64", lambda L: L.ones(2, 2).double() @ L.ones(2).double()),
    *[(f"{name}_int", _method_of_ints(name)) for name in FLOATING_METHODS],
    ("exp_bool", lambda L: L.tensor([True, False]).exp()),
    ("sqrt_int32", lambda L: L.tensor([4], dtype=L.int32).sqrt()),
]


@pytest.mark.parametrize("case", PROMOTIONS, ids=lambda c: c[0])
def test_dtype_promotion_matches_torch(case) -> None:
    _, fn = case
    ours, theirs = fn(gg), fn(torch)
    assert _dtype_name(ours) == _dtype_name(theirs)
    np.testing.assert_allclose(_numpy(ours).astype(float), _numpy(theirs).astype(float), rtol=1e-6)


# --- error messages ---------------------------------------------------------------------
ERRORS: list[tuple[str, Callable]] = [
    ("add_shapes", lambda L: L.ones(3) + L.ones(4)),
    ("mul_shapes_2d", lambda L: L.ones(2, 3) * L.ones(3, 2)),
    ("sub_shapes_3d", lambda L: L.ones(2, 3) - L.ones(4, 1, 2)),
    ("compare_shapes", lambda L: L.ones(3) > L.ones(4)),
    ("maximum_shapes", lambda L: L.maximum(L.ones(3), L.ones(2))),
    ("where_shapes", lambda L: L.where(L.ones(3) > 0, L.ones(3), L.ones(2))),
    ("where_condition_shape", lambda L: L.where(L.ones(2) > 0, L.ones(3), L.ones(3))),
    ("where_shapes_3d", lambda L: L.where(L.ones(2, 1) > 0, L.ones(3), L.ones(4, 1, 1, 2))),
    ("matmul_2d", lambda L: L.ones(2, 3) @ L.ones(4, 5)),
    ("matmul_1d", lambda L: L.ones(3) @ L.ones(4)),
    ("matmul_2d_1d", lambda L: L.ones(2, 3) @ L.ones(4)),
    ("matmul_1d_2d", lambda L: L.ones(3) @ L.ones(4, 5)),
    ("matmul_0d", lambda L: L.ones(3) @ L.tensor(2.0)),
    ("matmul_dtypes", lambda L: L.ones(2, 3) @ L.ones(3, 2, dtype=L.float64)),
    ("mm_shapes", lambda L: L.mm(L.ones(2, 3), L.ones(4, 5))),
    ("mm_vector", lambda L: L.mm(L.ones(3), L.ones(3, 2))),
    ("mm_vector_mat2", lambda L: L.mm(L.ones(2, 3), L.ones(3))),
    ("mv_shapes", lambda L: L.mv(L.ones(2, 3), L.ones(4))),
    ("mv_ranks", lambda L: L.mv(L.ones(3), L.ones(3))),
    ("bmm_shapes", lambda L: L.bmm(L.ones(2, 2, 3), L.ones(2, 4, 5))),
    ("bmm_rank", lambda L: L.bmm(L.ones(2, 3), L.ones(2, 3, 5))),
    ("dot_shapes", lambda L: L.dot(L.ones(3), L.ones(4))),
    ("dot_rank", lambda L: L.dot(L.ones(3, 1), L.ones(3))),
    ("dot_dtypes", lambda L: L.dot(L.ones(3), L.ones(3, dtype=L.float64))),
    ("view_size", lambda L: L.ones(3, 4).view(5)),
    ("view_inferred", lambda L: L.ones(3, 4).view(-1, 5)),
    ("view_two_inferred", lambda L: L.ones(3, 4).view(-1, -1)),
    ("view_non_contiguous", lambda L: L.ones(3, 4).t().view(12)),
    ("reshape_size", lambda L: L.ones(3, 4).reshape(5, -1)),
    ("index_out_of_range", lambda L: L.ones(3)[5]),
    ("index_out_of_range_dim1", lambda L: L.ones(3, 4)[0, 7]),
    ("index_negative_out_of_range", lambda L: L.ones(3, 4)[-4]),
    ("index_tensor_out_of_range", lambda L: L.ones(3)[L.tensor([0, 5])]),
    ("index_list_out_of_range", lambda L: L.ones(3)[[0, 3]]),
    ("index_too_many", lambda L: L.ones(3)[0, 0]),
    ("index_0d", lambda L: L.tensor(1.0)[0]),
    ("index_float_tensor", lambda L: L.ones(3)[L.tensor([1.0])]),
    ("requires_grad_int", lambda L: L.tensor([1, 2], requires_grad=True)),
    ("requires_grad_int_factory", lambda L: L.ones(3, dtype=L.int64, requires_grad=True)),
    ("requires_grad_arange", lambda L: L.arange(3, requires_grad=True)),
    ("dim_out_of_range", lambda L: L.ones(3, 4).sum(-3)),
    ("softmax_dim", lambda L: L.ones(3, 4).softmax(2)),
    ("unsqueeze_dim", lambda L: L.ones(3, 4).unsqueeze(3)),
    ("transpose_dim", lambda L: L.ones(3, 4).transpose(0, 2)),
    ("flatten_dim", lambda L: L.ones(3, 4).flatten(2)),
    ("flatten_order", lambda L: L.ones(2, 3).flatten(1, 0)),
    ("permute_length", lambda L: L.ones(3, 4).permute(0)),
    ("permute_duplicate", lambda L: L.ones(3, 4).permute(0, 0)),
    ("permute_dim", lambda L: L.ones(2, 3).permute(0, 2)),
    ("expand_size", lambda L: L.ones(3, 4).expand(2, 3)),
    ("expand_size_last", lambda L: L.ones(3, 4).expand(3, 5)),
    ("expand_leading_minus_one", lambda L: L.ones(3).expand(-1, 3)),
    ("cat_sizes", lambda L: L.cat([L.ones(2, 3), L.ones(2, 4)])),
    ("cat_ranks", lambda L: L.cat([L.ones(2, 3), L.ones(3)])),
    ("stack_sizes", lambda L: L.stack([L.ones(2, 3), L.ones(3, 2)])),
    ("split_zero", lambda L: L.ones(2, 3).split(0)),
    ("chunk_zero", lambda L: L.ones(3).chunk(0)),
    ("mean_int", lambda L: L.tensor([1, 2]).mean()),
    ("mean_int32", lambda L: L.tensor([1, 2], dtype=L.int32).mean()),
    ("mean_uint8", lambda L: L.tensor([1], dtype=L.uint8).mean()),
    ("var_int", lambda L: L.tensor([1, 2]).var()),
    ("std_bool", lambda L: L.tensor([True]).std()),
    ("max_empty", lambda L: L.ones(0).max()),
    ("mT_1d", lambda L: L.ones(3).mT),
    ("t_3d", lambda L: L.ones(2, 3, 4).t()),
    ("clamp_no_bounds", lambda L: L.ones(3).clamp()),
    ("backward_without_grad", lambda L: L.ones(3).backward()),
    ("backward_non_scalar", lambda L: (L.ones(3, requires_grad=True) * 2).backward()),
    ("numpy_requires_grad", lambda L: L.ones(3, requires_grad=True).numpy()),
    ("item_many", lambda L: L.ones(3).item()),
    ("requires_grad_int_method", lambda L: L.tensor([1, 2]).requires_grad_()),
    # an index tensor's error names its place among the index tensors (0), as PyTorch's
    ("index_tensor_out_of_range_dim1", lambda L: L.ones(3, 4)[:, L.tensor([4])]),
]

# Errors whose text gpugrad words itself (same exception type as PyTorch's).
OWN_ERRORS: list[tuple[str, Callable, str]] = [
    (
        # PyTorch folds the batch dims into bmm's message; gpugrad names both shapes.
        "matmul_batched",
        lambda L: L.ones(2, 2, 3) @ L.ones(2, 4, 5),
        "matmul: shapes [2, 2, 3] and [2, 4, 5] cannot be multiplied (the last dimension of "
        "the first must equal the second-to-last of the second, and batch dimensions must "
        "broadcast)",
    ),
    (
        "index_mask_shape",
        lambda L: L.ones(2, 3)[L.tensor([True, False, True])],
        "boolean index did not match indexed array along dimension 0; size of dimension is 2 "
        "but size of corresponding boolean dimension is 3",
    ),
    (
        "expand_too_few_sizes",
        lambda L: L.ones(2, 3).expand(3),
        "expand(gpugrad.FloatTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must be "
        "greater or equal to the number of dimensions in the tensor (2)",
    ),
    (
        "operand_type",
        lambda L: L.ones(3) + "a",
        "unsupported operand type for a gpugrad op: 'str' (use gpugrad.tensor(...) to convert "
        "arrays)",
    ),
]


def _error(L, fn) -> BaseException:
    with pytest.raises(Exception) as info:
        fn(L)
    return info.value


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c[0])
def test_error_messages_match_torch(case) -> None:
    _, fn = case
    ours, theirs = _error(gg, fn), _error(torch, fn)
    assert (type(ours).__name__, str(ours)) == (type(theirs).__name__, str(theirs))


@pytest.mark.parametrize("case", OWN_ERRORS, ids=lambda c: c[0])
def test_deliberately_different_error_messages(case) -> None:
    _, fn, message = case
    ours, theirs = _error(gg, fn), _error(torch, fn)
    assert type(ours) is type(theirs)
    assert str(ours) == message
