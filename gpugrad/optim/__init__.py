"""``gpugrad.optim``: optimizers that update parameters step for step as PyTorch's do, and
learning-rate schedulers (``gpugrad.optim.lr_scheduler``)."""

from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from . import lr_scheduler
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import Adadelta, Adagrad, RMSprop
from .sgd import SGD

# --- s7-seq ---
from . import swa_utils
from .adafactor import Adafactor
from .asgd import ASGD
from .rprop import Rprop
from .sparse_adam import SparseAdam

# --- end s7-seq ---

__all__ = [
    # --- s7-seq ---
    "ASGD",
    "Adafactor",
    "Rprop",
    "SparseAdam",
    "swa_utils",
    # --- end s7-seq ---
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "lr_scheduler",
]
