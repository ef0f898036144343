"""Fused elementwise kernels generated from a small array-level program (for ``gg.compile``).

An ``ElementwiseProgram`` is a DAG of elementwise ops (named as the ``ArrayBackend``
methods) over some input arrays that broadcast together, with some of its values returned,
each either stored elementwise or summed over all elements. ``compile_elementwise(backend,
program)`` turns it into one function of the input arrays that computes every returned
value in one pass over memory:

- CPU with a C++ compiler: one C++ function per program and broadcast pattern
  (``fusion_c``), built with the native kernels' compiler, flags and disk cache
  (``native_exec``), vectorized with the same libmvec math, run over the same blocks and
  threads. A call on small arrays costs a couple of microseconds.
- CPU without a compiler (or ``engine="numpy"``): the same ops one by one through the
  backend's own methods, over cache-sized blocks (this is the eager computation, blocked).
- CUDA: one CUDA kernel per program and pattern (``fusion_cuda``), compiled by CuPy with
  NVRTC, sums reduced in the same launch.

What a program means is what the backend's methods compute, op by op, on the same arrays
(``array_backend``): ``sign(nan)`` is 0, ``maximum``/``minimum``/``clip`` propagate NaN,
``sigmoid`` is ``1 / (1 + exp(-x))`` (``exp`` overflowing to inf gives exactly 0),
``sigmoid_backward(g, y)`` is ``g * y * (1 - y)``, ``relu`` is ``maximum(0, x)`` (-0.0
kept), ``rsqrt`` is ``1 / sqrt(x)``,
``div`` is true division (integers divide in float64), comparisons give bool,
``pow(x, 0.5)`` with a uniform exponent is ``sqrt`` (NumPy's fast path: ``sqrt(-0.0)`` is
-0.0 and ``sqrt(-inf)`` nan where ``pow`` gives 0.0 and inf). Each op computes in the
dtype NumPy promotes its operands to, a ``"const"`` operand being a Python number (weak, as
in NumPy 2: ``float32 + 0.1`` stays float32), widened to the node's dtype if that is wider;
the result is then cast to the node's dtype. No floating-point warning is ever raised.

Element values of the generated code equal the eager ones exactly for the correctly
rounded ops (arithmetic, ``sqrt``, comparisons, casts, ``floor``...; no FMA contraction)
and within the math libraries' few ulps for ``exp``, ``log``, ``sin`` ... (libmvec / CUDA's
libdevice against NumPy's own SIMD loops). A ``"sum"`` is accumulated in double (float64
values with Kahan's compensation on the CPU; integers and bools in int64, wrapping) per
block, the block sums added in block order: deterministic, and about as accurate as
NumPy's pairwise sum.

Broadcasting: each input is the full broadcast shape (C-contiguous; another layout is
copied to one first), or a single element (0-d, or any shape of size 1), which the
generated code reads once. An input of another broadcast pattern (a row against a matrix)
is materialized with ``numpy.broadcast_to(...)`` copied to a contiguous array first, then
treated as full. dtypes: float32, float64, int64 and bool; float16 (and any other dtype)
raises ``FusionUnsupported``, as does ``pow`` on integers.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

from .. import fp_errors

__all__ = [
    "ElementwiseProgram",
    "FusionUnsupported",
    "compile_elementwise",
    "fusion_engine",
    "fusion_supported_ops",
]


@dataclass(frozen=True)
class ElementwiseProgram:
    """A DAG of elementwise ops. Ids ``0 .. len(inputs) - 1`` are the inputs, id
    ``len(inputs) + i`` is ``nodes[i]``; a node's operands are earlier ids."""

    inputs: tuple[str, ...]
    """The dtype name of each input array ("float32", "float64", "int64", "bool")."""
    nodes: tuple[tuple[str, tuple[int, ...], str, Any], ...]
    """``(op, operand ids, result dtype name, constant or None)``: ``op`` an
    ``ArrayBackend`` method name, ``"const"`` (a Python number in the constant field, no
    operands) or ``"cast"`` (to the node's dtype). ``clip`` takes ``(x, lo, hi)`` operands,
    or ``(x,)`` with the constant field ``(lo, hi)`` (Python numbers, either may be None)."""
    outputs: tuple[int, ...]
    """The ids returned, in order (a node or an input; one may be returned twice)."""
    reductions: tuple[str | None, ...] = ()
    """Per output: None (stored elementwise, in the broadcast shape), ``"sum"`` or
    ``"mean"`` (over all elements, a 0-d array: the node's dtype; a bool or int64 sum is
    int64). Empty means no reductions."""


class FusionUnsupported(Exception):
    """The program uses an op, dtype or operand form that the generator does not fuse;
    the caller runs it op by op instead."""


_UNARY_FLOAT = frozenset(
    ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid")
)
_UNARY_SAME = frozenset(("neg", "abs", "sign", "floor", "ceil", "square", "relu"))
_ARITHMETIC = frozenset(("add", "sub", "mul", "maximum", "minimum", "pow", "sigmoid_backward"))
_COMPARISONS = frozenset(("eq", "ne", "lt", "le", "gt", "ge"))
_LOGICAL = frozenset(("logical_not", "logical_and", "logical_or"))
_ARITY = {
    **dict.fromkeys(_UNARY_FLOAT | _UNARY_SAME | {"reciprocal", "cast", "logical_not"}, 1),
    **dict.fromkeys(_ARITHMETIC | _COMPARISONS | {"div", "logical_and", "logical_or"}, 2),
    "where": 3,
    "const": 0,
}
_OPS = frozenset(_ARITY) | {"clip"}
DTYPES = ("float32", "float64", "int64", "bool")
"""The dtypes fused kernels take and produce."""
_FLOATS = ("float32", "float64")


def fusion_supported_ops() -> frozenset[str]:
    """The op names an ``ElementwiseProgram`` may use."""
    return _OPS


@dataclass(frozen=True)
class Step:
    """One node with its types resolved: ``compute`` is the dtype the op computes in (its
    operands are cast to it; for a comparison, the dtype compared in), ``dtype`` the
    result's."""

    op: str
    args: tuple[int, ...]
    dtype: str
    compute: str
    constant: Any = None
    uniform: bool = False
    """The value is the same at every element (only constants and single-element inputs
    below it): the generated code computes it once per call, and ``pow`` by a uniform
    exponent takes NumPy's fast path."""


@dataclass(frozen=True)
class Resolved:
    """A checked program: the dtype of every id, the resolved nodes and the reductions."""

    program: ElementwiseProgram
    dtypes: tuple[str, ...]
    steps: tuple[Step, ...]
    reductions: tuple[str | None, ...]

    def result_dtype(self, k: int) -> str:
        """The dtype of output ``k`` as returned (a bool or int64 sum is int64)."""
        dtype = self.dtypes[self.program.outputs[k]]
        if self.reductions[k] == "sum" and dtype == "bool":
            return "int64"
        return dtype


def _weak(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float)) else numpy.dtype(type(value))


def _promote(resolved_dtypes: list[str], constants: list[Any]) -> str:
    """NumPy's result dtype of the operands, a constant taking part as a Python number."""
    items = [
        _weak(c) if c is not None else numpy.dtype(d)
        for d, c in zip(resolved_dtypes, constants, strict=True)
    ]
    return numpy.result_type(*items).name


def _wider(a: str, b: str) -> str:
    return numpy.result_type(numpy.dtype(a), numpy.dtype(b)).name


def resolve(program: ElementwiseProgram) -> Resolved:
    """Checks ``program`` and resolves the compute dtype of each node; raises
    ``FusionUnsupported`` (an op, dtype or form it does not fuse) or ``ValueError`` (a
    malformed program)."""
    if not isinstance(program, ElementwiseProgram):
        raise TypeError(f"compile_elementwise expects an ElementwiseProgram, got {program!r}")
    for d in program.inputs:
        if d not in DTYPES:
            raise FusionUnsupported(f"fused kernels take {', '.join(DTYPES)}; not {d}")
    dtypes = list(program.inputs)
    constants: list[Any] = [None] * len(dtypes)
    uniform: list[bool] = [False] * len(dtypes)
    steps = []
    for i, node in enumerate(program.nodes):
        if len(node) != 4:
            raise ValueError(f"node {i} is {node!r}; expected (op, args, dtype, constant)")
        op, args, dtype, constant = node
        args = tuple(args)
        me = len(dtypes)
        if op not in _OPS:
            raise FusionUnsupported(f"op {op!r} has no fused lowering")
        if dtype not in DTYPES:
            raise FusionUnsupported(f"node {me} ({op}): fused kernels do not compute {dtype}")
        if any(not isinstance(a, int) or not 0 <= a < me for a in args):
            raise ValueError(f"node {me} ({op}): operands {args} must be ids below {me}")
        arity = _ARITY.get(op)
        if op == "clip":
            if len(args) == 1:
                if not (isinstance(constant, tuple) and len(constant) == 2):
                    raise ValueError(f"node {me} (clip): constant must be (lo, hi)")
            elif len(args) != 3:
                raise ValueError(f"node {me} (clip): expects (x,) or (x, lo, hi)")
        elif len(args) != arity:
            raise ValueError(f"node {me} ({op}): expects {arity} operands, got {len(args)}")
        ops_dtypes = [dtypes[a] for a in args]
        ops_consts = [constants[a] for a in args]
        compute = _compute_dtype(me, op, dtype, constant, ops_dtypes, ops_consts)
        is_uniform = all(uniform[a] for a in args)
        if op == "const":
            if not isinstance(constant, (bool, int, float)):
                raise ValueError(f"node {me} (const): constant must be a Python number")
            is_uniform = True
        steps.append(Step(op, args, dtype, compute, constant, is_uniform))
        dtypes.append(dtype)
        constants.append(constant if op == "const" else None)
        uniform.append(is_uniform)
    for o in program.outputs:
        if not isinstance(o, int) or not 0 <= o < len(dtypes):
            raise ValueError(f"output id {o!r} is not an input or node id")
    reductions = tuple(program.reductions) or (None,) * len(program.outputs)
    if len(reductions) != len(program.outputs):
        raise ValueError("reductions must give one entry per output (or be empty)")
    for o, r in zip(program.outputs, reductions):
        if r not in (None, "sum", "mean"):
            raise FusionUnsupported(f"reduction {r!r} is not fused (None, 'sum' or 'mean')")
        if r == "mean" and dtypes[o] not in _FLOATS:
            raise FusionUnsupported(f"mean of {dtypes[o]} is not fused (floats only)")
    return Resolved(program, tuple(dtypes), tuple(steps), reductions)


def _compute_dtype(
    me: int, op: str, dtype: str, constant: Any, ops_dtypes: list[str], ops_consts: list[Any]
) -> str:
    """The dtype an op computes in (see the module's docstring)."""
    where = f"node {me} ({op})"
    if op in ("const", "cast"):
        return dtype if op == "const" else ops_dtypes[0]
    if op in _COMPARISONS:
        return _promote(ops_dtypes, ops_consts)
    if op in _LOGICAL:
        return "bool"
    if op in _UNARY_FLOAT:
        (d,) = ops_dtypes
        if d == "bool":
            raise FusionUnsupported(f"{where}: NumPy computes {op} of bool in float16")
        return d if d in _FLOATS else "float64"
    if op in _UNARY_SAME:
        (d,) = ops_dtypes
        if d == "bool" and op in ("neg", "sign", "square", "relu"):
            raise FusionUnsupported(f"{where}: {op} of bool is not fused")
        return d
    if op == "reciprocal":
        (d,) = ops_dtypes
        return d if d in _FLOATS else "float64"
    if op == "sigmoid_backward" and (
        ops_dtypes[0] != ops_dtypes[1] or any(c is not None for c in ops_consts)
    ):
        # the backend's kernel takes two arrays of one dtype (its fallback for others
        # computes 1 - y in y's dtype, not the promoted one)
        raise FusionUnsupported(f"{where}: operands of two dtypes, or a Python number")
    if op == "where":
        compute = _promote(ops_dtypes[1:], ops_consts[1:])
    elif op == "clip" and len(ops_dtypes) == 1:
        bounds = [b for b in constant if b is not None]
        if not all(isinstance(b, (bool, int, float)) for b in bounds):
            raise ValueError(f"{where}: bounds must be Python numbers or None")
        compute = _promote(ops_dtypes + ["float64"] * len(bounds), [None, *bounds])
    else:
        compute = _promote(ops_dtypes, ops_consts)
    compute = _wider(compute, dtype)
    if op == "div" and compute not in _FLOATS:
        compute = "float64"
    if compute == "bool" and op in ("add", "sub", "mul", "pow", "div", "sigmoid_backward"):
        raise FusionUnsupported(f"{where}: {op} of bools is not fused")
    if op in ("pow", "sigmoid_backward") and compute not in _FLOATS:
        raise FusionUnsupported(f"{where}: {op} of integers is not fused")
    if compute not in DTYPES:
        raise FusionUnsupported(f"{where}: computes in {compute}, which is not fused")
    return compute


# --- the engines ---------------------------------------------------------------------------
ENGINES = ("c", "numpy", "cuda")


def fusion_engine(backend: Any) -> str:
    """Which engine ``compile_elementwise`` uses on ``backend``: ``"cuda"`` on a CuPy
    backend; on the CPU ``"c"`` when a C++ compiler is found (``$CXX``, ``c++`` or
    ``g++``), else ``"numpy"``; ``GPUGRAD_FUSION=numpy`` chooses the NumPy bodies."""
    if getattr(backend, "name", None) == "cupy":
        return "cuda"
    if os.environ.get("GPUGRAD_FUSION", "").lower() == "numpy":
        return "numpy"
    from . import native_exec

    try:
        native_exec.compiler()
    except native_exec.NativeBuildError:
        return "numpy"
    return "c"


_compiled: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
"""Per backend: the compiled function of each (program, engine)."""


def compile_elementwise(
    backend: Any, program: ElementwiseProgram, *, engine: str | None = None
) -> Callable[..., tuple]:
    """The function ``f(*arrays)`` that runs ``program`` on ``backend``'s arrays (one per
    input, of the input's dtype) and returns a tuple of new arrays, one per output. Cached
    per (program, backend, engine); ``engine`` (``"c"``, ``"numpy"`` or ``"cuda"``)
    overrides ``fusion_engine(backend)``. Raises ``FusionUnsupported`` for what it does
    not fuse. The C and CUDA code is generated and built on the first call with each
    broadcast pattern."""
    engine = engine or fusion_engine(backend)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    try:
        cache = _compiled.setdefault(backend, {})
    except TypeError:  # a backend that takes no weak reference: not cached
        cache = {}
    fn = cache.get((program, engine))
    if fn is not None:
        return fn
    resolved = resolve(program)
    if engine == "c":
        from .fusion_c import CpuFusedKernel

        fn = CpuFusedKernel(resolved, backend)
    elif engine == "cuda":
        from .fusion_cuda import CudaFusedKernel

        fn = CudaFusedKernel(resolved, backend)
    else:
        fn = NumpyFusedKernel(resolved, backend)
    cache[(program, engine)] = fn
    return fn


# --- shared by the engines -----------------------------------------------------------------
def broadcast_plan(resolved: Resolved, shapes: tuple[tuple[int, ...], ...]):
    """``(shape, n, pattern)`` for inputs of ``shapes``: the broadcast shape, its element
    count, and per input whether it is read as one element (True) or as the full shape."""
    shape = numpy.broadcast_shapes(*shapes) if shapes else ()
    n = math.prod(shape)
    pattern = tuple(math.prod(s) == 1 for s in shapes)
    return shape, n, pattern


def reduced_value(total: Any, kind: str, n: int, dtype: str) -> Any:
    """A sum (or mean) ``total`` as a 0-d array of ``dtype``: a mean of no elements is
    nan, an overflow is inf, silently."""
    token = fp_errors.set_state(fp_errors.IGNORE)
    try:
        if dtype in _FLOATS:
            value = total
            if kind == "mean":
                value = total / n if n else math.nan
            return numpy.asarray(value, dtype=dtype)
        return numpy.asarray(total, dtype=numpy.int64)
    finally:
        fp_errors.reset_state(token)


# --- NumPy: the backend's methods, op by op, over blocks ---------------------------------
def _apply(backend: Any, step: Step, values: list[Any]) -> Any:
    """``step`` computed by ``backend``'s own method on ``values`` (a constant operand is
    its Python number)."""
    op = step.op
    args = [values[a] for a in step.args]
    unary = op in _UNARY_FLOAT or op in _UNARY_SAME or op == "reciprocal"
    if unary and isinstance(args[0], (bool, int, float)):  # the methods take arrays
        args[0] = backend.xp.asarray(args[0], dtype=step.compute)
    if op == "const":
        return step.constant
    if op == "cast":
        return backend.xp.asarray(args[0]).astype(step.dtype)
    if op == "square":
        return backend.mul(args[0], args[0])
    if op == "clip":
        lo, hi = step.constant if len(args) == 1 else args[1:]
        return backend.clamp(args[0], lo, hi)
    return getattr(backend, op)(*args)


class NumpyFusedKernel:
    """The program's ops one by one through the backend's methods: on small arrays in one
    go, on large ones over ``numpy_exec``'s blocks and threads, so the intermediates stay
    in the cache; each output written into its own array."""

    def __init__(self, resolved: Resolved, backend: Any) -> None:
        self.resolved = resolved
        self.backend = backend
        self.xp = backend.xp

    def _values(self, arrays: list[Any]) -> list[Any]:
        values = list(arrays)
        for step in self.resolved.steps:
            value = _apply(self.backend, step, values)
            if step.op != "const" and getattr(value, "dtype", None) != step.dtype:
                value = self.xp.asarray(value).astype(step.dtype)
            values.append(value)
        return values

    def __call__(self, *arrays: Any) -> tuple:
        resolved = self.resolved
        xp = self.xp
        if len(arrays) != len(resolved.program.inputs):
            raise TypeError(
                f"the fused kernel takes {len(resolved.program.inputs)} arrays, got {len(arrays)}"
            )
        arrays = [
            xp.asarray(x) if x.dtype == d else xp.asarray(x).astype(d)
            for x, d in zip(arrays, resolved.program.inputs)
        ]
        shape, n, _ = broadcast_plan(resolved, tuple(x.shape for x in arrays))
        token = fp_errors.set_state(fp_errors.IGNORE)
        try:
            from .numpy_exec import BLOCK

            if n <= BLOCK or xp is not numpy:
                return self._whole(arrays, shape, n)
            return self._blocked(arrays, shape, n)
        finally:
            fp_errors.reset_state(token)

    def _whole(self, arrays: list[Any], shape: tuple[int, ...], n: int) -> tuple:
        resolved = self.resolved
        values = self._values(arrays)
        results = []
        for k, (o, kind) in enumerate(zip(resolved.program.outputs, resolved.reductions)):
            value = values[o]
            dtype = resolved.dtypes[o]
            if kind is None:
                out = self.xp.empty(shape, dtype)
                out[...] = value
                results.append(out)
            else:
                full = self.xp.broadcast_to(self.xp.asarray(value, dtype=dtype), shape)
                results.append(self._reduce(full, kind, n, resolved.result_dtype(k)))
        return tuple(results)

    def _reduce(self, full: Any, kind: str, n: int, dtype: str) -> Any:
        if dtype in _FLOATS:
            total = float(self.xp.add.reduce(full, axis=None, dtype=numpy.float64))
            return reduced_value(total, kind, n, dtype)
        total = self.xp.add.reduce(full, axis=None, dtype=numpy.int64)
        return self.xp.asarray(total, dtype=numpy.int64)

    def _blocked(self, arrays: list[Any], shape: tuple[int, ...], n: int) -> tuple:
        from . import numpy_exec

        resolved = self.resolved
        flat = []
        for x in arrays:
            if x.size == 1:
                flat.append(x.reshape(()))
            else:
                if x.shape != shape:
                    x = numpy.broadcast_to(x, shape)
                flat.append(x.reshape(-1))
        plain = [
            numpy.empty(n, resolved.dtypes[o]) if kind is None else None
            for o, kind in zip(resolved.program.outputs, resolved.reductions)
        ]
        partials = [[0] * numpy_exec.block_count(n) for _ in resolved.reductions]

        def work(blocks):
            token = fp_errors.set_state(fp_errors.IGNORE)  # this may be a pool thread
            try:
                for b in blocks:
                    lo = b * numpy_exec.BLOCK
                    hi = min(lo + numpy_exec.BLOCK, n)
                    values = self._values([v if v.ndim == 0 else v[lo:hi] for v in flat])
                    for k, o in enumerate(resolved.program.outputs):
                        kind = resolved.reductions[k]
                        if kind is None:
                            plain[k][lo:hi] = values[o]
                            continue
                        part = numpy.broadcast_to(
                            numpy.asarray(values[o], resolved.dtypes[o]), (hi - lo,)
                        )
                        if resolved.result_dtype(k) in _FLOATS:
                            partials[k][b] = float(numpy.add.reduce(part, dtype=numpy.float64))
                        else:
                            partials[k][b] = int(numpy.add.reduce(part, dtype=numpy.int64))
            finally:
                fp_errors.reset_state(token)
            return False

        numpy_exec.in_blocks(n, work)
        results = []
        for k, kind in enumerate(resolved.reductions):
            if kind is None:
                results.append(plain[k].reshape(shape))
            elif resolved.result_dtype(k) in _FLOATS:
                total = math.fsum(partials[k])
                results.append(reduced_value(total, kind, n, resolved.result_dtype(k)))
            else:
                total = numpy.add.reduce(numpy.array(partials[k], numpy.int64), dtype=numpy.int64)
                results.append(numpy.asarray(total, numpy.int64))
        return tuple(results)
