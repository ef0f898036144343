"""Every variant of every workload as a pytest-benchmark test, plus the cross-library
checks (same results; for D, the same final loss after the same training steps)."""

from __future__ import annotations

import pytest

from bench.harness import Case, Unavailable, check


def test_benchmark(benchmark, bench_case: Case, bench_label: str) -> None:
    try:
        variant = bench_case.build(bench_label)
    except Unavailable as e:
        pytest.skip(str(e))
    benchmark.group = bench_case.id
    benchmark.extra_info.update(
        role=variant.role, note=variant.note, ops_per_iteration=bench_case.per, **variant.info
    )
    run, sync = variant.run, bench_case.sync
    if sync is not None:

        def run():
            variant.run()
            sync()

    if variant.reset is None:
        benchmark(run)
    else:  # state that drifts (training steps): restart from the same weights each round
        rounds = max(20, bench_case.rounds * bench_case.inner)
        benchmark.pedantic(run, setup=variant.reset, rounds=rounds, iterations=1)


def test_libraries_agree(bench_case: Case) -> None:
    variants, _ = bench_case.build_all()
    if sum(v.checked for v in variants) < 2:
        pytest.skip("fewer than two libraries to compare")
    assert check(bench_case, variants) == []
