"""NCCL collectives for CUDA tensors (``init_process_group("nccl")``).

UNTESTED: written on a machine without a GPU. It follows CuPy's ``cupy.cuda.nccl``
binding: rank 0 makes the NCCL unique id, MPI broadcasts it (as 128 bytes, no pickling),
every rank builds an ``NcclCommunicator(world_size, id, rank)`` on its current device and
the collectives run on CuPy's current stream. It takes contiguous CUDA tensors (through
CuPy arrays that share their memory, made with DLPack); ``_group`` makes the buffers and
writes the results back into the caller's tensors. Each collective
returns a ``done()`` poll for ``_work.wait_until``, which bounds the wait by the group's
timeout.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ._work import wait_until

NCCL_MISSING = (
    "backend='nccl' needs CuPy built with NCCL (cupy.cuda.nccl) and a CUDA device: "
    "pip install 'gpugrad[cuda12]' or 'gpugrad[cuda13]' (CuPy wheels bring NCCL support "
    "when the nvidia-nccl library is installed: pip install nvidia-nccl-cu12), or use "
    "backend='mpi' with a CUDA-aware MPI"
)


def _nccl() -> Any:
    try:
        return importlib.import_module("cupy.cuda.nccl")
    except Exception as error:  # ImportError, or CuPy failing to load libnccl
        raise RuntimeError(NCCL_MISSING) from error


def _cupy() -> Any:
    try:
        return importlib.import_module("cupy")
    except Exception as error:
        raise RuntimeError(NCCL_MISSING) from error


def check_available() -> None:
    """Raise a clear error unless CuPy, NCCL and a CUDA device are all there."""
    cupy = _cupy()
    nccl = _nccl()
    if not getattr(nccl, "available", True):
        raise RuntimeError(NCCL_MISSING)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        raise RuntimeError(NCCL_MISSING) from error
    if count == 0:
        raise RuntimeError(NCCL_MISSING)


class NcclGroup:
    """An NCCL communicator over the MPI group's ranks (UNTESTED)."""

    def __init__(self, group: Any) -> None:
        cupy = _cupy()
        nccl = _nccl()
        self.cupy, self.nccl = cupy, nccl
        self.world_size = group.world_size
        count = cupy.cuda.runtime.getDeviceCount()
        device = cupy.cuda.Device(group.local_rank % count)
        device.use()
        uid = nccl.get_unique_id() if group.rank == 0 else None
        # The id is 128 chars; send it as bytes through MPI's buffer broadcast.
        raw = bytearray(128)
        if uid is not None:
            raw[:] = bytes((int(c) & 0xFF) for c in uid)
        request = group.comm.Ibcast([raw, group.MPI.BYTE], root=0)
        wait_until(request.Test, "init_process_group(nccl)", group.timeout, group.rank, group.state)
        uid = tuple(b - 256 if b > 127 else b for b in raw)  # back to signed chars
        self.comm = nccl.NcclCommunicator(group.world_size, uid, group.rank)
        self.dtypes = {
            "float16": nccl.NCCL_FLOAT16,
            "float32": nccl.NCCL_FLOAT32,
            "float64": nccl.NCCL_FLOAT64,
            "int8": nccl.NCCL_INT8,
            "uint8": nccl.NCCL_UINT8,
            "int32": nccl.NCCL_INT32,
            "int64": nccl.NCCL_INT64,
        }
        self.ops = {
            "sum": nccl.NCCL_SUM,
            "avg": nccl.NCCL_SUM,  # then divided by the world size
            "product": nccl.NCCL_PROD,
            "min": nccl.NCCL_MIN,
            "max": nccl.NCCL_MAX,
        }

    def destroy(self) -> None:
        self.comm.destroy()

    def _dtype(self, array: Any) -> Any:
        try:
            return self.dtypes[array.dtype.name]
        except KeyError:
            raise TypeError(f"NCCL cannot reduce arrays of dtype {array.dtype.name}") from None

    def _stream(self) -> Any:
        return self.cupy.cuda.get_current_stream()

    def _done(self) -> Callable[[], bool]:
        """Whether the work queued so far on the current stream has finished: polled
        against the group's timeout (``_work.wait_until``) instead of blocking."""
        event = self._stream().record()
        return lambda: bool(event.done)

    def all_reduce(self, buffer: Any, op: str = "sum") -> Callable[[], bool]:
        """Reduce the contiguous tensor ``buffer`` across ranks, in place."""
        array = self.cupy.from_dlpack(buffer)
        self.comm.allReduce(
            array.data.ptr,
            array.data.ptr,
            array.size,
            self._dtype(array),
            self.ops[op],
            self._stream().ptr,
        )
        return self._done()

    def broadcast(self, buffer: Any, src: int) -> Callable[[], bool]:
        """Give every rank ``src``'s values of the contiguous tensor ``buffer``, in place."""
        array = self.cupy.from_dlpack(buffer)
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), src, self._stream().ptr)
        return self._done()

    def all_gather(self, send_buffer: Any, recv_buffer: Any) -> Callable[[], bool]:
        """Rank ``i``'s ``send_buffer`` into ``recv_buffer[i]`` (contiguous tensors; the
        second of shape ``(world_size, *send_buffer.shape)``)."""
        send = self.cupy.from_dlpack(send_buffer)
        recv = self.cupy.from_dlpack(recv_buffer)
        self.comm.allGather(
            send.data.ptr, recv.data.ptr, send.size, self._dtype(send), self._stream().ptr
        )
        return self._done()
