"""Runs a ``Kernel`` on CuPy arrays through the module built from its source.

Only this module touches CuPy's kernel API; the sources come from ``cuda_source``,
compiled on first use by ``load_module`` (without ``-ftz``, unlike ``cupy.RawModule``).
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

OPTIONS = ("-std=c++14", "--ftz=false")
"""NVRTC options of the kernels' modules (``fusion_cuda`` adds ``--fmad=false``)."""


def load_module(cupy: Any, code: str, options: tuple[str, ...]) -> Any:
    """``code`` compiled by NVRTC with ``options`` as given, loaded on the current device;
    ``module.get_function(name)`` launches as a ``RawKernel`` does: ``fn(grid, block, args)``.

    Not ``cupy.RawModule``: CuPy appends ``-ftz=true`` after the caller's options
    (``cupy.cuda.compiler._compile_with_cache_cuda``) and NVRTC obeys the last one, so every
    kernel built that way flushes float32 subnormals to zero, whatever it asks for (the
    H200 run: a fused ``abs(1e-40)`` gave 0). PyTorch's CUDA kernels keep subnormals, as
    the CPU does. ``compile_using_nvrtc``, the step of CuPy's compile that follows, adds
    only the target architecture (of the current device). The caller caches the module."""
    try:
        compile_using_nvrtc = cupy.cuda.compiler.compile_using_nvrtc
        new_module = cupy.cuda.function.Module
    except AttributeError:  # a CuPy whose internals moved: its public path still works
        _warn_flushing_fallback()
        return cupy.RawModule(code=code, options=tuple(options))
    binary = compile_using_nvrtc(code, tuple(options))
    if isinstance(binary, tuple):  # (cubin or PTX, lowered names) since CuPy 9
        binary = binary[0]
    if isinstance(binary, str):
        binary = binary.encode()
    module = new_module()
    module.load(binary)
    return module


_warned_fallback = False


def _warn_flushing_fallback() -> None:
    """One warning per process that kernels go through ``cupy.RawModule`` (and so flush
    float32 subnormals): this CuPy lacks ``cuda.compiler.compile_using_nvrtc`` or
    ``cuda.function.Module``, the internal calls ``load_module`` relies on."""
    global _warned_fallback
    if not _warned_fallback:
        _warned_fallback = True
        import warnings

        warnings.warn(
            "gpugrad: this CuPy has no cupy.cuda.compiler.compile_using_nvrtc; gpugrad's "
            "CUDA kernels are built by cupy.RawModule, which flushes float32 subnormals to 0",
            RuntimeWarning,
            stacklevel=3,
        )


class CupyKernels:
    """Compiled modules and reduction workspaces for one CUDA device."""

    def __init__(self, cupy: Any, device: Any) -> None:
        self.cupy = cupy
        self.device = device
        self._modules: dict[tuple[str, str], Any] = {}
        self._functions: dict[str, tuple[Any, int]] = {}
        self._workspaces: dict[int, tuple[Any, Any]] = {}
        self._sm_count: int | None = None

    def _function(self, kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool):
        """The compiled function of one variant and the most blocks worth launching for it:
        as many as the device holds at once (its occupancy), so that no block waits for a
        second wave; the grid-stride loop covers the rest."""
        name = cuda_source.function_name(kernel, dtype, present, reduce)
        entry = self._functions.get(name)
        if entry is None:
            key = (kernel.name, dtype)
            module = self._modules.get(key)
            if module is None:
                module = self._modules[key] = load_module(
                    self.cupy, cuda_source.source(kernel, dtype), OPTIONS
                )
            fn = module.get_function(name)
            limit = self._sms() * self._resident_blocks(fn)
            if reduce:
                limit = min(limit, cuda_source.MAX_REDUCE_BLOCKS)
            entry = self._functions[name] = (fn, max(1, limit))
        return entry

    def _sms(self) -> int:
        if self._sm_count is None:
            device = self.cupy.cuda.Device(self.device.id)
            self._sm_count = int(device.attributes["MultiProcessorCount"])
        return self._sm_count

    def _resident_blocks(self, fn: Any) -> int:
        try:  # a driver function (cupy.cuda.function.Function); a RawKernel's is .kernel
            function = getattr(fn, "kernel", fn)
            blocks = self.cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
                function.ptr, cuda_source.BLOCK_THREADS, 0
            )
        except Exception:  # a CuPy without the occupancy call: a safe guess
            blocks = 4
        return max(1, int(blocks))

    @staticmethod
    def _grid(n: int, limit: int) -> int:
        per_block = cuda_source.BLOCK_THREADS * cuda_source.UNROLL
        return max(1, min(-(-n // per_block), limit))

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

    def bind(self, kernel: Kernel):
        """``kernel`` as a function of its input arrays that returns its one output; its
        ``small`` expression where the kernels do not apply (non-float or differing
        dtypes). No size gate: one launch costs the same as CuPy's own ufuncs."""
        small = kernel.small

        def bound(*inputs: Any) -> Any:
            dtype = inputs[0].dtype
            if small is not None and (
                dtype.kind != "f" or any(x.dtype != dtype for x in inputs[1:])
            ):
                return small(*inputs)
            return self.run(kernel, inputs)[0][0]

        bound.__name__ = bound.__qualname__ = kernel.name
        return bound

    def lends(self, base: Any) -> bool:
        """CuPy's memory pool owns every buffer: no output cache lends one."""
        return False

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
        dtype_name = dtype.name  # a property that takes microseconds: read it once
        if dtype_name not in cuda_source.DTYPES:
            raise TypeError(f"fused kernel '{kernel.name}' does not support {dtype}")
        shape = present_arrays[0].shape
        for x in present_arrays[1:]:
            if x.shape != shape:
                shape = numpy.broadcast_shapes(shape, x.shape)
        n = math.prod(shape)
        compute = _COMPUTE[dtype_name]
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
            stored = [cupy.empty(shape, dtype=dtype) for _ in kernel.stored(reduce)]
            if reduce:
                result = cupy.empty((), dtype=dtype)
                if n == 0:
                    result.fill(0.0 if divisor else math.nan)
                    return [result, *stored], False
                partials, counter = self._workspace()
                fn, limit = self._function(kernel, dtype_name, tuple(present), True)
                args += [partials, counter, result, numpy.float64(divisor), *stored]
                args.append(numpy.int64(n))
                fn((self._grid(n, limit),), (cuda_source.BLOCK_THREADS,), tuple(args))
                return [result, *stored], False
            if n:
                fn, limit = self._function(kernel, dtype_name, tuple(present), False)
                args += [*stored, numpy.int64(n)]
                fn((self._grid(n, limit),), (cuda_source.BLOCK_THREADS,), tuple(args))
            return stored, False
