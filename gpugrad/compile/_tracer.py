"""Recording the array-level program of one call.

While a call is traced, every tensor the function can reach holds a ``Traced`` proxy in
``_data`` instead of its array. A proxy carries the real array (so the call computes its
real values, and Python control flow on shapes and dtypes is the real one) and the number
of the program variable it stands for. The device backends' methods and the random
generators' draws are shadowed, for the tracing thread only, by recorders: a call that
reaches them runs the real method on the real arrays, wraps what it returns in new proxies
and appends an ``Instruction`` to the program. Operators and array methods on proxies
record the same way. Only the outermost call is recorded (a backend method calling another
runs untouched).

What the program cannot replay (a Python value computed from tensor data: ``.item()``,
``bool(t)``, printing; a data-dependent shape) is a *break*: the tracer notes the reason,
hands the real value back and lets the call finish eagerly, so the traced call itself is
always the eager call.
"""

from __future__ import annotations

import operator
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import _random, backends
from .._random import Generator
from .._tensor import Size, Tensor
from ._symbolic import Recorder, SymFloat, SymInt, plain

_local = threading.local()


def active() -> Tracer | None:
    """The tracer of the current thread (``None`` when it is not tracing)."""
    return getattr(_local, "tracer", None)


@dataclass
class Instruction:
    """One step of the program: ``outputs = fn(*args, **kwargs)``.

    ``fn`` is a callable bound as a constant, or (``method`` set) the name of a method
    called on ``args[0]``. ``outputs`` pairs each program variable the call defines with
    its index path into the result (``()``: the result itself). ``kind`` is ``"call"``,
    ``"load"`` (``args[0]`` is a source expression), ``"store"``, ``"eager"``."""

    kind: str
    name: str
    fn: Any
    args: tuple
    kwargs: dict
    outputs: list[tuple[int, tuple]] = field(default_factory=list)
    method: bool = False
    pure: bool = False
    random: bool = False
    expected: Any = None  # for a "check": the answer the trace found


class Traced:
    """A stand-in for an array during a trace: the real array, and its program variable."""

    __slots__ = ("real", "slot", "__weakref__")

    def __init__(self, real: Any, slot: int) -> None:
        self.real = real
        self.slot = slot

    # --- metadata answers from the real array ------------------------------------------
    @property
    def __class__(self) -> type:  # noqa: D105
        """The real array's class, so ``isinstance(proxy, backend.array_type)`` answers as
        it would for the array (``type(proxy)`` is still ``Traced``)."""
        return type(self.real)

    @property
    def shape(self) -> tuple:
        return self.real.shape

    @property
    def dtype(self) -> Any:
        return self.real.dtype

    @property
    def ndim(self) -> int:
        return self.real.ndim

    @property
    def size(self) -> int:
        return self.real.size

    @property
    def itemsize(self) -> int:
        return self.real.itemsize

    @property
    def nbytes(self) -> int:
        return self.real.nbytes

    @property
    def strides(self) -> tuple:
        return self.real.strides

    @property
    def flags(self) -> Any:
        return self.real.flags

    @property
    def base(self) -> Any:
        return self.real.base

    @property
    def device(self) -> Any:
        return self.real.device

    @property
    def T(self) -> Any:  # noqa: N802 - the arrays' name
        return _array_call("T", operator.attrgetter("T"), (self,), {}, pure=True)

    @property
    def mT(self) -> Any:  # noqa: N802 - the arrays' name
        return _array_call("mT", operator.attrgetter("mT"), (self,), {}, pure=True)

    def __len__(self) -> int:
        return len(self.real)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)  # AttributeError as the array would raise it
        if name == "item" and self.real.dtype.kind == "b" and self.real.size == 1:
            return self._bool_item
        if name in _ESCAPING_ATTRIBUTES:
            _break(_ESCAPING_ATTRIBUTES[name])
            return value
        if not callable(value):
            return value
        pure = name in PURE_ARRAY_METHODS

        def method(*args: Any, **kwargs: Any) -> Any:
            return _array_call(name, name, (self, *args), kwargs, pure=pure, method=True)

        return method

    # --- data-dependent escapes ----------------------------------------------------------
    def __bool__(self) -> bool:
        value = bool(self.real)
        tracer = active()
        if tracer is not None and not tracer.depth:
            tracer.speculate(
                "bool() of a tensor (data-dependent Python control flow)",
                "bool",
                bool,
                (self,),
                value,
            )
        return value

    def _bool_item(self) -> bool:
        """``.item()`` of a one-element bool tensor (``if isnan(loss).any().item():``):
        its answer is speculated and re-checked at replay, as ``bool(t)``'s."""
        return self.__bool__()

    def __float__(self) -> float:
        _break("float() of a tensor (data-dependent Python value)")
        return float(self.real)

    def __int__(self) -> int:
        _break("int() of a tensor (data-dependent Python value)")
        return int(self.real)

    def __index__(self) -> int:
        _break("a tensor used as a Python index (data-dependent Python value)")
        return operator.index(self.real)

    def __complex__(self) -> complex:
        _break("complex() of a tensor (data-dependent Python value)")
        return complex(self.real)

    def __iter__(self) -> Any:
        _break("iteration over a tensor's array")
        return iter(self.real)

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        _break("a tensor's values handed to NumPy/CuPy directly (__array__)")
        return self.real.__array__(*args, **kwargs)

    def __repr__(self) -> str:
        _break("a tensor printed or formatted (its values leave the graph)")
        return repr(self.real)

    __str__ = __repr__
    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            return _array_call(f"{ufunc.__name__}.{method}", getattr(ufunc, method), inputs, kwargs)
        name = UFUNC_OPS.get(ufunc.__name__, ufunc.__name__) if method == "__call__" else ""
        return _array_call(
            name or f"{ufunc.__name__}.{method}",
            getattr(ufunc, method),
            inputs,
            kwargs,
            pure=method == "__call__" and ufunc.__name__ in UFUNC_OPS,
        )

    def __array_function__(self, function: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        return _array_call(function.__name__, function, args, kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        _array_call("setitem", operator.setitem, (self, key, value), {})


def _binary(name: str, function: Callable, reflected: bool = False, pure: bool = True):
    if reflected:

        def op(self: Traced, other: Any) -> Any:
            return _array_call(name, function, (other, self), {}, pure=pure)

    else:

        def op(self: Traced, other: Any) -> Any:
            return _array_call(name, function, (self, other), {}, pure=pure)

    return op


def _unary(name: str, function: Callable):
    def op(self: Traced) -> Any:
        return _array_call(name, function, (self,), {}, pure=True)

    return op


BINARY_OPERATORS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "matmul": operator.matmul,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
}
OPERATOR_OPS = {"truediv": "div"}
"""Operator names that differ from the backend's (and the fusion generator's) op names."""

for _name, _function in BINARY_OPERATORS.items():
    _op = OPERATOR_OPS.get(_name, _name)
    setattr(Traced, f"__{_name}__", _binary(_op, _function))
    setattr(Traced, f"__r{_name}__", _binary(_op, _function, reflected=True))
    _inplace_function = getattr(operator, f"i{_name.rstrip('_')}")
    setattr(Traced, f"__i{_name}__", _binary(f"i{_name}", _inplace_function, pure=False))
for _name, _function in {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
    "getitem": operator.getitem,
}.items():
    setattr(Traced, f"__{_name}__", _binary(_name, _function))
for _name, _function in {
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": operator.abs,
    "invert": operator.invert,
}.items():
    setattr(Traced, f"__{_name}__", _unary(_name, _function))
del _name, _function, _op, _inplace_function

UFUNC_OPS = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "true_divide": "div",
    "divide": "div",
    "negative": "neg",
    "power": "pow",
    "exp": "exp",
    "log": "log",
    "log1p": "log1p",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "absolute": "abs",
    "sign": "sign",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "tanh": "tanh",
    "maximum": "maximum",
    "minimum": "minimum",
    "floor": "floor",
    "ceil": "ceil",
    "square": "square",
    "reciprocal": "reciprocal",
    "greater": "gt",
    "less": "lt",
    "greater_equal": "ge",
    "less_equal": "le",
    "equal": "eq",
    "not_equal": "ne",
    "logical_not": "logical_not",
    "logical_and": "logical_and",
    "logical_or": "logical_or",
}
"""NumPy ufuncs that are pure, by the backend op name they compute."""

PURE_ARRAY_METHODS = frozenset(
    {
        *("astype", "reshape", "transpose", "copy", "sum", "mean", "max", "min", "ravel"),
        *("flatten", "squeeze", "swapaxes", "conj", "dot", "prod", "cumsum", "round"),
        *("take", "repeat", "clip", "std", "var", "argmax", "argmin", "all", "any", "view"),
        *("cumprod", "diagonal", "trace", "nonzero_count"),
    }
)
"""Array methods that return a new value and write nothing."""

_ESCAPING_ATTRIBUTES = {
    "item": "Tensor.item() (data-dependent Python value)",
    "tolist": "Tensor.tolist() (data-dependent Python value)",
    "tobytes": "a tensor's bytes read in Python (data-dependent Python value)",
    "data": "a tensor's memory read directly (.data buffer)",
    "ctypes": "a tensor's memory handed to C directly (ctypes)",
    "data_ptr": "a tensor's memory address read",
    "__array_interface__": "a tensor's memory handed out (__array_interface__)",
    "__cuda_array_interface__": "a tensor's memory handed out (__cuda_array_interface__)",
    "__dlpack__": "a tensor's memory handed out (DLPack)",
    "get": "a CUDA tensor copied to the host (.get())",
}


# --- backend methods --------------------------------------------------------------------
PURE_BACKEND = frozenset(
    {
        *("neg", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "abs"),
        *("add", "sub", "mul", "div", "pow", "maximum", "minimum", "logaddexp", "where"),
        *("gt", "lt", "ge", "le", "eq", "ne", "logical_not", "logical_and", "logical_or"),
        *("logical_xor", "matmul", "reshape", "expand", "isnan", "isfinite", "astype"),
        *("copy", "ascontiguousarray", "rsqrt", "reciprocal", "erf", "relu", "clamp", "sign"),
        *("exp2", "log2", "log10", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh"),
        *("atanh", "atan2", "hypot", "fmax", "fmin", "floor", "ceil", "trunc", "round"),
        *("frac", "remainder", "fmod", "floor_divide", "isinf", "isposinf", "isneginf"),
        *("nan_to_num", "lerp", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"),
        *("isclose", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "sum", "mean"),
        *("prod", "amax", "amin", "var", "argmax", "argmin", "all", "any", "cumsum", "flip"),
        *("logsumexp", "softmax", "log_softmax", "prod_others", "sort", "topk", "cumprod"),
        *("logcumsumexp", "std", "nansum", "count_nonzero", "sum_to", "transpose", "mT"),
        *("permute", "squeeze", "unsqueeze", "cat", "stack", "getitem", "index_scatter"),
        *("gather", "gather_backward", "scatter", "scatter_add", "index_select"),
        *("index_select_backward", "index_fill", "masked_fill", "roll", "tril", "triu"),
        *("diagonal", "diagonal_backward", "diag_embed", "repeat", "zeros", "ones", "full"),
        *("empty", "zeros_like", "ones_like", "arange", "linspace", "eye", "sigmoid"),
        *("sigmoid_backward", "take_along_axis", "scatter_along", "scatter_add_along"),
        *("einsum", "einsum_pairs", "identity", "tril_weights", "narrow_half", "asarray"),
        *("from_data", "run_kernel", "square", "cumextreme", "median", "mode", "relu_backward"),
    }
)
"""Backend methods that return new values (or views) and write into nothing."""

QUERY_BACKEND = frozenset(
    {
        *("owns", "is_array", "shares_memory", "result_type", "broadcast_shapes"),
        *("dtype_of", "errstate", "quiet", "synchronize", "seed", "kernels_name"),
        *("use_kernels", "is_host_array", "is_host_scalar", "float32_mul", "integer_range"),
        *("mantissa_bits", "host_array", "internal_overlap"),
    }
)
"""Backend methods about metadata (or the device), never recorded."""

SPECULATED_BACKEND = frozenset({"first_out_of_range", "first_zero"})
"""Data-dependent searches a replay repeats and checks (``None``: nothing found)."""

BREAKING_BACKEND = {
    "allclose": "allclose() (data-dependent Python value)",
    "first_out_of_range": "an index checked against its bounds (data-dependent error check)",
    "first_zero": "a data-dependent search (first_zero)",
    "nonzero": "nonzero() (a data-dependent shape)",
    "unique": "unique() (a data-dependent shape)",
    "repeat_indices": "repeat_interleave with tensor repeats (a data-dependent shape)",
    "to_host": "a tensor's values copied to the host (.numpy(), .tolist(), printing)",
    "data_ptr": "a tensor's memory address read",
    "storage_offset": "a tensor's storage offset read",
}
"""Backend methods whose results depend on the data in a way a replay cannot repeat."""

GENERATOR_DRAWS = ("uniform", "normal", "exponential", "integers", "permutation")
GENERATOR_CALLS = ("sample_categories",)
GENERATOR_RESEEDS = ("manual_seed", "seed")


class GraphBreak(Exception):
    """Raised, with ``fullgraph=True``, where the trace meets something it cannot replay."""


def _break(reason: str) -> None:
    tracer = active()
    if tracer is not None:
        tracer.note_break(reason)


def _unwrap(value: Any) -> tuple[Any, bool]:
    """``value`` with every proxy replaced by its real array; and whether there was one."""
    kind = type(value)
    if kind is Traced:
        return value.real, True
    if kind is SymInt or kind is SymFloat:  # a traced size: its plain value (no guard:
        return plain(value), True  # the program's numbers are compared by ``_dynamic``)
    if kind is tuple or kind is list:
        found = False
        items = []
        for v in value:
            u, f = _unwrap(v)
            items.append(u)
            found = found or f
        return (kind(items) if found else value), found
    if kind is dict:
        found = False
        items = {}
        for k, v in value.items():
            u, f = _unwrap(v)
            items[k] = u
            found = found or f
        return (items if found else value), found
    if kind is slice:
        parts, found = _unwrap((value.start, value.stop, value.step))
        return (slice(*parts) if found else value), found
    return value, False


def _array_call(
    name: str, fn: Any, args: tuple, kwargs: dict, pure: bool = False, method: bool = False
) -> Any:
    tracer = active()
    if tracer is None or tracer.depth:
        real_args, _ = _unwrap(args)
        real_kwargs, _ = _unwrap(kwargs)
        if method:
            return getattr(real_args[0], fn)(*real_args[1:], **real_kwargs)
        return fn(*real_args, **real_kwargs)
    return tracer.call(name, fn, args, kwargs, pure=pure, method=method)


_array_types: dict[type, bool] = {}


def is_array_like(value: Any) -> bool:
    """Whether ``value`` is a device array or a NumPy scalar (what 0-d results become)."""
    kind = type(value)
    known = _array_types.get(kind)
    if known is None:
        known = _array_types[kind] = (
            not isinstance(value, type)
            and hasattr(value, "dtype")
            and hasattr(value, "shape")
            and hasattr(value, "ndim")
            and kind is not Traced
        )
    return known


class Tracer:
    """The program of one traced call, and the patches that record it."""

    def __init__(self, fullgraph: bool, symbolic: bool = False) -> None:
        self.fullgraph = fullgraph
        # ``dynamic``: traced tensors' sizes are ``SymInt`` recording their guards here
        self.sizes = Recorder() if symbolic else None
        self.program: list[Instruction] = []
        self.meta: list[tuple] = []  # per variable: shape, dtype, backend, NumPy scalar?
        self.depth = 0
        self.breaks: list[str] = []
        self.impure = False  # whether the program has written anything yet
        self._patched: list[tuple[Any, str, Any]] = []
        self.created: weakref.WeakSet = weakref.WeakSet()  # every proxy made, for cleanup

    # --- variables ------------------------------------------------------------------------
    def new_variable(self, real: Any, backend: Any = None) -> Traced:
        proxy = Traced(real, len(self.meta))
        self.created.add(proxy)
        scalar = backends.cpu.is_host_scalar(real)  # a NumPy scalar, not a 0-d array
        self.meta.append((tuple(real.shape), str(real.dtype), backend, scalar))
        return proxy

    def load(self, source: str, real: Any, backend: Any) -> Traced:
        """A program input: ``source`` (an expression over the replay's roots) read live."""
        proxy = self.new_variable(real, backend)
        self.program.append(Instruction("load", "load", None, (source,), {}, [(proxy.slot, ())]))
        return proxy

    def speculate(
        self,
        reason: str,
        name: str,
        fn: Any,
        args: tuple,
        expected: Any,
        backend: Any = None,
    ) -> Any:
        """A data-dependent answer the replay re-checks: ``fn(*args)`` (for ``bool``, the
        value ``expected``; for a backend search, whether it found nothing). The check,
        with the pure instructions it reads, is placed before the program's first write
        (``_hoist_check``), so that a replay whose answer differs has changed nothing and
        runs the call eagerly instead (``DIVERGED``); where it cannot be, the trace
        breaks."""
        if fn is bool:
            check = Instruction("check", name, fn, args, {}, pure=True, expected=expected)
            self.program.append(check)
            result = expected
        else:
            result = self.call(name, fn, args, {}, pure=True, backend=backend)
            instruction = self.program[-1]
            instruction.kind = "check"
            instruction.expected = result is None
        if self.impure and not self._hoist_check():
            self.note_break(reason)
        return result

    def _hoist_check(self) -> bool:
        """Move the last instruction (a check) and the pure instructions it depends on
        to just before the first write, when none of what they read can have been
        written in between (no argument of a write, nor anything it was computed from,
        nor memory a loaded array shares with one)."""
        program = self.program
        check_index = len(program) - 1
        first_write = next((i for i, ins in enumerate(program) if _writes(ins)), None)
        if first_write is None:
            return True
        producer: dict[int, int] = {}
        proxies: dict[int, Traced] = {}
        for i, instruction in enumerate(program):
            for slot, _ in instruction.outputs:
                producer[slot] = i
            for proxy in _proxies((instruction.args, instruction.kwargs)):
                proxies[proxy.slot] = proxy
        cone: set[int] = set()
        stack = [p.slot for p in _proxies(program[check_index].args)]
        read: set[int] = set(stack)
        while stack:
            index = producer.get(stack.pop())
            if index is None or index in cone or index == check_index:
                continue
            instruction = program[index]
            if index >= first_write and (
                instruction.kind != "call" or not instruction.pure or instruction.random
            ):
                return False
            cone.add(index)
            for proxy in _proxies((instruction.args, instruction.kwargs)):
                read.add(proxy.slot)
                stack.append(proxy.slot)
        written: set[int] = set()
        stack = []
        for instruction in program[first_write:check_index]:
            if _writes(instruction) and instruction.kind != "store":
                stack.extend(p.slot for p in _proxies((instruction.args, instruction.kwargs)))
        while stack:
            slot = stack.pop()
            if slot in written:
                continue
            written.add(slot)
            index = producer.get(slot)
            if index is not None:
                stack.extend(p.slot for p in _proxies((program[index].args, program[index].kwargs)))
        if read & written:
            return False
        loads = [proxies[s] for s in read if s in proxies and program[producer[s]].kind == "load"]
        targets = [proxies[s] for s in written if s in proxies]
        for a in loads:
            for b in targets:
                backend = self.meta[a.slot][2] or backends.cpu
                if backend.shares_memory(a.real, b.real):
                    return False
        moving = sorted(i for i in cone if i >= first_write) + [check_index]
        moved = [program[i] for i in moving]
        kept = [ins for i, ins in enumerate(program) if i not in set(moving)]
        program[:] = kept[:first_write] + moved + kept[first_write:]
        return True

    def note_break(self, reason: str) -> None:
        if reason not in self.breaks:
            self.breaks.append(reason)
        if self.fullgraph:
            raise GraphBreak(reason)

    # --- recording --------------------------------------------------------------------------
    def call(
        self,
        name: str,
        fn: Any,
        args: tuple,
        kwargs: dict,
        pure: bool = False,
        method: bool = False,
        random: bool = False,
        backend: Any = None,
    ) -> Any:
        real_args, found_args = _unwrap(args)
        real_kwargs, found_kwargs = _unwrap(kwargs)
        self.depth += 1
        try:
            if method:
                result = getattr(real_args[0], fn)(*real_args[1:], **real_kwargs)
            else:
                result = fn(*real_args, **real_kwargs)
        finally:
            self.depth -= 1
        instruction = Instruction("call", name, fn, _frozen(args), _frozen(kwargs), method=method)
        instruction.pure = pure
        instruction.random = random
        if random or not pure:
            self.impure = True
        found = _proxies((args, kwargs))
        inputs = {id(v.real): v for v in found}
        if backend is None and found:
            backend = self.meta[found[0].slot][2]
        wrapped = self._wrap_result(result, (), instruction, inputs, backend)
        self.program.append(instruction)
        return wrapped

    def _wrap_result(self, value: Any, path: tuple, instruction: Instruction, inputs, backend):
        if is_array_like(value):
            alias = inputs.get(id(value))
            if alias is not None and alias.real is value:
                return alias  # written in place and returned (``a += b``, ``assign``)
            proxy = self.new_variable(value, backend)
            instruction.outputs.append((proxy.slot, path))
            return proxy
        kind = type(value)
        if kind is tuple or kind is list:
            items = [
                self._wrap_result(v, (*path, i), instruction, inputs, backend)
                for i, v in enumerate(value)
            ]
            return kind(items) if kind is list else tuple(items)
        return value

    # --- patches ----------------------------------------------------------------------------
    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patched.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, replacement)

    def install(self, more_backends: list = ()) -> None:
        _local.tracer = self
        seen: set[int] = set()
        for backend in (*backends._backends.values(), *more_backends):
            if id(backend) not in seen:
                seen.add(id(backend))
                # The CPU's "auto" kernels choose their executor on the first fused call,
                # and choosing rebinds the backend's fused methods: choose before patching,
                # or the choice would overwrite the recorders in the middle of a trace.
                resolve = getattr(backend.kernels, "resolve", None)
                if resolve is not None:
                    resolve()
                self._patch_backend(backend)
        for name in (*GENERATOR_DRAWS, *GENERATOR_CALLS):
            self._patch(Generator, name, self._generator_recorder(name))
        for name in GENERATOR_RESEEDS:
            self._patch(Generator, name, self._reseed_recorder(name))
        self._patch(Generator, "get_state", self._state_breaker(Generator.get_state))
        self._patch(_random, "fresh_seed", _fresh_seed_breaker(_random.fresh_seed))
        self._patch(Tensor, "register_hook", self._hook_breaker(Tensor.register_hook))
        self._patch(Tensor, "__bool__", _tensor_bool(Tensor.__bool__))
        if self.sizes is not None:
            self._patch_sizes(self.sizes)

    def _patch_sizes(self, recorder: Recorder) -> None:
        """``dynamic``: a traced tensor's sizes answer as ``SymInt`` (``_symbolic``)."""
        original_shape = Tensor.shape
        original_size = Tensor.size
        original_numel = Tensor.numel
        original_len = Tensor.__len__

        def sizes(tensor: Any) -> tuple | None:
            data = tensor._data
            if type(data) is not Traced or active() is None:
                return None
            slot = data.slot
            return tuple(
                SymInt(n, f"_s{slot}_{axis}", recorder) for axis, n in enumerate(data.real.shape)
            )

        def shape(tensor: Any) -> Any:
            found = sizes(tensor)
            return original_shape.fget(tensor) if found is None else Size(found)

        def size(tensor: Any, dim: Any = None) -> Any:
            found = sizes(tensor)
            if found is None:
                return original_size(tensor, dim)
            return Size(found) if dim is None else found[dim]

        def numel(tensor: Any) -> Any:
            found = sizes(tensor)
            if found is None:
                return original_numel(tensor)
            return Size(found).numel()

        def length(tensor: Any) -> int:
            found = sizes(tensor)
            if found is None or not found:
                return original_len(tensor)
            return found[0].__index__()  # ``len`` makes it a plain int: the exact size

        shape.__doc__ = original_shape.__doc__
        self._patch(Tensor, "shape", property(shape, doc=original_shape.__doc__))
        for name, replacement, original in (
            ("size", size, original_size),
            ("numel", numel, original_numel),
            ("nelement", numel, Tensor.nelement),
            ("__len__", length, original_len),
        ):
            replacement.__doc__ = original.__doc__
            self._patch(Tensor, name, replacement)

    def uninstall(self) -> None:
        _local.tracer = None
        if self.sizes is not None:
            self.sizes.open = False
        for owner, name, original in reversed(self._patched):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._patched.clear()

    def _patch_backend(self, backend: Any) -> None:
        names = {n for n in dir(type(backend)) if not n.startswith("_")}
        names.update(n for n in backend.__dict__ if not n.startswith("_"))
        for name in sorted(names):
            if isinstance(getattr(type(backend), name, None), property):
                continue
            original = getattr(backend, name)
            if not callable(original) or isinstance(original, type):
                continue
            if name in QUERY_BACKEND:  # not recorded, but given real arrays (CuPy's
                # ``may_share_memory`` refuses anything else)
                self._patch(backend, name, _unwrapping(original))
                continue
            self._patch(backend, name, self._backend_recorder(backend, name, original))

    def _backend_recorder(self, backend: Any, name: str, original: Any) -> Callable:
        pure = name in PURE_BACKEND
        breaking = BREAKING_BACKEND.get(name)

        def record(*args: Any, **kwargs: Any) -> Any:
            tracer = active()
            if tracer is None or tracer.depth:
                real_args, _ = _unwrap(args)
                real_kwargs, _ = _unwrap(kwargs)
                return original(*real_args, **real_kwargs)
            if breaking is not None and _proxies((args, kwargs)):
                if name in SPECULATED_BACKEND:
                    return tracer.speculate(breaking, name, original, args, None, backend)
                tracer.note_break(breaking)
            result = tracer.call(name, original, args, kwargs, pure=pure, backend=backend)
            if (
                type(result) in (bool, int, float, complex)
                and breaking is None
                and _proxies((args, kwargs))
            ):
                tracer.note_break(f"backend.{name} returned a Python value computed from data")
            return result

        record.__name__ = name
        return record

    def _generator_recorder(self, name: str) -> Callable:
        original = getattr(Generator, name)

        def record(generator: Any, *args: Any) -> Any:
            tracer = active()
            if tracer is None or tracer.depth:
                real_args, _ = _unwrap(args)
                return original(generator, *real_args)
            bound = original.__get__(generator)
            backend = args[0] if args else None
            return tracer.call(f"random.{name}", bound, args, {}, random=True, backend=backend)

        return record

    def _reseed_recorder(self, name: str) -> Callable:
        """``manual_seed``/``seed`` of a generator: run, and replayed as they are."""
        original = getattr(Generator, name)

        def record(generator: Any, *args: Any) -> Any:
            tracer = active()
            if tracer is None or tracer.depth:
                return original(generator, *args)
            if _proxies(args):
                tracer.note_break("a generator seeded from tensor data")
            tracer.depth += 1
            try:
                result = original(generator, *args)
            finally:
                tracer.depth -= 1
            tracer.program.append(Instruction("eager", name, original, (generator, *args), {}))
            tracer.impure = True
            return result

        return record

    def _state_breaker(self, original: Callable) -> Callable:
        def get_state(generator: Any) -> Any:
            if active() is not None:
                _break("a generator's state read (get_state)")
            return original(generator)

        return get_state

    def _hook_breaker(self, original: Callable) -> Callable:
        def register_hook(tensor: Any, hook: Any) -> Any:
            if active() is not None:
                _break("Tensor.register_hook (a hook runs Python code during backward)")
            return original(tensor, hook)

        return register_hook


_MISSING = object()


def _unwrapping(original: Callable) -> Callable:
    """``original`` called with every proxy in its arguments replaced by its real array."""

    def call(*args: Any, **kwargs: Any) -> Any:
        real_args, _ = _unwrap(args)
        real_kwargs, _ = _unwrap(kwargs)
        return original(*real_args, **real_kwargs)

    call.__name__ = getattr(original, "__name__", "call")
    return call


def _proxies(value: Any) -> list[Traced]:
    found: list[Traced] = []
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is Traced:
            found.append(v)
        elif kind is tuple or kind is list:
            stack.extend(v)
        elif kind is dict:
            stack.extend(v.values())
        elif kind is slice:
            stack.extend((v.start, v.stop, v.step))
    return found


def _frozen(value: Any) -> Any:
    """``value`` with its lists and dicts copied, so that a caller changing them later
    does not change the recorded instruction."""
    kind = type(value)
    if kind is SymInt or kind is SymFloat:
        return plain(value)
    if kind is slice:
        return slice(_frozen(value.start), _frozen(value.stop), _frozen(value.step))
    if kind is tuple:
        return tuple(_frozen(v) for v in value)
    if kind is list:
        return [_frozen(v) for v in value]
    if kind is dict:
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _tensor_bool(original: Callable) -> Callable:
    """``bool(tensor)`` during a trace: the proxy's ``bool``, which the replay re-checks
    (``Tensor.__bool__`` reads ``.item()``, which would break the trace)."""

    def __bool__(tensor: Any) -> bool:  # noqa: N807 - the method it stands in for
        data = tensor._data
        if type(data) is Traced and data.real.size == 1 and active() is not None:
            return bool(data)
        return original(tensor)

    return __bool__


def _fresh_seed_breaker(original: Callable) -> Callable:
    def fresh_seed() -> int:
        if active() is not None:
            _break("a seed drawn from the operating system (gg.seed())")
        return original()

    return fresh_seed


def _writes(instruction: Instruction) -> bool:
    """Whether replaying ``instruction`` changes anything (arrays, tensors, a generator)."""
    if instruction.kind in ("store", "eager"):
        return True
    return instruction.kind == "call" and (not instruction.pure or instruction.random)
