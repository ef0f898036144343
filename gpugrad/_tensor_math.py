"""``F`` for backward formulas on tensors (``create_graph=True``).

It offers, for tensors, exactly the names an ``ArrayBackend`` offers for arrays, so one
formula in the derivative table serves both; ``tests/test_derivative_table.py`` checks that
every name a formula uses exists on both sides.
"""

from ._factories import zeros_like
from ._linalg import matmul
from ._ops import astype, cos, exp, log, sign, sin, where
from ._reductions import cumsum, flip, mean, prod_others, sum
from ._shape_ops import (
    expand,
    getitem,
    index_scatter,
    mT,
    permute,
    reshape,
    sum_to,
    transpose,
    unsqueeze,
)
from ._transfer import to_backend


def sigmoid_backward(grad, output):
    """``grad * y * (1 - y)`` for ``y = sigmoid(x)`` (one fused kernel on raw arrays)."""
    return grad * output * (1 - output)


__all__ = [
    "astype",
    "cos",
    "cumsum",
    "exp",
    "expand",
    "flip",
    "getitem",
    "index_scatter",
    "log",
    "mT",
    "matmul",
    "mean",
    "permute",
    "prod_others",
    "reshape",
    "sigmoid_backward",
    "sign",
    "sin",
    "sum",
    "sum_to",
    "to_backend",
    "transpose",
    "unsqueeze",
    "where",
    "zeros_like",
]
