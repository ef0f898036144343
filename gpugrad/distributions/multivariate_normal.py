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

__all__ = ["MultivariateNormal"]


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
