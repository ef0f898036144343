"""gg.distributions API against torch.distributions: error texts of validate_args, reprs,
shapes, expand, constraints, transforms, Independent/TransformedDistribution, and the
programs users write with them (REINFORCE, a VAE's loss, a PPO entropy bonus)."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.distributions as ggd

torch = pytest.importorskip("torch")
td = torch.distributions

# each case runs on both libraries: (lib, dists, device) -> value whose repr (or error) must match
CASES = {
    "bad-scale": lambda lib, d, dev: d.Normal(
        lib.tensor([0.0], device=dev), lib.tensor([-1.0], device=dev)
    ),
    "bad-scale-number": lambda lib, d, dev: d.Normal(0.0, -1.0),
    "bad-probs": lambda lib, d, dev: d.Bernoulli(probs=lib.tensor([1.5], device=dev)),
    "no-probs": lambda lib, d, dev: d.Bernoulli(),
    "outside-support": lambda lib, d, dev: d.Bernoulli(0.3).log_prob(lib.tensor(0.5)),
    "category-out-of-range": lambda lib, d, dev: d.Categorical(
        lib.tensor([0.2, 0.8], device=dev)
    ).log_prob(lib.tensor(2, device=dev)),
    "not-simplex": lambda lib, d, dev: d.Categorical(lib.tensor([-0.2, 0.8], device=dev)),
    "uniform-low-high": lambda lib, d, dev: d.Uniform(
        lib.tensor([1.0], device=dev), lib.tensor([0.0], device=dev)
    ),
    "not-broadcastable": lambda lib, d, dev: d.Normal(lib.zeros(2, device=dev), 1.0).log_prob(
        lib.zeros(3, device=dev)
    ),
    "not-a-tensor": lambda lib, d, dev: d.Normal(lib.zeros(2, device=dev), 1.0).log_prob([0.0]),
    "event-shape": lambda lib, d, dev: d.Dirichlet(lib.ones(3, device=dev)).log_prob(
        lib.ones(2, device=dev) / 2
    ),
    "dirichlet-0d": lambda lib, d, dev: d.Dirichlet(lib.tensor(1.0, device=dev)),
    "mvn-not-pd": lambda lib, d, dev: d.MultivariateNormal(
        lib.zeros(2, device=dev), lib.tensor([[1.0, 2.0], [2.0, 1.0]], device=dev)
    ),
    "mvn-none": lambda lib, d, dev: d.MultivariateNormal(lib.zeros(2, device=dev)),
    "independent-too-many": lambda lib, d, dev: d.Independent(
        d.Normal(lib.zeros(3, 2, device=dev), 1.0), 3
    ),
    "geometric-zero": lambda lib, d, dev: d.Geometric(lib.tensor([0.0], device=dev)),
    "poisson-negative": lambda lib, d, dev: d.Poisson(lib.tensor([-1.0], device=dev)),
    "beta-negative": lambda lib, d, dev: d.Beta(
        lib.tensor([1.0], device=dev), lib.tensor([-2.0], device=dev)
    ),
    "transforms-not-list": lambda lib, d, dev: d.TransformedDistribution(d.Normal(0.0, 1.0), 3),
    "validate-args-value": lambda lib, d, dev: d.Distribution.set_default_validate_args(3),
    "repr-normal": lambda lib, d, dev: d.Normal(0.0, 1.0),
    "repr-batched": lambda lib, d, dev: d.Gamma(lib.ones(2, device=dev), 1.0),
    "repr-independent": lambda lib, d, dev: d.Independent(
        d.Normal(lib.zeros(3, 2, device=dev), 1.0), 1
    ),
    "repr-binomial": lambda lib, d, dev: d.Binomial(10, lib.tensor([0.3], device=dev)),
    "repr-studentt": lambda lib, d, dev: d.StudentT(lib.tensor([3.0], device=dev)),
    "repr-lognormal": lambda lib, d, dev: d.LogNormal(0.0, 1.0),
    "repr-compose": lambda lib, d, dev: d.transforms.ComposeTransform(
        [d.transforms.ExpTransform(), d.transforms.AffineTransform(0.0, 2.0)]
    ),
    "repr-inverse": lambda lib, d, dev: d.transforms.TanhTransform().inv,
    "support-uniform": lambda lib, d, dev: d.Uniform(0.0, 1.0).support,
    "support-categorical": lambda lib, d, dev: d.Categorical(lib.ones(3, device=dev)).support,
    "support-tanh": lambda lib, d, dev: (
        d.TransformedDistribution(d.Normal(0.0, 1.0), [d.transforms.TanhTransform()]).support
    ),
    "support-independent": lambda lib, d, dev: (
        d.Independent(d.Normal(lib.zeros(3, 2, device=dev), 1.0), 2).support
    ),
    "shapes": lambda lib, d, dev: [
        tuple(x)
        for x in (
            d.Normal(0.0, 1.0).sample().shape,
            d.Categorical(logits=lib.zeros(2, 3, device=dev)).sample((4,)).shape,
            d.Independent(d.Normal(lib.zeros(3, 2, device=dev), 1.0), 1).batch_shape,
            d.Independent(d.Normal(lib.zeros(3, 2, device=dev), 1.0), 1).event_shape,
            d.Normal(lib.zeros(3, device=dev), 1.0).expand((4, 3)).sample((2,)).shape,
            d.MultivariateNormal(lib.zeros(4, 2, device=dev), lib.eye(2, device=dev))
            .rsample((5,))
            .shape,
            d.OneHotCategorical(logits=lib.zeros(2, 3, device=dev)).event_shape,
            d.Normal(0.0, 1.0).log_prob(lib.tensor([[1.0]], device=dev)).shape,
        )
    ],
}


def _outcome(fn, lib, dists, device):
    """The repr of the result, or the error's class and text, in PyTorch's spelling and
    with the CUDA device suffix of printed tensors removed (PyTorch runs on the CPU here)."""
    try:
        text = repr(fn(lib, dists, device))
    except Exception as error:  # noqa: BLE001  (the class and text are what is compared)
        text = f"{type(error).__name__}: {error}"
    return text.replace("gpugrad", "torch").replace(", device='cuda:0'", "")


@pytest.mark.parametrize("case", sorted(CASES))
def test_errors_reprs_and_shapes_match_torch(case, device):
    ours = _outcome(CASES[case], gg, ggd, device)
    theirs = _outcome(CASES[case], torch, td, "cpu")
    assert ours == theirs


def test_validate_args_default_and_override():
    try:
        ggd.Distribution.set_default_validate_args(False)
        assert ggd.Normal(0.0, -1.0).scale.item() == -1.0  # no check
    finally:
        ggd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ggd.Normal(0.0, -1.0)
    assert np.isnan(ggd.Normal(0.0, -1.0, validate_args=False).log_prob(gg.tensor(0.0)).item())


@pytest.mark.parametrize(
    "constraint, values",
    [
        ("positive", [[-1.0, 0.0, 2.0]]),
        ("nonnegative", [[-1.0, 0.0, 2.0]]),
        ("unit_interval", [[-0.1, 0.0, 0.5, 1.0, 1.2]]),
        ("real", [[1.0, float("nan"), float("inf")]]),
        ("boolean", [[0.0, 1.0, 0.5]]),
        ("nonnegative_integer", [[0.0, 3.0, 2.5, -1.0]]),
        ("simplex", [[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1]]),
        ("one_hot", [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
        ("real_vector", [[1.0, 2.0], [float("nan"), 0.0]]),
        (
            "lower_cholesky",
            [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]],
        ),
        ("positive_definite", [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]),
        ("lower_triangular", [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]]),
    ],
)
def test_constraint_checks_match_torch(constraint, values, device):
    ours = getattr(ggd.constraints, constraint).check(gg.tensor(values, device=device))
    theirs = getattr(td.constraints, constraint).check(torch.tensor(values))
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    assert repr(getattr(ggd.constraints, constraint)) == repr(getattr(td.constraints, constraint))
    assert (
        getattr(ggd.constraints, constraint).event_dim
        == getattr(td.constraints, constraint).event_dim
    )


TRANSFORMS = {
    "exp": lambda d, lib: d.transforms.ExpTransform(),
    "affine": lambda d, lib: d.transforms.AffineTransform(
        lib.tensor([0.5, -1.0, 2.0]), lib.tensor([2.0, -0.5, 3.0])
    ),
    "sigmoid": lambda d, lib: d.transforms.SigmoidTransform(),
    "tanh": lambda d, lib: d.transforms.TanhTransform(),
    "softplus": lambda d, lib: d.transforms.SoftplusTransform(),
    "power": lambda d, lib: d.transforms.PowerTransform(lib.tensor(2.5)),
    "compose": lambda d, lib: d.transforms.ComposeTransform(
        [
            d.transforms.AffineTransform(1.0, 0.5),
            d.transforms.TanhTransform(),
            d.transforms.AffineTransform(0.0, 3.0),
        ]
    ),
}


TRANSFORMS.update(
    {
        "stick_breaking": lambda d, lib: d.transforms.StickBreakingTransform(),
        "independent": lambda d, lib: d.transforms.IndependentTransform(
            d.transforms.ExpTransform(), 1
        ),
    }
)
TRANSFORM_INPUTS = {
    "lower_cholesky": np.array([[0.3, 1.2, 2.0], [-0.5, 0.1, 0.7], [1.1, -2.0, 0.4]])
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transforms_match_torch(name):
    x = np.array([0.3, 1.2, 2.0])
    t_t, g_t = TRANSFORMS[name](td, torch), TRANSFORMS[name](ggd, gg)
    t_x = torch.tensor(x, requires_grad=True)
    g_x = gg.tensor(x, requires_grad=True)
    t_y, g_y = t_t(t_x), g_t(g_x)
    np.testing.assert_allclose(g_y.detach().numpy(), t_y.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        g_t.inv(g_y).detach().numpy(), t_t.inv(t_y).detach().numpy(), rtol=1e-10
    )
    t_ladj, g_ladj = t_t.log_abs_det_jacobian(t_x, t_y), g_t.log_abs_det_jacobian(g_x, g_y)
    np.testing.assert_allclose(
        g_ladj.detach().numpy(), t_ladj.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    (t_grad,) = torch.autograd.grad((t_y + t_ladj).sum(), t_x)
    (g_grad,) = gg.autograd.grad((g_y + g_ladj).sum(), g_x)
    np.testing.assert_allclose(g_grad.numpy(), t_grad.numpy(), rtol=1e-9, atol=1e-12)
    assert g_t.bijective == t_t.bijective
    assert repr(g_t.domain) == repr(t_t.domain) and repr(g_t.codomain) == repr(t_t.codomain)


def test_transformed_distribution_matches_torch(device):
    """A tanh-squashed Gaussian (SAC's policy) and a scaled-sigmoid one: log_prob, cdf, icdf
    and gradients w.r.t. loc and scale."""
    loc, scale = np.array([0.2, -0.7]), np.array([0.5, 1.3])
    value = np.array([0.3, -0.9])
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        lo = lib.tensor(loc, device=dev, requires_grad=True)
        sc = lib.tensor(scale, device=dev, requires_grad=True)
        tanh = d.TransformedDistribution(d.Normal(lo, sc), [d.transforms.TanhTransform()])
        sigmoid = d.TransformedDistribution(
            d.Normal(lo, sc),
            [d.transforms.SigmoidTransform(), d.transforms.AffineTransform(-1.0, 2.0)],
        )
        v = lib.tensor(value, device=dev)
        out = [
            tanh.log_prob(v),
            sigmoid.log_prob(v),
            sigmoid.cdf(v),
            sigmoid.icdf(lib.tensor([0.2, 0.9], device=dev)),
        ]
        grads = lib.autograd.grad(sum(o.sum() for o in out), [lo, sc])
        results.append([o.detach().cpu().numpy() for o in out] + [g.cpu().numpy() for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_expand_shares_parameters_and_keeps_values(device):
    loc = gg.tensor([0.0, 1.0, 2.0], device=device, requires_grad=True)
    d = ggd.Normal(loc, 1.0).expand((4, 3))
    assert tuple(d.batch_shape) == (4, 3)
    lp = d.log_prob(gg.zeros(4, 3, device=device))
    lp.sum().backward()
    np.testing.assert_allclose(loc.grad.cpu().numpy(), [0.0, -4.0, -8.0])
    cat = ggd.Categorical(logits=gg.tensor([0.1, 0.2, 0.7], device=device)).expand((2,))
    np.testing.assert_allclose(cat.probs.cpu().numpy()[0], cat.probs.cpu().numpy()[1])
    ind = ggd.Independent(ggd.Normal(gg.zeros(3, device=device), 1.0), 1).expand((5,))
    assert tuple(ind.batch_shape) == (5,) and tuple(ind.event_shape) == (3,)
    assert tuple(ind.log_prob(gg.zeros(5, 3, device=device)).shape) == (5,)


def test_probs_and_logits_are_lazy_and_consistent(device):
    logits = gg.tensor([[0.5, -1.0, 2.0]], device=device, requires_grad=True)
    cat = ggd.Categorical(logits=logits)
    assert "probs" not in cat.__dict__
    np.testing.assert_allclose(
        cat.probs.detach().cpu().numpy(), gg.softmax(logits, -1).detach().cpu().numpy()
    )
    assert "probs" in cat.__dict__
    bern = ggd.Bernoulli(probs=gg.tensor([0.25], device=device))
    np.testing.assert_allclose(bern.logits.cpu().numpy(), [np.log(0.25 / 0.75)], rtol=1e-6)


def test_reinforce_with_categorical(device):
    """Policy gradient: sample actions, score them, backpropagate -(log_prob * return).
    The gradient equals the analytic E[R (onehot(a) - p)] on the sampled actions."""
    gg.manual_seed(0)
    logits = gg.tensor([[0.2, -0.3, 0.1], [1.0, 0.0, -1.0]], device=device, requires_grad=True)
    policy = ggd.Categorical(logits=logits)
    actions = policy.sample((64,))
    returns = (actions == 0).to(gg.float32) * 2.0 - 1.0
    loss = -(policy.log_prob(actions) * returns).mean()
    loss.backward()
    probs = policy.probs.detach().cpu().numpy()
    onehot = np.eye(3)[actions.cpu().numpy()]
    expected = -((onehot - probs) * returns.cpu().numpy()[..., None]).sum(0) / actions.numel()
    np.testing.assert_allclose(logits.grad.cpu().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_vae_loss_and_ppo_entropy_bonus(device):
    """A VAE step: reparameterized latent, decoder log-likelihood, KL to N(0, I); and an
    entropy bonus. Gradients reach the encoder outputs and equal PyTorch's on the same
    noise."""
    rng = np.random.default_rng(3)
    mu_np, log_var_np, eps_np = rng.standard_normal((3, 8, 4))
    results = []
    for lib, d, dev in ((gg, ggd, device), (torch, td, "cpu")):
        mu = lib.tensor(mu_np, device=dev, requires_grad=True)
        log_var = lib.tensor(log_var_np, device=dev, requires_grad=True)
        q = d.Independent(d.Normal(mu, (0.5 * log_var).exp()), 1)
        z = mu + (0.5 * log_var).exp() * lib.tensor(eps_np, device=dev)  # the same noise
        prior = d.Independent(d.Normal(lib.zeros(8, 4, device=dev), lib.ones(8, 4, device=dev)), 1)
        recon = d.Independent(d.Normal(z.tanh(), 1.0), 1).log_prob(
            lib.tensor(eps_np, device=dev) * 0.1
        )
        loss = (d.kl_divergence(q, prior) - recon).mean() - 0.01 * q.entropy().mean()
        grads = lib.autograd.grad(loss, [mu, log_var])
        results.append([loss.detach().cpu().numpy()] + [g.cpu().numpy() for g in grads])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # the same step through rsample: gradients flow to the encoder
    mu = gg.zeros(8, 4, device=device, requires_grad=True)
    ggd.Normal(mu, 1.0).rsample().pow(2).sum().backward()
    assert mu.grad is not None and float(mu.grad.abs().sum()) > 0


def test_public_names_have_docstrings_and_torch_counterparts():
    import inspect

    for module, torch_module in (
        (ggd, td),
        (ggd.constraints, td.constraints),
        (ggd.transforms, td.transforms),
        (ggd.kl, td.kl),
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            assert hasattr(torch_module, name), name
            if inspect.ismodule(obj) or not callable(obj):
                continue
            assert (obj.__doc__ or "").strip(), name
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        # an override may inherit the base method's docstring
                        assert inspect.getdoc(getattr(obj, attr)), f"{name}.{attr}"


def test_softmax_transform_matches_torch():
    x = np.array([[0.3, 1.2, 2.0], [-1.0, 0.0, 5.0]])
    ours = ggd.transforms.SoftmaxTransform()(gg.tensor(x))
    theirs = td.transforms.SoftmaxTransform()(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        ggd.transforms.SoftmaxTransform().inv(ours).numpy(),
        td.transforms.SoftmaxTransform().inv(theirs).numpy(),
    )


@pytest.mark.parametrize(
    "constraint",
    [
        "real",
        "positive",
        "greater_than",
        "less_than",
        "unit_interval",
        "interval",
        "simplex",
        "real_vector",
        "lower_cholesky",
    ],
)
def test_biject_to_and_transform_to_match_torch(constraint, device):
    make = {
        "greater_than": lambda c: c.greater_than(1.5),
        "less_than": lambda c: c.less_than(-2.0),
        "interval": lambda c: c.interval(-1.0, 3.0),
    }.get(constraint, lambda c: getattr(c, constraint))
    x = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.7], [0.2, 0.1, -3.0]])
    for registry in ("biject_to", "transform_to"):
        try:
            theirs = getattr(td, registry)(make(td.constraints))
        except NotImplementedError:
            with pytest.raises(NotImplementedError):
                getattr(ggd, registry)(make(ggd.constraints))
            continue
        ours = getattr(ggd, registry)(make(ggd.constraints))
        assert repr(ours) == repr(theirs)
        y_ours = ours(gg.tensor(x, device=device))
        y_theirs = theirs(torch.tensor(x))
        np.testing.assert_allclose(y_ours.cpu().numpy(), y_theirs.numpy(), rtol=1e-12)
        assert bool(make(ggd.constraints).check(y_ours).all())
