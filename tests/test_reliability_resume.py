"""A run resumed from a checkpoint repeats the uninterrupted run on every device, dropout
included: the checkpoint holds the state of the generator dropout draws from, which on a
GPU is the CUDA device's default generator (``gg.cuda.get_rng_state``), not
``gg.default_generator`` (issue 15: ``examples/char_gpt.py`` saved only the CPU's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gpugrad as gg

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "char_gpt.py"


def _run(cwd: Path, *args: str) -> dict[int, str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        timeout=300,
    )
    assert result.returncode == 0, f"failed:\n{result.stdout}\n{result.stderr}"
    return {int(m[1]): m[2] for m in re.finditer(r"^step (\d+) loss (\S+)", result.stdout, re.M)}


def test_resume_with_dropout_repeats_the_uninterrupted_run(tmp_path, device):
    common = ("--device", device, "--dropout", "0.2", "--steps", "8")
    straight = _run(tmp_path, *common, "--checkpoint", "a.ckpt")
    before = _run(tmp_path, *common, "--stop-after", "4", "--checkpoint", "b.ckpt")
    after = _run(tmp_path, "--device", device, "--resume", "--checkpoint", "b.ckpt")
    assert sorted(before) == [1, 2, 3, 4] and sorted(after) == [5, 6, 7, 8]
    assert {**before, **after} == straight


def test_cuda_rng_state_round_trips_and_is_the_cuda_generators(device):
    gg.manual_seed(7)
    state = gg.cuda.get_rng_state()
    assert state.dtype == gg.uint8 and state.device.type == "cpu"
    first = gg.rand(4, device="cuda").tolist() if device == "cuda" else None
    gg.cuda.manual_seed(99)
    assert not bool((gg.cuda.get_rng_state("cuda:0") == state).all())
    gg.cuda.set_rng_state(state, 0)
    assert bool((gg.cuda.get_rng_state(0) == state).all())
    if device == "cuda":
        assert gg.rand(4, device="cuda").tolist() == first
    cpu_state = gg.default_generator.get_state()
    gg.cuda.manual_seed(5)  # the CPU generator is another one
    assert bool((gg.default_generator.get_state() == cpu_state).all())
