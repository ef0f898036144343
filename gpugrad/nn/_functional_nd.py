"""The n-d convolution, pooling and normalization forms of ``gpugrad.nn.functional``
(task s7-nnpool): one implementation per family serves 1-d, 2-d and 3-d, each a composite
of gpugrad ops (the ``convolution`` and ``max_pool`` registry rows, slicing, sums), so
gradients to any order and CUDA come with them. The public names are put into
``nn.functional`` (``_install`` below); the private helpers shared with its 2-d forms come
from it."""

from __future__ import annotations

import math
from typing import Any

from .._factories import arange, rand, zeros
from .._grad_mode import no_grad
from .._tensor import Tensor
from ..backends import dtypes
from ..ops.shape import cat
from . import functional as F

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "instance_norm",
    "local_response_norm",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]

_AXIS_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


# --- convolution ----------------------------------------------------------------------------
def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation of ``(N, C, D, H, W)`` with ``weight`` ``(O, C / groups, kd,
    kh, kw)``."""
    return F._conv("conv3d", input, weight, bias, stride, padding, dilation, groups, 3)


def _dilate(x: Tensor, dim: int, stride: int) -> Tensor:
    """Insert ``stride - 1`` zeros between neighbours along ``dim``."""
    if stride == 1:
        return x
    size = x.shape[dim]
    shape = list(x.shape)
    shape.insert(dim + 1, stride - 1)
    gaps = zeros(tuple(shape), dtype=x.dtype, device=x.device)
    woven = cat([x.unsqueeze(dim + 1), gaps], dim + 1)  # (..., size, stride, ...)
    merged = list(x.shape)
    merged[dim] = size * stride
    return F._narrow(woven.reshape(*merged), dim, 0, (size - 1) * stride + 1)


def _named_values(names: tuple[str, ...], what: str, values: tuple) -> str:
    return " ".join(f"{what}_{n}: {v}" for n, v in zip(names, values, strict=True))


def _check_output_padding(extra: tuple, strides: tuple, dil: tuple) -> None:
    """PyTorch's text names 1-d values as a height-1 2-d convolution's."""
    if len(extra) == 1:
        extra, strides, dil = (0, *extra), (1, *strides), (1, *dil)
    names = _AXIS_NAMES[len(extra)]
    if any(e >= s and e >= d for e, s, d in zip(extra, strides, dil, strict=True)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"{_named_values(names, 'output_padding', extra)} "
            f"{_named_values(names, 'stride', strides)} {_named_values(names, 'dilation', dil)}"
        )


def _conv_transpose(
    name: str,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    spatial: int,
) -> Tensor:
    """The gradient of the ``spatial``-d convolution with respect to its input, as a
    layer: ``weight`` is ``(C_in, C_out / groups, *kernel)``. Computed as a stride-1
    convolution of the input with zeros woven between its elements, the kernel flipped."""
    F._require_tensor(input, name, "input", 1)
    F._require_tensor(weight, name, "weight", 2)
    batched = F._batched(input, name, spatial)
    if weight.dim() < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    dims = weight.dim() - 2
    strides = F._conv_parameter(stride, "stride", spatial, dims)
    pads = F._conv_parameter(padding, "padding", spatial, dims)
    dil = F._conv_parameter(dilation, "dilation", spatial, dims)
    extra = F._conv_parameter(output_padding, "output_padding", spatial, dims)
    x = input if batched else input.unsqueeze(0)
    F._check_convolution(x, weight, bias, (strides, pads, dil, extra), groups, transposed=True)
    if any(d <= 0 for d in dil):
        raise RuntimeError(
            "dilation should be greater than zero, but got "
            + ", ".join(f"dilation_{n}: {d}" for n, d in zip(_AXIS_NAMES[dims], dil))
        )
    _check_output_padding(extra, strides, dil)
    sizes = tuple(x.shape[2:])
    kernel = tuple(weight.shape[2:])
    out = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1
        for n, s, p, d, k, e in zip(sizes, strides, pads, dil, kernel, extra)
    )
    if min(out) < 1:
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, sizes))}). Calculated output "
            f"size per channel: ({' x '.join(map(str, out))}). Output size is too small"
        )
    F._check_same_dtype(x, weight)
    for axis, s in enumerate(strides):
        x = _dilate(x, 2 + axis, s)
    flat: list[int] = []
    for k, p, e, d in reversed(list(zip(kernel, pads, extra, dil, strict=True))):
        edge = d * (k - 1) - p
        flat += [edge, edge + e]
    # a padding larger than the kernel's reach crops instead (negative widths)
    x = F.pad(x, flat) if any(flat) else x
    in_channels, out_per_group = weight.shape[0], weight.shape[1]
    w = weight.reshape(groups, in_channels // groups, out_per_group, *kernel)
    w = w.transpose(1, 2).reshape(groups * out_per_group, in_channels // groups, *kernel)
    w = w.flip(tuple(range(2, 2 + dims)))
    result = F._conv(name, x, w, bias, 1, 0, dil, groups, spatial)
    return result if batched else result.squeeze(0)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 1-D convolution of ``(N, C_in, L)``; ``weight`` ``(C_in, C_out / groups,
    k)``."""
    return _conv_transpose(
        "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups,
        dilation, 1,
    )  # fmt: skip


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 2-D convolution of ``(N, C_in, H, W)``; ``weight`` ``(C_in, C_out /
    groups, kh, kw)``."""
    return _conv_transpose(
        "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
        dilation, 2,
    )  # fmt: skip


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed 3-D convolution of ``(N, C_in, D, H, W)``; ``weight`` ``(C_in, C_out /
    groups, kd, kh, kw)``."""
    return _conv_transpose(
        "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups,
        dilation, 3,
    )  # fmt: skip


# --- pooling --------------------------------------------------------------------------------
def _check_3d_input(input: Tensor) -> None:
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of ``(N, C, D, H, W)``."""
    geometry = F._pool_arguments("max_pool3d", kernel_size, stride, padding, dilation, 3)
    _check_3d_input(input)
    out = F._pool_shape(input, *geometry, ceil_mode)
    return F._max_pool(input, 3, (*geometry, out), return_indices)


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` with ``return_indices=True``: ``(values, indices)``."""
    return F.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` with ``return_indices=True``: ``(values, indices)``."""
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` with ``return_indices=True``: ``(values, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _divisors(sizes, kernel, strides, pads, out, count_include_pad: bool) -> list:
    """Each window's element count (PyTorch's rule: padding counts when
    ``count_include_pad``, the ceil-mode overhang never does), as a flat row-major list."""
    per_axis = []
    for n, k, s, p, o in zip(sizes, kernel, strides, pads, out, strict=True):
        counts = []
        for i in range(o):
            start = i * s - p
            end = min(start + k, n + p)
            if not count_include_pad:
                start, end = max(start, 0), min(end, n)
            counts.append(end - start)
        per_axis.append(counts)
    return [float(math.prod(c)) for c in F._itertools.product(*per_axis)]


def _avg_pool(
    input: Tensor,
    geometry: tuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    check_input_size: bool = False,
) -> Tensor:
    """Mean over the windows of a ``len(kernel)``-d input (unbatched or batched),
    ``geometry`` ``(kernel, strides, pads)``."""
    kernel, strides, pads = geometry
    spatial = len(kernel)
    dil = (1,) * spatial
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if input.dim() < spatial + 1:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.dim(), 1)}, "
            f"{max(input.dim(), 1) - 1}], but got {-spatial - 1})"
        )
    sizes = tuple(input.shape[-spatial:])
    if check_input_size and any(n < k for n, k in zip(sizes, kernel, strict=True)):
        raise RuntimeError(
            f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller than kernel "
            f"size (kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})"
        )
    out = F._pool_shape(input, kernel, strides, pads, dil, ceil_mode)
    extra = F._pool_extra(sizes, kernel, strides, pads, dil, out)
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    x = F._spatial_pad(x, pads, extra, 0.0)
    total = None
    for window in F._windows(x, kernel, strides, dil, out):
        total = window if total is None else total + window
    if divisor_override is not None:
        result = total / divisor_override
    else:
        divisor = _divisors(sizes, kernel, strides, pads, out, count_include_pad)
        result = total / F._constant(divisor, total).reshape(out)
    return result if batched else result.squeeze(0)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over sliding windows of ``(N, C, L)`` (PyTorch's checks: a height-1 2-d
    pooling)."""
    k, s, p = F._one_int_arguments(
        "avg_pool1d", input, kernel_size=kernel_size, stride=stride, padding=padding
    )
    geometry = ((1, k), (1, k if s is None else s), (0, p))
    x = input.unsqueeze(-2)
    return _avg_pool(x, geometry, ceil_mode, count_include_pad, None).squeeze(-2)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of ``(N, C, H, W)`` (zero padding; ``count_include_pad``
    and ``divisor_override`` as in PyTorch)."""
    kernel, strides, pads, _ = F._pool_arguments("avg_pool2d", kernel_size, stride, padding, 1)
    geometry = (kernel, strides, pads)
    return _avg_pool(input, geometry, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows of ``(N, C, D, H, W)``."""
    arguments = F._pool_arguments("avg_pool3d", kernel_size, stride, padding, 1, 3)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _check_3d_input(input)
    return _avg_pool(
        input, arguments[:3], ceil_mode, count_include_pad, divisor_override, True
    )  # fmt: skip


def lp_pool_nd(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool, spatial: int
) -> Tensor:
    """PyTorch's power-average pooling: ``(sum over the window of x^p)^(1/p)``, through the
    mean pooling (``p = ±inf``: the max of ``|x|``, or minus the max of ``-|x|``)."""
    max_pool = (F.max_pool1d, F.max_pool2d, max_pool3d)[spatial - 1]
    avg_pool = (avg_pool1d, avg_pool2d, avg_pool3d)[spatial - 1]
    if isinstance(norm_type, (int, float)):
        if norm_type == float("inf"):
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        if norm_type == -float("inf"):
            return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = F._pair(kernel_size, spatial)
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * F.relu(out.abs())).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of ``(N, C, L)``: ``(sum over the window of x^p)^(1/p)``."""
    return lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of ``(N, C, H, W)``: ``(sum over the window of x^p)^(1/p)``."""
    return lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(
    input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of ``(N, C, D, H, W)``: ``(sum over the window of x^p)^(1/p)``."""
    return lp_pool_nd(input, norm_type, kernel_size, stride, ceil_mode, 3)


# --- adaptive pooling -----------------------------------------------------------------------
def _adaptive_bounds(n: int, o: int) -> list[tuple[int, int]]:
    """Window ``i`` of an axis of size ``n`` pooled to ``o``: ``[floor(i n / o),
    ceil((i + 1) n / o))``."""
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _adaptive_target(input: Tensor, output_size: Any, spatial: int) -> tuple[int, ...]:
    """``output_size`` as ints (``None`` keeps that dim: PyTorch's ``_list_with_default``)."""
    if isinstance(output_size, (tuple, list)):
        if input.dim() <= len(output_size):
            raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
        sizes = tuple(input.shape[-len(output_size) :])
        return tuple(int(d if v is None else v) for v, d in zip(output_size, sizes))
    return F._pair(output_size, spatial)


def _check_adaptive_input(name: str, input: Tensor, spatial: int, colon: str) -> None:
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got{colon} "
            f"{F._shape_text(input.shape)}"
        )
    for dim in range(1, input.dim()):
        if input.shape[dim] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                f"but input has sizes {F._shape_text(input.shape)} with dimension {dim} being "
                "empty"
            )


def _adaptive_avg_pool(input: Tensor, output_size: Any, spatial: int) -> Tensor:
    name = f"adaptive_avg_pool{spatial}d"
    target = _adaptive_target(input, output_size, spatial)
    if len(target) != spatial:
        raise RuntimeError(f"{name}: output_size must be {spatial}")
    if any(v < 0 for v in target):
        raise RuntimeError(
            f"{name}: elements of output_size must be greater than or equal to 0 but received "
            f"{{{', '.join(map(str, target))}}}"
        )
    dims = tuple(range(-spatial, 0))
    if all(v == 1 for v in target):  # PyTorch's shortcut: any rank, the mean of the last dims
        return input.mean(dims, keepdim=True)
    _check_adaptive_input(name, input, spatial, "")
    x = input
    for dim, o in zip(dims, target, strict=True):
        n = x.shape[dim]
        if o == 0:
            x = F._narrow(x, x.dim() + dim, 0, 0)
        elif n % o == 0:  # equal windows: one reshape and mean
            shape = list(x.shape)
            at = x.dim() + dim
            shape[at : at + 1] = [o, n // o]
            x = x.reshape(*shape).mean(at + 1)
        else:
            at = x.dim() + dim
            pieces = [
                F._narrow(x, at, start, end).mean(at, keepdim=True)
                for start, end in _adaptive_bounds(n, o)
            ]
            x = cat(pieces, at)
    return x


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of ``(N, C, L)`` to ``output_size`` windows, whatever ``L``."""
    (size,) = F._one_int_arguments("adaptive_avg_pool1d", input, output_size=output_size)
    return _adaptive_avg_pool(input.unsqueeze(-2), (1, size), 2).squeeze(-2)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed ``output_size`` (``None`` keeps that dim): window ``i``
    of an axis of size ``n`` spans ``[floor(i n / out), ceil((i + 1) n / out))``. As in
    PyTorch, a ``1 x 1`` output is the mean over the last two dims of any input."""
    return _adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of ``(N, C, D, H, W)`` to a fixed ``output_size``."""
    return _adaptive_avg_pool(input, output_size, 3)


def _adaptive_max_pool(input: Tensor, output_size: Any, spatial: int) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: each window's maximum and its flat position within its
    channel. Every axis gathers its windows padded to the longest by repeating the last
    index (a repeat never changes a maximum nor, coming later, which one is first)."""
    name = f"adaptive_max_pool{spatial}d"
    target = _adaptive_target(input, output_size, spatial)
    if len(target) != spatial:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be {spatial}")
    _check_adaptive_input(name, input, spatial, ":")
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    sizes = tuple(x.shape[2:])
    device = input.device
    windows = []  # per axis: (out, longest) source positions
    for at, (n, o) in enumerate(zip(sizes, target, strict=True)):
        bounds = _adaptive_bounds(n, o)
        longest = max((end - start for start, end in bounds), default=1)
        rows = [[min(start + j, end - 1) for j in range(longest)] for start, end in bounds]
        positions = F._constant(rows, x, dtypes.int64).reshape(o, longest)
        windows.append(positions)
        shape = list(x.shape)
        x = x.index_select(2 + 2 * at, positions.reshape(-1))
        x = x.reshape(*shape[: 2 + 2 * at], o, longest, *shape[3 + 2 * at :])
    # (N, C, o1, l1, o2, l2, ...) -> (N, C, o1, o2, ..., l1 * l2 * ...)
    order = (0, 1, *range(2, 2 + 2 * spatial, 2), *range(3, 3 + 2 * spatial, 2))
    x = x.permute(*order)
    x = x.reshape(*x.shape[: 2 + spatial], -1)
    values, local = x.max(-1)
    flat = None
    for at, positions in enumerate(windows):
        longest = positions.shape[1]
        later = math.prod(p.shape[1] for p in windows[at + 1 :])
        step = (local // later) % longest  # this axis's offset within the window
        rows = arange(target[at], device=device).reshape(-1, *([1] * (spatial - at - 1)))
        coord = positions[rows, step]
        flat = coord if flat is None else flat * sizes[at] + coord
    if not batched:
        values, flat = values.squeeze(0), flat.squeeze(0)
    return values, flat


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool1d`` returning ``(values, indices)``."""
    (size,) = F._one_int_arguments("adaptive_max_pool1d", input, output_size=output_size)
    values, indices = _adaptive_max_pool(input.unsqueeze(-2), (1, size), 2)
    return values.squeeze(-2), indices.squeeze(-2)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool2d`` returning ``(values, indices)``."""
    return _adaptive_max_pool(input, output_size, 2)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool3d`` returning ``(values, indices)``."""
    return _adaptive_max_pool(input, output_size, 3)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of ``(N, C, L)`` to ``output_size`` windows (``return_indices``: also
    each maximum's position)."""
    result = adaptive_max_pool1d_with_indices(input, output_size)
    return result if return_indices else result[0]


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of ``(N, C, H, W)`` to a fixed ``output_size`` (``None`` keeps that dim)."""
    result = _adaptive_max_pool(input, output_size, 2)
    return result if return_indices else result[0]


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of ``(N, C, D, H, W)`` to a fixed ``output_size``."""
    result = _adaptive_max_pool(input, output_size, 3)
    return result if return_indices else result[0]


# --- unpooling ------------------------------------------------------------------------------
def _unpool_output_size(input, kernel, stride, padding, output_size) -> list[int]:
    """PyTorch's ``_unpool_output_size``: the default or the checked requested size."""
    spatial = len(kernel)
    default = [
        (input.shape[-spatial + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
        for d in range(spatial)
    ]
    if output_size is None:
        return default
    if len(output_size) == spatial + 2:
        output_size = output_size[2:]
    if len(output_size) != spatial:
        raise ValueError(
            f"output_size should be a sequence containing {spatial} or {spatial + 2} elements, "
            f"but it has a length of '{len(output_size)}'"
        )
    for d in range(spatial):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < output_size[d] < high:
            raise ValueError(
                f'invalid output_size "{output_size}" (dim {d} must be between {low} and {high})'
            )
    return output_size


def _max_unpool(input: Tensor, indices: Tensor, size: Any) -> Tensor:
    """Each value of ``input`` put at its ``indices`` (flat positions within a channel, as
    the max poolings return them) in zeros of spatial ``size`` (PyTorch's checks)."""
    spatial = len(size)
    if indices.dtype != dtypes.int64:
        raise RuntimeError(
            "elements in indices should be type int64 but got: "
            f"{dtypes.SCALAR_TYPE_NAMES[indices.dtype.name]}"
        )
    if tuple(input.shape) != tuple(indices.shape):
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({F._shape_text(input.shape)}) but got indices tensor with shape: "
            f"{F._shape_text(indices.shape)}"
        )
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"Input to max_unpooling{spatial}d should be a {spatial + 1}d or {spatial + 2}d "
            f"Tensor, but got a tensor with {input.dim()} dimensions."
        )
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[0], x.shape[1]
    volume = math.prod(size)
    flat_idx = (indices if batched else indices.unsqueeze(0)).reshape(n, c, -1)
    if flat_idx.numel():
        with no_grad():
            invalid = ((flat_idx < 0) | (flat_idx >= volume)).reshape(-1)
            if bool(invalid.any().item()):
                first = int(invalid.long().argmax().item())
                raise RuntimeError(
                    f"Found an invalid max index: {int(flat_idx.reshape(-1)[first].item())} "
                    f"(output volumes are of size {'x'.join(map(str, size))})"
                )
    out = zeros((n, c, volume), dtype=x.dtype, device=x.device)
    out = out.scatter(2, flat_idx, x.reshape(n, c, -1)).reshape(n, c, *size)
    return out if batched else out.squeeze(0)


def _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, spatial: int):
    kernel = F._pair(kernel_size, spatial)
    strides = kernel if stride is None else F._pair(stride, spatial)
    pads = F._pair(padding, spatial)
    size = tuple(_unpool_output_size(input, kernel, strides, pads, output_size))
    if spatial == 1:  # PyTorch's: a width-1 2-d unpooling
        return _max_unpool(input.unsqueeze(-1), indices.unsqueeze(-1), (*size, 1)).squeeze(-1)
    return _max_unpool(input, indices, size)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool1d``: each value at its index, zeros elsewhere."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value at its index, zeros elsewhere."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of ``max_pool3d``: each value at its index, zeros elsewhere."""
    return _max_unpool_nd(input, indices, kernel_size, stride, padding, output_size, 3)


# --- normalization --------------------------------------------------------------------------
def _verify_spatial_size(size: Any) -> None:
    """PyTorch's ``_verify_spatial_size``: one value per instance cannot be normalized."""
    if math.prod(size[2:]) == 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {size}"
        )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample over its spatial dims (PyTorch's way: batch
    norm of the input seen as one sample of ``N * C`` channels; the running statistics
    move by the mean over the batch of the samples' statistics)."""
    if use_input_stats:
        _verify_spatial_size(input.shape)
    if input.dim() < 2:
        raise IndexError(
            "Dimension out of range (expected to be in range of "
            f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got 1)"
        )
    b, c = input.shape[0], input.shape[1]

    def repeated(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.repeat(b)

    stats = [repeated(running_mean), repeated(running_var)]
    x = input.reshape(1, b * c, *input.shape[2:])
    out = F.batch_norm(
        x, *stats, repeated(weight), repeated(bias), use_input_stats, momentum, eps
    )  # fmt: skip
    if use_input_stats:
        with no_grad():
            for running, moved in zip((running_mean, running_var), stats, strict=True):
                if running is not None:
                    running[...] = moved.reshape(b, c).mean(0)
    return out.reshape(input.shape)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalize each element by its neighbours across channels: ``x / (k + alpha *
    mean(x² over size channels))^beta`` (PyTorch's composition, zero-padded)."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got {dim} "
            "dimensions)"
        )
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:
        div = F.pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = tuple(input.shape)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = F.pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    return input / div.mul(alpha).add(k).pow(beta)


# --- fractional max pooling -----------------------------------------------------------------
_FRACTIONAL_AXES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _fractional_starts(sample: Tensor, size: int, out: int, pool: int) -> Tensor:
    """PyTorch's ``generate_intervals``: each window's start for every plane's ``sample``
    (``(N, C)``, in ``[0, 1)``), computed in the input's dtype as PyTorch does."""
    last = zeros((*sample.shape, 1), dtype=dtypes.int64, device=sample.device) + (size - pool)
    if out == 1:
        return last
    alpha = F._constant(float(size - pool), sample) / F._constant(float(out - 1), sample)
    steps = arange(out - 1, device=sample.device).to(sample.dtype)
    first = (sample.unsqueeze(-1) + steps) * alpha
    starts = first.long() - (sample * alpha).long().unsqueeze(-1)
    return cat([starts, last], -1)


def _fractional_max_pool(
    input: Tensor,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    random_samples: Tensor | None,
    spatial: int,
) -> tuple[Tensor, Tensor]:
    """``(values, indices)`` of PyTorch's fractional max pooling: window starts drawn per
    plane from ``random_samples`` (``(N, C, spatial)``, uniform in ``[0, 1)`` when not
    given), each window's maximum gathered with one ``gather``."""
    name = f"fractional_max_pool{spatial}d"
    count = "" if spatial == 2 else "three "
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if len(output_ratio) > spatial:
            raise ValueError(
                f"{name} requires output_ratio to either be a single Int or tuple of Ints."
            )
        if input.dim() < spatial + 1:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-input.dim()}, "
                f"{input.dim() - 1}], but got {-spatial - 1})"
            )
        ratio = tuple(output_ratio)
        ratio = ratio * spatial if len(ratio) == 1 else ratio
        output_size = [int(input.shape[-spatial + d] * ratio[d]) for d in range(spatial)]
    kernel = F._pool_ints(kernel_size)
    if len(kernel) not in (1, spatial):
        raise RuntimeError(
            f"{name}: kernel_size must either be a single Int or tuple of {count}Ints"
        )
    out = F._pool_ints(output_size)
    if len(out) not in (1, spatial):
        raise RuntimeError(
            f"{name}: output_size must either be a single Int or tuple of {count}Ints"
        )
    kernel, out = F._pair(kernel, spatial), F._pair(out, spatial)
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got: "
            f"{F._shape_text(input.shape)}"
        )
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    sizes = tuple(x.shape[2:])
    where = f"{name}()" if spatial == 2 else f"{name}_out()"
    for axis, o, k, n in zip(_FRACTIONAL_AXES[spatial], out, kernel, sizes, strict=True):
        too_large = o + k - 1 > n if spatial == 2 else o + k - 1 >= n
        if too_large:
            raise RuntimeError(f"{where}: pool {axis} {k} too large relative to input {axis} {n}")
    batch, planes = x.shape[0], x.shape[1]
    if random_samples is None:
        random_samples = rand(batch, planes, spatial, dtype=x.dtype, device=x.device)
    if random_samples.shape[2] != spatial:
        raise RuntimeError(
            f"Expect _random_samples.size(2) equals to {spatial}; got {random_samples.shape[2]}."
        )
    flat = None  # (N, C, *out, *kernel): every window's input positions
    sample_of_axis = (1, 0) if spatial == 2 else (0, 1, 2)  # PyTorch's: (w, h); (t, h, w)
    for axis in range(spatial):
        sample = random_samples[:, :, sample_of_axis[axis]]
        starts = _fractional_starts(sample, sizes[axis], out[axis], kernel[axis])
        taps = arange(kernel[axis], device=x.device)
        coord = starts.unsqueeze(-1) + taps  # (N, C, out, kernel)
        coord = coord.reshape(
            batch, planes,
            *[out[axis] if d == axis else 1 for d in range(spatial)],
            *[kernel[axis] if d == axis else 1 for d in range(spatial)],
        )  # fmt: skip
        flat = coord if flat is None else flat * sizes[axis] + coord
    window = math.prod(kernel)
    flat = flat.expand(batch, planes, *out, *kernel).reshape(batch, planes, -1)
    values = x.reshape(batch, planes, -1).gather(2, flat).reshape(batch, planes, *out, window)
    values, chosen = values.max(-1)
    indices = flat.reshape(batch, planes, *out, window).gather(-1, chosen.unsqueeze(-1))
    indices = indices.squeeze(-1)
    if not batched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``fractional_max_pool2d`` returning ``(values, indices)``."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """Max pooling of ``(N, C, H, W)`` over pseudo-random windows of ``kernel_size`` (Graham,
    2014) to ``output_size`` or ``output_ratio`` of the input's."""
    result = _fractional_max_pool(
        input, kernel_size, output_size, output_ratio, _random_samples, 2
    )  # fmt: skip
    return result if return_indices else result[0]


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``fractional_max_pool3d`` returning ``(values, indices)``."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Tensor | None = None,
) -> Any:
    """Max pooling of ``(N, C, T, H, W)`` over pseudo-random windows of ``kernel_size`` to
    ``output_size`` or ``output_ratio`` of the input's."""
    result = _fractional_max_pool(
        input, kernel_size, output_size, output_ratio, _random_samples, 3
    )  # fmt: skip
    return result if return_indices else result[0]


def _install() -> None:
    """Make these functions ``nn.functional``'s, their public home: this module takes its
    helpers from ``functional``, so ``functional`` cannot import it back (no import cycles);
    ``gpugrad.nn`` imports this module right after ``functional`` instead."""
    for name in __all__:
        function = globals()[name]
        function.__module__ = F.__name__
        setattr(F, name, function)
    F.__all__ += [name for name in __all__ if name not in F.__all__]


_install()
