"""From a trace to one generated Python function per signature: the guards, then the
straight-line program (``v0 = …; v1 = f3(v0, 2.0); …``) with its write-backs, then the
returned structure. Dead pure instructions are dropped first, and runs of elementwise
instructions go to the fused-kernel generator when one is installed (``_fusion``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import backends
from .._inplace import _record_write
from .._tensor import _wrap, _wrap_result
from ..backends import fp_errors
from ._dynamic import Sym, has_sym
from ._fusion import fuse
from ._render import Names, instruction_code, slots_in
from ._tracer import Instruction, Traced, _proxies, is_array_like

MISS = object()
"""What a generated entry returns when its guards do not hold."""

DIVERGED = object()
"""What it returns when a data-dependent check finds another answer than the trace did
(before the program wrote anything): the call then runs eagerly."""


def _bump(t: Any, writes: int) -> None:
    for _ in range(writes):
        _record_write(t)


@dataclass
class Generated:
    """A compiled signature: ``run(A, K)`` returns the result, or ``MISS``."""

    run: Any
    source: str
    instructions: int
    fused_kernels: int
    fused_instructions: int


def eliminate_dead(program: list[Instruction], output: Any) -> list[Instruction]:
    """Drop loads and pure, non-random calls whose results nothing uses."""
    used: set[int] = set()
    slots_in(output, used)
    kept: list[Instruction] = []
    for instruction in reversed(program):
        if instruction.kind == "check":
            slots_in((instruction.args, instruction.kwargs), used)
            kept.append(instruction)
            continue
        removable = instruction.kind in ("load", "const") or (
            instruction.kind == "call" and instruction.pure and not instruction.random
        )
        if removable and not any(slot in used for slot, _ in instruction.outputs):
            continue
        slots_in((instruction.args, instruction.kwargs), used)
        kept.append(instruction)
    kept.reverse()
    return kept


VIEW_OPS = frozenset(
    {
        *("reshape", "expand", "transpose", "mT", "T", "permute", "squeeze", "unsqueeze"),
        *("getitem", "astype", "asarray", "ascontiguousarray", "view", "diagonal", "ravel"),
        *("narrow_half", "flip", "sum_to", "copy"),
    }
)
"""Pure instructions whose result may share memory with an argument (``copy`` listed too:
the engine hands its result to ``.grad``, a place the user may write into)."""


UNIFORM_OPS = frozenset(
    {
        *("expand", "reshape", "neg", "add", "sub", "mul", "div", "abs", "astype", "copy"),
        *("ascontiguousarray", "ones", "zeros", "full", "ones_like", "zeros_like"),
    }
)
"""Correctly rounded (or exact) operations: on arguments whose elements are all equal
(one element broadcast, a Python number) every element of the result is the same."""


def _uniform_view(value: Any, backend: Any) -> Any:
    """``value`` (every element equal) as one element broadcast to its shape (strides 0):
    a constant that holds one element, which the fused kernels read once."""
    one = value.reshape(-1)[:1].copy().reshape((1,) * value.ndim)
    return backend.expand(one, value.shape)


def fold_constants(
    program: list[Instruction], output: Any, meta: list | None = None
) -> list[Instruction]:
    """Compute once the pure, non-random instructions that read no program variable (the
    seed gradient's ``ones`` and its reshape and broadcast …), and bind their values as
    constants: a ``"const"`` instruction at the start. A value is not folded when it, or
    a view of it, is written into, stored in a tensor or returned (the next replay would
    see it changed). A folded value whose elements are all equal by construction
    (``UNIFORM_OPS`` of one element: a mean's ``-expand(seed) / n``) is kept as one
    element broadcast (``meta``, the variables' backends, given), not as a full array."""
    folded: dict[int, bool] = {}  # slots computable now
    for instruction in program:
        if (
            instruction.kind == "call"
            and instruction.pure
            and not instruction.random
            and not instruction.method
            and all(p.slot in folded for p in _proxies((instruction.args, instruction.kwargs)))
            and instruction.outputs
            and not _holds_array((instruction.args, instruction.kwargs))
            and not has_sym((instruction.args, instruction.kwargs))
        ):
            for slot, _ in instruction.outputs:
                folded[slot] = True
    if not folded:
        return program
    tainted = dict.fromkeys(folded, True)
    escaped: set[int] = set()
    slots_in(output, escaped)
    for instruction in program:
        reads: set[int] = set()
        slots_in((instruction.args, instruction.kwargs), reads)
        hit = reads & tainted.keys()
        if not hit or (
            instruction.outputs and all(slot in folded for slot, _ in instruction.outputs)
        ):
            continue
        if instruction.kind != "call" or not instruction.pure or instruction.random:
            escaped |= hit
        elif instruction.name in VIEW_OPS or instruction.method:
            for slot, _ in instruction.outputs:
                tainted[slot] = True
    if escaped & tainted.keys():
        return program  # a folded value could be written or handed out: fold nothing
    constants: list[Instruction] = []
    values: dict[int, Any] = {}
    uniform: set[int] = set()  # folded slots whose elements are all equal
    kept: list[Instruction] = []
    token = fp_errors.set_state(fp_errors.IGNORE)
    try:
        for instruction in program:
            if not instruction.outputs or instruction.outputs[0][0] not in folded:
                kept.append(instruction)
                continue
            args = _substitute(instruction.args, values)
            kwargs = _substitute(instruction.kwargs, values)
            result = instruction.fn(*args, **kwargs)
            keeps_uniform = instruction.name in UNIFORM_OPS and all(
                p.slot in uniform for p in _proxies((instruction.args, instruction.kwargs))
            )
            for slot, path in instruction.outputs:
                value = result
                for i in path:
                    value = value[i]
                size = getattr(value, "size", None)
                if type(size) is int and (size == 1 or (keeps_uniform and not path)):
                    uniform.add(slot)
                    if size > 1 and meta is not None and not backends.cpu.is_host_scalar(value):
                        value = _uniform_view(value, meta[slot][2])
                values[slot] = value
                constants.append(Instruction("const", "const", None, (value,), {}, [(slot, ())]))
    except Exception:  # computing it now failed: leave the program as it was
        return program
    finally:
        fp_errors.reset_state(token)
    return constants + kept


def _holds_array(value: Any) -> bool:
    """Whether ``value`` holds an array constant (a tensor's array outside the trace,
    which may change between calls); NumPy scalars are values, not arrays."""
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is tuple or kind is list:
            stack.extend(v)
        elif kind is dict:
            stack.extend(v.values())
        elif kind is not Traced and is_array_like(v) and not backends.cpu.is_host_scalar(v):
            return True
    return False


def _substitute(value: Any, values: dict[int, Any]) -> Any:
    kind = type(value)
    if kind is Traced:
        return values[value.slot]
    if kind is tuple or kind is list:
        return kind(_substitute(v, values) for v in value)
    if kind is dict:
        return {k: _substitute(v, values) for k, v in value.items()}
    return value


def _output_code(template: Any, names: Names) -> str:
    kind = template[0]
    if kind == "source":
        return template[1]
    if kind == "new":
        _, data, backend, requires_grad, node = template
        if requires_grad and node is not None:
            return f"_R({names.render(data)}, {names.constant(backend)}, {names.constant(node)})"
        if requires_grad:
            return f"_L({names.render(data)}, {names.constant(backend)})"
        return f"_W({names.render(data)}, {names.constant(backend)})"
    if kind == "tuple":
        return "(" + "".join(_output_code(t, names) + ", " for t in template[1]) + ")"
    if kind == "list":
        return "[" + ", ".join(_output_code(t, names) for t in template[1]) + "]"
    if kind == "dict":
        items = ", ".join(
            f"{names.constant(k)}: {_output_code(t, names)}" for k, t in template[1].items()
        )
        return "{" + items + "}"
    value = template[1]
    if type(value) is Sym:  # a returned size, read at replay (a shared dynamic replay)
        return names.render(value)
    return names.constant(value)


def _leaf(data: Any, backend: Any) -> Any:
    t = _wrap(data, backend)
    t._requires_grad = True
    return t


def generate(
    program: list[Instruction],
    meta: list,
    output: Any,
    guards: list[str],
    guard_constants: dict[str, Any],
    eager_fn: Any = None,
    use_fusion: bool = True,
    autotune: bool = True,
    guard_locals: dict[str, str] | None = None,
) -> Generated:
    """The entry function of one signature. With ``eager_fn``, the entry only checks the
    guards and calls ``eager_fn`` (a signature that falls back to eager)."""
    guard_locals = guard_locals or {}
    namespace: dict[str, Any] = dict(guard_constants)
    namespace.update(
        _MISS=MISS,
        _DIVERGED=DIVERGED,
        _W=_wrap,
        _R=_wrap_result,
        _L=_leaf,
        _bump=_bump,
        _set=fp_errors.set_state,
        _reset=fp_errors.reset_state,
        _IGNORE=fp_errors.IGNORE,
        _FN=eager_fn,
    )
    names = Names(namespace)
    lines = ["def entry(A, K):", "    try:"]
    condition = " and ".join(f"({g})" for g in guards) or "True"
    lines.append(f"        if not ({condition}):")
    lines.append("            return _MISS")
    lines.append("    except Exception:")
    lines.append("        return _MISS")
    fused_kernels = fused_instructions = 0
    count = 0
    if eager_fn is not None:
        lines.append("    return _FN(*A, **K)")
    else:
        program = eliminate_dead(program, output)
        program = eliminate_dead(fold_constants(program, output, meta), output)
        if use_fusion:
            program, fused_kernels, fused_instructions = fuse(program, meta, output, autotune)
        count = len(program)
        lines.append("    _token = _set(_IGNORE)")
        lines.append("    try:")
        prologue = True
        for instruction in program:
            if instruction.kind not in ("load", "const"):
                prologue = False
            elif prologue and instruction.kind == "load" and instruction.args[0] in guard_locals:
                # the guards already read this array: ``t0d`` (see _discover.visit_tensor)
                ((slot, _),) = instruction.outputs
                lines.append(f"        v{slot} = {guard_locals[instruction.args[0]]}")
                continue
            lines.extend("        " + line for line in instruction_code(instruction, names))
        lines.append(f"        return {_output_code(output, names)}")
        lines.append("    finally:")
        lines.append("        _reset(_token)")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<gg.compile>", "exec"), namespace)  # noqa: S102 - our own code
    return Generated(namespace["entry"], source, count, fused_kernels, fused_instructions)
