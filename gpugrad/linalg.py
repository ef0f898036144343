"""``gpugrad.linalg``: PyTorch's ``torch.linalg`` on NumPy's and CuPy's ``linalg``.

Every function is differentiable as PyTorch's, to any order (the derivatives are written
in the backward namespace): ``inv det slogdet solve cholesky qr svd svdvals eigh eigvalsh
pinv`` and the norms. As in PyTorch, the gradients of ``svd``'s and ``eigh``'s vectors are
defined up to the vectors' signs and are not defined at repeated singular values or
eigenvalues; ``det``'s gradient here needs an invertible matrix; ``qr``'s needs
``mode='reduced'`` (or a square ``'complete'``) and at least as many rows as columns.
Singular or indefinite inputs raise ``LinAlgError`` (on CUDA too).
"""

from ._out import LINALG_OUT_RULES, accepts_out
from .ops.linalg import (
    LinAlgError,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matmul,
    matrix_norm,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vector_norm,
)
from .ops.linalg import linalg_cross as cross
from .ops.linalg import linalg_norm as norm

globals().update(  # each takes PyTorch's out= (gpugrad/_out.py)
    {name: accepts_out(name, globals()[name], LINALG_OUT_RULES) for name in LINALG_OUT_RULES}
)

__all__ = [
    "LinAlgError",
    "cholesky",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]
