"""``python -m bench.threads``: gpugrad under each combination of thread-pool sizes.

gpugrad's own kernel threads (the blocked NumPy and native kernels, from 256K elements)
and OpenBLAS's threads (NumPy's matrix products) share the machine's cores. This runs a
D step, a C step and the B chain with OpenBLAS at 1 and 2 threads × gpugrad's kernels at
1 and 2 threads, each combination in a measuring process of its own (the sizes are set in
its environment, ``OPENBLAS_NUM_THREADS`` and ``GPUGRAD_NUM_THREADS``, read when the
libraries load), beside gpugrad as installed (no variable set: the default a user gets).
The rounds alternate as in ``python -m bench``; each time is compared, round by round,
with the default's.

    python -m bench.threads                  # D mlp, C n=1M, B n=1000
    python -m bench.threads --cases "D logistic,D mlp,C n=1M,C n=10M" --label "gpugrad native"
"""

from __future__ import annotations

import argparse
import itertools
import statistics

from .harness import measure, round_ratios, wait_for_quiet
from .report import BUSY
from .worker import Placement, Workers, build_remote
from .workloads import Settings, find_case

DEFAULT_CASES = "D mlp,C n=1M,B n=1000"
SIZES = (1, 2)


def placements() -> list[Placement]:
    combos = [Placement(suffix=" (default)")]
    for blas, kernels in itertools.product(SIZES, SIZES):
        env = (
            ("OPENBLAS_NUM_THREADS", str(blas)),
            ("GPUGRAD_NUM_THREADS", str(kernels)),
            ("GPUGRAD_BLAS_SMALL_ONE_THREAD", "0"),
        )
        combos.append(Placement(env=env, suffix=f" blas={blas} gg={kernels}"))
    return combos


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.threads", description=__doc__)
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"default: {DEFAULT_CASES!r}")
    parser.add_argument("--label", default="gpugrad", help="the variant to run")
    parser.add_argument("--rounds", type=int, default=0, help="default: each case's own")
    parser.add_argument("--wait-quiet", type=float, default=30, metavar="S")
    args = parser.parse_args(argv)
    settings = Settings(compile=False)
    combos = placements()
    print(
        f"{args.label}: time per iteration (median over rounds) and, in parentheses, the "
        "per-round ratio to the default (median, min–max) and the fastest round's time"
    )
    header = ["case", *(c.suffix.strip() for c in combos)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" + "---:|" * len(combos))
    with Workers() as workers:
        for spec in args.cases.split(","):
            workload, name = spec.strip().split(" ", 1)
            case = find_case(workload, "cpu", name, settings)
            variants, skipped = build_remote(
                workers, case, [(args.label, c) for c in combos], settings
            )
            if skipped:
                print(f"| {case.id} | not run: {next(iter(skipped.values()))} |")
                continue
            if args.wait_quiet > 0:
                wait_for_quiet(args.wait_quiet, BUSY)
            timings, stats = measure(
                variants,
                args.rounds or case.rounds,
                case.inner,
                quiet_cores=BUSY if args.wait_quiet > 0 else None,
                max_wait_s=args.wait_quiet,
            )
            for v in variants:
                v.release()
            default = timings[variants[0].label]
            cells = [case.id]
            for v in variants:
                t = timings[v.label]
                ratios = round_ratios(t, default)
                cells.append(
                    f"{_time(t.median / case.per)} ({statistics.median(ratios):.2f}, "
                    f"{min(ratios):.2f}–{max(ratios):.2f}; fastest round "
                    f"{_time(min(t.samples) / case.per)})"
                )
            print("| " + " | ".join(cells) + " |", flush=True)
            load = stats["others_cores_mean"]
            if load is not None and load > BUSY:
                print(f"  (other processes kept {load:.2f} cores busy during {case.id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
