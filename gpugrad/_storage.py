"""``Tensor.storage()`` and ``Tensor.untyped_storage()``: the memory a tensor and its views
share, as PyTorch's ``TypedStorage`` (its elements) and ``UntypedStorage`` (its bytes) show
it: size, device, address, printing."""

from __future__ import annotations

from typing import Any

from .backends import dtypes as _dtypes


def _root(data: Any) -> Any:
    """The array that owns ``data``'s memory (``data`` itself when it owns it, or when it
    views the bytes of an array of another dtype: then its own span)."""
    root = data
    while getattr(root, "base", None) is not None and hasattr(root.base, "dtype"):
        root = root.base
    return root if getattr(root, "dtype", None) == data.dtype else data


class TypedStorage:
    """The whole memory under a tensor (its view base's elements, flattened), as
    ``torch.TypedStorage``: ``size()``, ``len()``, ``tolist()``, ``data_ptr()``,
    ``nbytes()``, ``dtype``, ``device``; printed as PyTorch prints one."""

    def __init__(self, data: Any, backend: Any) -> None:
        self._root = _root(data)
        self._backend = backend
        self.dtype = _dtypes.from_numpy_dtype(data.dtype)
        self.device = backend.device

    def size(self) -> int:
        """The number of elements."""
        return int(self._root.size)

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        """The size in bytes."""
        return self.size() * self.dtype.itemsize

    def data_ptr(self) -> int:
        """The address of the first element of the memory."""
        return self._backend.data_ptr(self._root)

    def untyped(self) -> UntypedStorage:
        """The same memory as bytes."""
        return UntypedStorage(self._root, self._backend)

    def tolist(self) -> list:
        """The elements as a Python list."""
        return self._backend.to_host(self._root).reshape(-1).tolist()

    def __repr__(self) -> str:
        values = " " + "\n ".join(str(value) for value in self.tolist())
        header = (
            f"[gpugrad.storage.TypedStorage(dtype=gpugrad.{self.dtype.name}, "
            f"device={self.device}) of size {self.size()}]"
        )
        return f"{values}\n{header}"

    __str__ = __repr__


class UntypedStorage:
    """The whole memory under a tensor as bytes, as ``torch.UntypedStorage``: ``nbytes()``,
    ``size()`` and ``len()`` (in bytes), ``data_ptr()``, ``device``, ``element_size()``
    (1), ``tolist()`` and ``storage[i]`` (byte values); printed as PyTorch prints one.
    Tensors that view the same memory give storages with the same ``data_ptr()``."""

    def __init__(self, data: Any, backend: Any) -> None:
        self._root = _root(data)
        self._backend = backend
        self.device = backend.device

    def nbytes(self) -> int:
        """The size in bytes."""
        return int(self._root.size) * self._root.dtype.itemsize

    def size(self) -> int:
        """The size in bytes (an untyped storage's elements are bytes)."""
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        """1: an untyped storage's elements are bytes."""
        return 1

    @property
    def is_cuda(self) -> bool:
        """Whether the memory is on a CUDA device."""
        return self.device.type == "cuda"

    def data_ptr(self) -> int:
        """The address of the first byte of the memory."""
        return self._backend.data_ptr(self._root)

    def tolist(self) -> list:
        """The bytes as a list of ints (0-255)."""
        return list(self._backend.to_host(self._root).reshape(-1).tobytes())

    def __getitem__(self, index: int) -> int:
        if not isinstance(index, int):
            raise TypeError(f"storage indices must be integers, not {type(index).__name__}")
        size = self.nbytes()
        if not -size <= index < size:
            raise IndexError(f"index {index} out of range for storage of size {size}")
        return self.tolist()[index]

    def __repr__(self) -> str:
        values = " " + "\n ".join(str(value) for value in self.tolist())
        return (
            f"{values}\n[gpugrad.storage.UntypedStorage(device={self.device}) of size "
            f"{self.nbytes()}]"
        )

    __str__ = __repr__
