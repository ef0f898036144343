"""The n-d convolution, pooling and normalization layers (task s7-nnpool) against PyTorch:
weights copied across through ``load_state_dict`` (so state_dict keys must match), float64
values and gradients of the input and parameters in train and eval mode, running
statistics, default initialization, reprs and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from against_torch import assert_raises_like_torch
from test_nn_layers import _compare

import gpugrad as gg
from gpugrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

RNG = np.random.default_rng(11)


def _x(*shape):
    return RNG.standard_normal(shape)


CASES = [
    (
        "Conv3d",
        lambda m: m.Conv3d(4, 6, (2, 3, 2), stride=(1, 2, 1), padding=1, groups=2),
        [_x(2, 4, 4, 5, 4)],
    ),
    (
        "Conv3d-circular",
        lambda m: m.Conv3d(2, 3, 3, padding=1, padding_mode="circular"),
        [_x(1, 2, 4, 4, 5)],
    ),
    (
        "Conv3d-reflect-same",
        lambda m: m.Conv3d(2, 2, 2, padding="same", padding_mode="reflect"),
        [_x(2, 4, 4, 3)],
    ),
    (
        "Conv1d-replicate",
        lambda m: m.Conv1d(2, 3, 3, padding=2, padding_mode="replicate"),
        [_x(2, 2, 6)],
    ),
    (
        "ConvTranspose1d",
        lambda m: m.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        [_x(2, 4, 5)],
    ),
    (
        "ConvTranspose3d",
        lambda m: m.ConvTranspose3d(2, 3, 2, stride=(2, 1, 2), dilation=(1, 2, 1), bias=False),
        [_x(2, 2, 3, 4, 3)],
    ),
    ("MaxPool3d", lambda m: m.MaxPool3d(2, 1, 1, return_indices=True), [_x(2, 2, 4, 5, 3)]),
    ("AvgPool1d", lambda m: m.AvgPool1d(3, 2, 1, ceil_mode=True), [_x(2, 3, 8)]),
    ("AvgPool3d", lambda m: m.AvgPool3d(2, divisor_override=5), [_x(2, 2, 4, 5, 4)]),
    ("LPPool1d", lambda m: m.LPPool1d(2, 3), [_x(2, 3, 9)]),
    ("LPPool2d", lambda m: m.LPPool2d(1.5, (2, 3), 2), [np.abs(_x(2, 3, 6, 7)) + 0.1]),
    ("LPPool3d", lambda m: m.LPPool3d(2, 2), [_x(1, 2, 4, 4, 4)]),
    ("AdaptiveAvgPool1d", lambda m: m.AdaptiveAvgPool1d(4), [_x(2, 3, 9)]),
    ("AdaptiveAvgPool3d", lambda m: m.AdaptiveAvgPool3d((3, None, 2)), [_x(2, 2, 5, 4, 7)]),
    ("AdaptiveMaxPool1d", lambda m: m.AdaptiveMaxPool1d(4, return_indices=True), [_x(2, 3, 9)]),
    ("AdaptiveMaxPool2d", lambda m: m.AdaptiveMaxPool2d((3, 2)), [_x(2, 3, 7, 5)]),
    ("AdaptiveMaxPool3d", lambda m: m.AdaptiveMaxPool3d(2, True), [_x(2, 5, 3, 7)]),
    ("BatchNorm3d", lambda m: m.BatchNorm3d(3), [_x(2, 3, 2, 3, 4)]),
    ("SyncBatchNorm", lambda m: m.SyncBatchNorm(3, momentum=None), [_x(4, 3, 5)]),
    ("InstanceNorm1d", lambda m: m.InstanceNorm1d(3), [_x(2, 3, 6)]),
    ("InstanceNorm1d-unbatched", lambda m: m.InstanceNorm1d(3, affine=True), [_x(3, 6)]),
    (
        "InstanceNorm2d-tracked",
        lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True),
        [_x(2, 3, 4, 5)],
    ),
    (
        "InstanceNorm3d",
        lambda m: m.InstanceNorm3d(2, momentum=0.3, track_running_stats=True),
        [_x(2, 2, 3, 4, 2)],
    ),
    ("LocalResponseNorm", lambda m: m.LocalResponseNorm(3, alpha=0.1, k=2.0), [_x(2, 5, 4, 3)]),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("factory", "inputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_matches_torch(device, factory, inputs, train):
    torch.manual_seed(0)
    _compare(factory(tnn), factory(nn), inputs, device, train)


def test_max_unpool_layers_invert_max_pool(device):
    for n, shape in ((1, (2, 3, 8)), (2, (2, 3, 6, 6)), (3, (1, 2, 4, 4, 6))):
        x = _x(*shape)
        ours = getattr(nn, f"MaxPool{n}d")(2, return_indices=True)(gg.tensor(x, device=device))
        theirs = getattr(tnn, f"MaxPool{n}d")(2, return_indices=True)(torch.tensor(x))
        unpooled = getattr(nn, f"MaxUnpool{n}d")(2)(*ours)
        expected = getattr(tnn, f"MaxUnpool{n}d")(2)(*theirs)
        np.testing.assert_array_equal(unpooled.cpu().numpy(), expected.numpy())


def test_conv_transpose_output_size(device):
    x = _x(1, 2, 4, 3, 4)
    theirs = tnn.ConvTranspose3d(2, 3, 3, stride=2)
    ours = nn.ConvTranspose3d(2, 3, 3, stride=2).double().to(device)
    ours.load_state_dict(
        {
            k: gg.tensor(v.double().detach().numpy(), device=device)
            for k, v in theirs.state_dict().items()
        }
    )
    expected = theirs.double()(torch.tensor(x), output_size=[10, 8, 10])
    result = ours(gg.tensor(x, device=device), output_size=[10, 8, 10])
    np.testing.assert_allclose(result.detach().cpu().numpy(), expected.detach().numpy(), 1e-10)


def test_crossmaplrn2d_values_and_gradcheck(device):
    x = _x(2, 7, 3, 4)
    for size in (1, 3, 4):
        expected = tnn.CrossMapLRN2d(size, 0.5, 0.8, 1.5)(torch.tensor(x))
        result = nn.CrossMapLRN2d(size, 0.5, 0.8, 1.5)(gg.tensor(x, device=device))
        np.testing.assert_allclose(result.cpu().numpy(), expected.numpy(), 1e-12)
    t = gg.tensor(_x(1, 5, 2, 2), device=device, requires_grad=True)
    assert gg.autograd.gradcheck(nn.CrossMapLRN2d(3, 0.5, 0.8, 1.5), (t,))


def test_instance_norm_running_statistics_over_steps(device):
    ours, theirs = (
        nn.InstanceNorm1d(3, track_running_stats=True),
        tnn.InstanceNorm1d(3, track_running_stats=True),
    )
    ours.double().to(device)
    theirs.double()
    for _ in range(3):
        x = _x(4, 3, 5)
        ours(gg.tensor(x, device=device))
        theirs(torch.tensor(x))
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(dict(ours.named_buffers())[name].cpu().numpy(), b.numpy(), 1e-12)


def test_convert_sync_batchnorm():
    model = nn.Sequential(
        nn.Conv2d(2, 3, 1),
        nn.BatchNorm2d(3),
        nn.Sequential(nn.BatchNorm1d(4)),
        nn.InstanceNorm1d(2),
    )
    weight = model[1].weight
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert type(converted[3]) is nn.InstanceNorm1d and converted[1].weight is weight
    reference = tnn.SyncBatchNorm.convert_sync_batchnorm(
        tnn.Sequential(
            tnn.Conv2d(2, 3, 1),
            tnn.BatchNorm2d(3),
            tnn.Sequential(tnn.BatchNorm1d(4)),
            tnn.InstanceNorm1d(2),
        )
    )
    assert repr(converted) == repr(reference)
    assert list(converted.state_dict()) == list(reference.state_dict())


def _bound_check(param, bound):
    values = param.detach().cpu().numpy()
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.8 * bound  # spread over the interval, not a constant


@pytest.mark.parametrize(
    ("factory", "bounds"),
    [
        (lambda: nn.Conv3d(4, 60, 3), {"weight": 1 / math.sqrt(108), "bias": 1 / math.sqrt(108)}),
        (
            lambda: nn.ConvTranspose1d(4, 60, 3, groups=2),
            {"weight": 1 / math.sqrt(90), "bias": 1 / math.sqrt(90)},
        ),
        (lambda: nn.ConvTranspose3d(8, 40, 2), {"weight": 1 / math.sqrt(320)}),
    ],
)
def test_default_initialization_bounds(factory, bounds):
    gg.manual_seed(0)
    params = dict(factory().named_parameters())
    for name, bound in bounds.items():
        _bound_check(params[name], bound)


REPRS = [
    lambda m: m.Conv3d(2, 4, 3, padding=1, padding_mode="circular", groups=2),
    lambda m: m.ConvTranspose1d(2, 3, 2),
    lambda m: m.ConvTranspose3d(2, 4, 2, stride=2, output_padding=1, groups=2, bias=False),
    lambda m: m.MaxPool3d(2, ceil_mode=True),
    lambda m: m.AvgPool1d(2),
    lambda m: m.AvgPool3d(2, 1),
    lambda m: m.LPPool1d(2, 3, 1),
    lambda m: m.LPPool2d(2, 3),
    lambda m: m.LPPool3d(1.5, (1, 2, 3)),
    lambda m: m.AdaptiveAvgPool1d(3),
    lambda m: m.AdaptiveAvgPool3d((2, None, 1)),
    lambda m: m.AdaptiveMaxPool1d(3, return_indices=True),
    lambda m: m.AdaptiveMaxPool2d((2, None)),
    lambda m: m.AdaptiveMaxPool3d(2),
    lambda m: m.MaxUnpool1d(2),
    lambda m: m.MaxUnpool2d(2, 1),
    lambda m: m.MaxUnpool3d(2, padding=1),
    lambda m: m.BatchNorm3d(3, momentum=None),
    lambda m: m.SyncBatchNorm(3, affine=False),
    lambda m: m.InstanceNorm1d(3),
    lambda m: m.InstanceNorm2d(3, affine=True, track_running_stats=True),
    lambda m: m.InstanceNorm3d(3, bias=False, affine=True),
    lambda m: m.LocalResponseNorm(2),
    lambda m: m.CrossMapLRN2d(3, k=2),
]


@pytest.mark.parametrize("factory", REPRS)
def test_repr_and_state_dict_keys_match_torch(factory):
    ours, theirs = factory(nn), factory(tnn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize(
    "call",
    [
        lambda m, t: m.Conv3d(3, 4, 3)(t.zeros(2, 4, 5, 5, 5)),
        lambda m, t: m.Conv3d(3, 4, 3)(t.zeros(2, 3, 5, 5)),
        lambda m, t: m.Conv3d(3, 4, 3)(t.zeros(3, 2, 2, 2)),
        lambda m, t: m.ConvTranspose3d(2, 3, 2, padding_mode="reflect"),
        lambda m, t: m.ConvTranspose1d(2, 3, 3, stride=2)(t.zeros(1, 2, 4), output_size=[20]),
        lambda m, t: m.ConvTranspose3d(2, 3, 3, stride=2)(
            t.zeros(1, 2, 4, 4, 4), output_size=[9, 9]
        ),
        lambda m, t: m.ConvTranspose3d(2, 3, 3, stride=2)(
            t.zeros(1, 2, 4, 4, 4), output_size=[20, 9, 9]
        ),
        lambda m, t: m.MaxPool3d(6)(t.zeros(1, 2, 4, 4, 4)),
        lambda m, t: m.AvgPool3d(5)(t.zeros(1, 2, 4, 4, 4)),
        lambda m, t: m.BatchNorm3d(3)(t.zeros(2, 3, 4, 4)),
        lambda m, t: m.SyncBatchNorm(3)(t.zeros(3)),
        lambda m, t: m.InstanceNorm2d(3)(t.zeros(2, 3)),
        lambda m, t: m.InstanceNorm1d(3, affine=True)(t.zeros(2, 4, 5)),
        lambda m, t: m.InstanceNorm1d(3)(t.zeros(2, 3, 1)),
        lambda m, t: m.CrossMapLRN2d(3)(t.zeros(2, 3, 4)),
        lambda m, t: m.LocalResponseNorm(3)(t.zeros(2, 3)),
    ],
)
def test_errors_match_torch(call):
    assert_raises_like_torch(lambda: call(nn, gg), lambda: call(tnn, torch))


def test_instance_norm_warns_on_channel_mismatch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.InstanceNorm1d(3)(gg.zeros(2, 4, 5))
    assert any("does not match num_features" in str(w.message) for w in caught)


def test_fractional_max_pool_modules_match_torch(device):
    samples = RNG.random((2, 3, 3))
    x = _x(2, 3, 6, 7, 8)
    for n, kwargs in ((2, {"output_size": (3, 4)}), (3, {"output_ratio": (0.5, 0.5, 0.6)})):
        inputs = x[:, :, 0] if n == 2 else x

        def factory(m, n=n, kwargs=kwargs):
            module = torch if m is tnn else gg
            seeds = module.tensor(samples[:, :, :n])
            return getattr(m, f"FractionalMaxPool{n}d")(
                2, return_indices=True, _random_samples=seeds, **kwargs
            )

        assert repr(factory(nn)) == repr(factory(tnn))
        _compare(factory(tnn), factory(nn), [inputs], device, train=True)
