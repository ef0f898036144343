"""``mpiexec -n 2 python -m bench.distributed``: ``gpugrad.distributed.all_reduce`` against a
raw mpi4py ``Allreduce`` of the same buffer.

Both reduce (sum, in place) a float32 buffer of ``--size`` elements (100M: 400 MB per
rank) between the launched ranks, in interleaved rounds (the order alternates round by
round); a round's time is the slowest rank's, between barriers. It prints the medians,
the bandwidths (algorithm bandwidth = bytes / time; bus bandwidth = algbw × 2(n−1)/n, as
nccl-tests) and gpugrad's ratio to raw (target ≤ 1.1×), and rank 0 writes
``bench/results/distributed-<host>.md``.

    mpiexec -n 2 python -m bench.distributed
    mpiexec -n 2 python -m bench.distributed --size 10000000 --rounds 21
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

import gpugrad as gg
import gpugrad.distributed as dist

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1.1


def _timed(comm: MPI.Comm, fn) -> float:
    comm.Barrier()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return comm.allreduce(elapsed, op=MPI.MAX)  # the slowest rank's time


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed")
    parser.add_argument("--size", type=int, default=100_000_000, help="float32 elements")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD.Dup()  # the raw variant's own communicator, as gpugrad has one
    rank, world = dist.get_rank(), dist.get_world_size()
    if world < 2 and rank == 0:
        print("note: one rank only; launch with mpiexec -n 2", file=sys.stderr)

    # The gpugrad tensor and the raw array hold the same values, in separate buffers.
    tensor = gg.ones(args.size, dtype=gg.float32)
    raw = np.ones(args.size, dtype=np.float32)
    dist.all_reduce(tensor)
    comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM)
    if not (np.all(tensor.numpy() == world) and np.all(raw == world)):
        raise SystemExit("all_reduce gave wrong sums")

    variants = {
        "gpugrad dist.all_reduce": lambda: dist.all_reduce(tensor),
        "raw mpi4py Allreduce": lambda: comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM),
    }
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    for r in range(args.warmup + args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            t = _timed(comm, variants[name])
            if r >= args.warmup:
                times[name].append(t)
        # Keep the values bounded (each sum doubles them): no inf after many rounds.
        tensor._data[...] = 1.0
        raw[...] = 1.0
    total = time.perf_counter() - started

    nbytes = args.size * 4
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    ratio = medians[names[0]] / medians[names[1]]
    bus = 2 * (world - 1) / world
    lines = []
    for name in names:
        algbw = nbytes / medians[name] / 1e9
        lines.append(
            f"| {name} | {medians[name] * 1e3:.1f} ms | {algbw:.2f} GB/s | {algbw * bus:.2f} GB/s "
            f"| {min(times[name]) * 1e3:.1f} ms | {max(times[name]) * 1e3:.1f} ms |"
        )
    verdict = "PASS" if ratio <= TARGET else "MISS"
    if rank == 0:
        host = socket.gethostname()
        command = "mpiexec -n {} python -m bench.distributed{}".format(
            world, " " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""
        )
        text = "\n".join(
            [
                f"# gpugrad distributed all_reduce on {host}",
                "",
                f"{datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}"
                f" · {world} ranks on one machine · Python {platform.python_version()} · "
                f"NumPy {np.__version__} · mpi4py {__import__('mpi4py').__version__} · "
                f"{MPI.Get_library_version().splitlines()[0].strip()} · gpugrad "
                f"{gg.__version__} (commit {_commit()})",
                "",
                f"Sum, in place, of a float32 buffer of {args.size:,} elements "
                f"({nbytes / 1e6:.0f} MB per rank); {args.rounds} interleaved rounds after "
                f"{args.warmup} warm-up rounds; a round's time is the slowest rank's, between "
                f"barriers. Command: `{command}` ({total:.0f} s).",
                "",
                "| variant | median | algbw | busbw | min | max |",
                "|---|---:|---:|---:|---:|---:|",
                *lines,
                "",
                f"gpugrad / raw: **{ratio:.3f}×** (target ≤ {TARGET}×: {verdict})",
                "",
            ]
        )
        print(text)
        args.out.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-")
        path = args.out / f"distributed-{stem}.md"
        path.write_text(text)
        print(f"wrote {path}")
    comm.Free()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
