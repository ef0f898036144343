"""From a trace to one generated Python function per signature: the guards, then the
straight-line program (``v0 = …; v1 = f3(v0, 2.0); …``) with its write-backs, then the
returned structure. Dead pure instructions are dropped first, and runs of elementwise
instructions go to the fused-kernel generator when one is installed (``_fusion``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._inplace import _record_write
from .._tensor import _wrap, _wrap_result
from ..backends import fp_errors
from ._fusion import fuse
from ._render import Names, instruction_code, slots_in
from ._tracer import Instruction

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
        removable = instruction.kind == "load" or (
            instruction.kind == "call" and instruction.pure and not instruction.random
        )
        if removable and not any(slot in used for slot, _ in instruction.outputs):
            continue
        slots_in((instruction.args, instruction.kwargs), used)
        kept.append(instruction)
    kept.reverse()
    return kept


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
    return names.constant(template[1])


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
        if use_fusion:
            program, fused_kernels, fused_instructions = fuse(program, meta, output, autotune)
        count = len(program)
        lines.append("    _token = _set(_IGNORE)")
        lines.append("    try:")
        prologue = True
        for instruction in program:
            if instruction.kind != "load":
                prologue = False
            elif prologue and instruction.args[0] in guard_locals:
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
