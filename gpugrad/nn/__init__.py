"""``gpugrad.nn``: neural-network building blocks; ``functional`` holds the fused
losses and activations."""

from . import functional, init, modules
from .modules import *  # noqa: F403  (the layers: modules.__all__)
from .parameter import Buffer, Parameter

from . import parallel  # noqa: E402  (builds on the modules above)
from . import utils  # noqa: E402

__all__ = [
    *modules.__all__,
    "Buffer",
    "Parameter",
    "functional",
    "init",
    "parallel",
    "utils",
]
