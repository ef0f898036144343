"""Batch norm's fused kernels (``backends/kernels/batch_norm.py``): each body (NumPy, native
C, and CUDA through the device fixture) against PyTorch and against the composition of
tensor ops that batch norm was before, on odd shapes (one channel, one value per channel,
non-contiguous input, inputs cut into several blocks and threads), in training and
evaluation mode."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from kernel_bodies import cpu_bodies, native_builds

import gpugrad as gg
from gpugrad.backends.kernels import batch_norm as bn
from gpugrad.backends.kernels import native_exec, numpy_exec, nvrtc

torch = pytest.importorskip("torch")
F = gg.nn.functional

SHAPES = [
    (5, 3),  # BatchNorm1d, (N, C): one value per sample
    (4, 3, 7),  # BatchNorm1d, (N, C, L)
    (4, 3, 5, 6),  # BatchNorm2d
    (3, 1, 5, 5),  # one channel
    (1, 2, 1, 2),  # two values per channel
    (2, 4),  # two values per channel, 1D
    (9, 3, 101, 97),  # several blocks, split between threads
    # above bn.SMALL elements, the bodies' large paths (the native C loops):
    (20001, 3),  # (N, C), vectorized across channels
    (301, 3, 25),
    (17, 1, 40, 40),
    (3, 2, 1, 4097),
]
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


BODIES = cpu_bodies(bn)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    w = rng.standard_normal(c).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return x, w, b, g


def _torch_train(x, w, b, g, eps=1e-5):
    tx, tw, tb = (
        torch.tensor(a, requires_grad=a is not None) if a is not None else None for a in (x, w, b)
    )
    out = torch.nn.functional.batch_norm(tx, None, None, tw, tb, True, 0.1, eps)
    out.backward(torch.tensor(g))
    dims = (0, *range(2, x.ndim))
    mean = torch.tensor(x).mean(dims)
    var = torch.tensor(x).var(dims, unbiased=False)
    grads = [None if t is None else t.grad.numpy() for t in (tx, tw, tb)]
    return out.detach().numpy(), mean.numpy(), var.numpy(), grads


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_body_matches_torch_in_training(body, dtype, shape, affine):
    x, w, b, g = _data(shape, dtype)
    if not affine:
        w = b = None
    out, mean, var, invstd = body.forward(x, w, b, 1e-5)
    t_out, t_mean, t_var, (t_dx, t_dw, t_db) = _torch_train(x, w, b, g)
    tol = TOLERANCE[dtype]
    for ours in (out, mean, var, invstd):
        assert ours.dtype == dtype
    assert out.shape == x.shape
    np.testing.assert_allclose(out, t_out, **tol)
    np.testing.assert_allclose(mean, t_mean, **tol)
    np.testing.assert_allclose(var, t_var, **tol)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(t_var.astype(np.float64) + 1e-5), **tol)
    dx, dw, db = body.backward(g, x, w, mean, invstd)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, t_dx, **tol)
    scale = max(1.0, float(np.abs(g).sum(axis=(0, *range(2, x.ndim))).max()))
    if affine:
        np.testing.assert_allclose(dw, t_dw, rtol=tol["rtol"], atol=tol["atol"] * scale)
        np.testing.assert_allclose(db, t_db, rtol=tol["rtol"], atol=tol["atol"] * scale)


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES[:5] + SHAPES[-4:])
def test_body_matches_torch_in_evaluation(body, dtype, shape):
    x, w, b, _ = _data(shape, dtype)
    rng = np.random.default_rng(1)
    mean = rng.standard_normal(shape[1]).astype(dtype)
    var = rng.uniform(0.1, 3, shape[1]).astype(dtype)
    expected = torch.nn.functional.batch_norm(
        *(torch.tensor(a) for a in (x, mean, var, w, b)), training=False
    )
    out = body.inference(x, mean, var, w, b, 1e-5)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, expected.numpy(), **TOLERANCE[dtype])
    bare = body.inference(x, mean, var, None, None, 1e-5)
    expected = torch.nn.functional.batch_norm(*(torch.tensor(a) for a in (x, mean, var)))
    np.testing.assert_allclose(bare, expected.numpy(), **TOLERANCE[dtype])


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("first", [0.0, 1e4])
def test_variance_keeps_its_precision_far_from_zero(body, first):
    """A mean of 1000 with unit spread (float32 keeps ~4 digits of it), and a first value of
    each channel far out (the native float32 body shifts its sums by that value)."""
    rng = np.random.default_rng(5)
    x = (1000 + rng.standard_normal((64, 3, 12, 12))).astype(np.float32)  # > bn.SMALL
    if first:
        x[0, :, 0, 0] = first
    out, mean, var, invstd = body.forward(x, None, None, 1e-5)
    exact = x.astype(np.float64).var(axis=(0, 2, 3))
    np.testing.assert_allclose(var, exact, rtol=1e-5)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-6)
    t_out = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    np.testing.assert_allclose(out, t_out.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("body", BODIES)
def test_body_reads_a_non_contiguous_input(body):
    x, w, b, g = _data((6, 5, 4, 3), np.float64)
    view = x.transpose(0, 1, 3, 2)  # (6, 5, 3, 4), not contiguous
    grad = g.transpose(0, 1, 3, 2)
    out, mean, var, invstd = body.forward(view, w, b, 1e-5)
    t_out, _, _, (t_dx, t_dw, t_db) = _torch_train(np.ascontiguousarray(view), w, b, grad)
    np.testing.assert_allclose(out, t_out, **TOLERANCE[np.float64])
    dx, dw, db = body.backward(grad, view, w, mean, invstd)
    np.testing.assert_allclose(dx, t_dx, **TOLERANCE[np.float64])
    np.testing.assert_allclose(dw, t_dw, **TOLERANCE[np.float64])
    np.testing.assert_allclose(db, t_db, **TOLERANCE[np.float64])


def test_float16_is_computed_in_float32():
    x, w, b, g = _data((4, 3, 5, 5), np.float16)
    out, mean, var, invstd = bn.NATIVE.forward(x, w, b, 1e-5)
    assert out.dtype == np.float16 and mean.dtype == np.float16
    ref, ref_mean, ref_var, _ = bn.NUMPY.forward(*(a.astype(np.float32) for a in (x, w, b)), 1e-5)
    np.testing.assert_allclose(out, ref.astype(np.float16), rtol=1e-3, atol=2e-3)
    np.testing.assert_allclose(mean, ref_mean.astype(np.float16), rtol=1e-3)
    dx, dw, db = bn.NATIVE.backward(g, x, w, mean, invstd)
    assert dx.dtype == dw.dtype == db.dtype == np.float16
    assert np.isfinite(dx).all()


@pytest.mark.skipif(not native_builds(), reason="no C++ compiler")
@pytest.mark.parametrize("shape", [(9, 3, 101, 97), (100003, 3)])
def test_native_results_do_not_depend_on_the_thread_count(shape):
    x, w, b, g = _data(shape, np.float32)
    threads = numpy_exec.get_num_threads()
    results = []
    try:
        for n in (1, 2, 3):
            numpy_exec.set_num_threads(n)
            out, mean, var, invstd = bn.NATIVE.forward(x, w, b, 1e-5)
            dx, dw, db = bn.NATIVE.backward(g, x, w, mean, invstd)
            results.append([a.copy() for a in (out, mean, var, invstd, dx, dw, db)])
    finally:
        numpy_exec.set_num_threads(threads)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


def test_cpu_body_follows_the_elementwise_kernels():
    assert bn.body_for(numpy_exec, np) is bn.NUMPY
    assert bn.body_for(native_exec, np) is bn.NATIVE
    assert gg.backends.cpu.batch_norm_body() is bn.body_for(gg.backends.cpu.kernels, np)


# --- through gpugrad's functional API, on every device -----------------------------------
def _composed_train(x, w, b, eps=1e-5):
    """Batch norm as it was before its kernels: a composition of tensor ops."""
    dims = (0, *range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    centered = x - x.mean(dims, keepdim=True)
    out = centered * ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    if w is not None:
        out = out * w.reshape(shape)
    if b is not None:
        out = out + b.reshape(shape)
    return out


@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (4, 3, 5, 6), (3, 1, 2, 2)])
def test_fused_op_matches_the_composition_and_torch(device, dtype, shape):
    x, w, b, g = _data(shape, np.float64 if dtype == gg.float64 else np.float32)
    tol = TOLERANCE[np.float64 if dtype == gg.float64 else np.float32]
    for training in (True, False):
        tensors = [gg.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
        running = [
            gg.tensor(a, device=device) for a in (x.mean((0, *range(2, x.ndim))), w * w + 0.5)
        ]
        t_running = [torch.tensor(r.cpu().numpy()) for r in running]
        mine = F.batch_norm(tensors[0], *running, tensors[1], tensors[2], training=training)
        if training:
            composed_in = [gg.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
            composed = _composed_train(*composed_in)
        else:
            composed_in = [gg.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
            shape1 = (1, shape[1]) + (1,) * (len(shape) - 2)
            m, v = (r.reshape(shape1) for r in running)
            composed = (composed_in[0] - m) * (v + 1e-5).rsqrt() * composed_in[1].reshape(
                shape1
            ) + composed_in[2].reshape(shape1)
        assert mine.grad_fn.name() == "NativeBatchNormBackward0"
        mine.backward(gg.tensor(g, device=device))
        composed.backward(gg.tensor(g, device=device))
        np.testing.assert_allclose(
            mine.detach().cpu().numpy(), composed.detach().cpu().numpy(), **tol
        )
        for ours, theirs in zip(tensors, composed_in):
            np.testing.assert_allclose(
                ours.grad.cpu().numpy(),
                theirs.grad.cpu().numpy(),
                rtol=tol["rtol"],
                atol=tol["atol"] * 100,
            )
        t_in = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        t_out = torch.nn.functional.batch_norm(
            t_in[0], *t_running, t_in[1], t_in[2], training=training
        )
        t_out.backward(torch.tensor(g))
        np.testing.assert_allclose(mine.detach().cpu().numpy(), t_out.detach().numpy(), **tol)
        np.testing.assert_allclose(running[0].cpu().numpy(), t_running[0].numpy(), **tol)
        np.testing.assert_allclose(running[1].cpu().numpy(), t_running[1].numpy(), **tol)
        for ours, theirs in zip(tensors, t_in):
            np.testing.assert_allclose(
                ours.grad.cpu().numpy(),
                theirs.grad.numpy(),
                rtol=tol["rtol"],
                atol=tol["atol"] * 100,
            )


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_and_gradgradcheck(device, training, affine):
    rng = np.random.default_rng(3)
    x = gg.tensor(rng.standard_normal((3, 2, 2, 2)), device=device, requires_grad=True)
    params = (
        [gg.tensor(rng.standard_normal(2), device=device, requires_grad=True) for _ in range(2)]
        if affine
        else []
    )
    running = [
        gg.tensor(a, device=device) for a in (rng.standard_normal(2), rng.uniform(0.5, 2, 2))
    ]

    def fn(x, *p):
        w, b = p if p else (None, None)
        return F.batch_norm(x, *[r.clone() for r in running], w, b, training=training)

    assert gg.autograd.gradcheck(fn, (x, *params))
    assert gg.autograd.gradgradcheck(fn, (x, *params))


def test_evaluation_with_running_stats_that_want_gradients_keeps_the_composition(device):
    rng = np.random.default_rng(4)
    x = gg.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    mean = gg.tensor(rng.standard_normal(3), device=device, requires_grad=True)
    var = gg.tensor(rng.uniform(0.5, 2, 3), device=device)
    F.batch_norm(x, mean, var, training=False).sum().backward()
    assert mean.grad is not None
    np.testing.assert_allclose(mean.grad.cpu().numpy(), -4 / np.sqrt(var.cpu().numpy() + 1e-5))


def test_one_value_per_channel_is_refused_in_training(device):
    for shape in [(1, 3), (1, 3, 1, 1), (1, 2, 1)]:
        x = gg.zeros(shape, device=device)
        with pytest.raises(
            ValueError, match="Expected more than 1 value per channel when training"
        ):
            F.batch_norm(x, None, None, training=True)
        with pytest.raises(ValueError):
            torch.nn.functional.batch_norm(torch.zeros(shape), None, None, training=True)
    out = F.batch_norm(
        gg.ones((1, 3), device=device), gg.zeros(3, device=device), gg.ones(3, device=device)
    )
    np.testing.assert_allclose(out.cpu().numpy(), np.full((1, 3), 1 / np.sqrt(1 + 1e-5)), rtol=1e-6)


# --- the CUDA source, compiled without a GPU ----------------------------------------------
@pytest.mark.skipif(not nvrtc.available(), reason="cuda.bindings missing: no NVRTC gate")
@pytest.mark.parametrize("arch", nvrtc.ARCHES)
def test_cuda_source_compiles_with_nvrtc(arch):
    cubin = nvrtc.compile_cubin(bn.CUDA_SOURCE, "batch_norm.cu", arch)
    for name in ("stats", "grad_sums", "apply", "grad_input"):
        for suffix in ("f32", "f64"):
            assert f"gg_bn_{name}_{suffix}".encode() in cubin


# --- the CUDA body's host side, on NumPy made to look like CuPy ----------------------------
class _EmulatedKernel:
    """One ``gg_bn_*`` kernel of ``CUDA_SOURCE`` computed with NumPy, checking what a launch
    passes: contiguous arrays of the kernel's dtype, ``long long`` sizes, the block size,
    one block per channel for the sums."""

    def __init__(self, name: str) -> None:
        self.kind, suffix = name[len("gg_bn_") : -4], name[-3:]
        self.dtype = np.float32 if suffix == "f32" else np.float64

    def __call__(self, grid, block, args) -> None:
        assert block == (bn.CUDA_THREADS,)
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous
            else:
                assert isinstance(a, np.int64)
        if self.kind in ("stats", "grad_sums"):
            *arrays, out = [a for a in args if isinstance(a, np.ndarray)]
            n, c, s = (int(a) for a in args if not isinstance(a, np.ndarray))
            assert grid == (c,) and out.dtype == np.float64 and out.shape == (2 * c,)
            assert all(a.dtype == self.dtype for a in arrays)
            if self.kind == "stats":
                x = arrays[0].reshape(n, c, s).astype(np.float64)
                out[:c] = x.mean((0, 2))
                out[c:] = x.var((0, 2))
            else:
                g, x, mean = arrays
                g = g.reshape(n, c, s).astype(np.float64)
                x = x.reshape(n, c, s).astype(np.float64)
                assert mean.shape == (c,)
                out[:c] = g.sum((0, 2))
                out[c:] = (g * (x - mean[:, None])).sum((0, 2))
            return
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        total, c, s = (int(a) for a in args if not isinstance(a, np.ndarray))
        assert all(a.dtype == self.dtype for a in arrays)
        assert all(a.shape == (c,) for a in arrays[-4 if self.kind == "apply" else -5 : -1])
        per_channel = [a[:, None] for a in arrays[-4 if self.kind == "apply" else -5 : -1]]
        out = arrays[-1].reshape(-1, c, s)
        if self.kind == "apply":
            x = arrays[0].reshape(-1, c, s)
            mean, scale, shift = per_channel
            out[...] = (x - mean) * scale + shift
        else:
            g, x = (a.reshape(-1, c, s) for a in arrays[:2])
            mean, a, k, shift = per_channel
            out[...] = g * a + (x - mean) * k + shift
        assert out.size == total


class _EmulatedModule:
    def __init__(self, code: str, options=()) -> None:
        assert code == bn.CUDA_SOURCE

    def get_function(self, name: str) -> _EmulatedKernel:
        assert f"gg_bn_{name[len('gg_bn_') : -4]}_##SUFFIX(" in bn.CUDA_SOURCE
        return _EmulatedKernel(name)


class _CupyLike:
    RawModule = _EmulatedModule

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (3, 2, 5, 6)])
def test_cuda_body_host_side_matches_numpy(dtype, shape):
    body = bn.CudaBody(_CupyLike())
    x, w, b, g = _data(shape, dtype)
    view = x.transpose(1, 0, *range(2, x.ndim)).copy().transpose(1, 0, *range(2, x.ndim))
    tol = {np.float16: dict(rtol=2e-3, atol=2e-3), **TOLERANCE}[dtype]
    for affine in (True, False):
        ww, bb = (w, b) if affine else (None, None)
        got = body.forward(view, ww, bb, 1e-5)
        want = bn.NUMPY.forward(x, ww, bb, 1e-5)
        for ours, theirs in zip(got, want):
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, theirs, **tol)
        got = body.backward(g, view, ww, want[1], want[3])
        expected = bn.NUMPY.backward(g, x, ww, want[1], want[3])
        for ours, theirs in zip(got, expected):
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, theirs, rtol=tol["rtol"], atol=tol["atol"] * 50)
        got = body.inference(view, want[1], want[2] + 1, ww, bb, 1e-5)
        np.testing.assert_allclose(
            got, bn.NUMPY.inference(x, want[1], want[2] + 1, ww, bb, 1e-5), **tol
        )


def test_native_body_without_a_build_warns_once_and_uses_numpy(monkeypatch):
    from gpugrad.backends.kernels import fusion_c

    def fail(source):
        raise native_exec.NativeBuildError("native CPU kernels: no compiler here")

    monkeypatch.setattr(fusion_c, "build", fail)
    body = bn.NativeBody()
    x, w, b, g = _data((40, 3, 20, 20), np.float32)
    with pytest.warns(RuntimeWarning, match="batch-norm kernels could not be built"):
        out, mean, var, invstd = body.forward(x, w, b, 1e-5)
    want = bn.NUMPY.forward(x, w, b, 1e-5)
    for ours, theirs in zip((out, mean, var, invstd), want):
        np.testing.assert_array_equal(ours, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dx, dw, db = body.backward(g, x, w, mean, invstd)
    for ours, theirs in zip((dx, dw, db), bn.NUMPY.backward(g, x, w, mean, invstd)):
        np.testing.assert_array_equal(ours, theirs)
