"""``gpugrad.optim.ASGD``, step for step as PyTorch's single-tensor implementation."""

from __future__ import annotations

import struct
from typing import Any

from .._factories import ones, tensor
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from ._shared import advance, check_non_negative, decay, new_state
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent, as ``torch.optim.ASGD``.

    For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = p                       if mu == 1
        ax = ax + mu * (p - ax)      otherwise
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)

    ``eta`` and ``mu`` are float32 0-d tensors in the state, as PyTorch keeps them, and
    their new values are rounded to float32 each step as PyTorch's are (the rounding shows
    in float64 runs).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            new_state(
                state,
                param,
                "ax",
                eta=tensor(lr, dtype=_dtypes.float32),
                mu=ones((), dtype=_dtypes.float32),
            )
        step = advance(state)
        grad = decay(param, grad, group)
        eta = state["eta"].item()
        store_(param, param * (1 - lambd * eta) - grad * eta)
        mu = state["mu"].item()
        ax = state["ax"]
        store_(ax, param if mu == 1 else ax + (param - ax) * mu)
        # PyTorch makes the new values float32 tensors (torch.as_tensor of a Python float)
        # before copying them into the state, whatever the state's dtype
        store_(state["eta"], _float32(lr / ((1 + lambd * lr * step) ** group["alpha"])))
        store_(state["mu"], _float32(1 / max(1, step - group["t0"])))


def _float32(value: float) -> float:
    """``value`` rounded to the nearest float32."""
    return struct.unpack("f", struct.pack("f", value))[0]
