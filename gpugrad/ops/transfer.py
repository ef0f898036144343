"""Moving tensors between devices and dtypes: ``to``, ``cpu``, ``cuda``, ``float`` … .
Transfers are differentiable: the gradient flows back to the source device and dtype."""

from __future__ import annotations

from typing import Any

from .. import backends
from .._graph import Op
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from ..backends.device import Device
from .dispatch import record
from .registry import declare

TO_DEVICE = Op(
    "to",
    "ToCopyBackward0",
    None,
    (lambda ns, g, source: ns.to_backend(g, source),),
    attrs=("source",),
)
TO_DTYPE = Op(
    "to", "ToCopyBackward0", None, (lambda ns, g, dtype: ns.astype(g, dtype),), attrs=("dtype",)
)


def to_dtype(input: Tensor, dtype: Any) -> Tensor:
    """``input`` in ``dtype`` (itself when it already is); differentiable to floats."""
    target = _dtypes.as_dtype(dtype).numpy
    if input._data.dtype == target:
        return input
    out = input._backend.astype(input._data, target)  # silenced: inf to int32 is no warning
    if target.kind != "f":
        return _wrap(out, input._backend)
    return record(TO_DTYPE, out, input._backend, (input,), (input._data.dtype,))


astype = to_dtype


def to_backend(input: Tensor, backend: backends.ArrayBackend) -> Tensor:
    source = input._backend
    if source is backend:
        return input
    out = source.to_backend(input._data, backend)
    return record(TO_DEVICE, out, backend, (input,), (source,))


def parse_to(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """The ``(device, dtype)`` that ``Tensor.to``/``Module.to`` arguments ask for."""
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


@declare(export=False, rows=(TO_DEVICE, TO_DTYPE))
def to(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """This tensor converted to another device and/or dtype, as ``torch.Tensor.to``;
    differentiable."""
    device, dtype = parse_to(args, dict(kwargs))
    out = input
    if device is not None:
        out = to_backend(out, backends.get(device))
    if dtype is not None:
        out = to_dtype(out, dtype)
    return out


@declare(export=False)
def cpu(input: Tensor) -> Tensor:
    """This tensor on the CPU (itself if it is there already); differentiable."""
    return to_backend(input, backends.cpu)


@declare(export=False)
def cuda(input: Tensor, device: int | str | Device | None = None) -> Tensor:
    """This tensor on a CUDA device (``device``, default the current one); differentiable."""
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to_backend(input, backends.get(device))


def _type_cast(method: str, dtype_name: str) -> None:
    def cast(input: Tensor) -> Tensor:
        return to_dtype(input, dtype_name)

    cast.__name__ = cast.__qualname__ = method
    cast.__module__ = __name__
    cast.__doc__ = f"``input`` as {dtype_name}."
    declare(method, export=False)(cast)


for _method, _dtype_name in (
    ("float", "float32"),
    ("double", "float64"),
    ("half", "float16"),
    ("long", "int64"),
    ("int", "int32"),
    ("bool", "bool"),
    ("byte", "uint8"),
    ("char", "int8"),
    ("short", "int16"),
):
    _type_cast(_method, _dtype_name)


TENSOR_TYPE_NAMES = {
    f"{scalar}Tensor": _dtypes.as_dtype(name) for name, scalar in _dtypes.SCALAR_TYPE_NAMES.items()
}
"""PyTorch's legacy tensor-type names (``FloatTensor``) and the dtype each one holds."""


def _tensor_type_name(input: Tensor) -> str:
    scalar = _dtypes.SCALAR_TYPE_NAMES[input.dtype.name]
    on_cuda = ".cuda" if input._backend.device.type == "cuda" else ""
    return f"gpugrad{on_cuda}.{scalar}Tensor"


@declare("type", export=False)
def type_(input: Tensor, dtype: Any = None, non_blocking: bool = False) -> str | Tensor:
    """Without ``dtype``, the tensor's type name (``'gpugrad.FloatTensor'``, PyTorch's
    ``'torch.FloatTensor'``); with one (a dtype, or a type name such as
    ``'torch.DoubleTensor'`` or ``'gpugrad.cuda.FloatTensor'``), this tensor cast to it, as
    ``torch.Tensor.type``; itself when it already has that type."""
    if dtype is None:
        return _tensor_type_name(input)
    if not isinstance(dtype, str):
        return to_dtype(input, dtype)
    prefix, _, name = dtype.rpartition(".")
    if prefix not in ("torch", "gpugrad", "torch.cuda", "gpugrad.cuda") or (
        name not in TENSOR_TYPE_NAMES
    ):
        raise ValueError(f"invalid type: '{dtype}'")
    out = to_backend(input, backends.get("cuda")) if prefix.endswith(".cuda") else input
    if not prefix.endswith(".cuda") and input._backend.device.type == "cuda":
        out = to_backend(out, backends.cpu)
    return to_dtype(out, TENSOR_TYPE_NAMES[name])
