"""The in-place forms the registry now makes (``erf_``, ``eq_``, ``cumsum_``, ``addmm_`` …,
``swapdims_``) and the top-level in-place functions (``gg.exp_(x)``) against PyTorch in
float64: values, gradients through the rewritten tensor, node names, version counters and
the refusals (a leaf that requires grad, a float written into an int)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _numpy(t):
    return t.detach().cpu().numpy() if isinstance(t, gg.Tensor) else t.detach().numpy()


UNARY = [
    "absolute_", "negative_", "sign_", "sgn_", "erf_", "expm1_", "log1p_", "reciprocal_",
    "rsqrt_", "tan_",
]  # fmt: skip
COMPARISONS = [
    "eq_", "ne_", "not_equal_", "lt_", "less_", "le_", "less_equal_", "gt_", "greater_",
    "ge_", "greater_equal_",
]  # fmt: skip
BINARY = ["multiply_", "subtract_", "divide_", "true_divide_"]


def _run(m, name, args, device, values):
    leaf = m.tensor(values, dtype=m.float64, requires_grad=True)
    if m is gg:
        leaf = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    x = leaf * 1.5
    start = x._version
    result = getattr(x, name)(*args(m, device))
    assert result is x
    (x * m.arange(x.numel(), dtype=m.float64).reshape(x.shape).to(x.device)).sum().backward()
    return x, x._version - start, leaf.grad, type(x.grad_fn).__name__ if m is torch else None


def _same_program(name, args, device, values=((0.3, 0.7, 1.1), (0.5, 1.3, 0.9))):
    ours, our_versions, our_grad, _ = _run(gg, name, args, device, values)
    theirs, their_versions, their_grad, their_node = _run(torch, name, args, device, values)
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=1e-12, atol=1e-15)
    assert our_versions == their_versions == 1
    expected = np.zeros(their_grad.shape) if their_grad._is_zerotensor() else their_grad.numpy()
    np.testing.assert_allclose(_numpy(our_grad), expected, rtol=1e-12, atol=1e-15)
    return ours, their_node


@pytest.mark.parametrize("name", UNARY)
def test_unary_inplace_as_pytorch(name, device):
    _same_program(name, lambda m, d: (), device)


@pytest.mark.parametrize("name", BINARY)
def test_binary_inplace_as_pytorch(name, device):
    _same_program(name, lambda m, d: (m.tensor(0.7, dtype=m.float64).to(d),), device)


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_inplace_as_pytorch(name, device):
    def other(m, d):
        return (m.tensor([[0.45, 1.05, 1.0], [0.75, 0.0, 1.35]], dtype=m.float64).to(d),)

    ours, node = _same_program(name, other, device)
    assert ours.requires_grad and ours.grad_fn.name() == node
    ours, node = _same_program(name, lambda m, d: (1.05,), device)
    assert ours.grad_fn.name() == node  # ...Backward0 for a number, ...Backward1 for a tensor


def test_comparison_inplace_casts_into_integers_as_pytorch(device):
    ours = gg.tensor([1, 2, 3], device=device)
    theirs = torch.tensor([1, 2, 3])
    assert ours.lt_(2.5).tolist() == theirs.lt_(2.5).tolist() == [1, 1, 0]
    assert ours.dtype is gg.int64


def _ones(m, d, *shape):
    return m.ones(*shape, dtype=m.float64).to(d)


PRODUCTS = {
    "cumsum_": (lambda m, d: (1,), None),
    "cumprod_": (lambda m, d: (0,), None),
    "addmm_": (lambda m, d: (_ones(m, d, 2, 2), m.eye(2, 3, dtype=m.float64).to(d)), None),
    "baddbmm_": (
        lambda m, d: (_ones(m, d, 2, 1, 2), _ones(m, d, 2, 2, 3)),
        [[[0.1, 0.2, 0.3]], [[0.4, 0.5, 0.6]]],
    ),
    "addbmm_": (lambda m, d: (_ones(m, d, 2, 2, 4), _ones(m, d, 2, 4, 3)), None),
    "addmv_": (
        lambda m, d: (_ones(m, d, 3, 2), m.tensor([1.0, 2.0], dtype=m.float64).to(d)),
        [0.1, 0.2, 0.3],
    ),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_reduction_and_product_inplace_as_pytorch(name, device):
    args, values = PRODUCTS[name]
    if values is None:
        _same_program(name, args, device)
    else:
        _same_program(name, args, device, values=values)


def test_addmm_inplace_takes_beta_and_alpha(device):
    ours = gg.ones(2, 2, dtype=gg.float64, device=device)
    theirs = torch.ones(2, 2, dtype=torch.float64)
    mat = [[1.0, 2.0], [3.0, 4.0]]
    ours_mat = gg.tensor(mat, dtype=gg.float64, device=device)
    ours.addmm_(ours_mat, ours_mat, beta=2, alpha=0.5)
    theirs.addmm_(torch.tensor(mat).double(), torch.tensor(mat).double(), beta=2, alpha=0.5)
    np.testing.assert_allclose(_numpy(ours), theirs.numpy())


def test_swapdims_inplace_as_pytorch(device):
    ours = gg.randn(2, 3, dtype=gg.float64, device=device, requires_grad=True) * 1
    theirs = torch.tensor(_numpy(ours), requires_grad=True) * 1
    ours.swapdims_(0, 1)
    theirs.swapdims_(0, 1)
    assert ours.shape == (3, 2) and ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))


def test_inplace_refusals_as_pytorch(device):
    leaf = gg.ones(3, dtype=gg.float64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.erf_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        gg.exp_(leaf)
    ints = gg.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        ints.multiply_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        ints.erf_()


def test_saved_value_overwritten_is_refused(device):
    leaf = gg.ones(3, dtype=gg.float64, device=device, requires_grad=True)
    x = leaf * 2
    y = x.sin()  # saves x
    x.erf_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


TOPLEVEL = [
    ("abs_", ()), ("acos_", ()), ("asin_", ()), ("atan_", ()), ("arccos_", ()), ("ceil_", ()),
    ("clamp_", (0.2, 0.6)), ("clamp_min_", (0.4,)), ("clamp_max_", (0.4,)), ("clip_", (0.2, 0.6)),
    ("cos_", ()), ("cosh_", ()), ("deg2rad_", ()), ("erf_", ()), ("erfc_", ()), ("exp2_", ()),
    ("exp_", ()), ("expm1_", ()), ("fix_", ()), ("floor_", ()), ("frac_", ()), ("log10_", ()),
    ("log1p_", ()), ("log2_", ()), ("log_", ()), ("logit_", ()), ("nan_to_num_", ()),
    ("neg_", ()), ("negative_", ()), ("rad2deg_", ()), ("reciprocal_", ()), ("round_", ()),
    ("rsqrt_", ()), ("sigmoid_", ()), ("sin_", ()), ("sinc_", ()), ("sinh_", ()), ("sqrt_", ()),
    ("square_", ()), ("tan_", ()), ("tanh_", ()), ("trunc_", ()), ("xlogy_", (2.0,)),
    ("zero_", ()), ("fill_", (3.0,)), ("atanh_", ()), ("asinh_", ()), ("acosh_", ()),
    ("arcsin_", ()), ("arctan_", ()), ("arcsinh_", ()), ("arctanh_", ()), ("arccosh_", ()),
]  # fmt: skip


@pytest.mark.parametrize("name, args", TOPLEVEL)
def test_toplevel_inplace_as_pytorch(name, args, device):
    values = [0.25, 0.5, 0.75] if "cosh" not in name else [1.25, 1.5, 2.75]
    ours = gg.tensor(values, dtype=gg.float64, device=device)
    theirs = torch.tensor(values, dtype=torch.float64)
    assert getattr(gg, name)(ours, *args) is ours
    getattr(torch, name)(theirs, *args)
    np.testing.assert_allclose(_numpy(ours), theirs.numpy(), rtol=1e-12)
    assert ours._version == theirs._version == 1
    with pytest.raises(TypeError) as ours_error:
        getattr(gg, name)(3)
    with pytest.raises(TypeError) as theirs_error:
        getattr(torch, name)(3)
    if "invalid combination" not in str(theirs_error.value):  # PyTorch's overloads list
        assert str(ours_error.value) == str(theirs_error.value)


def test_toplevel_inplace_signatures_name_the_input():
    assert list(inspect.signature(gg.clamp_).parameters)[:3] == ["input", "min", "max"]
    assert list(inspect.signature(gg.exp_).parameters) == ["input"]


def test_toplevel_addmv_detach_and_fill(device):
    vector = gg.zeros(2, dtype=gg.float64, device=device)
    gg.addmv_(
        vector,
        gg.ones(2, 3, dtype=gg.float64, device=device),
        gg.ones(3, dtype=gg.float64, device=device),
    )  # noqa: E501
    assert vector.tolist() == [3.0, 3.0]
    x = gg.ones(2, device=device, requires_grad=True) * 2
    assert gg.detach(x).requires_grad is False and x.requires_grad
    assert gg.detach_(x) is x and x.grad_fn is None and not x.requires_grad
    leaf = gg.ones(2, dtype=gg.float64, device=device, requires_grad=True)
    filled = gg.fill(leaf, 5.0)
    assert filled.tolist() == [5.0, 5.0] and leaf.tolist() == [1.0, 1.0]
    filled.sum().backward()
    assert leaf.grad.tolist() == [0.0, 0.0]  # as PyTorch: the fill hides the input


def test_inplace_view_ops_count_as_writes_as_pytorch(device):
    for m, d in ((gg, device), (torch, "cpu")):
        x = m.arange(6.0).reshape(2, 3).to(d)
        start = x._version
        x.t_()
        x.unsqueeze_(0)
        x.swapdims_(0, 1)
        x.as_strided_((2,), (1,))
        assert x._version - start == 4
        leaf = (
            m.ones(2, 3, requires_grad=True).to(d)
            if m is torch
            else gg.ones(2, 3, device=d, requires_grad=True)
        )
        saved = leaf.exp()  # exp saves its output, which t_ then changes
        saved.t_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            saved.sum().backward()
        y = leaf * 1
        y.as_strided_((2, 2), (1, 2))
        assert y.grad_fn.name() == "AsStridedBackward1"
