"""``parameters_to_vector`` and ``vector_to_parameters``, as ``torch.nn.utils``."""

from __future__ import annotations

from collections.abc import Iterable

from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...ops.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, device: str | None) -> str:
    here = str(param.device)
    if device is not None and here != device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported."
        )
    return here


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One flat tensor of every parameter's values, in order (differentiable)."""
    device = None
    pieces = []
    for param in parameters:
        device = _check_same_device(param, device)
        pieces.append(param.reshape(-1))
    return cat(pieces)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Write consecutive slices of ``vec`` into ``parameters`` in place (each write bumps
    the parameter's version counter)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    with no_grad():
        for param in parameters:
            device = _check_same_device(param, device)
            count = param.numel()
            param[...] = vec[pointer : pointer + count].reshape(param.shape)
            pointer += count
