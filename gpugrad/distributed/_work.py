"""Waiting for a collective, bounded by the process group's timeout.

Every collective is started non-blocking (an MPI request, or an event recorded on the
CUDA stream after an NCCL call) and then polled here until it completes or the deadline
passes; after the timeout it raises ``RuntimeError`` naming the collective and the
timeout, as PyTorch's gloo backend does, instead of waiting forever.

How it polls. MPI moves a message only while some rank's MPI calls drive its progress
engine (MPICH has no progress thread), so a rank that sleeps between polls slows the
transfer itself. Each MPI collective therefore comes with an ``arrived``
poll (a non-blocking barrier started with it): while some rank has not reached the
collective, the waiting rank sleeps between polls with a growing backoff (after a short
spin: most collectives complete within microseconds), so waiting for a slow or failed
peer costs almost no CPU; once every rank has arrived it polls without sleeping until the
data has moved, as a blocking MPI call would.

This module knows nothing about tensors, MPI or NCCL: ``_group`` and ``_nccl`` both build
on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

# PyTorch's default for the gloo and MPI backends (torch.distributed.default_pg_timeout).
DEFAULT_TIMEOUT = timedelta(minutes=30)

SPIN_SECONDS = 0.002  # poll without sleeping for this long first
FIRST_SLEEP_SECONDS = 0.0001
MAX_SLEEP_SECONDS = 0.01  # the most a finished collective can go unnoticed

TIMED_OUT = (
    "{op} timed out on rank {rank} after {ms}ms (timeout={timeout}, set by "
    "init_process_group(timeout=...)): the other ranks did not join it. One of them may "
    "have failed, exited, or be waiting in a different collective; check their logs. "
    "The process group cannot be used after a timeout."
)
BROKEN = (
    "the process group is unusable: an earlier {op} timed out on this rank. "
    "Destroy it and start a new job."
)


class CollectiveTimeout:
    """What a group remembers after a timeout: no further collective may start on it (its
    communicator still has the unfinished operation pending). ``on_timeout`` runs once,
    when the first timeout happens."""

    def __init__(self, on_timeout: Callable[[], None] | None = None) -> None:
        self.failed_op: str | None = None
        self.on_timeout = on_timeout

    def timed_out(self, op: str) -> None:
        if self.failed_op is None and self.on_timeout is not None:
            self.on_timeout()
        self.failed_op = op

    def check(self) -> None:
        if self.failed_op is not None:
            raise RuntimeError(BROKEN.format(op=self.failed_op))


def wait_until(
    done: Callable[[], bool],
    op: str,
    timeout: timedelta,
    rank: int,
    state: CollectiveTimeout,
    arrived: Callable[[], bool] | None = None,
) -> None:
    """Poll ``done()`` until it returns True; raise ``RuntimeError`` after ``timeout``.
    While ``arrived()`` (every rank has reached the collective) is True, poll without
    sleeping; without ``arrived``, sleep between polls after the first spin."""
    if done():
        return
    start = time.monotonic()
    seconds = timeout.total_seconds()
    deadline = start + seconds
    spin_until = start + min(SPIN_SECONDS, seconds)
    sleep = FIRST_SLEEP_SECONDS
    while not done():
        now = time.monotonic()
        if now >= deadline:
            state.timed_out(op)
            raise RuntimeError(
                TIMED_OUT.format(op=op, rank=rank, ms=round(seconds * 1000), timeout=timeout)
            )
        if now < spin_until or (arrived is not None and arrived()):
            continue
        time.sleep(min(sleep, deadline - now))
        sleep = min(sleep * 2, MAX_SLEEP_SECONDS)


class Work:
    """The handle an ``async_op=True`` collective returns: ``wait()`` finishes it.

    ``done`` reports whether the transfer has completed (``None``: it already has);
    ``arrived`` whether every rank has reached the collective (see ``wait_until``);
    ``finish`` runs once after it, on the caller's thread (it writes the results into the
    tensors). ``wait()`` is bounded by the group's timeout, or by its own ``timeout``.
    """

    def __init__(
        self,
        op: str = "collective",
        done: Callable[[], bool] | None = None,
        finish: Callable[[], None] | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        rank: int = 0,
        state: CollectiveTimeout | None = None,
        arrived: Callable[[], bool] | None = None,
    ) -> None:
        self._op = op
        self._done = done
        self._arrived = arrived
        self._finish = finish
        self._timeout = timeout
        self._rank = rank
        self._state = CollectiveTimeout() if state is None else state
        self._completed = done is None and finish is None

    def is_completed(self) -> bool:
        """True once the collective has completed (finishing it, if it just did)."""
        if self._completed:
            return True
        if self._done is None or self._done():
            self._complete()
        return self._completed

    def wait(self, timeout: timedelta | None = None) -> bool:
        """Block until the collective completes; ``RuntimeError`` after the timeout."""
        if not self._completed:
            if self._done is not None:
                limit = self._timeout if timeout is None else timeout
                wait_until(self._done, self._op, limit, self._rank, self._state, self._arrived)
            self._complete()
        return True

    def _complete(self) -> None:
        self._completed = True
        if self._finish is not None:
            self._finish()
