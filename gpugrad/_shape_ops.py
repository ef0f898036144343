"""Temporary compatibility names: shape and indexing ops now live in ``gpugrad.ops.shape``
and ``gpugrad.ops.index``. Kept while ``optim`` and ``nn.modules`` still import
``gpugrad._shape_ops``; the lead moves them after merging."""

from .ops.index import *  # noqa: F403
from .ops.shape import *  # noqa: F403
