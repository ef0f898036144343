"""``gpugrad.optim.Adamax``, ``NAdam`` and ``RAdam``, step for step as PyTorch's
single-tensor implementations."""

from __future__ import annotations

from typing import Any

from .._factories import tensor, zeros_like
from .._tensor import Tensor
from ..backends import cpu as _cpu
from ..ops.elementwise import abs, maximum, sqrt
from .optimizer import Optimizer, ParamsT, store_
from .rmsprop import advance, check_non_negative, step_counter

__all__ = ["Adamax", "NAdam", "RAdam"]


def check_adam_arguments(lr: float, betas: tuple[float, float], eps: float, wd: float) -> None:
    check_non_negative(lr=lr, eps=eps)
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
    check_non_negative(weight_decay=wd)


def adam_state(state: dict, param: Tensor) -> None:
    state["step"] = step_counter()
    state["exp_avg"] = zeros_like(param)
    state["exp_avg_sq"] = zeros_like(param)


def decay(param: Tensor, grad: Tensor, group: dict[str, Any]) -> Tensor:
    """Weight decay: decoupled (``p *= 1 - lr * wd``, in place) or L2 (returns
    ``g + wd * p``)."""
    weight_decay = group["weight_decay"]
    if weight_decay == 0:
        return grad
    if group.get("decoupled_weight_decay", False):
        store_(param, param * (1 - group["lr"] * weight_decay))
        return grad
    return grad + param * weight_decay


def update_moments(state: dict, grad: Tensor, beta1: float, beta2: float) -> None:
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    store_(exp_avg, exp_avg + (grad - exp_avg) * (1 - beta1))
    store_(exp_avg_sq, exp_avg_sq * beta2 + grad * grad * (1 - beta2))


class Adamax(Optimizer):
    r"""Adam with the infinity norm: ``u = max(beta2 * u, |g| + eps)``,
    ``p = p - lr / (1 - beta1**t) * m / u``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = step_counter()
            state["exp_avg"] = zeros_like(param)
            state["exp_inf"] = zeros_like(param)
        step = advance(state)
        grad = decay(param, grad, group)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        store_(exp_avg, exp_avg + (grad - exp_avg) * (1 - beta1))
        store_(exp_inf, maximum(exp_inf * beta2, abs(grad) + group["eps"]))
        clr = group["lr"] / (1 - beta1**step)
        store_(param, param - exp_avg / exp_inf * clr)


class NAdam(Optimizer):
    r"""Adam with Nesterov momentum (Dozat), with PyTorch's momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))`` and its running product
    ``mu_product`` (a float32 0-d tensor, as in PyTorch)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        check_non_negative(momentum_decay=momentum_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            state["step"] = step_counter()
            state["mu_product"] = tensor(1.0, dtype="float32")
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        step = advance(state)
        bias_correction2 = 1 - beta2**step
        grad = decay(param, grad, group)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        # PyTorch multiplies the float32 product by mu rounded to float32.
        mu_product = _cpu.float32_mul(state["mu_product"].item(), mu)
        store_(state["mu_product"], mu_product)
        update_moments(state, grad, beta1, beta2)
        denom = sqrt(state["exp_avg_sq"] / bias_correction2) + group["eps"]
        mu_product_next = mu_product * mu_next
        store_(param, param + grad / denom * (-lr * (1.0 - mu) / (1.0 - mu_product)))
        store_(
            param, param + state["exp_avg"] / denom * ((-lr * mu_next) / (1.0 - mu_product_next))
        )


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al.): plain momentum SGD while the variance of the adaptive
    learning rate is intractable (``rho_t <= 5``), rectified Adam after."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not state:
            adam_state(state, param)
        step = advance(state)
        grad = decay(param, grad, group)
        update_moments(state, grad, beta1, beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = state["exp_avg"] / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / (sqrt(state["exp_avg_sq"]) + group["eps"])
            store_(param, param - bias_corrected_exp_avg * lr * adaptive_lr * rect)
        else:
            store_(param, param - bias_corrected_exp_avg * lr)
