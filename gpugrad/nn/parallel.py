"""``gpugrad.nn.parallel.DistributedDataParallel``: data-parallel training over the ranks
of ``gpugrad.distributed``'s process group, as PyTorch's DDP.

    dist.init_process_group("mpi")
    model = DistributedDataParallel(model)     # rank 0's parameters go to every rank
    loss_fn(model(x_shard), y_shard).backward()  # grads are now averaged over the ranks
    optimizer.step()                            # so every rank takes the same step

How gradients travel. Parameters are grouped, in reverse registration order (roughly the
order backward produces their gradients), into buckets of at most ``bucket_cap_mb`` (one
dtype and device per bucket; a parameter larger than the cap gets a bucket of its own).
A hook on each parameter (``Tensor.register_hook`` on the leaf, which gpugrad's engine
runs when the parameter's gradient is complete, just before accumulating it) copies the
parameter's gradient (plus what ``.grad`` already held) into its bucket's flat buffer.
When every gradient of a bucket has arrived, and every earlier bucket is launched, the
bucket is launched: one non-blocking ``Iallreduce`` (MPI) or NCCL all-reduce of the whole
buffer, which proceeds while backward goes on computing the gradients of earlier layers.
When the last gradient has arrived (still inside backward), DDP waits for all buckets,
divides by the world size and writes the averages into the parameters' ``.grad``. Buckets
are launched in the same fixed order on every rank, whatever order the gradients come in.

``no_sync()`` skips all of this for the backward passes of forwards run inside it (the
gradients accumulate locally); the next synchronized backward averages the accumulated
gradients. With ``find_unused_parameters=True`` each forward walks the graph of its
outputs, and parameters it cannot reach count as ready (their ``.grad``, or zeros, is
averaged too), so a model whose forward skips parameters does not hang.

Not supported: ``create_graph=True`` through DDP (its gradients are averaged as plain
values), and parameters shared between two DDP models.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# gpugrad's public namespace only (the package defines these before importing nn).
from .._factories import empty, tensor, zeros
from .._grad_mode import is_grad_enabled, no_grad
from .._tensor import Tensor
from .modules.module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]

UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `gpugrad.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss. "
    "Parameters that did not receive a gradient on rank {rank}: {names}"
)


# PyTorch DDP arguments accepted and ignored (gpugrad's DDP has one behaviour for each).
IGNORED_TORCH_ARGUMENTS = {
    "check_reduction",
    "gradient_as_bucket_view",
    "static_graph",
    "init_sync",
    "delay_all_reduce_named_params",
    "param_to_hook_all_reduce",
    "mixed_precision",
    "device_mesh",
}


class DataParallel(Module):
    """PyTorch's ``nn.DataParallel`` on one device: gpugrad runs ``module`` itself on the
    device its parameters are on, as PyTorch does when it has no GPU or one (the batch is
    not split; ``DistributedDataParallel`` spreads work over processes). The wrapped module
    is ``self.module``, so state-dict keys gain the ``module.`` prefix, as PyTorch's."""

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


class _Bucket:
    """A flat gradient buffer for some parameters (``slots[k]`` is the view of it shaped
    as parameter ``indices[k]``), reduced across ranks as one message."""

    __slots__ = ("indices", "buffer", "slots", "arrived", "work")

    def __init__(self, indices: list[int], params: list[Tensor]) -> None:
        self.indices = indices
        first = params[indices[0]]
        total = sum(params[i].numel() for i in indices)
        self.buffer = empty(total, dtype=first.dtype, device=first.device)
        self.slots: list[Tensor] = []
        start = 0
        for i in indices:
            n = params[i].numel()
            self.slots.append(self.buffer[start : start + n].view(params[i].shape))
            start += n
        self.arrived = 0
        self.work: Any = None


def _assign_buckets(params: list[Tensor], cap_bytes: int) -> list[list[int]]:
    """Parameter indices grouped into buckets, in reverse order, by (device, dtype), each
    at most ``cap_bytes`` (a single larger parameter fills a bucket of its own)."""
    open_buckets: dict[Any, tuple[list[int], int]] = {}
    done: list[list[int]] = []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (str(p.device), p.dtype)
        size = p.numel() * p.dtype.itemsize
        current = open_buckets.get(key)
        if current is not None and current[1] + size > cap_bytes:
            done.append(current[0])
            current = None
        if current is None:
            current = ([], 0)
        current[0].append(i)
        open_buckets[key] = (current[0], current[1] + size)
    done.extend(indices for indices, _ in open_buckets.values())
    # Launch order: the bucket holding the parameter backward reaches first comes first.
    done.sort(key=lambda indices: -indices[0])
    return done


def _leaves_reached(outputs: Any) -> set[int]:
    """ids of the leaf tensors whose AccumulateGrad nodes the outputs' graphs reach
    (through ``grad_fn.next_functions``; an AccumulateGrad node has a ``variable``)."""
    stack: list[Any] = []
    pending = [outputs]
    while pending:
        value = pending.pop()
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                stack.append(value.grad_fn)
            elif value.requires_grad:
                stack.append(("leaf", value))
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
    seen: set[int] = set()
    leaves: set[int] = set()
    while stack:
        node = stack.pop()
        if type(node) is tuple:
            leaves.add(id(node[1]))
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.add(id(variable))
            continue
        for next_node, _ in node.next_functions:
            if next_node is not None:
                stack.append(next_node)
    return leaves


COUNT_MISMATCH = (
    "DDP expects same model across all ranks, but Rank {rank} has {mine} {kind}, while rank "
    "{other} has inconsistent {theirs} {kind}."
)
MINE_DIFFERS = (
    "[{rank}]: {kind}[{index}] ({name}) in this process with {what} {mine} appears not to "
    "match {what} of the same {noun} in process 0."
)
OTHER_DIFFERS = (
    "[{rank}]: {kind}[{index}] ({name}) has {what} {theirs} in process {other}, which "
    "appears not to match {what} {mine} of the same {noun} in this process and in process 0 "
    "(DDP expects same model across all ranks)."
)


def _gather_json(value: Any) -> list[Any]:
    """Every rank's ``value`` (JSON-able), in rank order, through two all_gathers."""
    from .. import distributed as dist

    world = dist.get_world_size()
    raw = list(json.dumps(value).encode())
    lengths = [zeros(1, dtype="int64") for _ in range(world)]
    dist.all_gather(lengths, tensor([len(raw)], dtype="int64"))
    longest = max(int(n.item()) for n in lengths)
    padded = tensor(raw + [0] * (longest - len(raw)), dtype="uint8")
    gathered = [zeros(longest, dtype="uint8") for _ in range(world)]
    dist.all_gather(gathered, padded)
    return [
        json.loads(bytes(g.tolist()[: int(n.item())]).decode()) for g, n in zip(gathered, lengths)
    ]


def _verify_same_across_ranks(kind: str, named: list[tuple[str, Tensor]], rank: int) -> None:
    """Raise ``RuntimeError`` on every rank unless every rank has as many ``kind``
    ("params" or "buffers") as this one, each of the same shape and dtype, as PyTorch's
    DDP verifies at wrap time (a broadcast between mismatched models fails in MPI, or
    hangs). The message names the first mismatching tensor."""
    mine = [[list(t.shape), str(t.dtype)] for _, t in named]
    every = _gather_json(mine)
    for other, theirs in enumerate(every):
        if len(theirs) != len(mine):
            raise RuntimeError(
                COUNT_MISMATCH.format(
                    rank=rank, mine=len(mine), kind=kind, other=other, theirs=len(theirs)
                )
            )
    noun = kind[:-1]
    reference = every[0]
    for index, (name, _) in enumerate(named):
        for other, theirs in enumerate(every):
            if theirs[index] == reference[index]:
                continue
            what, slot = ("sizes", 0) if theirs[index][0] != reference[index][0] else ("dtype", 1)
            fields = dict(rank=rank, kind=kind, index=index, name=name, what=what, noun=noun)
            if mine[index] != reference[index]:
                raise RuntimeError(MINE_DIFFERS.format(**fields, mine=mine[index][slot]))
            raise RuntimeError(
                OTHER_DIFFERS.format(
                    **fields, other=other, theirs=theirs[index][slot], mine=mine[index][slot]
                )
            )


def _make_hook(ref: Any, index: int) -> Any:
    def hook(grad: Tensor) -> Tensor | None:
        ddp = ref()
        return None if ddp is None else ddp._on_grad(index, grad)

    return hook


def _remove_hooks(handles: list[Any]) -> None:
    for handle in handles:
        handle.remove()


class DistributedDataParallel(Module):
    """Wrap ``module`` so that backward averages its gradients over all ranks.

    At wrap time every rank checks that all ranks hold the same number of parameters
    and buffers, of the same shapes and dtypes (``RuntimeError`` on every rank, naming the
    first mismatch, as PyTorch's "DDP expects same model across all ranks"); then rank
    0's parameters and buffers are broadcast to every rank (in place, counted on their
    version counters: a graph recorded before wrapping cannot backpropagate through the
    old values); with
    ``broadcast_buffers`` (default) buffers are broadcast again before each forward.
    ``bucket_cap_mb`` bounds a bucket's size (25 MB, PyTorch's default).
    ``device_ids``/``output_device``/``dim`` are accepted for PyTorch compatibility and
    ignored (the module is used on the device its parameters are on).
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        **kwargs: Any,
    ) -> None:
        from .. import distributed as dist

        unknown = sorted(set(kwargs) - IGNORED_TORCH_ARGUMENTS)
        if unknown:
            raise TypeError(f"DistributedDataParallel() got unexpected arguments {unknown}")
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a gpugrad Module, not {module!r}")
        if not dist.is_initialized():
            raise ValueError(dist._group.NOT_INITIALIZED)  # PyTorch's class and text
        self.module = module
        object.__setattr__(self, "broadcast_buffers", broadcast_buffers)
        object.__setattr__(self, "find_unused_parameters", find_unused_parameters)
        object.__setattr__(self, "require_backward_grad_sync", True)
        object.__setattr__(self, "world_size", dist.get_world_size())
        object.__setattr__(self, "rank", dist.get_rank())
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        object.__setattr__(self, "bucket_cap_bytes", max(1, int(cap * 1024 * 1024)))

        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        params = [p for _, p in named]
        object.__setattr__(self, "_param_names", [n for n, _ in named])
        object.__setattr__(self, "_params", params)
        self._sync_module_states()

        buckets = [_Bucket(ix, params) for ix in _assign_buckets(params, self.bucket_cap_bytes)]
        where: list[tuple[int, int]] = [(0, 0)] * len(params)
        for b, bucket in enumerate(buckets):
            for slot, i in enumerate(bucket.indices):
                where[i] = (b, slot)
        object.__setattr__(self, "_buckets", buckets)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_next_bucket", 0)  # the next bucket to launch
        object.__setattr__(self, "_arrived_total", 0)
        object.__setattr__(self, "_sync_this_backward", True)
        object.__setattr__(self, "_unused", [])  # indices of unused params, this iteration
        object.__setattr__(self, "_marked", [False] * len(params))
        ref = weakref.ref(self)
        handles = [p.register_hook(_make_hook(ref, i)) for i, p in enumerate(params)]
        object.__setattr__(self, "_handles", handles)
        # The hooks hold the wrapper weakly; when it goes, its hooks leave the parameters.
        weakref.finalize(self, _remove_hooks, handles)

    # --- wrap time ------------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        from .. import distributed as dist

        if self.world_size == 1:
            return
        _verify_same_across_ranks("params", list(self.module.named_parameters()), self.rank)
        _verify_same_across_ranks("buffers", list(self.module.named_buffers()), self.rank)
        for p in self.module.parameters():  # in place: the Parameter objects stay
            dist.broadcast(p, 0)
        self._broadcast_buffers()

    def _broadcast_buffers(self) -> None:
        from .. import distributed as dist

        for b in self.module.buffers():
            dist.broadcast(b, 0)

    # --- forward ----------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._arrived_total:
            names = [n for i, n in enumerate(self._param_names) if not self._marked[i]]
            self._reset()
            raise RuntimeError(UNFINISHED.format(rank=self.rank, names=", ".join(names)))
        if self.broadcast_buffers and self.world_size > 1:
            self._broadcast_buffers()
        sync = self.require_backward_grad_sync
        object.__setattr__(self, "_sync_this_backward", sync)
        output = self.module(*args, **kwargs)
        if sync and self.find_unused_parameters and is_grad_enabled():
            reached = _leaves_reached(output)
            unused = [i for i, p in enumerate(self._params) if id(p) not in reached]
            object.__setattr__(self, "_unused", unused)
            if unused:
                self._mark_unused()
        return output

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside this context accumulate gradients
        locally, without communication; the first synchronized backward after it averages
        the accumulated gradients."""
        previous = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", previous)

    # --- backward ---------------------------------------------------------------------------
    def _slot(self, index: int) -> Tensor:
        b, slot = self._where[index]
        return self._buckets[b].slots[slot]

    def _on_grad(self, index: int, grad: Tensor) -> Tensor | None:
        if not self._sync_this_backward:
            return None
        if self._marked[index]:
            raise RuntimeError(
                f"parameter {self._param_names[index]} received its gradient twice in one "
                "DDP iteration (a second backward through the same forward, or a parameter "
                "marked unused by find_unused_parameters that got a gradient after all); "
                "run forward again before each backward"
            )
        p = self._params[index]
        slot = self._slot(index)
        with no_grad():
            slot[...] = grad
            if p.grad is not None:
                slot.add_(p.grad)
                p.grad = None  # the engine stores the returned value as the new .grad
        self._arrive(index)
        # The engine copies what we return into p.grad: the local sum now, overwritten with
        # the average when the buckets finish (or the average itself, if they just did).
        return slot

    def _mark_unused(self) -> None:
        for index in self._unused:
            p = self._params[index]
            slot = self._slot(index)
            with no_grad():
                slot[...] = 0 if p.grad is None else p.grad
            self._arrive(index)

    def _arrive(self, index: int) -> None:
        self._marked[index] = True
        b, _ = self._where[index]
        self._buckets[b].arrived += 1
        object.__setattr__(self, "_arrived_total", self._arrived_total + 1)
        self._launch_ready()
        if self._arrived_total == len(self._params):
            self._finish()

    def _launch_ready(self) -> None:
        from ..distributed._group import _allreduce_bucket

        buckets = self._buckets
        n = self._next_bucket
        while n < len(buckets) and buckets[n].arrived == len(buckets[n].indices):
            bucket = buckets[n]
            if self.world_size > 1:
                bucket.work = _allreduce_bucket(bucket.buffer)
            n += 1
        object.__setattr__(self, "_next_bucket", n)
        # Let MPI progress the launched reductions while backward goes on.
        for bucket in buckets[:n]:
            if bucket.work is not None:
                bucket.work.is_completed()

    def _finish(self) -> None:
        scale = 1.0 / self.world_size
        for bucket in self._buckets:
            if bucket.work is not None:
                bucket.work.wait()  # bounded by the process group's timeout
                bucket.work = None
            with no_grad():
                if self.world_size > 1:
                    bucket.buffer.mul_(scale)
                for slot, i in zip(bucket.slots, bucket.indices):
                    p = self._params[i]
                    if p.grad is not None:
                        p.grad[...] = slot
                    elif self._unused and i in self._unused:
                        # An unused parameter that had no gradient gets the average. (The
                        # parameter whose hook is running has none either: the engine
                        # stores the slot it returns.)
                        p.grad = slot.clone()
        self._reset()

    def _reset(self) -> None:
        for bucket in self._buckets:
            bucket.arrived = 0
            bucket.work = None
        object.__setattr__(self, "_next_bucket", 0)
        object.__setattr__(self, "_arrived_total", 0)
        object.__setattr__(self, "_marked", [False] * len(self._params))
        object.__setattr__(self, "_unused", [])

    # --- introspection --------------------------------------------------------------------
    @property
    def bucket_param_names(self) -> list[list[str]]:
        """The parameter names of each bucket, in launch order."""
        return [[self._param_names[i] for i in b.indices] for b in self._buckets]

    def extra_repr(self) -> str:
        return ""
