"""Shape, indexing and joining ops: views of the data whose gradients move it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _derivatives as D
from ._ops import _device_error, _record
from ._reductions import _dims
from ._tensor import Size, Tensor, _wrap, mark_view
from .backends import dtypes as _dtypes


def _shape_arg(shape: tuple) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape ``(2, 3)``."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


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
    target = _resolve_shape(_shape_arg(shape), data.size)
    if target == data.shape:
        return input
    out = data.reshape(target)
    op = D.VIEW
    if not data.flags.c_contiguous and not input._backend.xp.may_share_memory(out, data):
        if not may_copy:
            raise RuntimeError(VIEW_ERROR)
        op = D.UNSAFE_VIEW
    return _view(op, out, input._backend, (input,), (data.shape,))


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """``input`` with a new shape: a view when the data allows, else a copy."""
    return _reshape(input, shape, True)


def view(input: Tensor, *shape: Any) -> Tensor:
    """``input`` with a new shape, sharing its data; raises where that needs a copy."""
    return _reshape(input, shape, False)


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


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    data = input._data
    if dim is None:
        out = input._backend.squeeze(data)
        op = D.SQUEEZE
    else:
        axes = _dims(data.ndim, dim) if data.ndim else ()
        out = input._backend.squeeze(data, axes)
        op = D.SQUEEZE_DIM if isinstance(dim, int) else D.SQUEEZE_DIMS
    return _view(op, out, input._backend, (input,), (data.shape,))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    data = input._data
    rank = data.ndim + 1
    if not -rank <= dim < rank:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    out = input._backend.unsqueeze(data, dim % rank)
    return _view(D.UNSQUEEZE, out, input._backend, (input,), (data.shape,))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    data = input._data
    if data.ndim == 0:
        return input
    d0, d1 = (_dims(data.ndim, d)[0] for d in (dim0, dim1))
    return _view(
        D.TRANSPOSE, input._backend.transpose(data, d0, d1), input._backend, (input,), (d0, d1)
    )


swapaxes = transpose


def permute(input: Tensor, *dims: Any) -> Tensor:
    order = _shape_arg(dims)
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
    return _view(
        D.PERMUTE, input._backend.permute(data, order), input._backend, (input,), (inverse,)
    )


def mT(input: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    if input._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {input._data.ndim}-D tensor."
        )
    return transpose(input, -2, -1)


def t(input: Tensor) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    data = input._data
    if data.ndim < 2:
        return input
    return _view(D.T, input._backend.transpose(data, 0, 1), input._backend, (input,))


def T(input: Tensor) -> Tensor:  # noqa: N802
    return permute(input, tuple(range(input._data.ndim - 1, -1, -1)))


def expand(input: Tensor, *sizes: Any) -> Tensor:
    data = input._data
    target = list(_shape_arg(sizes))
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
                f"{list(_shape_arg(sizes))}.  Tensor sizes: {list(data.shape)}"
            )
    shape = tuple(target)
    if shape == data.shape:
        return input
    return _view(
        D.EXPAND, input._backend.expand(data, shape), input._backend, (input,), (data.shape,)
    )


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, tuple(shape))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def sum_to(input: Tensor, *shape: Any) -> Tensor:
    """Sum ``input`` down to ``shape`` (the adjoint of ``expand``)."""
    shape = _shape_arg(shape)
    data = input._data
    if data.shape == shape:
        return input
    return _record(
        D.SUM_TO, input._backend.sum_to(data, shape), input._backend, (input,), (data.shape,)
    )


sum_to_size = sum_to


def contiguous(input: Tensor) -> Tensor:
    data = input._data
    out = input._backend.xp.ascontiguousarray(data)
    if out is data or not data.ndim:
        return input
    return _record(D.CLONE, out, input._backend, (input,))


def clone(input: Tensor) -> Tensor:
    return _record(D.CLONE, input._backend.copy(input._data), input._backend, (input,))


# --- indexing ---------------------------------------------------------------------------
def _index_key(key: Any, input: Tensor) -> Any:
    """A Python index with tensors and lists turned into the backend's arrays."""
    backend = input._backend
    items = key if isinstance(key, tuple) else (key,)
    converted = []
    for k in items:
        if isinstance(k, Tensor):
            if k._backend is not backend:
                raise _device_error(input, k)
            if k._data.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            k = int(k._data) if k._data.ndim == 0 and k._data.dtype.kind in "iu" else k._data
        elif isinstance(k, list):
            k = backend.asarray(k)
        elif not (k is None or k is Ellipsis or isinstance(k, (int, slice))):
            if hasattr(k, "__index__"):
                k = k.__index__()
            elif not hasattr(k, "dtype"):
                raise IndexError(f"unsupported index type {type(k).__name__}")
        converted.append(k)
    return tuple(converted)


def _index_op(key: tuple) -> Any:
    """PyTorch's node for ``x[key]``: ``IndexBackward0`` for advanced keys; for basic ones,
    the node of the last int or slice, or ``UnsqueezeBackward0`` when the key only adds
    dims (``None``) to full slices."""
    op = None
    reshaping = True
    ends_with_none = False
    for k in key:
        if k is None:
            ends_with_none = True
        elif isinstance(k, int):
            op, reshaping, ends_with_none = D.SELECT, False, False
        elif isinstance(k, slice):
            op, ends_with_none = D.SLICE, False
            reshaping = reshaping and k == slice(None)
        elif k is not Ellipsis:
            return D.INDEX
    return D.UNSQUEEZE if op is None or (reshaping and ends_with_none) else op


def getitem(input: Tensor, key: Any) -> Tensor:
    data = input._data
    if not isinstance(key, tuple) or any(type(k) is not int and type(k) is not slice for k in key):
        key = _index_key(key, input)
    if type(key) is tuple and len(key) == data.ndim and all(type(k) is int for k in key):
        key += (Ellipsis,)  # a 0-d view, as x[0] is in PyTorch (NumPy would copy a scalar)
    elif type(key) is int and data.ndim == 1:
        key = (key, Ellipsis)
    try:
        out = data[key]
    except IndexError as error:
        raise IndexError(_index_message(str(error), data.ndim)) from None
    op = _index_op(key if isinstance(key, tuple) else (key,))
    if op is D.UNSQUEEZE:
        return _view(D.UNSQUEEZE, out, input._backend, (input,), (data.shape,))
    result = _view(op, out, input._backend, (input,), (data.shape, key))
    if result._extra is not None and result._extra.base is input:
        result._extra.view_key = key  # in-place ops on it write back through base[key]
    return result


def _index_message(message: str, ndim: int) -> str:
    """The array module's indexing error, worded as PyTorch words it."""
    if message.startswith("too many indices"):
        if ndim == 0:
            return (
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        return f"too many indices for tensor of dimension {ndim}"
    return message.replace("axis", "dimension")


def index_scatter(grad: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
    """Zeros of ``shape`` with ``grad`` added at ``[key]`` (the adjoint of indexing)."""
    out = grad._backend.index_scatter(grad._data, shape, key)
    return _record(D.INDEX_SCATTER, out, grad._backend, (grad,), (key,))


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0):
    axis = _dims(tensor._data.ndim, dim)[0]
    length = tensor._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and length:
            raise RuntimeError(
                "split_size can only be 0 if dimension size is 0, but got dimension size of "
                f"{length}"
            )
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                f"tensor's size at dimension {axis}), but got split_sizes={sizes}"
            )
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem(tensor, (slice(None),) * axis + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    length = input._data.shape[_dims(input._data.ndim, dim)[0]]
    return split(input, -(-length // chunks) if length else 1, dim)


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
    out = _record(D.CAT, backend.cat(arrays, axis), backend, tuple(tensors), (axis, bounds))
    return _cast_grads_back(out, tensors)


concatenate = concat = cat


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
    out = _record(
        D.STACK, backend.stack(arrays, axis), backend, tuple(tensors), (axis, len(arrays))
    )
    return _cast_grads_back(out, tensors)


def size_of(input: Tensor) -> Size:
    return Size(input._data.shape)


def new_tensor_like(input: Tensor, data: Any) -> Tensor:
    return _wrap(input._backend.asarray(data, dtype=input._data.dtype), input._backend)
