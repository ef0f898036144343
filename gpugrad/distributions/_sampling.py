"""Draws that the registry's random ops do not make (gamma, Poisson, binomial), and the
gamma sample's implicit reparameterization gradient (``Gamma``/``Beta``/``Dirichlet``
``rsample``)."""

from __future__ import annotations

from typing import Any

import gpugrad as gg

from .._random import generator_for
from .._tensor import _wrap
from ..autograd import Function

# The bivariate rational approximation of d sample / d concentration for 0.8 <= x and
# concentration <= 8 (Jankowiak & Obermeyer, "Pathwise derivatives beyond the
# reparameterization trick", 2018; the coefficients PyTorch uses).
_RATIONAL_COEFFICIENTS = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (
        0.53487893,
        0.1298071,
        0.065735949,
        -0.0015649758,
        0.16639465,
        0.020070113,
        -0.0035938915,
        -0.00058392623,
    ),
    (
        0.040121004,
        -0.0065914022,
        -0.0026286047,
        -0.0013441777,
        0.017050642,
        -0.0021309326,
        0.00085092367,
        -1.5247877e-07,
    ),
)


def parametrized_sample(method: str, *params: Any) -> Any:
    """``numpy.random.Generator.<method>`` drawn with ``params`` (tensors of one shape)
    from the default generator of their device; no graph."""
    backend = params[0]._backend
    generator = generator_for(None, backend)
    arrays = [p.detach().contiguous()._data for p in params]
    return _wrap(generator.parametrized(backend, method, *arrays), backend)


def standard_gamma_grad(alpha: Any, x: Any) -> Any:
    """d x / d alpha for x ~ Gamma(alpha, 1) held at its quantile (the implicit
    reparameterization gradient), by PyTorch's three approximations: a Taylor series of
    the CDF for x < 0.8, Rice's saddle-point expansion for alpha > 8, and a rational
    fit elsewhere. Computed in float64 and returned in ``x``'s dtype."""
    with gg.no_grad():
        dtype = x.dtype
        a, x = alpha.double(), x.double()
        # Taylor series of the incomplete gamma function (x < 0.8)
        term, denom = gg.ones_like(x), a.clone()
        series1, series2 = term / denom, term / (denom * denom)
        for i in range(1, 6):
            term = term * (-x / i)
            denom = denom + 1
            series1 = series1 + term / denom
            series2 = series2 + term / (denom * denom)
        pow_x_alpha = x.pow(a)
        gamma_pdf = x.pow(a - 1) * gg.exp(-x)
        gamma_cdf = pow_x_alpha * series1
        gamma_cdf_alpha = (gg.log(x) - gg.digamma(a)) * gamma_cdf - pow_x_alpha * series2
        small_x = -gamma_cdf_alpha / gamma_pdf
        small_x = gg.where(gg.isnan(small_x), gg.zeros_like(small_x), small_x)
        # Rice saddle-point expansion (alpha > 8)
        near = (
            (1 + 24 * a * (1 + 12 * a))
            * (1440 * a * a + 6 * x * (53 - 120 * x) - 65 * x * x / a + a * (107 + 3600 * x))
            / (1244160 * a**4)
        )
        denom = gg.sqrt(8 * a)
        term2 = denom / (a - x)
        term3 = (x - a - a * gg.log(x / a)).pow(-1.5)
        term23 = gg.where(x < a, term2 - term3, term2 + term3)
        term1 = gg.log(x / a) * term23 - gg.sqrt(2 / a) * (a + x) / ((a - x) * (a - x))
        stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
        far = -stirling * x * term1 / denom
        large_alpha = gg.where((0.9 * a <= x) & (x <= 1.1 * a), near, far)
        # rational approximation
        u, v = gg.log(x / a), gg.log(a)
        c = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_RATIONAL_COEFFICIENTS)]
        p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
        q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
        rational = gg.exp(p / q)
        grad = gg.where(x < 0.8, small_x, gg.where(a > 8.0, large_alpha, rational))
        return grad.to(dtype)


class _StandardGamma(Function):
    """Samples of Gamma(concentration, 1) whose gradient is ``standard_gamma_grad``."""

    @staticmethod
    def forward(ctx: Any, concentration: Any) -> Any:
        sample = parametrized_sample("standard_gamma", concentration)
        sample = sample.clamp(min=gg.finfo(sample.dtype).tiny)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        concentration, sample = ctx.saved_tensors
        return grad * standard_gamma_grad(concentration.detach(), sample.detach())


def standard_gamma(concentration: Any) -> Any:
    """Gamma(concentration, 1) samples, differentiable in ``concentration``."""
    return _StandardGamma.apply(concentration)


_INCOMPLETE_GAMMA_TERMS = 300


def _regularized_gamma_p(a: Any, x: Any) -> Any:
    """P(a, x), the regularized lower incomplete gamma function, in float64: its power
    series where ``x < a + 1`` and Legendre's continued fraction for Q = 1 - P elsewhere
    (modified Lentz), a fixed number of terms each (both converge to float64 precision
    there for moderate ``a``)."""
    with gg.no_grad():
        a, x = a.double(), x.double()
        positive_x = gg.where(x > 0, x, gg.ones_like(x))
        log_prefactor = a * gg.log(positive_x) - positive_x - gg.lgamma(a)
        # series: P = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))
        term = gg.ones_like(x) / a
        total = term.clone()
        for n in range(1, _INCOMPLETE_GAMMA_TERMS):
            term = term * positive_x / (a + n)
            total = total + term
        series = gg.exp(log_prefactor) * total
        # continued fraction for Q (Numerical Recipes' gcf)
        tiny = 1e-300
        b = positive_x + 1 - a
        c = gg.full_like(x, 1 / tiny)
        d = 1 / gg.where(b.abs() < tiny, gg.full_like(b, tiny), b)
        h = d.clone()
        for i in range(1, _INCOMPLETE_GAMMA_TERMS):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = 1 / gg.where(d.abs() < tiny, gg.full_like(d, tiny), d)
            c = b + an / c
            c = gg.where(c.abs() < tiny, gg.full_like(c, tiny), c)
            h = h * d * c
        fraction = 1 - gg.exp(log_prefactor) * h
        p = gg.where(positive_x < a + 1, series, fraction)
        return gg.where(x > 0, p, gg.zeros_like(p))


class _GammaInc(Function):
    """P(a, x) differentiable in ``x`` (PyTorch has no derivative in ``a`` either)."""

    @staticmethod
    def forward(ctx: Any, a: Any, x: Any) -> Any:
        ctx.save_for_backward(a, x)
        return _regularized_gamma_p(a, x).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        density = gg.exp((a - 1) * gg.log(x) - x - gg.lgamma(a))
        return None, grad * density


def regularized_gamma_p(a: Any, x: Any) -> Any:
    """``torch.special.gammainc(a, x)`` for broadcastable ``a`` and ``x``."""
    a, x = gg.broadcast_tensors(a, x)
    return _GammaInc.apply(a, x)
