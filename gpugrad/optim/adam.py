"""``gpugrad.optim.Adam`` and ``AdamW``, step for step as PyTorch's (single-tensor path):
bias-corrected moments, ``eps`` added to the bias-corrected root of the second moment,
optional AMSGrad, L2 (Adam) or decoupled (AdamW) weight decay."""

from __future__ import annotations

from typing import Any

from .._factories import zeros_like
from .._tensor import Tensor
from ..ops.elementwise import maximum, sqrt
from ._shared import advance, check_non_negative, decay, lerp_, new_state, square_average_
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["Adam", "AdamW"]


class _AdamFamily(Optimizer):
    """What Adam and its variants share: PyTorch's checks of ``lr``, ``betas``, ``eps`` and
    ``weight_decay`` (the first four entries of ``defaults``, then the subclass's options
    in its order), and a step that creates the state (``step``, ``_state_values``, then a
    zero tensor for each name in ``_moments``), counts the step and applies weight decay
    before the subclass's ``_adam_step``. Options named in ``_non_negative`` are checked
    after ``weight_decay``."""

    _moments = ("exp_avg", "exp_avg_sq")
    _non_negative: tuple[str, ...] = ()

    def __init__(
        self,
        params: ParamsT,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
        **options: Any,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        check_non_negative(
            weight_decay=weight_decay, **{name: options[name] for name in self._non_negative}
        )
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, {**defaults, **options})

    def _state_values(self) -> dict[str, Tensor]:
        """State entries other than the step and the zeroed moments."""
        return {}

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        if not state:
            new_state(state, param, *self._moments, **self._state_values())
        step = advance(state)
        grad = decay(param, grad, group, group.get("decoupled_weight_decay", False))
        self._adam_step(param, grad, state, group, step)

    def _adam_step(
        self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any], step: float
    ) -> None:
        raise NotImplementedError


def update_moments(state: dict, grad: Tensor, beta1: float, beta2: float) -> None:
    """Adam's running mean of the gradient (``exp_avg``) and of its square (``exp_avg_sq``)."""
    lerp_(state["exp_avg"], grad, 1 - beta1)
    square_average_(state["exp_avg_sq"], grad, beta2)


class Adam(_AdamFamily):
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
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )

    def _adam_step(
        self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any], step: float
    ) -> None:
        beta1, beta2 = group["betas"]
        update_moments(state, grad, beta1, beta2)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        step_size = group["lr"] / (1 - beta1**step)
        second = state["exp_avg_sq"]
        if group["amsgrad"]:
            max_sq = state.get("max_exp_avg_sq")
            if max_sq is None:  # the first step, or amsgrad switched on after it
                max_sq = state["max_exp_avg_sq"] = zeros_like(param)
            store_(max_sq, maximum(max_sq, second))
            second = max_sq
        denom = sqrt(second) / bias_correction2_sqrt + group["eps"]
        store_(param, param - state["exp_avg"] / denom * step_size)


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
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
