"""gg.distributions sampling: shapes, dtypes, support, moments of large samples (not the
stream: gpugrad's generators differ from PyTorch's), seeding, and reparameterized
gradients (rsample)."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributions as ggd

torch = pytest.importorskip("torch")
td = torch.distributions

N = 40000


def _t(values, device, **kwargs):
    return gg.tensor(values, dtype=gg.float64, device=device, **kwargs)


def _families(device):
    pos = _t([0.6, 2.0, 7.5], device)
    real = _t([-1.0, 0.5, 3.0], device)
    prob = _t([0.1, 0.5, 0.85], device)
    return {
        "Normal": ggd.Normal(real, pos),
        "Uniform": ggd.Uniform(real, real + pos),
        "Laplace": ggd.Laplace(real, pos),
        "Exponential": ggd.Exponential(pos),
        "Gamma": ggd.Gamma(pos, pos.flip(0)),
        "Beta": ggd.Beta(pos, pos.flip(0)),
        "LogNormal": ggd.LogNormal(real * 0.3, pos * 0.08),
        "StudentT": ggd.StudentT(pos + 9.0, real, pos),
        "Bernoulli": ggd.Bernoulli(prob),
        "Geometric": ggd.Geometric(prob + 0.1),
        "Poisson": ggd.Poisson(pos * 2),
        "Binomial": ggd.Binomial(12, prob),
        "Chi2": ggd.Chi2(pos * 2),
        "HalfNormal": ggd.HalfNormal(pos),
        "Gumbel": ggd.Gumbel(real, pos),
        "NegativeBinomial": ggd.NegativeBinomial(pos * 3, prob * 0.8),
        "Weibull": ggd.Weibull(pos, pos.flip(0) + 1.0),
        "Pareto": ggd.Pareto(pos, pos + 5.0),
        "InverseGamma": ggd.InverseGamma(pos + 5.0, pos),
        "Kumaraswamy": ggd.Kumaraswamy(pos, pos.flip(0)),
        "ContinuousBernoulli": ggd.ContinuousBernoulli(prob),
        "FisherSnedecor": ggd.FisherSnedecor(pos + 8.0, pos + 12.0),
        "Mixture": ggd.MixtureSameFamily(
            ggd.Categorical(_t([[0.3, 0.7]] * 3, device)),
            ggd.Normal(_t([[-1.0, 2.0]] * 3, device), pos[:2]),
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "Normal",
        "Uniform",
        "Laplace",
        "Exponential",
        "Gamma",
        "Beta",
        "LogNormal",
        "StudentT",
        "Bernoulli",
        "Geometric",
        "Poisson",
        "Binomial",
        "Chi2",
        "HalfNormal",
        "Gumbel",
        "Mixture",
        "NegativeBinomial",
        "Weibull",
        "Pareto",
        "InverseGamma",
        "Kumaraswamy",
        "ContinuousBernoulli",
        "FisherSnedecor",
    ],
)
def test_sample_moments_and_support(name, device):
    gg.manual_seed(1234)
    dist = _families(device)[name]
    sample = dist.sample((N,))
    assert tuple(sample.shape) == (N, 3)
    assert sample.dtype == gg.float64
    assert not sample.requires_grad
    assert bool(dist.support.check(sample).all())
    mean, var = dist.mean.cpu().numpy(), dist.variance.cpu().numpy()
    got_mean = sample.mean(0).cpu().numpy()
    got_var = sample.var(0).cpu().numpy()
    # 6 standard errors of the mean; the variance within 10% (StudentT: df > 9)
    np.testing.assert_array_less(np.abs(got_mean - mean), 6 * np.sqrt(var / N) + 1e-12)
    np.testing.assert_allclose(got_var, var, rtol=0.1, atol=1e-12)


def test_categorical_and_onehot_frequencies(device):
    gg.manual_seed(0)
    probs = _t([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]], device)
    sample = ggd.Categorical(probs).sample((N,))
    assert tuple(sample.shape) == (N, 2) and sample.dtype == gg.int64
    freq = np.stack([(sample.cpu().numpy() == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, probs.cpu().numpy(), atol=0.015)
    onehot = ggd.OneHotCategorical(probs).sample((N,))
    assert tuple(onehot.shape) == (N, 2, 3) and onehot.dtype == gg.float64
    assert bool(ggd.constraints.one_hot.check(onehot).all())
    np.testing.assert_allclose(onehot.mean(0).cpu().numpy(), probs.cpu().numpy(), atol=0.015)


def test_dirichlet_and_mvn_moments(device):
    gg.manual_seed(5)
    conc = _t([0.5, 2.0, 4.0], device)
    d = ggd.Dirichlet(conc)
    sample = d.sample((N,))
    assert bool(d.support.check(sample).all())
    np.testing.assert_allclose(sample.mean(0).cpu().numpy(), d.mean.cpu().numpy(), atol=0.01)
    np.testing.assert_allclose(sample.var(0).cpu().numpy(), d.variance.cpu().numpy(), rtol=0.1)
    cov = _t([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]], device)
    mvn = ggd.MultivariateNormal(_t([1.0, -2.0, 0.0], device), covariance_matrix=cov)
    x = mvn.sample((N,))
    centered = (x - x.mean(0)).cpu().numpy()
    np.testing.assert_allclose(centered.T @ centered / N, cov.cpu().numpy(), atol=0.05)


def test_manual_seed_reproduces(device):
    dists = [
        ggd.Normal(_t([0.0], device), _t([1.0], device)),
        ggd.Gamma(_t([0.7], device), 1.0),
        ggd.Poisson(_t([3.0], device)),
        ggd.Categorical(logits=_t([0.1, 0.2, 0.3], device)),
    ]
    for dist in dists:
        gg.manual_seed(7)
        a = dist.sample((50,))
        gg.manual_seed(7)
        b = dist.sample((50,))
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())


def test_normal_rsample_is_loc_plus_scale_eps(device):
    """The draw is loc + scale * eps for the generator's N(0, 1) eps, so gradients are the
    reparameterized ones: d/dloc = 1, d/dscale = eps; gradcheck on fixed noise."""
    loc = _t([0.5, -1.0], device, requires_grad=True)
    scale = _t([2.0, 0.3], device, requires_grad=True)
    gg.manual_seed(3)
    x = ggd.Normal(loc, scale).rsample((4,))
    gg.manual_seed(3)
    eps = gg.randn((4, 2), dtype=gg.float64, device=device)
    np.testing.assert_allclose(x.detach().cpu().numpy(), (loc + scale * eps).detach().cpu().numpy())
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.cpu().numpy(), [4.0, 4.0])
    np.testing.assert_allclose(scale.grad.cpu().numpy(), eps.sum(0).cpu().numpy())

    def fixed_noise(loc, scale):
        gg.manual_seed(11)
        return ggd.Normal(loc, scale).rsample((3,))

    assert gg.autograd.gradcheck(fixed_noise, (loc, scale))


@pytest.mark.parametrize("name", ["Uniform", "Laplace", "Exponential", "LogNormal", "Cauchy"])
def test_inversion_rsample_gradcheck(name, device):
    a = _t([0.4, 1.5], device, requires_grad=True)
    b = _t([0.8, 2.0], device, requires_grad=True)
    make = {
        "Uniform": lambda a, b: ggd.Uniform(a, a + b),
        "Laplace": ggd.Laplace,
        "Exponential": lambda a, b: ggd.Exponential(a * b),
        "LogNormal": ggd.LogNormal,
        "Cauchy": ggd.Cauchy,
    }[name]

    def fixed_noise(a, b):
        gg.manual_seed(21)
        return make(a, b).rsample((3,))

    assert gg.autograd.gradcheck(fixed_noise, (a, b))


def test_standard_gamma_gradient_matches_torch(device):
    """The implicit reparameterization gradient d sample / d concentration at the same
    (concentration, sample) points as PyTorch's ``_standard_gamma_grad``, over all three
    of its regimes."""
    from gpugrad.distributions._sampling import standard_gamma_grad

    alpha = np.repeat([0.05, 0.4, 1.0, 3.0, 7.5, 9.0, 30.0, 200.0], 6)
    x = alpha * np.tile([0.02, 0.5, 0.95, 1.05, 1.6, 3.0], 8) + np.tile(
        [0.0, 0.0, 0.0, 0.0, 0.1, 0.9], 8
    )
    got = standard_gamma_grad(_t(alpha, device), _t(x, device)).cpu().numpy()
    want = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["Gamma", "Beta", "Dirichlet", "StudentT"])
def test_implicit_rsample_gradient_is_unbiased(name, device):
    """E[d rsample / d params] equals d mean / d params (PyTorch's rsample gradients have the
    same expectation)."""
    gg.manual_seed(99)
    a = _t([0.7, 3.0], device, requires_grad=True)
    b = _t([2.0, 1.5], device, requires_grad=True)
    dist = {
        "Gamma": lambda: ggd.Gamma(a, b),
        "Beta": lambda: ggd.Beta(a, b),
        "Dirichlet": lambda: ggd.Dirichlet(gg.stack([a, b], -1)),
        "StudentT": lambda: ggd.StudentT(a + 5.0, b, a),
    }[name]()
    assert dist.has_rsample
    sample = dist.rsample((N,))
    gg.autograd.backward(sample.mean(0).sum())
    want = gg.autograd.grad(dist.mean.sum(), [a, b], allow_unused=True, materialize_grads=True)
    np.testing.assert_allclose(a.grad.cpu().numpy(), want[0].cpu().numpy(), atol=0.03, rtol=0.03)
    np.testing.assert_allclose(b.grad.cpu().numpy(), want[1].cpu().numpy(), atol=0.03, rtol=0.03)


def test_class_flags_and_constraints_match_torch():
    """For every distribution class: has_rsample, has_enumerate_support, and the static
    arg_constraints and support (reprs) are PyTorch's."""
    import inspect

    classes = [
        n
        for n in ggd.__all__
        if inspect.isclass(getattr(ggd, n)) and issubclass(getattr(ggd, n), ggd.Distribution)
    ]
    assert len(classes) >= 35
    for name in classes:
        ours, theirs = getattr(ggd, name), getattr(td, name)
        for flag in ("has_rsample", "has_enumerate_support"):
            if not isinstance(inspect.getattr_static(theirs, flag), property):
                assert getattr(ours, flag) == getattr(theirs, flag), (name, flag)
        for attr in ("arg_constraints", "support"):
            static = inspect.getattr_static(theirs, attr)
            if isinstance(static, (dict, td.constraints.Constraint)) and not isinstance(
                static, property
            ):
                assert repr(getattr(ours, attr)) == repr(getattr(theirs, attr)), (name, attr)


def test_sample_without_rsample_raises(device):
    with pytest.raises(NotImplementedError):
        ggd.Bernoulli(_t([0.5], device)).rsample()


def test_multinomial_counts(device):
    gg.manual_seed(2)
    probs = _t([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], device)
    dist = ggd.Multinomial(10, probs)
    sample = dist.sample((N // 4,))
    assert tuple(sample.shape) == (N // 4, 2, 3) and sample.dtype == gg.float64
    assert bool((sample.sum(-1) == 10).all()) and bool(dist.support.check(sample).all())
    np.testing.assert_allclose(sample.mean(0).cpu().numpy(), dist.mean.cpu().numpy(), atol=0.06)
    np.testing.assert_allclose(sample.var(0).cpu().numpy(), dist.variance.cpu().numpy(), rtol=0.1)
