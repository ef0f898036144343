"""Python numbers and nested lists made into host arrays with PyTorch's checks.

``tensor()`` and ``full()`` take Python values. NumPy converts them silently where PyTorch
refuses: an int past int64 becomes uint64, float64 or an object array (PyTorch:
"Overflow when unpacking long long"), a value outside an integer dtype wraps or raises
NumPy's ``OverflowError`` (PyTorch: ``RuntimeError`` "value cannot be converted to type
int8 without overflow"), and ``None`` or a dict becomes an object array. The checks cost
one pass over the converted array, in C, and a pass over the Python values only when
NumPy's result says something is wrong.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy

from . import dtypes, fp_errors

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
OVERFLOW_WHEN_UNPACKING = "Overflow when unpacking long long"


def is_python_data(data: Any, dtype_given: bool) -> bool:
    """Whether ``tensor(data)`` converts ``data`` as Python values: anything but an array
    (a NumPy scalar counts as a Python number when a dtype is given, as in PyTorch, so that
    ``tensor(np.int64(300), dtype=int8)`` is checked, not wrapped)."""
    if isinstance(data, numpy.generic):
        return dtype_given and isinstance(data, numbers.Number)
    return not (
        (hasattr(data, "dtype") and hasattr(data, "shape"))
        or hasattr(data, "__cuda_array_interface__")
    )


def _overflow(name: str) -> RuntimeError:
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def _cannot_convert(dtype: numpy.dtype) -> RuntimeError:
    return _overflow(dtypes.BY_NUMPY[numpy.dtype(dtype)].name)


def _leaves(data: Any) -> list:
    """The values in nested lists and tuples, in order."""
    values, pending = [], [data]
    while pending:
        item = pending.pop()
        if isinstance(item, (list, tuple)):
            pending.extend(reversed(item))
        else:
            values.append(item)
    return values


def _check_values(data: Any, ints_as_int64: bool | None) -> None:
    """Raise PyTorch's error for the value NumPy could not type: something not a number,
    or an int outside int64 where PyTorch unpacks ints as int64 (``ints_as_int64``: an
    integer target; ``None``: no target, so when no float is in the data)."""
    values = _leaves(data)
    for v in values:
        if not isinstance(v, (numbers.Number, numpy.generic)):
            raise RuntimeError(f"Could not infer dtype of {type(v).__name__}")
    if ints_as_int64 is None:
        ints_as_int64 = not any(isinstance(v, (float, numpy.floating)) for v in values)
    if ints_as_int64 and any(type(v) is int and not INT64_MIN <= v <= INT64_MAX for v in values):
        raise ValueError(OVERFLOW_WHEN_UNPACKING)


def _check_in_range(host: numpy.ndarray, target: numpy.dtype) -> None:
    """PyTorch's check when Python numbers become an integer dtype: ints within the type's
    range (an unsigned type also takes ``-max..-1``, wrapping them, as PyTorch does), floats
    finite and within the range."""
    if host.size == 0 or host.dtype.kind == "b":
        return
    info = numpy.iinfo(target)
    low, high = host.min(), host.max()
    if host.dtype.kind == "f":
        if not (numpy.isfinite(low) and numpy.isfinite(high)):
            raise _cannot_convert(target)
        lowest = info.min
    else:
        lowest = -int(info.max) if info.min == 0 else info.min
    if low < lowest or high > info.max:
        raise _cannot_convert(target)


@fp_errors.silenced  # 1e-45 to float32 underflows, 1e300 overflows: PyTorch's values
def host_array(data: Any, target: Any, default_float: Any) -> numpy.ndarray:
    """A new host array of Python ``data`` typed as PyTorch's ``tensor()`` types it: the
    given ``target`` dtype, else ``default_float`` for floats, int64 for ints and bool for
    bools; refused with PyTorch's errors where PyTorch refuses."""
    target = None if target is None else numpy.dtype(target)
    if type(data) in _PYTHON_SCALARS:
        return _scalar_array(data, target, default_float)
    integral_target = target is not None and target.kind in "iu"
    ints_as_int64 = None if target is None else integral_target
    host = numpy.array(data)
    kind = host.dtype.kind
    largest = float(numpy.abs(host).max()) if kind == "f" and host.size else 0.0  # NaN: a float
    if kind == "O":
        _check_values(data, ints_as_int64)
        host = numpy.array(data, dtype=numpy.int64 if integral_target else numpy.float64)
        kind = host.dtype.kind
    elif ints_as_int64 is not False and host.size and kind in "uf":
        # Python ints past int64 make NumPy choose uint64, or float64 when of both signs.
        if kind == "u" and host.dtype.itemsize == 8 and host.max() > INT64_MAX:
            raise ValueError(OVERFLOW_WHEN_UNPACKING)
        if kind == "f" and largest >= 2.0**63:
            _check_values(data, ints_as_int64)
    if target is None:
        if kind == "f":
            target = numpy.dtype(default_float)
        elif kind in "iu":
            target = numpy.dtype(numpy.int64)
        else:
            return host
    elif integral_target:
        _check_in_range(host, target)  # so the cast below cannot overflow
    if target.kind == "f" and largest > _LARGEST_FLOAT[target]:
        with numpy.errstate(over="ignore"):  # inf, as in PyTorch, without NumPy's warning
            return host.astype(target)
    return host.astype(target, copy=False)


_PYTHON_SCALARS = (bool, int, float)
_LARGEST_FLOAT = {
    numpy.dtype(kind): float(numpy.finfo(kind).max)
    for kind in (numpy.float16, numpy.float32, numpy.float64)
}


def _scalar_array(value: bool | int | float, target: Any, default_float: Any) -> numpy.ndarray:
    """``host_array`` of one Python number, checked without array reductions."""
    if target is None:
        if type(value) is bool:
            return numpy.array(value)
        if type(value) is int:
            if not INT64_MIN <= value <= INT64_MAX:
                raise ValueError(OVERFLOW_WHEN_UNPACKING)
            return numpy.array(value, dtype=numpy.int64)
        target = numpy.dtype(default_float)
    if target.kind in "iu":
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(OVERFLOW_WHEN_UNPACKING)
        value = _checked_integer(value, target, dtypes.BY_NUMPY[target].name)
    elif target.kind == "f" and abs(value) > _LARGEST_FLOAT[target] and math.isfinite(value):
        with numpy.errstate(over="ignore"):  # inf, as in PyTorch, without NumPy's warning
            return numpy.array(value, dtype=target)
    return numpy.array(value, dtype=target)


def _checked_integer(value: Any, target: numpy.dtype, name: str) -> Any:
    """``value`` for an integer ``target`` (called ``name`` in the error): PyTorch refuses
    one outside the type's range and wraps ``-max..-1`` into an unsigned type."""
    if isinstance(value, (bool, numpy.bool_)):
        return value
    low, high = _INT_RANGES[target.kind, target.itemsize]
    if type(value) is int or (type(value) is not float and isinstance(value, numbers.Integral)):
        value = int(value)
        lowest = -high if low == 0 else low
        if not lowest <= value <= high:
            raise _overflow(name)
        return value % (high + 1) if value < 0 and low == 0 else value
    if not (math.isfinite(value) and low <= value <= high):
        raise _overflow(name)
    return value


_INT_RANGES = {
    (kind, size): (int(numpy.iinfo(f"{kind}{size}").min), int(numpy.iinfo(f"{kind}{size}").max))
    for kind in "iu"
    for size in (1, 2, 4, 8)
}
"""(kind, itemsize) -> (min, max) of the integer types, looked up per call (``iinfo`` and
``dtype.name`` cost microseconds each)."""


_C_SCALAR_NAMES = {
    ("f", 2): "c10::Half",
    ("f", 4): "float",
    ("f", 8): "double",
    ("i", 1): "int8_t",
    ("i", 2): "int16_t",
    ("i", 4): "int",
    ("i", 8): "int64_t",
    ("u", 1): "uint8_t",
}
"""The C++ names PyTorch's scalar checks print ("value cannot be converted to type int
without overflow" for int32), by (kind, itemsize)."""
_FLOAT_MAX = {2: float(numpy.finfo(numpy.float16).max), 4: float(numpy.finfo(numpy.float32).max)}
_FLOAT_LIMITS = {
    numpy.dtype(numpy.float16): _FLOAT_MAX[2],
    numpy.dtype(numpy.float32): _FLOAT_MAX[4],
    numpy.dtype(numpy.float64): math.inf,
}


def checked_fill(value: Any, target: Any) -> Any:
    """A Python number that becomes a value of an array of ``target`` (``full``, ``fill_``,
    ``masked_fill``, ``index_fill``, ``scatter``, ``where``, ``clamp``'s bounds, ``t[i] =
    v``), checked as PyTorch checks it: a finite float beyond the float type's range, or a
    number outside the integer type's range (NaN and inf included), is refused, not made
    inf or wrapped. Bools, and anything not a real number, pass unchanged."""
    value_type = type(value)
    if value_type is float:  # the common case, in a few dict and float operations
        limit = _FLOAT_LIMITS.get(target)
        if limit is not None:
            if abs(value) > limit and math.isfinite(value):
                raise _overflow(_C_SCALAR_NAMES["f", target.itemsize])
            return value
    elif value_type is int:  # an int into an integer type: one dict lookup, two compares
        bounds = _INT_BOUNDS.get(target)
        if bounds is not None:
            lowest, high, unsigned, name = bounds
            if not lowest <= value <= high:
                raise _overflow(name)
            return value % (high + 1) if unsigned and value < 0 else value
        limit = _FLOAT_LIMITS.get(target)
        if limit is not None:  # an int into a float type
            if abs(value) > limit:
                raise _overflow(_C_SCALAR_NAMES["f", target.itemsize])
            return value
    elif isinstance(value, (bool, numpy.bool_)) or not isinstance(value, numbers.Real):
        return value
    target = numpy.dtype(target)
    key = (target.kind, target.itemsize)
    if key[0] in "iu":
        return _checked_integer(value, target, _C_SCALAR_NAMES.get(key) or str(target))
    largest = _FLOAT_MAX.get(key[1]) if key[0] == "f" else None
    if largest is not None and abs(value) > largest and math.isfinite(value):
        raise _overflow(_C_SCALAR_NAMES[key])
    return value


_FLOAT16 = numpy.dtype(numpy.float16)
_INT_BOUNDS = {
    numpy.dtype(f"{kind}{size}"): (
        -high if low == 0 else low,
        high,
        low == 0,
        _C_SCALAR_NAMES.get((kind, size), f"{'u' if kind == 'u' else ''}int{8 * size}_t"),
    )
    for (kind, size), (low, high) in _INT_RANGES.items()
}
"""For an int into an integer dtype: the lowest value PyTorch accepts (``-max`` for an
unsigned type, which wraps), the highest, whether it wraps, and the C++ name."""


def checked_setitem(value: Any, target: Any) -> Any:
    """``t[key] = value``'s Python number: an int is unpacked as int64 first (PyTorch's
    "Overflow when unpacking long long"), then checked as ``checked_fill``, except into
    float16, which PyTorch's indexing does not check (``x[0] = 1e5`` on float16 is inf)."""
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(OVERFLOW_WHEN_UNPACKING)
    if target == _FLOAT16:
        return value
    return checked_fill(value, target)
