"""``gpugrad.nn.utils`` against ``torch.nn.utils``: clipping by norm (every norm type) and
by value, and parameter/vector conversion."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.nn.parameter import Parameter
from gpugrad.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(3, 4), (5,), ()]


def _pairs(device: str, scale: float = 1.0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = [], []
    for shape in SHAPES:
        value, grad = rng.standard_normal(shape), rng.standard_normal(shape) * scale
        p = Parameter(gg.tensor(value, device=device))
        p.grad = gg.tensor(grad, device=device)
        tp = torch.nn.Parameter(torch.tensor(value))
        tp.grad = torch.tensor(grad)
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


def _assert_grads_close(ours, theirs):
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, 0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, device: str):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(device)
    norm_type = float(norm_type) if norm_type == "inf" else norm_type
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.shape == () and total.dtype == gg.float64
    np.testing.assert_allclose(total.item(), torch_total.item(), rtol=1e-12)
    _assert_grads_close(ours, theirs)


def test_clip_grad_norm_single_tensor_and_no_grads(device: str):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(device, scale=10.0)
    total = clip_grad_norm_(ours[0], 1.0)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0)
    np.testing.assert_allclose(total.item(), torch_total.item(), rtol=1e-12)
    _assert_grads_close(ours[:1], theirs[:1])
    empty = Parameter(gg.zeros(2, device=device))
    assert clip_grad_norm_([empty], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


def test_clip_grad_norm_non_finite(device: str):
    torch = pytest.importorskip("torch")
    p = Parameter(gg.zeros(2, device=device))
    p.grad = gg.tensor([float("inf"), 1.0], device=device)
    tp = torch.nn.Parameter(torch.zeros(2))
    tp.grad = torch.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.utils.clip_grad_norm_([tp], 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as ours:
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert str(ours.value) == str(theirs.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning leaks
        total = clip_grad_norm_([p], 1.0, foreach=False)
    assert math.isinf(total.item())


def test_clip_grad_value_matches_pytorch(device: str):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(device)
    clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    _assert_grads_close(ours, theirs)
    assert max(p.grad.abs().max().item() for p in ours) <= 0.3


def test_parameters_vector_round_trip(device: str):
    torch = pytest.importorskip("torch")
    ours, theirs = _pairs(device)
    vector = parameters_to_vector(ours)
    np.testing.assert_array_equal(
        vector.detach().cpu().numpy(), torch.nn.utils.parameters_to_vector(theirs).detach().numpy()
    )
    assert vector.requires_grad  # differentiable, as in PyTorch
    vector.sum().backward()
    assert ours[0].grad is not None
    replacement = gg.arange(vector.numel(), dtype="float64", device=device)
    vector_to_parameters(replacement, ours)
    assert ours[0].tolist() == np.arange(12.0).reshape(3, 4).tolist()
    assert ours[2].item() == 17.0
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        vector_to_parameters([1.0], ours)


def test_vector_to_parameters_bumps_version():
    w = Parameter(gg.tensor([1.0, 2.0]))
    loss = (w * w).sum()
    vector_to_parameters(gg.tensor([5.0, 6.0]), [w])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
