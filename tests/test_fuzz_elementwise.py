"""Regression tests for elementwise mismatches with PyTorch found by the program fuzzer
(``scripts/fuzz_vs_torch.py``): arguments PyTorch wants as tensors, ``clamp`` by tensor
bounds, ``lerp``'s dtype checks, integer division by a bool zero, the nodes of ``//``,
``%`` and ``div(rounding_mode=)``, and the sign of zero where ``relu``, ``clamp``,
``fmax`` and ``fmin`` meet a tie."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")


def host(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def same(ours, theirs) -> None:
    """Equal values, dtype and sign bits (NaN where NaN), and the same node."""
    a, b = host(ours), theirs.detach().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), (a, b)
    if a.dtype.kind == "f":
        assert np.array_equal(np.signbit(a), np.signbit(b)), (a, b)
    assert ours.requires_grad == theirs.requires_grad
    # the printed name (PyTorch's NotImplemented node calls itself
    # torch::autograd::NotImplemented in name() but prints grad_fn=<NotImplemented>)
    node = theirs.grad_fn.name().rpartition("::")[2] if theirs.grad_fn is not None else None
    assert (ours.grad_fn.name() if ours.grad_fn is not None else None) == node


def both(device, *values, dtype="float32", requires_grad=False):
    """The same tensors in gpugrad (on ``device``) and in PyTorch."""
    ours = [
        gg.tensor(v, dtype=getattr(gg, dtype), device=device, requires_grad=requires_grad)
        for v in values
    ]
    theirs = [
        torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=requires_grad) for v in values
    ]
    return ours, theirs


# --- arguments PyTorch's signatures want as tensors ------------------------------------
TENSOR_ONLY = ("maximum", "minimum", "logaddexp", "logical_and", "logical_or", "logical_xor")


@pytest.mark.parametrize("name", TENSOR_ONLY)
@pytest.mark.parametrize("number", [1, -1.5, True])
def test_a_number_where_a_tensor_is_wanted_raises_torchs_type_error(device, name, number):
    (x,), (xt,) = both(device, [1.0, -2.0, 0.0])
    assert_raises_like_torch(
        lambda: getattr(gg, name)(x, number), lambda: getattr(torch, name)(xt, number)
    )
    with pytest.raises(TypeError, match="must be Tensor, not"):
        getattr(x, name)(number)  # the method form: the same refusal


def test_a_numpy_scalar_is_named_with_its_module(device):
    (x,), (xt,) = both(device, [1.0, 2.0])
    assert_raises_like_torch(
        lambda: gg.maximum(x, np.float64(1)), lambda: torch.maximum(xt, np.float64(1))
    )


@pytest.mark.parametrize("name", TENSOR_ONLY)
def test_tensor_only_ops_still_take_tensors_and_0d_tensors(device, name):
    dtype = "bool" if name.startswith("logical") else "float32"
    values = [True, False, True] if dtype == "bool" else [1.0, -2.0, 0.5]
    (x, y), (xt, yt) = both(device, values, values[::-1], dtype=dtype)
    same(getattr(gg, name)(x, y), getattr(torch, name)(xt, yt))
    scalar = gg.tensor(values[1], device=device)
    same(getattr(x, name)(scalar), getattr(xt, name)(torch.tensor(values[1])))


# --- clamp by tensor bounds --------------------------------------------------------------
def test_clamp_by_a_tensor_and_a_number_is_refused_as_by_torch(device):
    (x, low), (xt, lowt) = both(device, [1.0, -2.0, 3.0], [0.0, 0.0, 4.0])
    for bound in (0.5, 2, False):
        with pytest.raises(TypeError) as theirs:
            torch.clamp(xt, lowt, bound)
        with pytest.raises(TypeError) as ours:
            gg.clamp(x, low, bound)
        assert str(ours.value) == str(theirs.value)
    # a 0-d tensor that needs no gradient counts as a number (PyTorch's Number overload) ...
    same(gg.clamp(x, gg.tensor(0.5, device=device), 2), torch.clamp(xt, torch.tensor(0.5), 2))
    # ... one that needs a gradient does not
    grad_bound = gg.tensor(0.5, device=device, requires_grad=True)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        gg.clamp(x, grad_bound, 2)


def test_clamp_by_tensor_bounds_is_one_clamp_node_with_torchs_gradients(device):
    nan = float("nan")
    x_values = [1.0, -2.0, 3.0, nan, 0.5, 2.0]
    low_values = [0.0, 0.0, 4.0, 0.0, 1.0, 2.0]
    high_values = [2.0, -1.0, 3.5, 1.0, 0.7, 2.0]
    for bounds in ((True, True), (True, False), (False, True)):
        (x, low, high), (xt, lowt, hight) = both(
            device, x_values, low_values, high_values, dtype="float64", requires_grad=True
        )
        lo, hi = (low if bounds[0] else None), (high if bounds[1] else None)
        lot, hit = (lowt if bounds[0] else None), (hight if bounds[1] else None)
        out, expected = gg.clamp(x, lo, hi), torch.clamp(xt, lot, hit)
        same(out, expected)
        weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        ours = gg.autograd.grad(
            (out * gg.tensor(weights, dtype=gg.float64, device=device)).nansum(),
            [t for t in (x, lo, hi) if t is not None],
        )
        theirs = torch.autograd.grad(
            (expected * torch.tensor(weights, dtype=torch.float64)).nansum(),
            [t for t in (xt, lot, hit) if t is not None],
        )
        for g, gt in zip(ours, theirs):
            np.testing.assert_array_equal(host(g), gt.numpy())


def test_clamp_by_tensor_bounds_broadcasts_promotes_and_passes_gradcheck(device):
    x = gg.tensor([[0.3, -1.2, 2.5]], dtype=gg.float64, device=device, requires_grad=True)
    low = gg.tensor([[-0.5], [0.0]], dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda a, b: gg.clamp(a, b, None), (x, low))
    high = gg.tensor(1.0, dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda a, b, c: gg.clamp(a, b, c), (x, low[0], high))
    (xf, lowd), (xft, lowdt) = both(device, [1.0, -2.0], [0.0, 0.0], requires_grad=True)
    lowd, lowdt = lowd.double(), lowdt.double()
    out, expected = gg.clamp(xf, lowd), torch.clamp(xft, lowdt)
    same(out, expected)
    out.sum().backward()
    expected.sum().backward()
    assert xf.grad.dtype == gg.float32
    np.testing.assert_array_equal(host(xf.grad), xft.grad.numpy())


def test_clamp_by_tensor_bounds_broadcasts_to_all_three_shapes(device):
    (x, low), (xt, lowt) = both(device, [1.0, 2.0], [0.0, 0.0])
    high, hight = gg.tensor([[3.0], [1.0]], device=device), torch.tensor([[3.0], [1.0]])
    same(gg.clamp(x, low, high), torch.clamp(xt, lowt, hight))
    same(gg.clamp(x, None, high), torch.clamp(xt, None, hight))
    bad = gg.tensor([0.0, 0.0, 0.0], device=device)
    assert_raises_like_torch(
        lambda: gg.clamp(x, bad, high), lambda: torch.clamp(xt, torch.zeros(3), hight)
    )


# --- lerp's dtype checks -----------------------------------------------------------------
LERP_CASES = [
    ("int64", "int64", 0.5),
    ("int64", "float32", 0.5),
    ("int32", "int64", 0.5),
    ("bool", "float32", 0.5),
    ("float32", "int64", [1, 2]),
    ("int64", "int64", [1, 2]),
    ("float32", "float32", [1, 2]),
    ("float32", "float64", [1, 2]),
    ("float64", "float64", [0.1, 0.2]),
    ("float32", "float32", "0-d float64"),
    ("float32", "float32", "0-d int32"),
    ("int64", "int64", "0-d float64"),
]


@pytest.mark.parametrize(("dtype", "end_dtype", "weight"), LERP_CASES)
def test_lerp_checks_dtypes_in_torchs_order(device, dtype, end_dtype, weight):
    values = [1, 0] if dtype != "bool" else [True, False]
    end_values = [3, -1] if end_dtype != "bool" else [False, True]
    (x,), (xt,) = both(device, values, dtype=dtype)
    (end,), (endt,) = both(device, end_values, dtype=end_dtype)
    if isinstance(weight, list):
        w_dtype = "int64" if isinstance(weight[0], int) else "float32"
        (w,), (wt,) = both(device, weight, dtype=w_dtype)
    elif isinstance(weight, str):
        w_dtype = weight.split()[1]
        (w,), (wt,) = both(device, 0.25 if "float" in w_dtype else 1, dtype=w_dtype)
    else:
        w, wt = weight, weight
    try:
        expected = torch.lerp(xt, endt, wt)
    except (RuntimeError, NotImplementedError):
        assert_raises_like_torch(lambda: gg.lerp(x, end, w), lambda: torch.lerp(xt, endt, wt))
        return
    same(gg.lerp(x, end, w), expected)


# --- integer division by a bool zero -----------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    [
        lambda L, i, b: i.fmod(False),
        lambda L, i, b: L.fmod(i, False),
        lambda L, i, b: i % False,
        lambda L, i, b: i // False,
        lambda L, i, b: i.div(False, rounding_mode="floor"),
        lambda L, i, b: True % i,
        lambda L, i, b: False // i,
        lambda L, i, b: 3 // b,
        lambda L, i, b: 2 % b,
    ],
)
def test_integer_division_by_a_bool_zero_raises_zero_division(device, expression):
    def run(L, dev):
        i = L.tensor([1, 0, 3], device=dev)
        b = L.tensor([True, False], device=dev)
        return expression(L, i, b)

    assert_raises_like_torch(lambda: run(gg, device), lambda: run(torch, "cpu"))


# --- the nodes of //, % and div(rounding_mode=) ------------------------------------------
@pytest.mark.parametrize(
    ("expression", "aten"),
    [
        (lambda L, x, y: x // 2, "floor_divide"),
        (lambda L, x, y: 3 // x, "floor_divide"),
        (lambda L, x, y: L.floor_divide(x, y), "floor_divide"),
        (lambda L, x, y: y.detach() // x, "floor_divide"),
        (lambda L, x, y: 2 % x, "remainder"),
    ],
)
def test_floor_division_results_require_grad_and_refuse_backward(device, expression, aten):
    (x, y), (xt, yt) = both(device, [1.5, -2.0], [0.7, 0.4], requires_grad=True)
    out, expected = expression(gg, x, y), expression(torch, xt, yt)
    same(out, expected)
    assert_raises_like_torch(lambda: out.sum().backward(), lambda: expected.sum().backward())
    with gg.no_grad():
        assert not expression(gg, x, y).requires_grad


@pytest.mark.parametrize("rounding_mode", ["floor", "trunc"])
def test_div_with_a_rounding_mode_is_div_backward2_with_zero_gradients(device, rounding_mode):
    (x, y), (xt, yt) = both(device, [1.5, -2.7], [0.7, 0.4], requires_grad=True)
    for ours, theirs in (
        (gg.div(x, y, rounding_mode=rounding_mode), torch.div(xt, yt, rounding_mode=rounding_mode)),
        (x.div(2, rounding_mode=rounding_mode), xt.div(2, rounding_mode=rounding_mode)),
        (
            x.div(y.double(), rounding_mode=rounding_mode),
            xt.div(yt.double(), rounding_mode=rounding_mode),
        ),
    ):
        same(ours, theirs)
        grads = gg.autograd.grad(ours.sum(), [x])
        assert grads[0].dtype == gg.float32
        np.testing.assert_array_equal(host(grads[0]), [0.0, 0.0])


def test_remainders_second_derivative_is_zero_not_an_error(device):
    (x, y), (xt, yt) = both(device, [1.5, -2.7], [0.7, 0.4], dtype="float64", requires_grad=True)
    ours = gg.autograd.grad((x % y).sum(), [x, y], create_graph=True)
    theirs = torch.autograd.grad((xt % yt).sum(), [xt, yt], create_graph=True)
    np.testing.assert_array_equal(host(ours[1]), theirs[1].detach().numpy())
    second = gg.autograd.grad((ours[1] * ours[1]).sum(), [x, y])
    expected = torch.autograd.grad((theirs[1] * theirs[1]).sum(), [xt, yt])
    for g, gt in zip(second, expected):
        np.testing.assert_array_equal(host(g), gt.numpy())


# --- signed zeros at ties ----------------------------------------------------------------
TIES = [
    lambda L, m, p, n: L.relu(m),
    lambda L, m, p, n: m.clone().relu_(),
    lambda L, m, p, n: L.clamp(m, 0.0),
    lambda L, m, p, n: L.clamp(p, -0.0),
    lambda L, m, p, n: L.clamp(m, None, 0.0),
    lambda L, m, p, n: L.clamp(p, None, -0.0),
    lambda L, m, p, n: L.clamp(p, -0.0, -0.0),
    lambda L, m, p, n: L.clamp(n, 0.0, 1.0),
    lambda L, m, p, n: L.fmax(m, p),
    lambda L, m, p, n: L.fmax(p, m),
    lambda L, m, p, n: L.fmin(m, p),
    lambda L, m, p, n: L.fmin(p, m),
    lambda L, m, p, n: L.fmax(n, p),
    lambda L, m, p, n: L.fmin(p, n),
    lambda L, m, p, n: L.fmax(n, n),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [1, 3, 9, 40])
@pytest.mark.parametrize("index", range(len(TIES)))
def test_ties_keep_the_zero_torch_keeps(device, dtype, size, index):
    """PyTorch's relu and clamp by numbers keep the input on a tie, fmax/fmin their
    first argument, whatever the size (NumPy's answer depends on its SIMD tail)."""

    def run(L, dev):
        kind = getattr(L, dtype)
        minus = L.full((size,), -0.0, dtype=kind, device=dev)
        plus = L.zeros(size, dtype=kind, device=dev)
        nan = L.full((size,), float("nan"), dtype=kind, device=dev)
        return TIES[index](L, minus, plus, nan)

    same(run(gg, device), run(torch, "cpu"))


# --- alpha, pow by a bool tensor, 0-d erf and relu ---------------------------------------
@pytest.mark.parametrize(
    "expression",
    [
        lambda L, x, i: L.add(x, False, alpha=-1),
        lambda L, x, i: L.add(x, 0, alpha=-1),
        lambda L, x, i: L.add(x, i, alpha=-1),
        lambda L, x, i: L.sub(x, i, alpha=-1),
        lambda L, x, i: L.add(i, 3, alpha=-2),
        lambda L, x, i: L.add(i, x, alpha=-2),
    ],
)
def test_alpha_scales_in_the_result_dtype(device, expression):
    """``x + alpha * other`` with a float result: ``-1 * 0`` is -0.0, so -0.0 stays."""

    def run(L, dev):
        x = L.tensor([-0.0, 1.0, 0.0], device=dev)
        i = L.tensor([0, 2, 0], device=dev)
        return expression(L, x, i)

    same(run(gg, device), run(torch, "cpu"))


def test_pow_by_a_bool_tensor_refuses_backward_as_torch(device):
    (x,), (xt,) = both(device, [1.5, 2.0], requires_grad=True)
    out = x.pow(gg.tensor([True, False], device=device))
    expected = xt.pow(torch.tensor([True, False]))
    same(out, expected)
    assert_raises_like_torch(lambda: out.sum().backward(), lambda: expected.sum().backward())


ERF_0D = [
    (dtype, value)
    for dtype in ("float32", "float64")
    for value in (0.1, 3.0, -7.0, float("nan"), float("inf"))
] + [("int32", 0), ("int32", 3), ("int32", -7)]


@pytest.mark.parametrize(("dtype", "value"), ERF_0D)
def test_erf_of_a_0d_tensor(device, dtype, value):
    ours = gg.tensor(value, dtype=getattr(gg, dtype), device=device).erf()
    theirs = torch.tensor(value, dtype=getattr(torch, dtype)).erf()
    assert ours.shape == ()
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(host(ours), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("value", [-0.5, 0.5])
def test_relu_backward_of_a_0d_tensor(device, value):
    x = gg.tensor(value, dtype=gg.float64, device=device, requires_grad=True)
    gg.relu(x).backward()
    assert float(x.grad) == (1.0 if value > 0 else 0.0)


# --- hostile inputs: empty tensors, shapes before dtypes, casts out of range -------------
@pytest.mark.parametrize(
    "expression",
    [
        lambda L, d: L.div(L.zeros(0, dtype=L.int64, device=d), 0, rounding_mode="floor"),
        lambda L, d: L.zeros(0, dtype=L.int64, device=d).floor_divide(False),
        lambda L, d: L.remainder(L.zeros(0, dtype=L.int64, device=d), L.tensor(0, device=d)),
        lambda L, d: L.fmod(L.zeros(0, dtype=L.int64, device=d), L.tensor(False, device=d)),
        lambda L, d: L.tensor([1, 2], device=d).floor_divide(L.zeros(0, dtype=L.int64, device=d)),
        lambda L, d: L.tensor([4, 5], dtype=L.int32, device=d) % L.tensor(-(2**62), device=d),
        lambda L, d: L.div(L.tensor([True, False], device=d), 3, rounding_mode="trunc"),
        lambda L, d: L.div(
            L.tensor([True, False], device=d),
            L.tensor([2, 3], dtype=L.int32, device=d),
            rounding_mode="trunc",
        ),
        lambda L, d: L.zeros((2, 3), device=d) ^ L.zeros((2, 2), device=d),
        lambda L, d: L.zeros((2, 3), dtype=L.int64, device=d).hypot(
            L.zeros((2, 2), dtype=L.int64, device=d)
        ),
        lambda L, d: L.bitwise_and(
            L.tensor([1.0, 2.0], device=d), L.tensor(-1e300, dtype=L.float64, device=d)
        ),
    ],
)
def test_hostile_integer_and_bitwise_cases_answer_as_torch(device, expression):
    try:
        expected = expression(torch, "cpu")
    except (RuntimeError, NotImplementedError):
        assert_raises_like_torch(lambda: expression(gg, device), lambda: expression(torch, "cpu"))
        return
    same(expression(gg, device), expected)


def test_logaddexp_with_a_bool_input_refuses_backward_as_torch(device):
    (x,), (xt,) = both(device, [1.0, 2.0], requires_grad=True)
    out = gg.logaddexp(x, gg.tensor([True, False], device=device))
    expected = torch.logaddexp(xt, torch.tensor([True, False]))
    same(out, expected)
    assert_raises_like_torch(lambda: out.sum().backward(), lambda: expected.sum().backward())


# --- in-place random methods: PyTorch's range and dtype checks ---------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda L, d: L.zeros(2, dtype=L.float64, device=d).uniform_(float("nan"), 1),
        lambda L, d: L.zeros(2, dtype=L.float64, device=d).uniform_(0, float("inf")),
        lambda L, d: L.zeros(2, device=d).uniform_(-1e39, 0),
        lambda L, d: L.zeros(2, device=d).uniform_(-3e38, 3e38),
        lambda L, d: L.zeros(2, dtype=L.float64, device=d).uniform_(-1e308, 1e308),
        lambda L, d: L.zeros(2, device=d).uniform_(2, 1),
        lambda L, d: L.zeros(2, dtype=L.bool, device=d).random_(-1, 1),
        lambda L, d: L.zeros(2, dtype=L.int32, device=d).random_(-(2**40), 0),
        lambda L, d: L.zeros(2, dtype=L.uint8, device=d).random_(-1, 3),
        lambda L, d: L.zeros(2, dtype=L.bool, device=d).exponential_(),
        lambda L, d: L.zeros(2, dtype=L.int32, device=d).exponential_(),
    ],
)
def test_random_methods_refuse_as_torch(device, call):
    assert_raises_like_torch(lambda: call(gg, device), lambda: call(torch, "cpu"))


def test_random_methods_accept_the_edges_torch_accepts(device):
    x = gg.zeros(4, device=device).uniform_(-1e38, 1e38)
    assert host((x >= -1e38) & (x <= 1e38)).all()
    r = gg.zeros(50, dtype=gg.int64, device=device).random_(-5, 0)
    assert host((r >= -5) & (r < 0)).all()
    assert gg.zeros(3, dtype=gg.float64, device=device).exponential_().dtype == gg.float64


def test_atan2_gradient_at_the_origin_is_zero_as_pytorch(device):
    """PyTorch's ``atan2`` backward gives 0 (not NaN) where ``x² + y²`` is 0."""
    data = ([0.0, 1.0, -0.5], [0.0, 0.0, 2.0])
    ours = [gg.tensor(d, dtype=gg.float64, device=device, requires_grad=True) for d in data]
    theirs = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in data]
    gg.atan2(*ours).sum().backward()
    torch.atan2(*theirs).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.cpu().numpy(), b.grad.numpy())
        np.testing.assert_array_equal(np.signbit(a.grad.cpu().numpy()), np.signbit(b.grad.numpy()))
