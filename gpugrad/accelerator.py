"""``gpugrad.accelerator``: PyTorch's device-agnostic accelerator queries (``torch.accelerator``),
which PyTorch's "Learn the Basics" tutorial uses to pick its device::

    device = gg.accelerator.current_accelerator().type if gg.accelerator.is_available() else "cpu"

gpugrad's only accelerator is CUDA (through CuPy); every function is safe to call on a machine
without CuPy or a GPU."""

from __future__ import annotations

from . import cuda
from .backends.device import Device

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "synchronize",
]


def is_available() -> bool:
    """True when an accelerator (a CUDA device) can be used. Never raises."""
    return cuda.is_available()


def device_count() -> int:
    """The number of accelerator devices; 0 without one. Never raises."""
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``gpugrad.device("cuda")`` where CUDA is usable, else ``None`` (with
    ``check_available=False`` PyTorch reports the build's accelerator even when no device is
    present; gpugrad, built for whatever it finds, reports only a usable one)."""
    return Device("cuda") if cuda.is_available() else None


def current_device_index() -> int:
    """The index of the current accelerator device (0: gpugrad computes on the first CUDA
    device unless told otherwise); ``RuntimeError`` without one, as in PyTorch."""
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return 0


def synchronize(device: int | str | Device | None = None) -> None:
    """Wait for the work queued on an accelerator device (nothing to wait for without one)."""
    if cuda.is_available():
        cuda.synchronize(device if device is None or isinstance(device, int) else str(device))
