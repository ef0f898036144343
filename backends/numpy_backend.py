"""The CPU backend: NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy

from .array_backend import ArrayBackend
from .device import Device


class NumpyBackend(ArrayBackend):
    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, Device("cpu"))

    def to_host(self, x: Any) -> numpy.ndarray:
        return numpy.asarray(x)

    def sigmoid(self, x: Any) -> Any:
        # exp(-x) overflows to inf for x < -88 (float32); 1 / inf is the exact limit, 0.
        with numpy.errstate(over="ignore"):
            return 1 / (1 + numpy.exp(-x))
