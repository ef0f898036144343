"""``gpugrad.special``: PyTorch's ``torch.special``, its real-valued functions.

Most are gpugrad's own ops under ``torch.special``'s names (``expit`` is ``sigmoid``,
``gammaln`` is ``lgamma``, ``gammainc`` is ``igamma``); ``ndtr``, ``xlog1py``, ``entr`` and
``spherical_bessel_j0`` are composed from ops; ``i0e i1 i1e erfcx ndtri log_ndtr zeta`` and
``bessel_j0/j1`` are array primitives of their own (``backends/kernels/special_mathx.py`` on
the CPU, ``cupyx.scipy.special`` on CUDA), good to ~1e-14 relative in float64 (``bessel_j0``
and ``bessel_j1`` to ~5e-12 absolute). Gradients are PyTorch's: the Bessel functions of the
first kind, ``modified_bessel_*`` and ``spherical_bessel_j0`` record none, ``zeta`` and
``gammainc`` are differentiable in their second argument only.
"""

from __future__ import annotations

import math
from typing import Any

from ._exports import (  # the exported ops (with ``out=`` where PyTorch takes it)
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    log1p,
    log_softmax,
    logit,
    logsumexp,
    polygamma,
    round,
    sinc,
    softmax,
    xlogy,
)
from ._exports import igamma as gammainc
from ._exports import igammac as gammaincc
from ._exports import lgamma as gammaln
from ._exports import mvlgamma as multigammaln
from ._exports import sigmoid as expit
from ._graph import named_node
from ._tensor import Tensor
from .ops import elementwise as _elementwise
from .ops.elementwise import special_erfcx as erfcx
from .ops.elementwise import special_i0e as i0e
from .ops.elementwise import special_i1 as i1
from .ops.elementwise import special_i1e as i1e
from .ops.elementwise import special_log_ndtr as log_ndtr
from .ops.elementwise import special_ndtri as ndtri
from .ops.elementwise import special_zeta as zeta

psi = digamma

__all__ = [
    "bessel_j0",
    "bessel_j1",
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammainc",
    "gammaincc",
    "gammaln",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "psi",
    "round",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "sinc",
    "softmax",
    "spherical_bessel_j0",
    "xlog1py",
    "xlogy",
    "zeta",
]


def ndtr(input: Tensor) -> Tensor:
    """The standard normal distribution function ``(1 + erf(input / sqrt(2))) / 2``."""
    x = _elementwise._float_input(input)
    return _elementwise.mul(erfc(_elementwise.mul(x, -1 / math.sqrt(2))), 0.5)


def xlog1py(input: Tensor | float, other: Tensor | float) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    x, y = _elementwise._float_operands("", input, other)
    safe = _elementwise.where((x == 0) & (y == y), 0, y)  # log1p(0) = 0: no 0 * inf
    which = 1 if not isinstance(input, Tensor) else 2 if not isinstance(other, Tensor) else 0
    result = _elementwise.mul(x, log1p(safe))
    return named_node(result, f"SpecialXlog1PyBackward{which}", input, other)


def entr(input: Tensor) -> Tensor:
    """The elementwise entropy ``-input * log(input)``: 0 at 0, ``-inf`` below 0; one
    ``SpecialEntrBackward0`` node with PyTorch's derivative ``-(1 + log(input))``."""
    return _elementwise.special_entr(input)


def bessel_j0(input: Tensor) -> Tensor:
    """The Bessel function of the first kind of order 0 (no gradient, as PyTorch)."""
    return _elementwise.special_unrecorded("special_bessel_j0", input)


def bessel_j1(input: Tensor) -> Tensor:
    """The Bessel function of the first kind of order 1 (no gradient, as PyTorch)."""
    return _elementwise.special_unrecorded("special_bessel_j1", input)


def modified_bessel_i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0 (no gradient)."""
    return _elementwise.special_unrecorded("i0", input)


def modified_bessel_i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (no gradient)."""
    return _elementwise.special_unrecorded("special_i1", input)


def spherical_bessel_j0(input: Tensor) -> Tensor:
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x``
    (1 at 0; no gradient, as PyTorch)."""
    x = _elementwise._float_input(input).detach()
    zero = x == 0
    safe = _elementwise.where(zero, 1, x)
    return _elementwise.where(zero, 1.0, _elementwise.div(_elementwise.sin(safe), safe))


# --- orthogonal polynomials (by their three-term recurrences; no gradient, as PyTorch) ----
def _polynomial(name: str, first: Any, step: Any, shifted: bool = False) -> Any:
    """``name(input, n)``: the degree-``n`` polynomial (``n`` truncated to an integer,
    elementwise; 0 for negative ``n``) from ``p_1 = first(x)`` and
    ``p_{k+1} = step(k, x, p_k, p_{k-1})``."""

    def polynomial(input: Tensor | float, n: Tensor | float) -> Tensor:
        x, degree = _elementwise._float_operands("", input, n)
        x, degree = x.detach(), _elementwise.trunc(degree.detach())
        if shifted:
            x = x * 2 - 1
        previous, current = x * 0 + 1, first(x)
        out = _elementwise.where(degree == 0, previous, x * 0)
        top = int(degree.max()) if degree.numel() else 0
        for k in range(1, top + 1):
            out = _elementwise.where(degree == k, current, out)
            previous, current = current, step(k, x, current, previous)
        return out

    polynomial.__name__ = polynomial.__qualname__ = name
    polynomial.__doc__ = f"PyTorch's ``special.{name}(input, n)`` (no gradient)."
    return polynomial


def _chebyshev_step(k: int, x: Tensor, p: Tensor, q: Tensor) -> Tensor:
    return 2 * x * p - q


_CHEBYSHEV_FIRST = {"t": lambda x: x, "u": lambda x: 2 * x, "v": lambda x: 2 * x - 1}
_CHEBYSHEV_FIRST["w"] = lambda x: 2 * x + 1
chebyshev_polynomial_t = _polynomial(
    "chebyshev_polynomial_t", _CHEBYSHEV_FIRST["t"], _chebyshev_step
)
chebyshev_polynomial_u = _polynomial(
    "chebyshev_polynomial_u", _CHEBYSHEV_FIRST["u"], _chebyshev_step
)
chebyshev_polynomial_v = _polynomial(
    "chebyshev_polynomial_v", _CHEBYSHEV_FIRST["v"], _chebyshev_step
)
chebyshev_polynomial_w = _polynomial(
    "chebyshev_polynomial_w", _CHEBYSHEV_FIRST["w"], _chebyshev_step
)
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", _CHEBYSHEV_FIRST["t"], _chebyshev_step, shifted=True
)
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", _CHEBYSHEV_FIRST["u"], _chebyshev_step, shifted=True
)
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", _CHEBYSHEV_FIRST["v"], _chebyshev_step, shifted=True
)
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", _CHEBYSHEV_FIRST["w"], _chebyshev_step, shifted=True
)
hermite_polynomial_h = _polynomial(
    "hermite_polynomial_h", lambda x: 2 * x, lambda k, x, p, q: 2 * x * p - 2 * k * q
)
hermite_polynomial_he = _polynomial(
    "hermite_polynomial_he", lambda x: x, lambda k, x, p, q: x * p - k * q
)
laguerre_polynomial_l = _polynomial(
    "laguerre_polynomial_l",
    lambda x: 1 - x,
    lambda k, x, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1),
)
legendre_polynomial_p = _polynomial(
    "legendre_polynomial_p", lambda x: x, lambda k, x, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)
)
