"""What the array libraries report about this machine, for ``python -m gpugrad.info``.

Each function returns ``(label, value)`` rows and never raises: a missing library or
driver reads ``not installed`` or ``none``, any other failure ``error: …``. CuPy is
imported only here, when asked.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["cuda_rows", "numpy_rows"]

NOT_INSTALLED = "not installed"


def _cuda_version(number: int) -> str:
    """CUDA's integer versions: 13020 is 13.2."""
    return f"{number // 1000}.{number % 1000 // 10}"


def _error(error: BaseException) -> str:
    return f"error: {type(error).__name__}: {error}"


def numpy_rows() -> list[tuple[str, str]]:
    """NumPy's version and the BLAS it calls (through threadpoolctl, where installed)."""
    import numpy

    rows = [("NumPy", numpy.__version__)]
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return [*rows, ("NumPy BLAS", "unknown (pip install threadpoolctl to see it)")]
    try:
        numpy.ones(2) @ numpy.ones(2)  # loads the BLAS library if it is loaded lazily
        pools = [p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas"]
        blas = "; ".join(
            f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads"
            + (f", {p['architecture']}" if p.get("architecture") else "")
            + ")"
            for p in pools
        )
        rows.append(("NumPy BLAS", blas or "none found"))
    except Exception as error:
        rows.append(("NumPy BLAS", _error(error)))
    return rows


def cuda_rows() -> list[tuple[str, str]]:
    """CuPy's version, the CUDA runtime and driver it sees, and each GPU."""
    try:
        cupy: Any = importlib.import_module("cupy")
    except ImportError:
        return [
            ("CuPy", NOT_INSTALLED),
            ("CUDA runtime", "none"),
            ("CUDA driver", "none"),
            ("GPUs", "none"),
        ]
    except Exception as error:  # a broken CuPy install raises more than ImportError
        return [("CuPy", _error(error))]
    rows = [("CuPy", str(getattr(cupy, "__version__", "unknown")))]
    try:
        runtime = cupy.cuda.runtime
    except Exception as error:  # e.g. its CUDA libraries cannot be loaded
        return [("CuPy", f"{rows[0][1]} ({_error(error)})")]
    for label, query in (
        ("CUDA runtime", runtime.runtimeGetVersion),
        ("CUDA driver", runtime.driverGetVersion),
    ):
        try:
            number = int(query())
            rows.append((label, _cuda_version(number) if number else "none"))
        except Exception as error:
            rows.append((label, "none" if "driver" in str(error).lower() else _error(error)))
    try:
        count = int(runtime.getDeviceCount())
    except Exception:
        count = 0
    if not count:
        rows.append(("GPUs", "none"))
    for i in range(count):
        try:
            props = runtime.getDeviceProperties(i)
            name = props["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            memory = props["totalGlobalMem"] / 2**30
            capability = f"{props['major']}.{props['minor']}"
            rows.append((f"GPU {i}", f"{name}, {memory:.0f} GiB, compute capability {capability}"))
        except Exception as error:
            rows.append((f"GPU {i}", _error(error)))
    return rows
