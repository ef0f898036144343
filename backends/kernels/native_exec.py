"""Runs a ``Kernel``'s C body on the CPU, compiled on this machine (the CPU's default
where a C++ compiler works: ``numpy_backend.AutoKernels`` builds it on the first fused
kernel call).

``native_source`` turns the CUDA bodies into one C++ file per dtype; the first use builds
it with the system's C++ compiler (``$CXX``, else ``c++`` or ``g++``) for this processor
(``-march=native``) into a cache directory (``$GPUGRAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/gpugrad``, else ``~/.cache/gpugrad``), named by a hash of the source,
the flags, the compiler's version and the processor, so a changed kernel is rebuilt and a
build is never run on a machine it was not made for. Later processes load it in
milliseconds.

Arrays are cut into the blocks of ``numpy_exec`` and run on its threads (``ctypes``
releases the GIL for the call); each block's sum comes back in double and the block sums
are added in block order, so a mean is deterministic and independent of the thread count.
float16 tensors keep the NumPy executor.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy

from . import native_source, numpy_exec
from .cuda_source import function_name
from .defs import KERNELS
from .numpy_exec import BLOCK, lends, outputs
from .spec import Kernel

__all__ = [
    "NativeBuildError",
    "bind",
    "build",
    "build_all",
    "cache_dir",
    "lends",
    "outputs",
    "run",
]

FLAGS = (
    "-O3",
    "-march=native",
    "-std=c++14",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fno-thread-jumps",
    "-fopenmp-simd",
    "-shared",
    "-fPIC",
)
"""No fast-math (NaN, inf and signed zeros keep their IEEE behaviour). ``-fno-math-errno``
lets math calls be vectorized and ``-fno-trapping-math`` lets a conditional expression
compute both sides (the result is unchanged; nothing here reads the FP exception flags).
``-fno-thread-jumps``: GCC 12 otherwise turns two tests of the same value (softplus'
threshold, BCE's ``min(x, 0)`` and ``x >= 0``) into branches that stop vectorization."""


def _libs() -> tuple[str, ...]:
    """libmvec where the source may call it (glibc on x86-64); elsewhere only libm."""
    if platform.machine() in ("x86_64", "AMD64") and platform.libc_ver()[0] == "glibc":
        return ("-lmvec", "-lm")
    return ("-lm",)


LIBS = _libs()


class NativeBuildError(RuntimeError):
    """The native kernels could not be built (no compiler, or it failed)."""


_locks = {dtype: threading.Lock() for dtype in native_source.DTYPES}
_libraries: dict[str, ctypes.CDLL] = {}
_functions: dict[tuple[str, str, tuple[str, ...], bool], Any] = {}


def compiler() -> list[str]:
    cxx = os.environ.get("CXX")
    if cxx:
        return shlex.split(cxx)
    for name in ("c++", "g++"):
        path = shutil.which(name)
        if path:
            return [path]
    raise NativeBuildError(
        "native CPU kernels need a C++ compiler (GCC 6 or newer): none found "
        "(set CXX, or install g++)"
    )


def cache_dir() -> Path:
    env = os.environ.get("GPUGRAD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gpugrad"


def _processor() -> str:
    """What ``-march=native`` depends on: the processor's model and feature flags."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))][:2]
    except OSError:
        lines = []
    return platform.machine() + platform.processor() + "".join(lines)


def _version(cxx: list[str]) -> str:
    try:
        done = subprocess.run([*cxx, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NativeBuildError(f"native CPU kernels: cannot run {cxx[0]}: {error}") from error
    return done.stdout


def build(dtype: str) -> ctypes.CDLL:
    """The loaded library of every kernel for ``dtype``, built first if not cached."""
    library = _libraries.get(dtype)
    if library is not None:
        return library
    with _locks[dtype]:
        if dtype not in _libraries:
            try:
                _libraries[dtype] = ctypes.CDLL(str(_built(dtype)))
            except OSError as error:  # an unwritable cache, a library that does not load
                raise NativeBuildError(f"native CPU kernels: {error}") from error
    return _libraries[dtype]


def build_all() -> None:
    """Builds (or loads) every dtype's library, the builds side by side."""
    if len(_libraries) == len(native_source.DTYPES):
        return
    with ThreadPoolExecutor(len(native_source.DTYPES)) as pool:
        list(pool.map(build, native_source.DTYPES))


def _built(dtype: str) -> Path:
    return build_cached(
        native_source.source(KERNELS, dtype), f"kernels_{dtype}", FLAGS, "native CPU kernels"
    )


def toolchain() -> tuple[tuple[str, ...], str]:
    """The compiler command (``$CXX`` as it is now), and what a build's cache key takes from
    the toolchain and the machine (the compiler's version, the processor)."""
    cxx = tuple(compiler())
    return cxx, _machine(cxx)


@functools.cache
def _machine(cxx: tuple[str, ...]) -> str:
    return _version(list(cxx)) + _processor()


_build_locks: dict[str, threading.Lock] = {}
"""One lock per library being built: a thread that wants a library another thread is
building waits for it; different libraries (the dtypes) build side by side."""


def build_cached(
    source: str, name: str, flags: Sequence[str], what: str, *, extra: str = ""
) -> Path:
    """The shared library of ``source`` (C++, or C with ``-x c`` in ``flags``), built with
    ``flags`` into the cache directory as ``{name}_{digest}.so`` unless a build of the same
    source, flags, compiler, processor and ``extra`` is there; ``what`` names it in errors.
    The file is written under a temporary name and renamed: concurrent builds, in threads
    or processes, leave one complete file."""
    cxx, machine = toolchain()
    key = "\0".join([source, *cxx, *flags, *LIBS, machine, extra])
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    directory = cache_dir()
    target = directory / f"{name}_{digest}.so"
    if target.exists():
        return target
    with _build_locks.setdefault(target.name, threading.Lock()):
        if target.exists():
            return target
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            src = Path(tmp) / f"{name}.{'c' if '-x' in flags else 'cpp'}"
            src.write_text(source)
            out = Path(tmp) / target.name
            command = [*cxx, *flags, str(src), "-o", str(out), *LIBS]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as error:
                raise NativeBuildError(f"{what}: {error}") from error
            if done.returncode != 0:
                raise NativeBuildError(
                    f"{what}: the build failed ({shlex.join(command)}):\n" + done.stderr[-4000:]
                )
            os.replace(out, target)  # atomic: a concurrent build leaves one complete file
    return target


_DTYPES = {numpy.dtype(name): name for name in native_source.DTYPES}


def _function(kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool):
    key = (kernel.name, dtype, present, reduce)
    fn = _functions.get(key)
    if fn is None:
        fn = getattr(build(dtype), function_name(kernel, dtype, present, reduce))
        scalar = ctypes.c_float if dtype == "float32" else ctypes.c_double
        loaded = [n for n in kernel.inputs if n not in kernel.optional or n in present]
        fn.argtypes = (
            [ctypes.c_void_p] * len(loaded)
            + [scalar] * len(kernel.params)
            + [ctypes.c_void_p] * len(kernel.stored(reduce))
            + [ctypes.c_longlong, ctypes.c_void_p]
        )
        fn.restype = ctypes.c_double
        _functions[key] = fn
    return fn


def bind(kernel: Kernel):
    """As ``numpy_exec.bind``, running the native kernel."""
    return numpy_exec.bind_with(kernel, run)


def run(
    kernel: Kernel,
    inputs: Sequence[Any],
    params: Sequence[float] = (),
    *,
    reduce: bool = False,
    divisor: float = 1.0,
) -> tuple[list[Any], bool]:
    """As ``numpy_exec.run`` (which it calls for float16 and empty arrays). An array of up
    to ``BLOCK`` elements takes one call from this thread (a few microseconds of Python
    around it: the NumPy bodies' twenty ufunc calls cost more at that size)."""
    dtype = inputs[0].dtype
    name = _DTYPES.get(dtype)
    shape = numpy_exec.broadcast_shape(inputs)
    n = math.prod(shape)
    if name is None or n == 0:
        return numpy_exec.run(kernel, inputs, params, reduce=reduce, divisor=divisor)
    present = tuple(
        name for name, x in zip(kernel.inputs, inputs) if x is not None and name in kernel.optional
    )
    fn = _function(kernel, name, present, reduce)
    size = dtype.itemsize
    keep = []  # the arrays behind the addresses, alive until the call returns
    starts, steps = [], []
    for x in inputs:
        if x is None:
            continue
        if not isinstance(x, numpy.ndarray):  # a NumPy scalar
            x = numpy.asarray(x)
        if x.dtype != dtype:
            x = x.astype(dtype)
        if x.size == 1 and n > 1:
            x = numpy.full(min(n, BLOCK), x.reshape(()), dtype)
            steps.append(0)
        else:
            if x.shape != shape:
                x = numpy.broadcast_to(x, shape)
            if not x.flags.c_contiguous:
                x = numpy.ascontiguousarray(x)
            steps.append(size)
        keep.append(x)
        starts.append(x.ctypes.data)
    stored = kernel.stored(reduce)
    nblocks = numpy_exec.block_count(n)
    flags = (ctypes.c_int * nblocks)()
    if nblocks == 1:
        outs = [numpy.empty(shape, dtype) for _ in stored]
        total = fn(*starts, *params, *[o.ctypes.data for o in outs], n, ctypes.addressof(flags))
    else:
        outs = [outputs.empty(n, dtype) for _ in stored]
        sums = _in_blocks(fn, n, starts, steps, params, outs, size, flags)
        outs = [numpy_exec.shaped(o, shape) for o in outs]
        total = math.fsum(sums)
    bad = any(flags)
    if reduce:
        return [numpy_exec.reduced(total, divisor, dtype), *outs], bad
    return outs, bad


def _in_blocks(
    fn: Any,
    n: int,
    starts: list[int],
    steps: list[int],
    params: Sequence[float],
    outs: list[numpy.ndarray],
    size: int,
    flags: Any,
) -> list[float]:
    """``fn`` over the blocks of ``numpy_exec``, on its threads; the blocks' sums."""
    sums = [0.0] * len(flags)
    out_starts = [o.ctypes.data for o in outs]
    flag0 = ctypes.addressof(flags)
    flag_size = ctypes.sizeof(ctypes.c_int)

    def work(blocks: Iterator[int]) -> bool:
        for b in blocks:
            lo = b * BLOCK
            sums[b] = fn(
                *[a + lo * s for a, s in zip(starts, steps)],
                *params,
                *[a + lo * size for a in out_starts],
                min(BLOCK, n - lo),
                flag0 + b * flag_size,
            )
        return False

    numpy_exec.in_blocks(n, work)
    return sums
