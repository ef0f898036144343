"""Top-level names and Tensor methods of PyTorch's namespace that are not ops of the
registry: the top-level in-place forms (``gg.exp_(x)`` is ``x.exp_()``), the global
settings (threads, determinism, matmul precision, warnings), small queries and
constructors (``is_same_size``, ``typename``, ``asarray``, ``frombuffer``,
``empty_strided``, the deprecated ``range``) and legacy Tensor methods (``new``,
``resize_``, ``apply_``, ``share_memory_`` …). ``attach`` sets the methods on ``Tensor``."""

from __future__ import annotations

import builtins
import inspect
import math
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from . import _anomaly, _factories, _legacy_tensors
from ._grad_mode import no_grad
from ._tensor import Tensor, _wrap
from .backends import dtypes as _dtypes
from .backends.kernels import numpy_exec
from .ops import registry

__all__ = [
    "are_deterministic_algorithms_enabled",
    "asarray",
    "compiled_with_cxx11_abi",
    "detach",
    "empty_strided",
    "fill",
    "frombuffer",
    "get_deterministic_debug_mode",
    "get_float32_matmul_precision",
    "get_num_interop_threads",
    "get_num_threads",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_inference",
    "is_neg",
    "is_same_size",
    "is_signed",
    "is_warn_always_enabled",
    "range",
    "scalar_tensor",
    "set_anomaly_enabled",
    "set_default_tensor_type",
    "set_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "set_flush_denormal",
    "set_num_interop_threads",
    "set_num_threads",
    "set_warn_always",
    "typename",
    "unravel_index",
    "use_deterministic_algorithms",
]


def _require_tensor(function: str, name: str, position: int, value: Any) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{function}(): argument '{name}' (position {position}) must be Tensor, not "
            f"{type(value).__name__}"
        )


# --- top-level in-place forms: gg.exp_(x) is x.exp_() ---------------------------------------
TOPLEVEL_INPLACE = [
    "abs_",
    "acos_",
    "acosh_",
    "addmv_",
    "arccos_",
    "arccosh_",
    "arcsin_",
    "arcsinh_",
    "arctan_",
    "arctanh_",
    "asin_",
    "asinh_",
    "atan_",
    "atanh_",
    "ceil_",
    "clamp_",
    "clamp_max_",
    "clamp_min_",
    "clip_",
    "cos_",
    "cosh_",
    "deg2rad_",
    "erf_",
    "erfc_",
    "exp2_",
    "exp_",
    "expm1_",
    "fix_",
    "floor_",
    "frac_",
    "log10_",
    "log1p_",
    "log2_",
    "log_",
    "logit_",
    "nan_to_num_",
    "neg_",
    "negative_",
    "rad2deg_",
    "reciprocal_",
    "round_",
    "rsqrt_",
    "sigmoid_",
    "sin_",
    "sinc_",
    "sinh_",
    "sqrt_",
    "square_",
    "tan_",
    "tanh_",
    "trunc_",
    "xlogy_",
    "zero_",
    "fill_",
    "index_put_",
]
"""The in-place methods PyTorch also has as top-level functions (``torch.exp_``)."""


def _toplevel_inplace(name: str) -> Callable[..., Tensor]:
    """``gg.<name>(input, *args)``: ``input.<name>(*args)``, with the out-of-place op's
    signature."""

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        _require_tensor(name, "input", 1, input)
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"In-place version of ``{name[:-1]}``: ``{name}(input, ...)`` is ``input.{name}(...)``."
    )
    out_of_place = registry.inplace_methods()[name]
    parameters = list(inspect.signature(out_of_place).parameters.values())
    if parameters and parameters[0].name != "input":
        parameters[0] = parameters[0].replace(name="input")
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return function


globals().update({name: _toplevel_inplace(name) for name in TOPLEVEL_INPLACE})
__all__ += TOPLEVEL_INPLACE


def as_strided_(
    input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
) -> Tensor:
    """``input.as_strided_(size, stride, storage_offset)``: ``input`` becomes the view."""
    _require_tensor("as_strided_", "input", 1, input)
    return input.as_strided_(size, stride, storage_offset)


def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``input.resize_as_(the_template)``."""
    _require_tensor("resize_as_", "input", 1, input)
    return input.resize_as_(the_template)


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage (``tensor.storage()``, ``tensor.untyped_storage()``)."""
    from ._storage import TypedStorage, UntypedStorage

    return isinstance(obj, (TypedStorage, UntypedStorage))


def is_distributed(input: Tensor) -> bool:
    """False: no gpugrad tensor is a distributed tensor."""
    _require_tensor("is_distributed", "input", 1, input)
    return False


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, -1 on the CPU."""
    _require_tensor("get_device", "input", 1, input)
    return input.get_device()


def init_num_threads() -> None:
    """Nothing to do: gpugrad's kernel threads start when first needed."""


def empty_permuted(
    size: Sequence[int],
    physical_layout: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first)."""
    size, order = tuple(size), tuple(physical_layout)
    if len(order) != len(size):
        raise RuntimeError(
            "Number of dimensions in size does not match the length of the physical_layout"
        )
    if sorted(order) != list(builtins.range(len(size))):
        raise RuntimeError("Duplicate dim not allowed")
    strides = [0] * len(size)
    step = 1
    for d in reversed(order):
        strides[d] = step
        step *= size[d]
    return empty_strided(size, strides, dtype=dtype, device=device, requires_grad=requires_grad)


__all__ += [
    "as_strided_",
    "empty_permuted",
    "get_device",
    "init_num_threads",
    "is_distributed",
    "is_storage",
    "resize_as_",
]


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same values outside the graph, sharing memory."""
    _require_tensor("detach", "input", 1, input)
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    """``input.detach_()``: ``input`` leaves the graph in place."""
    _require_tensor("detach_", "input", 1, input)
    return input.detach_()


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor like ``input`` filled with ``value`` (differentiable for a tensor value)."""
    _require_tensor("fill", "input", 1, input)
    return input.clone().fill_(value)


__all__ += ["detach_"]


class layout:  # noqa: N801 - PyTorch's name
    """A tensor memory layout (``torch.layout``): gpugrad has one, ``gpugrad.strided``
    (dense, strided memory), every tensor's ``.layout``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"gpugrad.{self._name}"

    def __reduce__(self) -> str:
        return self._name  # pickles as the module attribute: the one instance


strided = layout("strided")
__all__ += ["layout", "strided"]


# --- settings -------------------------------------------------------------------------------
class _Settings:
    """The process-wide settings PyTorch keeps and gpugrad only records: gpugrad's kernels
    are deterministic already (a mean adds its blocks in order), its matmuls run in the
    dtype asked for, and its interop work runs on the calling thread."""

    deterministic = False
    deterministic_warn_only = False
    float32_matmul_precision = "highest"
    warn_always = False
    interop_threads: int | None = None


_settings = _Settings()


def _check_positive_int(function: str, value: Any) -> int:
    if type(value) is not int:
        raise RuntimeError(f"{function} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{function} expects a positive integer")
    return value


def set_num_threads(int: builtins.int) -> None:  # noqa: A002 - PyTorch's parameter name
    """How many threads gpugrad's CPU kernels use (its kernel thread pool)."""
    numpy_exec.set_num_threads(_check_positive_int("set_num_threads", int))


def get_num_threads() -> int:
    """How many threads gpugrad's CPU kernels use."""
    return numpy_exec.get_num_threads()


def set_num_interop_threads(int: builtins.int) -> None:  # noqa: A002 - PyTorch's parameter name
    """Recorded only: gpugrad runs inter-op work on the calling thread. As in PyTorch, it
    can be set once, before any is reported."""
    value = _check_positive_int("set_num_interop_threads", int)
    if _settings.interop_threads is not None:
        raise RuntimeError(
            "Error: cannot set number of interop threads after parallel work has started or "
            "set_num_interop_threads called"
        )
    _settings.interop_threads = value


def get_num_interop_threads() -> int:
    """The inter-op thread count (set by ``set_num_interop_threads``; by default the kernel
    thread count)."""
    if _settings.interop_threads is None:
        _settings.interop_threads = numpy_exec.get_num_threads()
    return _settings.interop_threads


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record whether deterministic algorithms are asked for; gpugrad's CPU kernels are
    deterministic in any case."""
    if type(mode) is not bool:
        raise TypeError(
            "_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, not "
            f"{type(mode).__name__}"
        )
    _settings.deterministic, _settings.deterministic_warn_only = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` is in force."""
    return _settings.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True, warn_only=True)`` is in force."""
    return _settings.deterministic_warn_only


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode: int | str) -> None:
    """``"default"``/0, ``"warn"``/1 or ``"error"``/2: ``use_deterministic_algorithms`` off,
    on with warnings only, or on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, but "
                f"got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif isinstance(debug_mode, int):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(
                f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
            )
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0, 1 or 2: see ``set_deterministic_debug_mode``."""
    if not _settings.deterministic:
        return 0
    return 1 if _settings.deterministic_warn_only else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``"highest"``, ``"high"`` or ``"medium"``; gpugrad's float32 matmuls always
    run in float32 (``"highest"``)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
            "setFloat32MatmulPrecision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _settings.float32_matmul_precision = precision


def get_float32_matmul_precision() -> str:
    """The precision last set by ``set_float32_matmul_precision`` (``"highest"``)."""
    return _settings.float32_matmul_precision


def set_flush_denormal(mode: bool) -> bool:
    """False: NumPy and CuPy arrays keep subnormal numbers (PyTorch returns False where the
    CPU cannot flush them)."""
    return False


def set_warn_always(b: bool) -> None:
    """Record whether warnings PyTorch shows once should show every time."""
    _settings.warn_always = bool(b)


def is_warn_always_enabled() -> bool:
    """Whether ``set_warn_always(True)`` is in force."""
    return _settings.warn_always


def set_default_tensor_type(t: Any) -> None:
    """Deprecated (as in PyTorch): set the default dtype from a legacy tensor type
    (``gg.DoubleTensor`` or ``"torch.DoubleTensor"``)."""
    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    if isinstance(t, str):
        kind = t.rpartition(".")[2]
        legacy = getattr(_legacy_tensors, kind, None) if kind in _legacy_tensors.__all__ else None
        if legacy is None or t not in (f"torch.{kind}", f"gpugrad.{kind}", kind):
            raise TypeError(f"invalid type: '{t}'")
    elif isinstance(t, _legacy_tensors._LegacyTensorType):
        legacy = t
    else:
        raise TypeError(
            "invalid type object: only floating-point types are supported as the default type"
        )
    if not legacy._dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtypes.set_default_dtype(legacy._dtype)


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return _anomaly.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> bool:
    """True: anomaly mode, when on, checks backward results for NaN."""
    return True


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``autograd.set_detect_anomaly``)."""
    _anomaly.set_detect_anomaly(enabled)


def compiled_with_cxx11_abi() -> bool:
    """True, as PyTorch's own builds (gpugrad's native kernels use the C++11 ABI)."""
    return True


# --- queries and constructors ---------------------------------------------------------------
def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether ``input`` and ``other`` have the same shape."""
    _require_tensor("is_same_size", "input", 1, input)
    _require_tensor("is_same_size", "other", 2, other)
    return input.shape == other.shape


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype is signed (not bool, not uint8)."""
    _require_tensor("is_signed", "input", 1, input)
    return input.dtype not in (_dtypes.bool_, _dtypes.uint8)


def is_neg(input: Tensor) -> bool:
    """False: gpugrad has no lazily negated (complex conjugate) views."""
    _require_tensor("is_neg", "input", 1, input)
    return False


def is_inference(input: Tensor) -> bool:
    """False: gpugrad has no inference tensors (``inference_mode`` is ``no_grad``)."""
    _require_tensor("is_inference", "input", 1, input)
    return False


def typename(obj: Any) -> str:
    """PyTorch's name of ``obj``'s type: ``"torch.FloatTensor"`` for a float32 CPU tensor
    (``"torch.cuda.FloatTensor"`` on CUDA), else the qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(type(obj), "__module__", "") or ""
    name = type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def scalar_tensor(
    s: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool | None = False,
    requires_grad: bool = False,
) -> Tensor:
    """A 0-d tensor holding the number ``s``, of the default float dtype unless ``dtype``."""
    if isinstance(s, Tensor):
        s = s.item()
    if not isinstance(s, (bool, int, float)):
        raise TypeError(
            f"scalar_tensor(): argument 's' (position 1) must be Number, not {type(s).__name__}"
        )
    dtype = _dtypes.get_default_dtype() if dtype is None else dtype
    return _factories.tensor(s, dtype=dtype, device=device, requires_grad=requires_grad)


def range(  # noqa: A001 - PyTorch's name
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    *,
    out: Tensor | None = None,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Deprecated (as in PyTorch): ``start, start + step, ...`` up to and including
    ``end``, of the default float dtype unless ``dtype``."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if end is None:
        start, end = 0, start
    for label, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, Tensor):
            value = value.item()
        if not isinstance(value, (int, float)):
            raise TypeError(
                f"range(): argument '{label}' must be Number, not {type(value).__name__}"
            )
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    count = int((end - start) // step) + 1
    dtype = _dtypes.get_default_dtype() if dtype is None else _dtypes.as_dtype(dtype)
    with no_grad():
        steps = _factories.arange(count, dtype=_dtypes.float64, device=device)
        values = (steps * step + start).to(dtype)
    result = values.requires_grad_(requires_grad) if requires_grad else values
    if out is not None:
        out.resize_(result.shape)
        out.copy_(result)
        return out
    return result


def asarray(
    obj: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``obj`` (a tensor, a NumPy/CuPy array or anything ``tensor`` takes) as a tensor:
    shared with ``obj`` when possible and ``copy`` is not True, copied when ``copy`` is
    True, and an error when ``copy=False`` but a dtype or device change needs a copy."""
    if isinstance(obj, Tensor):
        result = obj
    elif hasattr(obj, "__dlpack__") or hasattr(obj, "__array_interface__"):
        try:
            result = _factories.from_dlpack(obj)
        except (TypeError, ValueError, RuntimeError, BufferError):
            result = _factories.tensor(obj)
            if copy is False:
                raise ValueError(f"can't alias {type(obj).__name__} without a copy") from None
            copy = None
    else:
        if copy is False:
            raise ValueError(f"can't alias {type(obj).__name__} into a tensor without a copy")
        result = _factories.tensor(obj, dtype=dtype, device=device)
        return result.requires_grad_(True) if requires_grad else result
    target_dtype = result.dtype if dtype is None else _dtypes.as_dtype(dtype)
    target_device = result.device if device is None else _factories._backend(device).device
    if target_dtype != result.dtype or target_device != result.device:
        if copy is False:
            if target_dtype != result.dtype:
                names = _dtypes.SCALAR_TYPE_NAMES
                raise ValueError(
                    f"can't alias tensor with dtype '{names[result.dtype.numpy.name]}' into "
                    f"dtype '{names[target_dtype.numpy.name]}'."
                )
            raise ValueError(
                f"can't alias tensor from device '{result.device}' to '{target_device}'."
            )
        result = result.detach().to(device=target_device, dtype=target_dtype)
    elif copy:
        result = result.detach().clone()
    if requires_grad:
        if result is obj:
            result = result.detach()
        result.requires_grad_(True)
    return result


def frombuffer(
    buffer: Any,
    *,
    dtype: Any,
    count: int = -1,
    offset: int = 0,
    requires_grad: bool = False,
) -> Tensor:
    """A 1-D CPU tensor sharing the memory of ``buffer`` (anything with the buffer
    protocol): ``count`` elements of ``dtype`` (-1: all) after ``offset`` bytes."""
    from . import backends

    dtype = _dtypes.as_dtype(dtype)
    size = memoryview(buffer).nbytes
    item = dtype.numpy.itemsize
    if size == 0 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if not 0 <= offset < size:
        raise ValueError(
            f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
            f"({size} bytes) minus 1"
        )
    if count < 0:
        if (size - offset) % item:
            raise ValueError(
                f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
                f"multiple of element size ({item})"
            )
        count = (size - offset) // item
    elif offset + count * item > size:
        raise ValueError(
            f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) "
            f"must not be greater than actual buffer length ({size} bytes)"
        )
    array = backends.cpu.frombuffer(buffer, dtype.numpy, count, offset)
    result = _wrap(array, backends.cpu)
    return result.requires_grad_(True) if requires_grad else result


def empty_strided(
    size: Sequence[int],
    stride: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of ``size`` whose elements lie ``stride`` apart in a memory
    of its own."""
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(
            f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
            f"({len(stride)})"
        )
    if any(n < 0 for n in size):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(size)}: {list(size)}"
        )
    if any(s < 0 for s in stride):
        raise RuntimeError(
            "as_strided: Negative strides are not supported at the moment, got strides: "
            f"{list(stride)}"
        )
    dtype = _dtypes.get_default_dtype() if dtype is None else _dtypes.as_dtype(dtype)
    backend = _factories._backend(device)
    extent = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    storage = backend.empty((extent,), dtype.numpy)
    result = _wrap(backend.strided_view(storage, size, stride, 0), backend)
    return result.requires_grad_(True) if requires_grad else result


def unravel_index(indices: Any, shape: int | Sequence[int]) -> tuple[Tensor, ...]:
    """The coordinates in a tensor of ``shape`` of the flat ``indices`` (each a tensor of
    ``indices``' shape; negative and too-large indices wrap, as PyTorch's arithmetic)."""
    if not isinstance(indices, Tensor):
        indices = _factories.tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is _dtypes.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(not isinstance(n, int) for n in shape):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {shape}")
    if any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    indices = indices.to(_dtypes.int64)
    coordinates = []
    with no_grad():
        for n in reversed(shape):
            coordinates.append(indices.remainder(n) if n else indices * 0)
            indices = indices.div(n, rounding_mode="floor") if n else indices
    return tuple(reversed(coordinates))


# --- legacy and miscellaneous Tensor methods ------------------------------------------------
def _new(self: Tensor, *args: Any, device: Any = None) -> Tensor:
    """Legacy ``Tensor.new``: a tensor of ``self``'s dtype and device from sizes (empty),
    data (copied) or nothing (empty, 0 elements)."""
    return _legacy_tensors.new_tensor(self.dtype, args, self.device if device is None else device)


def _new_empty_strided(
    self: Tensor,
    size: Sequence[int],
    stride: Sequence[int],
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """``empty_strided`` of ``self``'s dtype and device unless given."""
    return empty_strided(
        size,
        stride,
        dtype=self.dtype if dtype is None else dtype,
        device=self.device if device is None else device,
        requires_grad=requires_grad,
    )


def _sizes(function: str, sizes: tuple) -> tuple[int, ...]:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    for n in sizes:
        if type(n) is not int:
            raise TypeError(
                f"{function}(): argument 'size' must be tuple of ints, but found element of "
                f"type {type(n).__name__}"
            )
        if n < 0:
            raise RuntimeError("numel: integer multiplication overflow")
    return tuple(sizes)


def _resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give ``self`` the shape ``sizes`` in place, keeping its first elements in
    row-major order (new elements, when it grows, are uninitialised). Not recorded in
    the graph: a tensor that requires grad is refused, as in PyTorch."""
    shape = _sizes("resize_", sizes)
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    backend = self._backend
    count = math.prod(shape)
    flat = backend.flat_storage(self._data) if self._data.flags.c_contiguous else None
    if (
        flat is not None
        and self._data.size
        and flat.size >= count
        and (backend.storage_offset(self._data) == 0)
    ):
        self._data = flat[:count].reshape(shape)
        return self
    data = backend.empty((count,), self._data.dtype)
    kept = min(count, self._data.size)
    data[:kept] = self._data.reshape(-1)[:kept]
    self._data = data.reshape(shape)
    return self


def _resize_as_(self: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``self.resize_(the_template.shape)``."""
    _require_tensor("resize_as_", "the_template", 1, the_template)
    return _resize_(self, tuple(the_template.shape))


def _resize(self: Tensor, *sizes: Any) -> Tensor:
    """Deprecated: a resized copy of ``self`` (its first elements in the new shape)."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    with no_grad():
        return _resize_(self.detach().clone(), *sizes)


def _resize_as(self: Tensor, tensor: Tensor) -> Tensor:
    """Deprecated: ``self.resize(tensor.shape)``."""
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    with no_grad():
        return _resize_(self.detach().clone(), tuple(tensor.shape))


def _share_memory_(self: Tensor) -> Tensor:
    """No-op returning ``self``: a gpugrad tensor is shared with worker processes by
    pickling (CUDA tensors, as in PyTorch, are shareable already)."""
    return self


def _is_shared(self: Tensor) -> bool:
    """False: gpugrad's CPU tensors live in process memory (CUDA: True, as PyTorch's)."""
    return self.device.type == "cuda"


def _pin_memory(self: Tensor, device: Any = None) -> Tensor:
    """A copy in page-locked memory: needs CUDA, as in PyTorch."""
    from . import cuda

    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    return self.clone()


def _is_pinned(self: Tensor, device: Any = None) -> bool:
    """False: gpugrad does not page-lock host memory."""
    return False


def _output_nr(self: Tensor) -> int:
    """Which output of its ``grad_fn`` this tensor is (0 for a leaf; a piece of ``split``
    or ``unbind``, whose pieces gpugrad records one node each, its piece number, as
    PyTorch's one node's output)."""
    extra = self._extra
    piece = getattr(extra.view_key, "piece", None) if extra is not None else None
    if piece is not None and self.grad_fn is not None:
        return piece
    return self._output_nr or 0


def _set_(
    self: Tensor,
    source: Any = None,
    storage_offset: int = 0,
    size: Sequence[int] | None = None,
    stride: Sequence[int] | None = None,
) -> Tensor:
    """Make ``self`` look at other memory: ``source``'s (a tensor: its very elements; a
    storage: ``size``/``stride`` from ``storage_offset``, by default all of it), or none
    (``set_()``: 0 elements). Not differentiable; counted as a write."""
    from ._inplace import LEAF_ERROR, _record_write
    from ._storage import TypedStorage, UntypedStorage

    if self.requires_grad:
        raise RuntimeError(LEAF_ERROR)
    backend = self._backend
    if source is None:
        data = backend.empty((0,), self._data.dtype)
    elif isinstance(source, Tensor):
        if source.dtype != self.dtype:
            raise RuntimeError(
                f"Could not set tensor of type {source.dtype} to a tensor of type {self.dtype}"
            )
        data = source._data
    elif isinstance(source, (TypedStorage, UntypedStorage)):
        flat = backend.flat_storage(source._root)
        if flat is None:
            raise RuntimeError("set_: the storage is not one contiguous memory")
        if flat.dtype != self._data.dtype:
            flat = flat.view(self._data.dtype)
        size = (flat.size - storage_offset,) if size is None else tuple(size)
        if stride is None:
            stride, step = [], 1
            for n in reversed(size):
                stride.insert(0, step)
                step *= n
        data = backend.strided_view(flat, size, tuple(stride), storage_offset)
    else:
        raise TypeError(
            f"set_(): argument 'source' must be Tensor or Storage, not {type(source).__name__}"
        )
    _record_write(self)
    self._data = data
    return self


def _volatile(self: Tensor) -> bool:
    """Removed (as in PyTorch): always False, with PyTorch's warning."""
    warnings.warn(
        "volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2
    )
    return False


def _reinforce(self: Tensor, reward: Any) -> None:
    """Removed (as in PyTorch): use ``gg.distributions`` instead."""
    raise RuntimeError("reinforce() was removed.\nUse torch.distributions instead.")


def _check_callable_apply(self: Tensor, name: str) -> None:
    if self.requires_grad:
        raise RuntimeError(
            f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
            "instead."
        )
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")


def _apply_(self: Tensor, callable: Callable[[Any], Any]) -> Tensor:  # noqa: A002
    """Replace each element ``v`` by ``callable(v)`` (a Python number function; CPU only,
    slow, as in PyTorch)."""
    _check_callable_apply(self, "apply_")
    values = [callable(v) for v in self.reshape(-1).tolist()]
    with no_grad():
        self.copy_(_factories.tensor(values, dtype=self.dtype).reshape(self.shape))
    return self


def _map_(self: Tensor, tensor: Tensor, callable: Callable[[Any, Any], Any]) -> Tensor:  # noqa: A002
    """Replace each element ``a`` by ``callable(a, b)``, ``b`` the element of ``tensor``
    (broadcast to ``self``'s shape) at its place (CPU only, as in PyTorch)."""
    _check_callable_apply(self, "map_")
    others = tensor.expand(self.shape).reshape(-1).tolist()
    values = [callable(a, b) for a, b in zip(self.reshape(-1).tolist(), others)]
    with no_grad():
        self.copy_(_factories.tensor(values, dtype=self.dtype).reshape(self.shape))
    return self


_STORAGE_TYPES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}


def _storage_type(self: Tensor) -> type:
    """The legacy storage class of ``self``'s dtype (``FloatStorage`` …): a class named
    as PyTorch's, whose instances are ``self.storage()``'s kind."""
    from ._storage import TypedStorage

    name = _STORAGE_TYPES[self._data.dtype.name]
    found = _storage_classes.get(name)
    if found is None:
        found = _storage_classes[name] = type(
            name, (TypedStorage,), {"__doc__": f"``torch.{name}``.", "__module__": "gpugrad"}
        )
    return found


_storage_classes: dict[str, type] = {}


def _dim_order(self: Tensor, *, ambiguity_check: bool | list = False) -> tuple[int, ...]:
    """The dims from outermost to innermost in memory (by decreasing stride; ties in dim
    order)."""
    strides = self.stride()
    return tuple(sorted(builtins.range(self.dim()), key=lambda d: (-strides[d], d)))


def _complex_cast(name: str) -> Callable[..., Tensor]:
    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        raise TypeError(f"{name}(): gpugrad has no complex dtypes (NumPy's are not supported)")

    cast.__doc__ = f"Refused: ``{name}`` casts to a complex dtype, which gpugrad does not have."
    cast.__name__ = cast.__qualname__ = name
    return cast


def _is_set_to(self: Tensor, tensor: Tensor) -> bool:
    """Whether ``self`` and ``tensor`` are the same memory with the same shape, strides and
    offset."""
    _require_tensor("is_set_to", "tensor", 1, tensor)
    if self._backend is not tensor._backend or self.shape != tensor.shape:
        return False
    if self.stride() != tensor.stride():
        return False
    if not self.numel():
        return self._data is tensor._data
    return self.data_ptr() == tensor.data_ptr()


def _const_data_ptr(self: Tensor) -> int:
    """``data_ptr()``: the address of the first element."""
    return self.data_ptr()


def _map2_(
    self: Tensor,
    x: Tensor,
    y: Tensor,
    callable: Callable[[Any, Any, Any], Any],  # noqa: A002
) -> Tensor:
    """Replace each element ``a`` by ``callable(a, b, c)``, ``b``/``c`` the elements of
    ``x``/``y`` at its place (CPU only, as in PyTorch)."""
    _check_callable_apply(self, "map2_")
    xs = x.expand(self.shape).reshape(-1).tolist()
    ys = y.expand(self.shape).reshape(-1).tolist()
    values = [callable(a, b, c) for a, b, c in zip(self.reshape(-1).tolist(), xs, ys)]
    with no_grad():
        self.copy_(_factories.tensor(values, dtype=self.dtype).reshape(self.shape))
    return self


def _ger(self: Tensor, vec2: Tensor) -> Tensor:
    """Deprecated name of ``outer``."""
    return self.outer(vec2)


def _as_subclass(self: Tensor, cls: type) -> Tensor:
    """A ``cls`` instance (``cls`` a subclass of ``Tensor``) sharing ``self``'s memory and
    version counter, attached to the graph where ``self`` is."""
    from ._tensor import mark_view

    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError(f"as_subclass(): argument 'cls' must be a Tensor subclass, not {cls!r}")
    out = object.__new__(cls)
    for slot in ("_data", "_backend", "grad_fn", "_requires_grad", "_output_nr"):
        setattr(out, slot, getattr(self, slot))
    out._grad = out._extra = None
    return mark_view(out, self)


_FALSE_FLAGS = (
    "is_meta", "is_mps", "is_xla", "is_xpu", "is_ipu", "is_maia", "is_mtia", "is_vulkan",
    "is_mkldnn", "is_quantized", "is_sparse", "is_sparse_csr", "is_nested",
)  # fmt: skip
"""PyTorch's device and layout flags that no gpugrad tensor has (properties)."""


def _bfloat16(self: Tensor, memory_format: Any = None) -> Tensor:
    """Refused: NumPy has no bfloat16."""
    raise TypeError("gpugrad has no bfloat16 dtype (NumPy has none); use float16 or float32")


def _is_complex(self: Tensor) -> bool:
    """False: gpugrad has no complex dtypes."""
    return False


def _is_nonzero(self: Tensor) -> bool:
    """Whether the one element of ``self`` is not zero."""
    from ._toplevel import is_nonzero

    return is_nonzero(self)


def _float_draws(self: Tensor, generator: Any, kind: str) -> Tensor:
    """Draws of ``kind`` (``uniform``/``normal``) of ``self``'s shape, float64, outside the
    graph."""
    from ._random import generator_for

    source = generator_for(generator, self._backend)
    draw = getattr(source, kind)(self._backend, self._data.shape, _dtypes.float64.numpy)
    return _wrap(draw, self._backend)


def _write_draws(self: Tensor, values: Tensor) -> Tensor:
    """Write ``values`` into ``self`` as an in-place op (version bumped; a leaf that
    requires grad refused), as the other random methods do."""
    self[...] = values.to(self.dtype)
    return self


_C_TYPE_NAMES = {
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}


def _type_name(t: Tensor) -> str:
    return _C_TYPE_NAMES.get(t._data.dtype.name, t._data.dtype.name)


def _geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with samples of the geometric distribution: the number of Bernoulli(``p``)
    trials up to the first success (1, 2, …)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    with no_grad():
        u = _float_draws(self, generator, "uniform")
        draws = ((1 - u).log() / math.log1p(-p)).ceil().clamp_min(1)
    return _write_draws(self, draws)


def _cauchy_(self: Tensor, median: float = 0, sigma: float = 1, *, generator: Any = None) -> Tensor:
    """Fill with samples of the Cauchy distribution ``median + sigma * tan(pi (u - 1/2))``."""
    if self._data.dtype.kind != "f":
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {_type_name(self)}"
        )
    if not sigma > 0.0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    with no_grad():
        u = _float_draws(self, generator, "uniform")
        draws = ((u - 0.5) * math.pi).tan() * sigma + median
    return _write_draws(self, draws)


def _log_normal_(self: Tensor, mean: float = 1, std: float = 2, *, generator: Any = None) -> Tensor:
    """Fill with samples of ``exp(N(mean, std²))``."""
    if self._data.dtype.kind != "f":
        name = _dtypes.SCALAR_TYPE_NAMES[self._data.dtype.name]
        raise NotImplementedError(f"\"log_normal_cpu\" not implemented for '{name}'")
    if not std > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    with no_grad():
        draws = (_float_draws(self, generator, "normal") * std + mean).exp()
    return _write_draws(self, draws)


def _bernoulli(self: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """Draws of Bernoulli(``self``) (or of ``p`` when given), each 0 or 1, ``self``'s
    dtype."""
    if p is None:
        return _factories.bernoulli(self, generator=generator)
    return self.detach().clone().bernoulli_(p, generator=generator)


def _multinomial(
    self: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """``gg.multinomial(self, num_samples, replacement)``."""
    return _factories.multinomial(self, num_samples, replacement, generator=generator)


def _fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal (all dims equal, or a tall 2-D matrix,
    whose diagonal restarts every ``columns + 1`` rows when ``wrap``)."""
    shape = tuple(self.shape)
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if len(shape) == 2:
        rows, cols = shape
        length = min(rows, cols)
        if wrap and rows > cols:
            starts = builtins.range(0, rows, cols + 1)
            row_list = [s + k for s in starts for k in builtins.range(cols) if s + k < rows]
            col_list = [k for s in starts for k in builtins.range(cols) if s + k < rows]
        else:
            row_list = col_list = list(builtins.range(length))
        key = tuple(
            _factories.tensor(v, dtype=_dtypes.int64, device=self.device)
            for v in (row_list, col_list)
        )
    else:
        diagonal = _factories.arange(shape[0], device=self.device)
        key = (diagonal,) * len(shape)
    self[key] = fill_value
    return self


def _as_strided_(
    self: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
) -> Tensor:
    """``self`` becomes ``self.as_strided(size, stride, storage_offset)`` in place."""
    from ._inplace_views import apply_inplace_view

    return apply_inplace_view(lambda t: t.as_strided(size, stride, storage_offset), self)


def _register_post_accumulate_grad_hook(self: Tensor, hook: Callable[[Tensor], None]) -> Any:
    """Call ``hook(self)`` after each backward has accumulated into ``self.grad`` (a leaf
    that requires grad; ``autograd.grad`` accumulates nothing and calls none)."""
    from . import _engine
    from ._tensor import RemovableHandle

    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    hooks = _engine.post_accumulate_hooks.get(id(self))
    if hooks is None:
        hooks = _engine.post_accumulate_hooks[id(self)] = {}
        weakref.finalize(self, _engine.post_accumulate_hooks.pop, id(self), None)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


TENSOR_METHODS: dict[str, Callable[..., Any]] = {
    "cfloat": _complex_cast("cfloat"),
    "cdouble": _complex_cast("cdouble"),
    "chalf": _complex_cast("chalf"),
    "is_set_to": _is_set_to,
    "set_": _set_,
    "reinforce": _reinforce,
    "const_data_ptr": _const_data_ptr,
    "map2_": _map2_,
    "ger": _ger,
    "as_subclass": _as_subclass,
    "register_post_accumulate_grad_hook": _register_post_accumulate_grad_hook,
    "new": _new,
    "new_empty_strided": _new_empty_strided,
    "resize_": _resize_,
    "resize_as_": _resize_as_,
    "resize": _resize,
    "resize_as": _resize_as,
    "share_memory_": _share_memory_,
    "is_shared": _is_shared,
    "pin_memory": _pin_memory,
    "is_pinned": _is_pinned,
    "apply_": _apply_,
    "map_": _map_,
    "storage_type": _storage_type,
    "dim_order": _dim_order,
    "bfloat16": _bfloat16,
    "is_complex": _is_complex,
    "is_neg": is_neg,
    "is_distributed": is_distributed,
    "is_inference": is_inference,
    "is_nonzero": _is_nonzero,
    "geometric_": _geometric_,
    "cauchy_": _cauchy_,
    "log_normal_": _log_normal_,
    "bernoulli": _bernoulli,
    "multinomial": _multinomial,
    "fill_diagonal_": _fill_diagonal_,
    "as_strided_": _as_strided_,
}
"""The methods ``attach`` sets on ``Tensor`` (by PyTorch's name)."""


def attach() -> None:
    """Set the methods above (and the ``output_nr`` property) on ``Tensor``."""
    for name, function in TENSOR_METHODS.items():
        if name in Tensor.__dict__:
            continue  # declared elsewhere meanwhile: that one wins
        if function.__name__.startswith("_"):
            function.__name__ = name
            function.__qualname__ = f"Tensor.{name}"
        setattr(Tensor, name, function)
    if "output_nr" not in Tensor.__dict__:
        Tensor.output_nr = property(_output_nr)  # type: ignore[attr-defined]
    if "layout" not in Tensor.__dict__:
        Tensor.layout = property(_layout)  # type: ignore[attr-defined]
    if "volatile" not in Tensor.__dict__:
        Tensor.volatile = property(_volatile)  # type: ignore[attr-defined]
    for flag in _FALSE_FLAGS:
        if flag not in Tensor.__dict__:
            setattr(
                Tensor, flag, property(_false, doc=f"False: gpugrad has no such tensors ({flag}).")
            )


def _layout(self: Tensor) -> layout:
    """``gpugrad.strided``: every gpugrad tensor is dense and strided."""
    return strided


def _false(self: Tensor) -> bool:
    return False
