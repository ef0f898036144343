"""In-place view ops (``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``, ``swapaxes_``),
PyTorch's semantics: the tensor itself takes the view's shape and strides over the same
memory (its other views still see its elements), and, when it is part of a graph, its
``grad_fn`` becomes the view op's node, under PyTorch's name for the in-place form
(``UnsqueezeBackward1``, ``TBackward1`` ...). A leaf that requires grad is refused, as
PyTorch refuses it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._grad_mode import no_grad
from ._grad_mode import state as _grad_state
from ._graph import named_node
from ._inplace import INPLACE_NODE_NAMES, LEAF_ERROR, _record_write
from ._tensor import Tensor, _wrap
from .ops import shape

VIEW_METHODS: dict[str, Callable[..., Tensor]] = {
    "unsqueeze_": shape.unsqueeze,
    "squeeze_": shape.squeeze,
    "t_": shape.t,
    "transpose_": shape.transpose,
    "swapaxes_": shape.swapaxes,
    "swapdims_": shape.swapaxes,  # s7-topx
}
"""Each in-place view method and the view op whose result it becomes."""


def apply_inplace_view(function: Callable[..., Tensor], t: Tensor, *args: Any) -> Tensor:
    """Make ``t`` the view ``function(t, *args)`` of its own memory."""
    recording = _grad_state.enabled and t.requires_grad
    if recording and t.grad_fn is None:
        raise RuntimeError(LEAF_ERROR)
    _record_write(t)  # s7-topx: PyTorch counts an in-place view op as a write of ``t``
    alias = _wrap(t._data, t._backend)
    alias._requires_grad, alias.grad_fn, alias._output_nr = (
        t.requires_grad,
        t.grad_fn,
        t._output_nr,
    )
    if recording:
        out = function(alias, *args)
    else:
        with no_grad():
            out = function(alias, *args)
    t._data = out._data
    if recording:
        node = out.grad_fn
        if node is not None:
            named_node(out, INPLACE_NODE_NAMES.get(node.name(), node.name()))
        t.grad_fn, t._output_nr = node, out._output_nr
    extra = t._extra
    if extra is not None and getattr(extra, "view_key", None) is not None:
        extra.view_key = None  # the index into its base no longer describes it
    return t


def inplace_view_method(name: str, function: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace_view(lambda t, *a: function(t, *a, **kwargs), self, *args)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place version of ``{name.rstrip('_')}``: ``self`` becomes the view."
    return method
