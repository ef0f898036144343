"""Array-level reading and writing for ``gpugrad.serialization``: the ``.npy`` members of
gpugrad's ``.npz`` checkpoints, ``safetensors`` buffers, and the raw storages of PyTorch's
zip checkpoints.

Everything here works on host (NumPy) arrays and on byte streams. The file-format logic
(what a checkpoint describes, how it becomes tensors, which sizes a file may declare) lives
in ``gpugrad/serialization.py``; this module only turns checked sizes into arrays, and it
checks every size again before allocating: a header or a storage that declares more bytes
than the stream holds raises ``FormatError`` and allocates nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, NamedTuple

import numpy
from numpy.lib import format as npy_format
from numpy.lib.stride_tricks import as_strided

from . import dtypes

__all__ = [
    "FormatError",
    "NpyHeader",
    "array_from_storage",
    "bytes_array",
    "read_npy_array",
    "read_npy_header",
    "read_safetensors",
    "storage_from_stream",
    "write_npy",
    "write_safetensors",
]

NPY_MAX_HEADER = 10_000  # NumPy's own default ``max_header_size``
SAFETENSORS_DTYPES = {
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "BOOL": "bool",
}
"""safetensors dtype codes gpugrad reads (the others, e.g. ``BF16``, are refused by name)."""


class FormatError(ValueError):
    """The bytes do not hold what they claim; the text names the problem."""


def _supported(dtype: numpy.dtype) -> str:
    native = dtype.newbyteorder("=") if dtype.byteorder not in ("=", "|") else dtype
    if native not in dtypes.BY_NUMPY:
        raise FormatError(f"unsupported array dtype {dtype.str!r}")
    return dtypes.BY_NUMPY[native].name


def element_count(shape: Sequence[int]) -> int:
    count = 1
    for n in shape:
        count *= n
    return count


# --- .npy members -------------------------------------------------------------------------
class NpyHeader(NamedTuple):
    dtype: str  # gpugrad dtype name
    descr: str  # as written, with byte order
    shape: tuple[int, ...]
    fortran_order: bool
    data_bytes: int


def read_npy_header(stream: BinaryIO, member_bytes: int) -> NpyHeader:
    """The header of a ``.npy`` stream of ``member_bytes`` bytes in all, checked: a
    supported plain dtype (never an object array), a shape of non-negative ints, and data
    that fills the member exactly."""
    prefix = stream.read(10)
    if len(prefix) < 10 or not prefix.startswith(b"\x93NUMPY"):
        raise FormatError("not a .npy array (no NumPy magic)")
    major = prefix[6]
    if major == 1:
        length, start = int.from_bytes(prefix[8:10], "little"), 10
    elif major in (2, 3):
        rest = stream.read(2)
        length, start = int.from_bytes(prefix[8:10] + rest, "little"), 12
    else:
        raise FormatError(f"unsupported .npy format version {major}")
    if length > NPY_MAX_HEADER:
        raise FormatError(f".npy header of {length} bytes is longer than {NPY_MAX_HEADER}")
    raw = stream.read(length)
    if len(raw) < length:
        raise FormatError(".npy header is truncated")
    try:
        header = ast.literal_eval(raw.decode("latin1" if major < 3 else "utf8"))
    except (ValueError, SyntaxError, RecursionError, MemoryError, UnicodeDecodeError):
        raise FormatError(".npy header is not a valid description") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise FormatError(".npy header is not a valid description")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if not isinstance(descr, str):
        raise FormatError("the array holds Python objects or a structured dtype")
    try:
        dtype = numpy.dtype(descr)
    except TypeError:
        raise FormatError(f"unknown array dtype {descr!r}") from None
    if dtype.hasobject:
        raise FormatError("the array holds pickled Python objects (an object array)")
    if not (
        isinstance(shape, tuple)
        and all(type(n) is int and 0 <= n < 1 << 62 for n in shape)
        and isinstance(fortran, bool)
    ):
        raise FormatError(f".npy header has an invalid shape {shape!r:.80}")
    data_bytes = element_count(shape) * dtype.itemsize
    if start + length + data_bytes != member_bytes:
        raise FormatError(
            f"the array header declares {data_bytes} bytes of {descr} data, but the member "
            f"holds {member_bytes - start - length}"
        )
    return NpyHeader(_supported(dtype), descr, shape, fortran, data_bytes)


def _read_exactly(stream: BinaryIO, array: numpy.ndarray) -> None:
    view = memoryview(array).cast("B") if array.size else memoryview(b"")
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:])
        if not count:
            raise FormatError(f"the data ends after {filled} of {len(view)} bytes")
        filled += count


def read_npy_array(stream: BinaryIO, header: NpyHeader) -> numpy.ndarray:
    """The array whose ``header`` was just read from ``stream``: allocated once, at the
    size the (already checked) header declares, then filled from the stream."""
    dtype = numpy.dtype(header.descr)
    flat = numpy.empty(element_count(header.shape), dtype=dtype)
    _read_exactly(stream, flat)
    order = "F" if header.fortran_order else "C"
    array = flat.reshape(header.shape, order=order)
    return _native(array)


def _native(array: numpy.ndarray) -> numpy.ndarray:
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    return array if array.flags.c_contiguous else array.copy(order="C")


def bytes_array(data: bytes) -> numpy.ndarray:
    """``data`` as a 1-D ``uint8`` host array (no copy)."""
    return numpy.frombuffer(data, dtype=numpy.uint8)


def write_npy(stream: BinaryIO, array: Any) -> None:
    """``array`` (a host array) as a ``.npy`` stream, never pickled."""
    npy_format.write_array(stream, numpy.asarray(array), allow_pickle=False)


# --- PyTorch storages ---------------------------------------------------------------------
def storage_from_stream(stream: BinaryIO, dtype: str, numel: int, little_endian: bool) -> Any:
    """A 1-D host array of ``numel`` elements of gpugrad dtype ``dtype``, read from a
    storage member holding exactly that many bytes (the caller checked the size)."""
    dt = numpy.dtype(dtypes.as_dtype(dtype).numpy).newbyteorder("<" if little_endian else ">")
    flat = numpy.empty(numel, dtype=dt)
    _read_exactly(stream, flat)
    return _native(flat)


def array_from_storage(
    storage: Any,
    offset: int,
    size: Sequence[int],
    stride: Sequence[int],
    exclusive: bool = False,
) -> numpy.ndarray:
    """A contiguous copy of the strided view ``(offset, size, stride)`` of ``storage``
    (in elements, as PyTorch counts them), after checking that every element it reaches
    lies inside the storage. When the view is the whole storage in C order and no other
    tensor uses the storage (``exclusive``), the storage itself, reshaped (no copy)."""
    if len(size) != len(stride):
        raise FormatError(f"size {tuple(size)} and stride {tuple(stride)} differ in length")
    if any(n < 0 for n in size) or any(s < 0 for s in stride) or offset < 0:
        raise FormatError(f"negative size, stride or offset ({size}, {stride}, {offset})")
    count = element_count(size)
    if count == 0:
        return numpy.empty(tuple(size), dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise FormatError(
            f"a tensor of size {tuple(size)}, stride {tuple(stride)} at offset {offset} "
            f"reaches element {last} of a storage of {storage.size}"
        )
    if exclusive and offset == 0 and count == storage.size and _c_order(size, stride):
        return storage.reshape(tuple(size))
    itemsize = storage.itemsize
    view = as_strided(
        storage[offset:],
        shape=tuple(size),
        strides=tuple(s * itemsize for s in stride),
        writeable=False,
    )
    return numpy.array(view, copy=True, order="C")


def _c_order(size: Sequence[int], stride: Sequence[int]) -> bool:
    expected = 1
    for n, s in zip(reversed(size), reversed(stride)):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


# --- safetensors ----------------------------------------------------------------------------
def _safetensors() -> Any:
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "reading and writing .safetensors files needs the safetensors package: "
            "pip install 'gpugrad[safetensors]'"
        ) from None
    return safetensors


def read_safetensors(data: bytes) -> dict[str, numpy.ndarray]:
    """The arrays of a safetensors buffer. The safetensors package parses the header (in
    Rust, against its schema) and checks that every tensor's byte range lies inside the
    buffer and matches its dtype and shape; the arrays are built here from those bytes."""
    st = _safetensors()
    if len(data) < 8:
        raise FormatError("a safetensors file holds at least an 8-byte header length")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise FormatError(
            f"the safetensors header declares {length} bytes, but the file holds {len(data) - 8}"
        )
    try:
        entries = st.deserialize(data)
    except Exception as error:  # safetensors_rust.SafetensorError
        raise FormatError(f"{type(error).__name__}: {error}") from None
    arrays = {}
    for name, entry in entries:
        code = entry["dtype"]
        if code not in SAFETENSORS_DTYPES:
            raise FormatError(f"tensor {name!r} has dtype {code!r}, which gpugrad does not support")
        dtype = numpy.dtype(dtypes.as_dtype(SAFETENSORS_DTYPES[code]).numpy).newbyteorder("<")
        shape = tuple(entry["shape"])
        buffer = entry["data"]
        if len(buffer) != element_count(shape) * dtype.itemsize:
            raise FormatError(f"tensor {name!r} holds {len(buffer)} bytes, not its shape's")
        arrays[name] = _native(numpy.frombuffer(buffer, dtype=dtype).reshape(shape))
    return arrays


def write_safetensors(arrays: Mapping[str, Any], metadata: Mapping[str, str]) -> bytes:
    """``arrays`` (host arrays by name) as the bytes of a safetensors file."""
    st = _safetensors()
    return st.numpy.save(
        {name: _native(numpy.asarray(a)) for name, a in arrays.items()}, dict(metadata)
    )
