"""``gpugrad.utils.data``: datasets, samplers, ``default_collate`` and ``DataLoader``, as
``torch.utils.data``.

>>> from gpugrad.utils.data import DataLoader, TensorDataset
>>> x, y = gg.randn(200, 3), gg.randint(0, 2, (200,))
>>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
>>> for xb, yb in loader:          # a new permutation each epoch, reproducible by seed
...     print(xb.shape, yb.shape)
gpugrad.Size([64, 3]) gpugrad.Size([64])
gpugrad.Size([64, 3]) gpugrad.Size([64])
gpugrad.Size([64, 3]) gpugrad.Size([64])
gpugrad.Size([8, 3]) gpugrad.Size([8])

Differences from PyTorch, by design: workers (``num_workers > 0``) are threads, not
processes, and an ``IterableDataset`` is always iterated once, in the main thread (as if
every worker's shard were read in turn); indices are always drawn in the main thread, so a
loader yields the same batches whatever ``num_workers``. ``pin_memory`` is accepted and
does nothing (there is no pinned host memory to use). ``seed=`` (gpugrad's own) is short
for ``generator=gg.Generator().manual_seed(seed)``.
"""

from __future__ import annotations

import bisect
import collections.abc
import itertools
import math
import queue
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .._factories import as_tensor, empty, multinomial, randint, randperm, tensor
from .._random import Generator, default_generator
from .._tensor import Tensor
from ..backends import cpu as _cpu
from ..ops.shape import stack

__all__ = [
    "BatchSampler",
    # --- s7-seq ---
    "DistributedSampler",
    "StackDataset",
    # --- end s7-seq ---
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "batches",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


# --- datasets -----------------------------------------------------------------------------
class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define ``__iter__``."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors of equal length: ``dataset[i] == (t[i] for t)``."""

    def __init__(self, *tensors: Tensor) -> None:
        if not all(t.dim() > 0 and t.shape[0] == tensors[0].shape[0] for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: Generator | None = default_generator,
) -> list[Subset]:
    """Split ``dataset`` into random non-overlapping subsets of the given lengths, or
    fractions (summing to 1; the remainder is dealt round-robin)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(int(math.floor(len(dataset) * frac)))
        remainder = len(dataset) - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = randperm(sum(lengths), generator=generator).tolist()
    return [
        Subset(dataset, indices[offset - length : offset])
        for offset, length in zip(itertools.accumulate(lengths), lengths)
    ]


# --- samplers -----------------------------------------------------------------------------
class Sampler:
    """Base class of index samplers: subclasses define ``__iter__`` (and ``__len__``)."""

    def __init__(self, data_source: Any = None) -> None:
        if data_source is not None:
            warnings.warn(
                "`data_source` argument is not used and will be removed in 2.2.0."
                "You may still have custom implementation that utilizes it.",
                stacklevel=2,
            )

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_positive_int(name: str, value: Any, error: type = ValueError) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise error(f"{name} should be a positive integer value, but got {name}={value}")


class RandomSampler(Sampler):
    """A random permutation of the indices (a new one each pass), or ``num_samples``
    indices drawn with replacement."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        generator = self.generator
        if generator is None:
            seed = int(empty((), dtype="int64").random_().item())
            generator = Generator().manual_seed(seed)
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from randint(high=n, size=(32,), generator=generator).tolist()
            yield from randint(high=n, size=(self.num_samples % 32,), generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=generator).tolist()
            yield from randperm(n, generator=generator).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one each pass)."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        _check_positive_int("num_samples", num_samples)
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        weights_tensor = as_tensor(weights, dtype="float64")
        if weights_tensor.dim() != 1:
            raise ValueError(
                "weights should be a 1d sequence but given "
                f"weights have shape {tuple(weights_tensor.shape)}"
            )
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        draws = multinomial(
            self.weights, self.num_samples, self.replacement, generator=self.generator
        )
        yield from draws.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        _check_positive_int("batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            for batch in zip(*[sampler_iter] * self.batch_size):
                yield [*batch]
        else:
            batch = [*itertools.islice(sampler_iter, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(sampler_iter, self.batch_size)]

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the index stream of an ``IterableDataset``."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


# --- collation ----------------------------------------------------------------------------
_NP_STR_OBJ = re.compile(r"[SaUO]")
_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def default_convert(data: Any) -> Any:
    """NumPy arrays (and those inside mappings and sequences) to tensors; the rest as is
    (the ``collate_fn`` of a loader without automatic batching)."""
    if isinstance(data, Tensor):
        return data
    if _cpu.is_host_array(data) or _cpu.is_host_scalar(data):
        if _cpu.is_host_array(data) and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``: tensors
    and NumPy arrays are stacked, Python floats become float64 and ints int64 tensors,
    strings stay a list, and mappings, named tuples and sequences are collated field by
    field (a tuple sample gives a list)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if _cpu.is_host_array(elem):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return default_collate([as_tensor(b) for b in batch])
    if _cpu.is_host_scalar(elem):
        if _NP_STR_OBJ.search(elem.dtype.str) is not None:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return as_tensor(_cpu.host_array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype="float64")
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(sample) == size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


# --- workers ------------------------------------------------------------------------------
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker thread."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset: Any) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker_state = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the calling worker thread, ``None`` in the main thread."""
    return getattr(_worker_state, "info", None)


class _WorkerPool:
    """``num_workers`` threads; task ``i`` goes to worker ``i % num_workers`` (PyTorch's
    round-robin), so results come back in order with one FIFO queue per worker."""

    def __init__(self, loader: DataLoader, fetch: Callable[[Any], Any]) -> None:
        self.count = loader.num_workers
        self.inputs = [queue.Queue() for _ in range(self.count)]
        self.outputs = [queue.Queue() for _ in range(self.count)]
        base_seed = loader._worker_base_seed()
        self.threads = [
            threading.Thread(
                target=self._work,
                args=(
                    w,
                    fetch,
                    loader.worker_init_fn,
                    WorkerInfo(w, self.count, base_seed + w, loader.dataset),
                ),
                daemon=True,
                name=f"gpugrad-DataLoader-worker-{w}",
            )
            for w in range(self.count)
        ]
        for thread in self.threads:
            thread.start()

    def _work(
        self, worker_id: int, fetch: Callable, init: Callable | None, info: WorkerInfo
    ) -> None:
        _worker_state.info = info
        try:
            if init is not None:
                init(worker_id)
        except BaseException as error:  # reported with the first result
            self.outputs[worker_id].put((False, error))
            return
        while True:
            task = self.inputs[worker_id].get()
            if task is None:
                return
            try:
                self.outputs[worker_id].put((True, fetch(task[0])))
            except BaseException as error:
                self.outputs[worker_id].put((False, error))

    def run(self, tasks: Iterator[Any], prefetch: int) -> Iterator[Any]:
        sent = received = 0
        try:
            for task in itertools.islice(tasks, self.count * prefetch):
                self.inputs[sent % self.count].put((task,))
                sent += 1
            while received < sent:
                ok, value = self.outputs[received % self.count].get()
                if not ok:
                    raise value
                received += 1
                for task in itertools.islice(tasks, 1):
                    self.inputs[sent % self.count].put((task,))
                    sent += 1
                yield value
        finally:
            for q in self.inputs:
                q.put(None)


# --- the loader ---------------------------------------------------------------------------
class DataLoader:
    """Batches of a dataset, as ``torch.utils.data.DataLoader``.

    ``sampler`` (default: sequential, or random when ``shuffle``) chooses the indices,
    ``batch_sampler`` (default: ``BatchSampler(sampler, batch_size, drop_last)``) groups
    them, ``collate_fn`` (default ``default_collate``) merges each group's samples. A
    ``TensorDataset`` or a tensor is gathered with one indexing op per tensor per batch.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: int | None = None,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; "
                "use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set "
                "prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if seed is not None:
            if generator is not None:
                raise ValueError("pass either generator or seed to DataLoader, not both")
            generator = Generator().manual_seed(seed)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive "
                "with drop_last"
            )
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.shuffle = shuffle
        self.seed = seed
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def batch_indices(self) -> Iterator[Any]:
        """The indices of each batch of one epoch (advances the shuffle generator) — the
        order ``iter(loader)`` would use (gpugrad's helper, for driving another framework
        with the same batches)."""
        return iter(self._index_sampler)

    def _worker_base_seed(self) -> int:
        source = self.generator if self.generator is not None else default_generator
        return source.initial_seed()

    def _tasks(self) -> Iterator[Any]:
        if not self._iterable:
            return iter(self._index_sampler)
        samples = iter(self.dataset)
        if not self._auto_collation:
            return ((sample,) for sample in samples)
        return self._iterable_batches(samples)

    def _iterable_batches(self, samples: Iterator[Any]) -> Iterator[Any]:
        while True:
            batch = list(itertools.islice(samples, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield (batch,)

    def _fetch(self, task: Any) -> Any:
        if self._iterable:
            return self.collate_fn(task[0])
        if not self._auto_collation:
            return self.collate_fn(self.dataset[task])
        gathered = self._gather(task)
        if gathered is not None:
            return gathered
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(task) if callable(getitems) else [self.dataset[i] for i in task]
        return self.collate_fn(data)

    def _gather(self, indices: list) -> Any:
        """The default-collated batch of a ``TensorDataset`` or a tensor, gathered with
        one indexing op per tensor (a slice when the indices are consecutive); ``None``
        where that does not apply."""
        if self.collate_fn is not default_collate or not indices:
            return None
        if isinstance(self.dataset, TensorDataset):
            tensors, single = self.dataset.tensors, False
        elif isinstance(self.dataset, Tensor):
            tensors, single = (self.dataset,), True
        else:
            return None
        first = indices[0]
        if indices == list(range(first, first + len(indices))):
            key: Any = slice(first, first + len(indices))
            batch = [t[key] for t in tensors]
        else:
            batch = [
                t[tensor(indices, dtype="int64", device=t._backend.device_str)] for t in tensors
            ]
        return batch[0] if single else batch

    def __iter__(self) -> Iterator[Any]:
        tasks = self._tasks()
        if self.num_workers == 0 or self._iterable:
            for task in tasks:
                yield self._fetch(task)
            return
        yield from _WorkerPool(self, self._fetch).run(tasks, self.prefetch_factor or 1)


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


# --- s7-seq: StackDataset, DistributedSampler ---------------------------------------------
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
    to the world size and rank of ``gpugrad.distributed``'s process group. ``dataset`` may
    also be a row count (a gpugrad extra, for ``gpugrad.distributed.shard``)."""

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
            world_size, group_rank = _process_group()
            num_replicas = world_size if num_replicas is None else num_replicas
            rank = group_rank if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.n = int(dataset) if isinstance(dataset, int) else len(dataset)
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if drop_last and self.n % num_replicas != 0:
            self.num_samples = math.ceil((self.n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(self.n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def indices(self) -> list[int]:
        """This replica's indices for the current epoch, as a list."""
        if self.shuffle:
            generator = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(self.n, generator=generator).tolist()
        else:
            indices = list(range(self.n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[: self.total_size]
        return indices[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which reseeds the shuffle (call it before each epoch's
        iteration so every epoch has a new order, the same on every replica)."""
        self.epoch = epoch


_process_group_query: list[Callable[[], tuple[int, int]]] = []
"""How ``DistributedSampler`` reads the default process group's world size and rank:
``gpugrad.distributed`` registers its query here when it loads
(``register_process_group_query``). It builds on this module (``shard`` makes a
``TensorDataset``), so this module does not import it."""


def register_process_group_query(query: Callable[[], tuple[int, int]]) -> None:
    """Called once by ``gpugrad.distributed``: ``query()`` returns the default group's world
    size and rank, or raises its error when no group is initialized."""
    _process_group_query[:] = [query]


def _process_group() -> tuple[int, int]:
    if not _process_group_query:  # gpugrad.distributed not loaded: no group can exist
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return _process_group_query[0]()


# --- end s7-seq ---
