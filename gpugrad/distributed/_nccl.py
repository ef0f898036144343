"""NCCL collectives for CUDA tensors (``init_process_group("nccl")``).

UNTESTED: written on a machine without a GPU. It follows CuPy's ``cupy.cuda.nccl``
binding: rank 0 makes the NCCL unique id, MPI broadcasts it (as 128 bytes, no pickling),
every rank builds an ``NcclCommunicator(world_size, id, rank)`` on its current device and
the collectives run on CuPy's current stream.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._inplace import _record_write
from .._tensor import Tensor

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
        group.comm.Bcast([raw, group.MPI.BYTE], root=0)
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

    def _work(self, async_op: bool, finish: Any) -> Any:
        from ._work import Work

        stream = self._stream()
        if not async_op:
            finish()
            return None
        event = stream.record()
        return Work(None, lambda: (event.synchronize(), finish()))

    def _contiguous(self, tensor: Tensor) -> tuple[Any, bool]:
        data = tensor._data
        if data.flags.c_contiguous:
            return data, False
        return self.cupy.ascontiguousarray(data), True

    def _all_reduce_in_place(self, array: Any, op: str) -> None:
        self.comm.allReduce(
            array.data.ptr,
            array.data.ptr,
            array.size,
            self._dtype(array),
            self.ops[op],
            self._stream().ptr,
        )

    def all_reduce_array(self, array: Any, async_op: bool, op: str = "sum") -> Any:
        self._all_reduce_in_place(array, op)
        return self._work(async_op, lambda: None)

    def all_reduce(self, tensor: Tensor, op: str, async_op: bool) -> Any:
        array, copied = self._contiguous(tensor)
        self._all_reduce_in_place(array, op)

        def finish() -> None:
            if op == "avg" and self.world_size > 1:
                array[...] /= self.world_size
            if copied:
                tensor._data[...] = array
            _record_write(tensor)

        return self._work(async_op, finish)

    def broadcast(self, tensor: Tensor, src: int, async_op: bool) -> Any:
        array, copied = self._contiguous(tensor)
        stream = self._stream()
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), src, stream.ptr)

        def finish() -> None:
            if copied:
                tensor._data[...] = array
            _record_write(tensor)

        return self._work(async_op, finish)

    def all_gather(self, tensor_list: list[Tensor], tensor: Tensor, async_op: bool) -> Any:
        send, _ = self._contiguous(tensor)
        recv = self.cupy.empty((self.world_size, *send.shape), dtype=send.dtype)
        stream = self._stream()
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dtype(send), stream.ptr)

        def finish() -> None:
            for i, out in enumerate(tensor_list):
                out._data = out._backend.assign(out._data, recv[i])
                _record_write(out)

        return self._work(async_op, finish)
