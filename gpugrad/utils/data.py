"""``gpugrad.utils.data``: a minimal batch iterator, so training loops need no other
framework.

>>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
>>> for xb, yb in loader:          # a new permutation each epoch, reproducible by seed
...     ...
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from .._factories import tensor
from .._tensor import Tensor

__all__ = ["DataLoader", "TensorDataset", "batches"]


class TensorDataset:
    """Samples are the rows of tensors of equal length: ``dataset[i] == (t[i] for t)``."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        size = tensors[0].shape[0] if tensors[0].dim() else None
        if size is None or any(t.dim() == 0 or t.shape[0] != size for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class DataLoader:
    """Batches of a ``TensorDataset`` (or a tensor, or a tuple of tensors).

    ``shuffle`` draws a new order each epoch from a ``random.Random(seed)`` owned by the
    loader: the same ``seed`` gives the same sequence of epochs. Each batch gathers its
    rows with one indexing op per tensor, on the tensors' device. ``drop_last`` skips a
    final batch smaller than ``batch_size``.
    """

    def __init__(
        self,
        dataset: TensorDataset | Tensor | Sequence[Tensor],
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        if isinstance(dataset, Tensor):
            dataset = TensorDataset(dataset)
        elif not isinstance(dataset, TensorDataset):
            dataset = TensorDataset(*dataset)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self._rng = random.Random(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size

    def batch_indices(self) -> Iterator[list[int]]:
        """The row indices of each batch of one epoch (advances the shuffle generator)."""
        order = list(range(len(self.dataset)))
        if self.shuffle:
            self._rng.shuffle(order)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            if self.drop_last and len(chunk) < self.batch_size:
                return
            yield chunk

    def __iter__(self) -> Iterator[Any]:
        tensors = self.dataset.tensors
        contiguous = not self.shuffle
        for chunk in self.batch_indices():
            if contiguous:
                key: Any = slice(chunk[0], chunk[-1] + 1)
                batch = tuple(t[key] for t in tensors)
            else:
                batch = tuple(
                    t[tensor(chunk, dtype="int64", device=t._backend.device_str)] for t in tensors
                )
            yield batch[0] if len(batch) == 1 else batch


def batches(
    *tensors: Tensor,
    batch_size: int,
    shuffle: bool = False,
    drop_last: bool = False,
    seed: int | None = None,
) -> DataLoader:
    """``DataLoader(TensorDataset(*tensors), ...)`` in one call."""
    return DataLoader(
        TensorDataset(*tensors),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        seed=seed,
    )
