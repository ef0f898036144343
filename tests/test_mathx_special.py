"""gpugrad.special, gg.i0/igamma/igammac/mvlgamma and gpugrad.fft's helpers against PyTorch
(and SciPy's reference values where PyTorch's own float64 results are less accurate)."""

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")
scipy_special = pytest.importorskip("scipy.special")

RNG = np.random.default_rng(7)
WIDE = np.concatenate([RNG.uniform(-60, 60, 300), RNG.uniform(-3, 3, 100), [0.0, 30.0, -30.0]])


def _values(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else t.numpy()


def _close(a, b, rtol=1e-13, atol=0.0):
    np.testing.assert_allclose(_values(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize(
    "name, reference, points, rtol, atol",
    [
        ("i0", scipy_special.i0, WIDE[np.abs(WIDE) < 700], 1e-13, 0),
        ("i0e", scipy_special.i0e, WIDE, 1e-13, 0),
        ("i1", scipy_special.i1, WIDE, 1e-13, 0),
        ("i1e", scipy_special.i1e, WIDE, 1e-13, 0),
        ("erfcx", scipy_special.erfcx, WIDE[WIDE > -25], 1e-13, 0),
        ("ndtr", scipy_special.ndtr, WIDE[WIDE > -35], 1e-12, 0),
        ("log_ndtr", scipy_special.log_ndtr, WIDE, 1e-12, 1e-300),
        ("bessel_j0", scipy_special.j0, WIDE, 0, 1e-11),
        ("bessel_j1", scipy_special.j1, WIDE, 0, 1e-11),
        (
            "ndtri",
            scipy_special.ndtri,
            np.r_[RNG.uniform(0, 1, 200), 10.0 ** -np.arange(1, 300, 7)],
            1e-13,
            0,
        ),
    ],
)
def test_special_primitives_match_scipy_and_torch(device, name, reference, points, rtol, atol):
    x = gg.tensor(points, dtype=gg.float64, device=device)
    out = getattr(gg.special, name)(x)
    assert out.dtype == gg.float64
    _close(out, reference(points), rtol=rtol, atol=atol)
    # PyTorch's own float64 j0 is good to ~1e-8 and its ndtr to ~1e-6 below -5: compared
    # with PyTorch where both are accurate
    moderate = (np.abs(points) <= 5) | (name == "ndtri")
    theirs = getattr(torch.special, name)(torch.tensor(points[moderate])).numpy()
    _close(
        out[gg.tensor(moderate, device=device)],
        theirs,
        rtol=max(rtol, 1e-11),
        atol=1e-7 if atol else 0,
    )


def test_special_edges_and_dtypes(device):
    edges = gg.tensor([-np.inf, np.inf, np.nan, 0.0], dtype=gg.float64, device=device)
    t_edges = torch.tensor([-np.inf, np.inf, np.nan, 0.0], dtype=torch.float64)
    for name in ("i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtr", "expit", "entr", "sinc"):
        _close(getattr(gg.special, name)(edges), getattr(torch.special, name)(t_edges).numpy())
    p = [0.0, 1.0, -0.5, 1.5, 0.5]
    _close(
        gg.special.ndtri(gg.tensor(p, dtype=gg.float64, device=device)),
        torch.special.ndtri(torch.tensor(p, dtype=torch.float64)),
    )
    ints = gg.tensor([1, 2, 3], device=device)
    for name in ("i0", "i0e", "i1", "ndtr", "erfcx", "log_ndtr", "bessel_j0", "entr"):
        ours = getattr(gg.special, name)(ints)
        theirs = getattr(torch.special, name)(torch.tensor([1, 2, 3]))
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1], name
        _close(ours, theirs.numpy(), rtol=1e-6)
    half = gg.special.i1(gg.tensor([1.5], dtype=gg.float32, device=device))
    assert half.dtype == gg.float32


def test_special_aliases_are_the_ops(device):
    s = gg.special
    assert s.expit is gg.sigmoid and s.gammaln is gg.lgamma and s.psi is gg.digamma
    assert s.erf is gg.erf and s.gammainc is gg.igamma and s.multigammaln is gg.mvlgamma
    x = np.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.7]])
    g, t = gg.tensor(x, device=device), torch.tensor(x)
    _close(s.logsumexp(g, 1), torch.special.logsumexp(t, 1))
    _close(s.softmax(g, 0), torch.special.softmax(t, 0))
    _close(s.log_softmax(g, 1), torch.special.log_softmax(t, 1))
    _close(s.xlog1py(g, g.abs()), torch.special.xlog1py(t, t.abs()))
    _close(s.polygamma(2, g.abs() + 0.1), torch.special.polygamma(2, t.abs() + 0.1), rtol=1e-12)
    _close(s.round(g * 3), torch.special.round(t * 3))
    sp = np.array([0.0, 0.5, -2.0, 7.0])
    _close(
        s.spherical_bessel_j0(gg.tensor(sp)), torch.special.spherical_bessel_j0(torch.tensor(sp))
    )
    _close(s.modified_bessel_i0(gg.tensor(sp)), torch.special.modified_bessel_i0(torch.tensor(sp)))
    _close(s.modified_bessel_i1(gg.tensor(sp)), torch.special.modified_bessel_i1(torch.tensor(sp)))


def test_zeta_igamma_mvlgamma_values(device):
    a = RNG.uniform(0.05, 25, 200)
    x = RNG.uniform(0, 50, 200)
    ga, gx = gg.tensor(a, device=device), gg.tensor(x, device=device)
    _close(gg.igamma(ga, gx), scipy_special.gammainc(a, x), rtol=1e-12, atol=1e-300)
    _close(gg.special.gammaincc(ga, gx), scipy_special.gammaincc(a, x), rtol=1e-11, atol=1e-300)
    # PyTorch's own igammac is good to ~1e-9 here (SciPy's agrees with ours to 1e-11)
    _close(ga.igammac(gx), torch.igammac(torch.tensor(a), torch.tensor(x)), rtol=1e-8, atol=1e-14)
    s = RNG.uniform(1.05, 9, 100)
    q = RNG.uniform(-4.5, 20, 100)
    _close(gg.special.zeta(gg.tensor(s), gg.tensor(q)), scipy_special.zeta(s, q), rtol=1e-13)
    edge_s, edge_q = [1.0, 0.5, 2.0, 2.0, 2.0], [1.0, 1.0, -2.0, np.inf, 1e300]
    _close(
        gg.special.zeta(gg.tensor(edge_s), gg.tensor(edge_q)),
        torch.special.zeta(torch.tensor(edge_s), torch.tensor(edge_q)),
    )
    _close(
        gg.special.zeta(2, gg.tensor([1.0, 2.0])), torch.special.zeta(2, torch.tensor([1.0, 2.0]))
    )
    m = np.array([2.5, 4.0, 7.25])
    _close(gg.mvlgamma(gg.tensor(m), 3), torch.mvlgamma(torch.tensor(m), 3), rtol=1e-13)
    _close(gg.tensor(m).mvlgamma(1), torch.tensor(m).mvlgamma(1), rtol=1e-13)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        gg.mvlgamma(gg.tensor(m), 0)
    with pytest.raises(NotImplementedError, match="\"igamma_cpu\" not implemented for 'Long'"):
        gg.igamma(gg.tensor([1]), gg.tensor([2]))
    y = gg.tensor([1.0, 4.0])
    y.i0_()
    _close(y, torch.i0(torch.tensor([1.0, 4.0])), rtol=2e-7)


GRAD_POINTS = np.array([-2.3, -0.4, 0.7, 1.9, 4.2])


@pytest.mark.parametrize(
    "name, points",
    [
        ("i0", GRAD_POINTS),
        ("i0e", GRAD_POINTS),
        ("i1", np.r_[GRAD_POINTS, 0.0]),
        ("i1e", np.r_[GRAD_POINTS, 0.0]),
        ("erfcx", GRAD_POINTS),
        ("ndtri", np.array([0.01, 0.3, 0.5, 0.8, 0.999])),
        ("log_ndtr", np.r_[GRAD_POINTS, -9.0]),
        ("ndtr", GRAD_POINTS),
        ("xlog1py", GRAD_POINTS),
        ("entr", np.abs(GRAD_POINTS)),
    ],
)
def test_special_gradients_match_torch(device, name, points):
    x = gg.tensor(points, dtype=gg.float64, device=device, requires_grad=True)
    tx = torch.tensor(points, requires_grad=True)
    if name == "xlog1py":
        other = np.abs(points) + 0.5
        fn, tfn = (
            (lambda v: gg.special.xlog1py(v, gg.tensor(other, device=device))),
            (lambda v: torch.special.xlog1py(v, torch.tensor(other))),
        )
    else:
        fn, tfn = getattr(gg.special, name), getattr(torch.special, name)
    (grad,) = gg.autograd.grad(fn(x).sum(), x)
    (tgrad,) = torch.autograd.grad(tfn(tx).sum(), tx)
    _close(grad, tgrad.numpy(), rtol=1e-10)
    nonzero = points[points != 0]
    assert gg.autograd.gradcheck(
        fn, (gg.tensor(nonzero, dtype=gg.float64, device=device, requires_grad=True),)
    )
    assert gg.autograd.gradgradcheck(
        fn, (gg.tensor(nonzero, dtype=gg.float64, device=device, requires_grad=True),)
    )


def test_second_argument_gradients_and_refusals(device):
    a = gg.tensor([0.5, 2.0, 5.0], dtype=gg.float64, device=device)
    x = gg.tensor([0.3, 1.5, 6.0], dtype=gg.float64, device=device, requires_grad=True)
    ta = torch.tensor([0.5, 2.0, 5.0], dtype=torch.float64)
    tx = torch.tensor([0.3, 1.5, 6.0], dtype=torch.float64, requires_grad=True)
    for ours, theirs in (
        (gg.igamma, torch.igamma),
        (gg.igammac, torch.igammac),
        (gg.special.zeta, torch.special.zeta),
    ):
        s = a + 1.5 if ours is gg.special.zeta else a
        ts = ta + 1.5 if ours is gg.special.zeta else ta
        (g,) = gg.autograd.grad(ours(s, x).sum(), x)
        (tg,) = torch.autograd.grad(theirs(ts, tx).sum(), tx)
        _close(g, tg.numpy(), rtol=1e-11)
        assert gg.autograd.gradcheck(lambda v, f=ours, s=s: f(s, v), (x,))
    a.requires_grad_(True)
    with pytest.raises(
        NotImplementedError, match="the derivative for 'igamma: input' is not implemented."
    ):
        gg.igamma(a, x).sum().backward()
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented."):
        gg.special.zeta(a + 1.5, x).sum().backward()
    j = gg.special.bessel_j0(gg.tensor([1.0], requires_grad=True, device=device))
    assert j.grad_fn is None and not j.requires_grad


def test_fft_helpers_match_torch(device):
    for n, d in ((5, 1.0), (6, 0.5), (1, 2.0)):
        _close(gg.fft.fftfreq(n, d, device=device), torch.fft.fftfreq(n, d).numpy(), rtol=1e-6)
        _close(gg.fft.rfftfreq(n, d, device=device), torch.fft.rfftfreq(n, d).numpy(), rtol=1e-6)
    assert gg.fft.fftfreq(4, dtype=gg.float64).dtype == gg.float64
    with pytest.raises(RuntimeError, match="fftfreq requires a floating point or complex dtype"):
        gg.fft.fftfreq(4, dtype=gg.int64)
    x = np.arange(30.0).reshape(5, 6)
    g, t = gg.tensor(x, device=device, requires_grad=True), torch.tensor(x)
    _close(gg.fft.fftshift(g), torch.fft.fftshift(t))
    _close(gg.fft.ifftshift(g, dim=1), torch.fft.ifftshift(t, dim=1))
    _close(gg.fft.ifftshift(gg.fft.fftshift(g, dim=(0, 1)), dim=(0, 1)), x)
    assert gg.autograd.gradcheck(lambda v: gg.fft.fftshift(v) * v, (g,))
    with pytest.raises(NotImplementedError, match="no complex dtypes"):
        gg.fft.rfft(g)


@pytest.mark.parametrize(
    "name",
    [
        "chebyshev_polynomial_t",
        "chebyshev_polynomial_u",
        "chebyshev_polynomial_v",
        "chebyshev_polynomial_w",
        "shifted_chebyshev_polynomial_t",
        "shifted_chebyshev_polynomial_u",
        "shifted_chebyshev_polynomial_v",
        "shifted_chebyshev_polynomial_w",
        "hermite_polynomial_h",
        "hermite_polynomial_he",
        "laguerre_polynomial_l",
        "legendre_polynomial_p",
    ],
)
def test_orthogonal_polynomials(device, name):
    ours, theirs = getattr(gg.special, name), getattr(torch.special, name)
    x = [-1.5, -0.3, 0.0, 0.7, 1.0, 2.0]
    n = [-1.0, 0.0, 1.0, 2.5, 4.0, 5.0]
    gx = gg.tensor(x, dtype=gg.float64, device=device, requires_grad=True)
    tx = torch.tensor(x, dtype=torch.float64)
    for degree in (0, 3, 6):
        _close(ours(gx, degree), theirs(tx, degree).numpy(), rtol=1e-12, atol=1e-12)
    _close(
        ours(gx, gg.tensor(n, device=device)),
        theirs(tx, torch.tensor(n)).numpy(),
        rtol=1e-12,
        atol=1e-12,
    )
    assert ours(gx, 3).grad_fn is None
    assert ours(gg.tensor([1, 2], device=device), 2).dtype == gg.float32
    assert ours(2.0, gg.tensor([2], device=device)).dtype == gg.float32
