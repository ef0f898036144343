"""nn.utils leftovers (helper s7-nnloss) against PyTorch: weight_norm and spectral_norm
(hook and parametrization forms), parametrize, orthogonal, fusion, functional_call,
clip_grads_with_norm_, skip_init."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")
U, TU = gg.nn.utils, torch.nn.utils
RNG = np.random.default_rng(11)


def _same_parameters(ours, theirs, device="cpu"):
    """Copy ``theirs``' parameters and buffers (by state_dict name) into ``ours``."""
    state = {
        k: gg.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()
    }
    ours.load_state_dict(state)


def _close(a, b, **kwargs):
    np.testing.assert_allclose(
        a.detach().cpu().numpy(), b.detach().numpy(), **{"rtol": 1e-10, "atol": 1e-12, **kwargs}
    )


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_matches_torch(device, dim):
    theirs = torch.nn.Conv1d(3, 4, 2).double()
    ours = gg.nn.Conv1d(3, 4, 2, dtype=gg.float64, device=device)
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        U.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TU.weight_norm(theirs, dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.weight_g.shape == theirs.weight_g.shape
    _same_parameters(ours, theirs, device)
    x = RNG.standard_normal((2, 3, 5))
    t_out, g_out = theirs(torch.tensor(x)), ours(gg.tensor(x, device=device))
    _close(g_out, t_out)
    (t_out**2).sum().backward()
    (g_out**2).sum().backward()
    _close(ours.weight_g.grad, theirs.weight_g.grad, rtol=1e-9)
    _close(ours.weight_v.grad, theirs.weight_v.grad, rtol=1e-9)
    with (
        pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"),
        pytest.warns(FutureWarning),
    ):
        U.weight_norm(ours, dim=dim)
    U.remove_weight_norm(ours)
    TU.remove_weight_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        U.remove_weight_norm(ours)


def test_spectral_norm_hook_matches_torch_from_the_same_start(device):
    theirs = TU.spectral_norm(torch.nn.Linear(5, 4).double(), n_power_iterations=2)
    ours = U.spectral_norm(
        gg.nn.Linear(5, 4, dtype=gg.float64, device=device), n_power_iterations=2
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _same_parameters(ours, theirs, device)
    x = RNG.standard_normal((3, 5))
    for _ in range(3):  # training: each forward runs the power iteration on u and v
        _close(ours(gg.tensor(x, device=device)), theirs(torch.tensor(x)))
        _close(ours.weight_u, theirs.weight_u)
        _close(ours.weight_v, theirs.weight_v)
    theirs(torch.tensor(x)).pow(2).sum().backward()
    ours(gg.tensor(x, device=device)).pow(2).sum().backward()
    _close(ours.weight_orig.grad, theirs.weight_orig.grad, rtol=1e-8)
    ours.eval()
    theirs.eval()
    _close(ours(gg.tensor(x, device=device)), theirs(torch.tensor(x)))
    U.remove_spectral_norm(ours)
    TU.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight)


def test_spectral_norm_errors():
    for call in (lambda u, nn: u.spectral_norm(nn.Linear(2, 2), n_power_iterations=0),):
        with pytest.raises(ValueError) as theirs:
            call(TU, torch.nn)
        with pytest.raises(ValueError, match=str(theirs.value)):
            call(U, gg.nn)
    module = U.spectral_norm(gg.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        U.spectral_norm(module)
    with pytest.raises(ValueError, match="spectral_norm of 'bias' not found"):
        U.remove_spectral_norm(module, "bias")


class _Symmetric(gg.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


class _TorchSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


def test_parametrize_register_remove_and_cache(device):
    P, TP = U.parametrize, TU.parametrize
    ours, theirs = gg.nn.Linear(3, 3, device=device), torch.nn.Linear(3, 3)
    P.register_parametrization(ours, "weight", _Symmetric())
    TP.register_parametrization(theirs, "weight", _TorchSymmetric())
    assert repr(ours).replace("_Symmetric", "_TorchSymmetric") == repr(theirs)
    assert type(ours).__name__ == "ParametrizedLinear"
    assert P.type_before_parametrizations(ours) is gg.nn.Linear
    assert (
        list(ours.state_dict())
        == list(theirs.state_dict())
        == ["bias", "parametrizations.weight.original"]
    )
    assert (
        P.is_parametrized(ours)
        and P.is_parametrized(ours, "weight")
        and not P.is_parametrized(ours, "bias")
    )
    assert isinstance(ours.parametrizations.weight, P.ParametrizationList)
    weight = ours.weight
    assert bool((weight == weight.mT).all()) and weight.grad_fn is not None
    with P.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight
    value = gg.tensor(RNG.standard_normal((3, 3)), dtype=gg.float32, device=device)
    ours.weight = value + value.mT  # assignment goes through right_inverse
    np.testing.assert_allclose(
        ours.weight.detach().cpu().numpy(), (value + value.mT).cpu().numpy(), rtol=1e-6
    )
    ours(gg.randn(2, 3, device=device)).sum().backward()
    assert ours.parametrizations.weight.original.grad is not None
    clone = copy.deepcopy(ours)
    assert type(clone).__name__ == "ParametrizedLinear" and bool(
        (clone.weight == ours.weight).all()
    )
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        pickle.dumps(ours)
    P.remove_parametrizations(ours, "weight")
    assert type(ours) is gg.nn.Linear and list(ours.state_dict()) == ["bias", "weight"]
    TP.remove_parametrizations(theirs, "weight")
    assert list(theirs.state_dict()) == ["bias", "weight"]
    assert isinstance(ours.weight, gg.nn.Parameter)
    np.testing.assert_allclose(
        ours.weight.detach().cpu().numpy(), (value + value.mT).cpu().numpy(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(ours, "weight")
    with pytest.raises(
        ValueError, match="does not have a parameter, a buffer, or a parametrized element"
    ):
        P.register_parametrization(ours, "nothing", _Symmetric())


def test_parametrize_shape_check_and_chain():
    class Double(gg.nn.Module):
        def forward(self, x):
            return gg.cat([x, x])

    with pytest.raises(ValueError, match="may not change the shape"):
        U.parametrize.register_parametrization(gg.nn.Linear(2, 2), "weight", Double())
    module = gg.nn.Linear(2, 2)
    U.parametrize.register_parametrization(module, "weight", _Symmetric())
    U.parametrize.register_parametrization(module, "weight", _Symmetric())
    assert len(module.parametrizations.weight) == 2
    U.parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
    assert type(module) is gg.nn.Linear


def test_parametrizations_weight_norm_matches_torch(device):
    theirs = TU.parametrizations.weight_norm(torch.nn.Linear(4, 3).double())
    ours = U.parametrizations.weight_norm(gg.nn.Linear(4, 3, dtype=gg.float64, device=device))
    keys = ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    _same_parameters(ours, theirs, device)
    _close(ours.weight, theirs.weight)
    x = RNG.standard_normal((2, 4))
    theirs(torch.tensor(x)).pow(2).sum().backward()
    ours(gg.tensor(x, device=device)).pow(2).sum().backward()
    for ours_p, theirs_p in zip(ours.parameters(), theirs.parameters(), strict=True):
        _close(ours_p.grad, theirs_p.grad, rtol=1e-9)


def test_parametrizations_spectral_norm_matches_torch(device):
    theirs = TU.parametrizations.spectral_norm(torch.nn.Linear(5, 4).double())
    ours = U.parametrizations.spectral_norm(gg.nn.Linear(5, 4, dtype=gg.float64, device=device))
    keys = [
        "bias",
        "parametrizations.weight.original",
        "parametrizations.weight.0._u",
        "parametrizations.weight.0._v",
    ]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    _same_parameters(ours, theirs, device)
    x = RNG.standard_normal((3, 5))
    for _ in range(2):
        _close(ours(gg.tensor(x, device=device)), theirs(torch.tensor(x)))
    theirs(torch.tensor(x)).pow(2).sum().backward()
    ours(gg.tensor(x, device=device)).pow(2).sum().backward()
    _close(
        ours.parametrizations.weight.original.grad,
        theirs.parametrizations.weight.original.grad,
        rtol=1e-8,
    )
    # With a clear spectral gap (singular values 4, 2, 1, 0.5) the power iteration
    # converges fast: after 20 training-mode accesses the weight has spectral norm 1.
    gapped = np.zeros((4, 5))
    gapped[np.arange(4), np.arange(4)] = [4.0, 2.0, 1.0, 0.5]
    with gg.no_grad():
        ours.parametrizations.weight.original.copy_(gg.tensor(gapped, device=device))
    for _ in range(20):
        ours.weight  # noqa: B018  (each access in training runs one power iteration)
    assert float(np.linalg.norm(ours.weight.detach().cpu().numpy(), 2)) == pytest.approx(
        1.0, rel=1e-9
    )
    ours.eval()
    frozen = ours.weight.detach().cpu().numpy()
    np.testing.assert_array_equal(ours.weight.detach().cpu().numpy(), frozen)  # eval: no update


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_matches_torch(device, orthogonal_map):
    weight = RNG.standard_normal((4, 4))
    bias = RNG.standard_normal(4)
    theirs = torch.nn.Linear(4, 4).double()
    ours = gg.nn.Linear(4, 4, dtype=gg.float64, device=device)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
        theirs.bias.copy_(torch.tensor(bias))
    with gg.no_grad():
        ours.weight.copy_(gg.tensor(weight, device=device))
        ours.bias.copy_(gg.tensor(bias, device=device))
    TU.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
    U.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight)
    original = RNG.standard_normal((4, 4)) * 0.3
    if orthogonal_map == "householder":
        original += np.diag([1.5, -1.2, 2.0, 1.0])  # PyTorch's sign is diag(...).int()
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(torch.tensor(original))
    with gg.no_grad():
        ours.parametrizations.weight.original.copy_(gg.tensor(original, device=device))
    _close(ours.weight, theirs.weight, rtol=1e-9)
    x = RNG.standard_normal((2, 4))
    theirs(torch.tensor(x)).pow(2).sum().backward()
    ours(gg.tensor(x, device=device)).pow(2).sum().backward()
    _close(
        ours.parametrizations.weight.original.grad,
        theirs.parametrizations.weight.original.grad,
        rtol=1e-8,
    )


def test_orthogonal_rectangular_and_errors(device):
    ours = U.parametrizations.orthogonal(gg.nn.Linear(5, 3, dtype=gg.float64, device=device))
    w = ours.weight
    np.testing.assert_allclose((w @ w.mT).detach().cpu().numpy(), np.eye(3), atol=1e-12)
    for call in (
        lambda u, nn: u.parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="foo"),
        lambda u, nn: u.parametrizations.orthogonal(nn.Linear(3, 3), "bias"),
        lambda u, nn: u.parametrizations.orthogonal(nn.Linear(3, 3), "nothing"),
    ):
        with pytest.raises(ValueError) as theirs:
            call(TU, torch.nn)
        with pytest.raises(ValueError) as ours_error:
            call(U, gg.nn)
        if "nothing" not in str(theirs.value):
            assert str(ours_error.value) == str(theirs.value)


def test_fuse_conv_and_linear_with_batch_norm(device):
    conv, bn = torch.nn.Conv2d(3, 4, 3).double().eval(), torch.nn.BatchNorm2d(4).double().eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(4, dtype=torch.float64))
        bn.running_var.copy_(torch.rand(4, dtype=torch.float64) + 0.5)
        bn.weight.copy_(torch.randn(4, dtype=torch.float64))
        bn.bias.copy_(torch.randn(4, dtype=torch.float64))
    ours_conv = gg.nn.Conv2d(3, 4, 3, dtype=gg.float64, device=device).eval()
    ours_bn = gg.nn.BatchNorm2d(4, dtype=gg.float64, device=device).eval()
    _same_parameters(ours_conv, conv, device)
    _same_parameters(ours_bn, bn, device)
    fused_theirs, fused_ours = (
        TU.fuse_conv_bn_eval(conv, bn),
        U.fuse_conv_bn_eval(ours_conv, ours_bn),
    )
    assert type(fused_ours) is gg.nn.Conv2d and fused_ours is not ours_conv
    _close(fused_ours.weight, fused_theirs.weight)
    _close(fused_ours.bias, fused_theirs.bias)
    x = RNG.standard_normal((2, 3, 6, 6))
    _close(
        fused_ours(gg.tensor(x, device=device)),
        ours_bn(ours_conv(gg.tensor(x, device=device))),
        rtol=1e-9,
    )
    linear, bn1 = torch.nn.Linear(3, 4).double().eval(), torch.nn.BatchNorm1d(4).double().eval()
    with torch.no_grad():
        bn1.running_var.copy_(torch.rand(4, dtype=torch.float64) + 0.5)
    ours_linear = gg.nn.Linear(3, 4, dtype=gg.float64, device=device).eval()
    ours_bn1 = gg.nn.BatchNorm1d(4, dtype=gg.float64, device=device).eval()
    _same_parameters(ours_linear, linear, device)
    _same_parameters(ours_bn1, bn1, device)
    fused = U.fuse_linear_bn_eval(ours_linear, ours_bn1)
    _close(fused.weight, TU.fuse_linear_bn_eval(linear, bn1).weight)
    assert isinstance(fused.weight, gg.nn.Parameter) and fused.weight.requires_grad
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        U.fuse_linear_bn_eval(ours_linear.train(), ours_bn1)
    transposed = RNG.standard_normal((3, 4, 2, 2))  # a transposed conv's (in, out, kH, kW)
    w, b = U.fuse_conv_bn_weights(
        gg.tensor(transposed, device=device),
        None,
        ours_bn.running_mean,
        ours_bn.running_var,
        1e-5,
        None,
        None,
        transpose=True,
    )
    tw, tb = TU.fuse_conv_bn_weights(
        torch.tensor(transposed),
        None,
        bn.running_mean,
        bn.running_var,
        1e-5,
        None,
        None,
        transpose=True,
    )
    _close(w, tw)
    _close(b, tb)


def test_functional_call_matches_torch_and_restores(device):
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    ).double()
    ours = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Tanh(), gg.nn.Linear(4, 2)).to(
        device=device, dtype=gg.float64
    )
    replacement = {"0.weight": RNG.standard_normal((4, 3)), "2.bias": RNG.standard_normal(2)}
    x = RNG.standard_normal((5, 3))
    _same_parameters(ours, theirs, device)
    before = ours[0].weight
    given = {k: gg.tensor(v, device=device, requires_grad=True) for k, v in replacement.items()}
    with pytest.warns(FutureWarning, match="functional_call"):
        got = U.stateless.functional_call(ours, given, (gg.tensor(x, device=device),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_given = {k: torch.tensor(v, requires_grad=True) for k, v in replacement.items()}
        expected = TU.stateless.functional_call(theirs, t_given, (torch.tensor(x),))
    _close(got, expected)
    assert ours[0].weight is before and isinstance(ours[0].weight, gg.nn.Parameter)
    got.sum().backward()
    expected.sum().backward()
    for k in replacement:
        _close(given[k].grad, t_given[k].grad)
    assert before.grad is None
    with pytest.raises(RuntimeError, match="Unexpected key\\(s\\): 'foo'"):
        U.stateless.call_with(ours, {"foo": gg.zeros(1)}, gg.tensor(x, device=device), strict=True)


def test_functional_call_follows_tied_weights():
    module = gg.nn.Module()
    module.a = gg.nn.Linear(2, 2, bias=False)
    module.b = gg.nn.Linear(2, 2, bias=False)
    module.b.weight = module.a.weight
    module.forward = lambda x: module.b(module.a(x))
    result = U.stateless.call_with(module, {"a.weight": gg.eye(2)}, gg.ones(1, 2))
    np.testing.assert_allclose(result.detach().numpy(), [[1.0, 1.0]])
    untied = U.stateless.call_with(
        module, {"a.weight": gg.eye(2)}, gg.ones(1, 2), tie_weights=False
    )
    assert not np.allclose(untied.detach().numpy(), [[1.0, 1.0]])


def test_clip_grads_with_norm_and_skip_init(device):
    params = [
        gg.tensor(RNG.standard_normal(s), device=device, requires_grad=True) for s in [(3,), (2, 2)]
    ]
    theirs = [torch.tensor(p.detach().cpu().numpy(), requires_grad=True) for p in params]
    for p, t in zip(params, theirs, strict=True):
        p.grad = gg.ones(*p.shape, dtype=gg.float64, device=device) * 3
        t.grad = torch.ones(*t.shape, dtype=torch.float64) * 3
    total = U.get_total_norm([p.grad for p in params])
    U.clip_grads_with_norm_(params, 1.0, total)
    TU.clip_grads_with_norm_(theirs, 1.0, TU.get_total_norm([t.grad for t in theirs]))
    for p, t in zip(params, theirs, strict=True):
        _close(p.grad, t.grad)
    module = U.skip_init(gg.nn.Linear, 3, 4, device=device)
    assert type(module) is gg.nn.Linear and tuple(module.weight.shape) == (4, 3)
    for cls, message in [(int, "Expected a Module"), (gg.nn.Tanh, "must support a 'device' arg")]:
        with pytest.raises(RuntimeError, match=message):
            U.skip_init(cls)


def test_utils_names_match_torch():
    assert set(TU.__all__) - {
        "convert_conv2d_weight_memory_format",
        "convert_conv3d_weight_memory_format",
    } <= set(U.__all__)
    assert set(TU.parametrize.__all__) <= set(U.parametrize.__all__)
    assert set(TU.parametrizations.__all__) == set(U.parametrizations.__all__)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_orthogonal_without_trivialization_matches_torch(device, orthogonal_map):
    weight = RNG.standard_normal((4, 4))
    theirs = torch.nn.Linear(4, 4).double()
    ours = gg.nn.Linear(4, 4, dtype=gg.float64, device=device)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
    with gg.no_grad():
        ours.weight.copy_(gg.tensor(weight, device=device))
    TU.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map, use_trivialization=False)
    U.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _close(ours.weight, theirs.weight, rtol=1e-9)
    with pytest.raises(NotImplementedError, match="geqrf"):
        U.parametrizations.orthogonal(
            gg.nn.Linear(4, 4), orthogonal_map="householder", use_trivialization=False
        )
