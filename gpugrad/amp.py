"""``gpugrad.amp``: automatic mixed precision's API, as ``torch.amp`` (``autocast``,
``GradScaler``, ``custom_fwd``, ``custom_bwd``, ``is_autocast_available``).

``autocast`` is a documented no-op for the arithmetic: it keeps PyTorch's autocast *state*
(``gg.is_autocast_enabled(device_type)``, ``gg.get_autocast_dtype(device_type)``, nesting,
thread-local as PyTorch's) so code written for it runs unchanged, but operations inside the
block compute in their inputs' dtypes, as they would outside (float32 stays float32). gpugrad
has no bfloat16, so the CPU's default autocast dtype is float16 (PyTorch's is bfloat16).

``GradScaler`` is PyTorch's loss scaling step for step: ``scale`` multiplies by the scale
(lazily a float32 0-d tensor on the outputs' device), ``unscale_`` multiplies gradients by
its float32 reciprocal and records whether any is inf/NaN, ``step`` skips
``optimizer.step()`` when one was, and ``update`` backs the scale off (``* backoff_factor``)
after a skipped step or grows it (``* growth_factor``) after ``growth_interval`` good ones.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from ._factories import full
from ._grad_mode import no_grad
from ._tensor import Tensor
from .backends import dtypes as _dtypes

__all__ = [
    "GradScaler",
    "autocast",
    "autocast_decrement_nesting",
    "autocast_increment_nesting",
    "clear_autocast_cache",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_cache_enabled",
    "is_autocast_enabled",
    "set_autocast_cache_enabled",
    "set_autocast_dtype",
    "set_autocast_enabled",
]

_DEVICE_TYPES = ("cpu", "cuda")
_SUPPORTED_DTYPES = ("float16",)  # PyTorch's are bfloat16 and float16; gpugrad has no bfloat16


class _AutocastState(threading.local):
    """Per thread, as PyTorch's: each device type's enabled flag and dtype, the nesting
    depth and the cache flag."""

    def __init__(self) -> None:
        self.enabled = dict.fromkeys(_DEVICE_TYPES, False)
        self.dtype = dict.fromkeys(_DEVICE_TYPES, _dtypes.float16)
        self.nesting = 0
        self.cache_enabled = True


_state = _AutocastState()


def _device_type(device_type: Any) -> str:
    if device_type not in _DEVICE_TYPES:
        raise RuntimeError(
            f"Expected one of cpu, cuda device type at start of device string: {device_type}"
        )
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast accepts ``device_type`` (``"cpu"`` and ``"cuda"``)."""
    return _device_type(device_type) in _DEVICE_TYPES


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether an enabled ``autocast`` block for ``device_type`` is active in this thread
    (``torch.is_autocast_enabled()`` without an argument asks about CUDA)."""
    return _state.enabled[_device_type(device_type)]


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    """Switch ``device_type``'s autocast flag for this thread (``autocast`` does this)."""
    _state.enabled[_device_type(device_type)] = bool(enabled)


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype ``autocast`` for ``device_type`` uses when given none (float16)."""
    return _state.dtype[_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    """Set the dtype ``get_autocast_dtype(device_type)`` reports in this thread."""
    _state.dtype[_device_type(device_type)] = _dtypes.as_dtype(dtype)


def is_autocast_cache_enabled() -> bool:
    """Whether autocast's cast cache is on in this thread (gpugrad casts nothing, so the
    flag is kept for PyTorch's API only)."""
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Set the flag ``is_autocast_cache_enabled`` reports."""
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Empty autocast's cast cache (gpugrad keeps none: nothing to do)."""


def autocast_increment_nesting() -> int:
    """Count one more enclosing autocast region in this thread; returns the new depth."""
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting() -> int:
    """Count one enclosing autocast region less in this thread; returns the new depth."""
    _state.nesting -= 1
    return _state.nesting


class autocast:
    """``with gg.autocast("cuda"):`` / ``@gg.autocast("cpu")``: enter an autocast region
    (PyTorch's checks, warnings and state; the arithmetic is unchanged, see the module
    docstring)."""

    def __init__(
        self,
        device_type: str,
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        if not is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'"
            )
        self.device = device_type
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else cache_enabled
        if enabled:
            from . import cuda

            if device_type == "cuda" and not cuda.is_available():
                warnings.warn(
                    "CUDA is not available or torch_xla is imported. Disabling autocast.",
                    stacklevel=2,
                )
                enabled = False
            elif _dtype_name(self.fast_dtype) not in _SUPPORTED_DTYPES:
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of gpugrad.float16 "
                    "currently.",
                    stacklevel=2,
                )
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> autocast:
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        self.prev_cache_enabled = _state.cache_enabled
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        _state.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, *exc: Any) -> bool:
        autocast_decrement_nesting()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        _state.cache_enabled = self.prev_cache_enabled
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def _dtype_name(dtype: Any) -> str:
    try:
        return _dtypes.as_dtype(dtype).name
    except (TypeError, ValueError, KeyError):
        return str(dtype)


def _cast(value: Any, dtype: Any) -> Any:
    """Floating tensors in ``value`` (nested lists, tuples, dicts) cast to ``dtype``."""
    if isinstance(value, Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, dtype) for v in value)
    return value


def custom_fwd(
    fwd: Callable | None = None, *, device_type: str, cast_inputs: Any = None
) -> Callable:
    """Decorator for a custom ``autograd.Function``'s ``forward``: records the autocast state
    for ``custom_bwd``; with ``cast_inputs``, inside an enabled autocast region, casts
    floating tensor arguments to it and runs ``forward`` with autocast disabled."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        args[0]._fwd_used_autocast = False
        if is_autocast_enabled(device_type):
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, cast_inputs), **_cast(kwargs, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorator for a custom ``autograd.Function``'s ``backward``: runs it under the
    autocast state its ``forward`` ran in (recorded by ``custom_fwd``)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        with autocast(
            device_type=device_type,
            enabled=args[0]._fwd_used_autocast,
            dtype=args[0]._dtype,
        ):
            return bwd(*args, **kwargs)

    return decorate_bwd


# --- GradScaler -----------------------------------------------------------------------------
class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler`` (see the module docstring)."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            from . import cuda

            if not cuda.is_available():
                warnings.warn(
                    "gpugrad.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                    "Disabling.",
                    stacklevel=2,
                )
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states: defaultdict[int, dict[str, Any]] = defaultdict(
                _refresh_per_optimizer_state
            )

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        fix = (
            "This may indicate your script did not use scaler.scale(loss or outputs) earlier "
            "in the iteration."
        )
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, device: str) -> None:
        self._scale = full((), self._init_scale, dtype="float32", device=device)
        self._growth_tracker = full((), self._init_growth_tracker, dtype="int32", device=device)

    def scale(self, outputs: Tensor | Iterable[Tensor]) -> Any:
        """``outputs`` (a tensor, or nested lists/tuples/iterables of tensors) times the
        current scale; unchanged when the scaler is disabled."""
        if not self._enabled:
            return outputs

        def apply_scale(value: Any) -> Any:
            if isinstance(value, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(value._backend.device_str)
                return value * self._scale.to(device=value._backend.device_str)
            if isinstance(value, Iterable):
                scaled = map(apply_scale, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer: Any, inv_scale: Tensor, found_inf: Tensor) -> dict:
        """Multiply every gradient by ``inv_scale`` in place; ``found_inf`` (per device)
        becomes 1.0 when any gradient holds an inf or NaN."""
        found: dict[str, Tensor] = {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype == _dtypes.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    device = grad._backend.device_str
                    flag = found.get(device)
                    if flag is None:
                        flag = found[device] = found_inf.to(device=device).clone()
                    if not grad.isfinite().all().item():
                        flag.fill_(1.0)
                    grad.mul_(inv_scale.to(device=device, dtype=grad.dtype))
        return found

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per ``update``),
        e.g. before clipping them; ``step`` then does not unscale again."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = full((), 0.0, dtype="float32", device=self._scale._backend.device_str)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf
        )
        optimizer_state["stage"] = OptState.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale the gradients (unless ``unscale_`` did) and call ``optimizer.step`` unless
        one of them is inf/NaN; returns what ``step`` returned, or ``None`` when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            result = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """End the iteration: set the scale to ``new_scale`` when given, else back it off
        after an inf/NaN or grow it after ``growth_interval`` finite steps in a row."""
        if not self._enabled:
            return
        scale, growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = (
                    "new_scale should be a float or a 1-element gpugrad.cuda.FloatTensor or "
                    "gpugrad.FloatTensor with requires_grad=False."
                )
                if (
                    new_scale._backend.device.type != self._device
                    or new_scale.numel() != 1
                    or new_scale.requires_grad
                ):
                    raise AssertionError(reason)
                scale.copy_(new_scale.reshape(()))
        else:
            found_infs = [
                found_inf.item()
                for state in self._per_optimizer_states.values()
                for found_inf in state["found_inf_per_device"].values()
            ]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(scale, growth_tracker, sum(found_infs))
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _update_scale(self, scale: Tensor, growth_tracker: Tensor, found_inf: float) -> None:
        """``torch._amp_update_scale_``: back off on inf, else count the good step and grow
        the scale (when the product stays finite) every ``growth_interval`` of them."""
        if found_inf:
            scale.mul_(self._backoff_factor)
            growth_tracker.fill_(0)
            return
        successful = growth_tracker.item() + 1
        if successful == self._growth_interval:
            grown = scale * self._growth_factor
            if grown.isfinite().item():
                scale.copy_(grown)
            growth_tracker.fill_(0)
        else:
            growth_tracker.fill_(successful)

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            return self._init_scale if self._scale is None else self._scale.item()
        return 1.0

    def get_growth_factor(self) -> float:
        """The factor the scale grows by."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by after an inf/NaN."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale shrinks by after an inf/NaN."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """How many finite steps in a row grow the scale."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set how many finite steps in a row grow the scale."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            if self._growth_tracker is None:
                return self._init_growth_tracker
            return self._growth_tracker.item()
        return 0

    def is_enabled(self) -> bool:
        """Whether the scaler scales (False when disabled, or for CUDA without CUDA)."""
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker``, as PyTorch saves them (``{}`` when disabled)."""
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a "
                "disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError(
                    "A GradScaler instance may only be pickled at the beginning of an "
                    "iteration, or at the end after scaler.update()."
                )
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
