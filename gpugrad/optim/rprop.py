"""``gpugrad.optim.Rprop``, step for step as PyTorch's single-tensor implementation."""

from __future__ import annotations

from typing import Any

from .._factories import full_like, zeros_like
from .._tensor import Tensor
from ..ops.elementwise import sign, where
from ._shared import advance, check_non_negative, new_state
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["Rprop"]


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
