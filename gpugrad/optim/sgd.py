"""``gpugrad.optim.SGD``: stochastic gradient descent with momentum, dampening, Nesterov
momentum and (L2) weight decay, step for step as ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ..ops.shape import clone
from ._shared import check_non_negative, decay
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    For each parameter ``p`` with gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p
        b = g                                    (first step, when momentum != 0)
        b = momentum * b + (1 - dampening) * g   (later steps)
        g = g + momentum * b if nesterov else b  (when momentum != 0)
        p = p - lr * g
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        grad = decay(param, grad, group)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = clone(grad)
            else:
                store_(buf, buf * momentum + grad * (1 - group["dampening"]))
            grad = grad + buf * momentum if group["nesterov"] else buf
        store_(param, param - grad * group["lr"])
