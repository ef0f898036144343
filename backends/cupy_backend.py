"""The CUDA backend: CuPy arrays on one GPU. Imported only when a CUDA tensor is asked for."""

from __future__ import annotations

import importlib
from typing import Any

import numpy

from .array_backend import ArrayBackend
from .device import Device
from .kernels import defs as _k
from .kernels.cupy_exec import CupyKernels


class CupyBackend(ArrayBackend):
    name = "cupy"

    def __init__(self, cupy: Any, index: int) -> None:
        super().__init__(cupy, Device("cuda", index))
        self.cuda_device = cupy.cuda.Device(index)
        self.kernels = CupyKernels(cupy, self.cuda_device)
        self.special = importlib.import_module("cupyx.scipy.special")

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        with self.cuda_device:
            return self.xp.asarray(data, dtype=dtype)

    def to_host(self, x: Any) -> numpy.ndarray:
        return self.xp.asnumpy(x)

    def synchronize(self) -> None:
        self.cuda_device.synchronize()

    def _scatter_add(self, out: Any, key: Any, values: Any) -> None:
        import cupyx

        cupyx.scatter_add(out, key, values)

    def assign(self, dst: Any, src: Any) -> Any:
        dst[...] = src
        return dst

    # --- fused kernels (backends/kernels) ----------------------------------------------
    def sigmoid(self, x: Any) -> Any:
        if x.dtype.kind != "f":
            return 1 / (1 + self.xp.exp(-x))
        return self.kernels.run(_k.SIGMOID, (x,))[0][0]

    def sigmoid_backward(self, g: Any, y: Any) -> Any:
        """``g * y * (1 - y)`` in one elementwise kernel."""
        if g.dtype != y.dtype or y.dtype.kind != "f":
            return g * y * (1 - y)
        return self.kernels.run(_k.SIGMOID_BACKWARD, (g, y))[0][0]
