"""PyTorch's ``reduction`` argument of losses: ``"none"``, ``"mean"`` or ``"sum"``."""

from __future__ import annotations

import warnings
from typing import Any

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


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """``reduction``, or PyTorch's reading of the deprecated ``size_average`` and
    ``reduce`` flags when either is given (with PyTorch's warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{result}' "
        "instead.",
        stacklevel=3,
    )
    return result
