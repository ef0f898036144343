"""Matrix products: ``matmul`` (1-D, 2-D, batched and broadcast), ``mm``, ``bmm``, ``mv``,
``dot``, ``outer``; ``einsum`` and its relatives (``tensordot inner kron addmm baddbmm addmv
addbmm``); norms and distances (``norm dist cdist``, ``linalg.vector_norm``/``matrix_norm``);
the matrix functions and decompositions behind ``gpugrad.linalg``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._factories import zeros_like
from .._graph import FREED, SECOND_BACKWARD, Node, Op, edge_of, named_node, new_node
from .._tensor import Tensor, _wrap, _wrap_result
from .._tensor import grad_enabled as _grad_enabled
from ..backends import dtypes as _dtypes
from ..backends.array_backend import LinAlgError as _LinAlgError
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .elementwise import abs, clamp, maximum, mul, where
from .index import getitem
from .reduce import _dims, _expand_reduced, _reduce, amax, amin, sum
from .registry import alias, declare
from .shape import broadcast_shapes, mT, permute, reshape, squeeze, stack, unsqueeze
from .transfer import _tensor_type_name, to_dtype


def _matmul_grad_x(ns, g, x, y):
    if y.ndim == 1:
        if x.ndim == 1:
            return g * y
        return ns.unsqueeze(g, -1) * y
    if x.ndim == 1:
        return ns.reshape(
            ns.sum_to(ns.matmul(ns.unsqueeze(g, -2), ns.mT(y)), (1, x.shape[0])), x.shape
        )
    return ns.matmul(g, ns.mT(y))


def _matmul_grad_y(ns, g, x, y):
    if x.ndim == 1:
        if y.ndim == 1:
            return g * x
        return ns.unsqueeze(x, -1) * ns.unsqueeze(g, -2)
    if y.ndim == 1:
        return ns.reshape(
            ns.sum_to(ns.matmul(ns.mT(x), ns.unsqueeze(g, -1)), (y.shape[0], 1)), y.shape
        )
    return ns.matmul(ns.mT(x), g)


def _matmul_row(node: str) -> Op:
    return Op(
        "matmul", node, None, (_matmul_grad_x, _matmul_grad_y), save=("x", "y"), broadcasts=True
    )


DOT = _matmul_row("DotBackward0")
MV = _matmul_row("MvBackward0")
VM = _matmul_row("SqueezeBackward4")
MM = _matmul_row("MmBackward0")
BMM = _matmul_row("BmmBackward0")
MATMUL = _matmul_row("UnsafeViewBackward0")


def _dtype_name(t: Tensor) -> str:
    return {
        "float32": "float",
        "float64": "double",
        "float16": "c10::Half",
        "int64": "long int",
        "int32": "int",
    }.get(t.dtype.name, t.dtype.name)


def _shape_error(a, b) -> RuntimeError:
    sa, sb = a.shape, b.shape
    if a.ndim == 1 and b.ndim == 1:
        return RuntimeError(
            f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have the "
            f"same number of elements, but got {sa[0]} and {sb[0]} elements respectively"
        )
    if a.ndim == 2 and b.ndim == 1:
        return RuntimeError(
            f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{sa[1]}), vec ({sb[0]})"
        )
    if a.ndim <= 2 and b.ndim <= 2:
        left = f"{sa[-2] if a.ndim == 2 else 1}x{sa[-1]}"
        right = f"{sb[0]}x{sb[1] if b.ndim == 2 else 1}"
        return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")
    return RuntimeError(
        f"matmul: shapes {list(sa)} and {list(sb)} cannot be multiplied (the last dimension "
        "of the first must equal the second-to-last of the second, and batch dimensions "
        "must broadcast)"
    )


@declare(methods=("matmul", "__matmul__"), rows=(DOT, VM, MV, MM, MATMUL))
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """The matrix product with NumPy/PyTorch broadcasting of batch dimensions."""
    backend = input._backend
    if other._backend is not backend:
        raise _device_error(input, other)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dtype_name(input)} != "
            f"{_dtype_name(other)}"
        )
    try:
        out = backend.matmul(a, b)
    except ValueError:
        raise _shape_error(a, b) from None
    if a.ndim == 1:
        op = DOT if b.ndim == 1 else VM if b.ndim == 2 else MATMUL
    elif a.ndim == 2:
        op = MV if b.ndim == 1 else MM if b.ndim == 2 else MATMUL
    else:
        op = MATMUL
    node_out = _record(op, out, backend, (input, other))
    if node_out.grad_fn is not None:
        node_out.grad_fn.shapes = (a.shape, b.shape)
    return node_out


def _require_dims(t: Tensor, ndim: int, message: str) -> None:
    if t._data.ndim != ndim:
        raise RuntimeError(message)


@declare()
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Matrix product of two 2-D tensors."""
    _require_dims(input, 2, "self must be a matrix")
    _require_dims(mat2, 2, "mat2 must be a matrix")
    _refuse_bool("addmm_impl_cpu_", input)
    return matmul(input, mat2)


def _refuse_bool(kernel: str, input: Tensor) -> None:
    """PyTorch has no bool kernel for products (``"dot" not implemented for 'Bool'``)."""
    if input._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


@declare()
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a 2-D matrix and a 1-D vector."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}"
        )
    return matmul(input, vec)


@declare(rows=(BMM,))
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of ``(b, n, m)`` and ``(b, m, p)`` tensors."""
    _require_dims(input, 3, "batch1 must be a 3D tensor")
    _require_dims(mat2, 3, "batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input._data.shape[0]}, {input._data.shape[2]}] but got: "
            f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}]."
        )
    out = matmul(input, mat2)
    if out.grad_fn is not None:
        out.grad_fn.op = BMM
    return out


@declare()
def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        names = _dtypes.SCALAR_TYPE_NAMES
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{names[a.dtype.name]} and {names[b.dtype.name]}"
        )
    _refuse_bool("dot", input)
    return matmul(input, other)


@declare()
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors (``ger`` is its old name)."""
    return mul(unsqueeze(input, 1), vec2)


ger = outer
alias("ger", "outer", methods=())


@declare("__rmatmul__", methods=("__rmatmul__",), export=False)
def _reversed_matmul(self: Tensor, other: Tensor) -> Tensor:
    return matmul(other, self)


# --- einsum -------------------------------------------------------------------------------
# An einsum runs as a chain of steps along the backend's optimized contraction path: a
# one-operand step (diagonal, summing out a letter no one else has, dropping a broadcast
# size-1 axis, the final permutation) and two-operand contractions. Each step is a node
# whose gradients are again einsums (of the gradient and the other operand), so any order
# of derivative is an einsum too.


def _einsum_reduce_grad(ns, g, spec_in, spec_out, shape):
    """Undo a one-operand step: put ``g`` (``spec_out``) back on the unique letters of
    ``spec_in`` (broadcast along summed-out letters), then onto repeated letters'
    diagonals (an einsum with identity matrices)."""
    unique = "".join(dict.fromkeys(spec_in))
    sizes = {letter: n for letter, n in zip(spec_in, shape)}
    kept = [letter for letter in unique if letter in spec_out]
    if list(spec_out) != kept:
        g = ns.permute(g, tuple(spec_out.index(letter) for letter in kept))
    if len(kept) != len(unique):
        g = ns.reshape(g, tuple(sizes[c] if c in spec_out else 1 for c in unique))
        g = ns.expand(g, tuple(sizes[c] for c in unique))
    if unique == spec_in:
        return g
    fresh = iter(letter for letter in _LETTERS if letter not in spec_in)
    renamed, eyes, seen = [], [], set()
    for letter in spec_in:
        if letter in seen:
            other = next(fresh)
            eyes.append(letter + other)
            renamed.append(other)
        else:
            seen.add(letter)
            renamed.append(letter)
    spec = ",".join([unique, *eyes]) + "->" + "".join(renamed)
    return ns.einsum(spec, g, *[ns.identity(g, sizes[e[0]]) for e in eyes])


EINSUM_REDUCE = Op(
    "einsum",
    "EinsumReduceBackward0",
    None,
    (_einsum_reduce_grad,),
    attrs=("spec_in", "spec_out", "shape"),
)
EINSUM = Op(
    "einsum",
    "EinsumBackward0",
    None,
    (
        lambda ns, g, x, y, spec_x, spec_y, spec_out: ns.einsum(
            f"{spec_out},{spec_y}->{spec_x}", g, y
        ),
        lambda ns, g, x, y, spec_x, spec_y, spec_out: ns.einsum(
            f"{spec_out},{spec_x}->{spec_y}", g, x
        ),
    ),
    save=("x", "y"),
    attrs=("spec_x", "spec_y", "spec_out"),
)

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_subscripts(equation: str, operands: Sequence[Tensor]) -> tuple[list[str], str]:
    """Each operand's letters and the output's, ellipses spelled out as letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise RuntimeError(
            f"einsum(): {len(inputs)} operands were specified in the equation but "
            f"{len(operands)} were given"
        )
    for spec in [*inputs, rhs]:
        for c in spec.replace("...", ""):
            if c not in _LETTERS:
                raise RuntimeError(
                    f"einsum(): invalid subscript given at index {equation.index(c)} in the "
                    "equation string, subscripts must be in [a-zA-Z]"
                )
    used = set(equation)
    spare = [c for c in reversed(_LETTERS) if c not in used]
    ranks = []
    for spec, t in zip(inputs, operands):
        named = len(spec.replace("...", ""))
        if "..." not in spec and named != t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match "
                f"the number of dimensions ({t.ndim}) for operand {len(ranks)} and no "
                "ellipsis was given"
            )
        if "..." in spec and named > t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) is more than "
                f"the number of dimensions ({t.ndim}) for operand {len(ranks)}"
            )
        ranks.append(t.ndim - named if "..." in spec else 0)
    ellipsis = "".join(spare[: max(ranks, default=0)])[::-1]
    specs = [
        spec.replace("...", ellipsis[len(ellipsis) - r :] if r else "")
        for spec, r in zip(inputs, ranks)
    ]
    if arrow:
        out = rhs.replace("...", ellipsis)
        for c in out:
            if not any(c in s for s in specs):
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
            if out.count(c) > 1:
                raise RuntimeError(
                    f"einsum(): output subscript {c} appears more than once in the output"
                )
    else:
        counts = Counter("".join(specs))
        out = ellipsis + "".join(
            sorted((c for c in counts if counts[c] == 1 and c not in ellipsis), key=_sort_key)
        )
    return specs, out


def _sort_key(letter: str) -> tuple[bool, str]:
    return (letter.islower(), letter)  # PyTorch orders implicit outputs A-Z, then a-z


def _einsum_reduce(t: Tensor, spec_in: str, spec_out: str) -> Tensor:
    data = t._data
    out = t._backend.einsum(f"{spec_in}->{spec_out}", data)
    return _record(EINSUM_REDUCE, out, t._backend, (t,), (spec_in, spec_out, data.shape))


@declare(methods=(), rows=(EINSUM_REDUCE, EINSUM))
def einsum(equation: str, *operands: Any) -> Tensor:
    """Sums of products over the index letters of ``equation`` (PyTorch's ``einsum``:
    ellipsis broadcasting, repeated letters for diagonals and traces, implicit output),
    contracted pairwise along the backend's optimized path."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    backend = operands[0]._backend
    for t in operands[1:]:
        if t._backend is not backend:
            raise _device_error(operands[0], t)
    specs, out_spec = _einsum_subscripts(equation, operands)
    sizes: dict[str, int] = {}
    for i, (spec, t) in enumerate(zip(specs, operands)):
        for c, n in zip(spec, t.shape):
            seen = sizes.get(c)
            if seen is not None and seen != n and n != 1 and seen != 1:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {seen}"
                )
            if seen is None or seen == 1:
                sizes[c] = n
    dtype = operands[0].dtype
    for t in operands[1:]:
        if t.dtype != dtype:
            raise RuntimeError(
                f"expected scalar type {_dtypes.SCALAR_TYPE_NAMES[dtype.name]} but found "
                f"{_dtypes.SCALAR_TYPE_NAMES[t.dtype.name]}"
            )
    tensors = list(operands)
    # One-operand steps first: diagonals, letters no one else has, broadcast size-1 axes.
    for i, (spec, t) in enumerate(zip(specs, tensors)):
        elsewhere = out_spec + "".join(s for j, s in enumerate(specs) if j != i)
        keep = "".join(
            c
            for c in dict.fromkeys(spec)
            if c in elsewhere and not (t.shape[spec.index(c)] == 1 and sizes[c] != 1)
        )
        if keep != spec:
            tensors[i] = _einsum_reduce(t, spec, keep)
            specs[i] = keep
    for left, right in backend.einsum_pairs(specs, out_spec, [t.shape for t in tensors]):
        spec_x, spec_y = specs[left], specs[right]
        x, y = tensors[left], tensors[right]
        rest = out_spec + "".join(s for j, s in enumerate(specs) if j not in (left, right))
        if len(specs) == 2:
            spec_out = "".join(c for c in out_spec if c in spec_x + spec_y)
        else:
            spec_out = "".join(c for c in dict.fromkeys(spec_x + spec_y) if c in rest)
        data = backend.einsum(f"{spec_x},{spec_y}->{spec_out}", x._data, y._data)
        z = _record(EINSUM, data, backend, (x, y), (spec_x, spec_y, spec_out))
        for j in sorted((left, right), reverse=True):
            del specs[j], tensors[j]
        specs.append(spec_out)
        tensors.append(z)
    (result,), (spec,) = tensors, specs
    if spec != out_spec or result is operands[0]:
        result = _einsum_reduce(result, spec, out_spec)
    return result


# --- matrix functions and decompositions (gpugrad.linalg) --------------------------------
LinAlgError = _LinAlgError


class MultiOutputNode(Node):
    """The node of an op with several differentiable outputs (``qr``, ``svd``, ``eigh``):
    its row's one formula gets a tuple of output gradients (``None`` where an output got
    none) and the outputs themselves, ``o``, as a tuple."""

    __slots__ = ("n_outputs",)

    tensor_namespace: Any = None
    """``gpugrad.ops.backward_ns``, which sets it on import (it imports this module)."""

    def apply_multi(self, grads: list, tensor_mode: bool, retain_graph: bool) -> list:
        op = self.op
        if self.saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        if tensor_mode:
            ns = self.tensor_namespace
            outs = tuple(_wrap_result(o, self.backend, self, i) for i, o in enumerate(self.out))
        else:
            ns = self.backend
            outs = self.out
        result = op.composite[0](ns, tuple(grads), outs, *self.attrs)
        if not retain_graph:
            self.saved = FREED
            self.out = None
        return [result]


def _record_multi(op: Op, outs: tuple, backend: Any, input: Tensor, attrs: tuple) -> tuple:
    """Wrap ``outs``; when a gradient is needed, all of them share one ``MultiOutputNode``."""
    if not (_grad_enabled() and input.requires_grad):
        return tuple(_wrap(o, backend) for o in outs)
    node = new_node(MultiOutputNode, op, (edge_of(input),), (), outs, attrs, backend)
    node.n_outputs = len(outs)
    return tuple(_wrap_result(o, backend, node, i) for i, o in enumerate(outs))


def _square(A: Tensor, name: str) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )


def _floating(A: Tensor, name: str) -> None:
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
            f"{_dtypes.SCALAR_TYPE_NAMES[A.dtype.name]}"
        )


def _matrix_input(A: Tensor, name: str, square: bool = True) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(
            f"linalg_{name}(): argument 'A' (position 1) must be Tensor, not {type(A).__name__}"
        )
    _floating(A, name)
    if square:
        _square(A, name)
    elif A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")


def _singular(name: str, what: str) -> LinAlgError:
    return LinAlgError(name, what)


def _inv_grad(ns, g, o):
    t = ns.mT(o)
    return -ns.matmul(ns.matmul(t, g), t)


INV = Op("inv", "LinalgInvExBackward0", None, (_inv_grad,), save=("o",))


@declare("inverse", rows=(INV,))
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix in ``A`` (``linalg.inv``, ``Tensor.inverse``)."""
    _matrix_input(A, "inv")
    try:
        out = A._backend.inv(A._data)
    except LinAlgError:
        raise _singular(
            "inv",
            "The inversion could not be completed because the input matrix is singular.",
        ) from None
    return _record(INV, out, A._backend, (A,))


def _det_grad(ns, g, x, o):
    return ns.unsqueeze(ns.unsqueeze(g * o, -1), -1) * ns.mT(ns.inv(x))


DET = Op("det", "LinalgDetBackward0", None, (_det_grad,), save=("x", "o"))


@declare(rows=(DET,))
def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix in ``A``. Its gradient uses ``A``'s inverse,
    so it is not defined at singular matrices here (PyTorch's is)."""
    _matrix_input(A, "det")
    return _record(DET, A._backend.det(A._data), A._backend, (A,))


def _logabsdet_grad(ns, g, x):
    return ns.unsqueeze(ns.unsqueeze(g, -1), -1) * ns.mT(ns.inv(x))


SLOGDET = Op("slogdet", "LinalgSlogdetBackward0", None, (_logabsdet_grad,), save=("x",))


class SignLogAbsDet(NamedTuple):
    """``(sign, logabsdet)``, as ``torch.return_types.linalg_slogdet``."""

    sign: Tensor
    logabsdet: Tensor


@declare(rows=(SLOGDET,))
def slogdet(A: Tensor) -> tuple[Tensor, Tensor]:
    """``(sign, log|det A|)`` of each square matrix; the sign has no gradient."""
    _matrix_input(A, "slogdet")
    sign, logabsdet = A._backend.slogdet(A._data)
    return SignLogAbsDet(_wrap(sign, A._backend), _record(SLOGDET, logabsdet, A._backend, (A,)))


def _solve_grad_b(ns, g, x, o):
    return ns.solve(ns.mT(x), g)


def _solve_grad_a(ns, g, x, o):
    return -ns.matmul(ns.solve(ns.mT(x), g), ns.mT(o))


SOLVE = Op(
    "solve",
    "LinalgSolveExBackward0",
    None,
    (_solve_grad_a, _solve_grad_b),
    save=("x", "o"),
    broadcasts=True,
)


def solve_matrix(A: Tensor, B: Tensor) -> Tensor:
    """``X`` with ``A X = B`` for a matrix (or batch of matrices) ``B``."""
    backend = A._backend
    try:
        out = backend.solve(A._data, B._data)
    except LinAlgError:
        raise _singular(
            "solve",
            "The solver failed because the input matrix is singular.",
        ) from None
    node_out = _record(SOLVE, out, backend, (A, B))
    if node_out.grad_fn is not None:
        node_out.grad_fn.shapes = (A.shape, B.shape)
    return node_out


@declare("linalg_solve", methods=(), export=False, rows=(SOLVE,))
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left=False``); ``B`` is a
    batch of vectors when its shape is ``A``'s without the last dimension, as PyTorch's."""
    _matrix_input(A, "solve")
    if A._backend is not B._backend:
        raise _device_error(A, B)
    if A.dtype != B.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_dtypes.SCALAR_TYPE_NAMES[A.dtype.name]} and B of type "
            f"{_dtypes.SCALAR_TYPE_NAMES[B.dtype.name]} instead"
        )
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        if vector:
            raise RuntimeError(
                "linalg.solve: Vector broadcasting of the left hand side is not "
                "supported for left=False. In this case linalg.solve is "
                "equivalent to B / A.squeeze(-1)"
            )
        return solve(A.mT, B.mT).mT
    rhs = unsqueeze(B, -1) if vector else B
    n = A.shape[-1]
    if rhs.ndim < 2 or rhs.shape[-2] != n:
        rows = rhs.shape[-2] if rhs.ndim >= 2 else rhs.shape[-1]
        cols = rhs.shape[-1] if rhs.ndim >= 2 else 1
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({n}x{n} and {rows}x{cols})"
        )
    out = solve_matrix(A, rhs)
    return squeeze(out, -1) if vector else out


def _cholesky_grad(ns, g, o):
    # A = L L^T: gA = L^{-T} Phi(L^T gL) L^{-1}, symmetrized; Phi keeps the lower
    # triangle and halves the diagonal.
    phi = ns.matmul(ns.mT(o), g) * ns.tril_weights(o, 0.5)
    inverse = ns.inv(o)
    ga = ns.matmul(ns.matmul(ns.mT(inverse), phi), inverse)
    return (ga + ns.mT(ga)) * 0.5


CHOLESKY = Op("cholesky", "LinalgCholeskyExBackward0", None, (_cholesky_grad,), save=("o",))


@declare("linalg_cholesky", methods=(), export=False, rows=(CHOLESKY,))
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor ``L`` (``A = L L^T``) of each symmetric positive-definite matrix
    (``U = L^T`` when ``upper``); reads ``A``'s lower triangle."""
    _matrix_input(A, "cholesky")
    try:
        out = A._backend.cholesky(A._data)
    except LinAlgError:
        raise _singular(
            "cholesky",
            "The factorization could not be completed because the input is not positive-definite.",
        ) from None
    L = _record(CHOLESKY, out, A._backend, (A,))
    return mT(L) if upper else L


def _qr_grad(ns, grads, o, mode):
    gq, gr = grads
    q, r = o
    if mode == "r":
        raise RuntimeError(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
            "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
            "through linalg.qr."
        )
    if mode == "complete" and q.shape[-1] != r.shape[-1]:
        raise NotImplementedError(
            "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
        )
    if r.shape[-2] < r.shape[-1]:
        raise NotImplementedError(
            "gpugrad: the gradient of linalg.qr is implemented for matrices with at least as "
            "many rows as columns"
        )
    # Walter & Lehmann: M = R gR^T - gQ^T Q; gA = (gQ + Q copyltu(M)) R^{-T}.
    m = None
    if gr is not None:
        m = ns.matmul(r, ns.mT(gr))
    if gq is not None:
        m = -ns.matmul(ns.mT(gq), q) if m is None else m - ns.matmul(ns.mT(gq), q)
    lower = m * ns.tril_weights(m, 1.0)
    strictly = m * ns.tril_weights(m, 0.0)
    ga = ns.matmul(q, lower + ns.mT(strictly))
    if gq is not None:
        ga = ga + gq
    return ns.mT(ns.solve(r, ns.mT(ga)))


QR = Op("qr", "LinalgQrBackward0", None, (_qr_grad,), save=("o",), attrs=("mode",))


class QRResult(NamedTuple):
    """``(Q, R)``, as ``torch.return_types.linalg_qr``."""

    Q: Tensor
    R: Tensor


@declare("linalg_qr", methods=(), export=False, rows=(QR,))
def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """``A = Q R`` with orthonormal columns ``Q`` and upper-triangular ``R``."""
    _matrix_input(A, "qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            "qr received unrecognized mode '" + str(mode) + "' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    q, r = A._backend.qr(A._data, mode)
    return QRResult(*_record_multi(QR, (q, r), A._backend, A, (mode,)))


def _svd_grad(ns, grads, o, full_matrices):
    gu, gs, gvh = grads
    u, s, vh = o
    k = s.shape[-1]
    if full_matrices:
        u = ns.getitem(u, (Ellipsis, slice(0, k)))
        vh = ns.getitem(vh, (Ellipsis, slice(0, k), slice(None)))
        if gu is not None:
            gu = ns.getitem(gu, (Ellipsis, slice(0, k)))
        if gvh is not None:
            gvh = ns.getitem(gvh, (Ellipsis, slice(0, k), slice(None)))
    m, n = u.shape[-2], vh.shape[-1]
    if gu is None and gvh is None:
        return ns.matmul(u * ns.unsqueeze(gs, -2), vh)
    s_row = ns.unsqueeze(s, -2)
    s_col = ns.unsqueeze(s, -1)
    s2 = s * s
    e = ns.unsqueeze(s2, -2) - ns.unsqueeze(s2, -1) + ns.identity(s, k)
    if gu is not None:
        uhgu = ns.matmul(ns.mT(u), gu)
        uhgu = uhgu - ns.mT(uhgu)
    if gvh is not None:
        vhgv = ns.matmul(vh, ns.mT(gvh))
        vhgv = vhgv - ns.mT(vhgv)
    if gu is not None and gvh is not None:
        ga = (uhgu * s_row + s_col * vhgv) / e
    elif gu is not None:
        ga = uhgu * (s_row / e)
    else:
        ga = s_col * (vhgv / e)
    if gs is not None:
        ga = ga + ns.unsqueeze(gs, -1) * ns.identity(s, k)
    if m > k and gu is not None:
        ga = ns.matmul(u, ga)
        gu_s = gu / s_row
        ga = ga + gu_s - ns.matmul(u, ns.matmul(ns.mT(u), gu_s))
        return ns.matmul(ga, vh)
    if n > k and gvh is not None:
        ga = ns.matmul(ga, vh)
        gvh_s = gvh / s_col
        ga = ga + gvh_s - ns.matmul(ns.matmul(gvh_s, ns.mT(vh)), vh)
        return ns.matmul(u, ga)
    return ns.matmul(ns.matmul(u, ga), vh)


SVD = Op("svd", "LinalgSvdBackward0", None, (_svd_grad,), save=("o",), attrs=("full_matrices",))


class SVDResult(NamedTuple):
    """``(U, S, Vh)``, as ``torch.return_types.linalg_svd``."""

    U: Tensor
    S: Tensor
    Vh: Tensor


@declare("linalg_svd", methods=(), export=False, rows=(SVD,))
def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """``A = U diag(S) Vh``, singular values in descending order. Gradients of ``U`` and
    ``Vh`` are defined up to their sign, as PyTorch's: differentiate functions that do not
    depend on it."""
    _matrix_input(A, "svd", square=False)
    try:
        u, s, vh = A._backend.svd(A._data, full_matrices)
    except LinAlgError:
        raise _singular("svd", "The algorithm failed to converge.") from None
    return SVDResult(*_record_multi(SVD, (u, s, vh), A._backend, A, (full_matrices,)))


@declare("linalg_svdvals", methods=(), export=False)
def svdvals(A: Tensor) -> Tensor:
    """The singular values of ``A``, descending."""
    _matrix_input(A, "svdvals", square=False)
    if not (_grad_enabled() and A.requires_grad):
        return _wrap(A._backend.svdvals(A._data), A._backend)
    return svd(A, full_matrices=False).S


def _eigh_grad(ns, grads, o):
    gl, gv = grads
    values, vectors = o
    n = values.shape[-1]
    inner = 0
    if gv is not None:
        vhgv = ns.matmul(ns.mT(vectors), gv)
        e = ns.unsqueeze(values, -2) - ns.unsqueeze(values, -1) + ns.identity(values, n)
        inner = (vhgv - ns.mT(vhgv)) * 0.5 / e
    if gl is not None:
        inner = inner + ns.unsqueeze(gl, -1) * ns.identity(values, n)
    return ns.matmul(ns.matmul(vectors, inner), ns.mT(vectors))


EIGH = Op("eigh", "LinalgEighBackward0", None, (_eigh_grad,), save=("o",))


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)``, as ``torch.return_types.linalg_eigh``."""

    eigenvalues: Tensor
    eigenvectors: Tensor


@declare("linalg_eigh", methods=(), export=False, rows=(EIGH,))
def eigh(A: Tensor, UPLO: str = "L") -> EighResult:  # noqa: N803 - PyTorch's name
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, read
    from the triangle ``UPLO``."""
    _matrix_input(A, "eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    try:
        w, v = A._backend.eigh(A._data, UPLO)
    except LinAlgError:
        raise _singular("eigh", "The algorithm failed to converge.") from None
    return EighResult(*_record_multi(EIGH, (w, v), A._backend, A, ()))


@declare("linalg_eigvalsh", methods=(), export=False)
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803 - PyTorch's name
    """The eigenvalues (ascending) of symmetric matrices."""
    _matrix_input(A, "eigvalsh")
    if not (_grad_enabled() and A.requires_grad):
        return _wrap(A._backend.eigvalsh(A._data, UPLO), A._backend)
    return eigh(A, UPLO).eigenvalues


def identity(like: Tensor, n: int) -> Tensor:
    """The ``n`` by ``n`` identity in ``like``'s dtype and device (for the formulas)."""
    return _wrap(like._backend.identity(like._data, n), like._backend)


def tril_weights(like: Tensor, diagonal: float) -> Tensor:
    """The backend's ``tril_weights`` as a constant tensor (for the formulas)."""
    return _wrap(like._backend.tril_weights(like._data, diagonal), like._backend)


# --- norms and distances -----------------------------------------------------------------
def _vector_norm_grad(ns, g, x, o, shape, keep, ord, axes):
    """PyTorch's ``norm_backward`` for every ``ord``: 0 has none; 1 is the sign; 2 is
    ``x / norm`` (0 where the norm is); inf/-inf share among the elements at the
    extreme; the rest ``sign * |x|^(p-1) / norm^(p-1)``."""
    if ord == 0:  # no gradient at all (``.grad`` stays None), as PyTorch's
        return None
    g = _expand_reduced(ns, g, shape, keep)
    norm = ns.reshape(o, keep)
    if ord == 2:
        return g * x / ns.where(norm == 0, 1, norm)  # x is all zeros there: gradient 0
    sign = ns.sign(x)
    if ord == 1:
        return sign * g
    magnitude = x * sign
    if ord in (math.inf, -math.inf):
        mask = ns.astype(magnitude == norm, g.dtype)
        return sign * (g / ns.sum(mask, axes, True) * mask)
    if ord < 1:
        scaled = ns.where(x == 0, 0, magnitude ** (ord - 1)) * g * norm ** (1 - ord)
        return sign * scaled
    if ord < 2:
        return ns.where(norm == 0, 0, sign * magnitude ** (ord - 1) * g / norm ** (ord - 1))
    return ns.where(norm == 0, 0, x * magnitude ** (ord - 2) * g / norm ** (ord - 1))


VECTOR_NORM = Op(
    "vector_norm",
    "LinalgVectorNormBackward0",
    None,
    (_vector_norm_grad,),
    save=("x", "o"),
    attrs=("shape", "keep", "ord", "axes"),
)


@declare(methods=(), export=False, rows=(VECTOR_NORM,))
def vector_norm(
    x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when ``None``), as
    ``torch.linalg.vector_norm``: ``inf``/``-inf`` are max/min of ``|x|``, ``0`` counts
    non-zeros."""
    if isinstance(ord, (str, bool)):
        raise TypeError(
            f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}"
        )
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_dtypes.SCALAR_TYPE_NAMES[x.dtype.name]}"
        )
    if dtype is not None:
        if not _dtypes.as_dtype(dtype).is_floating_point:
            raise RuntimeError(
                "linalg.vector_norm: dtype should be floating point or complex, but got "
                f"{_dtypes.SCALAR_TYPE_NAMES[_dtypes.as_dtype(dtype).name]}"
            )
        x = to_dtype(x, dtype)
    if x._data.size == 0 and (ord < 0 or ord == float("inf")):
        _refuse_empty_extreme_norm(x, ord, dim)
    axes = _dims(x.ndim, dim) if x.ndim else ()
    if ord == 2:
        return _reduce(x, dim, keepdim, _euclidean_norm, VECTOR_NORM, VECTOR_NORM, ord, axes)
    plain = x.detach()  # the value; one LinalgVectorNormBackward0 node records it
    magnitude = abs(plain)
    if ord == float("inf"):
        out = amax(magnitude, () if dim is None else dim, keepdim)
    elif ord == float("-inf"):
        out = amin(magnitude, () if dim is None else dim, keepdim)
    elif ord == 0:
        out = sum(to_dtype(plain != 0, x.dtype), dim, keepdim)
    elif ord == 1:
        out = sum(magnitude, dim, keepdim)
    else:
        out = sum(magnitude**ord, dim, keepdim) ** (1.0 / ord)
    shape = x._data.shape
    attrs = (shape, tuple(1 if i in axes else n for i, n in enumerate(shape)), ord, axes)
    return _record(VECTOR_NORM, out._data, x._backend, (x,), attrs)


def _refuse_empty_extreme_norm(x: Tensor, ord: float, dim: Any) -> None:
    """PyTorch's refusal of a max-like or negative norm over an empty dim (no identity)."""
    if dim is None or dim == () or dim == []:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor because "
            "the operation does not have an identity"
        )
    for axis in _dims(x.ndim, dim):
        if x.shape[axis] == 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {ord:g} norm on the dimension {axis}"
                "because this dimension is empty and the operation does not have an identity"
            )


def _euclidean_norm(B: Any, a: Any, axes: Any, keepdim: bool) -> Any:
    """``sqrt(sum(a * a))``; a square past the float range is inf quietly, as in PyTorch."""
    with B.quiet():
        return B.sqrt(B.sum(a * a, axes, keepdim))


def _to_last_two(A: Tensor, dim: tuple[int, int]) -> Tensor:
    d0, d1 = (d % A.ndim for d in dim)
    order = [d for d in range(A.ndim) if d not in (d0, d1)] + [d0, d1]
    return permute(A, *order)


@declare(methods=(), export=False)
def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False
) -> Tensor:
    """A matrix norm over the two dimensions ``dim``: ``'fro'``, ``'nuc'`` (sum of singular
    values), ``2``/``-2`` (largest/smallest singular value), ``1``/``-1`` and
    ``inf``/``-inf`` (max/min absolute column/row sum), as ``torch.linalg.matrix_norm``."""
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    _floating(A, "matrix_norm")
    dim = tuple(dim)
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    if A._data.size == 0 and ord in ("nuc", 1, 2, float("inf")):  # as PyTorch: 0, not max()
        return sum(abs(A), dim, keepdim)
    if ord in ("nuc", 2, -2):
        values = svdvals(_to_last_two(A, dim))
        out = (
            sum(values, -1) if ord == "nuc" else amax(values, -1) if ord == 2 else amin(values, -1)
        )
    elif ord in (1, -1, float("inf"), float("-inf")):
        rows, cols = (d % A.ndim for d in dim)
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        if not keepdim and summed < over:  # PyTorch's order: its errors name this dim
            over -= 1
        sums = sum(abs(A), summed, keepdim)
        return amax(sums, over, keepdim) if ord > 0 else amin(sums, over, keepdim)
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if keepdim:
        for d in sorted(d % A.ndim for d in dim):
            out = unsqueeze(out, d)
    return out


@declare(methods=(), export=False)
def linalg_norm(
    A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dimension (or all, for ``ord=None``),
    a matrix norm over two, or, without ``dim``, by ``A``'s dimension (1-D or 2-D)."""
    if dtype is not None:
        _floating(A, "vector_norm")  # PyTorch checks the input before casting it
        A = to_dtype(A, dtype)
    if dim is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim)
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim)
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim)
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {A.ndim}D."
        )
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) == 1:
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    raise RuntimeError(
        f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}"
    )


@declare()
def norm(
    input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, *, dtype: Any = None
) -> Tensor:
    """``torch.norm``: ``'fro'`` (the 2-norm of the elements over ``dim``), ``'nuc'``, or
    the vector ``p``-norm over ``dim``."""
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim)
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported norm type {p!r}")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


@declare()
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other``."""
    return named_node(vector_norm(input - other, p), "DistBackward0", input, other)


@declare(methods=())
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (``... x P x M``) and of
    ``x2`` (``... x R x M``): ``... x P x R``. The difference tensor is formed, so the
    gradient at zero distance is 0 as PyTorch's (no matmul shortcut)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D"
            if x1.ndim < 2
            else f"cdist only supports at least 2D tensors, X2 got: {x2.ndim}D"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    distances = vector_norm(unsqueeze(x1, -2) - unsqueeze(x2, -3), p, -1)
    return named_node(distances, "CdistBackward0", x1, x2)


# --- products built on matmul and einsum --------------------------------------------------
def _scalar_type(t: Tensor) -> str:
    return _dtypes.SCALAR_TYPE_NAMES[t.dtype.name]


def _check_add_product(name: str, input: Any, first: Tensor, second: Tensor) -> None:
    """PyTorch's argument and dtype checks of ``addmm addmv baddbmm addbmm``, each in its
    own words (no promotion: ``input`` and both factors must share one dtype)."""
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}"
        )
    a, b, c = input._data.dtype, first._data.dtype, second._data.dtype
    if name == "addmv":
        if a == b == c and a.kind == "b":
            raise _not_implemented_for("addmv_impl_cpu", input)
        if not a == b == c:
            raise RuntimeError(
                "addmv input tensors must have the same dtype, but got "
                f"{_scalar_type(input)}, {_scalar_type(first)}, and {_scalar_type(second)}"
            )
    elif name == "baddbmm":
        if a != b:
            raise RuntimeError(
                f"Input dtypes must be the same, got: input {_dtype_name(input)}, batch1: "
                f"{_dtype_name(first)}, batch2: {_dtype_name(second)}"
            )
        if b != c:
            raise RuntimeError(
                f"expected scalar type {_scalar_type(first)} but found {_scalar_type(second)}"
            )
        if a.kind == "b":
            raise _not_implemented_for("baddbmm", input)
    else:  # addmm, addbmm
        for what, t in (("self", input), ("mat1", first)):
            if t._data.dtype != c:
                raise RuntimeError(
                    f"{what} and mat2 must have the same dtype, but got {_scalar_type(t)} and "
                    f"{_scalar_type(second)}"
                )
        if a.kind == "b":
            raise _not_implemented_for("addmm_impl_cpu_", input)


def _not_implemented_for(kernel: str, input: Tensor) -> NotImplementedError:
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_type(input)}'")


def _scaled_sum(input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * product``, ``input`` expanded to the product's shape
    (never the other way: a 3-D ``input`` to a 2-D product is PyTorch's expand error)."""
    if input.ndim > product.ndim:
        raise RuntimeError(
            f"expand({_tensor_type_name(input)}{{{list(input.shape)}}}, "
            f"size={list(product.shape)}): the number of sizes provided ({product.ndim}) must "
            f"be greater or equal to the number of dimensions in the tensor ({input.ndim})"
        )
    if product._data.dtype.kind in "iu":  # PyTorch casts the scales to the integer dtype
        beta, alpha = int(beta), int(alpha)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # PyTorch ignores input then (NaN and inf in it do not propagate)
        return product + zeros_like(input)
    return product + (input if beta == 1 else input * beta)


ADDMM = Op(
    "addmm",
    "AddmmBackward0",
    None,
    (
        lambda ns, g, y, z: g,
        lambda ns, g, y, z: ns.matmul(g, ns.mT(z)),
        lambda ns, g, y, z: ns.matmul(ns.mT(y), g),
    ),
    save=("y", "z"),
    broadcasts=True,
)
"""``input + mat1 @ mat2`` in one node, as PyTorch's (``nn.Linear`` on a 2-D input)."""


@declare(rows=(ADDMM,))
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1):
    """``beta * input + alpha * (mat1 @ mat2)``; with ``beta = alpha = 1`` one
    ``AddmmBackward0`` node, as PyTorch's."""
    _check_add_product("addmm", input, mat1, mat2)
    product = mm(mat1, mat2)  # checks the shapes and dtypes of the product
    backend = input._backend
    if not (
        beta == 1
        and alpha == 1
        and backend is product._backend
        and input._data.dtype == product._data.dtype
        and input._data.dtype.kind == "f"
        and input._data.ndim <= 2
        and broadcast_shapes(input.shape, product.shape) == product.shape
    ):
        return _scaled_sum(input, product, beta, alpha)
    with backend.quiet():  # inf + -inf is NaN, unwarned (as PyTorch)
        out = product._data + input._data  # the product once: mm's (its node is dropped)
    result = _record(ADDMM, out, backend, (input, mat1, mat2))
    if result.grad_fn is not None:
        result.grad_fn.shapes = (input._data.shape, None, None)
    return result


@declare()
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1):
    """``beta * input + alpha * (mat @ vec)``; ``input`` a vector (or broadcast to one)."""
    if isinstance(input, Tensor) and (input.ndim > 1 or mat.ndim != 2 or vec.ndim != 1):
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}"
        )
    if isinstance(input, Tensor) and (
        mat.shape[1] != vec.shape[0] or input.shape not in ((), (1,), mat.shape[:1])
    ):
        if input.ndim == 0:
            raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0]}), mat ({mat.shape[0]}x{mat.shape[1]}), "
            f"vec ({vec.shape[0]})"
        )
    _check_add_product("addmv", input, mat, vec)
    product = mv(mat, vec)
    return _scaled_sum(input, product, beta, alpha)


@declare()
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_add_product("baddbmm", input, batch1, batch2)
    result = _scaled_sum(input, bmm(batch1, batch2), beta, alpha)
    return named_node(result, "BaddbmmBackward0", input, batch1, batch2)


@declare()
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    _check_add_product("addbmm", input, batch1, batch2)
    result = _scaled_sum(input, sum(bmm(batch1, batch2), 0), beta, alpha)
    return named_node(result, "AddbmmBackward0", input, batch1, batch2)


@declare()
def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: ``out[i*n + k] = input[i] * other[k]`` along every dimension."""
    ndim = max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (ndim - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (ndim - other.ndim) + tuple(other.shape))
    spread_a = reshape(a, tuple(n for m in a.shape for n in (m, 1)))
    spread_b = reshape(b, tuple(n for m in b.shape for n in (1, m)))
    product = reshape(spread_a * spread_b, tuple(m * n for m, n in zip(a.shape, b.shape)))
    return named_node(product, "UnsafeViewBackward0", input, other)


@declare(methods=())
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contract the last ``dims`` dimensions of ``a`` with the first ``dims`` of ``b``, or
    the listed ``dims = (dims_a, dims_b)``; an ``einsum``."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    letters = iter(_LETTERS)
    spec_a = [next(letters) for _ in range(a.ndim)]
    spec_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in "
                f"dim {da} and second has size {b.shape[db]} in dim {db}"
            )
        spec_b[db] = spec_a[da]
    contracted = {spec_a[d] for d in dims_a}
    out = [c for c in spec_a if c not in contracted] + [c for c in spec_b if c not in contracted]
    return einsum(f"{''.join(spec_a)},{''.join(spec_b)}->{''.join(out)}", a, b)


@declare()
def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sums of products over the last dimensions (``a * b`` when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    return tensordot(input, other, ([-1 % input.ndim], [-1 % other.ndim]))


def _cross(input: Tensor, other: Tensor, dim: int, name: str) -> Tensor:
    """The cross product, after PyTorch's checks in its order: dims, sizes, then dtypes
    (no promotion: ``other`` must have ``input``'s dtype, and bools have no kernel)."""
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    axis = _dims(input.ndim, dim)[0]
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(
            f"{name}: inputs dimension {dim} must have length 3. Got "
            f"{input.shape[axis]} and {other.shape[axis]}"
        )
    _refuse_bool("cross", input)
    if other._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"expected scalar type {_scalar_type(input)} but found {_scalar_type(other)}"
        )

    def part(t: Tensor, k: int) -> Tensor:
        return getitem(t, (slice(None),) * axis + (k,))

    a0, a1, a2 = (part(input, k) for k in range(3))
    b0, b1, b2 = (part(other, k) for k in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis)


@declare()
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The 3-D cross product along ``dim`` (the first dimension of size 3 when ``None``)."""
    if dim is None:
        dim = next((i for i, n in enumerate(input.shape) if n == 3), -1)
    return named_node(_cross(input, other, dim, "linalg.cross"), "LinalgCrossBackward0", input)


@declare("linalg_cross", methods=(), export=False)
def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the 3-D cross product along ``dim`` (default the last)."""
    return named_node(_cross(input, other, dim, "linalg.cross"), "LinalgCrossBackward0", input)


@declare("matrix_rank", methods=(), export=False)
def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False):
    """The number of singular values above ``max(atol, rtol * largest)`` (PyTorch's
    default ``rtol``: ``eps * max(m, n)`` when neither is given)."""
    _matrix_input(A, "matrix_rank", square=False)
    values = A._backend.svdvals(A._data)
    largest = A._backend.amax(values, -1, True) if values.shape[-1] else 0
    if rtol is None:
        rtol = 0.0 if atol is not None else _dtypes.finfo(A.dtype).eps * max(A.shape[-2:])
    limit = A._backend.maximum(atol or 0.0, rtol * largest)
    return _wrap(A._backend.sum(values > limit, -1, dtype="int64"), A._backend)


@declare("pinv", methods=(), export=False)
def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse ``V diag(1/S) U^T`` over the singular values above the cutoff
    (``matrix_rank``'s), differentiable through ``svd`` (so not at repeated singular
    values)."""
    _matrix_input(A, "pinv", square=False)
    left, values, right = svd(A, full_matrices=False)
    if rtol is None:
        rtol = 0.0 if atol is not None else _dtypes.finfo(A.dtype).eps * max(A.shape[-2:])
    largest = amax(values.detach(), -1, True) if values.shape[-1] else 0
    if not values.shape[-1]:
        limit = 0
    elif isinstance(atol, Tensor):
        limit = maximum(largest * rtol, atol)
    else:  # maximum takes tensors only, as PyTorch's
        limit = clamp(largest * rtol, min=atol or 0.0)
    keep = values > limit
    inverse = where(keep, 1 / where(keep, values, 1), 0)
    result = matmul(mT(right) * unsqueeze(inverse, -2), mT(left))
    return named_node(result, "LinalgPinvBackward0", A)


# --- PyTorch names composed from the ops above (helper "out": missing top-level names) ---
@declare()
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (``dot``: gpugrad has no complex dtypes to
    conjugate)."""
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors"
        )
    return named_node(dot(input, other), "VdotBackward0", input, other)


@declare(inplace=("addr_",))
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (``beta`` 0 ignores ``input``)."""
    product = outer(vec1, vec2)
    if alpha != 1:
        product = mul(product, alpha)
    if beta == 0:  # input is ignored, its NaNs too
        return product
    return (input if beta == 1 else mul(input, beta)) + product


@declare()
def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabsdet = slogdet(input)
    return where(sign < 0, float("nan"), logabsdet)


@declare()
def matrix_power(input: Tensor, n: int) -> Tensor:
    """``input`` (a square matrix, or a batch of them) to the integer power ``n``
    (negative: of its inverse), by repeated squaring."""
    if input.dim() < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_power: A must be batches of square matrices, but they are "
            f"{input.shape[-2] if input.dim() >= 2 else 1} by {input.shape[-1]} matrices"
        )
    if n == 0:
        from .._factories import eye

        identity = eye(input.shape[-1], dtype=input.dtype, device=input.device)
        return identity.expand(tuple(input.shape)).clone()
    base = input if n > 0 else inv(input)
    n = n if n > 0 else -n
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result.clone() if result is input else result


@declare()
def cov(
    input: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in its
    columns; a 1-D ``input`` is one variable), with frequency and observation weights."""
    if input.dim() > 2:
        raise RuntimeError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{input.dim()} dimensions"
        )
    x = input if input.dim() == 2 else reshape(input, (1, -1))
    if x._data.dtype.kind != "f":
        x = to_dtype(x, _dtypes.DEFAULT_FLOAT)
    weights = None
    for w in (fweights, aweights):
        if w is not None:
            weights = w if weights is None else mul(weights, w)
    if weights is None:
        total = x.shape[1]
        mean = x.mean(1, keepdim=True)
        factor = total - correction
    else:
        total = sum(weights)
        mean = sum(mul(x, weights), 1, keepdim=True) / total
        if aweights is None:
            factor = total - correction
        else:
            factor = total - correction * sum(mul(weights, aweights)) / total
    centered = x - mean
    scaled = centered if weights is None else mul(centered, weights)
    c = matmul(scaled, mT(centered)) / factor
    return reshape(c, ()) if input.dim() < 2 else c


@declare()
def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in ``input``'s rows, clipped to
    [-1, 1]."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    std = c.diagonal().sqrt()
    return (c / reshape(std, (-1, 1)) / reshape(std, (1, -1))).clamp(-1, 1)
