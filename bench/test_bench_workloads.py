"""Every variant of every workload as a pytest-benchmark test, plus the cross-library
checks (same results; for D, the same final loss after the same training steps)."""

from __future__ import annotations

import warnings

import pytest

from bench.harness import Case, Unavailable, check
from bench.workloads import STANDIN_ENV, Settings, cases, find_case


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


# --- compiled variants (issue 18) --------------------------------------------------------
QUICK = Settings(quick=True)
COMPILED_CASES = [c for c in cases("ABCD", "cpu", QUICK) if c.compiled is not None]


class RecordingCompile:
    """A stand-in for ``gg.compile``: returns a wrapper that runs the step eagerly and
    counts its calls (and, with ``warn``, warns on the first one as a fallback would)."""

    def __init__(self, warn: str = "") -> None:
        self.compiled: list = []
        self.calls = 0
        self.warn = warn

    def __call__(self, fn, **options):
        self.compiled.append(fn)

        def compiled(*args):
            if self.warn and self.calls == 0:
                warnings.warn(self.warn, UserWarning, stacklevel=2)
            self.calls += 1
            return fn(*args)

        return compiled


def test_every_workload_of_a_to_d_has_compiled_variants() -> None:
    assert {c.workload for c in COMPILED_CASES} == set("ABCD")
    for case in COMPILED_CASES:
        side = case.compiled
        for label in (side.reference, side.eager, side.compiled, side.torch_compiled):
            assert label in case.builders, f"{case.id} has no {label!r}"
    with_targets = {
        c.id
        for c in cases("ABCD", "cpu", Settings())  # full sizes (inputs are made lazily)
        if any(t.subject == "gpugrad compiled" for t in c.targets)
    }
    assert with_targets == {
        "A sin_sq [cpu]",
        "A logistic_bce [cpu]",
        "B n=1000 [cpu]",
        "C n=10M [cpu]",
        "D logistic [cpu]",
        "D mlp [cpu]",
    }


@pytest.mark.parametrize("case", COMPILED_CASES, ids=[c.id for c in COMPILED_CASES])
def test_compiled_variant_compiles_the_whole_step_and_matches_eager(case, monkeypatch) -> None:
    gg = pytest.importorskip("gpugrad")
    standin = RecordingCompile()
    monkeypatch.setattr(gg, "compile", standin, raising=False)
    monkeypatch.delenv(STANDIN_ENV, raising=False)
    side = case.compiled
    compiled = case.build(side.compiled)
    assert len(standin.compiled) == 1  # one step compiled, called 3 times while building
    assert standin.calls == 3
    assert min(compiled.info[f"{n}_s"] for n in ("compile", "second_call", "third_call")) > 0
    assert compiled.info["compiler"] == "gg.compile"
    assert "first call" in compiled.note
    variants = [case.build(side.reference), case.build(side.eager), compiled]
    assert check(case, variants) == []
    assert standin.calls > 3  # the check ran the compiled step, not the eager one


def test_a_warning_while_compiling_is_reported(monkeypatch) -> None:
    gg = pytest.importorskip("gpugrad")
    monkeypatch.setattr(gg, "compile", RecordingCompile("graph break: .item()"), raising=False)
    case = find_case("A", "cpu", "logistic_bce", QUICK)
    variant = case.build("gpugrad compiled")
    assert variant.info["warnings"] == ["UserWarning: graph break: .item()"]
    assert "graph break: .item()" in variant.note


def test_without_gg_compile_the_variant_is_skipped_with_the_reason(monkeypatch) -> None:
    gg = pytest.importorskip("gpugrad")
    monkeypatch.delattr(gg, "compile", raising=False)
    monkeypatch.delenv(STANDIN_ENV, raising=False)
    case = find_case("B", "cpu", "n=1", QUICK)
    with pytest.raises(Unavailable, match="no gg.compile"):
        case.build("gpugrad compiled")


def test_a_failing_gg_compile_is_an_error_not_a_skip(monkeypatch) -> None:
    gg = pytest.importorskip("gpugrad")

    def broken(fn, **options):
        def compiled(*args):
            raise RuntimeError("no lowering for op")

        return compiled

    monkeypatch.setattr(gg, "compile", broken, raising=False)
    case = find_case("A", "cpu", "sin_sq", QUICK)
    with pytest.raises(RuntimeError, match="no lowering"):
        case.build("gpugrad compiled")


def test_torch_compile_is_skipped_in_quick_mode_and_its_failure_is_a_reason(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    case = find_case("D", "cpu", "logistic", QUICK)
    with pytest.raises(Unavailable, match="quick mode"):
        case.build("torch.compile")

    def broken(fn, **options):
        def compiled(*args):
            raise RuntimeError("inductor: no C++ compiler\nmore lines")

        return compiled

    monkeypatch.setattr(torch, "compile", broken)
    case = find_case("D", "cpu", "logistic", Settings(quick=True, compile=True))
    with pytest.raises(Unavailable, match=r"^torch.compile failed: RuntimeError: inductor: no C"):
        case.build("torch.compile")
