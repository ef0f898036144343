"""The measuring core: variants, cases, interleaved medians and cross-library checks.

A *case* is one workload at one size on one device (``C n=10M [cpu]``). It owns a lazily
built set of inputs and, per library, a builder that turns those inputs into a
:class:`Variant`: a callable that runs one iteration (and returns what it computed, so the
libraries can be checked against each other), plus an optional untimed ``reset``.

:func:`measure` times the variants of a case round by round in the same process, rotating
the order every round, and keeps the median per variant: ratios taken inside one run are
the claim; absolute times drift with the machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Unavailable(Exception):
    """A variant that cannot run here (library missing, compile failed …); the reason is
    reported instead of a time."""


@dataclass
class Variant:
    label: str
    run: Callable[[], Any]
    role: str = "other"  # subject | reference | torch | floor | memory | peer | other
    note: str = ""
    reset: Callable[[], None] | None = None
    checked: bool = True  # whether its results take part in the cross-library check
    info: dict[str, Any] = field(default_factory=dict)  # e.g. compile time


@dataclass(frozen=True)
class Target:
    subject: str  # variant label
    reference: str  # variant label
    max_ratio: float
    text: str  # as the issue states it


Builder = Callable[[Any], Variant]


@dataclass(frozen=True)
class Compiled:
    """The variants of a case that the report shows side by side, eager and compiled
    (issue 18): gpugrad eager, gpugrad under ``gg.compile``, and ``torch.compile`` of the
    same step, each as a ratio to ``reference`` (PyTorch eager; the same code, unless the
    issue's target names another reference, as C's ``bce_with_logits`` does)."""

    reference: str
    eager: str = "gpugrad"
    compiled: str = "gpugrad compiled"
    torch_compiled: str = "torch.compile"


@dataclass
class Case:
    """One workload at one size on one device."""

    workload: str  # "A", "B", …
    name: str  # unique within a workload and device, e.g. "n=10M"
    title: str
    device: str  # "cpu" | "cuda"
    make_inputs: Callable[[], Any]
    builders: dict[str, Builder]  # variant label -> builder (static labels, lazy work)
    reference: str  # label that ratios are taken against
    floor: str | None = None
    per: int = 1  # operations per iteration: times are reported per operation
    unit: str = "iteration"
    rounds: int = 15
    inner: int = 1
    targets: tuple[Target, ...] = ()
    check_steps: int = 1  # iterations run (after reset) before comparing results
    rtol: float = 1e-4
    atol: float = 0.0
    sync: Callable[[], None] | None = None
    compiled: Compiled | None = None  # eager and compiled side by side in the report
    _inputs: Any = None

    @property
    def id(self) -> str:
        return f"{self.workload} {self.name} [{self.device}]"

    def inputs(self) -> Any:
        if self._inputs is None:
            self._inputs = self.make_inputs()
        return self._inputs

    def build(self, label: str) -> Variant:
        variant = self.builders[label](self.inputs())
        variant.label = label
        return variant

    def build_all(self) -> tuple[list[Variant], dict[str, str]]:
        """Every variant that can run here, and the reason for each that cannot."""
        variants, skipped = [], {}
        for label in self.builders:
            try:
                variants.append(self.build(label))
            except Unavailable as e:
                skipped[label] = str(e)
        return variants, skipped

    def release(self) -> None:
        self._inputs = None


# --- results and checks ---------------------------------------------------------------
def to_numpy(value: Any) -> np.ndarray:
    """A host float64 array from what a variant returned (any library, any device)."""
    if value is None:
        raise TypeError("variant returned None")
    module = type(value).__module__
    if module.startswith("mygrad"):
        value = value.data
    elif module.startswith("cupy"):
        value = value.get()
    elif hasattr(value, "detach"):  # torch and gpugrad tensors
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def results(variant: Variant, steps: int) -> tuple[np.ndarray, ...]:
    """What ``variant`` returns after ``steps`` iterations from its reset state, as host
    arrays (a measuring process sends these back for the cross-library check)."""
    if variant.reset is not None:
        variant.reset()
    out = None
    for _ in range(steps):
        out = variant.run()
    if not isinstance(out, tuple):
        out = (out,)
    return tuple(to_numpy(v) for v in out)


def compare(case: Case, outputs: dict[str, tuple[np.ndarray, ...]]) -> list[str]:
    """Compare each checked variant's results (label -> arrays) with the reference's, or
    with the first one's when the reference did not run. Returns the mismatches."""
    if not outputs:
        return []
    base_label = case.reference if case.reference in outputs else next(iter(outputs))
    expected = outputs[base_label]
    problems = []
    for label, got_all in outputs.items():
        if label == base_label:
            continue
        for i, (g, e) in enumerate(zip(got_all, expected)):
            if g.shape != e.shape and g.size == e.size:
                g = g.reshape(e.shape)
            scale = float(np.max(np.abs(e))) if e.size else 0.0
            atol = case.atol + case.rtol * scale
            if g.shape != e.shape or not np.allclose(g, e, rtol=case.rtol, atol=atol):
                diff = np.max(np.abs(g - e)) if g.shape == e.shape else "shape"
                problems.append(
                    f"{case.id}: {label} output {i} differs from {base_label} "
                    f"(max abs diff {diff}, scale {scale:.3g})"
                )
    return problems


def check(case: Case, variants: list[Variant]) -> list[str]:
    """:func:`compare` of variants built in this process (the pytest front end)."""
    return compare(case, {v.label: results(v, case.check_steps) for v in variants if v.checked})


# --- timing ---------------------------------------------------------------------------
SETTLE_BELOW = 3


def time_block(variant: Variant, inner: int, sync: Callable[[], None] | None) -> float:
    """Seconds per iteration of ``inner`` iterations of ``variant`` after its untimed
    ``reset`` (what one round measures of one variant, in the variant's own process).
    ``sync`` (the device's synchronize) is called before reading each clock. When fewer
    than ``SETTLE_BELOW`` calls are timed, one untimed call of the same variant comes
    first, so that a single timed call does not carry whatever ran on the machine just
    before it (another process's threads still spinning, caches, page faults)."""
    clock = time.perf_counter
    run = variant.run
    if inner < SETTLE_BELOW:
        if variant.reset is not None:
            variant.reset()
        run()
    if variant.reset is not None:
        variant.reset()
    if sync is not None:
        sync()
    t0 = clock()
    for _ in range(inner):
        run()
    if sync is not None:
        sync()
    return (clock() - t0) / inner


@dataclass
class Sample:
    """One variant's block in one round, as its measuring process reports it."""

    seconds: float  # per iteration
    cpu_s: float  # CPU time the measuring process used for the whole request (all threads)
    pid: int
    libraries: tuple[str, ...]  # the autodiff libraries imported in that process


class Runner(Protocol):
    """A variant that runs somewhere else (``bench.worker.RemoteVariant``)."""

    label: str

    def warmup(self, iterations: int) -> None: ...

    def time(self, inner: int) -> Sample: ...


@dataclass
class Timing:
    label: str
    samples: list[float]  # seconds per iteration, one per kept round (aligned across variants)
    processes: set[tuple[int, tuple[str, ...]]] = field(default_factory=set)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quartiles(self) -> tuple[float, float]:
        return quartiles(self.samples)


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def round_ratios(subject: Timing, reference: Timing) -> list[float]:
    """``subject ÷ reference`` in each round: both ran in that round, one after the other,
    so they saw the same machine; the claim is the median of these."""
    return [s / r for s, r in zip(subject.samples, reference.samples)]


def measure(
    runners: list[Runner],
    rounds: int,
    inner: int,
    warmup: bool = True,
    quiet_cores: float | None = None,
    max_wait_s: float = 0.0,
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Seconds per iteration of each variant, round by round: each round times every
    variant's block of ``inner`` iterations, one variant after another, each in its own
    process, and the order rotates from round to round so that no variant always runs
    first or after the same neighbour.

    With ``quiet_cores``, a round during which more than that many cores were busy with
    anything but the variant being timed (other processes, and the measuring processes'
    own threads still spinning after their block) is thrown away and run again once the
    machine is quiet (waiting at most ``max_wait_s`` in all, and redoing at most
    ``2 * rounds`` rounds); the second value returned says how many rounds were redone
    and the load of the rounds kept."""
    if warmup:
        for runner in runners:
            runner.warmup(min(inner, 3))
    timings = {r.label: Timing(r.label, []) for r in runners}
    k = len(runners)
    redone, waited, kept_load = 0, 0.0, []
    r = 0
    while r < rounds:
        order = runners[r % k :] + runners[: r % k] if k else []
        samples = []
        with LoadMonitor() as load:
            for runner in order:
                sample = runner.time(inner)
                load.exclude(sample.cpu_s)
                samples.append((runner.label, sample))
        busy = load.others_cores
        if (
            quiet_cores is not None
            and busy is not None
            and busy > quiet_cores
            and redone < 2 * rounds
            and waited < max_wait_s
        ):
            redone += 1
            waited += wait_for_quiet(max_wait_s - waited, quiet_cores)[0]
            continue
        for label, sample in samples:
            timings[label].samples.append(sample.seconds)
            timings[label].processes.add((sample.pid, sample.libraries))
        if busy is not None:
            kept_load.append(busy)
        r += 1
    stats = {
        "rounds_redone": redone,
        "waited_s": waited,
        "others_cores_mean": sum(kept_load) / len(kept_load) if kept_load else None,
        "others_cores_max": max(kept_load) if kept_load else None,
    }
    return timings, stats


# --- other processes' load: a shared 2-core machine makes every ratio noisy -------------
def _busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (Linux ``/proc/stat``), or ``None``."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return (user + nice + system + irq + softirq + steal) / ticks


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class LoadMonitor:
    """How many cores *other* processes kept busy while a block ran (``others_cores``):
    the machine's busy time less this process's and less what :meth:`exclude` was told
    (the CPU time a measuring process reported for the work it was asked to do)."""

    def __enter__(self) -> LoadMonitor:
        self._wall = time.perf_counter()
        self._busy = _busy_cpu_seconds()
        self._own = _own_cpu_seconds()
        self._excluded = 0.0
        self.others_cores: float | None = None
        return self

    def exclude(self, cpu_s: float) -> None:
        self._excluded += cpu_s

    def __exit__(self, *exc: object) -> None:
        busy = _busy_cpu_seconds()
        if busy is None or self._busy is None:
            return
        wall = time.perf_counter() - self._wall
        others = (busy - self._busy) - (_own_cpu_seconds() - self._own) - self._excluded
        self.others_cores = max(0.0, others / wall) if wall > 0 else 0.0


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.15, window_s: float = 0.5):
    """Wait (at most ``max_wait_s``) until other processes use under ``threshold_cores``
    for ``window_s``; returns the seconds waited and the last load seen."""
    start = time.perf_counter()
    while True:
        with LoadMonitor() as load:
            time.sleep(window_s)
        waited = time.perf_counter() - start
        if load.others_cores is None or load.others_cores < threshold_cores:
            return waited, load.others_cores
        if waited >= max_wait_s:
            return waited, load.others_cores
