"""From a trace to one generated Python function per signature: the guards, then the
straight-line program (``v0 = …; v1 = f3(v0, 2.0); …``) with its write-backs, then the
returned structure. Dead pure instructions are dropped first, and runs of elementwise
instructions go to the fused-kernel generator when one is installed (``_fusion``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._inplace import _record_write
from .._tensor import _wrap, _wrap_result
from ..backends import fp_errors
from ._fusion import fuse
from ._tracer import Instruction, Traced

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


class _Names:
    """Constants of the generated code, named once each."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self._by_id: dict[int, str] = {}

    def constant(self, value: Any) -> str:
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str:
            return repr(value)
        if kind is float and math.isfinite(value):
            return repr(value)
        name = self._by_id.get(id(value))
        if name is None:
            name = self._by_id[id(value)] = f"c{len(self._by_id)}"
            self.namespace[name] = value
        return name

    def render(self, value: Any) -> str:
        kind = type(value)
        if kind is Traced:
            return f"v{value.slot}"
        if kind is tuple:
            return "(" + "".join(f"{self.render(v)}, " for v in value) + ")"
        if kind is list:
            return "[" + ", ".join(self.render(v) for v in value) + "]"
        if kind is dict and all(type(k) is str for k in value):
            return "{" + ", ".join(f"{k!r}: {self.render(v)}" for k, v in value.items()) + "}"
        if kind is slice and any(type(v) is Traced for v in (value.start, value.stop, value.step)):
            return f"slice({self.render(value.start)}, {self.render(value.stop)}, " + (
                f"{self.render(value.step)})"
            )
        return self.constant(value)


def _slots(value: Any, into: set[int]) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is Traced:
            into.add(v.slot)
        elif kind is tuple or kind is list:
            stack.extend(v)
        elif kind is dict:
            stack.extend(v.values())
        elif kind is slice:
            stack.extend((v.start, v.stop, v.step))


def eliminate_dead(program: list[Instruction], output: Any) -> list[Instruction]:
    """Drop loads and pure, non-random calls whose results nothing uses."""
    used: set[int] = set()
    _slots(output, used)
    kept: list[Instruction] = []
    for instruction in reversed(program):
        if instruction.kind == "check":
            _slots((instruction.args, instruction.kwargs), used)
            kept.append(instruction)
            continue
        removable = instruction.kind == "load" or (
            instruction.kind == "call" and instruction.pure and not instruction.random
        )
        if removable and not any(slot in used for slot, _ in instruction.outputs):
            continue
        _slots((instruction.args, instruction.kwargs), used)
        kept.append(instruction)
    kept.reverse()
    return kept


def _output_code(template: Any, names: _Names) -> str:
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
    names = _Names(namespace)
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
            lines.extend("        " + line for line in _instruction_code(instruction, names))
        lines.append(f"        return {_output_code(output, names)}")
        lines.append("    finally:")
        lines.append("        _reset(_token)")
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<gg.compile>", "exec"), namespace)  # noqa: S102 - our own code
    return Generated(namespace["entry"], source, count, fused_kernels, fused_instructions)


def _instruction_code(instruction: Instruction, names: _Names) -> list[str]:
    kind = instruction.kind
    if kind == "load":
        ((slot, _),) = instruction.outputs
        return [f"v{slot} = {instruction.args[0]}"]
    if kind == "store":
        target, value = instruction.args
        what = instruction.name
        if what == "data":
            return [f"{target}._data = {names.render(value)}"]
        if what == "version":
            return [f"_bump({target}, {value})"]
        if value is None:
            return [f"{target}._grad = None"]
        if value[0] == "source":
            return [f"{target}._grad = {value[1]}"]
        _, data, backend = value
        return [f"{target}._grad = _W({names.render(data)}, {names.constant(backend)})"]
    if kind == "check":
        rendered = ", ".join(names.render(a) for a in instruction.args)
        if instruction.fn is bool:
            return [f"if bool({rendered}) is not {instruction.expected}:", "    return _DIVERGED"]
        lines = [f"_t = {names.constant(instruction.fn)}({rendered})"]
        lines += [f"if (_t is None) is not {instruction.expected}:", "    return _DIVERGED"]
        for slot, path in instruction.outputs:
            lines.append(f"v{slot} = _t" + "".join(f"[{i}]" for i in path))
        return lines
    if kind == "eager":
        owner, *args = instruction.args
        rendered = "".join(f", {names.render(a)}" for a in args)
        return [f"{names.constant(instruction.fn)}({names.constant(owner)}{rendered})"]
    args = instruction.args
    keywords = [f"{k}={names.render(v)}" for k, v in instruction.kwargs.items()]
    if instruction.method:
        parts = ", ".join([names.render(a) for a in args[1:]] + keywords)
        call = f"{names.render(args[0])}.{instruction.fn}({parts})"
    else:
        parts = ", ".join([names.render(a) for a in args] + keywords)
        call = f"{names.constant(instruction.fn)}({parts})"
    outputs = instruction.outputs
    if not outputs:
        return [call]
    if len(outputs) == 1 and outputs[0][1] == ():
        return [f"v{outputs[0][0]} = {call}"]
    lines = [f"_t = {call}"]
    for slot, path in outputs:
        lines.append(f"v{slot} = _t" + "".join(f"[{i}]" for i in path))
    return lines
