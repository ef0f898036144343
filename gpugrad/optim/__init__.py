"""``gpugrad.optim``: optimizers that update parameters step for step as PyTorch's do."""

from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
