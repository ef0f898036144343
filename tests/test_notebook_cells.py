"""The user's notebook, cell by cell, on every available device: the same cases as
../shared/acceptance, carried by the project's own suite."""

from __future__ import annotations

import math

import pytest

import gpugrad as gg

NO_GRAD_ERROR = "element 0 of tensors does not require grad and does not have a grad_fn"


def shown(text: str, device: str) -> str:
    """PyTorch's CPU text as it reads for ``device``."""
    if device == "cpu":
        return text
    for tail in (", requires_grad=", ", grad_fn="):
        if tail in text:
            head, rest = text.split(tail, 1)
            return f"{head}, device='cuda:0'{tail}{rest}"
    return f"{text[:-1]}, device='cuda:0')"


def binary_cross_entropy(prediction, target):
    epsilon = 1e-8
    prediction = gg.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * gg.log(prediction) + (1 - target) * gg.log(1 - prediction))


def test_square(device):
    x = gg.tensor(3.0, requires_grad=True, device=device)
    assert repr(x) == shown("tensor(3., requires_grad=True)", device)
    y = x**2
    assert repr(y) == shown("tensor(9., grad_fn=<PowBackward0>)", device)
    y.backward()
    assert repr(x.grad) == shown("tensor(6.)", device)


def test_chain_rule(device):
    x = gg.tensor(3.0, requires_grad=True, device=device)
    z = gg.sin(x**2)
    assert repr(z) == shown("tensor(0.4121, grad_fn=<SinBackward0>)", device)
    z.backward()
    assert repr(x.grad) == shown("tensor(-5.4668)", device)
    assert x.grad.item() == pytest.approx(2 * 3 * math.cos(9), rel=1e-6)


def test_manual_gradients_without_tracking(device):
    x, y, w, b = (gg.tensor(v, device=device) for v in (6.7, 0.0, 1.0, 0.0))
    y_pred = gg.sigmoid(w * x + b)
    loss = binary_cross_entropy(y_pred, y)
    assert repr(loss) == shown("tensor(6.7012)", device)
    dloss_dy_pred = (y_pred - y) / (y_pred * (1 - y_pred))
    dy_pred_dz = y_pred * (1 - y_pred)
    assert f"{dloss_dy_pred * dy_pred_dz * x}" == "6.691762447357178"
    assert f"{dloss_dy_pred * dy_pred_dz * 1}" == "0.998770534992218"


def test_autograd_gradients_of_logistic_loss(device):
    x, y = gg.tensor(6.7, device=device), gg.tensor(0.0, device=device)
    w = gg.tensor(1.0, requires_grad=True, device=device)
    b = gg.tensor(0.0, requires_grad=True, device=device)
    z = w * x + b
    assert repr(z) == shown("tensor(6.7000, grad_fn=<AddBackward0>)", device)
    y_pred = gg.sigmoid(z)
    assert repr(y_pred) == shown("tensor(0.9988, grad_fn=<SigmoidBackward0>)", device)
    loss = binary_cross_entropy(y_pred, y)
    assert repr(loss) == shown("tensor(6.7012, grad_fn=<NegBackward0>)", device)
    loss.backward()
    assert str(w.grad) == shown("tensor(6.6918)", device)
    assert str(b.grad) == shown("tensor(0.9988)", device)


def test_vector_mean(device):
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = (x**2).mean()
    assert repr(y) == shown("tensor(4.6667, grad_fn=<MeanBackward0>)", device)
    y.backward()
    assert repr(x.grad) == shown("tensor([0.6667, 1.3333, 2.0000])", device)


def test_clearing_grad(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    (x**2).backward()
    assert repr(x.grad) == shown("tensor(4.)", device)
    assert repr(x.grad.zero_()) == shown("tensor(0.)", device)
    assert repr(x.grad) == shown("tensor(0.)", device)
    (x**2).backward()
    assert repr(x.grad) == shown("tensor(4.)", device)


def test_requires_grad_false(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    (x**2).backward()
    assert repr(x.requires_grad_(False)) == shown("tensor(2.)", device)
    y = x**2
    assert repr(y) == shown("tensor(4.)", device)
    with pytest.raises(RuntimeError, match=NO_GRAD_ERROR):
        y.backward()


def test_detach(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    z = x.detach()
    assert repr(z) == shown("tensor(2.)", device)
    y, y1 = x**2, z**2
    assert repr(y1) == shown("tensor(4.)", device)
    y.backward()
    assert repr(x.grad) == shown("tensor(4.)", device)
    with pytest.raises(RuntimeError, match=NO_GRAD_ERROR):
        y1.backward()


def test_no_grad(device):
    x = gg.tensor(2.0, requires_grad=True, device=device)
    y = x**2
    assert repr(y) == shown("tensor(4., grad_fn=<PowBackward0>)", device)
    y.backward()
    with gg.no_grad():
        y = x**2
    assert repr(y) == shown("tensor(4.)", device)
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match=NO_GRAD_ERROR):
        y.backward()
