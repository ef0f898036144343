"""``gpugrad.vmap`` / ``gpugrad.func.vmap`` against ``torch.vmap``: in_dims (int, None,
negative, tuples, pytrees), out_dims, nested vmap, grad/jacrev inside vmap (per-sample
gradients), randomness modes, gradients through vmap, and error texts."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch
from func_helpers import assert_same_tree, both

import gpugrad as gg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(99)
A = rng.standard_normal((4, 3))
B = rng.standard_normal((3,))
C = rng.standard_normal((2, 4, 3))


def test_top_level_name():
    assert gg.vmap is gg.func.vmap


@pytest.mark.parametrize(
    "program",
    [
        lambda m, a, b, c: m.vmap(lambda x: x.sum())(a),
        lambda m, a, b, c: m.vmap(lambda x: x * 2, in_dims=1)(a),
        lambda m, a, b, c: m.vmap(lambda x: x.exp(), in_dims=-1, out_dims=1)(a),
        lambda m, a, b, c: m.vmap(lambda x, y: x @ y, in_dims=(0, None))(a, b),
        lambda m, a, b, c: m.vmap(lambda x, y: x * y, in_dims=(1, 0))(a, b),
        lambda m, a, b, c: m.vmap(lambda x: (x, {"s": x.sum()}), out_dims=(1, 0))(a),
        lambda m, a, b, c: m.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))(
            {"a": a, "b": b}
        ),
        lambda m, a, b, c: m.vmap(lambda d, y: d[0] * d[1] + y, in_dims=([0, 1], None))(
            [a, a.t()], b
        ),
        lambda m, a, b, c: m.vmap(m.vmap(lambda x: x.max()))(c),
        lambda m, a, b, c: m.vmap(m.vmap(lambda x, y: x * y, in_dims=(0, None)), in_dims=(1, None))(
            c, b
        ),
        lambda m, a, b, c: m.vmap(lambda x: (x, m.ones(2, dtype=m.float64)), out_dims=(0, None))(a),
        lambda m, a, b, c: m.vmap(lambda x: m.ones(2, dtype=m.float64))(a),
        lambda m, a, b, c: m.vmap(lambda x, scale: x * scale)(a, scale=3.0),
        lambda m, a, b, c: m.vmap(lambda x: x.sum(), chunk_size=2)(a),
        lambda m, a, b, c: m.vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(a[:0]),
        lambda m, a, b, c: m.vmap(lambda x, y: x @ y, in_dims=(1, None))(a[:, :0], a),
    ],
)
def test_vmap_matches_torch(program, device):
    a, at = both(A, device)
    b, bt = both(B, device)
    c, ct = both(C, device)
    assert_same_tree(program(gg, a, b, c), program(torch, at, bt, ct))


def test_per_sample_gradients_and_jacobians(device):
    w, wt = both(B, device)
    a, at = both(A, device)

    def loss(weights, x):
        return ((x * weights).sum().tanh() - 0.5) ** 2

    assert_same_tree(
        gg.vmap(gg.func.grad(loss), in_dims=(None, 0))(w, a),
        torch.vmap(torch.func.grad(loss), in_dims=(None, 0))(wt, at),
    )
    assert_same_tree(
        gg.vmap(gg.func.jacrev(lambda x: x.sin() * x.sum()))(a),
        torch.vmap(torch.func.jacrev(lambda x: x.sin() * x.sum()))(at),
    )
    assert_same_tree(
        gg.func.grad(lambda x: gg.vmap(lambda r: (r**3).sum())(x).sum())(a),
        torch.func.grad(lambda x: torch.vmap(lambda r: (r**3).sum())(x).sum())(at),
    )


def test_gradients_flow_through_vmap(device):
    a, at = both(A, device, requires_grad=True)
    b, bt = both(B, device, requires_grad=True)
    out = gg.vmap(lambda x, y: (x * y).sin(), in_dims=(0, None))(a, b)
    out_t = torch.vmap(lambda x, y: (x * y).sin(), in_dims=(0, None))(at, bt)
    assert_same_tree(out, out_t)
    out.sum().backward()
    out_t.sum().backward()
    assert_same_tree((a.grad, b.grad), (at.grad, bt.grad))
    assert gg.autograd.gradcheck(
        lambda x, y: gg.vmap(lambda r, s: (r * s).exp().sum(), in_dims=(0, None))(x, y),
        (a.detach().requires_grad_(), b.detach().requires_grad_()),
    )


def test_randomness_modes(device):
    x = gg.zeros(5, device=device)
    gg.manual_seed(3)
    different = gg.vmap(lambda r: r + gg.rand((), device=device), randomness="different")(x)
    assert len(set(different.tolist())) == 5
    same = gg.vmap(lambda r: r + gg.rand((), device=device), randomness="same")(x)
    assert len(set(same.tolist())) == 1
    assert_raises_like_torch(
        lambda: gg.vmap(lambda r: r + gg.rand(()))(gg.zeros(3)),
        lambda: torch.vmap(lambda r: r + torch.rand(()))(torch.zeros(3)),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.vmap(lambda a: a)(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b)(x, m.ones(4, dtype=m.float64)),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims=(0,))(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims=(0, 2))(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims=(None, None))(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims="a")(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims=(0, 1.0))(x, x),
        lambda m, x: m.vmap(lambda a, b: a + b, in_dims=({"a": 0}, 0))(x, x),
        lambda m, x: m.vmap(lambda a: 1.0)(x),
        lambda m, x: m.vmap(lambda a: a, out_dims=3)(x),
        lambda m, x: m.vmap(lambda a: a, randomness="x")(x),
        lambda m, x: m.vmap(lambda a: a)(x.sum()),
        lambda m, x: m.vmap(lambda a: a)(1.0),
        lambda m, x: m.vmap(lambda a: a, out_dims=(0, 0))(x),
        lambda m, x: m.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(x),
        lambda m, x: m.vmap(lambda a: (a, a.sum()), out_dims=(0, None))(x),
        lambda m, x: m.vmap(lambda a: a)(),
        lambda m, x: m.vmap(lambda a: a, chunk_size=0)(x),
        lambda m, x: m.vmap(lambda a: a, out_dims="a")(x),
        lambda m, x: m.func.vjp(lambda a: a, x)[1](3.0),
    ],
)
def test_errors_match_torch(call, device):
    x, xt = both(B, device)
    assert_raises_like_torch(lambda: call(gg, x), lambda: call(torch, xt))
