"""The default process group and the collectives on it.

One process group per process, as ``torch.distributed``'s default group: its rank and
size are those of the communicator the MPI launcher set up (mpi4py's ``COMM_WORLD``,
duplicated so that gpugrad's traffic never mixes with the program's own MPI calls).

Arrays move in place: a collective writes its result into the tensor's own array (and
counts the write on the tensor's version counter, as any in-place op does).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from .._inplace import _record_write
from .._tensor import Tensor
from ._work import Work

__all__ = [
    "ReduceOp",
    "Work",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
]

MPI_MISSING = (
    "gpugrad.distributed needs mpi4py and an MPI library, which are not installed: "
    "pip install 'gpugrad[mpi]' (mpi4py plus the MPICH wheel, which brings mpiexec)"
)
NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)
BACKENDS = ("mpi", "nccl")


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (``dist.ReduceOp.SUM`` …)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    _ALL = (SUM, AVG, PRODUCT, MIN, MAX)


class _Group:
    """What ``init_process_group`` sets up: the MPI communicator (always) and, for
    ``backend="nccl"``, an NCCL communicator for CUDA tensors (created on first use)."""

    def __init__(self, backend: str, mpi: Any, comm: Any, owns_comm: bool) -> None:
        self.backend = backend
        self.MPI = mpi
        self.comm = comm
        self.owns_comm = owns_comm
        self.rank = comm.Get_rank()
        self.world_size = comm.Get_size()
        local = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        local.Free()
        self.nccl: Any = None  # a _nccl.NcclGroup, made by _nccl_group()
        self.ops = {
            ReduceOp.SUM: mpi.SUM,
            ReduceOp.AVG: mpi.SUM,  # then divided by the world size
            ReduceOp.PRODUCT: mpi.PROD,
            ReduceOp.MIN: mpi.MIN,
            ReduceOp.MAX: mpi.MAX,
        }

    def mpi_op(self, op: str) -> Any:
        try:
            return self.ops[op]
        except (KeyError, TypeError):
            raise ValueError(
                f"unknown reduce op {op!r}; expected one of gpugrad.distributed.ReduceOp."
                "SUM, AVG, PRODUCT, MIN, MAX"
            ) from None

    def nccl_group(self) -> Any:
        if self.nccl is None:
            from ._nccl import NcclGroup

            self.nccl = NcclGroup(self)
        return self.nccl


_group: _Group | None = None


def is_available() -> bool:
    """True when mpi4py is installed (it is not imported here)."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_nccl_available() -> bool:
    """True when CuPy is installed (whether its NCCL loads is known at init time)."""
    return importlib.util.find_spec("cupy") is not None


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError) as error:  # no mpi4py, or no MPI library
        raise RuntimeError(MPI_MISSING) from error
    return MPI


def init_process_group(backend: str = "mpi", *, comm: Any = None, **kwargs: Any) -> None:
    """Join the default process group: rank and world size come from the MPI launcher
    (``mpiexec -n N python script.py``; a plain ``python script.py`` is a group of one).

    ``backend="mpi"`` moves CPU tensors with MPI, and CUDA tensors with MPI too (this needs
    a CUDA-aware MPI; untested). ``backend="nccl"`` moves CUDA tensors with NCCL
    (``cupy.cuda.nccl``; untested) and CPU tensors with MPI. ``comm`` is an mpi4py
    communicator to use instead of ``COMM_WORLD`` (it is duplicated). PyTorch's
    rendezvous arguments (``init_method``, ``rank``, ``world_size``, ``timeout``…) are
    accepted only where they agree with the launcher.
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in BACKENDS:
        raise ValueError(f"Invalid backend: '{backend}'; gpugrad supports 'mpi' and 'nccl'")
    mpi = _import_mpi()
    base = mpi.COMM_WORLD if comm is None else comm
    for key in ("rank", "world_size"):
        want = kwargs.pop(key, None)
        have = base.Get_rank() if key == "rank" else base.Get_size()
        if want is not None and want != -1 and int(want) != have:
            raise ValueError(
                f"init_process_group got {key}={want}, but the MPI launcher says {have}; "
                "gpugrad takes rank and world size from MPI"
            )
    for key in ("init_method", "timeout", "store", "group_name", "pg_options", "device_id"):
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"init_process_group() got unexpected arguments {sorted(kwargs)}")
    group = _Group(backend, mpi, base.Dup(), owns_comm=True)
    if backend == "nccl":
        from ._nccl import check_available

        try:
            check_available()
        except Exception:
            group.comm.Free()
            raise
    _group = group


def _get() -> _Group:
    if _group is None:
        raise RuntimeError(NOT_INITIALIZED)
    return _group


def is_initialized() -> bool:
    return _group is not None


def get_rank() -> int:
    return _get().rank


def get_world_size() -> int:
    return _get().world_size


def get_local_rank() -> int:
    """This process's rank among the group's processes on the same machine (pick the
    GPU with it: ``f"cuda:{dist.get_local_rank()}"``)."""
    return _get().local_rank


def get_backend() -> str:
    return _get().backend


def barrier() -> None:
    _get().comm.Barrier()


def destroy_process_group() -> None:
    """Leave the group. MPI itself stays initialized (mpi4py finalizes it at exit)."""
    global _group
    group = _get()
    _group = None
    if group.nccl is not None:
        group.nccl.destroy()
    if group.owns_comm:
        group.comm.Free()


# --- arrays -------------------------------------------------------------------------------
def _check_tensor(tensor: Any, name: str = "tensor") -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a gpugrad Tensor, not {type(tensor).__name__}")
    return tensor


def _is_cuda(tensor: Tensor) -> bool:
    return tensor._backend.device.type == "cuda"


def _working_array(tensor: Tensor) -> tuple[Any, bool]:
    """An array MPI can write into, and whether it is a copy that has to be written back
    into the tensor afterwards (a NumPy scalar, a non-contiguous or read-only view)."""
    data = tensor._data
    xp = tensor._backend.xp
    if (
        isinstance(data, xp.ndarray)
        and data.flags.c_contiguous
        and getattr(data.flags, "writeable", True)
    ):
        return data, False
    return xp.ascontiguousarray(xp.asarray(data)).copy(), True


def _store(tensor: Tensor, array: Any, copied: bool) -> None:
    if copied:
        tensor._data = tensor._backend.assign(tensor._data, array.reshape(tensor._data.shape))
    _record_write(tensor)


def _cuda_mpi_ready(tensor: Tensor) -> None:
    """CUDA-aware MPI reads device memory directly: the kernels that wrote it must be done.
    UNTESTED (no GPU where this was written)."""
    tensor._backend.synchronize()


def all_reduce(
    tensor: Tensor, op: str = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Combine ``tensor`` across all ranks, in place: afterwards every rank holds the sum
    (or average, product, min, max) of the ranks' values."""
    g = _get()
    _check_tensor(tensor)
    mpi_op = g.mpi_op(op)
    if op == ReduceOp.AVG and tensor._data.dtype.kind != "f":
        raise RuntimeError("ReduceOp.AVG needs a floating point tensor")
    if _is_cuda(tensor) and g.backend == "nccl":
        return g.nccl_group().all_reduce(tensor, op, async_op)
    array, copied = _working_array(tensor)
    if _is_cuda(tensor):
        _cuda_mpi_ready(tensor)

    def finish() -> None:
        if op == ReduceOp.AVG and g.world_size > 1:
            array[...] /= g.world_size
        _store(tensor, array, copied)

    if async_op:
        return Work(g.comm.Iallreduce(g.MPI.IN_PLACE, array, mpi_op), finish)
    g.comm.Allreduce(g.MPI.IN_PLACE, array, mpi_op)
    finish()
    return None


def broadcast(tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False):
    """Give every rank the values of ``tensor`` on rank ``src``, in place."""
    g = _get()
    _check_tensor(tensor)
    if not 0 <= src < g.world_size:
        raise ValueError(f"Invalid src rank {src} for a world of size {g.world_size}")
    if _is_cuda(tensor) and g.backend == "nccl":
        return g.nccl_group().broadcast(tensor, src, async_op)
    array, copied = _working_array(tensor)
    if _is_cuda(tensor):
        _cuda_mpi_ready(tensor)
    if async_op:
        return Work(g.comm.Ibcast(array, root=src), lambda: _store(tensor, array, copied))
    g.comm.Bcast(array, root=src)
    _store(tensor, array, copied)
    return None


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
):
    """Fill ``tensor_list[i]`` (one tensor per rank, each of ``tensor``'s shape and dtype)
    with rank ``i``'s ``tensor``, in place."""
    g = _get()
    _check_tensor(tensor)
    if len(tensor_list) != g.world_size:
        raise ValueError(
            f"all_gather needs a tensor_list of world_size ({g.world_size}) tensors, "
            f"got {len(tensor_list)}"
        )
    for i, out in enumerate(tensor_list):
        _check_tensor(out, f"tensor_list[{i}]")
        if tuple(out.shape) != tuple(tensor.shape) or out._data.dtype != tensor._data.dtype:
            raise ValueError(
                f"tensor_list[{i}] has shape {list(out.shape)} and dtype {out.dtype}, but the "
                f"tensor has shape {list(tensor.shape)} and dtype {tensor.dtype}"
            )
        if out._backend is not tensor._backend:
            raise RuntimeError("all_gather: tensor_list and tensor must be on the same device")
    if _is_cuda(tensor) and g.backend == "nccl":
        return g.nccl_group().all_gather(tensor_list, tensor, async_op)
    xp = tensor._backend.xp
    send = xp.ascontiguousarray(xp.asarray(tensor._data))
    recv = xp.empty((g.world_size, *send.shape), dtype=send.dtype)
    if _is_cuda(tensor):
        _cuda_mpi_ready(tensor)

    def finish() -> None:
        for i, out in enumerate(tensor_list):
            out._data = out._backend.assign(out._data, recv[i])
            _record_write(out)

    if async_op:
        return Work(g.comm.Iallgather(send, recv), finish)
    g.comm.Allgather(send, recv)
    finish()
    return None


def _allreduce_array(array: Any, device_type: str, async_op: bool) -> Any:
    """Sum a contiguous array across ranks, in place (what DDP's buckets use). Returns a
    ``Work`` when ``async_op``."""
    g = _get()
    if device_type == "cuda":
        if g.backend == "nccl":
            return g.nccl_group().all_reduce_array(array, async_op)
        array.device.synchronize()  # CUDA-aware MPI (UNTESTED)
    if async_op:
        return Work(g.comm.Iallreduce(g.MPI.IN_PLACE, array, g.MPI.SUM))
    g.comm.Allreduce(g.MPI.IN_PLACE, array, g.MPI.SUM)
    return None
