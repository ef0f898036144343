"""Random in-place Tensor methods (``normal_``, ``uniform_``, ``exponential_``,
``bernoulli_``, ``random_``): declared here as Tensor methods only; ``gpugrad._random``
draws the values from a ``gg.Generator``. They record no graph (PyTorch's neither)."""

from __future__ import annotations

from .._random import RANDOM_METHODS
from .registry import OpDef, register

for _name, _function in RANDOM_METHODS:
    register(OpDef(_name, _function, methods=(_name,), export=False, family="random"))
