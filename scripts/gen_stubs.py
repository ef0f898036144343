"""Regenerate ``gpugrad/_tensor_api.pyi`` (the Tensor methods' typed declarations) from the
op registry, then format it with ruff. Run after declaring an op: ``python scripts/gen_stubs.py``.
``tests/test_registry.py`` fails while the file and the registry disagree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpugrad import _tensor_methods  # noqa: E402

path = ROOT / _tensor_methods.STUB_PATH
path.write_text(_tensor_methods.render_stubs())
subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
print(f"wrote {path.relative_to(ROOT)}")
