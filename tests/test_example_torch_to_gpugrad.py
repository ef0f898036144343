"""examples/torch_to_gpugrad.py runs end to end (quick mode) as a user would run it, and
exits cleanly, saying why, where PyTorch is missing."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "torch_to_gpugrad.py"


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)


def test_losses_continue_identically_in_gpugrad(tmp_path):
    pytest.importorskip("torch")
    result = _run([sys.executable, str(SCRIPT), "--quick", "--dir", str(tmp_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "continued from checkpoint.pt (weights and Adam state)" in out
    assert (tmp_path / "checkpoint.pt").is_file()
    tables = 2 if importlib.util.find_spec("safetensors") else 1
    differences = [float(d) for d in re.findall(r"largest difference: (\S+)", out)]
    assert len(differences) == tables and max(differences) <= 1e-5, out
    rows = re.findall(r"^\s+(\d+)\s+(\d\.\d{8})\s+(\d\.\d{8})", out, flags=re.M)
    assert len(rows) == 5 * tables
    for _, theirs, ours in rows:
        assert abs(float(theirs) - float(ours)) <= 1e-5
    assert out.rstrip().endswith("the losses agree")


def test_without_torch_it_says_so_and_exits_cleanly(tmp_path):
    blocked = (
        "import runpy, sys; sys.modules['torch'] = None; "
        f"sys.argv = [{str(SCRIPT)!r}, '--quick']; "
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    result = _run([sys.executable, "-c", blocked], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PyTorch is not installed" in result.stdout and "skipped" in result.stdout
