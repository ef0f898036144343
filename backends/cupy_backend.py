"""The CUDA backend: CuPy arrays on one GPU. Imported only when a CUDA tensor is asked for."""

from __future__ import annotations

import contextlib
import importlib
import math
from typing import Any

import numpy

from .array_backend import ArrayBackend, doubling_scan
from .device import Device
from .kernels import batch_norm
from .kernels.cupy_exec import CupyKernels


class CupyBackend(ArrayBackend):
    name = "cupy"

    def __init__(self, cupy: Any, index: int) -> None:
        super().__init__(cupy, Device("cuda", index))
        self.cuda_device = cupy.cuda.Device(index)
        self.kernels = CupyKernels(cupy, self.cuda_device)
        self.special = importlib.import_module("cupyx.scipy.special")

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        with self.cuda_device:
            return self.xp.asarray(data, dtype=dtype)

    def to_host(self, x: Any) -> numpy.ndarray:
        return self.xp.asnumpy(x)

    def synchronize(self) -> None:
        self.cuda_device.synchronize()

    def _add_at_key(self, out: Any, key: Any, values: Any) -> None:
        """``out[key] += values`` with repeated positions accumulating, through
        ``add_at_flat`` (deterministic for floats)."""
        xp = self.xp
        positions = xp.arange(out.size).reshape(out.shape)[key]
        values = xp.broadcast_to(values, positions.shape)
        out += self.add_at_flat(out.size, positions, values).reshape(out.shape)

    def assign(self, dst: Any, src: Any) -> Any:
        dst[...] = src
        return dst

    # --- batch norm (issue 17, bn): the CUDA kernels of kernels/batch_norm.py ----------
    def batch_norm_body(self) -> Any:
        """CUDA's batch-norm kernels (``batch_norm.CudaBody``), made on first use."""
        body = self.__dict__.get("_batch_norm_body")
        if body is None:
            body = self.__dict__["_batch_norm_body"] = batch_norm.CudaBody(self.xp)
        return body

    # --- linear algebra (ops/linalg.py) -------------------------------------------------
    def _linalg(self, name: str, function: Any, *args: Any) -> Any:
        """CuPy reports a singular or indefinite matrix only under ``errstate``."""
        import cupyx

        with cupyx.errstate(linalg="raise"):
            return super()._linalg(name, function, *args)

    # --- elementwise math (the elementwise family) ---
    def digamma(self, x: Any) -> Any:
        """``cupyx``'s psi with PyTorch's values at 0 (``-inf`` at +0, ``inf`` at -0) and
        NaN at the negative integers."""
        xp = self.xp
        out = self.special.digamma(x).astype(x.dtype, copy=False)
        out = xp.where(x == 0, xp.copysign(xp.inf, -x).astype(x.dtype), out)
        return xp.where((x < 0) & (x == xp.floor(x)), xp.nan, out).astype(x.dtype, copy=False)

    # --- special values (issue 15): where cupyx.scipy.special differs from PyTorch -----
    def erf(self, x: Any) -> Any:
        """In ``x``'s dtype (cupyx computes float16 in a wider type and returns it)."""
        return self.special.erf(x).astype(x.dtype, copy=False)

    def lgamma(self, x: Any) -> Any:
        """``inf`` at ``-inf``, as PyTorch (cupyx's ``gammaln(-inf)`` is ``-inf``); float32
        subnormals through ``_subnormal_lgamma``."""
        xp = self.xp
        out = self.special.gammaln(x).astype(x.dtype, copy=False)
        out = xp.where(x == -xp.inf, xp.inf, out).astype(x.dtype, copy=False)
        if x.dtype == _FLOAT32:
            out = _subnormal_lgamma(xp, x, out)
        return out

    def polygamma(self, n: int, x: Any) -> Any:
        """``n >= 2``: ``(-1)**(n+1) n! zeta(n + 1, x)`` with Cephes' Hurwitz zeta (as
        PyTorch's); cupyx's own ``polygamma`` fails for a Python int ``n`` (it compares
        ``n == 0`` after ``broadcast_arrays``, which leaves a scalar a scalar)."""
        if n < 2:
            return super().polygamma(n, x)
        xp = self.xp
        wide = x.astype(_FLOAT64, copy=False)
        order = xp.full(wide.shape, n + 1.0, dtype=_FLOAT64)
        out = self.special.zeta(order, wide) * ((-1.0) ** (n + 1) * math.factorial(n))
        out = xp.where(wide == xp.inf, xp.nan, out)  # PyTorch: NaN at +inf (Cephes: 0)
        return out.astype(x.dtype, copy=False)

    # --- mathx: gpugrad.special's primitives where cupyx's names differ ------------------
    def special_zeta(self, x: Any, q: Any) -> Any:
        """``cupyx.scipy.special.zeta`` (the CPU's is ``hurwitz_zeta``), NaN at ``q = inf``
        as PyTorch."""
        xp = self.xp
        dtype = xp.result_type(x, q)
        out = self.special.zeta(x, q)
        return xp.where(q == xp.inf, xp.nan, out).astype(dtype, copy=False)

    # A float outside an integer type's range (inf, NaN, 1e20) cast to it is undefined in C;
    # CuPy's cast is CUDA's saturating conversion (inf -> max, -inf -> min, NaN -> 0), which
    # is what PyTorch's CUDA tensors give too; x86 CPUs give min for all three (NumPy and
    # PyTorch on the CPU). gpugrad keeps each device's native result, as PyTorch does.

    # --- reductions (sort, topk, scans, order statistics) --------------------------------
    def mean(self, x: Any, dim: Any = None, keepdim: bool = False) -> Any:
        """The mean of one float element is ``x + 0`` (``-0.0`` averages to ``0.0``, as
        PyTorch's sum from +0), made from its bits: CuPy's reduction kernels are compiled
        with ``-ftz=true``, under which a float32 subnormal averaged to 0 (the H200 run:
        ``mean(1e-45)``), where PyTorch's CUDA mean keeps it. More elements: CuPy's mean
        (subnormal float32 inputs still read as zero there)."""
        if x.size == 1 and x.dtype.kind == "f":
            return _single_mean(x, _reduced_shape(x.shape, dim, keepdim))
        return super().mean(x, dim, keepdim)

    def quiet(self) -> Any:
        return contextlib.nullcontext()  # CuPy never warns

    def scan(self, ufunc: Any, x: Any, dim: int) -> Any:
        """CuPy's ufuncs offer ``accumulate`` for a few only: a doubling scan."""
        return doubling_scan(self.xp, ufunc, x, dim)

    # --- shape and index ops: deterministic scatter-add, device pointers ----------------
    def add_at_flat(self, size: int, positions: Any, values: Any) -> Any:
        """Floats: ``sorted_segment_add`` (the same sum on every run); integers: CuPy's
        atomic ``add.at`` (integer addition is exact in any order)."""
        if values.dtype.kind == "f":
            return sorted_segment_add(self.xp, size, positions, values)
        out = self.xp.zeros(size, dtype=values.dtype)
        _ufunc_at(self.xp, "add", out, positions.reshape(-1), values.reshape(-1))
        return out

    def add_rows(self, shape: tuple[int, ...], index: Any, values: Any) -> Any:
        """Floats: ``add_at_flat`` of the rows' flat positions (a sorted, fixed-order sum:
        the same result on every run, which CuPy's atomic ``scatter_add`` is not);
        integers: CuPy's atomic ``scatter_add`` of whole slices (exact in any order)."""
        if values.dtype.kind == "f":
            width = math.prod(shape[1:])
            positions = index.reshape(-1, 1) * width + self.xp.arange(width)
            return self.add_at_flat(math.prod(shape), positions, values).reshape(shape)
        import cupyx

        out = self.xp.zeros(shape, dtype=values.dtype)
        cupyx.scatter_add(out, index, values)
        return out

    def scatter_reduce(
        self, x: Any, dim: int, index: Any, src: Any, reduce: str, include_self: bool
    ) -> Any:
        """``amax``/``amin`` with CuPy's atomic ``maximum.at``/``minimum.at``; ``prod``,
        which CuPy has no scatter for, and float64 ``amax``/``amin``, which CuPy's atomics
        round through float32 (an H200 run gave 1.1577992439 for 1.1577992141), through
        host memory (NumPy's ``ufunc.at``, exact)."""
        if reduce == "prod" or x.dtype == _FLOAT64:
            from . import cpu

            host = cpu.scatter_reduce(
                self.to_host(x), dim, self.to_host(index), self.to_host(src), reduce, include_self
            )
            return self.asarray(host)
        xp = self.xp
        positions = self.flat_positions(x.shape, dim, index).reshape(-1)
        out = xp.array(x, copy=True).reshape(-1)
        if not include_self:
            if x.dtype.kind == "f":
                out[positions] = -xp.inf if reduce == "amax" else xp.inf
            else:
                info = xp.iinfo(x.dtype)
                out[positions] = info.min if reduce == "amax" else info.max
        _ufunc_at(xp, "maximum" if reduce == "amax" else "minimum", out, positions, src.reshape(-1))
        return out.reshape(x.shape)

    def data_ptr(self, x: Any) -> int:
        return int(x.data.ptr)

    def storage_offset(self, x: Any) -> int:
        base = x
        while getattr(base, "base", None) is not None:
            base = base.base
        return (int(x.data.ptr) - int(base.data.ptr)) // x.dtype.itemsize


_FLOAT64 = numpy.dtype(numpy.float64)
_FLOAT32 = numpy.dtype(numpy.float32)
_BITS = {2: numpy.uint16, 4: numpy.uint32, 8: numpy.uint64}


def _subnormal_lgamma(xp: Any, x: Any, out: Any) -> Any:
    """``out`` (float32 ``lgamma(x)``) with ``-log|x|`` where ``x`` is subnormal, computed
    from its bits (``|x| = m * 2**-149``: ``log(m) - 149 log 2``, in float64, which no GPU
    flushes). cupyx's ``gammaln`` is compiled with ``-ftz=true``: it read a subnormal as 0
    and gave ``inf`` (the H200 run; PyTorch: 92.1 at 1e-40). Below 2**-126, ``lgamma(x)``
    and ``-log|x|`` differ by about ``0.58 x``: nothing at float32's precision."""
    magnitude = x.view(numpy.uint32) & numpy.uint32(0x7FFFFFFF)
    subnormal = (magnitude != 0) & (magnitude < 0x00800000)
    mantissa = xp.where(subnormal, magnitude, numpy.uint32(1)).astype(_FLOAT64)
    log_abs = xp.log(mantissa) - 149 * math.log(2)
    return xp.where(subnormal, (-log_abs).astype(_FLOAT32), out)


def _reduced_shape(shape: tuple[int, ...], dim: Any, keepdim: bool) -> tuple[int, ...]:
    """The shape of a reduction of ``shape`` over ``dim`` (an axis, a tuple, or None)."""
    if dim is None or not shape:  # a 0-d array reduces over dim 0 or -1 too
        axes = set(range(len(shape)))
    else:
        axes = {a % len(shape) for a in ((dim,) if isinstance(dim, int) else dim)}
    if keepdim:
        return tuple(1 if a in axes else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in axes)


def _single_mean(x: Any, shape: tuple[int, ...]) -> Any:
    """A new array of ``shape`` holding one-element ``x`` plus 0, in integer operations
    only (``-0.0``'s bits become ``0.0``'s; every other value, subnormals and NaN payloads
    included, is kept): no floating-point instruction that ``-ftz=true`` could flush."""
    bits = x.reshape(shape).view(_BITS[x.dtype.itemsize])
    negative_zero = bits.dtype.type(1 << (8 * x.dtype.itemsize - 1))
    return (bits * (bits != negative_zero)).view(x.dtype)


def _ufunc_at(xp: Any, name: str, out: Any, positions: Any, values: Any) -> None:
    """``xp.<name>.at(out, positions, values)``: CuPy's scatter through ``ufunc.at`` (CuPy
    13 deprecated ``cupyx.scatter_add``/``scatter_max``/``scatter_min``, with a
    ``DeprecationWarning`` per call); older CuPy, without ``ufunc.at``, through cupyx."""
    try:
        getattr(xp, name).at(out, positions, values)
    except (AttributeError, NotImplementedError):
        import cupyx

        getattr(cupyx, {"add": "scatter_add", "maximum": "scatter_max"}.get(name, "scatter_min"))(
            out, positions, values
        )


def sorted_segment_add(xp: Any, size: int, positions: Any, values: Any) -> Any:
    """A 1-D array of ``size`` zeros with float ``values`` added at ``positions`` (repeats
    accumulate), summed in an order fixed by the data alone, so every run gives the same
    bits: CuPy's ``scatter_add`` and ``bincount`` add with atomics in whatever order the
    threads arrive, and two identical training runs drifted apart in the last bit
    (``examples/char_gpt.py``'s resume test on CUDA). The positions are sorted (stably);
    a segmented doubling scan sums each run of equal positions (a tree order, in float64),
    ``log2`` of the longest run passes; each run's total is written once, then narrowed to
    the values' dtype, as the CPU's ``bincount`` does."""
    positions = positions.reshape(-1)
    values = values.reshape(-1)
    out = xp.zeros(size, dtype=_FLOAT64)
    if positions.size == 0:
        return out.astype(values.dtype)
    order = xp.argsort(positions, kind="stable")
    keys = positions[order]
    sums = values[order].astype(_FLOAT64)
    boundary = keys[1:] != keys[:-1]
    starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool), boundary]))
    longest = int(xp.diff(xp.concatenate([starts, xp.asarray([keys.size])])).max())
    step = 1
    while step < longest:
        same_run = keys[step:] == keys[:-step]
        tail = sums[step:] + xp.where(same_run, sums[:-step], 0.0)
        sums = xp.concatenate([sums[:step], tail])
        step *= 2
    last = xp.concatenate([boundary, xp.ones(1, dtype=bool)])
    out[keys[last]] = sums[last]
    return out.astype(values.dtype)
