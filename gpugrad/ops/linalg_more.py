"""More of ``torch.linalg`` and PyTorch's legacy top-level linear algebra (mathx).

``gpugrad.linalg``: ``solve_triangular solve_ex inv_ex cholesky_ex lu_factor lu_factor_ex
lu lu_solve matrix_exp matrix_power multi_dot vander vecdot cond tensorinv tensorsolve
householder_product lstsq diagonal``; the top level: ``svd qr cholesky cholesky_inverse
cholesky_solve pinverse matrix_exp triangular_solve chain_matmul lu lu_solve lu_unpack
nuclear_norm frobenius_norm`` (and their Tensor methods where PyTorch has them).

All but ``lu_factor`` are composed from differentiable ops, so their gradients (and CUDA)
come from those; ``lu_factor`` is a backend primitive (LAPACK's getrf algorithm: partial
pivoting) with PyTorch's LU derivative for square matrices. ``eig``/``eigvals`` need
complex results, which gpugrad does not have: they raise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._factories import eye, zeros
from .._graph import Op
from .._tensor import Tensor, _wrap
from ..backends import dtypes as _dtypes
from . import return_types
from .dispatch import record
from .elementwise import mul
from .index import gather
from .linalg import (
    LinAlgError,
    _matrix_input,
    inv,
    matmul,
    matrix_norm,
    pinv,
    solve,
    solve_matrix,
    svdvals,
    vector_norm,
)
from .linalg import (
    cholesky as linalg_cholesky,
)
from .linalg import (
    qr as linalg_qr,
)
from .linalg import (
    svd as linalg_svd,
)
from .numeric import _powers
from .reduce import sum
from .registry import declare
from .shape import cat, mT, tril, triu
from .shape import diagonal as _diagonal

# --- triangular systems -------------------------------------------------------------------


def _triangle(A: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    """The triangle of ``A`` a triangular solver reads (with ones on the diagonal when
    ``unitriangular``): the gradient reaches only that triangle, as PyTorch's."""
    if unitriangular:
        strict = triu(A, 1) if upper else tril(A, -1)
        return strict + eye(A.shape[-1], dtype=A.dtype, device=A.device)
    return triu(A) if upper else tril(A)


@declare("linalg_solve_triangular", methods=(), export=False)
def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False
) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left=False``) for triangular
    ``A`` (its ``upper`` or lower triangle is read)."""
    _matrix_input(A, "solve_triangular")
    if B.ndim < 2:
        raise RuntimeError(
            "linalg.solve_triangular: The input tensor B must have at least 2 dimensions."
        )
    T = _triangle(A, upper, unitriangular)
    if not left:
        return mT(solve_matrix(mT(T), mT(B)))
    return solve_matrix(T, B)


@declare(methods=("triangular_solve",))
def triangular_solve(
    b: Tensor,
    A: Tensor,
    upper: bool = True,
    transpose: bool = False,
    unitriangular: bool = False,
) -> Any:
    """``(solution, cloned_coefficient)``: ``X`` with ``A X = b`` (``A^T X = b`` when
    ``transpose``) for triangular ``A``, and a copy of ``A``."""
    T = _triangle(A, upper, unitriangular)
    solution = solve_matrix(mT(T) if transpose else T, b)
    return return_types.triangular_solve(solution, A.clone())


# --- *_ex: results with an info tensor ------------------------------------------------------


def _info(A: Tensor, value: int = 0) -> Tensor:
    return zeros(A.shape[:-2], dtype=_dtypes.int32, device=A.device) + value


@declare("linalg_solve_ex", methods=(), export=False)
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:
    """``(result, info)``: ``linalg.solve``'s result and 0; for a singular input, NaNs
    and a positive info unless ``check_errors`` (then ``linalg.solve``'s error)."""
    try:
        return return_types.linalg_solve_ex(solve(A, B, left=left), _info(A))
    except LinAlgError:
        if check_errors:
            raise
    shape = (*A.shape[:-2], *B.shape[-2:]) if B.ndim >= 2 else B.shape
    nan = zeros(shape, dtype=A.dtype, device=A.device) + math.nan
    return return_types.linalg_solve_ex(nan, _info(A, 1))


@declare("linalg_inv_ex", methods=(), export=False)
def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:
    """``(inverse, info)``: ``linalg.inv``'s result and 0; for a singular input, NaNs and
    a positive info unless ``check_errors``."""
    try:
        return return_types.linalg_inv_ex(inv(A), _info(A))
    except LinAlgError:
        if check_errors:
            raise
    nan = zeros(A.shape, dtype=A.dtype, device=A.device) + math.nan
    return return_types.linalg_inv_ex(nan, _info(A, 1))


@declare("linalg_cholesky_ex", methods=(), export=False)
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:
    """``(L, info)``: ``linalg.cholesky``'s factor and 0; for a matrix that is not
    positive-definite, NaNs and a positive info unless ``check_errors``."""
    try:
        return return_types.linalg_cholesky_ex(linalg_cholesky(A, upper=upper), _info(A))
    except LinAlgError:
        if check_errors:
            raise
    nan = zeros(A.shape, dtype=A.dtype, device=A.device) + math.nan
    return return_types.linalg_cholesky_ex(nan, _info(A, 1))


# --- LU -------------------------------------------------------------------------------------


def _lu_factor_grad(ns, g, y, o):
    """PyTorch's LU derivative (square ``A = P L U``): ``P L^-T (tril(L^T gL, -1) +
    triu(gU U^T)) U^-T``, ``y`` the permutation matrix ``P``."""
    n = o.shape[-1]
    lower = ns.tril(o, -1) + ns.identity(o, n)
    upper = ns.triu(o)
    phi = ns.tril(ns.matmul(ns.mT(lower), ns.tril(g, -1)), -1) + ns.triu(
        ns.matmul(ns.triu(g), ns.mT(upper))
    )
    left = ns.solve(ns.mT(lower), phi)
    return ns.matmul(y, ns.mT(ns.solve(upper, ns.mT(left))))


def _permutation_has_no_gradient(ns, g, y, o):
    raise RuntimeError("the permutation of lu_factor has no gradient")


LU_FACTOR = Op(
    "lu_factor",
    "LinalgLuFactorExBackward0",
    None,
    (_lu_factor_grad, _permutation_has_no_gradient),
    save=("y", "o"),
)


def _permutation_matrix(perm: Tensor, dtype: Any) -> Tensor:
    """``P`` with ``P[perm[i], i] = 1`` (so ``A = P L U`` when ``A[perm] = L U``)."""
    m = perm.shape[-1]
    identity = eye(m, dtype=dtype, device=perm.device)
    return mT(identity[perm])


def _lu_parts(A: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(LU, pivots, info, perm)`` of ``A``, ``LU`` differentiable (square ``A``)."""
    _matrix_input(A, "lu_factor", square=False)
    backend = A._backend
    lu, pivots, info = backend.lu_factor(A._data)
    perm = _wrap(backend.lu_permutation(pivots, A.shape[-2]), backend)
    if A.shape[-1] == A.shape[-2]:
        P = _permutation_matrix(perm, A.dtype)
        LU = record(LU_FACTOR, lu, backend, (A, P))
    elif A.requires_grad:
        raise NotImplementedError(
            "gpugrad.linalg.lu_factor: the gradient is implemented for square matrices only"
        )
    else:
        LU = _wrap(lu, backend)
    return LU, _wrap(pivots, backend), _wrap(info, backend), perm


def _no_pivoting(pivot: bool) -> None:
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


@declare("linalg_lu_factor", methods=(), export=False, rows=(LU_FACTOR,))
def lu_factor(A: Tensor, *, pivot: bool = True) -> Any:
    """``(LU, pivots)``: the LU decomposition with partial pivoting, packed as LAPACK's
    getrf (``L``'s unit diagonal not stored; 1-based int32 row swaps)."""
    _no_pivoting(pivot)
    LU, pivots, info, _ = _lu_parts(A)
    if int((info != 0).sum()):
        raise LinAlgError(
            "lu_factor",
            "The factorization could not be completed because the input is singular.",
        )
    return return_types.linalg_lu_factor(LU, pivots)


@declare("linalg_lu_factor_ex", methods=(), export=False)
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:
    """``(LU, pivots, info)``: ``lu_factor`` with LAPACK's info (the first zero pivot,
    1-based; 0 for none) instead of an error."""
    _no_pivoting(pivot)
    LU, pivots, info, _ = _lu_parts(A)
    if check_errors and int((info != 0).sum()):
        raise LinAlgError(
            "lu_factor_ex",
            "The factorization could not be completed because the input is singular.",
        )
    return return_types.linalg_lu_factor_ex(LU, pivots, info)


def _unpack(LU: Tensor, perm: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    m, n = LU.shape[-2], LU.shape[-1]
    k = min(m, n)
    L = tril(LU, -1)[..., :, :k] + eye(m, k, dtype=LU.dtype, device=LU.device)
    U = triu(LU)[..., :k, :]
    return _permutation_matrix(perm, LU.dtype), L, U


@declare("linalg_lu", methods=(), export=False)
def lu(A: Tensor, *, pivot: bool = True) -> Any:
    """``(P, L, U)`` with ``A = P L U``: ``L`` unit lower, ``U`` upper triangular."""
    _no_pivoting(pivot)
    LU, _, _, perm = _lu_parts(A)
    return return_types.linalg_lu(*_unpack(LU, perm))


@declare(methods=())
def lu_unpack(
    LU_data: Tensor,  # noqa: N803 - PyTorch's names
    LU_pivots: Tensor,  # noqa: N803
    unpack_data: bool = True,
    unpack_pivots: bool = True,
) -> Any:
    """``(P, L, U)`` from ``lu_factor``'s packed result."""
    perm = _wrap(
        LU_data._backend.lu_permutation(LU_pivots._data, LU_data.shape[-2]), LU_data._backend
    )
    P, L, U = _unpack(LU_data, perm)
    empty = zeros(0, dtype=LU_data.dtype, device=LU_data.device)
    return return_types.lu_unpack(
        P if unpack_pivots else empty, L if unpack_data else empty, U if unpack_data else empty
    )


def _rows_of(B: Tensor, perm: Tensor) -> Tensor:
    """``B[..., perm, :]`` for a (batched) permutation ``perm``."""
    index = perm.unsqueeze(-1).expand(*perm.shape, B.shape[-1])
    batch = tuple(max(a, b) for a, b in zip(index.shape[:-2], B.shape[:-2]))
    return gather(B.expand(*batch, *B.shape[-2:]), -2, index.expand(*batch, *index.shape[-2:]))


@declare("linalg_lu_solve", methods=(), export=False)
def lu_solve(
    LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False
) -> Tensor:
    """The solution of ``A X = B`` (``A^T X = B`` when ``adjoint``; ``X A = B`` when not
    ``left``) from ``A``'s ``lu_factor``."""
    if not left:
        return mT(lu_solve(LU, pivots, mT(B), adjoint=not adjoint))
    perm = _wrap(LU._backend.lu_permutation(pivots._data, LU.shape[-2]), LU._backend)
    if not adjoint:
        y = solve_triangular(LU, _rows_of(B, perm), upper=False, unitriangular=True)
        return solve_triangular(LU, y, upper=True)
    y = solve_triangular(mT(LU), B, upper=False)
    z = solve_triangular(mT(LU), y, upper=True, unitriangular=True)
    return matmul(_permutation_matrix(perm, LU.dtype), z)


@declare("lu", methods=("lu",))
def legacy_lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:
    """``(A_LU, pivots)`` (and ``infos`` when ``get_infos``): ``linalg.lu_factor_ex``."""
    LU, pivots, info = lu_factor_ex(A, pivot=pivot)
    return (LU, pivots, info) if get_infos else (LU, pivots)


@declare("lu_solve", methods=("lu_solve",))
def legacy_lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    return lu_solve(LU_data, LU_pivots, b)


# --- matrix functions -------------------------------------------------------------------


def _taylor_exp(A: Tensor) -> Tensor:
    """``exp(A)`` for ``||A||_1 <= 1/2``: the Taylor series to degree 18 (error ~1e-23)."""
    n = A.shape[-1]
    identity = eye(n, dtype=A.dtype, device=A.device)
    total = identity
    term = identity
    for k in range(1, 19):
        term = matmul(term, A) / k
        total = total + term
    return total


@declare(methods=("matrix_exp",))
def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of each square matrix in ``A`` (scaling and squaring of
    the Taylor series; differentiable through it)."""
    _matrix_input(A, "matrix_exp")
    if A.numel() == 0:
        return A.clone()
    norm = float(matrix_norm(A.detach(), 1).max())
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 and math.isfinite(norm) else 0
    out = _taylor_exp(A / (2**squarings))
    for _ in range(squarings):
        out = matmul(out, out)
    return out


@declare("linalg_multi_dot", methods=(), export=False)
def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of the matrices ``tensors`` (the first may be a row vector, the last
    a column vector, as in ``numpy.linalg.multi_dot``)."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            if i == 0:
                raise RuntimeError(
                    f"multi_dot(): the first tensor must be 1D or 2D but got {t.ndim}D"
                )
            if i == len(tensors) - 1:
                raise RuntimeError(
                    f"multi_dot(): the last tensor must be 1D or 2D but got {t.ndim}D"
                )
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


@declare(methods=())
def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of the 2-d ``matrices`` (``linalg.multi_dot``)."""
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


@declare("linalg_vander", methods=(), export=False)
def vander(x: Tensor, *, N: int | None = None) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of the last dimension of ``x``: ``x**0 ... x**(N-1)``."""
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension.")
    n = x.shape[-1] if N is None else N
    if n <= 1 and N is not None and N < 2:
        raise RuntimeError("linalg.vander: N must be greater than 1.")
    return _powers(x, n)


@declare("linalg_vecdot", methods=(), export=False)
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot products of ``x`` and ``y`` along ``dim`` (broadcast)."""
    return sum(mul(x, y), dim)


@declare("linalg_cond", methods=(), export=False)
def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number of each matrix in the ``p`` norm (``None``/2: the ratio of
    the extreme singular values; -2 its inverse; 'fro', 'nuc', inf, -inf, 1, -1 through
    the inverse)."""
    _matrix_input(A, "cond", square=p not in (None, 2, -2))
    if p is None or p in (2, -2):
        s = svdvals(A)
        high, low = s[..., 0], s[..., -1]
        return high / low if p != -2 else low / high
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def _product(shape: Sequence[int]) -> int:
    return math.prod(shape)


@declare("linalg_tensorinv", methods=(), export=False)
def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a linear map from its last dimensions (after
    ``ind``) to its first ``ind``."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    if _product(rows) != _product(cols):
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {_product(cols)} != {_product(rows)}"
        )
    square = A.reshape(_product(rows), _product(cols))
    return inv(square).reshape(*cols, *rows)


@declare("linalg_tensorsolve", methods=(), export=False)
def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) = B``."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        order = [d for d in range(A.ndim) if d not in dims] + list(dims)
        A = A.permute(*order)
    rest = A.shape[B.ndim :]
    square = A.reshape(_product(B.shape), _product(rest))
    return solve(square, B.reshape(-1)).reshape(*rest)


@declare("linalg_householder_product", methods=(), export=False)
def householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """The first ``n`` columns of ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^T`` with
    ``v_i`` column ``i`` of ``A`` below the diagonal and 1 on it (LAPACK's orgqr)."""
    m, n = A.shape[-2], A.shape[-1]
    k = tau.shape[-1]
    if not (m >= n >= k):
        raise RuntimeError(
            "torch.linalg.householder_product: input.shape[-2] must be greater than or "
            "equal to input.shape[-1]"
            if m < n
            else "torch.linalg.householder_product: input.shape[-1] must be greater than "
            "or equal to tau.shape[-1]"
        )
    V = tril(A, -1) + eye(m, n, dtype=A.dtype, device=A.device)
    Q = eye(m, n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], m, n)
    for i in reversed(range(k)):
        v = V[..., :, i : i + 1]
        Q = Q - mul(matmul(v, matmul(mT(v), Q)), tau[..., i : i + 1, None])
    return Q


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


@declare("linalg_lstsq", methods=(), export=False)
def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """``(solution, residuals, rank, singular_values)``: the least-squares solution of
    ``A X = B`` (through the pseudo-inverse, differentiable), with what PyTorch's CPU
    ``driver`` reports (``gelsy``, the default: rank; ``gelsd``/``gelss``: rank and
    singular values; residuals when ``m > n`` and ``A`` has full rank, except ``gelsy``)."""
    _matrix_input(A, "lstsq", square=False)
    if driver is None:
        driver = "gelsy"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    m, n = A.shape[-2], A.shape[-1]
    if rcond is None:
        rcond = _dtypes.finfo(A.dtype).eps * max(m, n)
    solution = matmul(pinv(A, rtol=rcond), rhs)
    s = svdvals(A.detach())
    rank = (s > rcond * s[..., :1]).sum(-1)
    empty = zeros(0, dtype=A.dtype, device=A.device)
    full_rank = bool((rank == min(m, n)).all())
    residuals = empty
    if driver != "gelsy" and m > n and full_rank:
        residuals = vector_norm(matmul(A, solution) - rhs, 2, -2) ** 2
    if driver == "gels":
        rank = zeros(0, dtype=_dtypes.int64, device=A.device)
    singular_values = s if driver in ("gelsd", "gelss") else empty
    if vector:
        solution = solution.squeeze(-1)
    return return_types.linalg_lstsq(solution, residuals, rank, singular_values)


def _complex_results(name: str) -> Any:
    def refuse(A: Tensor) -> Any:
        raise NotImplementedError(
            f"gpugrad.linalg.{name}: the eigenvalues of a general matrix are complex and "
            "gpugrad has no complex dtypes; use linalg.eigh/eigvalsh for symmetric matrices"
        )

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"PyTorch's ``linalg.{name}``: refused (its results are complex)."
    return refuse


eig = _complex_results("eig")
eigvals = _complex_results("eigvals")


@declare("linalg_diagonal", methods=(), export=False)
def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices in ``A`` (``Tensor.diagonal`` with matrix defaults)."""
    return _diagonal(A, offset, dim1, dim2)


# --- legacy top-level names -------------------------------------------------------------


@declare("svd", methods=("svd",))
def legacy_svd(input: Tensor, some: bool = True, compute_uv: bool = True) -> Any:
    """``(U, S, V)`` with ``input = U diag(S) V^T`` (``V``, not ``Vh``; ``some``: the
    reduced decomposition; without ``compute_uv``, ``U`` and ``V`` are zeros)."""
    if not compute_uv:
        m, n = input.shape[-2], input.shape[-1]
        k = min(m, n)
        batch = input.shape[:-2]
        U = zeros(*batch, m, k if some else m, dtype=input.dtype, device=input.device)
        V = zeros(*batch, n, k if some else n, dtype=input.dtype, device=input.device)
        return return_types.svd(U, svdvals(input), V)
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return return_types.svd(U, S, mT(Vh))


@declare("qr", methods=("qr",))
def legacy_qr(input: Tensor, some: bool = True) -> Any:
    """``(Q, R)``: ``linalg.qr`` in mode ``'reduced'`` (``some``) or ``'complete'``."""
    Q, R = linalg_qr(input, "reduced" if some else "complete")
    return return_types.qr(Q, R)


@declare("cholesky", methods=("cholesky",))
def legacy_cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``linalg.cholesky(input, upper=upper)``."""
    return linalg_cholesky(input, upper=upper)


@declare(methods=("cholesky_inverse",))
def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """The inverse of ``A = L L^T`` (``U^T U`` when ``upper``) from its Cholesky factor."""
    A = matmul(mT(L), L) if upper else matmul(L, mT(L))
    return inv(A)


@declare(methods=("cholesky_solve",))
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """The solution of ``A X = B`` for ``A = L L^T`` (``U^T U`` when ``upper``)."""
    lower = mT(L) if upper else L
    y = solve_triangular(lower, B, upper=False)
    return solve_triangular(mT(lower), y, upper=True)


@declare(methods=("pinverse",))
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``linalg.pinv(input, rtol=rcond)``."""
    return pinv(input, rtol=rcond)


@declare(methods=())
def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The nuclear norm (sum of singular values) over ``dim`` (default the last two)."""
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


@declare(methods=())
def frobenius_norm(input: Tensor, dim: Any = (-2, -1), keepdim: bool = False) -> Tensor:
    """The Frobenius norm (the 2-norm of the elements) over ``dim``."""
    return vector_norm(input, 2, dim, keepdim)


@declare(methods=("geqrf",))
def geqrf(input: Tensor) -> Any:
    """``(a, tau)``: the QR decomposition in LAPACK's packed Householder form (not
    differentiable, as PyTorch's)."""
    _matrix_input(input, "geqrf", square=False)
    backend = input._backend
    a, tau = backend.geqrf(input.detach()._data)
    return return_types.geqrf(_wrap(a, backend), _wrap(tau, backend))


@declare(methods=("orgqr",))
def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``linalg.householder_product(input, tau)``: ``Q`` from ``geqrf``'s result."""
    return householder_product(input, tau)


@declare(methods=("ormqr",))
def ormqr(
    input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False
) -> Tensor:
    """``other`` multiplied by ``Q`` (``Q^T`` when ``transpose``; from the right when not
    ``left``), ``Q`` given by ``geqrf``'s Householder vectors ``input`` and ``tau``."""
    m = input.shape[-2]
    k = tau.shape[-1]
    reflectors = input[..., :, :k]
    padding = zeros(*input.shape[:-2], m, m - k, dtype=input.dtype, device=input.device)
    Q = householder_product(cat([reflectors, padding], -1), tau)
    if transpose:
        Q = mT(Q)
    return matmul(Q, other) if left else matmul(other, Q)
