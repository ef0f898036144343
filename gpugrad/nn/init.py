"""``gpugrad.nn.init``: PyTorch's parameter initializations.

Each function fills its tensor in place (the tensor object keeps its identity, its
``requires_grad`` and its Parameter mark), draws from gpugrad's generator (seeded by
``gg.manual_seed``) on the tensor's device, records no graph and returns the tensor. The
write is an in-place assignment, so it bumps the version counter: a graph that saved the old
values refuses to backpropagate through them.
The distributions are PyTorch's; the random streams are gpugrad's own.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

from .. import _factories
from .._grad_mode import no_grad
from .._tensor import Tensor
from ..ops.elementwise import where as _where

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "sparse",
    "sparse_",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
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
        return 1  # an int, as PyTorch's
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


def _draw(kind: str, tensor: Tensor, generator: Any = None) -> Tensor:
    """Standard uniform [0, 1) or normal samples shaped, typed and placed like ``tensor``
    (float16 is drawn in float32 and rounded), from ``generator`` (default: gpugrad's)."""
    if not tensor.is_floating_point():
        raise TypeError(f"nn.init needs a floating point tensor, got {tensor.dtype}")
    draw_dtype = "float64" if tensor.dtype.name == "float64" else "float32"
    factory = _factories.rand if kind == "uniform" else _factories.randn
    return factory(
        *tensor.shape, generator=generator, dtype=draw_dtype, device=tensor._backend.device_str
    )


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
        return _fill_with(tensor, _draw("uniform", tensor, generator) * (b - a) + a)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill ``tensor`` with samples of N(mean, std²)."""
    with no_grad():
        return _fill_with(tensor, _draw("normal", tensor, generator) * std + mean)


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


def _uniform_with_std(tensor: Tensor, std: float, generator: Any = None) -> Tensor:
    """U(-bound, bound) with ``bound = sqrt(3) * std``, rounded as PyTorch computes it."""
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    return _uniform_with_std(tensor, _xavier_std(tensor, gain), generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std²) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)


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
    return _uniform_with_std(tensor, _kaiming_std(tensor, a, mode, nonlinearity), generator)


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
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


# --- s7-nnloss: trunc_normal_, dirac_, orthogonal_, sparse_ and the deprecated names --------
def _normal_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """Fill ``tensor`` with N(mean, std²) truncated to ``[a, b]``, by PyTorch's two
    rejection samplers: redraw the normal samples outside ``[a, b]`` when that interval
    holds more than 30% of the mass, else uniform proposals on ``[a, b]`` accepted with
    probability ``pdf(x) / pdf(mode)``."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    with no_grad():
        mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
        if mass > 0.3:
            result = _draw("normal", tensor, generator) * std + mean
            while True:
                outside = (result < a) | (result > b)
                if not bool(outside.any()):
                    break
                result = _where(outside, _draw("normal", tensor, generator) * std + mean, result)
        else:
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2

            def propose() -> tuple[Tensor, Tensor]:
                candidates = _draw("uniform", tensor, generator) * (b - a) + a
                log_ratio = -0.5 * ((candidates - mean) / std) ** 2 - log_peak
                rejected = _draw("uniform", tensor, generator).log() > log_ratio
                return candidates, rejected

            result, pending = propose()
            while bool(pending.any()):
                candidates, rejected = propose()
                result = _where(pending, candidates, result)
                pending = pending & rejected
        return _fill_with(tensor, result)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta (the identity
    convolution), per group of output channels."""
    dims = tensor.dim()
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    centre = tuple(n // 2 for n in sizes[2:])
    with no_grad():
        delta = _factories.zeros(*sizes, dtype=tensor.dtype, device=tensor._backend.device_str)
        for g in range(groups):
            for d in range(min(per_group, sizes[1])):
                delta[(g * per_group + d, d, *centre)] = 1
        return _fill_with(tensor, delta)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    """Fill ``tensor`` (viewed as ``(rows, numel // rows)``) with a (semi-)orthogonal
    matrix: the ``Q`` of a normal matrix's QR decomposition, its columns' signs fixed by
    ``R``'s diagonal so ``Q`` is Haar-distributed, times ``gain``."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    from ..ops.linalg import qr

    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flat = _draw("normal", tensor, generator).reshape(rows, cols)
        if rows < cols:
            flat = flat.t()
        q, r = qr(flat)
        q = q * r.diagonal().sign()
        if rows < cols:
            q = q.t()
        return _fill_with(tensor, (q * gain).reshape(tuple(tensor.shape)))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """Fill a 2-D tensor with N(0, std²) samples and zero ``ceil(sparsity * rows)`` random
    entries of every column."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    n_zeros = math.ceil(sparsity * rows)
    with no_grad():
        values = _draw("normal", tensor, generator) * std
        for col in range(cols):
            chosen = _factories.randperm(rows, generator=generator)[:n_zeros]
            values[chosen.to(tensor._backend.device_str), col] = 0
        return _fill_with(tensor, values)


def _deprecated(method: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """PyTorch's old spelling of ``method`` without the trailing underscore: the same
    fill, with its ``FutureWarning``."""
    new_name = method.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return method(*args, **kwargs)

    deprecated_init.__doc__ = (
        f"{old_name}(...): deprecated in favor of ``gpugrad.nn.init.{new_name}``."
    )
    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
