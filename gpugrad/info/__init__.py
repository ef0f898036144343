"""``python -m gpugrad.info``: the environment report to paste into a bug report.

As ``python -m torch.utils.collect_env`` does for PyTorch: versions of gpugrad, Python,
the OS, NumPy (and its BLAS), CuPy, the CUDA runtime and driver, the GPUs, which CPU
kernels run the fused ops and why, whether a C++ compiler and NVRTC are there, MPI and
PyTorch. Every probe is lazy and never raises: what is missing reads ``not installed`` or
``none``, what fails reads ``error: …``. ``gg.utils.collect_env()`` returns the same text.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata

__all__ = ["collect_env", "main"]

NOT_INSTALLED = "not installed"


def _error(error: BaseException) -> str:
    return f"error: {type(error).__name__}: {error}"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def _gpugrad_rows() -> list[tuple[str, str]]:
    from .._version import __version__

    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [("gpugrad", f"{__version__} ({package_dir})")]


def _python_rows() -> list[tuple[str, str]]:
    bits = "64-bit" if sys.maxsize > 2**32 else "32-bit"
    return [
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}, {bits})"),
        ("OS", platform.platform()),
        ("Processor", f"{platform.machine()}, {os.cpu_count()} logical cores"),
    ]


def _cpu_kernel_rows() -> list[tuple[str, str]]:
    """Which executor runs the fused kernels on the CPU, and what chose it; which node loop
    runs backward (the C one follows the kernels' choice)."""
    from .. import _engine_native
    from ..backends import cpu_kernels

    return [("CPU kernels", cpu_kernels()), ("Backward engine", _engine_native.describe())]


def _compiler_rows() -> list[tuple[str, str]]:
    """The C++ compiler the native CPU kernels would use, and libmvec's vector math."""
    from ..backends.kernels import native_exec

    try:
        cxx = native_exec.compiler()
    except native_exec.NativeBuildError:
        return [("C++ compiler", "none (set CXX, or install g++, for the native CPU kernels)")]
    try:
        done = subprocess.run([*cxx, "--version"], capture_output=True, text=True, timeout=30)
        first = (done.stdout or done.stderr).splitlines()[0] if done.returncode == 0 else ""
        compiler = f"{' '.join(cxx)} ({first})" if first else f"{' '.join(cxx)} (does not run)"
    except (OSError, subprocess.TimeoutExpired, IndexError) as error:
        compiler = f"{' '.join(cxx)} ({_error(error)})"
    vector_math = "libmvec" if "-lmvec" in native_exec.LIBS else "scalar libm calls"
    return [("C++ compiler", compiler), ("Native vector math", vector_math)]


def _nvrtc_rows() -> list[tuple[str, str]]:
    """NVRTC through cuda-bindings: what the CUDA compile gate uses, no GPU needed."""
    from ..backends.kernels import nvrtc

    if not nvrtc.available():
        return [("NVRTC", f"{NOT_INSTALLED} (pip install 'gpugrad[gate]')")]
    major, minor = nvrtc.version()
    return [("NVRTC", f"{major}.{minor} (cuda-bindings {_version('cuda-bindings')})")]


def _mpi_rows() -> list[tuple[str, str]]:
    """mpi4py and the MPI library it loads; MPI itself is not initialized."""
    try:
        import mpi4py
    except ImportError:
        return [("mpi4py", NOT_INSTALLED), ("MPI library", "none")]
    rows = [("mpi4py", mpi4py.__version__)]
    initialize = mpi4py.rc.initialize
    mpi4py.rc.initialize = False  # only ask for the version; MPI_Init can be slow or fail
    try:
        from mpi4py import MPI

        first = MPI.Get_library_version().strip().splitlines()[0]
        rows.append(("MPI library", " ".join(first.split())))
    except Exception as error:
        rows.append(("MPI library", _error(error)))
    finally:
        mpi4py.rc.initialize = initialize
    return rows


def _array_rows() -> list[tuple[str, str]]:
    from ..backends import environment

    return environment.numpy_rows() + environment.cuda_rows()


def _torch_rows() -> list[tuple[str, str]]:
    """PyTorch's version by its metadata: importing it would take seconds."""
    return [("PyTorch", _version("torch") + " (optional: the tests' oracle)")]


SECTIONS: tuple[Callable[[], list[tuple[str, str]]], ...] = (
    _gpugrad_rows,
    _python_rows,
    _array_rows,
    _cpu_kernel_rows,
    _compiler_rows,
    _nvrtc_rows,
    _mpi_rows,
    _torch_rows,
)


def collect_env() -> str:
    """The environment report as text, one ``label: value`` line each; never raises."""
    rows: list[tuple[str, str]] = []
    for section in SECTIONS:
        try:
            rows += section()
        except Exception as error:
            name = section.__name__.strip("_").removesuffix("_rows")
            rows.append((name, _error(error)))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label + ':':<{width + 1}} {value}" for label, value in rows)


def main() -> None:
    print(collect_env())
