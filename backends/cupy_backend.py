"""The CUDA backend: CuPy arrays on one GPU. Imported only when a CUDA tensor is asked for."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

import numpy

from .array_backend import ArrayBackend, doubling_scan
from .device import Device
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

    # --- reductions (sort, topk, scans, order statistics) --------------------------------
    def quiet(self) -> Any:
        return contextlib.nullcontext()  # CuPy never warns

    def scan(self, ufunc: Any, x: Any, dim: int) -> Any:
        """CuPy's ufuncs offer ``accumulate`` for a few only: a doubling scan."""
        return doubling_scan(self.xp, ufunc, x, dim)
