"""Moving tensors between devices and dtypes: ``to``, ``cpu``, ``cuda``. Transfers are
differentiable: the gradient flows back to the source device."""

from __future__ import annotations

from typing import Any

from . import _derivatives as D
from . import backends
from ._ops import _record, to_dtype
from ._tensor import Tensor
from .backends import dtypes as _dtypes
from .backends.device import Device


def to_backend(input: Tensor, backend: backends.ArrayBackend) -> Tensor:
    source = input._backend
    if source is backend:
        return input
    out = source.to_backend(input._data, backend)
    return _record(D.TO_DEVICE, out, backend, (input,), (source,))


def _parse(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, _dtypes.DType):
            dtype = arg
        elif isinstance(arg, (str, Device, int)):
            device = f"cuda:{arg}" if isinstance(arg, int) else arg
        elif arg is not None:
            dtype = _dtypes.as_dtype(arg)
    return device, dtype


def to(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    device, dtype = _parse(args, dict(kwargs))
    out = input
    if device is not None:
        out = to_backend(out, backends.get(device))
    if dtype is not None:
        out = to_dtype(out, dtype)
    return out


def cpu(input: Tensor) -> Tensor:
    return to_backend(input, backends.cpu)


def cuda(input: Tensor, device: int | str | Device | None = None) -> Tensor:
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to_backend(input, backends.get(device))
