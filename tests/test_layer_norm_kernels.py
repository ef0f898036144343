"""Layer norm's kernels (``backends/kernels/layer_norm.py``): each body (NumPy, native C)
against PyTorch, with and without weight and bias, over one and several normalized dims,
on shapes cut into several blocks of rows, non-contiguous input, float16; and
``F.layer_norm`` through the device fixture, its gradcheck and double backward."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_bodies import cpu_bodies

import gpugrad as gg
from gpugrad.backends.kernels import layer_norm as lk

torch = pytest.importorskip("torch")
F = gg.nn.functional


BODIES = cpu_bodies(lk)
SHAPES = [  # (input shape, normalized shape)
    ((3, 5), (5,)),
    ((2, 3, 4), (3, 4)),
    ((1, 1), (1,)),
    ((2048, 128), (128,)),  # several blocks of rows, on several threads
    ((7, 3, 1000), (1000,)),
    ((40, 2, 9), (2, 9)),
]


def _torch(x, w, b, g, normalized, eps=1e-5):
    tx = torch.tensor(x, requires_grad=True)
    tw = None if w is None else torch.tensor(w, requires_grad=True)
    tb = None if b is None else torch.tensor(b, requires_grad=True)
    out = torch.nn.functional.layer_norm(tx, normalized, tw, tb, eps)
    out.backward(torch.tensor(g))
    grads = [None if t is None else t.grad.numpy() for t in (tx, tw, tb)]
    return out.detach().numpy(), grads


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "normalized"), SHAPES)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_body_matches_torch(body, dtype, shape, normalized, affine):
    rng = np.random.default_rng(len(shape) + shape[-1])
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(normalized).astype(dtype) if affine in ("both", "weight") else None
    b = rng.standard_normal(normalized).astype(dtype) if affine in ("both", "bias") else None
    size = int(np.prod(normalized))
    out, mean, invstd = body.forward(x, w, b, size, 1e-5)
    dx, dw, db = body.backward(g, x, w, mean, invstd)
    t_out, (t_dx, t_dw, t_db) = _torch(x, w, b, g, normalized)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-11)
    assert out.dtype == dx.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, t_out, **tol)
    np.testing.assert_allclose(dx, t_dx, **tol)
    rows = x.reshape(-1, size).astype(np.float64)
    np.testing.assert_allclose(mean.reshape(-1), rows.mean(1), **tol)
    np.testing.assert_allclose(invstd.reshape(-1), 1 / np.sqrt(rows.var(1) + 1e-5), **tol)
    if w is not None:
        np.testing.assert_allclose(dw, t_dw, **tol)
        assert dw.shape == db.shape == normalized
    if b is not None:
        np.testing.assert_allclose(db.reshape(normalized), t_db, **tol)


@pytest.mark.parametrize("body", BODIES)
def test_body_non_contiguous_and_half(body):
    rng = np.random.default_rng(9)
    wide = rng.standard_normal((6, 16))
    x = wide[:, ::2]  # (6, 8), strided
    g = rng.standard_normal((6, 8))
    w, b = rng.standard_normal(8), rng.standard_normal(8)
    out, mean, invstd = body.forward(x, w, b, 8, 1e-5)
    dx, dw, db = body.backward(g, x, w, mean, invstd)
    t_out, (t_dx, t_dw, t_db) = _torch(x.copy(), w, b, g, (8,))
    for a, t in zip((out, dx, dw, db), (t_out, t_dx, t_dw, t_db)):
        np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-12)
    half = x.astype(np.float16)
    out, _, _ = body.forward(half, w.astype(np.float16), None, 8, 1e-5)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, t_out - b, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_layer_norm_function_matches_torch(device, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 10))
    g = rng.standard_normal((4, 6, 10))
    w, b = rng.standard_normal(10), rng.standard_normal(10)
    np_dtype = np.float32 if dtype == gg.float32 else np.float64
    tensors = [gg.tensor(a.astype(np_dtype), device=device, requires_grad=True) for a in (x, w, b)]
    out = F.layer_norm(tensors[0], (10,), tensors[1], tensors[2])
    out.backward(gg.tensor(g.astype(np_dtype), device=device))
    t_out, t_grads = _torch(*(a.astype(np_dtype) for a in (x, w, b, g)), (10,))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == gg.float32 else dict(rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(out.detach().cpu().numpy(), t_out, **tol)
    for t, expected in zip(tensors, t_grads):
        np.testing.assert_allclose(t.grad.cpu().numpy(), expected, **tol)
    assert out.grad_fn.name() == "NativeLayerNormBackward0"


def test_layer_norm_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(3)
    x, w, b = (
        rng.standard_normal((3, 2, 4)),
        rng.standard_normal((2, 4)),
        rng.standard_normal((2, 4)),
    )
    ts = [gg.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]

    def fn(a, c, d):
        return F.layer_norm(a, (2, 4), c, d)

    assert gg.autograd.gradcheck(fn, ts)
    assert gg.autograd.gradgradcheck(fn, ts)


def test_layer_norm_bias_without_weight_gets_its_shape(device):
    """A bias without a weight over two normalized dims: its gradient is (3, 4), as in
    PyTorch (the kernels' flat column sums were handed back as (12,))."""
    rng = np.random.default_rng(4)
    x, b, g = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((2, 3, 4)),
    )
    gx, gb = (gg.tensor(a, device=device, requires_grad=True) for a in (x, b))
    F.layer_norm(gx, (3, 4), None, gb).backward(gg.tensor(g, device=device))
    _, (t_dx, _, t_db) = _torch(x, None, b, g, (3, 4))
    assert tuple(gb.grad.shape) == (3, 4)
    np.testing.assert_allclose(gb.grad.cpu().numpy(), t_db, rtol=1e-12)
    np.testing.assert_allclose(gx.grad.cpu().numpy(), t_dx, rtol=1e-9, atol=1e-12)
