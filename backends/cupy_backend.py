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

    # --- shape and index ops: CuPy's atomic scatter-add, device pointers -----------------
    def add_at_flat(self, size: int, positions: Any, values: Any) -> Any:
        import cupyx

        out = self.xp.zeros(size, dtype=values.dtype)
        cupyx.scatter_add(out, positions.reshape(-1), values.reshape(-1))
        return out

    def add_rows(self, shape: tuple[int, ...], index: Any, values: Any) -> Any:
        """CuPy's atomic ``scatter_add`` of whole slices (no sorting, no flat positions)."""
        import cupyx

        out = self.xp.zeros(shape, dtype=values.dtype)
        cupyx.scatter_add(out, index, values)
        return out

    def scatter_reduce(
        self, x: Any, dim: int, index: Any, src: Any, reduce: str, include_self: bool
    ) -> Any:
        """``amax``/``amin`` with CuPy's atomic ``scatter_max``/``scatter_min``; ``prod``,
        which CuPy has no scatter for, through host memory (NumPy's ``multiply.at``)."""
        if reduce == "prod":
            from . import cpu

            host = cpu.scatter_reduce(
                self.to_host(x), dim, self.to_host(index), self.to_host(src), reduce, include_self
            )
            return self.asarray(host)
        import cupyx

        xp = self.xp
        positions = self.flat_positions(x.shape, dim, index).reshape(-1)
        out = xp.array(x, copy=True).reshape(-1)
        if not include_self:
            if x.dtype.kind == "f":
                out[positions] = -xp.inf if reduce == "amax" else xp.inf
            else:
                info = xp.iinfo(x.dtype)
                out[positions] = info.min if reduce == "amax" else info.max
        combine = cupyx.scatter_max if reduce == "amax" else cupyx.scatter_min
        combine(out, positions, src.reshape(-1))
        return out.reshape(x.shape)

    def data_ptr(self, x: Any) -> int:
        return int(x.data.ptr)

    def storage_offset(self, x: Any) -> int:
        base = x
        while getattr(base, "base", None) is not None:
            base = base.base
        return (int(x.data.ptr) - int(base.data.ptr)) // x.dtype.itemsize
