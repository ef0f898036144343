"""``gpugrad.autograd.functional`` against ``torch.autograd.functional`` (values, structure,
``create_graph``, ``strict`` and error texts), a gradient-penalty style program, and the
top-level additions of issue 16: ``get/set_default_dtype``, ``finfo``/``iinfo``,
``inference_mode``, ``is_tensor``, ``is_floating_point``, ``numel``."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")
AF = gg.autograd.functional
TF = torch.autograd.functional

rng = np.random.default_rng(1616)
X = rng.uniform(0.2, 1.0, (3, 2))
Y = rng.uniform(0.2, 1.0, (3, 2))
V = rng.standard_normal((3, 2))


def two_outputs(m):
    return lambda x, y: ((x.exp() * y).sum(0), x * y.sin())


def scalar(m):
    return lambda x: (x**3).sum() * x.sin().sum()


def scalar_of_two(m):
    return lambda x, y: (x * y.exp()).sum() + (x**2 * y).sum()


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _flat(r)]
    return [result]


def _same(ours, theirs):
    a, b = _flat(ours), _flat(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x.detach().cpu().numpy(), y.detach().numpy(), rtol=1e-10)


def _t(value, device, requires_grad=False):
    return gg.tensor(value, dtype=gg.float64, device=device, requires_grad=requires_grad)


def _tt(value, requires_grad=False):
    return torch.tensor(value, dtype=torch.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("tupled", [False, True])
def test_jacobian_matches_torch(tupled, device):
    if tupled:
        ours = AF.jacobian(two_outputs(gg), (_t(X, device), _t(Y, device)))
        theirs = TF.jacobian(two_outputs(torch), (_tt(X), _tt(Y)))
        assert isinstance(ours, tuple) and isinstance(ours[0], tuple)
    else:
        ours = AF.jacobian(lambda x: x.exp() * 2, _t(X, device))
        theirs = TF.jacobian(lambda x: x.exp() * 2, _tt(X))
        assert isinstance(ours, gg.Tensor) and ours.shape == (3, 2, 3, 2)
    _same(ours, theirs)


def test_hessian_matches_torch(device):
    _same(AF.hessian(scalar(gg), _t(X, device)), TF.hessian(scalar(torch), _tt(X)))
    ours = AF.hessian(scalar_of_two(gg), (_t(X, device), _t(Y, device)))
    theirs = TF.hessian(scalar_of_two(torch), (_tt(X), _tt(Y)))
    assert len(ours) == 2 and len(ours[0]) == 2
    _same(ours, theirs)


@pytest.mark.parametrize("name", ["vjp", "jvp"])
def test_vjp_and_jvp_match_torch(name, device):
    if name == "vjp":
        v_ours = (_t(np.ones(2), device), _t(V, device))
        v_theirs = (_tt(np.ones(2)), _tt(V))
    else:
        v_ours, v_theirs = (_t(V, device), _t(V, device)), (_tt(V), _tt(V))
    ours = getattr(AF, name)(two_outputs(gg), (_t(X, device), _t(Y, device)), v_ours)
    theirs = getattr(TF, name)(two_outputs(torch), (_tt(X), _tt(Y)), v_theirs)
    _same(ours, theirs)


@pytest.mark.parametrize("name", ["hvp", "vhp"])
def test_hvp_and_vhp_match_torch(name, device):
    ours = getattr(AF, name)(scalar(gg), _t(X, device), _t(V, device))
    theirs = getattr(TF, name)(scalar(torch), _tt(X), _tt(V))
    _same(ours, theirs)


def test_create_graph_keeps_results_differentiable(device):
    x = _t(X, device, requires_grad=True)
    hessian = AF.hessian(scalar(gg), x, create_graph=True)
    assert hessian.requires_grad
    (third,) = gg.autograd.grad(hessian.sum(), x)
    xt = _tt(X, requires_grad=True)
    (third_t,) = torch.autograd.grad(TF.hessian(scalar(torch), xt, create_graph=True).sum(), xt)
    _same(third, third_t)
    plain = AF.hessian(scalar(gg), x)
    assert not plain.requires_grad


def test_jvp_without_create_graph_detaches(device):
    out, jv = AF.jvp(lambda a: a**2, _t(X, device, requires_grad=True), _t(V, device))
    assert not out.requires_grad and not jv.requires_grad
    np.testing.assert_allclose(jv.cpu().numpy(), 2 * X * V)


ERRORS = [
    ("jacobian", lambda F, x: F.jacobian(lambda a: a, (x, 3))),
    ("jacobian", lambda F, x: F.jacobian(lambda a: a, 3)),
    ("vjp", lambda F, x: F.vjp(lambda a: a * 2, x)),
    ("vjp", lambda F, x: F.vjp(lambda a: a * 2, x, x[0])),
    ("jvp", lambda F, x: F.jvp(lambda a: a * 2, (x, x), (x,))),
    ("jacobian", lambda F, x: F.jacobian(lambda a: a.detach(), x, strict=True)),
    ("jacobian", lambda F, x: F.jacobian(lambda a, b: a * 2, (x, x), strict=True)),
    ("hessian", lambda F, x: F.hessian(lambda a: a * 2, x)),
    ("hessian", lambda F, x: F.hessian(lambda a: (a * 2).sum(), x, strict=True)),
    ("hvp", lambda F, x: F.hvp(lambda a: (a**2).sum(), x)),
    ("vhp", lambda F, x: F.vhp(lambda a: a**2, x, x)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)), ids=[n for n, _ in ERRORS])
def test_errors_are_pytorchs(case, device):
    _, call = ERRORS[case]
    assert_raises_like_torch(lambda: call(AF, _t(X, device)), lambda: call(TF, _tt(X)))


VECTORIZED = [
    ("vectorize", {"vectorize": True}),
    ("forward_mode", {"vectorize": True, "strategy": "forward-mode"}),
]


@pytest.mark.parametrize("case", range(len(VECTORIZED)), ids=[n for n, _ in VECTORIZED])
def test_vectorize_and_forward_mode_give_the_same_jacobian_as_torch(case, device):
    _, kwargs = VECTORIZED[case]
    jac = AF.jacobian(lambda a: a.exp() * a.sin(), _t(X, device), **kwargs)
    expected = TF.jacobian(lambda a: a.exp() * a.sin(), _tt(X), **kwargs)
    np.testing.assert_allclose(jac.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


VECTORIZE_ERRORS = [
    ("forward_mode_unvectorized", {"strategy": "forward-mode"}),
    ("forward_mode_create_graph", {"strategy": "forward-mode", "vectorize": True,
                                   "create_graph": True}),
    ("vectorize_strict", {"vectorize": True, "strict": True}),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(VECTORIZE_ERRORS)), ids=[n for n, _ in VECTORIZE_ERRORS])
def test_vectorize_argument_errors_are_pytorchs(case, device):
    _, kwargs = VECTORIZE_ERRORS[case]
    assert_raises_like_torch(
        lambda: AF.jacobian(lambda a: a * 2, _t(X, device), **kwargs),
        lambda: TF.jacobian(lambda a: a * 2, _tt(X), **kwargs),
    )


def test_unused_input_gives_zeros_when_not_strict(device):
    jac = AF.jacobian(lambda a, b: a * 2, (_t(X, device), _t(Y, device)))
    assert not np.any(jac[1].cpu().numpy())
    assert jac[1].shape == (3, 2, 3, 2)


PENALTY = """
def critic(m, x, w):
    return (m.tanh(x @ w) ** 2).sum()

x = m.tensor([[0.5, -1.0], [1.5, 0.25]], dtype=m.float64)
w = m.tensor([[0.3, -0.2], [0.1, 0.4]], dtype=m.float64, requires_grad=True)
jac = m.autograd.functional.jacobian(lambda a: critic(m, a, w), x, create_graph=True)
penalty = ((jac.flatten(1) if jac.ndim > 1 else jac).norm() - 1) ** 2
penalty.backward()
hess = m.autograd.functional.hessian(lambda a: critic(m, a, w), x)
print(round(penalty.item(), 10), [round(v, 10) for v in w.grad.flatten().tolist()])
print([round(v, 10) for v in hess.flatten().tolist()])
"""


def test_gradient_penalty_program_prints_torchs_values(device, capsys):
    """A WGAN-GP style penalty: the norm of a Jacobian, differentiated again (weights'
    gradient), and a Hessian; gpugrad prints PyTorch's numbers."""
    exec(PENALTY, {"m": torch})
    theirs = capsys.readouterr().out

    class OnDevice:
        def __getattr__(self, name):
            value = getattr(gg, name)
            if name == "tensor":
                return lambda *a, **k: value(*a, device=device, **k)
            return value

    exec(PENALTY, {"m": OnDevice()})
    assert capsys.readouterr().out == theirs


# --- top level ------------------------------------------------------------------------
@pytest.fixture
def restore_default_dtype():
    yield
    gg.set_default_dtype(gg.float32)


def test_set_default_dtype_changes_factories_and_promotion(restore_default_dtype, device):
    assert gg.get_default_dtype() is gg.float32
    gg.set_default_dtype(gg.float64)
    assert gg.get_default_dtype() is gg.float64
    assert gg.tensor([1.5], device=device).dtype is gg.float64
    assert gg.zeros(2, device=device).dtype is gg.float64
    assert gg.ones(2, device=device).dtype is gg.float64
    assert gg.arange(0.0, 1.0, 0.5, device=device).dtype is gg.float64
    assert (gg.tensor([1, 2], device=device) / 2).dtype is gg.float64
    assert gg.tensor([1, 2], device=device).exp().dtype is gg.float64
    assert gg.nn.Linear(2, 2).weight.dtype is gg.float64
    gg.set_default_dtype(gg.float32)
    assert gg.zeros(2, device=device).dtype is gg.float32
    assert (gg.tensor([1, 2], device=device) * 1.5).dtype is gg.float32


def test_set_default_dtype_refuses_non_floating_types():
    with pytest.raises(TypeError, match="only floating-point types"):
        gg.set_default_dtype(gg.int64)
    with pytest.raises(TypeError, match="only floating-point types"):
        gg.set_default_dtype("float64")
    assert gg.get_default_dtype() is gg.float32


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    ours, theirs = gg.finfo(getattr(gg, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    ours, theirs = gg.iinfo(getattr(gg, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)


def test_finfo_and_iinfo_errors_are_torchs():
    with pytest.raises(TypeError, match="requires a floating point input type"):
        gg.finfo(gg.int64)
    with pytest.raises(TypeError, match="requires an integer input type"):
        gg.iinfo(gg.float32)
    assert gg.finfo().dtype == "float32"


def test_inference_mode_is_a_context_and_a_decorator(device):
    x = gg.ones(2, device=device, requires_grad=True)
    assert not gg.is_inference_mode_enabled()
    with gg.inference_mode():
        assert gg.is_inference_mode_enabled() and not gg.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert gg.is_grad_enabled() and not gg.is_inference_mode_enabled()

    @gg.inference_mode()
    def called():
        return (x * 2).requires_grad, gg.is_inference_mode_enabled()

    @gg.inference_mode
    def bare():
        return (x * 2).requires_grad

    assert called() == (False, True) and bare() is False
    with gg.inference_mode(False):
        assert (x * 2).requires_grad and not gg.is_inference_mode_enabled()


def test_type_queries(device):
    x = gg.zeros(2, 3, device=device)
    assert gg.is_tensor(x) and not gg.is_tensor([1.0])
    assert gg.is_floating_point(x) and not gg.is_floating_point(gg.tensor([1], device=device))
    assert gg.numel(x) == 6
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        gg.numel([1, 2])
