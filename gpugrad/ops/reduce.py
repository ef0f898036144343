"""Reductions, each declared once beside its derivative rows: ``sum mean prod max min
amax amin var std logsumexp argmax argmin cumsum flip``, ``softmax``, ``log_softmax``,
``all`` and ``any``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from .._graph import Op
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from .dispatch import Dim
from .dispatch import record as _record
from .elementwise import _float_input, maximum, minimum
from .registry import declare
from .transfer import to_dtype


def _expand_reduced(ns, g, shape, keep):
    """Undo a reduction's shape: back to ``keep`` (kept dims), then broadcast to ``shape``."""
    return ns.expand(ns.reshape(g, keep), shape)


def _extreme_grad(ns, g, x, o, shape, keep, dim):
    """Max/min over a whole dim: ties share the gradient evenly, as in PyTorch."""
    mask = x == ns.reshape(o, keep)
    count = ns.sum(mask, dim, True)
    return ns.where(mask, _expand_reduced(ns, g, shape, keep), 0) / ns.astype(count, g.dtype)


def _sum_grad(ns, g, shape, keep):
    return _expand_reduced(ns, g, shape, keep)


def _mean_grad(ns, g, shape, keep, n):
    return _expand_reduced(ns, g, shape, keep) / n


def _prod_grad(ns, g, x, shape, keep, dim):
    return _expand_reduced(ns, g, shape, keep) * ns.prod_others(x, dim)


def _max_dim_grad(ns, g, shape, keep, onehot):
    return ns.where(onehot, _expand_reduced(ns, g, shape, keep), 0)


def _var_grad(ns, g, x, shape, keep, dim, dof):
    return _expand_reduced(ns, g, shape, keep) * (2 / dof) * (x - ns.mean(x, dim, True))


def _std_grad(ns, g, x, o, shape, keep, dim, dof):
    centered = x - ns.mean(x, dim, True)
    return _expand_reduced(ns, g, shape, keep) * centered / (ns.reshape(o, keep) * dof)


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
MAX = Op("max", "MaxBackward1", None, (_extreme_grad,), **_EXTREME)
MIN = Op("min", "MinBackward1", None, (_extreme_grad,), **_EXTREME)
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
        out.append(d % rank if ndim else 0)
    return tuple(sorted(set(out)))


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


@declare(rows=(SUM, SUM_DIM))
def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    if dtype is not None:
        input = to_dtype(input, dtype)
    data = input._data
    if data.dtype.kind in "bui":
        total = "int64" if dtype is None else data.dtype
        return _wrap(
            input._backend.sum(data, _dims_or_none(input, dim), keepdim, dtype=total),
            input._backend,
        )
    return _reduce(input, dim, keepdim, lambda B, x, a, k: B.sum(x, a, k), SUM, SUM_DIM)


def _dims_or_none(input: Tensor, dim: Dim) -> Any:
    return None if dim is None else _dims(input._data.ndim, dim)


@declare(rows=(MEAN, MEAN_DIM))
def mean(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
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
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    axes = _dims(input._data.ndim, dim)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: B.prod(x, a, k),
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


@declare(rows=(AMAX,))
def amax(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    dim = None if dim == () else dim
    axes = _dims(input._data.ndim, dim)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: B.amax(x, a, k),
        AMAX,
        AMAX,
        axes if input._data.ndim else None,
    )


@declare(rows=(AMIN,))
def amin(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    dim = None if dim == () else dim
    axes = _dims(input._data.ndim, dim)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: B.amin(x, a, k),
        AMIN,
        AMIN,
        axes if input._data.ndim else None,
    )


class MaxMin(NamedTuple):
    """``(values, indices)`` of ``max(dim)`` / ``min(dim)``, as ``torch.return_types``."""

    values: Tensor
    indices: Tensor


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
    (axis,) = _dims(data.ndim, dim)
    if data.ndim == 0:
        return MaxMin(input.clone(), _wrap(backend.zeros((), "int64"), backend))
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
    return MaxMin(values_t, _wrap(indices, backend))


@declare(rows=(MAX, MAX_DIM))
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The largest element, or ``(values, indices)`` along ``dim``, or ``maximum``."""
    return _extreme(input, dim, keepdim, True)


@declare(rows=(MIN, MIN_DIM))
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _extreme(input, dim, keepdim, False)


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


def _variance(input, dim, unbiased, keepdim, correction, op, compute) -> Tensor:
    c = _correction(input, unbiased, correction)
    return _reduce(
        input,
        dim,
        keepdim,
        lambda B, x, a, k: compute(B, B.var(x, a, c, k)),
        op,
        op,
        _dims_or_none(input, dim),
        _count(input, dim) - c,
    )


@declare(rows=(VAR,))
def var(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    return _variance(input, dim, unbiased, keepdim, correction, VAR, lambda B, v: v)


@declare(rows=(STD,))
def std(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    return _variance(input, dim, unbiased, keepdim, correction, STD, lambda B, v: B.sqrt(v))


@declare(rows=(LOGSUMEXP,))
def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    input = _float_input(input)
    return _reduce(
        input, dim, keepdim, lambda B, x, a, k: B.logsumexp(x, a, k), LOGSUMEXP, LOGSUMEXP
    )


@declare()
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    backend = input._backend
    if dim is None:
        return _wrap(backend.argmax(input._data.reshape(-1)), backend)
    return _wrap(backend.argmax(input._data, _dims(input.ndim, dim)[0], keepdim), backend)


@declare()
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    backend = input._backend
    if dim is None:
        return _wrap(backend.argmin(input._data.reshape(-1)), backend)
    return _wrap(backend.argmin(input._data, _dims(input.ndim, dim)[0], keepdim), backend)


def _single_dim(input: Tensor, dim: int) -> int:
    return _dims(input._data.ndim, dim)[0] if input._data.ndim else 0


@declare(rows=(CUMSUM,))
def cumsum(input: Tensor, dim: int) -> Tensor:
    axis = _single_dim(input, dim)
    data = input._data
    out = input._backend.cumsum(data, axis)
    return _record(CUMSUM, out, input._backend, (input,), (axis,))


@declare(rows=(FLIP,))
def flip(input: Tensor, dims: Sequence[int] | int) -> Tensor:
    axes = _dims(input._data.ndim, dims)
    return _record(FLIP, input._backend.flip(input._data, axes), input._backend, (input,), (axes,))


@declare(rows=(SOFTMAX,))
def softmax(input: Tensor, dim: int) -> Tensor:
    axis = _single_dim(input, dim)
    return _record(
        SOFTMAX, input._backend.softmax(input._data, axis), input._backend, (input,), (axis,)
    )


@declare(rows=(LOG_SOFTMAX,))
def log_softmax(input: Tensor, dim: int) -> Tensor:
    axis = _single_dim(input, dim)
    return _record(
        LOG_SOFTMAX,
        input._backend.log_softmax(input._data, axis),
        input._backend,
        (input,),
        (axis,),
    )


@declare()
def all(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _wrap(input._backend.all(input._data, dim, keepdim), input._backend)


@declare()
def any(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _wrap(input._backend.any(input._data, dim, keepdim), input._backend)
