"""``StackDataset`` and ``DistributedSampler`` for ``gpugrad.utils.data``, as PyTorch's."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._factories import randperm
from .._random import Generator
from .data import Dataset, Sampler


class StackDataset(Dataset):
    """Datasets of equal length side by side: ``StackDataset(a, b)[i] == (a[i], b[i])``,
    ``StackDataset(x=a, y=b)[i] == {"x": a[i], "y": b[i]}``."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args:
            if kwargs:
                raise ValueError(
                    "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) "
                    "like input/output, but both types are given."
                )
            datasets: Any = args
            members = list(args)
        elif kwargs:
            datasets = kwargs
            members = list(kwargs.values())
        else:
            raise ValueError("At least one dataset should be passed")
        self._length = len(members[0])
        if any(self._length != len(dataset) for dataset in members):
            raise ValueError("Size mismatch between datasets")
        self.datasets = datasets

    def __getitem__(self, index: Any) -> Any:
        if isinstance(self.datasets, dict):
            return {k: dataset[index] for k, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of samples at once (each member dataset's ``__getitems__`` where it has
        one)."""
        named = isinstance(self.datasets, dict)
        members = self.datasets.items() if named else enumerate(self.datasets)
        columns = {}
        for key, dataset in members:
            getitems = getattr(dataset, "__getitems__", None)
            if callable(getitems):
                items = getitems(indices)
                if len(items) != len(indices):
                    raise ValueError(
                        "Nested dataset's output size mismatch. Expected "
                        f"{len(indices)}, got {len(items)}"
                    )
            else:
                items = [dataset[i] for i in indices]
            columns[key] = items
        if named:
            return [{k: items[n] for k, items in columns.items()} for n in range(len(indices))]
        return [tuple(items[n] for items in columns.values()) for n in range(len(indices))]

    def __len__(self) -> int:
        return self._length


class DistributedSampler(Sampler):
    """The share of ``dataset``'s indices that replica ``rank`` of ``num_replicas`` reads
    (every ``num_replicas``-th index from ``rank``), as PyTorch's: without ``drop_last``
    the index list is padded by repeating its start to a multiple of ``num_replicas``;
    with it, the tail is dropped. ``shuffle`` permutes with a generator seeded with
    ``seed + epoch`` (``set_epoch``), the same on every replica; the permutation is
    gpugrad's (another bit generator), not PyTorch's. ``num_replicas`` / ``rank`` default
    to the world size and rank of ``gpugrad.distributed``."""

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed

            if not distributed.is_available():
                raise RuntimeError("Requires distributed package to be available")
            if num_replicas is None:
                num_replicas = distributed.get_world_size()
            if rank is None:
                rank = distributed.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if drop_last and len(dataset) % num_replicas != 0:
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which reseeds the shuffle (call it before each epoch's
        iteration so every epoch has a new order, the same on every replica)."""
        self.epoch = epoch
