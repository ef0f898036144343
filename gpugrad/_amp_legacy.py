"""The deprecated spellings ``gpugrad.cuda.amp`` and ``gpugrad.cpu.amp`` (``autocast``,
``GradScaler``; CUDA's also ``custom_fwd`` / ``custom_bwd``): each warns PyTorch's
``FutureWarning`` and builds the ``gpugrad.amp`` object for its device type."""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

from . import amp
from .backends import dtypes as _dtypes


def _deprecated(name: str, device_type: str) -> None:
    warnings.warn(
        f"`gpugrad.{device_type}.amp.{name}(args...)` is deprecated. Please use "
        f"`gpugrad.amp.{name}('{device_type}', args...)` instead.",
        FutureWarning,
        stacklevel=3,
    )


def _namespace(device_type: str) -> types.ModuleType:
    module = types.ModuleType(f"gpugrad.{device_type}.amp", f"``gpugrad.{device_type}.amp``")

    class autocast(amp.autocast):
        """Deprecated: ``gpugrad.amp.autocast(device_type, ...)``."""

        def __init__(
            self, enabled: bool = True, dtype: Any = _dtypes.float16, cache_enabled: bool = True
        ) -> None:
            _deprecated("autocast", device_type)
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(amp.GradScaler):
        """Deprecated: ``gpugrad.amp.GradScaler(device_type, ...)``."""

        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            _deprecated("GradScaler", device_type)
            super().__init__(
                device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled
            )

    for cls in (autocast, GradScaler):
        cls.__module__ = module.__name__
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
    module.__all__ = ["GradScaler", "autocast"]
    if device_type == "cuda":

        def custom_fwd(fwd: Callable | None = None, *, cast_inputs: Any = None) -> Callable:
            """Deprecated: ``gpugrad.amp.custom_fwd(device_type="cuda")``."""
            return amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)

        def custom_bwd(bwd: Callable | None = None) -> Callable:
            """Deprecated: ``gpugrad.amp.custom_bwd(device_type="cuda")``."""
            return amp.custom_bwd(bwd, device_type="cuda")

        module.custom_fwd, module.custom_bwd = custom_fwd, custom_bwd
        module.__all__ += ["custom_bwd", "custom_fwd"]
    sys.modules[module.__name__] = module
    return module


cuda_amp = _namespace("cuda")
cpu_amp = _namespace("cpu")
