"""Running a script in a subprocess as a user would, against this checkout's gpugrad
(first on ``PYTHONPATH``, whatever an installed one says)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(
    script: Path, *args: str, cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess:
    """``python script *args`` in ``cwd``, with ``env`` added to the environment."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env, "PYTHONPATH": path},
        timeout=timeout,
    )
