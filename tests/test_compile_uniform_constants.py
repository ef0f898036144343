"""A compiled replay keeps a folded constant whose elements are all equal (a mean's
backward seed ``-expand(seed) / n``) as one element broadcast, not as a full array."""

from __future__ import annotations

import numpy as np

import gpugrad as gg


def _bytes_spanned(array) -> int:
    """The memory an array reads: one element for a broadcast of one element."""
    if array.size == 0:
        return 0
    span = sum((n - 1) * abs(s) for n, s in zip(array.shape, array.strides))
    return span + array.itemsize


def _bce(p, y):
    loss = -(y * gg.log(p) + (1 - y) * gg.log(1 - p)).mean()
    loss.backward()
    return loss.detach()


def test_mean_backward_holds_no_full_size_constant(device) -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    p_values = rng.uniform(0.01, 0.99, n)
    y = gg.tensor((rng.uniform(size=n) > 0.5).astype(np.float64), device=device)
    compiled = gg.compile(_bce)
    for _ in range(3):  # the trace, then replays
        p = gg.tensor(p_values, device=device, requires_grad=True)
        got = compiled(p, y)
        eager_p = gg.tensor(p_values, device=device, requires_grad=True)
        expected = _bce(eager_p, y)
        np.testing.assert_allclose(got.cpu().numpy(), expected.cpu().numpy(), rtol=1e-12)
        np.testing.assert_allclose(
            p.grad.cpu().numpy(), eager_p.grad.cpu().numpy(), rtol=1e-12, atol=0
        )
    (entry,) = compiled._entries
    namespace = entry.generated.run.__globals__
    arrays = [v for v in namespace.values() if hasattr(v, "strides") and hasattr(v, "shape")]
    assert any(a.shape == (n,) for a in arrays)  # the folded seed gradient is there …
    assert all(_bytes_spanned(a) < n for a in arrays)  # … as one element


def test_uniform_constant_that_sets_the_shape_keeps_it(device) -> None:
    """A uniform constant is passed to a fused kernel as one element only where the other
    inputs keep the result's shape."""
    x = gg.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), device=device, requires_grad=True)

    def step(x):
        loss = (x.sum(0, keepdim=True) * 2.0).exp().mean()
        loss.backward()
        return loss.detach(), x.grad

    compiled = gg.compile(step)
    for _ in range(3):
        x.grad = None
        got_loss, got_grad = compiled(x)
        x.grad = None
        loss, grad = step(x)
        np.testing.assert_allclose(got_loss.cpu().numpy(), loss.cpu().numpy(), rtol=1e-12)
        assert got_grad.shape == grad.shape == (3, 4)
        np.testing.assert_allclose(got_grad.cpu().numpy(), grad.cpu().numpy(), rtol=1e-12)
