"""In-place ops: PyTorch's semantics, and never a wrong gradient after an in-place write."""

from __future__ import annotations

import math

import numpy
import pytest

import gpugrad as gg

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace"


def test_manual_sgd_step_under_no_grad_keeps_the_leaf(device):
    w = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    for _ in range(2):
        (w * w).sum().backward()
        with gg.no_grad():
            w -= 0.25 * w.grad
        w.grad.zero_()
    assert w.is_leaf and w.requires_grad and w.tolist() == [0.25, 0.5]


def test_in_place_on_a_leaf_that_requires_grad_is_refused(device):
    w = gg.tensor([1.0], requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w[0] = 3.0


def test_in_place_ops_are_differentiable(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    h = x * 2
    h.mul_(3)
    h.exp_()
    assert h.grad_fn.name() == "ExpBackward0" and h._version == 2
    h.sum().backward()
    assert x.grad.tolist() == pytest.approx([6 * math.exp(6), 6 * math.exp(12)], rel=1e-6)


@pytest.mark.parametrize(
    "modify",
    [
        lambda h: h.mul_(3),
        lambda h: h.add_(1),
        lambda h: h.__setitem__(0, 5.0),
        lambda h: h.zero_(),
    ],
    ids=["mul_", "add_", "setitem", "zero_"],
)
def test_modifying_a_saved_input_raises_at_backward(device, modify):
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    h = x * 2
    y = h * h  # saves h
    modify(h)
    with pytest.raises(RuntimeError, match=MODIFIED) as error:
        y.sum().backward()
    assert "is at version 1; expected version 0 instead" in str(error.value)


def test_modifying_a_saved_output_raises_at_backward(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    s = gg.sigmoid(x)
    s.mul_(2)
    with pytest.raises(RuntimeError, match=MODIFIED):
        s.sum().backward()


def test_ops_that_save_nothing_tolerate_later_writes_as_in_pytorch(device):
    x = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    h = x + 1
    y = h + 1
    h.mul_(5)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_setitem_is_differentiable_for_the_tensor_and_the_value(device):
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    v = gg.tensor(5.0, requires_grad=True, device=device)
    h = x * 1
    h[1] = v * 2
    assert h.tolist() == [1.0, 10.0, 3.0]
    h.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0] and v.grad.item() == 2.0


def test_plain_setitem_and_augmented_assignment(device):
    m = gg.zeros(4, device=device)
    m[0] = 4
    m[gg.tensor([1, 2], device=device)] = gg.tensor([7.0, 8.0], device=device)
    m[m > 7.5] = -1.0
    m += 1
    m *= 2
    assert m.tolist() == [10.0, 16.0, 0.0, 2.0] and m._version == 5


def test_in_place_result_must_fit_the_tensor(device):
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        gg.ones(3, dtype=gg.int64, device=device).add_(1.5)
    with pytest.raises(
        RuntimeError,
        match=r"output with shape \[3\] doesn't match the "
        r"broadcast shape \[2, 3\]",
    ):
        gg.ones(3, device=device).add_(gg.ones(2, 3, device=device))


def test_fill_copy_and_clamp(device):
    a = gg.zeros(3, device=device)
    a.fill_(2.5)
    b = gg.tensor([1.0, -4.0, 9.0], device=device)
    a.copy_(b)
    a.clamp_(-1, 2)
    assert a.tolist() == [1.0, -1.0, 2.0] and b.tolist() == [1.0, -4.0, 9.0]


def test_views_share_memory_and_version_with_their_base(device):
    a = gg.zeros(2, 3, device=device)
    row, element, flat = a[1], a[0, 2], a.view(6)
    row.add_(1)
    element.fill_(7)
    assert a.tolist() == [[0.0, 0.0, 7.0], [1.0, 1.0, 1.0]]
    assert a._version == row._version == flat._version == a.t()._version == 2


def test_a_write_through_a_view_is_caught_at_backward(device):
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    h = x * 2
    y = h * h  # saves h
    with gg.no_grad():
        h[0:2].mul_(10)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


def test_detach_shares_the_version_counter(device):
    w = gg.tensor([1.0, 2.0], requires_grad=True, device=device)
    e = gg.exp(w)  # saves its output
    e.detach().zero_()
    with pytest.raises(RuntimeError, match=MODIFIED):
        e.sum().backward()


def test_in_place_on_an_indexed_view_writes_back_through_the_base(device):
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    v = gg.tensor([10.0, 20.0], requires_grad=True, device=device)
    h = x * 2
    h[0] += v  # Python: t = h[0]; t += v; h[0] = t
    h[:, 1].mul_(3)
    (h * h).sum().backward()
    # the values and gradients PyTorch gives for the same program
    assert h.tolist() == [[12.0, 72.0], [6.0, 24.0]]
    assert x.grad.tolist() == [[48.0, 864.0], [24.0, 288.0]]
    assert v.grad.tolist() == [24.0, 432.0]


def test_in_place_on_a_transposed_view_while_recording_writes_through_like_torch(device):
    torch = pytest.importorskip("torch")

    def run(L, dev):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=dev)
        h = x * 2
        v = h.t()
        v.mul_(L.tensor([1.0, 3.0], device=dev))
        (h * h).sum().backward()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            x[0] += 1
        names = [t.grad_fn.name() if L is gg else type(t.grad_fn).__name__ for t in (h, v)]
        return h.tolist(), v.tolist(), x.grad.tolist(), names

    assert run(gg, device) == run(torch, "cpu")


_INPLACE_METHODS = sorted(
    n
    for n in dir(gg.Tensor)
    if n.endswith("_") and not n.startswith("_") and hasattr(gg.Tensor, n[:-1])
)


def _inplace_or_not(name: str, args: tuple, inplace: bool, device: str):
    a = gg.tensor([[0.3, 0.6], [0.45, 0.8]], dtype=gg.float64, requires_grad=True, device=device)
    b = gg.tensor([[0.7, 0.2], [0.35, 0.9]], dtype=gg.float64, requires_grad=True, device=device)
    real = tuple(b * 1 if v == "T" else v for v in args)
    x = a * 1
    y = getattr(x, name if inplace else name[:-1])(*real)
    weights = gg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=gg.float64, device=device)
    (y.sin() * weights).sum().backward()
    return y.detach().cpu().numpy(), a.grad, b.grad


@pytest.mark.parametrize("name", _INPLACE_METHODS)
def test_every_inplace_method_gives_its_out_of_place_values_and_gradients(name, device):
    """Composite in-place forms too (``logit_`` saved its input inside the composite,
    which the write then changed: its gradient was wrong)."""
    for args in [(), (0.5,), ("T",), (0,), (1, "T")]:
        try:
            expected = _inplace_or_not(name, args, False, device)
        except Exception:
            continue
        got = _inplace_or_not(name, args, True, device)
        numpy.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        for ours, theirs in zip(got[1:], expected[1:]):
            if ours is None or theirs is None:  # no edge, or an edge with a zero gradient
                either = ours if ours is not None else theirs
                assert either is None or not either.abs().sum().item()
            else:
                numpy.testing.assert_allclose(
                    ours.cpu().numpy(), theirs.cpu().numpy(), rtol=1e-10, atol=1e-14
                )
        return
    pytest.skip(f"{name}'s out-of-place form takes none of the tried arguments")
