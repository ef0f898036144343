"""The lazy layers and their placeholders (task s7-nnpool) against PyTorch: reprs and
state_dict keys before and after the first forward, the layer each becomes, values and
gradients once PyTorch's materialized weights are copied across, initialization bounds,
errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from against_torch import assert_raises_like_torch
from test_nn_layers import _compare

import gpugrad as gg
from gpugrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

RNG = np.random.default_rng(5)

CASES = [
    ("LazyLinear", lambda m: m.LazyLinear(3), (2, 4, 5)),
    ("LazyLinear-nobias", lambda m: m.LazyLinear(3, bias=False), (2, 5)),
    ("LazyConv1d", lambda m: m.LazyConv1d(4, 3, padding=1, groups=2), (2, 6, 7)),
    ("LazyConv2d", lambda m: m.LazyConv2d(3, 2, stride=2), (2, 3, 6, 5)),
    (
        "LazyConv3d",
        lambda m: m.LazyConv3d(2, 2, padding_mode="circular", padding=1),
        (1, 2, 3, 4, 3),
    ),
    ("LazyConvTranspose1d", lambda m: m.LazyConvTranspose1d(4, 3, stride=2), (2, 3, 5)),
    (
        "LazyConvTranspose2d",
        lambda m: m.LazyConvTranspose2d(2, 2, groups=2, bias=False),
        (2, 4, 3, 3),
    ),
    ("LazyConvTranspose3d", lambda m: m.LazyConvTranspose3d(2, 2), (1, 2, 2, 3, 2)),
    ("LazyBatchNorm1d", lambda m: m.LazyBatchNorm1d(), (4, 3, 5)),
    ("LazyBatchNorm2d", lambda m: m.LazyBatchNorm2d(affine=False, momentum=None), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", lambda m: m.LazyBatchNorm3d(bias=False), (2, 3, 2, 3, 2)),
    ("LazyInstanceNorm1d", lambda m: m.LazyInstanceNorm1d(), (2, 3, 5)),
    (
        "LazyInstanceNorm2d",
        lambda m: m.LazyInstanceNorm2d(affine=False),
        (2, 3, 4, 4),
    ),
    ("LazyInstanceNorm3d", lambda m: m.LazyInstanceNorm3d(), (2, 3, 2, 3, 2)),
]


@pytest.mark.parametrize(("factory", "shape"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lazy_layer_matches_torch(device, factory, shape):
    ours, theirs = factory(nn), factory(tnn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    x = RNG.standard_normal(shape)
    ours.to(device)(gg.tensor(x, dtype=gg.float32, device=device))
    theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(theirs).__name__ and isinstance(ours, nn.Module)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert not any(isinstance(p, nn.UninitializedParameter) for p in ours.parameters())
    for name, value in theirs.state_dict().items():
        assert tuple(ours.state_dict()[name].shape) == tuple(value.shape), name
    _compare(theirs, ours, [x], device, train=True)


def test_lazy_initialization_bounds():
    gg.manual_seed(0)
    linear = nn.LazyLinear(200)
    linear(gg.zeros(2, 16))
    conv = nn.LazyConv2d(50, 3)
    conv(gg.zeros(1, 4, 5, 5))
    for param, bound in ((linear.weight, 0.25), (linear.bias, 0.25), (conv.weight, 1 / 6)):
        values = param.detach().numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound
    norm = nn.LazyBatchNorm1d()
    norm.eval()(gg.zeros(2, 3))
    assert norm.weight.tolist() == [1, 1, 1] and norm.running_var.tolist() == [1, 1, 1]


def test_placeholders():
    parameter = nn.UninitializedParameter()
    assert repr(parameter) == repr(tnn.UninitializedParameter()) == "<UninitializedParameter>"
    assert isinstance(parameter, nn.Parameter) and parameter.requires_grad
    parameter.materialize((2, 3), dtype=gg.float64)
    assert type(parameter) is nn.Parameter and parameter.shape == (2, 3)
    assert parameter.dtype == gg.float64 and parameter.requires_grad
    buffer = gg.nn.parameter.UninitializedBuffer()
    assert repr(buffer) == "<UninitializedBuffer>" and not buffer.requires_grad
    buffer.materialize(4)
    assert type(buffer) is gg.Tensor and buffer.shape == (4,)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, t: m.LazyConv2d(4, 2, groups=2)(t.zeros(1, 3, 4, 4)),
        lambda m, t: m.LazyConv2d(4, 2)(t.zeros(4, 4)),
        lambda m, t: m.LazyConvTranspose3d(4, 2)(t.zeros(2, 4, 4)),
    ],
)
def test_errors_match_torch(call):
    assert_raises_like_torch(lambda: call(nn, gg), lambda: call(tnn, torch))


def test_lazy_module_trains_with_an_optimizer_made_after_the_first_forward():
    model = nn.Sequential(nn.LazyConv1d(4, 3), nn.LazyBatchNorm1d(), nn.Flatten(), nn.LazyLinear(1))
    x, y = gg.randn(8, 2, 6), gg.randn(8, 1)
    model(x)
    optimizer = gg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and math.isfinite(losses[-1])


@pytest.mark.parametrize(
    ("lazy", "layer", "shape"),
    [
        (lambda m: m.LazyLinear(3), lambda m: m.Linear(5, 3), (2, 5)),
        (lambda m: m.LazyConv2d(4, 2), lambda m: m.Conv2d(3, 4, 2), (1, 3, 4, 4)),
        (lambda m: m.LazyBatchNorm1d(), lambda m: m.BatchNorm1d(3), (4, 3)),
    ],
)
def test_load_state_dict_materializes_placeholders(device, lazy, layer, shape):
    source = layer(tnn).double()
    ours, theirs = lazy(nn), lazy(tnn).double()
    theirs.load_state_dict(source.state_dict())
    ours.load_state_dict({k: gg.tensor(v.numpy()) for k, v in source.state_dict().items()})
    ours.double().to(device)
    x = RNG.standard_normal(shape)
    result = ours(gg.tensor(x, device=device))
    expected = theirs(torch.tensor(x))
    np.testing.assert_allclose(result.detach().cpu().numpy(), expected.detach().numpy(), 1e-10)
    assert repr(ours) == repr(theirs)
