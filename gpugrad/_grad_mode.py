"""Thread-local gradient recording switch: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    """True when operations on this thread record the autograd graph (no ``no_grad`` in force)."""
    return state.enabled


def _run_under(mode: bool, step: Callable[..., Any], *args: Any) -> Any:
    previous = state.enabled
    state.enabled = mode
    try:
        return step(*args)
    finally:
        state.enabled = previous


def _generator_under(mode: bool, function: Callable[..., Generator]) -> Callable[..., Generator]:
    """Wrap a generator function so that its body runs under ``mode`` at every resumption
    (``next``, ``send``, ``throw``, ``close``) while the caller's code between resumptions
    runs under the caller's own mode, as PyTorch's ``_DecoratorContextManager`` does."""

    @functools.wraps(function)
    def generator_under_mode(*args: Any, **kwargs: Any) -> Generator:
        generator = function(*args, **kwargs)  # runs none of the body yet
        try:
            response = _run_under(mode, generator.send, None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    _run_under(mode, generator.close)
                    raise
                except BaseException as error:
                    response = _run_under(mode, generator.throw, error)
                else:
                    response = _run_under(mode, generator.send, request)
        except StopIteration as stop:
            return stop.value

    return generator_under_mode


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
        if inspect.isgeneratorfunction(function):
            return _generator_under(mode, function)  # type: ignore[return-value]

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
    """Context manager and decorator that turns gradient recording on inside a ``no_grad`` block
    (this thread only)."""

    _mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """Turn gradient recording on or off (``mode``): at once when called as a function, or for a
    ``with`` block or a decorated function (this thread only)."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                "set_grad_enabled(): argument 'enabled' (position 1) must be bool, not "
                f"{type(mode).__name__}"
            )
        self._mode = mode
        self._previous = state.enabled
        state.enabled = self._mode  # takes effect at once when used as a function

    def __enter__(self) -> None:
        state.enabled = self._mode

    def __call__(self, function: F) -> F:
        state.enabled = self._previous
        return super().__call__(function)
