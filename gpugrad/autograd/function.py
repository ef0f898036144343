"""Custom differentiable ops: ``class Exp(gg.autograd.Function)`` with ``forward(ctx, …)``
and ``backward(ctx, …)``, used as ``Exp.apply(x)``; the ``ctx`` is the op's graph node.

PyTorch 2's other style works too: ``forward(…)`` without ``ctx`` and a separate
``setup_context(ctx, inputs, output)`` that saves what ``backward`` needs."""

from __future__ import annotations

from typing import Any

from .._grad_mode import no_grad
from .._grad_mode import state as grad_state
from .._graph import FREED, SECOND_BACKWARD, edge_of, next_sequence, wrap_grad
from .._tensor import Size, Tensor, _wrap_result


class FunctionCtx:
    """The context a custom ``Function`` sees; also its node in the graph (``grad_fn``)."""

    n_outputs = 1
    pre_hooks = None

    def __init__(self, function: type[Function]) -> None:
        self.seq = next_sequence()
        self._function = function
        self._saved: Any = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.edges: tuple = ()
        self.materialize_grads = True

    def name(self) -> str:
        return getattr(self._function, "_node_name", None) or f"{self._function.__name__}Backward"

    def __repr__(self) -> str:
        if getattr(self._function, "_node_name", None):  # a built-in op's node (one_node)
            return f"<{self.name()} object at {id(self):#x}>"
        # PyTorch makes a class ``<Name>Backward`` in ``torch.autograd.function``.
        return f"<gpugrad.autograd.function.{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        return tuple(
            (None, 0) if e is None else e if type(e) is tuple else (e, 0) for e in self.edges
        )

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        if self._saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        return tuple(
            _wrap_result(s.data, self.backend, self, s.index) if type(s) is _SavedOutput else s
            for s in self._saved
        )

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self._non_differentiable = {id(t) for t in tensors}

    def apply(self, grad: Any, F: Any, tensor_mode: bool, retain_graph: bool) -> list:
        return self.apply_multi([grad], tensor_mode, retain_graph)

    def apply_multi(self, grads: list, tensor_mode: bool, retain_graph: bool) -> list:
        if self._saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        arguments = []
        for g, (shape, backend, dtype) in zip(grads, self._output_meta):
            if g is None and self.materialize_grads and backend is not None:
                zeros = backend.zeros(shape, dtype)
                arguments.append(wrap_grad(zeros, backend))
            else:
                arguments.append(g if tensor_mode or g is None else wrap_grad(g, backend))
        if tensor_mode:
            result = self._function.backward(self, *arguments)
        else:
            with no_grad():
                result = self._function.backward(self, *arguments)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self.edges)
        if len(result) != expected:
            if len(result) > expected and all(r is None for r in result[expected:]):
                result = result[:expected]
            else:
                raise RuntimeError(
                    f"function {self.name()} returned an incorrect number of gradients "
                    f"(expected {expected}, got {len(result)})"
                )
        out = []
        for i, (g, edge, meta) in enumerate(zip(result, self.edges, self._input_meta)):
            if edge is None or g is None:
                out.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"function {self.name()} returned a gradient at index {i} that is not a "
                    f"Tensor but {type(g).__name__}"
                )
            shape = meta[0]
            if g._data.shape != shape:
                if not _expandable(g._data.shape, shape):
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} - "
                        f"got {list(g._data.shape)} but expected shape compatible with "
                        f"{list(shape)}"
                    )
                g = g.sum_to_size(shape)
            out.append(g if tensor_mode else g._data)
        if not retain_graph and self._saved:
            self._saved = FREED
        return out


class _SavedOutput:
    """An output of ``forward`` that it saved for backward. It is rebuilt as an output of
    this node when unpacked (as PyTorch does), so a double backward flows through it; the
    node keeps only the array, never the output tensor (which would be a reference cycle)."""

    __slots__ = ("data", "index")

    def __init__(self, data: Any, index: int) -> None:
        self.data = data
        self.index = index


def _expandable(grad_shape: tuple, shape: tuple) -> bool:
    """True when ``grad_shape`` can be summed down to ``shape`` (broadcast-compatible)."""
    if len(grad_shape) < len(shape):
        return False
    tail = grad_shape[len(grad_shape) - len(shape) :]
    return all(n == m or n == 1 for n, m in zip(shape, tail))


class Function:
    """Base class for custom autograd ops (PyTorch's ``torch.autograd.Function``)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> Any:
        """Save what ``backward`` needs, when ``forward`` is written without ``ctx``
        (PyTorch 2's style): ``inputs`` are ``apply``'s arguments, ``output`` what
        ``forward`` returned."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement the backward function for custom Function.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = FunctionCtx(cls)
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = needs
        with no_grad():
            if cls.setup_context is Function.setup_context:
                outputs = cls.forward(ctx, *args, **kwargs)
            else:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
        if not (grad_state.enabled and any(needs)):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        ctx.edges = tuple(edge_of(a) if isinstance(a, Tensor) else None for a in args)
        ctx._input_meta = [(a._data.shape,) if isinstance(a, Tensor) else None for a in args]
        ctx._output_meta = []
        ctx.n_outputs = len(outs)
        ctx.backend = next(a._backend for a in args if isinstance(a, Tensor))
        skip = getattr(ctx, "_non_differentiable", set())
        results = []
        for i, o in enumerate(outs):
            if isinstance(o, Tensor):
                ctx._output_meta.append((o._data.shape, o._backend, o._data.dtype))
                if o._data.dtype.kind == "f" and id(o) not in skip:
                    o = _wrap_result(o._data, o._backend, ctx, i)
            else:
                ctx._output_meta.append(((), None, None))
            results.append(o)
        if ctx._saved:
            outputs_by_id = {
                id(o): _SavedOutput(o._data, i) for i, o in enumerate(outs) if isinstance(o, Tensor)
            }
            ctx._saved = tuple(outputs_by_id.get(id(s), s) for s in ctx._saved)
        return results[0] if single else tuple(results)


class _OneNode(Function):
    """``one_node``'s Function: ``compute`` runs unrecorded forward, and again recorded in
    backward, where the engine differentiates it."""

    @staticmethod
    def forward(ctx: FunctionCtx, compute: Any, *inputs: Tensor | None) -> Tensor:
        ctx.compute = compute
        ctx.save_for_backward(*inputs)
        return compute(*inputs)

    @staticmethod
    def backward(ctx: FunctionCtx, grad: Tensor) -> tuple:
        from .._engine import grad as differentiate
        from .._grad_mode import enable_grad

        create_graph = grad_state.enabled  # the engine records backward only for create_graph
        inputs = ctx.saved_tensors
        with enable_grad():
            if not create_graph:  # fresh leaves: nothing outside this call is recorded
                inputs = tuple(
                    None if x is None else x.detach().requires_grad_(needed)
                    for x, needed in zip(inputs, ctx.needs_input_grad)
                )
            wanted = [x for x, needed in zip(inputs, ctx.needs_input_grad) if needed]
            out = ctx.compute(*inputs)
            grads = iter(
                differentiate(out, wanted, grad, create_graph=create_graph, allow_unused=True)
            )
        return tuple(next(grads) if needed else None for needed in ctx.needs_input_grad)


_one_node_kinds: dict[str, type[Function]] = {}


def one_node(node_name: str, compute: Any, *inputs: Tensor | None) -> Tensor:
    """``compute(*inputs)`` recorded as ONE graph node named ``node_name``: for an op that
    gpugrad composes from other ops where PyTorch has a kernel of its own, so that
    ``grad_fn`` and ``next_functions`` read as PyTorch's (``EmbeddingBagBackward0`` with
    edges to ``weight`` and ``per_sample_weights``). Forward runs ``compute`` without
    recording; backward runs it again, recorded, and differentiates that: one extra forward
    per backward, and higher order works (with ``create_graph`` the recomputation is
    recorded on the real inputs)."""
    kind = _one_node_kinds.get(node_name)
    if kind is None:
        kind = _one_node_kinds[node_name] = type(node_name, (_OneNode,), {"_node_name": node_name})
    out = kind.apply(compute, *inputs)
    node = out.grad_fn
    if isinstance(node, FunctionCtx) and node._function is kind:  # ``compute`` is no input
        node.edges = node.edges[1:]
        node._input_meta = node._input_meta[1:]
        node.needs_input_grad = node.needs_input_grad[1:]
    return out


def once_differentiable(function: Any) -> Any:
    """Marks a backward that does not support double backward (kept for API parity)."""
    return function


__all__ = ["Function", "FunctionCtx", "Size", "once_differentiable"]
