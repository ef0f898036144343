"""Special functions NumPy lacks, for the CPU backend's ``special`` namespace (the CUDA
backend uses ``cupyx.scipy.special``): each takes and returns NumPy arrays."""

from __future__ import annotations

from .erf import erf

__all__ = ["erf"]
