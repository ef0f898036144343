"""pytest-benchmark front end of the suite: the cases come from ``bench.workloads``.

    pytest bench --benchmark-disable      # every benchmark once, tiny sizes (CI, < 1 min)
    pytest bench                          # pytest-benchmark timings, full sizes
    pytest bench --bench-quick            # pytest-benchmark timings, tiny sizes

``python -m bench`` is the suite's main runner and its report is the claim: there every
variant is timed in a process of its own. pytest-benchmark times each variant in pytest's
own process, where the libraries the earlier tests loaded may still be spinning threads:
use those timings for one variant's trend, never for a ratio between libraries.
"""

from __future__ import annotations

import pytest

from bench.workloads import FACTORIES, Settings, cases


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gpugrad bench")
    group.addoption(
        "--bench-quick", action="store_true", help="tiny sizes (implied by --benchmark-disable)"
    )
    group.addoption("--bench-only", default="", help="workloads to collect, e.g. AB (default: all)")
    group.addoption("--bench-device", default="all", choices=("all", "cpu", "cuda"))


def _settings(config: pytest.Config) -> Settings:
    disabled = bool(config.getoption("benchmark_disable", default=False))
    return Settings(quick=disabled or config.getoption("bench_quick"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bench_case" not in metafunc.fixturenames:
        return
    config = metafunc.config
    selected = cases(
        config.getoption("bench_only").replace(",", "").upper() or "".join(FACTORIES),
        config.getoption("bench_device"),
        _settings(config),
    )
    if "bench_label" in metafunc.fixturenames:
        pairs = [(c, label) for c in selected for label in c.builders]
        metafunc.parametrize(
            ("bench_case", "bench_label"), pairs, ids=[f"{c.id}-{label}" for c, label in pairs]
        )
    else:
        metafunc.parametrize("bench_case", selected, ids=[c.id for c in selected])
