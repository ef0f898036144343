"""PyTorch's ``out=`` keyword on gpugrad's top-level ops and factories (gpugrad/_out.py),
each behaviour compared with PyTorch: the values written, ``out`` returned, resizing and
its warning, the dtype rules and their errors, the autograd refusal, aliasing, the version
counter and views."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad._out import OUT_RULES

torch = pytest.importorskip("torch")


def _rand(*shape: int, seed: int = 0, low: float = 0.1, high: float = 0.9):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64) * (high - low) + low


def _ints(*shape: int, high: int = 3, seed: int = 7):
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def _cases() -> dict:
    """For every op PyTorch might give ``out=``, arguments (as torch values) to call it with."""
    x, y, m, v = _rand(3, 4), _rand(3, 4, seed=1), _rand(4, 5, seed=2), _rand(4, seed=3)
    bx, by = _rand(2, 3, 4, seed=4), _rand(2, 4, 5, seed=5)
    sq = _rand(3, 3, seed=6) + 3 * torch.eye(3, dtype=torch.float64)
    i, j, mask = _ints(3, 4), _ints(3, 4, seed=8), _ints(3, 4, high=2).bool()
    i2, src, idx = _ints(3, 2), _rand(3, 2, seed=9), torch.tensor([0, 2])
    groups = (
        (
            "abs acos arccos arcsin arcsinh arctan arctanh asin asinh atan atanh ceil cos cosh "
            "digamma erf erfc erfinv exp exp2 expm1 isneginf isposinf isinf isnan lgamma log "
            "log10 log1p log2 logical_not msort nan_to_num neg negative reciprocal rsqrt sigmoid "
            "sin sinh sqrt square tan tanh tril triu argsort clone diag diag_embed norm",
            (x,),
        ),
        (
            "add arctan2 atan2 div fmax fmin ge greater gt hypot inner le less logaddexp "
            "logical_and logical_or logical_xor lt maximum minimum mul ne pow sub dist",
            (x, y),
        ),
        ("cat concatenate dstack hstack row_stack stack vstack", ([x, y],)),
        ("amax argmax argmin cummax cumprod cumsum logcumsumexp log_softmax", (x, 1)),
        ("logsumexp max mean median nanmean nanmedian nansum prod softmax", (x, 1)),
        ("std std_mean var var_mean", (x, 1)),
        ("amin cummin min sum", (x, 0)),
        ("fix floor frac round sign trunc", (x * 5,)),
        ("floor_divide fmod remainder", (x * 5, y)),
        ("bitwise_and bitwise_or bitwise_xor eq", (i, j)),
        ("bitwise_not count_nonzero nonzero", (i,)),
        ("clamp clip", (x, 0.3, 0.6)),
        ("dot ger outer", (v, v)),
        ("matmul mm", (x, m)),
        ("quantile nanquantile", (x, 0.3, 1)),
        ("inverse slogdet trace", (sq,)),
        ("scatter scatter_add", (x, 1, i2, src)),
        ("absolute sgn positive deg2rad rad2deg logit sinc signbit ravel diagflat", (x,)),
        ("fliplr flipud rot90 atleast_1d atleast_2d atleast_3d aminmax diff", (x,)),
        ("multiply subtract divide true_divide greater_equal less_equal not_equal", (x, y)),
        ("xlogy float_power copysign heaviside logaddexp2", (x, y)),
        ("addcmul addcdiv", (x, y, y)),
        ("clamp_min clamp_max", (x, 0.5)),
        ("swapdims", (x, 0, 1)),
        ("take", (x, i2)),
        ("tensor_split hsplit", (x, 2)),
        ("vsplit", (x, [1])),
        ("isin", (i, j)),
        ("vdot", (v, v)),
        ("addr", (x, _rand(3), v)),
        ("logdet", (sq,)),
        ("matrix_power", (sq, 3)),
        ("conj resolve_conj resolve_neg real isreal", (x,)),
        ("select", (x, 0, 1)),
        ("cov corrcoef", (x,)),
        ("block_diag cartesian_prod", (v, v)),
        ("unflatten", (x, 1, (2, 2))),
    )
    cases = {name: args for names, args in groups for name in names.split()}
    return cases | {
        "acosh": (x + 1,), "arccosh": (x + 1,), "addbmm": (_rand(3, 5), bx, by),
        "addmm": (_rand(3, 5), x, m), "addmv": (_rand(3), x, v), "all": (mask,),
        "any": (mask,), "baddbmm": (_rand(2, 3, 5), bx, by), "bmm": (bx, by),
        "column_stack": ([v, v],), "concat": ([x, y], 1), "cross": (bx[0, :, :3], by[0, :3, :3], 1),
        "flip": (x, (0,)), "gather": (x, 1, i2), "index_add": (x, 0, idx, _rand(2, 4)),
        "index_fill": (x, 1, idx, 1.5), "index_put": (x, (idx,), _rand(2, 4)),
        "index_select": (x, 1, idx), "kron": (x, _rand(2, 2)), "kthvalue": (x, 2),
        "lerp": (x, y, 0.3), "masked_fill": (x, mask, 2.0), "masked_select": (x, mask),
        "mode": (i, 1), "mv": (x, v), "polygamma": (1, x), "relu": (x - 0.5,),
        "repeat_interleave": (x, 2), "roll": (x, 1, 0), "scatter_reduce": (x, 1, i2, src, "sum"),
        "sort": (x,), "take_along_dim": (x, i2, 1), "tensordot": (x, m, 1), "topk": (x, 2),
        "where": (mask, x, y),
    }  # fmt: skip


CASES = _cases()


def _gg(value, device):
    if isinstance(value, torch.Tensor):
        return gg.tensor(value.numpy(), device=device)
    if isinstance(value, (list, tuple)):
        return type(value)(_gg(v, device) for v in value)
    return value


def _empty_like_result(result, module, dtype=None):
    """Zero-element outs shaped for ``result`` (a tensor or a tuple of them)."""
    lib = torch if module is torch else gg
    if isinstance(result, tuple):
        return tuple(lib.empty(0, dtype=_dtype(t.dtype, lib)) for t in result)
    return lib.empty(0, dtype=_dtype(result.dtype, lib) if dtype is None else dtype)


def _dtype(dtype, lib):
    return getattr(lib, str(dtype).rpartition(".")[2])


def _same(ours, theirs):
    if isinstance(theirs, tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    assert str(ours.dtype).rpartition(".")[2] == str(theirs.dtype).rpartition(".")[2]
    tol = 1e-6 if theirs.dtype in (torch.float32, torch.float16) else 1e-12
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=tol, atol=tol)


def _torch_takes_out(name: str) -> bool:
    args = CASES[name]
    result = getattr(torch, name)(*args)
    try:
        getattr(torch, name)(*args, out=_empty_like_result(result, torch))
    except TypeError as error:
        assert "out" in str(error) or "invalid combination" in str(error)
        return False
    return True


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(torch.cross without|torch.ger is).*")
        yield


def test_out_ops_are_exactly_those_pytorch_gives_out():
    missing = sorted(set(OUT_RULES) - set(CASES))
    assert missing == []
    takes = {name for name in CASES if _torch_takes_out(name)}
    assert sorted(takes ^ set(OUT_RULES)) == []
    import inspect

    for name in CASES:
        assert ("out" in inspect.signature(getattr(gg, name)).parameters) == (name in OUT_RULES)
        if name in OUT_RULES:
            assert "out=" in getattr(gg, name).__doc__
    # methods never take out=, as PyTorch's
    with pytest.raises(TypeError):
        gg.ones(2).add(gg.ones(2), out=gg.empty(2))


@pytest.mark.parametrize("name", sorted(OUT_RULES))
def test_out_holds_the_result_and_is_returned(name, device):
    args = CASES[name]
    expected = getattr(torch, name)(*args)
    out = _empty_like_result(expected, gg)
    out = tuple(t.to(device) for t in out) if isinstance(out, tuple) else out.to(device)
    got = getattr(gg, name)(*_gg(args, device), out=out)
    if isinstance(out, tuple):
        assert all(a is b for a, b in zip(got, out)) and type(got) is type(
            getattr(gg, name)(*_gg(args, device))
        )
    else:
        assert got is out
    _same(got, expected)


@pytest.mark.parametrize("name", sorted(OUT_RULES))
def test_out_of_another_dtype_as_pytorch(name, device):
    """Cast where PyTorch casts, refused where it refuses, with its exception class (and,
    but for a few ops whose own wording differs, its message)."""
    args = CASES[name]
    result = getattr(torch, name)(*args)
    first = result[0] if isinstance(result, tuple) else result
    for other in (torch.float32, torch.int32 if first.dtype == torch.int64 else torch.int64):
        theirs = _empty_like_result(result, torch)
        ours = _empty_like_result(gg.tensor(0, dtype=_dtype(first.dtype, gg)), gg)
        if isinstance(theirs, tuple):
            theirs = (torch.empty(0, dtype=other), *theirs[1:])
            ours = tuple(gg.empty(0, dtype=_dtype(t.dtype, gg), device=device) for t in theirs)
        else:
            theirs = torch.empty(0, dtype=other)
            ours = gg.empty(0, dtype=_dtype(other, gg), device=device)
        try:
            expected = getattr(torch, name)(*args, out=theirs)
        except (RuntimeError, TypeError, NotImplementedError) as error:
            with pytest.raises(type(error)) as caught:
                getattr(gg, name)(*_gg(args, device), out=ours)
            if name not in OWN_WORDING:
                assert str(caught.value) == str(error).split("\n")[0]
            continue
        _same(getattr(gg, name)(*_gg(args, device), out=ours), expected)


OWN_WORDING = {
    "addbmm", "cummax", "cummin", "dot", "index_select", "inner", "kthvalue", "logcumsumexp",
    "logsumexp", "masked_select", "median", "mode", "nan_to_num", "nanmean", "nanmedian",
    "nanquantile", "nansum", "nonzero", "quantile", "tensordot", "where", "mean", "take",
    "vdot", "float_power", "matrix_power",
}  # fmt: skip
"""Ops whose dtype error PyTorch words its own way; the class still matches."""


def test_resize_warns_as_pytorch_unless_out_is_empty(device):
    a, b = gg.ones(3, device=device), gg.ones(3, device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = gg.empty(0, device=device)
        gg.add(a, b, out=out)
        assert caught == [] and out.shape == (3,)
        out = gg.ones(2, 2, device=device)
        assert gg.add(a, b, out=out) is out
        torch.add(torch.ones(3), torch.ones(3), out=torch.ones(2, 2))
    ours, theirs = caught
    assert ours.category is theirs.category is UserWarning
    assert str(theirs.message).startswith(str(ours.message) + " (Triggered internally")
    np.testing.assert_array_equal(out.cpu().numpy(), [2.0, 2.0, 2.0])


def test_autograd_refusal_as_pytorch(device):
    w = gg.zeros(3, requires_grad=True, device=device)
    tw = torch.zeros(3, requires_grad=True)
    calls = {
        "add": (lambda lib, w, o: lib.add(w, 1, out=o)),
        "out requires grad": (lambda lib, w, o: lib.mul(w.detach(), 2, out=w)),
        "cat": (lambda lib, w, o: lib.cat([w, w], out=o)),
        "alias": (lambda lib, w, o: lib.arcsin(w, out=o)),
        "concat": (lambda lib, w, o: lib.concat([w], out=o)),
    }
    for call in calls.values():
        with pytest.raises(RuntimeError) as theirs:
            call(torch, tw, torch.empty(0))
        with pytest.raises(RuntimeError) as ours:
            call(gg, w, gg.empty(0, device=device))
        assert str(ours.value) == str(theirs.value)
    with gg.no_grad():  # as an optimizer writes a parameter
        assert gg.add(w, 1, out=w) is w
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.detach().cpu().numpy(), [1.0, 1.0, 1.0])


def test_out_may_be_an_input(device):
    x = gg.tensor([1.0, 2.0, 3.0], device=device)
    assert gg.mul(x, x, out=x) is x
    np.testing.assert_array_equal(x.cpu().numpy(), [1.0, 4.0, 9.0])
    m = gg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    gg.matmul(m, m, out=m)
    np.testing.assert_array_equal(m.cpu().numpy(), [[7.0, 10.0], [15.0, 22.0]])


def test_write_bumps_the_version_and_reaches_views(device):
    p = gg.ones(3, requires_grad=True, device=device)
    y = p * 2
    z = y.sin()  # saves y
    before = y._version
    with gg.no_grad():
        gg.mul(y, 1, out=y)
    assert y._version == before + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    out = gg.ones(3, device=device)
    view = out[1:]
    gg.mul(gg.ones(3, device=device), 5, out=out)
    np.testing.assert_array_equal(view.cpu().numpy(), [5.0, 5.0])
    strided = gg.zeros(2, 3, device=device).t()  # written through its strides
    gg.add(gg.ones(3, 2, device=device), 1, out=strided)
    np.testing.assert_array_equal(strided.cpu().numpy(), np.full((3, 2), 2.0))


def test_bad_out_arguments_as_pytorch(device):
    a = gg.ones(3, device=device)
    with pytest.raises(
        TypeError, match=re.escape("add(): argument 'out' must be Tensor, not tuple")
    ):
        gg.add(a, a, out=(gg.empty(3, device=device),))
    with pytest.raises(TypeError, match="expected tuple of 2 elements but got 3"):
        gg.max(a.view(1, 3), 1, out=tuple(gg.empty(1, device=device) for _ in range(3)))
    values, indices = gg.empty(0, device=device), gg.empty(0, dtype=gg.long, device=device)
    got = gg.max(a.view(1, 3), 1, out=[values, indices])  # a list serves as PyTorch's does
    assert got.values is values and got.indices is indices
    # one result (no dim): out is a tensor
    with pytest.warns(UserWarning, match=re.escape("had shape [1], which does not match")):
        assert gg.max(a, out=values) is values and values.shape == ()


def test_out_sharing_memory_between_elements_is_refused_as_pytorch(device):
    with pytest.raises(RuntimeError) as theirs:
        torch.add(torch.ones(3), 1, out=torch.ones(1).expand(3))
    with pytest.raises(RuntimeError) as ours:
        gg.add(gg.ones(3, device=device), 1, out=gg.ones(1, device=device).expand(3))
    assert str(ours.value) == str(theirs.value)


def test_accumulating_ops_compute_in_outs_dtype(device):
    x = gg.tensor([1.5, 1.5], device=device)  # 2.25 as a product, 1 as one of ints
    tx = torch.tensor([1.5, 1.5])
    for name, args in (("sum", (0,)), ("cumsum", (0,)), ("cumprod", (0,)), ("prod", (0,))):
        theirs = getattr(torch, name)(tx, *args, out=torch.empty(0, dtype=torch.long))
        ours = getattr(gg, name)(x, *args, out=gg.empty(0, dtype=gg.long, device=device))
        _same(ours, theirs)


def test_out_on_another_device_is_refused(device):
    if device == "cpu" and not gg.cuda.is_available():
        pytest.skip("needs a second device")
    other = "cpu" if device != "cpu" else "cuda"
    a = gg.ones(3, device=device)
    with pytest.raises(RuntimeError, match="Expected out tensor to have device"):
        gg.add(a, a, out=gg.empty(3, device=other))
    with pytest.raises(RuntimeError, match="Expected out tensor to have device"):
        gg.zeros(3, device=device, out=gg.empty(3, device=other))


# --- factories ---------------------------------------------------------------------------
FACTORIES = {
    "zeros": (3, 2),
    "ones": ((4,),),
    "full": ((2, 3), 2.5),
    "arange": (0, 5),
    "linspace": (0, 10, 5),
    "eye": (2, 3),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_factories_write_into_out_with_its_dtype(name, dtype, device):
    args = FACTORIES[name]
    theirs = torch.empty(2, dtype=getattr(torch, dtype))
    ours = gg.empty(2, dtype=getattr(gg, dtype), device=device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = getattr(torch, name)(*args, out=theirs)
        got = getattr(gg, name)(*args, out=ours)
    assert got is ours
    _same(got, expected)
    if name == "arange":  # arange alone warns of a resize, in its own words
        theirs_warning, ours_warning = caught
        assert str(theirs_warning.message).startswith(str(ours_warning.message) + " (Triggered")
    else:
        assert caught == []


def test_random_factories_with_out(device):
    gg.manual_seed(0)
    out = gg.empty(0, device=device)
    assert gg.randn(2, 3, out=out) is out and out.shape == (2, 3)
    gg.manual_seed(0)
    np.testing.assert_array_equal(out.cpu().numpy(), gg.randn(2, 3, device=device).cpu().numpy())
    double = gg.empty(5, dtype=gg.float64, device=device)
    gg.rand(5, out=double)
    assert double.dtype == gg.float64 and 0 <= double.min().item() <= double.max().item() < 1
    floats = gg.empty(0, device=device)
    gg.randint(5, (4,), out=floats)
    assert floats.dtype == gg.float32 and floats.shape == (4,)
    perm = gg.empty(0, dtype=gg.long, device=device)
    gg.randperm(6, out=perm)
    assert sorted(perm.tolist()) == list(range(6))
    for lib, make in ((torch, torch.empty), (gg, gg.empty)):
        with pytest.raises(NotImplementedError):
            lib.randn(3, out=make(0, dtype=lib.long))


def test_factory_dtype_clash_and_grad_as_pytorch(device):
    cases = (
        lambda lib, o: lib.zeros(3, dtype=lib.float32, out=o(lib.long)),
        lambda lib, o: lib.ones(3, out=o(lib.float32, requires_grad=True)),
    )
    for case in cases:
        with pytest.raises(RuntimeError) as theirs:
            case(torch, lambda dtype, **kw: torch.empty(2, dtype=dtype, **kw))
        with pytest.raises(RuntimeError) as ours:
            case(gg, lambda dtype, **kw: gg.empty(2, dtype=dtype, device=device, **kw))
        assert str(ours.value) == str(theirs.value)


# --- gpugrad.linalg ----------------------------------------------------------------------
def _linalg_cases() -> dict:
    a = _rand(3, 3, seed=11) + 3 * torch.eye(3, dtype=torch.float64)
    spd = a @ a.T
    v = _rand(3, seed=12)
    pair = (_rand(2, 3, seed=13), _rand(2, 3, seed=14))
    groups = (
        ("det inv matrix_norm matrix_rank pinv qr slogdet svd svdvals norm", (a,)),
        ("cholesky eigh eigvalsh", (spd,)),
    )
    cases = {name: args for names, args in groups for name in names.split()}
    return cases | {"cross": pair, "matmul": (a, a), "solve": (a, v), "vector_norm": (v,)}


LINALG_CASES = _linalg_cases()


def test_every_linalg_function_takes_out():
    from gpugrad._out import LINALG_OUT_RULES

    assert sorted(LINALG_OUT_RULES) == sorted(LINALG_CASES)
    named = set(gg.linalg.__all__) - {"LinAlgError"} - gg.linalg.WITHOUT_OUT  # mathx: the gap
    assert sorted(named) == sorted(LINALG_OUT_RULES)


@pytest.mark.parametrize("name", sorted(LINALG_CASES))
def test_linalg_out_as_pytorch(name, device):
    args = LINALG_CASES[name]
    ours_fn, theirs_fn = getattr(gg.linalg, name), getattr(torch.linalg, name)
    expected = theirs_fn(*args)
    out = _empty_like_result(tuple(expected) if isinstance(expected, tuple) else expected, gg)
    out = tuple(t.to(device) for t in out) if isinstance(out, tuple) else out.to(device)
    got = ours_fn(*_gg(args, device), out=out)
    if isinstance(out, tuple):
        assert all(a is b for a, b in zip(got, out))
        if name not in ("svd", "eigh", "qr"):  # defined up to signs: compared elsewhere
            _same(tuple(got), tuple(expected))
    else:
        assert got is out
        _same(got, expected)
    first = expected[0] if isinstance(expected, tuple) else expected
    for other in (torch.float32, torch.int64):
        theirs = torch.empty(0, dtype=other if first.dtype != other else torch.float32)
        if isinstance(expected, tuple):
            theirs = (theirs, *(torch.empty(0, dtype=t.dtype) for t in expected[1:]))
        ours = (
            tuple(gg.empty(0, dtype=_dtype(t.dtype, gg), device=device) for t in theirs)
            if isinstance(theirs, tuple)
            else gg.empty(0, dtype=_dtype(theirs.dtype, gg), device=device)
        )
        try:
            theirs_fn(*args, out=theirs)
        except RuntimeError as error:
            with pytest.raises(RuntimeError) as caught:
                ours_fn(*_gg(args, device), out=ours)
            assert str(caught.value) == str(error).split("\n")[0]
            continue
        ours_fn(*_gg(args, device), out=ours)


def test_linalg_out_refuses_autograd_as_pytorch(device):
    a = gg.eye(3, dtype=gg.float64, device=device).requires_grad_()
    ta = torch.eye(3, dtype=torch.float64).requires_grad_()
    for name in ("inv", "det", "vector_norm", "cross", "cholesky"):
        args, targs = ((a, a), (ta, ta)) if name == "cross" else ((a,), (ta,))
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch.linalg, name)(*targs, out=torch.empty(0, dtype=torch.float64))
        with pytest.raises(RuntimeError) as ours:
            getattr(gg.linalg, name)(*args, out=gg.empty(0, dtype=gg.float64, device=device))
        assert str(ours.value) == str(theirs.value)
