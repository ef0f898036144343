"""Shape, indexing and joining ops: views of the data whose gradients move it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _derivatives as D
from ._ops import _device_error, _record
from ._reductions import _dims
from ._tensor import Size, Tensor, _wrap
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


def reshape(input: Tensor, *shape: Any) -> Tensor:
    data = input._data
    target = _resolve_shape(_shape_arg(shape), data.size)
    if target == data.shape:
        return input
    return _record(D.VIEW, data.reshape(target), input._backend, (input,), (data.shape,))


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        return reshape(input, (1,))
    start, end = start_dim % len(shape), end_dim % len(shape)
    if start >= end:
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
        op = D.SQUEEZE_DIM
    return _record(op, out, input._backend, (input,), (data.shape,))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    data = input._data
    rank = data.ndim + 1
    if not -rank <= dim < rank:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    out = input._backend.unsqueeze(data, dim % rank)
    return _record(D.UNSQUEEZE, out, input._backend, (input,), (data.shape,))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    data = input._data
    if data.ndim == 0:
        return input
    d0, d1 = (_dims(data.ndim, d)[0] for d in (dim0, dim1))
    return _record(
        D.TRANSPOSE, input._backend.transpose(data, d0, d1), input._backend, (input,), (d0, d1)
    )


swapaxes = transpose


def permute(input: Tensor, *dims: Any) -> Tensor:
    order = _shape_arg(dims)
    data = input._data
    if sorted(o % max(data.ndim, 1) for o in order) != list(range(data.ndim)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match "
            f"the length of the desired ordering of dimensions i.e. input.dim() = {data.ndim} "
            f"is not equal to len(dims) = {len(order)}"
        )
    order = tuple(o % data.ndim for o in order)
    inverse = tuple(sorted(range(len(order)), key=order.__getitem__))
    return _record(
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
    return transpose(input, 0, -1) if input._data.ndim == 2 else input


def T(input: Tensor) -> Tensor:  # noqa: N802
    return permute(input, tuple(range(input._data.ndim - 1, -1, -1)))


def expand(input: Tensor, *sizes: Any) -> Tensor:
    data = input._data
    target = list(_shape_arg(sizes))
    offset = len(target) - data.ndim
    if offset < 0:
        raise RuntimeError(
            f"expand(gpugrad.{input.dtype.name}{{{list(data.shape)}}}, size={target}): the "
            "number of sizes provided must be greater or equal to the number of dimensions "
            "in the tensor"
        )
    for i, n in enumerate(data.shape):
        if target[offset + i] == -1:
            target[offset + i] = n
        elif n != 1 and target[offset + i] != n:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[offset + i]}) must match the "
                f"existing size ({n}) at non-singleton dimension {offset + i}.  Target sizes: "
                f"{list(_shape_arg(sizes))}.  Tensor sizes: {list(data.shape)}"
            )
    shape = tuple(target)
    if shape == data.shape:
        return input
    return _record(
        D.EXPAND, input._backend.expand(data, shape), input._backend, (input,), (data.shape,)
    )


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, tuple(shape))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def sum_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum ``input`` down to ``shape`` (the adjoint of ``expand``)."""
    shape = tuple(shape)
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
        if type(k) is Tensor:
            if k._backend is not backend:
                raise _device_error(input, k)
            if k._data.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            k = k._data
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
    if all(isinstance(k, int) for k in key):
        return D.SELECT
    if all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in key):
        return D.UNSQUEEZE if all(k is None or k is Ellipsis for k in key) else D.SLICE
    return D.INDEX


def getitem(input: Tensor, key: Any) -> Tensor:
    data = input._data
    if not isinstance(key, tuple) or any(type(k) is not int and type(k) is not slice for k in key):
        key = _index_key(key, input)
    try:
        out = data[key]
    except IndexError as error:
        raise IndexError(str(error).replace("axis", "dimension")) from None
    op = _index_op(key if isinstance(key, tuple) else (key,))
    if op is D.UNSQUEEZE:
        return _record(D.UNSQUEEZE, out, input._backend, (input,), (data.shape,))
    return _record(op, out, input._backend, (input,), (data.shape, key))


def index_scatter(grad: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
    """Zeros of ``shape`` with ``grad`` added at ``[key]`` (the adjoint of indexing)."""
    out = grad._backend.index_scatter(grad._data, shape, key)
    return _record(D.INDEX_SCATTER, out, grad._backend, (grad,), (key,))


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0):
    axis = _dims(tensor._data.ndim, dim)[0]
    length = tensor._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
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
    return _record(D.CAT, backend.cat(arrays, axis), backend, tuple(tensors), (axis, bounds))


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
    return _record(
        D.STACK, backend.stack(arrays, axis), backend, tuple(tensors), (axis, len(arrays))
    )


def size_of(input: Tensor) -> Size:
    return Size(input._data.shape)


def new_tensor_like(input: Tensor, data: Any) -> Tensor:
    return _wrap(input._backend.asarray(data, dtype=input._data.dtype), input._backend)
