"""Scaled dot-product attention's row kernels (``backends/kernels/attention.py``) and the
fused attention op: values and gradients against PyTorch (float64 and float32), each body
(NumPy, native C) against the other on odd shapes, causal with fewer or more keys than
queries, masks (bool and float), ``scale=``, ``enable_gqa``, dropout in eval, 3-d and 4-d
inputs, and double backward through the composite derivative."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from kernel_bodies import cpu_bodies, native_builds

import gpugrad as gg
from gpugrad.backends.kernels import attention as ak

torch = pytest.importorskip("torch")
F = gg.nn.functional
TF = torch.nn.functional


BODIES = cpu_bodies(ak)


def _qkv(shape_q, shape_k, dtype, seed=0, e_v=None):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(shape_q).astype(dtype)
    k = rng.standard_normal(shape_k).astype(dtype)
    v_shape = shape_k if e_v is None else (*shape_k[:-1], e_v)
    v = rng.standard_normal(v_shape).astype(dtype)
    return q, k, v


def _run_both(device, q, k, v, g, **kw):
    """gpugrad's and PyTorch's output and (dq, dk, dv) for the same call."""
    mask = kw.pop("attn_mask", None)
    gq, gk, gv = (gg.tensor(a, device=device, requires_grad=True) for a in (q, k, v))
    gmask = None if mask is None else gg.tensor(mask, device=device)
    out = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=gmask, **kw)
    out.backward(gg.tensor(g, device=device))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tmask = None if mask is None else torch.tensor(mask)
    tout = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask, **kw)
    tout.backward(torch.tensor(g))
    mine = [out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in (gq, gk, gv)]
    theirs = [tout.detach().numpy()] + [t.grad.numpy() for t in (tq, tk, tv)]
    return mine, theirs


CASES = [
    # (query shape, key shape, keywords)
    ((2, 3, 5, 4), (2, 3, 5, 4), dict(is_causal=True)),
    ((2, 3, 7, 4), (2, 3, 4, 4), dict(is_causal=True)),  # more queries than keys
    ((2, 3, 4, 4), (2, 3, 9, 4), dict(is_causal=True)),  # more keys than queries
    ((2, 6, 8), (2, 6, 8), dict(is_causal=True)),  # 3-d
    ((6, 8), (6, 8), dict(is_causal=True)),  # 2-d
    ((2, 3, 5, 4), (2, 3, 6, 4), dict()),
    ((2, 3, 5, 4), (2, 3, 6, 4), dict(scale=0.3)),
    ((2, 3, 5, 4), (2, 3, 6, 4), dict(is_causal=True, scale=-0.7)),  # a negative scale
    ((2, 3, 5, 4), (1, 3, 6, 4), dict()),  # broadcast batch
    ((2, 4, 5, 4), (2, 2, 6, 4), dict(enable_gqa=True)),
    ((2, 4, 5, 4), (2, 2, 5, 4), dict(enable_gqa=True, is_causal=True)),
    ((2, 3, 5, 4), (2, 3, 6, 4), dict(dropout_p=0.0)),
    ((3, 2, 33, 8), (3, 2, 40, 8), dict(is_causal=True)),  # several blocks of rows
    # the native body's blocked attention (from BLOCKED_MIN scores): blocks of queries and
    # keys, batch slices, causal with fewer, as many and more keys than queries
    ((3, 4, 100, 8), (3, 4, 90, 8), dict(is_causal=True)),
    ((3, 4, 70, 8), (3, 4, 150, 8), dict(is_causal=True)),
    ((2, 5, 128, 8), (2, 5, 128, 8), dict(is_causal=True, scale=0.2)),
    ((2, 5, 97, 8), (2, 5, 128, 8), dict()),
    ((5, 300, 8), (5, 257, 8), dict(is_causal=True)),  # 3-d, one block per eighth
    ((2, 5, 97, 8), (1, 5, 128, 8), dict(is_causal=True)),  # broadcast: the whole-batch path
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("shape_q", "shape_k", "kw"), CASES)
def test_attention_matches_torch(device, dtype, shape_q, shape_k, kw):
    q, k, v = _qkv(shape_q, shape_k, dtype, e_v=3)
    g = np.random.default_rng(1).standard_normal((*shape_q[:-1], 3)).astype(dtype)
    mine, theirs = _run_both(device, q, k, v, g, **kw)
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for a, b in zip(mine, theirs):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("kind", ["bool", "float", "bool-broadcast"])
def test_attention_masks_match_torch(device, kind):
    q, k, v = _qkv((2, 3, 5, 4), (2, 3, 6, 4), np.float64)
    rng = np.random.default_rng(3)
    if kind == "float":
        mask = rng.standard_normal((5, 6))
    else:
        mask = rng.random((2, 1, 5, 6) if kind == "bool-broadcast" else (5, 6)) > 0.3
        mask[..., 0] = True  # every query sees a key
    g = rng.standard_normal(q.shape)
    mine, theirs = _run_both(device, q, k, v, g, attn_mask=mask, scale=0.4)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_attention_dropout_in_eval_is_plain_attention(device):
    """``MultiheadAttention``-style dropout given as 0 when not training: the fused op."""
    q, k, v = _qkv((2, 5, 4), (2, 5, 4), np.float64)
    gq, gk, gv = (gg.tensor(a, device=device) for a in (q, k, v))
    out = F.scaled_dot_product_attention(gq, gk, gv, dropout_p=0.0, is_causal=True)
    assert out.grad_fn is None
    tout = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), is_causal=True)
    np.testing.assert_allclose(out.cpu().numpy(), tout.numpy(), rtol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
def test_attention_gradcheck_and_gradgradcheck(device, causal):
    q, k, v = _qkv((2, 4, 3), (2, 5, 3), np.float64, seed=4)
    ts = [gg.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]

    def fn(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, is_causal=causal, scale=0.8)

    assert gg.autograd.gradcheck(fn, ts)
    assert gg.autograd.gradgradcheck(fn, ts)


def test_attention_double_backward_matches_torch(device):
    q, k, v = _qkv((2, 2, 5, 3), (2, 2, 5, 3), np.float64, seed=5)
    gq, gk, gv = (gg.tensor(a, device=device, requires_grad=True) for a in (q, k, v))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(gq, gk, gv, is_causal=True)
    (dq,) = gg.autograd.grad((out * out).sum(), gq, create_graph=True)
    (dq * dq).sum().backward()
    scores = (tq @ tk.transpose(-2, -1)) / np.sqrt(3)
    scores = scores.masked_fill(torch.ones(5, 5, dtype=torch.bool).triu(1), float("-inf"))
    tout = torch.softmax(scores, -1) @ tv  # PyTorch's fused CPU kernel has no double backward
    (tdq,) = torch.autograd.grad((tout * tout).sum(), tq, create_graph=True)
    (tdq * tdq).sum().backward()
    np.testing.assert_allclose(dq.detach().cpu().numpy(), tdq.detach().numpy(), rtol=1e-9)
    for a, b in zip((gq, gk, gv), (tq, tk, tv)):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-11)


def test_attention_inf_score_is_nan_without_warning(device):
    """A row whose scores hold inf is NaN, as in PyTorch, and NumPy warns about nothing."""
    q, k, v = _qkv((1, 3, 2), (1, 4, 2), np.float32)
    q[0, 1, 0] = np.inf
    gq, gk, gv = (gg.tensor(a, device=device) for a in (q, k, v))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.scaled_dot_product_attention(gq, gk, gv, is_causal=True).cpu().numpy()
    tout = TF.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), is_causal=True)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(tout.numpy()))
    assert np.isnan(out[0, 1]).all() and np.isfinite(out[0, 0]).all()


# --- the bodies themselves ------------------------------------------------------------------
def _reference_softmax(scores, length, scale, causal):
    s = scores.astype(np.float64) * scale
    if causal:
        rows = np.arange(s.shape[0]) % length
        s = np.where(np.arange(s.shape[1])[None, :] <= rows[:, None], s, -np.inf)
    s = np.exp(s - s.max(1, keepdims=True))
    return s / s.sum(1, keepdims=True)


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("rows", "length", "width"),
    [(1, 1, 1), (6, 3, 5), (12, 4, 2), (8, 8, 37), (4096, 128, 128), (700, 35, 19)],
)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("scale", [1.0, 0.25, -1.5])
def test_body_softmax(body, dtype, rows, length, width, causal, scale):
    scores = (np.random.default_rng(rows).standard_normal((rows, width)) * 3).astype(dtype)
    expected = _reference_softmax(scores, length, scale, causal)
    got = body.softmax(scores.reshape(-1, length, width).copy(), length, scale, causal)
    got = got.reshape(rows, width)
    assert got.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, expected, **tol)
    if causal:  # exact zeros above the diagonal
        rows_i = np.arange(rows) % length
        above = np.arange(width)[None, :] > rows_i[:, None]
        assert (got[above] == 0).all()


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rows", "width"), [(1, 1), (6, 5), (4096, 128), (700, 19)])
def test_body_softmax_backward(body, dtype, rows, width):
    rng = np.random.default_rng(width)
    d = rng.standard_normal((rows, width)).astype(dtype)
    p = rng.random((rows, width)).astype(dtype)
    term = rng.standard_normal((rows, 1)).astype(dtype)
    expected = p.astype(np.float64) * (d - term.astype(np.float64)) * 0.3
    got = body.softmax_backward(d.copy(), p, term, 0.3)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got, expected, **tol)


def test_native_body_takes_the_array_path_where_it_cannot_run():
    """float16 and non-contiguous arrays: the NumPy body's results, no error."""
    scores = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float16)
    got = ak.NATIVE.softmax(scores.reshape(2, 3, 5).copy(), 3, 0.5, True).reshape(6, 5)
    expected = _reference_softmax(scores, 3, 0.5, True)
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=2e-3, atol=1e-3)
    wide = np.random.default_rng(1).standard_normal((6, 10))
    expected = _reference_softmax(wide[:, ::2], 3, 1.0, False)
    got = ak.NATIVE.softmax(wide[:, ::2], 3, 1.0, False)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_causal_triangle_is_cached_per_shape():
    body = ak.ArrayBody(np)
    like = np.zeros(1)
    first = body.above_diagonal(3, 4, like)
    assert body.above_diagonal(3, 4, like) is first
    np.testing.assert_array_equal(first, np.triu(np.ones((3, 4), bool), 1))
    assert body.above_diagonal(4, 3, like).shape == (4, 3)


@pytest.mark.skipif(not native_builds(), reason="no C++ compiler")
def test_blocked_attention_is_what_the_large_cases_run():
    """The large CASES above reach the native body's blocked products (the comparisons
    with PyTorch there check them); broadcast batches and small ones do not."""
    q, k, v = _qkv((3, 4, 100, 8), (3, 4, 90, 8), np.float32)
    forward = ak.NATIVE.forward(q, k, v, 0.3, True)
    assert forward is not None
    out, probs = forward
    assert out.shape == (3, 4, 100, 8) and probs.shape == (3, 4, 100, 90)
    assert (np.triu(probs[0, 0], 1) == 0).all()
    g = np.ones_like(out)
    assert ak.NATIVE.backward(g, q, k, v, out, probs, 0.3, True) is not None
    q1, k1, v1 = _qkv((2, 5, 97, 8), (1, 5, 128, 8), np.float32)
    assert ak.NATIVE.forward(q1, k1, v1, 0.3, True) is None
    q2, k2, v2 = _qkv((2, 5, 4), (2, 5, 4), np.float32)
    assert ak.NATIVE.forward(q2, k2, v2, 0.3, True) is None
