"""An older commit of gpugrad to measure beside the current tree (``--baseline REV``).

The commit's ``gpugrad/`` and ``backends/`` are exported with ``git archive`` into a
temporary directory, which its measuring processes put first on ``sys.path``; the
benchmark code itself is the current one, so both sides run the very same workloads.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .worker import ROOT, Placement

SOURCES = ("gpugrad", "backends")


@dataclass
class Baseline:
    rev: str  # as the user named it
    commit: str  # full hash
    directory: Path

    @property
    def placement(self) -> Placement:
        return Placement(path_first=str(self.directory), suffix=f" @{self.rev}")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _git(*args: str) -> bytes:
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {out.stderr.decode().strip()}")
    return out.stdout


def export(rev: str) -> Baseline:
    """``rev``'s gpugrad sources in a fresh temporary directory."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    archive = _git("archive", "--format=tar", commit, "--", *SOURCES)
    directory = Path(tempfile.mkdtemp(prefix=f"gpugrad-{commit[:10]}-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "tar_filter"):  # Python 3.10.12+, 3.11.4+
            tar.extractall(directory, filter="tar")
        else:
            tar.extractall(directory)
    return Baseline(rev, commit, directory)
