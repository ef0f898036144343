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

from typing import Any

from .._factories import tensor
from ..utils.data import DistributedSampler, TensorDataset, register_process_group_query
from ._group import get_rank, get_world_size

register_process_group_query(lambda: (get_world_size(), get_rank()))

__all__ = ["DistributedSampler", "shard"]


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
