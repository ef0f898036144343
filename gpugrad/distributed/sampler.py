"""Shard a data set by rank: ``DistributedSampler`` (as ``torch.utils.data``'s) and
``shard``, which turns a sampler's indices into a ``TensorDataset`` for ``DataLoader``.

    sampler = DistributedSampler(len(dataset), shuffle=True, seed=0)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)   # a new permutation each epoch, the same on every rank
        for xb, yb in DataLoader(shard(dataset, sampler), batch_size=32):
            ...

All ranks draw the same permutation (from ``seed + epoch``) and rank ``r`` takes its
positions ``r, r + R, r + 2R, …``: the shards are disjoint, and batch ``k`` of the ranks
together is the global batch ``k`` of ``R * batch_size`` rows of that permutation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .._factories import randperm, tensor
from .._random import Generator
from ..utils.data import TensorDataset

__all__ = ["DistributedSampler", "shard"]


class DistributedSampler:
    """The indices of this rank's share of a data set of ``len(dataset)`` rows (or of
    ``dataset`` rows when it is an int).

    Without ``drop_last`` the index list is padded with its own first indices so that it
    divides evenly (every rank gets ``ceil(n / num_replicas)`` indices); with it, the tail
    that does not divide evenly is dropped. ``num_replicas`` and ``rank`` default to the
    process group's.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from ._group import get_rank, get_world_size, is_initialized

            if not is_initialized():
                raise RuntimeError(
                    "DistributedSampler needs num_replicas and rank, or an initialized "
                    "process group (gpugrad.distributed.init_process_group())"
                )
            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"num_replicas should be positive, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.n = int(dataset) if isinstance(dataset, int) else len(dataset)
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        if drop_last and self.n % num_replicas:
            self.num_samples = math.ceil((self.n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(self.n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``seed + epoch`` (call it with the same epoch on every
        rank, before iterating)."""
        self.epoch = epoch

    def indices(self) -> list[int]:
        if self.shuffle:
            generator = Generator().manual_seed(self.seed + self.epoch)
            order = randperm(self.n, generator=generator).tolist()
        else:
            order = list(range(self.n))
        if self.drop_last:
            order = order[: self.total_size]
        elif len(order) < self.total_size:
            pad = self.total_size - len(order)
            reps = math.ceil(pad / len(order)) if order else 0
            order += (order * reps)[:pad]
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return self.num_samples


def shard(dataset: Any, sampler: DistributedSampler) -> TensorDataset:
    """This rank's rows of ``dataset`` (a ``TensorDataset``, a tensor or a tuple of
    tensors), in the sampler's order, as a ``TensorDataset`` for ``DataLoader``."""
    if not isinstance(dataset, TensorDataset):
        dataset = (
            TensorDataset(*dataset) if isinstance(dataset, (tuple, list)) else
            TensorDataset(dataset)
        )  # fmt: skip
    rows = sampler.indices()
    return TensorDataset(
        *(t[tensor(rows, dtype="int64", device=t.device)] for t in dataset.tensors)
    )
