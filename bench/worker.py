"""Measuring processes: each benchmarked variant runs in a Python process of its own.

Two libraries in one process disturb each other's timings: after a call, OpenBLAS's and
PyTorch's worker threads keep spinning for a while, and the other library's threads then
starve (on a 2-core machine a PyTorch MLP step alternated with a NumPy matmul cost 16 ms
per pair instead of 1.2 ms). So ``python -m bench`` (the driving process) builds and times
nothing itself: it starts one persistent worker per variant (``python -m bench.worker``)
and drives it over a pipe. A worker imports only what its variant uses, builds the
variant from ``bench.workloads`` as the driver names it, and answers requests: build a
case's variant, send back its results (host arrays, for the cross-library check), warm up,
time one block. Each timed block reports the worker's pid and the autodiff libraries
imported in it, so the report (and ``bench/test_harness.py``) can show that every
measuring process held one library.

A worker can be started with a directory first on ``sys.path`` (``--baseline``: an older
commit of gpugrad, exported by ``git archive``) and with extra environment variables
(``bench.threads``: thread-pool sizes, read by the libraries when they load).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .harness import Sample, Unavailable

ROOT = Path(__file__).resolve().parent.parent

LIBRARIES = ("gpugrad", "torch", "mygrad", "autograd")
"""The autodiff libraries under comparison: a measuring process may import one of them
(NumPy and CuPy are what every variant stands on, and are not counted)."""


def imported_libraries() -> tuple[str, ...]:
    """Which of :data:`LIBRARIES` this process has imported."""
    return tuple(name for name in LIBRARIES if name in sys.modules)


# --- the worker's side ------------------------------------------------------------------
class _Server:
    def __init__(self) -> None:
        self.case: Any = None
        self.variant: Any = None

    def build(self, workload: str, device: str, name: str, label: str, settings: Any):
        from .workloads import find_case

        self.release()
        self.case = find_case(workload, device, name, settings)
        try:
            self.variant = self.case.build(label)
        except Unavailable as e:
            self.release()
            return {"available": False, "reason": str(e)}
        v = self.variant
        return {
            "available": True,
            "role": v.role,
            "note": v.note,
            "info": v.info,
            "checked": v.checked,
            **self.hello(),
        }

    def results(self, steps: int):
        from .harness import results

        return results(self.variant, steps)

    def warmup(self, iterations: int) -> None:
        v = self.variant
        if v.reset is not None:
            v.reset()
        for _ in range(iterations):
            v.run()
        if self.case.sync is not None:
            self.case.sync()

    def time(self, inner: int) -> Sample:
        from .harness import time_block

        cpu0 = time.process_time()
        seconds = time_block(self.variant, inner, self.case.sync)
        return Sample(seconds, time.process_time() - cpu0, os.getpid(), imported_libraries())

    def release(self) -> None:
        self.case = self.variant = None

    def hello(self) -> dict[str, Any]:
        gg = sys.modules.get("gpugrad")
        return {
            "pid": os.getpid(),
            "libraries": imported_libraries(),
            "gpugrad_file": getattr(gg, "__file__", None),
        }


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer pickled ``(method, args)`` requests with pickled ``(ok, value)`` replies
    until ``quit`` or the end of the input."""
    server = _Server()
    while True:
        try:
            method, args = pickle.load(requests)
        except EOFError:
            return
        if method == "quit":
            return
        try:
            reply = (True, getattr(server, method)(*args))
        except BaseException:
            reply = (False, traceback.format_exc())
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--path-first":
        sys.path.insert(0, sys.argv[2])
    # the protocol keeps the real stdout; whatever a library prints goes to stderr
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, replies)


# --- the driver's side ------------------------------------------------------------------
class WorkerError(RuntimeError):
    """A measuring process failed (its traceback is the message) or died."""


class Worker:
    """One measuring process, started on creation, driven by :meth:`call`."""

    def __init__(self, path_first: str | None = None, env: Mapping[str, str] | None = None):
        command = [sys.executable, "-m", "bench.worker"]
        if path_first:
            command += ["--path-first", path_first]
        environment = {**os.environ, **(env or {})}
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), environment.get("PYTHONPATH")) if p
        )
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def call(self, method: str, *args: Any) -> Any:
        self.send(method, *args)
        return self.receive()

    def send(self, method: str, *args: Any) -> None:
        """Ask without waiting (several processes can then work at once)."""
        try:
            pickle.dump((method, args), self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except BrokenPipeError as e:
            raise self._died() from e

    def receive(self) -> Any:
        try:
            ok, value = pickle.load(self.process.stdout)
        except EOFError as e:
            raise self._died() from e
        if not ok:
            raise WorkerError(value)
        return value

    def _died(self) -> WorkerError:
        return WorkerError(
            f"measuring process {self.process.pid} died (exit {self.process.poll()})"
        )

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                pickle.dump(("quit", ()), self.process.stdin)
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Placement:
    """Where a variant is measured: its worker's ``sys.path`` head and environment."""

    path_first: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    suffix: str = ""  # added to the label in reports, e.g. " @3f2a1c9"

    def key(self, label: str) -> tuple:
        return (label, self.path_first, self.env)


@dataclass
class Workers:
    """The persistent measuring processes of a run: one per (variant label, placement),
    reused from case to case (a variant's process loads its library once)."""

    started: dict[tuple, Worker] = field(default_factory=dict)

    def get(self, label: str, placement: Placement) -> Worker:
        key = placement.key(label)
        if key not in self.started:
            self.started[key] = Worker(placement.path_first, dict(placement.env))
        return self.started[key]

    def close(self) -> None:
        for worker in self.started.values():
            worker.close()
        self.started.clear()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RemoteVariant:
    """A case's variant built in its own measuring process (a :class:`harness.Runner`)."""

    label: str  # as reported (with the placement's suffix)
    worker: Worker
    role: str = "other"
    note: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    checked: bool = True
    pid: int = 0
    libraries: tuple[str, ...] = ()
    gpugrad_file: str | None = None

    def results(self, steps: int) -> Any:
        return self.worker.call("results", steps)

    def warmup(self, iterations: int) -> None:
        self.worker.call("warmup", iterations)

    def time(self, inner: int) -> Sample:
        return self.worker.call("time", inner)

    def release(self) -> None:
        self.worker.call("release")


def build_remote(
    workers: Workers,
    case: Any,
    labels: list[tuple[str, Placement]],
    settings: Any,
) -> tuple[list[RemoteVariant], dict[str, str]]:
    """Build ``case``'s variants, each in its measuring process (all at once), with the
    run's ``bench.workloads.Settings``: the variants that run here, and the reason for
    each that cannot."""
    asked = []
    for label, placement in labels:
        worker = workers.get(label, placement)
        worker.send("build", case.workload, case.device, case.name, label, settings)
        asked.append((label + placement.suffix, worker))
    variants, skipped = [], {}
    for label, worker in asked:
        reply = worker.receive()
        if not reply["available"]:
            skipped[label] = reply["reason"]
            continue
        variants.append(
            RemoteVariant(
                label,
                worker,
                reply["role"],
                reply["note"],
                reply["info"],
                reply["checked"],
                reply["pid"],
                tuple(reply["libraries"]),
                reply["gpugrad_file"],
            )
        )
    return variants, skipped


if __name__ == "__main__":
    main()
