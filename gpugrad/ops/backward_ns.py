"""The backward namespace on tensors (``ns`` in the derivative formulas).

A formula ``formula(ns, grad, ...)`` runs with ``ns`` = the backend on raw arrays, or with
``ns`` = this module on tensors when a differentiable gradient is asked for
(``create_graph=True``). So this module offers, for tensors, exactly the names the formulas
use from an ``ArrayBackend``; ``tests/test_registry.py`` checks that both sides have them.
"""

from .._factories import zeros_like
from .elementwise import cos, exp, log, sign, sin, where
from .index import (
    gather,
    gather_backward,
    getitem,
    index_fill,
    index_scatter,
    index_select,
    index_select_backward,
    masked_fill,
    scatter,
)
from .linalg import matmul
from .reduce import cumsum, flip, mean, prod_others, sum
from .shape import (
    diagonal,
    diagonal_backward,
    expand,
    mT,
    permute,
    reshape,
    roll,
    sum_to,
    transpose,
    tril,
    triu,
    unsqueeze,
)
from .transfer import astype, to_backend


def sigmoid_backward(grad, output):
    """``grad * y * (1 - y)`` for ``y = sigmoid(x)`` (one fused kernel on raw arrays)."""
    return grad * output * (1 - output)


__all__ = [
    "astype",
    "cos",
    "cumsum",
    "diagonal",
    "diagonal_backward",
    "exp",
    "expand",
    "flip",
    "gather",
    "gather_backward",
    "getitem",
    "index_fill",
    "index_scatter",
    "index_select",
    "index_select_backward",
    "log",
    "mT",
    "masked_fill",
    "matmul",
    "mean",
    "permute",
    "prod_others",
    "reshape",
    "roll",
    "scatter",
    "sigmoid_backward",
    "sign",
    "sin",
    "sum",
    "sum_to",
    "to_backend",
    "transpose",
    "tril",
    "triu",
    "unsqueeze",
    "where",
    "zeros_like",
]
