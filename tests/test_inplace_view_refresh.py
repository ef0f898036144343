"""A view made before an in-place write into its base (through the base, through another
view, by ``x[key] = v``) sees the write in its gradient, as PyTorch's regenerated view
``grad_fn`` does; each case runs under PyTorch and gpugrad and compares gradients."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

WRITES = {
    "select_mul_": lambda L, b, w: b[0].mul_(2),
    "transpose_mul_": lambda L, b, w: b.t().mul_(2),
    "view_of_view": lambda L, b, w: b.t()[0].mul_(3),
    "reshape_row": lambda L, b, w: b.view(3, 2)[0].mul_(3),
    "base_mul_": lambda L, b, w: b.mul_(w),
    "setitem_row": lambda L, b, w: b.__setitem__(1, w[0] * 5),
    "setitem_column": lambda L, b, w: b.__setitem__((slice(None), 0), w[:, 1]),
    "copy_into_view": lambda L, b, w: b[:, 1:].copy_(w[:, :2] ** 2),
    "twice": lambda L, b, w: (b[0].add_(w[1]), b.t()[2].mul_(w[:, 0])),
}

READS = {
    "column": lambda b: b[:, 0],
    "row": lambda b: b[1],
    "transposed": lambda b: b.t(),
    "flat": lambda b: b.view(-1)[1:5],
}


def _run(L, device, write, read, base_requires_grad):
    kwargs = {"device": device} if L is gg else {}
    data = np.arange(1.0, 7.0).reshape(2, 3)
    a = L.tensor(data, requires_grad=True, **kwargs)
    w = L.tensor(data[:, ::-1].copy() / 7, requires_grad=True, **kwargs)
    b = a * 1 if base_requires_grad else L.tensor(data, **kwargs)
    seen = read(b)  # made before the write
    write(L, b, w)
    weights = L.tensor(np.linspace(1, 2, seen.numel()).reshape(tuple(seen.shape)), **kwargs)
    (seen * weights).sum().backward()
    grads = [None if t.grad is None else np.asarray(t.grad.detach().cpu().numpy()) for t in (a, w)]
    return seen.detach().cpu().numpy(), grads, seen.grad_fn.name() if seen.grad_fn else None


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("read", list(READS))
@pytest.mark.parametrize("base_requires_grad", [True, False])
def test_view_made_before_a_write_sees_it_as_pytorch(device, write, read, base_requires_grad):
    def outcome(L, dev):
        try:
            return _run(L, dev, WRITES[write], READS[read], base_requires_grad)
        except RuntimeError as error:
            return type(error)

    expected, got = outcome(torch, "cpu"), outcome(gg, device)
    if isinstance(expected, type):
        assert got is expected
        return
    assert not isinstance(got, type), got
    np.testing.assert_array_equal(got[0], expected[0])
    for ours, theirs in zip(got[1], expected[1]):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert got[2] == expected[2]
