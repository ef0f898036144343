"""The CUDA backend's own logic, run on the host: ``CupyBackend``'s methods over NumPy made
to behave as CuPy does where the GPU run of the test suite found CuPy to differ (issue 15):
``gammaln(-inf)`` is ``-inf``, ``erf`` of float16 comes back wider, ``polygamma`` fails for
a Python int order, ``var`` is NaN without degrees of freedom, ``array`` refuses a string
dtype in its own words, and scatter-adds run on atomics (in no fixed order). Each test
fails on the backend as it was before these fixes; the GPU runs the same methods on CuPy
through the ``device`` tests (tests/test_special.py, tests/test_elementwise_more.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gpugrad.backends import array_backend
from gpugrad.backends.cupy_backend import CupyBackend, sorted_segment_add
from gpugrad.backends.device import Device
from gpugrad.backends.kernels import special as cpu_special

torch = pytest.importorskip("torch")

SPECIAL_POINTS = [0.0, -0.0, -1.0, -2.0, -2.5, -1e20, math.inf, -math.inf, math.nan, 1.0, 2.0, 0.5]


class _AtomicUfunc:
    """A NumPy ufunc whose ``at`` (CuPy's atomic scatter) is recorded."""

    def __init__(self, ufunc: np.ufunc, calls: list) -> None:
        self.ufunc, self.calls = ufunc, calls

    def __call__(self, *args, **kwargs):
        return self.ufunc(*args, **kwargs)

    def at(self, out, positions, values) -> None:
        self.calls.append((self.ufunc.__name__, out.dtype))
        self.ufunc.at(out, positions, values)


class CupyLikeNumpy:
    """NumPy where CuPy differs in ways the CUDA backend must handle."""

    def __init__(self) -> None:
        self.atomic_calls: list = []
        self.add = _AtomicUfunc(np.add, self.atomic_calls)
        self.maximum = _AtomicUfunc(np.maximum, self.atomic_calls)
        self.minimum = _AtomicUfunc(np.minimum, self.atomic_calls)

    def __getattr__(self, name):
        return getattr(np, name)

    def bincount(self, *args, **kwargs):
        self.atomic_calls.append(("bincount", None))
        return np.bincount(*args, **kwargs)

    @staticmethod
    def var(x, axis=None, ddof=0, keepdims=False):
        """CuPy's: NaN wherever ``n - ddof <= 0`` (NumPy and PyTorch: the squares over 0)."""
        out = np.var(x, axis=axis, ddof=0, keepdims=keepdims)
        n = x.size if axis is None else math.prod(x.shape[a] for a in np.atleast_1d(axis))
        return out * np.nan if n - ddof <= 0 else np.var(x, axis=axis, ddof=ddof)

    @staticmethod
    def array(data, dtype=None, copy=True):
        host = np.asarray(data)
        if dtype is None and host.dtype.kind not in "biuf":
            raise ValueError(f"Unsupported dtype {host.dtype}")
        return np.array(data, dtype=dtype, copy=copy)


class CupySpecialLike:
    """``cupyx.scipy.special`` as the GPU run found it, over gpugrad's host functions."""

    @staticmethod
    def erf(x):
        return cpu_special.erf(x.astype(np.float64))  # float16 in, float64 out

    @staticmethod
    def gammaln(x):
        return np.where(x == -np.inf, -np.inf, cpu_special.gammaln(x))

    digamma = staticmethod(cpu_special.digamma)
    erfc = staticmethod(cpu_special.erfc)

    @staticmethod
    def zeta(s, q):
        (order,) = np.unique(s)  # cupyx's is elementwise; the backend passes one order
        return cpu_special.zeta(float(order), q)

    @staticmethod
    def polygamma(n, x):
        if isinstance(n, int):  # cupyx: ``n == 0`` on a scalar left by broadcast_arrays
            raise AttributeError("'bool' object has no attribute 'astype'")
        raise AssertionError("not reached")


def cupy_like_backend() -> CupyBackend:
    backend = CupyBackend.__new__(CupyBackend)
    array_backend.ArrayBackend.__init__(backend, CupyLikeNumpy(), Device("cuda", 0))
    backend.special = CupySpecialLike()
    return backend


def _torch(values, dtype):
    return torch.tensor(np.asarray(values, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lgamma_is_inf_at_minus_inf_as_pytorch(dtype):
    x = np.array(SPECIAL_POINTS, dtype=dtype)
    got = cupy_like_backend().lgamma(x)
    want = torch.lgamma(_torch(x, dtype)).numpy()
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    infinite = np.isinf(want)
    np.testing.assert_array_equal(got[infinite], want[infinite])
    np.testing.assert_allclose(got[~infinite], want[~infinite], rtol=1e-6)


def test_erf_of_float16_stays_float16():
    x = np.array([-math.inf, -2.0, -0.5, 0.0, 0.3, 1.0, 5.0, math.inf, math.nan], np.float16)
    got = cupy_like_backend().erf(x)
    want = torch.erf(_torch(x, np.float16)).numpy()
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_polygamma_of_a_python_int_order_as_pytorch(n):
    x = np.concatenate([np.linspace(0.1, 20, 30), np.linspace(-4.7, -0.3, 9)])
    x = np.concatenate([x, [0.0, -1.0, -3.0, -math.inf, math.nan]])
    got = cupy_like_backend().polygamma(n, x)
    want = torch.polygamma(n, _torch(x, np.float64)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert cupy_like_backend().polygamma(2, x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "values, dim, correction",
    [([3.0], None, 1), ([1.0, 2.0, 4.0, 8.0], None, 6), ([[1.0, 2.0], [4.0, 4.0]], 0, 2),
     ([[2.0, 2.0]], 1, 2), ([[1.0, 5.0]], 0, 1)],
)  # fmt: skip
def test_variance_without_degrees_of_freedom_is_pytorchs_inf_or_nan(values, dim, correction):
    backend = cupy_like_backend()
    x = np.array(values)
    got = backend.var(x, dim, correction)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        want = torch.tensor(values).var(dim=dim, correction=correction).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(backend.std(x, dim, correction), np.sqrt(want))


def test_a_string_is_refused_with_gpugrads_type_error_before_cupy_sees_it():
    with pytest.raises(TypeError, match="can't convert data of dtype <U3 to a gpugrad tensor"):
        cupy_like_backend().from_data(np.array("abc"))


# --- scatter-adds in a fixed order -------------------------------------------------------
rng = np.random.default_rng(15)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("count, size", [(0, 4), (1, 3), (50, 3), (4000, 17), (999, 2000)])
def test_sorted_segment_add_is_bincount(dtype, count, size):
    positions = rng.integers(0, size, count)
    values = rng.standard_normal(count).astype(dtype)
    got = sorted_segment_add(np, size, positions, values)
    want = np.bincount(positions, weights=values.astype(np.float64), minlength=size)
    assert got.dtype == dtype and got.shape == (size,)
    rtol = {np.float16: 1e-3, np.float32: 1e-6, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(got, want.astype(dtype), rtol=rtol, atol=rtol)


def test_float_scatter_adds_use_no_atomics_and_integers_do():
    backend = cupy_like_backend()
    xp = backend.xp
    positions = rng.integers(0, 5, 40)
    values = rng.standard_normal(40)
    got = backend.add_at_flat(5, positions, values)
    np.testing.assert_allclose(got, np.bincount(positions, weights=values, minlength=5))
    g = rng.standard_normal((6, 3))
    key = (np.array([0, 2, 2, 0, 1, 2]),)
    out = np.zeros((4, 3))
    backend._scatter_add(out, key, g)
    expected = np.zeros((4, 3))
    np.add.at(expected, key, g)
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    pairs = (np.array([0, 2, 2, 0, 3]), np.array([1, 1, 1, 1, 0]))  # two index arrays
    out = np.zeros((4, 3))
    backend._scatter_add(out, pairs, g[:5, 0])
    expected = np.zeros((4, 3))
    np.add.at(expected, pairs, g[:5, 0])
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    along = backend.scatter_add_along(g, np.array([[0, 0, 1]] * 6), 1, (6, 3))
    np.testing.assert_allclose(along, np.stack([g[:, 0] + g[:, 1], g[:, 2], 0 * g[:, 0]], 1))
    assert xp.atomic_calls == []
    counts = backend.add_at_flat(5, positions, np.ones(40, dtype=np.int64))
    np.testing.assert_array_equal(counts, np.bincount(positions, minlength=5))
    assert xp.atomic_calls == [("add", np.dtype(np.int64))]


def test_scatter_amax_and_amin_use_ufunc_at_not_the_deprecated_cupyx_calls():
    """float32 (float64 goes through the host: CuPy's atomics round it through float32)."""
    backend = cupy_like_backend()
    x = np.zeros((2, 3), dtype=np.float32)
    index = np.array([[0, 0, 2], [1, 1, 1]])
    src = np.arange(6.0, dtype=np.float32).reshape(2, 3) - 2
    for reduce in ("amax", "amin"):
        got = backend.scatter_reduce(x, 1, index, src, reduce, include_self=True)
        want = torch.zeros(2, 3).scatter_reduce(
            1, torch.tensor(index), torch.tensor(src), reduce, include_self=True
        )
        np.testing.assert_array_equal(got, want.numpy())
    assert [name for name, _ in backend.xp.atomic_calls] == ["maximum", "minimum"]
