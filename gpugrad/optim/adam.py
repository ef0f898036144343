"""``gpugrad.optim.Adam`` and ``AdamW``, step for step as PyTorch's (single-tensor path):
bias-corrected moments, ``eps`` added to the bias-corrected root of the second moment,
optional AMSGrad, L2 (Adam) or decoupled (AdamW) weight decay."""

from __future__ import annotations

from typing import Any

from .._factories import tensor, zeros_like
from .._tensor import Tensor
from ..ops.elementwise import maximum, sqrt
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""For each parameter ``p`` with gradient ``g`` (negated when ``maximize``), at step
    ``t`` (counted from 1)::

        p = p * (1 - lr * weight_decay)      if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p             otherwise
        m = m + (1 - beta1) * (g - m)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                (amsgrad; v_max replaces v below)
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        amsgrad = group["amsgrad"]
        if not state:
            # PyTorch keeps ``step`` as a float32 0-d tensor on the CPU.
            state["step"] = tensor(0.0, dtype="float32")
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = zeros_like(param)
        step_t = state["step"]
        step = step_t.item() + 1
        store_(step_t, step)

        if weight_decay != 0:
            if group.get("decoupled_weight_decay", False):
                store_(param, param * (1 - lr * weight_decay))
            else:
                grad = grad + param * weight_decay

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        store_(exp_avg, exp_avg + (grad - exp_avg) * (1 - beta1))
        store_(exp_avg_sq, exp_avg_sq * beta2 + grad * grad * (1 - beta2))

        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = lr / bias_correction1
        second = exp_avg_sq
        if amsgrad:
            max_sq = state.get("max_exp_avg_sq")
            if max_sq is None:  # amsgrad switched on after the state was created
                max_sq = state["max_exp_avg_sq"] = zeros_like(param)
            store_(max_sq, maximum(max_sq, exp_avg_sq))
            second = max_sq
        denom = sqrt(second) / bias_correction2_sqrt + group["eps"]
        store_(param, param - exp_avg / denom * step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr *
    weight_decay`` before the Adam step; ``weight_decay`` defaults to ``1e-2``."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
