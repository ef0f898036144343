"""The discrete families: ``Bernoulli``, ``Categorical``, ``OneHotCategorical``,
``Binomial``, ``Geometric``, ``Poisson``, as in ``torch.distributions`` (``probs`` or
``logits``, whichever was not given computed lazily)."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import gpugrad as gg

from . import constraints
from ._sampling import parametrized_sample
from .distribution import Distribution, ExponentialFamily
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Bernoulli", "Binomial", "Categorical", "Geometric", "OneHotCategorical", "Poisson"]

_BOTH_OR_NEITHER = "Either `probs` or `logits` must be specified, but not both."


def _checked(distribution: Distribution, value: Any) -> Any:
    if distribution._validate_args:
        distribution._validate_sample(value)
    return value


def _binary_cross_entropy_with_logits(logits: Any, target: Any) -> Any:
    return gg.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")


def _enumerate(values: Any, batch_shape: Any, expand: bool) -> Any:
    """``values`` along dim 0, broadcast over ``batch_shape`` (or singleton dims)."""
    values = values.reshape((-1,) + (1,) * len(batch_shape))
    if expand:
        values = values.expand((-1,) + tuple(batch_shape))
    return values


class _BinaryParams:
    """``probs`` or ``logits`` (log-odds) of elementwise binary families; the other one is
    computed on first use, as in PyTorch."""

    def _set_probs_or_logits(self, probs: Any, logits: Any) -> Any:
        if (probs is None) == (logits is None):
            raise ValueError(_BOTH_OR_NEITHER)
        given = probs if probs is not None else logits
        name = "probs" if probs is not None else "logits"
        (param,) = broadcast_all(given)
        setattr(self, name, param)
        self._param = param
        return () if isinstance(given, Number) else param.size()

    def _expand_probs_or_logits(self, new: Any, batch_shape: Any) -> None:
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(batch_shape))
                new._param = getattr(new, name)

    @lazy_property
    def logits(self) -> Any:
        """Log-odds of success."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Any:
        """Probability of success."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> gg.Size:
        return self._param.size()


class Bernoulli(_BinaryParams, ExponentialFamily):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), else 0."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        batch_shape = self._set_probs_or_logits(probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = gg.Size(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Any:
        return self.probs

    @property
    def mode(self) -> Any:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return gg.where(self.probs == 0.5, gg.full_like(mode, math.nan), mode)

    @property
    def variance(self) -> Any:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Any:
        """0/1 samples in the parameters' dtype."""
        shape = tuple(self._extended_shape(sample_shape))
        with gg.no_grad():
            return gg.bernoulli(self.probs.expand(shape))

    def log_prob(self, value: Any) -> Any:
        """``value * log p + (1 - value) * log(1 - p)``, from the logits."""
        value = _checked(self, value)
        logits, value = broadcast_all(self.logits, value)
        return -_binary_cross_entropy_with_logits(logits, value)

    def entropy(self) -> Any:
        """The entropy in nats."""
        return _binary_cross_entropy_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand: bool = True) -> Any:
        """``[0, 1]`` along dim 0."""
        values = gg.arange(2, dtype=self._param.dtype, device=self._param.device)
        return _enumerate(values, self._batch_shape, expand)


class Categorical(Distribution):
    """A category ``0 .. K-1`` drawn with probabilities ``probs`` (normalized along the last
    dim) or ``softmax(logits)``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError(_BOTH_OR_NEITHER)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size()[-1]
        batch_shape = self._param.size()[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Categorical:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = gg.Size(batch_shape)
        param_shape = tuple(batch_shape) + (self._num_events,)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(param_shape))
                new._param = getattr(new, name)
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Any:
        """Normalized log-probabilities."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Any:
        """Normalized probabilities."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> gg.Size:
        return self._param.size()

    @property
    def mean(self) -> Any:
        return gg.full(
            tuple(self._extended_shape()),
            math.nan,
            dtype=self.probs.dtype,
            device=self.probs.device,
        )

    @property
    def mode(self) -> Any:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Any:
        return gg.full(
            tuple(self._extended_shape()),
            math.nan,
            dtype=self.probs.dtype,
            device=self.probs.device,
        )

    def sample(self, sample_shape: Any = ()) -> Any:
        """int64 category indices of shape ``sample_shape + batch_shape``."""
        sample_shape = gg.Size(sample_shape)
        with gg.no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            samples_2d = gg.multinomial(probs_2d, sample_shape.numel(), True).T
        return samples_2d.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value: Any) -> Any:
        """The log-probability of the categories ``value``."""
        value = _checked(self, value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = gg.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self) -> Any:
        """``-sum(p log p)`` over the categories."""
        logits = gg.clamp(self.logits, min=gg.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Any:
        """``0 .. K-1`` (int64) along dim 0."""
        values = gg.arange(self._num_events, dtype=gg.int64, device=self._param.device)
        return _enumerate(values, self._batch_shape, expand)


class OneHotCategorical(Distribution):
    """A ``Categorical`` whose samples are one-hot vectors of length K."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> OneHotCategorical:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(OneHotCategorical, _instance)
        batch_shape = gg.Size(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self) -> Any:
        return self._categorical._param

    @property
    def probs(self) -> Any:
        return self._categorical.probs

    @property
    def logits(self) -> Any:
        return self._categorical.logits

    @property
    def mean(self) -> Any:
        return self._categorical.probs

    @property
    def mode(self) -> Any:
        probs = self._categorical.probs
        return gg.nn.functional.one_hot(probs.argmax(dim=-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self) -> Any:
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self) -> gg.Size:
        return self._categorical.param_shape

    def sample(self, sample_shape: Any = ()) -> Any:
        """One-hot samples in the parameters' dtype."""
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return gg.nn.functional.one_hot(indices, self._categorical._num_events).to(probs.dtype)

    def log_prob(self, value: Any) -> Any:
        """The log-probability of the one-hot ``value``."""
        value = _checked(self, value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self) -> Any:
        """The entropy of the categories."""
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Any:
        """The K one-hot vectors along dim 0."""
        n = self.event_shape[0]
        values = gg.eye(n, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self.batch_shape) + (n,))
        return values


class _CountParams(_BinaryParams):
    """``Binomial`` and ``NegativeBinomial``: ``total_count`` beside ``probs`` or ``logits``,
    broadcast together."""

    def _set_count_params(
        self, total_count: Any, probs: Any, logits: Any, validate_args: bool | None
    ) -> None:
        if (probs is None) == (logits is None):
            raise ValueError(_BOTH_OR_NEITHER)
        name = "probs" if probs is not None else "logits"
        total, param = broadcast_all(total_count, probs if probs is not None else logits)
        setattr(self, name, param)
        self.total_count = total.type_as(param)
        self._param = param
        Distribution.__init__(self, param.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Any:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = gg.Size(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


class Binomial(_CountParams, Distribution):
    """The number of successes in ``total_count`` Bernoulli(``probs``) trials."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self,
        total_count: Any = 1,
        probs: Any = None,
        logits: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        self._set_count_params(total_count, probs, logits, validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Any:
        return self.total_count * self.probs

    @property
    def mode(self) -> Any:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Any:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Any:
        """Success counts in the parameters' dtype."""
        shape = tuple(self._extended_shape(sample_shape))
        with gg.no_grad():
            counts = self.total_count.expand(shape).long()
            draw = parametrized_sample("binomial", counts, self.probs.expand(shape))
            return draw.to(self.probs.dtype)

    def log_prob(self, value: Any) -> Any:
        """The log-probability of ``value`` successes (stable in the logits)."""
        value = _checked(self, value)
        log_factorial_n = gg.lgamma(self.total_count + 1)
        log_factorial_k = gg.lgamma(value + 1)
        log_factorial_nmk = gg.lgamma(self.total_count - value + 1)
        normalize_term = (
            self.total_count * self.logits.clamp(min=0)
            + self.total_count * gg.log1p(gg.exp(-gg.abs(self.logits)))
            - log_factorial_n
        )
        return value * self.logits - log_factorial_k - log_factorial_nmk - normalize_term

    def entropy(self) -> Any:
        """The entropy, by enumerating the support (one ``total_count`` only)."""
        total_count = int(self.total_count.max())
        if not self.total_count.min() == total_count:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(gg.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Any:
        """``0 .. total_count`` along dim 0 (one ``total_count`` only)."""
        total_count = int(self.total_count.max())
        if not self.total_count.min() == total_count:
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`."
            )
        values = gg.arange(1 + total_count, dtype=self._param.dtype, device=self._param.device)
        return _enumerate(values, self._batch_shape, expand)


class Geometric(_BinaryParams, Distribution):
    """The number of failures before the first success of Bernoulli(``probs``) trials."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(
        self, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        batch_shape = self._set_probs_or_logits(probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and probs is not None:
            value = self.probs
            valid = value > 0
            if not bool(valid.all()):
                raise ValueError(
                    "Expected parameter probs "
                    f"({type(value).__name__} of shape {tuple(value.shape)}) "
                    f"of distribution {self!r} "
                    f"to be positive but found invalid values:\n{value.detach()[~valid]}"
                )

    def expand(self, batch_shape: Any, _instance: Any = None) -> Geometric:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Geometric, _instance)
        batch_shape = gg.Size(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Any:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Any:
        return gg.zeros_like(self.probs)

    @property
    def variance(self) -> Any:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Any:
        """``floor(log u / log(1 - p))`` with u ~ U(tiny, 1)."""
        shape = tuple(self._extended_shape(sample_shape))
        tiny = gg.finfo(self.probs.dtype).tiny
        with gg.no_grad():
            u = gg.rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(min=tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Any) -> Any:
        """``value * log(1 - p) + log p`` (0 at p = 1, value = 0)."""
        value = _checked(self, value)
        value, probs = broadcast_all(value, self.probs)
        probs = gg.where((probs == 1) & (value == 0), gg.zeros_like(probs), probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Any:
        """The entropy in nats."""
        return _binary_cross_entropy_with_logits(self.logits, self.probs) / self.probs


class Poisson(ExponentialFamily):
    """The Poisson distribution with ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = () if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Poisson:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = gg.Size(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Any:
        return self.rate

    @property
    def mode(self) -> Any:
        return self.rate.floor()

    @property
    def variance(self) -> Any:
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Any:
        """Counts in the rate's dtype."""
        shape = tuple(self._extended_shape(sample_shape))
        with gg.no_grad():
            return parametrized_sample("poisson", self.rate.expand(shape)).to(self.rate.dtype)

    def log_prob(self, value: Any) -> Any:
        """``value log(rate) - rate - log(value!)``."""
        value = _checked(self, value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()
