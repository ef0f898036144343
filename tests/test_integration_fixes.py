"""Integration fixes: the backend primitives that replaced ``.xp`` outside backends/,
imports of the op families, overwriting in-place ops (``copy_``, ``fill_``, ``zero_``,
``x[k] = v``) and ``next_functions`` for Python-number operands."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backends
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.distributed.sampler import DistributedSampler

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = math.nan, math.inf


# --- backend primitives -------------------------------------------------------------------
def test_cpu_errstate_silences_numpy_and_restores_it():
    zero = np.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with backends.cpu.errstate(divide="ignore", invalid="ignore"):
            out = np.ones(2) / zero
        assert out.tolist() == [INF, INF]
        with pytest.raises(RuntimeWarning):
            np.ones(2) / zero


def test_host_checks_and_dtype_arithmetic():
    cpu = backends.cpu
    assert cpu.is_host_array(np.zeros(2)) and not cpu.is_host_array(np.float32(1))
    assert cpu.is_host_scalar(np.float32(1)) and not cpu.is_host_scalar(1.0)
    assert not cpu.is_host_array([1, 2]) and not cpu.is_host_scalar(np.zeros(2))
    assert cpu.host_array([np.int64(1), np.float32(2)]).dtype == np.float64
    assert cpu.broadcast_shapes((2, 1), (3,)) == (2, 3)
    with pytest.raises(ValueError):
        cpu.broadcast_shapes((2,), (3,))
    assert cpu.result_type(np.dtype("float32"), np.dtype("int64")) == np.float64
    assert cpu.float32_mul(0.1, 0.3) == float(np.float32(0.1) * np.float32(0.3))
    assert cpu.float32_mul(0.1, 0.3) != 0.1 * 0.3
    assert cpu.integer_range(np.dtype("int8")) == (-128, 127)
    assert cpu.mantissa_bits(np.dtype("float32")) == 23


@pytest.mark.parametrize("seed,epoch", [(0, 0), (7, 3)])
def test_distributed_sampler_permutation_is_unchanged(seed, epoch):
    """The seeded gg.Generator draws the permutation NumPy's default_rng drew before."""
    sampler = DistributedSampler(list(range(23)), num_replicas=2, rank=1, seed=seed)
    sampler.set_epoch(epoch)
    order = np.random.default_rng(seed + epoch).permutation(23).tolist()
    order += order[:1]  # padded to 24 = 2 * 12
    assert sampler.indices() == order[1::2]


def _old_multinomial(rows, num_samples, replacement, seed):
    """The draws of multinomial before its sampling moved into the backend."""
    rng = np.random.default_rng(seed)
    rows = rows.astype(np.float64)
    if replacement:
        cumulative = np.cumsum(rows / rows.sum(axis=1)[:, None], axis=1)
        draws = rng.random((rows.shape[0], num_samples))
        picks = np.stack([np.searchsorted(c, d, side="right") for c, d in zip(cumulative, draws)])
        return np.minimum(picks, rows.shape[1] - 1)
    with np.errstate(divide="ignore"):
        keys = rng.standard_exponential(rows.shape) / rows
    return np.argsort(keys, axis=1, kind="stable")[:, :num_samples]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("replacement", [True, False])
def test_multinomial_draws_are_unchanged(replacement):
    weights = np.array([[0.0, 1.0, 2.0, 3.0], [4.0, 0.5, 0.0, 1.0]], dtype=np.float32)
    generator = gg.Generator().manual_seed(11)
    picks = gg.multinomial(gg.tensor(weights), 2, replacement, generator=generator)
    assert picks.dtype == gg.int64
    assert picks.tolist() == _old_multinomial(weights, 2, replacement, 11).tolist()


def test_multinomial_and_normal_errors_unchanged(device):
    with pytest.raises(RuntimeError, match="probability tensor contains either"):
        gg.multinomial(gg.tensor([1.0, NAN], device=device), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        gg.multinomial(gg.tensor([0.0, 0.0], device=device), 1)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        gg.multinomial(gg.tensor([1.0, 0.0], device=device), 2)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        gg.normal(gg.zeros(2, device=device), gg.tensor([1.0, -1.0], device=device))
    out = gg.normal(gg.zeros(2, 1, device=device), gg.ones(3, dtype="float64", device=device))
    assert out.shape == (2, 3) and out.dtype == gg.float64


def test_nadam_mu_product_is_pytorchs():
    torch = pytest.importorskip("torch")
    start = [0.5, -1.0, 2.0]
    ours = gg.tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    opt = gg.optim.NAdam([ours], lr=0.1)
    t_opt = torch.optim.NAdam([theirs], lr=0.1)
    for _ in range(5):
        for p, o in ((ours, opt), (theirs, t_opt)):
            o.zero_grad()
            (p * p).sum().backward()
            o.step()
    assert ours.tolist() == pytest.approx(theirs.tolist(), rel=1e-6, abs=1e-7)
    assert opt.state[ours]["mu_product"].item() == t_opt.state[theirs]["mu_product"].item()


COMPAT_MODULES = re.compile(
    r"^\s*from\s+\.*(?:gpugrad\.)?(?:_ops|_shape_ops|_reductions|_linalg|_transfer)\s+import"
    r"|^\s*from\s+\.+\s+import\s+.*\b(?:_ops|_shape_ops|_reductions|_linalg|_transfer)\b"
    r"|gpugrad\._(?:ops|shape_ops|reductions|linalg|transfer)\b",
    re.MULTILINE,
)


def test_the_compatibility_modules_are_gone_and_nothing_imports_them():
    """The op families live in ``gpugrad.ops``; the old flat modules (``gpugrad._ops`` …)
    that re-exported them during the move are deleted, and nothing names them."""
    assert not [
        m
        for m in ("_ops", "_shape_ops", "_reductions", "_linalg", "_transfer")
        if (ROOT / "gpugrad" / f"{m}.py").exists()
    ]
    offenders = []
    for folder in ("gpugrad", "tests", "bench", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name != "tests/test_integration_fixes.py" and COMPAT_MODULES.search(
                path.read_text()
            ):
                offenders.append(name)
    assert offenders == []


# --- overwriting in-place ops -------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_overwrites_replace_nan_and_inf_without_a_graph(device):
    t = gg.tensor([NAN, INF, 1.0], device=device)
    assert t.copy_(gg.tensor([1.0, 2.0, 3.0], device=device)).tolist() == [1.0, 2.0, 3.0]
    t = gg.tensor([NAN, -INF, 1.0], device=device)
    assert t.fill_(2.5).tolist() == [2.5, 2.5, 2.5]
    t = gg.tensor([NAN, INF, 1.0], device=device)
    assert t.fill_(gg.tensor(-1.0, device=device)).tolist() == [-1.0, -1.0, -1.0]
    t = gg.tensor([NAN, INF, 1.0], device=device)
    assert t.zero_().tolist() == [0.0, 0.0, 0.0]
    t = gg.tensor([[NAN, INF], [INF, NAN]], device=device)
    t.copy_(gg.tensor([4.0, 5.0], dtype="float64", device=device))  # broadcast and cast
    assert t.tolist() == [[4.0, 5.0], [4.0, 5.0]] and t.dtype == gg.float32
    t = gg.zeros(3, dtype="int64", device=device)
    assert t.copy_(gg.tensor([1.7, -2.2, 3.0], device=device)).tolist() == [1, -2, 3]


@pytest.mark.filterwarnings("error")
def test_overwrites_replace_nan_and_inf_under_a_graph(device):
    x = gg.tensor([NAN, INF, 1.0], device=device, requires_grad=True)
    src = gg.tensor([7.0], device=device, requires_grad=True)
    t = x * 1
    t.copy_(src)
    assert t.tolist() == [7.0, 7.0, 7.0] and t.requires_grad
    t.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and src.grad.tolist() == [3.0]
    for overwrite, expected in (
        (lambda t: t.zero_(), [0.0, 0.0, 0.0]),
        (lambda t: t.fill_(3.0), [3.0, 3.0, 3.0]),
    ):
        x.grad = None
        t = overwrite(x * 1)
        assert t.tolist() == expected and t.requires_grad
        t.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x.grad = None
    t = x * 1
    t[1:] = gg.tensor(5.0, device=device)
    t[0] = 4.0
    assert t.tolist() == [4.0, 5.0, 5.0]
    t.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_setitem_under_a_graph_keeps_what_the_key_leaves(device):
    x = gg.tensor([NAN, 2.0, 3.0], device=device, requires_grad=True)
    v = gg.tensor([10.0, 20.0], device=device, requires_grad=True)
    t = x * 1
    t[1:] = v
    out = t * gg.tensor([1.0, 2.0, 3.0], device=device)
    assert math.isnan(out[0].item()) and out[1:].tolist() == [20.0, 60.0]
    out[1:].sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and v.grad.tolist() == [2.0, 3.0]


def test_overwrite_nodes_are_pytorchs():
    torch = pytest.importorskip("torch")

    def nodes(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        s = lib.tensor([3.0], requires_grad=True)
        outs = [
            (x * 1).copy_(s),
            (x * 1).copy_(lib.tensor([3.0])),
            (x * 1).fill_(2.0),
            (x * 1).fill_(s[0]),
            (x * 1).zero_(),
        ]
        return [(o.grad_fn.name().rpartition("::")[2], _kinds(o)) for o in outs]

    assert nodes(gg) == nodes(torch)


def test_fill_with_a_tensor_of_dimensions_is_refused():
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        gg.zeros(3).fill_(gg.ones(3))
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        gg.zeros(3).copy_([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        gg.zeros(3).copy_(gg.ones(2))


def _set_row(t, s):
    t[0] = s[1]
    t[1, 1:] = 0.25
    return t


@pytest.mark.parametrize(
    "overwrite",
    [
        _set_row,
        lambda t, s: t.copy_(s),
        lambda t, s: t.copy_(s[0]),
        lambda t, s: t.fill_(s[1, 2]),
        lambda t, s: t.zero_() + s.sum(),
    ],
    ids=["setitem", "copy_", "copy_-broadcast", "fill_", "zero_"],
)
def test_overwrite_gradients_by_finite_differences(device, overwrite):
    def f(a, s):
        return overwrite(a * 1.5, s) * a

    a = gg.rand(2, 3, dtype="float64", device=device, requires_grad=True)
    s = gg.rand(2, 3, dtype="float64", device=device, requires_grad=True)
    assert gradcheck(f, (a, s))
    assert gradgradcheck(f, (a, s))


def test_overwrite_gradient_casts_back_to_the_source_dtype(device):
    src = gg.tensor([1.0, 2.0], dtype="float64", device=device, requires_grad=True)
    t = gg.zeros(3, 2, device=device, requires_grad=True) * 1
    t.copy_(src)
    t.sum().backward()
    assert src.grad.dtype == gg.float64 and src.grad.tolist() == [3.0, 3.0]


def test_overwrites_count_one_write_each_and_guard_saved_values(device):
    t = gg.zeros(3, device=device)
    start = t._version
    t.copy_(gg.ones(3, device=device))
    t.fill_(2.0)
    t.zero_()
    t[0] = 1.0
    assert t._version == start + 4
    x = gg.rand(3, device=device, requires_grad=True)
    y = x * 1
    z = y.sin()
    y.copy_(gg.ones(3, device=device))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# --- next_functions for Python-number operands --------------------------------------------
def _kinds(out):
    """``next_functions`` as (node name or None, input nr), in both libraries' spelling."""
    return [
        (None if fn is None else fn.name().rpartition("::")[2], nr)
        for fn, nr in out.grad_fn.next_functions
    ]


NUMBER_OPERANDS = {
    "x * 2": lambda lib, x, y, c: x * 2,
    "2 * x": lambda lib, x, y, c: 2 * x,
    "x + 1": lambda lib, x, y, c: x + 1,
    "x - 1": lambda lib, x, y, c: x - 1,
    "1 - x": lambda lib, x, y, c: 1 - x,
    "x / 3": lambda lib, x, y, c: x / 3,
    "3 / x": lambda lib, x, y, c: 3 / x,
    "x ** 2": lambda lib, x, y, c: x**2,
    "pow(x, 2.0)": lambda lib, x, y, c: lib.pow(x, 2.0),
    "2 ** x": lambda lib, x, y, c: 2**x,
    "pow(2, x)": lambda lib, x, y, c: lib.pow(2, x),
    "x ** y": lambda lib, x, y, c: x**y,
    "y ** x": lambda lib, x, y, c: y**x,
    "where(c, x, 0.0)": lambda lib, x, y, c: lib.where(c, x, 0.0),
    "where(c, 0.0, x)": lambda lib, x, y, c: lib.where(c, 0.0, x),
    "where(c, x, y)": lambda lib, x, y, c: lib.where(c, x, y),
    "where(c, y, x)": lambda lib, x, y, c: lib.where(c, y, x),
    "clamp(x, 0, 1)": lambda lib, x, y, c: x.clamp(0, 1),
    "x * y": lambda lib, x, y, c: x * y,
    "(x * 1).mul_(2)": lambda lib, x, y, c: (x * 1).mul_(2),
    "(x * 1).pow_(2)": lambda lib, x, y, c: (x * 1).pow_(2),
}


@pytest.mark.parametrize("expression", list(NUMBER_OPERANDS))
def test_next_functions_of_number_operands_are_pytorchs(device, expression):
    torch = pytest.importorskip("torch")

    def build(lib, on=None):
        kwargs = {} if on is None else {"device": on}
        x = lib.tensor([0.5, 1.0, 2.0], requires_grad=True, **kwargs)
        y = lib.tensor([1.5, 0.5, 3.0], **kwargs)
        return NUMBER_OPERANDS[expression](lib, x, y, x > 0.75)

    ours, theirs = build(gg, device), build(torch)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert _kinds(ours) == _kinds(theirs)


@pytest.mark.parametrize("expression", list(NUMBER_OPERANDS))
def test_number_operands_still_get_their_gradients(device, expression):
    torch = pytest.importorskip("torch")

    def grad(lib, on=None):
        kwargs = {} if on is None else {"device": on}
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True, **kwargs)
        y = lib.tensor([1.5, 0.5, 3.0], dtype=lib.float64, **kwargs)
        NUMBER_OPERANDS[expression](lib, x, y, x > 0.75).sum().backward()
        return x.grad.tolist()

    assert grad(gg, device) == pytest.approx(grad(torch))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "int8"])
@pytest.mark.parametrize("value", [1e10, 1e300, 300, -129, math.inf, 2.5])
def test_fill_and_full_refuse_what_pytorch_refuses(device, dtype, value):
    torch = pytest.importorskip("torch")

    def outcome(make):
        try:
            return make().tolist()
        except RuntimeError as error:
            return str(error)

    expected = outcome(lambda: torch.zeros(2, dtype=getattr(torch, dtype)).fill_(value))
    assert outcome(lambda: gg.zeros(2, dtype=dtype, device=device).fill_(value)) == expected
    theirs = outcome(lambda: torch.full((2,), value, dtype=getattr(torch, dtype)))
    assert outcome(lambda: gg.full((2,), value, dtype=dtype, device=device)) == theirs
