"""OpenBLAS's threads and gpugrad's kernel threads on the same cores.

NumPy's matrix products run on OpenBLAS's threads (one per core by default); gpugrad's
fused CPU kernels run on their own small pool (``kernels.numpy_exec``, 2 threads, from
256K elements). On a small product a second BLAS thread saves a few microseconds at best
(a 569×30 @ 30×64 product: 22 µs on two threads, 31 µs on one, on the 2-core machine the
project is measured on), but once anything else wants a core - another process, gpugrad's
own kernel threads, the Python thread - OpenBLAS's threads wait for each other: the
breast-cancer MLP step took 45-102 ms (medians) with two BLAS threads and 3.7-5.3 ms with
one while other processes kept 1.7-1.8 of the 2 cores busy (``python -m bench.threads``).
So gpugrad runs its small products
(under :data:`SMALL_PRODUCT` multiply-adds) on one BLAS thread and leaves larger ones,
where threads pay, to OpenBLAS's own setting; NumPy calls outside gpugrad are untouched.

The BLAS pool is driven through ``threadpoolctl`` (optional: ``pip install
gpugrad[cpu]``), which knows every BLAS NumPy may be built with. Without it, or with
``GPUGRAD_BLAS_SMALL_ONE_THREAD=0``, products run with OpenBLAS's own thread count.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy

from . import fp_errors

SMALL_PRODUCT = 1 << 22
"""Multiply-adds (m·n·k, times the batch) under which a product runs on one BLAS thread."""
BLAS_ALONE_BELOW = 1 << 18
"""Products this small are left alone: OpenBLAS runs them on one thread by itself (its
``GEMM_MULTITHREAD_THRESHOLD``), and switching costs a few microseconds."""


class _BlasPools:
    """The BLAS libraries' thread controls, found once (``threadpoolctl`` scans the loaded
    libraries); nested and concurrent limits share one count, so the thread count set
    before the first is the one restored after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved: list[tuple[Any, int]] = []
        self._controllers: list[Any] | None = None

    def controllers(self) -> list[Any]:
        if self._controllers is None:
            self._controllers = []
            if os.environ.get("GPUGRAD_BLAS_SMALL_ONE_THREAD", "1") != "0":
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    pass
                else:
                    found = ThreadpoolController().select(user_api="blas")
                    self._controllers = list(found.lib_controllers)
        return self._controllers

    def enter(self) -> None:
        with self._lock:
            if self._active == 0:
                self._saved = [(c, c.get_num_threads()) for c in self._controllers or ()]
                for c, n in self._saved:
                    if n != 1:
                        c.set_num_threads(1)
            self._active += 1

    def exit(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                for c, n in self._saved:
                    if n != 1:
                        c.set_num_threads(n)
                self._saved = []


_pools = _BlasPools()


def matmul(a: Any, b: Any) -> Any:
    """``numpy.matmul``, on one BLAS thread when the product is small. A batched product
    is judged by one matrix's product: NumPy makes one BLAS call per matrix, and OpenBLAS
    splits each call that is over its own threshold across its threads, so a batch of
    middling products (attention's 64 heads × 128×32×128) pays a thread hand-off per
    matrix, ruinous once another process wants a core (measured: a causal-attention
    block's forward + backward took 0.4-2 s with two threads on the loaded 2-core machine,
    0.13-0.17 s on one)."""
    rows = a.shape[-2] if a.ndim > 1 else 1
    work = rows * a.shape[-1] * (b.shape[-1] if b.ndim > 1 else 1)
    token = fp_errors.set_state(fp_errors.IGNORE)  # inf * 0 is nan, as in PyTorch: no warning
    try:
        if not BLAS_ALONE_BELOW <= work < SMALL_PRODUCT or not _pools.controllers():
            return numpy.matmul(a, b)
        _pools.enter()
        try:
            return numpy.matmul(a, b)
        finally:
            _pools.exit()
    finally:
        fp_errors.reset_state(token)


class one_thread:  # noqa: N801 - a context manager, used as a function
    """Products inside run on one BLAS thread (a loop of small products, such as an
    LSTM's steps: one switch for the loop instead of one per product)."""

    def __enter__(self) -> None:
        if _pools.controllers():
            _pools.enter()
            self.entered = True
        else:
            self.entered = False

    def __exit__(self, *exc: Any) -> None:
        if self.entered:
            _pools.exit()
