"""The backward namespace on tensors (``ns`` in the derivative formulas).

A formula ``formula(ns, grad, ...)`` runs with ``ns`` = the backend on raw arrays, or with
``ns`` = this module on tensors when a differentiable gradient is asked for
(``create_graph=True``). So this module offers, for tensors, exactly the names the formulas
use from an ``ArrayBackend``; ``tests/test_registry.py`` checks that both sides have them.
"""

from .._factories import zeros_like
from .elementwise import (
    cos,
    cosh,
    digamma,
    exp,
    floor_divide,
    isfinite,
    log,
    polygamma,
    rsqrt,
    sign,
    sin,
    sinh,
    trunc,
    where,
)
from .index import getitem, index_scatter
from .linalg import matmul
from .reduce import cumsum, flip, mean, prod_others, sum
from .shape import expand, mT, permute, reshape, sum_to, transpose, unsqueeze
from .transfer import astype, to_backend


def sigmoid_backward(grad, output):
    """``grad * y * (1 - y)`` for ``y = sigmoid(x)`` (one fused kernel on raw arrays)."""
    return grad * output * (1 - output)


__all__ = [
    "astype",
    "cos",
    "cosh",
    "cumsum",
    "digamma",
    "exp",
    "expand",
    "flip",
    "floor_divide",
    "getitem",
    "index_scatter",
    "isfinite",
    "log",
    "mT",
    "matmul",
    "mean",
    "permute",
    "polygamma",
    "prod_others",
    "reshape",
    "rsqrt",
    "sigmoid_backward",
    "sign",
    "sin",
    "sinh",
    "sum",
    "sum_to",
    "to_backend",
    "transpose",
    "trunc",
    "unsqueeze",
    "where",
    "zeros_like",
]
