"""``gpugrad.optim.SparseAdam``: PyTorch's checks and errors. gpugrad has no sparse
tensors, so every gradient is dense and ``step`` raises PyTorch's error for a dense
gradient, as ``torch.optim.SparseAdam`` does (use ``Adam``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._grad_mode import enable_grad
from .optimizer import Optimizer, ParamsT

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam for sparse gradients, as ``torch.optim.SparseAdam`` (see the module docstring:
    with gpugrad's dense gradients ``step`` raises)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps > 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Raise PyTorch's error for the first dense gradient (all of gpugrad's are);
        with no gradient at all, only run ``closure``."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    raise RuntimeError(
                        "SparseAdam does not support dense gradients, please consider Adam instead"
                    )
        return loss
