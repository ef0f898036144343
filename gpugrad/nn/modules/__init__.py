"""gpugrad's layers, containers and losses (``gpugrad.nn.Linear`` …)."""

from .activation import GELU, ReLU, Sigmoid, Tanh
from .container import ModuleList, Sequential
from .dropout import Dropout
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "GELU",
    "Identity",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
]
