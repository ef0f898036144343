"""The fused kernels (``backends/kernels``): each kernel, through both CPU executors (the
NumPy bodies, and the native build of the C bodies), against a float64 reference; the
executors' paths (direct, blocked, threaded, reduced) against each other; each CUDA body
run on the host (C++ compiled with the C library's math), the CuPy launcher's arguments
against the generated signatures, and, on a GPU, each CUDA kernel against the NumPy one."""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from types import SimpleNamespace

import numpy
import pytest

from gpugrad import backends
from gpugrad.backends.kernels import cuda_source, cupy_exec, native_exec, numpy_exec
from gpugrad.backends.kernels import defs as K
from gpugrad.backends.kernels.erf import erf
from gpugrad.backends.kernels.spec import Kernel

CPU = backends.cpu
DTYPES = (numpy.float16, numpy.float32, numpy.float64)
SIZES = (1, 1000, 3 * numpy_exec.BLOCK + 17)  # one element, one call, threaded blocks
TOLERANCE = {numpy.float16: 3e-3, numpy.float32: 2e-6, numpy.float64: 1e-13}

_erf64 = numpy.vectorize(math.erf, otypes=[numpy.float64])


@pytest.fixture
def native():
    """``native_exec`` with its libraries built; skips, saying why, where they do not build
    (no C++ compiler)."""
    try:
        native_exec.build_all()
    except native_exec.NativeBuildError as error:
        pytest.skip(str(error))
    return native_exec


@pytest.fixture(scope="session")
def scalar_math_cache(tmp_path_factory):
    """A cache directory for the native build with scalar math calls (``GG_SCALAR_MATH``),
    the variant that platforms without libmvec get."""
    return tmp_path_factory.mktemp("native-scalar")


@pytest.fixture(params=["numpy", "native", "native-scalar"])
def executor(request, monkeypatch, scalar_math_cache):
    """Each CPU executor (``numpy_exec`` or ``native_exec``; both have ``run``), the native
    one also built without vector math."""
    if request.param == "numpy":
        return numpy_exec
    request.getfixturevalue("native")  # skips where the native kernels do not build
    if request.param == "native-scalar":
        monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(scalar_math_cache))
        monkeypatch.setattr(native_exec, "FLAGS", (*native_exec.FLAGS, "-DGG_SCALAR_MATH"))
        monkeypatch.setattr(native_exec, "_libraries", {})
        monkeypatch.setattr(native_exec, "_functions", {})
    return native_exec


# --- inputs and float64 references ------------------------------------------------------------
def _probabilities(rng, n):
    p = rng.random(n)
    edges = [0.0, 1.0, 1e-12, 1 - 1e-12, 1e-8, 1 - 1e-8, 0.5, 1e-45, 1e-300, 1e-40, 3e-39]
    p[: min(n, len(edges))] = edges[: min(n, len(edges))]
    return p


def _targets(rng, n):
    t = rng.random(n)
    t[: n // 3] = numpy.round(t[: n // 3])  # hard labels next to soft ones
    return t


def _logits(rng, n):
    x = rng.standard_normal(n) * 8
    edges = [100.0, -100.0, 0.0, 30.0, -30.0, 88.0, -88.0, 1e-30]
    x[: min(n, len(edges))] = edges[: min(n, len(edges))]
    return x


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _softplus_neg(x):  # log(1 + exp(-x)), stable
    return numpy.log1p(numpy.exp(-numpy.abs(x))) + numpy.maximum(-x, 0)


def _ndtr(x):
    return 0.5 * (1 + _erf64(x / math.sqrt(2)))


def _gelu_tanh_parts(x):
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    return inner, numpy.tanh(inner)


def _ref_bce_eps_grad(g, p, t, w, lo, hi, d):
    inside = (p >= lo) & (p <= hi)
    grad = numpy.where(inside, g * (p - t) / numpy.where(inside, p * (1 - p), 1), 0.0)
    return grad * w / d


REFERENCES = {
    # name: (make inputs, make params, reference(inputs..., params...))
    "sigmoid": (lambda r, n: {"x": _logits(r, n)}, {}, lambda x: _sigmoid(x)),
    "sigmoid_backward": (
        lambda r, n: {"g": r.standard_normal(n), "y": r.random(n)},
        {},
        lambda g, y: g * y * (1 - y),
    ),
    "bce": (
        lambda r, n: {"p": _probabilities(r, n), "t": _targets(r, n), "w": r.random(n)},
        {},
        lambda p, t, w: (
            -w
            * (
                t * numpy.maximum(numpy.log(p), -100)
                + (1 - t) * numpy.maximum(numpy.log1p(-p), -100)
            )
        ),
    ),
    "bce_backward": (
        lambda r, n: {
            "g": r.standard_normal(n),
            "p": _probabilities(r, n),
            "t": _targets(r, n),
            "w": r.random(n),
        },
        {"divisor": 7.0},
        lambda g, p, t, w, divisor: (
            g * (p - t) / numpy.maximum((1 - p) * p, K.BCE_EPSILON) * w / divisor
        ),
    ),
    "bce_eps": (
        lambda r, n: {"p": _probabilities(r, n), "t": _targets(r, n), "w": r.random(n)},
        {"lo": 1e-3, "hi": 1 - 1e-3},
        lambda p, t, w, lo, hi: (
            -w
            * (t * numpy.log(numpy.clip(p, lo, hi)) + (1 - t) * numpy.log1p(-numpy.clip(p, lo, hi)))
        ),
    ),
    "bce_eps_backward": (
        lambda r, n: {
            "g": r.standard_normal(n),
            "p": _probabilities(r, n),
            "t": _targets(r, n),
            "w": r.random(n),
        },
        {"lo": 1e-3, "hi": 1 - 1e-3, "divisor": 3.0},
        _ref_bce_eps_grad,
    ),
    "bce_target_backward": (
        lambda r, n: {"g": r.standard_normal(n), "p": _probabilities(r, n), "w": r.random(n)},
        {"lo": 1e-3, "hi": 1 - 1e-3, "divisor": 3.0},
        lambda g, p, w, lo, hi, divisor: (
            g
            * (numpy.log1p(-numpy.clip(p, lo, hi)) - numpy.log(numpy.clip(p, lo, hi)))
            * w
            / divisor
        ),
    ),
    "bce_logits": (
        lambda r, n: {
            "x": _logits(r, n),
            "t": _targets(r, n),
            "w": r.random(n),
            "pw": r.random(n) * 3,
        },
        {},
        lambda x, t, w, pw: ((1 - t) * x + ((pw - 1) * t + 1) * _softplus_neg(x)) * w,
    ),
    "bce_logits_backward": (
        lambda r, n: {
            "g": r.standard_normal(n),
            "x": _logits(r, n),
            "t": _targets(r, n),
            "w": r.random(n),
            "pw": r.random(n) * 3,
        },
        {"divisor": 5.0},
        lambda g, x, t, w, pw, divisor: ((pw * t + 1 - t) * _sigmoid(x) - pw * t) * g * w / divisor,
    ),
    "bce_logits_with_grad": (
        lambda r, n: {
            "x": _logits(r, n),
            "t": _targets(r, n),
            "w": r.random(n),
            "pw": r.random(n) * 3,
        },
        {"divisor": 5.0},
        lambda x, t, w, pw, divisor: (
            ((1 - t) * x + ((pw - 1) * t + 1) * _softplus_neg(x)) * w,
            ((pw * t + 1 - t) * _sigmoid(x) - pw * t) * w / divisor,
        ),
    ),
    "bce_logits_target_backward": (
        lambda r, n: {
            "g": r.standard_normal(n),
            "x": _logits(r, n),
            "w": r.random(n),
            "pw": r.random(n) * 3,
        },
        {"divisor": 5.0},
        lambda g, x, w, pw, divisor: (-_softplus_neg(-x) + pw * _softplus_neg(x)) * g * w / divisor,
    ),
    "softplus": (
        lambda r, n: {"x": _logits(r, n)},
        {"beta": 1.5, "threshold": 20.0},
        lambda x, beta, threshold: numpy.where(
            x * beta > threshold, x, numpy.log1p(numpy.exp(numpy.minimum(x * beta, 700))) / beta
        ),
    ),
    "softplus_backward": (
        lambda r, n: {"g": r.standard_normal(n), "x": _logits(r, n)},
        {"beta": 1.5, "threshold": 20.0},
        lambda g, x, beta, threshold: numpy.where(x * beta > threshold, g, g * _sigmoid(x * beta)),
    ),
    "gelu": (lambda r, n: {"x": r.standard_normal(n) * 3}, {}, lambda x: x * _ndtr(x)),
    "gelu_backward": (
        lambda r, n: {"g": r.standard_normal(n), "x": r.standard_normal(n) * 3},
        {},
        lambda g, x: g * (_ndtr(x) + x * numpy.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    ),
    "ndtr": (lambda r, n: {"x": r.standard_normal(n) * 4}, {}, _ndtr),
    "gelu_tanh": (
        lambda r, n: {"x": r.standard_normal(n) * 3},
        {},
        lambda x: 0.5 * x * (1 + _gelu_tanh_parts(x)[1]),
    ),
    "gelu_tanh_backward": (
        lambda r, n: {"g": r.standard_normal(n), "x": r.standard_normal(n) * 3},
        {},
        lambda g, x: (
            g
            * (
                0.5 * (1 + _gelu_tanh_parts(x)[1])
                + 0.5
                * x
                * (1 - _gelu_tanh_parts(x)[1] ** 2)
                * math.sqrt(2 / math.pi)
                * (1 + 3 * 0.044715 * x * x)
            )
        ),
    ),
}


SCALE = {
    "bce_logits": 100.0,
    "bce_logits_with_grad": 100.0,
    "bce_logits_target_backward": 100.0,
    "gelu_tanh_backward": 2.0,
}
"""Kernels whose result cancels terms of this size (|x| up to 100; 1 + tanh near -1): the
same cancellation as in PyTorch's formula, so the absolute tolerance scales with it."""


def _case(kernel: Kernel, dtype, n: int, seed: int = 0):
    """Inputs in ``dtype`` and parameters rounded to ``dtype`` (as callers pass them)."""
    make, params, reference = REFERENCES[kernel.name]
    data = make(numpy.random.default_rng(seed), n)
    inputs = {name: data[name].astype(dtype) for name in kernel.inputs}
    params = {name: float(dtype(value)) for name, value in params.items()}
    return inputs, params, reference


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _assert_close(got, expected, dtype, scale=1.0):
    """``got`` (in ``dtype``) against a float64 reference rounded to ``dtype``."""
    got = numpy.asarray(got, dtype=numpy.float64)
    expected = numpy.asarray(expected, dtype=numpy.float64)
    with numpy.errstate(over="ignore", invalid="ignore"):
        rounded = expected.astype(dtype).astype(numpy.float64)
    tol = TOLERANCE[dtype]
    numpy.testing.assert_allclose(got, rounded, rtol=tol, atol=tol * scale, equal_nan=True)


def test_every_kernel_has_a_reference():
    assert {k.name for k in K.KERNELS} == set(REFERENCES)
    assert len({k.name for k in K.KERNELS}) == len(K.KERNELS)


@pytest.mark.parametrize("n", SIZES, ids=["one", "small", "blocked"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kernel", K.KERNELS, ids=lambda k: k.name)
def test_kernel_matches_float64_reference(executor, kernel, dtype, n):
    inputs, params, reference = _case(kernel, dtype, n)
    for present in kernel.variants():
        args = [
            None if name in kernel.optional and name not in present else inputs[name]
            for name in kernel.inputs
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # kernels never warn (overflow, log(0), 0/0)
            outs, _ = executor.run(kernel, args, tuple(params.values()))
        assert all(o.dtype == dtype and o.shape == (n,) for o in outs)
        assert len(outs) == len(kernel.outputs)
        ref_args = [
            inputs[name].astype(numpy.float64)
            if name in present or name not in kernel.optional
            else numpy.float64(1)
            for name in kernel.inputs
        ]
        params64 = [numpy.float64(v) for v in params.values()]
        with numpy.errstate(all="ignore"):
            expected = _as_tuple(reference(*ref_args, *params64))
        for got, want in zip(outs, expected, strict=True):
            _assert_close(got, want, dtype, SCALE.get(kernel.name, 1.0))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kernel", [k for k in K.KERNELS if k.reducible], ids=lambda k: k.name)
def test_reduction_in_the_kernel_matches_the_sum_of_its_elements(executor, kernel, dtype):
    n = 3 * numpy_exec.BLOCK + 17
    inputs, params, _ = _case(kernel, dtype, n)
    args = [inputs[name] for name in kernel.inputs]
    (elements, *others), _ = executor.run(kernel, args, tuple(params.values()))
    for divisor in (1.0, float(n)):
        (total, *stored), _ = executor.run(
            kernel, args, tuple(params.values()), reduce=True, divisor=divisor
        )
        for got, want in zip(stored, others, strict=True):  # stored as without the sum
            numpy.testing.assert_array_equal(got, want)
        assert numpy.asarray(total).dtype == dtype and numpy.ndim(total) == 0
        exact = math.fsum(elements.astype(numpy.float64)) / divisor
        with numpy.errstate(over="ignore"):
            exact = float(dtype(exact))  # a float16 sum may overflow, as in PyTorch
        assert float(total) == pytest.approx(exact, rel=TOLERANCE[dtype])


def test_reduced_mean_is_accurate_and_deterministic(executor):
    n = 5_000_003
    p = numpy.full(n, 0.3, numpy.float32)
    t = numpy.zeros(n, numpy.float32)
    (mean,), _ = executor.run(K.BCE, (p, t, None), reduce=True, divisor=n)
    exact = -math.log1p(-float(numpy.float32(0.3)))
    assert float(mean) == pytest.approx(exact, rel=1e-6)  # a float32 running sum is ~1% off
    again = [executor.run(K.BCE, (p, t, None), reduce=True, divisor=n)[0][0] for _ in range(3)]
    assert all(v == mean for v in again)


def test_blocked_threaded_and_direct_paths_agree_bitwise(executor):
    rng = numpy.random.default_rng(1)
    n = 5 * numpy_exec.BLOCK + 3
    p = _probabilities(rng, n).astype(numpy.float32)
    t = _targets(rng, n).astype(numpy.float32)
    (blocked,), _ = executor.run(K.BCE, (p, t, None))
    direct = numpy.concatenate(
        [
            executor.run(K.BCE, (p[i : i + 1000], t[i : i + 1000], None))[0][0]
            for i in range(0, n, 1000)
        ]
    )
    numpy.testing.assert_array_equal(blocked, direct)
    threads = numpy_exec.get_num_threads()
    try:
        numpy_exec.set_num_threads(1)
        (serial,), _ = executor.run(K.BCE, (p, t, None))
        numpy_exec.set_num_threads(3)
        (three,), _ = executor.run(K.BCE, (p, t, None))
    finally:
        numpy_exec.set_num_threads(threads)
    numpy.testing.assert_array_equal(serial, blocked)
    numpy.testing.assert_array_equal(three, blocked)
    with pytest.raises(ValueError):
        numpy_exec.set_num_threads(0)


@pytest.mark.parametrize("n", [10, 3 * numpy_exec.BLOCK + 1])
def test_inputs_broadcast_follow_strides_and_keep_shape(executor, n):
    rng = numpy.random.default_rng(2)
    g = numpy.float32(0.25)  # a 0-d gradient, as after a mean
    base = rng.random((n, 2)).astype(numpy.float32)
    p = base[:, 0]  # strided
    t = rng.random(n).astype(numpy.float32)
    w = numpy.float32([2.0])
    (got,), _ = executor.run(K.BCE_BACKWARD, (g, p, t, w), (4.0,))
    (ref,), _ = executor.run(
        K.BCE_BACKWARD, (numpy.full(n, g), p.copy(), t, numpy.full(n, 2.0, numpy.float32)), (4.0,)
    )
    numpy.testing.assert_array_equal(got, ref)
    grid = rng.random((4, 5)).astype(numpy.float64)
    (out,), _ = executor.run(K.SIGMOID, (grid,))
    assert out.shape == (4, 5)
    numpy.testing.assert_allclose(out, 1 / (1 + numpy.exp(-grid)), rtol=1e-15, atol=0)
    (scalar,), _ = executor.run(K.SIGMOID, (numpy.float32(6.7),))
    assert scalar.shape == () and scalar.dtype == numpy.float32


def test_empty_inputs(executor):
    empty = numpy.zeros((0, 3), numpy.float32)
    (out,), bad = executor.run(K.BCE, (empty, empty, None))
    assert out.shape == (0, 3) and not bad
    (mean,), _ = executor.run(K.BCE, (empty, empty, None), reduce=True, divisor=0.0)
    assert math.isnan(mean)
    (total,), _ = executor.run(K.BCE, (empty, empty, None), reduce=True)
    assert total == 0


def test_bce_kernel_flags_inputs_outside_the_unit_interval(executor):
    t = numpy.full(4, 0.5, numpy.float32)
    for p in ([0.5, 1.5, 0.2, 0.1], [0.5, -0.1, 0.2, 0.1], [0.5, numpy.nan, 0.2, 0.1]):
        assert executor.run(K.BCE, (numpy.float32(p), t, None))[1]
    assert executor.run(K.BCE, (t, numpy.float32([0, 1, 2, 0]), None))[1]
    assert not executor.run(K.BCE, (numpy.float32([0, 1, 0.5, 1e-30]), t, None))[1]


# --- sigmoid through the backend --------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 64, 65, 100_000, 600_000])
def test_backend_sigmoid_rounds_as_the_composed_expression_and_never_warns(n):
    """Bitwise with the NumPy kernels; within 4 ulp with the native ones (their vector
    ``expf`` is not NumPy's; PyTorch's differs from NumPy's by as much)."""
    rng = numpy.random.default_rng(3)
    x = (rng.standard_normal(n) * 50).astype(numpy.float32)
    exact = CPU.kernels is numpy_exec
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = CPU.sigmoid(x)
        with numpy.errstate(over="ignore"):
            expected = 1 / (1 + numpy.exp(-x))
        _assert_ulps(y, expected, 0 if exact or n <= 64 else 4)
        g = rng.standard_normal(n).astype(numpy.float32)
        _assert_ulps(CPU.sigmoid_backward(g, y), g * y * (1 - y), 0 if exact or n <= 64 else 1)
    assert CPU.sigmoid(numpy.float32([-1000, 1000])).tolist() == [0.0, 1.0]


def _assert_ulps(got, expected, ulps):
    assert got.dtype == expected.dtype == numpy.float32
    apart = numpy.abs(got.view(numpy.int32).astype(numpy.int64) - expected.view(numpy.int32))
    assert int(apart.max()) <= ulps


# --- the numpy erf ----------------------------------------------------------------------------
def test_erf_matches_the_c_library():
    x = numpy.concatenate(
        [numpy.linspace(-7, 7, 20001), numpy.logspace(-300, 1, 500), -numpy.logspace(-20, 1, 50)]
    )
    expected = _erf64(x)
    numpy.testing.assert_allclose(erf(x), expected, rtol=0, atol=4e-15)
    numpy.testing.assert_allclose(erf(x.astype(numpy.float32)), expected, rtol=4e-7, atol=1e-37)
    special = erf(numpy.array([numpy.nan, numpy.inf, -numpy.inf, 0.0, -0.0]))
    assert numpy.isnan(special[0]) and special[1:3].tolist() == [1.0, -1.0]
    assert special[3] == 0 and numpy.signbit(special[4])
    assert erf(numpy.float16([0.5])).dtype == numpy.float16


# --- eps bounds -------------------------------------------------------------------------------
def test_eps_bounds_honour_the_dtype():
    lo, hi = K.eps_bounds(1e-8, numpy.float32)
    assert hi == float(numpy.nextafter(numpy.float32(1), numpy.float32(0))) and hi < 1
    assert lo == float(numpy.float32(1e-8))
    assert K.eps_bounds(1e-8, numpy.float64) == (1e-8, 1 - 1e-8)
    lo16, hi16 = K.eps_bounds(1e-3, numpy.float16)
    assert hi16 == float(numpy.float16(1 - 1e-3)) and lo16 == float(numpy.float16(1e-3))
    assert K.eps_bounds(1e-50, numpy.float32)[0] == float(numpy.nextafter(numpy.float32(0), 1))
    for bad in (0, -1e-3, 0.5, 2):
        with pytest.raises(ValueError):
            K.eps_bounds(bad, numpy.float32)


# --- the definition ---------------------------------------------------------------------------
def test_kernel_definition_checks_itself():
    with pytest.raises(ValueError):
        Kernel("k", ("x", "x"), ("y",), "y = x;", lambda y, x: None)
    with pytest.raises(ValueError):
        Kernel("k", ("x",), ("y",), "y = x;", lambda y, x: None, optional=frozenset({"z"}))
    two = Kernel("k", ("x",), ("y", "z"), "", lambda y, z, x: None, reducible=True)
    assert two.stored(True) == ("z",) and two.stored(False) == ("y", "z")
    assert K.BCE_LOGITS.variants() == [(), ("pw",), ("w",), ("w", "pw")]


def test_a_new_kernel_is_one_definition():
    """Defined once, it runs on the CPU and yields a CUDA source, with no other edits."""
    double = Kernel(
        name="double_plus",
        inputs=("x", "b"),
        optional=frozenset({"b"}),
        params=("k",),
        outputs=("y",),
        cuda="y = x * k; if (HAS_b) y += b;",
        numpy=lambda y, x, b, k: (numpy.multiply(x, k, out=y), b is None or y.__iadd__(b)),
        reducible=True,
    )
    x = numpy.arange(4, dtype=numpy.float32)
    assert numpy_exec.run(double, (x, None), (2.0,))[0][0].tolist() == [0, 2, 4, 6]
    assert numpy_exec.run(double, (x, x), (2.0,), reduce=True)[0][0] == 18
    src = cuda_source.source(double, "float32")
    assert "gg_double_plus_f32_b_sum" in src and "y = x * k; if (HAS_b) y += b;" in src


# --- the CUDA bodies, run on the host ---------------------------------------------------------
_CXX = shutil.which("g++") or shutil.which("c++")


@pytest.fixture(scope="module")
def host_library(tmp_path_factory):
    """Every elementwise variant's CUDA per-element code, compiled for the host."""
    if _CXX is None:
        pytest.skip("no C++ compiler (g++) on this machine")
    directory = tmp_path_factory.mktemp("host_kernels")
    procs = {}
    for dtype in ("float32", "float64"):
        src = directory / f"kernels_{dtype}.cpp"
        src.write_text(cuda_source.host_source(K.KERNELS, dtype))
        lib = directory / f"kernels_{dtype}.so"
        procs[dtype] = (lib, subprocess.Popen([_CXX, "-O2", "-shared", "-fPIC", "-o", lib, src]))
    libraries = {}
    for dtype, (lib, proc) in procs.items():
        assert proc.wait() == 0
        libraries[dtype] = ctypes.CDLL(str(lib))
    return libraries


def _run_host(library, kernel, dtype, present, inputs, params):
    fn = getattr(library, cuda_source.function_name(kernel, dtype, present, False))
    n = len(next(iter(inputs.values())))
    scalar = ctypes.c_float if dtype == "float32" else ctypes.c_double
    args = []
    for name in kernel.inputs:
        if name in kernel.optional and name not in present:
            continue
        args += [inputs[name].ctypes.data_as(ctypes.c_void_p), ctypes.c_longlong(1)]
    args += [scalar(v) for v in params.values()]
    outs = [numpy.empty(n, dtype) for _ in kernel.outputs]
    args += [o.ctypes.data_as(ctypes.c_void_p) for o in outs]
    fn(*args, ctypes.c_longlong(n))
    return outs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kernel", K.KERNELS, ids=lambda k: k.name)
def test_cuda_body_on_the_host_matches_the_numpy_body(host_library, kernel, dtype):
    np_dtype = numpy.dtype(dtype).type
    inputs, params, _ = _case(kernel, np_dtype, 2000, seed=5)
    inputs = {k: numpy.ascontiguousarray(v) for k, v in inputs.items()}
    for present in kernel.variants():
        host = _run_host(host_library[dtype], kernel, dtype, present, inputs, params)
        args = [
            inputs[name] if name in present or name not in kernel.optional else None
            for name in kernel.inputs
        ]
        numpy_outs, _ = numpy_exec.run(kernel, args, tuple(params.values()))
        tol = 2e-5 if dtype == "float32" else 1e-12
        for got, want in zip(host, numpy_outs, strict=True):
            numpy.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def test_float32_subnormal_probabilities_keep_their_log(host_library):
    """BCE takes the log of p = 1e-40 as -92.1, as NumPy and PyTorch do (-inf where the
    kernel is compiled with -ftz=true, as cupy.RawModule compiles: cupy_exec compiles
    without it). The GPU test checks the same on the device."""
    p = numpy.array([1e-40, 3e-39, 1e-45, 0.25], numpy.float32)
    ones = numpy.ones_like(p)
    for kernel, inputs, params in (
        (K.BCE, {"p": p, "t": ones}, {}),
        (K.BCE_TARGET_BACKWARD, {"g": ones, "p": p}, {"lo": 0.0, "hi": 1.0, "divisor": 1.0}),
    ):
        (host,) = _run_host(host_library["float32"], kernel, "float32", (), inputs, params)
        args = [inputs.get(name) for name in kernel.inputs]
        (expected,), _ = numpy_exec.run(kernel, args, tuple(params.values()))
        assert abs(float(expected[0]) - 92.1034) < 1e-3, kernel.name  # NumPy keeps subnormals
        numpy.testing.assert_allclose(host, expected, rtol=1e-6)


# --- the native CPU executor --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64], ids=lambda d: d.__name__)
def test_native_results_do_not_depend_on_where_an_element_sits(native, dtype):
    """The remainder of every call runs through the same vector code as the rest (padded),
    so an element's bits do not depend on the array's length or offset."""
    rng = numpy.random.default_rng(11)
    x = (rng.standard_normal(300) * 6).astype(dtype)
    t = rng.random(300).astype(dtype)
    (whole,), _ = native.run(K.SIGMOID, (x,))
    loss, grad = native.run(K.BCE_LOGITS_WITH_GRAD, (x, t, None, None), (3.0,))[0]
    for start in range(0, 40, 3):
        for length in (1, 5, 16, 31, 100):
            part = slice(start, start + length)
            (y,), _ = native.run(K.SIGMOID, (x[part],))
            numpy.testing.assert_array_equal(y, whole[part])
            (lp, gp), _ = native.run(K.BCE_LOGITS_WITH_GRAD, (x[part], t[part], None, None), (3.0,))
            numpy.testing.assert_array_equal(lp, loss[part])
            numpy.testing.assert_array_equal(gp, grad[part])
            (total, gs), _ = native.run(
                K.BCE_LOGITS_WITH_GRAD, (x[part], t[part], None, None), (3.0,), reduce=True
            )
            numpy.testing.assert_array_equal(gs, grad[part])  # the padding is not summed
            assert float(total) == pytest.approx(math.fsum(loss[part].astype(float)), rel=1e-6)


def test_native_float16_runs_the_numpy_kernel(native):
    x = numpy.linspace(-9, 9, 1001).astype(numpy.float16)
    for kernel, inputs in ((K.SIGMOID, (x,)), (K.GELU, (x,))):
        (got,), _ = native.run(kernel, inputs)
        (want,), _ = numpy_exec.run(kernel, inputs)
        assert got.dtype == numpy.float16
        numpy.testing.assert_array_equal(got, want)


def test_native_keeps_the_log_of_subnormal_probabilities(native):
    p = numpy.array([1e-40, 3e-39, 1e-45, 0.25], numpy.float32)
    (loss,), bad = native.run(K.BCE, (p, numpy.ones_like(p), None))
    (expected,), _ = numpy_exec.run(K.BCE, (p, numpy.ones_like(p), None))
    assert not bad and abs(float(loss[0]) - 92.1034) < 1e-3
    numpy.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_native_flags_a_bad_element_in_any_block(native):
    n = 3 * numpy_exec.BLOCK + 5
    p = numpy.full(n, 0.5, numpy.float32)
    t = numpy.full(n, 0.5, numpy.float32)
    for where in (0, numpy_exec.BLOCK + 7, n - 1):
        for bad_value in (1.0000001, -1e-30, numpy.nan):
            q = p.copy()
            q[where] = bad_value
            assert native.run(K.BCE, (q, t, None), reduce=True, divisor=n)[1]
    assert not native.run(K.BCE, (p, t, None), reduce=True, divisor=n)[1]


def test_native_build_is_cached_and_rebuilt_for_a_changed_source(native, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(tmp_path))
    built = native._built("float64")
    assert built.parent == tmp_path and built.exists()
    stamp = built.stat().st_mtime_ns
    assert native._built("float64") == built and built.stat().st_mtime_ns == stamp
    monkeypatch.setattr(native, "FLAGS", (*native.FLAGS, "-DGG_CHANGED"))
    assert native._built("float64") != built


@pytest.mark.parametrize(
    "cxx, message", [("/nonexistent/c++", "cannot run"), ("false", "the build failed")]
)
def test_native_build_failure_names_the_problem(tmp_path, monkeypatch, cxx, message):
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", cxx)
    monkeypatch.setattr(native_exec, "_libraries", {})
    with pytest.raises(backends.NativeBuildError, match=message):
        native_exec.build("float32")


def test_an_unusable_cache_directory_is_a_build_error(native, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(native_exec, "_libraries", {})
    with pytest.raises(native_exec.NativeBuildError, match="a-file"):
        native_exec.build("float32")


def test_cpu_kernels_are_chosen_by_name(native):
    import gpugrad as gg

    assert gg.get_cpu_kernels() in ("auto", "numpy", "native")
    before = gg.get_cpu_kernels()
    try:
        gg.set_cpu_kernels("native")
        assert gg.get_cpu_kernels() == "native" and CPU.kernels is native_exec
        p = gg.tensor([0.2, 1.5])
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            gg.nn.functional.binary_cross_entropy(p, gg.tensor([0.0, 1.0]))
        gg.set_cpu_kernels("numpy")
        assert gg.get_cpu_kernels() == "numpy" and CPU.kernels is numpy_exec
        with pytest.raises(ValueError, match="one of"):
            gg.set_cpu_kernels("fast")
    finally:
        gg.set_cpu_kernels(before)


def test_switching_to_built_native_kernels_starts_no_build(native, monkeypatch):
    """Once built and loaded, choosing the native kernels is an attribute change (the
    benchmark switches around every call)."""
    native.build_all()

    def no_threads(*args, **kwargs):
        raise AssertionError("a build pool was started")

    monkeypatch.setattr(native, "ThreadPoolExecutor", no_threads)
    before = backends.get_cpu_kernels()
    try:
        backends.set_cpu_kernels("native")
    finally:
        backends.set_cpu_kernels(before)


def test_the_environment_choice_is_the_one_in_use():
    """Under ``GPUGRAD_CPU_KERNELS=native`` (CI's second run of the suite) the native
    kernels are the ones running, not a silent fallback."""
    wanted = os.environ.get("GPUGRAD_CPU_KERNELS", "auto")
    if wanted == "auto":  # the default: native once a fused kernel ran, where they build
        chosen = CPU.kernels.resolve() if CPU.kernels_name() == "auto" else CPU.kernels
        try:
            native_exec.build_all()
        except native_exec.NativeBuildError:
            assert chosen is numpy_exec
        else:
            assert chosen is native_exec
        return
    assert CPU.kernels is {"numpy": numpy_exec, "native": native_exec}[wanted]


def test_environment_variable_falls_back_to_numpy_with_a_warning(tmp_path):
    env = {
        **os.environ,
        "GPUGRAD_CPU_KERNELS": "native",
        "CXX": "/nonexistent/c++",
        "GPUGRAD_CACHE_DIR": str(tmp_path),
    }
    code = "import gpugrad as gg; print(gg.get_cpu_kernels())"
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "numpy"
    assert "GPUGRAD_CPU_KERNELS=native" in done.stderr and "cannot run" in done.stderr


# --- the CuPy launcher, against the generated signatures (no GPU needed) ----------------------
def _signature(src: str, name: str) -> list[str]:
    match = re.search(rf'extern "C" __global__ void {name}\((.*?)\)\s*{{', src, re.S)
    assert match, name
    kinds = []
    for param in match.group(1).split(","):
        param = param.replace("__restrict__", "").strip()
        head = param.rsplit(" ", 1)[0].replace("const ", "const ", 1).strip()
        if "*" in head:
            kinds.append("array")
        elif "long long" in head:
            kinds.append("int64")
        elif head.endswith("double"):
            kinds.append("double")
        elif head.endswith("acc_t"):
            kinds.append("acc")
        else:
            raise AssertionError(param)
    return kinds


class _FakeCupy:
    """NumPy posing as CuPy: records what the launcher compiles and passes."""

    float64, uint32 = numpy.float64, numpy.uint32
    ndarray = numpy.ndarray

    def __init__(self):
        self.launches = []
        fake = self

        def compile_using_nvrtc(code, options=()):
            assert options == cupy_exec.OPTIONS  # nothing appended: no -ftz=true
            return code.encode(), None  # CuPy 13: (binary, lowered names)

        class Module:
            def load(self, binary):
                self.code = binary.decode()

            def get_function(self, name):
                def launch(grid, block, args):
                    fake.launches.append((self.code, name, grid, block, args))

                return launch

        class Device:
            def __init__(self, index=0):
                self.id = index
                self.attributes = {"MultiProcessorCount": 132}

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        self.cuda = SimpleNamespace(
            Device=Device,
            get_current_stream=lambda: SimpleNamespace(ptr=0),
            compiler=SimpleNamespace(compile_using_nvrtc=compile_using_nvrtc),
            function=SimpleNamespace(Module=Module),
        )
        self.device = Device(0)

    def __getattr__(self, name):
        return getattr(numpy, name)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    ("kernel", "reduce"),
    [(k, r) for k in K.KERNELS for r in (False, True) if k.reducible or not r],
    ids=lambda v: v.name if hasattr(v, "name") else ("reduced" if v else "elementwise"),
)
def test_cupy_launcher_passes_what_the_source_declares(kernel, dtype, reduce):
    from gpugrad.backends.kernels.cupy_exec import CupyKernels

    fake = _FakeCupy()
    launcher = CupyKernels(fake, fake.device)
    inputs, params, _ = _case(kernel, numpy.dtype(dtype).type, 10)
    for present in kernel.variants():
        args = [
            None
            if name in kernel.optional and name not in present
            else (inputs[name][:1] if name == "g" else inputs[name])
            for name in kernel.inputs
        ]
        launcher.run(kernel, args, tuple(params.values()), reduce=reduce, divisor=10.0)
        code, name, grid, block, passed = fake.launches[-1]
        assert code == cuda_source.source(kernel, dtype)  # the gate's text, exactly
        assert name == cuda_source.function_name(kernel, dtype, present, reduce)
        assert block == (cuda_source.BLOCK_THREADS,) and grid == (1,)
        kinds = _signature(code, name)
        assert len(passed) == len(kinds), (name, kinds, passed)
        acc = numpy.float64 if dtype == "float64" else numpy.float32
        for kind, value in zip(kinds, passed):
            if kind == "array":
                assert isinstance(value, numpy.ndarray) and value.flags.c_contiguous
            elif kind == "int64":
                assert type(value) is numpy.int64
            elif kind == "double":
                assert type(value) is numpy.float64
            else:
                assert type(value) is acc, (name, value)
        steps = [v for k, v in zip(kinds, passed) if k == "int64"][:-1]
        broadcast = [name == "g" for name in kernel.inputs if name in args_present(kernel, present)]
        assert steps == [0 if b else 1 for b in broadcast]  # g: one element, broadcast
        assert passed[-1] == 10  # n


def args_present(kernel, present):
    return [name for name in kernel.inputs if name not in kernel.optional or name in present]


# --- on a GPU: every CUDA kernel against the NumPy one ----------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kernel", K.KERNELS, ids=lambda k: k.name)
def test_cuda_kernel_matches_numpy_kernel(kernel, dtype):
    gpu = backends.get("cuda")
    for n in (1, 1000, 300_001):
        inputs, params, _ = _case(kernel, dtype, n, seed=7)
        for present in kernel.variants():
            args = [
                inputs[name] if name in present or name not in kernel.optional else None
                for name in kernel.inputs
            ]
            expected, _ = CPU.run_kernel(kernel, args, tuple(params.values()))
            device_args = [None if a is None else gpu.asarray(a) for a in args]
            got, _ = gpu.run_kernel(kernel, device_args, tuple(params.values()))
            tol = TOLERANCE[dtype] * (10 if dtype is not numpy.float16 else 1)
            tol *= SCALE.get(kernel.name, 1.0) if dtype is numpy.float16 else 1
            for g, e in zip(got, expected, strict=True):
                assert g.dtype == dtype and g.shape == e.shape
                numpy.testing.assert_allclose(gpu.to_host(g), e, rtol=tol, atol=tol, equal_nan=True)
            if kernel.reducible:
                for divisor in (1.0, float(n)):
                    (e, *e_stored), _ = CPU.run_kernel(
                        kernel, args, tuple(params.values()), reduce=True, divisor=divisor
                    )
                    (g, *g_stored), _ = gpu.run_kernel(
                        kernel, device_args, tuple(params.values()), reduce=True, divisor=divisor
                    )
                    assert float(g) == pytest.approx(float(e), rel=max(tol, 1e-6), abs=tol)
                    for gs, es in zip(g_stored, e_stored, strict=True):
                        numpy.testing.assert_allclose(
                            gpu.to_host(gs), es, rtol=tol, atol=tol, equal_nan=True
                        )


@pytest.mark.gpu
def test_cuda_sigmoid_matches_cpu_and_broadcast_gradients():
    gpu = backends.get("cuda")
    x = numpy.random.default_rng(8).standard_normal(100_000).astype(numpy.float32) * 50
    y = gpu.sigmoid(gpu.asarray(x))
    numpy.testing.assert_allclose(gpu.to_host(y), CPU.sigmoid(x), rtol=1e-6, atol=1e-7)
    g = gpu.asarray(numpy.float32(0.5))
    numpy.testing.assert_allclose(
        gpu.to_host(gpu.sigmoid_backward(g, y)),
        CPU.sigmoid_backward(numpy.float32(0.5), gpu.to_host(y)),
        rtol=1e-6,
        atol=1e-9,
    )
