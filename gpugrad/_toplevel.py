"""Small top-level functions of PyTorch's namespace: type queries, ``numel`` and
``inference_mode`` (which, gpugrad having no inference tensors, is ``no_grad``)."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

from ._grad_mode import _GradModeContext
from ._grad_mode import state as _grad_state
from ._tensor import Tensor


class _InferenceState(threading.local):
    depth = 0


_inference = _InferenceState()


def is_tensor(obj: Any) -> bool:
    """True when ``obj`` is a gpugrad Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True when ``input``'s dtype is a floating point dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(
            "is_floating_point(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return input.dtype.is_floating_point


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"numel(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    return input.numel()


class inference_mode(_GradModeContext):  # noqa: N801 - PyTorch's name
    """``with gg.inference_mode():`` (or as a decorator): no graph is recorded, as under
    ``no_grad``. ``inference_mode(False)`` leaves grad mode as it is."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # ``@inference_mode`` without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                f"inference_mode(): argument 'mode' must be bool, not {type(mode).__name__}"
            )
        self._inference = mode

    @property
    def _mode(self) -> bool:  # type: ignore[override]
        return False if self._inference else _grad_state.enabled

    def __enter__(self) -> None:
        if self._inference:
            _inference.depth += 1
        super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._inference:
            _inference.depth -= 1

    def __call__(self, function: Any) -> Any:
        if inspect.isgeneratorfunction(function):
            return super().__call__(function)
        mode = self._inference

        @functools.wraps(function)
        def under_inference_mode(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return function(*args, **kwargs)

        return under_inference_mode


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return _inference.depth > 0
