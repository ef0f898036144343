"""Array backends: one object per device that owns the array module and its kernels.

This package depends on NumPy (and, lazily, CuPy) only; it knows nothing about autograd.
"""

from __future__ import annotations

from typing import Any

from . import dtypes
from .array_backend import ArrayBackend
from .device import Device
from .kernels.native_exec import NativeBuildError
from .numpy_backend import NumpyBackend

__all__ = [
    "ArrayBackend",
    "Device",
    "NativeBuildError",
    "NumpyBackend",
    "cpu",
    "cpu_kernels",
    "cuda_device_count",
    "cuda_is_available",
    "dtypes",
    "get",
    "get_cpu_kernels",
    "set_cpu_kernels",
]

cpu = NumpyBackend()
_backends: dict[str, ArrayBackend] = {"cpu": cpu}


def set_cpu_kernels(name: str) -> None:
    """Run the CPU's fused kernels with ``"auto"`` (the default: the native kernels if a
    C++ compiler builds them on the first fused kernel call, else NumPy's), ``"numpy"``
    (NumPy's ufuncs, nothing to build) or ``"native"`` (their C bodies, built now, once per
    machine, with the system's C++ compiler; raises ``NativeBuildError`` with the
    compiler's message when that fails). The ``GPUGRAD_CPU_KERNELS`` environment variable
    sets it at import."""
    cpu.use_kernels(name, f"gg.set_cpu_kernels({name!r}) in this process")


def get_cpu_kernels() -> str:
    """``"native"`` or ``"numpy"``: what runs the CPU's fused kernels (``"auto"`` while the
    default has not chosen yet: it does on the first fused kernel call)."""
    return cpu.kernels_name()


def cpu_kernels() -> str:
    """Which executor runs the CPU's fused kernels and why, in words: ``"native (the
    default: built ... in 5.1 s ...)"``, ``"numpy (... no C++ compiler ...)"`` …"""
    return cpu.describe_kernels()


def _import_cupy() -> Any:
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def cuda_device_count() -> int:
    """Number of usable CUDA devices; 0 without CuPy or a driver. Never raises."""
    cupy = _import_cupy()
    if cupy is None:
        return 0
    try:
        if not cupy.cuda.is_available():
            return 0
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def cuda_is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device. Never raises."""
    return cuda_device_count() > 0


def get(device: Device | str | None) -> ArrayBackend:
    """The backend for ``device`` (``None`` means the CPU)."""
    if device is None:
        return cpu
    key = device if isinstance(device, str) else str(device)
    backend = _backends.get(key)
    if backend is None:
        backend = _backends[key] = _create(Device(key))
    return backend


def _create(device: Device) -> ArrayBackend:
    if device.type == "cpu":
        return cpu
    cupy = _import_cupy()
    if cupy is None:
        raise RuntimeError(
            f"device '{device}' needs CuPy, which is not installed: "
            "pip install 'gpugrad[cuda13]' (CUDA 13) or 'gpugrad[cuda12]' (CUDA 12)"
        )
    count = cuda_device_count()
    if count == 0:
        raise RuntimeError(
            f"device '{device}' was asked for, but CuPy finds no CUDA device "
            "(no NVIDIA GPU or driver on this machine)"
        )
    index = 0 if device.index is None else device.index
    if index >= count:
        raise RuntimeError(
            f"CUDA error: invalid device ordinal: cuda:{index} asked for, "
            f"but {count} CUDA device(s) are present"
        )
    from .cupy_backend import CupyBackend

    backend = CupyBackend(cupy, index)
    if _seed is not None:
        backend.seed(_seed)
    _backends[f"cuda:{index}"] = backend
    if device.index is None:
        _backends["cuda"] = backend
    return backend


_seed: int | None = None


def seed_all(seed: int) -> None:
    """Seed every backend's generator, including backends created later."""
    global _seed
    _seed = seed
    for backend in set(_backends.values()):
        backend.seed(seed)


def cuda_memory_pool(index: int = 0) -> Any:
    """CuPy's default device memory pool (the backend for ``cuda:index`` must exist)."""
    backend = get(f"cuda:{index}")
    return backend.xp.get_default_memory_pool()


def from_dlpack(obj: Any) -> tuple[ArrayBackend, Any]:
    """``obj`` (any DLPack producer: a PyTorch, CuPy or NumPy array) as an array of the
    backend for its device, sharing memory."""
    device_type, index = obj.__dlpack_device__()
    if int(device_type) == 1:  # kDLCPU
        import numpy

        return cpu, numpy.from_dlpack(obj)
    if int(device_type) == 2:  # kDLCUDA
        backend = get(f"cuda:{index}")
        return backend, backend.xp.from_dlpack(obj)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {device_type}")
