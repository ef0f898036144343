"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any

import numpy

from . import fp_errors, heap
from .array_backend import ArrayBackend
from .device import Device
from .kernels import native_exec, numpy_exec, special
from .threadpools import matmul as _matmul
from .threadpools import one_thread as _one_thread

try:  # NumPy's clip as the ufunc it is, without ``numpy.clip``'s Python-level dispatch
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.umath import clip as _clip_ufunc

CPU_KERNELS = ("auto", "numpy", "native")
_FLOAT_SCALARS = frozenset((numpy.float16, numpy.float32, numpy.float64))
KERNELS_VARIABLE = "GPUGRAD_CPU_KERNELS"


class AutoKernels:
    """The default CPU executor (``"auto"``) until the first fused kernel runs: that call
    builds the native kernels (once per machine, cached; later processes load them in
    milliseconds) and keeps them, or keeps the NumPy kernels when there is no C++ compiler
    or the build fails (one ``RuntimeWarning`` naming the reason, never an error). Nothing is
    built at import; tiny arrays take the kernels' ``small`` expressions and decide nothing.
    """

    def __init__(self, backend: NumpyBackend) -> None:
        self.backend = backend
        self.lock = threading.Lock()

    def bind(self, kernel: Any) -> Any:
        return numpy_exec.bind_with(kernel, self.run)

    def run(self, kernel: Any, inputs: Any, params: Any = (), **options: Any) -> Any:
        return self.resolve().run(kernel, inputs, params, **options)

    def lends(self, base: Any) -> bool:
        return numpy_exec.lends(base)  # both CPU executors share one output cache

    def resolve(self) -> Any:
        """The executor chosen for good (deciding it now if no call has yet)."""
        with self.lock:  # one thread builds; the others wait for its choice
            if self.backend.kernels is self:
                self.backend.choose_kernels()
        kernels = self.backend.kernels
        return numpy_exec if kernels is self else kernels  # set back to "auto" meanwhile


class NumpyBackend(ArrayBackend):
    """The CPU's array backend: NumPy arrays, with fused kernels from native C (built on
    first use where a C++ compiler works) or NumPy's ufuncs (``set_cpu_kernels``)."""

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, Device("cpu"))
        heap.keep_freed_memory()  # the next step's arrays reuse freed pages (see heap)
        self.matmul = _matmul  # small products on one BLAS thread (see threadpools)
        self.expand = self._expand
        self.reshape = self._reshape
        self.where = self._where
        self.one_blas_thread = _one_thread
        self.special = special
        self.kernels_reason = ""
        wanted = os.environ.get(KERNELS_VARIABLE, "auto")
        try:
            self.use_kernels(wanted, f"{KERNELS_VARIABLE}={wanted}" if wanted != "auto" else "")
        except (ValueError, native_exec.NativeBuildError) as error:
            self.kernels = numpy_exec
            self.kernels_reason = f"{KERNELS_VARIABLE}={wanted} failed: {error}"
            message = f"{KERNELS_VARIABLE}={wanted}: {error}; using the NumPy kernels"
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def use_kernels(self, name: str, reason: str = "") -> None:
        """Which executor runs the fused kernels: ``"auto"`` (native if they build, on the
        first fused kernel call, else NumPy), ``"numpy"`` (NumPy's ufuncs over cache-sized
        blocks) or ``"native"`` (the kernels' C bodies compiled on this machine, built now
        if not cached; raises ``NativeBuildError`` when that fails)."""
        if name not in CPU_KERNELS:
            raise ValueError(f"CPU kernels must be one of {CPU_KERNELS}, got {name!r}")
        if name == "native":
            native_exec.build_all()
            self.kernels = native_exec
        elif name == "auto":
            self.kernels = AutoKernels(self)
        else:
            self.kernels = numpy_exec
        self.kernels_reason = reason

    def describe_kernels(self) -> str:
        """Which executor runs the fused kernels, and why (``gg.backends.cpu_kernels()``)."""
        name = self.kernels_name()
        reason = self.kernels_reason
        if name == "auto":
            try:
                cxx = " ".join(native_exec.compiler())
            except native_exec.NativeBuildError as error:
                reason = f"the default: no fused kernel has run yet; {error}"
            else:
                reason = (
                    "the default: no fused kernel has run yet; the first builds the native "
                    f"kernels with {cxx} (once per machine, cached in {native_exec.cache_dir()})"
                )
        elif not reason:
            reason = "chosen in this process"
        return f"{name} ({reason})"

    def choose_kernels(self) -> None:
        """``"auto"``'s decision: the native kernels if a C++ compiler builds them (the time
        it took is kept in ``kernels_reason``), else the NumPy kernels."""
        try:
            native_exec.compiler()
        except native_exec.NativeBuildError as error:
            self.kernels = numpy_exec
            self.kernels_reason = f"the default chose them: {error}"
            return
        start = time.perf_counter()
        try:
            native_exec.build_all()
        except Exception as error:  # whatever went wrong, the NumPy kernels always work
            self.kernels = numpy_exec
            self.kernels_reason = f"the default chose them: the native build failed: {error}"
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            warnings.warn(
                f"gpugrad: the native CPU kernels could not be built ({first_line}); using "
                "the NumPy kernels (gg.backends.cpu_kernels() says why)",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        self.kernels = native_exec
        self.kernels_reason = (
            "the default: built, or loaded from the cache, on the first fused kernel call in "
            f"{time.perf_counter() - start:.2f} s ({native_exec.cache_dir()})"
        )

    def kernels_name(self) -> str:
        """``"native"``, ``"numpy"``, or ``"auto"`` while no fused kernel has run yet."""
        kernels = self.kernels
        if kernels is native_exec:
            return "native"
        return "numpy" if kernels is numpy_exec else "auto"

    # --- 0-d fast paths (eager overhead, issue 18) -----------------------------------------
    # A 0-d op result is a NumPy scalar: immutable, and its Python-level methods cost a tenth
    # of the ufunc machinery's. These return exactly what the general path returns.
    def _expand(self, x: Any, shape: Any) -> Any:
        """``numpy.broadcast_to``; a NumPy scalar "expanded" to ``()`` is itself (it cannot be
        written through, so a read-only view of it adds nothing)."""
        if shape == () and isinstance(x, numpy.generic):
            return x
        return numpy.broadcast_to(x, shape)

    def _reshape(self, x: Any, shape: Any) -> Any:
        """``numpy.reshape`` without its Python-level dispatch (an array's own method)."""
        if isinstance(x, (numpy.ndarray, numpy.generic)):
            return x.reshape(shape)
        return numpy.reshape(x, shape)

    def mean(self, x: Any, dim: Any = None, keepdim: bool = False) -> Any:
        """As ``ArrayBackend.mean``; the mean of one element is ``x + 0`` (NumPy sums from
        +0, so ``-0.0`` averages to ``0.0``)."""
        if x.ndim == 0 and dim is None and not keepdim and x.dtype.char in "fdg":
            return x[()] + 0
        return ArrayBackend.mean(self, x, dim, keepdim)

    # --- eager per-op overhead (clamp) ---
    @fp_errors.silenced
    def clamp(self, x: Any, min: Any = None, max: Any = None) -> Any:
        """As ``ArrayBackend.clamp``; with both bounds numbers, one pass of NumPy's ``clip``
        ufunc, which equals ``maximum(min, x)`` then ``minimum(max, x)`` (NaN included, the
        input kept on a tie) at half the cost. Array bounds take the two passes: there the
        ufunc's loop gives the bound on a tie (``clip(-0.0, 0.0, 0.0)`` is 0.0)."""
        low, high = type(min), type(max)
        numbers = (low is float or low is int) and (high is float or high is int)
        if not numbers and (min is None or max is None or numpy.ndim(min) or numpy.ndim(max)):
            return ArrayBackend.clamp(self, x, min, max)
        return _clip_ufunc(x, min, max)

    # --- eager per-op overhead (where on NumPy scalars) ---
    def _where(self, condition: Any, x: Any, y: Any) -> Any:
        """``numpy.where``; on a NumPy bool scalar choosing between floating NumPy scalars
        of one type (or one and a Python number, which NumPy converts to that type), the
        chosen value as that scalar type. ``numpy.where`` gives the same value (as a 0-d
        array) at ~30 times the cost: its dispatch looks for ``__array_function__`` on each
        scalar (a failed attribute lookup), then runs the general array path. Clamp's
        backward calls it once per 0-d op."""
        if type(condition) is numpy.bool_:
            kind = type(x)
            if kind in _FLOAT_SCALARS:
                other = type(y)
                if other is kind:
                    return x if condition else y
                if other is int or other is float:
                    return x if condition else kind(y)
            elif kind is int or kind is float:
                other = type(y)
                if other in _FLOAT_SCALARS:
                    return other(x) if condition else y
        return numpy.where(condition, x, y)

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
