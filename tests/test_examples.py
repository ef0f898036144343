"""The training examples run end to end (quick mode) as a user would run them.

Both scripts start at once, as subprocesses, so the file costs the slower of the two.
``--compare-torch`` is left out: importing PyTorch (and the torch._dynamo its optimizers
pull in) would triple this file's time; test_optim.py compares training with PyTorch.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("sklearn") is None:  # find, not import: sklearn loads slowly
    pytest.skip("the examples need scikit-learn's bundled datasets", allow_module_level=True)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOGISTIC_ARGS = ["--quick"]
MLP_ARGS = ["--quick", "--plot", "curve.png", "--save", "weights.npz"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the two runs share the cores
    started = {}
    for script, args in (
        ("train_logistic_regression.py", LOGISTIC_ARGS),
        ("mlp_digits.py", MLP_ARGS),
    ):
        cwd = tmp_path_factory.mktemp(script.removesuffix(".py"))
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        started[script] = (process, cwd)
    results = {}
    for script, (process, cwd) in started.items():
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        results[script] = (
            subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
            cwd,
        )
    return results


def _output(runs, script: str) -> tuple[str, Path]:
    result, cwd = runs[script]
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout, cwd


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1))


def test_logistic_regression_quick(runs):
    out, _ = _output(runs, "train_logistic_regression.py")
    assert 0.5 < _number(r"test accuracy (\d\.\d+)", out) <= 1.0
    assert "after 45 steps (3 epochs)" in out


def test_mlp_digits_quick(runs):
    out, cwd = _output(runs, "mlp_digits.py")
    assert 0.5 < _number(r"test accuracy (\d\.\d+)", out) <= 1.0
    assert (cwd / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "reloaded test accuracy" in out and (cwd / "weights.npz").exists()
