"""Elementwise ops: arithmetic, unary math, comparisons, logical ops, ``where``, ``clamp``.

A unary op is one ``unary(...)`` declaration: its name, node name, forward on arrays
(``B`` is the backend), and its derivative written in the backward namespace ``ns`` (the
backend on arrays, ``gpugrad.ops.backward_ns`` on tensors), so every gradient is itself
differentiable. ``floating=True`` computes integer inputs in the default float dtype, as
PyTorch does (``exp`` of an int64 tensor is float32); ``domain`` is where the generated
gradient checks draw its inputs.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from .._graph import Op, named_node
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from ..backends import python_data as _python_data
from ..backends.fp_errors import quiet as _quiet
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
    wrap_integer,
)
from .registry import REGISTRY, OpDef, alias, declare, register
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
    bool_error: str | Any = None,
) -> Any:
    """Declare the unary elementwise op ``name`` (``gpugrad.name`` and ``Tensor.name``);
    ``bool_error``: PyTorch's refusal of a bool input."""
    row = Op(name, node, forward, (grad,), save=save)
    if bool_error is not None:

        def function(input: Tensor) -> Tensor:
            if input._data.dtype.kind == "b":
                raise bool_error(input) if callable(bool_error) else RuntimeError(bool_error)
            return unary_apply(row, input)
    elif floating:

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
neg = unary(
    "neg",
    "NegBackward0",
    lambda B, x: B.neg(x),
    lambda ns, g: -g,
    save=(),
    inplace=True,
    bool_error="Negation, the `-` operator, on a bool tensor is not supported. If you are "
    "trying to invert a mask, use the `~` or `logical_not()` operator instead.",
)
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
    lambda ns, g, o: ns.relu_backward(g, o),  # PyTorch's mask: NaN passes the gradient
    save=("o",),
    inplace=True,
    bool_error="Boolean inputs not supported for relu",
)
abs = unary(
    "abs",
    "AbsBackward0",
    lambda B, x: B.abs(x),
    lambda ns, g, x: g * ns.sign(x),
    inplace=True,
    bool_error=lambda x: _not_implemented("abs", x),
)
sign = unary(
    "sign",
    "SignBackward0",
    lambda B, x: x.copy() if x.dtype.kind == "b" else B.sign(x),  # bool: itself, as PyTorch
    lambda ns, g: ns.zeros_like(g),
    save=(),
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
def _check_broadcast(a_shape: tuple, b_shape: tuple) -> None:
    """PyTorch's broadcasting error, for ops that check shapes before their dtypes."""
    if any(m != n and m != 1 and n != 1 for m, n in zip(a_shape[::-1], b_shape[::-1])):
        raise broadcast_error(a_shape, b_shape)


def _not_a_tensor(function: str, argument: str, position: int, value: Any) -> TypeError:
    """PyTorch's refusal of a number (or other non-tensor) where its signature wants a
    Tensor (``maximum(x, 1)``); ``position`` counts from 1 in the function form (the method
    form, ``x.maximum(1)``, calls the same function, so it reads one more than PyTorch's)."""
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return TypeError(
        f"{function}(): argument '{argument}' (position {position}) must be Tensor, not {name}"
    )


def _pow_grad(ns, g, x, y):
    if not isinstance(y, (int, float)):  # zero where the exponent is 0, as PyTorch
        _refuse_bool_subtraction(y)  # PyTorch's formula computes y - 1
        return ns.where(y == 0, 0, g * y * x ** (y - 1))
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
    lambda ns, g, x, y: -g * ((x / y) / y),  # PyTorch's order: no overflow of y * y
)
DIV_ROUNDED = binary(  # div(..., rounding_mode=): a step function
    "div",
    "DivBackward2",
    None,
    lambda ns, g: ns.zeros_like(g),
    lambda ns, g: ns.zeros_like(g),
    save=(),
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
    # PyTorch's masks: a tie splits, the smaller side gets 0, and NaN passes to both
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x < y, 0, g)),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x > y, 0, g)),
)
MINIMUM = binary(
    "minimum",
    "MinimumBackward0",
    lambda B, x, y: B.minimum(x, y),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x > y, 0, g)),
    lambda ns, g, x, y: ns.where(x == y, g / 2, ns.where(x < y, 0, g)),
)


def _float_input(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" else to_dtype(x, _dtypes.DEFAULT_FLOAT)


def _floating_pair(input: Tensor, other: TensorOrNumber) -> Tensor:
    """``input`` for a floating-only binary op: cast to the default float dtype only when
    ``other`` is not floating either (else promotion picks ``other``'s float dtype, as
    PyTorch: ``atan2(int64 tensor, float64 0-d tensor)`` is float64)."""
    other_kind = other._data.dtype.kind if isinstance(other, Tensor) else None
    if other_kind == "f" or isinstance(other, float):
        return input
    return _float_input(input)


@declare(methods=("add", "__add__"), inplace=("add_",), rows=(ADD,))
def add(input: Tensor, other: TensorOrNumber, *, alpha: Number = 1) -> Tensor:
    """``input + alpha * other``, broadcast, in PyTorch's result dtype."""
    return binary_apply(ADD, input, _scaled_by_alpha(input, other, alpha))


@declare(methods=("sub", "__sub__"), inplace=("sub_",), rows=(SUB,))
def sub(input: Tensor, other: TensorOrNumber, *, alpha: Number = 1) -> Tensor:
    """``input - alpha * other``, broadcast, in PyTorch's result dtype."""
    _check_bool_subtraction(input, other)
    return binary_apply(SUB, input, _scaled_by_alpha(input, other, alpha))


def _check_bool_subtraction(input: Tensor, other: TensorOrNumber) -> None:
    """PyTorch refuses ``-`` on bools (a Python bool counts as one)."""
    kind = type(other)
    if (
        type(input) is Tensor
        and input._data.dtype.kind != "b"
        and (kind is float or kind is int or (kind is Tensor and other._data.dtype.kind != "b"))
    ):
        return  # the common case, without building the list
    bools = [
        t._data.dtype.kind == "b" if isinstance(t, Tensor) else isinstance(t, bool)
        for t in (input, other)
    ]
    if all(bools):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead."
        )
    if any(bools):
        raise RuntimeError(_BOOL_SUBTRACTION)


_NO_DTYPE = _dtypes.float64.numpy  # stands for a Python number's "dtype": not bool
_BOOL_SUBTRACTION = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
    "to invert a mask, use the `~` or `logical_not()` operator instead."
)


def _scaled_by_alpha(input: Tensor, other: TensorOrNumber, alpha: Number) -> TensorOrNumber:
    """``alpha * other`` for ``add``/``sub``, refusing the alphas PyTorch refuses."""
    if type(alpha) is int and alpha == 1:
        return other
    kinds = (input._data.dtype.kind, other._data.dtype.kind if isinstance(other, Tensor) else None)
    integral = kinds[0] in "biu" and (
        kinds[1] in ("b", "i", "u") if kinds[1] else not isinstance(other, float)
    )
    boolean = kinds[0] == "b" and (kinds[1] == "b" if kinds[1] else isinstance(other, bool))
    if isinstance(alpha, bool) and not boolean:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and integral:
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if boolean:
        return other if alpha else (other & False if isinstance(other, Tensor) else False)
    # scaled in the result's dtype, as PyTorch: a float result gets -0.0 from 0 * -1
    if isinstance(other, Tensor):
        if kinds[0] == "f" and kinds[1] != "f":
            other = to_dtype(other, input.dtype)
        return mul(other, alpha)
    return float(other) * alpha if kinds[0] == "f" else other * alpha


@declare(methods=("mul", "__mul__"), inplace=("mul_",), rows=(MUL,))
def mul(input: Tensor, other: TensorOrNumber) -> Tensor:
    """``input * other``, broadcast, in PyTorch's result dtype."""
    return binary_apply(MUL, input, other)


@declare(methods=("div", "__truediv__"), inplace=("div_",), rows=(DIV, DIV_ROUNDED))
def div(input: Tensor, other: TensorOrNumber, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``: true division (integer tensors divide in the default float dtype),
    or rounded toward zero (``rounding_mode="trunc"``) or down (``"floor"``)."""
    if rounding_mode is not None:
        return _rounded_div(input, other, rounding_mode)
    if (
        input._data.dtype.kind != "f"
        and (not isinstance(other, Tensor) or other._data.dtype.kind != "f")
        and not isinstance(other, float)
    ):
        input = _float_input(input)
    return binary_apply(DIV, input, other)


def _negative_integer_exponent(input: TensorOrNumber, exponent: TensorOrNumber) -> bool:
    """An integer tensor exponent with a negative entry on an integer base (NumPy refuses
    it; PyTorch answers)."""
    if not isinstance(exponent, Tensor) or exponent._data.dtype.kind not in "iu":
        return False
    if isinstance(input, Tensor):
        if input._data.dtype.kind not in "biu":
            return False
    elif not isinstance(input, int):
        return False
    return bool((exponent._data < 0).any())


def _bool_pow(input: TensorOrNumber, exponent: TensorOrNumber) -> Tensor | None:
    """``bool ** bool`` as PyTorch: a bool tensor to a Python bool power stays bool (``x ** True``
    is ``x``, ``x ** False`` all True); a bool tensor on both sides is refused."""
    kinds = [t._data.dtype.kind if isinstance(t, Tensor) else type(t) for t in (input, exponent)]
    if kinds not in (["b", "b"], ["b", bool], [bool, "b"]):
        return None
    if kinds != ["b", bool]:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    backend = input._backend
    if exponent:
        return _wrap(backend.copy(input._data), backend)
    return _wrap(backend.full(input._data.shape, True, input._data.dtype), backend)


def _rounded_div(input: Tensor, other: TensorOrNumber, rounding_mode: str) -> Tensor:
    """``div`` with a ``rounding_mode``: PyTorch's DivBackward2 node, whose gradients are
    zero (a step function's)."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    if not (input._requires_grad or isinstance(other, Tensor) and other._requires_grad):
        return _rounded_values(input, other, rounding_mode)
    values = _rounded_values(
        _wrap(input._data, input._backend),
        _wrap(other._data, other._backend) if isinstance(other, Tensor) else other,
        rounding_mode,
    )
    result = _record_broadcast(DIV_ROUNDED, values._data, (input, other))
    node = result.grad_fn
    if node is not None:
        casts = [t._data.dtype if isinstance(t, Tensor) else None for t in (input, other)]
        if any(d is not None and d != values._data.dtype for d in casts):
            node.casts = tuple(casts)
    return result


def _rounded_values(input: Tensor, other: TensorOrNumber, rounding_mode: str) -> Tensor:
    if rounding_mode == "floor":
        return floor_divide(input, other)
    other_kind = other._data.dtype.kind if isinstance(other, Tensor) else None
    if input._data.dtype.kind == "f" or other_kind == "f" or isinstance(other, float):
        return trunc(div(input, other))
    if input._data.dtype.kind == "b" and (other_kind == "b" or isinstance(other, bool)):
        raise NotImplementedError("\"div_trunc_cpu\" not implemented for 'Bool'")
    _check_integer_divisor(input, other)
    if input._data.dtype.kind == "b":  # computed in the result's integer dtype
        input = to_dtype(input, _dtypes.from_numpy_dtype(_promoted(input, other)[1].dtype))
    # exact in integers: input - fmod(input, other) is a multiple of other
    return floor_divide(sub(input, fmod(input, other)), other)


@declare(methods=("pow", "__pow__"), inplace=("pow_",), rows=(POW_SCALAR, POW, RPOW))
def pow(input: TensorOrNumber, exponent: TensorOrNumber) -> Tensor:
    """``input ** exponent`` (either may be a number)."""
    boolean = _bool_pow(input, exponent)
    if boolean is not None:
        return boolean
    if (
        isinstance(input, Tensor)
        and input._data.dtype.kind in "biu"
        and type(exponent) is int
        and exponent < 0
    ):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if _negative_integer_exponent(input, exponent):
        base = input if isinstance(input, Tensor) else exponent
        backend = base._backend
        if isinstance(input, Tensor):
            backend, x, y = _promoted(input, exponent)
        else:
            backend, y, x = _promoted(exponent, input)
        return _wrap(backend.integer_power(x, y), backend)
    if not isinstance(input, Tensor):
        return reflected_apply(RPOW, exponent, input)
    if isinstance(exponent, Tensor):
        return binary_apply(POW, input, exponent)
    return binary_apply(POW_SCALAR, input, exponent)


@declare(rows=(MAXIMUM,))
def maximum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise maximum (NaN propagates); a tie splits the gradient."""
    if not isinstance(other, Tensor):
        raise _not_a_tensor("maximum", "other", 2, other)
    return binary_apply(MAXIMUM, input, other)


@declare(rows=(MINIMUM,))
def minimum(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise minimum (NaN propagates); a tie splits the gradient."""
    if not isinstance(other, Tensor):
        raise _not_a_tensor("minimum", "other", 2, other)
    return binary_apply(MINIMUM, input, other)


def _logaddexp_grad(ns, g, x, y, o):
    """``g * exp(x - o)``; PyTorch's formula subtracts the inputs, so a bool input makes
    its backward raise (``other - self``)."""
    _refuse_bool_subtraction(x, y)
    return g * ns.exp(x - o)


def _refuse_bool_subtraction(*inputs: Any) -> None:
    """Raise PyTorch's bool-subtraction error when an array or tensor among ``inputs`` is
    bool (Python numbers pass)."""
    if any(getattr(getattr(t, "_data", t), "dtype", _NO_DTYPE).kind == "b" for t in inputs):
        raise RuntimeError(_BOOL_SUBTRACTION)


LOGADDEXP = binary(
    "logaddexp",
    "LogaddexpBackward0",
    lambda B, x, y: B.logaddexp(x, y),
    _logaddexp_grad,
    lambda ns, g, x, y, o: _logaddexp_grad(ns, g, y, x, o),
    save=("x", "y", "o"),
)


@declare(rows=(LOGADDEXP,), domain=(-3, 3))
def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    if not isinstance(other, Tensor):
        raise _not_a_tensor("logaddexp", "other", 2, other)
    _, promoted, _ = _promoted(input, other)
    if promoted.dtype.kind in "biu":  # no integer kernel, as in PyTorch
        raise _not_implemented("logaddexp", input, dtype=promoted.dtype)
    return binary_apply(LOGADDEXP, _floating_pair(input, other), other)


@declare("__radd__", methods=("__radd__",), export=False, rows=(ADD,))
def _reversed_add(self: Tensor, other: Any) -> Tensor:
    """``other + self``."""
    return binary_apply(ADD, self, other)


@declare("__rmul__", methods=("__rmul__",), export=False, rows=(MUL,))
def _reversed_mul(self: Tensor, other: Any) -> Tensor:
    """``other * self``."""
    return binary_apply(MUL, self, other)


@declare("__rsub__", methods=("__rsub__",), export=False, rows=(RSUB,))
def _rsub(self: Tensor, other: Number) -> Tensor:
    """``other - self``."""
    _check_bool_subtraction(self, other)
    return binary_apply(RSUB, self, other)


@declare("__rtruediv__", methods=("__rtruediv__",), export=False)
def _rtruediv(self: Tensor, other: Number) -> Tensor:
    """``other / self``."""
    return mul(reciprocal(_float_input(self)), other)


@declare("__rpow__", methods=("__rpow__",), export=False, rows=(RPOW,))
def _rpow(self: Tensor, other: Number) -> Tensor:
    """``other ** self``."""
    return pow(other, self)


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


def _clamp_input_grad(ns, g, x, y, z):
    """1 where ``min <= x <= max`` (NaN compares false), as PyTorch's ``clamp_backward``."""
    if y is None:
        return ns.where(x <= z, g, 0)
    if z is None:
        return ns.where(x >= y, g, 0)
    return ns.where((x >= y) & (x <= z), g, 0)


def _clamp_min_grad(ns, g, x, y, z):
    """The lower bound's: where it is active and not above ``max`` (``max`` wins then)."""
    if z is None:
        return ns.where(x < y, g, 0)
    return ns.where((x < y) & (y < z), g, 0)


def _clamp_max_grad(ns, g, x, y, z):
    """The upper bound's: where it is active, or below ``min``."""
    if y is None:
        return ns.where(x > z, g, 0)
    return ns.where((x > z) | (z < y), g, 0)


CLAMP_TENSORS = Op(
    "clamp",
    "ClampBackward0",
    None,
    (_clamp_input_grad, _clamp_min_grad, _clamp_max_grad),
    save=("x", "y", "z"),
)
_CLAMP_OVERLOADS = (
    " * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)\n"
    " * (Tensor input, Number min = None, Number max = None, *, Tensor out = None)\n"
)


def _clamp_scalar_bound(input: Tensor, min: Any, max: Any) -> tuple[Any, Any]:
    """A tensor bound next to a number: PyTorch's ``Number`` overload takes it only when it
    is 0-d and needs no gradient (as its number); otherwise no overload fits."""
    bounds = []
    for bound in (min, max):
        if isinstance(bound, Tensor):
            if bound._data.ndim or bound._requires_grad:
                got = ", ".join(
                    "Tensor" if isinstance(a, Tensor) else type(a).__name__
                    for a in (input, min, max)
                )
                raise TypeError(
                    f"clamp() received an invalid combination of arguments - got ({got}), but "
                    f"expected one of:\n{_CLAMP_OVERLOADS}"
                )
            bound = bound.item()
        bounds.append(bound)
    return bounds[0], bounds[1]


def _clamp_tensors(input: Tensor, min: Tensor | None, max: Tensor | None) -> Tensor:
    """``clamp`` by tensor bounds (broadcast, promoted): ``min(max(input, min), max)``,
    NaN wherever any of them is NaN; one node (ClampBackward0) for all three."""
    backend = input._backend
    inputs = (input, min, max)
    arrays = [t._data if t is not None else None for t in inputs]
    dtype, ndim = arrays[0].dtype, arrays[0].ndim
    for t in (min, max):
        if t is not None:
            if t._backend is not backend:
                raise device_error(input, t)
            dtype = _dtypes.promote_arrays(dtype, ndim, t._data.dtype, t._data.ndim)
            ndim = builtins.max(ndim, t._data.ndim)
    arrays = [a if a is None else a.astype(dtype, copy=False) for a in arrays]
    out = arrays[0]
    try:
        if min is not None:
            out = backend.maximum(out, arrays[1])
        if max is not None:
            out = backend.minimum(out, arrays[2])
    except ValueError:
        shapes = [a.shape for a in arrays if a is not None]
        raise broadcast_error(*first_mismatch(shapes)) from None
    if out is arrays[0]:
        out = backend.copy(out)
    result = _record_broadcast(CLAMP_TENSORS, out, inputs)
    node = result.grad_fn
    if node is not None and any(t is not None and t._data.dtype != dtype for t in inputs):
        node.casts = tuple(None if t is None else t._data.dtype for t in inputs)
    return result


@declare(inplace=("clamp_", "clip_"), rows=(CLAMP, CLAMP_TENSORS))
def clamp(input: Tensor, min: Number | None = None, max: Number | None = None) -> Tensor:
    """PyTorch's clamp: gradient 1 inside ``[min, max]``, 0 where a bound is active (and to
    tensor bounds where they are); ``max`` wins where ``min > max``."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is None or max is None or (isinstance(min, Tensor) and isinstance(max, Tensor)):
            return _clamp_tensors(input, min, max)
        min, max = _clamp_scalar_bound(input, min, max)
    if isinstance(min, float) or isinstance(max, float):
        input = _float_input(input)
    elif input._data.dtype.kind == "b":
        if any(type(b) is int for b in (min, max)):  # bool and int: computed in int64
            input = to_dtype(input, _dtypes.as_dtype("int64"))
        else:
            kernel = "clamp_min_scalar" if max is None else "clamp_scalar"
            raise _not_implemented("clamp_max_scalar" if min is None else kernel, input)
    dtype = input._data.dtype
    min, max = _python_data.checked_fill(min, dtype), _python_data.checked_fill(max, dtype)
    return unary_apply(CLAMP, input, min, max)


def _full_like(like: Tensor, value: Number) -> Tensor:
    backend = like._backend
    value = _python_data.checked_fill(value, like._data.dtype)
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
    if cond._data.dtype.kind != "b":
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            + _dtypes.SCALAR_TYPE_NAMES[cond._data.dtype.name]
        )
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
        _python_data.checked_fill(other, xd.dtype)
    elif isinstance(y, Tensor):
        yd = yd.astype(_dtypes.promote_with_scalar(yd.dtype, xd), copy=False)
        _python_data.checked_fill(input, yd.dtype)
    else:
        dtype = _dtypes.promote_with_scalar(
            _dtypes.promote_with_scalar(_dtypes.bool_.numpy, xd), yd
        )
        _python_data.checked_fill(input, dtype)
        _python_data.checked_fill(other, dtype)
        xd = backend.asarray(xd, dtype)
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


@declare("where_method", methods=("where",), export=False)
def where_method(self: Tensor, condition: Any, other: Any) -> Tensor:
    """``Tensor.where(condition, other)``: ``self`` where ``condition`` holds, else
    ``other`` (``gpugrad.where(condition, self, other)``)."""
    return where(condition, self, other)


# --- comparisons and logical ops (not differentiable) -----------------------------------
def _compare(method: str, operator: str) -> Any:
    def compare(input: Tensor, other: TensorOrNumber) -> Tensor:
        if other is None and method in ("eq", "ne"):
            return method == "ne"  # PyTorch: ``t == None`` is False, ``t != None`` True
        backend = input._backend
        if isinstance(other, Tensor):
            if other._backend is not backend:
                raise device_error(input, other)
            other_data = other._data
        else:
            other_data = operand(other, input)
        try:
            # quiet: a number past the dtype's range (x > 1e300 on float32) compares as inf
            out = _quiet.run(getattr(backend, method), input._data, other_data)
        except ValueError:
            raise broadcast_error(input._data.shape, other_data.shape) from None
        return _wrap(out, backend)

    compare.__name__ = compare.__qualname__ = method
    compare.__module__ = __name__
    symbol = {
        "__eq__": "==",
        "__ne__": "!=",
        "__gt__": ">",
        "__lt__": "<",
        "__ge__": ">=",
        "__le__": "<=",
    }
    compare.__doc__ = f"Elementwise ``input {symbol[operator]} other``: a bool tensor."
    return declare(method, methods=(method, operator))(compare)


eq = _compare("eq", "__eq__")
ne = _compare("ne", "__ne__")
gt = _compare("gt", "__gt__")
lt = _compare("lt", "__lt__")
ge = _compare("ge", "__ge__")
le = _compare("le", "__le__")
alias("greater", "gt")
alias("less", "lt")
greater, less = gt, lt


@declare(inplace=("logical_not_",))
def logical_not(input: Tensor) -> Tensor:
    """Elementwise logical NOT: True where ``input`` is zero."""
    return _wrap(input._backend.logical_not(input._data), input._backend)


def _logical(method: str) -> Any:
    def logical(input: Tensor, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise _not_a_tensor(method, "other", 2, other)
        backend = input._backend
        if other._backend is not backend:
            raise device_error(input, other)
        try:
            return _wrap(getattr(backend, method)(input._data, other._data), backend)
        except ValueError:
            raise broadcast_error(input._data.shape, other._data.shape) from None

    logical.__name__ = logical.__qualname__ = method
    logical.__module__ = __name__
    logical.__doc__ = f"Elementwise {method.replace('_', ' ').upper()} of truth values."
    return declare(method, inplace=(f"{method}_",))(logical)


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


@declare()
def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN."""
    return _wrap(input._backend.isnan(input._data), input._backend)


@declare()
def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither infinite nor NaN."""
    return _wrap(input._backend.isfinite(input._data), input._backend)


@declare()
def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and elements."""
    return input.shape == other.shape and bool(eq(input, other).all())


@declare()
def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> bool:
    """True when every element of ``input`` is close to ``other`` (see ``isclose``)."""
    backend = input._backend
    return backend.allclose(input._data, other._data, rtol, atol, equal_nan)


# --- more unary math --------------------------------------------------------------------
_LN2 = math.log(2)
_LN10 = math.log(10)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

exp2 = unary(
    "exp2",
    "Exp2Backward0",
    lambda B, x: B.exp2(x),
    lambda ns, g, o: g * o * _LN2,
    save=("o",),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
log2 = unary(
    "log2",
    "Log2Backward0",
    lambda B, x: B.log2(x),
    lambda ns, g, x: g / (x * _LN2),
    floating=True,
    inplace=True,
    domain=(0.5, 2),
)
log10 = unary(
    "log10",
    "Log10Backward0",
    lambda B, x: B.log10(x),
    lambda ns, g, x: g / (x * _LN10),
    floating=True,
    inplace=True,
    domain=(0.5, 2),
)
asin = unary(
    "asin",
    "AsinBackward0",
    lambda B, x: B.asin(x),
    lambda ns, g, x: g * ns.rsqrt(1 - x * x),
    floating=True,
    inplace=True,
    domain=(-0.8, 0.8),
)
acos = unary(
    "acos",
    "AcosBackward0",
    lambda B, x: B.acos(x),
    lambda ns, g, x: -g * ns.rsqrt(1 - x * x),
    floating=True,
    inplace=True,
    domain=(-0.8, 0.8),
)
atan = unary(
    "atan",
    "AtanBackward0",
    lambda B, x: B.atan(x),
    lambda ns, g, x: g / (1 + x * x),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
sinh = unary(
    "sinh",
    "SinhBackward0",
    lambda B, x: B.sinh(x),
    lambda ns, g, x: g * ns.cosh(x),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
cosh = unary(
    "cosh",
    "CoshBackward0",
    lambda B, x: B.cosh(x),
    lambda ns, g, x: g * ns.sinh(x),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
asinh = unary(
    "asinh",
    "AsinhBackward0",
    lambda B, x: B.asinh(x),
    lambda ns, g, x: g * ns.rsqrt(x * x + 1),
    floating=True,
    inplace=True,
    domain=(-2, 2),
)
acosh = unary(
    "acosh",
    "AcoshBackward0",
    lambda B, x: B.acosh(x),
    lambda ns, g, x: g * ns.rsqrt(x * x - 1),
    floating=True,
    inplace=True,
    domain=(1.2, 3),
)
atanh = unary(
    "atanh",
    "AtanhBackward0",
    lambda B, x: B.atanh(x),
    lambda ns, g, x: g / (1 - x * x),
    floating=True,
    inplace=True,
    domain=(-0.8, 0.8),
)
erfc = unary(
    "erfc",
    "ErfcBackward0",
    lambda B, x: B.erfc(x),
    lambda ns, g, x: -g * _TWO_OVER_SQRT_PI * ns.exp(-(x * x)),
    floating=True,
    inplace=True,
    domain=(-2, 3),
)
erfinv = unary(
    "erfinv",
    "ErfinvBackward0",
    lambda B, x: B.erfinv(x),
    lambda ns, g, o: g * (math.sqrt(math.pi) / 2) * ns.exp(o * o),
    save=("o",),
    floating=True,
    inplace=True,
    domain=(-0.9, 0.9),
)
lgamma = unary(
    "lgamma",
    "LgammaBackward0",
    lambda B, x: B.lgamma(x),
    lambda ns, g, x: g * ns.digamma(x),
    floating=True,
    inplace=True,
    domain=(2.5, 6),
)
digamma = unary(
    "digamma",
    "DigammaBackward0",
    lambda B, x: B.digamma(x),
    lambda ns, g, x: g * ns.polygamma(1, x),
    floating=True,
    inplace=True,
    domain=(0.2, 1.2),
)
for _name, _of in (
    ("arcsin", "asin"),
    ("arccos", "acos"),
    ("arctan", "atan"),
    ("arcsinh", "asinh"),
    ("arccosh", "acosh"),
    ("arctanh", "atanh"),
):
    alias(_name, _of)
    register(
        OpDef(f"{_name}_", REGISTRY[_of].function, methods=(), inplace=(f"{_name}_",), export=False)
    )


POLYGAMMA = Op(
    "polygamma",
    "PolygammaBackward0",
    lambda B, x, n: B.polygamma(n, x),
    (lambda ns, g, x, n: g * ns.polygamma(n + 1, x),),
    save=("x",),
    attrs=("n",),
)


@declare(methods=(), rows=(POLYGAMMA,))
def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of ``digamma`` (``polygamma(0, x)`` is ``digamma(x)``)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return unary_apply(POLYGAMMA, _float_input(input), n)


@declare("Tensor.polygamma", methods=("polygamma",), inplace=("polygamma_",), export=False)
def _polygamma_method(self: Tensor, n: int) -> Tensor:
    """``polygamma(n, self)``."""
    return polygamma(n, self)


# --- rounding (integer-valued: zero gradients, integer tensors kept as they are) -------
def _not_implemented(
    kernel: str, x: Tensor, per_device: bool = True, dtype: Any = None
) -> NotImplementedError:
    """PyTorch's error for a kernel without this dtype (``"frac_cpu" not implemented for
    'Long'``; ``per_device=False`` for kernels named without the device; ``dtype``: the
    computation's dtype where it is not ``x``'s)."""
    name = _dtypes.SCALAR_TYPE_NAMES[(x._data.dtype if dtype is None else dtype).name]
    full = f"{kernel}_{x._backend.device.type}" if per_device else kernel
    return NotImplementedError(f"\"{full}\" not implemented for '{name}'")


def _rounding(name: str, node: str) -> Any:
    row = Op(name, node, lambda B, x: getattr(B, name)(x), (lambda ns, g: ns.zeros_like(g),))

    def function(input: Tensor) -> Tensor:
        if input._data.dtype.kind == "b":
            raise _not_implemented(f"{name}_vml", input)
        return unary_apply(row, input)

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = f"Elementwise {name}; integer tensors are returned unchanged (a copy)."
    register(
        OpDef(
            name,
            function,
            methods=(name,),
            inplace=(f"{name}_",),
            rows=(row,),
            family="elementwise",
        )
    )
    return function


floor = _rounding("floor", "FloorBackward0")
ceil = _rounding("ceil", "CeilBackward0")
trunc = _rounding("trunc", "TruncBackward0")
alias("fix", "trunc")
register(OpDef("fix_", trunc, methods=(), inplace=("fix_",), export=False))

ROUND = Op("round", "RoundBackward0", lambda B, x: B.round(x), (lambda ns, g: ns.zeros_like(g),))
ROUND_DECIMALS = Op(
    "round",
    "RoundBackward1",
    lambda B, x, decimals: B.round(x, decimals),
    (lambda ns, g, decimals: ns.zeros_like(g),),
    attrs=("decimals",),
)


@declare(inplace=("round_",), rows=(ROUND, ROUND_DECIMALS))
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even; ``decimals`` rounds to that many decimal places (negative:
    to tens, hundreds ...), as ``torch.round``."""
    if input._data.dtype.kind == "b":
        raise _not_implemented("round" if decimals else "round_vml", input)
    if decimals == 0:
        return unary_apply(ROUND, input)
    if input._data.dtype.kind != "f":
        raise _not_implemented("round", input)
    return unary_apply(ROUND_DECIMALS, input, decimals)


FRAC = Op("frac", "FracBackward0", lambda B, x: B.frac(x), (lambda ns, g: g,))


@declare(inplace=("frac_",), rows=(FRAC,))
def frac(input: Tensor) -> Tensor:
    """``input - trunc(input)``: the fractional part, with the sign of ``input``."""
    if input._data.dtype.kind != "f":
        raise _not_implemented("frac", input)
    return unary_apply(FRAC, input)


@declare(inplace=("square_",))
def square(input: Tensor) -> Tensor:
    """``input ** 2`` (its node is PowBackward0, as PyTorch's)."""
    return pow(input, 2)


# --- more binary math -------------------------------------------------------------------
def _tensor_other(name: str, other: Any) -> None:
    if not isinstance(other, Tensor):
        raise _not_a_tensor(name, "other", 2, other)


def _atan2_reciprocal(ns: Any, x: Any, y: Any) -> Any:
    """``1 / (x² + y²)``, 0 where that is 0: PyTorch's atan2 gradient at the origin is 0,
    not NaN."""
    squares = x * x + y * y
    return ns.where(squares == 0, 0, 1 / squares)


ATAN2 = binary(
    "atan2",
    "Atan2Backward0",
    lambda B, x, y: B.atan2(x, y),
    lambda ns, g, x, y: g * y * _atan2_reciprocal(ns, x, y),
    lambda ns, g, x, y: -g * x * _atan2_reciprocal(ns, x, y),
)


@declare(inplace=("atan2_",), rows=(ATAN2,), domain=(-2, 2))
def atan2(input: Tensor, other: Tensor) -> Tensor:
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right
    quadrant."""
    _tensor_other("atan2", other)
    return binary_apply(ATAN2, _floating_pair(input, other), other)


alias("arctan2", "atan2")
register(OpDef("arctan2_", atan2, methods=(), inplace=("arctan2_",), export=False))

HYPOT = binary(
    "hypot",
    "HypotBackward0",
    lambda B, x, y: B.hypot(x, y),
    lambda ns, g, x, y, o: g * x / o,
    lambda ns, g, x, y, o: g * y / o,
    save=("x", "y", "o"),
)


@declare(inplace=("hypot_",), rows=(HYPOT,), domain=(0.3, 2))
def hypot(input: Tensor, other: Tensor) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    _tensor_other("hypot", other)
    if input._data.dtype.kind != "f" and other._data.dtype.kind != "f":
        _check_broadcast(input._data.shape, other._data.shape)  # PyTorch checks shapes first
        raise _not_implemented("hypot", input)
    return binary_apply(HYPOT, input, other)


FMAX = binary(
    "fmax",
    "FmaxBackward0",
    lambda B, x, y: B.fmax(x, y),
    lambda ns, g, x, y: ns.where((x >= y) | (y != y), g, 0),
    lambda ns, g, x, y: ns.where((x >= y) | (y != y), 0, g),
)
FMIN = binary(
    "fmin",
    "FminBackward0",
    lambda B, x, y: B.fmin(x, y),
    lambda ns, g, x, y: ns.where((x <= y) | (y != y), g, 0),
    lambda ns, g, x, y: ns.where((x <= y) | (y != y), 0, g),
)


@declare(rows=(FMAX,), domain=(-2, 2))
def fmax(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise maximum, ignoring NaN (NaN only where both are NaN); a tie's
    gradient goes to ``input``, as PyTorch's."""
    _tensor_other("fmax", other)
    return binary_apply(FMAX, input, other)


@declare(rows=(FMIN,), domain=(-2, 2))
def fmin(input: Tensor, other: Tensor) -> Tensor:
    """The elementwise minimum, ignoring NaN; a tie's gradient goes to ``input``."""
    _tensor_other("fmin", other)
    return binary_apply(FMIN, input, other)


def _refuse_bool_division(kernel: str, input: Tensor, other: Any) -> None:
    """PyTorch has no bool kernel for ``//``, ``%`` and ``fmod`` (a Python bool is one)."""
    other_bool = other._data.dtype.kind == "b" if isinstance(other, Tensor) else type(other) is bool
    if input._data.dtype.kind == "b" and other_bool:
        raise _not_implemented(kernel, input)


def _check_integer_divisor(input: Tensor, other: Any) -> None:
    """Integer division by zero raises, as PyTorch's CPU kernels do: only where there is an
    element to divide, and by the divisor in the result's dtype (an int64 0-d divisor
    ``2**62`` divides an int32 tensor as 0)."""
    data = other._data if isinstance(other, Tensor) else other
    kinds = (input._data.dtype.kind, getattr(data, "dtype", None) and data.dtype.kind)
    integer = isinstance(other, Tensor) and all(k in "biu" for k in kinds)
    integer |= (type(other) is int or type(other) is bool) and kinds[0] in "biu"
    if not integer or input._data.size == 0:
        return
    if isinstance(other, Tensor):
        if data.size == 0:
            return
        if data.dtype != input._data.dtype:
            ad = input._data
            data = data.astype(_dtypes.promote_arrays(ad.dtype, ad.ndim, data.dtype, data.ndim))
        if bool((data == 0).any()):
            raise RuntimeError("ZeroDivisionError")
    elif data == 0:
        raise RuntimeError("ZeroDivisionError")


REMAINDER_SCALAR = binary(
    "remainder", "RemainderBackward0", lambda B, x, y: B.remainder(x, y), lambda ns, g: g, None, ()
)
REMAINDER = binary(
    "remainder",
    "RemainderBackward1",
    lambda B, x, y: B.remainder(x, y),
    lambda ns, g, x, y: g,
    lambda ns, g, x, y: -g * ns.floor_divide(x, y),
)
FMOD_SCALAR = binary(
    "fmod", "FmodBackward0", lambda B, x, y: B.fmod(x, y), lambda ns, g: g, None, ()
)
FMOD = binary(
    "fmod",
    "FmodBackward1",
    lambda B, x, y: B.fmod(x, y),
    lambda ns, g, x, y: g,
    lambda ns, g, x, y: -g * ns.trunc(x / y),
)


@declare(
    methods=("remainder", "__mod__"),
    inplace=("remainder_", "__imod__"),
    rows=(REMAINDER_SCALAR, REMAINDER),
)
def remainder(input: Tensor, other: TensorOrNumber) -> Tensor:
    """Python's modulus: the result has the sign of ``other`` (``torch.remainder``)."""
    _refuse_bool_division("remainder", input, other)
    _check_integer_divisor(input, other)
    if isinstance(other, Tensor):
        return binary_apply(REMAINDER, input, other)
    return binary_apply(REMAINDER_SCALAR, input, other)


@declare(inplace=("fmod_",), rows=(FMOD_SCALAR, FMOD))
def fmod(input: Tensor, other: TensorOrNumber) -> Tensor:
    """C's modulus: the result has the sign of ``input`` (``torch.fmod``)."""
    _refuse_bool_division("fmod", input, other)
    _check_integer_divisor(input, other)
    if isinstance(other, Tensor):
        return binary_apply(FMOD, input, other)
    return binary_apply(FMOD_SCALAR, input, other)


def _promoted(input: Tensor, other: Any) -> tuple[Any, Any, Any]:
    """The backend and both operands' arrays in PyTorch's result dtype (a Python number
    stays a number, wrapped into an integer dtype as PyTorch casts it)."""
    backend = input._backend
    ad = input._data
    if isinstance(other, Tensor):
        if other._backend is not backend:
            raise device_error(input, other)
        bd = other._data
        if ad.dtype != bd.dtype:
            dtype = _dtypes.promote_arrays(ad.dtype, ad.ndim, bd.dtype, bd.ndim)
            # quiet: a 0-d float64 beyond float32's range casts to inf, as in PyTorch
            ad, bd = _quiet.run(_cast_both, ad, bd, dtype)
        return backend, ad, bd
    bd = operand(other, input)
    dtype = _dtypes.promote_with_scalar(ad.dtype, bd)
    if type(bd) is int and dtype.kind in "iu":
        bd = wrap_integer(bd, dtype)
    return backend, ad.astype(dtype, copy=False), bd


def _cast_both(a: Any, b: Any, dtype: Any) -> tuple[Any, Any]:
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _apply_unrecorded(
    method: str, input: Tensor, other: Any, reflected: bool = False, rows: tuple = ()
) -> Tensor:
    """A binary op without a gradient, with PyTorch's promotion and broadcasting errors;
    ``rows`` (for a number ``other``, for a tensor one): a node recorded all the same, as
    PyTorch records one whose backward raises (``x // 2`` requires grad)."""
    backend, ad, bd = _promoted(input, other)
    try:
        out = getattr(backend, method)(bd, ad) if reflected else getattr(backend, method)(ad, bd)
    except ValueError:
        raise broadcast_error(ad.shape, getattr(bd, "shape", ())) from None
    if rows and (input._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
        if isinstance(other, Tensor):
            return _record_broadcast(rows[1], out, (input, other))
        return _record_broadcast(rows[0], out, (input,))
    return _wrap(out, backend)


def _no_derivative(aten: str, count: int) -> Op:
    """PyTorch's ``NotImplemented`` node for an op of ``count`` tensor inputs without a
    derivative: it records (the result requires grad) and its backward raises. Not a
    derivative-table row (``rows=``): there is no derivative to check."""

    def refuse(ns: Any, g: Any) -> Any:
        raise RuntimeError(f"derivative for aten::{aten} is not implemented")

    return Op(aten, "NotImplemented", None, (refuse,) * count, broadcasts=True)


FLOOR_DIVIDE_ROWS = (_no_derivative("floor_divide", 1), _no_derivative("floor_divide", 2))
REFLECTED_REMAINDER_ROWS = (_no_derivative("remainder", 1), None)


@declare(
    methods=("floor_divide", "__floordiv__"),
    inplace=("floor_divide_", "__ifloordiv__"),
)
def floor_divide(input: Tensor, other: TensorOrNumber) -> Tensor:
    """``floor(input / other)`` (Python's ``//``); not differentiable (PyTorch has no
    derivative for it either: its result requires grad, and backward raises)."""
    _refuse_bool_division("div_floor", input, other)
    _check_integer_divisor(input, other)
    return _apply_unrecorded("floor_divide", input, other, rows=FLOOR_DIVIDE_ROWS)


@declare("__rfloordiv__", methods=("__rfloordiv__",), export=False)
def _rfloordiv(self: Tensor, other: Number) -> Tensor:
    """``other // self`` (not differentiable)."""
    _refuse_bool_division("div_floor", self, other)
    if self._data.dtype.kind in "biu" and type(other) in (int, bool) and not self._data.all():
        raise RuntimeError("ZeroDivisionError")
    return _apply_unrecorded("floor_divide", self, other, True, FLOOR_DIVIDE_ROWS)


@declare("__rmod__", methods=("__rmod__",), export=False)
def _rmod(self: Tensor, other: Number) -> Tensor:
    """``number % tensor``: not differentiable, as in PyTorch (backward raises)."""
    _refuse_bool_division("remainder", self, other)
    if self._data.dtype.kind in "biu" and type(other) in (int, bool) and not self._data.all():
        raise RuntimeError("ZeroDivisionError")
    return _apply_unrecorded("remainder", self, other, True, REFLECTED_REMAINDER_ROWS)


LERP_SCALAR = Op(
    "lerp",
    "LerpBackward0",
    None,
    (lambda ns, g, weight: g * (1 - weight), lambda ns, g, weight: g * weight),
    attrs=("weight",),
)
LERP = Op(
    "lerp",
    "LerpBackward1",
    None,
    (
        lambda ns, g, x, y, z: g * (1 - z),
        lambda ns, g, x, y, z: g * z,
        lambda ns, g, x, y, z: g * (y - x),
    ),
    save=("x", "y", "z"),
)
_DTYPE_WORDS = {
    "float16": "c10::Half",
    "float32": "float",
    "float64": "double",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}
"""C++ type names, as PyTorch's dtype checks print them."""


def _record_broadcast(op: Op, out: Any, inputs: tuple, attrs: tuple = ()) -> Tensor:
    """``record`` for an op of several tensors that broadcast: each gradient is summed
    back to its input's shape."""
    backend = inputs[0]._backend
    result = record(op, out, backend, inputs, attrs)
    node = result.grad_fn
    if node is not None:
        shapes = tuple(t._data.shape if isinstance(t, Tensor) else None for t in inputs)
        if any(s is not None and s != out.shape for s in shapes):
            node.shapes = shapes
    return result


@declare(inplace=("lerp_",), rows=(LERP_SCALAR, LERP))
def lerp(input: Tensor, end: Tensor, weight: TensorOrNumber) -> Tensor:
    """``input + weight * (end - input)``, computed from the nearer end as PyTorch does
    (exact at ``weight`` 0 and 1)."""
    if not isinstance(end, Tensor):
        raise _not_a_tensor("lerp", "end", 2, end)
    dtype = input._data.dtype
    # PyTorch's order: the devices, `end`'s dtype, a non-0-d `weight`'s dtype (a 0-d one
    # promotes as a scalar would), and only then the kernel's dtype
    named = [("end", end)] + ([("weight", weight)] if isinstance(weight, Tensor) else [])
    for label, t in named:
        if t._backend is not input._backend:
            raise device_error(input, t)
        if t._data.dtype != dtype and (label == "end" or t._data.ndim):
            raise RuntimeError(
                f"expected dtype {_DTYPE_WORDS.get(dtype.name, dtype.name)} for `{label}` but "
                f"got dtype {_DTYPE_WORDS.get(t._data.dtype.name, t._data.dtype.name)}"
            )
    if isinstance(weight, Tensor) and weight._data.dtype != dtype:  # a 0-d weight
        if weight._data.dtype.kind == "f" and dtype.kind != "f":
            input, end = to_dtype(input, weight.dtype), to_dtype(end, weight.dtype)
            dtype = input._data.dtype
        else:
            weight = to_dtype(weight, input.dtype)
    if dtype.kind != "f":
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        raise _not_implemented(kernel, input, per_device=False)
    backend = input._backend
    _python_data.checked_fill(weight, dtype)
    w = weight._data if isinstance(weight, Tensor) else operand(weight, input)
    try:
        out = backend.lerp(input._data, end._data, w)
    except ValueError:
        shapes = [input._data.shape, end._data.shape] + ([w.shape] if hasattr(w, "shape") else [])
        raise broadcast_error(*first_mismatch(shapes)) from None
    if isinstance(weight, Tensor):
        return _record_broadcast(LERP, out, (input, end, weight))
    return _record_broadcast(LERP_SCALAR, out, (input, end), (w,))


# --- NaN and infinity -------------------------------------------------------------------
@declare()
def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf or -inf."""
    return _wrap(input._backend.isinf(input._data), input._backend)


@declare()
def isposinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf."""
    return _wrap(input._backend.isposinf(input._data), input._backend)


@declare()
def isneginf(input: Tensor) -> Tensor:
    """True where ``input`` is -inf."""
    return _wrap(input._backend.isneginf(input._data), input._backend)


NAN_TO_NUM = Op(
    "nan_to_num",
    "NanToNumBackward0",
    lambda B, x, nan, posinf, neginf: B.nan_to_num(x, nan, posinf, neginf),
    (lambda ns, g, x, nan, posinf, neginf: ns.where(ns.isfinite(x), g, 0),),
    save=("x",),
    attrs=("nan", "posinf", "neginf"),
)


@declare(inplace=("nan_to_num_",), rows=(NAN_TO_NUM,), domain=(-2, 2))
def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0
    and the dtype's largest and lowest finite values); the gradient is 0 where they were."""
    return unary_apply(NAN_TO_NUM, input, nan, posinf, neginf)


@declare()
def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """True where ``|input - other| <= atol + rtol * |other|`` (or equal)."""
    _tensor_other("isclose", other)
    a, b = input._data.dtype, other._data.dtype
    if a != b:
        raise RuntimeError(
            f"{_dtypes.SCALAR_TYPE_NAMES[a.name]} did not match {_dtypes.SCALAR_TYPE_NAMES[b.name]}"
        )
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    if other._backend is not input._backend:
        raise device_error(input, other)
    try:
        out = input._backend.isclose(input._data, other._data, rtol, atol, equal_nan)
    except ValueError:
        raise broadcast_error(input._data.shape, other._data.shape) from None
    return _wrap(out, input._backend)


# --- bitwise ops (bool and integer tensors) ---------------------------------------------
def _bitwise(name: str, operator: str, reflected: str, inplace: str) -> Any:
    def bitwise(input: Tensor, other: TensorOrNumber) -> Tensor:
        backend, ad, bd = _promoted(input, other)
        if ad.dtype.kind not in "biu":
            _check_broadcast(ad.shape, getattr(bd, "shape", ()))  # PyTorch checks shapes first
            raise _not_implemented(name, _wrap(ad, backend))
        try:
            return _wrap(getattr(backend, name)(ad, bd), backend)
        except ValueError:
            raise broadcast_error(ad.shape, getattr(bd, "shape", ())) from None

    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__module__ = __name__
    bitwise.__doc__ = f"Elementwise {name.replace('_', ' ').upper()}: logical for bool tensors."
    function = declare(name, methods=(name, operator), inplace=(f"{name}_", inplace))(bitwise)

    def reflected_op(self: Tensor, other: Number) -> Tensor:
        return function(self, other)  # these ops commute

    reflected_op.__name__ = reflected_op.__qualname__ = reflected
    reflected_op.__doc__ = f"``other {name.removeprefix('bitwise_')} self``, elementwise."
    reflected_op.__module__ = __name__
    declare(reflected, methods=(reflected,), export=False)(reflected_op)
    return function


bitwise_and = _bitwise("bitwise_and", "__and__", "__rand__", "__iand__")
bitwise_or = _bitwise("bitwise_or", "__or__", "__ror__", "__ior__")
bitwise_xor = _bitwise("bitwise_xor", "__xor__", "__rxor__", "__ixor__")


@declare("__invert__", methods=("__invert__",), export=False)
def _invert(self: Tensor) -> Tensor:
    """``~self``: ``bitwise_not``, with Python's TypeError for floating tensors."""
    if self._data.dtype.kind not in "biu":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
        )
    return bitwise_not(self)


@declare(methods=("bitwise_not",), inplace=("bitwise_not_",))
def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise NOT: ``~x`` of integers, logical NOT of bools."""
    if input._data.dtype.kind not in "biu":
        raise _not_implemented("bitwise_not", input)
    return _wrap(input._backend.bitwise_not(input._data), input._backend)


# --- PyTorch names composed from the ops above (helper "out": missing top-level names) ---
for _name, _of in (
    ("absolute", "abs"),
    ("multiply", "mul"),
    ("subtract", "sub"),
    ("divide", "div"),
    ("true_divide", "div"),
    ("greater_equal", "ge"),
    ("less_equal", "le"),
    ("not_equal", "ne"),
):
    alias(_name, _of)


def _as_tensor_pair(input: TensorOrNumber, other: TensorOrNumber) -> tuple[Tensor, Tensor]:
    """Two operands as tensors on one device (a Python number becomes a 0-d tensor)."""
    like = input if isinstance(input, Tensor) else other
    return as_tensor(input, like), as_tensor(other, like)


@declare()
def sgn(input: Tensor) -> Tensor:
    """The sign of each element (``sign``, under PyTorch's node name for ``sgn``)."""
    return named_node(sign(input), "SgnBackward0", input)


@declare()
def positive(input: Tensor) -> Tensor:
    """``+input``: ``input`` itself (refused for bool tensors, as in PyTorch)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


@declare(inplace=("deg2rad_",))
def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians (integers give the default float dtype)."""
    return named_node(mul(_float_input(input), math.pi / 180), "Deg2RadBackward0", input)


@declare(inplace=("rad2deg_",))
def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees (integers give the default float dtype)."""
    return named_node(mul(_float_input(input), 180 / math.pi), "Rad2DegBackward0", input)


@declare(inplace=("logit_",))
def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    p = _float_input(input)
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
    return named_node(log(div(p, 1 - p)), "LogitBackward0", input)


@declare(inplace=("xlogy_",))
def xlogy(input: TensorOrNumber, other: TensorOrNumber) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    x, y = _as_tensor_pair(input, other)
    x = _floating_pair(x, y)
    # log(1) = 0 where x is 0, so neither the value nor the gradient meets 0 * log(0)
    safe = where((x == 0) & (y == y), 1, y)
    which = 1 if not isinstance(input, Tensor) else 2 if not isinstance(other, Tensor) else 0
    return named_node(mul(x, log(safe)), f"XlogyBackward{which}", input, other)


@declare(inplace=("sinc_",))
def sinc(input: Tensor) -> Tensor:
    """The normalized sinc, ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _float_input(input)
    zero = x == 0
    scaled = mul(where(zero, 1, x), math.pi)  # 1 at 0: no 0/0 in the value or the gradient
    return named_node(where(zero, 1, div(sin(scaled), scaled)), "SincBackward0", input)


@declare(inplace=("float_power_",))
def float_power(input: TensorOrNumber, exponent: TensorOrNumber) -> Tensor:
    """``input ** exponent`` computed in float64."""
    base, power = _as_tensor_pair(input, exponent)
    result = pow(to_dtype(base, _dtypes.float64), to_dtype(power, _dtypes.float64))
    which = 2 if not isinstance(input, Tensor) else 0 if not isinstance(exponent, Tensor) else 1
    return named_node(result, f"PowBackward{which}", input, exponent)


@declare()
def signbit(input: Tensor) -> Tensor:
    """Whether each element's sign bit is set (true for -0.0)."""
    if input._data.dtype.kind != "f":
        return input < 0
    return (input < 0) | ((input == 0) & ((1 / input) < 0))


@declare(inplace=("copysign_",))
def copysign(input: TensorOrNumber, other: TensorOrNumber) -> Tensor:
    """``input``'s magnitude with ``other``'s sign (as a float)."""
    x, y = _as_tensor_pair(input, other)
    x = _floating_pair(x, y)
    which = 0 if isinstance(other, Tensor) else 1
    return named_node(where(signbit(y), -abs(x), abs(x)), f"CopysignBackward{which}", input, other)


@declare(inplace=("heaviside_",))
def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The Heaviside step: 0 below zero, 1 above, ``values`` at zero."""
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    return where(input == 0, values, where(input > 0, 1, 0).to(input.dtype))


@declare()
def logaddexp2(input: Tensor, other: Tensor) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    result = div(logaddexp(mul(input, math.log(2)), mul(other, math.log(2))), math.log(2))
    return named_node(result, "Logaddexp2Backward0", input, other)


@declare(inplace=("addcmul_",))
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    result = add(input, mul(tensor1, tensor2), alpha=value)
    return named_node(result, "AddcmulBackward0", input, tensor1, tensor2)


@declare(inplace=("addcdiv_",))
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    result = add(input, div(tensor1, tensor2), alpha=value)
    return named_node(result, "AddcdivBackward0", input, tensor1, tensor2)


@declare(inplace=("clamp_min_",))
def clamp_min(input: Tensor, min: Number) -> Tensor:
    """``clamp(input, min=min)``."""
    which = 1 if isinstance(min, Tensor) else 0
    return named_node(clamp(input, min=min), f"ClampMinBackward{which}", input)


@declare(inplace=("clamp_max_",))
def clamp_max(input: Tensor, max: Number) -> Tensor:
    """``clamp(input, max=max)``."""
    which = 1 if isinstance(max, Tensor) else 0
    return named_node(clamp(input, max=max), f"ClampMaxBackward{which}", input)


@declare()
def conj(input: Tensor) -> Tensor:
    """The complex conjugate: ``input`` itself (gpugrad's dtypes are real)."""
    return input


@declare()
def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself (a real tensor has no lazy conjugation to resolve)."""
    return input


@declare()
def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself (a real tensor has no lazy negation to resolve)."""
    return input


@declare(methods=(), properties=("real",))
def real(input: Tensor) -> Tensor:
    """The real part: ``input`` itself (gpugrad's dtypes are real)."""
    return input


@declare()
def isreal(input: Tensor) -> Tensor:
    """Whether each element is real: all True (gpugrad's dtypes are real)."""
    return _wrap(input._backend.ones(input._data.shape, _dtypes.bool_.numpy), input._backend)


@declare()
def is_conj(input: Tensor) -> bool:
    """False: gpugrad's tensors are never lazily conjugated."""
    return False


# --- mathx: special functions (gpugrad.special; i0 igamma igammac mvlgamma) -------------
_SQRT_2PI = math.sqrt(2 * math.pi)


def _nonzero(ns: Any, x: Any) -> Any:
    """``x`` with its zeros replaced by 1 (a divisor whose 0/0 branch ``where`` discards)."""
    return ns.where(x == 0, 1, x)


I0 = Op(
    "i0",
    "I0Backward0",
    lambda B, x: B.i0(x),
    (lambda ns, g, x: g * ns.special_i1(x),),
    save=("x",),
)
SPECIAL_I0E = Op(
    "special_i0e",
    "SpecialI0EBackward0",
    lambda B, x: B.special_i0e(x),
    (lambda ns, g, x, o: g * (ns.special_i1e(x) - ns.sign(x) * o),),
    save=("x", "o"),
)
SPECIAL_I1 = Op(
    "special_i1",
    "SpecialI1Backward0",
    lambda B, x: B.special_i1(x),
    (lambda ns, g, x, o: g * ns.where(x == 0, 0.5, ns.i0(x) - o / _nonzero(ns, x)),),
    save=("x", "o"),
)
SPECIAL_I1E = Op(
    "special_i1e",
    "SpecialI1EBackward0",
    lambda B, x: B.special_i1e(x),
    (
        lambda ns, g, x, o: (
            g * ns.where(x == 0, 0.5, ns.special_i0e(x) - o * (ns.sign(x) + 1 / _nonzero(ns, x)))
        ),
    ),
    save=("x", "o"),
)
SPECIAL_ERFCX = Op(
    "special_erfcx",
    "SpecialErfcxBackward0",
    lambda B, x: B.special_erfcx(x),
    (lambda ns, g, x, o: g * (2 * x * o - _TWO_OVER_SQRT_PI),),
    save=("x", "o"),
)
SPECIAL_NDTRI = Op(
    "special_ndtri",
    "SpecialNdtriBackward0",
    lambda B, x: B.special_ndtri(x),
    (lambda ns, g, o: g * _SQRT_2PI * ns.exp(o * o / 2),),
    save=("o",),
)
SPECIAL_ENTR = Op(
    "special_entr",
    "SpecialEntrBackward0",
    lambda B, x: B.where(
        x > 0,
        -x * B.log(B.where(x > 0, x, 1)),
        B.where(x == 0, 0.0 * x, B.where(x < 0, -math.inf, x)),  # 0 at 0, -inf below, NaN
    ),
    (lambda ns, g, x: g * -(1 + ns.log(x)),),  # PyTorch's: inf at 0, NaN below 0
    save=("x",),
)
SPECIAL_LOG_NDTR = Op(
    "special_log_ndtr",
    "SpecialLogNdtrBackward0",
    lambda B, x: B.special_log_ndtr(x),
    (lambda ns, g, x, o: g * ns.exp(-(x * x) / 2 - o) / _SQRT_2PI,),
    save=("x", "o"),
)


def _refuse_derivative(what: str) -> Any:
    """A formula that raises PyTorch's NotImplementedError for an input without one."""

    def refuse(ns: Any, g: Any, x: Any, y: Any) -> Any:
        raise NotImplementedError(f"the derivative for '{what}' is not implemented.")

    return refuse


SPECIAL_ZETA = binary(
    "special_zeta",
    "SpecialZetaBackward0",
    lambda B, x, q: B.special_zeta(x, q),
    _refuse_derivative("zeta"),
    lambda ns, g, x, y: g * -x * ns.special_zeta(x + 1, y),
    save=("x", "y"),
)


def _igamma_density(ns: Any, a: Any, x: Any) -> Any:
    """``x**(a-1) exp(-x) / Gamma(a)``: the derivative of ``igamma(a, x)`` in ``x``."""
    return ns.exp((a - 1) * ns.log(x) - x - ns.lgamma(a))


IGAMMA = binary(
    "igamma",
    "IgammaBackward0",
    lambda B, a, x: B.igamma(a, x),
    _refuse_derivative("igamma: input"),
    lambda ns, g, x, y: g * _igamma_density(ns, x, y),
)
IGAMMAC = binary(
    "igammac",
    "IgammacBackward0",
    lambda B, a, x: B.igammac(a, x),
    _refuse_derivative("igammac: input"),
    lambda ns, g, x, y: -g * _igamma_density(ns, x, y),
)


def special_unary(op: Op, input: Tensor) -> Tensor:
    """A ``gpugrad.special`` function of one tensor (integers computed in the default float
    dtype, as PyTorch)."""
    return unary_apply(op, _float_input(input))


def _float_operands(kernel: str, input: TensorOrNumber, other: TensorOrNumber) -> tuple:
    """Two operands as tensors of one float dtype (PyTorch's promotion; integer pairs are
    refused as PyTorch's ``*_cpu`` kernels refuse them when ``kernel`` is given)."""
    x, y = _as_tensor_pair(input, other)
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        dtype = _dtypes.promote_arrays(x._data.dtype, x._data.ndim, y._data.dtype, y._data.ndim)
    else:  # a Python number takes the tensor's dtype kind, as PyTorch's wrapped numbers
        tensor, number = (input, other) if isinstance(input, Tensor) else (other, input)
        dtype = _dtypes.promote_with_scalar(tensor._data.dtype, number)
    if dtype.kind != "f":
        if kernel:
            raise _not_implemented(kernel, x, dtype=dtype)
        dtype = _dtypes.DEFAULT_FLOAT.numpy
    as_dtype = _dtypes.from_numpy_dtype(dtype)
    return to_dtype(x, as_dtype), to_dtype(y, as_dtype)


@declare(methods=(), export=False, rows=(SPECIAL_ZETA,))
def special_zeta(input: TensorOrNumber, other: TensorOrNumber) -> Tensor:
    """The Hurwitz zeta function ``sum_k (k + other)**-input``."""
    x, q = _float_operands("", input, other)
    return binary_apply(SPECIAL_ZETA, x, q)


@declare(inplace=("i0_",), rows=(I0,), domain=(-2, 2))
def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0."""
    return unary_apply(I0, _float_input(input))


@declare(inplace=("igamma_",), rows=(IGAMMA,))
def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function ``P(input, other)`` (differentiable
    in ``other`` only, as PyTorch)."""
    a, x = _float_operands("igamma", input, other)
    return binary_apply(IGAMMA, a, x)


@declare(inplace=("igammac_",), rows=(IGAMMAC,))
def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function ``Q(input, other) = 1 - P``."""
    a, x = _float_operands("igammac", input, other)
    return binary_apply(IGAMMAC, a, x)


@declare(inplace=("mvlgamma_",))
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``:
    ``sum_i lgamma(input - i/2) + p(p-1)/4 log(pi)``."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _float_input(input)
    total = lgamma(x)
    for i in range(1, p):
        total = add(total, lgamma(sub(x, i / 2)))
    return add(total, p * (p - 1) / 4 * math.log(math.pi))


def _special(name: str, row: Op, doc: str) -> Any:
    """Declare ``gpugrad.special.<name>`` (not exported at the top level, no method)."""

    def function(input: Tensor) -> Tensor:
        return special_unary(row, input)

    function.__name__ = function.__qualname__ = f"special_{name}"
    function.__doc__ = doc
    return declare(f"special_{name}", methods=(), export=False, rows=(row,))(function)


special_i0e = _special("i0e", SPECIAL_I0E, "``exp(-|input|) * i0(input)``.")
special_i1 = _special(
    "i1", SPECIAL_I1, "The modified Bessel function of the first kind of order 1."
)
special_i1e = _special("i1e", SPECIAL_I1E, "``exp(-|input|) * i1(input)``.")
special_erfcx = _special(
    "erfcx", SPECIAL_ERFCX, "The scaled complementary error function ``exp(x**2) * erfc(x)``."
)
special_ndtri = _special(
    "ndtri", SPECIAL_NDTRI, "The inverse of ``ndtr``: the standard normal quantile of ``input``."
)
special_log_ndtr = _special(
    "log_ndtr", SPECIAL_LOG_NDTR, "``log(ndtr(input))``, accurate in both tails."
)
special_entr = _special(
    "entr", SPECIAL_ENTR, "The elementwise entropy ``-input * log(input)``: 0 at 0, -inf below."
)


def special_unrecorded(method: str, input: Tensor) -> Tensor:
    """A ``gpugrad.special`` function PyTorch does not differentiate (``bessel_j0``): its
    result records no node, as PyTorch's."""
    x = _float_input(input)
    return _wrap(_quiet.run(getattr(x._backend, method), x._data), x._backend)
