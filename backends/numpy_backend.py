"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy

from .array_backend import ArrayBackend
from .device import Device
from .kernels import defs as _k
from .kernels import native_exec, numpy_exec
from .threadpools import matmul as _matmul

CPU_KERNELS = ("numpy", "native")


class NumpyBackend(ArrayBackend):
    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, Device("cpu"))
        self.matmul = _matmul  # small products on one BLAS thread (see threadpools)
        self.kernels: Any = numpy_exec
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
        return base is None or (x.flags.writeable and self.kernels.outputs.lends(base))

    def sigmoid(self, x: Any) -> Any:
        """``1 / (1 + exp(-x))`` (PyTorch's float32 rounding); ``exp(-x)`` overflows to inf
        for x < -88 (float32) and ``1 / inf`` is the exact limit, 0, without a warning.
        Tiny arrays skip the kernel machinery (a few microseconds of Python) and evaluate
        the same expression directly."""
        dtype = x.dtype
        if dtype not in _KERNEL_DTYPES or (x.size <= _TINY and dtype != _HALF):
            with numpy.errstate(over="ignore"):
                return 1 / (1 + numpy.exp(-x))
        return self.kernels.run(_k.SIGMOID, (x,))[0][0]

    def sigmoid_backward(self, g: Any, y: Any) -> Any:
        """``g * y * (1 - y)`` from sigmoid's output ``y``, in one pass (float16 computed
        in float32 and rounded once, at every size)."""
        dtype = y.dtype
        if g.dtype != dtype or dtype not in _KERNEL_DTYPES or (y.size <= _TINY and dtype != _HALF):
            return g * y * (1 - y)
        return self.kernels.run(_k.SIGMOID_BACKWARD, (g, y))[0][0]


_TINY = 64
_HALF = numpy.dtype(numpy.float16)
_KERNEL_DTYPES = (_HALF, numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
