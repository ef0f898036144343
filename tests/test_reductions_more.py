"""Order statistics, scans and sorting (``gpugrad/ops/reduce.py``) against PyTorch, on every
device: values, indices, gradients, node names, named results and error texts; and the
reductions' edges from issue 15 (float16 accumulation, empty inputs, repeated dims, the
gradient of a zero standard deviation). Finite-difference checks of first and second
order live in the one table, ``tests/test_op_gradients.py``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.backends.array_backend import doubling_scan

torch = pytest.importorskip("torch")

rng = np.random.default_rng(2026)
DISTINCT = rng.permutation(np.linspace(-3.0, 3.0, 60)).reshape(3, 4, 5)
TIES = rng.integers(0, 4, (4, 7)).astype(np.float64)


def both(values, device, dtype="float64", requires_grad=True):
    ours = gg.tensor(values, dtype=getattr(gg, dtype), device=device, requires_grad=requires_grad)
    theirs = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return ours, theirs


def host(t):
    return t.detach().cpu().numpy()


def assert_same_values_and_indices(ours, theirs, rows=slice(None)) -> None:
    """A (values, indices) result equals PyTorch's (the indices in ``rows``)."""
    np.testing.assert_array_equal(host(ours.values), theirs.values.detach().numpy())
    np.testing.assert_array_equal(host(ours.indices)[rows], theirs.indices.numpy()[rows])


def first(result):
    return result[0] if isinstance(result, tuple) else result


def assert_same(ours, theirs, rtol=1e-12):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, rtol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(host(ours), theirs.detach().numpy(), rtol=rtol, atol=1e-12)


# name: the call, written once, for both libraries (``lib`` is gpugrad or torch)
CALLS = {
    "sort": lambda lib, x: x.sort(1),
    "sort_descending": lambda lib, x: lib.sort(x, -1, descending=True),
    "sort_stable": lambda lib, x: x.sort(dim=0, descending=True, stable=True),
    "argsort": lambda lib, x: x.argsort(2, descending=True),
    "msort": lambda lib, x: lib.msort(x),
    "topk": lambda lib, x: x.topk(3),
    "topk_smallest_dim0": lambda lib, x: lib.topk(x, 2, dim=0, largest=False),
    "kthvalue": lambda lib, x: x.kthvalue(2, 1, keepdim=True),
    "median": lambda lib, x: x.median(),
    "median_dim": lambda lib, x: x.median(-1),
    "median_keepdim": lambda lib, x: lib.median(x, 1, keepdim=True),
    "nanmedian": lambda lib, x: x.nanmedian(),
    "nanmedian_dim": lambda lib, x: x.nanmedian(0),
    "mode": lambda lib, x: x.mode(1),
    "cummax": lambda lib, x: x.cummax(2),
    "cummin": lambda lib, x: lib.cummin(x, 0),
    "cumprod": lambda lib, x: x.cumprod(1),
    "logcumsumexp": lambda lib, x: x.logcumsumexp(-1),
    "nansum": lambda lib, x: x.nansum((0, 2)),
    "nanmean": lambda lib, x: lib.nanmean(x, 1, keepdim=True),
    "var_mean": lambda lib, x: lib.var_mean(x, (0, 2)),
    "std_mean": lambda lib, x: lib.std_mean(x, 1, correction=0, keepdim=True),
    "quantile": lambda lib, x: x.quantile(0.35, dim=1),
    "quantile_all": lambda lib, x: lib.quantile(x, 0.8),
    "nanquantile": lambda lib, x: x.nanquantile(0.35, dim=1),
    "nanquantile_all": lambda lib, x: lib.nanquantile(x, 0.8, interpolation="midpoint"),
}

NODE_NAMES = {
    "sort": "SortBackward0",
    "topk": "TopkBackward0",
    "kthvalue": "KthvalueBackward0",
    "median": "MedianBackward0",
    "median_dim": "MedianBackward1",
    "nanmedian": "NanmedianBackward0",
    "nanmedian_dim": "NanmedianBackward1",
    "mode": "ModeBackward0",
    "cummax": "CummaxBackward0",
    "cummin": "CumminBackward0",
    "cumprod": "CumprodBackward0",
    "logcumsumexp": "LogcumsumexpBackward0",
    "nansum": "NansumBackward0",
    "nanmean": "DivBackward0",
    "var_mean": "VarMeanBackward0",
    "std_mean": "StdMeanBackward0",
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_values_and_gradients_match_torch(name, device):
    x, xt = both(DISTINCT, device)
    ours, theirs = CALLS[name](gg, x), CALLS[name](torch, xt)
    assert_same(
        tuple(ours) if isinstance(ours, tuple) else ours,
        tuple(theirs) if isinstance(theirs, tuple) else theirs,
    )
    out, out_t = first(ours), first(theirs)
    if not out_t.requires_grad:
        return
    weights = rng.standard_normal(tuple(out_t.shape))
    (out * gg.tensor(weights, device=device)).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if name in NODE_NAMES:
        assert out.grad_fn.name() == out_t.grad_fn.name() == NODE_NAMES[name]


@pytest.mark.parametrize(
    "name", ["sort", "topk", "median_dim", "cummax", "cumprod", "quantile", "nanquantile"]
)
def test_second_derivatives_match_torch(name, device):
    x, xt = both(DISTINCT, device)
    out, out_t = first(CALLS[name](gg, x)), first(CALLS[name](torch, xt))
    weights = rng.standard_normal(tuple(out_t.shape))
    (g,) = gg.autograd.grad(
        (out * out * gg.tensor(weights, device=device)).sum(), x, create_graph=True
    )
    (gt,) = torch.autograd.grad(
        (out_t * out_t * torch.tensor(weights)).sum(), xt, create_graph=True
    )
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_named_results_print_as_torch_return_types(device):
    x, xt = both([3.0, 1.0, 2.0], device, requires_grad=False)
    for name in ("sort", "topk", "median", "mode", "cummax", "cummin", "kthvalue", "max"):
        call = {
            "sort": lambda t: t.sort(),
            "topk": lambda t: t.topk(2),
            "median": lambda t: t.median(0),
            "mode": lambda t: t.mode(),
            "cummax": lambda t: t.cummax(0),
            "cummin": lambda t: t.cummin(0),
            "kthvalue": lambda t: t.kthvalue(1),
            "max": lambda t: t.max(0),
        }[name]
        ours, theirs = call(x), call(xt)
        assert type(ours).__name__ == type(theirs).__name__ == name
        assert ours._fields == ("values", "indices") and ours.values is ours[0]
        if device == "cpu":
            assert repr(ours) == repr(theirs).replace("torch.", "gpugrad.")
    assert gg.return_types.sort is type(x.sort())


@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_and_puts_nan_where_torch_does(descending, device):
    values = np.array([[2.0, np.nan, 1.0, 2.0, -np.inf, 1.0, np.nan, np.inf, 2.0]])
    x, xt = both(values, device, requires_grad=False)
    ours = x.sort(descending=descending)
    theirs = xt.sort(descending=descending, stable=True)
    assert_same_values_and_indices(ours, theirs)
    np.testing.assert_array_equal(
        host(x.argsort(descending=descending)), xt.argsort(descending=descending, stable=True)
    )


def test_sort_of_integers_and_bools_and_0d(device):
    ints = gg.tensor([[3, -1, 2, 2]], dtype=gg.int32, device=device)
    assert ints.sort().values.dtype == gg.int32
    assert host(ints.sort(descending=True).indices).tolist() == [[0, 2, 3, 1]]
    flags = gg.tensor([True, False, True], device=device)
    assert host(flags.sort().values).tolist() == [False, True, True]
    scalar = gg.tensor(2.5, device=device, requires_grad=True)
    values, indices = scalar.sort()
    assert values.shape == () and indices.shape == () and int(indices) == 0
    values.backward()
    assert float(scalar.grad) == 1.0


def test_topk_partition_path_matches_torch(device):
    values = rng.permutation(np.arange(500, dtype=np.float64)).reshape(2, 250)
    x, xt = both(values, device)
    for largest in (True, False):
        ours, theirs = x.topk(7, largest=largest), xt.topk(7, largest=largest)
        assert_same_values_and_indices(ours, theirs)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        x.topk(251)
    assert x.topk(0).values.shape == (2, 0)


def test_median_mode_and_cummax_with_ties_and_nan_match_torch(device):
    x, xt = both(TIES, device, requires_grad=False)
    for method, dim in (("median", 1), ("mode", 1), ("mode", 0), ("cummax", 1), ("cummin", 0)):
        assert_same_values_and_indices(getattr(x, method)(dim), getattr(xt, method)(dim))
    with_nan = np.array([[1.0, np.nan, 3.0, 0.5], [np.nan, np.nan, np.nan, np.nan], [4, 2, 1, 3]])
    x, xt = both(with_nan, device, requires_grad=False)
    rows = ~np.isnan(with_nan).all(axis=1)  # all-NaN rows: PyTorch's index is arbitrary
    for method in ("median", "nanmedian", "cummax", "cummin"):
        assert_same_values_and_indices(getattr(x, method)(1), getattr(xt, method)(1), rows)
    assert np.isnan(float(x.median())) and float(x.nanmedian()) == float(xt.nanmedian())


def test_median_of_all_elements_shares_the_gradient_among_ties(device):
    values = np.array([[1.0, 2.0, 2.0], [5.0, 2.0, 0.0]])
    x, xt = both(values, device)
    x.median().backward()
    xt.median().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy())


def test_cumprod_gradient_over_zeros_matches_torch(device):
    values = np.array([[1.5, 0.0, -2.0, 0.7], [0.0, 1.2, 0.0, 2.0], [0.7, 1.2, 0.9, 0.0]])
    x, xt = both(values, device)
    weights = rng.standard_normal((3, 4))
    (x.cumprod(1) * gg.tensor(weights, device=device)).sum().backward()
    (xt.cumprod(1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy(), rtol=1e-12)
    x.grad = None
    (g,) = gg.autograd.grad(x.cumprod(1).sum(), x, create_graph=False)
    np.testing.assert_allclose(host(g), xt.grad.numpy() * 0 + host(g))
    with pytest.raises(NotImplementedError, match="second derivative of cumprod"):
        gg.autograd.grad(x.cumprod(1).sum(), x, create_graph=True)


def test_cumprod_of_integers_is_int64(device):
    out = gg.tensor([1, 2, 3, 4], dtype=gg.int32, device=device).cumprod(0)
    assert out.dtype == gg.int64 and host(out).tolist() == [1, 2, 6, 24]
    assert gg.tensor([1.0, 2.0], device=device).cumprod(0, dtype=gg.float64).dtype == gg.float64


def test_logcumsumexp_is_stable_and_refuses_integers(device):
    values = np.array([-1000.0, 0.0, 1000.0, 999.0])
    x, xt = both(values, device)
    np.testing.assert_allclose(host(x.logcumsumexp(0)), xt.logcumsumexp(0).detach().numpy())
    x.logcumsumexp(0).sum().backward()
    xt.logcumsumexp(0).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy(), atol=1e-12)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gg.tensor([1, 2], device=device).logcumsumexp(0)


def test_nansum_and_nanmean_skip_nan_in_values_and_gradients(device):
    values = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    x, xt = both(values, device)
    for call in (lambda t: t.nansum(), lambda t: t.nansum(1), lambda t: t.nanmean(0)):
        assert_same(call(x), call(xt))
    x.nanmean(1).sum().backward()
    xt.nanmean(1).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy())
    assert host(gg.tensor([1, 2], device=device).nansum()).item() == 3


def test_count_nonzero_matches_torch(device):
    x, xt = both(TIES, device, requires_grad=False)
    for call in (
        lambda t: t.count_nonzero(),
        lambda t: t.count_nonzero(0),
        lambda t: t.count_nonzero((0, 1)),
    ):
        assert_same(call(x), call(xt))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_unique_matches_torch(dim, device):
    x, xt = both(TIES, device, requires_grad=False)
    ours = gg.unique(x, return_inverse=True, return_counts=True, dim=dim)
    theirs = torch.unique(xt, return_inverse=True, return_counts=True, dim=dim)
    assert_same(ours, theirs)
    assert_same(x.unique(), xt.unique())
    assert_same(x.unique(return_counts=True), xt.unique(return_counts=True))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_modes_shapes_and_gradients_match_torch(interpolation, device):
    x, xt = both(DISTINCT, device)
    q = [0.1, 0.375, 0.5, 0.625, 1.0]
    for dim, keepdim in ((None, False), (None, True), (1, False), (2, True)):
        ours = x.quantile(
            gg.tensor(q, dtype=gg.float64, device=device), dim, keepdim, interpolation=interpolation
        )
        theirs = xt.quantile(
            torch.tensor(q, dtype=torch.float64), dim, keepdim, interpolation=interpolation
        )
        assert_same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy(), atol=1e-12)


WITH_NAN = DISTINCT.copy()
WITH_NAN[0, 1, 2] = WITH_NAN[1, :, 3] = WITH_NAN[2, 3, 0] = np.nan  # one slice all NaN


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("function", ["quantile", "nanquantile"])
def test_quantiles_of_values_with_nan_match_torch(function, interpolation, device):
    """Values and gradients of quantile (NaN slices read their NaN) and nanquantile (each
    slice's non-NaN values; an all-NaN slice is NaN) with NaN in some slices, one slice all
    NaN, over every dim and all elements; float32 ranks are computed in float32 as
    PyTorch's."""
    q = [0.0, 0.1, 0.375, 0.5, 0.9, 1.0]
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-6)):
        for dim, keepdim in ((None, False), (None, True), (1, False), (2, True), (0, False)):
            x, xt = both(WITH_NAN, device, dtype)
            qs = (gg.tensor(q, dtype=x.dtype, device=device), torch.tensor(q, dtype=xt.dtype))
            ours = getattr(gg, function)(x, qs[0], dim, keepdim, interpolation=interpolation)
            theirs = getattr(torch, function)(xt, qs[1], dim, keepdim, interpolation=interpolation)
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_allclose(
                host(ours), theirs.detach().numpy(), rtol=rtol, atol=rtol, equal_nan=True
            )
            weights = rng.standard_normal(tuple(theirs.shape))
            (ours * gg.tensor(weights, dtype=x.dtype, device=device)).sum().backward()
            (theirs * torch.tensor(weights, dtype=xt.dtype)).sum().backward()
            # which of several NaNs of a slice sorts last (first) is PyTorch's unstable
            # sort's choice: the gradient a NaN slice sends to its NaNs is compared in sum
            nan = np.isnan(WITH_NAN)
            ours_grad, theirs_grad = host(x.grad), xt.grad.numpy()
            np.testing.assert_allclose(ours_grad[~nan], theirs_grad[~nan], rtol=rtol, atol=rtol)
            np.testing.assert_allclose(
                ours_grad[nan].sum(), theirs_grad[nan].sum(), rtol=rtol, atol=rtol
            )
    scalar = gg.tensor(2.5, device=device).nanquantile(0.3)
    assert scalar.shape == () and scalar.item() == 2.5


def test_quantile_nan_and_errors_match_torch(device):
    x = gg.tensor([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]], device=device)
    assert np.isnan(host(x.quantile(0.5, dim=1))[0]) and host(x.quantile(0.5, dim=1))[1] == 2.0
    errors = [
        (lambda lib, t: t.quantile(1.5), RuntimeError, "q must be in the range [0, 1] but got 1.5"),
        (
            lambda lib, t: t.long().quantile(0.5),
            RuntimeError,
            "input tensor must be either float or double dtype",
        ),
        (lambda lib, t: t[:0].quantile(0.5), RuntimeError, "input tensor must be non-empty"),
        (
            lambda lib, t: t.quantile(0.5, interpolation="cubic"),
            RuntimeError,
            "interpolation must be one of",
        ),
    ]
    xt = torch.tensor([[1.0, 2.0]])
    xg = gg.tensor([[1.0, 2.0]], device=device)
    for call, kind, text in errors:
        for lib, t in ((torch, xt), (gg, xg)):
            for function in ("quantile", "nanquantile"):
                with pytest.raises(kind) as caught:
                    call(lib, _QuantileAs(t, function))
                assert text in str(caught.value)
    for t in (xt, xg):
        with pytest.raises(RuntimeError) as caught:
            t.nanquantile(0.5, interpolation="cubic")
        assert str(caught.value) == (
            "quantile() interpolation must be one of linear, lower, higher, midpoint or "
            "nearest, but got cubic"
        )


class _QuantileAs:
    """A tensor whose ``quantile`` is ``function`` (to run one error table through both
    quantile and nanquantile)."""

    def __init__(self, tensor, function):
        self.tensor, self.function = tensor, function

    def quantile(self, *args, **kwargs):
        return getattr(self.tensor, self.function)(*args, **kwargs)

    def long(self):
        return _QuantileAs(self.tensor.long(), self.function)

    def __getitem__(self, key):
        return _QuantileAs(self.tensor[key], self.function)


REDUCTIONS_WITH_KEEPDIM = {
    "sum": lambda t, **k: t.sum(1, **k),
    "mean": lambda t, **k: t.mean((0, 1), **k),
    "prod": lambda t, **k: t.prod(1, **k),
    "amax": lambda t, **k: t.amax([0, 1], **k),
    "amin": lambda t, **k: t.amin(0, **k),
    "max": lambda t, **k: t.max(1, **k).values,
    "min": lambda t, **k: t.min(0, **k).values,
    "argmax": lambda t, **k: t.argmax(1, **k),
    "argmin": lambda t, **k: t.argmin(1, **k),
    "var": lambda t, **k: t.var([0, 1], **k),
    "std": lambda t, **k: t.std(1, **k),
    "logsumexp": lambda t, **k: t.logsumexp((0, 1), **k),
    "all": lambda t, **k: (t > 0).all((0, 1), **k),
    "any": lambda t, **k: (t > 0).any([1], **k),
    "median": lambda t, **k: t.median(1, **k).values,
    "nanmedian": lambda t, **k: t.nanmedian(0, **k).values,
    "mode": lambda t, **k: t.mode(1, **k).values,
    "kthvalue": lambda t, **k: t.kthvalue(1, 1, **k).values,
    "nansum": lambda t, **k: t.nansum((0, 1), **k),
    "nanmean": lambda t, **k: t.nanmean(1, **k),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS_WITH_KEEPDIM))
def test_keepdims_spelling_and_dim_lists_match_torch(name, device):
    x, xt = both(DISTINCT, device, requires_grad=False)
    call = REDUCTIONS_WITH_KEEPDIM[name]
    for keepdims in (True, False):
        assert_same(call(x, keepdims=keepdims), call(xt, keepdims=keepdims))


# --- issue 15: the edges ------------------------------------------------------------------
def test_float16_reductions_accumulate_in_float32(device):
    ones = gg.ones(10000, dtype=gg.float16, device=device)
    assert float(ones.cumsum(0)[-1]) == 10000.0
    assert float(ones.sum()) == 10000.0 and float(ones.mean()) == 1.0
    spread = [100.0, -100.0, 1e4, -1e4]
    x, xt = both(spread, device, "float16", requires_grad=False)
    for call in (
        lambda t: t.std(),
        lambda t: t.var(),
        lambda t: t.prod(),
        lambda t: t.nansum(),
        lambda t: t.cumprod(0),
        lambda t: (t / 100).sum(),
        lambda t: (
            gg.full((100,), 1.1, dtype=gg.float16, device=device).prod()
            if isinstance(t, gg.Tensor)
            else torch.full((100,), 1.1, dtype=torch.float16).prod()
        ),
    ):
        ours, theirs = call(x), call(xt)
        assert ours.dtype == gg.float16
        # prod: PyTorch's float16 product rounds in its own order; within float16's ulp
        np.testing.assert_allclose(host(ours).astype(float), theirs.float().numpy(), rtol=2e-3)
    assert float(x.std()) == 8164.0


@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_softmax_and_logsumexp_of_empty_tensors_match_torch(shape, device):
    x, xt = both(np.zeros(shape), device)
    for dim in (0, 1):
        assert_same(x.softmax(dim), xt.softmax(dim))
        assert_same(x.log_softmax(dim), xt.log_softmax(dim))
        assert_same(x.logsumexp(dim), xt.logsumexp(dim))
    assert_same(x.logsumexp((0, 1)), xt.logsumexp((0, 1)))
    assert_same(gg.zeros(0, device=device).logsumexp(0), torch.zeros(0).logsumexp(0))


def _error(call, tensor):
    try:
        call(tensor)
    except Exception as error:  # noqa: BLE001 - comparing what each library raises
        return type(error), str(error)
    return None


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.max(0),
        lambda t: t.max(-2),
        lambda t: t.min(0),
        lambda t: t.amax(0),
        lambda t: t.amax(-2),
        lambda t: t.amin(0),
        lambda t: t.amax(),
        lambda t: t.argmax(),
        lambda t: t.argmin(),
        lambda t: t.argmax(0),
        lambda t: t.median(0),
        lambda t: t.mode(0),
        lambda t: t.max(),
    ],
)
def test_reducing_an_empty_dim_raises_torchs_error(call, device):
    ours = _error(call, gg.zeros(0, 3, device=device))
    theirs = _error(call, torch.zeros(0, 3))
    assert theirs is not None and ours == theirs


def test_empty_inputs_that_torch_reduces(device):
    x, xt = both(np.zeros((0, 3)), device, requires_grad=False)
    for call in (
        lambda t: t.max(1).values,
        lambda t: t.amax(1),
        lambda t: t.argmax(1),
        lambda t: t.sort(0).values,
        lambda t: t.cummax(0).values,
        lambda t: t.cumprod(0),
        lambda t: t.count_nonzero(0),
        lambda t: t.topk(0, 0).values,
    ):
        assert_same(call(x), call(xt))
    assert np.isnan(float(x.median())) and np.isnan(float(x.nanmedian()))


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.mean(dim=(0, 0)),
        lambda t: t.sum((1, -1)),
        lambda t: t.amax([0, -2]),
        lambda t: t.std((0, 0)),
        lambda t: t.logsumexp((1, 1)),
    ],
)
def test_repeated_dims_raise_torchs_error(call, device):
    ours = _error(call, gg.ones(3, 4, device=device))
    theirs = _error(call, torch.ones(3, 4))
    assert theirs is not None and ours == theirs


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_std_gradient_where_there_is_no_spread_matches_torch(dim, device):
    values = np.array([[2.0, 2.0], [2.0, 5.0], [2.0, -1.0]])
    x, xt = both(values, device)
    args = () if dim is None else (dim,)
    x.std(*args).sum().backward()
    xt.std(*args).sum().backward()
    np.testing.assert_allclose(host(x.grad), xt.grad.numpy())
    constant, constant_t = both(np.full((3, 2), 4.0), device)
    constant.std(*args).sum().backward()
    constant_t.std(*args).sum().backward()
    np.testing.assert_array_equal(host(constant.grad), constant_t.grad.numpy())
    assert not np.isnan(host(constant.grad)).any()


def test_no_floating_point_warnings_leak(device):
    values = np.array([[0.0, np.nan, -np.inf, 3.0], [np.inf, 0.0, 1.0, np.nan]])
    x = gg.tensor(values, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = [
            x.sort(1).values,
            x.topk(2).values,
            x.nanmedian(1).values,
            x.cummax(1).values,
            x.cumprod(1),
            x.logcumsumexp(1),
            x.nansum(),
            x.quantile(0.5, dim=1),
            gg.zeros(0, 3, device=device).logsumexp(0),
        ]
        for out in outputs[:-1]:
            gg.autograd.grad(out.sum(), x, retain_graph=True)


def test_doubling_scan_equals_accumulate():
    """The scan CuPy uses (its ufuncs have no ``accumulate`` in general), checked here."""
    values = rng.standard_normal((3, 9, 4))
    values[1, 4, 2] = np.nan
    for ufunc in (np.maximum, np.minimum, np.logaddexp):
        for dim in (0, 1, 2):
            with np.errstate(invalid="ignore"):
                expected = ufunc.accumulate(values, axis=dim)
                scanned = doubling_scan(np, ufunc, values, dim)
            # max/min are exact; logaddexp rounds differently in another order of terms
            np.testing.assert_allclose(
                scanned, expected, rtol=1e-15 if ufunc is not np.logaddexp else 1e-13
            )


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t[:1].std(),
        lambda t: t.var(correction=6),
        lambda t: t.reshape(2, 2).var((0, 1), correction=4),
        lambda t: t[:0].var(),
        lambda t: t[:0].reshape(0, 1).std(0),
    ],
)
def test_no_degrees_of_freedom_gives_torchs_values_and_warning(call, device):
    values = np.array([1.0, 2.0, 4.0, 8.0])
    x, xt = both(values, device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = call(x)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0") as expected:
        theirs = call(xt)
    assert [str(w.message) for w in caught] == [
        str(w.message).partition(" (Triggered internally")[0] for w in expected
    ]
    assert all(w.category is UserWarning for w in caught)
    assert_same(ours, theirs)


def test_mean_of_nothing_is_nan_quietly(device):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(gg.zeros(0, device=device).mean(), torch.zeros(0).mean())
        assert_same(gg.zeros(0, 3, device=device).mean(0), torch.zeros(0, 3).mean(0))
        half = gg.zeros(0, 2, dtype=gg.float16, device=device).mean(0)
        assert_same(half, torch.zeros(0, 2, dtype=torch.float16).mean(0))


@pytest.mark.parametrize("dim", [0, 1])
def test_median_index_among_ties_is_torchs(dim, device):
    """The partition path (no NaN) picks, among equal values, the index a stable sort would
    put at the median's rank, as PyTorch does."""
    values = np.random.default_rng(5).integers(0, 5, (50, 31)).astype(np.float64)
    x, xt = both(values, device, requires_grad=False)
    ours, theirs = x.median(dim), xt.median(dim)
    assert_same_values_and_indices(ours, theirs)
    ints = gg.tensor(values.astype(np.int64), device=device).median(dim)
    np.testing.assert_array_equal(host(ints.indices), theirs.indices.numpy())
