"""``gpugrad.distributed``: collectives between processes started by an MPI launcher, as
``torch.distributed``.

    mpiexec -n 2 python train.py

    import gpugrad as gg
    import gpugrad.distributed as dist

    dist.init_process_group("mpi")          # rank and world size from mpi4py's COMM_WORLD
    t = gg.ones(4) * (dist.get_rank() + 1)
    dist.all_reduce(t)                      # in place: every rank now holds 3s
    dist.destroy_process_group()

Every collective waits at most ``init_process_group(timeout=...)`` (30 minutes by
default, as PyTorch), then raises ``RuntimeError``; in a group of more than one rank an
uncaught exception on any rank aborts the whole job (``MPI_Abort``; turn it off with
``init_process_group(abort_on_exception=False)``). No run hangs silently.

CPU tensors travel through mpi4py's buffer calls (``Iallreduce``, ``Ibcast``,
``Iallgather`` on the tensors themselves, through DLPack: no pickling, no copy for
C-contiguous tensors). CUDA tensors travel through NCCL (``backend="nccl"``,
``cupy.cuda.nccl``) or through a CUDA-aware MPI (``backend="mpi"``); both CUDA paths are
UNTESTED (written without a GPU).

mpi4py is imported only by ``init_process_group``; ``import gpugrad`` does not need it.
Install it with ``pip install 'gpugrad[mpi]'`` (mpi4py plus the MPICH wheel, which brings
``mpiexec``).
"""

from . import _group
from ._group import (
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)
from .sampler import DistributedSampler, shard

__all__ = [*_group.__all__, "DistributedSampler", "shard"]
