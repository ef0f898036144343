"""More special functions NumPy lacks (``gpugrad.special``), for the CPU backend's ``special``
namespace; the CUDA backend takes the same names from ``cupyx.scipy.special``. Each takes and
returns NumPy arrays of float16/32/64, computed in float64 and rounded to the input's dtype.

- ``i0e i1 i1e`` (and ``i0``): the power series of the modified Bessel functions below
  ``|x| = 30`` (positive terms: no cancellation), the Hankel asymptotic series beyond (its
  smallest term there is ~1e-26).
- ``erfcx``: ``exp(x*x) * erfc(x)``, from ``special``'s scaled interpolants above 0.5.
- ``ndtri``: Halley's iteration on ``ndtr`` (through ``erfc``, accurate in the tails) from
  ``erfinv`` or the tail asymptote; ``1 - p`` is exact above 0.5, so both tails are solved
  as lower tails.
- ``log_ndtr``: ``log1p(-ndtr(-x))`` above -1, ``log(erfcx(-x/sqrt2)/2) - x*x/2`` below.
- ``zeta(s, q)`` with ``s`` an array: Cephes' Euler-Maclaurin summation (as ``special``'s).
- ``gammainc gammaincc``: the regularized incomplete gamma functions, series below
  ``x = a + 1`` and Lentz's continued fraction above.
- ``j0 j1``: the power series below ``|x| = 14`` (summed with error-free sums), Hankel's
  asymptotic expansion above.
"""

from __future__ import annotations

import math

import numpy

from .erf import _END, _SPLIT
from .special import (
    _EPS,
    _ERFCX_LOW,
    _ERFCX_MIDDLE,
    _ERFCX_NEAR,
    _ERFCX_TAIL,
    _TAIL_U,
    _as_float64,
    _chebyshev,
    _erfc64,
    _zeta64,
    erfinv,
    gammaln,
)

__all__ = [
    "erfcx",
    "gammainc",
    "gammaincc",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "j0",
    "j1",
    "log_ndtr",
    "ndtr",
    "ndtri",
    "zeta",
]

_SERIES_END = 30.0
_SQRT2 = math.sqrt(2.0)


def _elementwise(function):
    """``function`` on float64 1-d arrays, applied to any input with quiet errors and the
    input's float dtype kept."""

    def apply(*args):
        arrays = numpy.broadcast_arrays(*[_as_float64(a)[0] for a in args])
        dtype = numpy.result_type(*[_as_float64(a)[1] for a in args])
        shape = arrays[0].shape
        flat = [numpy.ascontiguousarray(a).reshape(-1).copy() for a in arrays]
        with numpy.errstate(all="ignore"):
            out = function(*flat)
        return out.reshape(shape).astype(dtype, copy=False)

    apply.__name__ = function.__name__.lstrip("_")
    apply.__doc__ = function.__doc__
    return apply


def _bessel_i_scaled(x: numpy.ndarray, order: int) -> numpy.ndarray:
    """``I_order(|x|) * exp(-|x|)`` for ``order`` 0 or 1."""
    a = numpy.abs(x)
    out = numpy.empty_like(a)
    near = a < _SERIES_END
    v = a[near]
    half = v / 2
    term = numpy.ones_like(v) if order == 0 else half.copy()
    total = term.copy()
    square = half * half
    for k in range(1, 90):
        term = term * square / (k * (k + order))
        total += term
    out[near] = total * numpy.exp(-v)
    far = ~near  # NaN included
    v = a[far]
    mu = 4.0 * order * order
    term = numpy.ones_like(v)
    total = term.copy()
    for k in range(1, 40):
        term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * v)
        total += term
    out[far] = total / numpy.sqrt(2 * math.pi * v)
    return out


@_elementwise
def _i0e(x):
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``."""
    return _bessel_i_scaled(x, 0)


@_elementwise
def _i0(x):
    """The modified Bessel function of the first kind of order 0."""
    return _bessel_i_scaled(x, 0) * numpy.exp(numpy.abs(x))


@_elementwise
def _i1e(x):
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``."""
    return numpy.copysign(_bessel_i_scaled(x, 1), x)


@_elementwise
def _i1(x):
    """The modified Bessel function of the first kind of order 1."""
    return numpy.copysign(_bessel_i_scaled(x, 1) * numpy.exp(numpy.abs(x)), x)


def _erfcx64(x: numpy.ndarray) -> numpy.ndarray:
    out = numpy.empty_like(x)
    low = ~(x >= _ERFCX_LOW)
    v = x[low]
    h = numpy.floor(v * 4096) / 4096  # exp(x*x) with x*x split exactly, as special's
    out[low] = numpy.exp(h * h) * numpy.exp((v - h) * (v + h)) * _erfc64(v)
    out[x == -numpy.inf] = numpy.inf
    parts = (
        (
            (x >= _ERFCX_LOW) & (x < _SPLIT),
            lambda v: _chebyshev(v, _ERFCX_LOW, _SPLIT, _ERFCX_NEAR),
        ),
        ((x >= _SPLIT) & (x < _END), lambda v: _chebyshev(v, _SPLIT, _END, _ERFCX_MIDDLE)),
        (
            x >= _END,
            lambda v: _chebyshev(1 / (v * v), 0.0, _TAIL_U, _ERFCX_TAIL) / (v * math.sqrt(math.pi)),
        ),
    )
    for mask, scaled in parts:
        out[mask] = scaled(x[mask])
    return out


@_elementwise
def _erfcx(x):
    """The scaled complementary error function ``exp(x*x) * erfc(x)``."""
    return _erfcx64(x)


def _ndtr64(x: numpy.ndarray) -> numpy.ndarray:
    return 0.5 * _erfc64(-x / _SQRT2)


@_elementwise
def _ndtr(x):
    """The standard normal distribution function."""
    return _ndtr64(x)


@_elementwise
def _log_ndtr(x):
    """``log(ndtr(x))``, accurate in both tails."""
    out = numpy.empty_like(x)
    high = ~(x < -1.0)
    out[high] = numpy.log1p(-_ndtr64(-x[high]))
    v = x[~high]
    out[~high] = numpy.log(_erfcx64(-v / _SQRT2) / 2) - v * v / 2
    return out


def _lower_ndtri(q: numpy.ndarray) -> numpy.ndarray:
    """The ``x <= 0`` with ``ndtr(x) = q`` for ``0 < q <= 0.5``."""
    tail = q < 1e-10
    guess = _SQRT2 * erfinv(2 * q - 1)
    y = -2 * numpy.log(numpy.where(tail, q, 0.5))
    guess = numpy.where(tail, -numpy.sqrt(y - numpy.log(y) - math.log(2 * math.pi)), guess)
    x = guess
    log_q = numpy.log(q)
    for _ in range(4):
        ratio = _ndtr64(x) / q - 1
        # (ndtr(x) - q) / pdf(x) without forming the underflowing pdf
        step = ratio * numpy.exp(log_q + x * x / 2 + 0.5 * math.log(2 * math.pi))
        step = numpy.where(ratio == 0, 0.0, step)
        x = x - step / (1 + x * step / 2)
    return x


@_elementwise
def _ndtri(p):
    """The inverse of ``ndtr`` on [0, 1] (``-inf`` at 0, ``inf`` at 1, NaN outside)."""
    out = numpy.full_like(p, numpy.nan)
    lower = (p > 0) & (p <= 0.5)
    out[lower] = _lower_ndtri(p[lower])
    upper = (p > 0.5) & (p < 1)
    out[upper] = -_lower_ndtri(1 - p[upper])
    out[p == 0] = -numpy.inf
    out[p == 1] = numpy.inf
    return out


@_elementwise
def _zeta(s, q):
    """The Hurwitz zeta function ``sum_{k >= 0} (k + q)**-s`` (``s`` elementwise)."""
    return _zeta64(s, q)


def _gamma_prefix(a: numpy.ndarray, x: numpy.ndarray) -> numpy.ndarray:
    """``x**a exp(-x) / Gamma(a)``."""
    return numpy.exp(a * numpy.log(x) - x - gammaln(a))


def _gamma_series(a: numpy.ndarray, x: numpy.ndarray) -> numpy.ndarray:
    """The regularized lower incomplete gamma function by its series (``x < a + 1``)."""
    term = numpy.ones_like(x) / a
    total = term.copy()
    n = a.copy()
    for _ in range(2000):
        n += 1
        term = term * x / n
        total += term
        if not (numpy.abs(term) > numpy.abs(total) * _EPS).any():
            break
    return total * _gamma_prefix(a, x)


def _gamma_fraction(a: numpy.ndarray, x: numpy.ndarray) -> numpy.ndarray:
    """The regularized upper incomplete gamma function by Lentz's continued fraction."""
    tiny = 1e-300
    b = x + 1 - a
    c = numpy.full_like(x, 1 / tiny)
    d = 1 / b
    h = d.copy()
    for i in range(1, 2000):
        an = -i * (i - a)
        b = b + 2
        d = an * d + b
        d = numpy.where(numpy.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = numpy.where(numpy.abs(c) < tiny, tiny, c)
        d = 1 / d
        delta = d * c
        h = h * delta
        if not (numpy.abs(delta - 1) > _EPS).any():
            break
    return h * _gamma_prefix(a, x)


def _incomplete_gamma(a: numpy.ndarray, x: numpy.ndarray, upper: bool) -> numpy.ndarray:
    out = numpy.full_like(x, numpy.nan)
    valid = (a > 0) & (x > 0) & numpy.isfinite(a)
    finite = valid & numpy.isfinite(x)
    series = finite & (x < a + 1)
    fraction = finite & ~(x < a + 1)
    p = _gamma_series(a[series], x[series])
    q = _gamma_fraction(a[fraction], x[fraction])
    out[series] = 1 - p if upper else p
    out[fraction] = q if upper else 1 - q
    zero_x = (x == 0) & (a > 0)
    out[zero_x] = 1.0 if upper else 0.0
    out[valid & (x == numpy.inf)] = 0.0 if upper else 1.0
    zero_a = (a == 0) & (x > 0)  # the limit: all mass at 0 (PyTorch's convention)
    out[zero_a] = 0.0 if upper else 1.0
    out[(a == numpy.inf) & (x >= 0) & (x < numpy.inf)] = 1.0 if upper else 0.0
    return out


@_elementwise
def _gammainc(a, x):
    """The regularized lower incomplete gamma function ``P(a, x)``."""
    return _incomplete_gamma(a, x, upper=False)


@_elementwise
def _gammaincc(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return _incomplete_gamma(a, x, upper=True)


_J_SERIES_END = 14.0


def _bessel_j(x: numpy.ndarray, order: int) -> numpy.ndarray:
    """``J_order(|x|)`` for ``order`` 0 or 1: the series summed in double-double (its
    terms grow to ~1e5 below 14), Hankel's expansion above (27 terms: they shrink up
    to ``k ~ 2x``)."""
    a = numpy.abs(x)
    out = numpy.empty_like(a)
    near = a < _J_SERIES_END
    v = a[near]
    half = v / 2
    square = -(half * half)
    term = numpy.ones_like(v) if order == 0 else half.copy()
    high = term.copy()
    low = numpy.zeros_like(v)
    for k in range(1, 60):
        term = term * square / (k * (k + order))
        s = high + term  # Knuth's two-sum: high + low holds the sum to ~1e-32
        z = s - high
        low += (high - (s - z)) + (term - z)
        high = s
    out[near] = high + low
    far = ~near
    v = a[far]
    mu = 4.0 * order * order
    p = numpy.ones_like(v)
    q = numpy.zeros_like(v)
    term = numpy.ones_like(v)
    for k in range(1, 28):
        term = term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * v)
        if k % 4 == 1:
            q += term
        elif k % 4 == 2:
            p -= term
        elif k % 4 == 3:
            q -= term
        else:
            p += term
    phase = v - (2 * order + 1) * math.pi / 4
    out[far] = numpy.sqrt(2 / (math.pi * v)) * (p * numpy.cos(phase) - q * numpy.sin(phase))
    out[a == numpy.inf] = 0.0
    return out


@_elementwise
def _j0(x):
    """The Bessel function of the first kind of order 0."""
    return _bessel_j(x, 0)


@_elementwise
def _j1(x):
    """The Bessel function of the first kind of order 1."""
    return numpy.where(x < 0, -_bessel_j(x, 1), _bessel_j(x, 1))


i0, i0e, i1, i1e = _i0, _i0e, _i1, _i1e
erfcx, ndtr, log_ndtr, ndtri, zeta = _erfcx, _ndtr, _log_ndtr, _ndtri, _zeta
gammainc, gammaincc, j0, j1 = _gammainc, _gammaincc, _j0, _j1
