"""The measuring harness itself: every variant is timed in a process of its own, holding
one library, never in the driving process; ``--baseline`` runs an older commit's gpugrad."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.__main__ import run_case
from bench.baseline import export
from bench.harness import measure
from bench.worker import Placement, Workers, build_remote
from bench.workloads import Settings, find_case

QUICK = Settings(quick=True, compile=False)


def test_each_library_is_timed_in_a_process_of_its_own() -> None:
    case = find_case("A", "cpu", "sin_sq", QUICK)
    with Workers() as workers:
        result = run_case(case, workers, None, QUICK, wait_s=0)
    rows = {row["label"]: row for row in result["variants"]}
    assert {"gpugrad", "torch", "numpy by hand"} <= set(rows)
    assert result["check"]["ok"], result["check"]["problems"]
    pids = {}
    for label, row in rows.items():
        processes = row["processes"]
        assert len(processes) == 1, f"{label} was timed in {len(processes)} processes"
        (process,) = processes
        assert process["pid"] != os.getpid(), f"{label} was timed in the driving process"
        assert len(process["libraries"]) <= 1, f"{label}'s process imported {process}"
        pids[label] = process["pid"]
    assert len(set(pids.values())) == len(pids), f"variants shared a process: {pids}"
    assert rows["gpugrad"]["processes"][0]["libraries"] == ["gpugrad"]
    assert rows["torch"]["processes"][0]["libraries"] == ["torch"]
    assert rows["numpy by hand"]["processes"][0]["libraries"] == []
    target = result["targets"][0]
    assert target["ratio"] is not None and target["range"][0] <= target["ratio"]


def test_ratios_are_taken_per_round() -> None:
    case = find_case("B", "cpu", "n=1", QUICK)
    with Workers() as workers:
        here = Placement()
        variants, skipped = build_remote(
            workers, case, [("gpugrad", here), ("numpy by hand", here)], True, False
        )
        assert skipped == {}
        timings, _ = measure(variants, rounds=3, inner=1, warmup=False)
        for v in variants:
            v.release()
    assert [len(t.samples) for t in timings.values()] == [3, 3]
    assert all(len(t.processes) == 1 for t in timings.values())


def test_baseline_runs_the_older_commit_in_its_own_process() -> None:
    if not (Path(__file__).resolve().parent.parent / ".git").exists():
        pytest.skip("not a git checkout: there is no older commit to export")
    baseline = export("HEAD")
    try:
        case = find_case("A", "cpu", "sin_sq", QUICK)
        with Workers() as workers:
            variants, skipped = build_remote(
                workers,
                case,
                [("gpugrad", Placement()), ("gpugrad", baseline.placement)],
                True,
                False,
            )
            assert skipped == {}
            current, older = variants
            assert older.label == "gpugrad @HEAD"
            assert Path(older.gpugrad_file).is_relative_to(baseline.directory)
            assert not Path(current.gpugrad_file).is_relative_to(baseline.directory)
            assert older.pid != current.pid
            timings, _ = measure(variants, rounds=2, inner=1, warmup=False)
            for v in variants:
                v.release()
    finally:
        baseline.remove()
    assert not baseline.directory.exists()
    from bench.report import case_result

    result = case_result(case, variants, {}, timings, [])
    (entry,) = result["baseline"]
    assert (entry["subject"], entry["reference"]) == ("gpugrad", "gpugrad @HEAD")
    assert entry["ratio"] > 0
