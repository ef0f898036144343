"""Special functions NumPy lacks, for the CPU backend's ``special`` namespace (the CUDA
backend uses ``cupyx.scipy.special``, whose names these follow): each takes and returns
NumPy arrays of float16/32/64 (computed in float64, rounded to the input's dtype).

- ``erfc``: ``1 - erf(x)`` below 0.5; above, ``exp(-x*x) * erfcx(x)`` with the scaled
  ``erfcx`` from Chebyshev interpolants (of ``math.erfc`` on [0.5, 2], of ``erf``'s own on
  [2, 6], of the continued fraction in ``1/x**2`` beyond) and ``exp(-x*x)`` split so that
  ``x*x`` is exact.
- ``erfinv``: Winitzki's closed form, then two Halley steps on ``erf`` (``erfc`` in the
  tails, where ``1 - |x|`` is exact).
- ``gammaln`` (``lgamma``): the Lanczos approximation (g = 7, 9 terms), its Taylor series
  in ``x - 1`` near the roots 1 and 2 (relative accuracy where the value is near 0), and
  the reflection formula below 0.5.
- ``digamma``: PyTorch's algorithm (recurrence up to 10, then the asymptotic series;
  reflection for negative x), so results agree with PyTorch's to the last bits.
- ``zeta(s, q)`` (Hurwitz) and ``polygamma(n, x)`` for ``n >= 2``: the Euler-Maclaurin
  summation of Cephes, which PyTorch uses too.

Constants are computed at import from their definitions (Bernoulli numbers as fractions,
Chebyshev coefficients from reference values), except the published Lanczos coefficients.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy

from .erf import _END, _FAR, _SPLIT, _clenshaw, _interpolate, _truncate, erf

__all__ = ["digamma", "erf", "erfc", "erfinv", "gammaln", "polygamma", "zeta"]

_F64 = numpy.dtype(numpy.float64)
_EPS = 2.0**-53


def _as_float64(x) -> tuple[numpy.ndarray, numpy.dtype]:
    x = numpy.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else _F64
    return x.astype(_F64, copy=False), dtype


def _bernoulli(count: int) -> list[Fraction]:
    """B_0 .. B_{count-1} (with B_1 = -1/2), exactly."""
    b = [Fraction(0)] * count
    b[0] = Fraction(1)
    for m in range(1, count):
        b[m] = -sum(math.comb(m + 1, k) * b[k] for k in range(m)) / (m + 1)
    return b


_B = _bernoulli(30)


# --- erfc ---------------------------------------------------------------------------------
def _erfcx_reference(x: float) -> float:
    """``erfc(x) * exp(x*x)`` for ``x >= 6`` from its continued fraction (converged)."""
    t = x
    for k in range(200, 0, -1):
        t = x + (k / 2) / t
    return 1 / (math.sqrt(math.pi) * t)


_ERFCX_LOW = 0.5
_ERFCX_NEAR = _truncate(
    _interpolate(lambda x: math.erfc(x) * math.exp(x * x), _ERFCX_LOW, _SPLIT, 40), 1e-17, _F64
)
_ERFCX_MIDDLE = _truncate(_FAR, 1e-17, _F64)
_TAIL_U = 1 / (_END * _END)
_ERFCX_TAIL = _truncate(
    _interpolate(
        lambda u: _erfcx_reference(1 / math.sqrt(u)) * math.sqrt(math.pi) / math.sqrt(u),
        0.0,
        _TAIL_U,
        30,
    ),
    1e-17,
    _F64,
)
_ERFC_ZERO = 27.3  # erfc underflows to 0 in float64 beyond


def _chebyshev(x: numpy.ndarray, a: float, b: float, c: numpy.ndarray) -> numpy.ndarray:
    t = (x - (a + b) / 2) * (2 / (b - a))
    out = numpy.empty_like(t)
    _clenshaw(t, c, out)
    return out


def _exp_minus_square(x: numpy.ndarray) -> numpy.ndarray:
    """``exp(-x*x)`` to 2 ulp: ``x = h + l`` with ``h`` on a 2**-12 grid, so ``h*h`` is
    exact and ``x*x = h*h + l*(x + h)``."""
    h = numpy.floor(x * 4096) / 4096
    return numpy.exp(-h * h) * numpy.exp(-(x - h) * (x + h))


def _erfc64(x: numpy.ndarray) -> numpy.ndarray:
    out = numpy.empty_like(x)
    low = ~(x >= _ERFCX_LOW)  # NaN included
    out[low] = 1 - erf(x[low])
    parts = (
        (
            (x >= _ERFCX_LOW) & (x < _SPLIT),
            lambda v: _chebyshev(v, _ERFCX_LOW, _SPLIT, _ERFCX_NEAR),
        ),
        ((x >= _SPLIT) & (x < _END), lambda v: _chebyshev(v, _SPLIT, _END, _ERFCX_MIDDLE)),
        (
            (x >= _END) & (x < _ERFC_ZERO),
            lambda v: _chebyshev(1 / (v * v), 0.0, _TAIL_U, _ERFCX_TAIL) / (v * math.sqrt(math.pi)),
        ),
    )
    for mask, scaled in parts:
        v = x[mask]
        out[mask] = _exp_minus_square(v) * scaled(v)
    out[x >= _ERFC_ZERO] = 0.0
    return out


def erfc(x) -> numpy.ndarray:
    """``1 - erf(x)`` without cancellation: relative accuracy ~1e-15 up to underflow."""
    xd, dtype = _as_float64(x)
    with numpy.errstate(all="ignore"):
        return _erfc64(numpy.atleast_1d(xd)).reshape(xd.shape).astype(dtype, copy=False)


# --- erfinv -------------------------------------------------------------------------------
_WINITZKI_A = 0.147
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def erfinv(x) -> numpy.ndarray:
    """The inverse of ``erf`` on [-1, 1] (±inf at ±1, NaN outside)."""
    xd, dtype = _as_float64(x)
    xd = numpy.atleast_1d(xd)
    with numpy.errstate(all="ignore"):
        a = numpy.abs(xd)
        one_minus = 1 - a  # exact for a >= 0.5
        log_term = numpy.log(one_minus * (1 + a))
        t = 2 / (math.pi * _WINITZKI_A) + log_term / 2
        y = numpy.sqrt(numpy.sqrt(t * t - log_term / _WINITZKI_A) - t)
        tail = a > 0.5
        middle = ~tail
        residual = numpy.empty_like(y)
        for _ in range(2):  # Halley: cubic convergence from Winitzki's ~2e-3
            residual[tail] = one_minus[tail] - _erfc64(y[tail])
            residual[middle] = erf(y[middle]) - a[middle]
            slope = _TWO_OVER_SQRT_PI * numpy.exp(-y * y)
            step = residual / slope
            y = y - step / (1 + y * step)
        y = numpy.where(a == 1, numpy.inf, numpy.where(a > 1, numpy.nan, y))
        y = numpy.where(a == 0, 0.0, y)
        out = numpy.copysign(y, xd)
    return out.reshape(numpy.shape(x)).astype(dtype, copy=False)


# --- lgamma -------------------------------------------------------------------------------
_LANCZOS_G = 7.0
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)
"""Godfrey's coefficients for g = 7, n = 9 (as published with the Lanczos approximation)."""
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_EULER_GAMMA = 0.57721566490153286061
_ROOT_RADIUS = 0.2


def _lanczos(x: numpy.ndarray) -> numpy.ndarray:
    """``lgamma(x)`` for ``x >= 0.5``."""
    z = x - 1
    series = numpy.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], start=1):
        series += c / (z + i)
    t = z + _LANCZOS_G + 0.5
    return _HALF_LOG_2PI + (z + 0.5) * numpy.log(t) - t + numpy.log(series)


def _lgamma_near_one(z: numpy.ndarray) -> numpy.ndarray:
    """``lgamma(1 + z)`` for ``|z| <= 0.2``: ``-gamma*z + sum_k (-z)**k zeta(k) / k``."""
    out = numpy.zeros_like(z)
    for k in range(len(_ROOT_SERIES) + 1, 1, -1):
        out = (out + _ROOT_SERIES[k - 2]) * z
    return (out - _EULER_GAMMA) * z


def _lgamma64(x: numpy.ndarray) -> numpy.ndarray:
    out = numpy.full_like(x, numpy.nan)  # NaN stays NaN
    big = x >= 0.5
    out[big] = _lanczos(x[big])
    small = x < 0.5
    v = x[small]
    r = v - numpy.round(v)  # sin(pi*v) = ±sin(pi*r), exactly reduced
    sin_pi = numpy.abs(numpy.sin(math.pi * r))
    out[small] = numpy.log(math.pi / sin_pi) - _lanczos(1 - v)
    for root in (1.0, 2.0):
        near = numpy.abs(x - root) <= _ROOT_RADIUS
        z = x[near] - root
        value = _lgamma_near_one(z)
        out[near] = value + numpy.log1p(z) if root == 2.0 else value
    pole = numpy.zeros(x.shape, dtype=bool)
    pole[small] = r == 0
    out[numpy.isinf(x) | pole] = numpy.inf
    return out


def gammaln(x) -> numpy.ndarray:
    """``log|gamma(x)|`` (``inf`` at 0, the negative integers and ±inf)."""
    xd, dtype = _as_float64(x)
    with numpy.errstate(all="ignore"):
        return _lgamma64(numpy.atleast_1d(xd)).reshape(xd.shape).astype(dtype, copy=False)


# --- digamma ------------------------------------------------------------------------------
_PSI_10 = 2.25175258906672110764
_DIGAMMA_SERIES = (
    8.33333333333333333333e-2,
    -2.10927960927960927961e-2,
    7.57575757575757575758e-3,
    -4.16666666666666666667e-3,
    3.96825396825396825397e-3,
    -8.33333333333333333333e-3,
    8.33333333333333333333e-2,
)
"""Cephes' psi coefficients (as in PyTorch's ``calc_digamma``), highest power first."""


def _digamma_positive(x: numpy.ndarray) -> numpy.ndarray:
    result = numpy.zeros_like(x)
    x = x.copy()
    for _ in range(10):
        below = x < 10
        if not below.any():
            break
        result[below] -= 1 / x[below]
        x[below] += 1
    z = 1 / (x * x)
    poly = numpy.zeros_like(x)
    for c in _DIGAMMA_SERIES:
        poly = poly * z + c
    y = numpy.where(x < 1e17, z * poly, 0.0)
    out = result + numpy.log(x) - 0.5 / x - y
    return numpy.where(x == 10, result + _PSI_10, out)


def _digamma64(x: numpy.ndarray) -> numpy.ndarray:
    out = numpy.empty_like(x)
    negative = x < 0
    v = x[negative]
    r = numpy.fmod(v, 1.0)
    out[negative] = _digamma_positive(1 - v) - math.pi / numpy.tan(math.pi * r)
    out[negative & (x == numpy.trunc(x))] = numpy.nan
    rest = ~negative
    out[rest] = _digamma_positive(x[rest])
    zero = x == 0
    out[zero] = numpy.copysign(numpy.inf, -x[zero])
    return out


def digamma(x) -> numpy.ndarray:
    """``d/dx lgamma(x)`` (``-inf`` at +0, ``inf`` at -0, NaN at negative integers)."""
    xd, dtype = _as_float64(x)
    with numpy.errstate(all="ignore"):
        return _digamma64(numpy.atleast_1d(xd)).reshape(xd.shape).astype(dtype, copy=False)


# --- Hurwitz zeta and polygamma -----------------------------------------------------------
_ZETA_A = tuple(float(Fraction(math.factorial(2 * k)) / _B[2 * k]) for k in range(1, 13))
"""(2k)! / B_{2k}: the Euler-Maclaurin coefficients of Cephes' ``zeta`` (12, -720, ...)."""


def _zeta64(s: numpy.ndarray | float, q: numpy.ndarray) -> numpy.ndarray:
    """Cephes' ``zeta(s, q) = sum_k (k + q)**-s`` on float64 1-d ``q`` (``s`` a number or an
    array like ``q``, elementwise): ``inf`` at ``q`` a non-positive integer (``-inf``
    included) and at ``s = 1``, NaN for ``q < 0`` and ``s`` not an integer, for ``s < 1``, and
    at ``q = inf`` and NaN, as PyTorch's."""
    s = numpy.broadcast_to(numpy.asarray(s, dtype=numpy.float64), q.shape)
    total = q**-s
    a = q.copy()
    b = numpy.zeros_like(q)
    done = ~numpy.isfinite(q) | ~(s > 1)  # set below; ``a += 1`` never passes 9 from -inf
    i = 0
    while True:
        active = ~done & ((i < 9) | (a <= 9.0))
        if not active.any():
            break
        i += 1
        a[active] += 1.0
        b[active] = a[active] ** -s[active]
        total[active] += b[active]
        done |= active & (numpy.abs(b / total) < _EPS)
    w = a
    tail = ~done
    total = numpy.where(tail, total + b * w / (s - 1.0) - 0.5 * b, total)
    factor = numpy.ones_like(q)
    k = 0.0
    for coefficient in _ZETA_A:
        factor = factor * (s + k)
        b = b / w
        term = factor * b / coefficient
        total = numpy.where(tail, total + term, total)
        tail &= ~(numpy.abs(term / total) < _EPS)
        k += 1.0
        factor = factor * (s + k)
        b = b / w
        k += 1.0
    nonpositive = q <= 0
    integer_q = q == numpy.floor(q)
    total[nonpositive & integer_q] = numpy.inf
    total[nonpositive & ~integer_q & (s != numpy.floor(s))] = numpy.nan
    total[q == numpy.inf] = numpy.nan  # Cephes' and PyTorch's value (polygamma(2, inf))
    total[(q > 0) & numpy.isfinite(q) & (q**-s == 0)] = 0.0  # every term underflows
    total[s == 1] = numpy.inf
    total[s < 1] = numpy.nan
    total[numpy.isnan(s) | numpy.isnan(q)] = numpy.nan
    return total


def zeta(s: float, q) -> numpy.ndarray:
    """The Hurwitz zeta function ``sum_{k >= 0} (k + q)**-s`` for ``s > 1``."""
    qd, dtype = _as_float64(q)
    with numpy.errstate(all="ignore"):
        out = _zeta64(float(s), numpy.atleast_1d(qd).copy())
    return out.reshape(qd.shape).astype(dtype, copy=False)


def polygamma(n: int, x) -> numpy.ndarray:
    """The ``n``-th derivative of ``digamma``: ``(-1)**(n+1) n! zeta(n + 1, x)`` (n >= 1)."""
    if n == 0:
        return digamma(x)
    xd, dtype = _as_float64(x)
    with numpy.errstate(all="ignore"):
        out = _zeta64(float(n + 1), numpy.atleast_1d(xd).copy()) * (
            (-1.0) ** (n + 1) * math.factorial(n)
        )
    return out.reshape(xd.shape).astype(dtype, copy=False)


_ROOT_SERIES = tuple(
    (-1.0) ** k * float(_zeta64(float(k), numpy.array([1.0]))[0]) / k for k in range(2, 28)
)
"""Taylor coefficients of ``lgamma(1 + z)`` beyond the linear term: ``(-1)**k zeta(k) / k``."""


# --- mathx: gpugrad.special's functions (i0e i1 ndtri zeta gammainc j0 ...) ----------------
from .special_mathx import (  # noqa: E402, F401  (the CPU's special namespace, as cupyx's)
    erfcx,
    gammainc,
    gammaincc,
    i0,
    i0e,
    i1,
    i1e,
    j0,
    j1,
    log_ndtr,
    ndtr,
    ndtri,
)
from .special_mathx import zeta as hurwitz_zeta  # noqa: E402, F401  (s elementwise)
