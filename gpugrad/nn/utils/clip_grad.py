"""Gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``), as ``torch.nn.utils``:
the total norm is the norm of the per-tensor norms, gradients are scaled in place by
``min(1, max_norm / (total_norm + 1e-6))``."""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

from ..._factories import tensor
from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...backends import cpu as _cpu
from ...ops.elementwise import logical_or
from ...ops.reduce import amax
from ...ops.shape import stack

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]

TensorOrTensors = Tensor | Iterable[Tensor]


def vector_norm(x: Tensor, ord: float) -> Tensor:
    """``torch.linalg.vector_norm(x, ord)`` of a whole tensor (0-d result)."""
    magnitude = x.abs()
    if ord == math.inf:
        return amax(magnitude) if x.numel() else tensor(0.0, dtype=x.dtype, device=x.device)
    if ord == -math.inf:
        return magnitude.min()
    if ord == 0:
        return (magnitude != 0).sum().to(x.dtype)
    if ord == 1:
        return magnitude.sum()
    if ord == 2:
        return (magnitude * magnitude).sum().sqrt()
    return (magnitude**ord).sum() ** (1.0 / ord)


def get_total_norm(
    tensors: TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (``foreach`` is accepted and
    ignored: there is one implementation)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    with no_grad():
        device = tensors[0].device
        norms = [vector_norm(t, norm_type).to(device) for t in tensors]
        total_norm = vector_norm(stack(norms), norm_type)
        if error_if_nonfinite and bool(logical_or(total_norm.isnan(), ~total_norm.isfinite())):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from "
                "`parameters` is non-finite, so it cannot be clipped. To disable "
                "this error and scale the gradients by the non-finite norm anyway, "
                "set `error_if_nonfinite=False`"
            )
    return total_norm


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients of ``parameters`` in place so their total ``norm_type``-norm is
    at most ``max_norm``; returns the total norm before clipping."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn(
                "`parameters` is an empty generator, no gradient clipping will occur.",
                stacklevel=2,
            )
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grads_with_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale the gradients of ``parameters`` in place by
    ``min(1, max_norm / (total_norm + 1e-6))`` (``total_norm`` from ``get_total_norm``)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    # A non-finite norm scales the gradients to NaN, as in PyTorch, without NumPy's warning.
    with no_grad(), _cpu.errstate(invalid="ignore"):
        clip_coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for grad in grads:
            grad.mul_(clip_coef.to(grad.device))


def clip_grad_norm(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated spelling of ``clip_grad_norm_`` (a ``FutureWarning``, as in PyTorch)."""
    warnings.warn(
        "`gpugrad.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`gpugrad.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(
    parameters: TensorOrTensors, clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
