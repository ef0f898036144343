"""python -m gpugrad.info / gg.utils.collect_env(): the report runs anywhere and never raises."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import gpugrad as gg
from gpugrad import info

ROOT = Path(__file__).resolve().parents[1]
LABELS = (
    "gpugrad",
    "Python",
    "OS",
    "NumPy",
    "NumPy BLAS",
    "CuPy",
    "CUDA runtime",
    "CUDA driver",
    "CPU kernels",
    "C++ compiler",
    "NVRTC",
    "mpi4py",
    "MPI library",
    "PyTorch",
)


def rows(report: str) -> dict[str, str]:
    """``{label: value}`` of a report's ``label:   value`` lines."""
    pairs = (line.split(":", 1) for line in report.splitlines())
    return {label.strip(): value.strip() for label, value in pairs}


def run_report(prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}\nimport runpy; runpy.run_module('gpugrad.info', run_name='__main__')"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_module_prints_every_line_and_nothing_else():
    result = subprocess.run(
        [sys.executable, "-m", "gpugrad.info"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0 and result.stderr == ""
    report = rows(result.stdout)
    for label in LABELS:
        assert label in report, label
    assert report["gpugrad"].startswith(gg.__version__)
    assert report["Python"].startswith(".".join(map(str, sys.version_info[:2])))
    assert report["CPU kernels"].startswith(("auto (", "numpy (", "native ("))


def test_collect_env_describes_this_process():
    import numpy

    report = rows(gg.utils.collect_env())
    assert report["NumPy"] == numpy.__version__
    assert report["CPU kernels"].startswith(gg.get_cpu_kernels())
    assert gg.utils.collect_env is info.collect_env


def test_without_cupy_and_mpi4py():
    result = run_report("import sys; sys.modules['cupy'] = None; sys.modules['mpi4py'] = None")
    assert result.returncode == 0, result.stderr
    report = rows(result.stdout)
    assert report["CuPy"] == "not installed"
    assert report["CUDA runtime"] == report["CUDA driver"] == report["GPUs"] == "none"
    assert report["mpi4py"] == "not installed" and report["MPI library"] == "none"


def test_without_threadpoolctl_nvrtc_or_compiler(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    for name in ("cuda", "cuda.bindings", "cuda.bindings.nvrtc"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    report = rows(info.collect_env())
    assert report["NumPy BLAS"].startswith("unknown")
    assert report["NVRTC"].startswith("not installed")
    assert report["C++ compiler"].startswith("/nonexistent/c++ (error: ")


def test_a_broken_cupy_is_reported_not_raised(monkeypatch):
    class Broken(types.ModuleType):
        __version__ = "0.0-broken"

        @property
        def cuda(self):
            raise RuntimeError("libcudart.so: cannot open shared object file")

    monkeypatch.setitem(sys.modules, "cupy", Broken("cupy"))
    report = rows(info.collect_env())
    assert report["CuPy"].startswith("0.0-broken (error: RuntimeError: libcudart.so")


def test_a_failing_section_is_reported_not_raised(monkeypatch):
    def explode():
        raise OSError("no /proc here")

    explode.__name__ = "_python_rows"
    monkeypatch.setattr(info, "SECTIONS", (info.SECTIONS[0], explode))
    report = rows(info.collect_env())
    assert report["python"] == "error: OSError: no /proc here"
    assert "gpugrad" in report


@pytest.mark.parametrize(
    "name,why",
    [
        ("numpy", "numpy (gg.set_cpu_kernels('numpy') in this process)"),
        ("auto", "auto (the default: no fused kernel has run yet; "),
    ],
)
def test_cpu_kernels_say_why(name, why):
    """The row is ``gg.backends.cpu_kernels()``: the executor and what chose it (the
    environment's choices: tests/test_eager_kernels.py)."""
    before = gg.get_cpu_kernels()
    try:
        gg.set_cpu_kernels(name)
        line = rows(info.collect_env())["CPU kernels"]
    finally:
        gg.set_cpu_kernels(before)
    assert line.startswith(why)
