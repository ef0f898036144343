"""Elementwise ops: arithmetic, unary math, comparisons, logical ops, ``where``, ``clamp``.

A unary op is one ``unary(...)`` declaration: its name, node name, forward on arrays
(``B`` is the backend), and its derivative written in the backward namespace ``ns`` (the
backend on arrays, ``gpugrad.ops.backward_ns`` on tensors), so every gradient is itself
differentiable. ``floating=True`` computes integer inputs in the default float dtype, as
PyTorch does (``exp`` of an int64 tensor is float32); ``domain`` is where the generated
gradient checks draw its inputs.
"""

from __future__ import annotations

import math
from typing import Any

from .._graph import Op
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from .dispatch import (
    Number,
    TensorOrNumber,
    as_tensor,
    binary_apply,
    broadcast_error,
    device_error,
    first_mismatch,
    operand,
    record,
    reflected_apply,
    unary_apply,
)
from .registry import OpDef, alias, declare, register
from .transfer import to_dtype


def unary(
    name: str,
    node: str,
    forward: Any,
    grad: Any,
    *,
    save: tuple[str, ...] = ("x",),
    floating: bool = False,
    inplace: bool = False,
    domain: tuple[float, float] | None = None,
) -> Any:
    """Declare the unary elementwise op ``name`` (``gpugrad.name`` and ``Tensor.name``)."""
    row = Op(name, node, forward, (grad,), save=save)
    if floating:

        def function(input: Tensor) -> Tensor:
            if input._data.dtype.kind != "f":
                input = to_dtype(input, _dtypes.DEFAULT_FLOAT)
            return unary_apply(row, input)
    else:

        def function(input: Tensor) -> Tensor:
            return unary_apply(row, input)

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = f"Elementwise {name}; its gradient node is {node}."
    register(
        OpDef(
            name,
            function,
            methods=(name,),
            inplace=(f"{name}_",) if inplace else (),
            rows=(row,),
            domain=domain,
            family="elementwise",
        )
    )
    return function


# --- unary math -------------------------------------------------------------------------
neg = unary("neg", "NegBackward0", lambda B, x: B.neg(x), lambda ns, g: -g, save=(), inplace=True)
exp = unary(
    "exp",
    "ExpBackward0",
    lambda B, x: B.exp(x),
    lambda ns, g, o: g * o,
    save=("o",),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
log = unary(
    "log",
    "LogBackward0",
    lambda B, x: B.log(x),
    lambda ns, g, x: g / x,
    floating=True,
    inplace=True,
    domain=(0.5, 2),
)
log1p = unary(
    "log1p",
    "Log1PBackward0",
    lambda B, x: B.log1p(x),
    lambda ns, g, x: g / (1 + x),
    floating=True,
    domain=(0.1, 2),
)
expm1 = unary(
    "expm1",
    "Expm1Backward0",
    lambda B, x: B.expm1(x),
    lambda ns, g, o: g * (o + 1),
    save=("o",),
    floating=True,
    domain=(-2, 2),
)
sqrt = unary(
    "sqrt",
    "SqrtBackward0",
    lambda B, x: B.sqrt(x),
    lambda ns, g, o: g / (2 * o),
    save=("o",),
    floating=True,
    inplace=True,
    domain=(0.5, 2),
)
rsqrt = unary(
    "rsqrt",
    "RsqrtBackward0",
    lambda B, x: B.rsqrt(x),
    lambda ns, g, o: -0.5 * g * o * o * o,
    save=("o",),
    floating=True,
    domain=(0.5, 2),
)
sin = unary(
    "sin",
    "SinBackward0",
    lambda B, x: B.sin(x),
    lambda ns, g, x: g * ns.cos(x),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
cos = unary(
    "cos",
    "CosBackward0",
    lambda B, x: B.cos(x),
    lambda ns, g, x: -g * ns.sin(x),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
tan = unary(
    "tan",
    "TanBackward0",
    lambda B, x: B.tan(x),
    lambda ns, g, o: g * (1 + o * o),
    save=("o",),
    floating=True,
    domain=(-1.2, 1.2),
)
tanh = unary(
    "tanh",
    "TanhBackward0",
    lambda B, x: B.tanh(x),
    lambda ns, g, o: g * (1 - o * o),
    save=("o",),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
sigmoid = unary(
    "sigmoid",
    "SigmoidBackward0",
    lambda B, x: B.sigmoid(x),
    lambda ns, g, o: ns.sigmoid_backward(g, o),
    save=("o",),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
relu = unary(
    "relu",
    "ReluBackward0",
    lambda B, x: B.relu(x),
    lambda ns, g, o: ns.where(o > 0, g, 0),
    save=("o",),
    inplace=True,
)
abs = unary(
    "abs", "AbsBackward0", lambda B, x: B.abs(x), lambda ns, g, x: g * ns.sign(x), inplace=True
)
sign = unary(
    "sign", "SignBackward0", lambda B, x: B.sign(x), lambda ns, g: ns.zeros_like(g), save=()
)
reciprocal = unary(
    "reciprocal",
    "ReciprocalBackward0",
    lambda B, x: B.reciprocal(x),
    lambda ns, g, o: -g * o * o,
    save=("o",),
    floating=True,
    domain=(0.5, 2),
)
erf = unary(
    "erf",
    "ErfBackward0",
    lambda B, x: B.erf(x),
    lambda ns, g, x: g * (2 / math.sqrt(math.pi)) * ns.exp(-(x * x)),
    floating=True,
    domain=(-2, 2),
)
alias("negative", "neg")


# --- arithmetic -------------------------------------------------------------------------
def _pow_grad(ns, g, x, y):
    if not isinstance(y, (int, float)):
        return g * y * x ** (y - 1)
    return ns.zeros_like(g) if y == 0 else g * y * x ** (y - 1)


def _pow_exponent_grad(ns, g, x, y, o):
    safe_log = ns.log(ns.where(x == 0, 1, x))
    return g * o * safe_log


def _rpow_grad(ns, g, x, o):
    """``x ** y`` for a number ``x``: ``o * log(x)``; NaN for ``x < 0``, and for ``x == 0``
    zero where ``y >= 0`` (there ``o`` is 0 or 1), as in PyTorch."""
    if x > 0:
        return g * o * math.log(x)
    if x < 0:
        return g * o * math.nan
    return ns.where(o > 1, g * -math.inf, 0)


def binary(name, node, forward, grad_x, grad_y, save=("x", "y")) -> Op:
    return Op(name, node, forward, (grad_x, grad_y), save=save, broadcasts=True)


ADD = binary(
    "add", "AddBackward0", lambda B, x, y: B.add(x, y), lambda ns, g: g, lambda ns, g: g, ()
)
SUB = binary(
    "sub", "SubBackward0", lambda B, x, y: B.sub(x, y), lambda ns, g: g, lambda ns, g: -g, ()
)
RSUB = binary(
    "rsub", "RsubBackward1", lambda B, x, y: B.sub(y, x), lambda ns, g: -g, lambda ns, g: g, ()
)
MUL = binary(
    "mul",
    "MulBackward0",
    lambda B, x, y: B.mul(x, y),
    lambda ns, g, x, y: g * y,
    lambda ns, g, x, y: g * x,
)
DIV = binary(
    "div",
    "DivBackward0",
    lambda B, x, y: B.div(x, y),
    lambda ns, g, x, y: g / y,
    lambda ns, g, x, y: -g * x / (y * y),
)
POW_SCALAR = binary("pow", "PowBackward0", lambda B, x, y: B.pow(x, y), _pow_grad, None)
POW = binary(
    "pow",
    "PowBackward1",
    lambda B, x, y: B.pow(x, y),
    lambda ns, g, x, y, o: _pow_grad(ns, g, x, y),
    _pow_exponent_grad,
    save=("x", "y", "o"),
)
RPOW = binary("pow", "PowBackward2", lambda B, x, y: B.pow(x, y), None, _rpow_grad, save=("x", "o"))
MAXIMUM = binary(
    "maximum",
    "MaximumBackward0",
    lambda B, x, y: B.maximum(x, y),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x > y, g, 0)),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(y > x, g, 0)),
)
MINIMUM = binary(
    "minimum",
    "MinimumBackward0",
    lambda B, x, y: B.minimum(x, y),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x < y, g, 0)),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(y < x, g, 0)),
)


def _float_input(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" else to_dtype(x, _dtypes.DEFAULT_FLOAT)


@declare(methods=("add", "__add__"), inplace=("add_",), rows=(ADD,))
def add(input: Tensor, other: TensorOrNumber) -> Tensor:
    return binary_apply(ADD, input, other)


@declare(methods=("sub", "__sub__"), inplace=("sub_",), rows=(SUB,))
def sub(input: Tensor, other: TensorOrNumber) -> Tensor:
    return binary_apply(SUB, input, other)


@declare(methods=("mul", "__mul__"), inplace=("mul_",), rows=(MUL,))
def mul(input: Tensor, other: TensorOrNumber) -> Tensor:
    return binary_apply(MUL, input, other)


@declare(methods=("div", "__truediv__"), inplace=("div_",), rows=(DIV,))
def div(input: Tensor, other: TensorOrNumber) -> Tensor:
    if (
        input._data.dtype.kind != "f"
        and (not isinstance(other, Tensor) or other._data.dtype.kind != "f")
        and not isinstance(other, float)
    ):
        input = _float_input(input)
    return binary_apply(DIV, input, other)


@declare(methods=("pow", "__pow__"), inplace=("pow_",), rows=(POW_SCALAR, POW, RPOW))
def pow(input: TensorOrNumber, exponent: TensorOrNumber) -> Tensor:
    if not isinstance(input, Tensor):
        return reflected_apply(RPOW, exponent, input)
    if isinstance(exponent, Tensor):
        return binary_apply(POW, input, exponent)
    return binary_apply(POW_SCALAR, input, exponent)


@declare(rows=(MAXIMUM,))
def maximum(input: Tensor, other: Tensor) -> Tensor:
    return binary_apply(MAXIMUM, input, other)


@declare(rows=(MINIMUM,))
def minimum(input: Tensor, other: Tensor) -> Tensor:
    return binary_apply(MINIMUM, input, other)


LOGADDEXP = binary(
    "logaddexp",
    "LogaddexpBackward0",
    lambda B, x, y: B.logaddexp(x, y),
    lambda ns, g, x, y, o: g * ns.exp(x - o),
    lambda ns, g, x, y, o: g * ns.exp(y - o),
    save=("x", "y", "o"),
)


@declare(rows=(LOGADDEXP,), domain=(-3, 3))
def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    return binary_apply(LOGADDEXP, _float_input(input), other)


@declare("__radd__", methods=("__radd__",), export=False, rows=(ADD,))
def _reversed_add(self: Tensor, other: Any) -> Tensor:
    return binary_apply(ADD, self, other)


@declare("__rmul__", methods=("__rmul__",), export=False, rows=(MUL,))
def _reversed_mul(self: Tensor, other: Any) -> Tensor:
    return binary_apply(MUL, self, other)


@declare("__rsub__", methods=("__rsub__",), export=False, rows=(RSUB,))
def _rsub(self: Tensor, other: Number) -> Tensor:
    return binary_apply(RSUB, self, other)


@declare("__rtruediv__", methods=("__rtruediv__",), export=False)
def _rtruediv(self: Tensor, other: Number) -> Tensor:
    return mul(reciprocal(_float_input(self)), other)


@declare("__rpow__", methods=("__rpow__",), export=False, rows=(RPOW,))
def _rpow(self: Tensor, other: Number) -> Tensor:
    return reflected_apply(RPOW, self, other)


declare("__neg__", methods=("__neg__",), export=False)(neg)
declare("__abs__", methods=("__abs__",), export=False)(abs)


CLAMP = Op(
    "clamp",
    "ClampBackward1",
    lambda B, x, low, high: B.clamp(x, low, high),
    # out == x exactly where low <= x <= high (NaN compares false): PyTorch's mask
    (lambda ns, g, x, o, low, high: ns.where(o == x, g, 0),),
    save=("x", "o"),
    attrs=("low", "high"),
)


@declare(inplace=("clamp_", "clip_"), rows=(CLAMP,))
def clamp(input: Tensor, min: Number | None = None, max: Number | None = None) -> Tensor:
    """PyTorch's clamp: gradient 1 inside ``[min, max]``, 0 where a bound is active."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min if isinstance(min, Tensor) else _full_like(input, min))
        if max is not None:
            out = minimum(out, max if isinstance(max, Tensor) else _full_like(input, max))
        return out
    if isinstance(min, float) or isinstance(max, float):
        input = _float_input(input)
    return unary_apply(CLAMP, input, min, max)


def _full_like(like: Tensor, value: Number) -> Tensor:
    backend = like._backend
    return _wrap(backend.full(like._data.shape, value, like._data.dtype), backend)


alias("clip", "clamp")


WHERE = Op(
    "where",
    "WhereBackward0",
    None,
    (None, lambda ns, g, x: ns.where(x, g, 0), lambda ns, g, x: ns.where(x, 0, g)),
    save=("x",),
    broadcasts=True,
)


@declare(methods=(), rows=(WHERE,))
def where(condition: Any, input: Any, other: Any) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    ref = next((t for t in (input, other, condition) if isinstance(t, Tensor)), None)
    if ref is None:
        raise TypeError("where() expects at least one tensor argument")
    backend = ref._backend
    cond = as_tensor(condition, ref)
    x = as_tensor(input, ref) if isinstance(input, Tensor) else input
    y = as_tensor(other, ref) if isinstance(other, Tensor) else other
    xd = x._data if isinstance(x, Tensor) else operand(x, ref)
    yd = y._data if isinstance(y, Tensor) else operand(y, ref)
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
            raise device_error(ref, t)
    try:
        out = backend.where(cond._data, xd, yd)
    except ValueError:
        shapes = [cond._data.shape] + [d.shape for d in (xd, yd) if hasattr(d, "shape")]
        raise broadcast_error(*first_mismatch(shapes)) from None
    tensor_out = record(WHERE, out, backend, (cond, x, y))
    node = tensor_out.grad_fn
    if node is not None:
        node.shapes = (None, getattr(xd, "shape", None), getattr(yd, "shape", None))
        dtypes = [t._data.dtype if isinstance(t, Tensor) else None for t in (x, y)]
        if any(d is not None and d != out.dtype for d in dtypes):
            node.casts = (None, *dtypes)
    return tensor_out


# --- comparisons and logical ops (not differentiable) -----------------------------------
def _compare(method: str, operator: str) -> Any:
    def compare(input: Tensor, other: TensorOrNumber) -> Tensor:
        backend = input._backend
        if isinstance(other, Tensor):
            if other._backend is not backend:
                raise device_error(input, other)
            other_data = other._data
        else:
            other_data = operand(other, input)
        try:
            return _wrap(getattr(backend, method)(input._data, other_data), backend)
        except ValueError:
            raise broadcast_error(input._data.shape, other_data.shape) from None

    compare.__name__ = compare.__qualname__ = method
    compare.__module__ = __name__
    return declare(method, methods=(method, operator))(compare)


eq = _compare("eq", "__eq__")
ne = _compare("ne", "__ne__")
gt = _compare("gt", "__gt__")
lt = _compare("lt", "__lt__")
ge = _compare("ge", "__ge__")
le = _compare("le", "__le__")
alias("greater", "gt", export=False)
alias("less", "lt", export=False)
greater, less = gt, lt


@declare(methods=("logical_not", "__invert__"))
def logical_not(input: Tensor) -> Tensor:
    return _wrap(input._backend.logical_not(input._data), input._backend)


def _logical(method: str, operator: str, public: bool = True) -> Any:
    def logical(input: Tensor, other: Tensor) -> Tensor:
        other = as_tensor(other, input)
        backend = input._backend
        return _wrap(getattr(backend, method)(input._data, other._data), backend)

    logical.__name__ = logical.__qualname__ = method
    logical.__module__ = __name__
    methods = (method, operator) if public else (operator,)
    return declare(method, methods=methods, export=public)(logical)


logical_and = _logical("logical_and", "__and__")
logical_or = _logical("logical_or", "__or__")
logical_xor = _logical("logical_xor", "__xor__", public=False)


@declare()
def isnan(input: Tensor) -> Tensor:
    return _wrap(input._backend.isnan(input._data), input._backend)


@declare()
def isfinite(input: Tensor) -> Tensor:
    return _wrap(input._backend.isfinite(input._data), input._backend)


@declare()
def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool(eq(input, other).all())


@declare()
def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    backend = input._backend
    return backend.allclose(input._data, other._data, rtol, atol, equal_nan)
