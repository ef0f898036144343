"""Sizes that remember where they came from, during a ``dynamic`` trace.

While a ``dynamic=True`` (or ``None``) function is traced, ``t.shape``, ``t.size()``,
``t.size(i)`` and ``t.numel()`` of a traced tensor answer with ``SymInt``: an ``int``
with the traced value that also carries an expression over the sizes of program
variables (``_s3_0``: axis 0 of variable 3). Python arithmetic with ints keeps the
expression (``n // 2 + 1``); whatever lets the value steer Python (a comparison,
``bool``, ``range``/indexing through ``__index__``, hashing, ``float``, printing) records
a guard: the expression and the answer the trace saw. When two traces are shared as one
replay (``_dynamic``), the guards are rewritten over the inputs' live sizes and checked at
every replay, so a size past a threshold the traces did not cross misses the shared replay
and is traced anew, instead of replaying the branch taken at the traced sizes.

``int(n)`` (and ``float(n / m)``) in the user's code guards the exact value, as PyTorch
specializes it; in gpugrad's own code (shape handling, the op layer's operands) it gives
the plain value without a guard: a number that reaches the program is compared by
``_dynamic``. ``len(t)`` is a plain int (``len`` cannot return anything else), so it
guards the exact size.
"""

from __future__ import annotations

import math
import operator
import sys
from typing import Any


class Recorder:
    """The guards one trace's sizes recorded (closed when the trace ends, so a size kept
    past it records nothing more)."""

    __slots__ = ("guards", "open")

    def __init__(self) -> None:
        self.guards: list[str] = []
        self.open = True

    def add(self, guard: str) -> None:
        if self.open:
            self.guards.append(guard)


class SymInt(int):
    """A traced size: an ``int`` (its value in the trace) with ``code``, its expression
    over program variables' sizes, recording a guard wherever Python looks at it."""

    def __new__(cls, value: int, code: str, recorder: Recorder) -> SymInt:
        self = int.__new__(cls, value)
        self.code = code
        self.recorder = recorder
        return self

    def _exact(self) -> int:
        value = int(self)
        self.recorder.add(f"({self.code} == {value})")
        return value

    def __hash__(self) -> int:
        return hash(self._exact())

    def __index__(self) -> int:
        return self._exact()

    def __int__(self) -> int:
        if _internal(sys._getframe(1)):  # gpugrad's shape handling: a program number
            return int.__int__(self)
        return self._exact()

    def __float__(self) -> float:
        return float(self._exact())

    def __complex__(self) -> complex:
        return complex(self._exact())

    def __bool__(self) -> bool:
        result = int(self) != 0
        self.recorder.add(f"({self.code} != 0)" if result else f"({self.code} == 0)")
        return result

    def __repr__(self) -> str:
        return repr(self._exact())

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self._exact(), spec)

    def __neg__(self) -> SymInt:
        return SymInt(-int(self), f"(-{self.code})", self.recorder)

    def __pos__(self) -> SymInt:
        return self

    def __abs__(self) -> SymInt:
        return SymInt(abs(int(self)), f"abs({self.code})", self.recorder)

    def __invert__(self) -> SymInt:
        return SymInt(~int(self), f"(~{self.code})", self.recorder)

    def __trunc__(self) -> SymInt:
        return self

    __floor__ = __ceil__ = __trunc__

    def __round__(self, ndigits: Any = None) -> Any:
        return self if ndigits is None else round(self._exact(), ndigits)

    def __divmod__(self, other: Any) -> Any:
        return (self // other, self % other)

    def __rdivmod__(self, other: Any) -> Any:
        return (other // self, other % self)

    def __reduce__(self) -> Any:
        return (int, (self._exact(),))


def _internal(frame: Any) -> bool:
    """Whether ``frame`` runs gpugrad's own code (which turns sizes into the program's
    numbers, compared by ``_dynamic``) rather than the user's."""
    return frame is not None and frame.f_globals.get("__name__", "").startswith("gpugrad.")


class SymFloat(float):
    """A traced size divided (``n / (n - 1)``): a ``float`` with ``code``, its expression,
    recording a guard wherever Python looks at it, as ``SymInt`` does. ``float(x)`` is
    its plain value (the op layer turns it into a program number, which ``_dynamic``
    compares)."""

    def __new__(cls, value: float, code: str, recorder: Recorder) -> SymFloat:
        self = float.__new__(cls, value)
        self.code = code
        self.recorder = recorder
        return self

    def _exact(self) -> float:
        value = float.__float__(self)  # finite: made only so (``_result``)
        self.recorder.add(f"({self.code} == {value!r})")
        return value

    def __hash__(self) -> int:
        return hash(self._exact())

    def __int__(self) -> int:
        return int(self._exact())

    def __float__(self) -> float:
        if _internal(sys._getframe(1)):
            return float.__float__(self)
        return self._exact()

    def __index__(self) -> int:  # floats are no index: as float's error
        raise TypeError("'float' object cannot be interpreted as an integer")

    def __bool__(self) -> bool:
        result = float.__float__(self) != 0.0
        self.recorder.add(f"({self.code} != 0)" if result else f"({self.code} == 0)")
        return result

    def __repr__(self) -> str:
        return repr(self._exact())

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self._exact(), spec)

    def __neg__(self) -> SymFloat:
        return SymFloat(-float.__float__(self), f"(-{self.code})", self.recorder)

    def __pos__(self) -> SymFloat:
        return self

    def __abs__(self) -> SymFloat:
        return SymFloat(abs(float.__float__(self)), f"abs({self.code})", self.recorder)

    def __trunc__(self) -> int:
        return math.trunc(self._exact())

    def __floor__(self) -> int:
        return math.floor(self._exact())

    def __ceil__(self) -> int:
        return math.ceil(self._exact())

    def __round__(self, ndigits: Any = None) -> Any:
        return round(self._exact(), ndigits)

    def __reduce__(self) -> Any:
        return (float, (self._exact(),))


_SYMBOLIC = (SymInt, SymFloat)


def _operand(other: Any, floats: bool = False) -> tuple[str, Any] | None:
    """``other`` as (code, value) where it is an int or a traced number (with ``floats``,
    a finite float too), else ``None``."""
    kind = type(other)
    if kind is SymInt:
        return other.code, int(other)
    if kind is SymFloat:
        return other.code, float.__float__(other)
    if isinstance(other, int):  # bool and int subclasses: their value
        value = int(other)
        return repr(value), value
    if floats and isinstance(other, float) and math.isfinite(other):
        value = float(other)
        return repr(value), value
    return None


def _value(number: Any) -> Any:
    return int(number) if type(number) is SymInt else float.__float__(number)


def _result(value: Any, code: str, recorder: Recorder, operands: tuple) -> Any:
    """A symbolic result, or (a complex power, an overflow) the value with every operand
    seen exactly."""
    kind = type(value)
    if kind is int:
        return SymInt(value, code, recorder)
    if kind is float and math.isfinite(value):
        return SymFloat(value, code, recorder)
    for operand in operands:
        if type(operand) in _SYMBOLIC:
            operand._exact()
    return value


def _arithmetic(symbol: str, op: Any, reflected: bool) -> Any:
    def method(self: Any, other: Any) -> Any:
        known = _operand(other, floats=True)
        if known is None:
            if isinstance(other, float):  # inf or nan: the size is seen as it is
                value = self._exact()
                return op(other, value) if reflected else op(value, other)
            return NotImplemented
        code, value = known
        mine = _value(self)
        try:
            result = op(value, mine) if reflected else op(mine, value)
        except ArithmeticError:  # the same error, with the operands seen exactly
            _result(None, "", self.recorder, (self, other))
            raise
        if reflected:
            expression = f"({code} {symbol} {self.code})"
        else:
            expression = f"({self.code} {symbol} {code})"
        return _result(result, expression, self.recorder, (self, other))

    return method


def _comparison(symbol: str, op: Any) -> Any:
    def method(self: Any, other: Any) -> Any:
        known = _operand(other, floats=True)
        if known is None:
            if isinstance(other, float):  # nan or inf: compared with the exact value
                return op(self._exact(), other)
            return NotImplemented
        code, value = known
        result = op(_value(self), value)
        guard = f"({self.code} {symbol} {code})"
        self.recorder.add(guard if result else f"(not {guard})")
        return result

    return method


for _name, _symbol, _op in (
    ("add", "+", operator.add),
    ("sub", "-", operator.sub),
    ("mul", "*", operator.mul),
    ("floordiv", "//", operator.floordiv),
    ("mod", "%", operator.mod),
    ("pow", "**", operator.pow),
    ("and", "&", operator.and_),
    ("or", "|", operator.or_),
    ("xor", "^", operator.xor),
    ("lshift", "<<", operator.lshift),
    ("rshift", ">>", operator.rshift),
    ("truediv", "/", operator.truediv),
):
    for _cls in _SYMBOLIC:
        if _cls is SymFloat and _name in ("and", "or", "xor", "lshift", "rshift"):
            continue
        setattr(_cls, f"__{_name}__", _arithmetic(_symbol, _op, reflected=False))
        setattr(_cls, f"__r{_name}__", _arithmetic(_symbol, _op, reflected=True))
for _name, _symbol, _op in (
    ("lt", "<", operator.lt),
    ("le", "<=", operator.le),
    ("gt", ">", operator.gt),
    ("ge", ">=", operator.ge),
    ("eq", "==", operator.eq),
    ("ne", "!=", operator.ne),
):
    for _cls in _SYMBOLIC:
        setattr(_cls, f"__{_name}__", _comparison(_symbol, _op))
del _name, _symbol, _op, _cls


def plain(value: Any) -> Any:
    """``value`` with its traced sizes (in tuples, lists, dicts, ``Size``) made plain
    ints, so none reaches the caller or a recorded program."""
    kind = type(value)
    if kind is SymInt:
        return int(value)
    if kind is SymFloat:
        return float.__float__(value)
    if kind is tuple or kind is list:
        return kind(plain(v) for v in value) if any(_has_sym(v) for v in value) else value
    if kind is dict:
        return {k: plain(v) for k, v in value.items()} if _has_sym(value) else value
    if isinstance(value, tuple) and any(type(v) is SymInt for v in value):  # gpugrad.Size
        return kind(plain(v) for v in value)
    return value


def _has_sym(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) in _SYMBOLIC:
            return True
        if isinstance(v, (tuple, list)):
            stack.extend(v)
        elif type(v) is dict:
            stack.extend(v.values())
    return False
