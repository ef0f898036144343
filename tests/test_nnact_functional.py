"""The activation, dropout, shuffle and distance functions of task nnact against PyTorch:
``gpugrad.nn.functional.celu`` … and their top-level forms (``gpugrad.celu``,
``gpugrad.pixel_shuffle``, ``Tensor.hardshrink`` …): values and gradients in float64 for
the same inputs and upstream gradient, gradchecks, in-place semantics, error texts, and
the statistics of the random ones."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from tests.against_torch import assert_raises_like_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(shape, device, seed=0, scale=3.0):
    """The same float64 leaf in gpugrad (on ``device``) and in PyTorch."""
    values = np.random.default_rng(seed).standard_normal(shape) * scale
    ours = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    theirs = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    return ours, theirs


def _compare(ours_fn, theirs_fn, ours_inputs, theirs_inputs, atol=1e-10):
    """Values and gradients (for one random upstream gradient) agree."""
    out, expected = ours_fn(*ours_inputs), theirs_fn(*theirs_inputs)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), atol=atol)
    upstream = np.random.default_rng(7).standard_normal(tuple(expected.shape))
    out.backward(gg.tensor(upstream, dtype=gg.float64, device=out.device))
    expected.backward(torch.tensor(upstream))
    for a, b in zip(ours_inputs, theirs_inputs, strict=True):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), atol=atol)


ELEMENTWISE = [
    ("celu", {}),
    ("celu", {"alpha": 0.5}),
    ("selu", {}),
    ("hardshrink", {}),
    ("hardshrink", {"lambd": 1.5}),
    ("softshrink", {"lambd": 0.75}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("logsigmoid", {}),
    ("relu6", {}),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("threshold", {"threshold": 0.4, "value": -2.0}),
    ("rrelu", {}),
    ("rrelu", {"lower": 0.2, "upper": 0.6}),
]


@pytest.mark.parametrize(("name", "kwargs"), ELEMENTWISE)
def test_elementwise_matches_torch(name, kwargs, device):
    ours, theirs = _pair((4, 5), device)
    _compare(
        lambda x: getattr(F, name)(x, **kwargs),
        lambda x: getattr(TF, name)(x, **kwargs),
        [ours],
        [theirs],
    )


@pytest.mark.parametrize("name", ["glu", "softmin"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_dim_functions_match_torch(name, dim, device):
    ours, theirs = _pair((4, 6), device)
    _compare(
        lambda x: getattr(F, name)(x, dim=dim),
        lambda x: getattr(TF, name)(x, dim=dim),
        [ours],
        [theirs],
    )


@pytest.mark.parametrize(
    ("shape", "weight"),
    [((2, 3, 4), [0.25]), ((2, 3, 4), [0.1, -0.2, 0.3]), ((5,), [0.4]), ((2, 3), [0.1, 0.2, 0.3])],
)
def test_prelu_matches_torch(shape, weight, device):
    ours, theirs = _pair(shape, device)
    w = gg.tensor(weight, dtype=gg.float64, device=device, requires_grad=True)
    tw = torch.tensor(weight, dtype=torch.float64, requires_grad=True)
    _compare(F.prelu, TF.prelu, [ours, w], [theirs, tw])
    assert gg.prelu is F.prelu and gg.Tensor.prelu is gg.prelu


@pytest.mark.parametrize(
    ("name", "shape", "factor"),
    [
        ("pixel_shuffle", (2, 8, 3, 2), 2),
        ("pixel_shuffle", (9, 2, 2), 3),
        ("pixel_shuffle", (2, 1, 4, 2, 3), 2),
        ("pixel_unshuffle", (2, 2, 4, 6), 2),
        ("pixel_unshuffle", (1, 3, 6, 3), 3),
        ("channel_shuffle", (2, 6, 3), 3),
        ("channel_shuffle", (2, 6, 2, 2), 2),
        ("native_channel_shuffle", (1, 4, 5), 2),
    ],
)
def test_shuffles_match_torch(name, shape, factor, device):
    ours, theirs = _pair(shape, device)
    _compare(
        lambda x: getattr(F, name)(x, factor),
        # PyTorch's native_channel_shuffle has no derivative; its values are channel_shuffle's
        lambda x: getattr(TF, name.removeprefix("native_"))(x, factor),
        [ours],
        [theirs],
    )
    assert getattr(gg, name) is getattr(F, name)


@pytest.mark.parametrize("p", [0, 0.5, 1, 2, 3.5, float("inf")])
def test_pdist_matches_torch(p, device):
    ours, theirs = _pair((5, 3), device)
    _compare(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), [ours], [theirs])


def test_pdist_of_equal_rows_has_zero_gradient(device):
    x = gg.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]], dtype=gg.float64, device=device)
    x.requires_grad_()
    out = gg.pdist(x)
    out.sum().backward()
    assert out[0].item() == 0.0 and np.isfinite(x.grad.cpu().numpy()).all()
    assert gg.pdist(gg.zeros(1, 3, device=device)).shape == (0,)


def test_top_level_forms_match_torch(device):
    ours, theirs = _pair((3, 4), device)
    for name, args in (
        ("celu", (0.7,)),
        ("selu", ()),
        ("threshold", (0.1, 5.0)),
        ("hardshrink", (0.3,)),
        ("rrelu", (0.1, 0.3, False)),
    ):
        out = getattr(gg, name)(ours, *args)
        np.testing.assert_allclose(
            out.detach().cpu().numpy(), getattr(torch, name)(theirs, *args).detach().numpy()
        )
    np.testing.assert_allclose(
        ours.hardshrink(0.3).detach().cpu().numpy(), theirs.hardshrink(0.3).detach().numpy()
    )


@pytest.mark.parametrize(
    ("function", "args"),
    [
        (F.celu, (0.8,)),
        (F.selu, ()),
        (F.softshrink, (0.3,)),
        (F.hardswish, ()),
        (F.logsigmoid, ()),
        (F.softsign, ()),
        (F.tanhshrink, ()),
        (F.glu, (0,)),
        (F.softmin, (1,)),
        (lambda x: F.pixel_shuffle(x.reshape(1, 4, 1, 2), 2), ()),
        (F.pdist, ()),
    ],
)
def test_gradcheck(function, args, device):
    x = gg.tensor(
        np.random.default_rng(3).uniform(-2, 2, (4, 2)), dtype=gg.float64, device=device
    ).requires_grad_()
    assert gg.autograd.gradcheck(lambda t: function(t, *args), (x,))
    assert gg.autograd.gradgradcheck(lambda t: function(t, *args), (x,))


# --- in-place forms ---------------------------------------------------------------------------
INPLACE = [
    (F.celu_, torch.celu_, (0.5,)),
    (F.selu_, torch.selu_, ()),
    (F.elu_, TF.elu_, (0.7,)),
    (F.relu_, torch.relu_, ()),
    (F.hardtanh_, TF.hardtanh_, (-0.5, 0.5)),
    (F.leaky_relu_, TF.leaky_relu_, (0.2,)),
    (F.threshold_, torch.threshold_, (0.1, 3.0)),
    (F.rrelu_, torch.rrelu_, (0.1, 0.3, False)),
]


@pytest.mark.parametrize(("ours_fn", "theirs_fn", "args"), INPLACE)
def test_inplace_forms_write_and_differentiate(ours_fn, theirs_fn, args, device):
    ours, theirs = _pair((3, 4), device)
    a, b = ours * 1.0, theirs * 1.0
    version = a._version
    assert ours_fn(a, *args) is a
    assert a._version > version
    theirs_fn(b, *args)
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), atol=1e-12)
    (a * a).sum().backward()
    (b * b).sum().backward()
    np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), atol=1e-10)
    leaf = gg.ones(2, requires_grad=True, device=device)
    assert_raises_like_torch(
        lambda: ours_fn(leaf, *args), lambda: theirs_fn(torch.ones(2, requires_grad=True), *args)
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("celu", {}),
        ("selu", {}),
        ("hardsigmoid", {}),
        ("hardswish", {}),
        ("relu6", {}),
        ("threshold", {"threshold": 0.0, "value": 1.0}),
        ("rrelu", {}),
    ],
)
def test_inplace_keyword(name, kwargs, device):
    ours, theirs = _pair((3, 4), device)
    a = ours.detach().clone()
    out = getattr(F, name)(a, inplace=True, **kwargs)
    expected = getattr(TF, name)(theirs.detach().clone(), inplace=True, **kwargs)
    assert out is a
    np.testing.assert_allclose(a.cpu().numpy(), expected.numpy(), atol=1e-12)


def test_top_level_inplace_names_exist():
    for name in (
        "celu_",
        "selu_",
        "relu_",
        "rrelu_",
        "threshold_",
        "dropout_",
        "alpha_dropout_",
        "feature_dropout_",
        "feature_alpha_dropout_",
    ):
        assert callable(getattr(gg, name)) and hasattr(torch, name)


# --- errors -----------------------------------------------------------------------------------
ERRORS = [
    (lambda m, x: m.glu(x, 1), (2, 3, 4)),
    (lambda m, x: m.glu(x.sum()), (2,)),
    (lambda m, x: m.softshrink(x, -1), (2,)),
    (lambda m, x: m.celu(x, 0.0), (2,)),
    (lambda m, x: m.prelu(x, x[0, :2, 0]), (2, 3, 4)),
    (lambda m, x: m.prelu(x, x[:1, :1]), (2, 3, 4)),
    (lambda m, x: m.rrelu(x, 0.5, 0.2, True), (2,)),
    (lambda m, x: m.pixel_shuffle(x, 2), (2, 3, 4)),
    (lambda m, x: m.pixel_shuffle(x, 2), (8, 2)),
    (lambda m, x: m.pixel_shuffle(x, 0), (1, 8, 2, 2)),
    (lambda m, x: m.pixel_unshuffle(x, 2), (1, 2, 3, 4)),
    (lambda m, x: m.pixel_unshuffle(x, 2), (1, 2, 4, 3)),
    (lambda m, x: m.pixel_unshuffle(x, 0), (1, 2, 4, 4)),
    (lambda m, x: m.channel_shuffle(x, 4), (1, 6, 2)),
    (lambda m, x: m.channel_shuffle(x, 0), (1, 6, 2)),
    (lambda m, x: m.channel_shuffle(x, 2), (2, 6)),
    (lambda m, x: m.pdist(x), (3, 4, 5)),
    (lambda m, x: m.pdist(x, -1), (3, 4)),
    (lambda m, x: m.alpha_dropout(x, 1.5, True), (3,)),
    (lambda m, x: m.dropout1d(x, 0.5, True), (2, 3, 4, 5)),
    (lambda m, x: m.dropout1d(x, -0.5, True), (2, 3)),
    (lambda m, x: m.feature_alpha_dropout(x, 0.5, True), (3,)),
]


@pytest.mark.parametrize(("call", "shape"), ERRORS)
def test_errors_match_torch(call, shape, device):
    values = np.random.default_rng(0).standard_normal(shape)
    assert_raises_like_torch(
        lambda: call(F, gg.tensor(values, dtype=gg.float32, device=device)),
        lambda: call(TF, torch.tensor(values, dtype=torch.float32)),
    )


def test_pdist_refuses_integers():
    assert_raises_like_torch(
        lambda: gg.pdist(gg.ones(3, 2, dtype=gg.int64)),
        lambda: torch.pdist(torch.ones(3, 2, dtype=torch.int64)),
    )


def test_softmin_warns_on_implicit_dim(device):
    x = gg.randn(2, 3, device=device)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        out = F.softmin(x)
    np.testing.assert_allclose(out.sum(1).cpu().numpy(), [1.0, 1.0], rtol=1e-6)


def test_dropout3d_warns_on_other_ranks(device):
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input"):
        F.dropout3d(gg.randn(2, 3, 4, device=device), 0.5, training=True)


def test_signatures_match_torch():
    for name in (
        "celu",
        "glu",
        "hardsigmoid",
        "hardswish",
        "relu6",
        "rrelu",
        "selu",
        "softmin",
        "threshold",
        "alpha_dropout",
        "feature_alpha_dropout",
        "dropout1d",
        "dropout3d",
        "gumbel_softmax",
    ):
        ours = inspect.signature(getattr(F, name))
        theirs = inspect.signature(getattr(TF, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for p in ours.parameters.values():
            assert p.default == theirs.parameters[p.name].default, (name, p.name)


# --- random ones ------------------------------------------------------------------------------
def test_rrelu_training_draws_slopes_in_range(device):
    gg.manual_seed(0)
    x = -gg.ones(20000, dtype=gg.float64, device=device)
    slopes = -F.rrelu(x, 0.1, 0.3, training=True).cpu().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005 and abs(slopes.var() - 0.2**2 / 12) < 5e-4
    positive = gg.ones(5, device=device)
    assert (F.rrelu(positive, training=True) == positive).all()
    gg.manual_seed(1)
    first = F.rrelu(x, training=True)
    gg.manual_seed(1)
    assert (F.rrelu(x, training=True) == first).all()


def test_rrelu_training_gradient_is_the_drawn_slope(device):
    x = gg.tensor([-1.0, -2.0, 3.0], dtype=gg.float64, device=device, requires_grad=True)
    out = F.rrelu(x, training=True)
    out.sum().backward()
    expected = (out / x).detach().cpu().numpy()
    np.testing.assert_allclose(x.grad.cpu().numpy(), expected)


@pytest.mark.parametrize("function", [F.alpha_dropout, F.feature_alpha_dropout])
def test_alpha_dropout_keeps_mean_and_variance(function, device):
    gg.manual_seed(0)
    x = gg.randn(400, 100, 4, dtype=gg.float64, device=device)
    out = function(x, 0.3, training=True).cpu().numpy()
    assert abs(out.mean()) < 0.03 and abs(out.std() - 1) < 0.03
    assert function(x, 0.3) is x  # training defaults to False
    assert (function(x, 1.0, training=True) == 0).all()


def test_alpha_dropout_values(device):
    """Dropped elements take ``-alpha * a + alpha * a * p`` ... the affine map PyTorch uses."""
    gg.manual_seed(3)
    p = 0.25
    x = gg.randn(2000, dtype=gg.float64, device=device)
    out = F.alpha_dropout(x, p, True).cpu().numpy()
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    dropped_value = -alpha * a + alpha * a * p
    kept = np.isclose(out, x.cpu().numpy() * a + alpha * a * p)
    assert np.allclose(out[~kept], dropped_value)
    assert abs((~kept).mean() - p) < 0.04


@pytest.mark.parametrize(
    ("function", "shape"),
    [(F.dropout1d, (50, 40, 6)), (F.dropout1d, (40, 6)), (F.dropout3d, (10, 30, 2, 2, 2))],
)
def test_channel_dropouts_zero_whole_channels(function, shape, device):
    gg.manual_seed(0)
    x = gg.ones(*shape, dtype=gg.float64, device=device)
    out = function(x, 0.4).cpu().numpy()
    channels = out.reshape(
        int(np.prod(shape[: len(shape) - (1 if function is F.dropout1d else 3)])), -1
    )
    assert set(np.unique(channels)) <= {0.0, 1 / 0.6}
    assert all(len(set(row)) == 1 for row in channels)
    assert abs((channels[:, 0] == 0).mean() - 0.4) < 0.1
    assert function(x, 0.4, training=False) is x
    y = x.clone()
    assert function(y, 0.4, inplace=True) is y and (y.cpu().numpy() == out).sum() >= 0


def test_top_level_dropouts(device):
    gg.manual_seed(0)
    x = gg.ones(100, 50, dtype=gg.float64, device=device)
    out = gg.dropout(x, 0.2, True).cpu().numpy()
    assert set(np.unique(out)) == {0.0, 1.25}
    features = gg.feature_dropout(x.reshape(10, 10, 50), 0.5, True).cpu().numpy()
    assert all(len(set(row)) == 1 for row in features.reshape(100, 50))
    assert gg.dropout(x, 0.2, False) is x
    y = x.clone()
    assert gg.dropout_(y, 0.5, True) is y and (y == 0).any()


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax(hard, device):
    gg.manual_seed(0)
    logits = gg.tensor(np.log([0.1, 0.2, 0.7]), dtype=gg.float64, device=device)
    logits = logits.expand(20000, 3).clone().requires_grad_()
    out = F.gumbel_softmax(logits, tau=0.5, hard=hard)
    np.testing.assert_allclose(out.sum(-1).detach().cpu().numpy(), 1.0)
    if hard:
        assert set(np.unique(out.detach().cpu().numpy())) == {0.0, 1.0}
        np.testing.assert_allclose(out.detach().cpu().numpy().mean(0), [0.1, 0.2, 0.7], atol=0.015)
    (out[:, 2]).sum().backward()
    assert logits.grad.abs().sum().item() > 0
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(logits, eps=1e-3)


# --- special values, dtypes -------------------------------------------------------------------
SPECIAL = np.array(
    [
        -np.inf,
        -1e300,
        -20.0,
        -3.0,
        -0.75,
        -0.5,
        -0.0,
        0.0,
        0.5,
        0.75,
        3.0,
        6.0,
        1e300,
        np.inf,
        np.nan,
    ]
)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("celu", {}),
        ("selu", {}),
        ("hardshrink", {"lambd": 0.75}),
        ("softshrink", {"lambd": 0.75}),
        ("hardsigmoid", {}),
        ("hardswish", {}),
        ("logsigmoid", {}),
        ("relu6", {}),
        ("softsign", {}),
        ("tanhshrink", {}),
        ("threshold", {"threshold": 0.5, "value": -1.0}),
        ("rrelu", {}),
    ],
)
def test_special_values_and_boundary_gradients_match_torch(name, kwargs, device):
    """inf, NaN (propagated, as PyTorch's kernels do) and the kink points, where PyTorch's
    backward formulas pick a side; gradients compared where the input is not NaN."""
    x = gg.tensor(SPECIAL, dtype=gg.float64, device=device, requires_grad=True)
    tx = torch.tensor(SPECIAL, dtype=torch.float64, requires_grad=True)
    out, expected = getattr(F, name)(x, **kwargs), getattr(TF, name)(tx, **kwargs)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    finite = ~np.isnan(SPECIAL)
    np.testing.assert_allclose(x.grad.cpu().numpy()[finite], tx.grad.numpy()[finite])


@pytest.mark.parametrize(
    "name",
    [
        "celu",
        "selu",
        "hardshrink",
        "softshrink",
        "hardsigmoid",
        "hardswish",
        "logsigmoid",
        "rrelu",
        "glu",
    ],
)
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_inputs_are_refused_like_torch(name, dtype):
    values = np.arange(-2, 2)
    assert_raises_like_torch(
        lambda: getattr(F, name)(gg.tensor(values).to(getattr(gg, dtype))),
        lambda: getattr(TF, name)(torch.tensor(values).to(getattr(torch, dtype))),
    )


def test_integer_threshold_and_relu6_stay_integer(device):
    x = gg.tensor([-3, 0, 4, 9], device=device)
    assert (
        F.threshold(x, 1, -1.7).tolist()
        == TF.threshold(torch.tensor([-3, 0, 4, 9]), 1, -1.7).tolist()
    )
    assert F.relu6(x).dtype == gg.int64 and F.relu6(x).tolist() == [0, 0, 4, 6]


@pytest.mark.parametrize("name", ["hardsigmoid", "softshrink", "hardswish", "celu"])
def test_half_precision_stays_half(name, device):
    assert getattr(F, name)(gg.randn(4, device=device).half()).dtype == gg.float16


def test_glu_of_an_empty_dim(device):
    assert F.glu(gg.zeros(3, 0, device=device)).shape == (3, 0)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            lambda: gg.prelu(gg.zeros(2, 3, dtype=gg.int64), gg.zeros(5)),
            lambda: torch.prelu(torch.zeros(2, 3, dtype=torch.int64), torch.zeros(5)),
        ),
        (
            lambda: gg.prelu(gg.zeros(2, 3), gg.zeros(3, dtype=gg.float64)),
            lambda: torch.prelu(torch.zeros(2, 3), torch.zeros(3, dtype=torch.float64)),
        ),
        (
            lambda: gg.prelu(gg.zeros(2, 3, dtype=gg.int64), gg.zeros(3, dtype=gg.int64)),
            lambda: torch.prelu(
                torch.zeros(2, 3, dtype=torch.int64), torch.zeros(3, dtype=torch.int64)
            ),
        ),
        (
            lambda: gg.feature_alpha_dropout(gg.ones(3, 2, dtype=gg.int64), 0.5, True),
            lambda: torch.feature_alpha_dropout(torch.ones(3, 2, dtype=torch.int64), 0.5, True),
        ),
        (
            lambda: gg.dropout(gg.ones(3, dtype=gg.bool), 0.5, True),
            lambda: torch.dropout(torch.ones(3, dtype=torch.bool), 0.5, True),
        ),
        (
            lambda: gg.dropout(gg.ones(3), 1.5, True),
            lambda: torch.dropout(torch.ones(3), 1.5, True),
        ),
        (
            lambda: gg.feature_dropout(gg.ones(3), 0.5, True),
            lambda: torch.feature_dropout(torch.ones(3), 0.5, True),
        ),
    ],
)
def test_top_level_dtype_errors_match_torch(ours, theirs):
    assert_raises_like_torch(ours, theirs)


@pytest.mark.parametrize("name", ["celu_", "selu_", "threshold_"])
def test_inplace_through_a_view_differentiates_like_torch(name, device):
    args = (0.1, 2.0) if name == "threshold_" else ()
    ours, theirs = _pair((3, 4), device)
    y, ty = ours * 2, theirs * 2
    getattr(gg, name)(y[1], *args)
    getattr(torch, name)(ty[1], *args)
    assert y.grad_fn.name() == ty.grad_fn.name().rpartition("::")[2] == "CopySlices"
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.detach().cpu().numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grad.cpu().numpy(), theirs.grad.numpy(), atol=1e-10)
