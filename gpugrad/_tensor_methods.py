"""Tensor operators and op methods: each is the very function of the functional API."""

from __future__ import annotations

from typing import Any

from . import _linalg, _ops, _reductions, _shape_ops, _transfer
from ._tensor import Tensor


def _reversed_add(self: Tensor, other: Any) -> Tensor:
    return _ops.add(self, other)


def _reversed_mul(self: Tensor, other: Any) -> Tensor:
    return _ops.mul(self, other)


def _reversed_matmul(self: Tensor, other: Tensor) -> Tensor:
    return _linalg.matmul(other, self)


def _type_cast(dtype_name: str):
    def cast(self: Tensor) -> Tensor:
        return _ops.to_dtype(self, dtype_name)

    cast.__name__ = dtype_name
    return cast


OPERATORS = {
    "__add__": _ops.add,
    "__radd__": _reversed_add,
    "__sub__": _ops.sub,
    "__rsub__": _ops._rsub,
    "__mul__": _ops.mul,
    "__rmul__": _reversed_mul,
    "__truediv__": _ops.div,
    "__rtruediv__": _ops._rtruediv,
    "__pow__": _ops.pow,
    "__rpow__": _ops._rpow,
    "__matmul__": _linalg.matmul,
    "__rmatmul__": _reversed_matmul,
    "__neg__": _ops.neg,
    "__abs__": _ops.abs,
    "__eq__": _ops.eq,
    "__ne__": _ops.ne,
    "__gt__": _ops.gt,
    "__lt__": _ops.lt,
    "__ge__": _ops.ge,
    "__le__": _ops.le,
    "__and__": _ops.logical_and,
    "__or__": _ops.logical_or,
    "__xor__": _ops.logical_xor,
    "__invert__": _ops.logical_not,
    "__getitem__": _shape_ops.getitem,
}

METHODS = {
    **{
        name: getattr(_ops, name)
        for name in (
            "add",
            "sub",
            "mul",
            "div",
            "pow",
            "neg",
            "negative",
            "exp",
            "log",
            "log1p",
            "expm1",
            "sqrt",
            "rsqrt",
            "sin",
            "cos",
            "tan",
            "tanh",
            "sigmoid",
            "relu",
            "abs",
            "sign",
            "reciprocal",
            "clamp",
            "clip",
            "maximum",
            "minimum",
            "eq",
            "ne",
            "gt",
            "lt",
            "ge",
            "le",
            "greater",
            "less",
            "logical_not",
            "logical_and",
            "logical_or",
            "isnan",
            "isfinite",
            "equal",
            "allclose",
        )
    },
    **{
        name: getattr(_reductions, name)
        for name in (
            "sum",
            "mean",
            "prod",
            "max",
            "min",
            "amax",
            "amin",
            "var",
            "std",
            "logsumexp",
            "argmax",
            "argmin",
            "cumsum",
            "flip",
            "softmax",
            "log_softmax",
            "all",
            "any",
        )
    },
    **{
        name: getattr(_shape_ops, name)
        for name in (
            "reshape",
            "flatten",
            "squeeze",
            "unsqueeze",
            "transpose",
            "swapaxes",
            "permute",
            "t",
            "expand",
            "expand_as",
            "broadcast_to",
            "contiguous",
            "clone",
            "split",
            "chunk",
            "sum_to_size",
        )
    },
    **{name: getattr(_linalg, name) for name in ("matmul", "mm", "mv", "bmm", "dot", "outer")},
    "view": _shape_ops.view,
    "to": _transfer.to,
    "cpu": _transfer.cpu,
    "cuda": _transfer.cuda,
    "float": _type_cast("float32"),
    "double": _type_cast("float64"),
    "half": _type_cast("float16"),
    "long": _type_cast("int64"),
    "int": _type_cast("int32"),
    "bool": _type_cast("bool"),
}

PROPERTIES = {"T": _shape_ops.T, "mT": _shape_ops.mT}


def attach() -> None:
    for name, function in {**OPERATORS, **METHODS}.items():
        setattr(Tensor, name, function)
    for name, function in PROPERTIES.items():
        setattr(Tensor, name, property(function))
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; tensors hash by identity
