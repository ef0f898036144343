"""Temporary compatibility names: the elementwise ops now live in ``gpugrad.ops.elementwise``
(declared once in the op registry). Kept while modules outside the core (``optim``,
``nn.modules``) still import ``gpugrad._ops``; the lead moves them after merging."""

from .ops.elementwise import *  # noqa: F403
from .ops.transfer import astype, to_dtype  # noqa: F401
