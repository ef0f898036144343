"""Regenerate the typed declarations of the Tensor methods (``gpugrad/_tensor_api.pyi``)
and of ``gpugrad``'s ops (``gpugrad/_exports.pyi``) from the op registry, formatted with
ruff. Run it after declaring an op; ``tests/test_registry.py`` fails while they disagree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpugrad import _tensor_methods  # noqa: E402

for relative, text in (
    (_tensor_methods.STUB_PATH, _tensor_methods.render_stubs()),
    (_tensor_methods.EXPORTS_STUB_PATH, _tensor_methods.render_export_stubs()),
):
    path = ROOT / relative
    path.write_text(text)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
    print(f"wrote {relative}")
