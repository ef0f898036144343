"""Shape and index ops against PyTorch: values, gradients (gradcheck and gradgradcheck in
float64), node names and error texts, on every device; NumPy-array keys; the RL-style
``q.gather(1, actions.unsqueeze(1))`` batch update of issue 16, end to end."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad as gg  # noqa: E402
from gpugrad.autograd import gradcheck, gradgradcheck  # noqa: E402


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t.detach().cpu().numpy()


def _index(L, values, device: str = "cpu"):
    """An int64 index tensor of library ``L`` (on ``device`` for gpugrad)."""
    if L is torch:
        return torch.tensor(values)
    return gg.tensor(values, device=device)


@dataclass
class Program:
    name: str
    fn: Callable  # fn(L, dev, *tensors) -> tensor or tuple of tensors
    shapes: tuple[tuple[int, ...], ...]
    node: str | None  # PyTorch's node name of the (first) output, where gpugrad matches it
    second_order: bool = True


def _m(values):
    return lambda L, dev: _index(L, values, dev)


PROGRAMS = [
    Program(
        "gather",
        lambda L, d, x: x.gather(1, _m([[0, 3], [1, 1], [2, 0]])(L, d)),
        ((3, 4),),
        "GatherBackward0",
    ),
    Program(
        "gather_dim0",
        lambda L, d, x: L.gather(x, 0, _m([[2, 0, 1, 1]])(L, d)),
        ((3, 4),),
        "GatherBackward0",
    ),
    Program("gather_0d", lambda L, d, x: x.gather(0, _m([0, 0])(L, d)), ((),), "GatherBackward0"),
    Program(
        "index_select_0d",
        lambda L, d, x: x.index_select(0, _m([0])(L, d)),
        ((),),
        "IndexSelectBackward0",
    ),
    Program(
        "take_along_dim",
        lambda L, d, x: L.take_along_dim(x, _m([[1], [0], [3]])(L, d), 1),
        ((3, 4),),
        "GatherBackward0",
    ),
    Program(
        "take_along_dim_flat",
        lambda L, d, x: L.take_along_dim(x, _m([5, 0, 5])(L, d)),
        ((3, 4),),
        None,
    ),
    Program(
        "scatter",
        lambda L, d, x, s: x.scatter(1, _m([[0, 3], [1, 2], [2, 0]])(L, d), s),
        ((3, 4), (3, 2)),
        "ScatterBackward0",
    ),
    Program(
        "scatter_value",
        lambda L, d, x: x.scatter(0, _m([[2, 0]])(L, d), 1.5),
        ((3, 2),),
        "ScatterBackward1",
    ),
    Program(
        "scatter_add",
        lambda L, d, x, s: L.scatter_add(x, 1, _m([[0, 0], [1, 3], [2, 2]])(L, d), s),
        ((3, 4), (3, 2)),
        "ScatterAddBackward0",
    ),
    Program(
        "scatter_reduce_sum",
        lambda L, d, x, s: x.scatter_reduce(1, _m([[0, 0], [1, 3], [2, 2]])(L, d), s, "sum"),
        ((3, 4), (3, 2)),
        None,
    ),
    Program(
        "scatter_reduce_mean",
        lambda L, d, x, s: x.scatter_reduce(
            1, _m([[0, 0], [1, 3], [2, 2]])(L, d), s, "mean", include_self=False
        ),
        ((3, 4), (3, 2)),
        None,
    ),
    *(
        Program(
            f"scatter_reduce_{reduce}{'' if include_self else '_exclude_self'}",
            lambda L, d, x, s, reduce=reduce, include_self=include_self: x.scatter_reduce(
                1, _m([[0, 0], [1, 3], [2, 2]])(L, d), s, reduce, include_self=include_self
            ),
            ((3, 4), (3, 2)),
            "ScatterReduceBackward0",
        )
        for reduce in ("prod", "amax", "amin")
        for include_self in (True, False)
    ),
    Program(
        "index_select",
        lambda L, d, x: x.index_select(1, _m([3, 0, 3])(L, d)),
        ((2, 4),),
        "IndexSelectBackward0",
    ),
    Program(
        "index_select_3d",
        lambda L, d, x: L.index_select(x, -2, _m([1, 1, 0])(L, d)),
        ((2, 3, 2),),
        "IndexSelectBackward0",
    ),
    Program(
        "index_add",
        lambda L, d, x, s: x.index_add(0, _m([2, 2])(L, d), s, alpha=1.5),
        ((3, 2), (2, 2)),
        "IndexAddBackward0",
    ),
    Program(
        "index_fill",
        lambda L, d, x: x.index_fill(1, _m([0, 2])(L, d), -1.0),
        ((2, 3),),
        "IndexFillBackward0",
    ),
    Program(
        "index_put",
        lambda L, d, x, v: x.index_put((_m([1, 0])(L, d), _m([2, 2])(L, d)), v),
        ((3, 4), (2,)),
        "IndexPutBackward0",
    ),
    Program(
        "index_put_accumulate",
        lambda L, d, x, v: x.index_put((_m([1, 1])(L, d),), v, accumulate=True),
        ((3, 4), (4,)),
        None,
    ),
    Program(
        "masked_fill", lambda L, d, x: x.masked_fill(x > 0, 2.0), ((3, 4),), "MaskedFillBackward0"
    ),
    Program(
        "masked_fill_tensor",
        lambda L, d, x, v: x.masked_fill(x[0] > 0, v.sum()),
        ((3, 4), (2,)),
        "MaskedFillBackward1",
    ),
    Program("masked_select", lambda L, d, x: x.masked_select(x[0] > 0), ((3, 4),), None),
    Program(
        "numpy_int_key", lambda L, d, x: x[:, np.array([1, 1, -1])], ((3, 4),), "IndexBackward0"
    ),
    Program(
        "numpy_bool_key",
        lambda L, d, x: x[np.array([True, False, True])],
        ((3, 4),),
        "IndexBackward0",
    ),
    Program("roll", lambda L, d, x: x.roll((1, -2), (0, 1)), ((3, 4),), "RollBackward0"),
    Program("roll_flat", lambda L, d, x: L.roll(x, 5), ((3, 4),), None),
    Program("tril", lambda L, d, x: x.tril(-1), ((3, 4),), "TrilBackward0"),
    Program("triu", lambda L, d, x: L.triu(x, 1), ((2, 3, 4),), "TriuBackward0"),
    Program("diagonal", lambda L, d, x: x.diagonal(1, 0, 2), ((3, 2, 4),), "DiagonalBackward0"),
    Program("diag_embed", lambda L, d, x: L.diag_embed(x, -1), ((2, 3),), "DiagEmbedBackward0"),
    Program("diag_of_vector", lambda L, d, x: L.diag(x, 1), ((3,),), "DiagEmbedBackward0"),
    Program("diag_of_matrix", lambda L, d, x: L.diag(x, -1), ((3, 4),), None),
    Program("trace", lambda L, d, x: L.trace(x), ((3, 4),), None),
    Program("repeat", lambda L, d, x: x.repeat(2, 1, 3), ((3, 2),), "RepeatBackward0"),
    Program("tile", lambda L, d, x: L.tile(x, (2,)), ((3, 2),), "RepeatBackward0"),
    Program("repeat_interleave", lambda L, d, x: x.repeat_interleave(2, 1), ((2, 3),), None),
    Program(
        "repeat_interleave_tensor",
        lambda L, d, x: L.repeat_interleave(x, _m([1, 0, 3])(L, d), dim=0),
        ((3, 2),),
        None,
    ),
    Program("repeat_interleave_flat", lambda L, d, x: x.repeat_interleave(2), ((2, 2),), None),
    Program("hstack", lambda L, d, x, y: L.hstack([x, y]), ((2, 3), (2, 1)), "CatBackward0"),
    Program("hstack_1d", lambda L, d, x, y: L.hstack([x, y]), ((3,), (2,)), "CatBackward0"),
    Program("vstack", lambda L, d, x, y: L.vstack([x, y]), ((3,), (2, 3)), "CatBackward0"),
    Program("dstack", lambda L, d, x, y: L.dstack([x, y]), ((2, 3), (2, 3)), "CatBackward0"),
    Program(
        "column_stack", lambda L, d, x, y: L.column_stack([x, y]), ((3,), (3, 2)), "CatBackward0"
    ),
    Program("unbind", lambda L, d, x: x.unbind(1), ((2, 3),), None),
    Program(
        "movedim", lambda L, d, x: L.movedim(x, (0, 1), (2, 0)), ((2, 3, 4),), "PermuteBackward0"
    ),
    Program("moveaxis", lambda L, d, x: x.moveaxis(-1, 0), ((2, 3, 4),), "PermuteBackward0"),
    Program("narrow", lambda L, d, x: x.narrow(1, 1, 2), ((3, 4),), "SliceBackward0"),
    Program("narrow_negative", lambda L, d, x: L.narrow(x, 0, -2, 2), ((3, 4),), "SliceBackward0"),
    Program("unfold", lambda L, d, x: x.unfold(1, 2, 1), ((3, 4),), None),
    Program("unfold_step", lambda L, d, x: x.unfold(0, 2, 2), ((5, 2),), None),
    Program("unflatten", lambda L, d, x: x.unflatten(1, (2, -1)), ((3, 4),), "ViewBackward0"),
    Program("meshgrid_ij", lambda L, d, x, y: L.meshgrid(x, y, indexing="ij"), ((3,), (2,)), None),
    Program("meshgrid_xy", lambda L, d, x, y: L.meshgrid(x, y, indexing="xy"), ((3,), (2,)), None),
    Program(
        "broadcast_tensors",
        lambda L, d, x, y: L.broadcast_tensors(x, y),
        ((3, 1), (4,)),
        "ExpandBackward0",
    ),
    Program("view_as", lambda L, d, x, y: x.view_as(y), ((3, 4), (2, 6)), "ViewBackward0"),
    Program("reshape_as", lambda L, d, x, y: x.t().reshape_as(y), ((3, 4), (2, 6)), None),
]


def _run(program: Program, L, device: str, arrays: list[np.ndarray]):
    if L is torch:
        inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        inputs = [gg.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = program.fn(L, device, *inputs)
    return inputs, list(out) if isinstance(out, tuple) else [out]


def _arrays(program: Program) -> list[np.ndarray]:
    rng = _rng(program.name)
    return [rng.standard_normal(s) for s in program.shapes]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_values_gradients_and_node_names_match_torch(program: Program, device: str) -> None:
    arrays = _arrays(program)
    ours_in, ours = _run(program, gg, device, arrays)
    theirs_in, theirs = _run(program, torch, device, arrays)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(_numpy(o), _numpy(t), rtol=1e-12, atol=1e-12)
    if program.node is not None:
        assert ours[0].grad_fn.name() == type(theirs[0].grad_fn).__name__ == program.node
    rng = _rng(program.name + "grad")
    weights = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    sum((o * gg.tensor(w, device=device)).sum() for o, w in zip(ours, weights)).backward()
    sum((t * torch.tensor(w)).sum() for t, w in zip(theirs, weights)).backward()
    for o, t in zip(ours_in, theirs_in):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            np.testing.assert_allclose(_numpy(o.grad), _numpy(t.grad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_gradcheck_and_gradgradcheck(program: Program, device: str) -> None:
    inputs = [
        gg.tensor(a, dtype=gg.float64, device=device, requires_grad=True) for a in _arrays(program)
    ]

    def fn(*xs):
        return program.fn(gg, device, *xs)

    assert gradcheck(fn, inputs)
    if program.second_order:
        assert gradgradcheck(fn, inputs)


def test_second_derivatives_match_torch(device: str) -> None:
    """d/dx of (d/dx sum(w * f(x)))**2 through gather, scatter_add and index_select."""
    rng = _rng("second")
    x0, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    results = []
    for L in (gg, torch):
        x = (
            torch.tensor(x0, requires_grad=True)
            if L is torch
            else gg.tensor(x0, device=device, requires_grad=True)
        )
        wt = torch.tensor(w) if L is torch else gg.tensor(w, device=device)
        idx = _index(L, [[0, 3], [1, 1], [2, 0]], device)
        y = (x.gather(1, idx) ** 3 * wt).sum() + (
            x.index_select(0, _index(L, [2, 2], device)) ** 3
        ).sum()
        (g,) = L.autograd.grad(y, x, create_graph=True)
        (gg2,) = L.autograd.grad((g**2).sum(), x)
        results.append((_numpy(g), _numpy(gg2)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# --- in-place forms -----------------------------------------------------------------------
INPLACE = [
    ("scatter_", lambda L, d, x, s: x.scatter_(1, _index(L, [[0, 3], [1, 2], [2, 0]], d), s)),
    (
        "scatter_add_",
        lambda L, d, x, s: x.scatter_add_(1, _index(L, [[0, 0], [1, 3], [2, 2]], d), s),
    ),
    ("index_add_", lambda L, d, x, s: x.index_add_(1, _index(L, [3, 3], d), s)),
    ("index_fill_", lambda L, d, x, s: x.index_fill_(1, _index(L, [0], d), 7.0)),
    ("index_put_", lambda L, d, x, s: x.index_put_((_index(L, [0, 2], d),), s[:, 0].sum())),
    ("masked_fill_", lambda L, d, x, s: x.masked_fill_(x < 0, 0.5)),
    ("tril_", lambda L, d, x, s: x.tril_()),
    ("triu_", lambda L, d, x, s: x.triu_(1)),
]


@pytest.mark.parametrize("name, fn", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_forms_match_torch(name: str, fn: Callable, device: str) -> None:
    rng = _rng(name)
    x0, s0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    results = []
    for L in (gg, torch):
        make = (
            (lambda a: torch.tensor(a, requires_grad=True))
            if L is torch
            else (lambda a: gg.tensor(a, device=device, requires_grad=True))
        )
        x, s = make(x0), make(s0)
        y = x * 1.0  # a non-leaf, written in place
        out = fn(L, device, y, s)
        assert out is y
        (y * y).sum().backward()
        results.append((_numpy(y), _numpy(x.grad), None if s.grad is None else _numpy(s.grad)))
    for ours, theirs in zip(*results):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


# --- results without gradients --------------------------------------------------------
def test_nonzero_argwhere_and_integer_results(device: str) -> None:
    a = _rng("nonzero").integers(-1, 2, (3, 4))
    ours, theirs = gg.tensor(a, device=device), torch.tensor(a)
    for f in (
        lambda L, x: L.nonzero(x),
        lambda L, x: x.nonzero(),
        lambda L, x: L.argwhere(x),
        lambda L, x: L.nonzero(x[0, 0]),
        lambda L, x: L.nonzero(x > 5),
        lambda L, x: x.gather(
            0,
            torch.tensor([[2, 1, 0, 0]])
            if L is torch
            else gg.tensor([[2, 1, 0, 0]], device=device),
        ),
        lambda L, x: L.tril(x, 1),
        lambda L, x: x.repeat(1, 2),
        lambda L, x: x.scatter_reduce(
            1, _index(L, [[0, 0], [1, 1], [3, 3]], device), x[:, :2], "amax", include_self=False
        ),
        lambda L, x: x.scatter_reduce(
            1, _index(L, [[0, 0], [1, 1], [3, 3]], device), x[:, :2], "prod"
        ),
        lambda L, x: x.scatter_reduce(
            1, _index(L, [[0, 0], [1, 1], [3, 3]], device), x[:, :2], "mean"
        ),
    ):
        o, t = f(gg, ours), f(torch, theirs)
        assert str(o.dtype).rsplit(".")[-1] == str(t.dtype).rsplit(".")[-1]
        np.testing.assert_array_equal(_numpy(o), _numpy(t))
    for o, t in zip(gg.nonzero(ours, as_tuple=True), torch.nonzero(theirs, as_tuple=True)):
        np.testing.assert_array_equal(_numpy(o), _numpy(t))


def test_numpy_array_keys_work_like_tensor_keys(device: str) -> None:
    x = gg.arange(12.0, device=device).reshape(3, 4)
    keys = [np.array([2, 0]), np.array([True, False, True]), (slice(None), np.array([3, 3]))]
    for key in keys:
        tensor_key = (
            tuple(gg.tensor(k, device=device) if isinstance(k, np.ndarray) else k for k in key)
            if isinstance(key, tuple)
            else gg.tensor(key, device=device)
        )
        np.testing.assert_array_equal(_numpy(x[key]), _numpy(x[tensor_key]))
    y = gg.zeros(3, 4, device=device)
    y[np.array([0, 2])] = 1.0
    assert y.sum().item() == 8.0
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        x[np.array([0.5])]


def test_large_scatter_add_accumulates_exactly_as_add_at(device: str) -> None:
    """The bincount (CPU) / scatter_add (CUDA) path of index_select's and gather's
    backward agrees with NumPy's add.at on many repeated indices, in both dtypes."""
    rng = _rng("scatter-add")
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        index = rng.integers(-50, 500, 4000)
        index[index < 0] = 7  # many repeats of one row
        grad_out = rng.standard_normal((4000, 16)).astype(dtype)
        expected = np.zeros((500, 16), dtype)
        np.add.at(expected, index, grad_out)
        w = gg.zeros(
            500, 16, dtype=getattr(gg, np.dtype(dtype).name), device=device, requires_grad=True
        )
        w.index_select(0, gg.tensor(index, device=device)).backward(
            gg.tensor(grad_out, device=device)
        )
        np.testing.assert_allclose(_numpy(w.grad), expected, rtol=tol, atol=tol)
        assert w.grad.dtype == w.dtype
        w.grad = None
        w[gg.tensor(index, device=device)].backward(gg.tensor(grad_out, device=device))
        np.testing.assert_allclose(_numpy(w.grad), expected, rtol=tol, atol=tol)
        w.grad = None
        rows = gg.tensor(index, device=device).unsqueeze(1)
        for full in (rows.expand(-1, 16), rows.expand(-1, 16).contiguous()):  # both paths
            w.grad = None
            out = w.gather(0, full)
            np.testing.assert_array_equal(_numpy(out), _numpy(w)[index])
            out.backward(gg.tensor(grad_out, device=device))
            np.testing.assert_allclose(_numpy(w.grad), expected, rtol=tol, atol=tol)


ROW_SCATTER_CASES = {
    # name: (rows, width, index): which strategy of ``add_rows`` each one takes
    "few repeats (rank passes)": (3000, 16, ("integers", 0, 3000, 2000)),
    "many repeats of few rows (reduceat)": (7, 16, ("integers", 0, 7, 2000)),
    "all distinct (one pass)": (3000, 16, ("permutation", 3000, 1500)),
    "narrow rows (bincount)": (300, 2, ("integers", 0, 300, 4000)),
    "small (bincount)": (10, 4, ("integers", 0, 10, 12)),
}


@pytest.mark.parametrize("case", list(ROW_SCATTER_CASES), ids=list(ROW_SCATTER_CASES))
def test_row_scatter_add_strategies_match_torch(case: str, device: str) -> None:
    """index_select's, embedding-style gather's and ``x[idx]``'s backward (whole rows
    scattered: sorted passes, reduceat or bincount, by the index's repeats) give PyTorch's
    gradients, along dim 0 and along a middle dim, in float32 and float64."""
    rows, width, (how, *args) = ROW_SCATTER_CASES[case]
    rng = _rng(case)
    index = rng.integers(*args[:2], args[2]) if how == "integers" else rng.permutation(args[0])
    index = index[: args[-1]]
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        table = rng.standard_normal((rows, width)).astype(dtype)
        grad_out = rng.standard_normal((index.size, width)).astype(dtype)
        t_w = torch.tensor(table, requires_grad=True)
        t_w.index_select(0, torch.tensor(index)).backward(torch.tensor(grad_out))
        expected = t_w.grad.numpy()
        w = gg.tensor(table, device=device, requires_grad=True)
        w.index_select(0, gg.tensor(index, device=device)).backward(
            gg.tensor(grad_out, device=device)
        )
        np.testing.assert_allclose(_numpy(w.grad), expected, rtol=tol, atol=tol)
        w.grad = None
        full = gg.tensor(np.ascontiguousarray(np.broadcast_to(index[:, None], grad_out.shape)))
        w.gather(0, full.to(device)).backward(gg.tensor(grad_out, device=device))
        np.testing.assert_allclose(_numpy(w.grad), expected, rtol=tol, atol=tol)
        # along a middle dim: (2, rows, width) indexed on dim 1
        t_x = torch.tensor(np.stack([table, -table]), requires_grad=True)
        t_x.index_select(1, torch.tensor(index)).backward(
            torch.tensor(np.stack([grad_out, grad_out]))
        )
        x = gg.tensor(np.stack([table, -table]), device=device, requires_grad=True)
        x[:, gg.tensor(index, device=device)].backward(
            gg.tensor(np.stack([grad_out, grad_out]), device=device)
        )
        np.testing.assert_allclose(_numpy(x.grad), t_x.grad.numpy(), rtol=tol, atol=tol)


def test_gather_index_constant_only_in_its_first_rows_is_gathered_elementwise(device: str):
    """An index whose first lines repeat along dim 1 but whose later ones do not is not
    taken for an embedding-style (whole-row) index: values and gradient stay PyTorch's."""
    rng = _rng("gather-almost-rows")
    index = np.repeat(rng.integers(0, 40, (30, 1)), 5, axis=1)
    index[20, 3] = (index[20, 3] + 1) % 40
    table = rng.standard_normal((40, 5))
    grad_out = rng.standard_normal((30, 5))
    t_w = torch.tensor(table, requires_grad=True)
    t_out = t_w.gather(0, torch.tensor(index))
    t_out.backward(torch.tensor(grad_out))
    w = gg.tensor(table, device=device, requires_grad=True)
    out = w.gather(0, gg.tensor(index, device=device))
    out.backward(gg.tensor(grad_out, device=device))
    np.testing.assert_array_equal(_numpy(out), t_out.detach().numpy())
    np.testing.assert_allclose(_numpy(w.grad), t_w.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_at_ties_and_zeros_match_torch(reduce, include_self, device):
    """PyTorch's formulas where they matter: amax/amin share the gradient evenly among
    equal values (``input``'s own counted even with ``include_self=False``); prod with one
    zero at a target (the others' product) and with two (none); first and second order."""
    x0 = np.array([[1.0, 5.0, 0.0, 5.0], [2.0, -1.0, 3.0, 0.5]])
    s0 = np.array([[5.0, 2.0, 5.0, 7.0, 1.0, 0.0], [0.0, 3.0, 4.0, -1.0, 2.0, 2.0]])
    index = [[1, 1, 3, 2, 0, 2], [0, 0, 0, 1, 3, 3]]
    w = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 2.0, 1.5]])
    results = []
    for L in (gg, torch):
        dev = {} if L is torch else {"device": device}
        x = L.tensor(x0, requires_grad=True, **dev)
        s = L.tensor(s0, requires_grad=True, **dev)
        out = x.scatter_reduce(1, _index(L, index, device), s, reduce, include_self=include_self)
        gx, gs = L.autograd.grad((out * L.tensor(w, **dev)).sum(), (x, s), create_graph=True)
        total = (gx**2).sum() + (gs**2).sum()
        # amax/amin's gradient is constant in x and s: gpugrad records no graph for it
        second = (
            L.autograd.grad(total, (x, s), allow_unused=True)
            if total.requires_grad
            else (None, None)
        )
        results.append([_numpy(out), _numpy(gx), _numpy(gs)])
        results[-1] += [
            np.zeros_like(a) if g is None else _numpy(g) for g, a in zip(second, (x0, s0))
        ]
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    if reduce == "prod":  # two zeros at one target: first order as PyTorch, no second order
        s0[1, 1] = 0.0
        firsts = []
        for L in (gg, torch):
            dev = {} if L is torch else {"device": device}
            x = L.tensor(x0, requires_grad=True, **dev)
            s = L.tensor(s0, requires_grad=True, **dev)
            idx = _index(L, index, device)
            out = x.scatter_reduce(1, idx, s, "prod", include_self=include_self)
            firsts.append([_numpy(g) for g in L.autograd.grad(out.sum(), (x, s))])
            with pytest.raises(RuntimeError, match="Double backward is unsupported for src"):
                out = x.scatter_reduce(1, idx, s, "prod", include_self=include_self)
                (_, gs) = L.autograd.grad(out.sum(), (x, s), create_graph=True)
                L.autograd.grad(gs.sum(), s)
        for ours, theirs in zip(*firsts):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_diagonal_is_a_view_writes_reach_the_base_as_in_torch(device: str) -> None:
    """``diagonal`` shares its input's memory and version counter: copy_/fill_/add_ on it
    (any offset and dims) change the base, the base's writes show in it, and an in-place
    op on the diagonal of a tensor in a graph rebases the graph (gradients as PyTorch's)."""
    results = []
    for L in (gg, torch):
        dev = {} if L is torch else {"device": device}
        x = L.zeros(2, 3, 4, dtype=L.float64, **dev)
        x.diagonal().copy_(L.tensor([1.0, 2.0], dtype=L.float64, **dev))
        x.diagonal(1, 1, 2).add_(5)
        x.diagonal(-1, 2, 1).fill_(7)
        view = x.diagonal(0, 0, 2)
        x.mul_(3)
        record = [_numpy(x), _numpy(view), x._version, view._version]
        a = L.tensor(_rng("diag-view").standard_normal((3, 4)), requires_grad=True, **dev)
        b = a * 1
        b.diagonal(1).mul_(a[0, :3])  # values from the graph too
        (b * b).sum().backward()
        record += [_numpy(b), _numpy(a.grad)]
        results.append(record)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_integer_scatter_add_is_exact(device: str) -> None:
    big = 2**53 + 1
    x = gg.zeros(2, dtype=gg.int64, device=device)
    out = x.scatter_add(0, gg.tensor([1, 1], device=device), gg.tensor([big, 1], device=device))
    assert out.tolist() == [0, big + 1]


# --- tensor metadata and constructors -------------------------------------------------------
def test_metadata_matches_torch(device: str) -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ours, theirs = gg.tensor(a, device=device), torch.tensor(a)
    for f in (
        lambda t: t.stride(),
        lambda t: t.stride(1),
        lambda t: t.stride(-1),
        lambda t: t[:, 1:].stride(),
        lambda t: t.transpose(0, 2).stride(),
        lambda t: t[1].storage_offset(),
        lambda t: t[1, 2:, 1:].storage_offset(),
        lambda t: t.storage_offset(),
        lambda t: t.is_contiguous(),
        lambda t: t.transpose(0, 1).is_contiguous(),
        lambda t: t.element_size(),
        lambda t: t.double().element_size(),
        lambda t: t.nbytes,
        lambda t: t.itemsize,
        lambda t: t[0].nbytes,
    ):
        assert f(ours) == f(theirs)
    assert ours[1].data_ptr() - ours.data_ptr() == 12 * 4
    assert gg.numel(ours) == torch.numel(theirs) == 24
    assert gg.is_tensor(ours) and not gg.is_tensor(a)


def test_new_constructors_and_conversions(device: str) -> None:
    x = gg.ones(2, 3, dtype=gg.float64, device=device)
    t = torch.ones(2, 3, dtype=torch.float64)
    for f in (
        lambda L, x: x.new_zeros(2, 2),
        lambda L, x: x.new_ones((3,)),
        lambda L, x: x.new_full((2,), 7),
        lambda L, x: x.new_tensor([1, 2]),
        lambda L, x: x.new_zeros(2, dtype=L.int32),
        lambda L, x: x.new_empty(4).fill_(0),
        lambda L, x: x.type_as(L.tensor([1])),
    ):
        o, r = f(gg, x), f(torch, t)
        assert str(o.dtype).rsplit(".")[-1] == str(r.dtype).rsplit(".")[-1]
        assert o.device == x.device
        np.testing.assert_array_equal(_numpy(o), _numpy(r))
    made = x.new_ones(2, requires_grad=True)
    assert made.requires_grad and made.is_leaf


# --- error texts --------------------------------------------------------------------------
ERRORS = [
    lambda L, D, x, i: x.gather(1, i.float()),
    lambda L, D, x, i: x.gather(1, i[0]),
    lambda L, D, x, i: x.gather(1, i * 5),
    lambda L, D, x, i: x.gather(1, i - 1),
    lambda L, D, x, i: x.gather(5, i),
    lambda L, D, x, i: x.index_select(0, D.tensor([5])),
    lambda L, D, x, i: x.index_select(0, D.tensor([0.0])),
    lambda L, D, x, i: x.index_select(0, D.tensor([[0]])),
    lambda L, D, x, i: x.scatter(1, i, D.ones(2, 2, dtype=L.float32)),
    lambda L, D, x, i: x.scatter_add(1, i, D.ones(1, 1, dtype=L.float64)),
    lambda L, D, x, i: x.scatter(1, D.tensor([[9]]), 1.0),
    lambda L, D, x, i: x.index_add(0, D.tensor([0]), D.ones(2, 4, dtype=L.float64)),
    lambda L, D, x, i: x.index_add(0, D.tensor([7]), D.ones(1, 4, dtype=L.float64)),
    lambda L, D, x, i: x.index_add(0, D.tensor([0]), D.ones(1, 4)),
    lambda L, D, x, i: x.index_fill(0, D.tensor([7]), 1.0),
    lambda L, D, x, i: x.masked_fill(D.ones(3, 4), 1.0),
    lambda L, D, x, i: x.masked_fill(D.ones(3, 4, dtype=L.bool), D.ones(2)),
    lambda L, D, x, i: x.index_put((D.tensor([0]),), D.tensor(1.0)),
    lambda L, D, x, i: x.diagonal(0, 0, 0),
    lambda L, D, x, i: x.diagonal(0, 0, 3),
    lambda L, D, x, i: L.diag(D.zeros(2, 2, 2)),
    lambda L, D, x, i: L.tril(x[0]),
    lambda L, D, x, i: x.repeat(2),
    lambda L, D, x, i: x.narrow(0, 2, 5),
    lambda L, D, x, i: x.narrow(0, 5, 1),
    lambda L, D, x, i: x.roll((1, 2), (0,)),
    lambda L, D, x, i: x.movedim((0, 1), (1,)),
    lambda L, D, x, i: x.movedim((0, 0), (1, 0)),
    lambda L, D, x, i: x.unflatten(1, (2, 3)),
    lambda L, D, x, i: x.unfold(1, 5, 1),
    lambda L, D, x, i: x.unbind(5),
    lambda L, D, x, i: L.broadcast_tensors(x, D.ones(3, dtype=L.float64)),
    lambda L, D, x, i: L.meshgrid(x[0], x[1], indexing="yx"),
    lambda L, D, x, i: x.scatter_reduce(1, i, x, "maximum"),
    lambda L, D, x, i: L.take_along_dim(x, i[0], 1),
]


class _On:
    """``tensor``/``ones``/``zeros`` of library ``L``, on ``device`` for gpugrad."""

    def __init__(self, L, device: str) -> None:
        kw = {} if L is torch else {"device": device}
        self.tensor = lambda data, **k: L.tensor(data, **kw, **k)
        self.ones = lambda *size, **k: L.ones(*size, **kw, **k)
        self.zeros = lambda *size, **k: L.zeros(*size, **kw, **k)


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k: int, device: str) -> None:
    caught = []
    for L in (torch, gg):
        on = _On(L, device)
        x = on.tensor(_rng("errors").standard_normal((3, 4)))
        i = on.tensor([[0, 1], [1, 2]])
        with pytest.raises(Exception) as info:
            ERRORS[k](L, on, x, i)
        caught.append(info.value)
    theirs, ours = caught
    assert isinstance(ours, type(theirs)), (ours, theirs)
    assert str(ours) == str(theirs)


# --- issue 16: an RL-style batch update ------------------------------------------------------
def _q_learning(L, device: str, steps: int = 5) -> list:
    """A linear Q-network trained on a fixed batch of transitions with
    ``q.gather(1, actions.unsqueeze(1))`` and a one-hot built with ``scatter_``: the same
    code under PyTorch and gpugrad. Returns what it prints, as numbers."""
    rng = np.random.default_rng(16)
    states = rng.standard_normal((32, 4))
    next_states = rng.standard_normal((32, 4))
    actions_np = rng.integers(0, 3, 32)
    rewards = rng.standard_normal(32)
    done = rng.random(32) < 0.2
    w0, b0 = rng.standard_normal((4, 3)) * 0.3, np.zeros(3)

    def T(a, **kw):
        return torch.tensor(a, **kw) if L is torch else gg.tensor(a, device=device, **kw)

    W, b = T(w0, requires_grad=True), T(b0, requires_grad=True)
    s, s2, r, d = T(states), T(next_states), T(rewards), T(done)
    actions = T(actions_np)
    gamma, lr = 0.9, 0.1
    printed = []
    for _ in range(steps):
        q = s @ W + b
        q_taken = q.gather(1, actions.unsqueeze(1)).squeeze(1)
        with L.no_grad():
            best_next = (s2 @ W + b).max(1).values
            target = r + gamma * best_next.masked_fill(d, 0.0)
        one_hot = (
            L.zeros(32, 3, dtype=L.float64)
            if L is torch
            else gg.zeros(32, 3, dtype=gg.float64, device=device)
        )
        one_hot.scatter_(1, actions.unsqueeze(1), 1.0)
        td = q_taken - target
        loss = (td**2).mean() + 1e-3 * (q * one_hot).sum() / 32
        loss.backward()
        with L.no_grad():
            W -= lr * W.grad
            b -= lr * b.grad
            W.grad = None
            b.grad = None
        printed.append(round(loss.item(), 10))
        visits = (
            L.zeros(3, dtype=L.float64)
            if L is torch
            else gg.zeros(3, dtype=gg.float64, device=device)
        )
        visits = visits.scatter_add(
            0,
            actions,
            L.ones(32, dtype=L.float64)
            if L is torch
            else gg.ones(32, dtype=gg.float64, device=device),
        )
        printed.append(visits.tolist())
    printed.append(np.round(_numpy(W), 10).tolist())
    return printed


def test_rl_batch_update_matches_torch(device: str) -> None:
    ours, theirs = _q_learning(gg, device), _q_learning(torch, "cpu")
    assert ours == theirs
    assert ours[0] != ours[-3]  # the loss moved: the update did something
