"""gpugrad.distributed and DistributedDataParallel.

The equivalence test starts ``mpiexec -n 2`` on this very file (its ``__main__`` is the
worker): 2 ranks, each holding half of every global batch, must end with the parameters
1 process reaches on the full batches (1e-6, float64), and the ranks must agree exactly.
The other tests run in the pytest process as a group of one (mpi4py alone, no launcher).
Tests that need mpi4py or mpiexec are skipped, with the reason, where they are missing.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.distributed import DistributedSampler, shard
from gpugrad.nn.parallel import DistributedDataParallel, _assign_buckets
from gpugrad.optim import SGD
from gpugrad.utils.data import DataLoader, TensorDataset

HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
NO_MPI4PY = "mpi4py is not installed (pip install 'gpugrad[mpi]')"
# mpiexec next to this Python (the MPICH wheel puts it in the venv), else on PATH.
SEARCH_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
MPIEXEC = shutil.which("mpiexec", path=SEARCH_PATH)

N_ROWS, FEATURES, CLASSES = 96, 6, 3
LOCAL_BATCH, EPOCHS = 8, 2


def make_model(seed: int) -> nn.Module:
    gg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, CLASSES)
    ).double()


def make_data() -> tuple[gg.Tensor, gg.Tensor]:
    gg.manual_seed(1234)
    x = gg.randn(N_ROWS, FEATURES, dtype=gg.float64)
    y = gg.randint(0, CLASSES, (N_ROWS,))
    return x, y


def flat_params(model: nn.Module) -> list[float]:
    return [v for p in model.parameters() for v in p.detach().reshape(-1).tolist()]


REPO_ROOT = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    """This environment without an enclosing MPI job's variables (pytest under mpiexec),
    with this checkout first on the path: the ranks import the gpugrad under test, not
    whichever one is installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "MPI", "HYDRA"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


# --- the worker: mpiexec -n 2 python tests/test_distributed.py ----------------------------
def worker(out_dir: str) -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    x, y = make_data()
    loss_fn = nn.CrossEntropyLoss()
    # Different initial weights per rank: DDP must broadcast rank 0's.
    model = make_model(100 + rank)
    # Overlap: when the first layer's weight (the last gradient backward computes) gets
    # its gradient, the buckets holding the later layers are already being reduced.
    launched: list[int] = []
    model[0].weight.register_hook(
        lambda g: launched.append(ddp._next_bucket) if ddp._sync_this_backward else None
    )
    ddp = DistributedDataParallel(model, bucket_cap_mb=100 * 8 / 2**20)
    reference = copy.deepcopy(ddp.module)  # one process, full global batches
    opt = SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = SGD(reference.parameters(), lr=0.1, momentum=0.9)
    sampler = DistributedSampler(N_ROWS, world, rank, shuffle=True, seed=7)
    full = DistributedSampler(N_ROWS, 1, 0, shuffle=True, seed=7)
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        full.set_epoch(epoch)
        local = list(DataLoader(shard((x, y), sampler), batch_size=LOCAL_BATCH))
        glob = list(DataLoader(shard((x, y), full), batch_size=LOCAL_BATCH * world))
        assert len(local) == len(glob)
        for step in range(0, len(local), 2):
            # Two micro-batches per optimizer step: the first under no_sync.
            opt.zero_grad()
            with ddp.no_sync():
                loss_fn(ddp(local[step][0]), local[step][1]).backward()
            loss_fn(ddp(local[step + 1][0]), local[step + 1][1]).backward()
            opt.step()
            ref_opt.zero_grad()
            for xb, yb in glob[step : step + 2]:
                loss_fn(reference(xb), yb).backward()
            ref_opt.step()
    mine = gg.tensor(flat_params(ddp.module), dtype=gg.float64)
    gathered = [gg.zeros_like(mine) for _ in range(world)]
    dist.all_gather(gathered, mine)
    ref = gg.tensor(flat_params(reference), dtype=gg.float64)
    result = {
        "rank": rank,
        "world": world,
        "buckets": len(ddp.bucket_param_names),
        "launched_before_last_grad": min(launched),
        "max_diff_vs_single": (mine - ref).abs().max().item(),
        "max_diff_between_ranks": max((g - mine).abs().max().item() for g in gathered),
        "moved": (mine - gg.tensor(flat_params(make_model(100)))).abs().max().item(),
    }
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


@pytest.mark.skipif(not HAVE_MPI4PY or MPIEXEC is None, reason="mpi4py or mpiexec missing")
def test_two_ranks_on_half_batches_match_one_rank_on_full_batches(tmp_path):
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(Path(__file__).resolve()), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [json.loads(f.read_text()) for f in sorted(tmp_path.glob("rank*.json"))]
    assert sorted(r["rank"] for r in results) == [0, 1], proc.stdout + proc.stderr
    for r in results:
        assert r["world"] == 2
        assert r["buckets"] > 1  # the small cap makes several buckets
        assert r["launched_before_last_grad"] >= r["buckets"] - 2, r
        assert r["max_diff_vs_single"] < 1e-6, r
        assert r["max_diff_between_ranks"] == 0.0, r
        assert r["moved"] > 1e-3, r  # training did change the parameters


@pytest.mark.skipif(not HAVE_MPI4PY or MPIEXEC is None, reason="mpi4py or mpiexec missing")
def test_ddp_example_runs_on_two_ranks(tmp_path):
    if importlib.util.find_spec("sklearn") is None:
        pytest.skip("the example needs scikit-learn's bundled datasets")
    example = Path(__file__).resolve().parents[1] / "examples" / "ddp_logistic_regression.py"
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, str(example), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 ranks" in proc.stdout and "ranks hold identical weights: True" in proc.stdout
    assert proc.stdout.count("test accuracy") == 1  # rank 0 only


# --- a group of one, in this process -------------------------------------------------------
@pytest.fixture
def group():
    if not HAVE_MPI4PY:
        pytest.skip(NO_MPI4PY)
    dist.init_process_group("mpi")
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_collectives_on_a_group_of_one(group):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    assert dist.get_backend() == "mpi"
    t = gg.arange(6.0).reshape(2, 3)
    view = t.t()  # not contiguous: reduced through a copy, written back in place
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
        dist.all_reduce(view, op=op)
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    s = gg.tensor(2.5)
    dist.all_reduce(s, op=dist.ReduceOp.AVG)
    dist.broadcast(s, src=0)
    assert s.item() == 2.5
    out = [gg.zeros(3)]
    dist.all_gather(out, gg.ones(3))
    assert out[0].tolist() == [1.0, 1.0, 1.0]
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() and work.is_completed()
    dist.barrier()
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("mpi")
    with pytest.raises(ValueError, match="unknown reduce op"):
        dist.all_reduce(t, op="mean")
    with pytest.raises(ValueError, match="world_size"):
        dist.all_gather([], t)


def test_not_initialized_errors():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedDataParallel(make_model(0))
    with pytest.raises(ValueError, match="has not been initialized"):  # as PyTorch's
        gg.utils.data.DistributedSampler(list(range(4)))
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("gloo")


def test_buckets_are_bounded_reversed_and_split_by_dtype():
    params = [
        nn.Parameter(gg.zeros(10)),  # 40 bytes
        nn.Parameter(gg.zeros(10)),
        nn.Parameter(gg.zeros(30)),  # 120 bytes: larger than the cap, a bucket of its own
        nn.Parameter(gg.zeros(5, dtype=gg.float64)),
        nn.Parameter(gg.zeros(5)),
    ]
    buckets = _assign_buckets(params, cap_bytes=100)
    assert sorted(i for b in buckets for i in b) == [0, 1, 2, 3, 4]
    assert buckets[0][0] == 4  # the last parameter (first to get its gradient) comes first
    for b in buckets:
        assert len({params[i].dtype for i in b}) == 1
        size = sum(params[i].numel() * 4 for i in b)
        assert size <= 100 or len(b) == 1
    assert [2] in buckets and [3] in buckets and [1, 0] in buckets


def test_ddp_in_a_group_of_one_keeps_gradients_and_accumulates(group):
    x, y = make_data()
    loss_fn = nn.CrossEntropyLoss()
    plain = make_model(3)
    ddp = DistributedDataParallel(copy.deepcopy(plain), bucket_cap_mb=40 * 8 / 2**20)
    assert len(ddp.bucket_param_names) > 1
    assert ddp.bucket_param_names[0] == ["4.bias", "4.weight", "2.bias"]
    assert [n for b in ddp.bucket_param_names for n in b][-1] == "0.weight"
    # Three micro-batches, the first two under no_sync: the sum of the three gradients.
    for i in range(3):
        loss_fn(plain(x[i * 8 : i * 8 + 8]), y[i * 8 : i * 8 + 8]).backward()
    for i in range(3):
        if i < 2:
            with ddp.no_sync():
                loss_fn(ddp(x[i * 8 : i * 8 + 8]), y[i * 8 : i * 8 + 8]).backward()
        else:
            loss_fn(ddp(x[i * 8 : i * 8 + 8]), y[i * 8 : i * 8 + 8]).backward()
    for p, q in zip(plain.parameters(), ddp.module.parameters()):
        assert q.grad is not None
        assert gg.allclose(p.grad, q.grad, rtol=0, atol=1e-12)
    # Gradients are private arrays, not views of the buckets.
    grads = [p.grad._data for p in ddp.parameters()]
    for bucket in ddp._buckets:
        assert not any(g.base is bucket.buffer for g in grads)
    assert ddp.module is not plain and "module.0.weight" in ddp.state_dict()


def test_ddp_unused_parameters(group):
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(3, 1)
            self.unused = nn.Linear(3, 1)

        def forward(self, x):
            return self.used(x)

    x = gg.randn(4, 3)
    ddp = DistributedDataParallel(Skip(), find_unused_parameters=True)
    for _ in range(2):  # a second iteration works: the first one finished
        ddp(x).sum().backward()
    assert ddp.module.unused.weight.grad.abs().sum().item() == 0.0
    assert ddp.module.used.bias.grad.item() == 8.0
    with gg.no_grad():  # an evaluation forward neither marks nor communicates
        ddp(x)
    assert ddp._arrived_total == 0
    strict = DistributedDataParallel(Skip())
    strict(x).sum().backward()
    with pytest.raises(RuntimeError, match="unused.weight"):
        strict(x)


def test_a_dropped_wrapper_leaves_no_hooks(group):
    import gc

    model = make_model(0)
    ddp = DistributedDataParallel(model)
    assert all(p._extra.hooks for p in model.parameters())
    del ddp
    gc.collect()
    assert not any(p._extra.hooks for p in model.parameters())
    again = DistributedDataParallel(model)  # wrapping again works as the first time
    again(gg.randn(2, FEATURES, dtype=gg.float64)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_sampler_shards_are_disjoint_and_cover_the_data():
    n, world = 10, 3
    shards = [list(DistributedSampler(n, world, r, shuffle=True, seed=5)) for r in range(world)]
    assert all(len(s) == 4 for s in shards)
    together = [i for s in shards for i in s]
    assert sorted(set(together)) == list(range(n))  # padded with 2 repeats to 12
    dropped = [list(DistributedSampler(n, world, r, seed=5, drop_last=True)) for r in range(3)]
    assert all(len(s) == 3 for s in dropped)
    assert len({i for s in dropped for i in s}) == 9
    plain = list(DistributedSampler(n, world, 1, shuffle=False))
    assert plain == [1, 4, 7, 0]
    sampler = DistributedSampler(n, world, 0, seed=5)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    # Batch k of all ranks together is global batch k of the same permutation.
    full = list(DistributedSampler(12, 1, 0, seed=9))
    parts = [list(DistributedSampler(12, 2, r, seed=9)) for r in range(2)]
    assert sorted(parts[0][:2] + parts[1][:2]) == sorted(full[:4])
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(n, 2, 2)


def test_shard_feeds_the_data_loader():
    x = gg.arange(10.0).reshape(5, 2)
    y = gg.arange(5)
    sampler = DistributedSampler(5, 2, 1, shuffle=False)
    batches = list(DataLoader(shard(TensorDataset(x, y), sampler), batch_size=2))
    assert [b[1].tolist() for b in batches] == [[1, 3], [0]]
    assert batches[0][0].tolist() == [[2.0, 3.0], [6.0, 7.0]]


if __name__ == "__main__":
    worker(sys.argv[1])


@pytest.mark.skipif(not HAVE_MPI4PY, reason="mpi4py missing")
def test_init_after_the_environment_report_imported_mpi_without_initializing_it():
    """``python -m gpugrad.info`` imports ``mpi4py.MPI`` with ``rc.initialize = False``;
    a later ``init_process_group`` in the same process must initialize MPI itself (it
    crashed the interpreter before)."""
    program = (
        "import gpugrad as gg, gpugrad.distributed as dist\n"
        "gg.utils.collect_env()\n"
        "dist.init_process_group('mpi')\n"
        "t = gg.tensor([1.0, 2.0])\n"
        "dist.all_reduce(t)\n"
        "print(dist.get_world_size(), t.tolist())\n"
        "dist.destroy_process_group()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "[1.0,", "2.0]"]
