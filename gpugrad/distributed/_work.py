"""The handle of an asynchronous collective (its own module, so that ``_group`` and
``_nccl`` both import it without importing each other)."""

from __future__ import annotations

from typing import Any


class Work:
    """The handle an ``async_op=True`` collective returns: ``wait()`` finishes it."""

    def __init__(self, request: Any = None, finish: Any = None) -> None:
        self._request = request
        self._finish = finish
        self._done = request is None and finish is None

    def is_completed(self) -> bool:
        if self._done:
            return True
        return self._request is not None and bool(self._request.Test()) and self.wait()

    def wait(self, timeout: Any = None) -> bool:
        if not self._done:
            if self._request is not None:
                self._request.Wait()
            self._done = True
            if self._finish is not None:
                self._finish()
        return True
