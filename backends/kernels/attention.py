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

from .. import threadpools
from . import native_source, numpy_exec
from .native_rows import REALS, NativeLibrary, each_row_block

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
        """``scores`` (``(..., length, S)``) replaced by its rows' softmax (module docs)."""
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

    def forward(self, q: Any, k: Any, v: Any, scale: float, causal: bool) -> None:
        """No blocked attention here: the caller's whole-batch products (one batched
        product is what a GPU wants)."""
        return None

    def backward(self, *args: Any) -> None:
        """As :meth:`forward`."""
        return None

    def softmax_backward(self, d_scores: Any, probs: Any, row_term: Any, scale: float) -> Any:
        """``d_scores`` replaced by ``probs * (d_scores - row_term) * scale``."""
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
                             const T* __restrict__ term, i64 length, i64 width, i64 r0, i64 r1,
                             T scale, int causal) {
    // causal: the keys a query does not see get 0 (d there may be unwritten memory)
    for (i64 r = r0; r < r1; ++r) {
        T* row = d + r * width;
        const T* prob = p + r * width;
        const T t = term[r];
        const i64 query = r % length;
        const i64 n = causal ? (query + 1 < width ? query + 1 : width) : width;
#pragma omp simd
        for (i64 j = 0; j < n; ++j) row[j] = prob[j] * (row[j] - t) * scale;
        for (i64 j = n; j < width; ++j) row[j] = 0;
    }
}

#define GG_ATTN(T, SUFFIX)                                                                  \
    extern "C" void gg_attn_softmax_##SUFFIX(T* s, i64 length, i64 width, i64 r0, i64 r1,    \
                                             T scale, int causal) {                          \
        softmax<T>(s, length, width, r0, r1, scale, causal);                                 \
    }                                                                                        \
    extern "C" void gg_attn_softmax_backward_##SUFFIX(T* d, const T* p, const T* term,       \
                                                      i64 length, i64 width, i64 r0, i64 r1, \
                                                      T scale, int causal) {                 \
        softmax_backward<T>(d, p, term, length, width, r0, r1, scale, causal);               \
    }

GG_ATTN(float, f32)
GG_ATTN(double, f64)
"""
)

QUERY_BLOCK = 32
"""Query rows per block of the blocked attention (at least; an eighth of the queries for
long sequences): small enough that a causal block's products skip most hidden keys, large
enough for BLAS to run near full speed."""
BATCH_PARTS = 4
"""Slices of the batch, times the query blocks: the tasks the threads share."""
BLOCKED_MIN = 1 << 15
"""Scores (batch x L x S) from which the blocked attention pays for its many calls."""

_P = ctypes.c_void_p
_I = ctypes.c_longlong
_SIGNATURES = {
    "softmax": lambda real: (_P, _I, _I, _I, _I, real, ctypes.c_int),
    "softmax_backward": lambda real: (_P, _P, _P, _I, _I, _I, _I, real, ctypes.c_int),
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
        """As :meth:`ArrayBody.softmax`, one native pass per row."""
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
        """As :meth:`ArrayBody.softmax_backward`, one native pass."""
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
            lambda k, r0, r1: fn(d_at, p_at, t_at, 1, width, r0, r1, scale, 0),
        )
        return d_scores

    # --- the whole attention in blocks (causal: the products skip the hidden keys) -------
    def _blocked(self, q: Any, k: Any, v: Any) -> bool:
        """Whether :meth:`forward` and :meth:`backward` take ``q k v``: one dtype the
        kernels are built for, one batch shape, large enough to pay for the blocks."""
        batch = q.shape[:-2]
        return (
            q.dtype in REALS
            and q.dtype == k.dtype == v.dtype
            and k.shape[:-2] == batch
            and v.shape[:-2] == batch
            and q.ndim >= 2
            and q.shape[-2] >= 2
            and k.shape[-2] >= 1
            and q.size * k.shape[-2] // max(1, q.shape[-1]) >= BLOCKED_MIN
            and self.library.functions() is not None
        )

    @staticmethod
    def _tasks(batch: int, length: int, source: int, causal: bool) -> list[tuple]:
        """``(b0, b1, r0, r1, end)``: a slice of the batch, a block of query rows, and the
        keys ``[0, end)`` that block sees (all of them unless causal)."""
        block = max(QUERY_BLOCK, -(-length // 8))
        parts = min(batch, BATCH_PARTS)
        cuts = [(i * batch // parts, (i + 1) * batch // parts) for i in range(parts)]
        return [
            (b0, b1, r0, min(r0 + block, length), min(r0 + block, source) if causal else source)
            for b0, b1 in cuts
            for r0 in range(0, length, block)
        ]

    @staticmethod
    def _run(tasks: list[tuple], call: Any) -> None:
        """``call(*task)`` for every task, on ``numpy_exec``'s threads, each BLAS product on
        one thread (the tasks are the parallelism)."""

        def work(indices: Any) -> bool:
            with numpy.errstate(all="ignore"):  # inf * 0 is nan, as in PyTorch: no warning
                for i in indices:
                    if i < len(tasks):
                        call(*tasks[i])
            return False

        with threadpools.one_thread():
            numpy_exec.in_blocks(len(tasks) * numpy_exec.BLOCK, work)

    def forward(self, q: Any, k: Any, v: Any, scale: float, causal: bool) -> tuple | None:
        """``(out, probabilities)`` of unmasked attention, or ``None`` where
        :meth:`_blocked` says no (the caller then takes the whole-batch products). The
        batch is cut into slices and the queries into blocks, each task a product, the
        softmax of its rows and a product again; a causal block's products stop at the
        keys it sees (at L = S = 128 in blocks of 32, 5/8 of the work)."""
        if not self._blocked(q, k, v):
            return None
        length, source = q.shape[-2], k.shape[-2]
        q3, k3, v3 = (a.reshape(-1, *a.shape[-2:]) for a in (q, k, v))
        batch = q3.shape[0]
        scores = numpy.empty((batch, length, source), q.dtype)
        out = numpy.empty((batch, length, v.shape[-1]), q.dtype)
        fn = self.library.functions()["softmax_" + REALS[q.dtype][0]]
        at, flag = scores.ctypes.data, int(causal)

        def task(b0, b1, r0, r1, end):
            block = scores[b0:b1, r0:r1, :end]
            numpy.matmul(q3[b0:b1, r0:r1], k3[b0:b1, :end].swapaxes(-1, -2), out=block)
            for b in range(b0, b1):
                fn(at, length, source, b * length + r0, b * length + r1, scale, flag)
            numpy.matmul(block, v3[b0:b1, :end], out=out[b0:b1, r0:r1])

        self._run(self._tasks(batch, length, source, causal), task)
        lead = q.shape[:-2]
        return out.reshape(*lead, length, v.shape[-1]), scores.reshape(*lead, length, source)

    def backward(
        self, g: Any, q: Any, k: Any, v: Any, out: Any, probs: Any, scale: float, causal: bool
    ) -> tuple | None:
        """``(dq, dk, dv)`` of :meth:`forward`'s attention, or ``None`` where it took the
        whole-batch path. First, per query block: the score gradient of the keys it sees,
        its softmax backward, ``dq``; then per key block, over the queries that see it:
        ``dv = Pᵀ g`` and ``dk = dSᵀ q``."""
        if not (self._blocked(q, k, v) and probs.flags.c_contiguous and g.dtype == q.dtype):
            return None
        length, source = q.shape[-2], k.shape[-2]
        q3, k3, v3, g3, o3 = (a.reshape(-1, *a.shape[-2:]) for a in (q, k, v, g, out))
        p3 = probs.reshape(-1, length, source)
        batch = q3.shape[0]
        term = numpy.ascontiguousarray((g3 * o3).sum(-1))
        d_scores = numpy.empty((batch, length, source), q.dtype)
        dq = numpy.empty(q3.shape, q.dtype)
        dk = numpy.empty(k3.shape, q.dtype)
        dv = numpy.empty(v3.shape, q.dtype)
        fn = self.library.functions()["softmax_backward_" + REALS[q.dtype][0]]
        d_at, p_at, t_at, flag = d_scores.ctypes.data, p3.ctypes.data, term.ctypes.data, int(causal)

        def by_query(b0, b1, r0, r1, end):
            block = d_scores[b0:b1, r0:r1, :end]
            numpy.matmul(g3[b0:b1, r0:r1], v3[b0:b1, :end].swapaxes(-1, -2), out=block)
            for b in range(b0, b1):
                fn(d_at, p_at, t_at, length, source, b * length + r0, b * length + r1, scale, flag)
            numpy.matmul(block, k3[b0:b1, :end], out=dq[b0:b1, r0:r1])

        def by_key(b0, b1, c0, c1, _):
            first = c0 if causal else 0  # the first query that sees these keys
            if first >= length:
                dk[b0:b1, c0:c1] = 0
                dv[b0:b1, c0:c1] = 0
                return
            p_t = p3[b0:b1, first:, c0:c1].swapaxes(-1, -2)
            numpy.matmul(p_t, g3[b0:b1, first:], out=dv[b0:b1, c0:c1])
            d_t = d_scores[b0:b1, first:, c0:c1].swapaxes(-1, -2)
            numpy.matmul(d_t, q3[b0:b1, first:], out=dk[b0:b1, c0:c1])

        self._run(self._tasks(batch, length, source, causal), by_query)
        self._run(self._tasks(batch, source, source, False), by_key)
        return dq.reshape(q.shape), dk.reshape(k.shape), dv.reshape(v.shape)


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
