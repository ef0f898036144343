"""gpugrad's dtypes and PyTorch's type-promotion rules, over NumPy dtypes (CuPy shares them).

``bfloat16`` is not supported. NumPy has no such dtype; the ``ml_dtypes`` package's
(installable, 0.6) is an extension dtype of kind ``'V'``, not ``'f'`` (which gpugrad's
floating-point checks and promotion rules read), NumPy's ``matmul`` of two bfloat16
arrays returns float32, and CuPy has no bfloat16. Supporting it would mean a second
floating-point path through promotion, every op's dtype rule and both backends.
"""

from __future__ import annotations

import numpy

BOOL, INT, FLOAT = 0, 1, 2


class DType:
    """A tensor element type, printed as PyTorch prints its own (``gpugrad.float32``)."""

    __slots__ = ("name", "numpy", "is_floating_point", "itemsize", "category")

    def __init__(self, name: str) -> None:
        self.name = name
        self.numpy = numpy.dtype(name)
        kind = self.numpy.kind
        self.category = FLOAT if kind == "f" else BOOL if kind == "b" else INT
        self.is_floating_point = self.category == FLOAT
        self.itemsize = self.numpy.itemsize

    def __repr__(self) -> str:
        return f"gpugrad.{self.name}"

    def __reduce__(self) -> str:
        return self.name


float16 = DType("float16")
float32 = DType("float32")
float64 = DType("float64")
uint8 = DType("uint8")
int8 = DType("int8")
int16 = DType("int16")
int32 = DType("int32")
int64 = DType("int64")
bool_ = DType("bool")
ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)

BY_NUMPY: dict[numpy.dtype, DType] = {d.numpy: d for d in ALL}
SCALAR_TYPE_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
}
"""PyTorch's C++ scalar-type names, which its error messages print."""
ALIASES = {"half": float16, "float": float32, "double": float64, "long": int64, "int": int32}
DEFAULT_FLOAT = float32
"""The default floating dtype: factories' float default and where ints promote to. Read at
call time as ``dtypes.DEFAULT_FLOAT`` (a module attribute, so one lookup); changed only by
``set_default_dtype``."""


def get_default_dtype() -> DType:
    """The current default floating point dtype (``gpugrad.float32`` unless changed)."""
    return DEFAULT_FLOAT


def set_default_dtype(d: object) -> None:
    """Set the default floating point dtype to ``float32`` or ``float64`` (PyTorch's rule:
    only floating dtypes; gpugrad has no complex dtypes)."""
    global DEFAULT_FLOAT
    if not isinstance(d, DType):
        raise TypeError(
            "invalid dtype object: only floating-point types are supported as the default type"
        )
    if d not in (float32, float64, float16):
        raise TypeError("only floating-point types are supported as the default type")
    DEFAULT_FLOAT = d


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype: ``bits eps max min tiny smallest_normal
    resolution dtype``, as ``torch.finfo``."""

    def __init__(self, type: DType | None = None) -> None:
        dtype = DEFAULT_FLOAT if type is None else type
        if not isinstance(dtype, DType) or not dtype.is_floating_point:
            raise TypeError(
                "torch.finfo() requires a floating point input type. Use "
                "torch.iinfo to handle 'torch.finfo'"
            )
        info = numpy.finfo(dtype.numpy)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = float(info.tiny)
        self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # as PyTorch: a power of ten
        self.dtype = dtype.name

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
            f"tiny={self.tiny:g}, dtype={self.dtype})"
        )


class iinfo:  # noqa: N801 - PyTorch's name
    """Machine limits of an integer dtype: ``bits max min dtype``, as ``torch.iinfo``."""

    def __init__(self, type: DType) -> None:
        if not isinstance(type, DType) or type.category == FLOAT:
            raise TypeError(
                "torch.iinfo() requires an integer input type. Use torch.finfo "
                "to handle 'torch.iinfo'"
            )
        if type is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        info = numpy.iinfo(type.numpy)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = type.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def from_numpy_dtype(dt: numpy.dtype) -> DType:
    try:
        return BY_NUMPY[dt]
    except KeyError:
        raise TypeError(f"gpugrad does not support arrays of dtype {dt}") from None


def as_dtype(spec: object) -> DType:
    """A DType from a DType, a name ('float64'), a NumPy dtype or a Python type."""
    if isinstance(spec, DType):
        return spec
    if spec is float:
        return DEFAULT_FLOAT
    if spec is int:
        return int64
    if spec is bool:
        return bool_
    if isinstance(spec, str) and spec in ALIASES:
        return ALIASES[spec]
    try:
        return from_numpy_dtype(numpy.dtype(spec))
    except TypeError as error:
        raise TypeError(f"unsupported dtype {spec!r}") from error


def promote_arrays(a: numpy.dtype, a_ndim: int, b: numpy.dtype, b_ndim: int) -> numpy.dtype:
    """PyTorch's result dtype for two tensors: the higher category wins; within one
    category, a dimensioned tensor outranks a 0-d one, and equals promote by size."""
    ca, cb = BY_NUMPY[a].category, BY_NUMPY[b].category
    if ca != cb:
        return a if ca > cb else b
    if (a_ndim == 0) != (b_ndim == 0):
        return b if a_ndim == 0 else a
    return numpy.promote_types(a, b)


def scalar_category(value: object) -> int:
    if isinstance(value, bool):
        return BOOL
    return INT if isinstance(value, int) else FLOAT


def promote_with_scalar(a: numpy.dtype, value: object) -> numpy.dtype:
    """PyTorch's result dtype for a tensor and a Python number: the number never upcasts
    within its category, and lifts bool/int tensors to int64 or the default float."""
    category = scalar_category(value)
    if category <= BY_NUMPY[a].category:
        return a
    return DEFAULT_FLOAT.numpy if category == FLOAT else int64.numpy
