"""Python source for recorded instructions: the constants they name, the variables they
read (``v0``, ``v1`` …), one or a few lines per instruction. Shared by the generated
replay (``_codegen``) and the fusion timing (``_fusion``)."""

from __future__ import annotations

import math
from typing import Any

from ._dynamic import Sym
from ._tracer import Instruction, Traced, _proxies


class Names:
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
        if kind is Sym:
            if value.cast is None:
                return value.code
            return f"{self.constant(value.cast)}({value.code})"
        if kind is tuple:
            return "(" + "".join(f"{self.render(v)}, " for v in value) + ")"
        if kind is list:
            return "[" + ", ".join(self.render(v) for v in value) + "]"
        if kind is dict and all(type(k) is str for k in value):
            return "{" + ", ".join(f"{k!r}: {self.render(v)}" for k, v in value.items()) + "}"
        if kind is slice and any(
            type(v) in (Traced, Sym) for v in (value.start, value.stop, value.step)
        ):
            return f"slice({self.render(value.start)}, {self.render(value.stop)}, " + (
                f"{self.render(value.step)})"
            )
        return self.constant(value)


def slots_in(value: Any, into: set[int]) -> None:
    """Add to ``into`` the slot of every proxy inside ``value`` (tuples, lists, dicts,
    slices)."""
    into.update(proxy.slot for proxy in _proxies(value))


def instruction_code(instruction: Instruction, names: Names) -> list[str]:
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
    if kind == "const":
        ((slot, _),) = instruction.outputs
        return [f"v{slot} = {names.constant(instruction.args[0])}"]
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
