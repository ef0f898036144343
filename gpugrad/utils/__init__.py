"""``gpugrad.utils``: helpers outside the tensor core (``gpugrad.utils.data``)."""

from . import data
from ..info import collect_env

__all__ = ["collect_env", "data"]
