"""One traced call: install the tracer, run the function on proxies, record the
write-backs its side effects need, and leave every tensor holding real arrays again."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from .._graph import FREED
from .._tensor import Tensor, version_owner
from . import _tracer
from ._discover import Discovery, discover
from ._symbolic import plain
from ._tracer import Instruction, Traced, Tracer


@dataclass
class _Tracked:
    """A reachable tensor at the start of a segment: what it held then."""

    tensor: Tensor
    source: str
    data: Any
    grad: Tensor | None
    version: int


@dataclass
class Trace:
    """A finished trace: the program, the output template, and why it cannot replay."""

    program: list[Instruction]
    meta: list
    output: Any = None
    breaks: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    size_guards: list[str] = field(default_factory=list)  # ``dynamic``: see ``_symbolic``


def _real(value: Any) -> Any:
    while type(value) is Traced:
        value = value.real
    return value


class TraceCall:
    """Runs ``fn(*args, **kwargs)`` under a tracer; ``result`` is its eager result."""

    def __init__(
        self,
        fn: Any,
        args: tuple,
        kwargs: dict,
        discovery: Discovery,
        fullgraph: bool,
        symbolic: bool = False,
    ):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.discovery = discovery
        self.tracer = Tracer(fullgraph, symbolic)
        self.tracked: list[_Tracked] = []
        self.new_grads: dict[int, Tensor] = {}  # grad tensors made in the trace, by id
        self.result: Any = None

    # --- segments ---------------------------------------------------------------------------
    def _start_segment(self, discovery: Discovery) -> None:
        self.tracked = []
        for t, source in discovery.tensors:
            data = _real(t._data)
            proxy = self.tracer.load(f"{source}._data", data, t._backend)
            t._data = proxy
            self.tracked.append(_Tracked(t, source, proxy, t._grad, t._version))

    def _emit(self, kind: str, target: str, value: Any = None, backend: Any = None) -> None:
        self.tracer.impure = True
        self.tracer.program.append(Instruction("store", kind, backend, (target, value), {}))

    def _end_segment(self) -> None:
        """Record the write-backs of the segment: data rebindings first, then version
        counters, then ``.grad`` rebindings (sources may read through an old ``.grad``)."""
        grads: list[tuple[str, Any]] = []
        bumped: set[int] = set()
        sources = {id(r.tensor): r.source for r in self.tracked}
        for r in self.tracked:
            t = r.tensor
            if t._data is not r.data:
                self._emit("data", r.source, t._data)
            owner = version_owner(t)
            delta = t._version - r.version
            if delta and id(owner) not in bumped:
                bumped.add(id(owner))
                self._emit("version", r.source, delta)
            grad = t._grad
            if grad is r.grad:
                continue
            if grad is None:
                grads.append((r.source, None))
            elif id(grad) in sources:
                grads.append((r.source, ("source", sources[id(grad)])))
            elif grad.grad_fn is not None or grad._requires_grad:
                self.tracer.note_break("a .grad that carries a graph (create_graph=True)")
            else:
                self.new_grads[id(grad)] = grad
                grads.append((r.source, ("new", grad._data, grad._backend)))
        for source, grad in grads:
            self._emit("grad", source, grad)

    def _unproxy(self) -> None:
        for r in self.tracked:
            t = r.tensor
            t._data = _real(t._data)
            if t._grad is not None:
                t._grad._data = _real(t._grad._data)
            if r.grad is not None:
                r.grad._data = _real(r.grad._data)

    def sync(self, eager: Any, owner: Any, args: tuple) -> Any:
        """An optimizer step (or another call replayed eagerly): close the segment, run
        the call on real arrays, then read every reachable tensor afresh."""
        if _tracer._proxies((args,)):
            self.tracer.note_break("a tensor passed to an optimizer or scheduler step")
        self._end_segment()
        self._unproxy()
        tracer = self.tracer
        tracer.depth += 1
        try:
            result = eager(owner, *args)
        finally:
            tracer.depth -= 1
        tracer.program.append(Instruction("eager", "eager", eager, (owner, *args), {}))
        tracer.impure = True
        self._start_segment(discover(self.fn, self.args, self.kwargs, with_guards=False))
        return result

    # --- the call ---------------------------------------------------------------------------
    def run(self) -> Trace:
        tracer = self.tracer
        _active_calls.append(self)
        tracer.install(self.discovery.backends)
        _install_sync_points(tracer)
        try:
            self._start_segment(self.discovery)
            result = self.fn(*self.args, **self.kwargs)
            if tracer.sizes is not None:
                result = plain(result)  # no traced size reaches the caller
            self._end_segment()
            output = self._output_template(result)
        except BaseException:
            self._cleanup(None)
            raise
        finally:
            tracer.uninstall()
            _active_calls.pop()
        self._cleanup(result)
        self.result = result
        guards = list(dict.fromkeys(tracer.sizes.guards)) if tracer.sizes is not None else []
        return Trace(tracer.program, tracer.meta, output, tracer.breaks, size_guards=guards)

    def _output_template(self, value: Any) -> Any:
        """The returned structure, with tensors as ``("tensor", …)`` recipes."""
        kind = type(value)
        if isinstance(value, Tensor):
            source = None
            for r in self.tracked:
                if r.tensor is value:
                    source = r.source
            if source is not None:
                return ("source", source)
            node = value.grad_fn
            if node is not None and not _graph_consumed(node):
                self.tracer.note_break(
                    "returns a tensor whose autograd graph is still live (call backward "
                    "inside the compiled function, or return .detach())"
                )
            return ("new", value._data, value._backend, value._requires_grad, node)
        if kind is tuple or kind is list:
            return (kind.__name__, [self._output_template(v) for v in value])
        if kind is dict:
            return ("dict", {k: self._output_template(v) for k, v in value.items()})
        if kind in (bool, int, float, str, type(None)):
            return ("const", value)
        if _tracer._proxies((value,)) or _holds_tensor(value):
            self.tracer.note_break("returns an object gg.compile cannot rebuild")
        return ("const", value)

    def _cleanup(self, result: Any) -> None:
        """Leave no proxy behind: in reachable tensors, the result, nodes of its graph, or
        anywhere else a tensor made in the trace was stored (found through the garbage
        collector's referrers; such a store breaks the trace, it would not replay)."""
        self._unproxy()
        for grad in self.new_grads.values():
            grad._data = _real(grad._data)
        allowed = {id(r.tensor) for r in self.tracked} | set(self.new_grads)
        allowed |= {id(t) for t in _tensors_in(result)}
        leftover = list(self.tracer.created)
        if not leftover:
            return
        reachable: set[int] | None = None
        for holder in gc.get_referrers(*leftover):
            if isinstance(holder, Tensor):
                if type(holder._data) is not Traced:
                    continue
                holder._data = _real(holder._data)
                if id(holder) in allowed:
                    continue
                if reachable is None:  # once: the tensors the roots reach after the call
                    after = discover(self.fn, self.args, self.kwargs, with_guards=False)
                    reachable = {id(t) for t, _ in after.tensors}
                if id(holder) in reachable:
                    self.tracer.breaks.append(
                        "the function stores a tensor it made where gg.compile cannot "
                        "replay it (a list, dict or attribute)"
                    )
            elif hasattr(holder, "out") and type(getattr(holder, "out", None)) is Traced:
                holder.out = _real(holder.out)


_active_calls: list[TraceCall] = []


def _graph_consumed(root: Any) -> bool:
    """Whether a backward inside the call freed a node of ``root``'s graph: a later
    ``backward()`` from it then raises before touching any leaf, as it would eagerly."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "saved", None) is FREED:
            return True
        for edge in getattr(node, "edges", ()) or ():
            stack.append(edge[0] if type(edge) is tuple else edge)
    return False


def _tensors_in(value: Any) -> list[Tensor]:
    out = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Tensor):
            out.append(v)
        elif type(v) in (tuple, list):
            stack.extend(v)
        elif type(v) is dict:
            stack.extend(v.values())
    return out


def _holds_tensor(value: Any) -> bool:
    state = getattr(value, "__dict__", None)
    return bool(state) and any(isinstance(v, Tensor) for v in state.values())


def _install_sync_points(tracer: Tracer) -> None:
    """Optimizer and learning-rate scheduler steps run eagerly at replay (their Python
    numbers change every step: Adam's bias correction reads its step count)."""
    from ..optim.lr_scheduler import LRScheduler
    from ..optim.optimizer import Optimizer

    for base in (Optimizer, LRScheduler):
        for cls in (base, *_subclasses(base)):
            if "step" in cls.__dict__:
                tracer._patch(cls, "step", _sync_point(cls.__dict__["step"]))


def _subclasses(cls: type) -> list[type]:
    found = []
    stack = list(cls.__subclasses__())
    while stack:
        c = stack.pop()
        found.append(c)
        stack.extend(c.__subclasses__())
    return found


def _sync_point(original: Any) -> Any:
    def step(self: Any, *args: Any) -> Any:
        if _tracer.active() is None or not _active_calls or _active_calls[-1].tracer.depth:
            return original(self, *args)
        return _active_calls[-1].sync(original, self, args)

    step.__name__ = "step"
    step.__doc__ = original.__doc__
    return step
