"""The engine: accumulation, retained and freed graphs, higher order, hooks, custom
functions, grad modes, and depth without recursion."""

from __future__ import annotations

import gc
import threading
import warnings
import weakref

import pytest

import gpugrad as gg
from gpugrad.autograd import Function

SECOND = "Trying to backward through the graph a second time"


def test_a_100k_op_chain_backpropagates_without_recursion(device):
    x = gg.tensor(0.5, requires_grad=True, device=device)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0


def test_leaves_accumulate_and_zero_resets(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]
    x.grad.zero_()
    (3 * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_accumulated_grads_are_not_shared_between_leaves(device):
    x = gg.tensor([1.0], requires_grad=True, device=device)
    y = gg.tensor([1.0], requires_grad=True, device=device)
    (x + y).sum().backward()
    x.grad.zero_()
    assert y.grad.tolist() == [1.0]


def test_second_backward_raises_unless_retained(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    y = x**3
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 24.0
    with pytest.raises(RuntimeError, match=SECOND):
        y.backward()


def test_ops_that_save_nothing_can_backward_twice_as_in_pytorch(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    y = x + 1
    y.backward()
    y.backward()
    assert x.grad.item() == 2.0


def test_non_scalar_backward_needs_a_gradient_of_the_right_shape(device):
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = x * 2
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape"):
        y.backward(gg.ones(2, device=device))
    y.backward(gg.tensor([1.0, 0.0, -1.0], device=device))
    assert x.grad.tolist() == [2.0, 0.0, -2.0]


def test_autograd_grad_returns_and_does_not_accumulate(device):
    x = gg.tensor(3.0, requires_grad=True, device=device)
    unused = gg.tensor(1.0, requires_grad=True, device=device)
    y = x**2
    (g,) = gg.autograd.grad(y, x, retain_graph=True)
    assert g.item() == 6.0 and x.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        gg.autograd.grad(y, [x, unused], retain_graph=True)
    g, none = gg.autograd.grad(y, [x, unused], allow_unused=True)
    assert g.item() == 6.0 and none is None


def test_higher_order_derivatives(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    y = x**4 + gg.sin(x)
    (d1,) = gg.autograd.grad(y, x, create_graph=True)
    (d2,) = gg.autograd.grad(d1, x, create_graph=True)
    (d3,) = gg.autograd.grad(d2, x)
    import math

    assert d1.item() == pytest.approx(4 * 8 + math.cos(2))
    assert d2.item() == pytest.approx(12 * 4 - math.sin(2))
    assert d3.item() == pytest.approx(24 * 2 - math.cos(2))
    assert d1.requires_grad and d1.grad_fn is not None and not d3.requires_grad


def test_backward_with_create_graph_gives_differentiable_grad(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    assert first.grad_fn is not None
    (g2,) = gg.autograd.grad(first.sum(), x)
    assert g2.tolist() == [6.0, 12.0]


def test_non_leaf_grads_need_retain_grad(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    h = x * 3
    kept = x * 5
    kept.retain_grad()
    (h * kept).backward()
    assert h.grad is None and not h.is_leaf
    assert kept.grad.item() == 6.0 and kept.retains_grad


def test_hooks_see_and_replace_gradients(device):
    x = gg.tensor(1.0, requires_grad=True, device=device)
    seen = []
    handle = x.register_hook(lambda g: g * 10)
    mid = x * 2
    mid.register_hook(lambda g: seen.append(g.item()))
    (mid * 3).backward()
    assert seen == [3.0] and x.grad.item() == 60.0
    handle.remove()
    x.grad = None
    (x * 2).backward()
    assert x.grad.item() == 2.0


def test_a_node_reached_twice_runs_once_with_the_summed_gradient(device):
    x = gg.tensor(1.5, requires_grad=True, device=device)
    shared = x * x
    calls = []
    shared.register_hook(lambda g: calls.append(g.item()))
    (shared + shared * 2).backward()
    assert calls == [3.0] and x.grad.item() == pytest.approx(9.0)


def test_backward_inputs_restricts_accumulation(device):
    a = gg.tensor(1.0, requires_grad=True, device=device)
    b = gg.tensor(2.0, requires_grad=True, device=device)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_grad_fn_names_and_next_functions(device):
    x = gg.tensor(1.0, requires_grad=True, device=device)
    y = x * 2 + x
    assert y.grad_fn.name() == "AddBackward0"
    (mul, _), (acc, _) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    assert acc.variable is x and mul.next_functions[0][0] is acc


def test_gradient_dtype_follows_the_leaf():
    a = gg.tensor([1.0, 2.0], requires_grad=True)
    b = gg.tensor(3.0, dtype=gg.float64, requires_grad=True)
    out = a * b
    assert out.dtype == gg.float32
    out.sum().backward()
    assert a.grad.dtype == gg.float32 and b.grad.dtype == gg.float64
    assert b.grad.item() == 3.0


def test_graph_is_released_after_backward():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = (gg.exp(x) * 2).sum()
    node = weakref.ref(y.grad_fn.next_functions[0][0])
    y.backward()
    del y
    gc.collect()
    assert node() is None


class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x**3 * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2 * ctx.scale, None


def test_custom_function(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    assert y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    with pytest.raises(RuntimeError, match=SECOND):
        y.sum().backward()


def test_custom_function_second_order_and_gradcheck():
    x = gg.tensor([0.5, -1.5], dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: Cube.apply(t, 1.5), (x,))
    (g,) = gg.autograd.grad(Cube.apply(x, 1.0).sum(), x, create_graph=True)
    (gg2,) = gg.autograd.grad(g.sum(), x)
    assert gg2.tolist() == [3.0, -9.0]


def test_grad_modes_are_context_managers_and_decorators():
    x = gg.tensor(1.0, requires_grad=True)

    @gg.no_grad()
    def frozen():
        return x * 2

    assert not frozen().requires_grad
    with gg.no_grad():
        with gg.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    gg.set_grad_enabled(False)
    try:
        assert not gg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        gg.set_grad_enabled(True)
    with gg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    with gg.no_grad():
        assert gg.tensor(1.0, requires_grad=True).requires_grad


def test_no_grad_is_thread_local():
    x = gg.tensor(1.0, requires_grad=True)
    inside, recorded = threading.Event(), []
    release = threading.Event()

    def hold_no_grad():
        with gg.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    inside.wait(5)

    def record():
        recorded.append((x * 2).requires_grad)

    other = threading.Thread(target=record)
    other.start()
    other.join()
    main_thread_records = (x * 2).requires_grad
    release.set()
    thread.join()
    assert recorded == [True] and main_thread_records


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype"):
        gg.tensor([1, 2], requires_grad=True)
    y = gg.tensor(1.0, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    assert y.detach().requires_grad is False and y.detach().is_leaf


def test_detect_anomaly_names_the_op_and_where_it_was_created():
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    with gg.autograd.detect_anomaly():
        y = gg.sqrt(x) * 0  # the line the report must point at
        with (
            pytest.warns(RuntimeWarning, match="Error detected in SqrtBackward0"),
            pytest.raises(RuntimeError) as error,
        ):
            y.sum().backward()
    message = str(error.value)
    assert "Function 'SqrtBackward0' returned nan values in its 0th output." in message
    assert "the line the report must point at" in message
    assert "gpugrad/_ops.py" not in message
    assert not gg.autograd.is_anomaly_enabled()
    x = gg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy "divide by zero" warning either
        (gg.sqrt(x) * 0).sum().backward()  # outside the mode: no check, as in PyTorch
    assert x.grad.isnan().tolist() == [True, False]


def test_leaf_grads_never_alias_the_users_gradient_or_each_other(device):
    given = gg.ones(3, device=device)
    x = gg.ones(3, requires_grad=True, device=device)
    x.clone().backward(given)  # the gradient passes through unchanged
    x.grad.zero_()
    assert given.tolist() == [1.0, 1.0, 1.0]
    a = gg.ones(2, requires_grad=True, device=device)
    b = gg.ones(2, requires_grad=True, device=device)
    (a + b).sum().backward()  # add hands the same array to both inputs
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0]
    c = gg.ones(2, 2, requires_grad=True, device=device)
    c.sum().backward()  # the gradient arrives as a broadcast view
    c.grad.zero_()
    assert c.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
