"""The backward engine's direct hand-on (issue 18's eager overhead): a node whose single
gradient goes to a node reached for the first time, newer than every node waiting, runs
that node next without the heap. The engine must still run every reachable node exactly
once, newest first (the order the heap alone gives, so every sum happens in the same
order and every value is bitwise what it was), with hooks, ``retain_grad``, anomaly mode,
slices, multi-output nodes, custom Functions, casts and broadcasting as before. Every test
here runs with both node loops: the Python one and the compiled C one
(``_engine_loop.c``)."""

from __future__ import annotations

import gc
import math
import weakref

import numpy
import pytest

import gpugrad as gg
from gpugrad import _engine
from gpugrad._graph import AccumulateGrad, Node
from gpugrad.autograd.function import FunctionCtx
from gpugrad.ops.linalg import MultiOutputNode

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, params=["python", "c"])
def engine_loop(request, monkeypatch, native_loop):
    """Runs the test with the Python node loop, then with the C one."""
    chosen = None if request.param == "python" else native_loop
    monkeypatch.setattr(_engine, "_native_loop", lambda configure: chosen)
    return request.param


def reachable(roots) -> set:
    """Every node (not leaf accumulator) reachable from the roots' ``grad_fn``."""
    seen, stack = set(), [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node.edges:
            target = edge[0] if type(edge) is tuple else edge
            if target is not None and type(target) is not AccumulateGrad:
                stack.append(target)
    return seen


@pytest.fixture
def run_order(monkeypatch):
    """The nodes backward runs, in order (slices whose gradient was added into a shared
    buffer included)."""
    order: list = []
    apply = Node.apply

    multi = MultiOutputNode.apply_multi
    custom = FunctionCtx.apply
    add_slice = _engine._add_slice_into

    def recording_apply(self, *args):
        order.append(self)
        return apply(self, *args)

    def recording_multi(self, *args):
        order.append(self)
        return multi(self, *args)

    def recording_custom(self, *args):
        order.append(self)
        return custom(self, *args)

    def recording_slice(node, *args):
        done = add_slice(node, *args)
        if done:
            order.append(node)
        return done

    monkeypatch.setattr(Node, "apply", recording_apply)
    monkeypatch.setattr(MultiOutputNode, "apply_multi", recording_multi)
    monkeypatch.setattr(FunctionCtx, "apply", recording_custom)
    monkeypatch.setattr(_engine, "_add_slice_into", recording_slice)
    return order


class Square(gg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def scalar_bce(dtype, device):
    w = gg.tensor(1.0, requires_grad=True, dtype=dtype, device=device)
    b = gg.tensor(0.0, requires_grad=True, dtype=dtype, device=device)
    x, y = gg.tensor(6.7, dtype=dtype, device=device), gg.tensor(0.0, device=device)
    p = gg.clamp(gg.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    return -(y * gg.log(p) + (1 - y) * gg.log(1 - p)).mean(), (w, b)


def diamond(dtype, device):
    x = gg.tensor([0.5, -1.25, 2.0], requires_grad=True, dtype=dtype, device=device)
    a = x * 2
    return (a.sin() * a.cos() + a + a * a).sum(), (x,)


def mixed(dtype, device):
    """Broadcasting, a float64 partner, an int input and an input without a gradient."""
    x = gg.tensor([[0.5], [-1.5]], requires_grad=True, dtype=dtype, device=device)
    y = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, dtype=gg.float64, device=device)
    n = gg.tensor([1, 2, 3], device=device)
    c = gg.tensor([0.25, 0.5, 0.75], dtype=dtype, device=device)
    return ((x * n + y).exp() * c - 2**x).tanh().mean(), (x, y)


def slices(dtype, device):
    h = gg.tensor(numpy.linspace(-1, 1, 12).reshape(6, 2), requires_grad=True, dtype=dtype)
    h = h.to(device)
    q, k, v = (h * 1).split(2)
    first, second = h.unbind(1)
    return (q * k + v).sum() + (first * second).sum() + h[1:3].sum(), (h,)


def decomposition_and_custom(dtype, device):
    a = gg.tensor([[2.0, 0.5], [0.5, 3.0]], requires_grad=True, dtype=dtype, device=device)
    values, vectors = gg.linalg.eigh(a * 1)
    return Square.apply(values).sum() + (vectors * vectors).sum() * 0, (a,)


GRAPHS = [scalar_bce, diamond, mixed, slices, decomposition_and_custom]


@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [gg.float32, gg.float64])
def test_every_node_runs_once_newest_first(device, build, dtype, run_order):
    loss, _ = build(dtype, device)
    nodes = reachable([loss])
    loss.backward()
    assert len(run_order) == len(set(run_order)) == len(nodes)
    assert set(run_order) == nodes
    assert [n.seq for n in run_order] == sorted((n.seq for n in nodes), reverse=True)


@pytest.mark.parametrize("value", [6.7, -3.0, 0.0, -0.0, 40.0, -200.0, math.inf, math.nan])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_scalar_step_is_torchs_for_special_values(device, value, dtype):
    """The seed step's loss and gradients against PyTorch, NaN and infinities included."""

    def step(L, **kw):
        d = getattr(L, dtype)
        w = L.tensor(1.0, requires_grad=True, dtype=d, **kw)
        b = L.tensor(0.0, requires_grad=True, dtype=d, **kw)
        x, y = L.tensor(value, dtype=d, **kw), L.tensor(1.0, **kw)
        p = L.clamp(L.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
        loss = -(y * L.log(p) + (1 - y) * L.log(1 - p)).mean()
        loss.backward()
        return [loss.item(), w.grad.item(), b.grad.item()], (loss.dtype, w.grad.dtype)

    (ours, ours_types), (theirs, theirs_types) = step(gg, device=device), step(torch)
    assert str(ours_types[0]).split(".")[-1] == str(theirs_types[0]).split(".")[-1]
    assert str(ours_types[1]).split(".")[-1] == dtype
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-6 if dtype == "float32" else 1e-12)


def test_hooks_and_retain_grad_on_handed_on_nodes(device):
    """A hook on an intermediate reached by the direct hand-on changes what flows on, and
    ``retain_grad`` keeps the gradient that arrived, as in PyTorch."""
    results = []
    for L, kw in ((gg, {"device": device}), (torch, {})):
        x = L.tensor([0.5, 1.5], requires_grad=True, dtype=L.float64, **kw)
        a = x.sin()
        b = a * 3
        b.retain_grad()
        a.retain_grad()
        b.register_hook(lambda g: g * 10)
        c = b.exp().sum()
        c.backward()
        results.append([x.grad.tolist(), a.grad.tolist(), b.grad.tolist()])
    numpy.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_anomaly_mode_names_a_handed_on_node(device):
    """The node that makes NaN is found when it runs by the direct hand-on."""
    x = gg.tensor(0.0, requires_grad=True, device=device)
    y = (x * 1).sqrt() * 0  # sqrt's gradient at 0 is 0 / 0
    with (
        pytest.warns(RuntimeWarning, match="SqrtBackward0"),
        pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan"),
        gg.autograd.detect_anomaly(),
    ):
        y.backward()


def test_gradients_handed_to_two_leaves_are_not_shared(device):
    """``w + b`` gives both leaves the same gradient array; each leaf gets its own."""
    w = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    b = gg.tensor([3.0, 4.0], requires_grad=True, device=device)
    (w + b).sin().sum().backward()
    assert numpy.array_equal(w.grad.cpu().numpy(), b.grad.cpu().numpy())
    with gg.no_grad():
        w.grad.add_(1)
    assert not numpy.array_equal(w.grad.cpu().numpy(), b.grad.cpu().numpy())


def test_same_input_twice_sums_in_order(device):
    """``x * x`` and ``x + x``: the two gradients into one node are summed before it runs."""
    for L, kw in ((gg, {"device": device}), (torch, {})):
        x = L.tensor([0.1, -2.0, 3.5], requires_grad=True, dtype=L.float32, **kw)
        h = x.exp()
        ((h * h + h + h).log()).sum().backward()
        if L is gg:
            ours = x.grad.cpu().numpy()
        else:
            theirs = x.grad.numpy()
    numpy.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_higher_order_through_the_handed_on_path(device):
    x = gg.tensor([0.3, 0.7], dtype=gg.float64, requires_grad=True, device=device)
    assert gg.autograd.gradcheck(lambda t: ((t * 2).sin() * 3).exp().sum(), (x,))
    assert gg.autograd.gradgradcheck(lambda t: ((t * 2).sin() * 3).exp().sum(), (x,))


def test_autograd_grad_captures_intermediates(device):
    x = gg.tensor([0.5, 1.0], requires_grad=True, dtype=gg.float64, device=device)
    a = x.sin()
    b = a * 2
    gx, ga, gb = gg.autograd.grad(b.exp().sum(), (x, a, b))
    numpy.testing.assert_allclose(gb.cpu().numpy(), numpy.exp(b.detach().cpu().numpy()))
    numpy.testing.assert_allclose(ga.cpu().numpy(), 2 * gb.cpu().numpy())
    numpy.testing.assert_allclose(gx.cpu().numpy(), numpy.cos([0.5, 1.0]) * ga.cpu().numpy())
    assert x.grad is None


def test_graphs_are_freed_after_backward(device):
    """Nothing the engine handles outlives the step (no node kept by the hand-on)."""
    loss, (w, b) = scalar_bce(gg.float32, device)
    node = weakref.ref(loss.grad_fn)
    deep = weakref.ref(loss.grad_fn.edges[0])
    loss.backward()
    del loss
    gc.collect()
    assert node() is None and deep() is None
    before = len([o for o in gc.get_objects() if issubclass(type(o), Node)])
    for _ in range(200):
        loss, (w, b) = scalar_bce(gg.float32, device)
        loss.backward()
    del loss, w, b
    gc.collect()
    assert len([o for o in gc.get_objects() if issubclass(type(o), Node)]) <= before
