"""What the optimizers share: PyTorch's argument checks, the ``step`` counter, weight decay
and the running averages their updates keep."""

from __future__ import annotations

from typing import Any

from .._factories import tensor, zeros_like
from .._tensor import Tensor
from .optimizer import store_


def check_non_negative(**values: float) -> None:
    """Raise PyTorch's ``ValueError("Invalid <what> value: <v>")`` for a negative value."""
    for name, value in values.items():
        if not value >= 0.0:
            what = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
            raise ValueError(f"Invalid {what}: {value}")


def new_state(state: dict, param: Tensor, *zeroed: str, **values: Tensor) -> None:
    """Fill a parameter's empty ``state``: ``step`` (a float32 0-d tensor on the CPU, as
    PyTorch keeps it), then ``values``, then a zero tensor like ``param`` for each name in
    ``zeroed``, in that order (the order ``state_dict`` lists them in)."""
    state["step"] = tensor(0.0, dtype="float32")
    state.update(values)
    for name in zeroed:
        state[name] = zeros_like(param)


def advance(state: dict) -> float:
    """Add one to ``state["step"]`` and return the new count."""
    step = state["step"].item() + 1
    store_(state["step"], step)
    return step


def decay(param: Tensor, grad: Tensor, group: dict[str, Any], decoupled: bool = False) -> Tensor:
    """The group's weight decay: ``decoupled`` (``p *= 1 - lr * wd``, in place; returns
    ``g``) or L2 (returns ``g + wd * p``)."""
    weight_decay = group["weight_decay"]
    if weight_decay == 0:
        return grad
    if decoupled:
        store_(param, param * (1 - group["lr"] * weight_decay))
        return grad
    return grad + param * weight_decay


def lerp_(average: Tensor, value: Tensor, weight: float) -> None:
    """``average += (value - average) * weight``: a running mean of ``value``."""
    store_(average, average + (value - average) * weight)


def square_average_(average: Tensor, value: Tensor, keep: float) -> None:
    """``average = keep * average + (1 - keep) * value**2``: a running mean of squares."""
    store_(average, average * keep + value * value * (1 - keep))
