"""Eager per-op overhead on user-style code, gpugrad against PyTorch, each in its own process.

    python -m bench.eager_micro [--rounds 7] [--seconds 0.4] [--baseline DIR]

The same step function runs with ``L = torch`` and ``L = gpugrad`` (``--baseline DIR``
adds a third library: the gpugrad package found in ``DIR``, e.g. an exported older
commit). Each round starts one fresh process per library, alternating, so slow phases of a
loaded machine hit all of them alike. A process times each program in batches and keeps
its fastest batch (µs per step); the report gives, across rounds, the minimum and the
median, and the ratios to PyTorch of both.

Programs: the seed notebook's scalar logistic step (sigmoid, clamp(eps), two logs, mean,
backward, ``.grad`` reset), ``sin(x**2)`` on a 0-d tensor, and a 100-op elementwise chain
on 1,000 float32 (forward, ``sum``, backward; per op = step / 100).
"""

from __future__ import annotations

import argparse
import json
import os
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
    parser.add_argument("--worker", choices=("torch", "gpugrad"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seconds)
        return
    libraries: dict[str, str | None] = {"torch": None, "gpugrad": None}
    if args.baseline:
        libraries["baseline"] = str(Path(args.baseline).resolve())
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
