"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``empty``, ``arange``,
``linspace``, ``eye``, ``rand``, ``randn``, ``randint``, the ``*_like`` forms, ``from_numpy``,
``manual_seed`` and the random samplers (``randperm``, ``multinomial``, ``bernoulli``,
``normal``), each drawing from a ``gg.Generator`` (``generator=``, default the device's).
The factories PyTorch gives ``out=`` take it (``factory_accepts_out``; the ops' ``out=``
is ``gpugrad/_out.py``)."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import operator
import warnings
from collections.abc import Sequence
from typing import Any

from . import _default_device, _random, backends
from ._grad_mode import no_grad
from ._grad_mode import state as _grad_state
from ._random import Generator
from ._tensor import _CPP_TYPE, Tensor, _wrap
from .backends import dtypes as _dtypes
from .backends import python_data
from .backends.device import Device

DeviceLike = Device | str | int | None
DTypeLike = _dtypes.DType | str | type | None


# --- out= ------------------------------------------------------------------------------
OUT_AUTOGRAD_ERROR = (
    "{name}(): functions with out=... arguments don't support automatic differentiation, "
    "but one of the arguments requires grad."
)
ARANGE_WARNING = (
    "The number of elements in the out tensor of shape {old} is {n} which does not match "
    "the computed number of elements {count}. Note that this may occur as a result of "
    "rounding error. The out tensor will be resized to a tensor of shape ({count},)."
)
"""``arange``'s own warning for an ``out`` of another size (other factories resize
silently)."""


def factory_accepts_out(function: Any) -> Any:
    """A factory taking PyTorch's ``out=``: it makes the tensor with ``out``'s dtype and
    device (a different ``dtype=`` is an error, as in PyTorch) and copies it into ``out``
    (a write: the version counter goes up), which it resizes silently."""
    name = function.__name__
    params = inspect.signature(function).parameters

    @functools.wraps(function)
    def factory(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return function(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        if _grad_state.enabled and out._requires_grad:
            raise RuntimeError(OUT_AUTOGRAD_ERROR.format(name=f"aten::{name}"))
        dtype = kwargs.get("dtype")
        if dtype is not None and _dtypes.as_dtype(dtype) != out.dtype:
            raise RuntimeError(
                f"dtype {_CPP_TYPE[_dtypes.as_dtype(dtype).name][1]} does not match dtype of "
                f"out parameter ({_CPP_TYPE[out.dtype.name][1]})"
            )
        if "dtype" in params:
            kwargs["dtype"] = out.dtype
        if "device" in params and kwargs.get("device") is None:
            kwargs["device"] = out.device
        result = function(*args, **kwargs)
        if result._backend is not out._backend:
            raise RuntimeError(
                f"Expected out tensor to have device {result._backend.device_str}, but got "
                f"{out._backend.device_str} instead"
            )
        size = out._data.size
        if name == "arange" and size not in (0, result._data.size):
            message = ARANGE_WARNING.format(old=list(out.shape), n=size, count=result._data.size)
            warnings.warn(message, UserWarning, stacklevel=2)
        if out._data.shape != result._data.shape:  # resized: new memory
            out._data = out._backend.empty(result._data.shape, out._data.dtype)
        with no_grad():
            out.copy_(result)
        return out

    factory.__signature__ = inspect.signature(function).replace(
        parameters=[
            *params.values(),
            inspect.Parameter(
                "out", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Tensor | None"
            ),
        ]
    )
    factory.__doc__ = (function.__doc__ or "").rstrip() + (
        "\n\nWith ``out=`` the tensor is written into ``out``, which is returned."
    )
    return factory


def _check_steps(steps: Any) -> None:
    """``linspace``/``logspace``'s refusal of a negative ``steps``, as PyTorch words it."""
    if isinstance(steps, int) and steps < 0:
        raise RuntimeError("number of steps must be non-negative")


def _backend(device: DeviceLike) -> backends.ArrayBackend:
    if device is None:
        device = _default_device.current  # set_default_device's (None: the CPU)
    if isinstance(device, int):
        device = f"cuda:{device}"
    return backends.get(device)


def _numpy_dtype(dtype: DTypeLike, default: _dtypes.DType | None = None) -> Any:
    if dtype is None:
        return (_dtypes.DEFAULT_FLOAT if default is None else default).numpy
    return _dtypes.as_dtype(dtype).numpy


def _leaf(data: Any, backend: backends.ArrayBackend, requires_grad: bool) -> Tensor:
    t = _wrap(data, backend)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


def _type_name(value: Any) -> str:
    """A value's type as PyTorch's argument errors name it (``numpy.ndarray``, ``float``)."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _size(function: str, size: tuple, position: int = 1) -> tuple[int, ...]:
    """The shape given as ``f(2, 3)`` or ``f((2, 3))``, refused with PyTorch's errors when it
    is not made of ints or has a negative dimension."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        dims = []
        for pos, n in enumerate(size[0]):
            if isinstance(n, bool) or not hasattr(n, "__index__"):
                raise TypeError(
                    f"{function}(): argument 'size' (position {position}) must be tuple of "
                    f"ints, but found element of type {_type_name(n)} at pos {pos}"
                )
            dims.append(operator.index(n))
    elif len(size) == 1 and (isinstance(size[0], bool) or not hasattr(size[0], "__index__")):
        raise TypeError(
            f"{function}(): argument 'size' (position {position}) must be tuple of ints, not "
            f"{_type_name(size[0])}"
        )
    else:
        dims = []
        for pos, n in enumerate(size):
            if not hasattr(n, "__index__"):
                raise TypeError(
                    f"{function}(): argument 'size' failed to unpack the object at pos "
                    f'{pos + 1} with error "type must be tuple of ints,but got {_type_name(n)}"'
                )
            dims.append(operator.index(n))
    for n in dims:
        if n < 0:
            if function == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {dims}")
    return tuple(dims)


def _check_number(function: str, name: str, position: int, value: Any) -> Any:
    """``value`` as a Python number (a one-element tensor gives its item), or PyTorch's
    ``TypeError`` naming the argument."""
    if isinstance(value, Tensor) and value._data.size == 1:
        return value.item()
    if not isinstance(value, numbers.Number):
        raise TypeError(
            f"{function}(): argument '{name}' (position {position}) must be Number, not "
            f"{_type_name(value)}"
        )
    return value


def _check_int(function: str, name: str, position: int, value: Any) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(
            f"{function}(): argument '{name}' (position {position}) must be int, not "
            f"{_type_name(value)}"
        )
    return operator.index(value)


def tensor(
    data: Any,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, arrays)."""
    backend = _backend(device)
    if isinstance(data, Tensor):
        data = data._backend.to_host(data._data) if data._backend is not backend else data._data
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [v.tolist() if isinstance(v, Tensor) else v for v in data]
    if python_data.is_python_data(data, dtype is not None):
        target = None if dtype is None else _numpy_dtype(dtype)
        host = python_data.host_array(data, target, _dtypes.DEFAULT_FLOAT.numpy)
        array = backend.from_data(host, copy=False)
    else:
        array = backend.from_data(data, None if dtype is None else _numpy_dtype(dtype))
    return _leaf(array, backend, requires_grad)


def as_tensor(data: Any, dtype: DTypeLike = None, device: DeviceLike = None) -> Tensor:
    """``data`` as a tensor, sharing it when it already is one of the requested dtype and device
    (``torch.as_tensor``); otherwise a copy as :func:`tensor` makes."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: Any) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray``."""
    if not backends.cpu.is_host_array(ndarray):
        raise TypeError(f"expected np.ndarray (got {_type_name(ndarray)})")
    return _leaf(backends.cpu.from_data(ndarray, copy=False), backends.cpu, False)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing memory with any DLPack producer (PyTorch, CuPy, NumPy …), on the
    producer's device."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    backend, array = backends.from_dlpack(ext_tensor)
    return _leaf(array, backend, False)


def _filled(kind: str, size: tuple, dtype, device, requires_grad, value=None) -> Tensor:
    backend = _backend(device)
    shape = _size(kind, size)
    if kind == "full":
        array = backend.full(shape, value, _numpy_dtype(dtype))
    else:
        array = getattr(backend, kind)(shape, _numpy_dtype(dtype))
    return _leaf(array, backend, requires_grad)


@factory_accepts_out
def zeros(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``), float32 unless
    ``dtype`` says otherwise."""
    return _filled("zeros", size, dtype, device, requires_grad)


@factory_accepts_out
def ones(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones of shape ``size`` (``ones(2, 3)`` or ``ones((2, 3))``), float32 unless
    ``dtype`` says otherwise."""
    return _filled("ones", size, dtype, device, requires_grad)


@factory_accepts_out
def empty(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """An uninitialised tensor of shape ``size`` (its values are whatever the memory held), float32
    unless ``dtype`` says otherwise."""
    return _filled("empty", size, dtype, device, requires_grad)


@factory_accepts_out
def rand(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1)."""
    return _random_leaf("uniform", size, generator, dtype, device, requires_grad)


@factory_accepts_out
def randn(
    *size: Any,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples."""
    return _random_leaf("normal", size, generator, dtype, device, requires_grad)


def _scalar_dtype(value: Any) -> _dtypes.DType:
    if isinstance(value, bool):
        return _dtypes.bool_
    return _dtypes.int64 if isinstance(value, int) else _dtypes.DEFAULT_FLOAT


@factory_accepts_out
def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; its dtype follows the value (bool,
    int64 or the default float) unless ``dtype`` is given."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"full(): argument 'size' (position 1) must be tuple of ints, not {_type_name(size)}"
        )
    fill_value = _check_number("full", "fill_value", 2, fill_value)
    dtype = _scalar_dtype(fill_value) if dtype is None else dtype
    fill_value = python_data.checked_fill(fill_value, _numpy_dtype(dtype))
    return _filled("full", (size,), dtype, device, requires_grad, fill_value)


@factory_accepts_out
def randint(
    low: int = 0,
    high: int | Sequence[int] | None = None,
    size: Sequence[int] | None = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform in ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)`` (int64 unless ``dtype`` says otherwise)."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None and size is not None:  # randint(high, size=size)
        low, high = 0, low
    if size is None or high is None:
        raise TypeError("randint(): missing the 'size' argument: randint(low, high, size)")
    low = _check_int("randint", "low", 1, low)
    high = _check_int("randint", "high", 2, high)
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"randint(): argument 'size' (position 3) must be tuple of ints, not {_type_name(size)}"
        )
    shape = _size("randint", (size,), 3)
    backend = _backend(device)
    dtype = _numpy_dtype(dtype, _dtypes.int64)
    array = _random_integers(backend, generator, low, high, shape, dtype)
    return _leaf(array, backend, requires_grad)


@factory_accepts_out
def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """The values ``start, start + step, ...`` below ``end`` (``arange(end)`` counts from 0): int64
    when all three are ints, else the default float dtype."""
    if end is None:
        start, end = 0, _check_number("arange", "end", 1, start)
    else:
        start = _check_number("arange", "start", 1, start)
        end = _check_number("arange", "end", 2, end)
    step = _check_number("arange", "step", 3, step)
    _check_range(start, end, step)
    if dtype is not None and _dtypes.as_dtype(dtype) is _dtypes.bool_:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    if dtype is None:
        integral = all(isinstance(v, int) for v in (start, end, step))
        dtype = _dtypes.int64 if integral else _dtypes.DEFAULT_FLOAT
    backend = _backend(device)
    return _leaf(backend.arange(start, end, step, _numpy_dtype(dtype)), backend, requires_grad)


def _check_range(start: Any, end: Any, step: Any) -> None:
    """PyTorch's ``arange`` checks: a finite range, a nonzero step of the range's sign."""
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if math.ceil((end - start) / step) > python_data.INT64_MAX:
        raise RuntimeError("invalid size, possible overflow?")


@factory_accepts_out
def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end``, both included."""
    _check_steps(steps)
    backend = _backend(device)
    return _leaf(backend.linspace(start, end, steps, _numpy_dtype(dtype)), backend, requires_grad)


@factory_accepts_out
def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values ``base ** x`` for ``x`` evenly spaced from ``start`` to ``end``."""
    _check_steps(steps)
    backend = _backend(device)
    exponents = backend.linspace(start, end, steps, _numpy_dtype(None, _dtypes.float64))
    values = backend.astype(backend.pow(float(base), exponents), _numpy_dtype(dtype))
    return _leaf(values, backend, requires_grad)


def _triangle_indices(
    function: str, row: int, col: int, offset: int, dtype: DTypeLike, device: DeviceLike
) -> Tensor:
    """The (row, column) indices of the lower (``tril``) or upper (``triu``) triangle of a
    ``row`` x ``col`` matrix, row by row, as a 2 x N tensor."""
    rows, cols = [], []
    for i in range(row):
        for j in range(col):
            if (j - i <= offset) if function == "tril_indices" else (j - i >= offset):
                rows.append(i)
                cols.append(j)
    backend = _backend(device)
    dtype = _numpy_dtype(dtype, _dtypes.int64)
    return _leaf(backend.asarray([rows, cols], dtype=dtype).reshape(2, len(rows)), backend, False)


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: DTypeLike = None, device: DeviceLike = None
) -> Tensor:
    """The indices of the lower triangle (diagonal ``offset`` and below) of a ``row`` x
    ``col`` matrix: a 2 x N tensor of row and column indices."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: DTypeLike = None, device: DeviceLike = None
) -> Tensor:
    """The indices of the upper triangle (diagonal ``offset`` and above) of a ``row`` x
    ``col`` matrix: a 2 x N tensor of row and column indices."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device)


@factory_accepts_out
def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``): ones on the diagonal, zeros
    elsewhere."""
    n = _check_int("eye", "n", 1, n)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None:
        m = _check_int("eye", "m", 2, m)
        if m < 0:
            raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    backend = _backend(device)
    return _leaf(backend.eye(n, m, _numpy_dtype(dtype)), backend, requires_grad)


def _like(kind: str, input: Tensor, dtype, device, requires_grad, value=None) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{kind}_like(): argument 'input' (position 1) must be Tensor, not {_type_name(input)}"
        )
    dtype = input.dtype if dtype is None else dtype
    device = input._backend.device_str if device is None else device
    if kind == "full":
        value = _check_number("full_like", "fill_value", 2, value)
        return full(
            input._data.shape, value, dtype=dtype, device=device, requires_grad=requires_grad
        )
    return _filled(kind, (tuple(input._data.shape),), dtype, device, requires_grad)


def zeros_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Zeros of ``input``'s shape, and of its dtype and device unless given."""
    return _like("zeros", input, dtype, device, requires_grad)


def ones_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Ones of ``input``'s shape, and of its dtype and device unless given."""
    return _like("ones", input, dtype, device, requires_grad)


def empty_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``input``'s shape, and of its dtype and device unless given."""
    return _like("empty", input, dtype, device, requires_grad)


def rand_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1) of ``input``'s shape, and of its dtype and device unless
    given."""
    dtype, device = _like_dtype_device(input, dtype, device)
    return rand(
        input.shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad
    )


def randn_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples of ``input``'s shape, and of its dtype and device unless given."""
    dtype, device = _like_dtype_device(input, dtype, device)
    return randn(
        input.shape, generator=generator, dtype=dtype, device=device, requires_grad=requires_grad
    )


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``input``'s shape filled with ``fill_value``, of ``input``'s dtype and device
    unless given."""
    return _like("full", input, dtype, device, requires_grad, fill_value)


def manual_seed(seed: int) -> Generator:
    """Seed the default generators of the CPU and every CUDA device; returns
    ``gg.default_generator``."""
    return _random.manual_seed(seed)


# --- random sampling ----------------------------------------------------------------------
def _random_shape(size: tuple, function: str = "randn") -> tuple[int, ...]:
    """A random function's size argument, checked as the factories check theirs."""
    return _size(function, size)


def _float_dtype(dtype: DTypeLike, kernel: str) -> Any:
    numpy_dtype = _numpy_dtype(dtype)
    if numpy_dtype.kind != "f":
        name = _dtypes.SCALAR_TYPE_NAMES[numpy_dtype.name]
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")
    return numpy_dtype


def _random_leaf(kind, size, generator, dtype, device, requires_grad) -> Tensor:
    backend = _backend(device)
    shape = _random_shape(size, "rand" if kind == "uniform" else "randn")
    kernel = "check_uniform_bounds" if kind == "uniform" else "normal_kernel_cpu"
    numpy_dtype = _float_dtype(dtype, kernel)
    source = _random.generator_for(generator, backend)
    array = getattr(source, kind)(backend, shape, numpy_dtype)
    return _leaf(array, backend, requires_grad)


def _random_integers(backend, generator, low: int, high: int, shape: tuple, dtype: Any) -> Any:
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    if dtype.kind == "b" and high - 1 > 1:
        raise RuntimeError("to - 1 is out of bounds for bool")
    source = _random.generator_for(generator, backend)
    return source.integers(backend, low, high, shape).astype(dtype)


def _like_dtype_device(input: Tensor, dtype: DTypeLike, device: DeviceLike) -> tuple:
    return (
        input.dtype if dtype is None else dtype,
        input._backend.device_str if device is None else device,
    )


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers uniform in ``[low, high)`` (``randint_like(input, high)`` from 0), shaped
    like ``input`` and of its dtype unless ``dtype`` is given."""
    if high is None:
        low, high = 0, low
    dtype, device = _like_dtype_device(input, dtype, device)
    return randint(
        low,
        high,
        tuple(input.shape),
        generator=generator,
        dtype=dtype,
        device=device,
        requires_grad=requires_grad,
    )


@factory_accepts_out
def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise)."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    backend = _backend(device)
    numpy_dtype = _dtypes.as_dtype(_dtypes.int64 if dtype is None else dtype).numpy
    order = _random.generator_for(generator, backend).permutation(backend, n)
    return _leaf(order.astype(numpy_dtype), backend, requires_grad)


@factory_accepts_out
def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Indices drawn from the categorical distribution(s) given by the non-negative
    weights in each row of ``input`` (1-D or 2-D): with replacement by inverting the
    cumulative sum, without by the exponential race (the ``num_samples`` smallest
    ``Exp(1) / weight``), which is sequential sampling without replacement."""
    weights = input._data
    backend = input._backend
    if weights.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if weights.dtype.kind != "f":
        name = _dtypes.SCALAR_TYPE_NAMES[weights.dtype.name]
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {name}"
        )
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = weights.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if categories > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = weights.reshape(-1, categories).astype(_dtypes.float64.numpy)
    if bool(backend.any(~backend.isfinite(rows) | (rows < 0))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool(backend.any(rows.sum(axis=1) <= 0)):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and bool(backend.any((rows > 0).sum(axis=1) < num_samples)):
        raise RuntimeError(
            "invalid multinomial distribution (with replacement=False, not enough "
            "non-negative category to sample)"
        )
    source = _random.generator_for(generator, backend)
    picks = source.sample_categories(backend, rows, num_samples, replacement)
    if weights.ndim == 1:
        picks = picks[0]
    return _wrap(picks, backend)


@factory_accepts_out
def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Generator | None = None
) -> Tensor:
    """0/1 samples, 1 with probability ``input`` elementwise (or ``p`` everywhere when
    given), of ``input``'s dtype."""
    out = empty_like(input)
    return out.bernoulli_(input if p is None else p, generator=generator)


@factory_accepts_out
def normal(
    mean: Any,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples: elementwise ``N(mean, std**2)`` for tensor ``mean`` and/or ``std``
    (broadcast), or ``size`` samples of one distribution for numbers."""
    mean_is_tensor, std_is_tensor = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_is_tensor and not std_is_tensor:
        if size is None:
            raise TypeError("normal() missing 1 required positional argument: 'size'")
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        out = empty(_random_shape((size,), "normal"), dtype=dtype, device=device)
        out.normal_(float(mean), float(std), generator=generator)
        return out.requires_grad_(requires_grad) if requires_grad else out
    reference = mean if mean_is_tensor else std
    backend = reference._backend
    std_data = std._data if std_is_tensor else std
    if std_is_tensor and bool(backend.any(std_data < 0)):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not std_is_tensor and not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    mean_data = mean._data if mean_is_tensor else mean
    shape = backends.cpu.broadcast_shapes(
        *(t._data.shape for t in (mean, std) if isinstance(t, Tensor))
    )
    numpy_dtype = backends.cpu.result_type(
        *(t._data.dtype for t in (mean, std) if isinstance(t, Tensor))
    )
    source = _random.generator_for(generator, backend)
    noise = source.normal(backend, shape, numpy_dtype)
    return _wrap((noise * std_data + mean_data).astype(numpy_dtype, copy=False), backend)
