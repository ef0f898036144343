"""Data-parallel logistic regression on scikit-learn's breast-cancer data with gpugrad.

Launch one process per rank with MPI; each rank trains on its shard of every epoch's
shuffled training set (``DistributedSampler``), ``DistributedDataParallel`` averages the
gradients, so all ranks take the same SGD steps; rank 0 prints the loss (averaged over
the ranks) and the test accuracy.

    mpiexec -n 2 python examples/ddp_logistic_regression.py
    mpiexec -n 2 python examples/ddp_logistic_regression.py --quick
    python examples/ddp_logistic_regression.py             # a group of one works too

Needs ``pip install 'gpugrad[mpi,examples]'`` (mpi4py, the MPICH wheel with ``mpiexec``,
scikit-learn). ``--batch-size`` is the global batch: each rank takes its share of it.
"""

from __future__ import annotations

import argparse
import sys
import time

from breast_cancer import load_data  # examples/breast_cancer.py

import gpugrad as gg
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.distributed import DistributedSampler, shard
from gpugrad.nn.parallel import DistributedDataParallel
from gpugrad.optim import SGD
from gpugrad.utils.data import DataLoader, TensorDataset

ACCURACY_FLOOR = 0.95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="default 100 (3 with --quick)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a few epochs, no accuracy floor")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 100

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of {world} ranks")
    local_batch = args.batch_size // world

    start = time.perf_counter()
    x_train, x_test, y_train, y_test = load_data(args.seed)
    if rank == 0:
        print(
            f"breast cancer: {len(x_train)} train / {len(x_test)} test samples, "
            f"{x_train.shape[1]} features, {world} ranks × batch {local_batch}"
        )
    gg.manual_seed(args.seed + rank)  # different on each rank: DDP broadcasts rank 0's
    model = DistributedDataParallel(nn.Sequential(nn.Linear(x_train.shape[1], 1), nn.Sigmoid()))
    loss_fn = nn.BCELoss()
    optimizer = SGD(model.parameters(), lr=args.lr)
    train = TensorDataset(gg.tensor(x_train), gg.tensor(y_train).reshape(-1, 1))
    sampler = DistributedSampler(len(train), shuffle=True, seed=args.seed, drop_last=True)
    steps = 0
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        loader = DataLoader(shard(train, sampler), batch_size=local_batch, drop_last=True)
        total = gg.zeros(2, dtype=gg.float64)  # loss sum and batch count on this rank
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += gg.tensor([loss.item(), 1.0], dtype=gg.float64)
            steps += 1
        dist.all_reduce(total)  # over the ranks
        mean_loss = (total[0] / total[1]).item()
        every = max(1, args.epochs // 10)
        if rank == 0 and (epoch % every == 0 or epoch == args.epochs):
            print(f"epoch {epoch:4d}/{args.epochs}  loss {mean_loss:.4f}", flush=True)

    # Every rank holds the same weights: check it, then rank 0 evaluates.
    flat = gg.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [gg.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    same = all(gg.equal(g, flat) for g in gathered)
    status = 0
    if rank == 0:
        model.eval()
        with gg.no_grad():
            p = model(gg.tensor(x_test)).reshape(-1).numpy()
        test_acc = float(((p >= 0.5) == (y_test >= 0.5)).mean())
        print(f"final loss {mean_loss:.4f} after {steps} steps ({args.epochs} epochs)")
        print(f"ranks hold identical weights: {same}")
        print(f"test accuracy {test_acc:.4f}")
        print(f"time {time.perf_counter() - start:.2f} s")
        if not same or (not args.quick and test_acc < ACCURACY_FLOOR):
            print(f"FAILED: test accuracy {test_acc:.4f}, identical {same}", file=sys.stderr)
            status = 1
    dist.destroy_process_group()
    return status


if __name__ == "__main__":
    sys.exit(main())
