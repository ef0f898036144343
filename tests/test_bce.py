"""``gpugrad.nn.functional``: BCE, BCE with logits and the fused activations, against
PyTorch (values and gradients), a float64 reference for the seed's eps-clamped BCE,
``gradcheck``/``gradgradcheck`` in float64, PyTorch's error messages, the seed notebook's
printed output through the fused path, and CUDA against CPU where a GPU is present."""

from __future__ import annotations

import math
import warnings

import numpy
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import backends
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends.kernels import numpy_exec
from gpugrad.backends.kernels.defs import eps_bounds

DTYPES = (numpy.float16, numpy.float32, numpy.float64)
RTOL = {numpy.float16: 2e-3, numpy.float32: 1e-5, numpy.float64: 1e-12}
BIG = 3 * numpy_exec.BLOCK + 5  # the blocked, threaded path


def _torch():
    return pytest.importorskip("torch")


def _probabilities(n, dtype, seed=0):
    rng = numpy.random.default_rng(seed)
    p = rng.random(n)
    edges = [0.0, 1.0, 1e-12, 1 - 1e-12, 1e-8, 1 - 1e-8, 0.5, 1e-40, 1e-7, 1 - 1e-7]
    p[: min(n, len(edges))] = edges[: min(n, len(edges))]
    return p.astype(dtype)


def _targets(n, dtype, seed=1):
    rng = numpy.random.default_rng(seed)
    t = rng.random(n)
    t[: n // 2] = numpy.round(t[: n // 2])  # 0 and 1 beside soft labels
    return t.astype(dtype)


def _logits(n, dtype, seed=2):
    x = numpy.random.default_rng(seed).standard_normal(n) * 6
    edges = [100.0, -100.0, 0.0, 30.0, -30.0, 17.0, -17.0]
    x[: min(n, len(edges))] = edges[: min(n, len(edges))]
    return x.astype(dtype)


def _close(got, expected, dtype, atol=None):
    """``got`` against ``expected`` rounded to ``dtype``."""
    got = numpy.asarray(got, dtype=numpy.float64)
    with numpy.errstate(over="ignore"):
        expected = numpy.asarray(expected).astype(dtype).astype(numpy.float64)
    rtol = RTOL[dtype]
    numpy.testing.assert_allclose(
        got, expected, rtol=rtol, atol=rtol if atol is None else atol, equal_nan=True
    )


def _pair(data, requires_grad=True):
    """A gpugrad tensor and a PyTorch one of the same values. float16 goes to PyTorch as
    float32: gpugrad computes float16 in float32 and rounds once, while PyTorch's CPU
    float16 kernels round every step (and overflow, or give 0/0, where float32 does not),
    so the float32 result rounded to float16 is the reference."""
    torch = _torch()
    reference = data.astype(numpy.float32) if data.dtype == numpy.float16 else data
    return (
        gg.tensor(data, requires_grad=requires_grad),
        torch.tensor(reference, requires_grad=requires_grad),
    )


def _ref(torch, data):
    return torch.tensor(data.astype(numpy.float32) if data.dtype == numpy.float16 else data)


def _backward(loss, reduction):
    if reduction != "none":
        loss.backward()
    elif isinstance(loss, gg.Tensor):
        loss.backward(gg.ones_like(loss))
    else:
        loss.backward(loss.new_ones(loss.shape))


# --- the seed notebook through the fused path -------------------------------------------------
def test_seed_logistic_regression_cells_print_the_same():
    x = gg.tensor(6.7)
    y = gg.tensor(0.0)
    w = gg.tensor(1.0, requires_grad=True)
    b = gg.tensor(0.0, requires_grad=True)
    z = w * x + b
    y_pred = gg.sigmoid(z)
    assert repr(y_pred) == "tensor(0.9988, grad_fn=<SigmoidBackward0>)"
    loss = F.binary_cross_entropy(y_pred, y, eps=1e-8)
    assert repr(loss) == "tensor(6.7012, grad_fn=<BinaryCrossEntropyBackward0>)"
    loss.backward()
    assert str(w.grad) == "tensor(6.6918)"
    assert str(b.grad) == "tensor(0.9988)"
    with gg.no_grad():
        assert repr(F.binary_cross_entropy(gg.sigmoid(w * x + b), y, eps=1e-8)) == (
            "tensor(6.7012)"
        )


def test_seed_cells_match_the_notebooks_composed_loss():
    def composed(prediction, target):  # the notebook's cell 14
        epsilon = 1e-8
        prediction = gg.clamp(prediction, epsilon, 1 - epsilon)
        return -(target * gg.log(prediction) + (1 - target) * gg.log(1 - prediction))

    for z0, y0 in [(6.7, 0.0), (-3.0, 1.0), (0.2, 0.3), (30.0, 1.0), (-30.0, 0.0)]:
        grads = []
        for loss_fn in (composed, lambda p, t: F.binary_cross_entropy(p, t, eps=1e-8)):
            z = gg.tensor(z0, dtype=gg.float64, requires_grad=True)
            loss = loss_fn(gg.sigmoid(z), gg.tensor(y0, dtype=gg.float64))
            loss.backward()
            grads.append((loss.item(), z.grad.item()))
        assert grads[1] == pytest.approx(grads[0], rel=1e-9, abs=1e-12)


# --- PyTorch's binary_cross_entropy -----------------------------------------------------------
@pytest.mark.parametrize("n", [1, 100, BIG], ids=["one", "small", "blocked"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_matches_torch(dtype, reduction, n):
    torch = _torch()
    p, t = _probabilities(n, dtype), _targets(n, dtype)
    (pg, pt), (tg, tt) = _pair(p), _pair(t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(pg, tg, reduction=reduction)
        _backward(loss, reduction)
    loss_t = torch.nn.functional.binary_cross_entropy(pt, tt, reduction=reduction)
    _backward(loss_t, reduction)
    assert loss.dtype == gg.tensor(p).dtype and loss.shape == loss_t.shape
    assert loss.grad_fn.name() == "BinaryCrossEntropyBackward0"
    _close(loss.detach().numpy(), loss_t.detach().numpy(), dtype)
    _close(pg.grad.numpy(), pt.grad.numpy(), dtype)
    _close(tg.grad.numpy(), tt.grad.numpy(), dtype)


@pytest.mark.parametrize("weight_shape", [(4, 5), (5,), (1,), (4, 1)])
def test_bce_weight_broadcasts_as_in_torch(weight_shape):
    torch = _torch()
    p = _probabilities(20, numpy.float64).reshape(4, 5)
    t = _targets(20, numpy.float64).reshape(4, 5)
    w = numpy.random.default_rng(3).random(weight_shape)
    for reduction in ("mean", "sum", "none"):
        pg, pt = _pair(p)
        loss = F.binary_cross_entropy(pg, gg.tensor(t), gg.tensor(w), reduction=reduction)
        loss_t = torch.nn.functional.binary_cross_entropy(
            pt, torch.tensor(t), torch.tensor(w), reduction=reduction
        )
        _backward(loss, reduction)
        _backward(loss_t, reduction)
        _close(loss.detach().numpy(), loss_t.detach().numpy(), numpy.float64)
        _close(pg.grad.numpy(), pt.grad.numpy(), numpy.float64)


def test_bce_clamps_logs_at_minus_100_and_uses_torchs_gradient_edges():
    torch = _torch()
    p = numpy.float32([0.0, 1.0, 0.0, 1.0, 1e-45, 1 - 2**-24])
    t = numpy.float32([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    pg, pt = _pair(p)
    loss = F.binary_cross_entropy(pg, gg.tensor(t), reduction="none")
    loss.sum().backward()
    loss_t = torch.nn.functional.binary_cross_entropy(pt, torch.tensor(t), reduction="none")
    loss_t.sum().backward()
    assert loss.tolist()[:4] == [0.0, 0.0, 100.0, 100.0]
    numpy.testing.assert_array_equal(loss.detach().numpy(), loss_t.detach().numpy())
    numpy.testing.assert_array_equal(pg.grad.numpy(), pt.grad.numpy())


def test_bce_mean_is_accurate_for_large_inputs():
    n = 4_000_037
    p = gg.full((n,), 0.3)
    loss = F.binary_cross_entropy(p, gg.zeros(n))
    assert loss.item() == pytest.approx(-math.log1p(-float(numpy.float32(0.3))), rel=2e-7)


# --- the seed's eps-clamped BCE ---------------------------------------------------------------
def _eps_reference(p, t, lo, hi):
    """float64: p clamped before the logs; gradient zero where the clamp acts."""
    p, t = p.astype(numpy.float64), t.astype(numpy.float64)
    pc = numpy.clip(p, lo, hi)
    loss = -(t * numpy.log(pc) + (1 - t) * numpy.log(1 - pc))
    inside = (p >= lo) & (p <= hi)
    grad = numpy.where(inside, (pc - t) / (pc * (1 - pc)), 0.0)
    return loss, grad


@pytest.mark.parametrize("n", [1, 100, BIG], ids=["one", "small", "blocked"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_eps_matches_the_float64_reference(dtype, n):
    eps = 1e-3 if dtype is numpy.float16 else 1e-8
    lo, hi = eps_bounds(eps, dtype)
    p, t = _probabilities(n, dtype), _targets(n, dtype)
    within = numpy.array([lo, hi, lo / 2, (1 + hi) / 2], dtype=dtype)  # on and past the bounds
    p[: min(n, 4)] = within[: min(n, 4)]
    expected_loss, expected_grad = _eps_reference(p, t, lo, hi)
    for reduction in ("none", "sum", "mean"):
        pg = gg.tensor(p, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = F.binary_cross_entropy(pg, gg.tensor(t), reduction=reduction, eps=eps)
            _backward(loss, reduction)
        scale = {"none": 1.0, "sum": 1.0, "mean": 1.0 / n}[reduction]
        reduced = {"none": expected_loss, "sum": expected_loss.sum(), "mean": expected_loss.mean()}
        with numpy.errstate(over="ignore"):
            _close(loss.detach().numpy(), reduced[reduction].astype(dtype), dtype, atol=1e-6)
            _close(pg.grad.numpy(), (expected_grad * scale).astype(dtype), dtype, atol=1e-6)


def test_bce_eps_upper_bound_is_below_one_in_float32():
    """float32: 1 - 1e-8 rounds to 1, so the seed's clamp would not act; the fused loss
    clamps at nextafter(1, 0) and stays finite where p is exactly 1."""
    p = gg.tensor([1.0, 0.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, gg.tensor([0.0, 1.0]), eps=1e-8, reduction="none")
    top = float(numpy.nextafter(numpy.float32(1), numpy.float32(0)))
    assert loss.tolist()[0] == pytest.approx(-math.log(1 - top), rel=1e-6)
    assert loss.tolist()[1] == pytest.approx(-math.log(float(numpy.float32(1e-8))), rel=1e-6)
    loss.sum().backward()
    assert p.grad.tolist() == [0.0, 0.0]  # the clamp acts at both ends


def test_bce_eps_gradient_passes_on_the_bounds_like_torch_clamp():
    torch = _torch()
    lo, hi = eps_bounds(0.1, numpy.float64)
    p = numpy.array([lo, hi, lo - 1e-9, hi + 1e-9, 0.5])
    t = numpy.array([1.0, 0.0, 1.0, 0.0, 0.3])
    pg, pt = _pair(p)
    F.binary_cross_entropy(pg, gg.tensor(t), eps=0.1, reduction="sum").backward()
    pc = torch.clamp(pt, lo, hi)
    tt = torch.tensor(t)
    (-(tt * torch.log(pc) + (1 - tt) * torch.log(1 - pc))).sum().backward()
    numpy.testing.assert_allclose(pg.grad.numpy(), pt.grad.numpy(), rtol=1e-12)
    assert pg.grad.tolist()[2:4] == [0.0, 0.0] and pg.grad.tolist()[0] != 0


# --- binary_cross_entropy_with_logits ---------------------------------------------------------
@pytest.mark.parametrize("n", [1, 100, BIG], ids=["one", "small", "blocked"])
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_with_logits_matches_torch(dtype, reduction, options, n):
    torch = _torch()
    x, t = _logits(n, dtype), _targets(n, dtype)
    rng = numpy.random.default_rng(4)
    w = rng.random(n).astype(dtype) if options in ("weight", "both") else None
    pw = (rng.random(n) * 3).astype(dtype) if options in ("pos_weight", "both") else None
    (xg, xt), (tg, tt) = _pair(x), _pair(t)
    kwargs = {"weight": w, "pos_weight": pw}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(
            xg,
            tg,
            reduction=reduction,
            **{k: None if v is None else gg.tensor(v) for k, v in kwargs.items()},
        )
        _backward(loss, reduction)
    loss_t = torch.nn.functional.binary_cross_entropy_with_logits(
        xt,
        tt,
        reduction=reduction,
        **{k: None if v is None else _ref(torch, v) for k, v in kwargs.items()},
    )
    _backward(loss_t, reduction)
    assert loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    atol = 100 * RTOL[dtype]  # (1 - t) * x - log_sigmoid(x) cancels terms up to |x| = 100
    _close(loss.detach().numpy(), loss_t.detach().numpy(), dtype, atol=atol)
    _close(xg.grad.numpy(), xt.grad.numpy(), dtype)
    _close(tg.grad.numpy(), tt.grad.numpy(), dtype, atol=atol)


def test_bce_with_logits_pos_weight_broadcasts_over_classes():
    torch = _torch()
    x = _logits(12, numpy.float64).reshape(4, 3)
    t = _targets(12, numpy.float64).reshape(4, 3)
    pw = numpy.array([1.0, 2.0, 0.5])
    xg, xt = _pair(x)
    F.binary_cross_entropy_with_logits(xg, gg.tensor(t), pos_weight=gg.tensor(pw)).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(
        xt, torch.tensor(t), pos_weight=torch.tensor(pw)
    ).backward()
    _close(xg.grad.numpy(), xt.grad.numpy(), numpy.float64)


def test_bce_with_logits_is_stable_at_plus_minus_100():
    x = gg.tensor([100.0, -100.0, 100.0, -100.0], requires_grad=True)
    t = gg.tensor([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        loss.sum().backward()
    assert loss.tolist() == pytest.approx([0.0, 0.0, 100.0, 100.0], abs=1e-40)
    assert x.grad.tolist() == [0.0, 0.0, 1.0, -1.0]


def test_bce_with_logits_promotes_mixed_dtypes():
    x = gg.tensor([0.5, -1.0], requires_grad=True)
    t = gg.tensor([1.0, 0.0], dtype=gg.float64)
    loss = F.binary_cross_entropy_with_logits(x, t)
    assert loss.dtype == gg.float64
    loss.backward()
    assert x.grad.dtype == gg.float32


# --- activations ------------------------------------------------------------------------------
ACTIVATIONS = {
    "softplus": (lambda x: F.softplus(x), "softplus", {}),
    "softplus_beta": (
        lambda x: F.softplus(x, beta=2.0, threshold=5.0),
        "softplus",
        {"beta": 2.0, "threshold": 5.0},
    ),
    "gelu": (lambda x: F.gelu(x), "gelu", {}),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), "gelu", {"approximate": "tanh"}),
    "sigmoid": (F.sigmoid, "sigmoid", {}),
    "tanh": (F.tanh, "tanh", {}),
    "relu": (F.relu, "relu", {}),
}


# tanh and relu are not fused kernels: in float16 they compute in float16, which these
# float32-accumulation tolerances do not cover; every other pair is checked here.
@pytest.mark.parametrize("n", [1, 100, BIG], ids=["one", "small", "blocked"])
@pytest.mark.parametrize(
    ("name", "dtype"),
    [
        (name, dtype)
        for name in ACTIVATIONS
        for dtype in DTYPES
        if not (name in ("tanh", "relu") and dtype is numpy.float16)
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_activation_matches_torch(name, dtype, n):
    torch = _torch()
    ours, theirs, kwargs = ACTIVATIONS[name]
    x = _logits(n, dtype)
    xg, xt = _pair(x)
    g = numpy.random.default_rng(5).standard_normal(n).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ours(xg)
        y.backward(gg.tensor(g))
    yt = getattr(torch.nn.functional, theirs)(xt, **kwargs)
    yt.backward(_ref(torch, g))
    assert y.grad_fn.name() == yt.grad_fn.name()
    _close(y.detach().numpy(), yt.detach().numpy(), dtype)
    _close(xg.grad.numpy(), xt.grad.numpy(), dtype)


def test_activations_reject_integer_tensors_and_bad_arguments():
    ints = gg.tensor([1, 2])
    with pytest.raises(NotImplementedError, match="\"softplus_cpu\" not implemented for 'Long'"):
        F.softplus(ints)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.gelu(ints)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(gg.tensor([1.0]), approximate="erf")


def test_relu_inplace():
    x = gg.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x and x.tolist() == [0.0, 2.0]


# --- gradients: gradcheck and gradgradcheck in float64 ----------------------------------------
def _p64(n=5):
    return gg.tensor(
        numpy.random.default_rng(6).uniform(0.05, 0.95, n), dtype=gg.float64, requires_grad=True
    )


def _t64(n=5):
    return gg.tensor(
        numpy.random.default_rng(7).uniform(0, 1, n), dtype=gg.float64, requires_grad=True
    )


def _x64(n=5):
    return gg.tensor(
        numpy.random.default_rng(8).normal(0, 2, n), dtype=gg.float64, requires_grad=True
    )


W64 = gg.tensor([0.5, 1.0, 2.0, 1.5, 0.25], dtype=gg.float64)
PW64 = gg.tensor([3.0, 0.5, 1.0, 2.0, 1.0], dtype=gg.float64)

FUNCTIONS = {
    "bce_mean": (lambda p, t: F.binary_cross_entropy(p, t), (_p64, _t64)),
    "bce_sum_weight": (
        lambda p, t: F.binary_cross_entropy(p, t, W64, reduction="sum"),
        (_p64, _t64),
    ),
    "bce_none": (lambda p, t: F.binary_cross_entropy(p, t, reduction="none"), (_p64, _t64)),
    "bce_eps": (lambda p, t: F.binary_cross_entropy(p, t, eps=0.01), (_p64, _t64)),
    "bce_eps_none_weight": (
        lambda p, t: F.binary_cross_entropy(p, t, W64, reduction="none", eps=0.02),
        (_p64, _t64),
    ),
    "logits_mean": (lambda x, t: F.binary_cross_entropy_with_logits(x, t), (_x64, _t64)),
    "logits_weights": (
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, W64, reduction="none", pos_weight=PW64
        ),
        (_x64, _t64),
    ),
    "logits_pos_weight_sum": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=PW64),
        (_x64, _t64),
    ),
    "softplus": (lambda x: F.softplus(x), (_x64,)),
    "softplus_beta": (lambda x: F.softplus(x, beta=3.0, threshold=2.0), (_x64,)),
    "gelu": (lambda x: F.gelu(x), (_x64,)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), (_x64,)),
    "sigmoid": (lambda x: F.sigmoid(x), (_x64,)),
    "sigmoid_of_bce": (lambda x, t: F.binary_cross_entropy(F.sigmoid(x), t), (_x64, _t64)),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_gradcheck(name):
    function, makers = FUNCTIONS[name]
    assert gradcheck(function, tuple(make() for make in makers))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_gradgradcheck(name):
    """create_graph: the backward of each fused op is composed of differentiable ops."""
    function, makers = FUNCTIONS[name]
    assert gradgradcheck(function, tuple(make() for make in makers))


def test_create_graph_gradient_matches_fused_gradient():
    for name in ("bce_mean", "bce_eps", "logits_weights", "gelu", "softplus_beta"):
        function, makers = FUNCTIONS[name]
        inputs = tuple(make() for make in makers)
        out = function(*inputs)
        seed = gg.ones_like(out)
        fused = gg.autograd.grad(out, inputs, seed, retain_graph=True)
        composed = gg.autograd.grad(out, inputs, seed, create_graph=True)
        for a, b in zip(fused, composed):
            assert b.requires_grad
            numpy.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-15)


# --- errors -----------------------------------------------------------------------------------
def test_target_size_mismatch():
    with pytest.raises(
        ValueError,
        match=r"Using a target size \(gpugrad.Size\(\[2\]\)\) that is different to the input "
        r"size \(gpugrad.Size\(\[3\]\)\) is deprecated. Please ensure they have the same size.",
    ):
        F.binary_cross_entropy(gg.tensor([0.1, 0.2, 0.3]), gg.tensor([1.0, 0.0]))
    with pytest.raises(
        ValueError,
        match=r"Target size \(gpugrad.Size\(\[2\]\)\) must be the same as input size "
        r"\(gpugrad.Size\(\[3\]\)\)",
    ):
        F.binary_cross_entropy_with_logits(gg.tensor([0.1, 0.2, 0.3]), gg.tensor([1.0, 0.0]))


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
@pytest.mark.parametrize("n", [3, BIG])
def test_input_outside_unit_interval(bad, n):
    p = numpy.full(n, 0.5, numpy.float32)
    p[n // 2] = bad
    t = numpy.zeros(n, numpy.float32)
    for reduction in ("mean", "none"):
        with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
            F.binary_cross_entropy(gg.tensor(p), gg.tensor(t), reduction=reduction)
    t[1] = 2.0
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(gg.tensor(numpy.full(n, 0.5, numpy.float32)), gg.tensor(t))


def test_other_argument_errors():
    p, t = gg.tensor([0.5, 0.2]), gg.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        F.binary_cross_entropy(p, t, reduction="bogus")
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        F.binary_cross_entropy_with_logits(p, t, reduction="bogus")
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        F.binary_cross_entropy(p, t.double())
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.binary_cross_entropy(gg.tensor([1, 0]), gg.tensor([1, 0]))
    with pytest.raises(
        RuntimeError,
        match="The function 'binary_cross_entropy' is not differentiable with respect to "
        "argument 'weight'. This input cannot have requires_grad True.",
    ):
        F.binary_cross_entropy(p, t, weight=gg.ones(2, requires_grad=True))
    for name in ("weight", "pos_weight"):
        with pytest.raises(RuntimeError, match=f"with respect to argument '{name}'"):
            F.binary_cross_entropy_with_logits(p, t, **{name: gg.ones(2, requires_grad=True)})
    with pytest.raises(RuntimeError, match="Attempting to broadcast a dimension of length 3"):
        F.binary_cross_entropy(p, t, weight=gg.ones(3))
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match"):
        F.binary_cross_entropy_with_logits(p, t, weight=gg.ones(3))
    with pytest.raises(ValueError, match="eps must be in"):
        F.binary_cross_entropy(p, t, eps=0.7)
    with gg.no_grad():  # weights that require grad are fine when nothing is recorded
        F.binary_cross_entropy(p, t, weight=gg.ones(2, requires_grad=True))


def test_empty_inputs_reduce_like_torch():
    empty = gg.zeros(0)
    assert math.isnan(F.binary_cross_entropy(empty, empty).item())
    assert F.binary_cross_entropy(empty, empty, reduction="sum").item() == 0
    assert math.isnan(F.binary_cross_entropy_with_logits(empty, empty).item())


def test_saved_input_modified_in_place_is_detected():
    p = gg.tensor([0.3, 0.6], requires_grad=True)
    q = p * 1
    loss = F.binary_cross_entropy(q, gg.tensor([1.0, 0.0]))
    with gg.no_grad():
        q.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


# --- CUDA against CPU -------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_cuda_functional_matches_cpu(dtype):
    n = 200_003
    cases = [
        (
            lambda d, p, t, w: F.binary_cross_entropy(p, t, w, reduction="mean"),
            _probabilities(n, dtype),
        ),
        (
            lambda d, p, t, w: F.binary_cross_entropy(p, t, w, reduction="none", eps=1e-3),
            _probabilities(n, dtype),
        ),
        (
            lambda d, x, t, w: F.binary_cross_entropy_with_logits(
                x, t, w, reduction="sum", pos_weight=w
            ),
            _logits(n, dtype),
        ),
        (lambda d, x, t, w: F.softplus(x, beta=2.0) * t, _logits(n, dtype)),
        (lambda d, x, t, w: F.gelu(x) * t, _logits(n, dtype)),
        (lambda d, x, t, w: F.gelu(x, approximate="tanh") * t, _logits(n, dtype)),
        (lambda d, x, t, w: gg.sigmoid(x) * t, _logits(n, dtype)),
    ]
    t = _targets(n, dtype)
    w = numpy.random.default_rng(9).random(n).astype(dtype)
    for function, first in cases:
        results = []
        for device in ("cpu", "cuda"):
            a = gg.tensor(first, device=device, requires_grad=True)
            b = gg.tensor(t, device=device, requires_grad=True)
            out = function(device, a, b, gg.tensor(w, device=device))
            out.sum().backward()
            results.append([v.cpu().detach().numpy() for v in (out, a.grad, b.grad)])
        tol = {numpy.float16: 3e-3, numpy.float32: 1e-5, numpy.float64: 1e-11}[dtype]
        for cpu, cuda in zip(*results):
            numpy.testing.assert_allclose(cuda, cpu, rtol=tol, atol=tol, equal_nan=True)


# --- the input's gradient computed in the forward pass ----------------------------------------
def _eager_case(device):
    rng = numpy.random.default_rng(11)
    x = rng.standard_normal(1000) * 5
    t = (rng.random(1000) < 0.5).astype(numpy.float64)
    z = gg.tensor(x, device=device, requires_grad=True)
    y = gg.tensor(t, device=device)
    s = 1 / (1 + numpy.exp(-x))
    return z, y, (s - t) / x.size, s * (1 - s) / x.size


def _kernels_run(monkeypatch, device):
    backend = gg.backends.get(device)
    names = []
    original = backend.run_kernel

    def spy(kernel, *args, **kwargs):
        names.append(kernel.name)
        return original(kernel, *args, **kwargs)

    monkeypatch.setattr(backend, "run_kernel", spy)
    return names


def test_bce_with_logits_backward_uses_the_gradient_of_the_forward_pass(device, monkeypatch):
    z, y, expected, _ = _eager_case(device)
    names = _kernels_run(monkeypatch, device)
    loss = F.binary_cross_entropy_with_logits(z, y)
    assert names == ["bce_logits_with_grad"]
    loss.backward()
    assert names == ["bce_logits_with_grad"]  # backward launched nothing
    numpy.testing.assert_allclose(z.grad.cpu().numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("run", "factor"),
    [
        (lambda loss: [loss.backward(retain_graph=True) for _ in range(3)], 3.0),
        (lambda loss: (loss * 2.5).backward(), 2.5),
        (lambda loss: (loss.register_hook(lambda g: g * 2), loss.backward()), 2.0),
        (lambda loss: (loss + loss).backward(), 2.0),
    ],
    ids=["retain_graph x3", "upstream 2.5", "hook doubles", "used twice"],
)
def test_bce_with_logits_gradient_from_forward_is_scaled_and_used_once(device, run, factor):
    z, y, expected, _ = _eager_case(device)
    run(F.binary_cross_entropy_with_logits(z, y))
    numpy.testing.assert_allclose(z.grad.cpu().numpy(), factor * expected, rtol=1e-12, atol=1e-15)


def test_bce_with_logits_without_grad_makes_no_gradient_buffer(device, monkeypatch):
    z, y, _, _ = _eager_case(device)
    names = _kernels_run(monkeypatch, device)
    with gg.no_grad():
        F.binary_cross_entropy_with_logits(z, y)
    F.binary_cross_entropy_with_logits(z.detach(), y)
    F.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert names == ["bce_logits", "bce_logits", "bce_logits"]


def test_bce_with_logits_second_derivative_after_the_eager_gradient(device):
    z, y, expected, second = _eager_case(device)
    loss = F.binary_cross_entropy_with_logits(z, y)
    (g,) = gg.autograd.grad(loss, z, create_graph=True)
    numpy.testing.assert_allclose(g.detach().cpu().numpy(), expected, rtol=1e-12, atol=1e-15)
    g.sum().backward()
    numpy.testing.assert_allclose(z.grad.cpu().numpy(), second, rtol=1e-10, atol=1e-15)


def test_a_gradient_from_the_output_cache_is_kept_without_a_copy_and_not_reused():
    n = numpy_exec.OutputCache.MIN_BYTES // 4 + 1000  # large enough for the output cache
    rng = numpy.random.default_rng(12)
    x = rng.standard_normal(n).astype(numpy.float32)
    y = gg.tensor((rng.random(n) < 0.5).astype(numpy.float32))
    first = gg.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(first, y).backward()
    kept = first.grad.numpy()
    assert numpy_exec.outputs.lends(kept.base)  # the kernel's buffer itself, not a copy
    before = kept.copy()
    second = gg.tensor(-x, requires_grad=True)
    F.binary_cross_entropy_with_logits(second, y).backward()
    assert not numpy.shares_memory(kept, second.grad.numpy())
    numpy.testing.assert_array_equal(first.grad.numpy(), before)
    F.binary_cross_entropy_with_logits(first, y).backward()  # accumulates in place
    numpy.testing.assert_allclose(first.grad.numpy(), 2 * before, rtol=1e-6)


@pytest.mark.parametrize("n", [1000, 3 * numpy_exec.BLOCK + 5])
def test_a_fresh_kernel_output_becomes_the_gradient_without_a_copy(n, monkeypatch):
    """Below the output cache's size a kernel's output is a fresh array of the input's
    shape (not a reshaped view of one), which the leaf takes as its gradient."""
    copies = []
    copy = backends.cpu.copy
    monkeypatch.setattr(backends.cpu, "copy", lambda a: copies.append(a.shape) or copy(a))
    rng = numpy.random.default_rng(13)
    z = gg.tensor(rng.standard_normal(n).astype(numpy.float32), requires_grad=True)
    y = gg.tensor((rng.random(n) < 0.5).astype(numpy.float32))
    F.binary_cross_entropy_with_logits(z, y).backward()
    assert copies == []
    assert z.grad.numpy().base is None
