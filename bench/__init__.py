"""gpugrad's benchmark suite (issue 3): gpugrad against PyTorch, NumPy floors and peers.

    python -m bench                  # full run, writes bench/results/<host-or-gpu>.{json,md,png}
    python -m bench --quick          # every benchmark once, tiny sizes (CI, well under 60 s)
    python -m bench --only A,B --out /tmp/bench
    python -m bench --only D --baseline main   # gpugrad at commit main beside this tree
    python -m bench.threads              # gpugrad per BLAS × kernel thread count
    python -m bench.profile --only A,B   # cProfile of gpugrad's variant, top by tottime
    pytest bench --benchmark-disable     # the same cases as pytest tests, each run once
    pytest bench                         # pytest-benchmark timings (full sizes)

Layout: ``programs`` (each benchmarked program, written once for every library),
``libs`` (the libraries and devices), ``workloads`` (cases A–D and their variants),
``harness`` (rounds, per-round ratios, cross-library checks, load monitor), ``worker``
(the measuring processes: one per variant, each importing its own library), ``baseline``
(an older commit exported for ``--baseline``), ``report`` (machine info, JSON/markdown/PNG),
``__main__`` (the runner), ``threads`` (thread-pool table), ``test_harness``,
``test_bench_workloads``.
"""
