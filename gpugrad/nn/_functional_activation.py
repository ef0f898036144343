"""``gpugrad.nn.functional``'s activations, dropouts and shuffles beyond the core ones
(``celu``, ``glu``, ``hardswish``, ``rrelu``, ``softshrink``, ``alpha_dropout``,
``dropout1d``, ``gumbel_softmax`` …), composed from gpugrad ops. The names PyTorch also has
at top level (``torch.celu``, ``torch.pixel_shuffle`` …) are those very functions
(``gpugrad.ops.nn_activation``); the in-place forms write through that module's
``apply_composite_inplace``."""

from __future__ import annotations

import warnings
from typing import Any

from .._factories import zeros_like
from .._graph import named_node
from .._tensor import Tensor
from ..ops import nn_activation as _ops
from ..ops.elementwise import logical_and, where
from ..ops.nn import _require_float, softplus
from ..ops.nn_activation import (
    apply_composite_inplace,
    celu_,
    channel_shuffle,
    hardshrink,
    native_channel_shuffle,
    pdist,
    pixel_shuffle,
    pixel_unshuffle,
    prelu,
    relu_,
    rrelu_,
    selu_,
    threshold_,
)
from ..ops.reduce import softmax

__all__ = [
    "alpha_dropout",
    "celu",
    "celu_",
    "channel_shuffle",
    "dropout1d",
    "dropout3d",
    "feature_alpha_dropout",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "native_channel_shuffle",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "prelu",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "threshold_",
]


# --- activations ----------------------------------------------------------------------------
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return celu_(input, alpha) if inplace else _ops.celu(input, alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` (self-normalizing)."""
    return selu_(input) if inplace else _ops.selu(input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU (see ``gpugrad.rrelu``)."""
    if inplace:
        return rrelu_(input, lower, upper, training)
    return _ops.rrelu(input, lower, upper, training)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    if inplace:
        return threshold_(input, threshold, value)
    return _ops.threshold(input, threshold, value)


def _hardsigmoid(x: Tensor) -> Tensor:
    inside = logical_and(x > -3.0, x < 3.0)  # PyTorch's gradient: 1/6 strictly inside
    return where(inside, x / 6.0 + 0.5, (x + 3.0).clamp(0.0, 6.0).detach() / 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; gradient ``1/6`` strictly inside ``(-3, 3)``."""
    _require_float(input, "hardsigmoid_cpu")
    if inplace:
        return apply_composite_inplace(_hardsigmoid, input)
    return named_node(_hardsigmoid(input), "HardsigmoidBackward0", input)


def _hardswish(x: Tensor) -> Tensor:
    inside = logical_and(x > -3.0, x < 3.0)  # PyTorch's gradient: 0 at -3, 1 at 3
    bounded = x.clamp(-3.0, 3.0)  # the branch not taken stays finite (no 0 * inf gradient)
    return where(inside, bounded * (bounded + 3.0) / 6.0, where(x >= 3.0, x, x.detach() * 0.0))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    _require_float(input, "hardswish_cpu")
    if inplace:
        return apply_composite_inplace(_hardswish, input)
    return named_node(_hardswish(input), "HardswishBackward0", input)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably."""
    _require_float(input, "log_sigmoid_cpu")
    return named_node(-softplus(-input), "LogSigmoidBackward0", input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` where ``a`` and ``b`` are the halves of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        wrapped = dim % input.dim()
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {wrapped} is size {size}"
        )
    _require_float(input, "glu_cpu")
    half = size // 2
    result = input.narrow(dim, 0, half) * input.narrow(dim, half, half).sigmoid()
    return named_node(result, "GluBackward0", input)


_DTYPE_LIMITS = {
    "float16": ("Half", "65504"),
    "bfloat16": ("BFloat16", "3.38953e+38"),
    "float32": ("Float", "3.40282e+38"),
    "float64": ("Double", "1.79769e+308"),
}


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _require_float(input, "softshrink_check")
    if lambd < 0:
        name, limit = _DTYPE_LIMITS.get(str(input.dtype).rpartition(".")[2], ("Float", "0"))
        raise RuntimeError(
            f"lambda must be in range [0, {limit}] for input dtype {name}, but found {lambd:g}"
        )
    inside = logical_and(input >= -lambd, input <= lambd)
    result = where(inside, 0.0, where(input > 0, input - lambd, input + lambd))
    return named_node(result, "SoftshrinkBackward0", input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - input.tanh()


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``softmax(-x)`` along ``dim``."""
    if dim is None:
        warnings.warn(
            "Implicit dimension choice for softmin has been deprecated. Change the call to "
            "include dim=X as an argument.",
            stacklevel=_stacklevel,
        )
        dim = 0 if input.dim() in (0, 1, 3) else 1
    return softmax(-input, dim, dtype=dtype)


# --- dropouts -------------------------------------------------------------------------------
def _check_probability(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout (for SELU networks): dropped values become SELU's negative saturation
    and an affine map keeps a standard normal input's mean and variance."""
    _check_probability(p)
    if inplace:
        return _ops.alpha_dropout_(input, p, training)
    return _ops.alpha_dropout(input, p, training)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels (``input[n, c]``)."""
    _check_probability(p)
    if inplace:
        return _ops.feature_alpha_dropout_(input, p, training)
    return _ops.feature_alpha_dropout(input, p, training)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, batched: bool):
    """Feature dropout of a batched input, or of an unbatched one given a batch dim."""

    def function(x: Tensor) -> Tensor:
        if batched:
            return _ops.feature_dropout(x, p, training)
        return _ops.feature_dropout(x.unsqueeze(0), p, training).squeeze(0)

    if not training or p == 0:
        return input
    return apply_composite_inplace(function, input) if inplace else function(input)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` (or ``(C, L)``) with probability ``p``."""
    _check_probability(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs)."
        )
    return _channel_dropout(input, p, training, inplace, input.dim() == 3)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` (or ``(C, D, H, W)``) with probability
    ``p``."""
    _check_probability(p)
    if input.dim() not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.dim()}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, input.dim() == 5)


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with
    ``g ~ Gumbel(0, 1)`` from gpugrad's generator; ``hard=True`` returns one-hot vectors
    whose gradient is the soft sample's (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -zeros_like(logits).exponential_().log()
    soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft
