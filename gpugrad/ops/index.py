"""Indexing: ``x[key]`` (basic keys are views, advanced keys copies), its adjoint
``index_scatter``, and ``split``/``chunk``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._graph import Op
from .._tensor import Tensor
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .reduce import _dims
from .registry import declare
from .shape import UNSQUEEZE, _view


def _scattered(ns, g, shape, key):
    return ns.index_scatter(g, shape, key)


SELECT = Op("select", "SelectBackward0", None, (_scattered,), attrs=("shape", "key"))
SLICE = Op("slice", "SliceBackward0", None, (_scattered,), attrs=("shape", "key"))
INDEX = Op("index", "IndexBackward0", None, (_scattered,), attrs=("shape", "key"))
INDEX_SCATTER = Op(
    "index_scatter",
    "IndexPutBackward0",
    None,
    (lambda ns, g, key: ns.getitem(g, key),),
    attrs=("key",),
)


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
            op, reshaping, ends_with_none = SELECT, False, False
        elif isinstance(k, slice):
            op, ends_with_none = SLICE, False
            reshaping = reshaping and k == slice(None)
        elif k is not Ellipsis:
            return INDEX
    return UNSQUEEZE if op is None or (reshaping and ends_with_none) else op


@declare("__getitem__", methods=("__getitem__",), export=False, rows=(SELECT, SLICE, INDEX))
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
    if op is UNSQUEEZE:
        return _view(UNSQUEEZE, out, input._backend, (input,), (data.shape,))
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


@declare(export=False, methods=(), rows=(INDEX_SCATTER,))
def index_scatter(grad: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
    """Zeros of ``shape`` with ``grad`` added at ``[key]`` (the adjoint of indexing)."""
    out = grad._backend.index_scatter(grad._data, shape, key)
    return _record(INDEX_SCATTER, out, grad._backend, (grad,), (key,))


@declare()
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


@declare()
def chunk(input: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    length = input._data.shape[_dims(input._data.ndim, dim)[0]]
    return split(input, -(-length // chunks) if length else 1, dim)
