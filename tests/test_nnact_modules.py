"""The layers of task nnact against PyTorch's: reprs, constructor signatures, state_dict
keys, forward values and gradients in float64, train/eval behaviour of the random ones."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import gpugrad as gg
from tests.against_torch import assert_raises_like_torch

torch = pytest.importorskip("torch")

# (class name, constructor args, input shape)
LAYERS = [
    ("CELU", (0.5,), (2, 3)),
    ("CELU", (1.0, True), (2, 3)),
    ("GLU", (), (2, 4)),
    ("GLU", (0,), (2, 4)),
    ("Hardshrink", (), (2, 3)),
    ("Hardshrink", (1.5,), (2, 3)),
    ("Hardsigmoid", (), (2, 3)),
    ("Hardsigmoid", (True,), (2, 3)),
    ("Hardswish", (), (2, 3)),
    ("LogSigmoid", (), (2, 3)),
    ("PReLU", (), (2, 3, 4)),
    ("PReLU", (3, 0.1), (2, 3, 4)),
    ("RReLU", (), (2, 3)),
    ("RReLU", (0.1, 0.3, True), (2, 3)),
    ("ReLU6", (), (2, 3)),
    ("ReLU6", (True,), (2, 3)),
    ("SELU", (), (2, 3)),
    ("SELU", (True,), (2, 3)),
    ("Softmin", (1,), (2, 3)),
    ("Softshrink", (0.75,), (2, 3)),  # PyTorch rounds an inexact lambd to float32 in its
    # scalar tail loop (not in its vector loop), even for float64 inputs
    ("Softsign", (), (2, 3)),
    ("Tanhshrink", (), (2, 3)),
    ("Threshold", (0.1, 20), (2, 3)),
    ("Threshold", (0.1, 20.0, True), (2, 3)),
    ("Softmax2d", (), (2, 3, 4, 2)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad2d", ((1, 2, 0, 1), 0.5), (2, 3, 4)),
    ("ConstantPad3d", (1, 2.0), (1, 2, 2, 2)),
    ("ZeroPad1d", ((1, 2),), (2, 3)),
    ("ZeroPad2d", ((1, 2, 3, 4),), (1, 2, 3)),
    ("ZeroPad3d", (1,), (1, 2, 2, 2)),
    ("ReflectionPad1d", (2,), (2, 3, 4)),
    ("ReflectionPad2d", ((1, 2, 2, 1),), (1, 2, 3, 4)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), (2, 4)),
    ("ReplicationPad2d", (2,), (1, 2, 3, 4)),
    ("ReplicationPad3d", ((1, 2, 0, 1, 2, 0),), (2, 2, 3, 2)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4)),
    ("CircularPad3d", (1,), (1, 2, 2, 3, 2)),
    ("PixelShuffle", (2,), (1, 8, 2, 3)),
    ("PixelUnshuffle", (2,), (1, 2, 4, 6)),
    ("ChannelShuffle", (3,), (2, 6, 2)),
    ("Upsample", (None, 2), (1, 2, 3)),
    ("Upsample", ((4, 5), None, "bilinear", True), (1, 2, 3, 3)),
    ("Upsample", (None, (1.5, 2), "bicubic"), (1, 2, 3, 3)),
    ("Upsample", (None, 0.5, "area"), (1, 2, 4, 6)),
    ("UpsamplingNearest2d", (None, 2), (1, 2, 3, 3)),
    ("UpsamplingBilinear2d", ((5, 4),), (1, 2, 3, 3)),
    ("Fold", ((4, 5), (2, 2)), (2, 12, 12)),
    ("Fold", (3, 2, 1, 1, 2), (8, 4)),
    ("Unfold", ((2, 3),), (2, 3, 4, 5)),
    ("Unfold", (3, 2, 1, 2), (1, 2, 5, 5)),
]


def _make(module, name, args):
    return getattr(module, name)(*args)


@pytest.mark.parametrize(("name", "args", "shape"), LAYERS)
def test_layer_matches_torch(name, args, shape, device):
    ours, theirs = _make(gg.nn, name, args), _make(torch.nn, name, args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.to(device)
    ours.eval(), theirs.eval()
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].cpu().numpy(), value.numpy())
    values = np.random.default_rng(0).standard_normal(shape) * 2
    x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    inplace = getattr(ours, "inplace", False)
    out = ours.double()(x * 1.0 if inplace else x)
    expected = theirs.double()(tx * 1.0 if inplace else tx)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(gg.tensor(upstream, device=device))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-12)
    for (key, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.numpy(), atol=1e-12, err_msg=key)


@pytest.mark.parametrize(
    "name",
    sorted(
        {name for name, _, _ in LAYERS}
        | {"AlphaDropout", "FeatureAlphaDropout", "Dropout1d", "Dropout3d"}
        | {"CosineSimilarity", "PairwiseDistance"}
    ),
)
def test_constructor_signature_matches_torch(name):
    ours = inspect.signature(getattr(gg.nn, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    assert list(ours) == list(theirs)
    for key, p in ours.items():
        assert p.default == theirs[key].default, key
    assert name in gg.nn.__all__


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("CosineSimilarity", ()),
        ("CosineSimilarity", (0, 1e-3)),
        ("PairwiseDistance", ()),
        ("PairwiseDistance", (1.0, 1e-3, True)),
    ],
)
def test_distance_layers(name, args, device):
    ours, theirs = _make(gg.nn, name, args), _make(torch.nn, name, args)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    out = ours(gg.tensor(a, device=device), gg.tensor(b, device=device))
    np.testing.assert_allclose(out.cpu().numpy(), theirs(torch.tensor(a), torch.tensor(b)).numpy())


def test_prelu_parameter_dtype_device_and_training(device):
    layer = gg.nn.PReLU(4, init=0.1, dtype=gg.float64, device=device)
    assert layer.weight.dtype == gg.float64 and layer.weight.shape == (4,)
    assert (layer.weight == 0.1).all()
    opt = gg.optim.SGD(layer.parameters(), lr=0.5)
    x = -gg.ones(2, 4, 3, dtype=gg.float64, device=device)
    layer(x).sum().backward()
    opt.step()
    np.testing.assert_allclose(layer.weight.detach().cpu().numpy(), 0.1 + 0.5 * 6)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("Dropout1d", (20, 30, 4)),
        ("Dropout3d", (10, 30, 2, 2, 2)),
        ("FeatureAlphaDropout", (20, 30, 4)),
    ],
)
def test_channel_dropout_layers_train_and_eval(name, shape, device):
    gg.manual_seed(0)
    layer = getattr(gg.nn, name)(0.3)
    assert repr(layer) == repr(getattr(torch.nn, name)(0.3))
    x = gg.randn(*shape, dtype=gg.float64, device=device)
    out = layer(x).cpu().numpy()
    per_channel = out.reshape(shape[0] * shape[1], -1)
    values = x.cpu().numpy().reshape(shape[0] * shape[1], -1)
    ratio = per_channel / values
    assert np.allclose(ratio, ratio[:, :1]) or name == "FeatureAlphaDropout"
    layer.eval()
    assert layer(x) is x


def test_alpha_dropout_layer(device):
    gg.manual_seed(0)
    layer = gg.nn.AlphaDropout(0.2)
    assert repr(layer) == "AlphaDropout(p=0.2, inplace=False)"
    x = gg.randn(200000, dtype=gg.float64, device=device)
    out = layer(x).cpu().numpy()
    assert abs(out.mean()) < 0.01 and abs(out.std() - 1) < 0.01
    layer.eval()
    assert layer(x) is x
    assert_raises_like_torch(lambda: gg.nn.AlphaDropout(1.5), lambda: torch.nn.AlphaDropout(1.5))


def test_rrelu_layer_train_and_eval(device):
    layer = gg.nn.RReLU(0.1, 0.3)
    x = -gg.ones(1000, dtype=gg.float64, device=device)
    slopes = -layer(x).cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    layer.eval()
    np.testing.assert_allclose(-layer(x).cpu().numpy(), 0.2)


@pytest.mark.parametrize(
    ("call", "shape"),
    [
        (lambda nn, x: nn.Softmax2d()(x), (3, 4)),
        (lambda nn, x: nn.CircularPad1d(1)(x), (2, 3, 4, 5)),
        (lambda nn, x: nn.CircularPad2d(1)(x), (3, 4)),
        (lambda nn, x: nn.CircularPad3d(1)(x), (3, 4, 5)),
        (lambda nn, x: nn.ReflectionPad1d(4)(x), (2, 3, 4)),
        (lambda nn, x: nn.PixelShuffle(3)(x), (1, 8, 2, 2)),
        (lambda nn, x: nn.Fold((4, 5), (2, 2))(x), (1, 12, 11)),
    ],
)
def test_layer_errors_match_torch(call, shape):
    values = np.zeros(shape)
    assert_raises_like_torch(
        lambda: call(gg.nn, gg.tensor(values)), lambda: call(torch.nn, torch.tensor(values))
    )


def test_inplace_layer_writes_into_its_input(device):
    x = gg.tensor([-1.0, 0.5, 7.0], device=device)
    assert gg.nn.ReLU6(inplace=True)(x) is x
    np.testing.assert_allclose(x.cpu().numpy(), [0.0, 0.5, 6.0])
    y = gg.tensor([-1.0, 2.0], device=device)
    gg.nn.Hardswish(inplace=True)(y)
    np.testing.assert_allclose(y.cpu().numpy(), [-1.0 * 2 / 6, 2.0 * 5 / 6], rtol=1e-6)
