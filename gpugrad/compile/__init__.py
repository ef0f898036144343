"""``gpugrad.compile``: trace a function once per signature, replay it as generated code.

``gg.compile(fn)`` returns a function with ``fn``'s results and side effects. Its first
call with a new *signature* (shapes, dtypes, devices, ``requires_grad``, grad mode, the
Python numbers it reads) runs ``fn`` eagerly while recording the array-level program: the
forward ops and the backward formulas the engine runs, the ``.grad`` writes, the in-place
updates. Later calls with that signature replay the program as one generated Python
function: no graph building, no engine loop, no per-op dispatch. What cannot be replayed
(``.item()``, ``bool(t)``, printing, data-dependent shapes, hooks) makes that signature
run eagerly, with a one-time warning naming the reason; ``fullgraph=True`` raises
``CompileError`` instead. ``explain(fn, *args)`` says what was captured and why not.

Optimizer and learning-rate scheduler ``step()`` calls inside the function are recorded
as eager calls: the replay runs the real ``step()`` between the captured segments (their
Python numbers, such as Adam's bias correction, change every step).
"""

from __future__ import annotations

import functools
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from ._codegen import DIVERGED, MISS, Generated, generate
from ._discover import Discovery, discover
from ._dynamic import Mismatch, changed_dims, size_guards_of, skeleton, unify
from ._trace_call import TraceCall
from . import _tracer
from ._tracer import GraphBreak

__all__ = ["CompileError", "CompiledFunction", "ExplainOutput", "compile", "config", "explain"]


class CompileError(RuntimeError):
    """``fullgraph=True`` met something the trace cannot replay (the message says what)."""


class _Config:
    """Settings of ``gpugrad.compile``: ``recompile_limit`` (signatures traced per
    function before it runs eagerly, as ``torch._dynamo.config.cache_size_limit``),
    ``fusion`` (hand elementwise runs to the fused-kernel generator when installed) and
    ``fusion_autotune`` (keep a kernel only where it beat the plain run it replaces, timed
    once on the trace's values; ``False`` keeps every kernel the generator makes)."""

    def __init__(self) -> None:
        self.recompile_limit = 8
        self.fusion = True
        self.fusion_autotune = True


config = _Config()

_BACKENDS = ("default", "eager")
_lock = threading.RLock()


@dataclass
class _Kept:
    """What a later trace of a ``dynamic`` function is compared with: a traced signature
    (its guards but for the shapes, its constants, its tensors' shapes) and its program
    without arrays (``_dynamic.skeleton``)."""

    guards: list[str]
    constants: dict[str, Any]
    shapes: list[tuple]
    program: tuple[list, Any, list[tuple]]  # instructions, output, variables' shapes
    size_guards: list[str]  # what Python code asked of the sizes (``_symbolic``)

    @staticmethod
    def of(trace: Any, found: Discovery) -> _Kept:
        return _Kept(
            _shapeless_guards(found),
            dict(found.constants),
            list(found.shapes),
            (skeleton(trace.program), skeleton(trace.output), _shapes(trace)),
            list(trace.size_guards),
        )

    def matches(self, other: _Kept) -> bool:
        if self.guards != other.guards or self.constants.keys() != other.constants.keys():
            return False
        return all(v is other.constants[k] for k, v in self.constants.items())


def _shapes(trace: Any) -> list[tuple]:
    return [variable[0] for variable in trace.meta]


def _shapeless_guards(found: Discovery) -> list[str]:
    guards = list(found.guards)
    for index in found.shape_guards:
        guards[index] = ""
    return guards


@dataclass
class _Entry:
    generated: Generated
    eager_reason: str | None = None
    breaks: list[str] = field(default_factory=list)
    kept: _Kept | None = None


def _generate(trace: Any, found: Any, program: Any = None, output: Any = None, guards=None):
    """The replay of a finished trace, with the current ``config`` (``program``,
    ``output`` and ``guards`` in place of the trace's and the discovery's: a dynamic
    replay)."""
    return generate(
        trace.program if program is None else program,
        trace.meta,
        trace.output if program is None else output,
        found.guards if guards is None else guards,
        found.constants,
        use_fusion=config.fusion,
        autotune=config.fusion_autotune,
        guard_locals=found.data_locals(),
    )


class CompiledFunction:
    """What ``gg.compile(fn)`` returns: call it as ``fn``. ``traces`` counts the calls
    traced, ``cache_size`` the signatures held, ``diverged`` the replays that met another
    data-dependent answer and ran eagerly, ``dynamic_reasons`` why size changes did not
    share a replay (``dynamic=True``)."""

    def __init__(self, fn: Any, fullgraph: bool, dynamic: bool | None, backend: str) -> None:
        self._fn = fn
        self.fullgraph = fullgraph
        self.dynamic = dynamic
        self.backend = backend
        self._entries: list[_Entry] = []
        self._traces = 0
        self._limit_hit = False
        self._warned: set[str] = set()
        self.diverged = 0  # replays that met another data-dependent answer and ran eagerly
        self.dynamic_reasons: list[str] = []  # why a size change was traced anew
        functools.update_wrapper(self, fn)

    @property
    def fn(self) -> Any:
        """The function being compiled."""
        return self._fn

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)

    def reset(self) -> None:
        """Forget every traced signature (the next calls trace again)."""
        with _lock:
            self._entries.clear()
            self.dynamic_reasons.clear()
            self._traces = 0
            self._limit_hit = False

    @property
    def traces(self) -> int:
        """The number of calls traced so far (since the last ``reset()``)."""
        return self._traces

    @property
    def cache_size(self) -> int:
        """The number of signatures held (traced, or marked to run eagerly)."""
        return len(self._entries)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.backend == "eager" or _tracer.active() is not None:
            return self._fn(*args, **kwargs)  # inside another trace: inlined into it
        for entry in self._entries:
            result = entry.generated.run(args, kwargs)
            if result is not MISS:
                if result is DIVERGED:
                    self.diverged += 1
                    return self._fn(*args, **kwargs)
                return result
        return self._miss(args, kwargs)

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, UserWarning, stacklevel=4)

    def _name(self) -> str:
        return getattr(self._fn, "__qualname__", None) or repr(self._fn)

    def _miss(self, args: tuple, kwargs: dict) -> Any:
        if self._limit_hit:
            return self._fn(*args, **kwargs)
        if self._traces >= config.recompile_limit:
            self._limit_hit = True
            self._warn(
                f"gg.compile: {self._name()} hit the recompile limit "
                f"({config.recompile_limit} signatures); new signatures run eagerly "
                "(raise gpugrad.compile.config.recompile_limit to trace more)"
            )
            return self._fn(*args, **kwargs)
        self._traces += 1
        with _lock:
            return self._trace(args, kwargs)

    def _fallback(self, found: Any, reason: str) -> None:
        generated = generate([], [], None, found.guards, found.constants, eager_fn=self._fn)
        self._entries.insert(0, _Entry(generated, eager_reason=reason))
        self._warn(f"gg.compile: {self._name()} runs eagerly for this signature: {reason}")

    def _trace(self, args: tuple, kwargs: dict) -> Any:
        found = discover(self._fn, args, kwargs)
        if found.reasons:
            if self.fullgraph:
                raise CompileError(f"gg.compile(fullgraph=True): {found.reasons[0]}")
            self._fallback(found, found.reasons[0])
            return self._fn(*args, **kwargs)
        symbolic = self.dynamic is not False
        call = TraceCall(self._fn, args, kwargs, found, self.fullgraph, symbolic)
        try:
            trace = call.run()
        except GraphBreak as error:
            raise CompileError(f"gg.compile(fullgraph=True): {error}") from None
        if trace.breaks:
            self._fallback(found, trace.breaks[0])
            return call.result
        kept = None if self.dynamic is False else _Kept.of(trace, found)
        if kept is None or not self._generalize(trace, found, kept):
            self._entries.insert(0, _Entry(_generate(trace, found), kept=kept))
        return call.result

    def _generalize(self, trace: Any, found: Discovery, kept: _Kept) -> bool:
        """``dynamic``: where this trace differs from a kept signature only in some sizes,
        replace that signature by one replay for every size of those dimensions
        (``_dynamic``); whether it did."""
        for entry in self._entries:
            if entry.kept is None or not entry.kept.matches(kept):
                continue
            dims = changed_dims(entry.kept.shapes, kept.shapes)
            if dims is None:
                continue
            try:
                program, output = unify(
                    entry.kept.program, trace.program, trace.output, _shapes(trace), dims
                )
                size_guards = size_guards_of(
                    entry.kept, kept, trace.program, found.data_locals(), dims
                )
            except Mismatch as why:
                reason = f"sizes {_sizes(dims, found)} kept one signature per shape: {why}"
                if reason not in self.dynamic_reasons:
                    self.dynamic_reasons.append(reason)
                continue  # another kept signature may share with this one
            representative: dict[tuple[int, int], Any] = {}
            same = []
            for d in dims:
                first = representative.setdefault((d.first, d.second), d)
                if first is not d:
                    same.append((d, first))
            guards = found.dynamic_guards(dims, same) + size_guards
            self._entries.remove(entry)
            self._entries.insert(0, _Entry(_generate(trace, found, program, output, guards)))
            return True
        return False


def _sizes(dims: list[Any], found: Discovery) -> str:
    """``A[0].shape[0] (32 then 17), …``: the changed sizes, by the tensors' sources."""
    return ", ".join(
        f"{found.tensors[d.tensor][1]}.shape[{d.axis}] ({d.first} then {d.second})" for d in dims
    )


def compile(  # noqa: A001 - PyTorch's name
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = False,
    backend: str = "default",
) -> Any:
    """Compile ``model`` (a function or a ``nn.Module``), as ``torch.compile``: the result
    traces each new signature once and replays it as generated code. Usable as
    ``@gg.compile`` and ``@gg.compile(fullgraph=True)``. ``fullgraph=True`` raises
    ``CompileError`` where eager fallback would happen. ``dynamic=False`` makes every new
    shape a new signature; ``dynamic=True`` or ``None`` (PyTorch's default, automatic:
    here the same) shares one replay among the sizes of the dimensions that change, once
    a second trace shows how the program depends on them (``_dynamic``; sizes 0 and 1
    specialize; ``explain`` says why a change could not be shared). ``backend`` is
    ``"default"`` or ``"eager"`` (no compilation)."""
    if backend not in _BACKENDS:
        raise ValueError(f"gg.compile: backend must be one of {_BACKENDS}, got {backend!r}")
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend)
    from ..nn.modules.module import Module

    if isinstance(model, Module):
        return _compiled_module(model, CompiledFunction(model.forward, fullgraph, dynamic, backend))
    if not callable(model):
        raise TypeError(f"gg.compile expects a callable or a Module, got {type(model).__name__}")
    return CompiledFunction(model, fullgraph, dynamic, backend)


def _compiled_module(module: Any, forward: CompiledFunction) -> Any:
    from ..nn.modules.module import Module

    class OptimizedModule(Module):
        """``module`` with its ``forward`` compiled (parameters are ``_orig_mod``'s)."""

        def __init__(self) -> None:
            super().__init__()
            self._orig_mod = module
            object.__setattr__(self, "_compiled_forward", forward)

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self._compiled_forward(*args, **kwargs)

    return OptimizedModule()


@dataclass
class ExplainOutput:
    """What ``explain`` found: whether the call was captured, the reasons it was not, and
    the size of the replayed program."""

    captured: bool
    break_reasons: list[str]
    instructions: int
    fused_kernels: int
    fused_instructions: int
    source: str
    dynamic_reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"captured: {self.captured}",
            f"graph breaks: {len(self.break_reasons)}",
            *(f"  - {reason}" for reason in self.break_reasons),
            f"instructions replayed: {self.instructions}",
            f"fused kernels: {self.fused_kernels} (replacing {self.fused_instructions} "
            "instructions)",
        ]
        if self.dynamic_reasons:
            lines.append("dynamic shapes not shared:")
            lines += [f"  - {reason}" for reason in self.dynamic_reasons]
        return "\n".join(lines)


def explain(fn: Any, *args: Any, **kwargs: Any) -> ExplainOutput:
    """Trace ``fn(*args, **kwargs)`` once (running it, with its side effects) and report
    what a compiled replay would be: captured or not, every break reason, the number of
    instructions and fused kernels, and the generated source (``.source``). For a
    compiled function, ``dynamic_reasons`` also says why its size changes so far were
    traced anew rather than sharing one replay (``dynamic=True``)."""
    dynamic_reasons = []
    if isinstance(fn, CompiledFunction):
        dynamic_reasons = list(fn.dynamic_reasons)
        fn = fn.fn
    found = discover(fn, args, kwargs)
    if found.reasons:
        fn(*args, **kwargs)
        return ExplainOutput(False, list(found.reasons), 0, 0, 0, "", dynamic_reasons)
    call = TraceCall(fn, args, kwargs, found, fullgraph=False)
    trace = call.run()
    if trace.breaks:
        return ExplainOutput(False, list(trace.breaks), 0, 0, 0, "", dynamic_reasons)
    generated = _generate(trace, found)
    return ExplainOutput(
        True,
        [],
        generated.instructions,
        generated.fused_kernels,
        generated.fused_instructions,
        generated.source,
        dynamic_reasons,
    )


def _register_module_compile() -> None:
    """Hand ``compile`` to ``nn.Module.compile`` (``nn`` sits below this package and
    cannot import it)."""
    from ..nn.modules import module

    module._compile = compile


_register_module_compile()

compile.explain = explain  # type: ignore[attr-defined]  (gg.compile.explain, gg.compile.config)
compile.config = config  # type: ignore[attr-defined]
compile.CompileError = CompileError  # type: ignore[attr-defined]
