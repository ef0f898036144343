"""Special functions: values at the edges of their domains (tails, infinities, NaN) and
in every float dtype, against the C library and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg

EDGES = [-math.inf, -30.0, -6.0, -5.9, -2.0, -1e-300, 0.0, 1e-8, 0.5, 1.9999, 2.0, 5.5, 9.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_erf_at_the_edges(device, dtype):
    x = gg.tensor(EDGES + [math.inf, math.nan], dtype=getattr(gg, dtype), device=device)
    got = gg.erf(x).cpu().numpy()
    want = np.array([math.erf(v) for v in x.cpu().numpy().astype(np.float64)])
    tolerance = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-14}[dtype]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want.astype(dtype), rtol=tolerance, atol=tolerance)


def test_erf_matches_torch_and_its_gradient_is_the_gaussian(device):
    torch = pytest.importorskip("torch")
    values = np.linspace(-4, 4, 41)
    x = gg.tensor(values, device=device, requires_grad=True)
    gg.erf(x).sum().backward()
    xt = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    torch.erf(xt).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert x.erf().grad_fn.name() == "ErfBackward0"
    assert gg.erf(gg.tensor([0, 3], device=device)).dtype == gg.float32


# --- erfc, erfinv, lgamma, digamma: dense grids with tails, against mpmath and PyTorch ------
def _grid() -> np.ndarray:
    """Dense in [-10, 30], logarithmic out to ±1e300, and the awkward points: roots of
    lgamma (1, 2) and digamma (1.4616...), poles, zeros of both signs, infinities, NaN."""
    return np.concatenate(
        [
            np.linspace(-10, 30, 2001),
            np.geomspace(1e-300, 1e300, 121),
            -np.geomspace(1e-8, 1e8, 61) - 0.3,
            [1 + 1e-9, 1 - 1e-9, 2 + 1e-9, 2 - 1e-9, 1.4616321449683622, 0.5, 26.5, 27.5],
        ]
    )


SPECIAL_POINTS = [0.0, -0.0, -1.0, -2.0, -1e20, math.inf, -math.inf, math.nan, 1.0, 2.0]


def _assert_relative(got: np.ndarray, want: np.ndarray, tolerance: float) -> None:
    finite = np.isfinite(want)
    assert np.array_equal(np.isfinite(got), finite)
    error = np.abs(got[finite] - want[finite]) / np.maximum(np.abs(want[finite]), 1e-300)
    assert error.max() <= tolerance, (error.max(), got[finite][error.argmax()])


@pytest.mark.parametrize(
    "name,reference,tolerance",
    [
        ("lgamma", "loggamma", 1e-13),
        ("erfc", "erfc", 1e-14),
        ("digamma", "digamma", 1e-13),
    ],
)
def test_special_functions_against_mpmath_in_float64(name, reference, tolerance):
    """Relative accuracy over the whole range (digamma away from its root, where every
    recurrence-based algorithm, PyTorch's included, loses relative accuracy)."""
    mpmath = pytest.importorskip("mpmath")
    x = _grid()
    if name == "erfc":
        x = x[np.abs(x) < 1e4]
    if name == "digamma":
        x = x[(np.abs(x - 1.4616321449683622) > 0.05) & ~((x <= 0) & (x == np.floor(x)))]
        x = x[(x > 0) | (np.abs(x - np.round(x)) > 1e-3)]  # near poles: conditioning
    if name == "lgamma":
        x = x[(x > 0) | (np.abs(x - np.round(x)) > 1e-3)]
    with mpmath.workdps(40):
        want = np.array(
            [
                float(mpmath.re(getattr(mpmath, reference)(v)))
                if name == "erfc" or not (v <= 0 and v == math.floor(v))
                else math.inf
                for v in x
            ]
        )
    got = getattr(gg, name)(gg.tensor(x, dtype=gg.float64)).numpy()
    _assert_relative(got, want, tolerance)


def test_erfinv_against_mpmath_including_the_tails():
    mpmath = pytest.importorskip("mpmath")
    u = np.concatenate(
        [
            np.linspace(-0.999, 0.999, 1999),
            1 - np.geomspace(2**-53, 0.5, 60),
            -1 + np.geomspace(2**-53, 0.5, 60),
            [1e-300, -1e-300],
        ]
    )
    with mpmath.workdps(40):
        want = np.array([float(mpmath.erfinv(v)) for v in u])
    _assert_relative(gg.erfinv(gg.tensor(u, dtype=gg.float64)).numpy(), want, 1e-14)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfc", "erfinv"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_special_functions_match_torch_at_special_points_and_on_a_grid(device, name, dtype):
    values = np.concatenate([_grid(), SPECIAL_POINTS, [1.5, -1.5, 0.999999, -1.0, 1.0]])
    if name == "erfinv":
        values = np.concatenate([np.linspace(-1, 1, 2001), SPECIAL_POINTS, [1.5, -1.5]])
    if name == "digamma":  # away from the root and the poles, where both lose digits
        near_root = np.abs(values - 1.4616321449683622) < 0.05
        with np.errstate(invalid="ignore"):  # inf - inf in the grid's special points
            near_pole = (
                (values < 0)
                & (np.abs(values - np.round(values)) < 1e-3)
                & (values != np.round(values))
            )
        values = values[~near_root & ~near_pole]
    ours = getattr(gg, name)(gg.tensor(values, dtype=getattr(gg, dtype), device=device))
    theirs = getattr(torch_module(), name)(
        torch_module().tensor(values, dtype=getattr(torch_module(), dtype))
    )
    got, want = ours.cpu().numpy(), theirs.numpy()
    assert got.dtype == want.dtype
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)])
    # float32: PyTorch computes in float32 (we round float64 results), so allow its error
    rtol, atol = {"float32": (2e-6, 5e-7), "float64": (1e-12, 1e-300)}[dtype]
    finite = np.isfinite(want) & (np.abs(want) > 1e-30)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=atol)


def torch_module():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["erfc", "erfinv", "lgamma", "digamma"])
def test_special_gradients_match_torch(device, name):
    torch = torch_module()
    values = {"erfinv": [-0.999, -0.5, 0.0, 0.3, 0.9999], "erfc": [-3.0, 0.0, 2.0, 10.0, 26.0]}.get(
        name, [0.1, 0.7, 1.0, 2.5, 7.0, -0.5, -2.3]
    )
    x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    getattr(gg, name)(x).sum().backward()
    getattr(torch, name)(xt).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-12)
    assert getattr(gg, name)(x).grad_fn.name() == getattr(torch, name)(xt).grad_fn.name()


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv"])
def test_special_functions_second_derivatives(name):
    domain = {"erfinv": (-0.95, 0.95)}.get(name, (0.3, 4.0))
    x = gg.tensor(np.linspace(*domain, 7), dtype=gg.float64, requires_grad=True)
    fn = getattr(gg, name)
    assert gg.autograd.gradcheck(fn, (x,))
    assert gg.autograd.gradgradcheck(fn, (x,))
