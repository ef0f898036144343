"""Layer norm's kernels: forward and its closed-form backward over rows of ``size``.

An input is read as ``(rows, size)`` (``size`` the product of the normalized dims); the
statistics are per row. ``weight`` and ``bias`` (``size`` values, or ``None``) are per
column.

- ``forward(x, w, b, size, eps) -> (out, mean, invstd)``, the statistics ``(rows, 1)`` in
  ``x``'s dtype: ``out = (x - mean) * invstd * w + b``.
- ``backward(g, x, w, mean, invstd) -> (dx, dw, db)``: with ``x̂ = (x - mean) * invstd``
  and ``gw = g * w``, ``dx = invstd * (gw - mean(gw) - x̂ mean(gw x̂))`` per row,
  ``dw = sum_rows g x̂`` and ``db = sum_rows g``.

Two bodies, chosen where the elementwise kernels' executor is (as ``batch_norm``'s):

- ``ArrayBody``: array-module calls (NumPy, CuPy) on the whole array.
- ``NATIVE``: C++ built like the fused programs (``native_rows``): each row is read while
  it is in the L1 cache (its sums in double, the centred variance, then the output), so
  forward and backward are each one pass over memory where the array body makes about
  eight; the column sums of the backward come back per block of rows in double and are
  added in block order (a result does not depend on the thread count). float32 and
  float64; float16 takes the array body.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy

from .native_rows import NativeLibrary, each_row_block, row_blocks

__all__ = ["NATIVE", "NUMPY", "SOURCE", "ArrayBody", "body_for"]


class ArrayBody:
    """The kernels as array-module calls (NumPy on the CPU, CuPy on CUDA)."""

    name = "array"

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, x: Any, w: Any, b: Any, size: int, eps: float) -> tuple:
        """``(out, mean, invstd)`` (module docs)."""
        xp = self.xp
        rows = x.reshape(-1, size)
        mean = rows.mean(1, keepdims=True)
        centered = rows - mean
        invstd = 1 / xp.sqrt(xp.square(centered).mean(1, keepdims=True) + eps)
        out = xp.multiply(centered, invstd, out=centered)
        if w is not None:
            out *= w.reshape(-1)
        if b is not None:
            out += b.reshape(-1)
        return out.reshape(x.shape), mean, invstd

    def backward(self, g: Any, x: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        """``(dx, dw, db)`` (module docs)."""
        size = mean.size and x.size // mean.size
        g2 = g.reshape(-1, size)
        normalized = (x.reshape(-1, size) - mean) * invstd
        d_weight = (g2 * normalized).sum(0)
        d_bias = g2.sum(0)
        gn = g2 if w is None else g2 * w.reshape(-1)
        d_input = gn - gn.mean(1, keepdims=True)
        normalized *= (gn * normalized).mean(1, keepdims=True)
        d_input -= normalized
        d_input *= invstd
        if w is not None:
            d_weight, d_bias = d_weight.reshape(w.shape), d_bias.reshape(w.shape)
        return d_input.reshape(x.shape), d_weight, d_bias


SOURCE = r"""
// gpugrad layer norm for the CPU (backends/kernels/layer_norm.py). x is (rows, n),
// contiguous; each call covers the rows [r0, r1). w and b may be null.
typedef long long i64;

template <typename T>
static void forward(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                    i64 n, i64 r0, i64 r1, double eps, T* __restrict__ out,
                    T* __restrict__ mean, T* __restrict__ invstd) {
    for (i64 r = r0; r < r1; ++r) {
        const T* p = x + r * n;
        T* q = out + r * n;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (i64 j = 0; j < n; ++j) s += (double)p[j];
        const double m = s / (double)n;
        double v = 0.0;
#pragma omp simd reduction(+ : v)
        for (i64 j = 0; j < n; ++j) {
            const double d = (double)p[j] - m;
            v += d * d;
        }
        const double k = 1.0 / __builtin_sqrt(v / (double)n + eps);
        const T mt = (T)m, kt = (T)k;
        mean[r] = mt;
        invstd[r] = kt;
        if (w && b) {
#pragma omp simd
            for (i64 j = 0; j < n; ++j) q[j] = (p[j] - mt) * kt * w[j] + b[j];
        } else if (w) {
#pragma omp simd
            for (i64 j = 0; j < n; ++j) q[j] = (p[j] - mt) * kt * w[j];
        } else if (b) {
#pragma omp simd
            for (i64 j = 0; j < n; ++j) q[j] = (p[j] - mt) * kt + b[j];
        } else {
#pragma omp simd
            for (i64 j = 0; j < n; ++j) q[j] = (p[j] - mt) * kt;
        }
    }
}

template <typename T>
static void backward(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ w,
                     const T* __restrict__ mean, const T* __restrict__ invstd, i64 n, i64 r0,
                     i64 r1, T* __restrict__ dx, double* __restrict__ cols) {
    // cols[j] = sum over the rows of g x̂ (d weight), cols[n + j] = of g (d bias)
    for (i64 j = 0; j < 2 * n; ++j) cols[j] = 0.0;
    for (i64 r = r0; r < r1; ++r) {
        const T* gp = g + r * n;
        const T* p = x + r * n;
        T* q = dx + r * n;
        const T m = mean[r], k = invstd[r];
        double a = 0.0, c = 0.0;
#pragma omp simd reduction(+ : a, c)
        for (i64 j = 0; j < n; ++j) {
            const T xhat = (p[j] - m) * k;
            const T gw = w ? gp[j] * w[j] : gp[j];
            cols[j] += (double)(gp[j] * xhat);
            cols[n + j] += (double)gp[j];
            a += (double)gw;
            c += (double)gw * (double)xhat;
        }
        const T ma = (T)(a / (double)n), mc = (T)(c / (double)n);
#pragma omp simd
        for (i64 j = 0; j < n; ++j) {
            const T xhat = (p[j] - m) * k;
            const T gw = w ? gp[j] * w[j] : gp[j];
            q[j] = (gw - ma - xhat * mc) * k;
        }
    }
}

#define GG_LN(T, SUFFIX)                                                                    \
    extern "C" void gg_ln_forward_##SUFFIX(const T* x, const T* w, const T* b, i64 n,        \
                                           i64 r0, i64 r1, double eps, T* out, T* mean,      \
                                           T* invstd) {                                      \
        forward<T>(x, w, b, n, r0, r1, eps, out, mean, invstd);                              \
    }                                                                                        \
    extern "C" void gg_ln_backward_##SUFFIX(const T* g, const T* x, const T* w,              \
                                            const T* mean, const T* invstd, i64 n, i64 r0,   \
                                            i64 r1, T* dx, double* cols) {                   \
        backward<T>(g, x, w, mean, invstd, n, r0, r1, dx, cols);                             \
    }

GG_LN(float, f32)
GG_LN(double, f64)
"""

_P = ctypes.c_void_p
_I = ctypes.c_longlong
_SIGNATURES = {
    "forward": lambda real: (_P, _P, _P, _I, _I, _I, ctypes.c_double, _P, _P, _P),
    "backward": lambda real: (_P, _P, _P, _P, _P, _I, _I, _I, _P, _P),
}


def _address(a: Any) -> int | None:
    return None if a is None else a.ctypes.data


class NativeBody:
    """The C++ body (``SOURCE``), built on first use; the NumPy array body for other
    dtypes, for a weight or bias of another dtype, and (with one ``RuntimeWarning``) where
    the build fails."""

    name = "native"

    def __init__(self) -> None:
        self.fallback = ArrayBody(numpy)
        self.library = NativeLibrary(SOURCE, "gg_ln_", _SIGNATURES, "layer-norm")

    def _affine(self, x: Any, w: Any, b: Any) -> list[Any] | None:
        """``w`` and ``b`` flat and contiguous, or ``None`` if one has another dtype."""
        out = []
        for v in (w, b):
            if v is not None:
                if v.dtype != x.dtype:
                    return None
                v = numpy.ascontiguousarray(v.reshape(-1))
            out.append(v)
        return out

    def forward(self, x: Any, w: Any, b: Any, size: int, eps: float) -> tuple:
        """As :meth:`ArrayBody.forward`, one native pass per row."""
        x2 = numpy.ascontiguousarray(x.reshape(-1, size)) if size else x
        native = self.library.find(x2)
        affine = self._affine(x, w, b)
        if native is None or affine is None:
            return self.fallback.forward(x, w, b, size, eps)
        functions, suffix = native
        fn = functions["forward_" + suffix]
        rows = x2.shape[0]
        out = numpy.empty(x2.shape, x2.dtype)
        mean = numpy.empty((rows, 1), x2.dtype)
        invstd = numpy.empty((rows, 1), x2.dtype)
        w_at, b_at = (_address(v) for v in affine)
        x_at, out_at, mean_at, invstd_at = (a.ctypes.data for a in (x2, out, mean, invstd))
        each_row_block(
            rows,
            size,
            lambda k, r0, r1: fn(x_at, w_at, b_at, size, r0, r1, eps, out_at, mean_at, invstd_at),
        )
        return out.reshape(x.shape), mean, invstd

    def backward(self, g: Any, x: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        """As :meth:`ArrayBody.backward`, one native pass per row."""
        size = mean.size and x.size // mean.size
        if not size or g.dtype != x.dtype:
            return self.fallback.backward(g, x, w, mean, invstd)
        g2 = numpy.ascontiguousarray(g.reshape(-1, size))
        x2 = numpy.ascontiguousarray(x.reshape(-1, size))
        stats = [numpy.ascontiguousarray(s, x.dtype) for s in (mean, invstd)]
        native = self.library.find(g2, x2, *stats)
        affine = self._affine(x, w, None)
        if native is None or affine is None:
            return self.fallback.backward(g, x, w, mean, invstd)
        functions, suffix = native
        fn = functions["backward_" + suffix]
        rows = x2.shape[0]
        blocks = row_blocks(rows, size)
        cols = numpy.empty((len(blocks), 2 * size), numpy.float64)
        dx = numpy.empty(x2.shape, x2.dtype)
        g_at, x_at, dx_at = g2.ctypes.data, x2.ctypes.data, dx.ctypes.data
        w_at = _address(affine[0])
        mean_at, invstd_at = (s.ctypes.data for s in stats)
        cols_at, cols_row = cols.ctypes.data, cols.strides[0]
        each_row_block(
            rows,
            size,
            lambda k, r0, r1: fn(
                g_at, x_at, w_at, mean_at, invstd_at, size, r0, r1, dx_at, cols_at + k * cols_row
            ),
        )
        total = cols.sum(0).astype(x2.dtype)
        d_weight, d_bias = total[:size], total[size:]
        if w is not None:
            d_weight, d_bias = d_weight.reshape(w.shape), d_bias.reshape(w.shape)
        return dx.reshape(x.shape), d_weight, d_bias


NATIVE = NativeBody()
NUMPY = NATIVE.fallback


def body_for(executor: Any, xp: Any) -> Any:
    """The body that goes with a backend's elementwise kernel executor: ``NATIVE`` with
    ``native_exec``, the array body otherwise."""
    from . import native_exec

    resolve = getattr(executor, "resolve", None)
    if resolve is not None:
        executor = resolve()
    if executor is native_exec:
        return NATIVE
    return NUMPY if xp is numpy else ArrayBody(xp)
