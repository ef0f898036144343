"""Tensor creation: ``tensor``, ``zeros``, ``ones``, ``full``, ``empty``, ``arange``,
``linspace``, ``eye``, ``rand``, ``randn``, ``randint``, the ``*_like`` forms, ``from_numpy``
and ``manual_seed``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import backends
from ._shape_ops import _shape_arg
from ._tensor import Tensor, _wrap
from .backends import dtypes as _dtypes
from .backends.device import Device

DeviceLike = Device | str | int | None
DTypeLike = _dtypes.DType | str | type | None


def _backend(device: DeviceLike) -> backends.ArrayBackend:
    if isinstance(device, int):
        device = f"cuda:{device}"
    return backends.get(device)


def _numpy_dtype(dtype: DTypeLike, default: _dtypes.DType = _dtypes.DEFAULT_FLOAT) -> Any:
    return (default if dtype is None else _dtypes.as_dtype(dtype)).numpy


def _leaf(data: Any, backend: backends.ArrayBackend, requires_grad: bool) -> Tensor:
    t = _wrap(data, backend)
    if requires_grad:
        if data.dtype.kind != "f":
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        t._requires_grad = True
    return t


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
    array = backend.from_data(data, None if dtype is None else _numpy_dtype(dtype))
    return _leaf(array, backend, requires_grad)


def as_tensor(data: Any, dtype: DTypeLike = None, device: DeviceLike = None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(ndarray: Any) -> Tensor:
    """A CPU tensor sharing memory with ``ndarray``."""
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
    shape = _shape_arg(size)
    if kind == "full":
        array = backend.full(shape, value, _numpy_dtype(dtype))
    else:
        array = getattr(backend, kind)(shape, _numpy_dtype(dtype))
    return _leaf(array, backend, requires_grad)


def zeros(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    return _filled("zeros", size, dtype, device, requires_grad)


def ones(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    return _filled("ones", size, dtype, device, requires_grad)


def empty(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    return _filled("empty", size, dtype, device, requires_grad)


def rand(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples from [0, 1)."""
    return _filled("rand", size, dtype, device, requires_grad)


def randn(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples."""
    return _filled("randn", size, dtype, device, requires_grad)


def _scalar_dtype(value: Any) -> _dtypes.DType:
    if isinstance(value, bool):
        return _dtypes.bool_
    return _dtypes.int64 if isinstance(value, int) else _dtypes.DEFAULT_FLOAT


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    dtype = _scalar_dtype(fill_value) if dtype is None else dtype
    return _filled("full", (tuple(size),), dtype, device, requires_grad, fill_value)


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = (),
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
) -> Tensor:
    if high is None:
        low, high = 0, low
    backend = _backend(device)
    array = backend.randint(low, high, tuple(size), _numpy_dtype(dtype, _dtypes.int64))
    return _wrap(array, backend)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, int) for v in (start, end, step))
        dtype = _dtypes.int64 if integral else _dtypes.DEFAULT_FLOAT
    backend = _backend(device)
    return _leaf(backend.arange(start, end, step, _numpy_dtype(dtype)), backend, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    backend = _backend(device)
    return _leaf(backend.linspace(start, end, steps, _numpy_dtype(dtype)), backend, requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    backend = _backend(device)
    return _leaf(backend.eye(n, m, _numpy_dtype(dtype)), backend, requires_grad)


def _like(kind: str, input: Tensor, dtype, device, requires_grad, value=None) -> Tensor:
    dtype = input.dtype if dtype is None else dtype
    device = input._backend.device_str if device is None else device
    if kind == "full":
        return full(
            input._data.shape, value, dtype=dtype, device=device, requires_grad=requires_grad
        )
    return _filled(kind, (input._data.shape,), dtype, device, requires_grad)


def zeros_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("zeros", input, dtype, device, requires_grad)


def ones_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("ones", input, dtype, device, requires_grad)


def empty_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("empty", input, dtype, device, requires_grad)


def rand_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("rand", input, dtype, device, requires_grad)


def randn_like(
    input: Tensor,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("randn", input, dtype, device, requires_grad)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: DTypeLike = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _like("full", input, dtype, device, requires_grad, fill_value)


def manual_seed(seed: int) -> None:
    """Seed the random generators of the CPU and every CUDA device in use."""
    backends.seed_all(int(seed))
