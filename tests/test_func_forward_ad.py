"""``gpugrad.autograd.forward_ad`` against ``torch.autograd.forward_ad`` (tangents of
elementwise ops, matmul, reductions and nn layers; several duals; levels and errors), and
the autograd leftovers: ``grad_mode`` names, ``inference_mode``, ``Variable``,
``set_multithreading_enabled``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")
fwd = gg.autograd.forward_ad
tfwd = torch.autograd.forward_ad

rng = np.random.default_rng(4242)
X = rng.uniform(0.2, 1.2, (2, 3))
T = rng.standard_normal((2, 3))
W = rng.standard_normal((4, 3))
IMG = rng.standard_normal((1, 2, 5, 5))
IMG_T = rng.standard_normal((1, 2, 5, 5))


def _linear(m, x):
    layer = m.nn.Linear(3, 4).double()
    with m.no_grad():
        layer.weight.copy_(m.tensor(W))
        layer.bias.fill_(0.25)
    return layer(x)


def _conv(m, x):
    conv = m.nn.Conv2d(2, 3, 3).double()
    with m.no_grad():
        conv.weight.copy_(m.tensor(np.linspace(-1, 1, 54).reshape(3, 2, 3, 3)))
        conv.bias.zero_()
    return m.nn.functional.gelu(conv(x))


PROGRAMS = {
    "elementwise": lambda m, x: (x.sin() * x.exp() / (1 + x**2)).tanh(),
    "matmul": lambda m, x: x @ m.tensor(W, dtype=m.float64).t(),
    "reductions": lambda m, x: (x.sum(0), x.prod(), x.norm(), x.logsumexp(1)),
    "softmax_layer_norm": lambda m, x: m.nn.functional.layer_norm(x.softmax(-1), (3,)),
    "linear": lambda m, x: _linear(m, x),
    "shape_ops": lambda m, x: x.t().reshape(6)[1:4].unsqueeze(0).expand(2, 3),
}


def _tangents(m, fwd_module, program, primal, tangent):
    with fwd_module.dual_level():
        dual = fwd_module.make_dual(primal, tangent)
        out = program(m, dual)
        outs = out if isinstance(out, tuple) else (out,)
        return [fwd_module.unpack_dual(o) for o in outs]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tangents_match_torch(name, device):
    program = PROGRAMS[name]
    x = gg.tensor(X, dtype=gg.float64, device=device)
    t = gg.tensor(T, dtype=gg.float64, device=device)
    ours = _tangents(gg, fwd, program, x, t)
    theirs = _tangents(torch, tfwd, program, torch.tensor(X), torch.tensor(T))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.primal.detach().numpy(), b.primal.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(
            a.tangent.detach().cpu().numpy(), b.tangent.detach().numpy(), rtol=1e-9
        )
        assert a.primal.requires_grad == b.primal.requires_grad
        assert a.tangent.requires_grad == b.tangent.requires_grad


def test_conv_layer_tangent(device):
    x = gg.tensor(IMG, device=device)
    t = gg.tensor(IMG_T, device=device)
    (ours,) = _tangents(gg, fwd, _conv, x.double(), t.double())
    (theirs,) = _tangents(torch, tfwd, _conv, torch.tensor(IMG), torch.tensor(IMG_T))
    np.testing.assert_allclose(
        ours.tangent.detach().cpu().numpy(), theirs.tangent.detach().numpy(), rtol=1e-8
    )
    assert ours.tangent.requires_grad == theirs.tangent.requires_grad
    # the tangent is differentiable with respect to the layer's parameters, as in PyTorch
    ours.tangent.sum().backward()


def test_two_duals_sum_their_contributions(device):
    def run(m, f):
        with f.dual_level():
            a = f.make_dual(m.tensor(X), m.tensor(T))
            b = f.make_dual(m.tensor(X[::-1].copy()), m.tensor(np.ones((2, 3))))
            c = m.tensor(W[:2])  # not a dual: contributes no tangent
            y = (a * b).sin() + c
            return f.unpack_dual(y).tangent, f.unpack_dual(c).tangent, f.unpack_dual(a).tangent

    ours, theirs = run(gg, fwd), run(torch, tfwd)
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-10)
    assert ours[1] is None and theirs[1] is None
    np.testing.assert_allclose(ours[2].numpy(), theirs[2].numpy())


def test_tangent_matches_finite_differences(device):
    x = gg.tensor(X, dtype=gg.float64, device=device)
    t = gg.tensor(T, dtype=gg.float64, device=device)
    with fwd.dual_level():
        tangent = fwd.unpack_dual((fwd.make_dual(x, t) ** 3).exp().sum(1)).tangent
    eps = 1e-6
    fd = (np.exp((X + eps * T) ** 3).sum(1) - np.exp((X - eps * T) ** 3).sum(1)) / (2 * eps)
    np.testing.assert_allclose(tangent.cpu().numpy(), fd, rtol=1e-6)


def test_levels_and_structure():
    assert fwd.__all__ == tfwd.__all__ or sorted(fwd.__all__) == sorted(tfwd.__all__)
    with fwd.dual_level() as level:
        assert level == 0
        dual = fwd.make_dual(gg.ones(2), gg.zeros(2))
        unpacked = fwd.unpack_dual(dual)
        assert isinstance(unpacked, fwd.UnpackedDualTensor) and unpacked._fields == (
            "primal",
            "tangent",
        )
    assert fwd.unpack_dual(dual).tangent is None  # the level is closed
    assert fwd.enter_dual_level() == 0
    fwd.exit_dual_level()

    @fwd.dual_level()
    def decorated():
        return fwd.unpack_dual(fwd.make_dual(gg.ones(2), gg.ones(2)) * 3).tangent

    assert decorated().tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "call",
    [
        lambda m, f: f.make_dual(m.ones(3), m.ones(3)),
        lambda m, f: f.exit_dual_level(),
    ],
)
def test_errors_outside_a_level(call):
    assert_raises_like_torch(lambda: call(gg, fwd), lambda: call(torch, tfwd))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, f: f.make_dual(m.ones(3), m.ones(4)),
        lambda m, f: f.make_dual(m.arange(3), m.arange(3)),
        lambda m, f: f.enter_dual_level(),
        lambda m, f: f.unpack_dual(1.0),
    ],
)
def test_errors_inside_a_level(call):
    with tfwd.dual_level(), pytest.raises(Exception) as theirs:
        call(torch, tfwd)
    with fwd.dual_level(), pytest.raises(Exception) as ours:
        call(gg, fwd)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value).replace("torch.", "gpugrad.")


def test_functional_jvp_hvp_vhp_exist_and_match(device):
    x = gg.tensor(X, dtype=gg.float64, device=device)
    v = gg.tensor(T, dtype=gg.float64, device=device)
    f = lambda a: (a**3).sum() * a.sin().sum()  # noqa: E731
    for name in ("jvp", "hvp", "vhp"):
        ours = getattr(gg.autograd.functional, name)(f, x, v)
        theirs = getattr(torch.autograd.functional, name)(f, torch.tensor(X), torch.tensor(T))
        np.testing.assert_allclose(ours[1].cpu().numpy(), theirs[1].numpy(), rtol=1e-10)


def test_grad_mode_module_and_leftovers(device):
    gm, tgm = gg.autograd.grad_mode, torch.autograd.grad_mode
    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode"):
        assert hasattr(gm, name) and hasattr(tgm, name)
    assert gm.no_grad is gg.no_grad and gg.autograd.inference_mode is gg.inference_mode
    x = gg.ones(2, device=device, requires_grad=True)
    with gm.no_grad():
        assert not (x * 2).requires_grad
    with gg.autograd.set_multithreading_enabled(False):
        assert ((x * 2).requires_grad, gg.is_grad_enabled()) == (True, True)
    with pytest.raises(TypeError):
        gg.autograd.set_multithreading_enabled(1)


def test_variable_is_a_deprecated_tensor_wrapper(device):
    x = gg.ones(2, device=device)
    xt = torch.ones(2)
    v, vt = gg.autograd.Variable(x, requires_grad=True), torch.autograd.Variable(xt, True)
    assert type(v) is gg.Tensor and v.requires_grad and v.is_leaf
    assert isinstance(x, gg.autograd.Variable) and isinstance(xt, torch.autograd.Variable)
    v.detach().add_(1.0)
    assert x.tolist() == [2.0, 2.0]  # shares memory, as PyTorch's does
    assert tuple(gg.autograd.Variable().shape) == tuple(torch.autograd.Variable().shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gg.autograd.Variable(x, volatile=True)
    assert "volatile was removed" in str(caught[0].message)
    assert vt.requires_grad
    assert_raises_like_torch(lambda: gg.autograd.Variable(3), lambda: torch.autograd.Variable(3))
