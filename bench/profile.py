"""``python -m bench.profile``: where one library's time goes in a workload (cProfile).

python -m bench.profile --only A,B                # gpugrad, top 20 by tottime
python -m bench.profile --only D --label torch\\ composed --top 30 --sort cumulative
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats

from .harness import Unavailable
from .workloads import Settings, cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--only", default="AB", help="workloads, e.g. A,B")
    parser.add_argument("--case", default="", help="case name within them, e.g. n=1")
    parser.add_argument("--label", default="gpugrad", help="variant to profile")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--iterations", type=int, default=0, help="default: rounds × inner")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args(argv)
    only = args.only.replace(",", "").upper()
    for case in cases(only, args.device, Settings(compile=False)):
        if args.case and case.name != args.case:
            continue
        try:
            variant = case.build(args.label)
        except (Unavailable, KeyError) as e:
            print(f"== {case.id}: no {args.label!r} ({e})")
            continue
        n = args.iterations or case.rounds * case.inner
        if variant.reset is not None:
            variant.reset()
        variant.run()  # warm up
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            variant.run()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
        print(f"== {case.id} · {args.label} · {n} iterations (times include profiling overhead)")
        print(out.getvalue())
        case.release()


if __name__ == "__main__":
    main()
