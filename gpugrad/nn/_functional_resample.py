"""``gpugrad.nn.functional``'s ``fold`` (col2im), and ``interpolate``'s argument checks and
its ``"bicubic"`` and ``"area"`` resampling.

Bicubic and area resampling are separable: along each spatial axis the output is a fixed
``(n_out, n_in)`` matrix of weights times the input, built here in Python with PyTorch's
source-index rules and applied as one matrix product, so the gradient is that matrix's
transpose and CUDA comes from the matmul."""

from __future__ import annotations

import math
from typing import Any

from .._factories import tensor as _tensor
from .._factories import zeros as _zeros
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from ..ops.nn import _type_name

__all__ = ["fold"]

CUBIC_A = -0.75
"""The cubic-convolution coefficient PyTorch's bicubic kernels use."""


def _device(t: Tensor) -> str:
    return t._backend.device_str


def _apply_along(x: Tensor, dim: int, weights: list[list[float]]) -> Tensor:
    """``x`` along ``dim`` multiplied by the ``(n_out, n_in)`` matrix ``weights``."""
    if weights:
        matrix = _tensor(weights, dtype=x.dtype, device=_device(x))
    else:  # an empty output (area mode allows one, as adaptive pooling does)
        matrix = _zeros(0, x.shape[dim], dtype=x.dtype, device=_device(x))
    moved = x.movedim(dim, -1)
    return (moved @ matrix.t()).movedim(-1, dim)


def area_resample(x: Tensor, dim: int, n_in: int, n_out: int) -> Tensor:
    """Adaptive average pooling along ``dim`` (``interpolate(mode="area")``): output ``i``
    is the mean of inputs ``floor(i * n_in / n_out)`` to ``ceil((i + 1) * n_in / n_out)``."""
    weights = []
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        row = [0.0] * n_in
        for j in range(start, end):
            row[j] = 1.0 / (end - start)
        weights.append(row)
    return _apply_along(x, dim, weights)


def _cubic_weights(t: float) -> tuple[float, float, float, float]:
    """PyTorch's ``get_cubic_upsample_coefficients``: the weights of the taps at -1, 0, 1,
    2 around a source position ``t`` past its floor."""
    a = CUBIC_A

    def near(x: float) -> float:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: float) -> float:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def cubic_resample(
    x: Tensor, dim: int, n_in: int, n_out: int, scale: float | None, align: bool
) -> Tensor:
    """Bicubic interpolation along ``dim`` (``interpolate(mode="bicubic")``): PyTorch's
    unclamped source index and taps clamped to the edge."""
    if align:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    weights = []
    for i in range(n_out):
        source = step * i if align else step * (i + 0.5) - 0.5
        first = math.floor(source)
        row = [0.0] * n_in
        for offset, w in zip((-1, 0, 1, 2), _cubic_weights(source - first), strict=True):
            row[min(max(first + offset, 0), n_in - 1)] += w
        weights.append(row)
    return _apply_along(x, dim, weights)


# --- interpolate's arguments ---------------------------------------------------------------
_KERNEL_RANKS = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "area": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "trilinear": (5,),
    "bicubic": (4,),
    "lanczos": (4,),
}
"""The input ranks each ``interpolate`` mode has a kernel for."""

_MODE_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}
"""The rank the one-rank linear modes name in PyTorch's refusal of another rank."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, Tensor):
        return not value.dtype.is_floating_point
    return isinstance(value, int)


def interpolate_arguments(
    input: Tensor,
    size: Any,
    scale_factor: Any,
    mode: str,
    align_corners: bool | None,
    recompute_scale_factor: bool | None,
    antialias: bool,
) -> tuple[list[int], list[float | None], bool]:
    """``interpolate``'s checks in PyTorch's order and words: the output size of each
    spatial dim, the scale factor its kernel uses (``None``: from the sizes) and
    ``align_corners``."""
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    dims = input.dim() - 2
    spatial = list(input.shape[2:])
    out_sizes: list[int] | None
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales: list[Any] | None = None
        if isinstance(size, (list, tuple)):
            if len(size) != dims:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                    "size in (o1, o2, ...,oK) format."
                )
            if not all(_is_integer(n) for n in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(n) for n in size]}"
                )
            out_sizes = [int(n) for n in size]
        else:
            out_sizes = [int(size)] * dims
    elif scale_factor is not None:
        out_sizes = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dims:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {spatial} and scale_factor of "
                    f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and scale_factor in (s1, s2, ...,sK) format."
                )
            scales = [float(f) for f in scale_factor]
        else:
            scales = [float(scale_factor)] * dims
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out_sizes is None:
        recompute_scale_factor = True
    if recompute_scale_factor:
        out_sizes = [int(n * f) for n, f in zip(spatial, scales, strict=True)]
        scales = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
            "requires a 4-D tensor as input"
        )
    if input.dim() not in _KERNEL_RANKS.get(mode, ()):
        if mode in _MODE_RANK and input.dim() in (3, 4, 5):
            raise NotImplementedError(
                f"Got {input.dim()}D input, but {mode} mode needs {_MODE_RANK[mode]}D input"
            )
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})"
        )
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if antialias or mode == "lanczos":
        raise NotImplementedError(
            f"interpolate: antialias=True ({mode}) is not supported by gpugrad"
        )
    if mode == "area":
        _check_adaptive_pool(input, out_sizes)
    if out_sizes is None:  # the kernels' own rounding of a scaled size
        out_sizes = [math.floor(float(n) * f) for n, f in zip(spatial, scales, strict=True)]
    return out_sizes, scales or [None] * dims, bool(align_corners)


def _check_adaptive_pool(input: Tensor, out_sizes: list[int]) -> None:
    """The checks of the adaptive average pooling PyTorch's area mode is (a 1-D one pools
    as 2-D, over ``(1, L)``)."""
    shape, outs = list(input.shape), list(out_sizes)
    if len(outs) == 1:
        shape, outs = [*shape[:2], 1, shape[2]], [1, outs[0]]
    name = f"adaptive_avg_pool{len(outs)}d"
    for dim in range(2, len(shape)):
        if shape[dim] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {_shape_text(shape)} with dimension {dim} being empty"
            )
    if min(outs) < 0:
        shown = f"{outs[0]}, {outs[1]}" + (f",{outs[2]}" if len(outs) == 3 else "")
        raise RuntimeError(
            f"{name}: elements of output_size must be greater than or equal to 0 but received "
            f"{{{shown}}}"
        )


# --- fold -------------------------------------------------------------------------------------
def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[0])) if len(value) == 1 else (int(value[0]), int(value[1]))
    return int(value), int(value)


def _shape_text(shape: Any) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """col2im, the adjoint of ``unfold``: ``(N, C * kh * kw, L)`` sliding-window columns
    summed into ``(N, C, *output_size)``, overlapping windows adding up. One ``index_add``
    of the columns into the padded output's flat positions, then the padding cropped."""
    size, kernel = _pair(output_size), _pair(kernel_size)
    dil, pads, strides = _pair(dilation), _pair(padding), _pair(stride)
    for name, short, values, least in (
        ("kernel size", "kernel", kernel, 1),
        ("stride", "stride", strides, 1),
        ("dilation", "dilation", dil, 1),
        ("padding", "pad", pads, 0),
    ):
        if min(values) < least:
            relation = "be greater than zero" if least else "be non-negative"
            raise RuntimeError(
                f"{name} should {relation}, but got {short}_height: {values[0]} "
                f"{short}_width: {values[1]}"
            )
    if input.dim() not in (2, 3) or any(n == 0 for n in input.shape[input.dim() - 2 :]):
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
            f"non-zero dimensions for input, but got: {_shape_text(input.shape)}"
        )
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"col2im_out_cpu\" not implemented for '{_type_name(input._data.dtype)}'"
        )
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    n, rows, length = x.shape
    taps = kernel[0] * kernel[1]
    if rows % taps:
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={rows} and kernel_size=({kernel[0]}, "
            f"{kernel[1]})."
        )
    blocks = [
        (size[i] + 2 * pads[i] - dil[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(2)
    ]
    if min(blocks) < 1 or blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"Given output_size=({size[0]}, {size[1]}), kernel_size=({kernel[0]}, "
            f"{kernel[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pads[0]}, {pads[1]}), "
            f"stride=({strides[0]}, {strides[1]}), expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={length}."
        )
    channels = rows // taps
    height, width = size[0] + 2 * pads[0], size[1] + 2 * pads[1]
    positions = [
        (ki * dil[0] + a * strides[0]) * width + kj * dil[1] + b * strides[1]
        for ki in range(kernel[0])
        for kj in range(kernel[1])
        for a in range(blocks[0])
        for b in range(blocks[1])
    ]
    index = _tensor(positions, dtype=_dtypes.int64, device=_device(x))
    flat = _zeros(n, channels, height * width, dtype=x.dtype, device=_device(x))
    out = flat.index_add(2, index, x.reshape(n, channels, taps * length))
    out = out.reshape(n, channels, height, width)
    out = out[:, :, pads[0] : pads[0] + size[0], pads[1] : pads[1] + size[1]]
    return out if batched else out.squeeze(0)
