"""``gpugrad.func`` grad / grad_and_value / vjp / jvp / jacrev / jacfwd / hessian / linearize
against ``torch.func``: values, output structure (argnums tuples, dict/tuple/list pytrees),
requires_grad of results, nesting, and error texts."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch
from func_helpers import assert_same_tree, both

import gpugrad as gg

torch = pytest.importorskip("torch")
TF = torch.func
GF = gg.func

rng = np.random.default_rng(713)
X = rng.uniform(0.3, 1.5, (3,))
Y = rng.uniform(-1.0, 1.0, (2,))
M = rng.standard_normal((2, 3))


def scalar(x):
    return (x.sin() * x).sum() + (x**3).sum()


def two_args(x, y):
    return (x.exp().sum() * y).sum() + (y**2).sum() * x.prod()


def tree_out(x, y):
    return {"a": x.sin() * y.sum(), "b": (x.sum() * y, [y.tanh()])}


def test_grad_values_and_argnums(device):
    x, xt = both(X, device)
    y, yt = both(Y, device)
    assert_same_tree(GF.grad(scalar)(x), TF.grad(scalar)(xt))
    assert_same_tree(GF.grad(two_args, argnums=1)(x, y), TF.grad(two_args, argnums=1)(xt, yt))
    assert_same_tree(
        GF.grad(two_args, argnums=(0, 1))(x, y), TF.grad(two_args, argnums=(0, 1))(xt, yt)
    )
    assert_same_tree(
        GF.grad_and_value(two_args, argnums=-1)(x, y),
        TF.grad_and_value(two_args, argnums=-1)(xt, yt),
    )


def test_grad_of_pytree_argument_and_aux(device):
    x, xt = both(X, device)
    y, yt = both(Y, device)

    def loss(params, scale):
        out = (params["w"] * params["b"][0].sum()).sum() * scale
        return out, {"out": out * 2, "x": [params["w"]]}

    ours = GF.grad(loss, has_aux=True)({"w": x, "b": [y]}, 2.0)
    theirs = TF.grad(loss, has_aux=True)({"w": xt, "b": [yt]}, 2.0)
    assert_same_tree(ours, theirs)
    ours = GF.grad_and_value(loss, has_aux=True)({"w": x, "b": [y]}, 2.0)
    theirs = TF.grad_and_value(loss, has_aux=True)({"w": xt, "b": [yt]}, 2.0)
    assert_same_tree(ours, theirs)


def test_nested_grad_and_composition_with_autograd(device):
    x, xt = both(X, device)

    def third(m):
        return m.func.grad(lambda a: m.func.grad(lambda b: (b**4).sum())(a).sum())

    assert_same_tree(third(gg)(x), third(torch)(xt))
    # A closed-over tensor that requires grad keeps the result differentiable, as in PyTorch.
    w, wt = both(Y[:1].repeat(3), device, requires_grad=True)
    ours = GF.grad(lambda a: (a.sin() * w).sum())(x)
    theirs = TF.grad(lambda a: (a.sin() * wt).sum())(xt)
    assert_same_tree(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert_same_tree(w.grad, wt.grad)
    # An input that requires grad: d/dx of grad(f)(x) is the Hessian-vector product.
    xr, xrt = both(X, device, requires_grad=True)
    (GF.grad(scalar)(xr) * 1.5).sum().backward()
    (TF.grad(scalar)(xrt) * 1.5).sum().backward()
    assert_same_tree(xr.grad, xrt.grad)
    with gg.no_grad():
        assert not GF.grad(scalar)(xr).requires_grad


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_match_torch(argnums, transform, device):
    x, xt = both(X, device)
    y, yt = both(Y, device)
    ours = getattr(GF, transform)(tree_out, argnums=argnums)(x, y)
    theirs = getattr(TF, transform)(tree_out, argnums=argnums)(xt, yt)
    assert_same_tree(ours, theirs)


def test_jacobian_of_dict_input_and_aux(device):
    x, xt = both(X, device)
    m, mt = both(M, device)
    ours = GF.jacrev(lambda p: (p["m"] @ p["x"].exp(), p["x"].sum()), has_aux=True)(
        {"m": m, "x": x}
    )
    theirs = TF.jacrev(lambda p: (p["m"] @ p["x"].exp(), p["x"].sum()), has_aux=True)(
        {"m": mt, "x": xt}
    )
    assert_same_tree(ours, theirs)


def test_hessian_matches_torch(device):
    x, xt = both(X, device)
    y, yt = both(Y, device)
    assert_same_tree(GF.hessian(scalar)(x), TF.hessian(scalar)(xt))
    assert_same_tree(
        GF.hessian(two_args, argnums=(0, 1))(x, y), TF.hessian(two_args, argnums=(0, 1))(xt, yt)
    )


def test_vjp_matches_torch(device):
    x, xt = both(X, device)
    y, yt = both(Y, device)
    ct, ctt = both(rng.standard_normal(3), device)
    out, fn = GF.vjp(lambda a, b: (a * b.sum(), [a.exp()]), x, y)
    out_t, fn_t = TF.vjp(lambda a, b: (a * b.sum(), [a.exp()]), xt, yt)
    assert_same_tree(out, out_t)
    assert_same_tree(fn((ct, [ct * 2])), fn_t((ctt, [ctt * 2])))
    assert_same_tree(fn((ct, [ct])), fn_t((ctt, [ctt])))  # callable again
    out, fn, aux = GF.vjp(lambda a: (a.sin(), a.cos()), x, has_aux=True)
    out_t, fn_t, aux_t = TF.vjp(lambda a: (a.sin(), a.cos()), xt, has_aux=True)
    assert_same_tree((out, fn(ct), aux), (out_t, fn_t(ctt), aux_t))


def test_jvp_and_linearize_match_torch(device):
    x, xt = both(X, device)
    y, yt = both(Y, device)
    tx, txt = both(rng.standard_normal(3), device)
    ty, tyt = both(rng.standard_normal(2), device)
    assert_same_tree(GF.jvp(tree_out, (x, y), (tx, ty)), TF.jvp(tree_out, (xt, yt), (txt, tyt)))
    assert_same_tree(
        GF.jvp(lambda a: (a.sin(), {"c": a * 0 + 1}), (x,), (tx,), has_aux=True),
        TF.jvp(lambda a: (a.sin(), {"c": a * 0 + 1}), (xt,), (txt,), has_aux=True),
    )
    # an output that does not depend on the input has a zero tangent
    assert_same_tree(
        GF.jvp(lambda a, b: (a.exp(), b * 2), (x, y), (tx, gg.zeros_like(ty))),
        TF.jvp(lambda a, b: (a.exp(), b * 2), (xt, yt), (txt, torch.zeros_like(tyt))),
    )
    out, jvp_fn = GF.linearize(lambda a: a.sin() * a, x)
    out_t, jvp_fn_t = TF.linearize(lambda a: a.sin() * a, xt)
    assert_same_tree((out, jvp_fn(tx)), (out_t, jvp_fn_t(txt)))


def test_jacobian_agrees_with_finite_differences(device):
    x = gg.tensor(X, dtype=gg.float64, device=device)
    jac = GF.jacfwd(lambda a: (a.sin() * a.sum(),))(x)[0].cpu().numpy()
    eps = 1e-6
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        hi = (np.sin(X + step) * (X + step).sum()).copy()
        lo = np.sin(X - step) * (X - step).sum()
        np.testing.assert_allclose(jac[:, i], (hi - lo) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_grad_float32(device):
    x = gg.tensor(X, dtype=gg.float32, device=device)
    xt = torch.tensor(X, dtype=torch.float32)
    assert_same_tree(GF.grad(scalar)(x), TF.grad(scalar)(xt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.func.grad(lambda a: a * 2)(x),
        lambda m, x: m.func.grad(lambda a: a.sum(), argnums=2)(x),
        lambda m, x: m.func.grad(lambda a: a.sum(), argnums=(0, 0))(x),
        lambda m, x: m.func.grad(lambda a: a.sum(), argnums=-2)(x),
        lambda m, x: m.func.grad(lambda a: a.sum(), argnums=1.0)(x),
        lambda m, x: m.func.grad(lambda a: a.sum(), has_aux=True)(x),
        lambda m, x: m.func.grad(lambda a: a.sum())(3.0),
        lambda m, x: m.func.grad(lambda a: a.sum())(m.arange(3)),
        lambda m, x: m.func.jvp(lambda a: a, (x,), (m.ones(4, dtype=m.float64),)),
        lambda m, x: m.func.jvp(lambda a: a, x, (x,)),
        lambda m, x: m.func.jvp(lambda a: a, (x,), (x, x)),
        lambda m, x: m.func.jacrev(lambda a: a, argnums=(0, 1))(x),
        lambda m, x: m.func.vjp(lambda a: a, 1.0),
        lambda m, x: m.func.functionalize(lambda a: a, remove="x"),
        lambda m, x: m.func.vjp(lambda a: 1.0, x),
        lambda m, x: m.func.vjp(lambda a: {"a": a}, x)[1](([x],)),
        lambda m, x: m.func.jacrev(lambda a: 1.0)(x),
        lambda m, x: m.func.jacfwd(lambda a: 1.0)(x),
        lambda m, x: m.func.jacfwd(lambda a: a, has_aux=True)(x),
        lambda m, x: m.func.jacrev(lambda a: a, has_aux=True)(x),
        lambda m, x: m.func.jvp(lambda a: 1.0, (x,), (x,)),
        lambda m, x: m.func.linearize(lambda a: a, x)[1](m.ones(4, dtype=m.float64)),
        lambda m, x: m.func.linearize(lambda a: a, x)[1](m.ones(3)),
        lambda m, x: m.func.grad(lambda a: (a.sum(), {"n": 3}), has_aux=True)(x),
    ],
)
def test_errors_match_torch(call, device):
    x, xt = both(X, device)
    assert_raises_like_torch(lambda: call(gg, x), lambda: call(torch, xt))


def test_functionalize_keeps_results_and_input_updates(device):
    def program(m, x):
        def f(a):
            b = a.clone()
            b.add_(1.0)
            a.mul_(2.0)
            return b * a

        out = m.func.functionalize(f)(x)
        return out, x

    x, xt = both(X, device)
    assert_same_tree(program(gg, x), program(torch, xt))


def test_replace_all_batch_norm_modules(device):
    for m in (gg, torch):
        net = m.nn.Sequential(m.nn.Linear(3, 3), m.nn.BatchNorm1d(3), m.nn.BatchNorm1d(3))
        assert m.func.replace_all_batch_norm_modules_(net) is net
        assert [b.running_mean for b in net[1:]] == [None, None]
        assert not net[1].track_running_stats and list(net.named_buffers()) == []
    assert repr(net) == repr(
        gg.func.replace_all_batch_norm_modules_(
            gg.nn.Sequential(gg.nn.Linear(3, 3), gg.nn.BatchNorm1d(3), gg.nn.BatchNorm1d(3))
        )
    ).replace("gpugrad", "torch")


@pytest.mark.parametrize(
    "program",
    [
        lambda m, x, v: m.func.jvp(m.func.grad(lambda a: (a.sin() * a**2).sum()), (x,), (v,)),
        lambda m, x, v: m.func.grad(
            lambda a: m.func.jvp(lambda b: b.exp() * b, (a,), (v,))[1].sum()
        )(x),
        lambda m, x, v: m.func.vjp(m.func.grad(lambda a: (a.sin() * a**2).sum()), x)[1](v),
        lambda m, x, v: m.func.jacrev(m.func.jacfwd(lambda a: a.sin() * a.sum()))(x),
    ],
)
def test_mixed_forward_and_reverse_compositions(program, device):
    x, xt = both(X, device)
    v, vt = both(rng.standard_normal(3), device)
    assert_same_tree(program(gg, x, v), program(torch, xt, vt))
