"""``gpugrad.autograd.Variable``: PyTorch's deprecated wrapper, kept for old code.

As in PyTorch, ``Variable(data, requires_grad=False)`` returns a plain tensor (sharing
``data``'s memory) and every tensor is an instance of ``Variable``."""

from __future__ import annotations

import warnings
from typing import Any

from .._tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated: ``Variable(data, requires_grad=False, volatile=False)`` is a tensor that
    shares ``data``'s memory, recording gradients when ``requires_grad``."""

    def __new__(  # type: ignore[misc]
        cls, data: Any = None, requires_grad: bool = False, volatile: bool = False
    ) -> Tensor:
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                UserWarning,
                stacklevel=2,
            )
        if data is None:
            from .._factories import empty

            return empty(0).requires_grad_(requires_grad)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(requires_grad)
