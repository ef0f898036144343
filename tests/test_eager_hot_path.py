"""Structural guards of the eager hot path (no timing): what keeps per-op overhead low."""

from __future__ import annotations

import gpugrad as gg
from gpugrad import _anomaly, _graph
from gpugrad._tensor import Tensor
from gpugrad.ops import dispatch, linalg


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


def test_graph_classes_have_no_getattr_hook():
    """A class with ``__getattr__`` loses the interpreter's specialised slot reads; the
    engine reads a node's slots a dozen times per node."""
    classes = [*_subclasses(_graph.Node), Tensor, _graph.AccumulateGrad, _graph.Op]
    assert {dispatch.FirstArgumentNode, _graph.SliceNode, linalg.MultiOutputNode} <= set(classes)
    for cls in classes:
        assert not any("__getattr__" in vars(k) for k in cls.__mro__), cls


def test_nodes_are_made_without_an_init():
    """``new_node`` calls the class with no arguments: no ``__init__`` in the hierarchy."""
    for cls in _subclasses(_graph.Node):
        assert all("__init__" not in vars(k) for k in cls.__mro__ if k is not object), cls


def test_saved_attributes_without_getattr(device):
    x = gg.randn(3, requires_grad=True, device=device)
    y = x.exp()
    assert y.grad_fn._saved_result.equal(y)
    assert not hasattr(y.grad_fn, "_saved_self")  # exp saves only its result
    assert not hasattr(y.grad_fn, "_saved_exponent")
    assert not any(n.startswith("_saved_") for n in dir(y.grad_fn))
    z = x**3
    assert z.grad_fn._saved_self.equal(x) and z.grad_fn._saved_exponent == 3
    assert z.grad_fn.next_functions[0][0].variable is x


def test_anomaly_mode_records_nodes_made_by_new_node(device):
    x = gg.tensor([-1.0], requires_grad=True, device=device)
    with gg.autograd.detect_anomaly():
        y = x.sqrt()  # NaN forward, NaN gradient
    assert y.grad_fn in _anomaly._traces
    z = x.sqrt()  # made with the mode off: nothing recorded
    assert z.grad_fn not in _anomaly._traces
