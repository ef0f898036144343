"""The CPU's default fused-kernel executor ("auto"): native kernels built on the first
fused kernel call where a C++ compiler works, NumPy's otherwise, and a message that says
which and why. Each case runs in a fresh process with its own empty cache directory, so
what it sees is what a new user on a new machine sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpugrad.backends.kernels import native_exec

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import json, os, sys, threading, warnings
warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, *rest: caught.append(str(message))
import gpugrad as gg
cache = os.environ["GPUGRAD_CACHE_DIR"]
after_import = {
    "name": gg.get_cpu_kernels(),
    "files": sorted(os.listdir(cache)) if os.path.isdir(cache) else [],
}
x = gg.linspace(-6.0, 6.0, 200_000)
results = [None] * 4

def work(i):
    results[i] = gg.sigmoid(x).sum().item()

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({
    "after_import": after_import,
    "name": gg.get_cpu_kernels(),
    "why": gg.backends.cpu_kernels(),
    "results": results,
    "warnings": caught,
    "files": sorted(os.listdir(cache)) if os.path.isdir(cache) else [],
}))
"""


def launch(cache: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "GPUGRAD_CACHE_DIR": str(cache)}
    environment.pop("GPUGRAD_CPU_KERNELS", None)
    environment.pop("CXX", None)
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )


def report(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def compiler_works() -> bool:
    try:
        native_exec.build_all()
    except native_exec.NativeBuildError:
        return False
    return True


def test_auto_builds_on_first_use_once_for_concurrent_processes(tmp_path):
    """Two processes start at once on an empty cache: neither builds at import; each
    builds (or loads the other's build) on its first fused kernel call, from four
    threads at once; both end up on the native kernels, one library per dtype in the
    cache (atomic renames: no partial file, no leftover temporary directory)."""
    if not compiler_works():
        pytest.skip("no working C++ compiler: the NumPy fallback is tested below")
    cache = tmp_path / "cache"
    first, second = launch(cache), launch(cache)
    for result in (report(first), report(second)):
        assert result["after_import"]["name"] == "auto"  # (the other may be building)
        assert result["name"] == "native"
        assert result["why"].startswith("native (the default: built, or loaded")
        assert result["warnings"] == []
        assert len(set(result["results"])) == 1
    files = sorted(os.listdir(cache))
    assert len(files) == 2 and all(f.startswith("kernels_float") for f in files), files
    assert all(f.endswith(".so") for f in files), files


def test_import_builds_nothing(tmp_path):
    """With a compiler and an empty cache, importing gpugrad (and reading which kernels
    run) compiles nothing and creates no cache directory."""
    cache = tmp_path / "cache"
    code = (
        "import os, gpugrad as gg; "
        "print(gg.get_cpu_kernels(), os.path.exists(os.environ['GPUGRAD_CACHE_DIR'])); "
        "print(gg.backends.cpu_kernels())"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "GPUGRAD_CACHE_DIR": str(cache)}
    environment.pop("GPUGRAD_CPU_KERNELS", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "auto False"
    assert second.startswith("auto (the default: no fused kernel has run yet")
    assert not cache.exists()


def test_auto_without_a_compiler_uses_numpy_silently(tmp_path):
    """No ``CXX`` and nothing on ``PATH``: the NumPy kernels, no warning, and the message
    names the reason; the values are the NumPy kernels' values."""
    result = report(launch(tmp_path / "cache", PATH=str(tmp_path / "empty")))
    assert result["after_import"]["name"] == "auto"
    assert result["name"] == "numpy"
    assert "no C++ compiler" in result["why"] or "none found" in result["why"]
    assert result["warnings"] == []
    assert result["files"] == []
    explicit = report(launch(tmp_path / "other", GPUGRAD_CPU_KERNELS="numpy"))
    assert explicit["why"] == "numpy (GPUGRAD_CPU_KERNELS=numpy)"
    assert result["results"] == explicit["results"]


def test_auto_with_a_failing_build_warns_once_and_uses_numpy(tmp_path):
    """A compiler that does not run: one warning naming the reason (from four threads
    racing to the first kernel), never an error, then the NumPy kernels."""
    result = report(launch(tmp_path / "cache", CXX=str(tmp_path / "no-such-c++")))
    assert result["name"] == "numpy"
    assert len(result["warnings"]) == 1, result["warnings"]
    assert "could not be built" in result["warnings"][0]
    assert "no-such-c++" in result["warnings"][0]
    assert "native build failed" in result["why"]


def test_the_environment_variable_still_chooses(tmp_path):
    """``GPUGRAD_CPU_KERNELS=native`` builds at import (CI's explicit second run); an
    unknown name warns and falls back to NumPy."""
    if not compiler_works():
        pytest.skip("no working C++ compiler")
    native = report(launch(tmp_path / "a", GPUGRAD_CPU_KERNELS="native"))
    assert native["after_import"]["name"] == "native"
    assert native["why"] == "native (GPUGRAD_CPU_KERNELS=native)"
    unknown = report(launch(tmp_path / "b", GPUGRAD_CPU_KERNELS="fast"))
    assert unknown["name"] == "numpy"
    assert "GPUGRAD_CPU_KERNELS=fast failed" in unknown["why"]
