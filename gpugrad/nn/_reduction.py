"""PyTorch's ``reduction`` argument of losses: ``"none"``, ``"mean"`` or ``"sum"``."""

from __future__ import annotations

from typing import Any

from ..ops.nn import legacy_reduction  # noqa: F401  (the composite losses read it here)

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce(loss: Any, reduction: str) -> Any:
    """``loss`` reduced as ``reduction`` says (``"none"``: as it is)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
