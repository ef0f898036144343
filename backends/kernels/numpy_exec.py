"""Runs a ``Kernel``'s NumPy body on the CPU.

Small arrays (up to ``BLOCK`` elements) take one call. Larger ones are cut into blocks of
``BLOCK`` elements, so that the body's intermediates live in preallocated, cache-sized
scratch buffers (one set per thread, reused by every call) instead of fresh array-sized
temporaries; from ``PARALLEL_MIN`` elements the blocks are split between the calling
thread and a small persistent pool (NumPy's ufuncs release the GIL). A reduced output
never exists as an array: each block is summed pairwise where it is computed and the
block sums are added in double precision, in block order (deterministic).

float16 is computed in float32 and rounded once at the end, as PyTorch computes it.
Floating-point warnings are silenced inside kernels: overflow and log(0) are part of
their documented behaviour (``exp(-x)`` of a very negative x, BCE's clamped log).
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy

from .spec import Kernel

BLOCK = 1 << 16
"""Elements per block: 256 KiB of float32, so a body's few buffers stay in L2."""
PARALLEL_MIN = 1 << 18
"""Arrays from this size on are split between threads."""

_HALF = numpy.dtype(numpy.float16)
_FLOAT = numpy.dtype(numpy.float32)


def _default_threads() -> int:
    env = os.environ.get("GPUGRAD_NUM_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_local = threading.local()


def set_num_threads(n: int) -> None:
    """How many threads large kernels use (default ``min(2, cpu_count)``, or the
    ``GPUGRAD_NUM_THREADS`` environment variable)."""
    global _threads, _pool
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, got {n}")
    with _pool_lock:
        _threads = int(n)
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def get_num_threads() -> int:
    return _threads


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=max(1, _threads - 1), thread_name_prefix="gpugrad-kernel"
                )
            pool = _pool
    return pool


def _forget_pool_after_fork() -> None:
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


class OutputCache:
    """Storage for large kernel outputs, reused once freed, instead of a fresh mapping
    (page-faulted and zeroed by the OS: ~5 ms per 40 MB here) for every output.

    Each cached buffer is handed out as a view; it is free again when no view of it is
    alive, which its reference count tells (every NumPy view holds its base). At most
    ``limit`` bytes of free buffers are kept; ``clear()`` drops them (as
    ``torch.cuda.empty_cache`` does on a GPU). ``GPUGRAD_CPU_CACHE=0`` turns it off."""

    MIN_BYTES = 1 << 20

    def __init__(self, limit: int = 512 << 20) -> None:
        self.limit = limit
        self.enabled = os.environ.get("GPUGRAD_CPU_CACHE", "1") != "0"
        self._buffers: list[numpy.ndarray] = []
        self._lock = threading.Lock()

    def empty(self, n: int, dtype: numpy.dtype) -> numpy.ndarray:
        nbytes = n * dtype.itemsize
        if not self.enabled or nbytes < self.MIN_BYTES:
            return numpy.empty(n, dtype)
        with self._lock:
            for base in self._buffers:
                # references: the list, this loop's name, getrefcount's argument
                if nbytes <= base.nbytes <= 2 * nbytes and sys.getrefcount(base) == 3:
                    return base[:nbytes].view(dtype)
            base = numpy.empty(nbytes, numpy.uint8)
            free = [b for b in self._buffers if sys.getrefcount(b) == 3]
            while free and sum(b.nbytes for b in free) + nbytes > self.limit:
                self._buffers.remove(free.pop(0))
            if nbytes <= self.limit:
                self._buffers.append(base)
            return base.view(dtype)

    def lends(self, base: Any) -> bool:
        """Whether ``base`` is one of the cache's buffers (then the one array viewing it,
        an output handed out by ``empty``, is its only user)."""
        return any(base is b for b in self._buffers)

    def clear(self) -> None:
        with self._lock:
            self._buffers = [b for b in self._buffers if sys.getrefcount(b) > 3]

    def cached_bytes(self) -> int:
        with self._lock:
            return sum(b.nbytes for b in self._buffers)


outputs = OutputCache()


def _scratch(dtype: numpy.dtype, count: int) -> list[numpy.ndarray]:
    """This thread's ``count`` reusable block buffers of ``dtype``."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    have = buffers.get(dtype)
    if have is None:
        have = buffers[dtype] = []
    while len(have) < count:
        have.append(numpy.empty(BLOCK, dtype))
    return have


def broadcast_shape(inputs: Sequence[Any]) -> tuple[int, ...]:
    """The shape that ``inputs`` (``None`` for an absent one) broadcast to."""
    shape = inputs[0].shape
    for x in inputs:
        if x is not None and x.shape != shape:
            return numpy.broadcast_shapes(*[x.shape for x in inputs if x is not None])
    return shape


def run(
    kernel: Kernel,
    inputs: Sequence[Any],
    params: Sequence[float] = (),
    *,
    reduce: bool = False,
    divisor: float = 1.0,
) -> tuple[list[Any], bool]:
    """``kernel`` on NumPy arrays. ``inputs`` follow ``kernel.inputs`` (``None`` for an
    absent optional one) and broadcast against each other; the first one's dtype is the
    result's. ``params`` are converted to the compute dtype. Returns the outputs (with
    ``reduce``, the sum of output 0 divided by ``divisor``, as a scalar of the dtype) and
    whether any block flagged a problem. With ``reduce`` the other outputs are stored as
    usual, after the sum."""
    first = inputs[0]
    dtype = first.dtype
    cdt = _FLOAT if dtype == _HALF else dtype
    shape = broadcast_shape(inputs)
    n = math.prod(shape)
    ps = [cdt.type(p) for p in params]
    k = kernel.scratch
    if n <= BLOCK:
        # One call on the arrays as they are: ufuncs broadcast and follow strides.
        if n == 0:
            empty = [numpy.empty(shape, dtype) for _ in kernel.stored(reduce)]
            return ([reduced(0.0, divisor, dtype), *empty] if reduce else empty), False
        ins = [x if x is None or x.dtype == cdt else x.astype(cdt) for x in inputs]
        stored = [numpy.empty(shape, cdt) for _ in kernel.stored(reduce)]
        scratch = _scratch(cdt, k + 1)
        if len(shape) == 1:
            tmp = scratch[: k + 1] if n == BLOCK else [b[:n] for b in scratch[: k + 1]]
        else:
            tmp = [b[:n].reshape(shape) for b in scratch[: k + 1]]
        outs = [tmp[k], *stored] if reduce else stored
        with numpy.errstate(all="ignore"):
            bad = kernel.numpy(*outs, *ins, *ps, *tmp[:k])
            if reduce:
                total = float(numpy.add.reduce(outs[0], axis=None))
        if cdt != dtype:
            with numpy.errstate(over="ignore"):  # float16 overflows to inf, as it should
                stored = [o.astype(dtype) for o in stored]
        if reduce:
            return [reduced(total, divisor, dtype), *stored], bool(bad)
        return stored, bool(bad)

    flat: list[Any] = []
    for x in inputs:
        if x is None:
            flat.append(None)
            continue
        if x.size == 1:
            v = x.reshape(1)
        else:
            if x.shape != shape:
                x = numpy.broadcast_to(x, shape)
            v = x.reshape(-1)
        flat.append(v.astype(cdt, copy=False))
    outs = [outputs.empty(n, cdt) for _ in kernel.stored(reduce)]
    partials = [0.0] * block_count(n) if reduce else None
    bad = in_blocks(n, partial(_run_blocks, kernel, flat, ps, outs, partials, n, cdt))
    stored = [_finish(o, shape, dtype) for o in outs]
    if reduce:
        return [reduced(math.fsum(partials), divisor, dtype), *stored], bad
    return stored, bad


SMALL = 64
"""Up to this many elements, a bound kernel evaluates its ``small`` expression: a few
ufunc calls cost less than the kernel machinery's few microseconds of Python."""
_KERNEL_DTYPES = (_HALF, _FLOAT, numpy.dtype(numpy.float64))


def bind(kernel: Kernel):
    """``kernel`` as a function of its input arrays that returns its one output, with the
    size and dtype gates in one place: the ``small`` expression for inputs of at most
    ``SMALL`` elements (float16 aside: it is computed in float32 and rounded once, at
    every size) or of a dtype the kernels do not take, else this executor's ``run``."""
    return bind_with(kernel, run)


def bind_with(kernel: Kernel, execute: Callable[..., tuple[list[Any], bool]]):
    """``bind`` for an executor whose ``run`` is ``execute`` (the native one shares the
    gates)."""
    small = kernel.small

    def bound(*inputs: Any) -> Any:
        first = inputs[0]
        dtype = first.dtype
        if small is not None:
            if dtype not in _KERNEL_DTYPES:
                return small(*inputs)
            n = first.size
            for x in inputs[1:]:
                if x.dtype != dtype:
                    return small(*inputs)
                if x.size > n:
                    n = x.size
            if n <= SMALL and dtype != _HALF:
                return small(*inputs)
        return execute(kernel, inputs)[0][0]

    bound.__name__ = bound.__qualname__ = kernel.name
    return bound


def lends(base: Any) -> bool:
    """Whether ``base`` is a buffer of the output cache (``KernelExecutor.lends``)."""
    return outputs.lends(base)


def block_count(n: int) -> int:
    return -(-n // BLOCK)


def in_blocks(n: int, work: Callable[[Iterator[int]], bool]) -> bool:
    """Runs ``work`` on the block indices of ``n`` elements, in this thread and, from
    ``PARALLEL_MIN`` elements, in the pool's threads too: each call takes the next block
    from one shared iterator (``next()`` on it is atomic under the GIL), so a thread the
    machine slows down takes fewer blocks instead of delaying the call. ``work`` returns
    whether it flagged a block; so does this."""
    nblocks = block_count(n)
    threads = min(_threads, nblocks) if n >= PARALLEL_MIN else 1
    blocks = iter(range(nblocks))
    futures = []
    if threads > 1:
        pool = _get_pool()
        futures = [pool.submit(work, blocks) for _ in range(1, threads)]
    bad = work(blocks)
    for future in futures:
        bad = future.result() or bad
    return bad


def _run_blocks(
    kernel: Kernel,
    flat: list[Any],
    params: list[Any],
    outs: list[numpy.ndarray],
    partials: list[float] | None,
    n: int,
    cdt: numpy.dtype,
    blocks: Iterator[int],
) -> bool:
    k = kernel.scratch
    scratch = _scratch(cdt, k + 1)
    body = kernel.numpy
    bad = False
    with numpy.errstate(all="ignore"):
        for b in blocks:
            lo = b * BLOCK
            hi = min(lo + BLOCK, n)
            tmp = scratch[: k + 1] if hi - lo == BLOCK else [s[: hi - lo] for s in scratch[: k + 1]]
            ins = [v if v is None or v.shape[0] != n else v[lo:hi] for v in flat]
            if partials is not None:
                if body(tmp[k], *[o[lo:hi] for o in outs], *ins, *params, *tmp[:k]):
                    bad = True
                partials[b] = float(numpy.add.reduce(tmp[k]))
            elif body(*[o[lo:hi] for o in outs], *ins, *params, *tmp[:k]):
                bad = True
    return bad


def _finish(out: numpy.ndarray, shape: tuple[int, ...], dtype: numpy.dtype) -> numpy.ndarray:
    if out.dtype != dtype:
        with numpy.errstate(over="ignore"):
            out = out.astype(dtype)
    return shaped(out, shape)


def shaped(out: numpy.ndarray, shape: tuple[int, ...]) -> numpy.ndarray:
    """``out`` in ``shape``; itself when it has that shape already: a reshaped view would
    hide that the array owns its memory, and a leaf would copy it to take it as its
    gradient."""
    return out if out.shape == shape else out.reshape(shape)


_LARGEST = {numpy.dtype(t): float(numpy.finfo(t).max) for t in (numpy.float16, numpy.float32)}


def reduced(total: float, divisor: float, dtype: numpy.dtype) -> Any:
    """``total / divisor`` as a scalar of ``dtype``; one too large for it is inf, without a
    warning (NumPy's error state is changed only then: that takes microseconds)."""
    value = total / divisor if divisor else math.nan
    if abs(value) <= _LARGEST.get(dtype, math.inf):
        return dtype.type(value)
    with numpy.errstate(over="ignore"):
        return dtype.type(value)
