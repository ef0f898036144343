"""Thread-local gradient recording switch: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradModeContext:
    """A context manager that is also a decorator, as PyTorch's are."""

    _mode: bool

    def __enter__(self) -> None:
        self._previous = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._previous

    def __call__(self, function: F) -> F:
        mode = self._mode

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = state.enabled
            state.enabled = mode
            try:
                return function(*args, **kwargs)
            finally:
                state.enabled = previous

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Operations inside record no graph; results do not require grad."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    _mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801
    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._previous = state.enabled
        state.enabled = self._mode  # takes effect at once when used as a function

    def __enter__(self) -> None:
        state.enabled = self._mode

    def __call__(self, function: F) -> F:
        state.enabled = self._previous
        return super().__call__(function)
