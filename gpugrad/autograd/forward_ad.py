"""``gpugrad.autograd.forward_ad``: PyTorch's forward-mode AD API, on reverse mode.

gpugrad has no forward-mode kernels. A dual tensor made by ``make_dual`` is an alias of its
primal that records the graph like a leaf that requires grad, and remembers its tangent.
``unpack_dual(y)`` then computes ``y``'s tangent, the sum of ``J_i t_i`` over the level's
duals, by the double-vjp trick on the recorded graph: with a dummy cotangent ``u``,
``g(u) = sum_i J_i^T u`` is linear in ``u`` and ``J t = d/du <g(u), t>``.

What that costs and where it differs from PyTorch:

- each ``unpack_dual`` of a computed tensor runs two reverse passes over the graph between
  the duals and that tensor (PyTorch carries tangents along as it computes);
- a dual reports ``requires_grad=True`` (it is recorded as a leaf), and so do results
  computed from it;
- operations run under ``no_grad`` are not recorded, so their results carry no tangent
  (PyTorch's forward AD ignores ``no_grad``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .._engine import grad as _autograd_grad
from .._grad_mode import enable_grad
from .._graph import AccumulateGrad
from .._tensor import Tensor

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]


class _Level(threading.local):
    """The open dual level (only one at a time, as in PyTorch) and its duals by id."""

    current: int | None = None
    duals: dict[int, tuple[Tensor, Tensor]] | None = None


_state = _Level()


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the ``primal`` and its ``tangent`` (or ``None``)."""

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Open a dual level (forward-mode AD context) and return its index."""
    if _state.current is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _state.current = 0
    _state.duals = {}
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the dual level: its dual tensors lose their tangents."""
    if _state.current is None:
        raise RuntimeError("Dual level must be a positive number.")
    if level is not None and level != _state.current:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    _state.current = None
    _state.duals = None


class dual_level:  # noqa: N801 - PyTorch's name
    """``with dual_level():`` (or as a decorator): a forward-mode AD context; dual tensors
    made inside lose their tangents when it exits."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def under_dual_level(*args: Any, **kwargs: Any) -> Any:
            with dual_level():
                return function(*args, **kwargs)

        return under_dual_level


def _duals(level: int | None) -> dict[int, tuple[Tensor, Tensor]] | None:
    if level is not None and level != _state.current:
        raise RuntimeError(f"Invalid dual level {level}: no such level is open")
    return _state.duals


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A dual tensor: ``tensor``'s values with ``tangent`` as its forward gradient."""
    duals = _duals(level)
    if duals is None:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    for name, value in (("tensor", tensor), ("tangent", tangent)):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"_make_dual(): argument '{name}' must be Tensor, not {type(value).__name__}"
            )
    if not tensor.dtype.is_floating_point:
        raise ValueError(
            f"Expected primal to be floating point or complex, but got: {tensor.dtype}"
        )
    if not tangent.dtype.is_floating_point:
        raise ValueError(
            f"Expected tangent to be floating point or complex, but got: {tangent.dtype}"
        )
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )
    with enable_grad():
        dual = tensor.view_as(tensor) if tensor.requires_grad else tensor.detach().requires_grad_()
    duals[id(dual)] = (dual, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``; ``tangent`` is ``None`` when ``tensor`` does not
    depend on a dual tensor of the open level. Runs two reverse passes for a computed
    tensor (see the module's docstring)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
            f"{type(tensor).__name__}"
        )
    duals = _duals(level)
    if not duals or not tensor.requires_grad:
        return UnpackedDualTensor(tensor.detach() if duals else tensor, None)
    own_leaves = {id(d) for d, _ in duals.values() if d.grad_fn is None}
    outside = reaches_outside([tensor], own_leaves)
    primal = tensor.view_as(tensor) if outside else tensor.detach()
    own = duals.get(id(tensor))
    if own is not None and own[0] is tensor:
        return UnpackedDualTensor(primal, own[1])
    if not tensor.dtype.is_floating_point:
        return UnpackedDualTensor(primal, None)
    return UnpackedDualTensor(primal, _tangent_of(tensor, list(duals.values()), outside))


def _tangent_of(
    tensor: Tensor, duals: list[tuple[Tensor, Tensor]], differentiable: bool
) -> Tensor | None:
    """The sum of ``J_i t_i`` over the duals; kept differentiable when ``tensor`` also
    depends on tensors that require grad (a layer's parameters), as PyTorch's is."""
    from .._factories import zeros_like

    with enable_grad():
        dummy = zeros_like(tensor.detach()).requires_grad_()
        pulled = _autograd_grad(
            tensor,
            [d for d, _ in duals],
            grad_outputs=dummy,
            retain_graph=True,
            create_graph=True,
            allow_unused=True,
        )
        used = [
            (g, t.to(g.dtype))
            for g, (_, t) in zip(pulled, duals)
            if g is not None and g.requires_grad
        ]
        if not used:
            # Only linear-in-zero paths (the graph reaches a dual, but its Jacobian is 0).
            reached = any(g is not None for g in pulled)
            return zeros_like(tensor.detach()) if reached else None
        (product,) = _autograd_grad(
            [g for g, _ in used],
            dummy,
            grad_outputs=[t for _, t in used],
            retain_graph=True,
            create_graph=differentiable,
            allow_unused=True,
        )
    return zeros_like(tensor.detach()) if product is None else product


def reaches_outside(roots: Sequence[Tensor], inner: set[int]) -> bool:
    """True when the graph behind ``roots`` reaches a tensor that requires grad and is not one
    of the transform's own leaves (``inner``, by id): then results stay differentiable."""
    seen: set[int] = set()
    stack = [t.grad_fn for t in roots if isinstance(t, Tensor) and t._requires_grad]
    for t in roots:
        if isinstance(t, Tensor) and t._requires_grad and t.grad_fn is None and id(t) not in inner:
            return True
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in inner:
                return True
            continue
        for child, _ in node.next_functions:
            if child is not None and id(child) not in seen:
                stack.append(child)
    return False
