"""Batch norm's fused kernels: training forward, its closed-form backward, and inference.

An input ``(N, C, *spatial)`` is read as ``(N, C, S)`` (``S`` the spatial size, 1 for
``(N, C)``); the statistics are per channel, over ``N * S`` elements. Each body makes the
fewest passes over memory it can:

- forward (training): the channel sums and the centred sums of squares (two passes: the
  variance of ``x - mean``, as PyTorch's CPU kernel computes it, never ``E[x²] - mean²`` in
  the data's precision; the native body's float32 takes one pass of double sums shifted by
  one of the channel's values), then ``out = (x - mean) * invstd * weight + bias`` in one
  pass. It returns ``(out, mean,
  biased var, invstd)``; backward reads ``mean`` and ``invstd``.
- backward: ``sum(g)`` and ``sum(g * (x - mean))`` per channel in one pass, then
  ``dx = g * a + (x - mean) * b + c`` (per-channel ``a b c``) in one pass; ``(dx, dweight,
  dbias)``.
- inference: ``(x - running_mean) * scale + bias`` in one pass.

Three bodies, each selected where the elementwise kernels' executor is (``Body``):

- ``NUMPY``: NumPy on the whole array for the sums and on cache-sized slices of whole
  samples for the rest (a centred slice is squared and summed while it is in cache; no
  array-sized temporary besides the output). Sums run pairwise in the array's dtype within a
  sample's ``S`` elements and are added across samples in float64.
- ``NATIVE``: C++ (``SOURCE``) built like the fused programs (``fusion_c.build``: the native
  kernels' compiler, flags and cache). The rows are cut into fixed blocks of whole samples;
  each block's per-channel sums come back in double and are added in block order, so a
  result does not depend on the thread count; the blocks run on ``numpy_exec``'s threads
  (``ctypes`` releases the GIL). float32 and float64; float16 takes ``NUMPY``.
- CUDA (``CUDA_SOURCE``, run by ``CudaBody`` on CuPy arrays): one thread block per channel
  for the sums (double accumulators, a shared-memory tree), a grid-stride loop for the
  elementwise passes. float32 and float64; float16 takes the array body on CuPy.

The CPU bodies' outputs are fresh arrays (``numpy.empty``), not ``numpy_exec``'s output
cache: taking batch norm's 4 MB output from the cache left glibc's heap to page-fault for
the next layers' arrays (max pooling took 3x longer in the conv block).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy

from . import native_rows, numpy_exec

__all__ = [
    "CUDA_SOURCE",
    "NATIVE",
    "NUMPY",
    "SOURCE",
    "ArrayBody",
    "Body",
    "CudaBody",
    "body_for",
]

SLICE = 1 << 18
"""Elements per slice of the NumPy body (1 MiB of float32: its scratch stays in cache; of
2^14 ... 2^22, the fastest here at (64, 16, 32, 32), fewer ufunc calls than smaller ones)."""
SMALL = 1 << 14
"""Inputs of at most this many elements take whole-array NumPy operations on either CPU
body (measured here: at (64, 128) the native body's calls and the slices cost more than
the passes they save; at (32, 16, 8, 8) the native body is 1.6x faster)."""


def _as_rows(x: Any) -> Any:
    """``x`` as ``(N, C, S)``."""
    return x.reshape(x.shape[0], x.shape[1], -1)


class Body:
    """The interface every body satisfies (arrays of one backend; ``w``/``b`` may be None).

    ``forward(x, w, b, eps) -> (out, mean, var, invstd)``;
    ``backward(g, x, w, mean, invstd) -> (dx, dw, db)``;
    ``inference(x, mean, var, w, b, eps) -> out``."""

    name = ""


# --- the array body (NumPy, or CuPy where CUDA has no kernel for the dtype) -------------
class ArrayBody(Body):
    """The bodies as array-module calls: on NumPy arrays, the ``NUMPY`` body."""

    name = "numpy"

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def _compute(self, dtype: Any) -> Any:
        """float16 is computed in float32 (PyTorch's ``opmath``)."""
        return self.xp.float32 if dtype == self.xp.float16 else dtype

    def _channel_sum(self, x3: Any) -> Any:
        """Per-channel sums of ``(N, C, S)`` as float64 ``(C,)``: pairwise within each row of
        ``S`` elements, then the ``N`` row sums added in float64."""
        xp = self.xp
        if x3.shape[2] == 1:
            return x3[:, :, 0].sum(0, dtype=xp.float64)
        return x3.sum(2).sum(0, dtype=xp.float64)

    def _slices(self, n: int, per_sample: int) -> list[slice]:
        step = max(1, SLICE // max(1, per_sample))
        return [slice(i, min(i + step, n)) for i in range(0, n, step)]

    def _small_forward(self, x3: Any, w: Any, b: Any, eps: float) -> tuple:
        """The forward of a small input: whole-array operations in its dtype (fewer calls;
        the slices and float64 sums of the large path cost more than they save here)."""
        xp = self.xp
        n, c, s = x3.shape
        mean = x3.sum((0, 2)) / (n * s)
        centred = x3 - mean[:, None]
        var = xp.square(centred).sum((0, 2)) / (n * s)
        invstd = 1 / xp.sqrt(var + eps)
        scale = invstd if w is None else invstd * w.reshape(c)
        out = xp.multiply(centred, scale[:, None], out=centred)
        if b is not None:
            out += b.reshape(c)[:, None]
        return out, mean, var, invstd

    def _small_backward(self, g3: Any, x3: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        """The backward of a small input, as :meth:`_small_forward`."""
        n, c, s = x3.shape
        count = n * s
        normalized = (x3 - mean[:, None]) * invstd[:, None]
        d_bias = g3.sum((0, 2))
        d_weight = (g3 * normalized).sum((0, 2))
        scale = invstd if w is None else invstd * w.reshape(c)
        normalized *= (d_weight / count)[:, None]
        d_input = g3 - (d_bias / count)[:, None]
        d_input -= normalized
        d_input *= scale[:, None]
        return d_input, d_weight, d_bias

    def forward(self, x: Any, w: Any, b: Any, eps: float) -> tuple:
        xp = self.xp
        x3 = _as_rows(x)
        n, c, s = x3.shape
        dtype = x.dtype
        compute = self._compute(dtype)
        if x.size <= SMALL and compute == dtype:
            out, mean, var, invstd = self._small_forward(x3, w, b, eps)
            return out.reshape(x.shape), mean, var, invstd
        if compute != dtype:
            x3 = x3.astype(compute)
        count = n * s
        mean64 = self._channel_sum(x3) / count
        mean = mean64.astype(compute)[:, None]
        out = xp.empty(x3.shape, compute)
        square = xp.empty((min(n, max(1, SLICE // max(1, c * s))), c, s), compute)
        squares = xp.zeros(c, xp.float64)
        for rows in self._slices(n, c * s):
            part = out[rows]
            xp.subtract(x3[rows], mean, out=part)
            sq = square[: part.shape[0]]
            xp.multiply(part, part, out=sq)
            squares += self._channel_sum(sq)
        var64 = squares / count
        invstd64 = 1 / xp.sqrt(var64 + eps)
        invstd = invstd64.astype(compute)
        scale = (invstd if w is None else invstd * w.astype(compute))[:, None]
        for rows in self._slices(n, c * s):
            part = out[rows]
            part *= scale
            if b is not None:
                part += b.astype(compute)[:, None]
        out = out.reshape(x.shape)
        if compute != dtype:
            out = out.astype(dtype)
        return out, mean64.astype(dtype), var64.astype(dtype), invstd.astype(dtype)

    def backward(self, g: Any, x: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        xp = self.xp
        g3, x3 = _as_rows(g), _as_rows(x)
        n, c, s = x3.shape
        dtype = g.dtype
        compute = self._compute(dtype)
        if x.size <= SMALL and compute == dtype and x.dtype == dtype:
            d_input, d_weight, d_bias = self._small_backward(g3, x3, w, mean, invstd)
            return d_input.reshape(x.shape), d_weight, d_bias
        if compute != dtype:
            g3, x3 = g3.astype(compute), x3.astype(compute)
        m = mean.astype(compute)[:, None]
        count = n * s
        sum_g = self._channel_sum(g3)
        sum_gx = xp.zeros(c, xp.float64)
        centred = xp.empty((min(n, max(1, SLICE // max(1, c * s))), c, s), compute)
        for rows in self._slices(n, c * s):
            part = centred[: rows.stop - rows.start]
            xp.subtract(x3[rows], m, out=part)
            part *= g3[rows]
            sum_gx += self._channel_sum(part)
        invstd64 = invstd.astype(xp.float64)
        scale64 = invstd64 if w is None else invstd64 * w.astype(xp.float64)
        d_bias = sum_g
        d_weight = sum_gx * invstd64
        # dx = scale * (g - sum_g / count - x̂ * sum(g x̂) / count), x̂ = (x - mean) * invstd
        a = scale64.astype(compute)[:, None]
        k = (-scale64 * invstd64 * d_weight / count).astype(compute)[:, None]
        shift = (-scale64 * sum_g / count).astype(compute)[:, None]
        d_input = xp.empty(x3.shape, compute)
        for rows in self._slices(n, c * s):
            part = d_input[rows]
            cen = centred[: part.shape[0]]
            xp.subtract(x3[rows], m, out=cen)
            cen *= k
            xp.multiply(g3[rows], a, out=part)
            part += cen
            part += shift
        d_input = d_input.reshape(x.shape)
        if compute != dtype:
            d_input = d_input.astype(dtype)
        return d_input, d_weight.astype(dtype), d_bias.astype(dtype)

    def inference(self, x: Any, mean: Any, var: Any, w: Any, b: Any, eps: float) -> Any:
        xp = self.xp
        x3 = _as_rows(x)
        n, c, s = x3.shape
        dtype = x.dtype
        compute = self._compute(dtype)
        scale = 1 / xp.sqrt(var.astype(compute) + eps)
        if w is not None:
            scale = scale * w.astype(compute)
        out = xp.empty(x3.shape, compute)
        xp.subtract(x3, mean.astype(compute)[:, None], out=out)
        out *= scale[:, None]
        if b is not None:
            out += b.astype(compute)[:, None]
        out = out.reshape(x.shape)
        return out if compute == dtype else out.astype(dtype)


NUMPY = ArrayBody(numpy)


# --- the native body (C++ on the CPU) ----------------------------------------------------
SOURCE = r"""
// gpugrad batch norm for the CPU (backends/kernels/batch_norm.py). x is (n, c, s),
// contiguous; each call covers the rows [r0, r1) (whole samples).
typedef long long i64;

template <typename T>
static void sums(const T* __restrict__ x, i64 c, i64 s, i64 r0, i64 r1,
                 const double* __restrict__ centre, double* __restrict__ acc) {
    // acc[ch] = sum of x (centre null) or of (x - centre[ch])^2, in double
    for (i64 ch = 0; ch < c; ++ch) acc[ch] = 0.0;
    if (s == 1) {  // (N, C): vectorized across the channels
        for (i64 r = r0; r < r1; ++r) {
            const T* row = x + r * c;
            if (centre) {
#pragma omp simd
                for (i64 ch = 0; ch < c; ++ch) {
                    const double d = (double)row[ch] - centre[ch];
                    acc[ch] += d * d;
                }
            } else {
#pragma omp simd
                for (i64 ch = 0; ch < c; ++ch) acc[ch] += (double)row[ch];
            }
        }
        return;
    }
    for (i64 r = r0; r < r1; ++r) {
        const T* row = x + r * c * s;
        for (i64 ch = 0; ch < c; ++ch) {
            const T* p = row + ch * s;
            double a = 0.0;
            if (centre) {
                const double m = centre[ch];
#pragma omp simd reduction(+ : a)
                for (i64 j = 0; j < s; ++j) {
                    const double d = (double)p[j] - m;
                    a += d * d;
                }
            } else {
#pragma omp simd reduction(+ : a)
                for (i64 j = 0; j < s; ++j) a += (double)p[j];
            }
            acc[ch] += a;
        }
    }
}

template <typename T>
static void moments(const T* __restrict__ x, i64 c, i64 s, i64 r0, i64 r1,
                    const double* __restrict__ shift, double* __restrict__ acc) {
    // acc[ch] = sum of x - shift[ch], acc[c + ch] = sum of its squares, in double (one
    // pass, for float32: shifted by one of the channel's values, the double sums keep the
    // variance far beyond float32's precision)
    for (i64 ch = 0; ch < 2 * c; ++ch) acc[ch] = 0.0;
    if (s == 1) {
        for (i64 r = r0; r < r1; ++r) {
            const T* row = x + r * c;
#pragma omp simd
            for (i64 ch = 0; ch < c; ++ch) {
                const double d = (double)row[ch] - shift[ch];
                acc[ch] += d;
                acc[c + ch] += d * d;
            }
        }
        return;
    }
    for (i64 r = r0; r < r1; ++r) {
        const T* row = x + r * c * s;
        for (i64 ch = 0; ch < c; ++ch) {
            const T* p = row + ch * s;
            const double k = shift[ch];
            double a = 0.0, q = 0.0;
#pragma omp simd reduction(+ : a, q)
            for (i64 j = 0; j < s; ++j) {
                const double d = (double)p[j] - k;
                a += d;
                q += d * d;
            }
            acc[ch] += a;
            acc[c + ch] += q;
        }
    }
}

template <typename T>
static void grad_sums(const T* __restrict__ g, const T* __restrict__ x, i64 c, i64 s, i64 r0,
                      i64 r1, const double* __restrict__ mean, double* __restrict__ acc) {
    // acc[ch] = sum of g, acc[c + ch] = sum of g * (x - mean[ch]), in double
    for (i64 ch = 0; ch < 2 * c; ++ch) acc[ch] = 0.0;
    if (s == 1) {
        for (i64 r = r0; r < r1; ++r) {
            const T* gp = g + r * c;
            const T* xp = x + r * c;
#pragma omp simd
            for (i64 ch = 0; ch < c; ++ch) {
                const double gj = (double)gp[ch];
                acc[ch] += gj;
                acc[c + ch] += gj * ((double)xp[ch] - mean[ch]);
            }
        }
        return;
    }
    for (i64 r = r0; r < r1; ++r) {
        const i64 at = r * c * s;
        for (i64 ch = 0; ch < c; ++ch) {
            const T* gp = g + at + ch * s;
            const T* xp = x + at + ch * s;
            const double m = mean[ch];
            double a = 0.0, b = 0.0;
#pragma omp simd reduction(+ : a, b)
            for (i64 j = 0; j < s; ++j) {
                const double gj = (double)gp[j];
                a += gj;
                b += gj * ((double)xp[j] - m);
            }
            acc[ch] += a;
            acc[c + ch] += b;
        }
    }
}

template <typename T>
static void apply(const T* __restrict__ x, i64 c, i64 s, i64 r0, i64 r1,
                  const T* __restrict__ mean, const T* __restrict__ scale,
                  const T* __restrict__ shift, T* __restrict__ out) {
    // out = (x - mean[ch]) * scale[ch] + shift[ch]
    if (s == 1) {
        for (i64 r = r0; r < r1; ++r) {
            const T* p = x + r * c;
            T* q = out + r * c;
#pragma omp simd
            for (i64 ch = 0; ch < c; ++ch) q[ch] = (p[ch] - mean[ch]) * scale[ch] + shift[ch];
        }
        return;
    }
    for (i64 r = r0; r < r1; ++r) {
        const i64 at = r * c * s;
        for (i64 ch = 0; ch < c; ++ch) {
            const T* p = x + at + ch * s;
            T* q = out + at + ch * s;
            const T m = mean[ch], k = scale[ch], t = shift[ch];
#pragma omp simd
            for (i64 j = 0; j < s; ++j) q[j] = (p[j] - m) * k + t;
        }
    }
}

template <typename T>
static void grad_input(const T* __restrict__ g, const T* __restrict__ x, i64 c, i64 s, i64 r0,
                       i64 r1, const T* __restrict__ mean, const T* __restrict__ a,
                       const T* __restrict__ k, const T* __restrict__ shift,
                       T* __restrict__ out) {
    // out = g * a[ch] + (x - mean[ch]) * k[ch] + shift[ch]
    if (s == 1) {
        for (i64 r = r0; r < r1; ++r) {
            const T* gp = g + r * c;
            const T* xp = x + r * c;
            T* q = out + r * c;
#pragma omp simd
            for (i64 ch = 0; ch < c; ++ch)
                q[ch] = gp[ch] * a[ch] + (xp[ch] - mean[ch]) * k[ch] + shift[ch];
        }
        return;
    }
    for (i64 r = r0; r < r1; ++r) {
        const i64 at = r * c * s;
        for (i64 ch = 0; ch < c; ++ch) {
            const T* gp = g + at + ch * s;
            const T* xp = x + at + ch * s;
            T* q = out + at + ch * s;
            const T m = mean[ch], ac = a[ch], kc = k[ch], t = shift[ch];
#pragma omp simd
            for (i64 j = 0; j < s; ++j) q[j] = gp[j] * ac + (xp[j] - m) * kc + t;
        }
    }
}

#define GG_BN(T, SUFFIX)                                                                    \
    extern "C" void gg_bn_sums_##SUFFIX(const T* x, i64 c, i64 s, i64 r0, i64 r1,            \
                                        const double* centre, double* acc) {                 \
        sums<T>(x, c, s, r0, r1, centre, acc);                                               \
    }                                                                                        \
    extern "C" void gg_bn_moments_##SUFFIX(const T* x, i64 c, i64 s, i64 r0, i64 r1,         \
                                           const double* shift, double* acc) {               \
        moments<T>(x, c, s, r0, r1, shift, acc);                                             \
    }                                                                                        \
    extern "C" void gg_bn_grad_sums_##SUFFIX(const T* g, const T* x, i64 c, i64 s, i64 r0,   \
                                             i64 r1, const double* mean, double* acc) {      \
        grad_sums<T>(g, x, c, s, r0, r1, mean, acc);                                         \
    }                                                                                        \
    extern "C" void gg_bn_apply_##SUFFIX(const T* x, i64 c, i64 s, i64 r0, i64 r1,           \
                                         const T* mean, const T* scale, const T* shift,      \
                                         T* out) {                                           \
        apply<T>(x, c, s, r0, r1, mean, scale, shift, out);                                  \
    }                                                                                        \
    extern "C" void gg_bn_grad_input_##SUFFIX(const T* g, const T* x, i64 c, i64 s, i64 r0,  \
                                              i64 r1, const T* mean, const T* a, const T* k, \
                                              const T* shift, T* out) {                      \
        grad_input<T>(g, x, c, s, r0, r1, mean, a, k, shift, out);                           \
    }

GG_BN(float, f32)
GG_BN(double, f64)
"""

_SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}
_P = ctypes.c_void_p
_I = ctypes.c_longlong
_SIGNATURES = {
    "sums": (_P, _I, _I, _I, _I, _P, _P),
    "moments": (_P, _I, _I, _I, _I, _P, _P),
    "grad_sums": (_P, _P, _I, _I, _I, _I, _P, _P),
    "apply": (_P, _I, _I, _I, _I, _P, _P, _P, _P),
    "grad_input": (_P, _P, _I, _I, _I, _I, _P, _P, _P, _P, _P),
}


def _address(a: Any) -> int | None:
    return None if a is None else a.ctypes.data


class NativeBody(Body):
    """The C++ body (``SOURCE``), built on first use; the ``NUMPY`` body for float16, and
    (with one ``RuntimeWarning``) wherever the build fails."""

    name = "native"

    def __init__(self) -> None:
        self.library = native_rows.NativeLibrary(
            SOURCE,
            "gg_bn_",
            {name: (lambda real, types=types: types) for name, types in _SIGNATURES.items()},
            "batch-norm",
        )

    def _library(self) -> dict[str, Any] | None:
        return self.library.functions()

    def _native(self, dtype: Any) -> tuple[dict[str, Any], str] | None:
        suffix = _SUFFIX.get(numpy.dtype(dtype))
        if suffix is None:
            return None
        functions = self._library()
        return None if functions is None else (functions, suffix)

    @staticmethod
    def _ranges(n: int, per_sample: int) -> list[tuple[int, int]]:
        """The blocks of rows: as many as ``numpy_exec`` cuts ``n * per_sample`` elements
        into (at most one per sample), fixed by the shape."""
        units = min(n, numpy_exec.block_count(n * per_sample)) or 1
        return [(i * n // units, (i + 1) * n // units) for i in range(units)]

    @staticmethod
    def _each(ranges: list[tuple[int, int]], total: int, call: Any) -> None:
        """``call(k, r0, r1)`` for every block, on ``numpy_exec``'s threads."""

        def work(blocks: Any) -> bool:
            for k in blocks:
                if k < len(ranges):
                    call(k, *ranges[k])
            return False

        numpy_exec.in_blocks(total if len(ranges) > 1 else 1, work)

    def _sums(self, fn: Any, arrays: list[Any], c: int, s: int, centre: Any, width: int) -> Any:
        n = arrays[0].shape[0]
        ranges = self._ranges(n, c * s)
        partial = numpy.zeros((len(ranges), width * c), numpy.float64)
        starts = [a.ctypes.data for a in arrays]
        at, row = partial.ctypes.data, partial.strides[0]
        centre_at = _address(centre)
        self._each(
            ranges,
            n * c * s,
            lambda k, r0, r1: fn(*starts, c, s, r0, r1, centre_at, at + k * row),
        )
        return partial.sum(0).reshape(width, c)

    def forward(self, x: Any, w: Any, b: Any, eps: float) -> tuple:
        native = self._native(x.dtype)
        if native is None or x.size <= SMALL:
            return NUMPY.forward(x, w, b, eps)
        functions, suffix = native
        x3 = numpy.ascontiguousarray(_as_rows(x))
        n, c, s = x3.shape
        dtype = x3.dtype
        count = n * s
        if suffix == "f32":  # one pass: shifted sums in double
            shift = x3[0, :, 0].astype(numpy.float64)
            moments = self._sums(functions["moments_" + suffix], [x3], c, s, shift, 2)
            mean_shift = moments[0] / count
            mean64 = shift + mean_shift
            var64 = numpy.maximum(moments[1] / count - mean_shift * mean_shift, 0.0)
        else:  # two passes: the centred sum of squares
            mean64 = self._sums(functions["sums_" + suffix], [x3], c, s, None, 1)[0] / count
            var64 = self._sums(functions["sums_" + suffix], [x3], c, s, mean64, 1)[0] / count
        invstd = (1 / numpy.sqrt(var64 + eps)).astype(dtype)
        mean = mean64.astype(dtype)
        scale = invstd if w is None else invstd * w.astype(dtype)
        out = self._apply(functions["apply_" + suffix], x3, mean, scale, b)
        return out.reshape(x.shape), mean, var64.astype(dtype), invstd

    def _apply(self, fn: Any, x3: Any, mean: Any, scale: Any, b: Any) -> Any:
        n, c, s = x3.shape
        dtype = x3.dtype
        shift = numpy.zeros(c, dtype) if b is None else b.astype(dtype).reshape(c)
        per_channel = [numpy.ascontiguousarray(v, dtype) for v in (mean, scale, shift)]
        out = numpy.empty(x3.shape, dtype)
        addresses = [v.ctypes.data for v in per_channel]
        start, out_at = x3.ctypes.data, out.ctypes.data
        self._each(
            self._ranges(n, c * s),
            x3.size,
            lambda k, r0, r1: fn(start, c, s, r0, r1, *addresses, out_at),
        )
        return out

    def backward(self, g: Any, x: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        native = self._native(x.dtype)
        if native is None or x.size <= SMALL or g.dtype != x.dtype:
            return NUMPY.backward(g, x, w, mean, invstd)
        functions, suffix = native
        g3 = numpy.ascontiguousarray(_as_rows(g))
        x3 = numpy.ascontiguousarray(_as_rows(x))
        n, c, s = x3.shape
        dtype = x3.dtype
        count = n * s
        mean64 = mean.astype(numpy.float64)
        sum_g, sum_gx = self._sums(functions["grad_sums_" + suffix], [g3, x3], c, s, mean64, 2)
        invstd64 = invstd.astype(numpy.float64)
        scale64 = invstd64 if w is None else invstd64 * w.astype(numpy.float64)
        d_weight = sum_gx * invstd64
        per_channel = [
            numpy.ascontiguousarray(v, dtype)
            for v in (
                mean,
                scale64,
                -scale64 * invstd64 * d_weight / count,
                -scale64 * sum_g / count,
            )
        ]
        addresses = [v.ctypes.data for v in per_channel]
        out = numpy.empty(x3.shape, dtype)
        fn = functions["grad_input_" + suffix]
        g_at, x_at, out_at = g3.ctypes.data, x3.ctypes.data, out.ctypes.data
        self._each(
            self._ranges(n, c * s),
            x3.size,
            lambda k, r0, r1: fn(g_at, x_at, c, s, r0, r1, *addresses, out_at),
        )
        return out.reshape(x.shape), d_weight.astype(dtype), sum_g.astype(dtype)

    def inference(self, x: Any, mean: Any, var: Any, w: Any, b: Any, eps: float) -> Any:
        native = self._native(x.dtype)
        if native is None or x.size <= SMALL:
            return NUMPY.inference(x, mean, var, w, b, eps)
        functions, suffix = native
        x3 = numpy.ascontiguousarray(_as_rows(x))
        dtype = x3.dtype
        scale = 1 / numpy.sqrt(var.astype(dtype) + eps)
        if w is not None:
            scale = scale * w.astype(dtype)
        out = self._apply(functions["apply_" + suffix], x3, mean.astype(dtype), scale, b)
        return out.reshape(x.shape)


NATIVE = NativeBody()


def body_for(executor: Any, xp: Any) -> Body:
    """The body that goes with a backend's elementwise kernel executor: ``NATIVE`` with
    ``native_exec``, ``NUMPY`` with ``numpy_exec``, the array body on other array modules;
    ``"auto"`` decides first (the first fused kernel call builds the native kernels)."""
    from . import native_exec

    resolve = getattr(executor, "resolve", None)
    if resolve is not None:
        executor = resolve()
    if executor is native_exec:
        return NATIVE
    return NUMPY if xp is numpy else ArrayBody(xp)


# --- the CUDA body --------------------------------------------------------------------------
CUDA_THREADS = 256
"""Threads per block of every batch-norm kernel (a power of two: the tree sum halves it)."""

CUDA_SOURCE = (
    f"#define GG_BN_THREADS {CUDA_THREADS}\n"
    + r"""
// gpugrad batch norm for CUDA (backends/kernels/batch_norm.py). x is (n, c, s), contiguous.
typedef long long i64;

// The sum of v over the block (every thread gets it); blockDim.x == GG_BN_THREADS.
__device__ double gg_block_sum(double v) {
    __shared__ double partial[GG_BN_THREADS];
    partial[threadIdx.x] = v;
    __syncthreads();
    for (int k = GG_BN_THREADS / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) partial[threadIdx.x] += partial[threadIdx.x + k];
        __syncthreads();
    }
    const double total = partial[0];
    __syncthreads();  // every thread has read it before the next call writes
    return total;
}

// One block per channel: stats[ch] = mean, stats[c + ch] = biased variance (two passes).
template <typename T>
__device__ void stats(const T* __restrict__ x, i64 n, i64 c, i64 s, double* __restrict__ out) {
    const i64 ch = blockIdx.x, count = n * s;
    double a = 0.0;
    for (i64 i = threadIdx.x; i < count; i += GG_BN_THREADS) {
        const i64 r = i / s;
        a += (double)x[(r * c + ch) * s + (i - r * s)];
    }
    const double mean = gg_block_sum(a) / (double)count;
    double q = 0.0;
    for (i64 i = threadIdx.x; i < count; i += GG_BN_THREADS) {
        const i64 r = i / s;
        const double d = (double)x[(r * c + ch) * s + (i - r * s)] - mean;
        q += d * d;
    }
    q = gg_block_sum(q);
    if (threadIdx.x == 0) {
        out[ch] = mean;
        out[c + ch] = q / (double)count;
    }
}

// One block per channel: out[ch] = sum of g, out[c + ch] = sum of g * (x - mean[ch]).
template <typename T>
__device__ void grad_sums(const T* __restrict__ g, const T* __restrict__ x, i64 n, i64 c, i64 s,
                          const T* __restrict__ mean, double* __restrict__ out) {
    const i64 ch = blockIdx.x, count = n * s;
    const double m = (double)mean[ch];
    double a = 0.0, b = 0.0;
    for (i64 i = threadIdx.x; i < count; i += GG_BN_THREADS) {
        const i64 r = i / s;
        const i64 at = (r * c + ch) * s + (i - r * s);
        const double gi = (double)g[at];
        a += gi;
        b += gi * ((double)x[at] - m);
    }
    a = gg_block_sum(a);
    b = gg_block_sum(b);
    if (threadIdx.x == 0) {
        out[ch] = a;
        out[c + ch] = b;
    }
}

// out = (x - mean[ch]) * scale[ch] + shift[ch], a grid-stride loop.
template <typename T>
__device__ void apply(const T* __restrict__ x, i64 total, i64 c, i64 s, const T* __restrict__ mean,
                      const T* __restrict__ scale, const T* __restrict__ shift,
                      T* __restrict__ out) {
    const i64 step = (i64)gridDim.x * GG_BN_THREADS;
    for (i64 i = (i64)blockIdx.x * GG_BN_THREADS + threadIdx.x; i < total; i += step) {
        const i64 ch = (i / s) % c;
        out[i] = (x[i] - mean[ch]) * scale[ch] + shift[ch];
    }
}

// out = g * a[ch] + (x - mean[ch]) * k[ch] + shift[ch], a grid-stride loop.
template <typename T>
__device__ void grad_input(const T* __restrict__ g, const T* __restrict__ x, i64 total, i64 c,
                           i64 s, const T* __restrict__ mean, const T* __restrict__ a,
                           const T* __restrict__ k, const T* __restrict__ shift,
                           T* __restrict__ out) {
    const i64 step = (i64)gridDim.x * GG_BN_THREADS;
    for (i64 i = (i64)blockIdx.x * GG_BN_THREADS + threadIdx.x; i < total; i += step) {
        const i64 ch = (i / s) % c;
        out[i] = g[i] * a[ch] + (x[i] - mean[ch]) * k[ch] + shift[ch];
    }
}

#define GG_BN(T, SUFFIX)                                                                    \
    extern "C" __global__ void gg_bn_stats_##SUFFIX(const T* x, i64 n, i64 c, i64 s,         \
                                                    double* out) {                           \
        stats<T>(x, n, c, s, out);                                                           \
    }                                                                                        \
    extern "C" __global__ void gg_bn_grad_sums_##SUFFIX(const T* g, const T* x, i64 n, i64 c,\
                                                        i64 s, const T* mean, double* out) { \
        grad_sums<T>(g, x, n, c, s, mean, out);                                              \
    }                                                                                        \
    extern "C" __global__ void gg_bn_apply_##SUFFIX(const T* x, i64 total, i64 c, i64 s,     \
                                                    const T* mean, const T* scale,           \
                                                    const T* shift, T* out) {                \
        apply<T>(x, total, c, s, mean, scale, shift, out);                                   \
    }                                                                                        \
    extern "C" __global__ void gg_bn_grad_input_##SUFFIX(                                    \
        const T* g, const T* x, i64 total, i64 c, i64 s, const T* mean, const T* a,          \
        const T* k, const T* shift, T* out) {                                                \
        grad_input<T>(g, x, total, c, s, mean, a, k, shift, out);                            \
    }

GG_BN(float, f32)
GG_BN(double, f64)
"""
)

_CUDA_GRID_LIMIT = 4096
"""The most blocks of an elementwise launch (the grid-stride loop covers the rest)."""


class CudaBody(Body):
    """The CUDA body (``CUDA_SOURCE``) on CuPy arrays, compiled on first use (CuPy caches
    the binary); the array body for float16. Nothing here synchronizes with the device."""

    name = "cuda"

    def __init__(self, cupy: Any) -> None:
        self.cupy = cupy
        self.fallback = ArrayBody(cupy)
        self._module: Any = None

    def _kernels(self, dtype: Any) -> tuple[Any, str] | None:
        suffix = _SUFFIX.get(numpy.dtype(dtype))
        if suffix is None:
            return None
        if self._module is None:
            self._module = self.cupy.RawModule(code=CUDA_SOURCE, options=("-std=c++14",))
        return self._module, suffix

    def _elementwise(self, module: Any, name: str, total: int, args: tuple) -> None:
        blocks = max(1, min(-(-total // CUDA_THREADS), _CUDA_GRID_LIMIT))
        module.get_function(name)((blocks,), (CUDA_THREADS,), args)

    def _apply(self, module: Any, suffix: str, x3: Any, mean: Any, scale: Any, b: Any) -> Any:
        cp = self.cupy
        n, c, s = x3.shape
        dtype = x3.dtype
        shift = cp.zeros(c, dtype) if b is None else b.astype(dtype).reshape(c)
        per_channel = [
            cp.ascontiguousarray(v.astype(dtype, copy=False)) for v in (mean, scale, shift)
        ]
        out = cp.empty(x3.shape, dtype)
        args = (x3, numpy.int64(x3.size), numpy.int64(c), numpy.int64(s), *per_channel, out)
        self._elementwise(module, "gg_bn_apply_" + suffix, x3.size, args)
        return out

    def forward(self, x: Any, w: Any, b: Any, eps: float) -> tuple:
        found = self._kernels(x.dtype)
        if found is None or x.size == 0:
            return self.fallback.forward(x, w, b, eps)
        module, suffix = found
        cp = self.cupy
        x3 = cp.ascontiguousarray(_as_rows(x))
        n, c, s = x3.shape
        dtype = x3.dtype
        stats = cp.empty(2 * c, cp.float64)
        args = (x3, numpy.int64(n), numpy.int64(c), numpy.int64(s), stats)
        module.get_function("gg_bn_stats_" + suffix)((c,), (CUDA_THREADS,), args)
        mean64, var64 = stats[:c], stats[c:]
        invstd = (1 / cp.sqrt(var64 + eps)).astype(dtype)
        mean = mean64.astype(dtype)
        scale = invstd if w is None else invstd * w.astype(dtype)
        out = self._apply(module, suffix, x3, mean, scale, b)
        return out.reshape(x.shape), mean, var64.astype(dtype), invstd

    def backward(self, g: Any, x: Any, w: Any, mean: Any, invstd: Any) -> tuple:
        found = self._kernels(x.dtype)
        if found is None or x.size == 0 or g.dtype != x.dtype:
            return self.fallback.backward(g, x, w, mean, invstd)
        module, suffix = found
        cp = self.cupy
        g3 = cp.ascontiguousarray(_as_rows(g))
        x3 = cp.ascontiguousarray(_as_rows(x))
        n, c, s = x3.shape
        dtype = x3.dtype
        count = n * s
        mean = cp.ascontiguousarray(mean.astype(dtype, copy=False))
        sums = cp.empty(2 * c, cp.float64)
        args = (g3, x3, numpy.int64(n), numpy.int64(c), numpy.int64(s), mean, sums)
        module.get_function("gg_bn_grad_sums_" + suffix)((c,), (CUDA_THREADS,), args)
        sum_g, sum_gx = sums[:c], sums[c:]
        invstd64 = invstd.astype(cp.float64)
        scale64 = invstd64 if w is None else invstd64 * w.astype(cp.float64)
        d_weight = sum_gx * invstd64
        per_channel = [
            cp.ascontiguousarray(v.astype(dtype))
            for v in (scale64, -scale64 * invstd64 * d_weight / count, -scale64 * sum_g / count)
        ]
        out = cp.empty(x3.shape, dtype)
        args = (
            g3,
            x3,
            numpy.int64(x3.size),
            numpy.int64(c),
            numpy.int64(s),
            mean,
            *per_channel,
            out,
        )
        self._elementwise(module, "gg_bn_grad_input_" + suffix, x3.size, args)
        return out.reshape(x.shape), d_weight.astype(dtype), sum_g.astype(dtype)

    def inference(self, x: Any, mean: Any, var: Any, w: Any, b: Any, eps: float) -> Any:
        found = self._kernels(x.dtype)
        if found is None or x.size == 0:
            return self.fallback.inference(x, mean, var, w, b, eps)
        module, suffix = found
        cp = self.cupy
        x3 = cp.ascontiguousarray(_as_rows(x))
        dtype = x3.dtype
        scale = 1 / cp.sqrt(var.astype(dtype) + eps)
        if w is not None:
            scale = scale * w.astype(dtype)
        return self._apply(module, suffix, x3, mean, scale, b).reshape(x.shape)
