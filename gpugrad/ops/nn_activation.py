"""PyTorch's top-level activation, dropout, shuffle and distance functions (``torch.celu``,
``torch.selu_``, ``torch.rrelu``, ``torch.threshold``, ``torch.hardshrink``,
``torch.prelu``, ``torch.pixel_shuffle``, ``torch.channel_shuffle``, ``torch.pdist``,
``torch.alpha_dropout``, ``torch.feature_dropout`` …), each composed from gpugrad ops so
gradients (of any order) and CUDA come from those ops. The ``_``-suffixed forms write their
result into the input through ``copy_`` (version bump, leaf check, recorded history, a
view's base rebased) like every in-place op. ``gpugrad.nn.functional`` exports them under
PyTorch's functional names."""

from __future__ import annotations

import math
from typing import Any

from .._factories import rand, triu_indices, zeros
from .._grad_mode import is_grad_enabled
from .._graph import named_node
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from ..backends import python_data
from .elementwise import logical_and, where
from .nn import _require_float, _type_name
from .registry import declare
from .transfer import to_dtype

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
ALPHA_DROPOUT_ALPHA = 1.7580993408473766  # SELU_ALPHA * SELU_SCALE, as PyTorch writes it


def _device(t: Tensor) -> str:
    return t._backend.device_str


def apply_composite_inplace(function: Any, input: Tensor, *args: Any) -> Tensor:
    """``input`` given ``function(input, *args)``'s values in place (the ``_`` forms and
    ``inplace=True``). When a graph is recorded, ``function`` runs on a clone (so the values
    its inner nodes save are never the ones overwritten) and ``copy_`` records the write,
    with every in-place op's checks (a leaf that requires grad refused, versions bumped,
    a view's base rebased); otherwise it is a plain assignment."""
    if is_grad_enabled() and input.requires_grad:
        return input.copy_(function(input.clone(), *args))
    input[...] = function(input, *args)
    return input


# --- elementwise activations ----------------------------------------------------------------
@declare(methods=())
def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    _require_float(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    python_data.checked_fill(alpha, input._data.dtype)
    result = where(input > 0, input, (input.clamp(max=0.0) / alpha).expm1() * alpha)
    return named_node(result, "CeluBackward0", input)


@declare(methods=())
def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return apply_composite_inplace(celu, input, alpha)


@declare(methods=())
def selu(input: Tensor) -> Tensor:
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with PyTorch's constants."""
    _require_float(input, "elu_cpu")
    negative = input.clamp(max=0.0).expm1() * (SELU_ALPHA * SELU_SCALE)
    return named_node(where(input > 0, input * SELU_SCALE, negative), "EluBackward0", input)


@declare(methods=())
def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return apply_composite_inplace(selu, input)


@declare(methods=())
def relu_(input: Tensor) -> Tensor:
    """In-place ``relu`` (``Tensor.relu_``)."""
    return input.relu_()


def _check_rrelu_bounds(lower: float, upper: float) -> None:
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")


@declare(methods=())
def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Any = None,
) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive element is multiplied by a slope
    drawn uniformly from ``[lower, upper]`` (gpugrad's generator); otherwise by the mean
    slope ``(lower + upper) / 2``."""
    _check_rrelu_bounds(lower, upper)
    _require_float(input, "leaky_relu_cpu")
    if not training:
        slope = (lower + upper) / 2
        return where(input > 0, input, input * slope)
    draws = rand(*input.shape, generator=generator, dtype=input.dtype, device=_device(input))
    slopes = where(input <= 0, draws * (upper - lower) + lower, 1.0)
    return input * slopes


@declare(methods=())
def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator: Any = None,
) -> Tensor:
    """In-place ``rrelu``."""
    _check_rrelu_bounds(lower, upper)
    return apply_composite_inplace(rrelu, input, lower, upper, training, generator)


@declare(methods=())
def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (NaN stays NaN); an integer input
    stays integer, ``value`` truncated as PyTorch casts it."""
    if input.dtype == _dtypes.bool_:
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    python_data.checked_fill(value, input._data.dtype)
    if not input.dtype.is_floating_point:
        value = int(value)
    return where(input <= threshold, value, input)


_threshold = threshold  # ``threshold_``'s parameter of that name hides the function


@declare(methods=())
def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return apply_composite_inplace(_threshold, input, threshold, value)


@declare()
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0 (NaN stays NaN)."""
    _require_float(input, "hardshrink_cpu")
    result = where(logical_and(input >= -lambd, input <= lambd), 0.0, input)
    return named_node(result, "HardshrinkBackward0", input)


@declare()
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where ``x > 0``, else ``weight * x``: ``weight`` holds one slope, or one per
    channel (dim 1)."""
    if weight.dtype != input.dtype:
        raise RuntimeError(
            "prelu: Type promoting not supported. Got "
            f"{_type_name(input._data.dtype)} and {_type_name(weight._data.dtype)}"
        )
    slopes = weight.numel()
    channels = input.shape[1] if input.dim() >= 2 else 1
    if slopes != 1 and channels != slopes:
        raise RuntimeError(
            "Mismatch of parameter numbers and input channel size. Found parameter "
            f"numbers = {slopes} and channel size = {channels}."
        )
    if weight.dim() > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}"
        )
    if slopes != 1:
        weight = weight.reshape(slopes, *([1] * (input.dim() - 2)))
    elif weight.dim() == 1 and input.dim() == 0:
        weight = weight.reshape(())
    _require_float(input, "prelu_cpu")
    return where(input > 0, input, weight * input)


# --- shuffles ------------------------------------------------------------------------------
def _check_factor(name: str, argument: str, factor: int) -> None:
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {argument}, but got {factor}")


def _check_rank(name: str, input: Tensor) -> None:
    if input.dim() < 3:
        raise RuntimeError(
            f"{name} expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )


@declare(methods=())
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C * r², H, W)`` to ``(*, C, H * r, W * r)``."""
    _check_rank("pixel_shuffle", input)
    _check_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    r = upscale_factor
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    n = len(lead)
    out = input.reshape(*lead, c // (r * r), r, r, h, w)
    out = out.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    out = out.reshape(*lead, c // (r * r), h * r, w * r)
    return named_node(out, "PixelShuffleBackward0", input)


@declare(methods=())
def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H * r, W * r)`` to ``(*, C * r², H, W)``: the inverse of ``pixel_shuffle``."""
    _check_rank("pixel_unshuffle", input)
    _check_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    r = downscale_factor
    *lead, c, h, w = input.shape
    for side, index, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {side} to be divisible by downscale_factor, but "
                f"input.size({index})={size} is not divisible by {r}"
            )
    n = len(lead)
    out = input.reshape(*lead, c, h // r, r, w // r, r)
    out = out.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return out.reshape(*lead, c * r * r, h // r, w // r)


@declare(methods=())
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels (dim 1) into ``groups`` groups and interleave them: channel
    ``g * (C / groups) + k`` moves to ``k * groups + g``."""
    if input.dim() <= 2:
        raise RuntimeError(
            "channel_shuffle expects input with > 2 dims, but got input with sizes "
            f"[{', '.join(str(n) for n in input.shape)}]"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    out = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return out.reshape(n, c, *rest)


@declare(methods=())
def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``channel_shuffle`` (PyTorch's native kernel of it)."""
    return channel_shuffle(input, groups)


# --- distances ------------------------------------------------------------------------------
@declare(methods=())
def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm distances between each pair of rows ``i < j`` of the 2-D ``input``, in
    row-major order of the pairs (the upper triangle of ``cdist(input, input)``). The
    gradient at a zero distance is 0, as PyTorch's."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows = input.shape[0]
    first, second = triu_indices(rows, rows, 1, device=_device(input))
    difference = input[first] - input[second]
    if p == 0:
        return difference.sign().abs().sum(-1)  # counts the nonzeros, gradient 0
    if p == math.inf:
        return difference.abs().amax(-1) if difference.shape[-1] else difference.sum(-1)
    if p == 1:
        return difference.abs().sum(-1)
    powered = difference * difference if p == 2 else difference.abs() ** p
    total = powered.sum(-1)
    positive = total > 0
    safe = where(positive, total, 1.0)
    return where(positive, safe.sqrt() if p == 2 else safe ** (1.0 / p), 0.0)


# --- dropouts -------------------------------------------------------------------------------
def _keep_mask(input: Tensor, p: float, feature: bool) -> Tensor:
    """1 where an element (``feature``: a whole channel ``input[n, c]``) is kept, drawn with
    probability ``1 - p`` from gpugrad's generator, in ``input``'s dtype."""
    if feature:
        if input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = (*input.shape[:2], *([1] * (input.dim() - 2)))
    else:
        shape = tuple(input.shape)
    return to_dtype(rand(*shape, device=_device(input)) >= p, input.dtype)


def _dropout(input: Tensor, p: float, train: bool, feature: bool, alpha: bool) -> Tensor:
    """PyTorch's ``_dropout_impl``: plain dropout scales the kept values by ``1 / (1 - p)``;
    alpha dropout sets dropped values to SELU's negative saturation and applies the affine
    map that keeps a standard normal input's mean and variance."""
    if not 0 <= p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not train or input.numel() == 0:
        return input
    if p == 1:
        return input * zeros((), dtype=input.dtype, device=_device(input))
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type "
            f"{_type_name(input._data.dtype)}"
        )
    keep = _keep_mask(input, p, feature)
    if not alpha:
        return input * (keep / (1 - p))
    a = 1 / math.sqrt((ALPHA_DROPOUT_ALPHA**2 * p + 1) * (1 - p))
    shift = (keep - 1) * (ALPHA_DROPOUT_ALPHA * a) + ALPHA_DROPOUT_ALPHA * a * p
    return input * (keep * a) + shift


def _dropout_inplace(input: Tensor, p: float, train: bool, feature: bool, alpha: bool):
    if p == 0 or not train or input.numel() == 0:
        return _dropout(input, p, train, feature, alpha)  # the checks; ``input`` itself
    return apply_composite_inplace(_dropout, input, p, train, feature, alpha)


@declare(methods=())
def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``."""
    return _dropout(input, p, train, feature=False, alpha=False)


@declare(methods=())
def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``dropout``."""
    return _dropout_inplace(input, p, train, feature=False, alpha=False)


@declare(methods=())
def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """In training, zero whole channels ``input[n, c]`` with probability ``p`` and scale the
    rest by ``1 / (1 - p)``."""
    return _dropout(input, p, train, feature=True, alpha=False)


@declare(methods=())
def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``."""
    return _dropout_inplace(input, p, train, feature=True, alpha=False)


@declare(methods=())
def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """In training, alpha dropout (for SELU networks) of each element."""
    return _dropout(input, p, train, feature=False, alpha=True)


@declare(methods=())
def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``alpha_dropout``."""
    return _dropout_inplace(input, p, train, feature=False, alpha=True)


@declare(methods=())
def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """In training, alpha dropout of whole channels ``input[n, c]``."""
    return _dropout(input, p, train, feature=True, alpha=True)


@declare(methods=())
def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_alpha_dropout``."""
    return _dropout_inplace(input, p, train, feature=True, alpha=True)


__all__ = [
    "alpha_dropout",
    "alpha_dropout_",
    "celu",
    "celu_",
    "channel_shuffle",
    "dropout",
    "dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "hardshrink",
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
    "threshold",
    "threshold_",
]
