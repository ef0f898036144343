"""Graph nodes: what an op leaves behind so that its backward can run.

A ``Node`` is a tensor's ``grad_fn``. It holds the op's table entry, one edge per input
(the input's ``grad_fn``, its ``AccumulateGrad`` when it is a leaf, or ``None`` when no
gradient is needed), and the values its backward formula reads. Backward runs either on
raw arrays (the formulas get the backend as ``F``) or, for ``create_graph=True``, on
tensors (``F`` is gpugrad's functional namespace), so every formula is differentiable.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from . import _tensor
from ._tensor import Tensor, _wrap, _wrap_result, version_owner

Formula = Callable[..., Any]

SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


SAVE_NAMES = ("x", "y", "z", "o")
"""What a row may save, in this order: its inputs by position (``x``, ``y``, ``z``) and
its output ``o``."""


BASIC_SLICES = frozenset(
    (
        "SliceBackward0",
        "SelectBackward0",
        "SplitBackward0",
        "SplitWithSizesBackward0",
        "UnbindBackward0",
    )
)
"""Nodes of ``x[key]`` with a basic key (ints and slices), whose backward scatters the
gradient into zeros of the input's shape: ``split``, ``chunk``, ``unbind`` make several
(the engine adds their gradients into one buffer: ``Op.basic_slice``)."""


class Op:
    """One row of the derivative table: forward on arrays, one backward formula per input.

    A formula is ``formula(ns, grad, *saved, *attrs)``: ``ns`` is the backward namespace
    (the backend on raw arrays; ``gpugrad.ops.backward_ns`` on tensors, for
    ``create_graph``), then the values named in ``save`` and the static arguments named in
    ``attrs``. The names are a contract, checked here when the table is built: each
    formula's parameters after ``(ns, grad)`` must be exactly ``save + attrs``.

    ``composite`` holds the formulas run on tensors when they differ from ``grads`` (rows
    whose ``grads`` call fused kernels); ``splits`` marks a row with one formula that
    returns the gradients of all its inputs (``cat``, ``stack``).
    """

    __slots__ = (
        "name",
        "node_name",
        "forward",
        "grads",
        "composite",
        "save",
        "attrs",
        "save_inputs",
        "save_output",
        "broadcasts",
        "splits",
        "basic_slice",
    )

    def __init__(
        self,
        name: str,
        node_name: str,
        forward: Callable[..., Any] | None,
        grads: tuple[Formula | None, ...],
        *,
        save: tuple[str, ...] = (),
        attrs: tuple[str, ...] = (),
        broadcasts: bool = False,
        composite: tuple[Formula | None, ...] | None = None,
        splits: bool = False,
    ) -> None:
        if type(grads) is not tuple or (composite is not None and type(composite) is not tuple):
            raise TypeError(f"{node_name}: grads and composite must be tuples of formulas")
        order = [SAVE_NAMES.index(n) if n in SAVE_NAMES else -1 for n in save]
        if -1 in order or order != sorted(set(order)):
            raise TypeError(f"{node_name}: save={save!r} must name {SAVE_NAMES} in that order")
        self.name = name
        self.node_name = node_name
        self.forward = forward
        self.grads = grads
        self.composite = grads if composite is None else composite
        self.save = tuple(save)
        self.attrs = tuple(attrs)
        self.save_inputs = tuple("xyz".index(n) for n in save if n != "o")
        self.save_output = "o" in save
        self.broadcasts = broadcasts
        self.splits = splits
        self.basic_slice = node_name in BASIC_SLICES
        for formula in (*self.grads, *self.composite):
            if formula is not None:
                _check_contract(self, formula)

    def __repr__(self) -> str:
        return f"<Op {self.name} ({self.node_name})>"


def _check_contract(op: Op, formula: Formula) -> None:
    """``formula``'s parameters after ``(ns, grad)`` must be the row's ``save + attrs``."""
    params = list(inspect.signature(formula).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return
    names = [p.name for p in params[2:]]
    expected = [*op.save, *op.attrs]
    if names != expected:
        raise TypeError(
            f"{op.node_name}: formula {formula.__qualname__} takes {names} after (ns, grad), "
            f"but the row declares save={op.save} attrs={op.attrs}"
        )


class _Freed:
    __slots__ = ()


FREED = _Freed()


next_sequence = itertools.count().__next__
"""Numbers nodes in creation order. A node's inputs always come from earlier nodes, so
backward that runs the highest-numbered ready node first runs in a topological order."""


class InplaceClock:
    """Counts in-place writes. A node remembers the count at its creation, so backward
    checks its saved values only when some in-place write happened since (rarely)."""

    __slots__ = ("epoch",)

    def __init__(self) -> None:
        self.epoch = 0


clock = InplaceClock()


class AnomalyMode:
    """Whether backward checks every node's output for NaN (``detect_anomaly``), and the
    function that records a new node's creation stack while it does (``new_node`` calls
    it; ``gpugrad._anomaly`` sets it)."""

    __slots__ = ("enabled", "record_creation")

    def __init__(self) -> None:
        self.enabled = False
        self.record_creation: Callable[[Any], None] | None = None


anomaly = AnomalyMode()


class ModifiedOutput:
    """Stands for a node's saved output whose array an in-place op overwrote."""

    __slots__ = ("description", "version")

    def __init__(self, description: str, version: int) -> None:
        self.description = description
        self.version = version


def describe(t: Any) -> str:
    return f"[gpugrad.{t.dtype.name} {list(t._data.shape)}]"


def _modified_error(what: str, version: int, expected: int) -> RuntimeError:
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {what}, is at version {version}; expected version {expected} "
        "instead. Hint: the tensor was changed in place after the operation that saved it; "
        "use an out-of-place operation (x = x * 2 instead of x *= 2) or clone() it first."
    )


def check_saved_versions(node: Node) -> None:
    """Raise PyTorch's error when a value ``node`` saved was changed in place later."""
    if type(node.out) is ModifiedOutput:
        out = node.out
        raise _modified_error(
            f"{out.description}, which is output 0 of {node.name()}",
            out.version,
            out.version - 1,
        )
    for s in node.saved:
        if not isinstance(s, Tensor) or s._extra is None:
            continue
        counter = version_owner(s)._extra
        if counter is None:  # a view of a tensor that was never written in place
            continue
        since = counter.versions_since(node.epoch)
        if since:
            where = describe(s)
            if s.grad_fn is not None:
                where += f", which is output {s._output_nr} of {s.grad_fn.name()}"
            raise _modified_error(where, counter.version, counter.version - since)


_seeds = threading.local()


def set_unit_seeds(seeds: tuple[Any, ...]) -> None:
    """The gradients the running backward created itself as ones (``loss.backward()``)."""
    _seeds.unit = seeds


def is_unit_seed(grad: Any) -> bool:
    """Whether ``grad`` is a ones seed that nothing (no hook) has seen: a formula that has
    the gradient for a unit upstream gradient ready may then return it as it is."""
    return any(grad is seed for seed in getattr(_seeds, "unit", ()))


SAVED_ATTRIBUTES = {"self": "x", "other": "y", "exponent": "y", "result": "o"}
"""``Node._saved_<name>``: PyTorch's name of a saved value, and the row's ``save`` entry."""


class Node:
    """A ``grad_fn``: one recorded application of an ``Op``, made by ``new_node``."""

    __slots__ = (
        "op",
        "edges",
        "saved",
        "out",
        "attrs",
        "backend",
        "shapes",
        "casts",
        "pre_hooks",
        "epoch",
        "seq",
        "__weakref__",
    )

    n_outputs = 1

    def name(self) -> str:
        return self.op.node_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple[tuple[Node | None, int], ...]:
        return tuple(
            (None, 0) if e is None else e if type(e) is tuple else (e, 0) for e in self.edges
        )

    def _saved_value(self, name: str) -> Any:
        """PyTorch's saved-value attribute ``_saved_<name>`` (``SAVED_ATTRIBUTES``), for the
        values this node's derivative table row saves."""
        wanted = SAVED_ATTRIBUTES[name]
        if wanted == "y" and name == "exponent" and self.op.name != "pow":
            wanted = None
        if wanted is None or wanted not in self.op.save:
            raise AttributeError(f"'{self.name()}' object has no attribute '_saved_{name}'")
        if self.saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        if wanted == "o":
            return _wrap_result(self.out, self.backend, self)
        inputs = [n for n in self.op.save if n != "o"]
        return self.saved[inputs.index(wanted)]

    # Properties, not ``__getattr__``: a class with ``__getattr__`` loses the interpreter's
    # fast slot reads, and the engine reads a node's slots a dozen times per node.
    _saved_self = property(lambda self: self._saved_value("self"))
    _saved_other = property(lambda self: self._saved_value("other"))
    _saved_exponent = property(lambda self: self._saved_value("exponent"))
    _saved_result = property(lambda self: self._saved_value("result"))

    def __dir__(self) -> list[str]:
        """Without the ``_saved_*`` names, which most rows do not have (reading one raises
        ``AttributeError``); the names a row has are PyTorch's, read by name."""
        return [n for n in super().__dir__() if not n.startswith("_saved_")]

    def register_hook(self, hook: Callable[..., Any]) -> _tensor.RemovableHandle:
        """PyTorch's node hook: ``hook(grad_inputs, grad_outputs)`` after backward."""
        raise NotImplementedError("node hooks are not supported; use Tensor.register_hook")

    def apply(self, grad: Any, ns: Any, tensor_mode: bool, retain_graph: bool) -> list:
        """Gradients for each input edge, given the gradient of this node's output; ``ns``
        is the backward namespace (the backend, or the tensor namespace)."""
        op = self.op
        saved = self.saved
        if saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        if clock.epoch != self.epoch:
            check_saved_versions(self)
        if tensor_mode:
            formulas = op.composite
            args = saved
            if op.save_output:
                args += (_wrap_result(self.out, self.backend, self),)
        else:
            formulas = op.grads
            # Unrolled for one and two saved values and formulas: on Python 3.11 a
            # comprehension is a function call of its own, a tenth of a scalar op's cost.
            n_saved = len(saved)
            if n_saved == 0:
                args = ()
            elif n_saved == 1:
                s = saved[0]
                args = (s._data if isinstance(s, Tensor) else s,)
            elif n_saved == 2:
                s, t = saved
                args = (
                    s._data if isinstance(s, Tensor) else s,
                    t._data if isinstance(t, Tensor) else t,
                )
            else:
                args = tuple([s._data if isinstance(s, Tensor) else s for s in saved])
            if op.save_output:
                args += (self.out,)
        if self.attrs:
            args += self.attrs
        # Direct calls for the common argument counts: ``formula(ns, grad, *args)`` builds
        # a list and a tuple per call.
        n_args = len(args)
        n_formulas = len(formulas)
        if n_formulas == 1 and not op.splits:
            formula = formulas[0]
            if n_args == 1:
                grads = [formula(ns, grad, args[0])]
            elif n_args == 2:
                grads = [formula(ns, grad, args[0], args[1])]
            elif n_args == 0:
                grads = [formula(ns, grad)]
            else:
                grads = [formula(ns, grad, *args)]
        elif n_formulas == 2 and len(self.edges) == 2:
            first, second = self.edges
            if n_args == 0:
                grads = [
                    None if first is None else formulas[0](ns, grad),
                    None if second is None else formulas[1](ns, grad),
                ]
            elif n_args == 2:
                x, y = args
                grads = [
                    None if first is None else formulas[0](ns, grad, x, y),
                    None if second is None else formulas[1](ns, grad, x, y),
                ]
            else:
                grads = [
                    None if first is None else formulas[0](ns, grad, *args),
                    None if second is None else formulas[1](ns, grad, *args),
                ]
        elif n_formulas == 1:  # one formula for every input (``cat``, ``stack``)
            grads = [
                None if edge is None else g
                for g, edge in zip(formulas[0](ns, grad, *args), self.edges)
            ]
        else:
            grads = [
                None if edge is None else formula(ns, grad, *args)
                for formula, edge in zip(formulas, self.edges)
            ]
        if self.shapes is not None:
            for i, shape in enumerate(self.shapes):
                g = grads[i]
                if shape is not None and g is not None and g.shape != shape:
                    grads[i] = ns.sum_to(g, shape)
        if self.casts is not None:
            for i, dtype in enumerate(self.casts):
                if grads[i] is not None and dtype is not None:
                    grads[i] = ns.astype(grads[i], dtype)
        if not retain_graph and (saved or op.save_output):
            self.saved = FREED
            self.out = None
        return grads


def new_node(
    kind: type[Node],
    op: Op,
    edges: tuple,
    saved: tuple,
    out: Any,
    attrs: tuple,
    backend: Any,
    _next_sequence=next_sequence,  # bound once: no global lookups per node
    _clock=clock,
    _anomaly=anomaly,
) -> Any:
    """A node of class ``kind`` (``Node`` or a subclass): ``op`` applied to inputs that
    reach the graph through ``edges``, with the values its formulas read. A function
    rather than ``Node.__init__``: calling a class whose ``__init__`` is Python code goes
    through the slow generic call protocol, ~2,000 instructions more per op; and ``kind()``
    (no ``__init__`` anywhere in the hierarchy) costs ~400 fewer than ``object.__new__``."""
    node = kind()
    node.seq = _next_sequence()
    node.epoch = _clock.epoch
    node.op = op
    node.edges = edges
    node.saved = saved
    node.out = out
    node.attrs = attrs
    node.backend = backend
    node.shapes = None
    node.casts = None
    node.pre_hooks = None
    if _anomaly.enabled:
        _anomaly.record_creation(node)
    return node


_renamed_ops: dict[tuple[Op, str], Op] = {}


def named_node(result: Tensor, node_name: str, *inputs: Any) -> Tensor:
    """``result`` with its node shown under ``node_name``: PyTorch's name for an op that
    gpugrad composes from others (``Deg2RadBackward0`` for ``deg2rad``'s multiplication),
    or for an in-place form (``AsinhBackward1``). The formulas stay the row's own; one
    renamed copy of each row per name, made once. Nothing is renamed when ``result`` has
    no node of its own (no gradient, or the node of one of ``inputs``, returned as is)."""
    node = result.grad_fn
    if not isinstance(node, Node) or any(
        isinstance(t, Tensor) and t.grad_fn is node for t in inputs
    ):
        return result
    op = node.op
    if op.node_name != node_name:
        key = (op, node_name)
        renamed = _renamed_ops.get(key)
        if renamed is None:
            renamed = _renamed_ops[key] = copy.copy(op)
            renamed.node_name = node_name
        node.op = renamed
    return result


class SliceNode(Node):
    """The node of ``x[key]`` with a basic key (``Op.basic_slice``): a type of its own, so
    that the engine finds the slices whose gradients it may add into one buffer
    (``_engine._add_slice_into``) with one type check per node."""

    __slots__ = ()


class AccumulateGrad:
    """The node that ends every path at a leaf: adds the gradient into ``leaf.grad``.

    As in PyTorch, the graph holds the accumulator and the accumulator holds its leaf, while
    the leaf holds its accumulator only weakly (``edge_of``): no reference cycle, so a leaf
    is freed by reference counting as soon as neither the user nor a graph needs it."""

    __slots__ = ("variable", "__weakref__")

    edges = ()
    n_outputs = 1

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    next_functions = ()


def edge_of(t: Tensor) -> Any:
    """The node a gradient for ``t`` flows into, or ``None`` when ``t`` needs none."""
    if not t._requires_grad:
        return None
    node = t.grad_fn
    if node is not None:
        return node if t._output_nr == 0 else (node, t._output_nr)
    extra = t._extra
    if extra is None:
        extra = t._get_extra()
    alive = extra.accumulator
    accumulator = None if alive is None else alive()
    if accumulator is None:  # first use, or every graph that held the last one is gone
        accumulator = AccumulateGrad(t)
        extra.accumulator = weakref.ref(accumulator)
    return accumulator


def wrap_grad(grad: Any, backend: Any) -> Tensor:
    """A raw gradient array as a tensor, for hooks and custom functions."""
    return _wrap(grad, backend)
