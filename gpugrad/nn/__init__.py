"""``gpugrad.nn``: neural-network building blocks; ``functional`` holds the fused
losses and activations."""

from . import functional, init, modules
from . import _functional_nd  # noqa: F401  (s7-nnpool: puts the n-d forms into functional)
from .modules import *  # noqa: F403  (the layers: modules.__all__)
from .parameter import Buffer, Parameter
from .parameter import UninitializedBuffer, UninitializedParameter  # s7-nnpool

from . import parallel  # noqa: E402  (builds on the modules above)
from .parallel import DataParallel  # noqa: E402
from . import utils  # noqa: E402

__all__ = [
    *modules.__all__,
    "Buffer",
    "DataParallel",
    "Parameter",
    "UninitializedBuffer",  # s7-nnpool
    "UninitializedParameter",  # s7-nnpool
    "functional",
    "init",
    "parallel",
    "utils",
]
