"""``examples/cnn_digits.py`` runs end to end in quick mode as a user would run it."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("sklearn") is None:  # find, not import: sklearn loads slowly
    pytest.skip("the example needs scikit-learn's bundled datasets", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "cnn_digits.py"


def test_cnn_digits_quick(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--plot", "curves.png"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        # this checkout's gpugrad, whatever an installed one says
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=300,
    )
    assert result.returncode == 0, f"failed:\n{result.stdout}\n{result.stderr}"
    out = result.stdout
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert 0.3 < accuracy <= 1.0  # two epochs on 400 images: well above chance (0.1)
    assert "(26 steps)" in out and "Conv2d(1, 16, kernel_size=(3, 3)" in out
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
