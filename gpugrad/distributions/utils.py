"""Helpers shared by the distributions, as ``torch.distributions.utils``."""

from __future__ import annotations

from numbers import Number
from typing import Any

import gpugrad as gg

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
]


def broadcast_all(*values: Any) -> tuple:
    """``values`` (tensors and numbers) broadcast together; numbers become tensors of the
    first tensor's dtype and device (the default dtype when all are numbers)."""
    if not all(isinstance(v, (gg.Tensor, Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of Number, "
            "torch.Tensor or objects implementing __torch_function__."
        )
    if not all(isinstance(v, gg.Tensor) for v in values):
        options: dict[str, Any] = {"dtype": gg.get_default_dtype()}
        for value in values:
            if isinstance(value, gg.Tensor):
                options = {"dtype": value.dtype, "device": value.device}
                break
        values = tuple(v if isinstance(v, gg.Tensor) else gg.tensor(v, **options) for v in values)
    return tuple(gg.broadcast_tensors(*values))


def logits_to_probs(logits: Any, is_binary: bool = False) -> Any:
    """Probabilities from log-odds (``is_binary``) or from unnormalized log-probabilities
    along the last dim."""
    if is_binary:
        return gg.sigmoid(logits)
    return gg.softmax(logits, dim=-1)


def clamp_probs(probs: Any) -> Any:
    """``probs`` clamped to ``[eps, 1 - eps]`` of their dtype."""
    eps = gg.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Any, is_binary: bool = False) -> Any:
    """Log-odds (``is_binary``) or log-probabilities of clamped ``probs``."""
    clamped = clamp_probs(probs)
    if is_binary:
        return gg.log(clamped) - gg.log1p(-clamped)
    return gg.log(clamped)


class lazy_property:  # noqa: N801  (PyTorch's name)
    """A property computed on first access and then stored on the instance (so
    ``Categorical(probs=p).logits`` is computed once, and only when asked for)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        # the name and docstring only (no __wrapped__: documentation tools then show an
        # attribute, not a method without a signature)
        self.__name__ = wrapped.__name__
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        with gg.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def standard_normal(shape: tuple, like: Any) -> Any:
    """N(0, 1) samples of ``like``'s dtype and device."""
    return gg.randn(shape, dtype=like.dtype, device=like.device)


def standard_uniform(shape: tuple, like: Any) -> Any:
    """U[0, 1) samples of ``like``'s dtype and device."""
    return gg.rand(shape, dtype=like.dtype, device=like.device)
