"""``gpugrad.cuda``: CUDA device queries. Safe to call on a machine without CuPy or a GPU."""

from __future__ import annotations

from typing import Any

from . import backends

__all__ = [
    "device_count",
    "empty_cache",
    "get_rng_state",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "memory_allocated",
    "set_rng_state",
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


def _device_index(device: int | str) -> int:
    if isinstance(device, int):
        return device
    from .backends.device import Device

    return Device(str(device)).index or 0


def get_rng_state(device: int | str = "cuda") -> Any:
    """The state of a CUDA device's default generator (what dropout and ``rand`` on that
    device draw from) as a CPU ``uint8`` tensor, for ``set_rng_state``; a checkpoint saves
    it beside ``gpugrad.default_generator.get_state()`` to resume a run on the GPU exactly."""
    from ._random import cuda_default_generator

    return cuda_default_generator(_device_index(device)).get_state()


def set_rng_state(new_state: Any, device: int | str = "cuda") -> None:
    """Restore a state returned by ``get_rng_state`` to a CUDA device's default generator."""
    from ._random import cuda_default_generator

    cuda_default_generator(_device_index(device)).set_state(new_state)


def memory_allocated(device: int = 0) -> int:
    """Bytes of device memory held by live CUDA tensors (CuPy's memory pool in use)."""
    return int(backends.cuda_memory_pool(device).used_bytes())


def empty_cache() -> None:
    """Return the unused blocks of CuPy's memory pool to the driver."""
    backends.cuda_memory_pool(0).free_all_blocks()
