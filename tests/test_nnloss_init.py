"""nn.init leftovers (helper s7-nnloss): trunc_normal_, dirac_, orthogonal_, sparse_, eye_,
the deprecated names, calculate_gain, and reproducibility under gg.manual_seed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")
init = gg.nn.init

NONLINEARITIES = [
    ("linear", None),
    ("conv1d", None),
    ("conv2d", None),
    ("conv3d", None),
    ("conv_transpose1d", None),
    ("conv_transpose2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("leaky_relu", 3),
    ("selu", None),
]


@pytest.mark.parametrize("name, param", NONLINEARITIES)
def test_calculate_gain_matches_torch(name, param):
    ours = init.calculate_gain(name, param)
    theirs = torch.nn.init.calculate_gain(name, param)
    assert ours == theirs and type(ours) is type(theirs)


def test_calculate_gain_errors():
    for args in [("foo",), ("leaky_relu", "x"), ("leaky_relu", True)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain(*args)
        with pytest.raises(ValueError, match=str(theirs.value)):
            init.calculate_gain(*args)


def test_orthogonal_is_orthogonal_and_reproducible(device):
    for shape in [(3, 5), (5, 3), (6, 2, 2)]:
        gg.manual_seed(3)
        w = init.orthogonal_(gg.empty(*shape, dtype=gg.float64, device=device), gain=2.0)
        flat = w.reshape(shape[0], -1)
        small = flat @ flat.t() if shape[0] <= flat.shape[1] else flat.t() @ flat
        np.testing.assert_allclose(small.cpu().numpy(), 4.0 * np.eye(small.shape[0]), atol=1e-12)
        gg.manual_seed(3)
        again = init.orthogonal_(gg.empty(*shape, dtype=gg.float64, device=device), gain=2.0)
        assert bool((again == w).all())
    generator = gg.Generator().manual_seed(5)
    a = init.orthogonal_(gg.empty(4, 4), generator=generator)
    generator.manual_seed(5)
    assert bool((init.orthogonal_(gg.empty(4, 4), generator=generator) == a).all())


def test_trunc_normal_stays_in_range_with_the_right_mean(device):
    gg.manual_seed(0)
    for mean, std, a, b in [(0.0, 1.0, -1.0, 0.5), (0.0, 1.0, 2.0, 3.0), (1.0, 0.5, -2.0, 2.0)]:
        t = init.trunc_normal_(gg.empty(20000, dtype=gg.float64, device=device), mean, std, a, b)
        values = t.cpu().numpy()
        assert values.min() >= a and values.max() <= b
        alpha, beta = (a - mean) / std, (b - mean) / std
        pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
        expected = mean + std * (pdf(alpha) - pdf(beta)) / (cdf(beta) - cdf(alpha))
        assert values.mean() == pytest.approx(expected, abs=0.02)
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(gg.empty(10), mean=10.0)


def test_dirac_sparse_eye_match_torch(device):
    for shape, groups in [((4, 2, 3), 2), ((3, 3, 3, 3), 1), ((4, 2, 3, 3, 3), 2)]:
        ours = init.dirac_(gg.empty(*shape, device=device), groups=groups)
        theirs = torch.nn.init.dirac_(torch.empty(*shape), groups=groups)
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    np.testing.assert_array_equal(
        init.eye_(gg.empty(3, 5, device=device)).cpu().numpy(),
        torch.nn.init.eye_(torch.empty(3, 5)),
    )
    gg.manual_seed(1)
    w = init.sparse_(gg.empty(10, 6, dtype=gg.float64, device=device), sparsity=0.3, std=0.5)
    zeros_per_column = (w == 0).sum(0).cpu().numpy()
    assert (zeros_per_column == math.ceil(0.3 * 10)).all()
    assert 0.2 < float(w[w != 0].std()) < 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda i, t: i.dirac_(t(2, 2)),
        lambda i, t: i.dirac_(t(3, 2, 3), groups=2),
        lambda i, t: i.orthogonal_(t(3)),
        lambda i, t: i.sparse_(t(3), 0.1),
        lambda i, t: i.eye_(t(2, 2, 2)),
    ],
)
def test_init_errors_match_torch(call):
    with pytest.raises(ValueError) as theirs:
        call(torch.nn.init, torch.empty)
    with pytest.raises(ValueError) as ours:
        call(init, gg.empty)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    "old, args",
    [
        ("uniform", ()),
        ("normal", ()),
        ("constant", (0.5,)),
        ("eye", ()),
        ("xavier_uniform", ()),
        ("xavier_normal", ()),
        ("kaiming_uniform", ()),
        ("kaiming_normal", ()),
        ("orthogonal", ()),
        ("sparse", (0.5,)),
    ],
)
def test_deprecated_names_warn_and_fill(old, args):
    with pytest.warns(
        FutureWarning, match=f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`"
    ):
        gg.manual_seed(4)
        filled = getattr(init, old)(gg.zeros(4, 6, dtype=gg.float64), *args)
    gg.manual_seed(4)
    expected = getattr(init, old + "_")(gg.zeros(4, 6, dtype=gg.float64), *args)
    assert bool((filled == expected).all())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert hasattr(torch.nn.init, old)


def test_deprecated_dirac_and_public_names():
    with pytest.warns(FutureWarning):
        init.dirac(gg.empty(2, 2, 3))
    public = {n for n in dir(torch.nn.init) if not n.startswith("_")}
    public = {
        n for n in public if getattr(getattr(torch.nn.init, n), "__module__", "") == "torch.nn.init"
    }
    assert public <= set(init.__all__)


def test_trunc_normal_matches_torch_distribution_by_moments():
    gg.manual_seed(0)
    torch.manual_seed(0)
    ours = init.trunc_normal_(gg.empty(40000, dtype=gg.float64), std=0.02, a=-0.04, b=0.04).numpy()
    theirs = torch.nn.init.trunc_normal_(
        torch.empty(40000, dtype=torch.float64), std=0.02, a=-0.04, b=0.04
    ).numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert abs(ours.mean() - theirs.mean()) < 1e-3
