"""glibc's heap, kept for the next step's arrays instead of handed back to the kernel.

A training step allocates and frees the same large arrays every iteration (activations,
their gradients, attention's scores: 0.5-4 MB each). glibc serves a block over its mmap
threshold with a fresh ``mmap`` and unmaps it on ``free``, and trims the heap's free top
beyond its trim threshold; either way the next iteration's arrays arrive as untouched
pages and every 4 KiB page faults (and is zeroed by the kernel) on first write. glibc
raises both thresholds by itself as it sees large blocks freed, but only up to the size
last freed, so a step whose arrays vary in size keeps faulting: the attention block of
the benchmark (``bench``, L) took ~3,800 page faults and 9-13 ms of system time per
iteration (of ~50 ms), PyTorch ~210 and 0.7 ms.

:func:`keep_freed_memory` sets the two thresholds to where glibc's own adjustment tops out
on 64-bit machines (blocks up to 32 MiB come from the heap; up to 64 MiB of free heap top
is kept): the same block then measured 0.2 faults and under 1 ms of system time per
iteration. The process then holds up to 64 MiB of freed memory for reuse. It runs once,
when the CPU backend is created, only under glibc, and not where the user has set either
threshold (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``) or
``GPUGRAD_KEEP_FREED_MEMORY=0``.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "VARIABLE", "applies", "keep_freed_memory"]

MMAP_THRESHOLD = 32 << 20
"""Blocks up to this size come from the heap (glibc's ``DEFAULT_MMAP_THRESHOLD_MAX``)."""
TRIM_THRESHOLD = 64 << 20
"""Free heap top kept up to this size (twice the mmap threshold, as glibc's own rule)."""
VARIABLE = "GPUGRAD_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def _glibc() -> ctypes.CDLL | None:
    """The process's glibc, where :func:`keep_freed_memory` applies (Linux, glibc, neither
    threshold nor ``GPUGRAD_KEEP_FREED_MEMORY=0`` set by the user); else None."""
    if os.environ.get(VARIABLE, "1") == "0" or not sys.platform.startswith("linux"):
        return None
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    # glibc only (musl's mallopt has no thresholds)
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return None
    return libc


def applies() -> bool:
    """Whether :func:`keep_freed_memory` sets the thresholds in this environment (nothing
    is changed by asking)."""
    return _glibc() is not None


def keep_freed_memory() -> bool:
    """Sets glibc's mmap and trim thresholds (see the module's docstring); returns whether
    it did."""
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
