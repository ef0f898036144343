"""Small top-level functions of PyTorch's namespace: type queries, ``numel``,
``inference_mode`` (which, gpugrad having no inference tensors, is ``no_grad``) and the
dtype queries ``result_type``, ``promote_types`` and ``can_cast``."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

from ._grad_mode import _GradModeContext
from ._grad_mode import state as _grad_state
from ._tensor import Tensor
from .backends import dtypes as _dtypes


class _InferenceState(threading.local):
    depth = 0


_inference = _InferenceState()


def is_tensor(obj: Any) -> bool:
    """True when ``obj`` is a gpugrad Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """True when ``input``'s dtype is a floating point dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(
            "is_floating_point(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return input.dtype.is_floating_point


def numel(input: Tensor) -> int:
    """The number of elements of ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"numel(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    return input.numel()


class inference_mode(_GradModeContext):  # noqa: N801 - PyTorch's name
    """``with gg.inference_mode():`` (or as a decorator): no graph is recorded, as under
    ``no_grad``. ``inference_mode(False)`` leaves grad mode as it is."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # ``@inference_mode`` without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                f"inference_mode(): argument 'mode' must be bool, not {type(mode).__name__}"
            )
        self._inference = mode

    @property
    def _mode(self) -> bool:  # type: ignore[override]
        return False if self._inference else _grad_state.enabled

    def __enter__(self) -> None:
        if self._inference:
            _inference.depth += 1
        super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self._inference:
            _inference.depth -= 1

    def __call__(self, function: Any) -> Any:
        if inspect.isgeneratorfunction(function):
            return super().__call__(function)
        mode = self._inference

        @functools.wraps(function)
        def under_inference_mode(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return function(*args, **kwargs)

        return under_inference_mode


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return _inference.depth > 0


# --- dtype queries (torch.result_type, promote_types, can_cast) --------------------------
def _dtype_and_ndim(value: Any, function: str) -> tuple[Any, int] | None:
    if isinstance(value, Tensor):
        return value._data.dtype, value._data.ndim
    if isinstance(value, (bool, int, float)):
        return None
    raise TypeError(
        f"{function}() received an invalid combination of arguments - got "
        f"({type(value).__name__}), but expected a Tensor or a Number"
    )


def result_type(tensor: Any, other: Any) -> _dtypes.DType:
    """The dtype an arithmetic op on ``tensor`` and ``other`` (tensors or Python numbers)
    gives, by PyTorch's promotion rules."""
    a, b = _dtype_and_ndim(tensor, "result_type"), _dtype_and_ndim(other, "result_type")
    if a is not None and b is not None:
        return _dtypes.from_numpy_dtype(_dtypes.promote_arrays(a[0], a[1], b[0], b[1]))
    if a is None and b is None:  # two numbers: the first as a tensor would hold it
        first = {_dtypes.BOOL: _dtypes.bool_, _dtypes.INT: _dtypes.int64}.get(
            _dtypes.scalar_category(tensor), _dtypes.DEFAULT_FLOAT
        )
        return _dtypes.from_numpy_dtype(_dtypes.promote_with_scalar(first.numpy, other))
    array, number = (a, other) if a is not None else (b, tensor)
    return _dtypes.from_numpy_dtype(_dtypes.promote_with_scalar(array[0], number))


def promote_types(type1: _dtypes.DType, type2: _dtypes.DType) -> _dtypes.DType:
    """The smallest dtype both ``type1`` and ``type2`` convert to without losing range."""
    a, b = _dtypes.as_dtype(type1), _dtypes.as_dtype(type2)
    return _dtypes.from_numpy_dtype(_dtypes.promote_arrays(a.numpy, 1, b.numpy, 1))


def can_cast(from_: _dtypes.DType, to: _dtypes.DType) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` into ``to`` (an op's ``out=``): never
    floating to integral, never a non-bool to bool."""
    from ._out import can_cast as _can_cast

    return _can_cast(_dtypes.as_dtype(from_).numpy, _dtypes.as_dtype(to).numpy)


def is_complex(input: Tensor) -> bool:
    """False: gpugrad has no complex dtypes."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"is_complex(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    return False


def is_nonzero(input: Tensor) -> bool:
    """Whether the one element of ``input`` is not zero."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"is_nonzero(): argument 'input' (position 1) must be Tensor, not "
            f"{type(input).__name__}"
        )
    if input.numel() != 1:
        what = "no values" if input.numel() == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
    return bool(input.item() != 0)
