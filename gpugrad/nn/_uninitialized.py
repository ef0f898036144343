"""``UninitializedParameter`` and ``UninitializedBuffer`` (task s7-nnpool): the
placeholders of the lazy layers (``nn.LazyLinear`` …), whose shape is known only at the
first forward. ``materialize(shape)`` gives one its data in place and turns it into a
``Parameter`` (a plain ``Tensor`` for the buffer), keeping the object, so optimizers and
references made before stay valid. ``gpugrad.nn.parameter`` exports both."""

from __future__ import annotations

from typing import Any

from .._factories import empty
from .._tensor import Tensor
from .parameter import Parameter

__all__ = ["UninitializedBuffer", "UninitializedParameter", "UninitializedTensorMixin"]


class UninitializedTensorMixin:
    """What the two placeholders share: ``materialize`` and PyTorch's ``<Name>`` repr."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give this placeholder data of ``shape`` (uninitialized values, ``device`` and
        ``dtype`` by default its own) and make it a ``cls_to_become`` in place."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        data = empty(
            shape,
            device=self.device if device is None else device,
            dtype=self.dtype if dtype is None else dtype,
        )
        self._data, self._backend = data._data, data._backend  # a new shape: not replace_data_
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy layer's, until its first forward)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(
        cls, requires_grad: bool = True, device: Any = None, dtype: Any = None
    ) -> UninitializedParameter:
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        """Everything happens in ``__new__``."""


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy layer's, until its first forward)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(
        cls, requires_grad: bool = False, device: Any = None, dtype: Any = None
    ) -> UninitializedBuffer:
        data = empty(0, device=device, dtype=dtype)
        buffer = object.__new__(cls)
        buffer._data, buffer._backend = data._data, data._backend
        buffer.grad_fn, buffer.grad, buffer._output_nr, buffer._extra = None, None, 0, None
        buffer.requires_grad = False
        if requires_grad:
            buffer.requires_grad_(True)
        return buffer

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None):
        """Everything happens in ``__new__``."""
