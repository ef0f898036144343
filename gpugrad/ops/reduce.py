"""Reductions, each declared once beside its derivative rows: ``sum mean prod max min
amax amin var std logsumexp argmax argmin cumsum flip``, ``softmax``, ``log_softmax``,
``all`` and ``any``."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import partial
from typing import Any

from .._graph import Op
from .._tensor import Tensor, _wrap, grad_enabled
from ..backends import dtypes as _dtypes
from . import return_types as _return_types
from .dispatch import Dim
from .dispatch import record as _record
from .elementwise import _float_input, _not_implemented, lerp, maximum, minimum
from .registry import declare
from .transfer import to_dtype


def _expand_reduced(ns, g, shape, keep):
    """Undo a reduction's shape: back to ``keep`` (kept dims), then broadcast to ``shape``."""
    return ns.expand(ns.reshape(g, keep), shape)


def _extreme_grad(ns, g, x, o, shape, keep, dim):
    """amax/amin: ties share the gradient evenly, as PyTorch's ``scale_grad_by_count``,
    which multiplies by the mask: an inf or NaN gradient reaches the other elements as
    NaN (``inf * 0``), and a NaN extreme (equal to nothing) makes them all NaN."""
    mask = x == ns.reshape(o, keep)
    count = ns.astype(ns.sum(mask, dim, True), g.dtype)
    return _expand_reduced(ns, g, shape, keep) / count * ns.astype(mask, g.dtype)


def _extreme_all_grad(ns, g, x, o, shape, keep, dim):
    """max()/min() of all elements, as PyTorch's ``evenly_distribute_backward``: the
    elements equal to the extreme (the NaNs, when it is NaN) share the gradient; the
    others get exactly 0."""
    mask = (x != x) if bool(o != o) else (x == o)
    return ns.where(mask, g / ns.astype(ns.sum(mask), g.dtype), 0)


def _sum_grad(ns, g, shape, keep):
    return _expand_reduced(ns, g, shape, keep)


def _mean_grad(ns, g, shape, keep, n):
    return _expand_reduced(ns, g, shape, keep) / n


def _prod_grad(ns, g, x, shape, keep, dim):
    spread = _expand_reduced(ns, g, shape, keep)
    if 0 in shape:  # an empty input's gradient is empty (no products of the others)
        return spread
    return spread * ns.prod_others(x, dim)


def _max_dim_grad(ns, g, shape, keep, onehot):
    return ns.where(onehot, _expand_reduced(ns, g, shape, keep), 0)


def _var_grad(ns, g, x, shape, keep, dim, dof):
    """``2 / dof`` times the deviation. With no degrees of freedom (``dof <= 0``) as
    PyTorch's: over all elements NaN where an element equals the mean and inf elsewhere;
    over given dims ``2 / dof`` in floating point (inf at 0, so NaN where the deviation
    is 0)."""
    g = _expand_reduced(ns, g, shape, keep)
    centered = x - ns.mean(x, dim, True)
    if dof <= 0 and dim is None:
        return g * ns.where(centered == 0, math.nan, math.inf)
    return g * (2 / dof if dof else math.inf) * centered


def _std_grad(ns, g, x, o, shape, keep, dim, dof):
    """As PyTorch's: zero where the standard deviation is zero (no spread)."""
    centered = x - ns.mean(x, dim, True)
    spread = ns.reshape(o, keep)
    flat = spread == 0
    scaled = centered / (ns.where(flat, 1, spread) * dof)
    return ns.where(flat, 0, _expand_reduced(ns, g, shape, keep) * scaled)


def _logsumexp_grad(ns, g, x, o, shape, keep):
    return _expand_reduced(ns, g, shape, keep) * ns.exp(x - ns.reshape(o, keep))


_KEPT = ("shape", "keep")
SUM = Op("sum", "SumBackward0", None, (_sum_grad,), attrs=_KEPT)
SUM_DIM = Op("sum", "SumBackward1", None, (_sum_grad,), attrs=_KEPT)
MEAN = Op("mean", "MeanBackward0", None, (_mean_grad,), attrs=(*_KEPT, "n"))
MEAN_DIM = Op("mean", "MeanBackward1", None, (_mean_grad,), attrs=(*_KEPT, "n"))
PROD = Op("prod", "ProdBackward0", None, (_prod_grad,), save=("x",), attrs=(*_KEPT, "dim"))
PROD_DIM = Op("prod", "ProdBackward1", None, (_prod_grad,), save=("x",), attrs=(*_KEPT, "dim"))
_EXTREME = {"save": ("x", "o"), "attrs": (*_KEPT, "dim")}
AMAX = Op("amax", "AmaxBackward0", None, (_extreme_grad,), **_EXTREME)
AMIN = Op("amin", "AminBackward0", None, (_extreme_grad,), **_EXTREME)
MAX = Op("max", "MaxBackward1", None, (_extreme_all_grad,), **_EXTREME)
MIN = Op("min", "MinBackward1", None, (_extreme_all_grad,), **_EXTREME)
MAX_DIM = Op("max", "MaxBackward0", None, (_max_dim_grad,), attrs=(*_KEPT, "onehot"))
MIN_DIM = Op("min", "MinBackward0", None, (_max_dim_grad,), attrs=(*_KEPT, "onehot"))
VAR = Op("var", "VarBackward0", None, (_var_grad,), save=("x",), attrs=(*_KEPT, "dim", "dof"))
STD = Op("std", "StdBackward0", None, (_std_grad,), save=("x", "o"), attrs=(*_KEPT, "dim", "dof"))
LOGSUMEXP = Op(
    "logsumexp", "LogsumexpBackward0", None, (_logsumexp_grad,), save=("x", "o"), attrs=_KEPT
)
SOFTMAX = Op(
    "softmax",
    "SoftmaxBackward0",
    None,
    (lambda ns, g, o, dim: o * (g - ns.sum(g * o, dim, True)),),
    save=("o",),
    attrs=("dim",),
)
LOG_SOFTMAX = Op(
    "log_softmax",
    "LogSoftmaxBackward0",
    None,
    (lambda ns, g, o, dim: g - ns.exp(o) * ns.sum(g, dim, True),),
    save=("o",),
    attrs=("dim",),
)
CUMSUM = Op(
    "cumsum",
    "CumsumBackward0",
    None,
    (lambda ns, g, dim: ns.flip(ns.cumsum(ns.flip(g, dim), dim), dim),),
    attrs=("dim",),
)
FLIP = Op("flip", "FlipBackward0", None, (lambda ns, g, dims: ns.flip(g, dims),), attrs=("dims",))


def _dims(ndim: int, dim: Dim) -> tuple[int, ...]:
    """``dim`` normalized to a sorted tuple of non-negative axes (all axes for ``None``)."""
    if dim is None:
        return tuple(range(ndim))
    axes = (dim,) if isinstance(dim, int) else tuple(dim)
    rank = ndim if ndim > 0 else 1
    out = []
    for d in axes:
        if not -rank <= d < rank:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
                f"but got {d})"
            )
        d = d % rank if ndim else 0
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out))


def _keepdim(keepdim: bool, keepdims: bool | None) -> bool:
    """``keepdims=``, NumPy's spelling, which PyTorch accepts for ``keepdim=``."""
    return keepdim if keepdims is None else keepdims


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduce(input: Tensor, dim: Dim, keepdim: bool, compute, op_all, op_dim, *extra) -> Tensor:
    data = input._data
    axes = _dims(data.ndim, dim)
    axis = axes if data.ndim else None
    out = compute(input._backend, data, axis, keepdim)
    op = op_all if dim is None else op_dim
    return _record(
        op, out, input._backend, (input,), (data.shape, _kept_shape(data.shape, axes), *extra)
    )


def _cast_for(input: Tensor, dtype: Any, dim: Dim = None) -> Tensor:
    """``input`` in the ``dtype=`` a reduction or scan (over ``dim``, checked first) was
    asked for; PyTorch refuses a non-floating one while recording a graph (the result
    could not carry a gradient)."""
    if dim is not None:
        _dims(input._data.ndim, dim)
    cast = to_dtype(input, dtype)
    if input.requires_grad and grad_enabled() and cast._data.dtype.kind != "f":
        name = _dtypes.SCALAR_TYPE_NAMES[cast.dtype.name]
        raise RuntimeError(f"Autograd not support dtype: {name}")
    return cast


def _declare_summation(
    name: str, doc: str, body: Any, rows: tuple[Op, ...] = (), floating: bool = False
) -> Any:
    """Declare ``sum``, ``nansum`` or ``nanmean``: PyTorch's one signature (``dtype=`` casts
    first), then ``body(input, dim, keepdim, dtype)``; ``floating``: a floating input and
    ``dtype=`` only (nanmean)."""

    def function(
        input: Tensor,
        dim: Dim = None,
        keepdim: bool = False,
        *,
        dtype: Any = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        keepdim = _keepdim(keepdim, keepdims)
        if floating and input._data.dtype.kind != "f":
            raise RuntimeError(
                f"{name}(): expected input to have floating point or complex dtype but got "
                f"{_dtypes.SCALAR_TYPE_NAMES[input.dtype.name]}"
            )
        if dtype is not None:
            if floating:
                _floating_dtype_for(name, dtype)
            input = _cast_for(input, dtype, dim)
        return body(input, dim, keepdim, dtype)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return declare(name, rows=rows)(function)


def _sum(input: Tensor, dim: Dim, keepdim: bool, dtype: Any) -> Tensor:
    data = input._data
    if data.dtype.kind in "bui":
        total = "int64" if dtype is None else data.dtype
        return _wrap(
            input._backend.sum(data, _dims_or_none(input, dim), keepdim, dtype=total),
            input._backend,
        )
    return _reduce(input, dim, keepdim, lambda B, x, a, k: B.sum(x, a, k), SUM, SUM_DIM)


sum = _declare_summation(
    "sum",
    "The sum of ``input`` (over ``dim``; integers and bools sum as int64).",
    _sum,
    (SUM, SUM_DIM),
)


def _dims_or_none(input: Tensor, dim: Dim) -> Any:
    """The axes of ``dim`` (checked), or ``None`` for all of them; a 0-d tensor's dim 0
    (or -1) is all of its none."""
    if dim is None:
        return None
    axes = _dims(input._data.ndim, dim)
    return axes if input._data.ndim else None


def _floating_dtype_for(name: str, dtype: Any) -> None:
    """PyTorch's check of ``dtype=`` for ``mean`` and ``nanmean``: a floating one."""
    resolved = _dtypes.as_dtype(dtype)
    if not resolved.is_floating_point:
        raise RuntimeError(
            f"{name}(): could not infer output dtype. Optional dtype must be either a floating "
            f"point or complex dtype. Got: {_dtypes.SCALAR_TYPE_NAMES[resolved.name]}"
        )


@declare(rows=(MEAN, MEAN_DIM))
def mean(
    input: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    keepdims: bool | None = None,
) -> Tensor:
    """The mean of ``input`` (over ``dim``); floating inputs only, as PyTorch's, unless
    ``dtype=`` (floating) casts first."""
    keepdim = _keepdim(keepdim, keepdims)
    if dtype is not None:
        _floating_dtype_for("mean", dtype)
        input = _cast_for(input, dtype)
    data = input._data
    if data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {_dtypes.SCALAR_TYPE_NAMES[input.dtype.name]}"
        )
    axes = _dims(data.ndim, dim)
    count = 1
    for a in axes if data.ndim else ():
        count *= data.shape[a]
    return _reduce(input, dim, keepdim, lambda B, x, a, k: B.mean(x, a, k), MEAN, MEAN_DIM, count)


@declare(rows=(PROD, PROD_DIM))
def prod(
    input: Tensor,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    keepdims: bool | None = None,
) -> Tensor:
    """The product of ``input`` (over ``dim``; integers and bools as int64 unless ``dtype=``,
    which casts first); float16 accumulates in float32."""
    keepdim = _keepdim(keepdim, keepdims)
    axes = _dims(input._data.ndim, dim)
    if dtype is None:
        compute = lambda B, x, a, k: B.prod(x, a, k)  # noqa: E731
    else:  # the product stays in the dtype asked for (NumPy's of int32 or bool is int64)
        input = _cast_for(input, dtype)
        compute = lambda B, x, a, k: B.prod(x, a, k).astype(x.dtype)  # noqa: E731
    return _reduce(
        input,
        dim,
        keepdim,
        compute,
        PROD,
        PROD_DIM,
        axes if input._data.ndim else None,
    )


def prod_others(input: Tensor, dim: Any) -> Tensor:
    """Product of the other elements of each reduction group (prod's gradient, on tensors)."""
    if bool(input._backend.any(input._data == 0)):
        raise NotImplementedError(
            "the second derivative of prod over inputs that contain zeros is not supported"
        )
    return prod(input, dim, keepdim=True) / input if dim is not None else prod(input) / input


def _extreme_over(name: str, row: Any, input: Tensor, dim: Dim, keepdim: bool) -> Tensor:
    """``amax``/``amin`` (``name``) over ``dim`` (all dims when ``()``): one body for both."""
    dim = None if dim == () else dim
    _check_nonempty(name, input, dim)
    axes = _dims(input._data.ndim, dim)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: getattr(B, name)(x, a, k),  # the backend's amax / amin
        row,
        row,
        axes if input._data.ndim else None,
    )


@declare(rows=(AMAX,))
def amax(
    input: Tensor, dim: Dim = (), keepdim: bool = False, *, keepdims: bool | None = None
) -> Tensor:
    """The largest value over ``dim`` (all dims by default); ties share the gradient."""
    return _extreme_over("amax", AMAX, input, dim, _keepdim(keepdim, keepdims))


@declare(rows=(AMIN,))
def amin(
    input: Tensor, dim: Dim = (), keepdim: bool = False, *, keepdims: bool | None = None
) -> Tensor:
    """The smallest value over ``dim`` (all dims by default); ties share the gradient."""
    return _extreme_over("amin", AMIN, input, dim, _keepdim(keepdim, keepdims))


def _check_nonempty(name: str, input: Tensor, dim: Any) -> None:
    """PyTorch's errors for reducing an empty tensor where no value exists."""
    shape = input._data.shape
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return
    given = (dim,) if isinstance(dim, int) else tuple(dim)
    for d, axis in zip(given, (_dims(len(shape), d)[0] for d in given)):
        if shape and shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _check_dim_nonempty(name: str, input: Tensor, axis: int) -> None:
    if input._data.ndim and input._data.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def _extreme(input: Tensor, dim: Any, keepdim: bool, is_max: bool) -> Any:
    backend = input._backend
    data = input._data
    if dim is None:
        if data.size == 0:
            raise RuntimeError(
                f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                "input.numel() == 0. Specify the reduction dim with the 'dim' argument."
            )
        out = backend.amax(data) if is_max else backend.amin(data)
        axes = tuple(range(data.ndim))
        return _record(
            MAX if is_max else MIN,
            out,
            backend,
            (input,),
            (data.shape, (1,) * data.ndim, axes if data.ndim else None),
        )
    if isinstance(dim, Tensor):
        return maximum(input, dim) if is_max else minimum(input, dim)
    if isinstance(dim, bool):  # no overload takes (Tensor, bool)
        raise TypeError(
            f"{'max' if is_max else 'min'}() received an invalid combination of arguments - "
            "got (Tensor, bool), but expected one of:"
        )
    (axis,) = _dims(data.ndim, dim)
    result = _return_types.max if is_max else _return_types.min
    _check_dim_nonempty("max" if is_max else "min", input, axis)
    if data.ndim == 0:  # the element itself, recording MaxBackward0 (its one-hot: True)
        values = data.copy()
        op = MAX_DIM if is_max else MIN_DIM
        values_t = _record(op, values, backend, (input,), ((), (), backend.ones((), "bool")))
        return result(values_t, _wrap(backend.zeros((), "int64"), backend))
    indices = backend.argmax(data, axis, True) if is_max else backend.argmin(data, axis, True)
    values = backend.take_along_axis(data, indices, axis)
    kept = values.shape
    positions = backend.arange(0, data.shape[axis], 1, None)
    onehot = positions.reshape((-1,) + (1,) * (data.ndim - axis - 1)) == indices
    if not keepdim:
        values = backend.squeeze(values, axis)
        indices = backend.squeeze(indices, axis)
    op = MAX_DIM if is_max else MIN_DIM
    values_t = _record(op, values, backend, (input,), (data.shape, kept, onehot))
    return result(values_t, _wrap(indices, backend))


@declare(rows=(MAX, MAX_DIM))
def max(
    input: Tensor, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """The largest element, or ``(values, indices)`` along ``dim``, or ``maximum``."""
    return _extreme(input, dim, _keepdim(keepdim, keepdims), True)


@declare(rows=(MIN, MIN_DIM))
def min(
    input: Tensor, dim: Any = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """The smallest element, or ``(values, indices)`` along ``dim``, or ``minimum``."""
    return _extreme(input, dim, _keepdim(keepdim, keepdims), False)


def _correction(input: Tensor, unbiased: bool | None, correction: float | None) -> float:
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _count(input: Tensor, dim: Dim) -> int:
    axes = _dims(input._data.ndim, dim)
    n = 1
    for a in axes if input._data.ndim else ():
        n *= input._data.shape[a]
    return n


def _warn_no_freedom(name: str, input: Tensor, dim: Dim, correction: float) -> None:
    if _count(input, dim) - correction <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
            "the reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=4,
        )


def _variance(input, dim, unbiased, keepdim, correction, op, statistic: str) -> Tensor:
    c = _correction(input, unbiased, correction)
    _warn_no_freedom(statistic, input, dim, c)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: getattr(B, statistic)(x, a, c, k),
        op,
        op,
        _dims_or_none(input, dim),
        _count(input, dim) - c,
    )


def _declare_dispersion(
    name: str, doc: str, body: Any, rows: tuple[Op, ...], returns: str, **declaration: Any
) -> Any:
    """Declare ``var``, ``std``, ``var_mean`` or ``std_mean``: PyTorch's one signature,
    then ``body(input, dim, unbiased, keepdim, correction)`` (a ``partial``, so the
    degrees-of-freedom warning still points at the caller's line)."""

    def function(
        input: Tensor,
        dim: Dim = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
        keepdims: bool | None = None,
    ):
        return body(input, dim, unbiased, _keepdim(keepdim, keepdims), correction)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    function.__annotations__["return"] = returns
    return declare(name, rows=rows, **declaration)(function)


var = _declare_dispersion(
    "var",
    "The variance over ``dim`` with Bessel's ``correction`` (1 by default).",
    partial(_variance, op=VAR, statistic="var"),
    (VAR,),
    "Tensor",
)
std = _declare_dispersion(
    "std",
    "The standard deviation over ``dim`` with Bessel's ``correction`` (1 by default).",
    partial(_variance, op=STD, statistic="std"),
    (STD,),
    "Tensor",
)


@declare(rows=(LOGSUMEXP,))
def logsumexp(
    input: Tensor, dim: Dim, keepdim: bool = False, *, keepdims: bool | None = None
) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably; -inf for an empty sum."""
    keepdim = _keepdim(keepdim, keepdims)
    input = _float_input(input)
    return _reduce(
        input, dim, keepdim, lambda B, x, a, k: B.logsumexp(x, a, k), LOGSUMEXP, LOGSUMEXP
    )


def _declare_arg_extreme(name: str, doc: str) -> Any:
    """Declare ``argmax`` or ``argmin`` (``name``, the backend's method too): one body."""

    def function(
        input: Tensor,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        keepdims: bool | None = None,
    ) -> Tensor:
        keepdim = _keepdim(keepdim, keepdims)
        if input._data.dtype.kind == "b":
            raise RuntimeError(f"{name}(): does not support bool input")
        backend = input._backend
        find = getattr(backend, name)
        if dim is None:
            if input._data.size == 0:
                raise IndexError(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
                )
            return _wrap(find(input._data.reshape(-1)), backend)
        axis = _dims(input.ndim, dim)[0]
        _check_dim_nonempty(name, input, axis)
        return _wrap(find(input._data, axis if input.ndim else None, keepdim), backend)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return declare(name)(function)


argmax = _declare_arg_extreme(
    "argmax", "The index of the largest value (of the flattened input without ``dim``)."
)
argmin = _declare_arg_extreme(
    "argmin", "The index of the smallest value (of the flattened input without ``dim``)."
)


def _from_positive_zero(scan: Any) -> Any:
    """A float scan as PyTorch's, which starts from ``+0.0`` (or ``-inf``) and so never
    gives ``-0.0`` (NumPy's starts from the first element): ``-0.0 + 0.0`` is ``+0.0``.
    A 0-d scan is a copy, signed zero kept, in both."""
    if scan.dtype.kind == "f" and scan.ndim:
        scan += 0.0
    return scan


def _single_dim(input: Tensor, dim: int) -> int:
    """``dim`` normalized; a 0-d tensor takes dim 0 or -1 only, as in PyTorch."""
    return _dims(input._data.ndim, dim)[0]


@declare(rows=(CUMSUM,))
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative sum along ``dim`` (in ``dtype`` when given: the input is cast first)."""
    if dtype is not None:
        input = _cast_for(input, dtype, dim)
    axis = _single_dim(input, dim)
    data = input._data
    out = _from_positive_zero(input._backend.cumsum(data, axis))
    if dtype is not None and out.dtype != data.dtype:  # an explicit dtype is kept
        out = out.astype(data.dtype)
    return _record(CUMSUM, out, input._backend, (input,), (axis,))


@declare(rows=(FLIP,))
def flip(input: Tensor, dims: Sequence[int] | int) -> Tensor:
    """Reverses the order of elements along the given dims (a copy, as in PyTorch)."""
    axes = _dims(input._data.ndim, dims)
    return _record(FLIP, input._backend.flip(input._data, axes), input._backend, (input,), (axes,))


def _refuse_integers(name: str, input: Tensor, axis: int) -> None:
    """PyTorch's softmax kernels take floating inputs only (``dtype=`` casts first)."""
    if input._data.dtype.kind != "f" and input._data.size:
        last = input._data.ndim == 0 or axis == input._data.ndim - 1
        kernel = f"{name}_lastdim_kernel_impl" if last else f"{name}_kernel_impl"
        raise _not_implemented(kernel, input, per_device=False)


def _device_name(input: Tensor) -> str:
    return input._backend.device.type.upper()


@declare(rows=(SOFTMAX,))
def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably (in ``dtype`` when given:
    the input is cast first)."""
    if dtype is not None:
        input = to_dtype(input, dtype)
    axis = _single_dim(input, dim)
    _refuse_integers("softmax", input, axis)
    return _record(
        SOFTMAX, input._backend.softmax(input._data, axis), input._backend, (input,), (axis,)
    )


@declare(rows=(LOG_SOFTMAX,))
def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``log(softmax(input, dim))``, computed stably (in ``dtype`` when given: the input
    is cast first)."""
    if dtype is not None:
        input = to_dtype(input, dtype)
    axis = _single_dim(input, dim)
    _refuse_integers("log_softmax", input, axis)
    return _record(
        LOG_SOFTMAX,
        input._backend.log_softmax(input._data, axis),
        input._backend,
        (input,),
        (axis,),
    )


@declare()
def all(
    input: Tensor, dim: Dim = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Tensor:
    """Whether every element (over ``dim``) is true."""
    keepdim = _keepdim(keepdim, keepdims)
    axes = _dims_or_none(input, dim)
    return _wrap(input._backend.all(input._data, axes, keepdim), input._backend)


@declare()
def any(
    input: Tensor, dim: Dim = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Tensor:
    """Whether any element (over ``dim``) is true."""
    keepdim = _keepdim(keepdim, keepdims)
    axes = _dims_or_none(input, dim)
    return _wrap(input._backend.any(input._data, axes, keepdim), input._backend)


# --- order statistics, scans, sorting -----------------------------------------------------
def _scattered_back(ns, g, indices, dim, shape):
    """The gradient of values picked at ``indices`` along ``dim``: scattered back there
    (straight back from a 0-d input's one element, ``indices`` ``None``)."""
    if indices is None:
        return g
    return ns.scatter_along(ns.reshape(g, indices.shape), indices, dim, shape)


def _scatter_added_back(ns, g, indices, dim, shape):
    if indices is None:  # a 0-d input's one element
        return g
    return ns.scatter_add_along(g, indices, dim, shape)


def _evenly_distributed(ns, g, mask, count):
    """A whole-tensor median's gradient: shared evenly by the elements equal to it."""
    return ns.where(mask, g / count, 0)


def _reverse_cumsum(ns, t, dim):
    return ns.flip(ns.cumsum(ns.flip(t, dim), dim), dim)


def _cumprod_grad(ns, g, x, o, dim, zeros):
    """PyTorch's formula, exact with zeros: before a slice's first zero, the reversed
    cumulative sum of ``g * o`` over ``x``; at it, the same with that zero read as one;
    after it, zero."""
    if zeros is None:
        return _reverse_cumsum(ns, g * o, dim) / x
    if isinstance(x, Tensor):  # create_graph: the zero branch is exact to first order only
        raise NotImplementedError(
            "the second derivative of cumprod over inputs that contain zeros is not supported"
        )
    before, at = zeros
    first = _reverse_cumsum(ns, g * o, dim) / ns.where(before, x, 1)
    at_zero = _reverse_cumsum(ns, g * ns.cumprod(ns.where(at, 1, x), dim), dim)
    return ns.where(before, first, ns.where(at, at_zero, 0))


_LOG_ZERO = -1e4
"""Stands for log(0) in logcumsumexp's gradient: its exponential is 0 in every float dtype
(as -inf's is) while staying finite, so the formula is differentiable again."""


def _logcumsumexp_grad(ns, g, x, o, dim):
    """PyTorch's stable formula: the positive and negative parts of ``g`` in log space."""
    positive = g > 0
    negative = g < 0
    log_abs = ns.log(ns.where(positive, g, ns.where(negative, -g, 1)))

    def part(mask):
        logs = ns.where(mask, log_abs, _LOG_ZERO) - o
        return ns.exp(ns.flip(ns.logcumsumexp(ns.flip(logs, dim), dim), dim) + x)

    return part(positive) - part(negative)


def _nansum_grad(ns, g, shape, keep, nan):
    spread = _expand_reduced(ns, g, shape, keep)
    return spread if nan is None else ns.where(nan, 0, spread)


_PICKED = ("indices", "dim", "shape")
SORT = Op("sort", "SortBackward0", None, (_scattered_back,), attrs=_PICKED)
SORT_STABLE = Op("sort", "SortBackward1", None, (_scattered_back,), attrs=_PICKED)
"""PyTorch's ``sort.stable`` overload, the one called when ``stable=`` is given."""
TOPK = Op("topk", "TopkBackward0", None, (_scattered_back,), attrs=_PICKED)
KTHVALUE = Op("kthvalue", "KthvalueBackward0", None, (_scattered_back,), attrs=_PICKED)
MEDIAN_DIM = Op("median", "MedianBackward1", None, (_scattered_back,), attrs=_PICKED)
NANMEDIAN_DIM = Op("nanmedian", "NanmedianBackward1", None, (_scattered_back,), attrs=_PICKED)
MODE = Op("mode", "ModeBackward0", None, (_scattered_back,), attrs=_PICKED)
MEDIAN = Op("median", "MedianBackward0", None, (_evenly_distributed,), attrs=("mask", "count"))
NANMEDIAN = Op(
    "nanmedian", "NanmedianBackward0", None, (_evenly_distributed,), attrs=("mask", "count")
)
CUMMAX = Op("cummax", "CummaxBackward0", None, (_scatter_added_back,), attrs=_PICKED)
CUMMIN = Op("cummin", "CumminBackward0", None, (_scatter_added_back,), attrs=_PICKED)
CUMPROD = Op(
    "cumprod", "CumprodBackward0", None, (_cumprod_grad,), save=("x", "o"), attrs=("dim", "zeros")
)
LOGCUMSUMEXP = Op(
    "logcumsumexp",
    "LogcumsumexpBackward0",
    None,
    (_logcumsumexp_grad,),
    save=("x", "o"),
    attrs=("dim",),
)
NANSUM = Op("nansum", "NansumBackward0", None, (_nansum_grad,), attrs=(*_KEPT, "nan"))
VAR_MEAN = Op("var_mean", "VarMeanBackward0", None, (_var_grad,), save=("x",), attrs=VAR.attrs)
STD_MEAN = Op("std_mean", "StdMeanBackward0", None, (_std_grad,), save=("x", "o"), attrs=STD.attrs)
VAR_MEAN_MEAN = Op("var_mean", "VarMeanBackward0", None, (_mean_grad,), attrs=MEAN.attrs)
STD_MEAN_MEAN = Op("std_mean", "StdMeanBackward0", None, (_mean_grad,), attrs=MEAN.attrs)


def _picked(op: Op, input: Tensor, values: Any, indices: Any, axis: int, result: type) -> Any:
    """``(values, indices)`` as ``result``, the values recording ``op``, whose gradient
    scatters back to ``indices`` along ``axis``."""
    backend = input._backend
    shape = input._data.shape
    kept = indices if indices.ndim == len(shape) else None
    values_t = _record(op, values, backend, (input,), (kept, axis, shape))
    return result(values_t, _wrap(indices, backend))


def _of_scalar(op: Op, input: Tensor, dim: int, result: type) -> Any:
    """``(values, indices)`` of a 0-d ``input`` seen as one element along ``dim`` (0 or -1,
    checked): a copy of it recording ``op`` (whose gradient passes straight back) and
    index 0, as PyTorch's sort, topk, kthvalue, median, mode, cummax ... of a 0-d tensor."""
    _single_dim(input, dim)
    backend = input._backend
    values = _record(op, input._data.copy(), backend, (input,), (None, 0, ()))
    return result(values, _wrap(backend.zeros((), "int64"), backend))


def _floating_only(name: str, input: Tensor) -> None:
    if input._data.dtype.kind == "b":
        raise RuntimeError(f"\"{name}\" not implemented for 'Bool'")


@declare(rows=(SORT, SORT_STABLE))
def sort(
    input: Tensor,
    dim: int = -1,
    descending: bool = False,
    *,
    stable: bool | None = None,
) -> Any:
    """``(values, indices)`` of ``input`` sorted along ``dim``; always stable (``stable=``
    is accepted for PyTorch's signature); NaN sorts as the largest value."""
    op = SORT if stable is None else SORT_STABLE
    if input._data.ndim == 0:
        return _of_scalar(op, input, dim, _return_types.sort)
    axis = _single_dim(input, dim)
    values, indices = input._backend.sort(input._data, axis, descending)
    return _picked(op, input, values, indices, axis, _return_types.sort)


@declare()
def argsort(
    input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False
) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable)."""
    axis = _single_dim(input, dim)
    if input._data.ndim == 0:
        return _wrap(input._backend.zeros((), "int64"), input._backend)
    return _wrap(input._backend.sort(input._data, axis, descending)[1], input._backend)


@declare()
def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim."""
    return sort(input, 0).values


@declare(rows=(TOPK,))
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their
    indices, largest first (always sorted)."""
    axis = _single_dim(input, dim)
    if input._data.dtype.kind == "b":
        raise RuntimeError(f"topk does not support bool dtypes on {_device_name(input)}")
    if input._data.ndim == 0:  # k=0 too answers the element, as PyTorch
        if k not in (0, 1):
            raise RuntimeError("selected index k out of range")
        return _of_scalar(TOPK, input, dim, _return_types.topk)
    if not 0 <= k <= input._data.shape[axis]:
        raise RuntimeError("selected index k out of range")
    values, indices = input._backend.topk(input._data, k, axis, largest)
    return _picked(TOPK, input, values, indices, axis, _return_types.topk)


def _squeezed(backend: Any, arrays: tuple, axis: int, keepdim: bool) -> tuple:
    return arrays if keepdim else tuple(backend.squeeze(a, axis) for a in arrays)


def _picked_reduction(op, input, values, indices, axis, keepdim, result) -> Any:
    """A reduction whose values are picked at ``indices`` (kept dims): its gradient
    scatters back there whether or not the dim is kept."""
    backend = input._backend
    shape = input._data.shape
    out_values, out_indices = _squeezed(backend, (values, indices), axis, keepdim)
    values_t = _record(op, out_values, backend, (input,), (indices, axis, shape))
    return result(values_t, _wrap(out_indices, backend))


@declare(rows=(KTHVALUE,))
def kthvalue(
    input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """``(values, indices)`` of the ``k``-th smallest element along ``dim``."""
    keepdim = _keepdim(keepdim, keepdims)
    axis = _single_dim(input, dim)
    if input._data.ndim == 0:  # a bool too, as PyTorch
        if k != 1:
            raise RuntimeError("kthvalue(): selected number k out of range for dimension 0")
        return _of_scalar(KTHVALUE, input, dim, _return_types.kthvalue)
    if not input._data.shape[axis]:
        raise IndexError(f"kthvalue(): Expected reduction dim {axis} to have non-zero size.")
    if not 1 <= k <= input._data.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    if input._data.dtype.kind == "b":
        raise _not_implemented("kthvalue", input)
    backend = input._backend
    values, indices = backend.sort(input._data, axis)
    keep = (slice(None),) * axis + (slice(k - 1, k),)
    return _picked_reduction(
        KTHVALUE, input, values[keep], indices[keep], axis, keepdim, _return_types.kthvalue
    )


def _median(input: Tensor, dim: Any, keepdim: bool, ignore_nan: bool) -> Any:
    name = "nanmedian" if ignore_nan else "median"
    backend = input._backend
    data = input._data
    if data.dtype.kind == "b" and data.size and dim is None:
        raise _not_implemented("median", input)
    op = NANMEDIAN if ignore_nan else MEDIAN
    if dim is None:
        flat = data.reshape(-1)
        if flat.size == 0:
            value = backend.full((), float("nan"), data.dtype)
            return _record(op, value, backend, (input,), (backend.isnan(data), 1))
        values, _ = backend.median(flat, 0, ignore_nan)
        value = values.reshape(())
        mask = (data == value) if value == value else backend.isnan(data)
        count = int(backend.sum(mask))
        return _record(op, value, backend, (input,), (mask, count))
    op = NANMEDIAN_DIM if ignore_nan else MEDIAN_DIM
    result = _return_types.nanmedian if ignore_nan else _return_types.median
    axis = _single_dim(input, dim)
    _check_dim_nonempty(name, input, axis)
    if data.dtype.kind == "b":
        raise _not_implemented("median_out", input, per_device=False)
    if data.ndim == 0:
        return _of_scalar(op, input, dim, result)
    values, indices = backend.median(data, axis, ignore_nan)
    return _picked_reduction(op, input, values, indices, axis, keepdim, result)


@declare(rows=(MEDIAN, MEDIAN_DIM))
def median(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """The lower median of all elements, or ``(values, indices)`` along ``dim``; NaN where
    the values hold one."""
    return _median(input, dim, _keepdim(keepdim, keepdims), ignore_nan=False)


@declare(rows=(NANMEDIAN, NANMEDIAN_DIM))
def nanmedian(
    input: Tensor, dim: int | None = None, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """``median`` ignoring NaN values (NaN only where a slice holds nothing else)."""
    return _median(input, dim, _keepdim(keepdim, keepdims), ignore_nan=True)


@declare(rows=(MODE,))
def mode(
    input: Tensor, dim: int = -1, keepdim: bool = False, *, keepdims: bool | None = None
) -> Any:
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of equally
    frequent ones) and the index of its last occurrence."""
    keepdim = _keepdim(keepdim, keepdims)
    if input._data.ndim == 0:
        return _of_scalar(MODE, input, dim, _return_types.mode)
    axis = _single_dim(input, dim)
    _check_dim_nonempty("mode", input, axis)
    values, indices = input._backend.mode(input._data, axis)
    return _picked_reduction(MODE, input, values, indices, axis, keepdim, _return_types.mode)


def _cumextreme(input: Tensor, dim: int, largest: bool) -> Any:
    result = _return_types.cummax if largest else _return_types.cummin
    backend = input._backend
    data = input._data
    op = CUMMAX if largest else CUMMIN
    if data.ndim == 0:
        if dim not in (-1, 0):
            name = "cummax" if largest else "cummin"
            raise IndexError(f"{name}(): Expected reduction dim -1 or 0 for scalar but got {dim}")
        return _of_scalar(op, input, dim, result)
    if data.size == 0:  # PyTorch checks no dim here; the (empty) gradient passes back
        values_t = _record(op, data.copy(), backend, (input,), (None, 0, data.shape))
        return result(values_t, _wrap(backend.zeros(data.shape, "int64"), backend))
    axis = _single_dim(input, dim)
    values, indices = backend.cumextreme(data, axis, largest)
    values_t = _record(op, values, backend, (input,), (indices, axis, data.shape))
    return result(values_t, _wrap(indices, backend))


@declare(rows=(CUMMAX,))
def cummax(input: Tensor, dim: int) -> Any:
    """``(values, indices)``: the running maximum along ``dim`` and where it was last
    reached."""
    return _cumextreme(input, dim, True)


@declare(rows=(CUMMIN,))
def cummin(input: Tensor, dim: int) -> Any:
    """``(values, indices)``: the running minimum along ``dim`` and where it was last
    reached."""
    return _cumextreme(input, dim, False)


@declare(rows=(CUMPROD,))
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """The cumulative product along ``dim`` (integers in int64; float16 in float32)."""
    if dtype is not None:
        input = _cast_for(input, dtype, dim)
    axis = _single_dim(input, dim)
    backend = input._backend
    data = input._data
    out = backend.cumprod(data, axis)
    if dtype is not None and out.dtype != data.dtype:  # an explicit dtype is kept
        out = out.astype(data.dtype)
    zeros = backend.first_zero(data, axis) if input.requires_grad and data.ndim else None
    return _record(CUMPROD, out, backend, (input,), (axis, zeros))


@declare(rows=(LOGCUMSUMEXP,))
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, computed stably (floating inputs)."""
    axis = _single_dim(input, dim)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"logcumsumexp_out_cpu" not implemented for '
            f"'{_dtypes.SCALAR_TYPE_NAMES[input.dtype.name]}'"
        )
    out = _from_positive_zero(input._backend.logcumsumexp(input._data, axis))
    return _record(LOGCUMSUMEXP, out, input._backend, (input,), (axis,))


def _nansum(input: Tensor, dim: Dim, keepdim: bool, dtype: Any) -> Tensor:
    if input._data.dtype.kind != "f":
        return sum(input, dim, keepdim)
    backend = input._backend
    nan = backend.isnan(input._data)
    nan = nan if bool(backend.any(nan)) else None
    return _reduce(input, dim, keepdim, lambda B, x, a, k: B.nansum(x, a, k), NANSUM, NANSUM, nan)


nansum = _declare_summation(
    "nansum", "The sum over ``dim`` treating NaN as zero.", _nansum, (NANSUM,)
)


def _nanmean(input: Tensor, dim: Dim, keepdim: bool, dtype: Any) -> Tensor:
    present = _wrap(~input._backend.isnan(input._data), input._backend)
    with input._backend.quiet():  # an all-NaN slice: 0 / 0 is NaN, quietly
        return nansum(input, dim, keepdim) / sum(present, dim, keepdim)


nanmean = _declare_summation(
    "nanmean", "The mean over ``dim`` of the values that are not NaN.", _nanmean, floating=True
)


@declare()
def count_nonzero(input: Tensor, dim: Dim = None) -> Tensor:
    """The number of non-zero elements (over ``dim``), as int64."""
    backend = input._backend
    axes = _dims_or_none(input, dim)
    return _wrap(backend.count_nonzero(input._data, axes), backend)


def _moments(
    input, dim, unbiased, keepdim, correction, ops, statistic: str
) -> tuple[Tensor, Tensor]:
    c = _correction(input, unbiased, correction)
    _warn_no_freedom(f"{statistic}_mean", input, dim, c)
    count = _count(input, dim)
    axes = _dims_or_none(input, dim)
    deviation = _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: getattr(B, statistic)(x, a, c, k),
        ops[0],
        ops[0],
        axes,
        count - c,
    )
    average = _reduce(input, dim, keepdim, lambda B, x, a, k: B.mean(x, a, k), *ops[1:], count)
    return deviation, average


var_mean = _declare_dispersion(
    "var_mean",
    "``(var, mean)`` over ``dim`` in one call.",
    partial(_moments, ops=(VAR_MEAN, VAR_MEAN_MEAN, VAR_MEAN_MEAN), statistic="var"),
    (VAR_MEAN, VAR_MEAN_MEAN),
    "tuple[Tensor, Tensor]",
    methods=(),
)
std_mean = _declare_dispersion(
    "std_mean",
    "``(std, mean)`` over ``dim`` in one call.",
    partial(_moments, ops=(STD_MEAN, STD_MEAN_MEAN, STD_MEAN_MEAN), statistic="std"),
    (STD_MEAN, STD_MEAN_MEAN),
    "tuple[Tensor, Tensor]",
    methods=(),
)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")
QUANTILE_PICK = Op("quantile_pick", "GatherBackward0", None, (_scatter_added_back,), attrs=_PICKED)
"""The sorted values a quantile reads, picked straight from the input (sort and gather in
one); its gradient adds back to where they came from (PyTorch's sort + gather adjoint)."""


def _quantile(
    input: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool
) -> Tensor:
    """PyTorch's quantile_compute: ranks ``q * (n - 1)`` in the input's dtype over each
    slice sorted (NaN last), ``n`` the slice's size, or its count of non-NaN values when
    ``ignore_nan``: a slice holding NaN reads its last (NaN) value for ``quantile``, and
    an all-NaN slice its first for ``nanquantile``, where the gradient goes."""
    backend = input._backend
    if input._data.dtype.kind != "f":
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            "quantile() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest, but got {interpolation}"
        )
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        qs = [float(v) for v in q.reshape(-1).tolist()]
        scalar_q = q._data.ndim == 0
    else:
        qs, scalar_q = [float(q)], True
    for value in qs:
        if not 0 <= value <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {value:g}")
    if input._data.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    x = input.reshape(-1) if dim is None else input
    if x._data.ndim == 0:
        x = x.reshape(1)
    axis = _single_dim(x, 0 if dim is None else dim)
    data = x._data
    dtype = data.dtype
    n = data.shape[axis]
    _, order = backend.sort(data, axis)
    q_shape = [1] * data.ndim
    q_shape[axis] = len(qs)
    q_array = backend.asarray(qs, dtype=dtype).reshape(q_shape)
    nan = backend.isnan(data)
    if ignore_nan:
        count = backend.sum(~nan, axis, True).astype(dtype)
        ranks = q_array * (count - 1)
        ranks = backend.where(ranks < 0, backend.zeros((), dtype), ranks)
    else:
        has_nan = backend.any(nan, axis, True)
        ranks = backend.where(has_nan, backend.full((), n - 1, dtype), q_array * (n - 1))
    ranks = {
        "lower": backend.floor,
        "higher": backend.ceil,
        "nearest": backend.round,
    }.get(interpolation, lambda r: r)(ranks)
    below = backend.floor(ranks)

    def pick(rank: Any) -> Tensor:
        indices = backend.take_along_axis(order, rank.astype("int64"), axis)
        values = backend.take_along_axis(data, indices, axis)
        return _record(QUANTILE_PICK, values, backend, (x,), (indices, axis, data.shape))

    out = pick(below)
    if interpolation in ("linear", "midpoint"):
        weight = ranks - below if interpolation == "linear" else backend.full((), 0.5, dtype)
        out = lerp(out, pick(backend.ceil(ranks)), _wrap(weight, backend))
    out = out.permute([axis] + [i for i in range(out._data.ndim) if i != axis])
    if keepdim:
        kept = list(input.shape) if dim is not None else [1] * input._data.ndim
        if dim is not None:
            kept[axis] = 1
        out = out.reshape([len(qs), *kept])
    if scalar_q:
        out = out.reshape(out.shape[1:])
    return out


def _declare_quantile(name: str, ignore_nan: bool, doc: str) -> Any:
    """Declare ``quantile`` or ``nanquantile``: PyTorch's signature over ``_quantile``."""

    def function(
        input: Tensor,
        q: Any,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        interpolation: str = "linear",
    ) -> Tensor:
        return _quantile(input, q, dim, keepdim, interpolation, ignore_nan)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return declare(name, rows=(QUANTILE_PICK,))(function)


quantile = _declare_quantile(
    "quantile",
    False,
    """The ``q``-th quantiles (a number or a 1-d tensor in [0, 1]) over ``dim`` (of all
    elements without it); NaN where a slice holds NaN. Differentiable as PyTorch's (its
    gradient reaches the values it interpolates between).""",
)
nanquantile = _declare_quantile(
    "nanquantile",
    True,
    """``quantile`` ignoring NaN values: each slice's quantiles of its non-NaN values (NaN
    only where a slice holds nothing else).""",
)


@declare()
def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The sorted unique elements (rows along ``dim``), with the inverse indices and the
    counts when asked; not differentiable, as PyTorch's."""
    backend = input._backend
    axis = None if dim is None else _single_dim(input, dim)
    values, inverse, counts = backend.unique(input._data, return_inverse, return_counts, axis)
    out = [_wrap(values, backend)]
    if return_inverse:
        out.append(_wrap(inverse, backend))
    if return_counts:
        out.append(_wrap(counts, backend))
    return out[0] if len(out) == 1 else tuple(out)


# --- PyTorch names composed from the ops above (helper "out": missing top-level names) ---
@declare()
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """``(amin, amax)`` over ``dim`` (all elements by default), as
    ``gpugrad.return_types.aminmax(min=..., max=...)``."""
    over = () if dim is None else dim
    return _return_types.aminmax(amin(input, over, keepdim), amax(input, over, keepdim))
