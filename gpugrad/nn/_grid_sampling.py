"""``affine_grid`` and ``grid_sample`` (spatial transformer networks), PyTorch's semantics:
2-D (``N, C, H, W``) and 3-D (``N, C, D, H, W``) inputs, ``mode`` ``bilinear`` (trilinear
in 3-D) / ``nearest`` / ``bicubic`` (2-D), ``padding_mode`` ``zeros`` / ``border`` /
``reflection``, both ``align_corners``. Both are composites of gpugrad's tensor ops
(``gather`` for the taps, ``floor`` on detached coordinates), so autograd gives the
gradients for ``input``, ``grid`` and ``theta``, to any order. ``gpugrad.nn.functional``
exports them."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

from .._factories import linspace, ones, zeros
from .._tensor import Tensor
from ..backends import dtypes
from ..ops.elementwise import where
from ..ops.shape import stack

ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)
UNIT_GRID_WARNING = (
    "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
    "align_corners=True. This is not an intended use case of affine_grid. See the "
    "documentation of affine_grid for details."
)
MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
BICUBIC_A = -0.75
"""The cubic convolution coefficient PyTorch's bicubic interpolation uses."""


def _align_corners(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(ALIGN_CORNERS_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coordinates(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    """The normalized coordinates of ``steps`` pixel centres (or corners) in [-1, 1]."""
    values = linspace(-1.0, 1.0, steps, dtype=like.dtype, device=like.device)
    if not align_corners and steps > 1:
        values = values * ((steps - 1) / steps)
    return values


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (``N, H, W, 2`` or ``N, D, H, W, 3``) of the affine maps ``theta``
    (``N, 2, 3`` or ``N, 3, 4``) for an output of ``size``, for ``grid_sample``."""
    align_corners = _align_corners(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        expected, what = (2, 3), "2D affine matrices of shape Nx2x3"
    elif len(size) == 5:
        expected, what = (3, 4), "3D affine matrices of shape Nx3x4"
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if theta.dim() != 3 or tuple(theta.shape[1:]) != expected or theta.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {what} for size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(spatial) == 1:
        warnings.warn(UNIT_GRID_WARNING, UserWarning, stacklevel=2)
    # coordinates run x (last spatial dim) first, as PyTorch orders them
    axes = [_base_coordinates(n, align_corners, theta) for n in reversed(spatial)]
    shape = tuple(reversed(spatial))
    columns = []
    for position, axis in enumerate(axes):
        view = [1] * len(axes)
        view[position] = axis.shape[0]
        columns.append(axis.reshape(*view).expand(*shape))
    columns.append(ones(shape, dtype=theta.dtype, device=theta.device))
    # (x, y[, z], 1) per point, points laid out in (D,) H, W order
    base = stack(columns, dim=-1).permute(*reversed(range(len(axes))), len(axes))
    points = base.reshape(1, -1, len(axes) + 1)
    grid = points.matmul(theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, len(axes))


def _unnormalize(coordinate: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coordinate + 1) / 2 * (size - 1)
    return ((coordinate + 1) * size - 1) / 2


def _reflect(coordinate: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """PyTorch's ``reflect_coordinates``: fold ``coordinate`` into [low, high]."""
    if twice_low == twice_high:
        return coordinate * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    distance = (coordinate - low).abs()
    flips = (distance.detach() / span).floor()
    extra = distance - flips * span
    even = flips.remainder(2) == 0
    return where(even, extra + low, span - extra + low)


def _pad_coordinate(coordinate: Tensor, size: int, padding_mode: str, align_corners: bool):
    if padding_mode == "border":
        return coordinate.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coordinate = _reflect(coordinate, 0, 2 * (size - 1))
        else:
            coordinate = _reflect(coordinate, -1, 2 * size - 1)
        return coordinate.clamp(0, size - 1)
    return coordinate


def _gather_taps(flat: Tensor, indices: list[Tensor], sizes: tuple[int, ...]) -> Tensor:
    """``input`` at integer positions ``indices`` (one per spatial dim, each ``N, P``),
    zero where a position lies outside; shape ``N, C, P``."""
    inside = None
    flat_index = None
    for index, size in zip(indices, sizes, strict=True):
        ok = (index >= 0) & (index < size)
        inside = ok if inside is None else inside & ok
        clamped = index.clamp(0, size - 1)
        flat_index = clamped if flat_index is None else flat_index * size + clamped
    n, c = flat.shape[0], flat.shape[1]
    gathered = flat.gather(2, flat_index.unsqueeze(1).expand(n, c, flat_index.shape[1]))
    return gathered * inside.unsqueeze(1).to(flat.dtype)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """The four cubic-convolution weights of the taps at -1, 0, 1, 2 for offset ``t``."""
    a = BICUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if input.dim() not in (4, 5):
        raise RuntimeError(
            f"grid_sampler(): expected 4D or 5D input and grid with same number of "
            f"dimensions, but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    spatial = input.dim() - 2
    if grid.dim() != input.dim() or grid.shape[-1] != spatial:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {spatial} in last dimension, but got "
            f"grid with sizes {list(grid.shape)}"
        )
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.dtype != input.dtype:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to have the same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    if grid.device != input.device:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to be on same device, but input is on "
            f"{input.device} and grid is on {grid.device}"
        )
    if mode == "bicubic" and spatial != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """``input`` sampled at the normalized positions ``grid`` (x, y[, z] in [-1, 1] per
    output point): the output is ``N, C, *grid.shape[1:-1]``."""
    _check_grid_sample(input, grid, mode, padding_mode)
    align_corners = _align_corners(align_corners)
    n, c = input.shape[0], input.shape[1]
    sizes = tuple(input.shape[2:])  # (D,) H, W
    out_spatial = tuple(grid.shape[1:-1])
    flat = input.reshape(n, c, -1)
    points = grid.reshape(n, -1, len(sizes))
    # grid's last dim is x (W), y (H)[, z (D)]: reverse to follow ``sizes``
    coordinates = []
    for dim, size in enumerate(sizes):
        coordinate = _unnormalize(points[..., len(sizes) - 1 - dim], size, align_corners)
        if mode != "bicubic":
            coordinate = _pad_coordinate(coordinate, size, padding_mode, align_corners)
        coordinates.append(coordinate)
    if mode == "nearest":
        indices = [x.detach().round().long() for x in coordinates]
        out = _gather_taps(flat, indices, sizes) + _zero_gradient_path(points)
    elif mode == "bilinear":
        lows = [x.detach().floor() for x in coordinates]
        fractions = [x - low for x, low in zip(coordinates, lows, strict=True)]
        out = 0
        for corner in itertools.product((0, 1), repeat=len(sizes)):
            weight = 1
            indices = []
            for offset, low, fraction in zip(corner, lows, fractions, strict=True):
                weight = weight * (fraction if offset else 1 - fraction)
                indices.append(low.long() + offset)
            out = out + _gather_taps(flat, indices, sizes) * weight.unsqueeze(1)
    else:
        out = _bicubic(flat, coordinates, sizes, padding_mode, align_corners)
    return out.reshape(n, c, *out_spatial)


def _zero_gradient_path(points: Tensor) -> Tensor:
    """Zeros (``N, 1, P``) that pass ``points`` a zero gradient: ``nearest`` sampling is
    flat in the grid, and PyTorch gives the grid a zero gradient rather than none. A
    ``where`` that never picks ``points`` keeps an inf or NaN in them out of the values."""
    picked = points.sum(-1, keepdim=True).transpose(1, 2)
    never = zeros(picked.shape, dtype=dtypes.bool_, device=picked.device)
    return where(never, picked, 0.0)


def _bicubic(flat, coordinates, sizes, padding_mode: str, align_corners: bool) -> Tensor:
    """Sixteen taps around each point, their positions padded one by one (PyTorch's rule
    for bicubic sampling), weighted by the cubic convolution of the offsets."""
    y, x = coordinates
    y0, x0 = y.detach().floor(), x.detach().floor()
    wy, wx = _cubic_weights(y - y0), _cubic_weights(x - x0)
    out = 0
    for i in range(4):
        yi = _tap_index(y0 + (i - 1), sizes[0], padding_mode, align_corners)
        for j in range(4):
            xj = _tap_index(x0 + (j - 1), sizes[1], padding_mode, align_corners)
            tap = _gather_taps(flat, [yi, xj], sizes)
            out = out + tap * (wy[i] * wx[j]).unsqueeze(1)
    return out


def _tap_index(position: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    return _pad_coordinate(position, size, padding_mode, align_corners).long()
