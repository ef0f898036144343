"""The backward namespace on tensors (``ns`` in the derivative formulas).

A formula ``formula(ns, grad, ...)`` runs with ``ns`` = the backend on raw arrays, or with
``ns`` = this module on tensors when a differentiable gradient is asked for
(``create_graph=True``). So this module offers, for tensors, exactly the names the formulas
use from an ``ArrayBackend``; ``tests/test_registry.py`` checks that both sides have them.
"""

import sys

from .._factories import (
    zeros_like,
)
from . import linalg as linalg_family
from .elementwise import (  # --- mathx: gpugrad.special's derivatives ---  # noqa: I001
    cos,
    cosh,
    digamma,
    div,
    exp,
    i0,
    isfinite,
    lgamma,
    log,
    polygamma,
    rsqrt,
    sign,
    sin,
    sinh,
    special_i0e,
    special_i1,
    special_i1e,
    special_zeta,
    trunc,
    where,
)
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
    scatter_add,
    scatter_reduce,
)
from .linalg import (
    einsum,
    identity,
    inv,
    matmul,
    tril_weights,
)
from .linalg import solve_matrix as solve
from .reduce import (
    cumprod,
    cumsum,
    flip,
    logcumsumexp,
    mean,
    prod_others,
    sum,
)
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
from .transfer import (
    astype,
    to_backend,
)


def sigmoid_backward(grad, output):
    """``grad * y * (1 - y)`` for ``y = sigmoid(x)`` (one fused kernel on raw arrays)."""
    return grad * output * (1 - output)


def floor_divide(x, y):
    """``x // y`` as a step function (zero derivative, PyTorch's ``div(..., rounding_mode=
    "floor")``): ``floor_divide`` itself records a node whose backward raises."""
    return div(x, y, rounding_mode="floor")


def relu_backward(grad, output):
    """``grad`` where ``output`` is not ``<= 0``, else 0 (the backend's bit mask on raw
    arrays); NaN outputs pass their gradient, as PyTorch's ``threshold_backward``."""
    return where(output <= 0, 0, grad)


def scatter_along(grad, indices, dim, shape):
    """Zeros of ``shape`` with ``grad`` at ``indices`` along ``dim`` (the backend's
    ``scatter_along``), as the differentiable adjoint of indexing."""
    return index_scatter(grad, shape, grad._backend.along_key(indices, dim))


scatter_add_along = scatter_along
"""On tensors ``index_scatter`` adds at repeated indices, so one function serves both."""


__all__ = [
    "astype",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "digamma",
    "einsum",
    "exp",
    "expand",
    "flip",
    "floor_divide",
    "getitem",
    "identity",
    "index_scatter",
    "inv",
    "isfinite",
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
    "logcumsumexp",
    "mT",
    "masked_fill",
    "matmul",
    "mean",
    "permute",
    "polygamma",
    "prod_others",
    "relu_backward",
    "reshape",
    "rsqrt",
    "scatter_add_along",
    "scatter_along",
    "roll",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "sigmoid_backward",
    "sign",
    "sin",
    "sinh",
    "solve",
    "sum",
    "sum_to",
    "to_backend",
    "transpose",
    "tril_weights",
    "trunc",
    "tril",
    "triu",
    "unsqueeze",
    "where",
    "zeros_like",
    # --- mathx ---
    "i0",
    "lgamma",
    "special_i0e",
    "special_i1",
    "special_i1e",
    "special_zeta",
]

linalg_family.MultiOutputNode.tensor_namespace = sys.modules[__name__]
