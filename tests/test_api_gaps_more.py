"""PyTorch names gpugrad lacked, composed from its ops (helper "out", session 5): each
compared with PyTorch (values, dtypes, shapes, errors) and, where differentiable, its
gradient checked in float64; and ``Tensor.untyped_storage()``."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def _pair(values, device, dtype="float64"):
    array = np.asarray(values)
    ours = gg.tensor(array, device=device, dtype=getattr(gg, dtype))
    theirs = torch.tensor(array, dtype=getattr(torch, dtype))
    return ours, theirs


def _same(ours, theirs, tol=1e-12):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b, tol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).rpartition(".")[2] == str(theirs.dtype).rpartition(".")[2]
    np.testing.assert_allclose(
        ours.cpu().numpy(), theirs.numpy(), rtol=tol, atol=tol, equal_nan=True
    )


X = [[-1.5, 0.0, 2.0, -0.0], [0.25, 3.0, -2.5, 1.0]]
Y = [[1.0, -1.0, -2.0, 3.0], [0.5, 2.0, float("nan"), -0.0]]
P = [[0.2, 0.0, 1.0, 0.5], [0.9, 0.1, 0.3, 0.7]]

ELEMENTWISE = {
    "absolute": (X,),
    "sgn": (X,),
    "positive": (X,),
    "deg2rad": (X,),
    "rad2deg": (X,),
    "signbit": (X,),
    "sinc": (X,),
    "logit": (P,),
    "multiply": (X, Y),
    "subtract": (X, Y),
    "divide": (X, Y),
    "true_divide": (X, Y),
    "greater_equal": (X, Y),
    "less_equal": (X, Y),
    "not_equal": (X, Y),
    "copysign": (X, Y),
    "heaviside": (X, Y),
    "logaddexp2": (X, Y),
    "xlogy": ([[0.0, 1.0, 2.0, 0.0], [0.0, 3.0, 1.0, 2.0]], [[0.0, 3.0, 0.5, 2.0], Y[1]]),
    "float_power": (X, [[2.0, 3.0, 0.5, 2.0], [1.0, -1.0, 2.0, 0.0]]),
    "addcmul": (X, Y, P),
    "addcdiv": (X, P, [[1.0, 2.0, 4.0, 8.0], [0.5, 0.25, 2.0, 1.0]]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_names_as_pytorch(name, device):
    pairs = [_pair(v, device) for v in ELEMENTWISE[name]]
    ours = getattr(gg, name)(*(p[0] for p in pairs))
    theirs = getattr(torch, name)(*(p[1] for p in pairs))
    _same(ours, theirs)


def test_elementwise_options_and_numbers(device):
    x, tx = _pair(P, device)
    _same(gg.logit(x, eps=0.1), torch.logit(tx, eps=0.1))
    _same(gg.xlogy(2, x), torch.xlogy(2, tx))
    _same(gg.copysign(x, -1), torch.copysign(tx, -1))
    _same(gg.float_power(x, 2), torch.float_power(tx, 2))
    _same(gg.addcmul(x, x, x, value=-2), torch.addcmul(tx, tx, tx, value=-2))
    _same(gg.addcdiv(x, x, x + 1, value=0.5), torch.addcdiv(tx, tx, tx + 1, value=0.5))
    _same(gg.clamp_min(x, 0.3), torch.clamp_min(tx, 0.3))
    _same(x.clamp_max(0.3), tx.clamp_max(0.3))
    i, ti = _pair([[1, 2], [3, 4]], device, "int64")
    for name in ("deg2rad", "rad2deg", "sinc", "logit"):
        _same(getattr(gg, name)(i), getattr(torch, name)(ti), tol=1e-6)  # default float
    _same(gg.float_power(i, 2), torch.float_power(ti, 2))
    _same(gg.signbit(i - 2), torch.signbit(ti - 2))
    assert gg.positive(x) is x
    b, tb = _pair([True, False], device, "bool")
    with pytest.raises(RuntimeError) as ours:
        gg.positive(b)
    with pytest.raises(RuntimeError) as theirs:
        torch.positive(tb)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented"):
        gg.heaviside(x, gg.ones(1, dtype=gg.float32, device=device))


def test_inplace_forms_as_pytorch(device):
    for name, args in (
        ("addcmul_", (P, P)),
        ("addcdiv_", (P, [[1.0, 2.0, 4.0, 8.0], [0.5, 0.25, 2.0, 1.0]])),
        ("clamp_min_", (0.4,)),
        ("clamp_max_", (0.4,)),
        ("deg2rad_", ()),
        ("logit_", ()),
        ("xlogy_", (P,)),
        ("copysign_", (Y,)),
    ):
        x, tx = _pair(P, device)
        pairs = [_pair(a, device) if isinstance(a, list) else (a, a) for a in args]
        assert getattr(x, name)(*(p[0] for p in pairs)) is x
        getattr(tx, name)(*(p[1] for p in pairs))
        _same(x, tx)


GRADIENTS = {
    "logit": lambda x, y: gg.logit(x * 0.25 + 0.5),
    "xlogy": lambda x, y: gg.xlogy(x, y.abs() + 0.5),
    "sinc": lambda x, y: gg.sinc(x),
    "copysign": lambda x, y: gg.copysign(x, y),
    "logaddexp2": lambda x, y: gg.logaddexp2(x, y),
    "float_power": lambda x, y: gg.float_power(x.abs() + 0.5, y),
    "addcmul": lambda x, y: gg.addcmul(x, y, x, value=0.5),
    "addcdiv": lambda x, y: gg.addcdiv(x, y, x.abs() + 1, value=2),
    "deg2rad": lambda x, y: gg.deg2rad(x),
    "diff": lambda x, y: gg.diff(x, 2, dim=0),
    "rot90": lambda x, y: gg.rot90(x, 3),
    "take": lambda x, y: gg.take(x, gg.tensor([[0, 5], [3, 3]], device=x.device)),
    "tensor_split": lambda x, y: gg.tensor_split(x, 2, dim=1)[1],
    "aminmax": lambda x, y: gg.aminmax(x, dim=1).max,
    "addr": lambda x, y: gg.addr(x, y[:, 0], y[0], beta=0.5, alpha=2),
    "matrix_power": lambda x, y: gg.matrix_power(x[:, :3] + 3 * gg.eye(3, device=x.device), -2),
    "logdet": lambda x, y: gg.logdet(x[:, :3] + 3 * gg.eye(3, device=x.device)),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients(name, device):
    rng = np.random.default_rng(0)
    x = gg.tensor(rng.uniform(-1, 1, (3, 4)), device=device, requires_grad=True)
    y = gg.tensor(rng.uniform(-1, 1, (3, 4)), device=device, requires_grad=True)
    assert gg.autograd.gradcheck(GRADIENTS[name], (x, y))


def test_reduce_and_shape_names_as_pytorch(device):
    a = np.arange(24.0).reshape(2, 3, 4) - 7.5
    x, tx = _pair(a, device)
    _same(gg.aminmax(x), torch.aminmax(tx))
    ours, theirs = gg.aminmax(x, dim=1, keepdim=True), torch.aminmax(tx, dim=1, keepdim=True)
    _same(ours.min, theirs.min) and _same(ours.max, theirs.max)
    assert type(ours).__name__ == "aminmax" and ours._fields == ("min", "max")
    for name, args in (
        ("ravel", ()),
        ("fliplr", ()),
        ("flipud", ()),
        ("swapdims", (0, 2)),
        ("rot90", ()),
        ("rot90", (2,)),
        ("rot90", (-1, (1, 2))),
        ("rot90", (4,)),
        ("diagflat", ()),
        ("diff", ()),
        ("diff", (2, 1)),
    ):
        _same(getattr(gg, name)(x, *args), getattr(torch, name)(tx, *args))
    _same(gg.diagflat(x[0, 0], 1), torch.diagflat(tx[0, 0], 1))
    _same(
        gg.diff(x, dim=0, prepend=x[:1], append=x[1:]),
        torch.diff(tx, dim=0, prepend=tx[:1], append=tx[1:]),
    )
    b, tb = _pair([True, False, False, True], device, "bool")
    _same(gg.diff(b), torch.diff(tb))
    for shape in ((), (3,), (2, 3), (2, 3, 4)):
        s, ts = _pair(np.ones(shape), device)
        for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
            _same(getattr(gg, name)(s), getattr(torch, name)(ts))
    one, tone = _pair(1.0, device)
    _same(gg.atleast_2d(one, x), torch.atleast_2d(tone, tx))
    _same(gg.atleast_1d([one]), torch.atleast_1d([tone]))
    for lib, t in ((gg, x), (torch, tx)):
        with pytest.raises(RuntimeError, match="Input must be >= 2-d."):
            lib.fliplr(t[0, 0])
    view = gg.ravel(x)
    assert view.data_ptr() == x.data_ptr()  # a view where the layout allows


def test_index_names_as_pytorch(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x, tx = _pair(a, device)
    idx, tidx = _pair([[0, 5], [23, 7]], device, "int64")
    _same(gg.take(x, idx), torch.take(tx, tidx))
    for arg in (3, 2, 5, [1, 3], [0, 10], [2, 1]):
        _same(gg.tensor_split(x, arg, dim=2), torch.tensor_split(tx, arg, dim=2))
    _same(gg.hsplit(x, 3), torch.hsplit(tx, 3))
    _same(gg.vsplit(x, [1]), torch.vsplit(tx, [1]))
    _same(gg.dsplit(x, 2), torch.dsplit(tx, 2))
    _same(gg.hsplit(x[0, 0], 2), torch.hsplit(tx[0, 0], 2))
    for lib, t in ((gg, x), (torch, tx)):
        with pytest.raises(RuntimeError, match="is not divisible by the split_size 2!"):
            lib.hsplit(t, 2)
    e, te = _pair([[1, 2, 3], [4, 5, 6]], device, "int64")
    s, ts = _pair([2, 5, 9], device, "int64")
    _same(gg.isin(e, s), torch.isin(te, ts))
    _same(gg.isin(e, s, invert=True), torch.isin(te, ts, invert=True))
    _same(gg.isin(e, 4), torch.isin(te, 4))


def test_linalg_names_as_pytorch(device):
    rng = np.random.default_rng(1)
    a, ta = _pair(rng.standard_normal((2, 3, 3)), device)
    for n in (0, 1, 2, 3, 5, -1, -3):
        _same(gg.matrix_power(a, n), torch.matrix_power(ta, n), tol=1e-9)
    assert gg.matrix_power(a, 1) is not a
    _same(gg.logdet(a), torch.logdet(ta), tol=1e-12)
    z, tz = _pair(np.zeros((2, 2)), device)
    _same(gg.logdet(z), torch.logdet(tz))
    v, tv = _pair(rng.standard_normal(3), device)
    w, tw = _pair(rng.standard_normal(4), device)
    m, tm = _pair(rng.standard_normal((3, 4)), device)
    _same(gg.vdot(v, v), torch.vdot(tv, tv))
    for beta, alpha in ((1, 1), (0.5, 2), (0, 1)):
        _same(
            gg.addr(m, v, w, beta=beta, alpha=alpha), torch.addr(tm, tv, tw, beta=beta, alpha=alpha)
        )
    nan, tnan = _pair(np.full((3, 4), np.nan), device)
    _same(gg.addr(nan, v, w, beta=0), torch.addr(tnan, tv, tw, beta=0))  # beta=0 ignores NaN


def test_factories_and_dtype_queries_as_pytorch(device):
    for args, kwargs in (
        ((0, 3, 4), {}),
        ((0, 3, 4), {"base": 2}),
        ((0, 3, 4), {"dtype": "int64"}),
    ):
        kw_ours = {k: getattr(gg, v) if k == "dtype" else v for k, v in kwargs.items()}
        kw_theirs = {k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()}
        _same(
            gg.logspace(*args, device=device, **kw_ours), torch.logspace(*args, **kw_theirs), 1e-6
        )
    out = gg.empty(0, device=device)
    assert gg.logspace(0, 1, 3, out=out) is out
    _same(out, torch.logspace(0, 1, 3))
    for args in ((3, 3), (2, 4, 1), (4, 2, -1), (3, 3, 5), (0, 3)):
        _same(gg.tril_indices(*args, device=device), torch.tril_indices(*args))
        _same(gg.triu_indices(*args, device=device), torch.triu_indices(*args))
    i8, ti8 = _pair([1], device, "int8")
    f, tf = _pair(1.0, device, "float64")
    for a, b, ta, tb in (
        (i8, 300, ti8, 300),
        (i8, f, ti8, tf),
        (1, 2.0, 1, 2.0),
        (True, 1, True, 1),
        (2.5, i8, 2.5, ti8),
    ):
        assert (
            str(gg.result_type(a, b)).rpartition(".")[2]
            == str(torch.result_type(ta, tb)).rpartition(".")[2]
        )
    names = ("uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "bool")
    for a in names:
        for b in names:
            ours = gg.promote_types(getattr(gg, a), getattr(gg, b))
            assert (
                str(ours).rpartition(".")[2]
                == str(torch.promote_types(getattr(torch, a), getattr(torch, b))).rpartition(".")[2]
            )
            assert gg.can_cast(getattr(gg, a), getattr(gg, b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)
            )
    assert gg.is_complex(f) is False and gg.is_nonzero(f) is True
    for values in ([], [1.0, 2.0]):
        ours, theirs = _pair(values, device)
        with pytest.raises(RuntimeError) as mine:
            gg.is_nonzero(ours)
        with pytest.raises(RuntimeError) as pytorchs:
            torch.is_nonzero(theirs)
        assert str(mine.value) == str(pytorchs.value)


def test_tensor_queries_as_pytorch(device):
    for dtype in ("float32", "int64", "uint8", "bool", "int8"):
        ours, theirs = _pair([1, 0], device, dtype)
        assert ours.is_signed() == theirs.is_signed()
        assert ours.ndimension() == theirs.ndimension() == 1
        assert ours.is_same_size(ours) and not ours.is_same_size(ours[:1])
    assert gg.ones(2).get_device() == torch.ones(2).get_device() == -1
    if device == "cuda":
        assert gg.ones(2, device=device).get_device() == 0


def test_untyped_storage_as_pytorch(device):
    values = [1.0, 2.0, -3.5]
    ours, theirs = _pair(values, device, "float32")
    storage, their_storage = ours.untyped_storage(), theirs.untyped_storage()
    assert storage.nbytes() == their_storage.nbytes() == 12
    assert storage.size() == len(storage) == 12 and storage.element_size() == 1
    assert storage.tolist() == their_storage.tolist()
    assert storage[3] == their_storage[3] and storage[-1] == their_storage[-1]
    assert str(storage.device) == device.split(":")[0] or str(storage.device).startswith(device)
    if device == "cpu":
        assert repr(storage) == repr(their_storage).replace("torch.", "gpugrad.")
    # views, reshapes and detached aliases share it; a clone does not
    for alias in (ours[1:], ours.view(3, 1), ours.detach(), ours[::2]):
        assert alias.untyped_storage().data_ptr() == storage.data_ptr()
        assert alias.untyped_storage().nbytes() == 12
    assert ours[1:].data_ptr() - storage.data_ptr() == 4
    assert ours.clone().untyped_storage().data_ptr() != storage.data_ptr()
    assert ours.storage().untyped().nbytes() == 12
    scalar = gg.tensor(3.0, device=device) * 2  # a 0-d result
    assert scalar.untyped_storage().nbytes() == 4
    assert scalar.detach().untyped_storage().data_ptr() == scalar.untyped_storage().data_ptr()
    empty, their_empty = _pair(np.zeros(0, dtype=np.float32), device, "float32")
    assert empty.untyped_storage().nbytes() == 0
    if device == "cpu":
        assert repr(empty.untyped_storage()) == repr(their_empty.untyped_storage()).replace(
            "torch.", "gpugrad."
        )
    with pytest.raises(IndexError):
        storage[12]


def test_real_dtype_queries_and_views_as_pytorch(device):
    x, tx = _pair([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], device)
    for name in ("conj", "resolve_conj", "resolve_neg", "real"):
        assert getattr(gg, name)(x) is x and getattr(torch, name)(tx) is tx
    assert x.real is x
    _same(gg.isreal(x), torch.isreal(tx))
    assert x.is_conj() is tx.is_conj() is False and gg.is_conj(x) is False
    assert x.is_cpu == (device == "cpu")
    _same(x.mH, tx.mH)
    _same(x.H, tx.H)
    b, tb = _pair(np.arange(24.0).reshape(2, 3, 4), device)
    _same(b.mH, tb.mH)
    for t in (x[0], tx[0]):
        with pytest.raises(RuntimeError, match="tensor.H is only supported on matrices"):
            _ = t.H
        with pytest.raises(RuntimeError, match="tensor.mH is only supported on matrices"):
            _ = t.mH
    for dim, index in ((0, 1), (1, -1), (2, 3)):
        _same(gg.select(b, dim, index), torch.select(tb, dim, index))
        _same(b.select(dim, index), tb.select(dim, index))
    assert gg.select(b, 0, 1).data_ptr() == b[1].data_ptr()  # a view
    with pytest.raises(IndexError) as ours:
        gg.select(b, 1, 5)
    with pytest.raises(IndexError) as theirs:
        torch.select(tb, 1, 5)
    assert str(ours.value) == str(theirs.value)
    for name in ("byte", "char", "short"):
        _same(getattr(x, name)(), getattr(tx, name)())


def test_statistics_and_block_names_as_pytorch(device):
    a = [[0.0, 1.0, 2.0, 5.0], [2.0, 1.0, 0.5, -1.0], [1.0, 1.5, 3.0, 0.0]]
    x, tx = _pair(a, device)
    fw, tfw = _pair([1, 2, 1, 3], device, "int64")
    aw, taw = _pair([0.5, 1.0, 2.0, 1.0], device)
    _same(gg.cov(x), torch.cov(tx))
    _same(gg.cov(x, correction=0), torch.cov(tx, correction=0))
    _same(gg.cov(x, fweights=fw), torch.cov(tx, fweights=tfw))
    _same(gg.cov(x, fweights=fw, aweights=aw), torch.cov(tx, fweights=tfw, aweights=taw))
    _same(gg.cov(x[0]), torch.cov(tx[0]))
    _same(gg.corrcoef(x), torch.corrcoef(tx))
    i, ti = _pair([[1, 2, 4], [3, 1, 0]], device, "int64")
    _same(gg.cov(i), torch.cov(ti), tol=1e-6)
    one, tone = _pair([[5.0]], device)
    row, trow = _pair([1.0, 2.0], device)
    _same(gg.block_diag(x, one, row), torch.block_diag(tx, tone, trow))
    _same(gg.block_diag(i, x[:1]), torch.block_diag(ti, tx[:1]))
    p, tp = _pair([1, 2], device, "int64")
    q, tq = _pair([3, 4, 5], device, "int64")
    _same(gg.cartesian_prod(p, q), torch.cartesian_prod(tp, tq))
    _same(gg.cartesian_prod(p), torch.cartesian_prod(tp))
    _same(gg.unflatten(x, 1, (2, 2)), torch.unflatten(tx, 1, (2, 2)))
    g = gg.tensor(np.random.default_rng(2).random((3, 5)), device=device, requires_grad=True)
    assert gg.autograd.gradcheck(gg.cov, (g,))
    assert gg.autograd.gradcheck(gg.corrcoef, (g,))
    assert gg.autograd.gradcheck(lambda t: gg.block_diag(t, t[:1, :2]), (g,))
