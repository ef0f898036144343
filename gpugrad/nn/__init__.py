"""``gpugrad.nn``: neural-network building blocks; ``functional`` holds the fused
losses and activations."""

from . import functional

__all__ = ["functional"]
