"""``gpugrad.utils.data`` against ``torch.utils.data``: datasets, samplers, collation and
the loader's batches, lengths, options and errors; thread workers equal ``num_workers=0``."""

from __future__ import annotations

import collections
import threading
import warnings

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.utils import data

Point = collections.namedtuple("Point", ["x", "y"])


def _plain(value):
    """Nested structure with tensors turned into (dtype name, values)."""
    if hasattr(value, "tolist") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        return (str(value.dtype).split(".")[-1], value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (
            type(value).__name__
            if not value
            else [type(value).__name__] + [_plain(v) for v in value]
        )
    return value


def _samples(lib):
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [np.array([1, 2]), np.array([3, 4])],
        [np.float32(1.5), np.float32(2.5)],
        [np.int64(3), np.int64(4)],
        [1.5, 2.5],
        [1, 2],
        [True, False],
        ["a", "b"],
        [(1, 2.0), (3, 4.0)],
        [[1, 2], [3, 4]],
        [{"a": 1, "b": np.array([1.0])}, {"a": 2, "b": np.array([2.0])}],
        [Point(1, 2.0), Point(3, 4.0)],
        [(lib.tensor([1]), {"k": [1.0, 2.0]}), (lib.tensor([2]), {"k": [3.0, 4.0]})],
    ]


def test_default_collate_matches_pytorch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate

    for ours, theirs in zip(_samples(gg), _samples(torch)):
        mine, reference = data.default_collate(ours), default_collate(theirs)
        assert _plain(mine) == _plain(reference), ours
        assert type(mine).__name__ == type(reference).__name__


def test_default_collate_errors_match_pytorch():
    pytest.importorskip("torch")
    from torch.utils.data import default_collate

    for batch in ([[1, 2], [3]], [object(), object()], [np.array(["a"]), np.array(["b"])]):
        with pytest.raises(Exception) as theirs:
            default_collate(batch)
        with pytest.raises(type(theirs.value)) as ours:
            data.default_collate(batch)
        assert str(ours.value) == str(theirs.value)


def test_default_convert():
    out = data.default_convert({"x": np.arange(3), "y": [np.float64(2.0)], "s": "txt"})
    assert out["x"].dtype == gg.int64 and out["x"].tolist() == [0, 1, 2]
    assert out["y"][0].dtype == gg.float64 and out["s"] == "txt"


# --- datasets -----------------------------------------------------------------------------
def test_tensor_concat_subset_datasets(device: str):
    x = gg.arange(10, device=device).reshape(5, 2)
    y = gg.arange(5, device=device)
    ds = data.TensorDataset(x, y)
    assert len(ds) == 5 and ds[2][0].tolist() == [4, 5] and ds[2][1].item() == 2
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        data.TensorDataset(x, gg.arange(4, device=device))
    both = ds + data.TensorDataset(x * 10, y * 10)
    assert isinstance(both, data.ConcatDataset) and len(both) == 10
    assert both[7][1].item() == 20 and both[-1][1].item() == 40
    assert both.cumulative_sizes == [5, 10]
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        both[-11]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        data.ConcatDataset([])
    sub = data.Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4 and sub[1][1].item() == 0
    assert [s[1].item() for s in sub.__getitems__([1, 0])] == [0, 4]


def test_iterable_datasets_chain():
    class Count(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    chained = Count(2) + Count(3)
    assert isinstance(chained, data.ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        data.ConcatDataset([Count(2)])
    with pytest.raises(NotImplementedError):
        data.Dataset()[0]


def test_random_split_matches_pytorch_lengths_and_errors():
    torch = pytest.importorskip("torch")
    from torch.utils.data import random_split

    for lengths in ([0.5, 0.3, 0.2], [0.33, 0.33, 0.34], [3, 7], [0.7, 0.3]):
        ours = data.random_split(list(range(10)), lengths, generator=gg.Generator().manual_seed(0))
        theirs = random_split(list(range(10)), lengths, generator=torch.Generator().manual_seed(0))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        items = sorted(i for s in ours for i in s)
        assert items == list(range(10))  # disjoint and covering
    again = data.random_split(list(range(10)), [0.5, 0.5], generator=gg.Generator().manual_seed(4))
    once = data.random_split(list(range(10)), [0.5, 0.5], generator=gg.Generator().manual_seed(4))
    assert [list(s) for s in again] == [list(s) for s in once]
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        data.random_split(list(range(2)), [1.0, 0.0])
    for bad in ([3, 3], [1.2, -0.2]):
        with pytest.raises(ValueError) as theirs:
            random_split(list(range(10)), bad)
        with pytest.raises(ValueError) as mine:
            data.random_split(list(range(10)), bad)
        assert str(mine.value) == str(theirs.value)


# --- samplers -----------------------------------------------------------------------------
def test_sequential_and_batch_samplers_match_pytorch():
    pytest.importorskip("torch")
    from torch.utils.data import BatchSampler, SequentialSampler

    for drop_last in (False, True):
        ours = data.BatchSampler(data.SequentialSampler(range(10)), 3, drop_last)
        theirs = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_samplers(device: str):
    g = gg.Generator().manual_seed(0)
    sampler = data.RandomSampler(range(20), generator=g)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    g.manual_seed(0)
    assert list(sampler) == first
    with_replacement = list(
        data.RandomSampler(range(5), replacement=True, num_samples=70, generator=g)
    )
    assert len(with_replacement) == 70 and set(with_replacement) == set(range(5))
    longer = list(data.RandomSampler(range(5), num_samples=12, generator=g))
    assert len(longer) == 12 and sorted(longer[:5]) == list(range(5))
    subset = list(data.SubsetRandomSampler([10, 20, 30], generator=g))
    assert sorted(subset) == [10, 20, 30]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = np.bincount(weighted, minlength=3) / 4000
    assert counts[0] == 0 and abs(counts[2] - 0.75) < 0.03
    distinct = list(data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False, generator=g))
    assert sorted(distinct) == [0, 1, 2]


def test_sampler_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    cases = [
        ("RandomSampler", (range(3),), {"replacement": 1}),
        ("RandomSampler", (range(3),), {"num_samples": 0}),
        ("RandomSampler", ([],), {}),
        ("WeightedRandomSampler", ([1.0], 0), {}),
        ("WeightedRandomSampler", ([1.0], 2), {"replacement": "yes"}),
        ("WeightedRandomSampler", ([[1.0]], 2), {}),
        ("BatchSampler", (range(3), 0, False), {}),
        ("BatchSampler", (range(3), True, False), {}),
        ("BatchSampler", (range(3), 2, 1), {}),
    ]
    for name, args, kwargs in cases:
        with pytest.raises(Exception) as theirs:
            getattr(tdata, name)(*args, **kwargs)
        with pytest.raises(type(theirs.value)) as ours:
            getattr(data, name)(*args, **kwargs)
        assert str(ours.value) == str(theirs.value), name


# --- the loader ---------------------------------------------------------------------------
class _Pairs:
    """A map-style dataset of dict samples (NumPy arrays and numbers)."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i, "name": f"s{i}"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 1},
    ],
)
def test_sequential_loading_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    ours = list(data.DataLoader(_Pairs(), **kwargs))
    theirs = list(torch.utils.data.DataLoader(_Pairs(), **kwargs))
    assert _plain(ours) == _plain(theirs)
    assert len(data.DataLoader(_Pairs(), **kwargs)) == len(
        torch.utils.data.DataLoader(_Pairs(), **kwargs)
    )


def test_tensor_dataset_batches_as_pytorch(device: str):
    torch = pytest.importorskip("torch")
    x = np.arange(22.0).reshape(11, 2)
    y = np.arange(11)
    ours = data.DataLoader(
        data.TensorDataset(gg.tensor(x, device=device), gg.tensor(y, device=device)), batch_size=4
    )
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=4
    )
    assert _plain(list(ours)) == _plain(list(theirs))
    # A sampler in another order gathers the same rows as PyTorch.
    order = [5, 1, 9, 0, 3]
    ours = data.DataLoader(ours.dataset, batch_size=2, sampler=order)
    theirs = torch.utils.data.DataLoader(theirs.dataset, batch_size=2, sampler=order)
    assert _plain(list(ours)) == _plain(list(theirs))
    plain_tensor = list(data.DataLoader(gg.tensor(x, device=device), batch_size=5))
    assert [b.shape for b in plain_tensor] == [(5, 2), (5, 2), (1, 2)]


def test_batch_sampler_and_iterable_dataset_as_pytorch():
    torch = pytest.importorskip("torch")
    batches = [[0, 1], [4], [2, 3, 5]]
    ours = list(data.DataLoader(_Pairs(), batch_sampler=batches))
    theirs = list(torch.utils.data.DataLoader(_Pairs(), batch_sampler=batches))
    assert _plain(ours) == _plain(theirs)

    class Stream(data.IterableDataset):
        def __iter__(self):
            return iter(range(10))

        def __len__(self):
            return 10

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(10))

        def __len__(self):
            return 10

    for kwargs in ({"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}):
        ours = data.DataLoader(Stream(), **kwargs)
        theirs = torch.utils.data.DataLoader(TorchStream(), **kwargs)
        assert _plain(list(ours)) == _plain(list(theirs)) and len(ours) == len(theirs)


def test_option_errors_match_pytorch():
    torch = pytest.importorskip("torch")

    class Stream(data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    cases = [
        (None, {"sampler": [0, 1], "shuffle": True}),
        (None, {"batch_sampler": [[0]], "batch_size": 2}),
        (None, {"batch_sampler": [[0]], "drop_last": True}),
        (None, {"batch_size": None, "drop_last": True}),
        (None, {"num_workers": -1}),
        (None, {"timeout": -1}),
        (None, {"prefetch_factor": 2}),
        (None, {"persistent_workers": True}),
        (None, {"batch_size": 0}),
        ("stream", {"shuffle": True}),
        ("stream", {"sampler": [0]}),
    ]
    for kind, kwargs in cases:
        ours_ds = Stream() if kind else list(range(5))
        theirs_ds = TorchStream() if kind else list(range(5))
        with pytest.raises(Exception) as theirs:
            torch.utils.data.DataLoader(theirs_ds, **kwargs)
        with pytest.raises(type(theirs.value)) as ours:
            data.DataLoader(ours_ds, **kwargs)
        assert str(ours.value).split(", but got")[0] == str(theirs.value).split(", but got")[0]


def test_shuffle_is_reproducible_by_generator_or_seed(device: str):
    ds = data.TensorDataset(gg.arange(50, device=device))

    def epochs(loader, n=3):
        return [[b[0].tolist() for b in loader] for _ in range(n)]

    first = epochs(
        data.DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator().manual_seed(5))
    )
    again = epochs(
        data.DataLoader(ds, batch_size=8, shuffle=True, generator=gg.Generator().manual_seed(5))
    )
    assert first == again
    assert first[0] != first[1]  # a new order each epoch
    for epoch in first:
        assert sorted(v for batch in epoch for v in batch) == list(range(50))
    by_seed = epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=5))
    assert by_seed == epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=5))
    loader = data.DataLoader(ds, batch_size=8, shuffle=True, seed=1)
    indices = list(loader.batch_indices())
    replay = data.DataLoader(ds, batch_size=8, shuffle=True, seed=1)
    assert [b[0].tolist() for b in replay] == indices
    with pytest.raises(ValueError, match="either generator or seed"):
        data.DataLoader(ds, shuffle=True, seed=1, generator=gg.Generator())


@pytest.mark.parametrize("num_workers", [1, 2, 3])
def test_thread_workers_equal_single_thread(num_workers: int, device: str):
    ds = data.TensorDataset(
        gg.arange(40, device=device).reshape(20, 2), gg.arange(20, device=device)
    )
    reference = [
        [t.tolist() for t in batch]
        for batch in data.DataLoader(ds, batch_size=3, shuffle=True, seed=9)
    ]
    seen = []
    lock = threading.Lock()

    def init(worker_id):
        with lock:
            seen.append((worker_id, data.get_worker_info().num_workers))

    loader = data.DataLoader(
        ds,
        batch_size=3,
        shuffle=True,
        seed=9,
        num_workers=num_workers,
        worker_init_fn=init,
        pin_memory=True,
    )
    assert [[t.tolist() for t in batch] for batch in loader] == reference
    assert sorted(seen) == [(w, num_workers) for w in range(num_workers)]
    assert data.get_worker_info() is None
    # Python-level datasets and custom collate functions run in the workers too.
    ours = list(data.DataLoader(_Pairs(), batch_size=2, num_workers=num_workers, prefetch_factor=1))
    assert _plain(ours) == _plain(list(data.DataLoader(_Pairs(), batch_size=2)))


def test_worker_errors_reach_the_caller():
    class Broken:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 2:
                raise KeyError("bad sample 2")
            return i

    with pytest.raises(KeyError, match="bad sample 2"):
        list(data.DataLoader(Broken(), batch_size=1, num_workers=2))
    # Stopping early leaves no thread behind.
    before = threading.active_count()
    for _ in data.DataLoader(list(range(100)), batch_size=1, num_workers=2):
        break
    for _ in range(100):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.01)
    assert threading.active_count() <= before


def test_readme_loop_still_works():
    dataset = data.TensorDataset(gg.randn(50, 3), (gg.rand(50) > 0.5).float())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sizes = [
            xb.shape[0] for xb, _ in data.DataLoader(dataset, batch_size=16, shuffle=True, seed=0)
        ]
    assert sizes == [16, 16, 16, 2]
    assert [len(b[0]) for b in data.batches(gg.zeros(5), batch_size=2)] == [2, 2, 1]


def test_shuffle_without_generator_follows_gg_manual_seed():
    ds = list(range(30))
    gg.manual_seed(21)
    first = [b.tolist() for b in data.DataLoader(ds, batch_size=7, shuffle=True)]
    gg.manual_seed(21)
    again = [b.tolist() for b in data.DataLoader(ds, batch_size=7, shuffle=True)]
    assert first == again and sorted(sum(first, [])) == ds
