"""``gpugrad.nn.Parameter``: a tensor that a Module registers as one of its parameters.

A Parameter is a leaf ``Tensor`` subclass that requires grad and shares the array of the
data it was made from; ops on it return plain tensors, and it prints as PyTorch prints a
parameter::

    >>> gg.nn.Parameter(gg.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)

This module also holds ``replace_data_``, the one place that gives an existing tensor new
values while keeping its identity (optimizers, ``load_state_dict``, ``nn.init``, ``to``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._tensor import Tensor

__all__ = ["Buffer", "Parameter", "copy_leaf", "is_parameter", "replace_data_", "zero_grads"]


class Parameter(Tensor):
    """A tensor registered as a module parameter: ``Parameter(data, requires_grad=True)``."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            from .._factories import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter expects a gpugrad Tensor as data, got {type(data).__name__}"
            )
        parameter = object.__new__(cls)
        parameter._data, parameter._backend = data._data, data._backend
        parameter.grad_fn, parameter.grad, parameter._output_nr, parameter._extra = (
            None,
            None,
            0,
            None,
        )
        parameter.requires_grad = False
        if requires_grad:
            parameter.requires_grad_(True)
        return parameter

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        """Everything happens in ``__new__``."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """A tensor that a Module registers as a buffer when assigned as an attribute
    (``self.running_mean = nn.Buffer(gg.zeros(3))``): module state that is not a parameter,
    saved in ``state_dict`` unless ``persistent=False`` and moved by ``to()``. It shares
    ``data``'s array and prints as a plain tensor."""

    __slots__ = ("persistent",)

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        if data is None:
            from .._factories import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer expects a gpugrad Tensor as data, got {type(data).__name__}")
        buffer = object.__new__(cls)
        buffer._data, buffer._backend = data._data, data._backend
        buffer.grad_fn, buffer.grad, buffer._output_nr, buffer._extra = None, None, 0, None
        buffer.requires_grad = False
        if data.requires_grad:
            buffer.requires_grad_(True)
        buffer.persistent = persistent
        return buffer

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        """Everything happens in ``__new__``."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Buffer:
        copy = super().__deepcopy__(memo)
        copy.persistent = self.persistent
        return copy


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Reset the gradients of ``params``: to ``None`` (PyTorch's default) or to zeros."""
    for param in params:
        if param.grad is None:
            continue
        if set_to_none:
            param.grad = None
        elif param.grad.grad_fn is not None:
            param.grad = param.grad.detach().zero_()
        else:
            param.grad.zero_()


def is_parameter(value: Any) -> bool:
    """True for a tensor created by ``Parameter(...)``."""
    return isinstance(value, Parameter)


def replace_data_(tensor: Tensor, value: Tensor) -> Tensor:
    """Give ``tensor`` the values of ``value`` in place, keeping the object (its identity,
    ``requires_grad``, ``.grad`` and Parameter mark).

    ``value`` must have ``tensor``'s shape and live on its device; it is cast to
    ``tensor``'s dtype. Compute ``value`` with gpugrad ops under ``gg.no_grad()``; its array
    is taken over (not copied), so pass a freshly computed tensor, not one still in use.
    """
    if not isinstance(value, Tensor):
        raise TypeError(f"expected a gpugrad Tensor, got {type(value).__name__}")
    if tuple(value.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"cannot replace the values of a tensor of shape {list(tensor.shape)} with "
            f"values of shape {list(value.shape)}"
        )
    if value._backend is not tensor._backend:
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{tensor._backend.device_str} and {value._backend.device_str}!"
        )
    data = value._data
    if data.dtype != tensor._data.dtype:
        data = data.astype(tensor._data.dtype)
    tensor._data = data
    return tensor


def move_(tensor: Tensor, value: Tensor) -> Tensor:
    """Like ``replace_data_`` but also takes ``value``'s device and dtype (``Module.to``)."""
    if tuple(value.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"cannot replace the values of a tensor of shape {list(tensor.shape)} with "
            f"values of shape {list(value.shape)}"
        )
    tensor._data = value._data
    tensor._backend = value._backend
    return tensor


def copy_leaf(tensor: Tensor) -> Tensor:
    """A detached copy of ``tensor`` with its own array, its class (a Parameter stays one),
    the same ``requires_grad`` and a copy of its ``.grad`` (what ``copy.deepcopy`` of a
    module needs)."""
    return (
        tensor.detach().__deepcopy__({})
        if tensor.grad_fn is not None
        else (tensor.__deepcopy__({}))
    )


# --- s7-nnpool: the lazy layers' placeholders ----------------------------------------------
# ``UninitializedParameter`` and ``UninitializedBuffer`` stand for the weights of a lazy layer
# (``nn.LazyLinear`` ...) until its first forward knows their shape; ``materialize(shape)``
# gives one its data in place and turns it into a ``Parameter`` (a plain ``Tensor`` for the
# buffer), keeping the object, so references made before stay valid.
class UninitializedTensorMixin:
    """What the two placeholders share: ``materialize`` and PyTorch's ``<Name>`` repr."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Give this placeholder data of ``shape`` (uninitialized values, ``device`` and
        ``dtype`` by default its own) and make it a ``cls_to_become`` in place."""
        from .._factories import empty

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
        from .._factories import empty

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
        from .._factories import empty

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


__all__ += ["UninitializedBuffer", "UninitializedParameter", "UninitializedTensorMixin"]
