"""``MultivariateNormal``: a normal distribution over vectors, given by one of
``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its Cholesky factor), as in
``torch.distributions``. Triangular solves go through ``gg.linalg.solve``."""

from __future__ import annotations

import math
from typing import Any

import gpugrad as gg

from . import constraints
from .distribution import Distribution
from .utils import lazy_property, standard_normal

__all__ = ["LowRankMultivariateNormal", "MultivariateNormal"]


def batch_mv(matrices: Any, vectors: Any) -> Any:
    """``matrices @ vectors`` broadcast over the leading dims."""
    return gg.matmul(matrices, vectors.unsqueeze(-1)).squeeze(-1)


def tril_solve(tril: Any, rhs: Any) -> Any:
    """``tril^-1 rhs`` for lower-triangular ``tril`` (``... x n x n``) and vectors ``rhs``
    (``... x n``), broadcast over the leading dims. Only the lower triangle is read (so,
    as PyTorch's ``solve_triangular``, no gradient reaches the upper one)."""
    n = rhs.shape[-1]
    tril = tril.tril()
    if tril.dim() == 2:
        flat = rhs.reshape(-1, n).T
        return gg.linalg.solve(tril, flat).T.reshape(rhs.shape)
    batch = gg.broadcast_shapes(tuple(tril.shape[:-2]), tuple(rhs.shape[:-1]))
    tril = tril.expand(tuple(batch) + (n, n))
    rhs = rhs.expand(tuple(batch) + (n,))
    return gg.linalg.solve(tril, rhs.unsqueeze(-1)).squeeze(-1)


def batch_mahalanobis(tril: Any, x: Any) -> Any:
    """The squared Mahalanobis distance ``x^T (L L^T)^-1 x`` for the Cholesky factor L."""
    return tril_solve(tril, x).pow(2).sum(-1)


def tril_inverse(tril: Any) -> Any:
    """The inverse of a lower-triangular matrix (lower-triangular too; only the lower
    triangle is read)."""
    tril = tril.tril()
    eye = gg.eye(tril.shape[-1], dtype=tril.dtype, device=tril.device)
    return gg.linalg.solve(tril, eye.expand(tril.shape))


def precision_to_scale_tril(precision: Any) -> Any:
    """The Cholesky factor of ``precision^-1``, without inverting ``precision``."""
    flipped = gg.linalg.cholesky(gg.flip(precision, (-2, -1)))
    tril_of_inverse = gg.transpose(gg.flip(flipped, (-2, -1)), -2, -1)
    return tril_inverse(tril_of_inverse)


class MultivariateNormal(Distribution):
    """N(``loc``, Σ) with Σ given by ``covariance_matrix``, ``precision_matrix`` (Σ⁻¹) or
    ``scale_tril`` (L, Σ = L Lᵀ), exactly one of them."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Any,
        covariance_matrix: Any = None,
        precision_matrix: Any = None,
        scale_tril: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [
            (n, m)
            for n, m in (
                ("covariance_matrix", covariance_matrix),
                ("precision_matrix", precision_matrix),
                ("scale_tril", scale_tril),
            )
            if m is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        name, matrix = given[0]
        if matrix.dim() < 2:
            what = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(
                f"{what} must be at least two-dimensional, with optional leading batch dimensions"
            )
        batch_shape = tuple(gg.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = gg.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = precision_to_scale_tril(matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MultivariateNormal:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = gg.Size(batch_shape)
        event = tuple(self.event_shape)
        new.loc = self.loc.expand(tuple(batch_shape) + event)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(tuple(batch_shape) + event + event))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self) -> Any:
        """The lower Cholesky factor L of the covariance."""
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Any:
        """Σ = L Lᵀ."""
        tril = self._unbroadcasted_scale_tril
        return gg.matmul(tril, tril.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Any:
        """Σ⁻¹ = L⁻ᵀ L⁻¹."""
        inverse = tril_inverse(self._unbroadcasted_scale_tril)
        return gg.matmul(inverse.mT, inverse).expand(self._matrix_shape())

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def mode(self) -> Any:
        return self.loc

    @property
    def variance(self) -> Any:
        shape = tuple(self._batch_shape) + tuple(self._event_shape)
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(shape)

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``loc + L eps`` with eps ~ N(0, I)."""
        eps = standard_normal(tuple(self._extended_shape(sample_shape)), self.loc)
        return self.loc + batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value: Any) -> Any:
        """The log density at the vectors ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        mahalanobis = batch_mahalanobis(self._unbroadcasted_scale_tril, diff)
        tril = self._unbroadcasted_scale_tril
        half_log_det = tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + mahalanobis) - half_log_det

    def entropy(self) -> Any:
        """The differential entropy."""
        tril = self._unbroadcasted_scale_tril
        half_log_det = tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        if len(self._batch_shape) == 0:
            return entropy
        return entropy.expand(tuple(self._batch_shape))


def _batch_capacitance_tril(cov_factor: Any, cov_diag: Any) -> Any:
    """The Cholesky factor of ``I + Wᵀ D⁻¹ W`` (the capacitance of ``W Wᵀ + D``)."""
    m = cov_factor.size(-1)
    wt_dinv = cov_factor.mT / cov_diag.unsqueeze(-2)
    eye = gg.eye(m, dtype=cov_factor.dtype, device=cov_factor.device)
    return gg.linalg.cholesky(gg.matmul(wt_dinv, cov_factor) + eye)


def _batch_lowrank_logdet(cov_diag: Any, capacitance_tril: Any) -> Any:
    """``log det(W Wᵀ + D)`` by the matrix determinant lemma."""
    return 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + cov_diag.log().sum(-1)


def _batch_lowrank_mahalanobis(cov_factor: Any, cov_diag: Any, x: Any, capacitance_tril: Any):
    """``xᵀ (W Wᵀ + D)⁻¹ x`` by the Woodbury identity."""
    wt_dinv = cov_factor.mT / cov_diag.unsqueeze(-2)
    wt_dinv_x = batch_mv(wt_dinv, x)
    return (x.pow(2) / cov_diag).sum(-1) - batch_mahalanobis(capacitance_tril, wt_dinv_x)


class LowRankMultivariateNormal(Distribution):
    """N(``loc``, W Wᵀ + diag(D)) with a low-rank ``cov_factor`` W (``n x m``) and a
    positive ``cov_diag`` D; costs O(n m²) instead of O(n³)."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self, loc: Any, cov_factor: Any, cov_diag: Any, validate_args: bool | None = None
    ) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.dim() < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(
                f"cov_factor must be a batch of matrices with shape {event_shape[0]} x m"
            )
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(
                f"cov_diag must be a batch of vectors with shape {gg.Size(event_shape)}"
            )
        try:
            loc_, self.cov_factor, cov_diag_ = gg.broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1)
            )
        except RuntimeError as e:
            raise ValueError(
                f"Incompatible batch shapes: loc {loc.shape}, cov_factor {cov_factor.shape}, "
                f"cov_diag {cov_diag.shape}"
            ) from e
        self.loc = loc_[..., 0]
        self.cov_diag = cov_diag_[..., 0]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(self.loc.shape[:-1], event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LowRankMultivariateNormal:
        """A new distribution whose parameters are expanded to ``batch_shape``."""
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = gg.Size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new.cov_diag = self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(loc_shape + tuple(self.cov_factor.shape[-1:]))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self) -> Any:
        return self.loc

    @property
    def mode(self) -> Any:
        return self.loc

    @lazy_property
    def variance(self) -> Any:
        """The diagonal of the covariance."""
        variance = self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        return variance.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self) -> Any:
        """The lower Cholesky factor of the covariance."""
        n = self._event_shape[0]
        diag_sqrt = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        scaled = self._unbroadcasted_cov_factor / diag_sqrt
        eye = gg.eye(n, dtype=scaled.dtype, device=scaled.device)
        tril = diag_sqrt * gg.linalg.cholesky(gg.matmul(scaled, scaled.mT) + eye)
        return tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Any:
        """W Wᵀ + diag(D)."""
        factor = self._unbroadcasted_cov_factor
        covariance = gg.matmul(factor, factor.mT) + gg.diag_embed(self._unbroadcasted_cov_diag)
        return covariance.expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Any:
        """The inverse covariance, by the Woodbury identity."""
        wt_dinv = self._unbroadcasted_cov_factor.mT / self._unbroadcasted_cov_diag.unsqueeze(-2)
        a = gg.linalg.solve(self._capacitance_tril.tril(), wt_dinv)
        precision = gg.diag_embed(self._unbroadcasted_cov_diag.reciprocal()) - a.mT @ a
        return precision.expand(self._matrix_shape())

    def rsample(self, sample_shape: Any = ()) -> Any:
        """``loc + W eps_W + sqrt(D) eps_D``."""
        shape = tuple(self._extended_shape(sample_shape))
        eps_w = standard_normal(shape[:-1] + tuple(self.cov_factor.shape[-1:]), self.loc)
        eps_d = standard_normal(shape, self.loc)
        return (
            self.loc
            + batch_mv(self._unbroadcasted_cov_factor, eps_w)
            + self._unbroadcasted_cov_diag.sqrt() * eps_d
        )

    def log_prob(self, value: Any) -> Any:
        """The log density at the vectors ``value``."""
        if self._validate_args:
            self._validate_sample(value)
        mahalanobis = _batch_lowrank_mahalanobis(
            self._unbroadcasted_cov_factor,
            self._unbroadcasted_cov_diag,
            value - self.loc,
            self._capacitance_tril,
        )
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + mahalanobis)

    def entropy(self) -> Any:
        """The differential entropy."""
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)
        entropy = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        if len(self._batch_shape) == 0:
            return entropy
        return entropy.expand(tuple(self._batch_shape))
