"""The strided views, ``*_scatter`` ops, ``*_copy`` variants and index writers
(gpugrad/ops/scatter_copy.py) against PyTorch in float64: values, gradients (PyTorch's and
finite differences), in-place forms with their version counters, and error texts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _inputs(shapes, device, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [gg.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _numpy(t):
    return t.detach().cpu().numpy() if isinstance(t, gg.Tensor) else t.detach().numpy()


def _agree(ours_fn, theirs_fn, shapes, device, grads=True):
    """Same values and (for a weighted sum of the result) the same gradients."""
    ours, theirs = _inputs(shapes, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a, b = ours_fn(*ours), theirs_fn(*theirs)
    if isinstance(b, tuple):
        assert len(a) == len(b)
        a, b = a[-1], b[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-12, atol=1e-12)
    if not grads:
        return
    weight = np.random.default_rng(1).standard_normal(tuple(b.shape))
    (a * gg.tensor(weight, device=device)).sum().backward()
    (b * torch.tensor(weight)).sum().backward()
    for x, y in zip(ours, theirs):
        expected = np.zeros(y.shape) if y.grad is None else y.grad.numpy()
        got = np.zeros(y.shape) if x.grad is None else _numpy(x.grad)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


CASES = {
    "slice_scatter": (
        lambda m, x, s: m.slice_scatter(x, s, 1, 0, 3, 2),
        [(3, 4), (3, 2)],
    ),
    "select_scatter": (lambda m, x, s: m.select_scatter(x, s, 1, -1), [(3, 4), (3,)]),
    "diagonal_scatter": (lambda m, x, s: m.diagonal_scatter(x, s, 1), [(3, 4), (3,)]),
    "diagonal_scatter_3d": (
        lambda m, x, s: m.diagonal_scatter(x, s, -1, 2, 0),
        [(3, 4, 2), (4, 1)],
    ),
    "as_strided": (lambda m, x: m.as_strided(x, (2, 2), (1, 3), 1), [(3, 4)]),
    "as_strided_overlapping": (lambda m, x: m.as_strided(x, (3, 3), (1, 1)), [(3, 4)]),
    "index_copy": (
        lambda m, x, s: m.index_copy(x, 1, m.tensor([0, 2]), s),
        [(3, 4), (3, 2)],
    ),
    "index_reduce_prod": (
        lambda m, x, s: m.index_reduce(x, 0, m.tensor([0, 0, 2]), s, "prod"),
        [(3, 4), (3, 4)],
    ),
    "index_reduce_mean_no_self": (
        lambda m, x, s: m.index_reduce(x, 0, m.tensor([0, 0, 2]), s, "mean", include_self=False),
        [(3, 4), (3, 4)],
    ),
    "index_reduce_amax": (
        lambda m, x, s: m.index_reduce(x, 1, m.tensor([0, 0, 2]), s, "amax"),
        [(3, 4), (3, 3)],
    ),
    "index_reduce_amin": (
        lambda m, x, s: m.index_reduce(x, 1, m.tensor([1, 3, 1]), s, "amin"),
        [(3, 4), (3, 3)],
    ),
    "put": (lambda m, x, s: m.put(x, m.tensor([0, -1, 5]), s), [(3, 4), (3,)]),
    "put_accumulate": (lambda m, x, s: m.put(x, m.tensor([0, 0, 5]), s, True), [(3, 4), (3,)]),
    "masked_scatter": (
        lambda m, x, s: m.masked_scatter(x, x.detach() > 0, s),
        [(3, 4), (13,)],
    ),
    "masked_scatter_broadcast_mask": (
        lambda m, x, s: m.masked_scatter(x, m.tensor([True, False, True, False]), s),
        [(3, 4), (7,)],
    ),
    "rsub": (lambda m, x, y: m.rsub(x, y, alpha=2), [(3, 4), (3, 4)]),
    "rsub_number": (lambda m, x: m.rsub(x, 3), [(3, 4)]),
    "adjoint": (lambda m, x: m.adjoint(x), [(2, 3, 4)]),
    "renorm_p2": (lambda m, x: m.renorm(x, 2, 0, 1.5), [(3, 4)]),
    "renorm_p1": (lambda m, x: m.renorm(x, 1, 1, 1.5), [(3, 4)]),
    "split_with_sizes": (lambda m, x: m.split_with_sizes(x, [1, 3], 1), [(3, 4)]),
    "unsafe_split": (lambda m, x: m.unsafe_split(x, 3, 1), [(3, 4)]),
    "unsafe_chunk": (lambda m, x: m.unsafe_chunk(x, 2, 1), [(3, 4)]),
    "narrow_copy": (lambda m, x: m.narrow_copy(x, 1, 1, 2), [(3, 4)]),
    "view_copy": (lambda m, x: m.view_copy(x, (12,)), [(3, 4)]),
    "permute_copy": (lambda m, x: m.permute_copy(x, (1, 0)), [(3, 4)]),
    "t_copy": (lambda m, x: m.t_copy(x), [(3, 4)]),
    "transpose_copy": (lambda m, x: m.transpose_copy(x, 0, 1), [(3, 4)]),
    "unsqueeze_copy": (lambda m, x: m.unsqueeze_copy(x, 1), [(3, 4)]),
    "squeeze_copy": (lambda m, x: m.squeeze_copy(x), [(3, 1, 4)]),
    "expand_copy": (lambda m, x: m.expand_copy(x, (2, 3, 4)), [(3, 4)]),
    "select_copy": (lambda m, x: m.select_copy(x, 0, 1), [(3, 4)]),
    "slice_copy": (lambda m, x: m.slice_copy(x, 1, 1, 4, 2), [(3, 4)]),
    "diagonal_copy": (lambda m, x: m.diagonal_copy(x, 1), [(3, 4)]),
    "split_copy": (lambda m, x: m.split_copy(x, 2), [(3, 4)]),
    "split_with_sizes_copy": (lambda m, x: m.split_with_sizes_copy(x, [2, 1]), [(3, 4)]),
    "unbind_copy": (lambda m, x: m.unbind_copy(x, 1), [(3, 4)]),
    "alias_copy": (lambda m, x: m.alias_copy(x), [(3, 4)]),
    "as_strided_copy": (lambda m, x: m.as_strided_copy(x, (2,), (2,)), [(3, 4)]),
    "unfold_copy": (lambda m, x: m.unfold_copy(x, 1, 2, 1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_as_pytorch(name, device):
    function, shapes = CASES[name]
    _agree(lambda *a: function(gg, *a), lambda *a: function(torch, *a), shapes, device)


def test_copies_do_not_share_memory(device):
    x = gg.arange(12.0, device=device).reshape(3, 4)
    for copy in (gg.view_copy(x, (12,)), gg.t_copy(x), gg.detach_copy(x), gg.alias_copy(x)):
        copy.zero_()
    assert x.sum().item() == 66.0
    assert not gg.detach_copy(x.requires_grad_()).requires_grad


def test_as_strided_is_a_view_with_pytorchs_storage_semantics(device):
    base = gg.arange(12.0, dtype=gg.float64, device=device)
    view = base.as_strided((2, 3), (3, 1), 2)
    view[0, 0] = 100.0
    assert base[2].item() == 100.0
    ours = base.view(3, 4)[1].as_strided((2,), (4,))  # the storage offset of the row is kept
    theirs = torch.arange(12.0).view(3, 4)[1].as_strided((2,), (4,))
    np.testing.assert_array_equal(_numpy(ours), theirs.numpy())
    chained = base.as_strided((2, 2), (1, 3), 1).as_strided((2,), (3,), 1)  # the storage's
    assert chained.storage_offset() == 1 and chained.tolist() == [1.0, 4.0]
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        base.as_strided((2, 2), (1,))
    with pytest.raises(RuntimeError, match=r"storage offset 100, and itemsize 8 requiring"):
        base.as_strided((2, 2), (1, 2), 100)


def test_as_strided_in_place_and_gradcheck(device):
    x = gg.arange(6.0, dtype=gg.float64, device=device)
    x.as_strided_((2, 2), (1, 2))
    assert x.shape == (2, 2) and x.tolist() == [[0.0, 2.0], [1.0, 3.0]]
    leaf = gg.randn(3, 4, dtype=gg.float64, device=device, requires_grad=True)
    src = gg.randn(2, 2, dtype=gg.float64, device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda t: t.as_strided((3, 2), (1, 2), 1), (leaf,))
    # PyTorch 2.x gets the input's gradient of as_strided_scatter wrong (its own gradcheck
    # fails); ours is checked against finite differences, the source's against PyTorch too
    assert gg.autograd.gradcheck(
        lambda t, s: gg.as_strided_scatter(t, s, (2, 2), (1, 3), 1), (leaf, src)
    )


def test_scatter_ops_gradcheck(device):
    x = gg.randn(3, 4, dtype=gg.float64, device=device, requires_grad=True)
    s = gg.randn(3, 2, dtype=gg.float64, device=device, requires_grad=True)
    index = gg.tensor([3, 0], device=device)
    assert gg.autograd.gradcheck(lambda a, b: gg.slice_scatter(a, b, 1, 1, 4, 2), (x, s))
    assert gg.autograd.gradcheck(lambda a, b: gg.index_copy(a, 1, index, b), (x, s))
    assert gg.autograd.gradgradcheck(lambda a, b: gg.index_copy(a, 1, index, b), (x, s))
    flat = gg.randn(5, dtype=gg.float64, device=device, requires_grad=True)
    mask = gg.tensor([True, False, True, False], device=device)  # 6 of 12 elements, 5 values
    mask = gg.stack([mask, mask, gg.tensor([False, False, True, False], device=device)])
    mask[1, 2] = False
    assert gg.autograd.gradcheck(lambda a, b: gg.masked_scatter(a, mask, b), (x, flat))
    assert gg.autograd.gradcheck(lambda a: gg.renorm(a, 2, 0, 0.5), (x,))


def _inplace_program(m, device):
    a = m.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=m.float64, requires_grad=True)
    if m is gg:
        a = gg.tensor(a.tolist(), dtype=gg.float64, device=device, requires_grad=True)
    x = a * 1
    start = x._version
    x[0].index_copy_(0, m.tensor([2]), m.tensor([9.0], dtype=m.float64))
    x.put_(m.tensor([4]), m.tensor([7.0], dtype=m.float64))
    mask = m.tensor([[False, True, False], [False, False, False]])
    x.masked_scatter_(mask, m.tensor([5.0], dtype=m.float64))
    x.renorm_(2, 0, 20.0)
    x[1].index_reduce_(0, m.tensor([0, 0]), m.tensor([2.0, 3.0], dtype=m.float64), "prod")
    x.sum().backward()
    return x, x._version - start, a.grad


def test_inplace_forms_through_views_as_pytorch(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, ours_versions, ours_grad = _inplace_program(gg, device)
        theirs, theirs_versions, theirs_grad = _inplace_program(torch, device)
    np.testing.assert_allclose(_numpy(ours), theirs.detach().numpy(), rtol=1e-12)
    assert ours_versions == theirs_versions == 5
    np.testing.assert_allclose(_numpy(ours_grad), theirs_grad.numpy(), rtol=1e-12)


def _error(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            function()
        except Exception as error:  # noqa: BLE001 - the class and text are compared
            return type(error).__name__, str(error)
    raise AssertionError("no error")


ERRORS = {
    "slice_scatter_shape": lambda m, x: m.slice_scatter(x, m.ones(2, 3, dtype=m.float64), 0, 0, 3),
    "slice_scatter_dim": lambda m, x: m.slice_scatter(x, m.ones(2, 3, dtype=m.float64), 5),
    "select_scatter_index": lambda m, x: m.select_scatter(x, m.ones(3, dtype=m.float64), 0, 7),
    "diagonal_scatter_shape": lambda m, x: m.diagonal_scatter(x, m.ones(2, dtype=m.float64)),
    "index_copy_float_index": lambda m, x: m.index_copy(
        x, 0, m.tensor([0.0, 2]), m.ones(2, 3, dtype=m.float64)
    ),
    "index_copy_bounds": lambda m, x: m.index_copy(
        x, 0, m.tensor([0, 5]), m.ones(2, 3, dtype=m.float64)
    ),
    "index_copy_dtype": lambda m, x: m.index_copy(x, 0, m.tensor([0, 2]), m.ones(2, 3)),
    "index_copy_count": lambda m, x: m.index_copy(
        x, 0, m.tensor([0, 2]), m.ones(3, 3, dtype=m.float64)
    ),
    "index_copy_rank": lambda m, x: m.index_copy(
        x, 0, m.tensor([[0, 2]]), m.ones(2, 3, dtype=m.float64)
    ),
    "index_copy_slice_shape": lambda m, x: m.index_copy(
        x, 0, m.tensor([0, 1]), m.ones(2, 4, dtype=m.float64)
    ),
    "put_bounds": lambda m, x: m.put(x, m.tensor([0, 20]), m.ones(2, dtype=m.float64)),
    "put_count": lambda m, x: m.put(x, m.tensor([0, -1]), m.ones(3, dtype=m.float64)),
    "put_dtype": lambda m, x: m.put(x, m.tensor([0, -1]), m.ones(2)),
    "masked_scatter_short": lambda m, x: m.masked_scatter(x, x > -1, m.ones(3, dtype=m.float64)),
    "masked_scatter_mask": lambda m, x: m.masked_scatter(
        x, (x > -1).float(), m.ones(13, dtype=m.float64)
    ),
    "index_reduce_kind": lambda m, x: m.index_reduce(
        x, 0, m.tensor([0, 0]), m.ones(2, 3, dtype=m.float64), "sum"
    ),
    "split_with_sizes_sum": lambda m, x: m.split_with_sizes(x, [1, 2]),
    "adjoint_1d": lambda m, x: m.adjoint(x[0]),
    "renorm_maxnorm": lambda m, x: m.renorm(x, 2, 0, -1.0),
    "renorm_p": lambda m, x: m.renorm(x, -2, 0, 1.0),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_pytorch(name, device):
    ours = _error(lambda: ERRORS[name](gg, gg.zeros(4, 3, dtype=gg.float64, device=device)))
    theirs = _error(lambda: ERRORS[name](torch, torch.zeros(4, 3, dtype=torch.float64)))
    assert ours == theirs


def test_index_reduce_warns_beta_as_pytorch(device):
    x = gg.zeros(2, 2, device=device)
    with pytest.warns(UserWarning, match="index_reduce\\(\\) is in beta"):
        x.index_reduce(0, gg.tensor([0], device=device), gg.ones(1, 2, device=device), "amax")


def test_unsafe_split_pieces_may_be_written_in_place(device):
    x = gg.arange(5.0, dtype=gg.float64, device=device, requires_grad=True)
    a = x * 1
    with pytest.raises(RuntimeError, match="returns multiple views"):
        a.split(2)[0].mul_(3)
    first = gg.unsafe_split(a, 2)[0]
    first.mul_(3)
    assert a.tolist() == [0.0, 3.0, 2.0, 3.0, 4.0]  # the piece shares the input's memory
    a.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 1.0, 1.0, 1.0]


NODE_NAMES = {
    "slice_scatter": lambda m, x: m.slice_scatter(x, x[:1], 0, 0, 1),
    "select_scatter": lambda m, x: m.select_scatter(x, x[0], 0, 1),
    "diagonal_scatter": lambda m, x: m.diagonal_scatter(x, x[0]),
    "as_strided_scatter": lambda m, x: m.as_strided_scatter(x, x[0, :2], (2,), (1,)),
    "index_copy": lambda m, x: m.index_copy(x, 0, m.tensor([0]), x[:1]),
    "index_reduce": lambda m, x: m.index_reduce(x, 0, m.tensor([0]), x[:1], "mean"),
    "put": lambda m, x: m.put(x, m.tensor([0]), x[0, :1]),
    "masked_scatter": lambda m, x: m.masked_scatter(x, x > 0, x),
    "rsub_number": lambda m, x: m.rsub(x, 1),
    "rsub_tensor": lambda m, x: m.rsub(x, x),
    "renorm": lambda m, x: m.renorm(x, 2, 0, 1),
    "index_copy_": lambda m, x: (x * 1).index_copy_(0, m.tensor([0]), x[:1]),
    "as_strided": lambda m, x: x.as_strided((2,), (1,)),
}


def test_node_names_as_pytorch(device):
    ours = gg.randn(3, 3, dtype=gg.float64, device=device, requires_grad=True)
    theirs = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, function in NODE_NAMES.items():
            ours_name = function(gg, ours).grad_fn.name()
            assert ours_name == function(torch, theirs).grad_fn.name(), name


SHIFTS = {
    "left_past_width": lambda m, d: m.bitwise_left_shift(
        m.tensor([1, -8, 5]).to(d), m.tensor([64, 65, -1]).to(d)
    ),
    "right_past_width": lambda m, d: m.bitwise_right_shift(
        m.tensor([1, -8, 5]).to(d), m.tensor([64, 65, -1]).to(d)
    ),
    "uint8": lambda m, d: (
        m.tensor([1], dtype=m.uint8).to(d) << 9,
        m.tensor([200], dtype=m.uint8).to(d) >> 9,
    ),
    "int8_promoted": lambda m, d: m.tensor([1], dtype=m.int8).to(d) << m.tensor([1]).to(d),
    "bool_number": lambda m, d: m.tensor([True]).to(d) << 1,
    "operators": lambda m, d: (m.tensor([1, -8, 5]).to(d) << 2, m.tensor([1, -8, 5]).to(d) >> 1),
    "reflected": lambda m, d: (
        2 << m.tensor([1, 8, 5]).to(d),
        m.tensor([1, -8, 5]).to(d).__rlshift__(1),
    ),  # noqa: E501
    "in_place": lambda m, d: (
        m.tensor([1, -8, 5]).to(d).bitwise_right_shift_(2).bitwise_left_shift_(3)
    ),  # noqa: E501
    "float": lambda m, d: m.tensor([1.0]).to(d) << 1,
    "float_function": lambda m, d: m.bitwise_right_shift(m.tensor([1.0]).to(d), 1),
}


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_bit_shifts_as_pytorch(name, device):
    def outcome(m, d):
        try:
            result = SHIFTS[name](m, d)
        except Exception as error:  # noqa: BLE001 - the class and text are compared
            return type(error).__name__, str(error)
        results = result if isinstance(result, tuple) else (result,)
        return [(str(r.dtype).split(".")[-1], r.tolist()) for r in results]

    assert outcome(gg, device) == outcome(torch, "cpu")


def test_augmented_shifts(device):
    x = gg.tensor([1, 2, 3], device=device)
    start = x._version
    x <<= 2
    x >>= 1
    assert x.tolist() == [2, 4, 6] and x._version == start + 2
