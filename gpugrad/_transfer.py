"""Temporary compatibility names: transfers now live in ``gpugrad.ops.transfer``. Kept
while ``nn.modules.module`` still imports ``gpugrad._transfer``; the lead moves it after
merging."""

from .ops.transfer import *  # noqa: F403
from .ops.transfer import parse_to as _parse  # noqa: F401
