"""``gpugrad.optim.RMSprop``, ``Adagrad`` and ``Adadelta``, step for step as PyTorch's
single-tensor implementations."""

from __future__ import annotations

from typing import Any

from .._factories import full_like, zeros_like
from .._tensor import Tensor
from ..ops.elementwise import sqrt
from ._shared import advance, check_non_negative, decay, lerp_, new_state, square_average_
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["Adadelta", "Adagrad", "RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        m = m + (1 - alpha) * (g - m)                   (centered)
        avg = sqrt(v - m * m) + eps  if centered else sqrt(v) + eps
        b = momentum * b + g / avg;  p = p - lr * b     (momentum > 0)
        p = p - lr * g / avg                            (otherwise)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay)
        check_non_negative(alpha=alpha)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            new_state(state, param, "square_avg")
            if momentum > 0:
                state["momentum_buffer"] = zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like(param)
        advance(state)
        grad = decay(param, grad, group)
        square_avg = state["square_avg"]
        square_average_(square_avg, grad, alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = sqrt(square_avg) + group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            store_(buf, buf * momentum + grad / avg)
            store_(param, param - buf * group["lr"])
        else:
            store_(param, param - grad / avg * group["lr"])


class Adagrad(Optimizer):
    r"""For each parameter ``p`` with gradient ``g`` at step ``t``::

        g = g + weight_decay * p
        s = s + g * g                               (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    As in PyTorch, the state of every parameter is created by the constructor.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay)
        check_non_negative(initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(self.state[param], param)

    def _init_state(self, state: dict, param: Tensor) -> None:
        new_state(state, param, sum=full_like(param, self.defaults["initial_accumulator_value"]))

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        if not state:  # a parameter added by add_param_group
            self._init_state(state, param)
        step = advance(state)
        grad = decay(param, grad, group)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]
        store_(state_sum, state_sum + grad * grad)
        std = sqrt(state_sum) + group["eps"]
        store_(param, param - grad / std * clr)


class Adadelta(Optimizer):
    r"""Adadelta, as ``torch.optim.Adadelta``.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        if not state:
            new_state(state, param, "square_avg", "acc_delta")
        advance(state)
        grad = decay(param, grad, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_average_(square_avg, grad, rho)
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad
        square_average_(acc_delta, delta, rho)
        store_(param, param - delta * group["lr"])
