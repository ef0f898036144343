"""Matrix products: ``matmul`` (1-D, 2-D, batched and broadcast), ``mm``, ``bmm``, ``mv``,
``dot``, ``outer``."""

from __future__ import annotations

from .._graph import Op
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from .dispatch import device_error as _device_error
from .dispatch import record as _record
from .elementwise import mul
from .registry import alias, declare
from .shape import unsqueeze


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
    _require_dims(input, 2, "self must be a matrix")
    _require_dims(mat2, 2, "mat2 must be a matrix")
    return matmul(input, mat2)


@declare()
def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}"
        )
    return matmul(input, vec)


@declare(rows=(BMM,))
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
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
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        names = _dtypes.SCALAR_TYPE_NAMES
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{names[a.dtype.name]} and {names[b.dtype.name]}"
        )
    return matmul(input, other)


@declare()
def outer(input: Tensor, vec2: Tensor) -> Tensor:
    return mul(unsqueeze(input, 1), vec2)


ger = outer
alias("ger", "outer", methods=())


@declare("__rmatmul__", methods=("__rmatmul__",), export=False)
def _reversed_matmul(self: Tensor, other: Tensor) -> Tensor:
    return matmul(other, self)
