"""What the row kernels built from C++ on the CPU share (``attention``, ``layer_norm``): the
library, built like the fused programs (``fusion_c.build``: the native kernels' compiler,
flags and cache) on first use, and the loop that runs a call over fixed blocks of whole
rows on ``numpy_exec``'s threads (``ctypes`` releases the GIL)."""

from __future__ import annotations

import ctypes
import threading
import warnings
from typing import Any

import numpy

from . import numpy_exec

__all__ = ["REALS", "NativeLibrary", "each_row_block", "row_blocks"]

REALS = {numpy.dtype(numpy.float32): ("f32", ctypes.c_float),
         numpy.dtype(numpy.float64): ("f64", ctypes.c_double)}  # fmt: skip
"""The dtypes the row kernels are built for: the functions' suffix and the C scalar type."""


class NativeLibrary:
    """``source`` built on first use; :meth:`functions` maps ``name_suffix`` to each
    ``extern "C"`` function ``{prefix}{name}_{suffix}``, whose argument types
    ``signatures[name](real)`` gives, or is ``None`` (after one ``RuntimeWarning`` naming
    ``what``) where the build fails."""

    def __init__(self, source: str, prefix: str, signatures: dict[str, Any], what: str) -> None:
        self.source = source
        self.prefix = prefix
        self.signatures = signatures
        self.what = what
        self._lock = threading.Lock()
        self._functions: dict[str, Any] | None = None
        self._failed = False

    def functions(self) -> dict[str, Any] | None:
        if self._functions is None and not self._failed:
            with self._lock:
                if self._functions is None and not self._failed:
                    self._functions = self._load()
        return self._functions

    def _load(self) -> dict[str, Any] | None:
        from . import fusion_c, native_exec

        try:
            library = ctypes.CDLL(str(fusion_c.build(self.source)))
        except (native_exec.NativeBuildError, OSError) as error:
            self._failed = True
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            warnings.warn(
                f"gpugrad: the native {self.what} kernels could not be built ({first_line}); "
                "using the NumPy ones",
                RuntimeWarning,
                stacklevel=5,
            )
            return None
        functions = {}
        for suffix, real in REALS.values():
            for name, signature in self.signatures.items():
                fn = getattr(library, f"{self.prefix}{name}_{suffix}")
                fn.argtypes = signature(real)
                fn.restype = None
                functions[f"{name}_{suffix}"] = fn
        return functions

    def find(self, *arrays: Any) -> tuple[dict[str, Any], str] | None:
        """``(functions, suffix)`` for arrays of one built dtype, all C-contiguous and
        non-empty; ``None`` where the caller takes its array body instead."""
        found = REALS.get(arrays[0].dtype)
        if found is None or arrays[0].size == 0:
            return None
        if any(a.dtype != arrays[0].dtype or not a.flags.c_contiguous for a in arrays):
            return None
        functions = self.functions()
        return None if functions is None else (functions, found[0])


def row_blocks(rows: int, width: int) -> list[tuple[int, int]]:
    """The fixed blocks ``[r0, r1)`` of whole rows that :func:`each_row_block` runs: as
    many as ``numpy_exec`` cuts ``rows * width`` elements into, at most one per row."""
    units = min(rows, numpy_exec.block_count(rows * width)) or 1
    return [(i * rows // units, (i + 1) * rows // units) for i in range(units)]


def each_row_block(rows: int, width: int, call: Any) -> None:
    """``call(k, r0, r1)`` for every block ``k`` of :func:`row_blocks`, on ``numpy_exec``'s
    threads."""
    ranges = row_blocks(rows, width)

    def work(blocks: Any) -> bool:
        for k in blocks:
            if k < len(ranges):
                call(k, *ranges[k])
        return False

    numpy_exec.in_blocks(rows * width if len(ranges) > 1 else 1, work)
