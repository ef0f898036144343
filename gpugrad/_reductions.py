"""Temporary compatibility names: reductions now live in ``gpugrad.ops.reduce``."""

from .ops.reduce import *  # noqa: F403
