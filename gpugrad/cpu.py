"""``gpugrad.cpu``: the CPU device's queries, as ``torch.cpu`` (one device, always there),
and the deprecated ``gpugrad.cpu.amp`` spellings."""

from __future__ import annotations

from ._amp_legacy import cpu_amp as amp

__all__ = ["amp", "current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """Always True: the CPU is always there."""
    return True


def device_count() -> int:
    """Always 1."""
    return 1


def current_device() -> str:
    """``"cpu"``."""
    return "cpu"


def synchronize(device: object = None) -> None:
    """Nothing to wait for: CPU work is done when its call returns."""
