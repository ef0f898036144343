"""``gpugrad.optim.Adafactor``, step for step as PyTorch's single-tensor implementation."""

from __future__ import annotations

import math
from typing import Any

from .._factories import zeros, zeros_like
from .._tensor import Tensor
from ..backends.dtypes import finfo
from ._shared import advance, lerp_, new_state
from .optimizer import Optimizer, ParamsT, store_

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018), as ``torch.optim.Adafactor``.

    A matrix (or stack of matrices) keeps only running means of its squared gradient's
    row and column means; a vector keeps the full running mean. At step ``t``::

        beta2_t = 1 - t ** beta2_decay
        rho = min(lr, 1 / sqrt(t));  alpha = max(eps2, RMS(p)) * rho
        p = p * (1 - lr * weight_decay)
        v = row_var @ col_var / max(mean(row_var), eps1)    (matrices)
        u = g / sqrt(max(v, eps1**2))
        p = p - alpha / max(1, RMS(u) / d) * u
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not beta2_decay <= 0.0:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not eps[0] >= 0.0:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not eps[1] >= 0.0:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not d >= 1.0:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict[str, Any]) -> None:
        if not state:
            if grad.dim() > 1:
                row_shape, col_shape = list(grad.shape), list(grad.shape)
                row_shape[-1], col_shape[-2] = 1, 1
                device = grad._backend.device_str
                new_state(
                    state,
                    param,
                    row_var=zeros(row_shape, dtype=grad.dtype, device=device),
                    col_var=zeros(col_shape, dtype=grad.dtype, device=device),
                )
            else:
                new_state(state, param, variance=zeros_like(grad))
        lr, d = group["lr"], group["d"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = finfo(param.dtype).eps
        step = advance(state)
        one_minus_beta2_t = step ** group["beta2_decay"]
        rho_t = min(lr, 1 / (step**0.5))
        alpha = max(eps2, param.norm(2).item() / math.sqrt(param.numel())) * rho_t
        if group["weight_decay"] != 0:
            store_(param, param * (1 - lr * group["weight_decay"]))
        if grad.dim() > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            lerp_(row_var, grad.norm(dim=-1, keepdim=True).square() / grad.shape[-1],
                  one_minus_beta2_t)  # fmt: skip
            lerp_(col_var, grad.norm(dim=-2, keepdim=True).square() / grad.shape[-2],
                  one_minus_beta2_t)  # fmt: skip
            var_estimate = (row_var @ col_var) / row_var.mean(dim=-2, keepdim=True).clamp(min=eps1)
        else:
            variance = state["variance"]
            lerp_(variance, grad * grad, one_minus_beta2_t)
            var_estimate = variance
        update = var_estimate.clamp(min=eps1 * eps1).rsqrt() * grad
        denom = max(1.0, update.norm(2).item() / (math.sqrt(update.numel()) * d))
        store_(param, param - update * (alpha / denom))
