"""``Tensor.storage()``: the memory a tensor and its views share, as PyTorch's
``TypedStorage`` shows it (its elements, size, dtype, device and address)."""

from __future__ import annotations

from typing import Any

from .backends import dtypes as _dtypes


class TypedStorage:
    """The whole memory under a tensor (its view base's elements, flattened), as
    ``torch.TypedStorage``: ``size()``, ``len()``, ``tolist()``, ``data_ptr()``,
    ``nbytes()``, ``dtype``, ``device``; printed as PyTorch prints one."""

    def __init__(self, data: Any, backend: Any) -> None:
        root = data
        while getattr(root, "base", None) is not None and hasattr(root.base, "dtype"):
            root = root.base
        if getattr(root, "dtype", None) != data.dtype:  # a view of other bytes: its own span
            root = data
        self._root = root
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
