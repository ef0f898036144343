"""PyTorch's strided views, ``*_scatter`` ops, ``*_copy`` variants and index writers that
gpugrad composes from its own ops (so gradients, higher order and CUDA come with them):
``as_strided``, ``slice_scatter``/``select_scatter``/``diagonal_scatter``/
``as_strided_scatter``, ``index_copy``, ``index_reduce``, ``put``, ``masked_scatter``,
``rsub``, ``adjoint``, ``renorm``, ``split_with_sizes``, the ``unsafe_*`` splits and the
copies of the view ops (``view_copy``, ``t_copy`` …). Each is declared in the op registry,
so its Tensor method and in-place form (``index_copy_``) come from the declaration
(``gpugrad._tensor_methods`` imports this family, and ``shifts``, before it attaches the
methods)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .._graph import Op, named_node
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from . import index as _index
from .dispatch import record
from .registry import OpDef, declare, register

_NAMES = _dtypes.SCALAR_TYPE_NAMES


def _dim(function: str, dim: int, ndim: int) -> int:
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not low <= dim <= high:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return dim % ndim if ndim else 0


def _check_slice_shape(src: Tensor, target: tuple) -> None:
    if tuple(src.shape) != tuple(target):
        raise RuntimeError(
            "expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = {list(target)}"
        )


def _written_row(name: str, node_name: str) -> Op:
    """The row of an op that writes ``src`` at ``input[key]``: ``input``'s gradient
    outside ``key``, ``src``'s the gradient at ``key`` (index_put's formulas)."""
    return Op(name, node_name, None, _index.INDEX_PUT.grads, attrs=("key", "kept"))


SLICE_SCATTER = _written_row("slice_scatter", "SliceScatterBackward0")
SELECT_SCATTER = _written_row("select_scatter", "SelectScatterBackward0")
DIAGONAL_SCATTER = _written_row("diagonal_scatter", "DiagonalScatterBackward0")
AS_STRIDED_SCATTER = _written_row("as_strided_scatter", "AsStridedScatterBackward0")
INDEX_COPY = _written_row("index_copy", "IndexCopyBackward0")
MASKED_SCATTER = _written_row("masked_scatter", "MaskedScatterBackward0")


def _setitem(input: Tensor, key: Any, src: Tensor, row: Op) -> Tensor:
    """``input`` with ``input[key] = src`` (``src`` of ``input[key]``'s shape and dtype),
    differentiable for both."""
    if src._backend is not input._backend:
        from .dispatch import device_error

        raise device_error(input, src)
    backend = input._backend
    kept = backend.ones(input._data.shape, _dtypes.bool_.numpy)
    kept[key] = False
    out = backend.copy(input._data)
    out[key] = src._data
    return record(row, out, backend, (input, src), (key, kept))


def _scatter_into(input: Tensor, key: Any, src: Tensor, row: Op) -> Tensor:
    """``input`` with ``input[key] = src`` (``src`` cast to ``input``'s dtype; both
    differentiable)."""
    if src.dtype != input.dtype:
        src = src.to(input.dtype)
    return _setitem(input, key, src, row)


# --- strided views ------------------------------------------------------------------------
def _strided_args(size: Sequence[int], stride: Sequence[int]) -> tuple[tuple, tuple]:
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(
            "as_strided: Negative strides are not supported at the moment, got strides: "
            f"{list(stride)}"
        )
    return size, stride


def _check_storage(size: tuple, stride: tuple, offset: int, item: int, storage: int) -> None:
    needed = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > storage:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {item} requiring a storage size of {needed * item} are out of "
            f"bounds for storage of size {storage * item}"
        )


@declare()
def as_strided(
    input: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """The view of ``input``'s memory with shape ``size`` whose elements lie ``stride``
    elements apart from element ``storage_offset`` of the memory (default: ``input``'s
    own offset). Differentiable where the view stays within ``input``'s elements."""
    size, stride = _strided_args(size, stride)
    backend = input._backend
    data = input._data
    storage = backend.flat_storage(data) if backend.is_array(data) else None
    if storage is None:  # a scalar or a memory gpugrad cannot address: view a copy
        storage = backend.copy(data).reshape(-1) if data.ndim else backend.copy(data).reshape(1)
        base_offset = 0
    else:
        base_offset = backend.storage_offset(data)
    offset = base_offset if storage_offset is None else storage_offset
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    _check_storage(size, stride, offset, data.dtype.itemsize, storage.size)
    view = backend.strided_view(storage, size, stride, offset)
    key = backend.strided_key(data, size, stride, offset) if data.ndim else None
    if key is None:
        if input.requires_grad:
            raise RuntimeError(
                "as_strided: the view reaches memory outside the input's elements, whose "
                "gradient gpugrad cannot route; call it on the tensor's base"
            )
        return _wrap(view, backend)
    return _index._index_view(_index.AS_STRIDED, input, view, key)


@declare(rows=(AS_STRIDED_SCATTER,))
def as_strided_scatter(
    input: Tensor,
    src: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    storage_offset: int | None = None,
) -> Tensor:
    """A copy of ``input`` (laid out contiguously) with ``src`` written where
    ``as_strided(size, stride, storage_offset)`` of it lies."""
    size, stride = _strided_args(size, stride)
    offset = 0 if storage_offset is None else storage_offset
    _check_storage(size, stride, offset, input._data.dtype.itemsize, input.numel())
    if tuple(src.shape) != size:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = {list(size)}"
        )
    key = input._backend.contiguous_strided_key(tuple(input.shape), size, stride, offset)
    return _scatter_into(input, key, src, AS_STRIDED_SCATTER)


# --- *_scatter ----------------------------------------------------------------------------
@declare(rows=(SLICE_SCATTER,))
def slice_scatter(
    input: Tensor,
    src: Tensor,
    dim: int = 0,
    start: int | None = None,
    end: int | None = None,
    step: int = 1,
) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``input[..., start:end:step, ...]``
    (the slice along ``dim``)."""
    dim = _dim("slice_scatter", dim, input.dim())
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * dim + (slice(start, end, step),)
    _check_slice_shape(src, input._data[key].shape)
    return _scatter_into(input, key, src, SLICE_SCATTER)


@declare(rows=(SELECT_SCATTER,))
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``input.select(dim, index)``."""
    dim = _dim("select_scatter", dim, input.dim())
    size = input.shape[dim]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {dim}"
        )
    key = (slice(None),) * dim + (index % size,)
    _check_slice_shape(src, input._data[key].shape)
    return _scatter_into(input, key, src, SELECT_SCATTER)


@declare(rows=(DIAGONAL_SCATTER,))
def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    """A copy of ``input`` with ``src`` written on ``input.diagonal(offset, dim1, dim2)``."""
    target = input.diagonal(offset, dim1, dim2)
    _check_slice_shape(src, tuple(target.shape))
    ndim = input.dim()
    d1, d2 = dim1 % ndim, dim2 % ndim
    key = input._backend.diagonal_key(tuple(input.shape), offset, d1, d2)
    return _scatter_into(input, key, src, DIAGONAL_SCATTER)


# --- index writers ------------------------------------------------------------------------
def _long_index(function: str, index: Any) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(
            f"{function}(): argument 'index' (position 3) must be Tensor, not "
            f"{type(index).__name__}"
        )
    if index.dtype is not _dtypes.int64:
        raise RuntimeError(
            f"{function}(): Expected a long tensor for index, but got "
            f"{_NAMES[index._data.dtype.name]}"
        )


@declare(inplace=("index_copy_",), rows=(INDEX_COPY,))
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with ``source``'s slices along ``dim`` written at the positions
    ``index`` (1-D)."""
    _long_index("index_copy_", index)
    ndim = input.dim()
    dim = _dim("index_copy_", dim, ndim)
    if index.dim() > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.dim()})")
    if source.dtype != input.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{_NAMES[input._data.dtype.name]} and (source) {_NAMES[source._data.dtype.name]}"
        )
    positions = index.reshape(-1)
    source_size = source.shape[dim] if source.dim() else 1
    if positions.numel() != source_size:
        raise IndexError(
            f"index_copy_(): Number of indices ({positions.numel()}) should be equal to "
            f"source.size(dim) ({source_size})"
        )
    size = input.shape[dim] if ndim else 1
    if positions.numel():
        low, high = int(positions.min()), int(positions.max())
        bad = high if high >= size else (low if low < 0 else None)
        if bad is not None:
            raise IndexError(
                f"index_copy_(): index {bad} is out of bounds for dimension {dim} with size {size}"
            )
    if not ndim:
        return _scatter_into(input, (), source.reshape(()), INDEX_COPY)
    for d in range(ndim):
        if d != dim and source.dim() == ndim and source.shape[d] != input.shape[d]:
            at = d if d < dim else d - 1  # numbered in the slice, ``dim`` left out
            raise RuntimeError(
                "index_copy_(): Source/destination tensor must have same slice shapes. "
                f"Destination slice shape: {input.shape[d]} at dimension {at} and source slice "
                f"shape: {source.shape[d]} at dimension {at}."
            )
    key = (slice(None),) * dim + (positions._data,)
    return _setitem(input, key, source, INDEX_COPY)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


@declare(inplace=("index_reduce_",))
def index_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    source: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
) -> Tensor:
    """``input`` with ``source``'s slices along ``dim`` combined by ``reduce``
    (``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``) into the slices at ``index``."""
    warnings.warn(
        "index_reduce() is in beta and the API may change at any time.", UserWarning, stacklevel=2
    )
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    _long_index("index_reduce_", index)
    ndim = input.dim()
    dim = _dim("index_reduce_", dim, ndim)
    if source.dtype != input.dtype:
        raise RuntimeError(
            "index_reduce_(): self and source expected to have the same dtype, but got (self) "
            f"{_NAMES[input._data.dtype.name]} and (source) {_NAMES[source._data.dtype.name]}"
        )
    positions = index.reshape(-1)
    if source.dim() and positions.numel() != source.shape[dim]:
        raise IndexError(
            f"index_reduce_(): Number of indices ({positions.numel()}) should be equal to "
            f"source.size(dim) ({source.shape[dim]})"
        )
    shape = [1] * source.dim()
    if shape:
        shape[dim] = positions.numel()
    spread = positions.reshape(shape).expand(source.shape) if shape else positions.reshape(())
    out = input.scatter_reduce(dim, spread, source, reduce, include_self=include_self)
    return named_node(out, "IndexReduceBackward0")


@declare(inplace=("put_",))
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source``'s values written (added when ``accumulate``) at
    the flat positions ``index`` (negative ones count from the end)."""
    _long_index("put_", index)
    if source.numel() != index.numel():
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {index.numel()}"
        )
    if source.dtype != input.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{_NAMES[input._data.dtype.name]} and source.dtype = "
            f"{_NAMES[source._data.dtype.name]}"
        )
    count = input.numel()
    flat_index = index.reshape(-1)
    if flat_index.numel():
        low, high = int(flat_index.min()), int(flat_index.max())
        bad = high if high >= count else (low if low < -count else None)
        if bad is not None:
            raise IndexError(
                f"out of range: tried to access index {bad} on a tensor of {count} elements."
            )
    flat_index = flat_index.remainder(count) if count else flat_index
    flat = input.reshape(-1)
    out = flat.index_put((flat_index,), source.reshape(-1), accumulate)
    return named_node(out.reshape(input.shape), "PutBackward0")


@declare(inplace=("masked_scatter_",), rows=(MASKED_SCATTER,))
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with ``source``'s first values written, in row-major order,
    where ``mask`` (broadcast to ``input``'s shape) is True."""
    if mask.dtype is not _dtypes.bool_:
        raise RuntimeError(
            "masked_scatter_ only supports boolean masks, but got mask with dtype "
            f"{_NAMES[mask._data.dtype.name]}"
        )
    if source.dtype != input.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got"
            f"{_NAMES[input._data.dtype.name]} and {_NAMES[source._data.dtype.name]}"
        )
    mask = mask.expand(input.shape)
    count = int(mask.sum())
    if count > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    values = source.reshape(-1)[:count]
    return _setitem(input, (mask._data,), values, MASKED_SCATTER)


# --- arithmetic and shape names -----------------------------------------------------------
@declare(methods=())
def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    if isinstance(other, Tensor):
        return named_node(other.sub(input, alpha=alpha), "RsubBackward0")
    out = input.mul(-alpha).add(other) if alpha != 1 else input.neg().add(other)
    return named_node(out, "RsubBackward1")


@declare()
def adjoint(input: Tensor) -> Tensor:
    """The view of ``input`` with its last two dims swapped (the conjugate transpose; real
    tensors only here)."""
    if input.dim() < 2:
        raise RuntimeError(
            "tensor.adjoint() is only supported on matrices or batches of matrices. Got "
            f"{input.dim()}-D tensor."
        )
    return input.transpose(-2, -1)


@declare(inplace=("renorm_",))
def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """``input`` with each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled
    down to norm ``maxnorm``."""
    if p <= 0:  # PyTorch's order of checks
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    ndim = input.dim()
    if ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {ndim} dimensions")
    dim = _dim("renorm", dim, ndim)
    others = tuple(d for d in range(ndim) if d != dim)
    norms = input.norm(p, dim=others, keepdim=True)
    factor = (maxnorm / (norms + 1e-7)).where(norms > maxnorm, norms.new_ones(()))
    return named_node(input * factor, "RenormBackward0")


@declare()
def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim`` of the lengths ``split_sizes`` (which must add up
    to the dim's size)."""
    dim = _dim("split_with_sizes", dim, input.dim())
    sizes = list(split_sizes)
    if sum(sizes) != input.shape[dim]:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {input.shape[dim]} (input "
            f"tensor's size at dimension {dim}), but got split_sizes={sizes}"
        )
    return _index.split(input, sizes, dim)


def _sliced_like(input: Tensor, pieces: tuple, dim: int) -> tuple:
    """Views of ``input`` along ``dim`` of the pieces' lengths, made by slicing (so, as
    PyTorch's ``unsafe_*`` outputs, each may be written in place while recording)."""
    dim = _dim("split", dim, input.dim())
    views, start = [], 0
    for piece in pieces:
        length = piece.shape[dim]
        views.append(input[(slice(None),) * dim + (slice(start, start + length),)])
        start += length
    return tuple(views)


@declare()
def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple:
    """``split``, whose pieces may be written in place while recording."""
    return _sliced_like(tensor, _index.split(tensor.detach(), split_size, dim), dim)


@declare()
def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """``split_with_sizes``, whose pieces may be written in place while recording."""
    return _sliced_like(input, split_with_sizes(input.detach(), split_sizes, dim), dim)


@declare()
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk``, whose pieces may be written in place while recording."""
    return _sliced_like(input, _index.chunk(input.detach(), chunks, dim), dim)


# --- the *_copy variants: the view op's result in memory of its own ------------------------
def _copied(result: Any) -> Any:
    if isinstance(result, tuple):
        return tuple(r.clone() for r in result)
    return result.clone()


def _declare_copy(name: str, view: str) -> None:
    """Declare ``<name>`` (a function only): the Tensor view method ``view``'s result,
    copied."""

    def copy(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}(): argument 'input' (position 1) must be Tensor, not "
                f"{type(input).__name__}"
            )
        return _copied(getattr(input, view)(*args, **kwargs))

    copy.__name__ = copy.__qualname__ = name
    copy.__doc__ = f"``input.{view}(...)``, copied into memory of its own."
    globals()[name] = copy
    register(OpDef(name, copy, methods=(), family="scatter_copy"))


COPIES = {
    "view_copy": "view",
    "permute_copy": "permute",
    "transpose_copy": "transpose",
    "t_copy": "t",
    "unsqueeze_copy": "unsqueeze",
    "squeeze_copy": "squeeze",
    "expand_copy": "expand",
    "select_copy": "select",
    "diagonal_copy": "diagonal",
    "split_copy": "split",
    "split_with_sizes_copy": "split_with_sizes",
    "unbind_copy": "unbind",
    "detach_copy": "detach",
    "as_strided_copy": "as_strided",
    "unfold_copy": "unfold",
}
"""Each ``*_copy`` op and the view method whose result it copies."""

for _name, _view in COPIES.items():
    _declare_copy(_name, _view)


@declare(methods=())
def slice_copy(
    input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
) -> Tensor:
    """``input[..., start:end:step, ...]`` (along ``dim``), copied."""
    dim = _dim("slice_copy", dim, input.dim())
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return input[(slice(None),) * dim + (slice(start, end, step),)].clone()


@declare()
def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``input.narrow(dim, start, length)``, copied."""
    return input.narrow(dim, start, length).clone()


@declare(methods=())
def alias_copy(input: Tensor) -> Tensor:
    """A copy of ``input`` (``alias``'s result in memory of its own)."""
    return input.clone()
