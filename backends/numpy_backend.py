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
from .threadpools import one_thread as _one_thread

CPU_KERNELS = ("numpy", "native")


class NumpyBackend(ArrayBackend):
    """The CPU's array backend: NumPy arrays, with fused kernels from NumPy's ufuncs or native C
    (``set_cpu_kernels``)."""

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, Device("cpu"))
        self.matmul = _matmul  # small products on one BLAS thread (see threadpools)
        self.one_blas_thread = _one_thread
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

    # --- integration: host arrays, dtype arithmetic, error state (issues 14, 15) ---------
    def errstate(self, **kwargs: str) -> Any:
        """``numpy.errstate``: NumPy's floating-point warnings set for the block."""
        return numpy.errstate(**kwargs)

    def is_host_array(self, x: Any) -> bool:
        """Whether ``x`` is a NumPy array (``numpy.ndarray``)."""
        return isinstance(x, numpy.ndarray)

    def is_host_scalar(self, x: Any) -> bool:
        """Whether ``x`` is a NumPy scalar (``numpy.generic``: ``numpy.float32(1)`` …)."""
        return isinstance(x, numpy.generic)

    def host_array(self, data: Any) -> numpy.ndarray:
        """``numpy.array(data)``: NumPy's own typing of a list of NumPy scalars."""
        return numpy.array(data)

    def broadcast_shapes(self, *shapes: tuple[int, ...]) -> tuple[int, ...]:
        """The shape ``shapes`` broadcast to (``ValueError`` when they do not)."""
        return numpy.broadcast_shapes(*shapes)

    def result_type(self, *array_dtypes: Any) -> numpy.dtype:
        """The dtype NumPy promotes arrays of ``array_dtypes`` to."""
        return numpy.result_type(*array_dtypes)

    def float32_mul(self, a: float, b: float) -> float:
        """``a * b`` computed in float32 (each rounded to float32 first), as a float."""
        return float(numpy.float32(a) * numpy.float32(b))

    def integer_range(self, dtype: Any) -> tuple[int, int]:
        """The smallest and largest value of integer ``dtype``."""
        info = numpy.iinfo(dtype)
        return int(info.min), int(info.max)

    def mantissa_bits(self, dtype: Any) -> int:
        """The explicit mantissa bits of floating ``dtype`` (23 for float32)."""
        return int(numpy.finfo(dtype).nmant)
