"""gg.distributions against torch.distributions in float64: log_prob, entropy, moments,
cdf/icdf with the same parameters and values, and their gradients w.r.t. the parameters."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributions as ggd

torch = pytest.importorskip("torch")
td = torch.distributions

# name: (parameters as numpy arrays (or numbers), values to score, methods present)
RNG = np.random.default_rng(0)
POS = np.array([0.7, 1.3, 2.5, 4.0])
REAL = np.array([-1.2, 0.3, 0.9, 2.0])
PROB = np.array([0.15, 0.4, 0.6, 0.9])
UNIT = np.array([0.05, 0.3, 0.55, 0.95])
COUNTS = np.array([0.0, 1.0, 3.0, 7.0])
SIMPLEX_VALUES = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
CONC3 = np.array([[0.8, 1.5, 3.0], [2.0, 0.6, 1.1]])
LOGITS3 = np.array([[0.1, -1.0, 2.0], [0.5, 0.5, -0.3]])

CASES = {
    "Normal": (
        {"loc": REAL, "scale": POS},
        REAL[::-1].copy(),
        ("mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"),
    ),
    "Uniform": (
        {"low": REAL - 2.0, "high": REAL + POS},
        REAL - 0.5,
        ("mean", "variance", "stddev", "entropy", "cdf", "icdf"),
    ),
    "Laplace": (
        {"loc": REAL, "scale": POS},
        REAL[::-1].copy(),
        ("mean", "mode", "variance", "stddev", "entropy", "cdf", "icdf"),
    ),
    "Cauchy": ({"loc": REAL, "scale": POS}, REAL[::-1].copy(), ("mode", "entropy", "cdf", "icdf")),
    "Exponential": (
        {"rate": POS},
        POS[::-1].copy(),
        ("mean", "mode", "variance", "entropy", "cdf", "icdf"),
    ),
    "Gamma": (
        {"concentration": POS, "rate": POS[::-1].copy()},
        UNIT * 3,
        ("mean", "mode", "variance", "entropy"),
    ),
    "Beta": (
        {"concentration1": POS, "concentration0": POS[::-1].copy()},
        UNIT,
        ("mean", "mode", "variance", "entropy"),
    ),
    "Dirichlet": (
        {"concentration": CONC3},
        SIMPLEX_VALUES,
        ("mean", "mode", "variance", "entropy"),
    ),
    "StudentT": (
        {"df": POS + 2.0, "loc": REAL, "scale": POS},
        REAL[::-1].copy(),
        ("mean", "mode", "variance", "entropy"),
    ),
    "LogNormal": (
        {"loc": REAL * 0.5, "scale": POS * 0.5},
        UNIT * 2,
        ("mean", "mode", "variance", "entropy", "cdf", "icdf"),
    ),
    "Bernoulli": ({"probs": PROB}, np.array([0.0, 1.0, 1.0, 0.0]), ("mean", "variance", "entropy")),
    "Bernoulli-logits": (
        {"logits": REAL},
        np.array([0.0, 1.0, 1.0, 0.0]),
        ("mean", "variance", "entropy"),
    ),
    "Geometric": ({"probs": PROB}, COUNTS, ("mean", "mode", "variance", "entropy")),
    "Poisson": ({"rate": POS}, COUNTS, ("mean", "mode", "variance")),
    "Binomial": (
        {"total_count": 8.0, "probs": PROB},
        COUNTS,
        ("mean", "mode", "variance", "entropy"),
    ),
    "Binomial-logits": ({"total_count": 8.0, "logits": REAL}, COUNTS, ("mean", "variance")),
    "Categorical": ({"probs": np.exp(LOGITS3)}, np.array([2.0, 0.0]), ("entropy", "mode")),
    "Categorical-logits": (
        {"logits": LOGITS3},
        np.array([[1.0, 2.0], [0.0, 2.0]]),
        ("entropy", "mode"),
    ),
    "Chi2": ({"df": POS}, UNIT * 3, ("mean", "mode", "variance", "entropy")),
    "HalfNormal": (
        {"scale": POS},
        UNIT * 2,
        ("mean", "mode", "variance", "entropy", "cdf", "icdf"),
    ),
    "Gumbel": (
        {"loc": REAL, "scale": POS},
        REAL[::-1].copy(),
        ("mean", "mode", "variance", "stddev", "entropy"),
    ),
    "Multinomial": (
        {"total_count": 4, "logits": LOGITS3},
        np.array([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]]),
        ("mean", "variance", "entropy"),
    ),
    "NegativeBinomial": (
        {"total_count": POS, "probs": PROB * 0.9},
        COUNTS,
        ("mean", "mode", "variance"),
    ),
    "Weibull": (
        {"scale": POS, "concentration": POS[::-1].copy()},
        UNIT * 2,
        ("mean", "mode", "variance", "entropy"),
    ),
    "Pareto": (
        {"scale": POS * 0.1, "alpha": POS + 2.0},
        UNIT * 2 + 0.5,
        ("mean", "mode", "variance", "entropy", "cdf", "icdf"),
    ),
    "InverseGamma": (
        {"concentration": POS + 2.0, "rate": POS},
        UNIT * 2,
        ("mean", "mode", "variance", "entropy"),
    ),
    "Kumaraswamy": (
        {"concentration1": POS, "concentration0": POS[::-1].copy()},
        UNIT,
        ("mean", "mode", "variance", "entropy"),
    ),
    "ContinuousBernoulli": (
        {"probs": np.array([0.15, 0.4995, 0.6, 0.9])},
        UNIT,
        ("mean", "variance", "stddev", "entropy", "cdf", "icdf"),
    ),
    "ContinuousBernoulli-logits": (
        {"logits": REAL},
        UNIT,
        ("mean", "variance", "entropy", "cdf", "icdf"),
    ),
    "HalfCauchy": ({"scale": POS}, UNIT * 2, ("mean", "mode", "entropy", "cdf", "icdf")),
    "FisherSnedecor": (
        {"df1": POS + 2.0, "df2": POS + 4.5},
        UNIT * 2,
        ("mean", "mode", "variance"),
    ),
    "LogisticNormal": ({"loc": REAL[:2], "scale": POS[:2]}, np.array([0.2, 0.5, 0.3]), ()),
    "OneHotCategorical": (
        {"logits": LOGITS3},
        np.eye(3)[[2, 1]],
        ("mean", "mode", "variance", "entropy"),
    ),
}


def _build(module, name, params, to_tensor):
    cls = getattr(module, name.split("-")[0])
    return cls(**{k: to_tensor(k, v) for k, v in params.items()})


# Binomial's total_count is a count (not differentiated); NegativeBinomial's is real
def _pair(name, device):
    params, _, _ = CASES[name]
    gg_leaves, torch_leaves = {}, {}

    def gg_tensor(k, v):
        if isinstance(v, (int, float)):
            return v
        gg_leaves[k] = gg.tensor(
            v,
            dtype=gg.float64,
            device=device,
            requires_grad=k != "total_count" or name == "NegativeBinomial",
        )
        return gg_leaves[k]

    def torch_tensor(k, v):
        if isinstance(v, (int, float)):
            return v
        torch_leaves[k] = torch.tensor(
            v, dtype=torch.float64, requires_grad=k != "total_count" or name == "NegativeBinomial"
        )
        return torch_leaves[k]

    return (
        _build(ggd, name, params, gg_tensor),
        _build(td, name, params, torch_tensor),
        gg_leaves,
        torch_leaves,
    )


def _quantities(dist, value, methods, as_tensor):
    out = {"log_prob": dist.log_prob(as_tensor(value))}
    for method in methods:
        if method == "entropy":
            out[method] = dist.entropy()
        elif method == "cdf":
            out[method] = dist.cdf(
                as_tensor(
                    np.abs(value)
                    if isinstance(
                        dist, (ggd.LogNormal, td.LogNormal, ggd.Exponential, td.Exponential)
                    )
                    else value
                )
            )
        elif method == "icdf":
            out[method] = dist.icdf(as_tensor(UNIT))
        else:
            out[method] = getattr(dist, method)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name, device):
    _, value, methods = CASES[name]
    g, t, g_leaves, t_leaves = _pair(name, device)
    g_out = _quantities(g, value, methods, lambda v: gg.tensor(v, dtype=gg.float64, device=device))
    t_out = _quantities(t, value, methods, lambda v: torch.tensor(v, dtype=torch.float64))
    g_total, t_total = 0, 0
    for key, t_val in t_out.items():
        g_val = g_out[key]
        assert tuple(g_val.shape) == tuple(t_val.shape), key
        # PyTorch's Multinomial entropy takes lgamma(total_count + 1) of an int64 tensor,
        # so in float32
        rtol = 1e-7 if (name, key) == ("Multinomial", "entropy") else 1e-9
        np.testing.assert_allclose(
            g_val.detach().cpu().numpy(), t_val.detach().numpy(), rtol=rtol, atol=1e-12, err_msg=key
        )
        weights = np.linspace(0.5, 1.5, t_val.numel()).reshape(tuple(t_val.shape))
        if t_val.requires_grad and t_val.dtype == torch.float64:
            finite = np.isfinite(t_val.detach().numpy())
            w = np.where(finite, weights, 0.0)
            t_total = (
                t_total + (torch.nan_to_num(t_val, posinf=0.0, neginf=0.0) * torch.tensor(w)).sum()
            )
            g_total = (
                g_total
                + (gg.nan_to_num(g_val, posinf=0.0, neginf=0.0) * gg.tensor(w, device=device)).sum()
            )
    t_grads = torch.autograd.grad(t_total, list(t_leaves.values()), allow_unused=True)
    g_grads = gg.autograd.grad(g_total, list(g_leaves.values()), allow_unused=True)
    for key, gg_grad, torch_grad in zip(t_leaves, g_grads, t_grads):
        if torch_grad is None:
            assert gg_grad is None or float(gg_grad.abs().sum()) == 0.0, key
            continue
        np.testing.assert_allclose(
            gg_grad.cpu().numpy(), torch_grad.numpy(), rtol=1e-8, atol=1e-11, err_msg=key
        )


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "Categorical-logits", "Dirichlet"])
def test_float32_spot_check(name, device):
    params, value, _ = CASES[name]
    g = _build(ggd, name, params, lambda k, v: gg.tensor(v, dtype=gg.float32, device=device))
    t = _build(td, name, params, lambda k, v: torch.tensor(v, dtype=torch.float32))
    g_lp = g.log_prob(gg.tensor(value, dtype=gg.float32, device=device))
    t_lp = t.log_prob(torch.tensor(value, dtype=torch.float32))
    assert g_lp.dtype == gg.float32
    np.testing.assert_allclose(g_lp.cpu().numpy(), t_lp.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g.entropy().cpu().numpy(), t.entropy().numpy(), rtol=1e-5, atol=1e-5)


def _mvn_params():
    a = RNG.standard_normal((2, 3, 3))
    cov = a @ a.transpose(0, 2, 1) + 3 * np.eye(3)
    return np.array([[0.1, -0.3, 0.5], [1.0, 0.0, -1.0]]), cov


@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_matches_torch(form, device):
    loc, cov = _mvn_params()
    matrix = {
        "covariance_matrix": cov,
        "precision_matrix": np.linalg.inv(cov),
        "scale_tril": np.linalg.cholesky(cov),
    }[form]
    g_loc = gg.tensor(loc, dtype=gg.float64, device=device, requires_grad=True)
    g_mat = gg.tensor(matrix, dtype=gg.float64, device=device, requires_grad=True)
    t_loc = torch.tensor(loc, requires_grad=True)
    t_mat = torch.tensor(matrix, requires_grad=True)
    g = ggd.MultivariateNormal(g_loc, **{form: g_mat})
    t = td.MultivariateNormal(t_loc, **{form: t_mat})
    value = RNG.standard_normal((4, 2, 3))
    g_lp = g.log_prob(gg.tensor(value, device=device))
    t_lp = t.log_prob(torch.tensor(value))
    assert tuple(g.batch_shape) == (2,) and tuple(g.event_shape) == (3,)
    np.testing.assert_allclose(g_lp.detach().cpu().numpy(), t_lp.detach().numpy(), rtol=1e-10)
    for attr in ("entropy", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        g_val = g.entropy() if attr == "entropy" else getattr(g, attr)
        t_val = t.entropy() if attr == "entropy" else getattr(t, attr)
        np.testing.assert_allclose(
            g_val.detach().cpu().numpy(),
            t_val.detach().numpy(),
            rtol=1e-9,
            atol=1e-12,
            err_msg=attr,
        )
    g_total = g_lp.sum() + g.entropy().sum()
    t_total = t_lp.sum() + t.entropy().sum()
    g_grads = gg.autograd.grad(g_total, [g_loc, g_mat])
    t_grads = torch.autograd.grad(t_total, [t_loc, t_mat])
    if form != "scale_tril":  # symmetric input: compare the symmetric part of the gradient
        g_grads = (g_grads[0], (g_grads[1] + g_grads[1].mT) / 2)
        t_grads = (t_grads[0], (t_grads[1] + t_grads[1].mT) / 2)
    for gg_grad, torch_grad in zip(g_grads, t_grads):
        np.testing.assert_allclose(gg_grad.cpu().numpy(), torch_grad.numpy(), rtol=1e-8, atol=1e-10)


def test_enumerate_support_matches_torch(device):
    probs = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    for cls, kwargs in (
        ("Categorical", {"probs": probs}),
        ("OneHotCategorical", {"probs": probs}),
        ("Bernoulli", {"probs": probs[:, 0]}),
        ("Binomial", {"total_count": 4.0, "probs": probs[:, 0]}),
    ):
        g = getattr(ggd, cls)(
            **{
                k: v if isinstance(v, float) else gg.tensor(v, device=device)
                for k, v in kwargs.items()
            }
        )
        t = getattr(td, cls)(
            **{k: v if isinstance(v, float) else torch.tensor(v) for k, v in kwargs.items()}
        )
        for expand in (True, False):
            g_sup, t_sup = g.enumerate_support(expand), t.enumerate_support(expand)
            assert tuple(g_sup.shape) == tuple(t_sup.shape), cls
            assert str(g_sup.dtype).split(".")[1] == str(t_sup.dtype).split(".")[1]
            np.testing.assert_array_equal(g_sup.cpu().numpy(), t_sup.numpy())


def test_low_rank_multivariate_normal_matches_torch(device):
    rng = np.random.default_rng(4)
    loc, factor, diag = (
        rng.standard_normal((2, 4)),
        rng.standard_normal((2, 4, 2)),
        rng.uniform(0.5, 2.0, 4),
    )
    value = rng.standard_normal((3, 2, 4))
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        leaves = [lib.tensor(v, device=dev, requires_grad=True) for v in (loc, factor, diag)]
        dist = d.LowRankMultivariateNormal(*leaves)
        out = [dist.log_prob(lib.tensor(value, device=dev)), dist.entropy(), dist.variance]
        out += [dist.covariance_matrix, dist.precision_matrix, dist.scale_tril]
        grads = lib.autograd.grad(sum(o.sum() for o in out), leaves)
        results.append([o.detach().cpu().numpy() for o in out] + [g.cpu().numpy() for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("family", ["RelaxedBernoulli", "RelaxedOneHotCategorical"])
def test_relaxed_distributions_match_torch(family, device):
    if family == "RelaxedBernoulli":
        param, value = np.array([0.3, -1.0, 2.0]), np.array([0.2, 0.5, 0.9])
    else:
        param, value = np.array([[0.3, -1.0, 2.0]]), np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        temperature = lib.tensor([0.7], dtype=lib.float64, device=dev, requires_grad=True)
        logits = lib.tensor(param, device=dev, requires_grad=True)
        dist = getattr(d, family)(temperature, logits=logits)
        log_prob = dist.log_prob(lib.tensor(value, device=dev))
        grads = lib.autograd.grad(log_prob.sum(), [temperature, logits])
        results.append([log_prob.detach().cpu().numpy()] + [g.cpu().numpy() for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    # samples lie in the support and carry gradients to the logits
    gg.manual_seed(0)
    logits = gg.tensor(param, device=device, requires_grad=True)
    dist = getattr(ggd, family)(gg.tensor([0.5], device=device), logits=logits)
    sample = dist.rsample((1000,))
    assert bool(dist.support.check(sample).all())
    sample.sum().backward()
    assert logits.grad is not None and bool(gg.isfinite(logits.grad).all())


def test_mixture_same_family_matches_torch(device):
    """A batch of 2 Gaussian mixtures of 3 components over 2-d events."""
    rng = np.random.default_rng(6)
    logits, loc, scale = (
        rng.standard_normal((2, 3)),
        rng.standard_normal((2, 3, 2)),
        rng.uniform(0.5, 2, (2, 3, 2)),
    )
    value = rng.standard_normal((5, 2, 2))
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        leaves = [lib.tensor(v, device=dev, requires_grad=True) for v in (logits, loc, scale)]
        mixture = d.MixtureSameFamily(
            d.Categorical(logits=leaves[0]), d.Independent(d.Normal(leaves[1], leaves[2]), 1)
        )
        out = [mixture.log_prob(lib.tensor(value, device=dev)), mixture.mean, mixture.variance]
        grads = lib.autograd.grad(sum(o.sum() for o in out), leaves)
        results.append([o.detach().cpu().numpy() for o in out] + [g.cpu().numpy() for g in grads])
        assert tuple(mixture.batch_shape) == (2,) and tuple(mixture.event_shape) == (2,)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_gradcheck_log_prob_entropy_and_kl(device):
    """Finite differences in float64 through the composed formulas."""

    def t(values):
        return gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)

    conc, value = t([0.8, 1.7, 3.1]), gg.tensor([0.2, 0.3, 0.5], dtype=gg.float64, device=device)
    loc, tril = t([0.2, -0.4]), t([[1.3, 0.0], [0.4, 0.9]])
    x = gg.tensor([[0.5, 1.0], [-1.0, 0.3]], dtype=gg.float64, device=device)
    checks = [
        (lambda c: ggd.Dirichlet(c).log_prob(value) + ggd.Dirichlet(c).entropy(), (conc,)),
        (
            lambda a, b: ggd.Gamma(a, b).entropy() + ggd.Gamma(a, b).log_prob(value),
            (conc, t([2.0, 0.5, 1.0])),
        ),
        (lambda m, s: ggd.MultivariateNormal(m, scale_tril=s.tril()).log_prob(x), (loc, tril)),
        (
            lambda a, b: ggd.kl_divergence(ggd.Beta(a, b), ggd.Beta(b, a)),
            (t([0.7, 2.0]), t([1.5, 0.4])),
        ),
        (
            lambda lg: (
                ggd.Categorical(logits=lg).entropy()
                + ggd.Categorical(logits=lg).log_prob(gg.tensor(1, device=device))
            ),
            (t([[0.1, -0.5, 2.0]]),),
        ),
    ]
    for fn, inputs in checks:
        assert gg.autograd.gradcheck(fn, inputs)


def test_gamma_cdf_matches_torch(device):
    """``Gamma.cdf`` is the regularized incomplete gamma function (series / continued
    fraction here, within 1e-8 of PyTorch's for shapes up to 100); it differentiates in
    ``rate`` and the value, and, as in PyTorch, not in ``concentration``."""
    conc = np.array([0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0])
    rate = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 0.8, 1.2, 1.0])
    value = np.array([0.01, 0.35, 2.0, 2.0, 4.9, 15.0, 20.8, 110.0])
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        r = lib.tensor(rate, device=dev, requires_grad=True)
        v = lib.tensor(value, device=dev, requires_grad=True)
        cdf = d.Gamma(lib.tensor(conc, device=dev), r).cdf(v)
        results.append(
            [cdf.detach().cpu().numpy()]
            + [g.cpu().numpy() for g in lib.autograd.grad(cdf.sum(), [r, v])]
        )
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-14)
    c = gg.tensor(conc, device=device, requires_grad=True)
    with pytest.raises(NotImplementedError, match="igamma"):
        ggd.Gamma(c, 1.0).cdf(gg.tensor(value, device=device)).sum().backward()
