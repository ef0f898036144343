"""mathx's numeric top-level names (searchsorted, histograms, windows, gcd, frexp, renorm
...) against PyTorch: values, dtypes, gradients and error texts."""

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _same(ours, theirs, rtol=1e-12, atol=0.0):
    a = ours.detach().cpu().numpy()
    b = theirs.detach().numpy()
    assert a.shape == b.shape
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _both(device, *arrays, **kw):
    return [gg.tensor(a, device=device, **kw) for a in arrays], [
        torch.tensor(a, **kw) for a in arrays
    ]


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value)


def test_searchsorted_and_bucketize(device):
    (seq, rows, vals, v2), (tseq, trows, tvals, tv2) = _both(
        device, [1.0, 3, 5, 7], [[1, 3, 5], [2, 4, 6]], [[3.0, 0, 8], [5, 7, np.nan]], [[3], [7]]
    )
    for kw in ({}, {"right": True}, {"side": "right"}, {"out_int32": True}):
        _same(gg.searchsorted(seq, vals, **kw), torch.searchsorted(tseq, tvals, **kw))
        _same(gg.searchsorted(rows, v2, **kw), torch.searchsorted(trows, tv2, **kw))
        _same(
            gg.bucketize(vals, seq, **{k: v for k, v in kw.items() if k != "side"}),
            torch.bucketize(tvals, tseq, **{k: v for k, v in kw.items() if k != "side"}),
        )
    _same(gg.searchsorted(seq, 3.0), torch.searchsorted(tseq, 3.0))
    (unsorted, order), (tunsorted, torder) = _both(device, [5.0, 1, 7, 3], [1, 3, 0, 2])
    _same(
        gg.searchsorted(unsorted, vals, sorter=order),
        torch.searchsorted(tunsorted, tvals, sorter=torder),
    )
    _raises_like(
        lambda: gg.searchsorted(seq, vals, side="lft"),
        lambda: torch.searchsorted(tseq, tvals, side="lft"),
    )
    _raises_like(lambda: gg.bucketize(vals, rows), lambda: torch.bucketize(tvals, trows))


def test_counting(device):
    (ints, w, x), (tints, tw, tx) = _both(
        device, [1, 2, 2, 5], [0.5, 1.0, 1.0, 2.0], [1.0, 2, 1, 2.5, -1]
    )
    _same(gg.bincount(ints), torch.bincount(tints))
    _same(gg.bincount(ints, w, minlength=8), torch.bincount(tints, tw, minlength=8))
    _same(ints.bincount(), tints.bincount())
    _raises_like(lambda: gg.bincount(ints - 3), lambda: torch.bincount(tints - 3))
    _raises_like(lambda: gg.bincount(w), lambda: torch.bincount(tw))
    for args in ((4,), (3, 0, 2), (5, -2, 2)):
        _same(gg.histc(x, *args), torch.histc(tx, *args))
    _same(x.histc(bins=2), tx.histc(bins=2))
    _raises_like(lambda: gg.histc(x, 3, 5, 1), lambda: torch.histc(tx, 3, 5, 1))
    _raises_like(lambda: gg.histc(ints, 3), lambda: torch.histc(tints, 3))
    for kwargs in ({"bins": 4}, {"bins": 3, "range": (0.0, 3.0), "density": True}):
        ours, theirs = gg.histogram(x, **kwargs), torch.histogram(tx, **kwargs)
        _same(ours.hist, theirs.hist)
        _same(ours.bin_edges, theirs.bin_edges, rtol=1e-6)
    edges = [-1.0, 0.0, 2.0, 3.0]
    ours = gg.histogram(x, gg.tensor(edges, device=device), weight=x.abs())
    theirs = torch.histogram(tx, torch.tensor(edges), weight=tx.abs())
    _same(ours[0], theirs[0])
    (pts, pw), (tpts, tpw) = _both(
        device, [[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]], [1.0, 2, 4, 8]
    )
    ours, theirs = (
        gg.histogramdd(pts, [3, 2], weight=pw),
        torch.histogramdd(tpts, [3, 2], weight=tpw),
    )
    _same(ours.hist, theirs.hist)
    assert len(ours.bin_edges) == 2 and isinstance(ours.bin_edges, tuple)
    _same(ours.bin_edges[1], theirs.bin_edges[1], rtol=1e-6)


def test_unique_consecutive_and_combinations(device):
    (a, m), (ta, tm) = _both(
        device, [1, 1, 2, 2, 3, 1, 1, 2], [[1, 1], [1, 1], [2, 3], [2, 3], [1, 1]]
    )
    for kw in (
        {},
        {"return_inverse": True},
        {"return_counts": True},
        {"return_inverse": True, "return_counts": True},
    ):
        ours, theirs = gg.unique_consecutive(a, **kw), torch.unique_consecutive(ta, **kw)
        for o, t in zip(ours if kw else [ours], theirs if kw else [theirs]):
            _same(o, t)
        for o, t in zip(
            m.unique_consecutive(dim=0, **kw) if kw else [m.unique_consecutive(dim=0)],
            tm.unique_consecutive(dim=0, **kw) if kw else [tm.unique_consecutive(dim=0)],
        ):
            _same(o, t)
    _same(gg.unique_consecutive(m), torch.unique_consecutive(tm))
    (v,), (tv,) = _both(device, [1.0, 2.0, 3.0, 4.0])
    for r, rep in ((2, False), (3, True), (0, False), (5, False)):
        _same(gg.combinations(v, r, rep), torch.combinations(tv, r, rep))
    g = gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: gg.combinations(t, 2).prod(1), (g,))


def test_trapezoid_family(device):
    y = np.array([[1.0, 2.5, 3.0, -1.0], [0.5, 0.0, 2.0, 4.0]])
    x = np.array([0.0, 0.5, 2.0, 2.5])
    gy, gx = gg.tensor(y, device=device), gg.tensor(x, device=device)
    ty, tx = torch.tensor(y), torch.tensor(x)
    _same(gg.trapezoid(gy), torch.trapezoid(ty))
    _same(gg.trapezoid(gy, dx=0.5, dim=0), torch.trapezoid(ty, dx=0.5, dim=0))
    _same(gg.trapezoid(gy, gx), torch.trapezoid(ty, tx))
    _same(gg.trapz(gy, gx), torch.trapz(ty, tx))
    _same(gg.cumulative_trapezoid(gy, gx), torch.cumulative_trapezoid(ty, tx))
    _same(gg.cumulative_trapezoid(gy, dx=2.0, dim=0), torch.cumulative_trapezoid(ty, dx=2.0, dim=0))
    _same(
        gg.trapezoid(gg.tensor([1, 2, 3], device=device)), torch.trapezoid(torch.tensor([1, 2, 3]))
    )
    gy.requires_grad_(True)
    gx.requires_grad_(True)
    assert gg.autograd.gradcheck(lambda a, b: gg.cumulative_trapezoid(a, b), (gy, gx))
    assert gg.autograd.gradcheck(lambda a: gg.trapezoid(a, dx=0.3, dim=0), (gy,))


def test_elementwise_names(device):
    (a, b), (ta, tb) = _both(device, [12, -18, 0, 7], [8, 0, 0, -21])
    _same(gg.gcd(a, b), torch.gcd(ta, tb))
    _same(gg.lcm(a, b), torch.lcm(ta, tb))
    c = a.clone()
    c.gcd_(b)
    _same(c, torch.gcd(ta, tb))
    _raises_like(lambda: gg.gcd(a.float(), b.float()), lambda: torch.gcd(ta.float(), tb.float()))
    f = np.array([1.5, -2.0, 0.0, 1e-310, np.inf, 3e5, np.nan, -np.inf, 1e308])
    gf, tf = gg.tensor(f, device=device), torch.tensor(f)
    ours, theirs = gg.frexp(gf), torch.frexp(tf)
    _same(ours.mantissa, theirs.mantissa)
    _same(ours.exponent, theirs.exponent)
    _raises_like(lambda: gg.frexp(a), lambda: torch.frexp(ta))
    _same(gg.ldexp(gf, a[:1].repeat(9)), torch.ldexp(tf, ta[:1].repeat(9)))
    _same(gg.ldexp(a, b.abs() % 5), torch.ldexp(ta, tb.abs() % 5))
    _same(
        gg.nextafter(gf, gg.zeros(9, dtype=gg.float64, device=device)),
        torch.nextafter(tf, torch.zeros(9, dtype=torch.float64)),
    )
    _same(gg.angle(a), torch.angle(ta))
    _same(
        gg.angle(gg.tensor([1.0, -1.0, np.nan], device=device)),
        torch.angle(torch.tensor([1.0, -1.0, np.nan])),
    )
    g = gg.tensor([1.5, -2.0, 0.75], dtype=gg.float64, device=device, requires_grad=True)
    tg = torch.tensor([1.5, -2.0, 0.75], dtype=torch.float64, requires_grad=True)
    (grad,) = gg.autograd.grad(gg.frexp(g).mantissa.sum() + gg.angle(g).sum(), g)
    (tgrad,) = torch.autograd.grad(torch.frexp(tg).mantissa.sum() + torch.angle(tg).sum(), tg)
    _same(grad, tgrad)
    assert gg.autograd.gradcheck(lambda t: gg.ldexp(t, gg.tensor([1, -2, 3], device=device)), (g,))


def test_vander_and_renorm(device):
    (v, iv), (tv, tiv) = _both(device, [1.0, 2.0, -3.0], [1, 2, 3])
    _same(gg.vander(v), torch.vander(tv))
    _same(gg.vander(iv, N=4, increasing=True), torch.vander(tiv, N=4, increasing=True))
    _same(gg.vander(v, N=1), torch.vander(tv, N=1))
    m = np.array([[1.0, 2.0, -0.5], [3.0, 4.0, 0.1]])
    g = gg.tensor(m, dtype=gg.float64, device=device, requires_grad=True)
    t = torch.tensor(m, requires_grad=True)
    for p, dim, maxnorm in ((2, 0, 3.0), (1, 1, 2.5), (3.5, -1, 1.0)):
        _same(gg.renorm(g, p, dim, maxnorm), torch.renorm(t, p, dim, maxnorm))
        (grad,) = gg.autograd.grad(gg.renorm(g, p, dim, maxnorm).pow(2).sum(), g)
        (tgrad,) = torch.autograd.grad(torch.renorm(t, p, dim, maxnorm).pow(2).sum(), t)
        _same(grad, tgrad, rtol=1e-10, atol=1e-12)  # cancellation: ~1e-8 of terms ~1
    assert gg.autograd.gradcheck(lambda x: gg.vander(x, 4), (g[0].detach().requires_grad_(),))
    _raises_like(lambda: gg.renorm(g, -1, 0, 3), lambda: torch.renorm(t, -1, 0, 3))
    _raises_like(lambda: g.renorm(2, 0, -3), lambda: t.renorm(2, 0, -3))


@pytest.mark.parametrize(
    "name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
)
def test_windows(device, name):
    ours, theirs = getattr(gg, name), getattr(torch, name)
    for n in (0, 1, 2, 7, 10):
        for periodic in (True, False):
            _same(
                ours(n, periodic, dtype=gg.float64, device=device),
                theirs(n, periodic, dtype=torch.float64),
                atol=1e-15,
            )
    _same(ours(5, device=device), theirs(5), rtol=1e-6, atol=1e-6)
    assert ours(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match=f"{name} expects floating point dtypes"):
        ours(4, dtype=gg.int64)
    _same(
        gg.kaiser_window(9, False, 5.0, dtype=gg.float64),
        torch.kaiser_window(9, False, 5.0, dtype=torch.float64),
    )
    _same(
        gg.hamming_window(9, True, 0.5, 0.4, dtype=gg.float64),
        torch.hamming_window(9, True, 0.5, 0.4, dtype=torch.float64),
    )
