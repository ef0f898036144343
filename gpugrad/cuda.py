"""``gpugrad.cuda``: CUDA device queries. Safe to call on a machine without CuPy or a GPU."""

from __future__ import annotations

from . import backends


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device. Never raises."""
    return backends.cuda_is_available()


def device_count() -> int:
    return backends.cuda_device_count()


def synchronize(device: int | str | None = None) -> None:
    """Wait for all queued work on a CUDA device."""
    index = 0 if device is None else device
    backends.get(index if isinstance(index, str) else f"cuda:{index}").synchronize()


def manual_seed(seed: int) -> None:
    backends.seed_all(seed)
