"""Array math for one device, written once against an array module (NumPy or CuPy).

Every array operation gpugrad performs goes through a backend object. Its method names
are the vocabulary of the derivative table: the same formula runs here on raw arrays, or
on tensors through gpugrad's functional namespace when a differentiable gradient is asked
for (``create_graph=True``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from . import dtypes, fp_errors
from .device import Device
from .kernels import defs as _k
from .kernels.executor import KernelExecutor

Array = Any
Shape = tuple[int, ...]


FUSED = {"sigmoid": _k.SIGMOID, "sigmoid_backward": _k.SIGMOID_BACKWARD}
"""Backend functions that are fused kernels (``backend.sigmoid(x)``), bound to the
device's executor, which holds their size and dtype gates."""


def _normalize_dim(dim: int | Sequence[int] | None) -> int | tuple[int, ...] | None:
    if dim is None or isinstance(dim, int):
        return dim
    return tuple(dim)


def _is_basic_key(key: tuple) -> bool:
    """True when indexing with ``key`` is a view: no position can repeat."""
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in key)


class ArrayBackend:
    """Elementwise, reduction, shape and creation ops on one device's arrays."""

    name: str = "array"

    def __init__(self, xp: Any, device: Device) -> None:
        self.xp = xp
        self.device = device
        self.device_str = str(device)
        self.array_type = xp.ndarray  # isinstance(x, backend.array_type): an array, not a scalar
        # Direct bindings: no Python frame between an op and the array module.
        self.neg = operator.neg
        self.exp = xp.exp
        self.log = xp.log
        self.log1p = xp.log1p
        self.expm1 = xp.expm1
        self.sqrt = xp.sqrt
        self.sin = xp.sin
        self.cos = xp.cos
        self.tan = xp.tan
        self.tanh = xp.tanh
        self.abs = xp.abs
        self.sign = xp.sign
        # Operators, not ufunc calls: on arrays they run the same ufuncs; on NumPy scalars
        # (what 0-d tensor data becomes) they take NumPy's scalar fast path, 10-20x faster.
        self.add = operator.add
        self.sub = operator.sub
        self.mul = operator.mul
        self.div = operator.truediv
        self.pow = operator.pow
        self.maximum = xp.maximum
        self.minimum = xp.minimum
        self.logaddexp = xp.logaddexp
        self.where = xp.where
        self.gt = operator.gt
        self.lt = operator.lt
        self.ge = operator.ge
        self.le = operator.le
        self.eq = operator.eq
        self.ne = operator.ne
        self.logical_not = xp.logical_not
        self.logical_and = xp.logical_and
        self.logical_or = xp.logical_or
        self.logical_xor = xp.logical_xor
        self.matmul = xp.matmul
        self.reshape = xp.reshape
        self.expand = xp.broadcast_to
        self.isnan = xp.isnan
        self.isfinite = xp.isfinite

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device='{self.device_str}'>"

    # --- conversion -------------------------------------------------------------------
    def asarray(self, data: Any, dtype: Any = None) -> Array:
        return self.xp.asarray(data, dtype=dtype)

    def from_data(self, data: Any, dtype: Any = None, copy: bool = True) -> Array:
        """An array from Python numbers, nested lists or another array, typed as PyTorch's
        ``tensor()`` types it: arrays keep their dtype, Python floats become the default
        float dtype and Python ints ``int64``."""
        is_array = hasattr(data, "dtype") and hasattr(data, "shape")
        if not is_array and hasattr(data, "__cuda_array_interface__"):
            is_array = True
        host = data if is_array or self.name != "numpy" else None
        array = self.xp.array(data if host is None else host, dtype=dtype, copy=copy)
        if dtype is None and not is_array:
            kind = array.dtype.kind
            if kind == "f":
                array = array.astype(dtypes.DEFAULT_FLOAT.numpy, copy=False)
            elif kind in "iu":
                array = array.astype(dtypes.int64.numpy, copy=False)
        if array.dtype not in dtypes.BY_NUMPY:
            raise TypeError(
                f"can't convert data of dtype {array.dtype} to a gpugrad tensor; supported: "
                + ", ".join(d.name for d in dtypes.ALL)
            )
        return array

    def astype(self, x: Array, dtype: Any) -> Array:
        return x.astype(dtype, copy=False)

    def copy(self, x: Array) -> Array:
        return self.xp.array(x, copy=True)

    def to_host(self, x: Array) -> Any:
        raise NotImplementedError

    def shares_memory(self, a: Array, b: Array) -> bool:
        """Whether ``a`` may be a view of ``b`` (a cheap bounds check)."""
        return bool(self.xp.may_share_memory(a, b))

    def is_array(self, x: Any) -> bool:
        """Whether ``x`` is this backend's array type (not a NumPy scalar, which 0-d
        results may be on the CPU); hot paths test ``isinstance(x, backend.array_type)``."""
        return isinstance(x, self.array_type)

    def ascontiguousarray(self, x: Array) -> Array:
        """``x`` itself when it is C-contiguous, else a C-contiguous copy."""
        return self.xp.ascontiguousarray(x)

    def allclose(self, a: Array, b: Array, rtol: float, atol: float, equal_nan: bool) -> bool:
        return bool(self.xp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def owns(self, x: Array) -> bool:
        """True when ``x`` is a writable array that owns its memory (not a view)."""
        return x.base is None

    def to_backend(self, x: Array, target: ArrayBackend) -> Array:
        """``x`` copied onto ``target``'s device (through host memory)."""
        if target is self:
            return x
        return target.asarray(self.to_host(x))

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""

    # --- elementwise --------------------------------------------------------------------
    def rsqrt(self, x: Array) -> Array:
        return 1 / self.xp.sqrt(x)

    def reciprocal(self, x: Array) -> Array:
        return 1 / x

    def erf(self, x: Array) -> Array:
        return self.special.erf(x)

    def relu(self, x: Array) -> Array:
        return self.xp.maximum(x, x.dtype.type(0))

    @property
    def kernels(self) -> KernelExecutor:
        """The executor of ``backends/kernels`` for this device. Setting it binds the
        fused elementwise functions of the backend's vocabulary (``FUSED``)."""
        return self._kernels

    @kernels.setter
    def kernels(self, executor: KernelExecutor) -> None:
        self._kernels = executor
        for name, kernel in FUSED.items():
            setattr(self, name, executor.bind(kernel))

    special: Any = None
    """Special functions on this device's arrays (``erf`` …): ``backends/kernels/special``
    on the CPU, ``cupyx.scipy.special`` on CUDA."""

    def run_kernel(
        self,
        kernel: Any,
        inputs: Sequence[Array],
        params: Sequence[float] = (),
        *,
        reduce: bool = False,
        divisor: float = 1.0,
    ) -> tuple[list[Array], bool]:
        """A fused kernel (``backends/kernels``): its outputs (or, with ``reduce``, output 0
        summed and divided by ``divisor``, in the same pass) and whether a block flagged
        its inputs (out-of-range values; never checked on CUDA, where it would wait for the
        device)."""
        return self.kernels.run(kernel, inputs, params, reduce=reduce, divisor=divisor)

    def clamp(self, x: Array, min: Any = None, max: Any = None) -> Array:
        xp = self.xp
        if min is not None:
            x = xp.maximum(x, min)
        if max is not None:
            x = xp.minimum(x, max)
        return x

    # --- reductions ---------------------------------------------------------------------
    def sum(self, x: Array, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Array:
        return self.xp.sum(x, axis=_normalize_dim(dim), keepdims=keepdim, dtype=dtype)

    def mean(self, x: Array, dim: Any = None, keepdim: bool = False) -> Array:
        axis = _normalize_dim(dim)
        if x.size == 0:  # NumPy warns "Mean of empty slice"; PyTorch's nan is silent
            return self.xp.sum(x, axis=axis, keepdims=keepdim) / 0
        return self.xp.mean(x, axis=axis, keepdims=keepdim)

    def prod(self, x: Array, dim: Any = None, keepdim: bool = False) -> Array:
        return self.xp.prod(x, axis=_normalize_dim(dim), keepdims=keepdim)

    def amax(self, x: Array, dim: Any = None, keepdim: bool = False) -> Array:
        return self.xp.amax(x, axis=_normalize_dim(dim), keepdims=keepdim)

    def amin(self, x: Array, dim: Any = None, keepdim: bool = False) -> Array:
        return self.xp.amin(x, axis=_normalize_dim(dim), keepdims=keepdim)

    def var(self, x: Array, dim: Any = None, correction: float = 1, keepdim: bool = False):
        axis = _normalize_dim(dim)
        axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        count = 1
        for a in axes:
            count *= x.shape[a]
        if count - correction > 0:
            return self.xp.var(x, axis=axis, ddof=correction, keepdims=keepdim)
        # PyTorch divides by max(0, count - correction) (0/0: nan, else inf); NumPy too,
        # but with a "Degrees of freedom <= 0" warning
        squares = self.xp.sum(x * 0, axis=axis, keepdims=keepdim)  # 0, or nan where x is
        if count:
            squares = self.xp.var(x, axis=axis, keepdims=keepdim) * count
        return squares / 0

    def argmax(self, x: Array, dim: int | None = None, keepdim: bool = False) -> Array:
        return self.xp.argmax(x, axis=dim, keepdims=keepdim)

    def argmin(self, x: Array, dim: int | None = None, keepdim: bool = False) -> Array:
        return self.xp.argmin(x, axis=dim, keepdims=keepdim)

    def all(self, x: Array, dim: int | None = None, keepdim: bool = False) -> Array:
        return self.xp.all(x, axis=dim, keepdims=keepdim)

    def any(self, x: Array, dim: int | None = None, keepdim: bool = False) -> Array:
        return self.xp.any(x, axis=dim, keepdims=keepdim)

    def take_along_axis(self, x: Array, indices: Array, dim: int) -> Array:
        return self.xp.take_along_axis(x, indices, dim)

    def cumsum(self, x: Array, dim: int) -> Array:
        return self.xp.cumsum(x, axis=dim) if x.ndim else x

    def flip(self, x: Array, dim: Any) -> Array:
        return self.xp.flip(x, axis=_normalize_dim(dim)) if x.ndim else x

    def logsumexp(self, x: Array, dim: Any, keepdim: bool = False) -> Array:
        xp = self.xp
        axis = _normalize_dim(dim)
        shift = xp.amax(x, axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)
        out = xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift
        return out if keepdim else xp.squeeze(out, axis=axis)

    def softmax(self, x: Array, dim: int) -> Array:
        e = self.xp.exp(x - self.xp.amax(x, axis=dim, keepdims=True))
        return e / e.sum(axis=dim, keepdims=True)

    def log_softmax(self, x: Array, dim: int) -> Array:
        return x - self.logsumexp(x, dim, keepdim=True)

    def prod_others(self, x: Array, dim: Any) -> Array:
        """For each element, the product of the other elements of its reduction group:
        the gradient of prod, exact when the inputs contain zeros."""
        xp = self.xp
        axes = tuple(range(x.ndim)) if dim is None else _normalize_dim(dim)
        axes = (axes,) if isinstance(axes, int) else tuple(a % x.ndim for a in axes)
        kept = [a for a in range(x.ndim) if a not in axes]
        moved = xp.transpose(x, kept + list(axes))
        flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(
            xp.cumprod(xp.concatenate([ones, xp.flip(flat, axis=-1)[..., :-1]], axis=-1), axis=-1),
            axis=-1,
        )
        others = (left * right).reshape(moved.shape)
        return xp.transpose(others, xp.argsort(xp.asarray(kept + list(axes))).tolist())

    # --- shape ----------------------------------------------------------------------------
    def sum_to(self, x: Array, shape: Shape) -> Array:
        """Sum ``x`` down to ``shape``: the adjoint of broadcasting, in one place."""
        if x.shape == shape:
            return x
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
        )
        return self.xp.sum(x, axis=axes, keepdims=True).reshape(shape)

    def transpose(self, x: Array, dim0: int, dim1: int) -> Array:
        return self.xp.swapaxes(x, dim0, dim1)

    def mT(self, x: Array) -> Array:  # noqa: N802 - PyTorch's name
        return self.xp.swapaxes(x, -1, -2)

    def permute(self, x: Array, dims: Sequence[int]) -> Array:
        return self.xp.transpose(x, dims)

    def squeeze(self, x: Array, dim: Any = None) -> Array:
        if dim is not None:
            axes = (dim,) if isinstance(dim, int) else tuple(dim)
            dim = tuple(d for d in axes if x.shape[d] == 1)
        return self.xp.squeeze(x, axis=dim)

    def unsqueeze(self, x: Array, dim: int) -> Array:
        return self.xp.expand_dims(x, dim)

    def cat(self, arrays: Sequence[Array], dim: int = 0) -> Array:
        return self.xp.concatenate(arrays, axis=dim)

    def stack(self, arrays: Sequence[Array], dim: int = 0) -> Array:
        return self.xp.stack(arrays, axis=dim)

    def getitem(self, x: Array, key: Any) -> Array:
        return x[key]

    def index_scatter(self, g: Array, shape: Shape, key: Any) -> Array:
        """Zeros of ``shape`` with ``g`` added at ``x[key]``: the adjoint of indexing;
        repeated integer indices accumulate."""
        out = self.xp.zeros(shape, dtype=g.dtype)
        if _is_basic_key(key if isinstance(key, tuple) else (key,)):
            out[key] = g
        else:
            self._scatter_add(out, key, g)
        return out

    def _scatter_add(self, out: Array, key: Any, values: Array) -> None:
        self.xp.add.at(out, key, values)

    # --- creation -----------------------------------------------------------------------
    def zeros(self, shape: Shape, dtype: Any) -> Array:
        return self.xp.zeros(shape, dtype=dtype)

    def ones(self, shape: Shape, dtype: Any) -> Array:
        return self.xp.ones(shape, dtype=dtype)

    def full(self, shape: Shape, value: Any, dtype: Any) -> Array:
        return self.xp.full(shape, value, dtype=dtype)

    def empty(self, shape: Shape, dtype: Any) -> Array:
        return self.xp.empty(shape, dtype=dtype)

    def zeros_like(self, x: Array) -> Array:
        return self.xp.zeros_like(x)

    def ones_like(self, x: Array) -> Array:
        return self.xp.ones_like(x)

    def arange(self, start: Any, end: Any, step: Any, dtype: Any) -> Array:
        return self.xp.arange(start, end, step, dtype=dtype)

    def linspace(self, start: float, end: float, steps: int, dtype: Any) -> Array:
        return self.xp.linspace(start, end, steps, dtype=dtype)

    def eye(self, n: int, m: int | None, dtype: Any) -> Array:
        return self.xp.eye(n, m, dtype=dtype)

    def seed(self, seed: int) -> None:
        self._rng = self.xp.random.default_rng(seed)

    def rand(self, shape: Shape, dtype: Any) -> Array:
        return self._generator().random(shape, dtype=dtype)

    def randn(self, shape: Shape, dtype: Any) -> Array:
        return self._generator().standard_normal(shape, dtype=dtype)

    def randint(self, low: int, high: int, shape: Shape, dtype: Any) -> Array:
        return self._generator().integers(low, high, shape).astype(dtype)

    def _generator(self) -> Any:
        rng = getattr(self, "_rng", None)
        if rng is None:
            rng = self._rng = self.xp.random.default_rng()
        return rng

    # --- in-place -----------------------------------------------------------------------
    def assign(self, dst: Array, src: Any) -> Array:
        """Write ``src`` into ``dst`` and return the array that now holds the values
        (``dst`` itself, or a new array when ``dst`` was an immutable scalar)."""
        if isinstance(dst, self.xp.ndarray):
            dst[...] = src
            return dst
        return self.xp.asarray(src, dtype=dst.dtype)[()]

    def dtype_of(self, x: Array) -> dtypes.DType:
        return dtypes.BY_NUMPY[x.dtype]


# --- floating-point warnings (issue 15): see fp_errors -----------------------------------
SILENCED = (
    *("sum", "mean", "prod", "var", "cumsum", "logsumexp", "softmax", "log_softmax"),
    *("prod_others", "clamp", "relu", "rsqrt", "reciprocal", "erf"),
    *("astype", "from_data", "asarray", "full", "arange", "linspace"),
)
"""Backend methods that compute with NumPy's floating-point errors ignored, as PyTorch
computes (``softmax`` of an all ``-inf`` row is nan, a cast of ``inf`` to int32 is
-2147483648, neither warns). Op bodies outside ``dispatch``'s forward calls and the
engine's backward pass reach NumPy through these; the per-op hot paths (the ufuncs bound
in ``__init__``) are silenced by their caller instead, at no extra Python frame."""
for _name in SILENCED:
    setattr(ArrayBackend, _name, fp_errors.silenced(getattr(ArrayBackend, _name)))
del _name
