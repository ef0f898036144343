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

    # --- linear algebra (ops/linalg.py) -------------------------------------------------
    def _linalg(self, name: str, function: Any, *args: Any) -> Any:
        """CuPy reports a singular or indefinite matrix only under ``errstate``."""
        import cupyx

        with cupyx.errstate(linalg="raise"):
            return super()._linalg(name, function, *args)

    # --- elementwise math (the elementwise family) ---
    def digamma(self, x: Any) -> Any:
        """``cupyx``'s psi with PyTorch's values at 0 (``-inf`` at +0, ``inf`` at -0) and
        NaN at the negative integers."""
        xp = self.xp
        out = self.special.digamma(x).astype(x.dtype, copy=False)
        out = xp.where(x == 0, xp.copysign(xp.inf, -x).astype(x.dtype), out)
        return xp.where((x < 0) & (x == xp.floor(x)), xp.nan, out).astype(x.dtype, copy=False)

    # --- reductions (sort, topk, scans, order statistics) --------------------------------
    def quiet(self) -> Any:
        return contextlib.nullcontext()  # CuPy never warns

    def scan(self, ufunc: Any, x: Any, dim: int) -> Any:
        """CuPy's ufuncs offer ``accumulate`` for a few only: a doubling scan."""
        return doubling_scan(self.xp, ufunc, x, dim)
