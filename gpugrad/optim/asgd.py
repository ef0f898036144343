"""``gpugrad.optim.ASGD`` and ``Rprop``, step for step as PyTorch's single-tensor
implementations."""

from __future__ import annotations

import struct
from typing import Any

from .._factories import full_like, ones, tensor, zeros_like
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from ..ops.elementwise import sign, where
from ._shared import advance, check_non_negative, decay, new_state
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["ASGD", "Rprop"]


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


class Rprop(Optimizer):
    r"""Resilient backpropagation, as ``torch.optim.Rprop``.

    Each element keeps its own step size (starting at ``lr``): multiplied by ``etas[1]``
    when the gradient kept its sign, by ``etas[0]`` when it flipped (and that step's
    gradient is then taken as zero), clamped to ``step_sizes``; ``p -= sign(g) * step``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        if not state:
            new_state(state, param, "prev")
            state["step_size"] = full_like(grad, group["lr"])
        advance(state)
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        agreement = sign(grad * state["prev"])
        factor = where(
            agreement > 0,
            full_like(grad, etaplus),
            where(agreement < 0, full_like(grad, etaminus), full_like(grad, 1.0)),
        )
        step_size = state["step_size"]
        store_(step_size, (step_size * factor).clamp(step_size_min, step_size_max))
        grad = where(agreement < 0, zeros_like(grad), grad)
        store_(param, param - sign(grad) * step_size)
        store_(state["prev"], grad)
