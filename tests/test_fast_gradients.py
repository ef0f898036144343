"""Gradients computed on shortcuts (issue 17): relu's bit mask, slices' gradients summed
into one buffer (split / chunk / unbind / overlapping slices). Each must give exactly what
the plain formula and PyTorch give, special values included."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

SPECIAL = [-1.0, 0.0, -0.0, 2.0, np.nan, np.inf, -np.inf, 3.0, -5.0]
GRADS = [1.0, 2.0, np.nan, np.nan, 5.0, np.inf, np.nan, -np.inf, np.inf]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_gradient_masks_as_torch_with_nan_and_inf(device, dtype):
    x = np.array(SPECIAL, dtype=dtype)
    g = np.array(GRADS, dtype=dtype)
    ours = gg.tensor(x, device=device, requires_grad=True)
    gg.relu(ours).backward(gg.tensor(g, device=device))
    theirs = torch.tensor(x, requires_grad=True)
    torch.relu(theirs).backward(torch.tensor(g))
    got, want = ours.grad.cpu().numpy(), theirs.grad.numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # NaN output passes; masked inf/NaN give 0
    assert not np.signbit(got[[0, 1, 2, 8]]).any()  # masked places are +0


def test_relu_gradient_of_a_broadcast_gradient_and_second_order(device):
    x = gg.tensor([[-1.0, 2.0], [3.0, -4.0]], device=device, requires_grad=True)
    y = gg.relu(x)
    (g,) = gg.autograd.grad(y, x, gg.ones(2, 1, device=device).expand(2, 2), create_graph=True)
    np.testing.assert_array_equal(g.detach().cpu().numpy(), [[0.0, 1.0], [1.0, 0.0]])
    assert gg.autograd.gradcheck(
        gg.relu, (gg.tensor([-1.5, 0.7, 2.0], device=device, dtype=gg.float64, requires_grad=True),)
    )
    assert gg.autograd.gradgradcheck(
        lambda t: gg.relu(t) ** 2,
        (gg.tensor([-1.5, 0.7, 2.0], device=device, dtype=gg.float64, requires_grad=True),),
    )


def _slices_loss(lib, t):
    q, k, v = t.split(3, dim=1)
    a, b = t.chunk(2, dim=0)
    rows = t.unbind(0)
    return (
        (q * 2).sum()
        + (k**2).sum()
        + v.exp().sum()
        + (a * b).sum()
        + rows[1].sum() * 3
        + rows[3][2] * 7
        + t[1:3, 2:5].sin().sum()  # overlaps q and k
        + t[0, 0] * 11
    )


def test_split_chunk_unbind_and_overlapping_slices_match_torch(device):
    x = np.random.default_rng(0).standard_normal((4, 9))
    ours = gg.tensor(x, device=device, requires_grad=True)
    _slices_loss(gg, ours).backward()
    theirs = torch.tensor(x, requires_grad=True)
    _slices_loss(torch, theirs).backward()
    np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), rtol=1e-12)
    assert gg.autograd.gradcheck(
        lambda t: _slices_loss(gg, t), (gg.tensor(x, device=device, requires_grad=True),)
    )
    assert gg.autograd.gradgradcheck(
        lambda t: _slices_loss(gg, t), (gg.tensor(x, device=device, requires_grad=True),)
    )


def test_slice_gradients_leave_the_given_gradients_and_hooks_alone(device):
    """The buffer summed in place is one the engine made: a retained gradient, a hook's
    view and the caller's output gradients keep their values."""
    x = gg.tensor(np.arange(12.0).reshape(3, 4), device=device, requires_grad=True)
    mid = x * 1
    mid.retain_grad()
    seen = []
    mid.register_hook(lambda g: seen.append(g.clone()))
    pieces = mid.unbind(0)
    given = [gg.full((4,), float(i + 1), device=device) for i in range(3)]
    kept = [g.clone() for g in given]
    gg.autograd.backward(pieces, given)
    want = np.repeat([[1.0], [2.0], [3.0]], 4, axis=1)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), want)
    np.testing.assert_array_equal(mid.grad.cpu().numpy(), want)
    np.testing.assert_array_equal(seen[0].cpu().numpy(), want)
    for g, k in zip(given, kept):
        np.testing.assert_array_equal(g.cpu().numpy(), k.cpu().numpy())


def test_repeated_backward_through_slices_accumulates(device):
    x = gg.tensor(np.ones((2, 6)), device=device, requires_grad=True)
    q, k, v = x.split(2, dim=1)
    y = (q * 1 + k * 2 + v * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.repeat([[2.0, 2, 4, 4, 6, 6]], 2, 0))
