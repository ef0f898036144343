"""``backends.heap``: glibc keeps freed blocks for the next step's arrays (no page fault per
page of every large temporary), and stays untouched where the user says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpugrad.backends import heap

ROOT = Path(__file__).resolve().parents[1]
LOOP = """
import resource, numpy as np, gpugrad
def step():
    arrays = [np.ones(n, np.float32) for n in (500_000,) * 10]
    return sum(float(a[-1]) for a in arrays)
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(**env: str) -> int:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    out = subprocess.run(
        [sys.executable, "-c", LOOP], env=environment, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap")
def test_large_temporaries_reuse_freed_pages():
    """20 steps of ten fresh 2 MB arrays: without the thresholds glibc trims the freed
    heap top after each step and every page faults again (about 5,000 faults per step);
    with them, almost none."""
    if not heap.keep_freed_memory():
        pytest.skip("not glibc")
    assert _faults() < 200
    assert _faults(**{heap.VARIABLE: "0"}) > 20_000  # what the test would see without


def test_user_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv(heap.VARIABLE, "0")
    assert heap.keep_freed_memory() is False
    monkeypatch.delenv(heap.VARIABLE)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert heap.keep_freed_memory() is False
