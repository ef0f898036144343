"""The one interface of the kernel executors: ``numpy_exec`` and ``native_exec`` (modules,
on the CPU) and ``cupy_exec.CupyKernels`` (one object per GPU) all satisfy
``KernelExecutor``; a backend holds one as ``backend.kernels``. Size and dtype gates
(tiny arrays, float16, empty arrays) live in the executors, not in op code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from .spec import Kernel


@runtime_checkable
class KernelExecutor(Protocol):
    def run(
        self,
        kernel: Kernel,
        inputs: Sequence[Any],
        params: Sequence[float] = (),
        *,
        reduce: bool = False,
        divisor: float = 1.0,
    ) -> tuple[list[Any], bool]:
        """``kernel`` on arrays: its outputs (with ``reduce``, output 0 summed and divided
        by ``divisor``, in the same pass) and whether a block flagged its inputs."""
        ...

    def bind(self, kernel: Kernel) -> Callable[..., Any]:
        """``kernel`` (one output) as a function of its input arrays, with this executor's
        size and dtype gates: the kernel's ``small`` expression where the kernel machinery
        costs more than the math or does not apply."""
        ...

    def lends(self, base: Any) -> bool:
        """Whether ``base`` is a buffer of this executor's output cache, which no other
        array shares while a kernel's output views it."""
        ...
