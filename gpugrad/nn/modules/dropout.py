"""``Dropout``, ``Dropout1d``, ``Dropout2d``, ``Dropout3d``, ``AlphaDropout`` and
``FeatureAlphaDropout``: zero elements (or whole channels) with probability ``p`` in
training mode."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
]


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` (drawn from gpugrad's
    generator) and scale the rest by ``1 / (1 - p)``; in eval mode, the identity. With
    ``inplace`` the input itself is scaled."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """In training mode, zero whole channels (``input[n, c]`` of ``(N, C, H, W)``) with
    probability ``p`` and scale the rest by ``1 / (1 - p)``; in eval mode, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(Dropout):
    """In training mode, zero whole channels (``input[n, c]`` of ``(N, C, L)``) with
    probability ``p`` and scale the rest by ``1 / (1 - p)``; in eval mode, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """In training mode, zero whole channels (``input[n, c]`` of ``(N, C, D, H, W)``) with
    probability ``p`` and scale the rest by ``1 / (1 - p)``; in eval mode, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Alpha dropout for SELU networks: in training mode, dropped elements take SELU's
    negative saturation and an affine map keeps zero mean and unit variance. As in
    PyTorch, ``inplace`` is recorded but not used."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels (``input[n, c]``). As in PyTorch, ``inplace`` is
    recorded but not used."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
