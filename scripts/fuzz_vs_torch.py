"""Run random tensor programs under PyTorch and gpugrad and print every mismatch.

    python scripts/fuzz_vs_torch.py --seed 0 --count 5000 [--hostile] [--steps 12]

Each mismatch is printed with its kind and a self-contained program that reproduces it
(``import torch as L`` or ``import gpugrad as L``). A summary counts the mismatches by
kind. The generator lives in ``tests/fuzz_programs.py``; ``tests/test_fuzz_vs_torch.py``
runs a fixed few hundred of these programs in the test suite.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fuzz_programs import run_program  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first program's seed")
    parser.add_argument("--count", type=int, default=1000, help="how many programs")
    parser.add_argument("--steps", type=int, default=12, help="statements per program")
    parser.add_argument(
        "--hostile", action="store_true", help="NaN/inf/huge values, empty and bad arguments"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--quiet", action="store_true", help="print only the first line of each mismatch"
    )
    parser.add_argument("--kind", default=None, help="report only mismatches of this kind")
    args = parser.parse_args()
    kinds: collections.Counter[str] = collections.Counter()
    for seed in range(args.seed, args.seed + args.count):
        outcome = run_program(seed, args.device, args.steps, args.hostile)
        if outcome is None:
            continue
        kinds[outcome.kind] += 1
        if args.kind and outcome.kind != args.kind:
            continue
        text = outcome.format()
        if args.quiet:
            text = text.splitlines()[0] + " | " + outcome.program[-1][:150]
        print(text + ("\n" if not args.quiet else ""), flush=True)
    total = sum(kinds.values())
    print(f"{args.count} programs, {total} with a mismatch: {dict(kinds.most_common())}")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
