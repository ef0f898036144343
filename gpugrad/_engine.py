"""The backward engine: iterative, so graph depth is bounded by memory, not the stack.

It counts, for every node reachable from the outputs, how many edges lead into it; a node
runs once all of them have delivered their gradient (summed), so each node runs once and
hooks see the total gradient, as in PyTorch.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

from ._engine_native import loop as _native_loop
from ._grad_mode import state as grad_state
from ._graph import (
    FREED,
    AccumulateGrad,
    Node,
    Op,
    SliceNode,
    anomaly,
    clock,
    edge_of,
    set_unit_seeds,
    wrap_grad,
)
from ._tensor import Size, Tensor
from .backends import fp_errors
from .ops import backward_ns


def _as_tuple(tensors: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    return (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)


def _root_grads(
    outputs: tuple[Tensor, ...], grad_outputs: Sequence[Any] | None, tensor_mode: bool
) -> list[Any]:
    grads = []
    seeds = []
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        given = None if grad_outputs is None else grad_outputs[i]
        if given is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind != "f":
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            data = out._data
            if data.ndim == 0 and out._backend.name == "numpy":
                grad = data.dtype.type(1)
            else:  # not ones_like(data): the seed depends on the output's shape, not values
                grad = out._backend.ones(data.shape, data.dtype)
            seeds.append(grad)
            grads.append(wrap_grad(grad, out._backend) if tensor_mode else grad)
            continue
        if not isinstance(given, Tensor):
            raise TypeError(f"gradient must be a Tensor or None, not {type(given).__name__}")
        if given._data.shape != out._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {Size(given._data.shape)} "
                f"and output[{i}] has a shape of {Size(out._data.shape)}."
            )
        if given._backend is not out._backend:
            raise RuntimeError(
                f"invalid gradient at index {i} - expected device {out.device} but got "
                f"{given.device}"
            )
        grads.append(given if tensor_mode else given._data)
    set_unit_seeds(() if tensor_mode else tuple(seeds))
    return grads


def _edge_node(edge: Any) -> Any:
    return edge[0] if type(edge) is tuple else edge


def _run_tensor_hooks(hooks: dict, grad: Any, backend: Any, tensor_mode: bool) -> Any:
    for hook in list(hooks.values()):
        result = hook(grad if tensor_mode else wrap_grad(grad, backend))
        if result is not None:
            if not isinstance(result, Tensor) or result._data.shape != grad.shape:
                raise RuntimeError(
                    "hook returned an invalid gradient: expected a tensor of shape "
                    f"{Size(grad.shape)}"
                )
            grad = result if tensor_mode else result._data
    return grad


_accumulate_lock = threading.Lock()
"""Serialises the read-add-write of a leaf's ``.grad``, so that backward passes running in
several threads at once (hogwild training of shared weights) lose no gradient, as in
PyTorch. One lock for all leaves, taken once per leaf per backward: uncontended on one
thread, it costs tens of nanoseconds."""


def _accumulate(t: Tensor, grad: Any, tensor_mode: bool, private: bool = False) -> None:
    """``t.grad += grad``, keeping ``t.grad`` a tensor of ``t``'s dtype that nothing else
    shares. ``private`` says the engine handed ``grad`` to no one else, so a first gradient
    that owns its memory is stored without a copy. Writes the private ``_grad`` slot:
    the engine's gradients need none of the checks a user's assignment gets."""
    if tensor_mode:
        if grad.dtype is not t.dtype:
            from .ops.transfer import to_dtype

            grad = to_dtype(grad, t.dtype)
        _accumulate_lock.acquire()
        try:
            current = t._grad
            t._grad = grad if current is None else current + grad
        finally:
            _accumulate_lock.release()
        return
    backend = t._backend
    dtype = t._data.dtype
    if grad.dtype is not dtype and grad.dtype != dtype:  # builtin dtypes are singletons
        grad = grad.astype(dtype)
    _accumulate_lock.acquire()  # cheaper than ``with`` on the hot path
    try:
        current = t._grad
        if current is None:
            if isinstance(grad, backend.array_type) and not (private and backend.owns(grad)):
                grad = backend.copy(grad)
            t._grad = wrap_grad(grad, backend)
        elif current.grad_fn is None and current._requires_grad is False:
            current._data = backend.assign(current._data, current._data + grad)
        else:
            t._grad = wrap_grad(current._data + grad, backend)
    finally:
        _accumulate_lock.release()


def execute(
    outputs: tuple[Tensor, ...],
    grads: list[Any],
    retain_graph: bool,
    create_graph: bool,
    accumulate_into: set[int] | None = None,
    capture: dict[Any, int] | None = None,
) -> list[Any] | None:
    """Run backward from ``outputs``. Leaves accumulate into ``.grad`` (only those whose id
    is in ``accumulate_into`` when it is given) unless ``capture`` maps nodes/edges to
    result slots, in which case gradients are returned and ``.grad`` is left alone."""
    tensor_mode = create_graph
    buffers: dict[Any, Any] = {}  # gradient waiting for each node reached so far
    owned: dict[Any, Any] = {}  # buffers made by slices' backward, free to add into in place
    ready: list[tuple[int, Any]] = []  # heap of (-sequence number, node): newest first
    leaves: dict[Any, None] = {}  # AccumulateGrad nodes reached, run last
    for out, grad in zip(outputs, grads):
        node = out.grad_fn
        if node is None:
            node = edge_of(out)
        current = buffers.get(node)
        if current is None:
            if type(node) is AccumulateGrad:
                leaves[node] = None
            else:
                heappush(ready, (-node.seq, node))
        if node.n_outputs == 1:
            buffers[node] = grad if current is None else current + grad
        else:
            _deliver(buffers, node, out._output_nr, grad)
    shared = set(map(id, grads))  # gradient arrays someone else also holds
    captured: list[Any] | None = None if capture is None else [None] * len(set(capture.values()))
    previous = grad_state.enabled
    grad_state.enabled = create_graph
    fp_token = fp_errors.set_state(fp_errors.IGNORE)  # formulas never warn: 1/0 is inf
    try:
        run_nodes = _native_loop(_configure_native) or _run_nodes
        run_nodes(
            buffers,
            owned,
            ready,
            leaves,
            shared,
            retain_graph,
            tensor_mode,
            capture,
            captured,
            backward_ns,
        )
        plain = accumulate_into is None and capture is None
        for node in leaves:
            grad = buffers.pop(node)
            t = node.variable
            if plain and (t._extra is None or not t._extra.hooks):  # the common case
                _accumulate(t, grad, tensor_mode, id(grad) not in shared)
                if post_accumulate_hooks:  # s7-topx
                    _run_post_accumulate_hooks(t)
                continue
            _finish_leaf(
                t,
                grad,
                tensor_mode,
                accumulate_into,
                capture,
                captured,
                node,
                id(grad) not in shared,
            )
            if (  # s7-topx
                post_accumulate_hooks
                and capture is None
                and (accumulate_into is None or id(t) in accumulate_into)
            ):
                _run_post_accumulate_hooks(t)
    finally:
        fp_errors.reset_state(fp_token)
        grad_state.enabled = previous
        set_unit_seeds(())
    return captured


def _run_nodes(
    buffers: dict,
    owned: dict,
    ready: list,
    leaves: dict,
    shared: set,
    retain_graph: bool,
    tensor_mode: bool,
    capture: dict | None,
    captured: list | None,
    tensor_namespace: Any,
) -> None:
    """Run every node reachable from the gradients waiting in ``buffers`` (the nodes in
    the heap ``ready``), newest first, each once its inputs have all arrived; the leaves
    reached are collected in ``leaves``. ``_engine_loop.c`` is this function in C (the
    same steps in the same order; keep them alike), the one that runs where it builds."""
    node = None  # the next node to run when it was handed on directly (see below)
    while True:
        if node is None:
            if not ready:
                break
            node = heappop(ready)[1]
            grad = buffers.pop(node)
            if owned:
                owned.pop(node, None)
        if node.pre_hooks is not None or capture is not None:
            if node.pre_hooks is not None:
                grad = _hooked(node, grad, shared, tensor_mode)
            if capture is not None:
                _capture_non_leaf(node, grad, capture, captured)
        slicing = False
        if node.n_outputs != 1:
            input_grads = node.apply_multi(grad, tensor_mode, retain_graph)
        elif tensor_mode:
            input_grads = node.apply(grad, tensor_namespace, True, retain_graph)
        else:
            if type(node) is SliceNode:
                if _add_slice_into(node, grad, buffers, owned):
                    node = None
                    continue
                slicing = True
            input_grads = node.apply(grad, node.backend, False, retain_graph)
        edges = node.edges
        if anomaly.enabled:
            from ._anomaly import check_backward_outputs

            check_backward_outputs(node, input_grads)
        node = None
        # One gradient to pass on (a unary op, a reduction, a binary op with one input
        # that needs none): when the node it goes to is reached for the first time and
        # is newer than every node waiting, it is the one the heap would hand out
        # next, so it runs next without the heap and the buffer (the order, hence
        # every value, is the heap's).
        n_grads = len(input_grads)
        if n_grads == 1:
            edge = edges[0]
            g = input_grads[0]
        elif n_grads == 2:
            g, g1 = input_grads
            if g is None:
                edge = edges[1]
                g = g1
            elif g1 is None:
                edge = edges[0]
            else:
                edge = None
                if g is g1:
                    shared.add(id(g))
        else:
            edge = None
            _note_repeats(input_grads, shared)
        if edge is not None:
            if g is None:
                continue
            if (
                type(edge) is not tuple
                and edge.n_outputs == 1
                and edge not in buffers
                and type(edge) is not AccumulateGrad
                and (not ready or -ready[0][0] < edge.seq)
            ):
                node = edge
                grad = g
                continue
        # The first node reached for the first time here waits in ``first`` instead
        # of the heap: if it is the only one and is newer than every node waiting, it
        # runs next, as above (several inputs: ``w * x + b``, ``y * log(p)``).
        first = first_grad = None
        for edge, g in zip(edges, input_grads):
            if edge is None or g is None:
                continue
            if edge is first:  # a second edge into it (``x * x``): summed in order
                first_grad = first_grad + g
                continue
            nr = 0
            if type(edge) is tuple:
                edge, nr = edge
            current = buffers.get(edge)
            if current is None:
                if type(edge) is AccumulateGrad:
                    leaves[edge] = None
                elif first is None and nr == 0 and edge.n_outputs == 1 and not slicing:
                    first = edge
                    first_grad = g
                    continue
                else:
                    heappush(ready, (-edge.seq, edge))
            if edge.n_outputs != 1:
                _deliver(buffers, edge, nr, g)
            else:
                buffers[edge] = g if current is None else current + g
                if slicing:  # a fresh array only this buffer holds
                    owned[edge] = buffers[edge]
        if first is not None:
            if not ready or -ready[0][0] < first.seq:
                node = first
                grad = first_grad
            else:
                heappush(ready, (-first.seq, first))
                buffers[first] = first_grad


def _add_slice_into(node: Node, grad: Any, buffers: dict, owned: dict) -> bool:
    """Add a basic slice's gradient into its input's waiting buffer in place, when an
    earlier slice made that buffer (so nothing else holds it): ``qkv.split(n)``'s backward
    then fills one array instead of three zero arrays and their sum. False: not possible
    here (the caller runs the node's formula)."""
    edge = node.edges[0]
    if edge is None or type(edge) is tuple or node.shapes is not None or node.casts is not None:
        return False
    current = buffers.get(edge)
    if current is None or owned.get(edge) is not current or anomaly.enabled:
        return False
    if getattr(grad, "dtype", None) != current.dtype:
        return False
    owned[edge] = buffers[edge] = node.backend.add_at_basic_key(current, node.attrs[1], grad)
    return True


def _note_repeats(grads: list, shared: set[int]) -> None:
    """Record gradient arrays handed to more than one input (``add`` passes ``g`` to both)."""
    seen: set[int] = set()
    for g in grads:
        if g is not None:
            if id(g) in seen:
                shared.add(id(g))
            seen.add(id(g))


def _deliver(buffers: dict, node: Any, nr: int, grad: Any) -> None:
    if node.n_outputs == 1:
        current = buffers.get(node)
        buffers[node] = grad if current is None else current + grad
        return
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * node.n_outputs
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad


# --- s7-topx: Tensor.register_post_accumulate_grad_hook ----------------------------------
post_accumulate_hooks: dict[int, dict] = {}
"""id of a leaf tensor -> {handle id: hook}: each ``hook(tensor)`` runs after a backward
accumulated into ``tensor.grad`` (empty: one truth test per leaf). An entry goes with its
tensor (``weakref.finalize``, set by the registration)."""


def _run_post_accumulate_hooks(t: Tensor) -> None:
    hooks = post_accumulate_hooks.get(id(t))
    if hooks:
        for hook in list(hooks.values()):
            hook(t)


# --- end s7-topx ---


def _hooked(node: Node, grad: Any, shared: set[int], tensor_mode: bool = False) -> Any:
    """``grad`` after ``node``'s pre-hooks (tensor hooks, ``retain_grad``) ran on it."""
    set_unit_seeds(())  # a hook may have changed the seed in place
    grad = _run_pre_hooks(node, grad, tensor_mode)
    shared.add(id(grad))
    return grad


def _check_outputs(node: Any, grads: list) -> None:
    """Anomaly mode's check of a node's gradients (NaN, wrong shapes)."""
    from ._anomaly import check_backward_outputs

    check_backward_outputs(node, grads)


_NODE_APPLY = Node.__dict__["apply"]
"""``Node.apply`` as gpugrad defines it: the C loop stands in for it only while a node's
class still has it (a test or a profiler that wraps it sees every call)."""


def _configure_native(module: Any) -> None:
    """Hand the C loop the classes it recognises and the Python it calls for rare cases."""
    from .ops.dispatch import FirstArgumentNode, SecondArgumentNode

    module.configure(
        (Node, FirstArgumentNode, SecondArgumentNode, SliceNode, AccumulateGrad, Op, Tensor),
        (FREED, clock, anomaly, _NODE_APPLY),
        sys.modules[__name__],  # _hooked, _add_slice_into, _deliver, _note_repeats, _check_outputs
    )


def _run_pre_hooks(node: Node, grad: Any, tensor_mode: bool) -> Any:
    multi = node.n_outputs != 1
    for nr, hooks in node.pre_hooks.items():
        g = grad[nr] if multi else grad
        if g is None:
            continue
        if hooks.hooks:
            g = _run_tensor_hooks(hooks.hooks, g, node.backend, tensor_mode)
        if hooks.retained is not None:
            tensor = hooks.retained()
            if tensor is not None:
                _accumulate(tensor, g, tensor_mode)
        if multi:
            grad[nr] = g
        else:
            grad = g
    return grad


def _capture_non_leaf(node: Any, grad: Any, capture: dict, captured: list) -> None:
    if node.n_outputs == 1:
        slot = capture.get((node, 0))
        if slot is not None:
            captured[slot] = grad
        return
    for nr, g in enumerate(grad):
        slot = capture.get((node, nr))
        if slot is not None and g is not None:
            captured[slot] = g


def _finish_leaf(t, grad, tensor_mode, accumulate_into, capture, captured, node, private) -> None:
    extra = t._extra
    if extra is not None and extra.hooks:
        grad = _run_tensor_hooks(extra.hooks, grad, t._backend, tensor_mode)
        private = False
    if capture is not None:
        slot = capture.get((node, 0))
        if slot is not None:
            captured[slot] = grad
        return
    if accumulate_into is None or id(t) in accumulate_into:
        _accumulate(t, grad, tensor_mode, private)


def backward(
    tensors: Sequence[Tensor],
    grad_tensors: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | Tensor | None = None,
) -> None:
    """Accumulate into the leaves' ``.grad`` the gradients of ``tensors`` (weighted by
    ``grad_tensors`` for non-scalar ones), as ``torch.autograd.backward``; ``inputs`` limits
    which leaves receive them."""
    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_grads(outputs, grad_tensors, create_graph)
    accumulate_into = None
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        accumulate_into = set()
        for t in inputs:
            if t.grad_fn is not None:
                t.retain_grad()
            accumulate_into.add(id(t))
    execute(outputs, grads, retain_graph, create_graph, accumulate_into=accumulate_into)


def grad(
    outputs: Sequence[Tensor] | Tensor,
    inputs: Sequence[Tensor] | Tensor,
    grad_outputs: Sequence[Any] | Any | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    ``only_inputs`` is accepted and ignored, as in PyTorch (where it is deprecated: only
    the inputs' gradients are ever computed); ``is_grads_batched=True`` is not supported."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    capture: dict[Any, int] = {}
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        edge = edge_of(t)
        capture[edge if type(edge) is tuple else (edge, 0)] = i
    grads = _root_grads(outputs, grad_outputs, create_graph)
    captured = execute(outputs, grads, retain_graph, create_graph, capture=capture)
    result: list[Tensor | None] = []
    for t in inputs:
        edge = edge_of(t)
        g = captured[capture[edge if type(edge) is tuple else (edge, 0)]]
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = t._backend.zeros_like(t._data)
                g = wrap_grad(g, t._backend) if not create_graph else wrap_grad(g, t._backend)
            result.append(g)
            continue
        result.append(g if create_graph else wrap_grad(g, t._backend))
    return tuple(result)
