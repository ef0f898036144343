"""``python -m bench``: run the benchmark suite and write ``bench/results/<name>.{json,md,png}``.

Options: ``--quick`` (tiny sizes, every benchmark once), ``--only A,B``, ``--out DIR``,
``--device cpu|cuda|all``, ``--no-compile`` (skip torch.compile), ``--baseline REV``
(gpugrad at an older commit measured beside the current tree, in its own processes).
Every variant is measured in a process of its own (``bench.worker``); this process only
drives them. Exits 1 when the libraries disagree on a result (the files are written all
the same).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import report
from .baseline import Baseline, export
from .harness import Case, compare, measure, wait_for_quiet
from .report import BUSY
from .worker import Placement, Workers, build_remote
from .workloads import FACTORIES, Settings, cases

RESULTS = Path(__file__).resolve().parent / "results"


def _progress(items: list, quiet: bool):
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None and not quiet:
        bar = tqdm(items, unit="case", file=sys.stderr, dynamic_ncols=True)
        for item in bar:
            bar.set_description(item.id)
            yield item, bar.write
        return
    for i, item in enumerate(items, 1):
        print(f"[{i}/{len(items)}] {item.id}", file=sys.stderr, flush=True)
        yield item, lambda text: print(text, file=sys.stderr, flush=True)


def placements(case: Case, baseline: Baseline | None) -> list[tuple[str, Placement]]:
    """Every variant label of ``case`` with where it runs; with a baseline, each gpugrad
    variant a second time, on the older commit."""
    here = Placement()
    out = [(label, here) for label in case.builders]
    if baseline is not None:
        out += [
            (label, baseline.placement) for label in case.builders if label.startswith("gpugrad")
        ]
    return out


def run_case(
    case: Case,
    workers: Workers,
    baseline: Baseline | None,
    settings: Settings,
    wait_s: float,
) -> dict:
    """Build, check and time one case, each variant in its measuring process."""
    variants, skipped = build_remote(workers, case, placements(case, baseline), settings)
    try:
        outputs = {v.label: v.results(case.check_steps) for v in variants if v.checked}
        problems = compare(case, outputs)
        del outputs
        waited, _ = wait_for_quiet(wait_s, BUSY) if wait_s > 0 else (0.0, None)
        timings, stats = measure(
            variants,
            case.rounds,
            case.inner,
            warmup=not settings.quick,
            quiet_cores=BUSY if wait_s > 0 else None,
            max_wait_s=wait_s,
        )
    finally:
        for v in variants:
            v.release()
    result = report.case_result(case, variants, skipped, timings, problems)
    stats["waited_s"] += waited
    result["load"] = {**stats, "others_cores": stats["others_cores_mean"]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, every benchmark once")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. A,B")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--device", default="all", choices=("all", "cpu", "cuda"))
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--plain", action="store_true", help="plain progress lines, no tqdm")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        default=None,
        help="also measure gpugrad at git commit REV, each variant in its own process, and "
        "report the current tree's time over REV's per round",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=None,
        metavar="S",
        help="wait up to S seconds per case for other processes to leave the CPU, and redo "
        "rounds they disturbed (default 60, 0 with --quick)",
    )
    args = parser.parse_args(argv)
    only = "".join(w.strip().upper() for w in args.only.split(",") if w.strip()) or "".join(
        FACTORIES
    )
    settings = Settings(quick=args.quick, compile=False if args.no_compile else None)
    wait_s = args.wait_quiet if args.wait_quiet is not None else (0 if args.quick else 60)

    start = time.perf_counter()
    machine = report.machine_info()
    allocator, overrides = report.allocator_note()
    selected = cases(only, args.device, settings)
    baseline = export(args.baseline) if args.baseline else None
    results = []
    try:
        with Workers() as workers:
            for case, say in _progress(selected, args.plain):
                result = run_case(case, workers, baseline, settings, wait_s)
                results.append(result)
                cores = result["load"]["others_cores"]
                if cores is not None and cores > BUSY:
                    say(f"  other processes kept {cores:.2f} cores busy during {case.id}")
                for t in result["targets"] + result["baseline"]:
                    if t["ratio"] is not None:
                        say(
                            f"  {case.id}: {t['subject']} {t['ratio']:.2f}× {t['reference']} "
                            f"({t['status']})"
                        )
                side = result["compiled"]
                for key in ("compiled", "torch_compiled") if side else ():
                    first = side[key].get("compile_s")
                    if first is not None:
                        say(f"  {case.id}: {side[key]['label']} first call {first:.3g} s")
                for p in result["check"]["problems"]:
                    say(f"  CHECK FAILED {p}")
    finally:
        if baseline is not None:
            baseline.remove()

    run = {
        "name": report.result_name(machine),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine,
        "allocator": allocator,
        "allocator_overrides": overrides,
        "settings": {
            "quick": settings.quick,
            "torch_compile": settings.torch_compile,
            "only": only,
            "device": args.device,
            "wait_quiet_s": wait_s,
            "baseline": None
            if baseline is None
            else {"rev": baseline.rev, "commit": baseline.commit},
        },
        "elapsed_s": time.perf_counter() - start,
        "cases": results,
        "targets": [t for r in results for t in r["targets"]],
        "compiled": [r["compiled"] for r in results if r["compiled"]],
        "baseline": [t for r in results for t in r["baseline"]],
    }
    for path in report.write_all(args.out, run):
        print(path)
    failed = sum(not r["check"]["ok"] for r in results)
    if failed:
        print(f"{failed} case(s) failed the cross-library check", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
