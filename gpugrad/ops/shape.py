"""Shape and joining ops: views of the data whose gradients move it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._graph import Op
from .._tensor import Tensor, mark_view, shape_arg
from ..backends import dtypes as _dtypes
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .reduce import _dims
from .registry import alias, declare


def _reshaped(ns, g, shape):
    return ns.reshape(g, shape)


_SHAPE = ("shape",)
VIEW = Op("view", "ViewBackward0", None, (_reshaped,), attrs=_SHAPE)
UNSAFE_VIEW = Op("reshape", "UnsafeViewBackward0", None, (_reshaped,), attrs=_SHAPE)
SQUEEZE = Op("squeeze", "SqueezeBackward0", None, (_reshaped,), attrs=_SHAPE)
SQUEEZE_DIM = Op("squeeze", "SqueezeBackward1", None, (_reshaped,), attrs=_SHAPE)
SQUEEZE_DIMS = Op("squeeze", "SqueezeBackward2", None, (_reshaped,), attrs=_SHAPE)
UNSQUEEZE = Op("unsqueeze", "UnsqueezeBackward0", None, (_reshaped,), attrs=_SHAPE)
EXPAND = Op(
    "expand", "ExpandBackward0", None, (lambda ns, g, shape: ns.sum_to(g, shape),), attrs=_SHAPE
)
SUM_TO = Op(
    "sum_to_size", "SumBackward1", None, (lambda ns, g, shape: ns.expand(g, shape),), attrs=_SHAPE
)
TRANSPOSE = Op(
    "transpose",
    "TransposeBackward0",
    None,
    (lambda ns, g, d0, d1: ns.transpose(g, d0, d1),),
    attrs=("d0", "d1"),
)
T_ROW = Op("t", "TBackward0", None, (lambda ns, g: ns.transpose(g, 0, 1),))
PERMUTE = Op(
    "permute",
    "PermuteBackward0",
    None,
    (lambda ns, g, inverse: ns.permute(g, inverse),),
    attrs=("inverse",),
)
CLONE = Op("clone", "CloneBackward0", None, (lambda ns, g: g,))
CAT = Op(
    "cat",
    "CatBackward0",
    None,
    (
        lambda ns, g, dim, bounds: [
            ns.getitem(g, (slice(None),) * dim + (slice(start, stop),)) for start, stop in bounds
        ],
    ),
    attrs=("dim", "bounds"),
    splits=True,
)
STACK = Op(
    "stack",
    "StackBackward0",
    None,
    (lambda ns, g, dim, n: [ns.getitem(g, (slice(None),) * dim + (i,)) for i in range(n)],),
    attrs=("dim", "n"),
    splits=True,
)


def _resolve_shape(shape: tuple[int, ...], size: int) -> tuple[int, ...]:
    known = 1
    unknown = [i for i, n in enumerate(shape) if n == -1]
    for n in shape:
        if n != -1:
            known *= n
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if unknown and known and size % known == 0:
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    total = 1
    for n in shape:
        total *= n
    if total != size or any(n < 0 for n in shape):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


VIEW_ERROR = (
    "view size is not compatible with input tensor's size and stride (at least one dimension "
    "spans across two contiguous subspaces). Use .reshape(...) instead."
)


def _view(op: Any, out: Any, backend: Any, inputs: tuple, attrs: tuple = ()) -> Tensor:
    """``_record``, for ops whose result may share the input's memory: such a result shares
    the input's version counter too, so a write through either is seen by both."""
    result = _record(op, out, backend, inputs, attrs)
    if backend.shares_memory(out, inputs[0]._data):
        mark_view(result, inputs[0])
    return result


def _reshape(input: Tensor, shape: tuple, may_copy: bool) -> Tensor:
    data = input._data
    target = _resolve_shape(shape_arg(shape), data.size)
    if target == data.shape:
        return input
    out = data.reshape(target)
    op = VIEW
    if not data.flags.c_contiguous and not input._backend.shares_memory(out, data):
        if not may_copy:
            raise RuntimeError(VIEW_ERROR)
        op = UNSAFE_VIEW
    return _view(op, out, input._backend, (input,), (data.shape,))


@declare(rows=(VIEW, UNSAFE_VIEW))
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """``input`` with a new shape: a view when the data allows, else a copy."""
    return _reshape(input, shape, True)


@declare(export=False)
def view(input: Tensor, *shape: Any) -> Tensor:
    """``input`` with a new shape, sharing its data; raises where that needs a copy."""
    return _reshape(input, shape, False)


@declare()
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    start, end = (_dims(len(shape), d)[0] for d in (start_dim, end_dim))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = 1
    for n in shape[start : end + 1]:
        merged *= n
    return reshape(input, shape[:start] + (merged,) + shape[end + 1 :])


@declare(rows=(SQUEEZE, SQUEEZE_DIM, SQUEEZE_DIMS))
def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    data = input._data
    if dim is None:
        out = input._backend.squeeze(data)
        op = SQUEEZE
    else:
        axes = _dims(data.ndim, dim) if data.ndim else ()
        out = input._backend.squeeze(data, axes)
        op = SQUEEZE_DIM if isinstance(dim, int) else SQUEEZE_DIMS
    return _view(op, out, input._backend, (input,), (data.shape,))


@declare(rows=(UNSQUEEZE,))
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    data = input._data
    rank = data.ndim + 1
    if not -rank <= dim < rank:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    out = input._backend.unsqueeze(data, dim % rank)
    return _view(UNSQUEEZE, out, input._backend, (input,), (data.shape,))


@declare(rows=(TRANSPOSE,))
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    data = input._data
    if data.ndim == 0:
        return input
    d0, d1 = (_dims(data.ndim, d)[0] for d in (dim0, dim1))
    return _view(
        TRANSPOSE, input._backend.transpose(data, d0, d1), input._backend, (input,), (d0, d1)
    )


swapaxes = transpose
alias("swapaxes", "transpose", export=True)


@declare(rows=(PERMUTE,))
def permute(input: Tensor, *dims: Any) -> Tensor:
    order = shape_arg(dims)
    data = input._data
    if len(order) != data.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match "
            f"the length of the desired ordering of dimensions i.e. input.dim() = {data.ndim} "
            f"is not equal to len(dims) = {len(order)}"
        )
    order = tuple(_dims(data.ndim, o)[0] for o in order)
    if len(set(order)) != len(order):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    inverse = tuple(sorted(range(len(order)), key=order.__getitem__))
    return _view(PERMUTE, input._backend.permute(data, order), input._backend, (input,), (inverse,))


@declare("mT", methods=(), export=False, properties=("mT",))
def mT(input: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    if input._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {input._data.ndim}-D tensor."
        )
    return transpose(input, -2, -1)


@declare(rows=(T_ROW,))
def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    data = input._data
    if data.ndim < 2:
        return input
    return _view(T_ROW, input._backend.transpose(data, 0, 1), input._backend, (input,))


@declare("T", methods=(), export=False, properties=("T",))
def T(input: Tensor) -> Tensor:  # noqa: N802
    return permute(input, tuple(range(input._data.ndim - 1, -1, -1)))


@declare(export=False, rows=(EXPAND,))
def expand(input: Tensor, *sizes: Any) -> Tensor:
    data = input._data
    target = list(shape_arg(sizes))
    offset = len(target) - data.ndim
    if offset < 0:
        raise RuntimeError(
            f"expand(gpugrad.{input.dtype.name}{{{list(data.shape)}}}, size={target}): the "
            f"number of sizes provided ({len(target)}) must be greater or equal to the number "
            f"of dimensions in the tensor ({data.ndim})"
        )
    for i in reversed(range(len(target))):
        if i < offset:
            if target[i] == -1:
                raise RuntimeError(
                    "The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            continue
        n = data.shape[i - offset]
        if target[i] == -1:
            target[i] = n
        elif n != 1 and target[i] != n:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[i]}) must match the existing size "
                f"({n}) at non-singleton dimension {i}.  Target sizes: "
                f"{list(shape_arg(sizes))}.  Tensor sizes: {list(data.shape)}"
            )
    shape = tuple(target)
    if shape == data.shape:
        return input
    return _view(
        EXPAND, input._backend.expand(data, shape), input._backend, (input,), (data.shape,)
    )


@declare()
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, tuple(shape))


@declare(export=False)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


@declare("sum_to_size", export=False, rows=(SUM_TO,))
def sum_to(input: Tensor, *shape: Any) -> Tensor:
    """Sum ``input`` down to ``shape`` (the adjoint of ``expand``)."""
    shape = shape_arg(shape)
    data = input._data
    if data.shape == shape:
        return input
    return _record(
        SUM_TO, input._backend.sum_to(data, shape), input._backend, (input,), (data.shape,)
    )


sum_to_size = sum_to


@declare(export=False)
def contiguous(input: Tensor) -> Tensor:
    data = input._data
    out = input._backend.ascontiguousarray(data)
    if out is data or not data.ndim:
        return input
    return _record(CLONE, out, input._backend, (input,))


@declare(rows=(CLONE,))
def clone(input: Tensor) -> Tensor:
    return _record(CLONE, input._backend.copy(input._data), input._backend, (input,))


def _joinable(tensors: Sequence[Tensor]) -> tuple[Any, list[Any]]:
    if not tensors:
        raise RuntimeError("expected a non-empty list of Tensors")
    first = tensors[0]
    backend = first._backend
    arrays = []
    for t in tensors:
        if t._backend is not backend:
            raise _device_error(first, t)
        arrays.append(t._data)
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dtype:
            dtype = _dtypes.promote_arrays(dtype, 1, a.dtype, 1)
    return backend, [a.astype(dtype, copy=False) for a in arrays]


def _cast_grads_back(out: Tensor, tensors: list[Tensor]) -> Tensor:
    """Inputs promoted to ``out``'s dtype get their gradients back in their own dtype."""
    node = out.grad_fn
    if node is not None and any(t._data.dtype != out._data.dtype for t in tensors):
        node.casts = tuple(t._data.dtype for t in tensors)
    return out


@declare(methods=(), rows=(CAT,))
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    backend, arrays = _joinable(tensors)
    axis = _dims(arrays[0].ndim, dim)[0]
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != arrays[0].ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {arrays[0].ndim} and {a.ndim}"
            )
        for d in range(a.ndim):
            if d != axis and a.shape[d] != arrays[0].shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{arrays[0].shape[d]} but got size {a.shape[d]} for tensor number {i} in "
                    "the list."
                )
    bounds, start = [], 0
    for a in arrays:
        bounds.append((start, start + a.shape[axis]))
        start += a.shape[axis]
    out = _record(CAT, backend.cat(arrays, axis), backend, tuple(tensors), (axis, bounds))
    return _cast_grads_back(out, tensors)


concatenate = concat = cat
alias("concat", "cat", methods=())
alias("concatenate", "cat", methods=())


@declare(methods=(), rows=(STACK,))
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    backend, arrays = _joinable(tensors)
    for i, a in enumerate(arrays[1:], 1):
        if a.shape != arrays[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(arrays[0].shape)} "
                f"at entry 0 and {list(a.shape)} at entry {i}"
            )
    axis = _dims(arrays[0].ndim + 1, dim)[0]
    out = _record(STACK, backend.stack(arrays, axis), backend, tuple(tensors), (axis, len(arrays)))
    return _cast_grads_back(out, tensors)
