"""What a compiled function can reach, and the guards a replay needs.

Starting from the call's arguments, the function's closure cells and the globals its code
names (and, through them, helper functions, modules, optimizers, lists, dicts and plain
objects), find every tensor, together with a *source*: a Python expression over the
replay's roots (``A`` the positional arguments, ``K`` the keyword arguments, constants
``k0 k1 …``) that reads it live. The guards are Python expressions over the same roots
that hold exactly when a replay of the trace is the eager call: same shapes, dtypes,
devices, ``requires_grad``, ``.grad`` present or not, grad mode, and the same Python
numbers, strings and flags.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

from .._grad_mode import state as grad_state
from .._tensor import Tensor
from ..backends import ArrayBackend

_SCALARS = (bool, int, float, str, type(None))
_MAX_DEPTH = 6
_MAX_ITEMS = 256


@dataclass
class Discovery:
    """Tensors reachable from a call (each with its source), and the call's guards."""

    tensors: list[tuple[Tensor, str]] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)  # id(tensor) -> source
    guards: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    optimizers: list[Any] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    backends: list[Any] = field(default_factory=list)  # backend objects met on the way
    shapes: list[tuple] = field(default_factory=list)  # per tensor, as ``tensors``
    shape_guards: list[int] = field(default_factory=list)  # per tensor: its shape guard

    def dynamic_guards(self, dims: list[Any], same: list[tuple[Any, Any]]) -> list[str]:
        """The guards with the shape guards of ``dims`` (``_dynamic.Dim``) loosened to
        the rank, the other sizes and a size of 2 or more, and ``same`` pairs of dims
        required equal (sizes equal in both traces: one size, as PyTorch's duck sizing)."""
        guards = list(self.guards)
        for i, index in enumerate(self.shape_guards):
            axes = {d.axis for d in dims if d.tensor == i}
            if not axes:
                continue
            shape = self.shapes[i]
            parts = [f"len((t{i}d := t{i}._data).shape) == {len(shape)}"]
            parts += [f"t{i}d.shape[{a}] == {n}" for a, n in enumerate(shape) if a not in axes]
            parts += [f"t{i}d.shape[{a}] >= 2" for a in sorted(axes)]
            guards[index] = " and ".join(parts)
        guards += [f"{a.code} == {b.code}" for a, b in same]
        return guards

    def data_locals(self) -> dict[str, str]:
        """``"<source>._data"`` -> the guard local holding that array (``t0d``)."""
        return {f"{source}._data": f"t{i}d" for i, (_, source) in enumerate(self.tensors)}

    def constant(self, value: Any) -> str:
        """The name of ``value`` in the generated code's namespace."""
        for name, known in self.constants.items():
            if known is value:
                return name
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name


def code_names(code: types.CodeType) -> set[str]:
    """The global names ``code`` (and the code objects nested in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= code_names(const)
    return names


def discover(fn: Any, args: tuple, kwargs: dict, with_guards: bool = True) -> Discovery:
    """Walk everything ``fn(*args, **kwargs)`` can reach from its roots."""
    found = Discovery()
    walker = _Walker(found, with_guards)
    found.guards.append(f"len(A) == {len(args)}")
    found.guards.append(f"tuple(K) == {tuple(kwargs)!r}")
    found.guards.append(f"{found.constant(grad_state)}.enabled is {grad_state.enabled}")
    for i, value in enumerate(args):
        walker.visit(value, f"A[{i}]", 0)
    for key, value in kwargs.items():
        walker.visit(value, f"K[{key!r}]", 0)
    if isinstance(fn, types.MethodType):  # a bound method: its object is reachable too
        walker.visit(fn.__self__, f"{found.constant(fn)}.__self__", 0)
    walker.visit_function(fn, None, 0)
    return found


class _Walker:
    def __init__(self, found: Discovery, with_guards: bool) -> None:
        self.found = found
        self.with_guards = with_guards
        self.seen: dict[int, str] = {}
        self.keep: list[Any] = []  # visited objects stay alive while ids are compared

    def guard(self, expression: str) -> None:
        if self.with_guards:
            self.found.guards.append(expression)

    def visit_function(self, fn: Any, source: str | None, depth: int) -> None:
        code = getattr(fn, "__code__", None)
        if code is None or depth > _MAX_DEPTH:
            return
        globals_ = fn.__globals__
        if source is None:
            closure_root = self.found.constant(fn.__closure__ or ())
            globals_root = self.found.constant(globals_)
        else:
            closure_root = f"{source}.__closure__"
            globals_root = f"{source}.__globals__"
        for i, cell in enumerate(fn.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell (a name not bound yet)
                continue
            self.visit(value, f"{closure_root}[{i}].cell_contents", depth + 1)
        for i, value in enumerate(fn.__defaults__ or ()):
            self.visit(value, f"{self._function_source(fn, source)}.__defaults__[{i}]", depth + 1)
        for name, value in (fn.__kwdefaults__ or {}).items():
            kwdefaults = f"{self._function_source(fn, source)}.__kwdefaults__"
            self.visit(value, f"{kwdefaults}[{name!r}]", depth + 1)
        for name in sorted(code_names(code)):
            if name in globals_:
                self.visit(globals_[name], f"{globals_root}[{name!r}]", depth + 1)

    def _function_source(self, fn: Any, source: str | None) -> str:
        return self.found.constant(fn) if source is None else source

    def visit(self, value: Any, source: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        kind = type(value)
        if kind in _SCALARS:
            if value is None:  # ``NoneType`` is not a name the generated code knows
                self.guard(f"{source} is None")
            elif kind is float and value != value:  # nan never equals itself
                self.guard(f"type({source}) is float and {source} != {source}")
            else:
                self.guard(f"type({source}) is {kind.__name__} and {source} == {value!r}")
            return
        if isinstance(value, (types.ModuleType, type, types.BuiltinFunctionType)):
            return
        known = self.seen.get(id(value))
        if known is not None:
            if isinstance(value, Tensor):
                self.guard(f"{source} is {known}")
            return
        self.seen[id(value)] = source
        self.keep.append(value)
        if isinstance(value, Tensor):
            self.visit_tensor(value, source, depth)
            return
        from ..nn.modules.module import Module
        from ..optim.optimizer import Optimizer

        if isinstance(value, ArrayBackend):
            self.found.backends.append(value)
        elif isinstance(value, Module):
            self.visit_module(value, source, depth)
        elif isinstance(value, Optimizer):
            self.guard(f"{source} is {self.found.constant(value)}")
            self.found.optimizers.append(value)
            for g, group in enumerate(value.param_groups):
                for i, param in enumerate(group["params"]):
                    self.visit(param, f"{source}.param_groups[{g}]['params'][{i}]", depth + 1)
        elif kind is list or kind is tuple:
            self.guard(f"type({source}) is {kind.__name__} and len({source}) == {len(value)}")
            for i, item in enumerate(value[:_MAX_ITEMS]):
                self.visit(item, f"{source}[{i}]", depth + 1)
        elif kind is dict:
            keys = [k for k in value if type(k) in (str, int)][:_MAX_ITEMS]
            self.guard(f"type({source}) is dict and len({source}) == {len(value)}")
            for key in keys:
                self.guard(f"{key!r} in {source}")
                self.visit(value[key], f"{source}[{key!r}]", depth + 1)
        elif isinstance(value, types.FunctionType):
            self.guard(f"{source} is {self.found.constant(value)}")
            self.visit_function(value, source, depth + 1)
        elif isinstance(value, types.MethodType):
            self.visit(value.__self__, f"{source}.__self__", depth + 1)
            self.visit_function(value.__func__, f"{source}.__func__", depth + 1)
        elif hasattr(value, "__dict__") and not type(value).__module__.startswith("gpugrad"):
            for name, item in list(vars(value).items())[:_MAX_ITEMS]:
                if name.isidentifier() and not name.startswith("__"):
                    self.visit(item, f"{source}.{name}", depth + 1)

    def visit_tensor(self, t: Tensor, source: str, depth: int) -> None:
        """Guards on ``t``'s metadata, through a local of the generated code bound by the
        first guard (``(t0 := A[0])``), so each source is evaluated once per call."""
        found = self.found
        local = f"t{len(found.tensors)}"
        found.tensors.append((t, source))
        found.sources[id(t)] = source
        found.backends.append(t._backend)
        data = t._data
        self.guard(f"type({local} := {source}) is {found.constant(type(t))}")
        found.shapes.append(tuple(data.shape))
        if self.with_guards:
            found.shape_guards.append(len(found.guards))
        self.guard(f"({local}d := {local}._data).shape == {tuple(data.shape)!r}")
        self.guard(f"{local}d.dtype == {found.constant(data.dtype)}")
        self.guard(f"{local}._backend is {found.constant(t._backend)}")
        self.guard(f"{local}._requires_grad is {t._requires_grad}")
        self.guard(f"{local}.grad_fn is {'None' if t.grad_fn is None else 'not None'}")
        if t.grad_fn is not None and t._requires_grad:
            found.reasons.append(
                "an input tensor carries an autograd graph made outside the compiled "
                "function (pass it detached, or compile the code that makes it too)"
            )
        extra = t._extra
        if extra is not None and extra.hooks:
            found.reasons.append("a tensor with hooks (register_hook) is used")
        if t._grad is None:
            self.guard(f"{local}._grad is None")
        else:
            self.guard(f"{local}._grad is not None")
            self.visit(t._grad, f"{source}._grad", depth + 1)

    def visit_module(self, module: Any, source: str, depth: int) -> None:
        found = self.found
        self.guard(f"{source} is {found.constant(module)}")
        self.guard(f"{source}.training is {module.training}")
        state = module.__dict__
        if state.get("_forward_pre_hooks") or state.get("_forward_hooks"):
            found.reasons.append("a module with forward hooks is called")
        for table in ("_parameters", "_buffers"):
            for name, tensor in state.get(table, {}).items():
                if tensor is None:
                    self.guard(f"{source}.{table}[{name!r}] is None")
                else:
                    self.visit(tensor, f"{source}.{table}[{name!r}]", depth + 1)
        for name, child in state.get("_modules", {}).items():
            if child is not None:
                self.visit(child, f"{source}._modules[{name!r}]", depth + 1)
        for name, value in state.items():
            if not name.startswith("_") and name != "training" and type(value) in _SCALARS:
                self.visit(value, f"{source}.{name}", depth + 1)
