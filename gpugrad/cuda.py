"""``gpugrad.cuda``: CUDA device queries. Safe to call on a machine without CuPy or a GPU."""

from __future__ import annotations

from . import backends

__all__ = [
    "device_count",
    "empty_cache",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "memory_allocated",
    "synchronize",
]


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device. Never raises."""
    return backends.cuda_is_available()


def device_count() -> int:
    """The number of usable CUDA devices; 0 without CuPy or a driver. Never raises."""
    return backends.cuda_device_count()


def synchronize(device: int | str | None = None) -> None:
    """Wait for all queued work on a CUDA device."""
    index = 0 if device is None else device
    backends.get(index if isinstance(index, str) else f"cuda:{index}").synchronize()


def manual_seed(seed: int) -> None:
    """Seed the default generator of every CUDA device (gpugrad keeps one seed for all)."""
    from ._random import cuda_manual_seed_all

    cuda_manual_seed_all(seed)


manual_seed_all = manual_seed


def memory_allocated(device: int = 0) -> int:
    """Bytes of device memory held by live CUDA tensors (CuPy's memory pool in use)."""
    return int(backends.cuda_memory_pool(device).used_bytes())


def empty_cache() -> None:
    """Return the unused blocks of CuPy's memory pool to the driver."""
    backends.cuda_memory_pool(0).free_all_blocks()
