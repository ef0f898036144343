"""Bit shifts of integer tensors (``bitwise_left_shift``, ``bitwise_right_shift``, the
operators ``<<``/``>>`` and their in-place and reflected forms), with PyTorch's promotion
and its results for shifts past the width of the dtype (0, or -1 for a negative value
shifted right)."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor, _wrap
from .dispatch import TensorOrNumber, broadcast_error
from .elementwise import _check_broadcast, _not_implemented, _promoted
from .registry import declare


def _shift(name: str, kernel: str, input: Tensor, other: Any, left: bool) -> Tensor:
    backend, ad, bd = _promoted(input, other)
    if ad.dtype.kind not in "iu":
        _check_broadcast(ad.shape, getattr(bd, "shape", ()))
        raise _not_implemented(kernel, _wrap(ad, backend))
    try:
        return _wrap(backend.bit_shift(ad, bd, left), backend)
    except ValueError:
        raise broadcast_error(ad.shape, getattr(bd, "shape", ())) from None


@declare(
    methods=("bitwise_left_shift", "__lshift__"), inplace=("bitwise_left_shift_", "__ilshift__")
)
def bitwise_left_shift(input: TensorOrNumber, other: TensorOrNumber) -> Tensor:
    """``input << other``, elementwise, on integer tensors (0 past the dtype's width)."""
    if not isinstance(input, Tensor):  # a number shifted by a tensor
        return __rlshift__(other, input)
    return _shift("bitwise_left_shift", "lshift", input, other, True)


@declare(
    methods=("bitwise_right_shift", "__rshift__"), inplace=("bitwise_right_shift_", "__irshift__")
)
def bitwise_right_shift(input: TensorOrNumber, other: TensorOrNumber) -> Tensor:
    """``input >> other``, elementwise, arithmetic on signed integers (0 or -1 past the
    dtype's width)."""
    if not isinstance(input, Tensor):
        return __rrshift__(other, input)
    return _shift("bitwise_right_shift", "rshift", input, other, False)


def _number_as_tensor(number: Any, like: Tensor) -> Tensor:
    from .._factories import tensor

    return tensor(number, device=like.device)


@declare("__rlshift__", methods=("__rlshift__",), export=False)
def __rlshift__(self: Tensor, other: Any) -> Tensor:
    """``other << self`` for a number ``other``."""
    return _shift("bitwise_left_shift", "lshift", _number_as_tensor(other, self), self, True)


@declare("__rrshift__", methods=("__rrshift__",), export=False)
def __rrshift__(self: Tensor, other: Any) -> Tensor:
    """``other >> self`` for a number ``other``."""
    return _shift("bitwise_right_shift", "rshift", _number_as_tensor(other, self), self, False)
