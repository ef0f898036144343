"""PyTorch's legacy tensor constructors, which older tutorials still use: ``Tensor(data)``
/ ``Tensor(*sizes)`` and the typed classes ``FloatTensor``, ``LongTensor`` ... Each makes a
float32 (or the class's dtype) CPU tensor: from a sequence, a copy of the data; from sizes,
an uninitialised tensor of that shape; from a tensor of the same dtype, that tensor's data
(shared). ``isinstance(t, gpugrad.LongTensor)`` holds for an int64 CPU tensor, as in
PyTorch."""

from __future__ import annotations

from typing import Any

from . import _factories
from ._tensor import Size, Tensor
from .backends import dtypes

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
]


def new_tensor(dtype: Any, args: tuple, device: Any = None) -> Tensor:
    """What ``torch.<Type>Tensor(*args, device=device)`` returns, with PyTorch's errors (on
    the CPU unless ``device`` says otherwise, whatever ``set_default_device`` chose)."""
    device = "cpu" if device is None else device
    if not args:
        return _factories.empty(0, dtype=dtype, device=device)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return _factories.empty(*args, dtype=dtype, device=device)
    if len(args) > 1:
        names = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"new() received an invalid combination of arguments - got ({names})")
    (data,) = args
    if isinstance(data, Size):
        return _factories.empty(*data, dtype=dtype, device=device)
    if isinstance(data, Tensor):
        if data.dtype != dtype:
            raise TypeError(f"expected {dtype} tensor (got {data.dtype} tensor)")
        return data.detach()
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if not hasattr(data, "__len__"):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return _factories.tensor(data, dtype=dtype, device=device)


def tensor_new(cls: type, *args: Any, device: Any = None) -> Tensor:
    """``Tensor.__new__``: ``Tensor(data)`` copies a sequence into a CPU tensor of the
    default dtype, ``Tensor(*sizes)`` is uninitialised, ``Tensor(t)`` shares ``t``."""
    return new_tensor(dtypes.get_default_dtype(), args, device)


class _LegacyTensorType(type):
    """The metaclass of the typed constructors: calling one builds a tensor, and
    ``isinstance`` checks the dtype (and that the tensor is on the CPU)."""

    _dtype: Any

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:
        return new_tensor(cls._dtype, args, device)

    def __instancecheck__(cls, instance: Any) -> bool:
        return (
            isinstance(instance, Tensor)
            and instance.dtype == cls._dtype
            and instance.device.type == "cpu"
        )


def _typed(name: str, dtype: Any) -> type:
    doc = f"``torch.{name}``: a legacy constructor of {dtype} CPU tensors."
    return _LegacyTensorType(name, (), {"_dtype": dtype, "__doc__": doc, "__module__": "gpugrad"})


FloatTensor = _typed("FloatTensor", dtypes.float32)
DoubleTensor = _typed("DoubleTensor", dtypes.float64)
HalfTensor = _typed("HalfTensor", dtypes.float16)
LongTensor = _typed("LongTensor", dtypes.int64)
IntTensor = _typed("IntTensor", dtypes.int32)
ShortTensor = _typed("ShortTensor", dtypes.int16)
CharTensor = _typed("CharTensor", dtypes.int8)
ByteTensor = _typed("ByteTensor", dtypes.uint8)
BoolTensor = _typed("BoolTensor", dtypes.bool_)
