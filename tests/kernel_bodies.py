"""The CPU bodies of a kernel module (``NUMPY`` and ``NATIVE``) as pytest parameters, the
native one skipped where no C++ compiler builds it; shared by the kernel test files."""

from __future__ import annotations

from typing import Any

import pytest

from gpugrad.backends.kernels import native_exec


def native_builds() -> bool:
    """Whether a C++ compiler for the native kernels is present."""
    try:
        native_exec.compiler()
    except native_exec.NativeBuildError:
        return False
    return True


def cpu_bodies(kernels: Any) -> list[Any]:
    """``kernels.NUMPY`` and ``kernels.NATIVE`` as parameters with ids ``numpy``/``native``."""
    return [
        pytest.param(kernels.NUMPY, id="numpy"),
        pytest.param(
            kernels.NATIVE,
            id="native",
            marks=pytest.mark.skipif(not native_builds(), reason="no C++ compiler"),
        ),
    ]
