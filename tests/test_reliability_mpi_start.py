"""MPI's own start is bounded: ``init_process_group(timeout=...)`` covers MPI_Init (run at
mpi4py's import), which waits until every launched rank has reached it. A rank that never
gets there (stuck before ``init_process_group``) made the others wait in MPI_Init forever;
now a watchdog ends the waiting rank after the timeout with a message saying why, and the
launcher ends the job (issue 15).

The two-rank tests start ``mpiexec -n 2`` on this file (its ``__main__`` runs the scenario
named on the command line) with a wall-clock bound, so a regression that hangs fails the
test instead of hanging CI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_distributed import HAVE_MPI4PY, MPIEXEC, _clean_env  # noqa: E402

RUN_BOUND_S = 60
"""Far above what the bounded start takes (the 2 s timeout plus a second or two), far
below the sleep of the rank that never starts MPI: only the watchdog can end the job."""

needs_mpiexec = pytest.mark.skipif(
    not HAVE_MPI4PY or MPIEXEC is None, reason="mpi4py or mpiexec missing"
)


def _launcher_rank() -> str | None:
    return os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK"))


def scenario_rank_1_never_starts_mpi(out_dir: str) -> None:
    """Rank 1 is stuck before ``init_process_group`` (it never imports mpi4py); rank 0's
    MPI_Init waits for it, bounded by its 2 s timeout."""
    import gpugrad.distributed as dist

    if _launcher_rank() == "1":
        time.sleep(10 * RUN_BOUND_S)
    dist.init_process_group("mpi", timeout=timedelta(seconds=2))
    Path(out_dir, f"rank{_launcher_rank()}-started.txt").write_text("started")


def scenario_both_start(out_dir: str) -> None:
    """Both ranks start, one 1 s after the other, within the 5 s timeout: no watchdog fires,
    and the group works."""
    import gpugrad as gg
    import gpugrad.distributed as dist

    if _launcher_rank() == "1":
        time.sleep(1.0)
    dist.init_process_group("mpi", timeout=timedelta(seconds=5))
    t = gg.ones(2) * (dist.get_rank() + 1)
    dist.all_reduce(t)
    Path(out_dir, f"rank{dist.get_rank()}.txt").write_text(str(t.tolist()))
    dist.destroy_process_group()


SCENARIOS = {
    "rank_1_never_starts_mpi": scenario_rank_1_never_starts_mpi,
    "both_start": scenario_both_start,
}


def run_two_ranks(scenario: str, out_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(Path(__file__).resolve()), scenario, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=RUN_BOUND_S,  # raises TimeoutExpired if the start hangs
        env=_clean_env(),
    )


@needs_mpiexec
def test_mpi_start_is_bounded_by_the_init_timeout(tmp_path):
    proc = run_two_ranks("rank_1_never_starts_mpi", tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert (
        "MPI's start (MPI_Init, run by init_process_group) did not complete on rank 0 within "
        "0:00:02" in output
    ), output
    assert not list(tmp_path.glob("rank*-started.txt"))


@needs_mpiexec
def test_a_start_within_the_timeout_leaves_no_watchdog_behind(tmp_path):
    proc = run_two_ranks("both_start", tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "did not complete" not in output
    for rank in (0, 1):
        assert (tmp_path / f"rank{rank}.txt").read_text() == "[3.0, 3.0]"


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
