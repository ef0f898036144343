"""The backend boundary: array math lives in backends/, which knows nothing of autograd."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import gpugrad as gg
from gpugrad import backends

ROOT = Path(__file__).resolve().parents[1]
ARRAY_IMPORT = re.compile(r"^\s*(import|from)\s+(numpy|cupy|cupyx)\b", re.MULTILINE)


def test_no_file_outside_backends_imports_numpy_or_cupy():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "gpugrad").rglob("*.py")
        if "backends" not in path.relative_to(ROOT / "gpugrad").parts
        and ARRAY_IMPORT.search(path.read_text())
    ]
    assert offenders == []


XP_USE = re.compile(r"\.xp\b")


def test_no_file_outside_backends_reaches_the_array_module():
    """The backend is the only array vocabulary: ``backend.xp`` stays inside backends/."""
    offenders = []
    for path in (ROOT / "gpugrad").rglob("*.py"):
        name = str(path.relative_to(ROOT))
        if "backends" in path.relative_to(ROOT / "gpugrad").parts:
            continue
        if XP_USE.search(path.read_text()):
            offenders.append(name)
    assert offenders == []


def test_kernel_executors_share_one_protocol():
    from gpugrad.backends.kernels import cupy_exec, native_exec, numpy_exec
    from gpugrad.backends.kernels.executor import KernelExecutor

    assert isinstance(numpy_exec, KernelExecutor)
    assert isinstance(native_exec, KernelExecutor)
    assert isinstance(backends.cpu.kernels, KernelExecutor)
    for name in ("run", "bind", "lends"):
        protocol = inspect.signature(getattr(KernelExecutor, name))
        for executor in (numpy_exec, native_exec):
            params = list(inspect.signature(getattr(executor, name)).parameters)
            assert params == list(protocol.parameters)[1:], (executor.__name__, name)
        method = inspect.signature(getattr(cupy_exec.CupyKernels, name))
        assert list(method.parameters) == list(protocol.parameters), name


def test_backends_know_nothing_of_autograd():
    for path in (ROOT / "backends").rglob("*.py"):
        assert "gpugrad" not in re.findall(
            r"^\s*(?:import|from)\s+(\w+)", path.read_text(), re.MULTILINE
        ), path


def test_import_is_fast_and_does_not_import_cupy():
    code = "import sys, gpugrad; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_backend_object_per_device():
    cpu = backends.get("cpu")
    assert cpu is backends.get(None) is gg.ones(1)._backend
    assert cpu.xp.__name__ == "numpy" and cpu.name == "numpy" and str(cpu.device) == "cpu"
    assert cpu.to_host(cpu.ones((2,), "float32")).tolist() == [1.0, 1.0]
    cpu.synchronize()


def test_sum_to_is_the_adjoint_of_broadcasting():
    cpu = backends.cpu
    g = cpu.ones((4, 2, 3), "float32")
    assert cpu.sum_to(g, (2, 1)).tolist() == [[12.0], [12.0]]
    assert cpu.sum_to(g, (3,)).tolist() == [8.0, 8.0, 8.0]
    assert cpu.sum_to(g, ()).item() == 24.0
