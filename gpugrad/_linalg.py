"""Temporary compatibility names: matrix products now live in ``gpugrad.ops.linalg``."""

from .ops.linalg import *  # noqa: F403
