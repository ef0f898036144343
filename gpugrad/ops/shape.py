"""Shape and joining ops: views of the data whose gradients move it back."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .._graph import Op, named_node
from .._tensor import Tensor, mark_view, shape_arg, shareable_data
from ..backends import cpu as _cpu
from ..backends import dtypes as _dtypes
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .reduce import _dims
from .reduce import flip as _flip
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
T_ROW = Op("t", "TBackward0", None, (lambda ns, g: ns.transpose(g, 0, 1) if g.ndim == 2 else g,))
ALIAS = Op("alias", "AliasBackward0", None, (lambda ns, g: g,))
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
            ns.getitem(g, (slice(None),) * dim + (slice(start, stop),))
            if start is not None
            else ns.reshape(ns.getitem(g, (slice(None),) * dim + (slice(0, 0),)), (0,))
            for start, stop in bounds
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
    data = inputs[0]._data
    if data.ndim == 0 and out.size and backend is _cpu and _cpu.is_host_scalar(data):
        # A view of a NumPy scalar is a copy: view a 0-d array made of it instead
        data = shareable_data(inputs[0]).reshape((1,) * out.ndim)
        out = data.reshape(out.shape) if out.size == 1 else _cpu.expand(data, out.shape)
    result = _record(op, out, backend, inputs, attrs)
    if backend.shares_memory(out, inputs[0]._data):
        mark_view(result, inputs[0])
    return result


def _reshape(input: Tensor, shape: tuple, may_copy: bool) -> Tensor:
    data = input._data
    target = _resolve_shape(shape_arg(shape), data.size)
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
    """Flattens dims ``start_dim`` to ``end_dim`` into one (a view where possible)."""
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
    """Removes dimensions of size 1 (all, or those in ``dim``)."""
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
    """A view with a dimension of size 1 inserted at ``dim``."""
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
    """A view with dimensions ``dim0`` and ``dim1`` swapped."""
    data = input._data
    d0, d1 = (_dims(data.ndim, d)[0] if data.ndim else _dims(1, d)[0] for d in (dim0, dim1))
    return _view(
        TRANSPOSE, input._backend.transpose(data, d0, d1), input._backend, (input,), (d0, d1)
    )


swapaxes = transpose
alias("swapaxes", "transpose", export=True)


@declare(rows=(PERMUTE,))
def permute(input: Tensor, *dims: Any) -> Tensor:
    """A view with the dimensions reordered as ``dims``."""
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
    """The last two dimensions swapped (a view)."""
    if input._data.ndim == 0:
        warnings.warn(
            "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
            UserWarning,
            stacklevel=2,
        )
        return input
    if input._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {input._data.ndim}-D tensor."
        )
    return transpose(input, -2, -1)


@declare(rows=(T_ROW,))
def t(input: Tensor) -> Tensor:
    """Transposes a tensor of at most 2 dimensions."""
    if input._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D"
        )
    data = input._data
    out = input._backend.transpose(data, 0, 1) if data.ndim == 2 else data[...]
    return _view(T_ROW, out, input._backend, (input,))


@declare("T", methods=(), export=False, properties=("T",))
def T(input: Tensor) -> Tensor:  # noqa: N802
    """The tensor with its dimensions reversed (a view)."""
    return permute(input, tuple(range(input._data.ndim - 1, -1, -1)))


def legacy_type_name(t: Tensor) -> str:
    """The tensor type PyTorch's expand and view errors print: ``gpugrad.FloatTensor``,
    ``gpugrad.cuda.LongTensor``, and for bool ``CPUBoolType`` / ``CUDABoolType``."""
    scalar = _dtypes.SCALAR_TYPE_NAMES.get(t._data.dtype.name, t._data.dtype.name)
    cuda = t._backend is not _cpu
    if scalar == "Bool":
        return "CUDABoolType" if cuda else "CPUBoolType"
    return f"gpugrad.{'cuda.' if cuda else ''}{scalar}Tensor"


@declare(export=False, rows=(EXPAND,))
def expand(input: Tensor, *sizes: Any) -> Tensor:
    """A view with singleton dimensions repeated to ``sizes`` (-1 keeps a size)."""
    data = input._data
    target = list(shape_arg(sizes))
    offset = len(target) - data.ndim
    if offset < 0:
        raise RuntimeError(
            f"expand({legacy_type_name(input)}{{{list(data.shape)}}}, size={target}): the "
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
    return _view(
        EXPAND, input._backend.expand(data, shape), input._backend, (input,), (data.shape,)
    )


@declare()
def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """A view of ``input`` broadcast to ``shape``."""
    return expand(input, tuple(shape))


@declare(export=False)
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``self.expand(other.size())``."""
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
    """The tensor itself if C-contiguous, else a contiguous copy."""
    data = input._data
    out = input._backend.ascontiguousarray(data)
    if out is data or not data.ndim:
        return input
    return _record(CLONE, out, input._backend, (input,))


@declare(rows=(CLONE,))
def clone(input: Tensor) -> Tensor:
    """A copy of ``input`` that stays in the graph (gradient flows back)."""
    return _record(CLONE, input._backend.copy(input._data), input._backend, (input,))


def _joinable(tensors: Sequence[Tensor]) -> tuple[Any, list[Any]]:
    if not tensors:
        raise RuntimeError("expected a non-empty list of Tensors")
    first = tensors[0]
    backend = first._backend
    arrays = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
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
    """Concatenates tensors along an existing dimension ``dim``. As in PyTorch, 1-D empty
    tensors (``tensor([])``, the usual start of a loop that grows a result) are left out,
    except for the dtype, when any other tensor is there; when all are, ``dim`` is not
    checked."""
    tensors = list(tensors)
    backend, arrays = _joinable(tensors)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    left_out = [a.shape == (0,) for a in arrays]
    if all(left_out):
        left_out = [False] * len(arrays)
        dim = 0
    kept = [a for a, out in zip(arrays, left_out) if not out]
    axis = _dims(kept[0].ndim, dim)[0]
    for i, a in enumerate(arrays):
        if left_out[i]:
            continue
        if a.ndim != kept[0].ndim:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {kept[0].ndim} and {a.ndim}"
            )
        for d in range(a.ndim):
            if d != axis and a.shape[d] != kept[0].shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{kept[0].shape[d]} but got size {a.shape[d]} for tensor number {i} in "
                    "the list."
                )
    bounds, start = [], 0
    for a, out in zip(arrays, left_out):
        if out:
            bounds.append((None, None))
            continue
        bounds.append((start, start + a.shape[axis]))
        start += a.shape[axis]
    out = _record(CAT, backend.cat(kept, axis), backend, tuple(tensors), (axis, bounds))
    return _cast_grads_back(out, tensors)


concatenate = concat = cat
alias("concat", "cat", methods=())
alias("concatenate", "cat", methods=())


@declare(methods=(), rows=(STACK,))
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stacks same-shaped tensors along a new dimension ``dim``."""
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


# --- more shape ops: stacking, moving dims, diagonals, repeats, windows ------------------
def _repeat_grad(ns, g, shape, repeats):
    """Sum the tiles of ``g`` back onto one copy of ``shape``."""
    lead = len(repeats) - len(shape)
    full = (1,) * lead + tuple(shape)
    interleaved = []
    for r, n in zip(repeats, full):
        interleaved += [r, n]
    summed = ns.sum(ns.reshape(g, tuple(interleaved)), tuple(range(0, 2 * len(full), 2)))
    return ns.reshape(summed, tuple(shape))


ROLL = Op(
    "roll",
    "RollBackward0",
    None,
    (lambda ns, g, shifts, dims: ns.roll(g, tuple(-s for s in shifts), dims),),
    attrs=("shifts", "dims"),
)
TRIL = Op(
    "tril",
    "TrilBackward0",
    None,
    (lambda ns, g, diagonal: ns.tril(g, diagonal),),
    attrs=("diagonal",),
)
TRIU = Op(
    "triu",
    "TriuBackward0",
    None,
    (lambda ns, g, diagonal: ns.triu(g, diagonal),),
    attrs=("diagonal",),
)
_DIAG = ("offset", "dim1", "dim2")
DIAGONAL = Op(
    "diagonal",
    "DiagonalBackward0",
    None,
    (lambda ns, g, shape, offset, dim1, dim2: ns.diagonal_backward(g, shape, offset, dim1, dim2),),
    attrs=("shape", *_DIAG),
)
DIAGONAL_COPY = Op("diag", "DiagonalBackward0_copy", None, DIAGONAL.grads, attrs=("shape", *_DIAG))


def _diagonal_of_grad(ns, g, offset, dim1, dim2):
    """The gradient of a tensor whose diagonals were placed: those diagonals."""
    return ns.diagonal(g, offset, dim1, dim2)


DIAGONAL_BACKWARD = Op(
    "diagonal_backward", "DiagonalBackwardBackward0", None, (_diagonal_of_grad,), attrs=_DIAG
)
DIAG_EMBED = Op("diag_embed", "DiagEmbedBackward0", None, (_diagonal_of_grad,), attrs=_DIAG)
REPEAT = Op("repeat", "RepeatBackward0", None, (_repeat_grad,), attrs=("shape", "repeats"))


def _ints(values: Any) -> tuple[int, ...]:
    return (values,) if isinstance(values, int) else tuple(values)


@declare(methods=())
def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to (``torch.broadcast_shapes``)."""
    from .._tensor import Size
    from .dispatch import broadcast_error, first_mismatch

    sizes = [_ints(s) for s in shapes]
    if not sizes:
        return Size(())
    n = max(len(s) for s in sizes)
    out = [1] * n
    for s in sizes:
        for i, k in enumerate(s, n - len(s)):
            if k != 1 and out[i] != 1 and k != out[i]:
                raise broadcast_error(*first_mismatch([tuple(x) for x in sizes]))
            if k != 1:
                out[i] = k
    return Size(out)


@declare(methods=())
def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    # a tensor already of that shape is returned itself, as PyTorch does
    return tuple(t if t._data.shape == shape else expand(t, shape) for t in tensors)


def _at_least(t: Tensor, ndim: int) -> Tensor:
    shape = t._data.shape
    if len(shape) >= ndim:
        return t
    if ndim == 3 and len(shape) == 2:
        return reshape(t, shape + (1,))
    if ndim == 3:
        return reshape(t, (1,) + (shape or (1,)) + (1,))
    return reshape(t, (1,) * (ndim - len(shape)) + shape)


@declare(methods=())
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    parts = [_at_least(t, 1) for t in tensors]
    return cat(parts, 0 if parts and parts[0]._data.ndim == 1 else 1)


@declare(methods=())
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 0, 1-D tensors taken as rows."""
    return cat([_at_least(t, 2) for t in tensors], 0)


alias("row_stack", "vstack", methods=())


@declare(methods=())
def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 2, after making each tensor at least 3-D."""
    return cat([_at_least(t, 3) for t in tensors], 2)


@declare(methods=())
def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, 0-D and 1-D tensors taken as columns."""
    parts = [reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return cat(parts, 1)


@declare(rows=(ALIAS,))
def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]):
    """``input`` with the dims ``source`` moved to the positions ``destination``."""
    src, dst = _ints(source), _ints(destination)
    ndim = input._data.ndim
    if len(src) != len(dst):
        raise RuntimeError(
            "movedim: Invalid source or destination dims: source "
            f"({list(src)} dims) should contain the same number of dims as destination "
            f"({list(dst)} dims)"
        )
    src = tuple(_dims(ndim, d)[0] for d in src)
    dst = tuple(_dims(ndim, d)[0] for d in dst)
    for what, dims, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{what}` ({list(_ints(given))})")
    if ndim == 0:
        return _view(ALIAS, input._data[...], input._backend, (input,))
    order = [d for d in range(ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


alias("moveaxis", "movedim")


@declare(rows=(ROLL,))
def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None):
    """``input`` with its elements shifted by ``shifts`` along ``dims`` (wrapping round;
    over the flattened tensor when ``dims`` is None)."""
    if dims is None:
        if isinstance(shifts, int) or len(_ints(shifts)) == 1:
            flat = reshape(input, (-1,))
            rolled = reshape(roll(flat, _ints(shifts)[0], 0), input._data.shape)
            return named_node(rolled, "RollBackward0", input)
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(_ints(shifts))}, dims:0"
        )
    moves, axes = _ints(shifts), _ints(dims)
    if len(moves) != len(axes):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(moves)}, dims:{len(axes)}"
        )
    if not input._data.size:  # PyTorch returns a copy of an empty tensor, dims unchecked
        return named_node(input.clone(), "RollBackward0", input)
    if input._data.ndim == 0:
        raise IndexError(f"Dimension specified as {axes[0]} but tensor has no dimensions")
    axes = tuple(_dims(input._data.ndim, d)[0] for d in axes)
    out = input._backend.roll(input._data, moves, axes)
    return _record(ROLL, out, input._backend, (input,), (moves, axes))


def _triangle(op: Op, name: str, input: Tensor, diagonal: int) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    out = getattr(input._backend, name)(input._data, diagonal)
    return _record(op, out, input._backend, (input,), (diagonal,))


@declare(rows=(TRIL,), inplace=("tril_",))
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (below ``diagonal``), zeros elsewhere."""
    return _triangle(TRIL, "tril", input, diagonal)


@declare(rows=(TRIU,), inplace=("triu_",))
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (above ``diagonal``), zeros elsewhere."""
    return _triangle(TRIU, "triu", input, diagonal)


def _diag_dims(ndim: int, dim1: int, dim2: int) -> tuple[int, int]:
    d1, d2 = _dims(ndim, dim1)[0], _dims(ndim, dim2)[0]
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


@declare(rows=(DIAGONAL,))
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the planes ``(dim1, dim2)``, as the last dim: a view,
    so writes to it (``x.diagonal().copy_(v)``, ``x.diagonal().add_(1)``) reach ``input``
    and both share a version counter, as in PyTorch."""
    data = input._data
    d1, d2 = _diag_dims(data.ndim, dim1, dim2)
    backend = input._backend
    out = backend.diagonal_view(data, offset, d1, d2)
    result = _view(DIAGONAL, out, backend, (input,), (data.shape, offset, d1, d2))
    if result._extra is not None and result._extra.base is input:
        result._extra.view_key = backend.diagonal_key(data.shape, offset, d1, d2)
    return result


@declare(export=False, methods=(), rows=(DIAGONAL_BACKWARD,))
def diagonal_backward(grad: Tensor, shape: tuple, offset: int, dim1: int, dim2: int) -> Tensor:
    """Zeros of ``shape`` with ``grad`` on the diagonals (``diagonal``'s adjoint)."""
    out = grad._backend.diagonal_backward(grad._data, shape, offset, dim1, dim2)
    return _record(DIAGONAL_BACKWARD, out, grad._backend, (grad,), (offset, dim1, dim2))


@declare(rows=(DIAG_EMBED,))
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2``) with the last dim of ``input`` on their
    diagonal ``offset``."""
    data = input._data
    d1, d2 = _diag_dims(data.ndim + 1, dim1, dim2)
    out = input._backend.diag_embed(data, offset, d1, d2)
    return _record(DIAG_EMBED, out, input._backend, (input,), (offset, d1, d2))


@declare(rows=(DIAGONAL_COPY,))
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the diagonal ``diagonal`` of a matrix; of a matrix, a copy of that
    diagonal (as PyTorch: writes to it do not reach ``input``)."""
    ndim = input._data.ndim
    if ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if ndim == 2:
        data, backend = input._data, input._backend
        out = backend.copy(backend.diagonal_view(data, diagonal, 0, 1))
        return _record(DIAGONAL_COPY, out, backend, (input,), (data.shape, diagonal, 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")


@declare()
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    from .reduce import sum as sum_

    if input._data.dtype.kind == "b":  # checked first, as PyTorch
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return named_node(sum_(diagonal(input)), "TraceBackward0", input)


@declare(rows=(REPEAT,))
def repeat(input: Tensor, *repeats: Any) -> Tensor:
    """``input`` tiled ``repeats[i]`` times along each dim (new leading dims as needed)."""
    reps = shape_arg(repeats)
    data = input._data
    if len(reps) < data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(reps)}")
    out = input._backend.repeat(data, reps)
    return _record(REPEAT, out, input._backend, (input,), (data.shape, reps))


@declare()
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dim (ones prepended to ``dims``
    when it is shorter than ``input``'s shape)."""
    reps = _ints(dims)
    return repeat(input, (1,) * (input._data.ndim - len(reps)) + reps)


@declare()
def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (``indexing="ij"``, the default, or ``"xy"``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}"
            )
    flat = [reshape(t, (-1,)) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t._data.shape[0] for t in flat)
    grids = []
    for i, t in enumerate(flat):
        view_shape = [1] * len(flat)
        view_shape[i] = shape[i]
        grids.append(expand(reshape(t, tuple(view_shape)), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@declare()
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """``input`` with dim ``dim`` split into ``sizes`` (one may be -1)."""
    data = input._data
    if data.ndim == 0:
        raise RuntimeError(
            "unflatten got an unexpected error:\n"
            f"Dimension specified as {dim} but tensor has no dimensions"
        )
    axis = _dims(data.ndim, dim)[0]
    sizes = tuple(sizes)
    known = 1
    for n in sizes:
        if n != -1:
            known *= n
    n = data.shape[axis]
    if -1 in sizes and not known and not n:
        raise RuntimeError(
            "unflatten got an unexpected error:\ncannot reshape tensor of 0 elements into "
            f"shape {list(sizes)} because the unspecified dimension size -1 can be any value "
            "and is ambiguous"
        )
    if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{axis} ({n}) in the input tensor"
        )
    if -1 in sizes:  # inferred from the dim alone (a size-0 input has no other answer)
        sizes = tuple(n // known if m == -1 else m for m in sizes)
    return reshape(input, data.shape[:axis] + sizes + data.shape[axis + 1 :])


@declare(export=False)
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input`` viewed with ``other``'s shape."""
    return view(input, other._data.shape)


@declare(export=False)
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input`` reshaped to ``other``'s shape."""
    return reshape(input, other._data.shape)


@declare(export=False)
def type_as(input: Tensor, other: Tensor) -> Tensor:
    """``input`` in ``other``'s dtype."""
    return input.to(other.dtype)


def _new(input: Tensor, kind: str, size: tuple, value: Any, dtype: Any, device: Any, rg: bool):
    from .. import _factories

    dtype = input.dtype if dtype is None else dtype
    device = input.device if device is None else device
    if kind == "full":
        return _factories.full(size, value, dtype=dtype, device=device, requires_grad=rg)
    return getattr(_factories, kind)(*size, dtype=dtype, device=device, requires_grad=rg)


def _declare_new(kind: str, doc: str) -> Any:
    """Declare ``new_zeros``, ``new_ones`` or ``new_empty`` (``kind``: the factory)."""

    def function(
        input: Tensor,
        *size: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        return _new(input, kind, shape_arg(size), None, dtype, device, requires_grad)

    function.__name__ = function.__qualname__ = f"new_{kind}"
    function.__doc__ = doc
    return declare(f"new_{kind}", export=False)(function)


new_zeros = _declare_new(
    "zeros", "Zeros of ``size`` with ``input``'s dtype and device (unless given)."
)
new_ones = _declare_new(
    "ones", "Ones of ``size`` with ``input``'s dtype and device (unless given)."
)
new_empty = _declare_new(
    "empty", "An uninitialized tensor of ``size`` with ``input``'s dtype and device."
)


@declare(export=False)
def new_full(
    input: Tensor,
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``fill_value`` in a tensor of ``size`` with ``input``'s dtype and device."""
    return _new(input, "full", tuple(size), fill_value, dtype, device, requires_grad)


@declare(export=False)
def new_tensor(
    input: Tensor, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A new leaf holding a copy of ``data``, with ``input``'s dtype and device unless
    given."""
    from .. import _factories

    if isinstance(data, Tensor):
        data = data.detach()
    dtype = input.dtype if dtype is None else dtype
    device = input.device if device is None else device
    return _factories.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


@declare(export=False)
def element_size(input: Tensor) -> int:
    """Bytes per element."""
    return input._data.dtype.itemsize


@declare("itemsize", methods=(), export=False, properties=("itemsize",))
def itemsize(input: Tensor) -> int:
    """Bytes per element."""
    return input._data.dtype.itemsize


@declare("nbytes", methods=(), export=False, properties=("nbytes",))
def nbytes(input: Tensor) -> int:
    """Bytes of the elements (``numel() * element_size()``)."""
    return input._data.size * input._data.dtype.itemsize


@declare(export=False)
def stride(input: Tensor, dim: int | None = None) -> Any:
    """Elements to step in memory per step along each dim (of ``dim`` when given)."""
    data = input._data
    size = data.dtype.itemsize
    steps = tuple(s // size for s in getattr(data, "strides", ()))
    if dim is None:
        return steps
    return steps[_dims(data.ndim, dim)[0]]


@declare(export=False)
def is_contiguous(input: Tensor, memory_format: Any = None) -> bool:
    """Whether the elements lie in memory in C order, without gaps."""
    data = input._data
    return bool(data.flags.c_contiguous) if hasattr(data, "flags") else True


@declare(export=False)
def data_ptr(input: Tensor) -> int:
    """The address of the first element."""
    return input._backend.data_ptr(input._data)


@declare(export=False)
def storage_offset(input: Tensor) -> int:
    """Elements from the start of the memory ``input`` shares to its first element."""
    return input._backend.storage_offset(input._data)


# --- PyTorch names composed from the ops above (helper "out": missing top-level names) ---
alias("swapdims", "transpose")


@declare()
def ravel(input: Tensor) -> Tensor:
    """The elements as one dimension (a view when the layout allows)."""
    return reshape(input, -1)


@declare()
def fliplr(input: Tensor) -> Tensor:
    """``input`` with its columns (dim 1) reversed; at least 2-D."""
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _flip(input, (1,))


@declare()
def flipud(input: Tensor) -> Tensor:
    """``input`` with its rows (dim 0) reversed; at least 1-D."""
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _flip(input, (0,))


@declare()
def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """``input`` rotated by 90 degrees ``k`` times in the plane of ``dims`` (from the
    first axis towards the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    a, b = dims
    k %= 4
    if k == 1:
        rotated = transpose(_flip(input, (b,)), a, b)
    elif k == 2:
        rotated = _flip(input, (a, b))
    elif k == 3:
        rotated = _flip(transpose(input, a, b), (b,))
    else:
        rotated = input.clone()
    return named_node(rotated, "Rot90Backward0", input)


def _at_least_each(function: str, ndim: int, tensors: tuple) -> Any:
    """``_at_least`` of one tensor, or a tuple of them for several (or for one sequence)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
        return tuple(_at_least_each(function, ndim, (t,)) for t in tensors)
    if len(tensors) != 1:
        return tuple(_at_least_each(function, ndim, (t,)) for t in tensors)
    if not isinstance(tensors[0], Tensor):
        raise TypeError(
            f"{function}(): argument 'input' must be Tensor, not {type(tensors[0]).__name__}"
        )
    return _at_least(tensors[0], ndim)


@declare()
def atleast_1d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 1 dimension (a tuple for several)."""
    return _at_least_each("atleast_1d", 1, tensors)


@declare()
def atleast_2d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 2 dimensions (a 1-D one as a row)."""
    return _at_least_each("atleast_2d", 2, tensors)


@declare()
def atleast_3d(*tensors: Any) -> Any:
    """Each tensor viewed with at least 3 dimensions (``(1, n, 1)`` for a 1-D one,
    ``(m, n, 1)`` for a 2-D one)."""
    return _at_least_each("atleast_3d", 3, tensors)


@declare()
def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with ``input``'s elements (flattened) on diagonal ``offset``."""
    return diag_embed(flatten(input), offset)


@declare(export=False)
def ndimension(input: Tensor) -> int:
    """The number of dimensions (``dim()``)."""
    return input.dim()


@declare(export=False)
def is_signed(input: Tensor) -> bool:
    """Whether the dtype is signed (every dtype but ``uint8`` and ``bool``)."""
    return input._data.dtype.kind in "fi"


@declare(export=False)
def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether ``other`` has ``input``'s shape."""
    return input.shape == other.shape


@declare(export=False)
def get_device(input: Tensor) -> int:
    """The CUDA device index, or -1 for a CPU tensor."""
    index = input.device.index
    return -1 if input.device.type == "cpu" else (index or 0)


@declare("mH", methods=(), export=False, properties=("mH",))
def mH(input: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """The conjugate transpose of the last two dimensions: ``mT`` (gpugrad's dtypes are
    real)."""
    if input._data.ndim < 2:
        raise RuntimeError(
            "tensor.mH is only supported on matrices or batches of matrices. Got "
            f"{input._data.ndim}-D tensor."
        )
    return mT(input)


@declare("H", methods=(), export=False, properties=("H",))
def H(input: Tensor) -> Tensor:  # noqa: N802 - PyTorch's name
    """The conjugate transpose of a matrix: its transpose (gpugrad's dtypes are real)."""
    if input._data.ndim != 2:
        raise RuntimeError(
            "tensor.H is only supported on matrices (2-D tensors). Got "
            f"{input._data.ndim}-D tensor."
        )
    return transpose(input, 0, 1)


@declare("is_cpu", methods=(), export=False, properties=("is_cpu",))
def is_cpu(input: Tensor) -> bool:
    """True when the tensor is in host memory."""
    return input._backend.device.type == "cpu"


@declare()
def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of ``tensors`` (0-d and 1-D ones as one row), zeros
    elsewhere, in their promoted dtype."""
    from .._factories import zeros

    blocks = []
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                f"has {t._data.ndim} dimensions"
            )
        blocks.append(t if t._data.ndim == 2 else reshape(t, (1, -1)))
    if not blocks:
        return zeros(1, 0)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        pieces = [zeros(r, left, dtype=b.dtype, device=b.device), b]
        pieces.append(zeros(r, width - left - c, dtype=b.dtype, device=b.device))
        rows.append(cat(pieces, 1))
        left += c
    return cat(rows, 0)


@declare()
def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-D tensor, one per row (one tensor:
    itself)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)
