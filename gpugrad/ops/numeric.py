"""Numeric top-level names PyTorch has (mathx): ``searchsorted bucketize histc histogram
histogramdd bincount unique_consecutive combinations trapezoid trapz cumulative_trapezoid
vander gcd lcm ldexp frexp nextafter angle`` and the window functions.

Differentiable ones are composed from ops (so their gradients, and CUDA, come from those
ops); counting and searching ones are backend primitives without gradients, as PyTorch's.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from .._factories import arange, ones, tensor, zeros
from .._graph import named_node
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from ..backends.fp_errors import quiet as _quiet
from . import return_types
from .elementwise import (
    _apply_unrecorded,
    _float_input,
    _not_implemented,
    abs,
    clamp,
    cos,
    exp2,
    i0,
    isnan,
    mul,
    sqrt,
    where,
)
from .index import index_select, narrow
from .reduce import cumprod, cumsum, sum
from .registry import declare
from .shape import cat, flatten, movedim
from .transfer import to_dtype

# --- searching and counting -------------------------------------------------------------


def _side(right: bool, side: str | None) -> bool:
    if side is None:
        return right
    if side not in ("left", "right"):
        raise RuntimeError(
            f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
        )
    return side == "right"


@declare(methods=())
def searchsorted(
    sorted_sequence: Tensor,
    values: Tensor | float,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """Indices where ``values`` would be inserted into the innermost dimension of
    ``sorted_sequence`` to keep it sorted (``right``/``side='right'``: after equal
    elements); ``sorter``: indices that sort ``sorted_sequence``."""
    scalar = not isinstance(values, Tensor)
    if scalar:
        values = tensor(values, dtype=sorted_sequence.dtype, device=sorted_sequence.device)
    seq = sorted_sequence
    if seq.ndim != 1 and seq.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}"
        )
    if sorter is not None:
        seq = seq.gather(-1, sorter)
    backend = seq._backend
    out = backend.searchsorted(seq._data, values._data, _side(right, side))
    result = _wrap(out, backend)
    if out_int32:
        result = to_dtype(result, _dtypes.int32)
    return result.reshape(()) if scalar else result


@declare(methods=())
def bucketize(
    input: Tensor | float, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The index of the bucket of ``boundaries`` (1-d, sorted) each element falls in
    (``right=False``: ``boundaries[i-1] < x <= boundaries[i]``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@declare()
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-d non-negative integer ``input``
    (summing ``weights`` instead of counting when given)."""
    if input._data.dtype.kind not in "iub":
        raise _not_implemented("bincount", input)
    if input.ndim != 1 or (input.numel() and int(input.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    backend = input._backend
    w = None if weights is None else weights.detach()._data
    out = backend.bincount(input._data, w, minlength)
    if weights is None:
        return _wrap(out.astype(_dtypes.int64.numpy), backend)
    dtype = weights.dtype if weights.dtype.is_floating_point else _dtypes.float64
    return _wrap(out.astype(dtype.numpy), backend)


def _float_only(kernel: str, input: Tensor) -> None:
    if input._data.dtype.kind != "f":
        raise _not_implemented(kernel, input)


@declare()
def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """A histogram of ``bins`` equal bins over ``[min, max]`` (both 0: the data's range);
    elements outside are ignored."""
    _float_only("histogram", input)
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0, but got " + str(bins))
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    low, high = float(min), float(max)
    if low == high and input.numel():
        low, high = float(input.min()), float(input.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low}, {high}] is not finite")
    counts, _ = input._backend.histogram(
        input.detach()._data.reshape(-1), bins, (low, high), None, False
    )
    return _wrap(counts.astype(input._data.dtype), input._backend)


@declare()
def histogram(
    input: Tensor,
    bins: int | Tensor,
    *,
    range: tuple[float, float] | None = None,
    weight: Tensor | None = None,
    density: bool = False,
) -> Any:
    """``(hist, bin_edges)``: a histogram of ``input`` with ``bins`` equal bins over
    ``range`` (default: the data's), or with the edges ``bins``."""
    _float_only("histogram", input)
    backend = input._backend
    edges = bins.detach()._data if isinstance(bins, Tensor) else bins
    w = None if weight is None else weight.detach()._data.reshape(-1)
    hist, bin_edges = _quiet.run(
        backend.histogram, input.detach()._data.reshape(-1), edges, range, w, density
    )
    dtype = input._data.dtype
    return return_types.histogram(
        _wrap(hist.astype(dtype), backend), _wrap(bin_edges.astype(dtype), backend)
    )


@declare(methods=())
def histogramdd(
    input: Tensor,
    bins: int | Sequence[int] | Sequence[Tensor],
    *,
    range: Sequence[float] | None = None,
    weight: Tensor | None = None,
    density: bool = False,
) -> Any:
    """``(hist, bin_edges)``: the histogram of the points in ``input``'s rows (its last
    dimension is the point's dimension); ``range``: ``[min0, max0, min1, max1, ...]``."""
    if input._data.dtype.kind != "f":
        raise _not_implemented("histogramdd", input, per_device=False)
    backend = input._backend
    points = input.detach()._data.reshape(-1, input.shape[-1])
    if isinstance(bins, Sequence) and bins and isinstance(bins[0], Tensor):
        bins = [b.detach()._data for b in bins]
    pairs = (
        None
        if range is None
        else [tuple(range[i : i + 2]) for i in builtins_range(0, len(range), 2)]
    )
    w = None if weight is None else weight.detach()._data.reshape(-1)
    hist, edges = _quiet.run(backend.histogramdd, points, bins, pairs, w, density)
    dtype = input._data.dtype
    return return_types.histogramdd(
        _wrap(hist.astype(dtype), backend), tuple(_wrap(e.astype(dtype), backend) for e in edges)
    )


builtins_range = range


@declare()
def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """``input`` with each run of equal consecutive elements (or slices along ``dim``)
    kept once; with the index of each element's run and the runs' lengths when asked."""
    x = input.detach()
    if dim is None:
        x = flatten(x)
        axis = 0
        shape = input.shape
    else:
        axis = dim % max(input.ndim, 1)
        shape = (input.shape[axis],)
    n = x.shape[axis]
    if n == 0:
        values = x
        starts = zeros(0, dtype=_dtypes.int64, device=input.device)
        run = starts
    else:
        later, earlier = narrow(x, axis, 1, n - 1), narrow(x, axis, 0, n - 1)
        changed = later != earlier
        if x.ndim > 1:
            changed = movedim(changed, axis, 0).reshape(n - 1, -1).any(1)
        first = ones(1, dtype=_dtypes.bool_, device=input.device)
        starts_mask = cat([first, changed])
        starts = starts_mask.nonzero().reshape(-1)
        values = index_select(x, axis, starts)
        run = cumsum(starts_mask.long(), 0) - 1
    results: list[Any] = [values]
    if return_inverse:
        results.append(run.reshape(shape))
    if return_counts:
        ends = cat([starts[1:], tensor([n], dtype=_dtypes.int64, device=input.device)])
        results.append(ends - starts)
    return results[0] if len(results) == 1 else tuple(results)


@declare(methods=())
def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-length combinations of the 1-d ``input``'s elements, one per row (as
    ``itertools.combinations``; ``with_replacement``: as
    ``itertools.combinations_with_replacement``)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return zeros(0, dtype=input.dtype, device=input.device)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(pick(builtins_range(input.shape[0]), r))
    index = tensor(rows, dtype=_dtypes.int64, device=input.device).reshape(-1)
    return index_select(input, 0, index).reshape(len(rows), r)


# --- integration ------------------------------------------------------------------------


def _spacing_error() -> TypeError:
    return TypeError(
        "trapezoid() received an invalid combination of arguments - got (Tensor, Tensor, "
        "dx=...), but expected one of:\n * (Tensor y, Tensor x, *, int dim = -1)\n"
        " * (Tensor y, *, Number dx = 1, int dim = -1)\n"
    )


def _trapezoid_parts(y: Tensor, x: Tensor | None, dx: float | None, dim: int) -> Tensor:
    """The areas of the trapezoids between consecutive samples along ``dim``."""
    if x is not None and dx is not None:
        raise _spacing_error()
    y = _float_input(y)
    n = y.shape[dim]
    if n == 0:
        return narrow(y, dim, 0, 0)
    pairs = narrow(y, dim, 1, n - 1) + narrow(y, dim, 0, n - 1)
    if x is None:
        return mul(pairs, (1.0 if dx is None else dx) / 2)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        steps = narrow(x, 0, 1, n - 1) - narrow(x, 0, 0, n - 1)
        shape = [1] * y.ndim
        shape[dim % y.ndim] = n - 1
        steps = steps.reshape(shape)
    else:
        steps = narrow(x, dim, 1, n - 1) - narrow(x, dim, 0, n - 1)
    return mul(pairs, steps) / 2


@declare(methods=())
def trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The trapezoidal rule: the integral of the samples ``y`` along ``dim``, at the
    points ``x`` or with the spacing ``dx`` (default 1)."""
    return sum(_trapezoid_parts(y, x, dx, dim), dim)


@declare(methods=())
def trapz(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """``trapezoid`` under NumPy's older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


@declare(methods=())
def cumulative_trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The running trapezoidal integral of ``y`` along ``dim`` (one element shorter)."""
    return cumsum(_trapezoid_parts(y, x, dx, dim), dim)


# --- elementwise ------------------------------------------------------------------------


@declare(methods=())
def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of the 1-d ``x``: columns ``x**(N-1) ... x**0``
    (``increasing``: ``x**0 ... x**(N-1)``)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is None:
        N = x.shape[0]  # noqa: N806
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    out = _powers(x, N)
    return out if increasing else out.flip(-1)


def _powers(x: Tensor, n: int) -> Tensor:
    """``x[..., None] ** [0, 1, ..., n-1]`` by running products (PyTorch's way)."""
    if x._data.dtype.kind == "b":
        x = to_dtype(x, _dtypes.int64)
    column = x.unsqueeze(-1)
    first = ones(column.shape, dtype=x.dtype, device=x.device)
    if n <= 1:
        return narrow(first, -1, 0, n)
    rest = cumprod(column.expand(*column.shape[:-1], n - 1), -1)
    return cat([first, rest], -1)


def _integer_pair(kernel: str, input: Tensor, other: Tensor) -> None:
    for t in (input, other):
        if isinstance(t, Tensor) and t._data.dtype.kind not in "iub":
            raise _not_implemented(kernel, t)


@declare(inplace=("gcd_",))
def gcd(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise greatest common divisor (non-negative) of integer tensors."""
    _integer_pair("gcd", input, other)
    return _apply_unrecorded("gcd", input, other)


@declare(inplace=("lcm_",))
def lcm(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise least common multiple (non-negative) of integer tensors."""
    _integer_pair("lcm", input, other)
    return _apply_unrecorded("lcm", input, other)


@declare(inplace=("ldexp_",))
def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2**other``."""
    return named_node(mul(_float_input(input), exp2(other)), "LdexpBackward0", input, other)


@declare()
def frexp(input: Tensor) -> Any:
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent`` and ``|mantissa|``
    in [0.5, 1) (``exponent`` int32; differentiable in ``mantissa``)."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    backend = input._backend
    exponent = _wrap(backend.frexp_exponent(input._data), backend)
    half = to_dtype(-exponent, input.dtype) / 2  # two factors: 2**1074 overflows
    mantissa = mul(mul(input, exp2(half.floor())), exp2(half.ceil()))
    return return_types.frexp(mantissa, exponent)


@declare(inplace=("nextafter_",))
def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """The next floating-point value after ``input`` towards ``other`` (not
    differentiable)."""
    return _apply_unrecorded("nextafter", input, other)


@declare()
def angle(input: Tensor) -> Tensor:
    """The argument of each element: ``pi`` below 0, else 0 (NaN stays NaN); integers
    give the default float dtype. Its gradient is 0."""
    x = _float_input(input)
    return where(isnan(x), x, where(x < 0, math.pi, 0.0).to(x.dtype) + mul(x, 0.0).detach())


# --- windows ----------------------------------------------------------------------------


def _window_points(
    name: str, window_length: int, periodic: bool, dtype: Any, device: Any
) -> tuple[Tensor, int] | Tensor:
    """``(n, N)``: the sample indices and the symmetric window's length, or the whole
    window for lengths 0 and 1."""
    dtype = _dtypes.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if window_length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={window_length}"
        )
    if window_length <= 1:
        return ones(window_length, dtype=dtype, device=device)
    n = arange(window_length, dtype=dtype, device=device)
    return n, window_length + 1 if periodic else window_length


def _window(name: str, shape: Any) -> Any:
    def window(
        window_length: int,
        periodic: bool = True,
        *,
        dtype: Any = None,
        layout: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        points = _window_points(name, window_length, periodic, dtype, device)
        out = points if isinstance(points, Tensor) else shape(*points)
        return out.requires_grad_(requires_grad)

    window.__name__ = window.__qualname__ = name
    window.__doc__ = (
        f"PyTorch's ``{name}`` of ``window_length`` samples (``periodic``: "
        "the first ``window_length`` samples of the window one longer)."
    )
    return declare(name, methods=())(window)


def _cosine_sum(n: Tensor, length: int, coefficients: Sequence[float]) -> Tensor:
    total = None
    for k, a in enumerate(coefficients):
        term = mul(cos(mul(n, 2 * math.pi * k / (length - 1))), a) if k else n * 0 + a
        total = term if total is None else total + term
    return total


hann_window = _window("hann_window", lambda n, N: _cosine_sum(n, N, (0.5, -0.5)))
blackman_window = _window("blackman_window", lambda n, N: _cosine_sum(n, N, (0.42, -0.5, 0.08)))
bartlett_window = _window("bartlett_window", lambda n, N: 1 - abs(mul(n, 2 / (N - 1)) - 1))


@declare(methods=())
def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Hamming window ``alpha - beta cos(2 pi n / (N - 1))``."""
    points = _window_points("hamming_window", window_length, periodic, dtype, device)
    out = points if isinstance(points, Tensor) else _cosine_sum(*points, (alpha, -beta))
    return out.requires_grad_(requires_grad)


@declare(methods=())
def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The Kaiser window ``i0(beta sqrt(1 - ((n - a) / a)**2)) / i0(beta)``, ``a = (N-1)/2``."""
    points = _window_points("kaiser_window", window_length, periodic, dtype, device)
    if isinstance(points, Tensor):
        return points.requires_grad_(requires_grad)
    n, length = points
    a = (length - 1) / 2
    ratio = (n - a) / a
    out = i0(mul(sqrt(clamp(1 - ratio * ratio, min=0.0)), beta)) / i0(n * 0 + beta)
    return out.requires_grad_(requires_grad)
