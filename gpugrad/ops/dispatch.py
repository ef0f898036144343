"""Recording an op: run its forward on the backend, and give the result a ``Node`` when a
gradient will be needed. ``unary_apply`` and ``binary_apply`` are the per-op hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._grad_mode import state as _grad_state
from .._graph import Node, Op, SliceNode, edge_of, new_node
from .._tensor import Tensor, _wrap, _wrap_result
from ..backends import cpu as _cpu
from ..backends import dtypes as _dtypes
from ..backends.fp_errors import IGNORE as _FP_IGNORE
from ..backends.fp_errors import quiet as _quiet
from ..backends.fp_errors import reset_state as _fp_reset
from ..backends.fp_errors import set_state as _fp_set

Number = int | float | bool
TensorOrNumber = Tensor | Number
Dim = int | Sequence[int] | None

_SCALAR_TYPES = (int, float, bool)

WRAPPED_NUMBER_OPS = frozenset({"add", "sub", "mul", "div"})
"""The ops whose Python-number operand PyTorch wraps into a tensor, so their node lists it
as ``(None, 0)`` in ``next_functions``; every other op takes a number as a ``Scalar``
argument (``x ** 2``, ``2 ** x``, ``1 - x``), which its node does not list."""


class FirstArgumentNode(Node):
    """A node whose first argument is not an input of PyTorch's node: a Python number the
    op takes as a ``Scalar`` (``2 ** x``), or a tensor it never differentiates (``where``'s
    condition). The argument keeps its (``None``) edge, so the derivative formulas line up
    with the edges; ``next_functions`` leaves it out, as PyTorch's does."""

    __slots__ = ()
    argument = 0

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        listed = Node.next_functions.fget(self)
        return listed[: self.argument] + listed[self.argument + 1 :]


class SecondArgumentNode(FirstArgumentNode):
    """As ``FirstArgumentNode``, for the second argument (``x ** 2``, ``1 - x``)."""

    __slots__ = ()
    argument = 1


# --- recording --------------------------------------------------------------------------
def record(op: Op, out: Any, backend: Any, inputs: tuple, attrs: tuple = ()) -> Tensor:
    """Wrap ``out``; when grad mode is on and an input requires grad, give it a node."""
    if _grad_state.enabled:
        for t in inputs:
            if isinstance(t, Tensor) and t._requires_grad:
                if len(inputs) == 1:  # reductions, most shape ops: no generator to run
                    edges = (edge_of(t),)
                    saved = inputs if op.save_inputs else ()
                else:
                    edges = tuple([edge_of(t) if isinstance(t, Tensor) else None for t in inputs])
                    saved = tuple([inputs[i] for i in op.save_inputs])
                if op.grads[0] is None:  # where's condition
                    kind = FirstArgumentNode
                else:
                    kind = SliceNode if op.basic_slice else Node
                node = new_node(
                    kind, op, edges, saved, out if op.save_output else None, attrs, backend
                )
                return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def unary_apply(op: Op, x: Tensor, *attrs: Any) -> Tensor:
    backend = x._backend
    if backend is _cpu:  # NumPy computes log(0), exp(100), 0/0 without warning (fp_errors)
        if attrs:
            out = _quiet.run(op.forward, backend, x._data, *attrs)
        else:  # most unary ops: a plain call, no argument tuple built
            out = _quiet.run(op.forward, backend, x._data)
    else:  # CuPy never warns
        out = op.forward(backend, x._data, *attrs)
    if x._requires_grad and _grad_state.enabled:
        node = x.grad_fn
        node = new_node(
            Node,
            op,
            (node if node is not None and x._output_nr == 0 else edge_of(x),),
            (x,) if op.save_inputs else (),
            out if op.save_output else None,
            attrs,
            backend,
        )
        return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def saved_operands(picks: tuple[int, ...], a: Any, b: Any) -> tuple:
    """Which of a binary op's operands ``(a, b)`` its formulas read (``op.save_inputs``)."""
    if not picks:
        return ()
    if len(picks) == 2:
        return (a, b)
    return (a,) if picks[0] == 0 else (b,)


def device_error(a: Tensor, b: Tensor) -> RuntimeError:
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a._backend.device_str} and {b._backend.device_str}!"
    )


def broadcast_error(a_shape: tuple, b_shape: tuple) -> RuntimeError:
    for i in range(1, max(len(a_shape), len(b_shape)) + 1):
        m = a_shape[-i] if i <= len(a_shape) else 1
        n = b_shape[-i] if i <= len(b_shape) else 1
        if m != n and m != 1 and n != 1:
            dim = max(len(a_shape), len(b_shape)) - i
            return RuntimeError(
                f"The size of tensor a ({m}) must match the size of tensor b ({n}) at "
                f"non-singleton dimension {dim}"
            )
    return RuntimeError(f"shapes {list(a_shape)} and {list(b_shape)} cannot be broadcast")


def first_mismatch(shapes: list[tuple]) -> tuple[tuple, tuple]:
    """The broadcast shape so far and the first shape that does not broadcast with it."""
    current = shapes[0]
    for shape in shapes[1:]:
        n = max(len(current), len(shape))
        a, b = (1,) * (n - len(current)) + current, (1,) * (n - len(shape)) + shape
        if any(m != k and m != 1 and k != 1 for m, k in zip(a, b)):
            return current, shape
        current = tuple(m if k == 1 else k for m, k in zip(a, b))
    return current, shapes[-1]


def operand(value: Any, other: Tensor) -> Any:
    """A non-tensor operand as a Python number (Python numbers never upcast a tensor;
    NumPy scalars, which would, are turned into them first)."""
    if type(value) in _SCALAR_TYPES:
        return value
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, int):  # int subclasses such as IntEnum
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(
        f"unsupported operand type for a gpugrad op: '{type(value).__name__}' "
        "(use gpugrad.tensor(...) to convert arrays)"
    )


def wrap_integer(value: int, dtype: Any) -> int:
    """A Python int cast into an integer tensor's ``dtype`` with wraparound, as PyTorch
    casts scalars (``int8 + 300`` is ``int8 + 44``); ints beyond int64 are left to fail."""
    bits = dtype.itemsize * 8
    low = -(1 << (bits - 1)) if dtype.kind == "i" else 0
    if low <= value < low + (1 << bits) or not -(1 << 63) <= value < (1 << 63):
        return value
    return (value - low) % (1 << bits) + low


def binary_apply(op: Op, a: Tensor, b: Any) -> Tensor:
    """``op(a, b)`` with ``a`` a tensor and ``b`` a tensor or a Python number."""
    backend = a._backend
    ad = a._data
    kind = type(b)
    if kind is not Tensor and (kind is float or kind is int or not isinstance(b, Tensor)):
        if kind is not float and kind is not int:
            b = operand(b, a)
        if ad.dtype.kind != "f":
            dtype = _dtypes.promote_with_scalar(ad.dtype, b)
            if dtype != ad.dtype:
                ad = ad.astype(dtype)
            elif type(b) is int and dtype.kind in "iu":
                b = wrap_integer(b, dtype)
        # quiet on CUDA too: CuPy casts a Python number through NumPy, which warns when
        # it overflows the dtype (``x + 1e300`` on float32 is inf, as in PyTorch)
        out = _quiet.run(op.forward, backend, ad, b)
        if a._requires_grad and _grad_state.enabled:
            node = a.grad_fn
            edge = node if node is not None and a._output_nr == 0 else edge_of(a)
            kind = Node if op.name in WRAPPED_NUMBER_OPS else SecondArgumentNode
            saved = saved_operands(op.save_inputs, a, b)
            node = new_node(
                kind, op, (edge, None), saved, out if op.save_output else None, (), backend
            )
            if ad.shape != out.shape:
                node.shapes = (ad.shape, None)
            return _wrap_result(out, backend, node)
        return _wrap(out, backend)
    if b._backend is not backend:
        raise device_error(a, b)
    bd = b._data
    casts = None
    dtype = ad.dtype
    if dtype is not bd.dtype and dtype != bd.dtype:  # NumPy's builtin dtypes are singletons
        dtype = _dtypes.promote_arrays(ad.dtype, ad.ndim, bd.dtype, bd.ndim)
        casts = (ad.dtype, bd.dtype)
        token = _fp_set(_FP_IGNORE)  # int64 to float16 may overflow: inf, unwarned
        try:
            ad = ad.astype(dtype, copy=False)
            bd = bd.astype(dtype, copy=False)
        finally:
            _fp_reset(token)
    try:
        if backend is _cpu:
            out = _quiet.run(op.forward, backend, ad, bd)
        else:
            out = op.forward(backend, ad, bd)
    except ValueError:
        raise broadcast_error(ad.shape, bd.shape) from None
    if (a._requires_grad or b._requires_grad) and _grad_state.enabled:
        node = a.grad_fn
        edge_a = node if node is not None and a._output_nr == 0 else edge_of(a)
        node = b.grad_fn
        edge_b = node if node is not None and b._output_nr == 0 else edge_of(b)
        saved = saved_operands(op.save_inputs, a, b)
        node = new_node(
            Node, op, (edge_a, edge_b), saved, out if op.save_output else None, (), backend
        )
        shape = out.shape
        if ad.shape != shape or bd.shape != shape:
            node.shapes = (ad.shape, bd.shape)
        if casts is not None:
            node.casts = casts
        return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def reflected_apply(op: Op, a: Tensor, b: Any) -> Tensor:
    """``b op a`` for a Python number ``b`` (``2 ** x``)."""
    b = operand(b, a)
    backend = a._backend
    ad = a._data
    dtype = _dtypes.promote_with_scalar(ad.dtype, b)
    if dtype != ad.dtype:
        ad = ad.astype(dtype)
    out = _quiet.run(op.forward, backend, b, ad) if backend is _cpu else op.forward(backend, b, ad)
    if a._requires_grad and _grad_state.enabled:
        saved = tuple([(b, a)[i] for i in op.save_inputs])
        node = new_node(
            FirstArgumentNode,
            op,
            (None, edge_of(a)),
            saved,
            out if op.save_output else None,
            (),
            backend,
        )
        return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        if value._backend is not like._backend:
            raise device_error(like, value)
        return value
    return _wrap(like._backend.asarray(value), like._backend)
