"""kl_divergence against torch.distributions.kl_divergence in float64 (values and
gradients), register_kl dispatch, and the error for an unregistered pair."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributions as ggd

torch = pytest.importorskip("torch")
td = torch.distributions

A = np.array([0.6, 1.5, 3.0])
B = np.array([2.0, 0.8, 1.1])
REAL_A = np.array([-0.5, 0.2, 1.5])
REAL_B = np.array([0.3, -1.0, 0.0])
P_A = np.array([0.2, 0.5, 0.9])
P_B = np.array([0.6, 0.3, 0.4])
LOGITS_A = np.array([[0.1, -1.0, 2.0], [0.5, 0.5, -0.3]])
LOGITS_B = np.array([[1.0, 0.0, 0.2], [-0.4, 0.5, 1.3]])

# (p family, p params, q family, q params)
PAIRS = {
    "Normal-Normal": ("Normal", (REAL_A, A), "Normal", (REAL_B, B)),
    "Bernoulli-Bernoulli": ("Bernoulli", (P_A,), "Bernoulli", (P_B,)),
    "Categorical-Categorical": (
        "Categorical",
        (np.exp(LOGITS_A),),
        "Categorical",
        (np.exp(LOGITS_B),),
    ),
    "OneHot-OneHot": (
        "OneHotCategorical",
        (np.exp(LOGITS_A),),
        "OneHotCategorical",
        (np.exp(LOGITS_B),),
    ),
    "Beta-Beta": ("Beta", (A, B), "Beta", (B, A)),
    "Gamma-Gamma": ("Gamma", (A, B), "Gamma", (B, A)),
    "Dirichlet-Dirichlet": ("Dirichlet", (np.exp(LOGITS_A),), "Dirichlet", (np.exp(LOGITS_B),)),
    "Exponential-Exponential": ("Exponential", (A,), "Exponential", (B,)),
    "Uniform-Uniform": ("Uniform", (REAL_A, REAL_A + A), "Uniform", (REAL_A - B, REAL_A + A + 0.5)),
    "Laplace-Laplace": ("Laplace", (REAL_A, A), "Laplace", (REAL_B, B)),
    "Cauchy-Cauchy": ("Cauchy", (REAL_A, A), "Cauchy", (REAL_B, B)),
    "Poisson-Poisson": ("Poisson", (A,), "Poisson", (B,)),
    "Geometric-Geometric": ("Geometric", (P_A,), "Geometric", (P_B,)),
    "Exponential-Gamma": ("Exponential", (A,), "Gamma", (B, A)),
    "Gamma-Exponential": ("Gamma", (A, B), "Exponential", (B,)),
    "Normal-Laplace": ("Normal", (REAL_A, A), "Laplace", (REAL_B, B)),
    "Laplace-Normal": ("Laplace", (REAL_A, A), "Normal", (REAL_B, B)),
    "Uniform-Normal": ("Uniform", (REAL_A, REAL_A + A), "Normal", (REAL_B, B)),
    "Exponential-Normal": ("Exponential", (A,), "Normal", (REAL_B, B)),
    "Gumbel-Gumbel": ("Gumbel", (REAL_A, A), "Gumbel", (REAL_B, B)),
    "HalfNormal-HalfNormal": ("HalfNormal", (A,), "HalfNormal", (B,)),
    "Pareto-Pareto": ("Pareto", (A, B + 1.0), "Pareto", (A * 0.5, B + 2.0)),
    "ContinuousBernoulli-ContinuousBernoulli": (
        "ContinuousBernoulli",
        (P_A,),
        "ContinuousBernoulli",
        (P_B,),
    ),
    "LogNormal-LogNormal": ("LogNormal", (REAL_A, A), "LogNormal", (REAL_B, B)),
}


def _make(module, family, params, as_tensor):
    return getattr(module, family)(*[as_tensor(p) for p in params])


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_kl_matches_torch(pair, device):
    p_family, p_params, q_family, q_params = PAIRS[pair]
    g_leaves, t_leaves = [], []

    def g_tensor(v):
        g_leaves.append(gg.tensor(v, dtype=gg.float64, device=device, requires_grad=True))
        return g_leaves[-1]

    def t_tensor(v):
        t_leaves.append(torch.tensor(v, dtype=torch.float64, requires_grad=True))
        return t_leaves[-1]

    g_kl = ggd.kl_divergence(
        _make(ggd, p_family, p_params, g_tensor), _make(ggd, q_family, q_params, g_tensor)
    )
    t_kl = td.kl_divergence(
        _make(td, p_family, p_params, t_tensor), _make(td, q_family, q_params, t_tensor)
    )
    assert tuple(g_kl.shape) == tuple(t_kl.shape)
    np.testing.assert_allclose(
        g_kl.detach().cpu().numpy(), t_kl.detach().numpy(), rtol=1e-9, atol=1e-12
    )
    finite = torch.isfinite(t_kl).detach()
    t_grads = torch.autograd.grad(t_kl[finite].sum(), t_leaves, allow_unused=True)
    g_grads = gg.autograd.grad(
        g_kl[gg.tensor(finite.numpy(), device=device)].sum(), g_leaves, allow_unused=True
    )
    for g_grad, t_grad in zip(g_grads, t_grads):
        if t_grad is None:
            continue
        np.testing.assert_allclose(g_grad.cpu().numpy(), t_grad.numpy(), rtol=1e-8, atol=1e-11)


def test_kl_infinite_where_support_mismatches(device):
    p = ggd.Uniform(gg.tensor([0.0, 0.0], device=device), gg.tensor([1.0, 1.0], device=device))
    q = ggd.Uniform(gg.tensor([0.5, -1.0], device=device), gg.tensor([2.0, 2.0], device=device))
    kl = ggd.kl_divergence(p, q).cpu().numpy()
    assert kl[0] == np.inf and np.isclose(kl[1], np.log(3.0))
    assert float(ggd.kl_divergence(ggd.Normal(0.0, 1.0), ggd.Exponential(1.0))) == np.inf
    zero = ggd.kl_divergence(
        ggd.Bernoulli(gg.tensor([0.0, 1.0], device=device)),
        ggd.Bernoulli(gg.tensor([0.5, 0.5], device=device)),
    )
    np.testing.assert_allclose(zero.cpu().numpy(), [np.log(2.0), np.log(2.0)], rtol=1e-6)


def test_kl_multivariate_normal_and_independent(device):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((3, 3))
    cov_p = a @ a.transpose(0, 2, 1) + np.eye(3)
    cov_q = b @ b.T + 2 * np.eye(3)
    loc_p, loc_q = rng.standard_normal((2, 3)), rng.standard_normal(3)
    g = [gg.tensor(v, device=device, requires_grad=True) for v in (loc_p, cov_p, loc_q, cov_q)]
    t = [torch.tensor(v, requires_grad=True) for v in (loc_p, cov_p, loc_q, cov_q)]
    g_kl = ggd.kl_divergence(ggd.MultivariateNormal(g[0], g[1]), ggd.MultivariateNormal(g[2], g[3]))
    t_kl = td.kl_divergence(td.MultivariateNormal(t[0], t[1]), td.MultivariateNormal(t[2], t[3]))
    np.testing.assert_allclose(g_kl.detach().cpu().numpy(), t_kl.detach().numpy(), rtol=1e-10)
    g_grads = gg.autograd.grad(g_kl.sum(), g)
    t_grads = torch.autograd.grad(t_kl.sum(), t)
    for i, (g_grad, t_grad) in enumerate(zip(g_grads, t_grads)):
        g_sym, t_sym = g_grad.cpu().numpy(), t_grad.numpy()
        if i in (1, 3):  # covariances: compare the symmetric part
            g_sym, t_sym = (
                (g_sym + np.swapaxes(g_sym, -1, -2)) / 2,
                (t_sym + np.swapaxes(t_sym, -1, -2)) / 2,
            )
        np.testing.assert_allclose(g_sym, t_sym, rtol=1e-8, atol=1e-10)
    # Independent(Normal, 1) against a diagonal MultivariateNormal
    scale_p, scale_q = np.abs(loc_p) + 0.5, np.abs(loc_q) + 0.2
    ind = ggd.kl_divergence(
        ggd.Independent(
            ggd.Normal(gg.tensor(loc_p, device=device), gg.tensor(scale_p, device=device)), 1
        ),
        ggd.Independent(
            ggd.Normal(gg.tensor(loc_q, device=device), gg.tensor(scale_q, device=device)), 1
        ),
    )
    diag = td.kl_divergence(
        td.MultivariateNormal(
            torch.tensor(loc_p), scale_tril=torch.diag_embed(torch.tensor(scale_p))
        ),
        td.MultivariateNormal(
            torch.tensor(loc_q), scale_tril=torch.diag_embed(torch.tensor(scale_q))
        ),
    )
    assert tuple(ind.shape) == (2,)
    np.testing.assert_allclose(ind.cpu().numpy(), diag.numpy(), rtol=1e-10)


def test_register_kl_dispatch_and_errors():
    class MyNormal(ggd.Normal):
        pass

    # a subclass uses its parent's rule until it registers its own
    p, q = MyNormal(0.0, 1.0), ggd.Normal(1.0, 2.0)
    assert float(ggd.kl_divergence(p, q)) == pytest.approx(
        float(ggd.kl_divergence(ggd.Normal(0.0, 1.0), q))
    )

    @ggd.register_kl(MyNormal, ggd.Normal)
    def _kl_mine(p, q):
        return gg.tensor(42.0)

    assert float(ggd.kl_divergence(p, q)) == 42.0
    for p_family, q_family in (("Poisson", "Normal"), ("Poisson", "Laplace")):
        with pytest.raises(NotImplementedError) as ours:
            ggd.kl_divergence(getattr(ggd, p_family)(1.0), getattr(ggd, q_family)(0.0, 1.0))
        with pytest.raises(NotImplementedError) as theirs:
            td.kl_divergence(getattr(td, p_family)(1.0), getattr(td, q_family)(0.0, 1.0))
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError):
        ggd.register_kl(int, ggd.Normal)


@pytest.mark.parametrize("pair", ["lowrank-lowrank", "mvn-lowrank", "lowrank-mvn"])
def test_kl_low_rank_multivariate_normal_matches_torch(pair, device):
    rng = np.random.default_rng(8)
    loc_p, loc_q = rng.standard_normal((2, 2, 3))
    factor_p, factor_q = rng.standard_normal((2, 2, 3, 2))
    diag_p, diag_q = rng.uniform(0.5, 2.0, (2, 3))
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        leaves = [
            lib.tensor(v, device=dev, requires_grad=True)
            for v in (loc_p, factor_p, diag_p, loc_q, factor_q, diag_q, cov)
        ]
        low_p = d.LowRankMultivariateNormal(*leaves[0:3])
        low_q = d.LowRankMultivariateNormal(*leaves[3:6])
        full_p = d.MultivariateNormal(leaves[0], leaves[6])
        full_q = d.MultivariateNormal(leaves[3], leaves[6])
        p, q = {
            "lowrank-lowrank": (low_p, low_q),
            "mvn-lowrank": (full_p, low_q),
            "lowrank-mvn": (low_p, full_q),
        }[pair]
        kl = d.kl_divergence(p, q)
        grads = lib.autograd.grad(kl.sum(), leaves, allow_unused=True)
        results.append(
            [kl.detach().cpu().numpy()] + [None if g is None else g.cpu().numpy() for g in grads]
        )
    for i, (ours, theirs) in enumerate(zip(*results)):
        if theirs is None:
            continue
        if i == 7:  # the covariance: compare the symmetric part of its gradient
            ours, theirs = (ours + ours.T) / 2, (theirs + theirs.T) / 2
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
