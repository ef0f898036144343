"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy

from .array_backend import ArrayBackend
from .device import Device
from .kernels import native_exec, numpy_exec, special
from .threadpools import matmul as _matmul

CPU_KERNELS = ("numpy", "native")


class NumpyBackend(ArrayBackend):
    """The CPU's array backend: NumPy arrays, with fused kernels from NumPy's ufuncs or native C
    (``set_cpu_kernels``)."""

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, Device("cpu"))
        self.matmul = _matmul  # small products on one BLAS thread (see threadpools)
        self.kernels = numpy_exec
        self.special = special
        wanted = os.environ.get("GPUGRAD_CPU_KERNELS", "numpy")
        try:
            self.use_kernels(wanted)
        except (ValueError, native_exec.NativeBuildError) as error:
            message = f"GPUGRAD_CPU_KERNELS={wanted}: {error}; using the NumPy kernels"
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def use_kernels(self, name: str) -> None:
        """Which executor runs the fused kernels: ``"numpy"`` (NumPy's ufuncs over
        cache-sized blocks) or ``"native"`` (the kernels' C bodies compiled on this machine,
        built now if not cached; raises ``NativeBuildError`` when that fails)."""
        if name not in CPU_KERNELS:
            raise ValueError(f"CPU kernels must be one of {CPU_KERNELS}, got {name!r}")
        if name == "native":
            native_exec.build_all()
            self.kernels = native_exec
        else:
            self.kernels = numpy_exec

    def kernels_name(self) -> str:
        return "native" if self.kernels is native_exec else "numpy"

    def to_host(self, x: Any) -> numpy.ndarray:
        return numpy.asarray(x)

    def owns(self, x: Any) -> bool:
        """Also true for a fused kernel's output: a view of a buffer of the kernels' output
        cache, which no other array shares while it lives (so a leaf takes it as its
        gradient without the copy that a view of another array needs)."""
        base = x.base
        return base is None or (x.flags.writeable and self.kernels.lends(base))
