"""Runs a ``Kernel`` on CuPy arrays through the ``RawModule`` built from its source.

Only this module touches CuPy's kernel API (public: ``cupy.RawModule``); the sources come
from ``cuda_source``, compiled on first use (CuPy caches the binaries on disk).
Nothing here synchronizes with the device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy

from . import cuda_source
from .spec import Kernel

_COMPUTE = {"float16": numpy.float32, "float32": numpy.float32, "float64": numpy.float64}


class CupyKernels:
    """Compiled modules and reduction workspaces for one CUDA device."""

    def __init__(self, cupy: Any, device: Any) -> None:
        self.cupy = cupy
        self.device = device
        self._modules: dict[tuple[str, str], Any] = {}
        self._functions: dict[str, Any] = {}
        self._workspaces: dict[int, tuple[Any, Any]] = {}
        self._grid_limit: int | None = None

    def _function(self, kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool):
        name = cuda_source.function_name(kernel, dtype, present, reduce)
        fn = self._functions.get(name)
        if fn is None:
            key = (kernel.name, dtype)
            module = self._modules.get(key)
            if module is None:
                module = self._modules[key] = self.cupy.RawModule(
                    code=cuda_source.source(kernel, dtype), options=("-std=c++14",)
                )
            fn = self._functions[name] = module.get_function(name)
        return fn

    def _grid(self, n: int) -> int:
        if self._grid_limit is None:
            sms = self.cupy.cuda.Device(self.device.id).attributes["MultiProcessorCount"]
            self._grid_limit = max(1, min(cuda_source.MAX_REDUCE_BLOCKS, 8 * sms))
        return max(1, min(-(-n // cuda_source.BLOCK_THREADS), self._grid_limit))

    def _workspace(self) -> tuple[Any, Any]:
        """Partials and the ticket counter, per stream (the last block resets the counter)."""
        stream = self.cupy.cuda.get_current_stream().ptr
        space = self._workspaces.get(stream)
        if space is None:
            cupy = self.cupy
            space = self._workspaces[stream] = (
                cupy.empty(cuda_source.MAX_REDUCE_BLOCKS, dtype=cupy.float64),
                cupy.zeros(1, dtype=cupy.uint32),
            )
        return space

    def run(
        self,
        kernel: Kernel,
        inputs: Sequence[Any],
        params: Sequence[float] = (),
        *,
        reduce: bool = False,
        divisor: float = 1.0,
    ) -> tuple[list[Any], bool]:
        """As ``numpy_exec.run``; never flags (checking would need a device sync)."""
        cupy = self.cupy
        present_arrays = [x for x in inputs if x is not None]
        dtype = present_arrays[0].dtype
        if dtype.name not in cuda_source.DTYPES:
            raise TypeError(f"fused kernel '{kernel.name}' does not support {dtype}")
        shape = present_arrays[0].shape
        for x in present_arrays[1:]:
            if x.shape != shape:
                shape = numpy.broadcast_shapes(shape, x.shape)
        n = math.prod(shape)
        compute = _COMPUTE[dtype.name]
        args: list[Any] = []
        present = []
        for name, x in zip(kernel.inputs, inputs):
            if x is None:
                continue
            if name in kernel.optional:
                present.append(name)
            if x.dtype != dtype:
                x = x.astype(dtype)
            if x.size == 1:
                args += [cupy.ascontiguousarray(x).reshape(1), numpy.int64(0)]
            else:
                if x.shape != shape:
                    x = cupy.broadcast_to(x, shape)
                args += [cupy.ascontiguousarray(x), numpy.int64(1)]
        args += [compute(p) for p in params]
        with self.device:
            if reduce:
                result = cupy.empty((), dtype=dtype)
                if n == 0:
                    result.fill(0.0 if divisor else math.nan)
                    return [result], False
                partials, counter = self._workspace()
                fn = self._function(kernel, dtype.name, tuple(present), True)
                args += [partials, counter, result, numpy.float64(divisor), numpy.int64(n)]
                fn((self._grid(n),), (cuda_source.BLOCK_THREADS,), tuple(args))
                return [result], False
            outs = [cupy.empty(shape, dtype=dtype) for _ in kernel.outputs]
            if n:
                fn = self._function(kernel, dtype.name, tuple(present), False)
                args += outs + [numpy.int64(n)]
                fn((self._grid(n),), (cuda_source.BLOCK_THREADS,), tuple(args))
            return outs, False
