"""gpugrad's differentiable functions (``gg.sin``, ``gg.sum``, ``Tensor.__mul__`` …).

This module is also the namespace ``F`` that backward formulas use on tensors, so it offers
every name the backends offer on arrays. Each function computes its forward through the
tensor's backend and records a ``Node`` from the derivative table when a gradient will be
needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _derivatives as D
from ._grad_mode import state as _grad_state
from ._graph import Node, Op, edge_of
from ._tensor import Tensor, _wrap, _wrap_result
from .backends import dtypes as _dtypes

Number = int | float | bool
TensorOrNumber = Tensor | Number
Dim = int | Sequence[int] | None

_SCALAR_TYPES = (int, float, bool)


# --- recording --------------------------------------------------------------------------
def _record(op: Op, out: Any, backend: Any, inputs: tuple, attrs: tuple = ()) -> Tensor:
    """Wrap ``out``; when grad mode is on and an input requires grad, give it a node."""
    if _grad_state.enabled:
        for t in inputs:
            if isinstance(t, Tensor) and t.requires_grad:
                edges = tuple(edge_of(t) if isinstance(t, Tensor) else None for t in inputs)
                saved = tuple(inputs[i] for i in op.save_inputs)
                node = Node(op, edges, saved, out if op.save_output else None, attrs, backend)
                return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def _unary(op: Op, x: Tensor, *attrs: Any) -> Tensor:
    backend = x._backend
    out = op.forward(backend, x._data, *attrs)
    if x.requires_grad and _grad_state.enabled:
        node = x.grad_fn
        node = Node(
            op,
            (node if node is not None and x._output_nr == 0 else edge_of(x),),
            (x,) if op.save_inputs else (),
            out if op.save_output else None,
            attrs,
            backend,
        )
        return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def _unary_function(op: Op, floating: bool = False):
    """The function for ``op``; a ``floating`` op computes integer inputs in the default
    float dtype, as PyTorch does (``exp`` of an int64 tensor is float32)."""
    if floating:

        def function(input: Tensor) -> Tensor:
            if input._data.dtype.kind != "f":
                input = to_dtype(input, _dtypes.DEFAULT_FLOAT)
            return _unary(op, input)
    else:

        def function(input: Tensor) -> Tensor:
            return _unary(op, input)

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = f"Elementwise {op.name}; its gradient node is {op.node_name}."
    return function


def _device_error(a: Tensor, b: Tensor) -> RuntimeError:
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a._backend.device_str} and {b._backend.device_str}!"
    )


def _broadcast_error(a_shape: tuple, b_shape: tuple) -> RuntimeError:
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


def _first_mismatch(shapes: list[tuple]) -> tuple[tuple, tuple]:
    """The broadcast shape so far and the first shape that does not broadcast with it."""
    current = shapes[0]
    for shape in shapes[1:]:
        n = max(len(current), len(shape))
        a, b = (1,) * (n - len(current)) + current, (1,) * (n - len(shape)) + shape
        if any(m != k and m != 1 and k != 1 for m, k in zip(a, b)):
            return current, shape
        current = tuple(m if k == 1 else k for m, k in zip(a, b))
    return current, shapes[-1]


def _operand(value: Any, other: Tensor) -> Any:
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


def _saved_pair(op: Op, a: Any, b: Any) -> tuple:
    picks = op.save_inputs
    if not picks:
        return ()
    if len(picks) == 2:
        return (a, b)
    return (a,) if picks[0] == 0 else (b,)


def _binary(op: Op, a: Tensor, b: Any) -> Tensor:
    """``op(a, b)`` with ``a`` a tensor and ``b`` a tensor or a Python number."""
    backend = a._backend
    ad = a._data
    kind = type(b)
    if kind is float or kind is int or not (kind is Tensor or isinstance(b, Tensor)):
        if kind is not float and kind is not int:
            b = _operand(b, a)
        if ad.dtype.kind != "f":
            dtype = _dtypes.promote_with_scalar(ad.dtype, b)
            if dtype != ad.dtype:
                ad = ad.astype(dtype)
        out = op.forward(backend, ad, b)
        if a.requires_grad and _grad_state.enabled:
            node = a.grad_fn
            edge = node if node is not None and a._output_nr == 0 else edge_of(a)
            node = Node(
                op,
                (edge, None),
                _saved_pair(op, a, b),
                out if op.save_output else None,
                (),
                backend,
            )
            if ad.shape != out.shape:
                node.shapes = (ad.shape, None)
            return _wrap_result(out, backend, node)
        return _wrap(out, backend)
    if b._backend is not backend:
        raise _device_error(a, b)
    bd = b._data
    casts = None
    if ad.dtype != bd.dtype:
        dtype = _dtypes.promote_arrays(ad.dtype, ad.ndim, bd.dtype, bd.ndim)
        casts = (ad.dtype, bd.dtype)
        ad = ad.astype(dtype, copy=False)
        bd = bd.astype(dtype, copy=False)
    try:
        out = op.forward(backend, ad, bd)
    except ValueError:
        raise _broadcast_error(ad.shape, bd.shape) from None
    if (a.requires_grad or b.requires_grad) and _grad_state.enabled:
        node = Node(
            op,
            (edge_of(a), edge_of(b)),
            _saved_pair(op, a, b),
            out if op.save_output else None,
            (),
            backend,
        )
        shape = out.shape
        if ad.shape != shape or bd.shape != shape:
            node.shapes = (ad.shape, bd.shape)
        if casts is not None:
            node.casts = casts
        return _wrap_result(out, backend, node)
    return _wrap(out, backend)


def _reflected(op: Op, a: Tensor, b: Any) -> Tensor:
    """``b op a`` for a Python number ``b`` (``2 ** x``)."""
    b = _operand(b, a)
    backend = a._backend
    ad = a._data
    dtype = _dtypes.promote_with_scalar(ad.dtype, b)
    if dtype != ad.dtype:
        ad = ad.astype(dtype)
    return _record(op, op.forward(backend, b, ad), backend, (b, a))


# --- elementwise ------------------------------------------------------------------------
neg = _unary_function(D.NEG)
exp = _unary_function(D.EXP, floating=True)
log = _unary_function(D.LOG, floating=True)
log1p = _unary_function(D.LOG1P, floating=True)
expm1 = _unary_function(D.EXPM1, floating=True)
sqrt = _unary_function(D.SQRT, floating=True)
rsqrt = _unary_function(D.RSQRT, floating=True)
sin = _unary_function(D.SIN, floating=True)
cos = _unary_function(D.COS, floating=True)
tan = _unary_function(D.TAN, floating=True)
tanh = _unary_function(D.TANH, floating=True)
sigmoid = _unary_function(D.SIGMOID, floating=True)
relu = _unary_function(D.RELU)
abs = _unary_function(D.ABS)
sign = _unary_function(D.SIGN)
reciprocal = _unary_function(D.RECIPROCAL, floating=True)
negative = neg


def _float_input(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" else to_dtype(x, _dtypes.DEFAULT_FLOAT)


def add(input: Tensor, other: TensorOrNumber) -> Tensor:
    return _binary(D.ADD, input, other)


def sub(input: Tensor, other: TensorOrNumber) -> Tensor:
    return _binary(D.SUB, input, other)


def mul(input: Tensor, other: TensorOrNumber) -> Tensor:
    return _binary(D.MUL, input, other)


def div(input: Tensor, other: TensorOrNumber) -> Tensor:
    if (
        input._data.dtype.kind != "f"
        and (not isinstance(other, Tensor) or other._data.dtype.kind != "f")
        and not isinstance(other, float)
    ):
        input = _float_input(input)
    return _binary(D.DIV, input, other)


def pow(input: TensorOrNumber, exponent: TensorOrNumber) -> Tensor:
    if not isinstance(input, Tensor):
        return _reflected(D.RPOW, exponent, input)
    if isinstance(exponent, Tensor):
        return _binary(D.POW, input, exponent)
    return _binary(D.POW_SCALAR, input, exponent)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    return _binary(D.MAXIMUM, input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    return _binary(D.MINIMUM, input, other)


def _rsub(self: Tensor, other: Number) -> Tensor:
    return _binary(D.RSUB, self, other)


def _rtruediv(self: Tensor, other: Number) -> Tensor:
    return mul(reciprocal(_float_input(self)), other)


def _rpow(self: Tensor, other: Number) -> Tensor:
    return _reflected(D.RPOW, self, other)


def clamp(input: Tensor, min: Number | None = None, max: Number | None = None) -> Tensor:
    """PyTorch's clamp: gradient 1 inside ``[min, max]``, 0 where a bound is active."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        from ._factories import full_like

        out = input
        if min is not None:
            out = maximum(out, min if isinstance(min, Tensor) else full_like(input, min))
        if max is not None:
            out = minimum(out, max if isinstance(max, Tensor) else full_like(input, max))
        return out
    if isinstance(min, float) or isinstance(max, float):
        input = _float_input(input)
    return _unary(D.CLAMP, input, min, max)


clip = clamp


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    ref = next((t for t in (input, other, condition) if isinstance(t, Tensor)), None)
    if ref is None:
        raise TypeError("where() expects at least one tensor argument")
    backend = ref._backend
    cond = _as_tensor(condition, ref)
    x = _as_tensor(input, ref) if isinstance(input, Tensor) else input
    y = _as_tensor(other, ref) if isinstance(other, Tensor) else other
    xd = x._data if isinstance(x, Tensor) else _operand(x, ref)
    yd = y._data if isinstance(y, Tensor) else _operand(y, ref)
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        if xd.dtype != yd.dtype:
            dtype = _dtypes.promote_arrays(xd.dtype, xd.ndim, yd.dtype, yd.ndim)
            xd, yd = xd.astype(dtype, copy=False), yd.astype(dtype, copy=False)
    elif isinstance(x, Tensor):
        xd = xd.astype(_dtypes.promote_with_scalar(xd.dtype, yd), copy=False)
    elif isinstance(y, Tensor):
        yd = yd.astype(_dtypes.promote_with_scalar(yd.dtype, xd), copy=False)
    else:
        dtype = _dtypes.promote_with_scalar(_dtypes.bool_.numpy, xd)
        xd = backend.asarray(xd, _dtypes.promote_with_scalar(dtype, yd))
    for t in (x, y):
        if isinstance(t, Tensor) and t._backend is not backend:
            raise _device_error(ref, t)
    try:
        out = backend.where(cond._data, xd, yd)
    except ValueError:
        shapes = [cond._data.shape] + [d.shape for d in (xd, yd) if hasattr(d, "shape")]
        raise _broadcast_error(*_first_mismatch(shapes)) from None
    tensor_out = _record(D.WHERE, out, backend, (cond, x, y))
    node = tensor_out.grad_fn
    if node is not None:
        node.shapes = (None, getattr(xd, "shape", None), getattr(yd, "shape", None))
        dtypes = [t._data.dtype if isinstance(t, Tensor) else None for t in (x, y)]
        if any(d is not None and d != out.dtype for d in dtypes):
            node.casts = (None, *dtypes)
    return tensor_out


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        if value._backend is not like._backend:
            raise _device_error(like, value)
        return value
    return _wrap(like._backend.asarray(value), like._backend)


# --- comparisons (not differentiable) ---------------------------------------------------
def _compare(method: str):
    def compare(input: Tensor, other: TensorOrNumber) -> Tensor:
        backend = input._backend
        if isinstance(other, Tensor):
            if other._backend is not backend:
                raise _device_error(input, other)
            other_data = other._data
        else:
            other_data = _operand(other, input)
        try:
            return _wrap(getattr(backend, method)(input._data, other_data), backend)
        except ValueError:
            raise _broadcast_error(input._data.shape, other_data.shape) from None

    compare.__name__ = compare.__qualname__ = method
    return compare


eq = _compare("eq")
ne = _compare("ne")
gt = _compare("gt")
lt = _compare("lt")
ge = _compare("ge")
le = _compare("le")
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


def logical_not(input: Tensor) -> Tensor:
    return _wrap(input._backend.logical_not(input._data), input._backend)


def _logical(method: str):
    def logical(input: Tensor, other: Tensor) -> Tensor:
        other = _as_tensor(other, input)
        return _wrap(getattr(input._backend.xp, method)(input._data, other._data), input._backend)

    logical.__name__ = method
    return logical


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def isnan(input: Tensor) -> Tensor:
    return _wrap(input._backend.isnan(input._data), input._backend)


def isfinite(input: Tensor) -> Tensor:
    return _wrap(input._backend.isfinite(input._data), input._backend)


def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool(eq(input, other).all())


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    xp = input._backend.xp
    return bool(xp.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


# --- casting ----------------------------------------------------------------------------
def to_dtype(input: Tensor, dtype: Any) -> Tensor:
    target = _dtypes.as_dtype(dtype).numpy
    if input._data.dtype == target:
        return input
    out = input._data.astype(target)
    if target.kind != "f":
        return _wrap(out, input._backend)
    return _record(D.TO_DTYPE, out, input._backend, (input,), (input._data.dtype,))


astype = to_dtype
