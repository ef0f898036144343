"""Elementwise ops beyond the basics, against PyTorch: operators on integer and bool
tensors (``// % & | ^ ~`` with their reflected and in-place forms), integer-valued ops,
PyTorch's special values (NaN, inf, integer wraparound) and error texts.

Gradients of every op with a ``domain`` are checked by the generated tables
(tests/test_op_gradients.py, tests/test_registry.py); this file checks what is special."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, gg.Tensor) else t.detach().numpy()


def same(ours, theirs, rtol=1e-6, atol=0.0) -> None:
    """Same dtype, shape and values (NaN where PyTorch has NaN)."""
    assert str(ours.dtype).removeprefix("gpugrad.") == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=rtol, atol=atol)


def outcome(fn, lib, *args):
    """``fn(lib, *args)``'s result, or its exception class and first line."""
    try:
        return fn(lib, *args)
    except Exception as error:  # noqa: BLE001 - compared with PyTorch's
        return type(error).__name__, str(error).splitlines()[0]


# --- operators on integer and bool tensors ------------------------------------------------
INT_A = [6, -7, 3, 0, 127]
INT_B = [3, 2, -5, 9, 4]
OPERATORS = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "and_scalar": lambda a, b: a & 5,
    "ror_scalar": lambda a, b: 5 | a,
    "rxor_scalar": lambda a, b: 12 ^ a,
    "floordiv_scalar": lambda a, b: a // 4,
    "rfloordiv_scalar": lambda a, b: 100 // b,
    "mod_scalar": lambda a, b: a % -4,
    "rmod_scalar": lambda a, b: 100 % b,
    "invert": lambda a, b: ~a,
    "bitwise_fns": lambda a, b: a.bitwise_and(b) + a.bitwise_or(b) - a.bitwise_xor(b),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operators_on_integer_tensors_match_torch(device, dtype, name):
    a_values = [abs(v) for v in INT_A] if dtype == "uint8" else INT_A
    b_values = [abs(v) for v in INT_B] if dtype == "uint8" else INT_B
    op = OPERATORS[name]
    ours = op(
        *(gg.tensor(v, dtype=getattr(gg, dtype), device=device) for v in (a_values, b_values))
    )
    theirs = op(*(torch.tensor(v, dtype=getattr(torch, dtype)) for v in (a_values, b_values)))
    same(ours, theirs)


@pytest.mark.parametrize("name", ["and", "or", "xor", "invert", "and_scalar", "ror_scalar"])
def test_operators_on_bool_tensors_match_torch(device, name):
    a, b = [True, True, False, False], [True, False, True, False]
    op = OPERATORS[name]
    same(
        op(gg.tensor(a, device=device), gg.tensor(b, device=device)),
        op(torch.tensor(a), torch.tensor(b)),
    )
    mixed = (
        gg.tensor(a, device=device) & True,
        gg.tensor(a, device=device) | gg.tensor([2, 1, 0, 3], device=device),
    )
    same(mixed[0], torch.tensor(a) & True)
    same(mixed[1], torch.tensor(a) | torch.tensor([2, 1, 0, 3]))


def test_in_place_operators_match_torch(device):
    def run(lib, **kw):
        x = lib.tensor([6, -7, 3, 9], **kw)
        x //= 2
        x %= 3
        x &= 6
        x |= 8
        x ^= 3
        y = lib.tensor([7.5, -7.5], **({"device": device} if lib is gg else {}))
        y //= 2
        y %= 1.25
        return x, y

    ours, theirs = run(gg, device=device), run(torch)
    same(ours[0], theirs[0])
    same(ours[1], theirs[1])
    x = gg.tensor([5, 6], device=device)
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        x //= 2.5


ERRORS = {
    "float_and": lambda lib: lib.tensor([1.0]) & lib.tensor([1.0]),
    "float_and_scalar": lambda lib: lib.tensor([1.0]) & 1,
    "float_invert": lambda lib: ~lib.tensor([1.0]),
    "int_mod_zero": lambda lib: lib.tensor([5]) % 0,
    "int_floordiv_zero": lambda lib: lib.tensor([5]) // lib.tensor([0]),
    "int_fmod_zero": lambda lib: lib.fmod(lib.tensor([5, 1]), lib.tensor([1, 0])),
    "frac_int": lambda lib: lib.frac(lib.tensor([3])),
    "round_decimals_int": lambda lib: lib.round(lib.tensor([15, 25]), decimals=-1),
    "hypot_int": lambda lib: lib.hypot(lib.tensor([3]), lib.tensor([4])),
    "atan2_scalar": lambda lib: lib.atan2(lib.tensor([1.0]), 2),
    "fmax_scalar": lambda lib: lib.fmax(lib.tensor([1.0]), 2.0),
    "hypot_scalar": lambda lib: lib.hypot(lib.tensor([1.0]), 2.0),
    "lerp_int": lambda lib: lib.lerp(lib.tensor([1, 2]), lib.tensor([3, 4]), 0.5),
    "lerp_dtypes": lambda lib: lib.lerp(
        lib.tensor([1.0]), lib.tensor([2.0], dtype=lib.float64), 0.5
    ),
    "lerp_weight_dtype": lambda lib: lib.lerp(
        lib.tensor([1.0]), lib.tensor([2.0]), lib.tensor([0.5], dtype=lib.float64)
    ),
    "isclose_dtypes": lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([1])),
    "isclose_rtol": lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([1.0]), rtol=-1),
    "isclose_atol": lambda lib: lib.isclose(lib.tensor([1.0]), lib.tensor([1.0]), atol=-0.5),
    "isclose_scalar": lambda lib: lib.isclose(lib.tensor([1.0]), 1.0),
    "where_float_condition": lambda lib: lib.where(lib.tensor([1.0]), lib.tensor([1.0]), 0.0),
    "where_long_condition": lambda lib: lib.where(lib.tensor([1]), lib.tensor([1.0]), 0.0),
    "polygamma_negative": lambda lib: lib.polygamma(-1, lib.tensor([1.0])),
    "floor_bool": lambda lib: lib.floor(lib.tensor([True])),
    "broadcast": lambda lib: lib.fmod(lib.ones(2, 3), lib.ones(4)),
    "broadcast_bitwise": lambda lib: lib.tensor([1, 2]) & lib.tensor([1, 2, 3]),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    ours = outcome(lambda lib: ERRORS[name](lib), gg)
    theirs = outcome(lambda lib: ERRORS[name](lib), torch)
    assert isinstance(theirs, tuple), theirs
    assert ours == theirs


def test_comparison_with_none_is_python_equality(device):
    t = gg.tensor([1.0, 2.0], device=device)
    assert (t == None) is False  # noqa: E711 - the spelling users write
    assert (t != None) is True  # noqa: E711
    assert (torch.tensor([1.0]) == None) is False  # noqa: E711


# --- integer wraparound -------------------------------------------------------------------
WRAPS = {
    "add": lambda t: t + 300,
    "mul": lambda t: t * 1000,
    "sub": lambda t: t - 300,
    "rsub": lambda t: 300 - t,
    "radd": lambda t: 1000 + t,
    "floordiv": lambda t: t // 300,
    "mod": lambda t: t % 300,
    "and": lambda t: t & 511,
    "eq": lambda t: t == 300,
}


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
@pytest.mark.parametrize("name", sorted(WRAPS))
def test_python_ints_wrap_into_the_tensor_dtype(device, dtype, name):
    values = [1, 100, 7]
    ours = WRAPS[name](gg.tensor(values, dtype=getattr(gg, dtype), device=device))
    theirs = WRAPS[name](torch.tensor(values, dtype=getattr(torch, dtype)))
    same(ours, theirs)


def test_int8_examples_from_the_issue(device):
    one = gg.tensor([1], dtype=gg.int8, device=device)
    assert (one + 300).tolist() == [45] and (one + 300).dtype == gg.int8
    assert (one * 1000).tolist() == [-24]
    one.add_(300)
    assert one.tolist() == [45]


# --- rounding and integer-valued ops ------------------------------------------------------
ROUNDING_VALUES = [
    -2.5,
    -1.5,
    -0.5,
    0.5,
    1.5,
    2.5,
    -1.7,
    1.2,
    0.125,
    1234.5678,
    -0.0,
    INF,
    -INF,
    NAN,
]


@pytest.mark.parametrize(
    "call",
    [
        "floor",
        "ceil",
        "trunc",
        "round",
        "frac",
        "fix",
        "round_1",
        "round_2",
        "round_-2",
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rounding_matches_torch_with_zero_gradients(device, call, dtype):
    name, _, decimals = call.partition("_")
    kwargs = {"decimals": int(decimals)} if decimals else {}
    x = gg.tensor(ROUNDING_VALUES, dtype=getattr(gg, dtype), device=device, requires_grad=True)
    xt = torch.tensor(ROUNDING_VALUES, dtype=getattr(torch, dtype), requires_grad=True)
    y, yt = getattr(gg, name)(x, **kwargs), getattr(torch, name)(xt, **kwargs)
    same(y, yt)
    assert y.grad_fn.name() == yt.grad_fn.name()
    y.sum().backward()
    yt.sum().backward()
    same(x.grad, xt.grad)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "square", "nan_to_num"])
def test_integer_tensors_keep_their_dtype(device, name):
    ours = getattr(gg, name)(gg.tensor([-3, 0, 4], dtype=gg.int32, device=device))
    same(ours, getattr(torch, name)(torch.tensor([-3, 0, 4], dtype=torch.int32)))


def test_in_place_forms_and_aliases(device):
    values = [0.25, -0.5, 0.75]
    for name in (
        "asin",
        "arcsin",
        "acos",
        "arccos",
        "atan",
        "arctan",
        "sinh",
        "cosh",
        "asinh",
        "arcsinh",
        "atanh",
        "arctanh",
        "exp2",
        "erfc",
        "erfinv",
        "floor",
        "ceil",
        "round",
        "trunc",
        "fix",
        "frac",
        "square",
        "nan_to_num",
    ):
        x = gg.tensor(values, dtype=gg.float64, device=device)
        out = getattr(x, f"{name}_")()
        assert out is x
        same(x, getattr(torch, name)(torch.tensor(values, dtype=torch.float64)), rtol=1e-14)
    assert gg.arcsin is gg.asin and gg.Tensor.arctan2 is gg.atan2.__wrapped__ and gg.fix is gg.trunc
    x = gg.tensor([2.0, 3.0], device=device)
    x.lgamma_()
    x.digamma_()
    x.polygamma_(1)
    xt = torch.tensor([2.0, 3.0]).lgamma_().digamma_().polygamma_(1)
    same(x, xt, rtol=1e-5)


def test_remainder_and_fmod_signs_and_gradients_match_torch(device):
    a = [5.5, -5.5, 5.5, -5.5, 0.0, 3.0]
    b = [2.0, 2.0, -2.0, -2.0, 1.5, 0.7]
    for name in ("remainder", "fmod"):
        x = gg.tensor(a, dtype=gg.float64, device=device, requires_grad=True)
        y = gg.tensor(b, dtype=gg.float64, device=device, requires_grad=True)
        xt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        yt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        out, out_t = getattr(gg, name)(x, y), getattr(torch, name)(xt, yt)
        same(out, out_t, rtol=1e-14)
        assert out.grad_fn.name() == out_t.grad_fn.name()
        (out * gg.arange(6, device=device)).sum().backward()
        (out_t * torch.arange(6)).sum().backward()
        same(x.grad, xt.grad)
        same(y.grad, yt.grad)
        scalar, scalar_t = getattr(gg, name)(x, -1.5), getattr(torch, name)(xt, -1.5)
        same(scalar, scalar_t, rtol=1e-14)
        assert scalar.grad_fn.name() == scalar_t.grad_fn.name()


def test_floor_divide_is_not_differentiable_and_rounds_down(device):
    x = gg.tensor([7.5, -7.5, 0.5], device=device, requires_grad=True)
    out = x // 2
    # as PyTorch: the result requires grad, and its NotImplemented node refuses backward
    assert out.requires_grad and out.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide"):
        out.sum().backward()
    same(out.detach(), torch.tensor([7.5, -7.5, 0.5]) // 2)
    assert (5 % x).requires_grad is True
    same(
        gg.floor_divide(x, gg.tensor([-2.0, 2.0, 0.0], device=device)),
        torch.floor_divide(torch.tensor([7.5, -7.5, 0.5]), torch.tensor([-2.0, 2.0, 0.0])),
    )


# --- lerp, fmax/fmin, hypot, atan2 ----------------------------------------------------------
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 0.7, 1.0, -0.6, 1.5, "tensor"])
def test_lerp_matches_torch(device, weight):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4) * 1e3
    w = rng.uniform(-0.5, 1.5, (3, 1)) if weight == "tensor" else weight
    x = gg.tensor(a, dtype=gg.float32, device=device, requires_grad=True)
    e = gg.tensor(b, dtype=gg.float32, device=device, requires_grad=True)
    xt, et = (
        torch.tensor(a, dtype=torch.float32, requires_grad=True),
        torch.tensor(b, dtype=torch.float32, requires_grad=True),
    )
    wg = (
        gg.tensor(w, dtype=gg.float32, device=device, requires_grad=True)
        if weight == "tensor"
        else w
    )
    wt = torch.tensor(w, dtype=torch.float32, requires_grad=True) if weight == "tensor" else w
    out, out_t = gg.lerp(x, e, wg), torch.lerp(xt, et, wt)
    same(out, out_t, rtol=2e-7)  # PyTorch fuses multiply-adds: last-bit differences
    if weight in (0.0, 1.0):  # exact at both ends, from the nearer end's formula
        np.testing.assert_array_equal(
            to_numpy(out), to_numpy((x if weight == 0 else e).expand(3, 4))
        )
    assert out.grad_fn.name() == out_t.grad_fn.name()
    out.sum().backward()
    out_t.sum().backward()
    same(x.grad, xt.grad)
    same(e.grad, et.grad)
    if weight == "tensor":
        same(wg.grad, wt.grad, rtol=1e-5)


def test_fmax_fmin_ignore_nan_and_route_gradients_as_torch(device):
    a = [NAN, 1.0, NAN, 2.0, 3.0, -1.0]
    b = [1.0, NAN, NAN, 2.0, -3.0, 4.0]
    for name in ("fmax", "fmin", "maximum", "minimum"):
        x = gg.tensor(a, device=device, requires_grad=True)
        y = gg.tensor(b, device=device, requires_grad=True)
        xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        out, out_t = getattr(gg, name)(x, y), getattr(torch, name)(xt, yt)
        same(out, out_t)
        out.sum().backward()
        out_t.sum().backward()
        same(x.grad, xt.grad)
        same(y.grad, yt.grad)


def test_hypot_and_atan2_match_torch_including_infinities(device):
    a = [3.0, -1.0, 0.0, INF, -INF, 1e200, 0.0, NAN]
    b = [4.0, 0.0, -0.0, 1.0, 2.0, 1e200, 0.0, 1.0]
    for name in ("hypot", "atan2"):
        ours = getattr(gg, name)(
            gg.tensor(a, dtype=gg.float64, device=device),
            gg.tensor(b, dtype=gg.float64, device=device),
        )
        theirs = getattr(torch, name)(
            torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
        )
        same(ours, theirs, rtol=1e-15)
    same(
        gg.atan2(gg.tensor([3], device=device), gg.tensor([4], device=device)),
        torch.atan2(torch.tensor([3]), torch.tensor([4])),
    )


# --- NaN and infinity -----------------------------------------------------------------------
SPECIAL = [NAN, INF, -INF, 0.0, -0.0, 1.0, -2.5, 3e38]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_isinf_family_and_nan_to_num_match_torch(device, dtype):
    values = SPECIAL[:-1] if dtype == "float16" else SPECIAL
    x = gg.tensor(values, dtype=getattr(gg, dtype), device=device)
    xt = torch.tensor(values, dtype=getattr(torch, dtype))
    for name in ("isinf", "isposinf", "isneginf", "isnan", "isfinite"):
        same(getattr(gg, name)(x), getattr(torch, name)(xt))
    same(gg.nan_to_num(x), torch.nan_to_num(xt))
    same(
        x.nan_to_num(nan=1.5, posinf=7.0, neginf=-7.0),
        xt.nan_to_num(nan=1.5, posinf=7.0, neginf=-7.0),
    )
    ints = gg.tensor([1, -2], device=device)
    same(gg.isinf(ints), torch.isinf(torch.tensor([1, -2])))


def test_nan_to_num_gradient_is_zero_where_values_were_replaced(device):
    x = gg.tensor(SPECIAL, dtype=gg.float64, device=device, requires_grad=True)
    xt = torch.tensor(SPECIAL, dtype=torch.float64, requires_grad=True)
    gg.nan_to_num(x).sum().backward()
    torch.nan_to_num(xt).sum().backward()
    same(x.grad, xt.grad)


@pytest.mark.parametrize("equal_nan", [False, True])
def test_isclose_matches_torch(device, equal_nan):
    a = [1.0, 1.0 + 1e-6, 1.0 + 1e-4, NAN, INF, INF, -INF, 0.0, 1e-9]
    b = [1.0, 1.0, 1.0, NAN, INF, -INF, -INF, 1e-9, 0.0]
    for kwargs in ({}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 1e-3}, {"atol": 1e-8, "rtol": 0.0}):
        ours = gg.isclose(
            gg.tensor(a, device=device), gg.tensor(b, device=device), equal_nan=equal_nan, **kwargs
        )
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan, **kwargs)
        same(ours, theirs)
    same(
        gg.isclose(gg.tensor([1, 2], device=device), gg.tensor([[1], [3]], device=device)),
        torch.isclose(torch.tensor([1, 2]), torch.tensor([[1], [3]])),
    )


def test_logical_ops_and_their_in_place_forms(device):
    a, b = [1.0, 0.0, 2.0, 0.0], [1, 1, 0, 0]
    for name in ("logical_and", "logical_or", "logical_xor"):
        same(
            getattr(gg, name)(gg.tensor(a, device=device), gg.tensor(b, device=device)),
            getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
        )
        x, xt = gg.tensor(a, device=device), torch.tensor(a)
        getattr(x, f"{name}_")(gg.tensor(b, device=device))
        getattr(xt, f"{name}_")(torch.tensor(b))
        same(x, xt)
    x, xt = gg.tensor(a, device=device), torch.tensor(a)
    same(x.logical_not_(), xt.logical_not_())


# --- issue 15: special values ---------------------------------------------------------------
def test_sign_of_nan_is_zero_as_torch(device):
    values = [NAN, -0.0, 0.0, -3.0, INF]
    same(gg.sign(gg.tensor(values, device=device)), torch.sign(torch.tensor(values)))


@pytest.mark.parametrize("name", ["abs", "relu", "sign", "sqrt", "exp"])
def test_unary_gradients_at_nan_match_torch(device, name):
    values = [NAN, 0.0, -1.0, 1.0]
    x = gg.tensor(values, device=device, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    getattr(gg, name)(x).sum().backward()
    getattr(torch, name)(xt).sum().backward()
    same(x.grad, xt.grad)


@pytest.mark.parametrize("exponent", ["scalar", "tensor", "zero_d"])
def test_pow_zero_has_zero_gradient_everywhere(device, exponent):
    values = [NAN, 0.0, INF, -INF, 1.0, -2.0]

    def run(lib, **kw):
        x = lib.tensor(values, requires_grad=True, **kw)
        e = {"scalar": 0, "tensor": lib.zeros(6, **kw), "zero_d": lib.tensor(0.0, **kw)}[exponent]
        out = lib.pow(x, e)
        out.sum().backward()
        return out, x.grad

    (out, grad), (out_t, grad_t) = run(gg, device=device), run(torch)
    same(out, out_t)
    same(grad, grad_t)


def test_div_gradient_does_not_overflow_where_torch_does_not(device):
    for dtype in ("float32", "float64"):
        x = gg.tensor([INF, 1e30, 3.0], dtype=getattr(gg, dtype), device=device, requires_grad=True)
        y = gg.tensor(
            [1e30, 1e-30, 2.0], dtype=getattr(gg, dtype), device=device, requires_grad=True
        )
        xt = torch.tensor([INF, 1e30, 3.0], dtype=getattr(torch, dtype), requires_grad=True)
        yt = torch.tensor([1e30, 1e-30, 2.0], dtype=getattr(torch, dtype), requires_grad=True)
        (x / y).sum().backward()
        (xt / yt).sum().backward()
        same(x.grad, xt.grad)
        same(y.grad, yt.grad)


@pytest.mark.parametrize("size", [5, 400])  # small arrays and blocked kernels
@pytest.mark.parametrize("beta,threshold", [(1.0, 20.0), (2.0, 5.0), (1.0, 1000.0)])
def test_softplus_at_infinities_and_nan_matches_torch(device, size, beta, threshold):
    base = [INF, -INF, NAN, 100.0, 1.0, -100.0, 30.0]
    values = (base * size)[:size]
    x = gg.tensor(values, device=device, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    out = gg.nn.functional.softplus(x, beta=beta, threshold=threshold)
    out_t = torch.nn.functional.softplus(xt, beta=beta, threshold=threshold)
    same(out, out_t, rtol=1e-6, atol=1e-43)  # exp(-100) is subnormal in float32
    out.sum().backward()
    out_t.sum().backward()
    same(x.grad, xt.grad, rtol=1e-6, atol=1e-43)


def test_polygamma_matches_torch(device):
    values = np.concatenate([np.linspace(0.1, 20, 30), np.linspace(-4.7, -0.3, 9)])
    for n in (0, 1, 2, 3, 6):
        ours = gg.polygamma(n, gg.tensor(values, dtype=gg.float64, device=device))
        theirs = torch.polygamma(n, torch.tensor(values, dtype=torch.float64))
        same(ours, theirs, rtol=1e-12)
    x = gg.tensor([1.5, 2.5], device=device, requires_grad=True)
    xt = torch.tensor([1.5, 2.5], requires_grad=True)
    x.digamma().sum().backward()
    xt.digamma().sum().backward()
    same(x.grad, xt.grad, rtol=1e-6)
    assert gg.polygamma(1, gg.tensor([1, 2], device=device)).dtype == gg.float32


ZERO_D_UNARY = [
    "sign", "abs", "exp2", "log2", "log10", "square", "asin", "acos", "atan", "sinh", "cosh",
    "asinh", "atanh", "erfc", "erfinv", "lgamma", "digamma", "floor", "ceil", "round", "trunc",
    "frac", "isinf", "isposinf", "isneginf", "nan_to_num",
]  # fmt: skip


@pytest.mark.parametrize("name", ZERO_D_UNARY)
@pytest.mark.parametrize("value", [0.25, NAN, -INF])
def test_zero_dim_tensors_match_torch(device, name, value):
    """0-d tensors (NumPy scalars on the CPU backend) take the same paths."""
    x = gg.tensor(value, dtype=gg.float64, device=device, requires_grad=True)
    xt = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    out, out_t = getattr(gg, name)(x), getattr(torch, name)(xt)
    same(out, out_t, rtol=1e-14)
    if out_t.requires_grad:
        out.backward()
        out_t.backward()
        same(x.grad, xt.grad, rtol=1e-12)
    binary = gg.remainder(x, 0.75), gg.fmod(x, -0.75), gg.lerp(x, x * 2, 0.25), x.hypot(x)
    binary_t = (
        torch.remainder(xt, 0.75),
        torch.fmod(xt, -0.75),
        torch.lerp(xt, xt * 2, 0.25),
        xt.hypot(xt),
    )
    for ours, theirs in zip(binary, binary_t):
        same(ours, theirs, rtol=1e-14)
