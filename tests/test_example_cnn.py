"""``examples/cnn_digits.py`` runs end to end in quick mode as a user would run it."""

from __future__ import annotations

import importlib.util
import re

import pytest
from checkout import ROOT, run_script

if importlib.util.find_spec("sklearn") is None:  # find, not import: sklearn loads slowly
    pytest.skip("the example needs scikit-learn's bundled datasets", allow_module_level=True)

SCRIPT = ROOT / "examples" / "cnn_digits.py"


def test_cnn_digits_quick(tmp_path):
    result = run_script(
        SCRIPT, "--quick", "--plot", "curves.png", cwd=tmp_path, OMP_NUM_THREADS="1"
    )
    assert result.returncode == 0, f"failed:\n{result.stdout}\n{result.stderr}"
    out = result.stdout
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert 0.3 < accuracy <= 1.0  # two epochs on 400 images: well above chance (0.1)
    assert "(26 steps)" in out and "Conv2d(1, 16, kernel_size=(3, 3)" in out
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
