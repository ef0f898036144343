"""``set_default_device`` / ``get_default_device``: the device the factory functions
(``tensor``, ``zeros``, ``arange``, ``randn`` ..., and so the layers' parameters) use when
no ``device`` is given, as PyTorch's. ``from_numpy`` and the legacy constructors
(``Tensor(data)``, ``LongTensor(...)``) stay on the CPU, as in PyTorch."""

from __future__ import annotations

from typing import Any

from .backends.device import Device

current: str | None = None
"""The default device's name, or ``None`` for the CPU (what the factories read)."""


def set_default_device(device: Any) -> None:
    """Make ``device`` (a name, a ``gpugrad.device``, a CUDA index, or ``None`` for the CPU)
    the device of tensors the factory functions create without a ``device``."""
    global current
    if device is None:
        current = None
        return
    if isinstance(device, int):
        device = f"cuda:{device}"
    current = str(Device(device))


def get_default_device() -> Device:
    """The device ``set_default_device`` chose (``device(type='cpu')`` by default)."""
    return Device(current or "cpu")
