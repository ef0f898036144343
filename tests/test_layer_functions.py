"""The functional forms of the layers (``gpugrad.nn.functional``): values and
gradients against PyTorch in float64, finite-difference gradient checks (first and, for a
few, second order), and PyTorch's error texts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg
import gpugrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape)


X4 = _x(2, 3, 7, 6)
X3 = _x(2, 3, 9)
X2, Y2 = _x(5, 4), _x(5, 4)
P2 = RNG.random((5, 4)) + 0.05
TARGETS = np.array([1, 0, 3, -100, 2])
CLASS_WEIGHTS = RNG.random(4) + 0.1
Q, K, V = _x(2, 3, 4, 8), _x(2, 3, 5, 8), _x(2, 3, 5, 6)
BOOL_MASK = RNG.random((4, 5)) > 0.3
BOOL_MASK[:, 0] = True  # no fully masked row
FLOAT_MASK = _x(4, 5)
TABLE = _x(6, 3)
INDICES = np.array([[0, 2, 5], [2, 2, 1]])


def _same(call, *arrays):
    """Callable of (functional namespace, backend namespace, tensors...)."""
    return call, arrays


# id -> (call(F, lib, *tensors), arrays); float arrays are differentiated
CASES = {
    "linear": (lambda f, t, x, w, b: f.linear(x, w, b), [X2, _x(3, 4), _x(3)]),
    "bilinear": (
        lambda f, t, a, b, w, c: f.bilinear(a, b, w, c),
        [X2, _x(5, 2), _x(3, 4, 2), _x(3)],
    ),
    "leaky_relu": (lambda f, t, x: f.leaky_relu(x, 0.2), [X2]),
    "elu": (lambda f, t, x: f.elu(x, 0.7), [X2]),
    "silu": (lambda f, t, x: f.silu(x), [X2]),
    "mish": (lambda f, t, x: f.mish(x), [X2 * 3]),
    "softplus": (lambda f, t, x: f.softplus(x, 2.0, 3.0), [X2 * 3]),
    "hardtanh": (lambda f, t, x: f.hardtanh(x, -0.5, 0.8), [X2]),
    "conv1d": (lambda f, t, x, w: f.conv1d(x, w, stride=2, padding=2), [X3, _x(5, 3, 3)]),
    "conv2d": (
        lambda f, t, x, w, b: f.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
        [X4, _x(4, 3, 3, 2), _x(4)],
    ),
    "conv2d-same": (lambda f, t, x, w: f.conv2d(x, w, padding="same"), [X4, _x(2, 3, 3, 3)]),
    "conv2d-groups": (
        lambda f, t, x, w: f.conv2d(x, w, groups=3, stride=2),
        [X4, _x(6, 1, 3, 3)],
    ),
    "conv_transpose2d": (
        lambda f, t, x, w: f.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        [X4, _x(3, 2, 3, 3)],
    ),
    "max_pool1d": (lambda f, t, x: f.max_pool1d(x, 2, dilation=2), [X3]),
    "max_pool2d": (lambda f, t, x: f.max_pool2d(x, 3, 2, 1, ceil_mode=True), [X4]),
    "max_pool2d-tiles": (lambda f, t, x: f.max_pool2d(x, 2), [X4]),
    "max_pool2d-indices": (
        lambda f, t, x: f.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)[1],
        [X4],
    ),
    "avg_pool2d": (lambda f, t, x: f.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [X4]),
    "avg_pool2d-exclude": (
        lambda f, t, x: f.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        [X4],
    ),
    "avg_pool2d-divisor": (lambda f, t, x: f.avg_pool2d(x, 2, divisor_override=3), [X4]),
    "adaptive_avg_pool2d": (lambda f, t, x: f.adaptive_avg_pool2d(x, (3, 4)), [X4]),
    "unfold": (lambda f, t, x: f.unfold(x, (2, 3), padding=1, stride=2), [X4]),
    "interpolate-nearest": (lambda f, t, x: f.interpolate(x, size=(5, 13)), [X4]),
    "interpolate-nearest-scale": (lambda f, t, x: f.interpolate(x, scale_factor=(1.7, 0.6)), [X4]),
    "interpolate-nearest-double": (lambda f, t, x: f.interpolate(x, scale_factor=2), [X3]),
    "interpolate-nearest-exact": (
        lambda f, t, x: f.interpolate(x, size=(10, 4), mode="nearest-exact"),
        [X4],
    ),
    "interpolate-linear": (
        lambda f, t, x: f.interpolate(x, scale_factor=1.5, mode="linear"),
        [X3],
    ),
    "interpolate-bilinear": (
        lambda f, t, x: f.interpolate(x, size=(11, 4), mode="bilinear"),
        [X4],
    ),
    "interpolate-bilinear-corners": (
        lambda f, t, x: f.interpolate(
            x, scale_factor=(2.5, 1.3), mode="bilinear", align_corners=True
        ),
        [X4],
    ),
    "interpolate-bilinear-recompute": (
        lambda f, t, x: f.interpolate(
            x, scale_factor=1.3, mode="bilinear", recompute_scale_factor=True
        ),
        [X4],
    ),
    "interpolate-trilinear": (
        lambda f, t, x: f.interpolate(x, size=(3, 4, 2), mode="trilinear"),
        [_x(1, 2, 2, 3, 5)],
    ),
    "pad-constant": (lambda f, t, x: f.pad(x, (1, 2, 2, 1), value=0.5), [X4]),
    "pad-crop": (lambda f, t, x: f.pad(x, (-1, 2)), [X4]),
    "pad-reflect": (lambda f, t, x: f.pad(x, (1, 2, 2, 1), mode="reflect"), [X4]),
    "pad-replicate": (lambda f, t, x: f.pad(x, (1, 2, 2, 1), mode="replicate"), [X4]),
    "pad-circular": (lambda f, t, x: f.pad(x, (1, 2, 2, 1), mode="circular"), [X4]),
    "batch_norm-train": (
        lambda f, t, x, w, b: f.batch_norm(
            x,
            t.zeros(3, dtype=t.float64, device=x.device),
            t.ones(3, dtype=t.float64, device=x.device),
            w,
            b,
            training=True,
        ),
        [X4, _x(3), _x(3)],
    ),
    "batch_norm-eval": (
        lambda f, t, x, w: f.batch_norm(
            x,
            t.tensor([0.1, 0.2, 0.3], device=x.device).double(),
            t.tensor([1.0, 2.0, 0.5], device=x.device).double(),
            w,
        ),
        [X4, _x(3)],
    ),
    "layer_norm": (lambda f, t, x, w, b: f.layer_norm(x, (7, 6), w, b), [X4, _x(7, 6), _x(7, 6)]),
    "group_norm": (lambda f, t, x, w, b: f.group_norm(x, 3, w, b), [_x(2, 6, 5), _x(6), _x(6)]),
    "rms_norm": (lambda f, t, x, w: f.rms_norm(x, (6,), w), [X4, _x(6)]),
    "normalize": (lambda f, t, x: f.normalize(x, dim=0), [X2]),
    "normalize-p3": (lambda f, t, x: f.normalize(x, p=3.0), [X2]),
    "cosine_similarity": (lambda f, t, a, b: f.cosine_similarity(a, b), [X2, Y2]),
    "pairwise_distance": (lambda f, t, a, b: f.pairwise_distance(a, b), [X2, Y2]),
    "pairwise_distance-p1": (
        lambda f, t, a, b: f.pairwise_distance(a, b, p=1.0, keepdim=True),
        [X2, Y2],
    ),
    "embedding": (lambda f, t, i, w: f.embedding(i, w, padding_idx=2), [INDICES, TABLE]),
    "embedding_bag": (lambda f, t, i, w: f.embedding_bag(i, w, mode="sum"), [INDICES, TABLE]),
    "one_hot": (lambda f, t, i: f.one_hot(i, 7), [INDICES]),
    "sdpa": (lambda f, t, q, k, v: f.scaled_dot_product_attention(q, k, v), [Q, K, V]),
    "sdpa-causal": (
        lambda f, t, q, k, v: f.scaled_dot_product_attention(q, k, v, is_causal=True),
        [Q, K, V],
    ),
    "sdpa-bool-mask": (
        lambda f, t, q, k, v: f.scaled_dot_product_attention(
            q, k, v, attn_mask=t.tensor(BOOL_MASK, device=q.device), scale=0.3
        ),
        [Q, K, V],
    ),
    "sdpa-float-mask": (
        lambda f, t, q, k, v: f.scaled_dot_product_attention(
            q, k, v, attn_mask=t.tensor(FLOAT_MASK, device=q.device)
        ),
        [Q, K, V],
    ),
    "mse_loss": (lambda f, t, a, b: f.mse_loss(a, b), [X2, Y2]),
    "mse_loss-weight": (lambda f, t, a, b, w: f.mse_loss(a, b, weight=w), [X2, Y2, P2]),
    "l1_loss-weight": (
        lambda f, t, a, b, w: f.l1_loss(a, b, reduction="sum", weight=w),
        [X2, Y2, P2],
    ),
    "huber_loss-weight": (lambda f, t, a, b, w: f.huber_loss(a, b, weight=w), [X2, Y2, P2]),
    "l1_loss": (lambda f, t, a, b: f.l1_loss(a, b, reduction="sum"), [X2, Y2]),
    "smooth_l1_loss": (lambda f, t, a, b: f.smooth_l1_loss(a, b, beta=0.5), [X2, Y2]),
    "huber_loss": (lambda f, t, a, b: f.huber_loss(a, b, reduction="none", delta=0.7), [X2, Y2]),
    "kl_div": (lambda f, t, a, b: f.kl_div(a, b, reduction="batchmean"), [X2, P2]),
    "kl_div-log": (lambda f, t, a, b: f.kl_div(a, b, reduction="sum", log_target=True), [X2, Y2]),
    "nll_loss": (
        lambda f, t, a, i: f.nll_loss(a, i, t.tensor(CLASS_WEIGHTS, device=a.device)),
        [X2, TARGETS],
    ),
    "cross_entropy": (
        lambda f, t, a, i: f.cross_entropy(
            a, i, t.tensor(CLASS_WEIGHTS, device=a.device), label_smoothing=0.2
        ),
        [X2, TARGETS],
    ),
    "cross_entropy-sum": (lambda f, t, a, i: f.cross_entropy(a, i, reduction="sum"), [X2, TARGETS]),
    "cross_entropy-probabilities": (
        lambda f, t, a, p: f.cross_entropy(
            a, p, t.tensor(CLASS_WEIGHTS, device=a.device), label_smoothing=0.1
        ),
        [X2, P2],
    ),
    "cross_entropy-4d": (
        lambda f, t, a, i: f.cross_entropy(a, i, label_smoothing=0.1),
        [_x(2, 4, 3, 3), RNG.integers(0, 4, (2, 3, 3))],
    ),
    "cosine_embedding_loss": (
        lambda f, t, a, b, y: f.cosine_embedding_loss(a, b, y, margin=0.2),
        [X2, Y2, np.array([1, -1, 1, -1, -1])],
    ),
}


def _run(call, arrays, lib, device=None):
    make = (
        (lambda a: gg.tensor(a, device=device, requires_grad=a.dtype.kind == "f"))
        if lib is gg
        else (lambda a: torch.tensor(a, requires_grad=a.dtype.kind == "f"))
    )
    tensors = [make(a) for a in arrays]
    return tensors, call(F if lib is gg else TF, lib, *tensors)


@pytest.mark.parametrize("name", list(CASES))
def test_function_matches_torch(device, name):
    call, arrays = CASES[name]
    ours_in, ours = _run(call, arrays, gg, device)
    theirs_in, theirs = _run(call, arrays, torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), 1e-7, 1e-9)
    if not theirs.requires_grad:
        return
    weight = RNG.standard_normal(tuple(theirs.shape))
    (ours * gg.tensor(weight, device=device)).sum().backward()
    (theirs * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), 1e-7, 1e-9)


# Finite differences on small float64 inputs: each function's own gradient, no PyTorch.
def _small(*shape):
    return gg.tensor(RNG.standard_normal(shape), requires_grad=True)


GRADCHECKS = {
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        [(1, 2, 5, 4), (3, 2, 2, 3), (3,)],
    ),
    "conv2d-groups": (
        lambda x, w: F.conv2d(x, w, groups=2, dilation=2),
        [(1, 4, 5, 5), (2, 2, 2, 2)],
    ),
    "conv1d": (lambda x, w: F.conv1d(x, w, padding="same"), [(2, 2, 5), (3, 2, 3)]),
    "conv_transpose2d": (
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1),
        [(1, 2, 3, 3), (2, 2, 3, 3)],
    ),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2, 1, padding=1), [(1, 2, 4, 4)]),
    "max_pool2d-tiles": (lambda x: F.max_pool2d(x, 2), [(1, 2, 4, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [(1, 2, 5, 5)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, 3), [(1, 2, 5, 4)]),
    "unfold": (lambda x: F.unfold(x, 2, stride=2), [(1, 2, 4, 4)]),
    "pad-reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [(1, 1, 4, 4)]),
    "interpolate-bilinear": (
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
        [(1, 2, 3, 4)],
    ),
    "interpolate-nearest": (lambda x: F.interpolate(x, size=(5, 3)), [(1, 1, 3, 4)]),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(4, 3, 2), (3,), (3,)],
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "group_norm": (lambda x: F.group_norm(x, 2), [(2, 4, 3)]),
    "rms_norm": (lambda x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)]),
    "bilinear": (lambda a, b, w: F.bilinear(a, b, w), [(3, 2), (3, 4), (2, 2, 4)]),
    "elu": (lambda x: F.elu(x), [(3, 4)]),
    "mish": (lambda x: F.mish(x), [(3, 4)]),
    "silu": (lambda x: F.silu(x), [(3, 4)]),
    "softplus": (lambda x: F.softplus(x, 2.0), [(3, 4)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [(3, 4)]),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.5), [(3, 4)]),
    "normalize": (lambda x: F.normalize(x, dim=-1), [(3, 4)]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)]),
    "pairwise_distance": (lambda a, b: F.pairwise_distance(a, b), [(3, 4), (3, 4)]),
    "sdpa": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2)],
    ),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(3, 4), (3, 4)]),
    "smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, beta=2.0), [(3, 4), (3, 4)]),
    "huber_loss": (lambda a, b: F.huber_loss(a, b, delta=2.0), [(3, 4), (3, 4)]),
    "kl_div": (
        lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=True),
        [(3, 4), (3, 4)],
    ),
    "cross_entropy": (
        lambda a: F.cross_entropy(a, gg.tensor([1, 0, 3]), label_smoothing=0.1),
        [(3, 4)],
    ),
    "cross_entropy-probabilities": (
        lambda a, p: F.cross_entropy(a, p.softmax(1)),
        [(3, 4), (3, 4)],
    ),
    "nll_loss": (
        lambda a: F.nll_loss(
            a, gg.tensor([1, 0, 3]), gg.tensor([1.0, 2.0, 0.5, 1.0], dtype=gg.float64)
        ),
        [(3, 4)],
    ),
    "embedding": (lambda w: F.embedding(gg.tensor([[0, 2], [2, 1]]), w), [(3, 2)]),
    "cosine_embedding_loss": (
        lambda a, b: F.cosine_embedding_loss(a, b, gg.tensor([1, -1, 1])),
        [(3, 4), (3, 4)],
    ),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck(name):
    function, shapes = GRADCHECKS[name]
    assert gg.autograd.gradcheck(function, [_small(*s) for s in shapes])


@pytest.mark.parametrize(
    "name", ["conv2d", "layer_norm", "sdpa", "max_pool2d", "cross_entropy", "mish"]
)
def test_gradgradcheck(name):
    function, shapes = GRADCHECKS[name]
    assert gg.autograd.gradgradcheck(function, [_small(*s) for s in shapes])


def test_max_pool_gives_a_tied_windows_gradient_to_its_first_maximum(device):
    x = gg.zeros(1, 1, 2, 4, device=device, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.cpu().tolist() == [[[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]
    y = gg.tensor([[[1.0, float("nan"), 2.0, 3.0]]], device=device)
    assert str(F.max_pool1d(y, 2).cpu().tolist()) == "[[[nan, 3.0]]]"


@pytest.mark.parametrize("tiles", [True, False], ids=["tiling", "overlapping"])
def test_max_pool_routes_non_finite_gradients_and_nan_windows_as_torch(device, tiles):
    """An inf upstream gradient reaches only each window's chosen element (the others get
    0, not inf * 0 = NaN); a window holding NaN gives its gradient to the NaN."""
    values = np.arange(32.0).reshape(1, 2, 4, 4) % 7
    values[0, 1, 1, 2] = np.nan
    upstream = np.ones((1, 2, 2, 2) if tiles else (1, 2, 3, 3))
    upstream[0, 0, 1, 1] = np.inf
    kwargs = {"kernel_size": 2} if tiles else {"kernel_size": 2, "stride": 1}
    x = gg.tensor(values, device=device, requires_grad=True)
    out = F.max_pool2d(x, **kwargs)
    out.backward(gg.tensor(upstream, device=device))
    xt = torch.tensor(values, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(xt, **kwargs)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.detach().cpu().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(x.grad.cpu().numpy(), xt.grad.numpy())


def test_dropout_inplace_and_modes(device):
    x = gg.ones(1000, device=device)
    assert F.dropout(x, 0.4, training=False) is x
    gg.manual_seed(0)
    out = F.dropout(x, 0.4, inplace=True)
    assert out is x and 0.5 < (x == 0).float().mean().item() + 0.2 < 0.7
    assert F.dropout(gg.ones(5, device=device), 1.0).tolist() == [0.0] * 5


def test_batch_norm_updates_running_statistics_in_place(device):
    mean, var = gg.zeros(3, device=device), gg.ones(3, device=device)
    x = _x(6, 3)
    version = mean._version
    F.batch_norm(gg.tensor(x, device=device), mean, var, training=True, momentum=0.25)
    assert mean._version > version
    np.testing.assert_allclose(mean.cpu().numpy(), 0.25 * x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(var.cpu().numpy(), 0.75 + 0.25 * x.var(0, ddof=1), rtol=1e-6)


# --- errors ---------------------------------------------------------------------------------
ERRORS = [
    lambda f, t: f.conv2d(t.zeros(2, 4, 5, 5), t.zeros(6, 3, 3, 3)),
    lambda f, t: f.conv2d(t.zeros(2, 3, 5), t.zeros(6, 3, 3, 3)),
    lambda f, t: f.conv2d(t.zeros(2, 3, 2, 2), t.zeros(6, 3, 3, 3)),
    lambda f, t: f.conv1d(t.zeros(2, 4, 5), t.zeros(6, 3, 3)),
    lambda f, t: f.conv_transpose2d(t.zeros(2, 4, 5, 5), t.zeros(3, 6, 3, 3)),
    lambda f, t: f.max_pool2d(t.zeros(2, 3, 2, 2), 3),
    lambda f, t: f.max_pool2d(t.zeros(2, 3, 4, 4), 2, padding=2),
    lambda f, t: f.avg_pool2d(t.zeros(2, 3, 2, 2), 3),
    lambda f, t: f.cross_entropy(t.zeros(3, 5), t.tensor([1, 2])),
    lambda f, t: f.cross_entropy(t.zeros(3, 5), t.tensor([1, 2, 7])),
    lambda f, t: f.cross_entropy(t.zeros(3, 5), t.tensor([1, 2, 3], dtype=t.int32)),
    lambda f, t: f.cross_entropy(t.zeros(3, 5), t.zeros(3, 4)),
    lambda f, t: f.nll_loss(t.zeros(3, 5), t.zeros(3)),
    lambda f, t: f.nll_loss(t.zeros(3, 5), t.tensor([[1, 2, 3]])),
    lambda f, t: f.scaled_dot_product_attention(
        t.zeros(2, 3, 4, 8),
        t.zeros(2, 3, 5, 8),
        t.zeros(2, 3, 5, 8),
        attn_mask=t.ones(4, 5, dtype=t.int64),
    ),
    lambda f, t: f.batch_norm(t.zeros(2, 3), t.zeros(4), t.ones(4), training=True),
    lambda f, t: f.layer_norm(t.zeros(2, 3), (4,)),
    lambda f, t: f.group_norm(t.zeros(2, 6, 4), 4),
    lambda f, t: f.embedding(t.tensor([5]), t.zeros(3, 2)),
    lambda f, t: f.one_hot(t.tensor([1.0])),
    lambda f, t: f.one_hot(t.tensor([-1])),
    lambda f, t: f.one_hot(t.tensor([3]), 2),
    lambda f, t: f.mse_loss(t.zeros(3), t.zeros(3), reduction="x"),
    lambda f, t: f.pad(t.zeros(1, 2, 3), (3, 3), mode="reflect"),
    lambda f, t: f.pad(t.zeros(1, 2, 3), (1, 1, 1), mode="constant"),
    lambda f, t: f.dropout(t.zeros(2), p=1.5),
    lambda f, t: f.kl_div(t.zeros(2), t.zeros(2), reduction="batchmeanx"),
    lambda f, t: f.linear(t.zeros(2, 3), None),
    lambda f, t: f.mse_loss(t.zeros(2, 3), t.zeros(2, 3), weight=t.ones(3)),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4)),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), size=2, scale_factor=2),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), size=(2, 3, 4)),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), scale_factor=(2, 3, 3)),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), scale_factor=2, mode="linear"),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), scale_factor=2, align_corners=True),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), scale_factor=2, mode="bogus"),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3, 4), size=0),
    lambda f, t: f.interpolate(t.zeros(3), scale_factor=2),
    lambda f, t: f.interpolate(t.zeros(1, 2, 3), scale_factor=2, antialias=True),
]


@pytest.mark.parametrize("call", ERRORS)
def test_errors_match_torch(call):
    assert_raises_like_torch(lambda: call(F, gg), lambda: call(TF, torch))


def test_mse_loss_warns_on_broadcasting_targets_as_torch_does():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.mse_loss(gg.zeros(3, 1), gg.zeros(3))
    assert "different to the input size" in str(caught[0].message)


def test_all_names_are_public_functions():
    for name in F.__all__:
        assert callable(getattr(F, name)) and not name.startswith("_")


@pytest.mark.parametrize("name", ["elu", "silu", "mish", "hardtanh", "leaky_relu"])
def test_inplace_activations_match_torch(device, name):
    values = [-1.0, 2.0, 0.3, 5.0]
    ours_leaf = gg.tensor(values, device=device, requires_grad=True)
    theirs_leaf = torch.tensor(values, requires_grad=True)
    ours_x, theirs_x = ours_leaf * 1, theirs_leaf * 1
    ours = getattr(F, name)(ours_x, inplace=True)
    theirs = getattr(TF, name)(theirs_x, inplace=True)
    assert ours is ours_x
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), 1e-6)
    ours[:3].sum().backward()
    theirs[:3].sum().backward()
    np.testing.assert_allclose(ours_leaf.grad.cpu().numpy(), theirs_leaf.grad.numpy(), 1e-6)
    extremes = [float("inf"), -5.0, 0.0]  # no graph: a plain assignment, exact at inf
    plain = gg.tensor(extremes, device=device)
    assert getattr(F, name)(plain, inplace=True) is plain
    expected = getattr(TF, name)(torch.tensor(extremes)).numpy()
    np.testing.assert_allclose(plain.cpu().numpy(), expected, 1e-6)


@pytest.mark.parametrize(
    ("size_average", "reduce"), [(False, None), (None, False), (True, True), (False, True)]
)
@pytest.mark.parametrize(
    "name",
    ["mse_loss", "l1_loss", "smooth_l1_loss", "kl_div", "binary_cross_entropy"],
)
def test_legacy_size_average_and_reduce_read_as_torch_reads_them(
    device, name, size_average, reduce
):
    x, y = RNG.random((3, 4)), RNG.random((3, 4))
    flags = {"size_average": size_average, "reduce": reduce}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = getattr(F, name)(gg.tensor(x, device=device), gg.tensor(y, device=device), **flags)
        theirs = getattr(TF, name)(torch.tensor(x), torch.tensor(y), **flags)
    messages = [str(w.message) for w in caught if "size_average" in str(w.message)]
    assert len(messages) == 2 and messages[0] == messages[1]
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), 1e-12)


def test_functional_defines_each_function_once():
    """One home per function: every public name of ``gg.nn.functional`` is defined there,
    in one of its ``gpugrad.nn._functional_*`` parts, or is the registry's op
    (``gpugrad.ops``); no second implementation remains."""
    homes = ("gpugrad.ops.", "gpugrad.nn._functional_")
    for name in F.__all__:
        module = getattr(F, name).__module__
        assert module == "gpugrad.nn.functional" or module.startswith(homes), name
    assert F.softplus is gg.ops.nn.softplus and F.gelu is gg.ops.nn.gelu


def test_a_reduction_string_in_a_legacy_flag_is_refused():
    """PyTorch would read ``"sum"`` in ``size_average``'s place as ``True`` (a mean, with a
    warning); gpugrad refuses it rather than return the wrong reduction."""
    p = gg.full((3,), 0.5)
    with pytest.raises(TypeError, match="reduction='sum'"):
        F.binary_cross_entropy(p, p, None, "sum")
    with pytest.raises(TypeError, match="reduction='none'"):
        F.mse_loss(p, p, None, "none")


_LAYER_OPS = {
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
        [(2, 2, 5, 6), (3, 2, 2, 3), (3,)],
    ),
    "conv1d-groups": (lambda x, w: F.conv1d(x, w, groups=2), [(2, 4, 6), (4, 2, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 6, 5)]),
    "max_pool2d-tiles": (lambda x: F.max_pool2d(x, 2), [(2, 2, 4, 4)]),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(4, 3, 2, 2), (3,), (3,)],
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 2), w, b), [(4, 3, 2), (3, 2), (3, 2)]),
    "sdpa-causal": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 2)],
    ),
    "lstm": (
        lambda x: gg.nn.LSTM(5, 3, bidirectional=True).double().to(x.device)(x)[0],
        [(4, 2, 5)],
    ),
}


@pytest.mark.parametrize("name", sorted(_LAYER_OPS))
def test_layer_op_kernel_gradients_equal_their_composites(name, device):
    """Each layer op's backward on arrays equals its composite formula (the backward of
    ``create_graph=True``), for every input."""
    fn, shapes = _LAYER_OPS[name]
    values = [np.random.default_rng(3).standard_normal(s) for s in shapes]
    results = []
    for create_graph in (False, True):
        gg.manual_seed(0)
        inputs = [gg.tensor(v, device=device, requires_grad=True) for v in values]
        out = fn(*inputs)
        weight = gg.tensor(np.random.default_rng(4).standard_normal(out.shape), device=device)
        grads = gg.autograd.grad((out * weight).sum(), inputs, create_graph=create_graph)
        results.append([g.detach().cpu().numpy() for g in grads])
    for kernel, composite in zip(*results, strict=True):
        np.testing.assert_allclose(kernel, composite, rtol=1e-10, atol=1e-12)


TARGET_ERRORS = [
    lambda F, t: F.nll_loss(t.zeros(3, 5), t.zeros(3, 4)),
    lambda F, t: F.nll_loss(t.zeros(3, 5), t.zeros(3)),
    lambda F, t: F.cross_entropy(t.zeros(3, 5), t.zeros(4)),
    lambda F, t: F.nll_loss(t.zeros(3, 5), t.zeros(4, dtype=t.long)),
    lambda F, t: F.cross_entropy(t.zeros(3, 5, 2), t.zeros(3, 4)),
    lambda F, t: F.cross_entropy(t.zeros(3, 5, 2, 2), t.zeros(3, 2)),
    lambda F, t: F.cross_entropy(t.zeros(3, 5), t.zeros(3, dtype=t.int32)),
    lambda F, t: F.cross_entropy(t.zeros(5), t.zeros(3, 2)),
    lambda F, t: F.nll_loss(t.zeros(3, 5), t.zeros(3, 4, dtype=t.long)),
    lambda F, t: F.cross_entropy(t.zeros(3, 5), t.zeros(3, dtype=t.bool)),
]


@pytest.mark.parametrize("call", TARGET_ERRORS)
def test_class_target_errors_in_pytorchs_order(call):
    """Shape checks of class-index targets come before the dtype check, as in PyTorch."""
    assert_raises_like_torch(lambda: call(F, gg), lambda: call(TF, torch))
