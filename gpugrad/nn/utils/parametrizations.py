"""``gpugrad.nn.utils.parametrizations``: ``orthogonal``, ``weight_norm`` and
``spectral_norm`` written as parametrizations (``parametrize.register_parametrization``),
as ``torch.nn.utils.parametrizations``."""

from __future__ import annotations

import math
from enum import Enum, auto

from ..._factories import eye, randn, zeros
from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ...ops.shape import cat
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _is_transposed_convolution, _normalize
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _matrix_exp(a: Tensor) -> Tensor:
    """``exp(a)`` of (a batch of) square matrices by scaling and squaring a degree-18
    Taylor polynomial, composed of matmuls so autograd differentiates it."""
    n = a.shape[-1]
    norm = float(a.detach().abs().sum(-2).amax()) if a.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm))) + 1 if norm > 0.5 else 0
    scaled = a / (2**squarings)
    identity = eye(n, dtype=a.dtype, device=a.device)
    result = identity + scaled * 0
    term = identity + scaled * 0
    for k in range(1, 19):
        term = term @ scaled / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first ``k`` columns of ``H_1 … H_k`` with ``H_i = I - tau_i v_i v_iᴴ``, ``v_i``
    column ``i`` of ``a`` below the diagonal with a 1 on it (``linalg.householder_product``)."""
    n, k = a.shape[-2], a.shape[-1]
    rows = eye(n, dtype=a.dtype, device=a.device)
    q = rows[:, :k].expand(*a.shape[:-2], n, k)
    for i in range(k - 1, -1, -1):
        below = a[..., :, i] * (rows[:, i].cumsum(0) - rows[:, i])  # entries past i
        v = below + rows[:, i]
        projection = (v.unsqueeze(-1) * (v.unsqueeze(-2) @ q)) * tau[..., i].unsqueeze(
            -1
        ).unsqueeze(-1)
        q = q - projection
    return q


def _make_orthogonal(a: Tensor) -> Tensor:
    """The ``Q`` of ``a``'s QR decomposition with the signs that make ``R``'s diagonal
    positive (the unique such ``Q``)."""
    from ...ops.linalg import qr

    q, r = qr(a)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    identity = eye(k, dtype=q.dtype, device=q.device)
    eps = 10.0 * n * (2.220446049250313e-16 if q.dtype.name == "float64" else 1.1920929e-07)
    return bool(((q.mH @ q) - identity).abs().le(eps).all())


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    base: Tensor

    def __init__(
        self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        if weight.dtype.name.startswith("complex") and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                pad = zeros(n, n - k, dtype=X.dtype, device=X.device)
                X = cat([X, pad.expand(*X.shape[:-2], n, n - k)], -1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = _matrix_exp(A)
            else:
                from ...linalg import solve

                identity = eye(n, dtype=A.dtype, device=A.device)
                Q = solve(identity - 0.5 * A, identity + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = _householder_product(A, tau)
            signs = X.diagonal(dim1=-2, dim2=-1).trunc()  # PyTorch's ``.int()``
            Q = Q * signs.unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """The ``original`` whose parametrization is ``Q`` (with trivialization: ``-I``,
        ``Q``'s orthogonalization kept in the buffer ``base``)."""
        with no_grad():
            if tuple(Q.shape) != tuple(self.shape):
                raise ValueError(
                    f"Expected a matrix or batch of matrices of shape {self.shape}. "
                    f"Got a tensor of shape {Q.shape}."
                )
            q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                raise NotImplementedError(
                    "right_inverse without the trivialization (use_trivialization=False) is "
                    "not supported by gpugrad"
                )
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:
                extra = randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(cat([Q, extra], -1))
            self.base = Q
            neg_identity = zeros(*q_init.shape, dtype=q_init.dtype, device=q_init.device)
            rows, cols = q_init.shape[-2], q_init.shape[-1]
            return neg_identity - eye(rows, cols, dtype=q_init.dtype, device=q_init.device)


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrain ``module.<name>`` (a matrix or batch of matrices) to be orthogonal, by
    ``orthogonal_map`` ``"matrix_exp"``, ``"cayley"`` or ``"householder"`` (default: the
    first for square matrices, else the last)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions."
        )
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = (
            "matrix_exp" if square or weight.dtype.name.startswith("complex") else "householder"
        )
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    if orth_enum == _OrthMaps.householder and not use_trivialization:
        raise NotImplementedError(
            "orthogonal(orthogonal_map='householder', use_trivialization=False) needs "
            "geqrf, which gpugrad does not have; use the default use_trivialization=True"
        )
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """``(g, v) = (||weight||, weight)``, the norm over every dim but ``dim``."""
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``: ``original0`` is ``g``,
    ``original1`` is ``v``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                f"but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.shape
            with no_grad():
                u = randn(h, dtype=weight.dtype, device=weight.device)
                v = randn(w, dtype=weight.dtype, device=weight.device)
                self.register_buffer("_u", _normalize(u, self.eps))
                self.register_buffer("_v", _normalize(v, self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """``u = normalize(W v)``, ``v = normalize(Wᴴ u)``, in place in the buffers."""
        with no_grad():
            for _ in range(n_power_iterations):
                self._u[...] = _normalize(weight_mat.mv(self._v), self.eps)
                self._v[...] = _normalize(weight_mat.mH.mv(self._u), self.eps)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return _normalize(weight, self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = u.vdot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        """Any weight is its own preimage (``sigma`` is recomputed)."""
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Reparametrize ``module.<name>`` as ``weight / sigma(weight)``, ``sigma`` the
    spectral norm estimated by power iteration on the buffers ``_u`` and ``_v`` (15
    iterations at registration, ``n_power_iterations`` per forward in training)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if _is_transposed_convolution(module) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module
