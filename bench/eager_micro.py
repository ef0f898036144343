"""Eager per-op overhead on user-style code, gpugrad against PyTorch, each in its own process.

    python -m bench.eager_micro [--rounds 7] [--seconds 0.4] [--baseline DIR]
    python -m bench.eager_micro --instructions [--steps 1000] [--baseline DIR]

The same step function runs with ``L = torch`` and ``L = gpugrad`` (``--baseline DIR``
adds a third library: the gpugrad package found in ``DIR``, e.g. an exported older
commit). Each round starts one fresh process per library, alternating, so slow phases of a
loaded machine hit all of them alike. A process times each program in batches and keeps
its fastest batch (µs per step); the report gives, across rounds, the minimum and the
median, and the ratios to PyTorch of both.

``--instructions`` counts instead of timing: each gpugrad worker runs under Valgrind's
cachegrind (``valgrind`` must be installed; PyTorch is left out, its import alone takes
minutes there), once with ``--steps`` of each program and once with twice as many, and the
difference divided by the steps is the CPU instructions per step (a run with no steps would
leave the first steps' one-time costs, lazy imports, kernel loading, caches filling, in
the count; two step counts cancel them), with one thread per pool. Counts do not depend on
what else the machine runs, so two versions compare on a busy machine (time does not
follow counts exactly: memory and allocation costs differ).

Programs: the seed notebook's scalar logistic step (sigmoid, clamp(eps), two logs, mean,
backward, ``.grad`` reset), ``sin(x**2)`` on a 0-d tensor, and a 100-op elementwise chain
on 1,000 float32 (forward, ``sum``, backward; per op = step / 100).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

EPS = 1e-8
CHAIN_OPS = 100


def programs(L: Any) -> dict[str, Any]:
    """The step functions, written once against the library ``L``."""
    f32 = L.float32
    w = L.tensor(1.0, requires_grad=True)
    b = L.tensor(0.0, requires_grad=True)
    x = L.tensor(6.7)
    y = L.tensor(0.0)

    def scalar_bce() -> None:
        y_pred = L.sigmoid(w * x + b)
        p = L.clamp(y_pred, EPS, 1 - EPS)
        loss = -(y * L.log(p) + (1 - y) * L.log(1 - p)).mean()
        loss.backward()
        w.grad = None
        b.grad = None

    s = L.tensor(3.0, requires_grad=True)

    def sin_square() -> None:
        L.sin(s**2).backward()
        s.grad = None

    h0 = L.linspace(-1.0, 1.0, 1000, dtype=f32).requires_grad_(True)

    def chain() -> None:
        h = h0
        for _ in range(CHAIN_OPS // 5):
            h = h * 0.5
            h = h + 0.25
            h = L.sin(h)
            h = L.exp(L.clamp(h, -1.0, 1.0))
        h.sum().backward()
        h0.grad = None

    return {"scalar_bce": scalar_bce, "sin_square": sin_square, "chain_100": chain}


def time_program(step: Any, seconds: float) -> float:
    """The fastest batch's µs per call, after a warm-up."""
    for _ in range(20):
        step()
    n = 1
    while True:  # a batch of about 10 ms
        start = time.perf_counter_ns()
        for _ in range(n):
            step()
        if time.perf_counter_ns() - start > 10_000_000 or n >= 1 << 16:
            break
        n *= 2
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter_ns()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter_ns() - start) / n / 1000)
    return best


def worker(library: str, seconds: float) -> None:
    if library == "torch":
        import torch as L
    else:
        import gpugrad as L

        print(L.__file__, file=sys.stderr)
    print(json.dumps({name: time_program(step, seconds) for name, step in programs(L).items()}))


def step_worker(program: str, steps: int) -> None:
    """Run ``program`` ``steps`` times (for ``--instructions``)."""
    import gpugrad as L

    print(L.__file__, file=sys.stderr)
    step = programs(L)[program]
    for _ in range(steps):
        step()


def count_instructions(root: str, program: str, steps: int) -> int:
    """Instructions of a worker process that imports ``root``'s gpugrad and runs
    ``program`` ``steps`` times (Valgrind's cachegrind, no cache simulation)."""
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["PYTHONHASHSEED"] = "0"
    # one thread each: Valgrind runs threads one at a time, so worker threads that spin
    # while waiting for work would add a count that varies from run to run
    for variable in ("GPUGRAD_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        env[variable] = "1"
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
        + [sys.executable, __file__, "--step-worker", program, "--steps", str(steps)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    if root not in out.stderr:
        raise RuntimeError(f"the worker did not import gpugrad from {root}")
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if refs is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", ""))


def instructions(libraries: dict[str, str | None], steps: int) -> None:
    """Print instructions per step of every program for each gpugrad in ``libraries``."""
    steps_of = {"scalar_bce": steps, "sin_square": steps, "chain_100": max(1, steps // 10)}
    counts: dict[str, dict[str, float]] = {}
    for name, path in libraries.items():
        if name == "torch":
            continue
        root = path or str(Path(__file__).resolve().parents[1])
        counts[name] = {
            program: (
                count_instructions(root, program, 2 * n) - count_instructions(root, program, n)
            )
            / n
            for program, n in steps_of.items()
        }
    names = list(counts)
    print("CPU instructions per step (valgrind cachegrind; the same on a busy machine)")
    print(
        f"{'program':<12}"
        + "".join(f"{n:>14}" for n in names)
        + ("   ratio" if len(names) == 2 else "")
    )
    for program in steps_of:
        row = "".join(f"{counts[n][program]:>14,.0f}" for n in names)
        if len(names) == 2:
            row += f"   {counts[names[0]][program] / counts[names[1]][program]:.3f}"
        print(f"{program:<12}{row}")


def run_round(library: str, path: str | None, seconds: float) -> dict[str, float]:
    env = dict(os.environ)
    root = path or str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    kind = "torch" if library == "torch" else "gpugrad"
    # This file run as a script, from ``root``: the gpugrad imported is ``root``'s
    # (``python -m`` would put the current directory first on the path).
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--seconds", str(seconds)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    if kind == "gpugrad" and not out.stderr.strip().startswith(root):
        raise RuntimeError(f"the {library} worker imported {out.stderr.strip()}, not {root}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="timing per program")
    parser.add_argument("--baseline", help="a directory holding an older gpugrad package")
    parser.add_argument(
        "--instructions", action="store_true", help="count CPU instructions (valgrind)"
    )
    parser.add_argument("--steps", type=int, default=1000, help="steps counted per program")
    parser.add_argument("--worker", choices=("torch", "gpugrad"), help=argparse.SUPPRESS)
    parser.add_argument("--step-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seconds)
        return
    if args.step_worker:
        step_worker(args.step_worker, args.steps)
        return
    libraries: dict[str, str | None] = {"torch": None, "gpugrad": None}
    if args.baseline:
        libraries["baseline"] = str(Path(args.baseline).resolve())
    if args.instructions:
        instructions(libraries, args.steps)
        return
    results: dict[str, list[dict[str, float]]] = {name: [] for name in libraries}
    for r in range(args.rounds):
        order = list(libraries) if r % 2 == 0 else list(reversed(libraries))
        for name in order:
            results[name].append(run_round(name, libraries[name], args.seconds))
    names = list(results["torch"][0])
    print(f"µs per step; {args.rounds} rounds, each library in its own process, alternating")
    header = f"{'program':<12}" + "".join(f"{lib + ' min':>15}{'median':>9}" for lib in results)
    print(header + "".join(f"{lib + '/torch':>18}" for lib in results if lib != "torch"))
    for program in names:
        cells, mins, medians = "", {}, {}
        for lib, rows in results.items():
            values = [row[program] for row in rows]
            mins[lib], medians[lib] = min(values), statistics.median(values)
            cells += f"{mins[lib]:>15.2f}{medians[lib]:>9.2f}"
        for lib in results:
            if lib != "torch":
                ratio = f"{mins[lib] / mins['torch']:.2f} ({medians[lib] / medians['torch']:.2f})"
                cells += f"{ratio:>18}"
        print(f"{program:<12}" + cells)
    print(f"(chain_100 per op: the step / {CHAIN_OPS}; ratios: min (median))")


if __name__ == "__main__":
    main()
