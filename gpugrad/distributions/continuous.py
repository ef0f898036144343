"""The univariate continuous families and Dirichlet: ``Normal``, ``Uniform``, ``Laplace``,
``Cauchy``, ``Exponential``, ``Gamma``, ``Beta``, ``Dirichlet``, ``StudentT``, as in
``torch.distributions`` (same parameters, constraints, formulas and ``expand``)."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import gpugrad as gg

from . import constraints
from ._sampling import regularized_gamma_p, standard_gamma
from .distribution import Distribution, ExponentialFamily
from .utils import broadcast_all, standard_normal, standard_uniform

__all__ = [
    "Beta",
    "Cauchy",
    "Dirichlet",
    "Exponential",
    "Gamma",
    "Laplace",
    "Normal",
    "StudentT",
    "Uniform",
]

_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class _ElementwiseParams:
    """The shared ``__init__``/``expand`` of a family whose parameters (``_params``, numbers
    or tensors) broadcast together and set the batch shape."""

    _params: tuple[str, ...] = ()

    def _set_params(self, values: tuple, validate_args: bool | None) -> None:
        for name, value in zip(self._params, broadcast_all(*values)):
            setattr(self, name, value)
        if all(isinstance(v, Number) for v in values):
            batch_shape: Any = ()
        else:
            batch_shape = getattr(self, self._params[0]).size()
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        cls = type(self)
        new = self._get_checked_instance(cls, _instance)
        batch_shape = gg.Size(batch_shape)
        for name in self._params:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


def _checked(distribution: Distribution, value: Any) -> Any:
    if distribution._validate_args:
        distribution._validate_sample(value)
    return value


class Normal(_ElementwiseParams, ExponentialFamily):
    """The normal distribution with mean ``loc`` and standard deviation ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self._set_params((loc, scale), validate_args)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def stddev(self) -> Any:
        return self.scale

    @property
    def variance(self) -> Any:
        return self.stddev.pow(2)

    def sample(self, sample_shape: Any = ()) -> Any:
        """``sample_shape`` samples (no gradient)."""
        with gg.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``loc + scale * eps`` with eps ~ N(0, 1)."""
        eps = standard_normal(tuple(self._extended_shape(sample_shape)), self.loc)
        return self.loc + eps * self.scale

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        var = self.scale**2
        log_scale = math.log(self.scale) if isinstance(self.scale, Number) else self.scale.log()
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - _HALF_LOG_TWO_PI

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        value = _checked(self, value)
        return 0.5 * (1 + gg.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value: Any) -> Any:
        """The quantile at probability ``value``."""
        return self.loc + self.scale * gg.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> Any:
        """The differential entropy."""
        return 0.5 + _HALF_LOG_TWO_PI + gg.log(self.scale)


class Uniform(_ElementwiseParams, Distribution):
    """The uniform distribution on ``[low, high)``."""

    has_rsample = True
    _params = ("low", "high")

    @property
    def arg_constraints(self) -> dict:
        return {
            "low": constraints.less_than(self.high),
            "high": constraints.greater_than(self.low),
        }

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self._set_params((low, high), validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Any:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Any:
        return math.nan * self.high

    @property
    def stddev(self) -> Any:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Any:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``low + u * (high - low)`` with u ~ U[0, 1)."""
        rand = standard_uniform(tuple(self._extended_shape(sample_shape)), self.low)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value: Any) -> Any:
        """``-log(high - low)`` inside the support, ``-inf`` outside."""
        value = _checked(self, value)
        lower = self.low.le(value).type_as(self.low)
        upper = self.high.gt(value).type_as(self.low)
        return gg.log(lower.mul(upper)) - gg.log(self.high - self.low)

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        value = _checked(self, value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Any) -> Any:
        """The quantile at probability ``value``."""
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Any:
        """``log(high - low)``."""
        return gg.log(self.high - self.low)


class Laplace(_ElementwiseParams, Distribution):
    """The Laplace distribution with location ``loc`` and scale ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self._set_params((loc, scale), validate_args)

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Any:
        return (2**0.5) * self.scale

    def rsample(self, sample_shape: Any = ()) -> Any:
        """By inversion of a uniform draw on ``(eps - 1, 1)``."""
        finfo = gg.finfo(self.loc.dtype)
        rand = standard_uniform(tuple(self._extended_shape(sample_shape)), self.loc)
        u = rand * (2 - finfo.eps) + (finfo.eps - 1)
        return self.loc - self.scale * u.sign() * gg.log1p(-u.abs())

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        return -gg.log(2 * self.scale) - gg.abs(value - self.loc) / self.scale

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        value = _checked(self, value)
        return 0.5 - 0.5 * (value - self.loc).sign() * gg.expm1(
            -(value - self.loc).abs() / self.scale
        )

    def icdf(self, value: Any) -> Any:
        """The quantile at probability ``value``."""
        term = value - 0.5
        return self.loc - self.scale * term.sign() * gg.log1p(-2 * term.abs())

    def entropy(self) -> Any:
        """``1 + log(2 scale)``."""
        return 1 + gg.log(2 * self.scale)


class Cauchy(_ElementwiseParams, Distribution):
    """The Cauchy (Lorentz) distribution with median ``loc`` and half-width ``scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _params = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self._set_params((loc, scale), validate_args)

    @property
    def mean(self) -> Any:
        return gg.full(
            tuple(self._extended_shape()), math.nan, dtype=self.loc.dtype, device=self.loc.device
        )

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        return gg.full(
            tuple(self._extended_shape()), math.inf, dtype=self.loc.dtype, device=self.loc.device
        )

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``loc + scale * tan(pi (u - 1/2))`` with u ~ U[0, 1)."""
        rand = standard_uniform(tuple(self._extended_shape(sample_shape)), self.loc)
        return self.loc + gg.tan(math.pi * (rand - 0.5)) * self.scale

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        return (
            -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()
        )

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        value = _checked(self, value)
        return gg.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value: Any) -> Any:
        """The quantile at probability ``value``."""
        return gg.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self) -> Any:
        """``log(4 pi scale)``."""
        return math.log(4 * math.pi) + self.scale.log()


class Exponential(_ElementwiseParams, ExponentialFamily):
    """The exponential distribution with ``rate`` (1 / scale)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _params = ("rate",)

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        self._set_params((rate,), validate_args)

    @property
    def mean(self) -> Any:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Any:
        return gg.zeros_like(self.rate)

    @property
    def stddev(self) -> Any:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Any:
        return self.rate.pow(-2)

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``e / rate`` with e ~ Exp(1)."""
        shape = tuple(self._extended_shape(sample_shape))
        draw = gg.empty(shape, dtype=self.rate.dtype, device=self.rate.device).exponential_()
        return draw / self.rate

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Any) -> Any:
        """P(X <= value)."""
        value = _checked(self, value)
        return 1 - gg.exp(-self.rate * value)

    def icdf(self, value: Any) -> Any:
        """The quantile at probability ``value``."""
        return -gg.log1p(-value) / self.rate

    def entropy(self) -> Any:
        """``1 - log(rate)``."""
        return 1.0 - gg.log(self.rate)


class Gamma(_ElementwiseParams, ExponentialFamily):
    """The gamma distribution with shape ``concentration`` and ``rate``. ``rsample`` is
    differentiable in both (implicit reparameterization, PyTorch's approximation)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _params = ("concentration", "rate")

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self._set_params((concentration, rate), validate_args)

    @property
    def mean(self) -> Any:
        return self.concentration / self.rate

    @property
    def mode(self) -> Any:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Any:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = ()) -> Any:
        """Gamma(concentration, 1) samples divided by ``rate``."""
        shape = tuple(self._extended_shape(sample_shape))
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return value.clamp(min=gg.finfo(value.dtype).tiny)

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = gg.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        value = _checked(self, value)
        return (
            gg.xlogy(self.concentration, self.rate)
            + gg.xlogy(self.concentration - 1, value)
            - self.rate * value
            - gg.lgamma(self.concentration)
        )

    def cdf(self, value: Any) -> Any:
        """P(X <= value): the regularized incomplete gamma function (differentiable in
        ``value`` and ``rate``; in ``concentration`` neither here nor in PyTorch)."""
        value = _checked(self, value)
        return regularized_gamma_p(self.concentration, self.rate * value)

    def entropy(self) -> Any:
        """The differential entropy."""
        return (
            self.concentration
            - gg.log(self.rate)
            + gg.lgamma(self.concentration)
            + (1.0 - self.concentration) * gg.digamma(self.concentration)
        )


class Dirichlet(ExponentialFamily):
    """The Dirichlet distribution with ``concentration`` (last dim: the categories).
    ``rsample`` normalizes reparameterized gamma draws, so gradients flow (unbiased, but
    per sample not PyTorch's ``_dirichlet_grad``)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = gg.Size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Any:
        """Gamma(concentration) draws divided by their sum."""
        shape = tuple(self._extended_shape(sample_shape))
        gammas = standard_gamma(self.concentration.expand(shape))
        return (gammas / gammas.sum(-1, keepdim=True)).clamp(min=gg.finfo(gammas.dtype).tiny)

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value`` (a point of the simplex)."""
        value = _checked(self, value)
        return (
            gg.xlogy(self.concentration - 1.0, value).sum(-1)
            + gg.lgamma(self.concentration.sum(-1))
            - gg.lgamma(self.concentration).sum(-1)
        )

    @property
    def mean(self) -> Any:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Any:
        shifted = (self.concentration - 1).clamp(min=0.0)
        mode = shifted / shifted.sum(-1, True)
        all_below_one = (self.concentration < 1).all(dim=-1, keepdim=True)
        corner = gg.nn.functional.one_hot(mode.argmax(dim=-1), shifted.shape[-1]).to(mode.dtype)
        return gg.where(all_below_one, corner, mode)

    @property
    def variance(self) -> Any:
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self) -> Any:
        """The differential entropy."""
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (
            gg.lgamma(self.concentration).sum(-1)
            - gg.lgamma(a0)
            - (k - a0) * gg.digamma(a0)
            - ((self.concentration - 1.0) * gg.digamma(self.concentration)).sum(-1)
        )


class Beta(ExponentialFamily):
    """The beta distribution with ``concentration1`` (alpha) and ``concentration0``
    (beta), a two-category ``Dirichlet``."""

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self, concentration1: Any, concentration0: Any, validate_args: bool | None = None
    ) -> None:
        if isinstance(concentration1, Number) and isinstance(concentration0, Number):
            both = gg.tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0)
            both = gg.stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(both, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Beta:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = gg.Size(batch_shape)
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def concentration1(self) -> Any:
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self) -> Any:
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self) -> Any:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Any:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Any:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: Any = ()) -> Any:
        """The first coordinate of a two-category Dirichlet sample."""
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        return self._dirichlet.log_prob(gg.stack([value, 1.0 - value], -1))

    def entropy(self) -> Any:
        """The differential entropy."""
        return self._dirichlet.entropy()


class StudentT(_ElementwiseParams, Distribution):
    """Student's t distribution with ``df`` degrees of freedom, ``loc`` and ``scale``."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True
    _params = ("df", "loc", "scale")

    def __init__(
        self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None
    ) -> None:
        self._set_params((df, loc, scale), validate_args)

    @property
    def mean(self) -> Any:
        return gg.where(self.df > 1, self.loc, gg.full_like(self.loc, math.nan))

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        m = self.scale.pow(2) * self.df / (self.df - 2)
        m = gg.where(self.df <= 2, gg.full_like(m, math.inf), m)
        return gg.where(self.df <= 1, gg.full_like(m, math.nan), m)

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``loc + scale * z / sqrt(chi2(df) / df)``: normal over a gamma draw."""
        shape = tuple(self._extended_shape(sample_shape))
        x = standard_normal(shape, self.df)
        chi2 = 2 * standard_gamma(0.5 * self.df.expand(shape))
        return self.loc + self.scale * (x * gg.rsqrt(chi2 / self.df))

    def log_prob(self, value: Any) -> Any:
        """The log density at ``value``."""
        value = _checked(self, value)
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * self.df.log()
            + 0.5 * math.log(math.pi)
            + gg.lgamma(0.5 * self.df)
            - gg.lgamma(0.5 * (self.df + 1.0))
        )
        return -0.5 * (self.df + 1.0) * gg.log1p(y**2.0 / self.df) - z

    def entropy(self) -> Any:
        """The differential entropy."""
        lbeta = gg.lgamma(0.5 * self.df) + math.lgamma(0.5) - gg.lgamma(0.5 * (self.df + 1))
        return (
            self.scale.log()
            + 0.5 * (self.df + 1) * (gg.digamma(0.5 * (self.df + 1)) - gg.digamma(0.5 * self.df))
            + 0.5 * self.df.log()
            + lbeta
        )
