"""``gpugrad.nn.init``: PyTorch's parameter initializations.

Each function fills its tensor in place (the tensor object keeps its identity, its
``requires_grad`` and its Parameter mark), draws from gpugrad's generator (seeded by
``gg.manual_seed``) on the tensor's device, records no graph and returns the tensor. The
write is an in-place assignment, so it bumps the version counter: a graph that saved the old
values refuses to backpropagate through them.
The distributions are PyTorch's; the random streams are gpugrad's own.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _factories
from .._grad_mode import no_grad
from .._tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (PyTorch's table)."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    )
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    shape = tensor.shape
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw(kind: str, tensor: Tensor) -> Tensor:
    """Standard uniform [0, 1) or normal samples shaped, typed and placed like ``tensor``
    (float16 is drawn in float32 and rounded)."""
    if not tensor.is_floating_point():
        raise TypeError(f"nn.init needs a floating point tensor, got {tensor.dtype}")
    draw_dtype = "float64" if tensor.dtype.name == "float64" else "float32"
    factory = _factories.rand if kind == "uniform" else _factories.randn
    return factory(*tensor.shape, dtype=draw_dtype, device=tensor._backend.device_str)


def _fill_with(tensor: Tensor, values: Tensor) -> Tensor:
    """Write ``values`` into ``tensor`` in place (no graph, version counter bumped).

    An indexed assignment, not ``copy_``: ``copy_`` computes ``t * 0 + values`` and so keeps
    the NaN or inf that an ``empty`` tensor may hold."""
    with no_grad():
        tensor[...] = values
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with samples of U(a, b)."""
    with no_grad():
        return _fill_with(tensor, _draw("uniform", tensor) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std²)."""
    with no_grad():
        return _fill_with(tensor, _draw("normal", tensor) * std + mean)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val`` in place, outside the graph; returns ``tensor``."""
    with no_grad():
        return _fill_with(tensor, _factories.full_like(tensor, val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros in place, outside the graph; returns ``tensor``."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones in place, outside the graph; returns ``tensor``."""
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    with no_grad():
        eye = _factories.eye(rows, cols, dtype=tensor.dtype, device=tensor._backend.device_str)
        return _fill_with(tensor, eye)


def _xavier_std(tensor: Tensor, gain: float) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def _uniform_with_std(tensor: Tensor, std: float) -> Tensor:
    """U(-bound, bound) with ``bound = sqrt(3) * std``, rounded as PyTorch computes it."""
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    return _uniform_with_std(tensor, _xavier_std(tensor, gain))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std²) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """U(-bound, bound) with ``bound = gain * sqrt(3 / fan)`` (He et al.); with
    ``a=sqrt(5)`` this is ``Linear``'s default, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    if 0 in tuple(tensor.shape):
        return tensor
    return _uniform_with_std(tensor, _kaiming_std(tensor, a, mode, nonlinearity))


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """N(0, std²) with ``std = gain / sqrt(fan)``."""
    if 0 in tuple(tensor.shape):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))
