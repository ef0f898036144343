"""``gpugrad.utils``: helpers outside the tensor core (``gpugrad.utils.data``)."""

from . import data

__all__ = ["data"]
