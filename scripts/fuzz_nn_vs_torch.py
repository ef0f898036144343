"""Run random ``nn.functional`` calls and ``nn`` modules under PyTorch and gpugrad; print
every mismatch.

    python scripts/fuzz_nn_vs_torch.py --seed 0 --count 2000 [--hostile] [--family conv2d]

Each mismatch is printed with its kind, the call and a self-contained script that reproduces
it (``import torch as L`` or ``import gpugrad as L``). A summary counts the mismatches by
kind. The generator lives in ``tests/fuzz_nn.py``; ``tests/test_fuzz_nn.py`` runs a fixed
few hundred of these cases in the test suite.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fuzz_nn import FAMILIES, run_seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first case's seed")
    parser.add_argument("--count", type=int, default=1000, help="how many cases")
    parser.add_argument(
        "--hostile", action="store_true", help="mostly bad arguments, NaN/inf values, empty"
    )
    parser.add_argument("--family", choices=sorted(FAMILIES), default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--quiet", action="store_true", help="print only the first line of each mismatch"
    )
    parser.add_argument("--kind", default=None, help="report only mismatches of this kind")
    args = parser.parse_args()
    kinds: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    for seed in range(args.seed, args.seed + args.count):
        outcome = run_seed(seed, args.device, args.hostile, args.family)
        if outcome is None:
            continue
        kinds[outcome.kind] += 1
        functions[outcome.case.function] += 1
        if args.kind and outcome.kind != args.kind:
            continue
        text = outcome.format()
        if args.quiet:
            lines = text.splitlines()
            text = f"{lines[0][:300]} | {lines[-1].strip()[:200]}"
        print(text + ("\n" if not args.quiet else ""), flush=True)
    total = sum(kinds.values())
    print(f"by function: {dict(functions.most_common())}")
    print(f"{args.count} cases, {total} with a mismatch: {dict(kinds.most_common())}")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
