"""The CUDA backend: CuPy arrays on one GPU. Imported only when a CUDA tensor is asked for."""

from __future__ import annotations

import importlib
from typing import Any

import numpy

from .array_backend import ArrayBackend
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

    # --- shape and index ops: CuPy's atomic scatter-add, device pointers -----------------
    def add_at_flat(self, size: int, positions: Any, values: Any) -> Any:
        import cupyx

        out = self.xp.zeros(size, dtype=values.dtype)
        cupyx.scatter_add(out, positions.reshape(-1), values.reshape(-1))
        return out

    def data_ptr(self, x: Any) -> int:
        return int(x.data.ptr)

    def storage_offset(self, x: Any) -> int:
        base = x
        while getattr(base, "base", None) is not None:
            base = base.base
        return (int(x.data.ptr) - int(base.data.ptr)) // x.dtype.itemsize
