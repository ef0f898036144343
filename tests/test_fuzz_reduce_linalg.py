"""Reductions, sorting, scans and matrix products answer as PyTorch's: the mismatches
``scripts/fuzz_vs_torch.py`` found in them, one regression each (values, dtypes, node
names, exception classes and texts)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from against_torch import assert_raises_like_torch  # noqa: E402

import gpugrad as gg  # noqa: E402


def _printed(t) -> str:
    return str(t).replace(", device='cuda:0'", "").replace("torch.", "gpugrad.")


def assert_answers_like_torch(make, device) -> None:
    """``make(gg, device)`` prints what ``make(torch, "cpu")`` prints (values, dtype,
    ``grad_fn``), or raises its exception class with its text."""
    try:
        theirs = make(torch, "cpu")
    except Exception:  # noqa: BLE001 - then gpugrad must raise the same
        assert_raises_like_torch(lambda: make(gg, device), lambda: make(torch, "cpu"))
        return
    assert _printed(make(gg, device)) == _printed(theirs)


def scalar(L, d, value=1.5, **kw):
    return L.tensor(value, device=d, **kw)


def leaf(L, d, value=1.5):
    return L.tensor(value, dtype=L.float64, device=d, requires_grad=True)


ZERO_D = {
    "sort": lambda L, d: L.sort(leaf(L, d)),
    "sort stable": lambda L, d: L.sort(leaf(L, d), stable=True),
    "sort dim 5": lambda L, d: L.sort(scalar(L, d), dim=5),
    "msort": lambda L, d: L.msort(leaf(L, d)),
    "argsort dim 1": lambda L, d: L.argsort(scalar(L, d), dim=1),
    "argsort dim -2": lambda L, d: L.argsort(scalar(L, d), dim=-2),
    "topk k=1": lambda L, d: L.topk(leaf(L, d), 1),
    "topk k=0": lambda L, d: L.topk(scalar(L, d), 0),
    "topk k=2": lambda L, d: L.topk(scalar(L, d), 2),
    "topk dim 5": lambda L, d: L.topk(scalar(L, d), 1, dim=5),
    "topk k=0 dim -2": lambda L, d: L.topk(scalar(L, d), 0, dim=-2),
    "topk of a bool, dim 9": lambda L, d: L.topk(scalar(L, d, True), 5, dim=9),
    "kthvalue": lambda L, d: L.kthvalue(leaf(L, d), 1),
    "kthvalue k=2": lambda L, d: L.kthvalue(scalar(L, d), 2),
    "kthvalue dim 1": lambda L, d: L.kthvalue(scalar(L, d), 1, 1),
    "kthvalue k=0 dim 5": lambda L, d: L.kthvalue(scalar(L, d), 0, 5),
    "kthvalue of a bool": lambda L, d: L.kthvalue(scalar(L, d, True), 1, keepdim=True),
    "median dim": lambda L, d: L.median(leaf(L, d), 0),
    "nanmedian dim": lambda L, d: L.nanmedian(leaf(L, d), -1),
    "nanmedian dim -2": lambda L, d: scalar(L, d).nanmedian(-2, keepdim=True),
    "mode": lambda L, d: L.mode(leaf(L, d), 0),
    "mode dim 3": lambda L, d: L.mode(scalar(L, d), 3),
    "cummax": lambda L, d: L.cummax(leaf(L, d), 0),
    "max dim": lambda L, d: L.max(leaf(L, d), dim=0, keepdim=True),
    "min dim": lambda L, d: L.min(leaf(L, d), dim=-1),
    "cummin": lambda L, d: L.cummin(leaf(L, d), -1),
    "any dim 1": lambda L, d: scalar(L, d).any(1),
    "all dims": lambda L, d: scalar(L, d).all((0,)),
    "count_nonzero dim -2": lambda L, d: L.count_nonzero(scalar(L, d), dim=-2),
    "count_nonzero dims": lambda L, d: L.count_nonzero(scalar(L, d), dim=(0, -1)),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_zero_d_inputs(device, name):
    """A 0-d tensor is one element along dim 0 (or -1): any other dim is out of range,
    and the values get the op's own node (not a view's)."""
    assert_answers_like_torch(ZERO_D[name], device)


@pytest.mark.parametrize(
    "pick",
    [
        lambda L, x: L.sort(x).values,
        lambda L, x: L.msort(x),
        lambda L, x: L.topk(x, 1).values,
        lambda L, x: L.kthvalue(x, 1).values,
        lambda L, x: L.median(x, 0).values,
        lambda L, x: L.mode(x).values,
        lambda L, x: L.cummax(x, 0).values,
        lambda L, x: L.max(x, 0).values,
        lambda L, x: L.min(x, -1, keepdim=True).values,
    ],
)
def test_zero_d_picks_pass_the_gradient_straight_back(device, pick):
    x = leaf(gg, device, 2.0)
    (pick(gg, x) * 3).backward()
    assert x.grad.item() == 3.0
    assert gg.autograd.gradgradcheck(lambda t: pick(gg, t) ** 2, (leaf(gg, device, 2.0),))
    out = pick(gg, x)
    out.detach().add_(1)  # a copy, as PyTorch's
    assert x.item() == 2.0


def test_sort_names_its_stable_overload(device):
    """PyTorch's ``sort(..., stable=...)`` is the ``sort.stable`` overload: SortBackward1."""
    for stable in (None, False, True):
        kw = {} if stable is None else {"stable": stable}
        assert_answers_like_torch(
            lambda L, d, kw=kw: L.sort(L.tensor([2.0, 1.0], device=d, requires_grad=True), **kw),
            device,
        )
        assert_answers_like_torch(
            lambda L, d, kw=kw: L.tensor([[2.0, 1.0]], device=d, requires_grad=True).sort(
                dim=0, **kw
            ),
            device,
        )


EMPTY = {
    "cummax of empty, dim 5": lambda L, d: L.cummax(L.zeros(2, 0, 1, device=d), 5),
    "cummin of empty, dim -4": lambda L, d: L.cummin(L.zeros(0, 2, 1, device=d), -4),
    "cummin dim -4": lambda L, d: L.cummin(L.zeros(1, 2, 1, device=d), -4),
    "cummin of empty, graph": lambda L, d: L.cummin(
        L.zeros(1, 0, dtype=L.float64, device=d, requires_grad=True), -2
    ),
    "topk k=0 of empty": lambda L, d: L.topk(L.zeros(2, 0, device=d), 0, dim=-1),
    "topk k=0 of empty, dim 0": lambda L, d: L.topk(L.zeros(0, 3, device=d), 0, dim=0),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_inputs(device, name):
    assert_answers_like_torch(EMPTY[name], device)


def _ones(L, d, shape, dtype):
    return L.ones(shape, dtype=getattr(L, dtype), device=d)


CROSS = [
    ("float64", "int64", 0),
    ("int64", "float32", 0),
    ("int32", "int64", 0),
    ("bool", "int64", 0),
    ("int64", "bool", 0),
    ("bool", "bool", 0),
    ("float32", "float32", 5),
    ("float32", "int64", 4),
]


@pytest.mark.parametrize("a, b, dim", CROSS)
def test_cross_does_not_promote(device, a, b, dim):
    """``cross`` wants one dtype: "expected scalar type Double but found Long"."""
    assert_answers_like_torch(
        lambda L, d: L.cross(_ones(L, d, (3,), a), _ones(L, d, (3,), b), dim=dim), device
    )
    assert_answers_like_torch(
        lambda L, d: L.linalg.cross(_ones(L, d, (2, 3), a), _ones(L, d, (2, 3), b)), device
    )


ADD_PRODUCTS = [
    ("addmm", (2, 2), (2, 3), (3, 2)),
    ("addmv", (2,), (2, 3), (3,)),
    ("baddbmm", (), (2, 2, 3), (2, 3, 2)),
    ("addbmm", (), (2, 2, 3), (2, 3, 2)),
]
DTYPE_TRIPLES = [
    ("float64", "float64", "float64"),
    ("int32", "float64", "float64"),
    ("float32", "float64", "float64"),
    ("float32", "float64", "float32"),
    ("float64", "float32", "float32"),
    ("float64", "float32", "float64"),
    ("float64", "float64", "float32"),
    ("int64", "float32", "int64"),
    ("bool", "float64", "float64"),
    ("bool", "bool", "bool"),
    ("int64", "int64", "int64"),
]


@pytest.mark.parametrize("name, s0, s1, s2", ADD_PRODUCTS)
@pytest.mark.parametrize("dtypes", DTYPE_TRIPLES, ids="-".join)
def test_add_products_check_dtypes_as_torch(device, name, s0, s1, s2, dtypes):
    """``addmm addmv baddbmm addbmm`` never promote: each refuses mixed dtypes in its
    own words (found by the fuzzer: gpugrad promoted and answered)."""
    a, b, c = dtypes
    assert_answers_like_torch(
        lambda L, d: getattr(L, name)(
            _ones(L, d, s0, a), _ones(L, d, s1, b), _ones(L, d, s2, c), alpha=2
        ),
        device,
    )


@pytest.mark.parametrize("name, s0, s1, s2", ADD_PRODUCTS)
@pytest.mark.parametrize("number", [0.5, 2, True])
def test_add_products_want_a_tensor_input(device, name, s0, s1, s2, number):
    assert_answers_like_torch(
        lambda L, d: getattr(L, name)(number, L.ones(*s1, device=d), L.ones(*s2, device=d)),
        device,
    )


@pytest.mark.parametrize("shape", [(3,), (1,), (), (2,), (2, 2), (2, 1)])
def test_addmv_input_shape(device, shape):
    assert_answers_like_torch(
        lambda L, d: L.addmv(L.ones(shape, device=d), L.ones(2, 3, device=d), L.ones(3, device=d)),
        device,
    )


def _grad_leaf(L, d, values=(1.0, 2.0)):
    return L.tensor(values, dtype=L.float64, device=d, requires_grad=True)


DTYPE_ARGUMENT = {
    "mean dtype=float64 of ints": lambda L, d: L.ones(2, 3, dtype=L.int64, device=d).mean(
        1, dtype=L.float64
    ),
    "mean dtype=int32": lambda L, d: L.ones(2, device=d).mean(dtype=L.int32),
    "mean dtype=float32 of a graph": lambda L, d: _grad_leaf(L, d).mean(dtype=L.float32),
    "prod dtype=float64 of ints": lambda L, d: L.ones(2, 3, dtype=L.int64, device=d).prod(
        1, dtype=L.float64
    ),
    "prod dtype=int32": lambda L, d: L.tensor([[1.5, 2.0]], device=d).prod(dtype=L.int32),
    "prod dtype=bool": lambda L, d: L.ones(2, 3, dtype=L.int32, device=d).prod(0, dtype=L.bool),
    "prod dtype=float32 of a graph": lambda L, d: _grad_leaf(L, d).prod(0, dtype=L.float32),
    "prod dtype=int32 of a graph": lambda L, d: _grad_leaf(L, d).prod(dtype=L.int32),
    "sum dtype=bool of a graph": lambda L, d: _grad_leaf(L, d).sum(-1, dtype=L.bool),
    "sum dtype=int64 of a graph": lambda L, d: _grad_leaf(L, d).sum(dtype=L.int64),
    "nansum dtype=int32 of a graph": lambda L, d: _grad_leaf(L, d).nansum(dtype=L.int32),
    "cumsum dtype=int32 of a graph": lambda L, d: _grad_leaf(L, d).cumsum(0, dtype=L.int32),
    "cumprod dtype=int32 of a graph": lambda L, d: _grad_leaf(L, d).cumprod(0, dtype=L.int32),
    "nanmean dtype=int32": lambda L, d: _grad_leaf(L, d).nanmean(dtype=L.int32),
    "nanmean of ints, dtype=float32": lambda L, d: L.ones(2, dtype=L.int64, device=d).nanmean(
        dtype=L.float32
    ),
}


@pytest.mark.parametrize("name", sorted(DTYPE_ARGUMENT))
def test_dtype_arguments(device, name):
    """``dtype=`` casts first; a non-floating one is refused while recording a graph
    ("Autograd not support dtype: Int"), and mean/nanmean want a floating one."""
    assert_answers_like_torch(DTYPE_ARGUMENT[name], device)


def test_integer_dtype_without_a_graph(device):
    with gg.no_grad():
        assert (
            gg.ones(2, dtype=gg.float64, device=device, requires_grad=True)
            .sum(dtype=gg.int64)
            .tolist()
            == 2
        )


MORE = {
    "median of a 0-d bool, dim": lambda L, d: L.median(scalar(L, d, True), 0),
    "nanmedian of a 0-d bool, dim 5": lambda L, d: L.nanmedian(scalar(L, d, True), 5),
    "median of bools, empty result": lambda L, d: L.median(
        L.ones(2, 0, dtype=L.bool, device=d), dim=-2
    ),
    "median of empty, graph": lambda L, d: L.median(_grad_leaf(L, d, [])),
    "nanmedian of empty, graph": lambda L, d: L.nanmedian(_grad_leaf(L, d, [])),
    "logcumsumexp of ints, dim 5": lambda L, d: L.logcumsumexp(
        L.ones(2, 3, dtype=L.int64, device=d), 5
    ),
    "logcumsumexp of a 0-d int, dim 1": lambda L, d: L.logcumsumexp(scalar(L, d, 1), 1),
    "kthvalue of bools, empty dim": lambda L, d: L.kthvalue(
        L.zeros(2, 0, dtype=L.bool, device=d), 1, 1
    ),
    "kthvalue of bools, k too large": lambda L, d: L.kthvalue(
        L.zeros(2, 1, dtype=L.bool, device=d), 2, 1
    ),
    "kthvalue of bools, k=0": lambda L, d: L.kthvalue(L.tensor([False], device=d), 0, -1),
    "sum dim 2 before dtype": lambda L, d: L.sum(_grad_leaf(L, d), dim=2, dtype=L.int64),
    "nansum dim 5 before dtype": lambda L, d: L.nansum(_grad_leaf(L, d), 5, dtype=L.int64),
    "cumsum dim 5 before dtype": lambda L, d: L.cumsum(_grad_leaf(L, d), 5, dtype=L.int64),
    "cumprod dim 5 before dtype": lambda L, d: L.cumprod(_grad_leaf(L, d), 5, dtype=L.int64),
    "cumsum of -0.0": lambda L, d: L.cumsum(L.tensor([[1.0], [-0.0]], device=d), 1),
    "cumsum of -0.0, -0.0": lambda L, d: L.cumsum(L.tensor([-0.0, -0.0], device=d), 0),
    "cumsum of a 0-d -0.0": lambda L, d: L.cumsum(scalar(L, d, -0.0), 0),
    "logcumsumexp of -0.0": lambda L, d: L.logcumsumexp(L.tensor([-0.0, -3.0], device=d), -1),
    "logcumsumexp of a 0-d -0.0": lambda L, d: L.logcumsumexp(scalar(L, d, -0.0), 0),
}


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_edges(device, name):
    assert_answers_like_torch(MORE[name], device)


def test_empty_median_backward(device):
    x = gg.zeros(0, dtype=gg.float64, device=device, requires_grad=True)
    gg.median(x).backward()
    assert x.grad.shape == (0,)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("flag", [True, False])
def test_max_with_a_bool_is_a_type_error(device, name, flag):
    """``max(x, True)`` matches no overload of PyTorch's: a TypeError, not dim 1."""
    for L, d in ((torch, "cpu"), (gg, device)):
        with pytest.raises(TypeError, match="received an invalid combination of arguments"):
            getattr(L, name)(L.tensor([1.0, 2.0], device=d), flag)


NORMS_OF_EMPTY = {
    "vector inf of empty": lambda L, d: L.linalg.vector_norm(L.zeros(0, device=d), ord=math.inf),
    "vector -1 of empty": lambda L, d: L.linalg.vector_norm(L.zeros(0, device=d), ord=-1),
    "vector -1 over an empty dim": lambda L, d: L.linalg.vector_norm(
        L.zeros(2, 0, device=d), ord=-1, dim=(0, 1)
    ),
    "vector -inf over a full dim": lambda L, d: L.linalg.vector_norm(
        L.zeros(2, 0, device=d), ord=-math.inf, dim=0
    ),
    "vector 0.5 of empty": lambda L, d: L.linalg.vector_norm(L.zeros(2, 0, device=d), ord=0.5),
    "matrix 1 of (2, 0)": lambda L, d: L.linalg.matrix_norm(L.zeros(2, 0, device=d), ord=1),
    "matrix -1 of (2, 0)": lambda L, d: L.linalg.matrix_norm(L.zeros(2, 0, device=d), ord=-1),
    "matrix inf of (0, 2)": lambda L, d: L.linalg.matrix_norm(
        L.zeros(0, 2, device=d), ord=math.inf
    ),
    "matrix 2 of (2, 0)": lambda L, d: L.linalg.matrix_norm(L.zeros(2, 0, device=d), ord=2),
    "matrix -1 of a batch": lambda L, d: L.linalg.matrix_norm(
        L.arange(24.0, device=d).reshape(2, 3, 4) - 5, ord=-1, dim=(1, 0)
    ),
    "matrix -inf kept": lambda L, d: L.linalg.matrix_norm(
        L.arange(24.0, device=d).reshape(2, 3, 4) - 5, ord=-math.inf, dim=(0, 2), keepdim=True
    ),
}


@pytest.mark.parametrize("name", sorted(NORMS_OF_EMPTY))
def test_norms_of_empty_tensors(device, name):
    """Max-like and negative norms have no identity: PyTorch refuses them over an empty
    dim, and answers 0 for a positive matrix norm of an empty matrix."""
    assert_answers_like_torch(NORMS_OF_EMPTY[name], device)


@pytest.mark.parametrize("name, s0, s1, s2", ADD_PRODUCTS)
@pytest.mark.parametrize("beta, alpha", [(0.5, 1), (0.5, 1.5), (-1.7, -2.2), (2, 3)])
def test_add_products_of_integers_truncate_the_scales(device, name, s0, s1, s2, beta, alpha):
    """On integers PyTorch casts ``beta`` and ``alpha`` to the dtype (0.5 is 0)."""

    def make(L, d):
        ints = L.arange(1, 25, device=d)
        first = (ints[: math.prod(s1)] - 3).reshape(s1)
        second = (ints[: math.prod(s2)] - 5).reshape(s2)
        return getattr(L, name)(L.full(s0, -3, device=d), first, second, beta=beta, alpha=alpha)

    assert_answers_like_torch(make, device)


def test_prod_of_an_empty_tensor_backward(device):
    for dim in (1, None):
        x = gg.ones(3, 0, dtype=gg.float64, device=device, requires_grad=True)
        (gg.prod(x) if dim is None else gg.prod(x, dim=dim)).sum().backward()
        assert x.grad.shape == (3, 0)


def test_relu_of_a_full_reduction_backward(device):
    """A full reduction's 0-d result (a NumPy scalar on the CPU) through relu's backward."""
    for L, d in ((torch, "cpu"), (gg, device)):
        x = L.tensor([1.0, 2.0], dtype=L.float64, device=d, requires_grad=True)
        y = L.tensor(1.0, dtype=L.float64, device=d, requires_grad=True)
        (x.sum().relu() + L.cummax(y, 0).values.relu() * 2 - (x.sum() - 5).relu()).backward()
        assert x.grad.tolist() == [1.0, 1.0] and y.grad.item() == 2.0


EXTREME_GRADIENTS = [
    ("amax of NaN", lambda L, x: L.amax(x), [math.nan, 1.0, math.nan], 1.0),
    ("amax, NaN gradient", lambda L, x: L.amax(x), [2.0, 1.0, 2.0], math.nan),
    ("amax dim, inf gradient", lambda L, x: L.amax(x.reshape(1, 3), 1), [2.0, 1.0, 2.0], math.inf),
    ("amin dim of NaN", lambda L, x: L.amin(x.reshape(3, 1), 0), [math.nan, 1.0, 3.0], 1.0),
    ("max of NaN", lambda L, x: L.max(x), [math.nan, 1.0, math.nan], 1.0),
    ("max, NaN gradient", lambda L, x: L.max(x), [2.0, 1.0, 2.0], math.nan),
    ("min, inf gradient", lambda L, x: L.min(x), [2.0, 1.0, 1.0], math.inf),
    ("median, NaN gradient", lambda L, x: L.median(x), [2.0, 1.0, 2.0], math.nan),
]


@pytest.mark.parametrize("name, reduce, values, grad", EXTREME_GRADIENTS, ids=lambda v: v)
def test_extreme_gradients_with_nan_and_inf(device, name, reduce, values, grad):
    """amax/amin multiply by the tie mask (an inf or NaN gradient spreads as NaN);
    max()/min() of all elements fill only the ties (the NaNs when the result is NaN)."""
    results = []
    for L, d in ((torch, "cpu"), (gg, device)):
        x = L.tensor(values, dtype=L.float64, device=d, requires_grad=True)
        out = reduce(L, x)
        out.backward(L.full(tuple(out.shape), grad, dtype=L.float64, device=d))
        results.append(str(x.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("ord", [0, 1, 2, 3, 0.5, 1.5, -1, -0.5, math.inf, -math.inf])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (0, True), ((0, 1), True)])
def test_vector_norm_is_one_node_with_torchs_gradient(device, ord, dim, keepdim):
    """Every ``ord`` records one LinalgVectorNormBackward0 (ord=0 too: requires_grad,
    and no gradient at all), with PyTorch's gradient where elements or norms are 0."""
    values = [[1.0, -2.0, 0.0], [0.0, 0.0, 0.0], [3.0, -3.0, 0.5]]
    results = []
    for L, d in ((torch, "cpu"), (gg, device)):
        x = L.tensor(values, dtype=L.float64, device=d, requires_grad=True)
        out = L.linalg.vector_norm(x, ord=ord, dim=dim, keepdim=keepdim)
        weights = L.arange(1, out.numel() + 1, dtype=L.float64, device=d).reshape(out.shape)
        (out * weights).sum().backward()
        grad = None if x.grad is None else [round(v, 12) for row in x.grad.tolist() for v in row]
        results.append((_printed(out), str(grad)))
    assert results[0] == results[1]


def test_vector_norm_gradients_to_second_order(device):
    x = gg.tensor([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]], dtype=gg.float64, device=device)
    x.requires_grad_()
    for ord in (1, 2, 3, 0.5, 1.5, -1, math.inf, -math.inf):
        assert gg.autograd.gradgradcheck(lambda t, o=ord: gg.linalg.vector_norm(t, o, 1), (x,))


@pytest.mark.parametrize(
    "make",
    [
        lambda L, d: L.linalg.vector_norm(L.tensor([1, 2], device=d), ord=1, dtype=L.float64),
        lambda L, d: L.linalg.vector_norm(L.tensor([1.0, 2.0], device=d), dtype=L.int64),
        lambda L, d: L.linalg.norm(L.tensor([1, 2], device=d), dtype=L.float64),
    ],
)
def test_vector_norm_checks_the_input_before_dtype(device, make):
    assert_answers_like_torch(make, device)


@pytest.mark.parametrize("name, s0, s1, s2", ADD_PRODUCTS)
def test_add_products_do_not_broadcast_the_product_up(device, name, s0, s1, s2):
    """An ``input`` of more dims than the product is PyTorch's expand error."""
    assert_answers_like_torch(
        lambda L, d: getattr(L, name)(
            L.ones((1,) * (len(s1) + 1), device=d), L.ones(s1, device=d), L.ones(s2, device=d)
        ),
        device,
    )
