"""Faults in distributed training: timeouts, abort on an uncaught exception, DDP over
models that differ between ranks, and the version counter of DDP's broadcast.

The multi-rank tests start ``mpiexec -n 2`` on this very file (its ``__main__`` runs the
scenario named on the command line) with a wall-clock bound, so a regression that hangs
fails the test instead of hanging CI. The other tests run in the pytest process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.distributed._work import CollectiveTimeout, Work
from gpugrad.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_distributed import HAVE_MPI4PY, MPIEXEC, _clean_env  # noqa: E402

# A bound on each mpiexec run: far above what a passing run takes (a few seconds), far
# below the collectives' timeout in the abort scenario (so only the abort can end it).
RUN_BOUND_S = 60
needs_mpiexec = pytest.mark.skipif(
    not HAVE_MPI4PY or MPIEXEC is None, reason="mpi4py or mpiexec missing"
)


def run_two_ranks(scenario: str, out_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(Path(__file__).resolve()), scenario, str(out_dir)],
        capture_output=True,
        text=True,
        timeout=RUN_BOUND_S,
        env=_clean_env(),
    )


def failed_run_output(scenario: str, out_dir: Path) -> str:
    """Run ``scenario`` on two ranks (``TimeoutExpired`` if it hangs), check that the job
    failed, and return its stdout and stderr."""
    proc = run_two_ranks(scenario, out_dir)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    return output


# --- the scenarios: mpiexec -n 2 python tests/test_distributed_faults.py SCENARIO DIR --------
def scenario_rank_1_raises(out_dir: str) -> None:
    """Rank 1 fails mid-training; rank 0 waits in an all_reduce whose timeout (10 min) is
    far beyond the test's bound: only the abort can end the job in time."""
    dist.init_process_group("mpi", timeout=timedelta(minutes=10))
    t = gg.ones(3)
    dist.all_reduce(t)  # both ranks get this far
    if dist.get_rank() == 1:
        raise ValueError("rank 1 failed mid-training")
    dist.all_reduce(t)  # rank 1 never joins


def scenario_rank_1_stuck(out_dir: str) -> None:
    """Rank 1 never joins the all_reduce (it sleeps); rank 0 must raise after its 2 s
    timeout, and its uncaught error then aborts the job (rank 1 included)."""
    dist.init_process_group("mpi", timeout=timedelta(seconds=2))
    if dist.get_rank() == 1:
        time.sleep(10 * RUN_BOUND_S)
    try:
        dist.all_reduce(gg.ones(3))
    except RuntimeError as error:
        Path(out_dir, "rank0.txt").write_text(str(error))
        try:
            dist.all_reduce(gg.ones(3))
        except RuntimeError as again:
            Path(out_dir, "rank0-again.txt").write_text(str(again))
        raise


def scenario_no_abort(out_dir: str) -> None:
    """abort_on_exception=False: rank 1 fails and exits; only rank 0's 2 s timeout ends
    its wait (and its exit, which MPI_Finalize would block, aborts)."""
    dist.init_process_group("mpi", timeout=timedelta(seconds=2), abort_on_exception=False)
    t = gg.ones(3)
    dist.all_reduce(t)
    if dist.get_rank() == 1:
        raise ValueError("rank 1 failed mid-training")
    dist.all_reduce(t)


def scenario_init_timeout(out_dir: str) -> None:
    """Rank 1 starts MPI but never reaches init_process_group; rank 0's raises after 2 s
    and its exit aborts the job (the sleeping rank 1 included). (MPI's own start, MPI_Init
    at mpi4py's import, waits for every launched rank, unbounded: rank 1 imports it.)"""
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 1:
        time.sleep(10 * RUN_BOUND_S)
    dist.init_process_group("mpi", timeout=timedelta(seconds=2))


def _ddp_error(model: nn.Module) -> str | None:
    try:
        DistributedDataParallel(model)
    except RuntimeError as error:
        return str(error)
    return None


def scenario_ddp_checks(out_dir: str) -> None:
    dist.init_process_group("mpi", timeout=timedelta(seconds=30))
    rank = dist.get_rank()
    gg.manual_seed(rank)
    result: dict[str, object] = {"rank": rank}
    result["shape"] = _ddp_error(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2 + 3 * rank)))
    result["count"] = _ddp_error(nn.Sequential(*[nn.Linear(3, 3) for _ in range(1 + rank)]))
    result["dtype"] = _ddp_error(nn.Linear(2, 2) if rank == 0 else nn.Linear(2, 2).double())
    # A value saved before the wrap: DDP's broadcast overwrites the parameter in place
    # (on every rank), so backpropagating through the saved old value must raise.
    model = nn.Linear(2, 1)
    loss = (model.weight * model.weight).sum()
    ddp = DistributedDataParallel(model)
    try:
        loss.backward()
        result["backward_after_broadcast"] = None
    except RuntimeError as error:
        result["backward_after_broadcast"] = str(error)
    # The group still works after the failed wraps, and the ranks now agree.
    gathered = [gg.zeros(2, 2) for _ in range(2)]
    dist.all_gather(gathered, ddp.module.weight.detach().reshape(1, 2).expand(2, 2))
    result["weights_agree"] = gathered[0].tolist() == gathered[1].tolist()
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


SCENARIOS = {
    "rank_1_raises": scenario_rank_1_raises,
    "rank_1_stuck": scenario_rank_1_stuck,
    "no_abort": scenario_no_abort,
    "init_timeout": scenario_init_timeout,
    "ddp_checks": scenario_ddp_checks,
}


# --- multi-rank tests ----------------------------------------------------------------------
# scenario, what the output must say, what it must not say
FAILED_JOBS = {
    "an_exception_on_one_rank_aborts_the_job": (
        "rank_1_raises",
        [
            "ValueError: rank 1 failed mid-training",
            "rank 1 raised an uncaught exception; aborting all 2 ranks",
        ],
        [],
    ),
    "without_the_abort_hook_the_timeout_ends_the_wait": (
        "no_abort",
        [
            "ValueError: rank 1 failed mid-training",
            "RuntimeError: all_reduce timed out on rank 0 after 2000ms",
            "rank 0 is exiting with a collective that timed out still pending",
        ],
        ["aborting all"],  # no excepthook
    ),
    "init_process_group_times_out_when_a_rank_never_calls_it": (
        "init_timeout",
        [
            "RuntimeError: init_process_group timed out on rank 0 after 2000ms",
            "rank 0 is exiting with a collective that timed out still pending",
        ],
        [],
    ),
}


@needs_mpiexec
@pytest.mark.parametrize("case", list(FAILED_JOBS))
def test_a_failed_job_says_why(case, tmp_path):
    scenario, present, absent = FAILED_JOBS[case]
    output = failed_run_output(scenario, tmp_path)
    for text in present:
        assert text in output
    for text in absent:
        assert text not in output


@needs_mpiexec
def test_a_collective_times_out_when_a_rank_never_joins(tmp_path):
    output = failed_run_output("rank_1_stuck", tmp_path)
    message = (tmp_path / "rank0.txt").read_text()
    assert message.startswith("all_reduce timed out on rank 0 after 2000ms (timeout=0:00:02"), (
        message
    )
    again = (tmp_path / "rank0-again.txt").read_text()
    assert "unusable: an earlier all_reduce timed out" in again
    assert "rank 0 raised an uncaught exception; aborting all 2 ranks" in output


@needs_mpiexec
def test_ddp_refuses_models_that_differ_between_ranks(tmp_path):
    proc = run_two_ranks("ddp_checks", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # The number of parameters: PyTorch's text, on both ranks.
    assert r0["count"] == (
        "DDP expects same model across all ranks, but Rank 0 has 2 params, while rank 1 "
        "has inconsistent 4 params."
    )
    assert r1["count"] == (
        "DDP expects same model across all ranks, but Rank 1 has 4 params, while rank 0 "
        "has inconsistent 2 params."
    )
    # A shape: the first mismatching parameter named on both ranks.
    assert r1["shape"] == (
        "[1]: params[2] (1.weight) in this process with sizes [5, 4] appears not to match "
        "sizes of the same param in process 0."
    )
    assert r0["shape"].startswith(
        "[0]: params[2] (1.weight) has sizes [5, 4] in process 1, which appears not to match "
        "sizes [2, 4]"
    )
    assert "appears not to match dtype of the same param in process 0" in r1["dtype"]
    assert "params[0] (weight) has dtype gpugrad.float64 in process 1" in r0["dtype"]
    for r in (r0, r1):
        assert "modified by an inplace operation" in r["backward_after_broadcast"], r
        assert r["weights_agree"] is True


# --- in this process -------------------------------------------------------------------------
def test_work_wait_raises_after_the_timeout_and_the_group_stays_broken():
    state = CollectiveTimeout()
    work = Work("broadcast", lambda: False, None, timedelta(milliseconds=50), 3, state)
    with pytest.raises(RuntimeError, match=r"^broadcast timed out on rank 3 after 50ms"):
        work.wait()
    assert not work.is_completed()
    with pytest.raises(RuntimeError, match="an earlier broadcast timed out"):
        state.check()
    polls = []
    finished = []
    slow = Work("all_reduce", lambda: polls.append(1) or len(polls) > 3, lambda: finished.append(1))
    assert slow.wait() and slow.is_completed() and finished == [1]
    assert slow.wait(timedelta(seconds=1)) and finished == [1]  # finishes once


def test_init_process_group_checks_the_timeout():
    if not HAVE_MPI4PY:
        pytest.skip("mpi4py is not installed (pip install 'gpugrad[mpi]')")
    with pytest.raises(TypeError, match="Expected timeout argument to be of type datetime"):
        dist.init_process_group("mpi", timeout=5)
    with pytest.raises(ValueError, match="timeout must be positive"):
        dist.init_process_group("mpi", timeout=timedelta(0))
    assert not dist.is_initialized()
    hook = sys.excepthook
    dist.init_process_group("mpi", timeout=timedelta(seconds=1))
    try:
        t = gg.ones(2)
        dist.all_reduce(t)  # a group of one completes at once, whatever the timeout
        assert t.tolist() == [1.0, 1.0]
        assert sys.excepthook is hook  # no abort hook in a group of one
    finally:
        dist.destroy_process_group()


def test_broadcast_counts_as_an_inplace_write():
    """CPU tensors: CUDA tensors through backend="mpi" need a CUDA-aware MPI, which the
    MPICH wheel is not."""
    if not HAVE_MPI4PY:
        pytest.skip("mpi4py is not installed (pip install 'gpugrad[mpi]')")
    dist.init_process_group("mpi")
    try:
        # A contiguous tensor (MPI writes its memory), a transposed view and a 0-d tensor
        # (the result goes through a copy): each write is counted.
        w = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        s0 = gg.tensor(3.0, requires_grad=True)
        for write in (
            lambda: dist.broadcast(w, 0),
            lambda: dist.all_reduce(w.t(), op=dist.ReduceOp.AVG),
            lambda: dist.all_reduce(s0),
        ):
            loss = (w * w).sum() + s0 * s0
            write()
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                loss.backward()
        assert w.tolist() == [[1.0, 2.0], [3.0, 4.0]] and s0.item() == 3.0
        # The values are written, not blended: a tensor holding inf/NaN takes the result.
        s = gg.tensor([float("inf"), float("nan")])
        dist.all_reduce(s, op=dist.ReduceOp.MAX)
        dist.broadcast(s, 0)
        assert s.isnan().tolist() == [False, True] and s[0].item() == float("inf")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
