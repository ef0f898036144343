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
    matrix_power,  # --- s7-mathx: the names below ---
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
from .ops.linalg_more import (
    cholesky_ex,
    cond,
    diagonal,
    eig,
    eigvals,
    householder_product,
    inv_ex,
    lstsq,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    matrix_exp,
    multi_dot,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)

WITHOUT_OUT = frozenset(
    [
        "cholesky_ex",
        "cond",
        "diagonal",
        "eig",
        "eigvals",
        "householder_product",
        "inv_ex",
        "lstsq",
        "lu",
        "lu_factor",
        "lu_factor_ex",
        "lu_solve",
        "matrix_exp",
        "matrix_power",
        "multi_dot",
        "solve_ex",
        "solve_triangular",
        "tensorinv",
        "tensorsolve",
        "vander",
        "vecdot",
    ]
)
"""The functions that do not take ``out=`` (PyTorch's ``diagonal`` and ``vander`` have none;
the others, added by mathx, do not have it yet)."""

globals().update(  # each of the others takes PyTorch's out= (gpugrad/_out.py)
    {name: accepts_out(name, globals()[name], LINALG_OUT_RULES) for name in LINALG_OUT_RULES}
)

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]
