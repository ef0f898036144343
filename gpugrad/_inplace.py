"""In-place ops (``add_``, ``mul_``, ``x -= y``, ``x[i] = v`` …) with PyTorch's semantics.

An in-place op computes the out-of-place op on an alias of the tensor's current history,
writes the result into the tensor's own array, and makes the tensor the op's output (its
``grad_fn`` becomes the op's node). Each write is recorded, so a backward that would read
a value overwritten after it was saved raises PyTorch's "modified by an inplace operation"
error instead of returning a wrong gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._grad_mode import no_grad
from ._grad_mode import state as _grad_state
from ._graph import ModifiedOutput, Op, clock, describe, named_node, next_sequence
from ._tensor import Tensor, _wrap, shareable_data, version_owner
from .backends import dtypes as _dtypes
from .backends import fp_errors, python_data
from .ops import registry
from .ops.dispatch import broadcast_error, device_error, record
from .ops.index import (
    INDEX,
    INDEX_ALIAS,
    INDEX_PUT,
    _index_key,
    _index_message,
    _index_op,
    check_steps,
    getitem,
    restrided,
    split_ints,
)
from .ops.registry import declare
from .ops.shape import expand, reshape
from .ops.transfer import to_dtype

VIEW_ERROR = (
    "an in-place operation on this view of a tensor that requires grad, while recording a "
    "graph, is not supported: gpugrad writes back only through views made by indexing the "
    "base directly (x[i].mul_(2), x[i] += v), and refuses rather than compute a wrong "
    "gradient. Write to the base instead (x[i] = v), or clone() the view first."
)
LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."
OVERLAP_ERROR = (
    "unsupported operation: more than one element of the written-to tensor refers to a "
    "single memory location. Please clone() the tensor before performing the operation."
)
VIEW_OF_LEAF_ERROR = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)


INPLACE_NODE_NAMES = {
    "AcoshBackward0": "AcoshBackward1",
    "AsinhBackward0": "AsinhBackward1",
    "AtanhBackward0": "AtanhBackward1",
    "UnsqueezeBackward0": "UnsqueezeBackward1",
    "SqueezeBackward0": "SqueezeBackward3",
    "SqueezeBackward1": "SqueezeBackward4",
    "SqueezeBackward2": "SqueezeBackward5",
    "TBackward0": "TBackward1",
    "TransposeBackward0": "TransposeBackward1",
    "AsStridedBackward0": "AsStridedBackward1",
}
"""PyTorch's node names for the in-place forms whose node differs from the out-of-place
one's (``asinh_``, ``squeeze_``, ``t_`` …), by the out-of-place node's name."""

KEEPS_HISTORY = frozenset(("logical_and_", "logical_or_", "logical_xor_", "logical_not_"))
"""In-place forms that PyTorch does not record: the tensor keeps its ``grad_fn`` and
``requires_grad`` (``x.clone().logical_not_()`` is still a ``CloneBackward0`` output)."""


def _record_write(t: Tensor) -> None:
    """Count a write to ``t``'s memory (on the counter it shares with its views); a node
    that saved that memory as its output can no longer use it."""
    clock.epoch += 1
    owner = version_owner(t)
    extra = owner._get_extra()
    extra.version += 1
    extra.writes.append(clock.epoch)
    for written in (t, owner):
        node = written.grad_fn
        if node is not None and getattr(node, "out", None) is written._data:
            node.out = ModifiedOutput(describe(written), extra.version)


def _check_cast(result: Any, target: Any) -> None:
    """PyTorch's refusal to write a result of dtype ``result`` into a tensor of dtype
    ``target`` of a lower category (a float into an int, an int into a bool)."""
    if _dtypes.BY_NUMPY[result].category > _dtypes.BY_NUMPY[target].category:
        raise RuntimeError(
            f"result type {_dtypes.SCALAR_TYPE_NAMES[result.name]} can't be cast to the "
            f"desired output type {_dtypes.SCALAR_TYPE_NAMES[target.name]}"
        )


def _check_operand_cast(t: Tensor, operand: Any) -> None:
    """Refuse an operand whose dtype category is above ``t``'s (a float into an int)."""
    data = t._data
    if isinstance(operand, Tensor):
        other = operand._data
        if other.dtype != data.dtype:
            result = _dtypes.promote_arrays(data.dtype, data.ndim, other.dtype, other.ndim)
            _check_cast(result, data.dtype)
    elif type(operand) in (bool, int, float):
        _check_cast(_dtypes.promote_with_scalar(data.dtype, operand), data.dtype)


def _write(t: Tensor, values: Tensor) -> None:
    data = values._data
    if data.shape != t._data.shape:
        raise RuntimeError(
            f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
            f"{list(data.shape)}"
        )
    if data.dtype != t._data.dtype:
        _check_cast(data.dtype, t._data.dtype)
        data = t._backend.astype(data, t._data.dtype)  # silenced: overflow is inf
    _record_write(t)
    if not data.size:
        return
    try:
        t._data = t._backend.assign(t._data, data)
    except ValueError:
        _write_through_base(t, (), data)


def _write_through_base(view: Tensor, key: Any, values: Any) -> None:
    """Write ``values`` at ``view[key]`` into the memory of ``view``'s base: NumPy's
    broadcast (expanded) views are read-only, PyTorch's are not."""
    base = shareable_data(version_owner(view))
    if not base.ndim:
        base = base.reshape(1)  # the same memory, indexable
    positions = view._backend.view_positions(view._data, base)
    if positions is None:
        raise RuntimeError(OVERLAP_ERROR)
    if key == ():  # a whole new view: only its changed elements are written, as PyTorch's
        changed = values != view._data  # fill-like kernels write only where they fill
        base[tuple(p[changed] for p in positions)] = values[changed]
        return
    base[tuple(p[key] for p in positions)] = values


OVERLAP_ALLOWED = frozenset(
    ("fill_", "zero_", "masked_fill_", "index_fill_", "index_put_", "tril_", "triu_")
)
"""The in-place ops PyTorch lets write into a tensor whose elements share memory (an
expanded view); the others refuse with ``OVERLAP_ERROR``."""


def _needs_graph(t: Tensor, args: tuple) -> bool:
    if not _grad_state.enabled:
        return False
    return t.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args)


def apply_inplace(
    function: Callable[..., Tensor], t: Tensor, *args: Any, keep_history: bool = False
) -> Tensor:
    """Run ``function(t, *args)`` and store its result in ``t`` itself; with
    ``keep_history``, a result without a node leaves ``t``'s history as it was."""
    if not _needs_graph(t, args):
        with no_grad():
            _write(t, function(t, *args))
        return t
    if t.requires_grad and t.grad_fn is None:
        raise RuntimeError(LEAF_ERROR)
    owner = version_owner(t)
    if owner is not t:
        piece = getattr(t._extra.view_key, "piece", None)
        if piece is not None and t.requires_grad:
            raise RuntimeError(
                f"Output {piece} of {t.grad_fn.name().removesuffix('Backward0')} is a view and "
                "is being modified inplace. This view is the output of a function that returns "
                "multiple views. Such functions do not allow the output views to be modified "
                "inplace. You should replace the inplace operation by an out-of-place one."
            )
    if owner is not t and owner.requires_grad and owner.grad_fn is None:
        raise RuntimeError(VIEW_OF_LEAF_ERROR)
    if owner is not t:  # a write through a view: the base records it (CopySlices)
        return _inplace_through_base(function, t, owner, args, keep_history)
    alias = _wrap(t._data, t._backend)
    alias._requires_grad, alias.grad_fn, alias._output_nr = (
        t.requires_grad,
        t.grad_fn,
        t._output_nr,
    )
    mark = next_sequence()
    out = function(alias, *args)
    node = out.grad_fn
    if node is not None and node is not alias.grad_fn:
        renamed = INPLACE_NODE_NAMES.get(node.name())
        if renamed is not None:
            named_node(out, renamed)
    if node is not None and _saves(node, alias, mark):
        alias._data = t._backend.copy(t._data)  # the nodes keep the values they saved
    _write(t, out)
    if node is None and keep_history:
        return t
    t.grad_fn, t._output_nr, t._requires_grad = node, out._output_nr, out.requires_grad
    refresh_views(t)
    return t


def _saves(node: Any, alias: Tensor, mark: int) -> bool:
    """Whether ``node`` or a node it reaches made after sequence number ``mark`` (the
    inner nodes of a composite op such as ``logit_``) saved ``alias`` for backward."""
    stack, seen = [node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        saved = getattr(node, "saved", ())
        if type(saved) is tuple and any(s is alias for s in saved):
            return True
        for edge in getattr(node, "edges", ()):
            target = edge[0] if type(edge) is tuple else edge
            if getattr(target, "seq", -1) > mark:
                stack.append(target)
    return False


def refresh_views(base: Tensor) -> None:
    """After a recorded in-place write into ``base``, give each live view of it a node on
    the base's new history (``AsStridedBackward0``, as PyTorch's regenerated grad_fn), so
    a gradient taken through a view made before the write sees the write."""
    views = base._extra.views if base._extra is not None else None
    if not views:
        return
    for view in list(views):
        extra = view._extra
        if extra is None or extra.base is not base:
            continue
        key = extra.view_key
        if key is None:  # a transposed, expanded ... view: its elements' positions
            key = view._backend.view_positions(view._data, shareable_data(base))
            if key is None:  # no longer sharing the base's memory
                continue
        fresh = restrided(base, key, view._data)
        view.grad_fn, view._output_nr, view._requires_grad = (
            fresh.grad_fn,
            fresh._output_nr,
            fresh.requires_grad,
        )


def _inplace_through_base(
    function: Callable[..., Tensor],
    view: Tensor,
    base: Tensor,
    args: tuple,
    keep_history: bool = False,
) -> Tensor:
    """An in-place op on ``base[key]``: write the new values into the base at ``key``
    (differentiably, rebasing the base's history, as PyTorch's CopySlices does), then make
    the view ``base[key]`` of the new base."""
    key = view._extra.view_key
    if key is None:  # a transposed, expanded ... view: its elements' positions in the base
        key = view._backend.view_positions(view._data, shareable_data(base))
        if key is None:
            raise RuntimeError(VIEW_ERROR)
    alias = _wrap(view._backend.copy(view._data), view._backend)
    alias._requires_grad, alias.grad_fn, alias._output_nr = (
        view.requires_grad,
        view.grad_fn,
        view._output_nr,
    )
    values = function(alias, *args)
    if values._data.shape != view._data.shape:
        raise RuntimeError(
            f"output with shape {list(view._data.shape)} doesn't match the broadcast shape "
            f"{list(values._data.shape)}"
        )
    if values._data.dtype != base._data.dtype:
        _check_cast(values._data.dtype, base._data.dtype)
        values = to_dtype(values, base.dtype)  # logical_not_'s bools into a float base
    if keep_history and values.grad_fn is None:  # not recorded (see KEEPS_HISTORY)
        with no_grad():
            apply_inplace(_setitem, base, key, values, SETITEM_COPY_SLICES)
        return named_node(view, "AsStridedBackward0")  # PyTorch regenerates the view's node
    if view._backend.internal_overlap(view._data):
        # elements sharing memory: only the changed ones are written, as PyTorch's kernels
        changed = values._data != view._data
        written = tuple(p[changed] for p in key)
        apply_inplace(_setitem, base, written, getitem(values, (changed,)), SETITEM_OVERLAP)
    else:
        apply_inplace(_setitem, base, key, values, SETITEM_COPY_SLICES)
    fresh = restrided(base, key, view._data)
    view.grad_fn, view._output_nr, view._requires_grad = (
        fresh.grad_fn,
        fresh._output_nr,
        fresh.requires_grad,
    )
    return view


def inplace_method(name: str, function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    overlap_allowed = name in OVERLAP_ALLOWED
    keeps_history = name in KEEPS_HISTORY
    # elementwise ops: the operand's dtype checked first, as PyTorch's in-place kernels do
    # (``b.bitwise_and_(2.0)`` is a cast refusal, not bitwise_and's missing float kernel)
    checks_operand = function.__module__.endswith(".elementwise") and name != "lerp_"
    if name in COMPARISONS:  # s7-topx: a comparison's 0/1 result fits any dtype
        function, checks_operand = comparison_inplace(name, function), False

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if checks_operand and args:
            _check_operand_cast(self, args[0])
        extra = self._extra
        if (
            not overlap_allowed
            and extra is not None
            and extra.base is not None
            and self._backend.internal_overlap(self._data)
        ):
            raise RuntimeError(OVERLAP_ERROR)
        return apply_inplace(
            lambda t, *a: function(t, *a, **kwargs), self, *args, keep_history=keeps_history
        )

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place version of ``{name.rstrip('_')}``."
    return method


# Overwriting ops: the result is exactly the new values (never ``t * 0 + new``, which keeps a
# NaN or inf of the old values); the overwritten tensor gets a zero gradient and the source
# the gradient summed to its shape and cast to its dtype, as PyTorch's nodes.
def _zero_grad(ns, g):
    return ns.zeros_like(g)


def _pass_grad(ns, g):
    return g


ZERO = Op("zero_", "ZeroBackward0", None, (_zero_grad,))
FILL_NUMBER = Op("fill_", "FillBackward2", None, (_zero_grad,))
FILL_TENSOR = Op("fill_", "FillBackward3", None, (_zero_grad, _pass_grad))
COPY = Op("copy_", "CopyBackwards", None, (_zero_grad, _pass_grad))
_SETITEM_GRADS = INDEX_PUT.grads
SETITEM_INDEX_PUT = Op("setitem", "IndexPutBackward0", None, _SETITEM_GRADS, attrs=("key", "kept"))
SETITEM_COPY = Op("setitem", "CopyBackwards", None, _SETITEM_GRADS, attrs=("key", "kept"))


def _overlap_refused(ns, g, key, kept):
    """PyTorch's backward of a write through an expanded view: refused."""
    raise RuntimeError(OVERLAP_ERROR)


SETITEM_OVERLAP = Op(
    "setitem", "CopySlices", None, (_overlap_refused, _overlap_refused), attrs=("key", "kept")
)
SETITEM_COPY_SLICES = Op("setitem", "CopySlices", None, _SETITEM_GRADS, attrs=("key", "kept"))


def _overwrite(op: Op, t: Tensor, source: Tensor) -> Tensor:
    """``source`` broadcast to ``t``'s shape and cast to its dtype, recorded as ``op`` of
    ``(t, source)``."""
    backend = t._backend
    if source._backend is not backend:
        source = source.to(t.device)
    data = source._data
    shape, dtype = t._data.shape, t._data.dtype
    if data.shape != shape:
        try:
            data = backend.expand(data, shape)
        except ValueError:
            raise broadcast_error(shape, data.shape) from None
    if data.dtype != dtype:
        data = backend.astype(data, dtype)
    out = record(op, data, backend, (t, source))
    node = out.grad_fn
    if node is not None:
        if source._data.shape != shape:
            node.shapes = (None, source._data.shape)
        if source._data.dtype != dtype:
            node.casts = (None, source._data.dtype)
    return out


@declare("zero_", methods=(), inplace=("zero_",), export=False)
def _zero(t: Tensor) -> Tensor:
    backend = t._backend
    return record(ZERO, backend.zeros(t._data.shape, t._data.dtype), backend, (t,))


@declare("fill_", methods=(), inplace=("fill_",), export=False)
def _fill(t: Tensor, value: Any) -> Tensor:
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        return _overwrite(FILL_TENSOR, t, value)
    backend = t._backend
    dtype = t._data.dtype
    value = python_data.checked_fill(value, dtype)
    return record(FILL_NUMBER, backend.full(t._data.shape, value, dtype), backend, (t,))


@declare("copy_", methods=(), inplace=("copy_",), export=False)
def _copy(t: Tensor, source: Tensor) -> Tensor:
    if type(source) in (bool, int, float):  # a Python number is copied as PyTorch does
        value = python_data.checked_fill(source, t._data.dtype)
        source = _wrap(t._backend.full((), value, t._data.dtype), t._backend)
    if not isinstance(source, Tensor):
        raise TypeError(
            f"copy_(): argument 'src' (position 1) must be Tensor, not {type(source).__name__}"
        )
    return _overwrite(COPY, t, source)


def _array_key(t: Tensor, key: Any) -> Any:
    """``key`` with tensors and lists turned into ``t``'s backend arrays."""
    check_steps(key)
    if type(key) is not tuple or any(isinstance(k, (Tensor, list)) for k in key):
        return _index_key(key, t)
    return key


def _setitem_value(t: Tensor, key: Any, value: Tensor) -> tuple[Tensor, tuple[int, ...], bool]:
    """``value`` for ``t[key] = value`` (``key`` of backend arrays), checked as PyTorch's
    setitem checks it: its leading size-1 dims dropped, then broadcast to ``t[key]``'s
    shape (an advanced key: "shape mismatch", and the dtypes must match unless a lone bool
    mask gets one value, which PyTorch fills; a basic key: ``expand``'s errors, any dtype
    cast). Returns the value, ``t[key]``'s shape and whether the key is advanced."""
    try:
        target = t._data[key].shape
    except IndexError as error:
        raise IndexError(_index_message(str(error), t._data.ndim, key)) from None
    shape = value._data.shape
    while shape and shape[0] == 1:
        shape = shape[1:]
    if shape != value._data.shape:
        value = reshape(value, shape)
    advanced = _index_op(key, t._data.shape) is INDEX
    if not advanced:
        return expand(value, target), target, False
    fits = len(shape) <= len(target) and all(
        n in (1, m) for n, m in zip(reversed(shape), reversed(target))
    )
    if not fits:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to "
            f"indexing result of shape {list(target)}"
        )
    dtype = t._data.dtype
    if value._data.dtype != dtype:
        items = key if type(key) is tuple else (key,)
        mask = len(items) == 1 and getattr(items[0], "dtype", None) == _dtypes.bool_.numpy
        if not (mask and value._data.size == 1):
            names = _dtypes.SCALAR_TYPE_NAMES
            raise RuntimeError(
                "Index put requires the source and destination dtypes match, got "
                f"{names[dtype.name]} for the destination and "
                f"{names[value._data.dtype.name]} for the source."
            )
    return expand(value, target), target, True


def _setitem(t: Tensor, key: Any, value: Any, through_view: Op | None = None) -> Tensor:
    """``t`` with ``t[key] = value``: differentiable for ``t`` (outside ``key``) and for
    ``value``, recorded as PyTorch records it: ``IndexPutBackward0`` for an advanced key,
    ``CopyBackwards`` for a key that selects all of ``t``, ``CopySlices`` otherwise; an
    in-place op on a view passes its row (``through_view``)."""
    key = _array_key(t, key)
    backend = t._backend
    if not isinstance(value, Tensor):
        try:
            target = t._data[key].shape
        except IndexError as error:
            raise IndexError(_index_message(str(error), t._data.ndim, key)) from None
        value = _wrap(backend.full(target, value, t._data.dtype), backend)
        advanced = _index_op(key, t._data.shape) is INDEX
    else:
        if value._backend is not backend:
            raise device_error(t, value)
        value, target, advanced = _setitem_value(t, key, value)
    if value._data.dtype != t._data.dtype:
        value = value.to(t.dtype)
    kept = backend.ones(t._data.shape, _dtypes.bool_.numpy)
    kept[key] = False
    out = backend.copy(t._data)
    out[key] = value._data  # replaces: a NaN or inf that ``key`` overwrites is gone
    if through_view is not None:
        op = through_view
    elif advanced:
        op = SETITEM_INDEX_PUT
    elif not through_view and _index_op(key, t._data.shape) is INDEX_ALIAS:
        op = SETITEM_COPY
    else:
        op = SETITEM_COPY_SLICES
    return record(op, out, backend, (t, value), (key, kept))


def setitem_method(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value``."""
    if type(key) is bool:  # PyTorch: True adds a dim to write through, False writes nothing
        if not key:
            return
        key = None
    if not isinstance(value, Tensor):
        value = python_data.checked_setitem(value, self._data.dtype)
    if type(key) is tuple and any(isinstance(k, (Tensor, list)) for k in key):
        split = split_ints(_index_key(key, self))
        if split is not None:  # ints select first (a view), the rest indexes it
            setitem_method(getitem(self, split[0]), split[1], value)
            return
    if _needs_graph(self, (value,)) or not self._backend.is_array(self._data):
        apply_inplace(_setitem, self, key, value)
        return
    key = _array_key(self, key)
    if isinstance(value, Tensor):
        if value._backend is not self._backend:
            raise device_error(self, value)
        value = _setitem_value(self, key, value)[0]._data
    _record_write(self)
    token = fp_errors.set_state(fp_errors.IGNORE)  # a cast that overflows is inf, unwarned
    try:
        self._data[key] = value
    except IndexError as error:
        raise IndexError(_index_message(str(error), self._data.ndim, key)) from None
    except ValueError:  # a read-only (expanded) view: PyTorch writes unless copy_ overlaps
        if _index_op(key, self._data.shape) is not INDEX and self._backend.internal_overlap(
            self._data[key]
        ):
            raise RuntimeError(OVERLAP_ERROR) from None
        _write_through_base(self, key, value)
    finally:
        fp_errors.reset_state(token)


# --- s7-topx: in-place forms of declared ops ----------------------------------------------
INPLACE_FORMS = {
    "absolute": ("absolute_",),
    "negative": ("negative_",),
    "multiply": ("multiply_",),
    "subtract": ("subtract_",),
    "divide": ("divide_",),
    "true_divide": ("true_divide_",),
    "sign": ("sign_",),
    "sgn": ("sgn_",),
    "erf": ("erf_",),
    "expm1": ("expm1_",),
    "log1p": ("log1p_",),
    "reciprocal": ("reciprocal_",),
    "rsqrt": ("rsqrt_",),
    "tan": ("tan_",),
    "cumsum": ("cumsum_",),
    "cumprod": ("cumprod_",),
    "addmm": ("addmm_",),
    "addbmm": ("addbmm_",),
    "baddbmm": ("baddbmm_",),
    "addmv": ("addmv_",),
    "eq": ("eq_",),
    "ne": ("ne_",),
    "not_equal": ("not_equal_",),
    "lt": ("lt_",),
    "less": ("less_",),
    "le": ("le_",),
    "less_equal": ("less_equal_",),
    "gt": ("gt_",),
    "greater": ("greater_",),
    "ge": ("ge_",),
    "greater_equal": ("greater_equal_",),
}
"""PyTorch's in-place methods of ops declared without them, by op (each made by
``inplace_method`` as the declared ones are)."""

COMPARISONS = frozenset(
    name for op in ("eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater",
                    "ge", "greater_equal") for name in INPLACE_FORMS[op]
)  # fmt: skip
"""In-place comparisons: the 0/1 result is cast to the tensor's dtype, and, in a graph, the
tensor takes PyTorch's node (``EqBackward0`` …), whose gradients are zero."""

for _op, _names in INPLACE_FORMS.items():
    registry.add_inplace(_op, *_names)


def _comparison_node(name: str, other: Any) -> Op:
    """The row an in-place comparison records: PyTorch's ``<Op>Backward0`` (a number) or
    ``<Op>Backward1`` (a tensor), zero gradients for both operands."""
    base = {"not_equal": "ne", "less": "lt", "less_equal": "le", "greater": "gt"}
    op = base.get(name.rstrip("_"), name.rstrip("_")).replace("greater_equal", "ge")
    suffix = "1" if isinstance(other, Tensor) else "0"
    key = (op, suffix)
    row = _COMPARISON_ROWS.get(key)
    if row is None:
        grads = (_zero_grad, _zero_grad) if suffix == "1" else (_zero_grad,)
        row = Op(name, f"{op.capitalize()}Backward{suffix}", None, grads)
        _COMPARISON_ROWS[key] = row
    return row


_COMPARISON_ROWS: dict = {}


def comparison_inplace(name: str, function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``function`` (a comparison) for ``name_``: its result cast to ``t``'s dtype and,
    when ``t`` or ``other`` requires grad, recorded with zero gradients."""

    def compare(t: Tensor, other: Any) -> Tensor:
        with no_grad():
            result = function(t, other)
        data = t._backend.astype(result._data, t._data.dtype)
        if not _needs_graph(t, (other,)):
            return _wrap(data, t._backend)
        inputs = (t, other) if isinstance(other, Tensor) else (t,)
        return record(_comparison_node(name, other), data, t._backend, inputs)

    return compare
