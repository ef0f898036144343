"""``dynamic=True``: one replay for every size of the dimensions that change.

A trace bakes the sizes it met into its program (reshape targets, ``expand`` sizes, a
mean's divisor). When a call differs from a traced signature only in some dimensions of
its tensors (same ranks, the changed sizes 2 or more: 0 and 1 stay specialized, as in
PyTorch), the call is traced again and the two programs are compared instruction by
instruction (anti-unification): they must be the same program but for Python numbers,
and each number that differs must be the same function of the changed sizes in both
traces (``k * n + c`` with ``n`` a changed size or a product of two and ``c`` in -1..1;
as a float, one over it or ``n / (n - 1)``: fitting wider forms to two points would fit
``n // 2`` too). Those
numbers become ``Sym`` expressions the replay computes from its inputs' live shapes, and
the signature's shape guards keep only the rank and the unchanged sizes. A result that
kept its size along an axis whose size changed (a strided convolution's length,
``x[: n // 2]``) is refused too: that size is a function of the changed one that two
points cannot show. Anything else (a loop over a size, ``math.sqrt(n)``, an array whose
values depend on a size) keeps one signature per shape, and the ``Mismatch`` says what differed.
What values cannot show (a branch on ``n > 100`` taken the same way in both traces) the
sizes themselves record: during a dynamic trace they are ``_symbolic.SymInt``, which note
each question Python code asks of them; ``size_guards_of`` rewrites those over the
inputs' live sizes into guards of the shared replay (a size past the threshold misses it
and is traced anew).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .. import backends
from ._tracer import Instruction, Traced

_SCALAR_FIELDS = ("kind", "name", "method", "pure", "random", "expected")


class Sym:
    """A Python number of the program computed at replay from the inputs' sizes."""

    __slots__ = ("code", "cast")

    def __init__(self, code: str, cast: Any = None) -> None:
        self.code = code
        self.cast = cast  # a NumPy scalar type the number is made into, or None

    def __repr__(self) -> str:
        return f"Sym({self.code})"


@dataclass(frozen=True)
class Dim:
    """A changed dimension: axis ``axis`` of the ``tensor``-th tensor the call reaches,
    with its sizes in the first trace and in the second."""

    tensor: int
    axis: int
    first: int
    second: int

    @property
    def code(self) -> str:
        return f"t{self.tensor}d.shape[{self.axis}]"  # a local bound by the shape guards


class Slot:
    """A program variable in a kept skeleton (its array released)."""

    __slots__ = ("slot",)

    def __init__(self, slot: int) -> None:
        self.slot = slot


def skeleton(value: Any) -> Any:
    """``value`` (instructions, an output template) with every proxy replaced by its slot
    number, so that a kept program holds none of the trace's arrays."""
    kind = type(value)
    if kind is Traced:
        return Slot(value.slot)
    if kind is Instruction:
        copy = Instruction(value.kind, value.name, value.fn, skeleton(value.args), {})
        copy.kwargs = skeleton(value.kwargs)
        copy.outputs = list(value.outputs)
        for name in _SCALAR_FIELDS[2:]:
            setattr(copy, name, getattr(value, name))
        return copy
    if kind is tuple or kind is list:
        return kind(skeleton(v) for v in value)
    if kind is dict:
        return {k: skeleton(v) for k, v in value.items()}
    if kind is slice:
        return slice(skeleton(value.start), skeleton(value.stop), skeleton(value.step))
    return value


class Mismatch(Exception):
    """The two traces differ in a way no size expression explains (the message says
    where)."""


def changed_dims(first: list[tuple], second: list[tuple]) -> list[Dim] | None:
    """The dimensions whose sizes differ between two calls' tensor shapes (in discovery
    order), or ``None`` when the calls cannot share a replay: another number of tensors,
    another rank, a changed size that is 0 or 1 in either call, or nothing changed."""
    if len(first) != len(second):
        return None
    dims = []
    for i, (a, b) in enumerate(zip(first, second)):
        if len(a) != len(b):
            return None
        for axis, (x, y) in enumerate(zip(a, b)):
            if x != y:
                if min(x, y) < 2:
                    return None
                dims.append(Dim(i, axis, x, y))
    return dims or None


def _int_forms(dims: list[Dim]) -> list[tuple[str, Any, Any]]:
    """Candidate integer expressions: ``(code, value in the first trace, in the second)``."""
    forms = [(d.code, d.first, d.second) for d in dims]
    for i, d in enumerate(dims):
        for e in dims[i:]:
            forms.append((f"({d.code} * {e.code})", d.first * e.first, d.second * e.second))
    return forms


def _fit_int(a: int, b: int, dims: list[Dim]) -> str | None:
    """``k * size + offset`` (offset -1, 0 or 1: wider offsets would fit ``n // 2`` on two
    points) with ``size`` a changed size or a product of two, equal to ``a`` in the first
    trace and ``b`` in the second."""
    for code, x, y in _int_forms(dims):
        for offset in (0, -1, 1):
            k, rest = divmod(a - offset, x)
            if rest or not k or k * y + offset != b:
                continue
            term = code if k == 1 else f"({code} * {k})"
            return term if not offset else f"({term} + {offset})"
    return None


def _fit_float(a: float, b: float, dims: list[Dim]) -> str | None:
    """An integer form of ``_fit_int`` as a float, one over it, or over itself less one
    (an unbiased variance's correction, ``n / (n - 1)``), checked exactly at both
    traces."""
    candidates = []
    if a.is_integer() and b.is_integer():
        candidates.append(("float({})", int(a), int(b)))
    if a and b and math.isfinite(1.0 / a) and math.isfinite(1.0 / b):
        candidates.append(("(1.0 / {})", round(1.0 / a), round(1.0 / b)))
    if a != 1.0 and b != 1.0 and math.isfinite(a) and math.isfinite(b):
        candidates.append(("({0} / ({0} - 1))", round(a / (a - 1)), round(b / (b - 1))))
    for template, x, y in candidates:
        code = _fit_int(x, y, dims)
        if code is None:
            continue
        code = template.format(code)
        if _evaluate(code, dims, first=True) == a and _evaluate(code, dims, first=False) == b:
            return code
    return None


class _Shapes:
    """A guard local's stand-in for ``_evaluate``: ``.shape[axis]`` of the changed sizes."""

    def __init__(self) -> None:
        self.shape: dict[int, int] = {}


def _evaluate(code: str, dims: list[Dim], first: bool) -> Any:
    """The value of a size expression in the first trace or the second."""
    local: dict[str, _Shapes] = {}
    for d in dims:
        local.setdefault(f"t{d.tensor}d", _Shapes()).shape[d.axis] = d.first if first else d.second
    return eval(code, {"__builtins__": {}, "float": float}, local)  # noqa: S307 - our own code


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # an array compared elementwise, or a refusal: not the same
        return False


class _Unifier:
    def __init__(self, dims: list[Dim]) -> None:
        self.dims = dims

    def value(self, a: Any, b: Any, where: str) -> Any:
        kind = type(b)
        if kind is Traced:
            if type(a) is not Slot or a.slot != b.slot:
                raise Mismatch(f"{where}: another variable")
            return b
        if kind is not type(a):
            raise Mismatch(f"{where}: {a!r} then {b!r}")
        if kind is tuple or kind is list:
            if len(a) != len(b):
                raise Mismatch(f"{where}: {len(a)} items then {len(b)}")
            return kind(self.value(x, y, where) for x, y in zip(a, b))
        if kind is dict:
            if list(a) != list(b):
                raise Mismatch(f"{where}: other keywords")
            return {k: self.value(a[k], b[k], where) for k in b}
        if kind is slice:
            parts = (a.start, a.stop, a.step), (b.start, b.stop, b.step)
            return slice(*(self.value(x, y, where) for x, y in zip(*parts)))
        if kind is int or kind is float:
            if a == b and (kind is int or math.copysign(1, a) == math.copysign(1, b)):
                return b
            code = (_fit_int if kind is int else _fit_float)(a, b, self.dims)
            if code is None:
                raise Mismatch(f"{where}: the number {a!r} then {b!r}, no function of the sizes")
            return Sym(code)
        if _same(a, b):
            return b
        if backends.cpu.is_host_scalar(a) and backends.cpu.is_host_scalar(b):
            x, y = a.item(), b.item()  # a NumPy scalar: fit its value, made into its type
            if type(x) is type(y) and type(x) in (int, float):
                code = (_fit_int if type(x) is int else _fit_float)(x, y, self.dims)
                if code is not None:
                    return Sym(code, kind)
        raise Mismatch(f"{where}: {_describe(a)} then {_describe(b)}")

    def instruction(self, a: Instruction, b: Instruction, index: int) -> Instruction:
        where = f"instruction {index} ({b.name})"
        for name in _SCALAR_FIELDS:
            if getattr(a, name) != getattr(b, name):
                raise Mismatch(f"{where}: another {name}")
        if a.outputs != b.outputs or not (a.fn is b.fn or _same(a.fn, b.fn)):
            raise Mismatch(f"{where}: another operation")
        merged = Instruction(b.kind, b.name, b.fn, self.value(a.args, b.args, where), {})
        merged.kwargs = self.value(a.kwargs, b.kwargs, where)
        merged.outputs = b.outputs
        for name in _SCALAR_FIELDS[2:]:
            setattr(merged, name, getattr(b, name))
        return merged


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        return f"an array of shape {tuple(shape)}"
    return repr(value) if len(repr(value)) < 60 else type(value).__name__


def unify(
    first: tuple[list[Instruction], Any, list[tuple]],
    program: list[Instruction],
    output: Any,
    shapes: list[tuple],
    dims: list[Dim],
) -> tuple[list[Instruction], Any]:
    """The second trace's program and output with the numbers that differ from the first
    trace's (a skeleton, its output and its variables' shapes) replaced by ``Sym``
    expressions of ``dims``; ``Mismatch`` where no such program exists, or where a size
    computed from a changed size did not change (``collapsed_size``)."""
    kept_program, kept_output, kept_shapes = first
    if len(kept_program) != len(program):
        raise Mismatch(
            f"{len(kept_program)} instructions then {len(program)} (a loop or a branch on a size)"
        )
    unifier = _Unifier(dims)
    merged = [unifier.instruction(a, b, i) for i, (a, b) in enumerate(zip(kept_program, program))]
    result = merged, unifier.value(kept_output, output, "the returned value")
    collapse = collapsed_size(program, kept_shapes, shapes)
    if collapse is not None:
        raise Mismatch(collapse)
    return result


AXES_MOVING = frozenset(
    {
        *("matmul", "dot", "tensordot", "einsum", "einsum_pairs", "T", "mT", "transpose"),
        *("permute", "swapaxes", "moveaxis", "diagonal", "diagonal_backward", "diag_embed"),
        *("conv_backward_weight", "index_select_backward"),
    }
)
"""Operations whose result's axes are not their first argument's, axis by axis (a
weight's gradient has the weight's axes, not the output gradient's)."""


def collapsed_size(program: list[Instruction], first: list[tuple], second: list[tuple]):
    """Where an instruction's result kept a size along an axis whose size changed in its
    first argument (``first`` and ``second``: every variable's shape in each trace): a
    size computed from a changed size that came out the same in both traces (a strided
    convolution's length, ``x[: x.shape[0] // 2]``, ``min(n, 8)``), which a replay at
    a third size would get wrong. ``None`` where there is none."""
    for index, instruction in enumerate(program):
        if instruction.kind != "call" or instruction.name in AXES_MOVING:
            continue
        argument = next((a for a in instruction.args if type(a) is Traced), None)
        if argument is None:
            continue
        a1, a2 = first[argument.slot], second[argument.slot]
        for slot, _ in instruction.outputs:
            o1, o2 = first[slot], second[slot]
            if not (len(a1) == len(o1) == len(a2) == len(o2)):
                continue
            for axis in range(len(o1)):
                if a1[axis] != a2[axis] and o1[axis] == o2[axis] != 1:
                    return (
                        f"instruction {index} ({instruction.name}): a size computed from a "
                        f"changed size came out the same in both traces ({o1[axis]}; a "
                        "division or a threshold: a strided convolution, x.shape[0] // k)"
                    )
    return None


def has_sym(value: Any) -> bool:
    """Whether ``value`` (arguments: tuples, lists, dicts, slices) holds a ``Sym``."""
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is Sym:
            return True
        if kind is tuple or kind is list:
            stack.extend(v)
        elif kind is dict:
            stack.extend(v.values())
        elif kind is slice:
            stack.extend((v.start, v.stop, v.step))
    return False


_LEAF = re.compile(r"_s(\d+)_(\d+)")
"""A traced size in a recorded guard: ``_s<variable>_<axis>`` (``_symbolic``)."""


def size_guards_of(
    first: Any, second: Any, program: list[Instruction], data_locals: dict[str, str], dims
) -> list[str]:
    """The guards Python code's questions about sizes need in a replay shared by two
    traces (``first`` and ``second``: their ``_Kept``; ``program``: the second trace's,
    its loads first): each traced size rewritten over the inputs' live sizes (an input's
    own size read as it is; a computed variable's size as the function of the changed
    sizes its values in the two traces show, or its value where it did not change).
    ``Mismatch`` where the traces asked other questions or got other answers (a size
    seen exactly, as ``range(n)`` or a dict key sees it, differs between them)."""
    inputs: dict[int, str] = {}
    for instruction in program:
        if instruction.kind != "load":
            break
        local = data_locals.get(instruction.args[0])
        if local is not None:
            inputs[instruction.outputs[0][0]] = local
    first_shapes, second_shapes = first.program[2], second.program[2]

    def leaf(match: re.Match) -> str:
        slot, axis = int(match[1]), int(match[2])
        local = inputs.get(slot)
        if local is not None:
            return f"{local}.shape[{axis}]"
        try:
            a, b = first_shapes[slot][axis], second_shapes[slot][axis]
        except IndexError:  # a variable the two traces do not share
            raise Mismatch("a size the code read belongs to no shared variable") from None
        if a == b:
            return repr(a)
        code = _fit_int(a, b, dims)
        if code is None:
            raise Mismatch(f"a size the code read ({a} then {b}) is no function of the sizes")
        return code

    ours = [_LEAF.sub(leaf, guard) for guard in first.size_guards]
    theirs = [_LEAF.sub(leaf, guard) for guard in second.size_guards]
    if ours != theirs:
        where = next(
            (f"{a} then {b}" for a, b in zip(ours, theirs) if a != b),
            f"{len(ours)} questions then {len(theirs)}",
        )
        raise Mismatch(f"the code's questions about the sizes differ ({where})")
    return theirs
