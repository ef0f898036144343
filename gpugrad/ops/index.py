"""Indexing: ``x[key]`` (basic keys are views, advanced keys copies), its adjoint
``index_scatter``, and ``split``/``chunk``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .._graph import Op, named_node
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from ..backends import python_data as _python_data
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .reduce import _dims
from .registry import declare
from .shape import _reshaped, _view, broadcast_shapes, expand, movedim, reshape


def _scattered(ns, g, shape, key):
    return ns.index_scatter(g, shape, key)


SELECT = Op("select", "SelectBackward0", None, (_scattered,), attrs=("shape", "key"))
SLICE = Op("slice", "SliceBackward0", None, (_scattered,), attrs=("shape", "key"))
INDEX = Op("index", "IndexBackward0", None, (_scattered,), attrs=("shape", "key"))


def _unsqueezed(ns, g, shape, key):
    """The gradient of ``x[key]`` for a key whose last step adds a dim or changes nothing:
    a reshape when the key only adds dims (``None``, ``...``, ``:``), else scattered."""
    if all(k is None or k is Ellipsis or k == slice(None) for k in key):
        return ns.reshape(g, shape)
    return ns.index_scatter(g, shape, key)


INDEX_UNSQUEEZE = Op("index", "UnsqueezeBackward0", None, (_unsqueezed,), attrs=("shape", "key"))
INDEX_ALIAS = Op("index", "AliasBackward0", None, (_unsqueezed,), attrs=("shape", "key"))
SPLIT = Op("split", "SplitBackward0", None, (_scattered,), attrs=("shape", "key"))
SPLIT_WITH_SIZES = Op(
    "split_with_sizes", "SplitWithSizesBackward0", None, (_scattered,), attrs=("shape", "key")
)
MASKED_SELECT = Op(
    "masked_select", "MaskedSelectBackward0", None, (_scattered,), attrs=("shape", "key")
)
AS_STRIDED = Op("as_strided", "AsStridedBackward0", None, (_scattered,), attrs=("shape", "key"))
UNBIND = Op("unbind", "UnbindBackward0", None, (_scattered,), attrs=("shape", "key"))
EMBEDDING = Op("embedding", "EmbeddingBackward0", None, (_scattered,), attrs=("shape", "key"))
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
        elif isinstance(k, range):  # an index list, as in PyTorch (x[range(n), target])
            k = backend.asarray(list(k), dtype=_dtypes.int64.numpy)
        elif getattr(k, "ndim", 0) and hasattr(k, "dtype"):  # NumPy (or CuPy) arrays
            if k.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            k = backend.asarray(k)
        elif not (k is None or k is Ellipsis or isinstance(k, (int, slice))):
            if hasattr(k, "__index__"):
                k = k.__index__()
            elif not hasattr(k, "dtype"):
                raise IndexError(f"unsupported index type {type(k).__name__}")
        converted.append(k)
    return tuple(converted)


def _index_op(key: Any, shape: tuple[int, ...]) -> Any:
    """PyTorch's node for ``x[key]`` (``x`` of ``shape``; a lone slice aside, which always
    slices): ``IndexBackward0`` for advanced keys (bools included); for basic ones, the
    node of the last step that changes anything (an int selects, a slice that is not full
    slices, ``None`` unsqueezes), or ``AliasBackward0`` when no step does."""
    if type(key) is not tuple:
        key = (key,)
    op = INDEX_ALIAS
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    dim = 0
    for k in key:
        if k is None:
            op = INDEX_UNSQUEEZE
        elif k is Ellipsis:
            dim += len(shape) - consumed
        elif type(k) is int:
            op = SELECT
            dim += 1
        elif type(k) is slice:
            full = (
                k.start in (None, 0)
                and k.step in (None, 1)
                and (k.stop is None or dim >= len(shape) or k.stop >= shape[dim])
            )
            if not full:
                op = SLICE
            dim += 1
        else:
            return INDEX
    return op


@declare(methods=(), export=False, rows=(EMBEDDING,))
def embedding(weight: Tensor, indices: Tensor) -> Tensor:
    """The rows of ``weight`` that the integer tensor ``indices`` (at least 1-D, in bounds)
    picks, one ``EmbeddingBackward0`` node as PyTorch's: ``nn.functional.embedding`` checks
    its arguments and calls this for its plain case."""
    if indices._backend is not weight._backend:
        raise _device_error(weight, indices)
    key = (indices._data,)
    out = weight._backend.ascontiguousarray(weight._data[key])
    return _record(EMBEDDING, out, weight._backend, (weight,), (weight._data.shape, key))


@declare(
    "__getitem__",
    methods=("__getitem__",),
    export=False,
    rows=(SELECT, SLICE, INDEX, INDEX_UNSQUEEZE, INDEX_ALIAS, AS_STRIDED),
)
def getitem(input: Tensor, key: Any) -> Tensor:
    data = input._data
    lone_slice = type(key) is slice
    if not isinstance(key, tuple) or any(type(k) is not int and type(k) is not slice for k in key):
        key = _index_key(key, input)
    if type(key) is tuple and len(key) == data.ndim and all(type(k) is int for k in key):
        key += (Ellipsis,)  # a 0-d view, as x[0] is in PyTorch (NumPy would copy a scalar)
    elif type(key) is int and data.ndim == 1:
        key = (key, Ellipsis)
    check_steps(key)
    split = split_ints(key)
    if split is not None:
        return getitem(getitem(input, split[0]), split[1])
    try:
        out = data[key]
    except IndexError as error:
        safe = _empty_result_key(data, key)
        if safe is None:
            raise IndexError(_index_message(str(error), data.ndim, key)) from None
        key = safe
        out = data[key]
    op = SLICE if lone_slice else _index_op(key, data.shape)
    if op is INDEX:  # a new tensor, laid out in order as PyTorch's (NumPy may permute it)
        out = input._backend.ascontiguousarray(out)
    return _index_view(op, input, out, key)


def _empty_result_key(data: Any, key: Any) -> Any:
    """For a key whose index arrays hold out-of-range values but whose result has no
    elements (PyTorch checks each index as it reads, so reads none): the key with those
    arrays zeroed, which gives the same empty result. Else None."""
    items = key if type(key) is tuple else (key,)
    if not any(hasattr(k, "ndim") and k.dtype.kind in "iu" for k in items):
        return None
    safe = tuple(k * 0 if hasattr(k, "ndim") and k.dtype.kind in "iu" else k for k in items)
    try:
        out = data[safe]
    except IndexError:  # an indexed dim of size 0: no index is in range
        return None
    return safe if not out.size else None


def split_ints(key: Any) -> tuple[tuple, tuple] | None:
    """For a key mixing ints with index arrays, ``(ints, rest)``: PyTorch selects at the
    ints first, then indexes the view with the rest (NumPy counts an int as one more index
    array, which moves the result's dims). None for any other key."""
    if type(key) is not tuple:
        return None
    ints = arrays = False
    for k in key:
        if type(k) is int:
            ints = True
        elif type(k) is bool:
            return None
        elif hasattr(k, "ndim"):
            arrays = True
    if not (ints and arrays):
        return None
    first, rest = [], []
    for k in key:
        if type(k) is int:
            first.append(k)
        elif k is None:
            first.append(None)
            rest.append(slice(None))
        elif k is Ellipsis or type(k) is slice:
            first.append(k)
            rest.append(slice(None) if type(k) is slice else k)
        else:  # an index array: a bool mask spans its dims
            first.extend([slice(None)] * (k.ndim if k.dtype.kind == "b" else 1))
            rest.append(k)
    return tuple(first), tuple(rest)


def check_steps(key: Any) -> None:
    """Refuse a slice with a step below one, as PyTorch does (NumPy would reverse)."""
    for k in key if type(key) is tuple else (key,):
        if type(k) is slice and k.step is not None and k.step <= 0:
            raise ValueError(
                "slice step cannot be zero" if k.step == 0 else "step must be greater than zero"
            )


def _index_view(op: Op, input: Tensor, out: Any, key: Any) -> Tensor:
    """``out = input._data[key]`` recorded as ``op``, a view of ``input`` where it shares
    its memory."""
    result = _view(op, out, input._backend, (input,), (input._data.shape, key))
    if result._extra is not None and result._extra.base is input:
        result._extra.view_key = key  # in-place ops on it write back through base[key]
    return result


def restrided(base: Tensor, key: Any, data: Any) -> Tensor:
    """The view ``data`` of ``base`` (its elements ``base[key]``) made again after an
    in-place op through it wrote into ``base``: PyTorch's ``AsStridedBackward0`` node."""
    if type(key) is tuple and not any(hasattr(k, "dtype") for k in key):
        data = base._data[key]  # a basic key: a fresh view, should ``base`` hold a new array
    return _index_view(AS_STRIDED, base, data, key)


def _pieces(op: Op, input: Tensor, keys: Sequence[tuple]) -> tuple[Tensor, ...]:
    """The views ``input[key]`` for basic ``keys``, each recorded as ``op`` (the node of
    ``split``, ``unbind``: one name for all the pieces, as PyTorch's one node)."""
    return tuple(
        _index_view(op, input, input._data[key], PieceKey(key, i)) for i, key in enumerate(keys)
    )


class PieceKey(tuple):
    """The basic key of piece number ``piece`` of ``split``/``unbind``: PyTorch refuses an
    in-place op on such a view while recording (``_inplace._inplace_through_base``)."""

    def __new__(cls, key: tuple, piece: int) -> PieceKey:
        self = super().__new__(cls, key)
        self.piece = piece
        return self


def _index_message(message: str, ndim: int, key: Any = ()) -> str:
    """The array module's indexing error, worded as PyTorch words it."""
    if message.startswith("too many indices"):
        if ndim == 0:
            return (
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        return f"too many indices for tensor of dimension {ndim}"
    found = re.fullmatch(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", message)
    if found:
        index, axis, size = (int(g) for g in found.groups())
        dim, advanced = _reported_dim(key, ndim, axis)
        if advanced and not size:
            return "index is out of bounds for dimension with size 0"
        return f"index {index} is out of bounds for dimension {dim} with size {size}"
    return message.replace("axis", "dimension")


def _reported_dim(key: Any, ndim: int, axis: int) -> tuple[int, bool]:
    """The dim PyTorch names for an index out of range at tensor dim ``axis``, and whether
    it is an index array's: for an int, that dim counted with the ``None`` entries of the
    key before it; for an index array, its place among the key's index arrays."""
    items = key if isinstance(key, tuple) else (key,)
    consuming = sum(1 for k in items if k is not None and k is not Ellipsis)
    dim = nones = arrays = 0
    for k in items:
        if k is None:
            nones += 1
        elif k is Ellipsis:
            dim += ndim - consuming
        else:
            advanced = hasattr(k, "ndim")
            if dim == axis:
                if advanced:
                    return arrays, True
                return (axis + nones if isinstance(k, int) else axis), False
            dim += 1
            arrays += advanced
    return axis, False


@declare(export=False, methods=(), rows=(INDEX_SCATTER,))
def index_scatter(grad: Tensor, shape: tuple[int, ...], key: Any) -> Tensor:
    """Zeros of ``shape`` with ``grad`` added at ``[key]`` (the adjoint of indexing)."""
    out = grad._backend.index_scatter(grad._data, shape, key)
    return _record(INDEX_SCATTER, out, grad._backend, (grad,), (key,))


@declare(rows=(SPLIT, SPLIT_WITH_SIZES))
def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0):
    """Splits ``tensor`` into views along ``dim``: pieces of ``split_size_or_sections``
    each, or of the listed sizes."""
    if tensor._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
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
    keys, start = [], 0
    for size in sizes:
        keys.append((slice(None),) * axis + (slice(start, start + size),))
        start += size
    return _pieces(
        SPLIT if isinstance(split_size_or_sections, int) else SPLIT_WITH_SIZES, tensor, keys
    )


@declare()
def chunk(input: Tensor, chunks: int, dim: int = 0):
    """Splits ``input`` into ``chunks`` views along ``dim`` (the last one smaller when the
    size does not divide)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    length = input._data.shape[_dims(input._data.ndim, dim)[0]]
    if not length:  # an empty dim: ``chunks`` empty pieces, as PyTorch
        return split(input, [0] * chunks, dim)
    return split(input, -(-length // chunks), dim)


# --- gather, scatter, index_select, index_add, index_fill, masked ops --------------------
def _picking_rows(name: str, node: str) -> tuple[Op, Op]:
    """The rows of ``gather``/``index_select`` (``name``) and of its adjoint
    ``<name>_backward``: each one's gradient is the other."""
    adjoint = f"{name}_backward"
    forward = Op(
        name,
        node,
        None,
        (lambda ns, g, shape, dim, index: getattr(ns, adjoint)(g, shape, dim, index),),
        attrs=("shape", "dim", "index"),
    )
    backward = Op(
        adjoint,
        node.replace("Backward0", "BackwardBackward0"),
        None,
        (lambda ns, g, dim, index: getattr(ns, name)(g, dim, index),),
        attrs=("dim", "index"),
    )
    return forward, backward


def _zeroed_where_written(ns, g, dim, index):
    """The gradient of values overwritten at ``index`` along ``dim``: none there."""
    return ns.scatter(g, dim, index, 0)


GATHER, GATHER_BACKWARD = _picking_rows("gather", "GatherBackward0")
SCATTER = Op(
    "scatter",
    "ScatterBackward0",
    None,
    (_zeroed_where_written, lambda ns, g, dim, index: ns.gather(g, dim, index)),
    attrs=("dim", "index"),
)
SCATTER_VALUE = Op(
    "scatter", "ScatterBackward1", None, (_zeroed_where_written,), attrs=("dim", "index")
)
SCATTER_ADD = Op(
    "scatter_add",
    "ScatterAddBackward0",
    None,
    (lambda ns, g, dim, index: g, lambda ns, g, dim, index: ns.gather(g, dim, index)),
    attrs=("dim", "index"),
)
INDEX_SELECT, INDEX_SELECT_BACKWARD = _picking_rows("index_select", "IndexSelectBackward0")
INDEX_ADD = Op(
    "index_add",
    "IndexAddBackward0",
    None,
    (
        lambda ns, g, dim, index, alpha: g,
        lambda ns, g, dim, index, alpha: ns.index_select(g, dim, index) * alpha,
    ),
    attrs=("dim", "index", "alpha"),
)
INDEX_FILL = Op(
    "index_fill",
    "IndexFillBackward0",
    None,
    (lambda ns, g, dim, index: ns.index_fill(g, dim, index, 0),),
    attrs=("dim", "index"),
)
INDEX_PUT = Op(
    "index_put",
    "IndexPutBackward0",
    None,
    (lambda ns, g, key, kept: ns.where(kept, g, 0), lambda ns, g, key, kept: ns.getitem(g, key)),
    attrs=("key", "kept"),
)
MASKED_FILL = Op(
    "masked_fill",
    "MaskedFillBackward0",
    None,
    (lambda ns, g, mask: ns.masked_fill(g, mask, 0),),
    attrs=("mask",),
)
MASKED_FILL_TENSOR = Op(
    "masked_fill",
    "MaskedFillBackward1",
    None,
    (
        lambda ns, g, mask: ns.masked_fill(g, mask, 0),
        lambda ns, g, mask: ns.sum(ns.where(mask, g, 0)),
    ),
    attrs=("mask",),
)


def _dim(ndim: int, dim: int) -> int:
    return _dims(ndim, dim)[0]


def _operand_array(value: Any, input: Tensor, what: str, argument: str) -> Any:
    """The array of ``value`` (a tensor on ``input``'s device, or already an array of its
    backend inside a backward formula), refused with PyTorch's error otherwise."""
    if isinstance(value, Tensor):
        if value._backend is not input._backend:
            raise _device_error(input, value)
        return value._data
    if not input._backend.is_array(value):
        raise TypeError(
            f"{what}(): argument '{argument}' must be Tensor, not {type(value).__name__}"
        )
    return value


def _index_array(index: Any, input: Tensor, what: str, allowed: str = "int64") -> Any:
    """``index`` (a tensor, or an array of ``input``'s backend inside a backward formula)
    as an integer array, refused as PyTorch refuses it."""
    backend = input._backend
    index = _operand_array(index, input, what, "index")
    kinds = {"int64": ("int64",), "int32/int64": ("int32", "int64")}[allowed]
    if index.dtype.name not in kinds:
        message = {
            "gather": "gather(): Expected dtype int32/int64 for index",
            "index_select": "index_select(): Expected dtype int32 or int64 for index",
        }.get(what, f"{what}(): Expected dtype int64 for index")
        raise RuntimeError(message)
    return backend.asarray(index)


def _check_bounds(backend: Any, index: Any, size: int, dim: int, error: type = RuntimeError):
    if index.size:
        bad = backend.first_out_of_range(index, size)
        if bad is not None:
            raise error(f"index {bad} is out of bounds for dimension {dim} with size {size}")


_RENAMED_RESHAPES: dict[str, Op] = {}


def _reshaped_as_its_node(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``reshape(t, shape)`` recorded under the name of ``t``'s own node: a gather or
    scatter at a 0-d index, computed here on flat views, is one node in PyTorch."""
    node = t.grad_fn
    if node is None:
        return reshape(t, shape)
    name = node.name()
    row = _RENAMED_RESHAPES.get(name)
    if row is None:
        row = _RENAMED_RESHAPES[name] = Op("reshape", name, None, (_reshaped,), attrs=("shape",))
    return _view(row, t._data.reshape(shape), t._backend, (t,), (t._data.shape,))


def _scalar_index(input: Tensor, dim: int, index: Any) -> bool:
    """A 0-d index into a tensor of at most one dim: PyTorch picks (or writes) the one
    element, as with a one-element index."""
    if not (isinstance(index, Tensor) and index._data.ndim == 0 and input._data.ndim <= 1):
        return False
    _dims(input._data.ndim, dim)  # dim 0 or -1 only
    return True


def _scatter_checks(what: str, input: Tensor, dim: int, index: Any, src: Any) -> int:
    """``dim`` normalized, after PyTorch's checks of a gather/scatter index."""
    data = input._data
    axis = _dim(data.ndim, dim)
    if index.ndim != max(data.ndim, 1) and not (index.ndim <= 1 and data.ndim <= 1):
        tensor = "input" if what == "gather" else "self"
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as {tensor} tensor"
        )
    for d in range(index.ndim):
        too_big = src is not None and index.shape[d] > src.shape[d]
        if (d != axis and index.shape[d] > data.shape[d]) or too_big:
            if src is None:
                raise RuntimeError(
                    f"Size does not match at dimension {d} expected index {list(index.shape)} "
                    f"to be no larger than self {list(data.shape)} apart from dimension {axis}"
                )
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self "
                f"{list(data.shape)} apart from dimension {axis} and to be no larger size "
                f"than src {list(src.shape)}"
            )
    _check_bounds(input._backend, index, data.shape[axis] if data.ndim else 1, axis)
    return axis


@declare(rows=(GATHER,))
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``): values picked along ``dim``."""
    if _scalar_index(input, dim, index):
        return _reshaped_as_its_node(gather(reshape(input, (-1,)), 0, reshape(index, (1,))), ())
    idx = _index_array(index, input, "gather", "int32/int64")
    axis = _scatter_checks("gather", input, dim, idx, None)
    data = input._data
    if not idx.size:  # nothing to read (the input may have no elements either)
        out = input._backend.zeros(idx.shape, data.dtype)
    else:
        idx = input._backend.broadcast_index(idx, data.shape, axis)
        out = input._backend.gather(data, axis, idx)
    return _record(GATHER, out, input._backend, (input,), (data.shape, axis, idx))


def _declare_adjoint(row: Op, doc: str) -> Any:
    """Declare the differentiable adjoint ``row.name`` (``gather_backward``,
    ``index_select_backward``): the backend's method of that name, recorded as ``row``."""

    def function(grad: Tensor, shape: tuple[int, ...], dim: int, index: Any) -> Tensor:
        out = getattr(grad._backend, row.name)(grad._data, shape, dim, index)
        return _record(row, out, grad._backend, (grad,), (dim, index))

    function.__name__ = function.__qualname__ = row.name
    function.__doc__ = doc
    return declare(row.name, export=False, methods=(), rows=(row,))(function)


gather_backward = _declare_adjoint(
    GATHER_BACKWARD, "Zeros of ``shape`` with ``grad`` added where ``gather`` read (its adjoint)."
)


@declare()
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim`` (of the flattened input when
    ``dim`` is None), with ``input`` and ``indices`` broadcast against each other."""
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    data, idx = input._data, indices._data
    axis = _dim(data.ndim, dim)
    if idx.ndim != data.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {data.ndim} dimensions for input, and {idx.ndim} "
            "dimensions for indices"
        )
    others = [
        tuple(1 if d == axis else n for d, n in enumerate(s)) for s in (data.shape, idx.shape)
    ]
    input_shape = list(broadcast_shapes(*others))
    index_shape = list(input_shape)
    input_shape[axis], index_shape[axis] = data.shape[axis], idx.shape[axis]
    return gather(expand(input, input_shape), axis, expand(indices, index_shape))


def _source(what: str, input: Tensor, src: Any, index: Any) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"{what}(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src._backend is not input._backend:
        raise _device_error(input, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{what}(): Expected self.dtype to be equal to src.dtype")
    return src


def _index_part(src: Tensor, index: Any) -> Tensor:
    """``src`` cut to ``index``'s shape: the part scatter reads."""
    if src._data.shape == index.shape:
        return src
    return getitem(src, tuple(slice(n) for n in index.shape))


@declare(rows=(SCATTER, SCATTER_VALUE), inplace=("scatter_",))
def scatter(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or the number ``value``) written at
    ``index`` along ``dim``; ``reduce="add"``/``"multiply"`` combines instead."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if _scalar_index(input, dim, index):
        src = reshape(src, (-1,))[:1] if isinstance(src, Tensor) else src
        flat = scatter(reshape(input, (-1,)), 0, reshape(index, (1,)), src, reduce=reduce)
        return _reshaped_as_its_node(flat, input._data.shape)
    idx = _index_array(index, input, "scatter")
    is_tensor = isinstance(src, Tensor)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if is_tensor:
            return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
        backend = input._backend
        src = _python_data.checked_fill(src, input._data.dtype)
        full = backend.full(idx.shape, src, input._data.dtype)
        fill = _wrap(full, backend)
        return scatter_reduce(input, dim, index, fill, "sum" if reduce == "add" else "prod")
    axis = _scatter_checks("scatter", input, dim, idx, src._data if is_tensor else None)
    backend = input._backend
    if is_tensor:
        part = _index_part(_source("scatter", input, src, idx), idx)
        out = backend.scatter(input._data, axis, idx, part._data)
        return _record(SCATTER, out, backend, (input, part), (axis, idx))
    if hasattr(src, "dtype") and backend.is_array(src):
        src = src.item() if src.ndim == 0 else src
    src = _python_data.checked_fill(src, input._data.dtype)
    out = backend.scatter(input._data, axis, idx, src)
    return _record(SCATTER_VALUE, out, backend, (input,), (axis, idx))


@declare(rows=(SCATTER_ADD,), inplace=("scatter_add_",))
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    if _scalar_index(input, dim, index):
        src = reshape(src, (-1,))[:1]
        flat = scatter_add(reshape(input, (-1,)), 0, reshape(index, (1,)), src)
        return _reshaped_as_its_node(flat, input._data.shape)
    idx = _index_array(index, input, "scatter_add")
    axis = _scatter_checks("scatter_add", input, dim, idx, src._data)
    part = _index_part(_source("scatter", input, src, idx), idx)
    out = input._backend.scatter_add(input._data, axis, idx, part._data)
    return _record(SCATTER_ADD, out, input._backend, (input, part), (axis, idx))


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_prod_self_grad(ns, g, x, y, o, dim, index, include_self):
    """PyTorch's: ``g`` times the product the element was multiplied by (its own zero
    read as one), none where ``include_self=False`` replaced it."""
    masked_self = ns.masked_fill(x, x == 0, 1)
    others = ns.scatter_reduce(masked_self, dim, index, y, "prod", include_self=include_self)
    grad = g * others / masked_self
    return grad if include_self else ns.scatter(grad, dim, index, 0)


def _scatter_prod_src_grad(ns, g, x, y, o, dim, index, include_self):
    """PyTorch's: ``g * result / src`` gathered; a zero alone at its target gets the
    product of the others (a target with two zeros gives its zeros none). A gradient
    asked with ``create_graph`` over two zeros at one target is refused, with PyTorch's
    text (PyTorch refuses when that double backward runs; here when it is recorded)."""
    zero = y == 0
    zeros_at_target = ns.scatter_add(
        ns.zeros_like(x), dim, index, ns.masked_fill(ns.zeros_like(y), zero, 1)
    )
    at_target = ns.gather(zeros_at_target, dim, index)
    if isinstance(g, Tensor) and bool((at_target > 1).any()):  # create_graph: PyTorch's refusal
        raise RuntimeError(
            "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src are "
            "scattered to the same position in self"
        )
    lone_zero = zero & (at_target == 1)
    others = ns.scatter_reduce(
        x, dim, index, ns.masked_fill(y, lone_zero, 1), "prod", include_self=include_self
    )
    return ns.where(
        lone_zero,
        ns.gather(g * others, dim, index),
        ns.gather(g * o, dim, index) / ns.masked_fill(y, zero, 1),
    )


def _extreme_shares(ns, g, x, y, o, dim, index):
    """``g`` split evenly among the values equal to the result, ``x``'s own included even
    with ``include_self=False`` (PyTorch's count)."""
    value = ns.gather(o, dim, index)
    self_is, src_is = x == o, y == value
    count = ns.scatter_add(
        ns.masked_fill(ns.zeros_like(x), self_is, 1),
        dim,
        index,
        ns.masked_fill(ns.zeros_like(y), src_is, 1),
    )
    return g / count, self_is, src_is, value


def _scatter_extreme_self_grad(ns, g, x, y, o, dim, index, include_self):
    shared, self_is, _, _ = _extreme_shares(ns, g, x, y, o, dim, index)
    grad = ns.where(self_is, shared, 0)
    return grad if include_self else ns.scatter(grad, dim, index, 0)


def _scatter_extreme_src_grad(ns, g, x, y, o, dim, index, include_self):
    shared, _, src_is, _ = _extreme_shares(ns, g, x, y, o, dim, index)
    return ns.where(src_is, ns.gather(shared, dim, index), 0)


def _scatter_reduce_row(self_grad: Any, src_grad: Any) -> Op:
    """A ``ScatterReduceBackward0`` row: formulas of ``(input, src)`` reading both and the
    result, the dim, the index and ``include_self``."""
    return Op(
        "scatter_reduce",
        "ScatterReduceBackward0",
        None,
        (self_grad, src_grad),
        save=("x", "y", "o"),
        attrs=("dim", "index", "include_self"),
    )


SCATTER_REDUCE_PROD = _scatter_reduce_row(_scatter_prod_self_grad, _scatter_prod_src_grad)
SCATTER_REDUCE_EXTREME = _scatter_reduce_row(_scatter_extreme_self_grad, _scatter_extreme_src_grad)


@declare(inplace=("scatter_reduce_",), rows=(SCATTER_REDUCE_PROD, SCATTER_REDUCE_EXTREME))
def scatter_reduce(
    input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """``input`` with the ``src`` values at each ``index`` combined by ``reduce``
    (``"sum" "prod" "mean" "amax" "amin"``), ``input``'s own value included unless
    ``include_self=False``; differentiable as PyTorch's (``amax``/``amin`` share the
    gradient evenly among equal values; ``prod`` exact with zeros)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            "reduce argument must be either sum, prod, mean, amax or amin, got " + str(reduce)
        )
    if _scalar_index(input, dim, index):
        flat = scatter_reduce(
            reshape(input, (-1,)),
            0,
            reshape(index, (1,)),
            reshape(src, (-1,))[:1],
            reduce,
            include_self=include_self,
        )
        return _reshaped_as_its_node(flat, input._data.shape)
    idx = _index_array(index, input, "scatter_reduce")
    axis = _scatter_checks("scatter_reduce", input, dim, idx, src._data)
    part = _index_part(_source("scatter_reduce", input, src, idx), idx)
    backend = input._backend
    if reduce in ("sum", "mean"):
        base = input if include_self else scatter(input, axis, idx, 0)
        total = scatter_add(base, axis, idx, part)
        if reduce == "sum":
            return named_node(total, "ScatterReduceBackward0", input, src)
        dtype = input._data.dtype
        ones = backend.ones(idx.shape, dtype)
        start = backend.full(input._data.shape, 1 if include_self else 0, dtype)
        count = backend.scatter_add(start, axis, idx, ones)
        count = backend.where(count == 0, backend.ones((), dtype), count)
        if dtype.kind in "iu":  # integer means round down, as PyTorch's
            return _wrap(total._data // count, backend)
        mean = total / _wrap(count, backend)
        return named_node(mean, "ScatterReduceBackward0", input, src)
    out = backend.scatter_reduce(input._data, axis, idx, part._data, reduce, include_self)
    op = SCATTER_REDUCE_PROD if reduce == "prod" else SCATTER_REDUCE_EXTREME
    return _record(op, out, backend, (input, part), (axis, idx, include_self))


@declare(rows=(INDEX_SELECT,))
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions ``index`` (a 1-D tensor)."""
    idx = _index_array(index, input, "index_select", "int32/int64")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    data = input._data
    axis = _dim(data.ndim, dim)
    if not data.ndim and idx.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
        )
    if idx.size:
        size = data.shape[axis] if data.ndim else 1
        bad = input._backend.first_out_of_range(idx, size)
        if bad is not None:
            if data.ndim >= 2 and axis == 1:  # PyTorch's CPU kernel for dim 1 words it so
                if not size:
                    raise RuntimeError("index_select(): self indexing axis dim should be positive")
                raise RuntimeError(
                    f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}"
                )
            raise IndexError("index out of range in self")
    idx = idx.reshape(-1)
    out = input._backend.index_select(data, axis, idx)
    return _record(INDEX_SELECT, out, input._backend, (input,), (data.shape, axis, idx))


index_select_backward = _declare_adjoint(
    INDEX_SELECT_BACKWARD,
    "Zeros of ``shape`` with ``grad``'s slices added at ``index`` (index_select's adjoint).",
)


def _vector_index(what: str, input: Tensor, dim: int, index: Any) -> tuple[int, Any]:
    idx = _index_array(index, input, what, "int32/int64")
    if idx.ndim > 1:
        raise IndexError(f"{what}(): Index is supposed to be a vector")
    data = input._data
    axis = _dim(data.ndim, dim)
    return axis, idx.reshape(-1)


@declare(rows=(INDEX_ADD,), inplace=("index_add_",))
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source``'s slices along ``dim`` added at
    ``index`` (repeated indices add up)."""
    axis, idx = _vector_index("index_add", input, dim, index)
    data = input._data
    if source._data.dtype != data.dtype:
        names = _dtypes.SCALAR_TYPE_NAMES
        raise RuntimeError(
            f"index_add_(): self ({names[data.dtype.name]}) and source "
            f"({names[source._data.dtype.name]}) must have the same scalar type"
        )
    n = source._data.shape[axis] if source._data.ndim else 1
    if idx.size != n:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
            f"({n}), for dim: {axis}"
        )
    size = data.shape[axis] if data.ndim else 1
    if data.ndim > 1 and axis in (0, data.ndim - 1):
        if source._data.size:  # PyTorch's kernel checks each index as it adds a slice
            _check_bounds(input._backend, idx, size, axis)
        elif size:  # nothing is added: any index will do
            idx = idx * 0
    elif idx.size and input._backend.first_out_of_range(idx, size) is not None:
        raise IndexError("index out of range in self")  # PyTorch's kernel for other dims
    alpha = _python_data.checked_fill(alpha, data.dtype)
    backend = input._backend
    added = backend.index_select_backward(source._data, data.shape, axis, idx)
    out = data + (added if alpha == 1 else added * alpha)
    return _record(INDEX_ADD, out, backend, (input, source), (axis, idx, alpha))


@declare(rows=(INDEX_FILL,), inplace=("index_fill_",))
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    if isinstance(index, Tensor) and index._data.dtype.name != "int64":
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    axis, idx = _vector_index("index_fill", input, dim, index)
    data = input._data
    size = data.shape[axis] if data.ndim else 1
    if size and not data.size:  # nothing to fill: PyTorch checks no index (nor here)
        out = input._backend.copy(data)
        return _record(INDEX_FILL, out, input._backend, (input,), (axis, idx * 0))
    if idx.size:  # negative indices count from the end, as in PyTorch
        bad = input._backend.first_out_of_range(idx + size, 2 * size)
        if bad is not None:
            raise IndexError(
                f"index {bad - size} is out of bounds for dimension {axis} with size {size}"
            )
        idx = idx % size
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value.requires_grad:
            keep = index_fill(input, axis, idx, 0)
            mask = index_fill(
                _wrap(input._backend.zeros(data.shape, data.dtype), input._backend), axis, idx, 1
            )
            return keep + mask * value
        value = value.item()
    value = _python_data.checked_fill(value, data.dtype)
    out = input._backend.index_fill(data, axis, idx, value)
    return _record(INDEX_FILL, out, input._backend, (input,), (axis, idx))


_C_TYPE_NAMES = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
}
"""The C++ type names PyTorch's mask errors print."""


def _mask_array(mask: Any, input: Tensor, what: str) -> Any:
    mask = _operand_array(mask, input, what, "mask")
    if mask.dtype.kind != "b":
        name = _C_TYPE_NAMES.get(mask.dtype.name, mask.dtype.name)
        raise RuntimeError(f"{what} only supports boolean masks, but got mask with dtype {name}")
    return mask


@declare(rows=(MASKED_FILL, MASKED_FILL_TENSOR), inplace=("masked_fill_",))
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with ``value`` where ``mask`` (bool, broadcast) is True."""
    m = _mask_array(mask, input, "masked_fill_")
    backend_shape = broadcast_shapes_of(m.shape, input._data.shape)
    if backend_shape != input._data.shape:  # out of place, ``input`` broadcasts as PyTorch's
        input = expand(input, backend_shape)  # (``masked_fill_`` then refuses the shape)
    data = input._data
    backend = input._backend
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        if value._backend is not backend:
            raise _device_error(input, value)
        if value.requires_grad or input.requires_grad:
            v = value if value._data.dtype == data.dtype else value.to(input.dtype)
            out = backend.masked_fill(data, m, v._data)
            return _record(MASKED_FILL_TENSOR, out, backend, (input, v), (m,))
        value = value.item()
    value = _python_data.checked_fill(value, data.dtype)
    out = backend.masked_fill(data, m, value)
    return _record(MASKED_FILL, out, backend, (input,), (m,))


def broadcast_shapes_of(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(broadcast_shapes(*shapes))


@declare(rows=(MASKED_SELECT,))
def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast) is True, as a 1-D tensor."""
    m = _mask_array(mask, input, "masked_select:")
    shape = broadcast_shapes_of(m.shape, input._data.shape)
    full = expand(input, shape) if shape != input._data.shape else input
    key = (input._backend.expand(m, shape),)
    out = input._backend.ascontiguousarray(full._data[key])
    return _record(MASKED_SELECT, out, input._backend, (full,), (shape, key))


@declare()
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with
    ``as_tuple=True`` one 1-D tensor per dimension."""
    backend = input._backend
    rows = backend.nonzero(input._data)
    if not as_tuple:
        return _wrap(rows, backend)
    if input._data.ndim == 0:
        return (_wrap(backend.zeros((rows.shape[0],), rows.dtype), backend),)
    return tuple(
        _wrap(backend.ascontiguousarray(rows[:, d]), backend) for d in range(rows.shape[1])
    )


@declare()
def argwhere(input: Tensor) -> Tensor:
    """The indices of the non-zero elements, one row each (``nonzero(input)``)."""
    return nonzero(input)


@declare(rows=(INDEX_PUT,), inplace=("index_put_",))
def index_put(input: Tensor, indices: Sequence[Any], values: Any, accumulate: bool = False):
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``,
    where repeated indices add up)."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors")
    key = _index_key(tuple(indices), input)
    data = input._data
    if not isinstance(values, Tensor):
        values = _wrap(input._backend.asarray(values, data.dtype), input._backend)
    elif values._data.dtype != data.dtype:
        names = _dtypes.SCALAR_TYPE_NAMES
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{names[data.dtype.name]} for the destination and "
            f"{names[values._data.dtype.name]} for the source."
        )
    try:
        target = data[key].shape
    except IndexError as error:
        raise IndexError(_index_message(str(error), data.ndim, key)) from None
    values = expand(values, target)
    if accumulate:
        total = input + index_scatter(values, data.shape, key)
        return named_node(total, "IndexPutBackward0", input, values)
    backend = input._backend
    out = backend.copy(data)
    out[key] = values._data
    kept = backend.ones(data.shape, _dtypes.bool_.numpy)
    kept[key] = False
    return _record(INDEX_PUT, out, backend, (input, values), (key, kept))


# --- slicing along a dim: unbind, narrow, unfold, repeat_interleave ---------------------


@declare(rows=(UNBIND,))
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``input`` along ``dim``, that dim removed."""
    axis = _dims(input._data.ndim, dim)[0]
    keys = [(slice(None),) * axis + (i, Ellipsis) for i in range(input._data.shape[axis])]
    return _pieces(UNBIND, input, keys)


@declare()
def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The slice ``start:start + length`` of ``input`` along ``dim`` (a view)."""
    data = input._data
    if not data.ndim:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    axis = _dims(data.ndim, dim)[0]
    size = data.shape[axis]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    start %= size if start < 0 else size + 1
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * axis + (slice(start, start + length),)
    return _index_view(SLICE, input, data[key], key)


@declare()
def repeat_interleave(
    input: Any, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Each element (each slice along ``dim``) repeated ``repeats`` times in place."""
    backend = input._backend
    if repeats is None:  # repeat_interleave(repeats): indices repeated by their counts
        counts = input._data
        return _wrap(backend.repeat_indices(counts), backend)
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    axis = _dims(input._data.ndim, dim)[0]
    n = input._data.shape[axis] if input._data.ndim else 1
    counts = repeats._data if isinstance(repeats, Tensor) else backend.asarray(repeats)
    if counts.ndim == 0 or counts.size == 1:
        counts = backend.full((n,), int(counts.reshape(-1)[0]), counts.dtype)
    if counts.shape != (n,):
        raise RuntimeError("repeats must have the same size as input along dim")
    index = backend.repeat_indices(counts)
    result = index_select(input, axis, _wrap(index, backend))
    if isinstance(repeats, Tensor):
        return result
    return named_node(result, "ViewBackward0", input)  # PyTorch: expand, then a view


@declare(export=False)
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The windows of ``size`` elements every ``step`` along ``dimension``, as a new last
    dim."""
    data = input._data
    axis = _dims(data.ndim, dimension)[0]
    length = data.shape[axis] if data.ndim else 1
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {axis} is {length} but size is {size}"
        )
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    backend = input._backend
    starts = backend.arange(0, length - size + 1, step, _dtypes.int64.numpy)
    window = backend.arange(0, size, 1, _dtypes.int64.numpy)
    index = backend.add(backend.reshape(starts, (-1, 1)), window)
    if not data.ndim:
        return reshape(input, (1,))
    picked = getitem(input, (slice(None),) * axis + (index,))
    return movedim(picked, axis + 1, -1)


# --- PyTorch names composed from the ops above (helper "out": missing top-level names) ---
@declare()
def take(input: Tensor, index: Tensor) -> Tensor:
    """``input``'s elements at the flat positions ``index`` (shaped as ``index``)."""
    flat = reshape(input, -1)
    return reshape(index_select(flat, 0, reshape(index, -1)), tuple(index.shape))


@declare()
def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Views of ``input`` split along ``dim``: into ``n`` nearly equal parts (the first
    ``size % n`` one longer), or at the listed indices."""
    if input._data.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    axis = _dims(input._data.ndim, dim)[0]
    length = input._data.shape[axis]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        size, extra = divmod(length, sections)
        bounds = [0]
        for i in range(sections):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
    else:
        bounds = [0, *(min(max(int(i), 0), length) for i in indices_or_sections), length]
    lead = (slice(None),) * axis
    return tuple(
        getitem(input, (*lead, slice(start, max(start, stop))))
        for start, stop in zip(bounds, bounds[1:])
    )


def _split_along(function: str, input: Tensor, sections: Any, dim: int, least: int) -> tuple:
    if input._data.ndim < least:
        raise RuntimeError(
            f"torch.{function} requires a tensor with at least {least} dimension, but got a "
            f"tensor with {input._data.ndim} dimensions!"
        )
    if isinstance(sections, int) and input._data.shape[dim] % sections:
        raise RuntimeError(
            f"torch.{function} attempted to split along dimension {dim}, but the size of the "
            f"dimension {input._data.shape[dim]} is not divisible by the split_size "
            f"{sections}!"
        )
    return tensor_split(input, sections, dim)


@declare()
def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for a 1-D tensor), sections dividing evenly."""
    dim = 0 if input._data.ndim == 1 else 1
    return _split_along("hsplit", input, indices_or_sections, dim, 1)


@declare()
def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 0 of a tensor of at least 2 dimensions."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


@declare()
def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 2 of a tensor of at least 3 dimensions."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


@declare()
def isin(
    elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False
) -> Tensor:
    """Whether each of ``elements`` is among ``test_elements`` (``invert``: is not)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    elements = elements if isinstance(elements, Tensor) else _constant(elements, like)
    tests = test_elements if isinstance(test_elements, Tensor) else _constant(test_elements, like)
    found = (reshape(elements, (*elements.shape, 1)) == reshape(tests, -1)).any(-1)
    return ~found if invert else found


def _constant(value: Any, like: Tensor) -> Tensor:
    return _wrap(like._backend.asarray(value), like._backend)


@declare()
def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (after concatenating ``prepend`` and
    ``append``); bool tensors give logical XOR."""
    from .shape import cat

    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    axis = _dims(input._data.ndim, dim)[0]
    parts = [p for p in (prepend, input, append) if p is not None]
    x = cat(parts, axis) if len(parts) > 1 else input
    lead = (slice(None),) * axis
    for _ in range(n):
        later, earlier = getitem(x, (*lead, slice(1, None))), getitem(x, (*lead, slice(0, -1)))
        x = later ^ earlier if x._data.dtype.kind == "b" else later - earlier
    return x


@declare()
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice of ``input`` at ``index`` along ``dim``, that dimension removed (a view)."""
    data = input._data
    if data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    axis = _dims(data.ndim, dim)[0]
    size = data.shape[axis]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(data.shape)} at "
            f"dimension {axis}"
        )
    return getitem(input, (slice(None),) * axis + (index,))
