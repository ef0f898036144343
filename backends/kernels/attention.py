"""Scaled dot-product attention's row kernels: the softmax of the scores, and its backward.

Attention (``ArrayBackend.attention``) is two batched matrix products around a softmax of
the ``L x S`` scores per head; the products go to BLAS, and these bodies do what lies
between them, in place on the products' outputs:

- ``softmax(scores, length, scale, causal)``: each row of ``scores`` (``(..., length,
  S)``, row ``i`` of each matrix is query ``i``) becomes ``softmax(scale * row)``;
  ``causal`` keeps the keys ``j <= i`` (PyTorch's top-left ``is_causal``) and writes 0
  over the others.
- ``softmax_backward(d_scores, probs, row_term, scale)``: ``d_scores = probs * (d_scores -
  row_term) * scale``, ``row_term`` one value per row (``sum_d g * out``, FlashAttention's
  form of ``sum_j dP P``), the score gradient with the scale folded in.

Two bodies, chosen where the elementwise kernels' executor is (as ``batch_norm``'s):

- ``ArrayBody``: array-module calls (NumPy, CuPy): a few whole-array passes.
- ``NATIVE``: C++ built like the fused programs (``fusion_c.build``), one row at a time
  while it is in the L1 cache (the NumPy body makes six passes over the scores; at (16, 4,
  128, 128) it took 2-3x as long); ``expf`` vectorized through libmvec as in
  ``native_source``. The rows are cut into fixed blocks run on ``numpy_exec``'s threads.
  float32 and float64; float16 takes the array body.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy

from . import native_source
from .native_rows import NativeLibrary, each_row_block

__all__ = ["NATIVE", "SOURCE", "ArrayBody", "body_for"]


class ArrayBody:
    """The kernels as array-module calls (NumPy on the CPU, CuPy on CUDA)."""

    name = "array"

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self._triangles: dict[tuple, Any] = {}

    def above_diagonal(self, length: int, source: int, like: Any) -> Any:
        """The ``(length, source)`` bool mask of the keys a causal query may not see
        (``j > i``), built once per shape and device."""
        device = getattr(like, "device", None)
        key = (length, source, str(device))
        mask = self._triangles.get(key)
        if mask is None:
            mask = self.xp.triu(self.xp.ones((length, source), dtype=bool), 1)
            if len(self._triangles) > 64:  # a bounded cache: many shapes keep few alive
                self._triangles.clear()
            self._triangles[key] = mask
        return mask

    def softmax(self, scores: Any, length: int, scale: float, causal: bool) -> Any:
        xp = self.xp
        if scale != 1:
            scores *= scores.dtype.type(scale)
        if causal:
            xp.copyto(
                scores, float("-inf"), where=self.above_diagonal(length, scores.shape[-1], scores)
            )
        scores -= scores.max(-1, keepdims=True)
        xp.exp(scores, out=scores)
        scores *= 1 / scores.sum(-1, keepdims=True)
        return scores

    def softmax_backward(self, d_scores: Any, probs: Any, row_term: Any, scale: float) -> Any:
        d_scores -= row_term
        d_scores *= probs
        if scale != 1:
            d_scores *= d_scores.dtype.type(scale)
        return d_scores


SOURCE = (
    native_source._PRELUDE
    + r"""
// gpugrad attention rows for the CPU (backends/kernels/attention.py). The arrays are
// (rows, S), contiguous; each call covers the rows [r0, r1).
typedef long long i64;

static inline float gg_attn_exp(float x) { return expf(x); }
static inline double gg_attn_exp(double x) { return exp(x); }

template <typename T>
static void softmax(T* __restrict__ s, i64 length, i64 width, i64 r0, i64 r1, T scale,
                    int causal) {
    for (i64 r = r0; r < r1; ++r) {
        T* row = s + r * width;
        const i64 query = r % length;
        const i64 n = causal ? (query + 1 < width ? query + 1 : width) : width;
        T top = -__builtin_inf();
#pragma omp simd reduction(max : top)
        for (i64 j = 0; j < n; ++j) {
            const T v = row[j] * scale;
            top = v > top ? v : top;
        }
        T total = 0;
#pragma omp simd reduction(+ : total)
        for (i64 j = 0; j < n; ++j) {
            const T e = gg_attn_exp(row[j] * scale - top);
            row[j] = e;
            total += e;
        }
        const T inverse = (T)1 / total;
#pragma omp simd
        for (i64 j = 0; j < n; ++j) row[j] *= inverse;
        for (i64 j = n; j < width; ++j) row[j] = 0;
    }
}

template <typename T>
static void softmax_backward(T* __restrict__ d, const T* __restrict__ p,
                             const T* __restrict__ term, i64 width, i64 r0, i64 r1, T scale) {
    for (i64 r = r0; r < r1; ++r) {
        T* row = d + r * width;
        const T* prob = p + r * width;
        const T t = term[r];
#pragma omp simd
        for (i64 j = 0; j < width; ++j) row[j] = prob[j] * (row[j] - t) * scale;
    }
}

#define GG_ATTN(T, SUFFIX)                                                                  \
    extern "C" void gg_attn_softmax_##SUFFIX(T* s, i64 length, i64 width, i64 r0, i64 r1,    \
                                             T scale, int causal) {                          \
        softmax<T>(s, length, width, r0, r1, scale, causal);                                 \
    }                                                                                        \
    extern "C" void gg_attn_softmax_backward_##SUFFIX(T* d, const T* p, const T* term,       \
                                                      i64 width, i64 r0, i64 r1, T scale) {  \
        softmax_backward<T>(d, p, term, width, r0, r1, scale);                               \
    }

GG_ATTN(float, f32)
GG_ATTN(double, f64)
"""
)

_P = ctypes.c_void_p
_I = ctypes.c_longlong
_SIGNATURES = {
    "softmax": lambda real: (_P, _I, _I, _I, _I, real, ctypes.c_int),
    "softmax_backward": lambda real: (_P, _P, _P, _I, _I, _I, real),
}


class NativeBody:
    """The C++ body (``SOURCE``), built on first use; the NumPy array body for other
    dtypes, for non-contiguous arrays, and (with one ``RuntimeWarning``) where the build
    fails."""

    name = "native"

    def __init__(self) -> None:
        self.fallback = ArrayBody(numpy)
        self.library = NativeLibrary(SOURCE, "gg_attn_", _SIGNATURES, "attention")

    def softmax(self, scores: Any, length: int, scale: float, causal: bool) -> Any:
        native = self.library.find(scores)
        if native is None:
            return self.fallback.softmax(scores, length, scale, causal)
        functions, suffix = native
        fn = functions["softmax_" + suffix]
        width = scores.shape[-1]
        at, flag = scores.ctypes.data, int(causal)
        each_row_block(
            scores.size // width,
            width,
            lambda k, r0, r1: fn(at, length, width, r0, r1, scale, flag),
        )
        return scores

    def softmax_backward(self, d_scores: Any, probs: Any, row_term: Any, scale: float) -> Any:
        term = numpy.ascontiguousarray(row_term, dtype=d_scores.dtype)
        native = self.library.find(d_scores, probs, term)
        if native is None:
            return self.fallback.softmax_backward(d_scores, probs, row_term, scale)
        functions, suffix = native
        fn = functions["softmax_backward_" + suffix]
        width = d_scores.shape[-1]
        d_at, p_at, t_at = d_scores.ctypes.data, probs.ctypes.data, term.ctypes.data
        each_row_block(
            d_scores.size // width,
            width,
            lambda k, r0, r1: fn(d_at, p_at, t_at, width, r0, r1, scale),
        )
        return d_scores


NATIVE = NativeBody()
NUMPY = NATIVE.fallback
_array_bodies: dict[Any, ArrayBody] = {}


def body_for(executor: Any, xp: Any) -> Any:
    """The body that goes with a backend's elementwise kernel executor: ``NATIVE`` with
    ``native_exec``, the array body otherwise (one per array module: it keeps the causal
    masks)."""
    from . import native_exec

    resolve = getattr(executor, "resolve", None)
    if resolve is not None:
        executor = resolve()
    if executor is native_exec:
        return NATIVE
    if xp is numpy:
        return NUMPY
    body = _array_bodies.get(xp)
    if body is None:
        body = _array_bodies[xp] = ArrayBody(xp)
    return body
