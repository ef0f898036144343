"""The default process group and the collectives on it.

One process group per process, as ``torch.distributed``'s default group: its rank and
size are those of the communicator the MPI launcher set up (mpi4py's ``COMM_WORLD``,
duplicated so that gpugrad's traffic never mixes with the program's own MPI calls).

Every collective is started non-blocking and waited for against the group's timeout
(``_work``): a rank whose peers never join raises ``RuntimeError`` instead of hanging.
MPI writes a result straight into a C-contiguous tensor's memory (through DLPack), and the
write is then counted as an in-place op on the tensor's version counter (``_store``);
other tensors get their result through an assignment from a copy. Either way a backward
that saved the old values raises PyTorch's "modified by an inplace operation" error.

Layering: ``_work`` (waiting, no dependencies) < ``_nccl`` (NCCL on CuPy arrays) <
``_group`` (tensors, MPI, the default group).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

# gpugrad's public namespace only (the package defines these before importing distributed).
from .. import cuda
from .._factories import empty
from .._grad_mode import no_grad
from .._tensor import Tensor
from ._work import DEFAULT_TIMEOUT, CollectiveTimeout, Work, wait_until

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
ABORTING_AT_EXIT = (
    "gpugrad.distributed: rank {rank} is exiting with a collective that timed out still "
    "pending, and MPI cannot finalize with one (it would wait forever): aborting the job "
    "(MPI_Abort)."
)
ABORTING = (
    "gpugrad.distributed: rank {rank} raised an uncaught exception; aborting all {world} "
    "ranks (MPI_Abort) so that none waits for it. init_process_group(abort_on_exception="
    "False) turns this off."
)


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

    def __init__(
        self, backend: str, mpi: Any, comm: Any, owns_comm: bool, timeout: timedelta
    ) -> None:
        self.backend = backend
        self.MPI = mpi
        self.comm = comm
        self.owns_comm = owns_comm
        self.timeout = timeout
        self.rank = comm.Get_rank()
        self.state = CollectiveTimeout(lambda: _abort_at_exit(mpi, self.rank))
        self.world_size = comm.Get_size()
        local = comm.Split_type(mpi.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        local.Free()
        self.nccl: Any = None  # a _nccl.NcclGroup, made by nccl_group()
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

    def arrival(self) -> Callable[[], bool] | None:
        """Start a non-blocking barrier beside an MPI collective: its ``Test`` tells the
        waiting rank when every rank has reached the collective (``_work.wait_until``)."""
        return self.comm.Ibarrier().Test if self.world_size > 1 else None

    def work(
        self,
        op: str,
        done: Callable[[], bool] | None,
        finish: Any = None,
        arrived: Callable[[], bool] | None = None,
    ) -> Work:
        """The handle of a started collective, bounded by this group's timeout."""
        return Work(op, done, finish, self.timeout, self.rank, self.state, arrived)


def _run(work: Work, async_op: bool) -> Work | None:
    if async_op:
        return work
    work.wait()
    return None


_group: _Group | None = None


def is_available() -> bool:
    """True when mpi4py is installed (it is not imported here)."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_nccl_available() -> bool:
    """True when CuPy is installed (whether its NCCL loads is known at init time)."""
    return importlib.util.find_spec("cupy") is not None


MPI_START_TIMED_OUT = (
    "gpugrad.distributed: MPI's start (MPI_Init, run by init_process_group) did not "
    "complete on rank {rank} within {timeout} (init_process_group(timeout=...)). MPI_Init "
    "waits until every rank the launcher started has reached it, and at least one has not: "
    "it may be stuck or slow before init_process_group, or have failed to start. Ending "
    "this rank (SIGTERM) so that the launcher ends the job."
)


def _launcher_rank() -> str:
    """This process's rank as the launcher's environment gives it (MPI is not up yet)."""
    for name in ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK"):
        if name in os.environ:
            return os.environ[name]
    return "?"


_WATCHDOG = """
import os, select, signal, sys, time
parent, seconds, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
if not select.select([sys.stdin], [], [], seconds)[0]:
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
    os.kill(parent, signal.SIGTERM)
    if not select.select([sys.stdin], [], [], 2.0)[0]:
        os.kill(parent, signal.SIGKILL)
"""
"""The watchdog of MPI's start, a separate process: it waits for its stdin to close (the
parent closes it when MPI_Init has returned, or by dying), else prints why and ends the
parent (SIGTERM, then SIGKILL: a Python handler cannot run inside MPI_Init)."""


@contextlib.contextmanager
def _bounded_mpi_start(timeout: timedelta) -> Iterator[None]:
    """Bound MPI_Init (at mpi4py's import), which waits until every launched rank has
    reached it. It is one blocking C call, run with the interpreter's lock held: no
    deadline can be passed to it and no Python thread can run meanwhile. A watchdog
    process ends this rank instead when it has not returned within ``timeout``, and the
    launcher (mpiexec) then terminates the job's other ranks, as for any rank that dies.
    Nothing is watched when MPI is already up (the program imported mpi4py itself: then
    MPI_Init ran at that import, unbounded) or where there is no ``select`` on pipes
    (Windows)."""
    module = sys.modules.get("mpi4py.MPI")
    if (module is not None and module.Is_initialized()) or os.name != "posix":
        yield
        return
    message = MPI_START_TIMED_OUT.format(rank=_launcher_rank(), timeout=timeout)
    watchdog = subprocess.Popen(
        [sys.executable, "-S", "-c", _WATCHDOG, str(os.getpid()), str(timeout.total_seconds()),
         message],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        watchdog.stdin.close()  # MPI is up (or failed to start): the watchdog exits
        watchdog.wait()


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError, OSError) as error:  # no mpi4py, or no MPI library
        raise RuntimeError(MPI_MISSING) from error
    if not MPI.Is_initialized():
        # mpi4py was first imported with ``mpi4py.rc.initialize = False`` (for instance by
        # ``python -m gpugrad.info``, which only asks for the library's version): initialize
        # now, as mpi4py would have, with the same thread level and finalizer.
        import mpi4py

        levels = {
            "single": MPI.THREAD_SINGLE,
            "funneled": MPI.THREAD_FUNNELED,
            "serialized": MPI.THREAD_SERIALIZED,
            "multiple": MPI.THREAD_MULTIPLE,
        }
        MPI.Init_thread(levels.get(mpi4py.rc.thread_level, MPI.THREAD_MULTIPLE))
        if mpi4py.rc.finalize in (None, True):
            import atexit

            atexit.register(lambda: None if MPI.Is_finalized() else MPI.Finalize())
    return MPI


def init_process_group(
    backend: str = "mpi",
    *,
    timeout: timedelta | None = None,
    abort_on_exception: bool = True,
    comm: Any = None,
    **kwargs: Any,
) -> None:
    """Join the default process group: rank and world size come from the MPI launcher
    (``mpiexec -n N python script.py``; a plain ``python script.py`` is a group of one).

    ``backend="mpi"`` moves CPU tensors with MPI, and CUDA tensors with MPI too (this needs
    a CUDA-aware MPI; untested). ``backend="nccl"`` moves CUDA tensors with NCCL
    (``cupy.cuda.nccl``; untested) and CPU tensors with MPI. ``comm`` is an mpi4py
    communicator to use instead of ``COMM_WORLD`` (it is duplicated). PyTorch's
    rendezvous arguments (``init_method``, ``rank``, ``world_size``…) are accepted only
    where they agree with the launcher.

    ``timeout`` (a ``datetime.timedelta``; PyTorch's default, 30 minutes) bounds every
    collective: a rank whose peers do not join one within it raises ``RuntimeError``
    naming the collective and the timeout, and the group cannot be used afterwards. It
    bounds MPI's own start too (MPI_Init, which waits for every launched rank) when mpi4py
    is first imported here: a rank still waiting in it after ``timeout`` is ended by a
    watchdog process with a message, and the launcher ends the job. (A program that
    imports mpi4py before this call starts MPI at that import, without this bound.)

    ``abort_on_exception`` (gpugrad's; default True): in a group of more than one rank,
    an exception that ends this rank's program (``sys.excepthook``) aborts the whole job
    with ``MPI_Abort`` after printing its traceback, so the other ranks do not wait for
    a rank that is gone. ``destroy_process_group`` removes the hook.
    """
    global _group
    if _group is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in BACKENDS:
        raise ValueError(f"Invalid backend: '{backend}'; gpugrad supports 'mpi' and 'nccl'")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if not isinstance(timeout, timedelta):
        raise TypeError(
            f"Expected timeout argument to be of type datetime.timedelta, got {timeout}"
        )
    if timeout <= timedelta(0):
        raise ValueError(f"timeout must be positive, got {timeout}")
    with _bounded_mpi_start(timeout):
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
    for key in ("init_method", "store", "group_name", "pg_options", "device_id"):
        kwargs.pop(key, None)
    if kwargs:
        raise TypeError(f"init_process_group() got unexpected arguments {sorted(kwargs)}")
    # Every rank must reach init_process_group (its Dup and Split_type are blocking
    # collectives): a barrier bounded by the timeout first.
    rank = base.Get_rank()
    state = CollectiveTimeout(lambda: _abort_at_exit(mpi, rank))
    wait_until(base.Ibarrier().Test, "init_process_group", timeout, rank, state)
    group = _Group(backend, mpi, base.Dup(), owns_comm=True, timeout=timeout)
    if backend == "nccl":
        from ._nccl import check_available

        try:
            check_available()
        except Exception:
            group.comm.Free()
            raise
    _group = group
    if abort_on_exception and group.world_size > 1:
        _install_abort_hook(group)


# --- abort on an uncaught exception, or at exit after a timeout ------------------------------
ABORT_GRACE_S = 0.5
"""How long a rank waits, after flushing its last words, before ``MPI_Abort``: the
launcher forwards each rank's output through pipes, and an abort that comes first kills
the forwarders with the traceback's last lines still in them."""


def _flush_then_abort(mpi: Any) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(ABORT_GRACE_S)
    mpi.COMM_WORLD.Abort(1)


def _abort_at_exit(mpi: Any, rank: int) -> None:
    """After a timeout: make the process's exit abort the job. MPI_Finalize (which mpi4py
    calls at exit) would wait forever for the collective that never completed."""

    def abort() -> None:
        print(ABORTING_AT_EXIT.format(rank=rank), file=sys.stderr)
        _flush_then_abort(mpi)

    atexit.register(abort)  # runs before mpi4py's finalizer, registered at its import


_hook_replaced: Any = None  # the sys.excepthook that the abort hook replaced


def _install_abort_hook(group: _Group) -> None:
    global _hook_replaced
    previous = sys.excepthook
    mpi, rank, world = group.MPI, group.rank, group.world_size

    def abort_on_uncaught_exception(exc_type: Any, exc: Any, traceback: Any) -> None:
        try:
            previous(exc_type, exc, traceback)
            print(ABORTING.format(rank=rank, world=world), file=sys.stderr)
        finally:
            _flush_then_abort(mpi)

    _hook_replaced = previous
    sys.excepthook = abort_on_uncaught_exception


def _remove_abort_hook() -> None:
    global _hook_replaced
    if _hook_replaced is not None:
        if getattr(sys.excepthook, "__name__", "") == "abort_on_uncaught_exception":
            sys.excepthook = _hook_replaced
        _hook_replaced = None


def _get() -> _Group:
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    _group.state.check()
    return _group


def is_initialized() -> bool:
    """True once ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return _group is not None


def get_rank() -> int:
    """This process's rank in the default group, 0 to ``get_world_size() - 1``."""
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    return _group.rank


def get_world_size() -> int:
    """The number of processes in the default group."""
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    return _group.world_size


def get_local_rank() -> int:
    """This process's rank among the group's processes on the same machine (pick the
    GPU with it: ``f"cuda:{dist.get_local_rank()}"``)."""
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    return _group.local_rank


def get_backend() -> str:
    """The default group's backend name: ``"mpi"`` or ``"nccl"``."""
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    return _group.backend


def barrier(group: Any = None, async_op: bool = False) -> Work | None:
    """Wait until every rank has reached this call (bounded by the timeout)."""
    g = _get()
    return _run(g.work("barrier", g.comm.Ibarrier().Test), async_op)


def destroy_process_group() -> None:
    """Leave the group. MPI itself stays initialized (mpi4py finalizes it at exit)."""
    global _group
    if _group is None:
        raise ValueError(NOT_INITIALIZED)  # as PyTorch
    group = _group
    _group = None
    _remove_abort_hook()
    if group.state.failed_op is not None:
        return  # a collective is still pending on the communicator: leave it alone
    if group.nccl is not None:
        group.nccl.destroy()
    if group.owns_comm:
        group.comm.Free()


# --- buffers -------------------------------------------------------------------------------
# MPI reads and writes tensors directly: mpi4py takes any object that exports DLPack, as
# gpugrad's tensors do (contiguous ones only: the buffers below always are). NCCL takes
# the same tensors as CuPy arrays sharing their memory (_nccl).
def _check_tensor(tensor: Any, name: str = "tensor") -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a gpugrad Tensor, not {type(tensor).__name__}")
    return tensor


def _is_cuda(tensor: Tensor) -> bool:
    return tensor.device.type == "cuda"


def _in_place_alias(tensor: Tensor) -> Tensor | None:
    """``tensor.detach()`` (the same memory) when a collective can write its result
    straight into it: a C-contiguous, writeable array of at least one dimension. ``None``
    otherwise (a view with gaps or reversed strides, a broadcast, a 0-d tensor): the
    collective then works on a copy that is assigned back."""
    alias = tensor.detach()
    if alias.dim() == 0:
        return None
    if _is_cuda(alias):
        return alias if alias.__cuda_array_interface__["strides"] is None else None
    flags = alias.numpy().flags
    return alias if flags.c_contiguous and flags.writeable else None


def _fresh_copy(tensor: Tensor) -> Tensor:
    """A new C-contiguous tensor holding ``tensor``'s values, outside any graph."""
    buffer = empty(tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)
    with no_grad():
        buffer[...] = tensor.detach()
    return buffer


def _send_buffer(tensor: Tensor) -> Tensor:
    """A C-contiguous tensor holding ``tensor``'s values (``tensor``'s own memory where it
    can be): collectives only read it."""
    alias = _in_place_alias(tensor)
    return _fresh_copy(tensor) if alias is None else alias


def _store(tensor: Tensor, buffer: Tensor, in_place: bool) -> None:
    """Finish a collective's write into ``tensor`` as an in-place op, counted on its version
    counter (a backward that saved the old values then raises): assign the result when it
    went to a copy; when it went straight into ``tensor``'s memory, count that write with
    an in-place assignment to an empty slice (which PyTorch counts too)."""
    with no_grad():
        if in_place:
            tensor[:0] = 0
        else:
            tensor[...] = buffer


def _cuda_mpi_ready(buffer: Tensor) -> None:
    """CUDA-aware MPI reads device memory directly: the kernels that wrote it must be done.
    UNTESTED (no GPU where this was written)."""
    if _is_cuda(buffer):
        cuda.synchronize(str(buffer.device))


def all_reduce(
    tensor: Tensor, op: str = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Combine ``tensor`` across all ranks, in place: afterwards every rank holds the sum
    (or average, product, min, max) of the ranks' values."""
    g = _get()
    _check_tensor(tensor)
    mpi_op = g.mpi_op(op)
    if op == ReduceOp.AVG and not tensor.is_floating_point():
        raise RuntimeError("ReduceOp.AVG needs a floating point tensor")
    alias = _in_place_alias(tensor)
    buffer = _fresh_copy(tensor) if alias is None else alias
    if _is_cuda(tensor) and g.backend == "nccl":
        done, arrived = g.nccl_group().all_reduce(buffer, op), None
    else:
        _cuda_mpi_ready(buffer)
        arrived = g.arrival()
        done = g.comm.Iallreduce(g.MPI.IN_PLACE, buffer, mpi_op).Test

    def finish() -> None:
        if op == ReduceOp.AVG and g.world_size > 1:
            with no_grad():
                buffer.div_(g.world_size)
        _store(tensor, buffer, alias is not None)

    return _run(g.work("all_reduce", done, finish, arrived), async_op)


def broadcast(
    tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False
) -> Work | None:
    """Give every rank the values of ``tensor`` on rank ``src``, in place (on every
    rank, ``src`` included, the write counts on the tensor's version counter, as in
    PyTorch)."""
    g = _get()
    _check_tensor(tensor)
    if not 0 <= src < g.world_size:
        raise ValueError(f"Invalid src rank {src} for a world of size {g.world_size}")
    alias = _in_place_alias(tensor)
    if alias is not None:
        buffer = alias
    elif g.rank == src:
        buffer = _fresh_copy(tensor)
    else:
        buffer = empty(tuple(tensor.shape), dtype=tensor.dtype, device=tensor.device)
    if _is_cuda(tensor) and g.backend == "nccl":
        done, arrived = g.nccl_group().broadcast(buffer, src), None
    else:
        _cuda_mpi_ready(buffer)
        arrived = g.arrival()
        done = g.comm.Ibcast(buffer, root=src).Test
    finish = lambda: _store(tensor, buffer, alias is not None)  # noqa: E731
    return _run(g.work("broadcast", done, finish, arrived), async_op)


def all_gather(
    tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
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
        if tuple(out.shape) != tuple(tensor.shape) or out.dtype != tensor.dtype:
            raise ValueError(
                f"tensor_list[{i}] has shape {list(out.shape)} and dtype {out.dtype}, but the "
                f"tensor has shape {list(tensor.shape)} and dtype {tensor.dtype}"
            )
        if out.device != tensor.device:
            raise RuntimeError("all_gather: tensor_list and tensor must be on the same device")
    send = _send_buffer(tensor)
    recv = empty((g.world_size, *send.shape), dtype=send.dtype, device=send.device)
    if _is_cuda(tensor) and g.backend == "nccl":
        done, arrived = g.nccl_group().all_gather(send, recv), None
    else:
        _cuda_mpi_ready(send)
        arrived = g.arrival()
        done = g.comm.Iallgather(send, recv).Test

    def finish() -> None:
        for i, out in enumerate(tensor_list):
            _store(out, recv[i], in_place=False)

    return _run(g.work("all_gather", done, finish, arrived), async_op)


def _allreduce_bucket(buffer: Tensor) -> Work:
    """Start summing DDP's contiguous bucket ``buffer`` across ranks, in place. (The bucket
    is DDP's own memory, no user's tensor, so nothing needs its version counted.)"""
    g = _get()
    if _is_cuda(buffer) and g.backend == "nccl":
        done, arrived = g.nccl_group().all_reduce(buffer), None
    else:
        _cuda_mpi_ready(buffer)
        arrived = g.arrival()
        done = g.comm.Iallreduce(g.MPI.IN_PLACE, buffer, g.MPI.SUM).Test
    return g.work("all_reduce (DDP gradient bucket)", done, None, arrived)
