"""``StackDataset`` and ``DistributedSampler`` against PyTorch: samples, batches, errors,
and the sampler's index lists (padding, ``drop_last``, shuffling with ``seed + epoch``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg
from gpugrad.utils import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def test_signatures_match_pytorch():
    for name in ("StackDataset", "DistributedSampler"):
        ours = inspect.signature(getattr(data, name).__init__).parameters
        theirs = inspect.signature(getattr(tdata, name).__init__).parameters
        assert list(ours) == list(theirs)
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def test_stack_dataset_samples_and_batches(device):
    values = np.arange(10.0).reshape(5, 2)
    ours = data.StackDataset(data.TensorDataset(gg.tensor(values, device=device)), list(range(5)))
    theirs = tdata.StackDataset(tdata.TensorDataset(torch.tensor(values)), list(range(5)))
    assert len(ours) == len(theirs) == 5
    assert ours[3][1] == theirs[3][1] and ours[3][0][0].tolist() == theirs[3][0][0].tolist()
    named = data.StackDataset(x=gg.tensor(values, device=device), y=list(range(5)))
    tnamed = tdata.StackDataset(x=torch.tensor(values), y=list(range(5)))
    assert named[2]["x"].tolist() == tnamed[2]["x"].tolist() and named[2]["y"] == 2
    batch = named.__getitems__([4, 0])
    tbatch = tnamed.__getitems__([4, 0])
    assert [b["y"] for b in batch] == [b["y"] for b in tbatch]
    loaded = list(data.DataLoader(named, batch_size=2))
    tloaded = list(tdata.DataLoader(tnamed, batch_size=2))
    assert len(loaded) == len(tloaded) == 3
    for a, b in zip(loaded, tloaded):
        assert a["x"].tolist() == b["x"].tolist() and a["y"].tolist() == b["y"].tolist()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (([1, 2], [1]), {}), ((), {"a": [1, 2], "b": [1]}), (([1],), {"a": [1]})],
)
def test_stack_dataset_errors_as_pytorch(args, kwargs):
    assert_raises_like_torch(
        lambda: data.StackDataset(*args, **kwargs), lambda: tdata.StackDataset(*args, **kwargs)
    )


@pytest.mark.parametrize("size", [10, 11, 2, 0])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_index_lists_as_pytorch(size, replicas, drop_last):
    dataset = list(range(size))
    for rank in range(replicas):
        ours = data.DistributedSampler(dataset, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tdata.DistributedSampler(
            dataset, replicas, rank, shuffle=False, drop_last=drop_last
        )
        assert len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)
        if size:
            assert list(ours) == list(theirs)


def test_distributed_sampler_shuffles_by_seed_and_epoch():
    dataset = list(range(23))
    shards = [data.DistributedSampler(dataset, 4, rank, seed=5) for rank in range(4)]
    first = [list(s) for s in shards]
    covered = sorted(set(sum(first, [])))
    assert covered == list(range(23))  # every index reaches some replica
    assert sum(len(f) for f in first) == 24  # padded to a multiple of 4, as PyTorch's
    assert first == [list(data.DistributedSampler(dataset, 4, r, seed=5)) for r in range(4)]
    for s in shards:
        s.set_epoch(1)
    second = [list(s) for s in shards]
    assert second != first and sorted(set(sum(second, []))) == list(range(23))
    other_seed = [list(data.DistributedSampler(dataset, 4, r, seed=6)) for r in range(4)]
    assert other_seed != first
    # the shuffled order is the generator's permutation for seed + epoch
    generator = gg.Generator().manual_seed(5 + 1)
    order = gg.randperm(23, generator=generator).tolist()
    order += order[:1]
    assert second[2] == order[2::4]


@pytest.mark.parametrize("rank", [-1, 3])
def test_distributed_sampler_rank_errors_as_pytorch(rank):
    assert_raises_like_torch(
        lambda: data.DistributedSampler([1, 2], 3, rank),
        lambda: tdata.DistributedSampler([1, 2], 3, rank),
    )


def test_distributed_sampler_with_data_loader(device):
    dataset = data.TensorDataset(gg.arange(10, device=device))
    sampler = data.DistributedSampler(dataset, num_replicas=2, rank=1, shuffle=False)
    batches = [b[0].tolist() for b in data.DataLoader(dataset, batch_size=2, sampler=sampler)]
    assert batches == [[1, 3], [5, 7], [9]]
