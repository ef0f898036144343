"""``gpugrad.utils``: helpers outside the tensor core (``gpugrad.utils.data``,
``gpugrad.utils.checkpoint``)."""

from . import checkpoint, data
from ..info import collect_env

__all__ = ["checkpoint", "collect_env", "data"]
