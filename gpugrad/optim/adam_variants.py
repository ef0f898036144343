"""``gpugrad.optim.Adamax``, ``NAdam`` and ``RAdam``, step for step as PyTorch's
single-tensor implementations."""

from __future__ import annotations

from typing import Any

from .._factories import tensor
from .._tensor import Tensor
from ..backends import cpu as _cpu
from ..ops.elementwise import abs, maximum, sqrt
from ._shared import lerp_
from .adam import _AdamFamily, update_moments
from .optimizer import ParamsT, store_

__all__ = ["Adamax", "NAdam", "RAdam"]


class Adamax(_AdamFamily):
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
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )

    _moments = ("exp_avg", "exp_inf")

    def _adam_step(
        self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any], step: float
    ) -> None:
        beta1, beta2 = group["betas"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        lerp_(exp_avg, grad, 1 - beta1)
        store_(exp_inf, maximum(exp_inf * beta2, abs(grad) + group["eps"]))
        clr = group["lr"] / (1 - beta1**step)
        store_(param, param - exp_avg / exp_inf * clr)


class NAdam(_AdamFamily):
    r"""Adam with Nesterov momentum (Dozat), with PyTorch's momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))`` and its running product
    ``mu_product`` (a float32 0-d tensor, as in PyTorch)."""

    _non_negative = ("momentum_decay",)

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
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )

    def _state_values(self) -> dict[str, Tensor]:
        """The running product of the momentum schedule starts at one."""
        return {"mu_product": tensor(1.0, dtype="float32")}

    def _adam_step(
        self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any], step: float
    ) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        bias_correction2 = 1 - beta2**step
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


class RAdam(_AdamFamily):
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
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )

    def _adam_step(
        self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any], step: float
    ) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
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
