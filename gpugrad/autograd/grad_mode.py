"""``gpugrad.autograd.grad_mode``: the grad-mode context managers under PyTorch's module path
(``torch.autograd.grad_mode.no_grad`` ...)."""

from __future__ import annotations

from .._grad_mode import enable_grad, no_grad, set_grad_enabled
from .._toplevel import inference_mode

__all__ = [
    "enable_grad",
    "inference_mode",
    "no_grad",
    "set_grad_enabled",
    "set_multithreading_enabled",
]


class set_multithreading_enabled:  # noqa: N801 - PyTorch's name
    """Accepted for PyTorch compatibility: gpugrad's backward pass always runs on the calling
    thread, so the setting changes nothing. Works as a function, a ``with`` block or a
    decorator, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                "set_multithreading_enabled(): argument 'mode' must be bool, not "
                f"{type(mode).__name__}"
            )
        self.mode = mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    def clone(self) -> set_multithreading_enabled:
        """A new context manager with the same mode."""
        return self.__class__(self.mode)
