"""Handing runs of elementwise instructions to the fused-kernel generator
(``backends/kernels/fusion.py``): each maximal run of consecutive pure elementwise
instructions with one result shape on one device (and the sums over all elements of its
values) becomes one ``ElementwiseProgram``, compiled once, called as one instruction.
Without the generator, or where it refuses a run (``FusionUnsupported``), the run stays
as it was."""

from __future__ import annotations

import time
import weakref
from typing import Any

from .. import backends
from ..backends import fp_errors
from ._dynamic import has_sym
from ._render import Names, instruction_code, slots_in
from ._tracer import Instruction, Traced

MIN_FUSED = 2
"""Fewest computing nodes worth a kernel call."""

_FUSIBLE_DTYPES = frozenset({"float32", "float64", "int64", "bool"})
_NAMES = {"truediv": "div", "clamp": "clip", "astype": "cast", "square": "square"}
_UNIFORM_ONLY = frozenset({"clip"})


def _op_name(instruction: Instruction, supported: frozenset[str]) -> str | None:
    name = _NAMES.get(instruction.name, instruction.name)
    if name == "cast" or name in supported:
        return name
    return None


def _number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int or kind is bool


def fuse(
    program: list[Instruction], meta: list, output: Any, autotune: bool = True
) -> tuple[list[Instruction], int, int]:
    """The program with fusible runs replaced by fused-kernel calls (with ``autotune``,
    only those that ran faster than the run they replace); the number of kernels made and
    of instructions they replaced."""
    try:
        from ..backends.kernels.fusion import (
            ElementwiseProgram,
            FusionUnsupported,
            compile_elementwise,
            fusion_supported_ops,
        )
    except ImportError:
        return program, 0, 0
    supported = fusion_supported_ops()
    used_after = _uses_after(program, output)
    constants = {i.outputs[0][0]: i.args[0] for i in program if i.kind == "const" and i.outputs}
    result: list[Instruction] = []
    kernels = replaced = 0
    i = 0
    while i < len(program):
        run = _run_from(program, i, meta, supported)
        if run is None:
            result.append(program[i])
            i += 1
            continue
        end, nodes, hoisted = run
        fused = None
        moved = [program[k] for k in hoisted]
        members = [program[k] for k in range(i, end) if k not in hoisted]
        if nodes >= MIN_FUSED:
            fused = _build(members, end, meta, supported, used_after, ElementwiseProgram)
        if fused is not None:
            backend, elementwise, inputs, outputs = fused
            passed = _read_uniform_once(inputs, meta, constants)
            try:
                kernel = compile_elementwise(backend, elementwise)
            except FusionUnsupported:
                kernel = None
            if kernel is not None and (not autotune or _faster(kernel, inputs, members, passed)):
                instruction = Instruction(
                    "call", "fused", kernel, tuple(passed), {}, outputs, pure=True
                )
                result.extend(moved)
                result.append(instruction)
                kernels += 1
                replaced += len(members)
                i = end
                continue
        result.extend(program[i:end])
        i = end
    return result, kernels, replaced


def _fusible(instruction: Instruction, meta: list, supported: frozenset[str]) -> str | None:
    if instruction.kind != "call" or not instruction.pure or instruction.random:
        return None
    if len(instruction.outputs) != 1 or instruction.outputs[0][1] != ():
        return None
    if has_sym((instruction.args, instruction.kwargs)):  # a number read from sizes
        return None
    name = _op_name(instruction, supported)
    if name is None:
        return None
    slot = instruction.outputs[0][0]
    if meta[slot][1] not in _FUSIBLE_DTYPES:
        return None
    return name


def _is_full_sum(instruction: Instruction, meta: list) -> bool:
    """``backend.sum(x)``/``mean(x)`` over every axis, not keeping them."""
    if instruction.kind != "call" or instruction.name not in ("sum", "mean"):
        return False
    if instruction.method or len(instruction.outputs) != 1 or instruction.kwargs:
        return False
    args = instruction.args
    if not args or type(args[0]) is not Traced:
        return False
    ndim = len(meta[args[0].slot][0])
    axis = args[1] if len(args) > 1 else None
    keepdim = args[2] if len(args) > 2 else False
    if len(args) > 3 and args[3] is not None:
        return False
    full = axis is None or (
        type(axis) is tuple and sorted(a % max(ndim, 1) for a in axis) == list(range(ndim))
    )
    return full and keepdim is False and meta[instruction.outputs[0][0]][0] == ()


def _run_from(program, start, meta, supported):
    """Where the run of fusible instructions starting at ``start`` ends, and how many
    elementwise nodes it holds; ``None`` when ``program[start]`` is not fusible."""
    first = program[start]
    if _fusible(first, meta, supported) is None:
        return None
    shape, _, backend, _ = meta[first.outputs[0][0]]
    defined: set[int] = set()
    summed: set[int] = set()  # the run's full sums: known only once the kernel has run
    hoisted: list[int] = []
    nodes = 0
    end = start
    while end < len(program):
        instruction = program[end]
        if _fusible(instruction, meta, supported) is not None:
            slot = instruction.outputs[0][0]
            if meta[slot][0] != shape or (meta[slot][2] not in (None, backend)):
                break
            if summed and _reads(instruction) & summed:
                break  # a sum of this run read elementwise: the next kernel's input
            defined.add(slot)
            nodes += 1
        elif _is_full_sum(instruction, meta) and instruction.args[0].slot in defined:
            summed.add(instruction.outputs[0][0])
        elif _hoistable(instruction, defined | summed):
            hoisted.append(end)
        else:
            break
        end += 1
    while hoisted and hoisted[-1] == end - 1:  # nothing after them to fuse: not hoisted
        hoisted.pop()
        end -= 1
    return end, nodes, hoisted


def _hoistable(instruction: Instruction, defined: set[int]) -> bool:
    """A pure instruction that reads nothing the run computes (the seed gradient of a
    backward, a reshape of a constant): it can run before the fused kernel."""
    if instruction.kind != "call" or not instruction.pure or instruction.random:
        return False
    return not (_reads(instruction) & defined)


def _reads(instruction: Instruction) -> set[int]:
    """The slots ``instruction`` reads."""
    reads: set[int] = set()
    slots_in((instruction.args, instruction.kwargs), reads)
    return reads


def _uses_after(program: list[Instruction], output: Any) -> list[set[int]]:
    """For each position, the slots read at or after it (or by the output)."""
    tail: set[int] = set()
    slots_in(output, tail)
    uses: list[set[int]] = [set()] * (len(program) + 1)
    uses[len(program)] = set(tail)
    for k in range(len(program) - 1, -1, -1):
        current = set(uses[k + 1])
        slots_in((program[k].args, program[k].kwargs), current)
        uses[k] = current
    return uses


def _build(run, end, meta, supported, used_after, program_type):
    """The ``ElementwiseProgram`` of ``run``: its backend, the program, the operands to
    pass, and the instruction outputs (slot, path) of the fused call."""
    inputs: list[Any] = []
    input_ids: dict[Any, int] = {}
    input_dtypes: list[str] = []
    nodes: list[tuple] = []
    ids: dict[int, int] = {}
    sums: list[tuple[int, int, str]] = []  # (slot, node id, kind)
    backend = None
    later = used_after[end]

    def input_id(value: Any) -> int | None:
        if type(value) is Traced:
            key = ("slot", value.slot)
            dtype = meta[value.slot][1]
        elif hasattr(value, "dtype") and hasattr(value, "shape") and not _number(value):
            key = ("const", id(value))
            dtype = str(value.dtype)
        else:
            return None
        if dtype not in _FUSIBLE_DTYPES:
            return None
        known = input_ids.get(key)
        if known is None:
            known = input_ids[key] = len(inputs)
            inputs.append(value)
            input_dtypes.append(dtype)
        return ("in", known)

    def operand(value: Any) -> Any:
        if type(value) is Traced and value.slot in ids:
            return ("node", ids[value.slot])
        if _number(value):
            nodes.append(("const", (), None, value))
            return ("node", len(nodes) - 1)
        return input_id(value)

    for instruction in run:
        slot = instruction.outputs[0][0]
        if instruction.name in ("sum", "mean") and _is_full_sum(instruction, meta):
            source = instruction.args[0].slot
            sums.append((slot, ids[source], instruction.name))
            continue
        name = _op_name(instruction, supported)
        dtype = meta[slot][1]
        if backend is None:
            backend = meta[slot][2]
        args = list(instruction.args)
        constant = None
        if name == "cast":
            args = args[:1]
        elif name == "clip":
            bounds = args[1:3] + [None] * (3 - len(args))
            bounds = [
                instruction.kwargs.get("min", bounds[0]),
                instruction.kwargs.get("max", bounds[1]),
            ]
            if all(b is None or _number(b) for b in bounds):
                args, constant = args[:1], tuple(bounds)
            else:
                return None
        elif instruction.kwargs:
            return None
        operands = [operand(a) for a in args]
        if any(o is None for o in operands):
            return None
        nodes.append((name, tuple(operands), dtype, constant))
        ids[slot] = len(nodes) - 1
    if backend is None:
        backend = backends.cpu
    # --- number the ids: inputs first, then the nodes in order ---------------------------
    n_inputs = len(inputs)

    def resolve(ref: tuple) -> int:
        kind, k = ref
        return k if kind == "in" else n_inputs + k

    final_nodes = []
    for name, operands, dtype, constant in nodes:
        if name == "const":
            final_nodes.append(("const", (), _const_dtype(constant), constant))
        else:
            final_nodes.append((name, tuple(resolve(o) for o in operands), dtype, constant))
    outputs: list[int] = []
    reductions: list[str | None] = []
    instruction_outputs: list[tuple[int, tuple]] = []
    for slot, node in ids.items():
        if slot in later:
            outputs.append(n_inputs + node)
            reductions.append(None)
            instruction_outputs.append((slot, _path(len(outputs) - 1, meta[slot])))
    for slot, node, kind in sums:
        if slot in later:
            outputs.append(n_inputs + node)
            reductions.append(kind)
            instruction_outputs.append((slot, _path(len(outputs) - 1, meta[slot])))
    if not outputs:
        return None
    elementwise = program_type(
        inputs=tuple(input_dtypes),
        nodes=tuple(final_nodes),
        outputs=tuple(outputs),
        reductions=tuple(reductions) if any(r is not None for r in reductions) else (),
    )
    return backend, elementwise, inputs, instruction_outputs


def _read_uniform_once(inputs: list[Any], meta: list, constants: dict[int, Any]) -> list[Any]:
    """The operands of a fused call: ``inputs`` with the constants broadcast from one
    element (strides 0: a folded uniform constant, see ``_codegen.fold_constants``;
    ``constants``, the program's ``"const"`` variables' values) passed as that one
    element, which the kernels read once, where the other inputs keep the broadcast shape
    (a kernel would copy a stride-0 array to a full one at every call)."""
    inputs = list(inputs)
    shapes = [meta[v.slot][0] if type(v) is Traced else tuple(v.shape) for v in inputs]
    for k, value in enumerate(inputs):
        if type(value) is Traced:
            value = constants.get(value.slot)
        strides = getattr(value, "strides", None)
        if strides is None or value.size <= 1 or any(strides):
            continue
        others = shapes[:k] + shapes[k + 1 :]
        try:
            if not others or _broadcast_shape(others) != shapes[k]:
                continue
        except ValueError:
            continue
        inputs[k] = value[tuple(slice(0, 1) for _ in value.shape)]
        shapes[k] = inputs[k].shape
    return inputs


def _const_dtype(value: Any) -> str:
    if type(value) is bool:
        return "bool"
    if type(value) is int:
        return "int64"
    return "float64"


def _path(k: int, slot_meta: tuple) -> tuple:
    """Output ``k`` of the kernel; a NumPy scalar where the eager op made one."""
    return (k, ()) if slot_meta[3] else (k,)


ROUNDS = 7
"""Timed calls of each form when choosing between a kernel and the run it replaces."""

MARGIN = 0.8
"""A kernel is kept when it took under this fraction of the plain run's time: timings on
a busy machine are noisy, and the plain run computes exactly what eager computes."""


TIMED_ELEMENTS = 1 << 16
"""Elements a kernel and its run are timed on: a larger run is timed on its leading rows
(at 10M elements, seven rounds of each form cost seconds, and a kernel that wins on
64K elements wins by more on memory-bound large arrays)."""


def _timing_values(inputs: list[Any]) -> list[Any]:
    """The inputs' values, cut to about ``TIMED_ELEMENTS`` elements along the leading
    axis of the broadcast shape where that keeps their broadcasting (every input with that
    axis a traced value, two rows at least); the whole values otherwise."""
    values = [x.real if type(x) is Traced else x for x in inputs]
    shapes = [tuple(v.shape) for v in values if hasattr(v, "shape")]
    try:
        shape = _broadcast_shape(shapes)
    except ValueError:
        return values
    n = 1
    for d in shape:
        n *= d
    if n <= TIMED_ELEMENTS or not shape:
        return values
    rows = shape[0] * TIMED_ELEMENTS // n
    if rows < 2:
        return values
    cut = []
    for v, x in zip(values, inputs):
        leading = hasattr(v, "shape") and len(v.shape) == len(shape) and v.shape[0] == shape[0]
        if leading and type(x) is not Traced:
            return values  # a constant the plain run reads whole: not cut
        cut.append(v[:rows] if leading else v)
    return cut


def _broadcast_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for s in shapes:
        for k, d in enumerate(s, ndim - len(s)):
            if d != 1:
                if result[k] not in (1, d):
                    raise ValueError("shapes do not broadcast")
                result[k] = d
    return tuple(result)


def _faster(
    kernel: Any, inputs: list[Any], members: list[Instruction], passed: list[Any] | None = None
) -> bool:
    """Whether the fused kernel beats the instructions it would replace, timed on the
    trace's own values (best of ``ROUNDS`` calls each, after a first call that builds the
    kernel; ``passed``: the kernel's operands where they differ from ``inputs``, see
    ``_read_uniform_once``). On small arrays a kernel call can cost more than the few NumPy calls it
    saves; on large ones it wins by passing over memory once (see ``MARGIN``)."""
    namespace: dict[str, Any] = {}
    names = Names(namespace)
    slots = [x.slot for x in inputs if type(x) is Traced]
    body = [line for m in members for line in instruction_code(m, names)]
    parameters = ", ".join(f"v{slot}" for slot in slots)
    source = f"def run({parameters}):\n" + "".join(f"    {line}\n" for line in body)
    source += "    return None\n"
    values = _timing_values(inputs)
    key = tuple((getattr(v, "shape", None), getattr(v, "dtype", type(v))) for v in values)
    try:
        verdicts = _verdicts.setdefault(kernel, {})
    except TypeError:  # a kernel that takes no weak reference: timed every time
        verdicts = {}
    verdict = verdicts.get(key)
    if verdict is None:
        kernel_values = values
        if passed is not None:
            kernel_values = [p if p is not x else v for v, x, p in zip(values, inputs, passed)]
        verdict = _timed_faster(kernel, source, namespace, values, inputs, kernel_values)
        if verdict is None:  # the timing failed: keep the plain run, do not remember
            return False
        verdicts[key] = verdict
    return verdict


_verdicts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per kernel (one elementwise program), the verdicts of ``_faster`` by the shapes and
dtypes timed (the run's slots are numbered anew in each trace):
a second signature of a step (its leaves now holding gradients) traces the same runs
again, and neither builds nor times them again."""


def _timed_faster(kernel, source, namespace, values, inputs, kernel_values=None):
    """The timing of ``_faster``; None where a call failed."""
    kernel_values = values if kernel_values is None else kernel_values
    exec(compile(source, "<gg.compile fusion timing>", "exec"), namespace)  # noqa: S102
    run = namespace["run"]
    plain = [v for v, x in zip(values, inputs) if type(x) is Traced]
    token = fp_errors.set_state(fp_errors.IGNORE)
    try:
        kernel(*kernel_values)
        run(*plain)
        fused_time = plain_time = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            kernel(*kernel_values)
            fused_time = min(fused_time, time.perf_counter() - start)
            start = time.perf_counter()
            run(*plain)
            plain_time = min(plain_time, time.perf_counter() - start)
    except Exception:  # the values of a later in-place write: keep the plain run
        return None
    finally:
        fp_errors.reset_state(token)
    return fused_time < MARGIN * plain_time
