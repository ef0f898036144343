"""``examples/char_gpt.py`` in quick mode, as a user runs it: it trains, evaluates, samples,
saves a checkpoint, and a run interrupted and resumed gives the uninterrupted run's
losses, step for step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from checkout import ROOT, run_script

SCRIPT = ROOT / "examples" / "char_gpt.py"


def _run(cwd: Path, device: str, *args: str) -> str:
    result = run_script(SCRIPT, "--quick", "--device", device, *args, cwd=cwd, OMP_NUM_THREADS="1")
    assert result.returncode == 0, f"failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _step_losses(out: str) -> dict[int, str]:
    return {int(m[1]): m[2] for m in re.finditer(r"^step (\d+) loss (\S+)", out, re.M)}


def test_quick_run_trains_samples_and_saves(tmp_path, device):
    out = _run(tmp_path, device)
    baseline = float(re.search(r"bigram baseline val loss (\d+\.\d+)", out)[1])
    final = re.search(r"final: train loss (\d+\.\d+), val loss (\d+\.\d+)", out)
    losses = _step_losses(out)
    assert sorted(losses) == list(range(1, 41))
    assert float(losses[40]) < float(losses[1]) - 0.5  # it learns (from ln(vocab) ~ 4.5)
    assert 1.0 < baseline < float(losses[1])
    assert float(final[2]) < 4.0
    sample = out.split("--- sample ---\n")[1].split("\n---")[0]
    assert sample.startswith("def ") and len(sample) == 4 + 80
    assert (tmp_path / "char_gpt.ckpt").stat().st_size > 0


def test_resume_continues_with_identical_losses(tmp_path, device):
    straight = _run(tmp_path, device, "--steps", "16", "--checkpoint", "a.ckpt")
    first = _run(tmp_path, device, "--steps", "16", "--stop-after", "8", "--checkpoint", "b.ckpt")
    assert "stopped at step 8 of 16" in first
    resumed = _run(tmp_path, device, "--resume", "--checkpoint", "b.ckpt")
    assert "resumed from b.ckpt at step 8" in resumed
    whole, before, after = _step_losses(straight), _step_losses(first), _step_losses(resumed)
    assert sorted(before) == list(range(1, 9)) and sorted(after) == list(range(9, 17))
    assert {**before, **after} == whole
    final = re.compile(r"^final: train loss \S+, val loss \S+,", re.M)
    assert final.search(resumed)[0] == final.search(straight)[0]


@pytest.mark.parametrize("flag", ["--steps", "--stop-after"])
def test_bad_step_counts_are_refused(tmp_path, flag):
    result = run_script(SCRIPT, "--quick", flag, "0", cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and "must be a positive integer" in result.stderr
