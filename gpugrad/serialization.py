"""``gg.save`` and ``gg.load``: tensors and (nested) state dicts in an ``.npz`` file that
is never unpickled.

Format: a zip archive as ``numpy.savez`` writes it. Entry ``__gpugrad__`` holds UTF-8 JSON
(as a ``uint8`` array) describing the saved object: dicts (``str``/``int``/``float``/
``bool``/``None`` keys), lists, tuples, numbers, strings, ``None`` and tensors; each tensor
is a reference to an entry ``t0``, ``t1`` … with its dtype, shape, device,
``requires_grad`` and whether it was a ``Parameter``. A tensor saved twice is stored once
and loads as one object.

Loading reads every array with ``allow_pickle=False`` and checks the archive against its
description, so a file that is not a zip archive, is truncated or corrupt, describes
itself inconsistently, or carries pickled Python objects (object arrays) raises
``ValueError`` naming the problem; no code from the file ever runs.

NumPy: ``gpugrad/`` keeps array-library imports inside ``backends/``. The zip/npy
reading and writing here is NumPy's (``savez``/``load``); this module reaches it through
the CPU backend's array module, ``gpugrad.backends.cpu.xp``, rather than an ``import
numpy`` statement. It is NumPy all the same, used only on host copies of the arrays.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any, BinaryIO

from . import backends
from ._tensor import Tensor
from .backends import dtypes as _dtypes

__all__ = ["load", "save"]

FORMAT = "gpugrad"
VERSION = 1
HEADER = "__gpugrad__"
_MAX_DEPTH = 256
_NPY_HEADER_ALLOWANCE = 1 << 16  # bytes an .npy entry may hold beyond its array data
_SCALARS = (bool, int, float, str, type(None))
_KEYS = (str, int, float, bool, type(None))

PathOrFile = str | os.PathLike | BinaryIO


def _xp() -> Any:
    return backends.cpu.xp  # NumPy, the CPU backend's array module


# --- save ---------------------------------------------------------------------------------
class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {}
        self.keys: dict[int, str] = {}
        self.keep: list[Tensor] = []  # keeps ids unique while saving

    def tensor(self, t: Tensor) -> dict[str, Any]:
        from .nn.parameter import is_parameter

        key = self.keys.get(id(t))
        if key is None:
            key = self.keys[id(t)] = f"t{len(self.keys)}"
            self.arrays[key] = t._backend.to_host(t._data)
            self.keep.append(t)
        return {
            "tensor": key,
            "dtype": t.dtype.name,
            "shape": list(t.shape),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "parameter": is_parameter(t),
        }

    def node(self, obj: Any, depth: int = 0) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise ValueError(f"gg.save: object nested deeper than {_MAX_DEPTH} levels")
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not isinstance(key, _KEYS):
                    raise TypeError(
                        f"gg.save: dict keys must be str, int, float, bool or None, "
                        f"not {type(key).__name__}"
                    )
                items.append([key, self.node(value, depth + 1)])
            return {"dict": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.node(v, depth + 1) for v in obj]}
        if isinstance(obj, _SCALARS):
            return {"value": obj}
        raise TypeError(
            f"gg.save cannot store an object of type {type(obj).__name__}: it stores tensors, "
            "dicts, lists, tuples, numbers, strings and None"
        )


def save(obj: Any, f: PathOrFile) -> None:
    """Save a tensor or a (nested) dict/list/tuple of tensors and Python scalars, e.g. a
    ``state_dict`` of a module or an optimizer, to ``f`` (a path, written as given, or a
    binary file object). Load it back with ``gg.load``."""
    writer = _Writer()
    root = writer.node(obj)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    xp = _xp()
    arrays = {HEADER: xp.frombuffer(header.encode("utf-8"), dtype=xp.uint8)}
    arrays.update(writer.arrays)
    if hasattr(f, "write"):
        xp.savez(f, **arrays)
    else:
        with open(os.fspath(f), "wb") as fid:
            xp.savez(fid, **arrays)


# --- load ---------------------------------------------------------------------------------
class _Malformed(ValueError):
    pass


def _describe(f: Any) -> str:
    if hasattr(f, "read"):
        return repr(getattr(f, "name", "<file object>"))
    return repr(os.fspath(f))


class _Reader:
    def __init__(self, archive: Any, map_location: Any) -> None:
        self.archive = archive
        self.map_location = map_location
        self.loaded: dict[str, Tensor] = {}
        self.entries = set(archive.files)

    def device(self, saved: str) -> str:
        location = self.map_location
        if location is None:
            target = saved
        elif isinstance(location, dict):
            target = location.get(saved, saved)
        else:
            target = str(location)
        return str(backends.Device(target))

    def array(self, key: str, dtype: str, shape: list[int]) -> Any:
        xp = _xp()
        if key not in self.entries:
            raise _Malformed(f"tensor entry {key!r} is missing from the archive")
        count = 1
        for n in shape:
            count *= n
        expected = count * _dtypes.as_dtype(dtype).itemsize
        info = self.archive.zip.getinfo(key + ".npy")
        if info.file_size > expected + _NPY_HEADER_ALLOWANCE:
            raise _Malformed(
                f"entry {key!r} holds {info.file_size} bytes, more than its declared "
                f"{dtype} shape {shape} allows"
            )
        array = _read_entry(self.archive, key)
        if not isinstance(array, xp.ndarray):
            raise _Malformed(f"entry {key!r} is not an array")
        if array.dtype.hasobject:
            raise _Malformed(f"entry {key!r} holds Python objects")
        if array.dtype.byteorder not in ("=", "|"):
            array = array.astype(array.dtype.newbyteorder("="))
        if array.dtype.name != dtype:
            raise _Malformed(
                f"entry {key!r} has dtype {array.dtype.name}, but the description says {dtype}"
            )
        if list(array.shape) != shape:
            raise _Malformed(
                f"entry {key!r} has shape {list(array.shape)}, but the description says {shape}"
            )
        return array

    def tensor(self, node: dict[str, Any]) -> Tensor:
        from ._factories import tensor
        from .nn.parameter import Parameter

        key = node["tensor"]
        dtype, shape, device = node.get("dtype"), node.get("shape"), node.get("device")
        if not isinstance(key, str):
            raise _Malformed("a tensor reference is not a string")
        if key in self.loaded:
            return self.loaded[key]
        if not isinstance(dtype, str) or dtype not in {d.name for d in _dtypes.ALL}:
            raise _Malformed(f"tensor {key!r} has an unsupported dtype {dtype!r}")
        if not (
            isinstance(shape, list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise _Malformed(f"tensor {key!r} has an invalid shape {shape!r}")
        if not isinstance(device, str):
            raise _Malformed(f"tensor {key!r} has an invalid device {device!r}")
        array = self.array(key, dtype, shape)
        try:
            target = self.device(device)
        except (RuntimeError, TypeError) as error:
            raise _Malformed(f"tensor {key!r} has an invalid device {device!r}: {error}") from None
        if target.startswith("cuda") and not backends.cuda_is_available():
            raise RuntimeError(
                f"Attempting to deserialize a tensor saved on {device!r}, but CUDA is not "
                "available on this machine; pass map_location='cpu' to gg.load to load it "
                "onto the CPU."
            )
        result = tensor(array, device=target)
        requires_grad = node.get("requires_grad", False) is True
        if requires_grad and not result.is_floating_point():
            raise _Malformed(f"tensor {key!r} of dtype {dtype} cannot require grad")
        if node.get("parameter", False) is True:
            result = Parameter(result, requires_grad=requires_grad)
        elif requires_grad:
            result.requires_grad_(True)
        self.loaded[key] = result
        return result

    def node(self, node: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _Malformed(f"the description is nested deeper than {_MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) == 0:
            raise _Malformed(f"unexpected description node {node!r:.80}")
        if "tensor" in node:
            return self.tensor(node)
        if len(node) != 1:
            raise _Malformed(f"unexpected description node {node!r:.80}")
        ((kind, payload),) = node.items()
        if kind == "value":
            if not isinstance(payload, _SCALARS):
                raise _Malformed(f"unexpected value {payload!r:.80}")
            return payload
        if kind in ("list", "tuple"):
            if not isinstance(payload, list):
                raise _Malformed(f"a {kind} node does not hold a list")
            items = [self.node(v, depth + 1) for v in payload]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            if not isinstance(payload, list):
                raise _Malformed("a dict node does not hold a list of pairs")
            out = {}
            for pair in payload:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], _KEYS)):
                    raise _Malformed(f"invalid dict item {pair!r:.80}")
                out[pair[0]] = self.node(pair[1], depth + 1)
            return out
        raise _Malformed(f"unknown description node kind {kind!r:.40}")


def _read_entry(archive: Any, key: str) -> Any:
    """One array of the archive, read with ``allow_pickle=False``."""
    try:
        return archive[key]
    except ValueError as error:
        text = str(error).lower()
        if "pickle" in text or "object" in text:
            raise _Malformed(
                f"entry {key!r} holds pickled Python objects (an object array); gpugrad "
                "checkpoints never contain any, and they are not unpickled"
            ) from None
        raise _Malformed(f"entry {key!r} cannot be read: {error}") from None


def _read_header(archive: Any) -> Any:
    xp = _xp()
    if HEADER not in archive.files:
        raise _Malformed(f"the archive has no {HEADER!r} entry (not saved by gg.save)")
    info = archive.zip.getinfo(HEADER + ".npy")
    if info.file_size > (64 << 20):
        raise _Malformed("the description entry is implausibly large")
    raw = _read_entry(archive, HEADER)
    if not isinstance(raw, xp.ndarray) or raw.dtype != xp.uint8 or raw.ndim != 1:
        raise _Malformed("the description entry is not a byte string")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _Malformed(f"the description is not valid JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Malformed("the description does not name the gpugrad format")
    if header.get("version") != VERSION:
        raise _Malformed(
            f"unsupported gpugrad checkpoint version {header.get('version')!r} "
            f"(this gpugrad reads version {VERSION})"
        )
    if "root" not in header:
        raise _Malformed("the description has no root object")
    return header["root"]


def load(f: PathOrFile, map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what ``gg.save`` wrote. Tensors return to the device they were saved from,
    unless ``map_location`` names another (``"cpu"``, ``"cuda:0"``, or a dict mapping saved
    device names to new ones). ``weights_only`` is accepted for PyTorch compatibility:
    loading never unpickles, whatever its value.

    Raises ``ValueError`` for a file that is not a gpugrad checkpoint, is truncated or
    corrupt, or carries pickled objects.
    """
    name = _describe(f)
    if hasattr(f, "read"):
        return _load_from(f, name, map_location)
    with open(os.fspath(f), "rb") as fid:
        return _load_from(fid, name, map_location)


def _load_from(fid: BinaryIO, name: str, map_location: Any) -> Any:
    start = fid.tell()
    magic = fid.read(4)
    fid.seek(start)
    if not magic:
        raise ValueError(f"{name} is empty, not a gpugrad checkpoint")
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise ValueError(f"{name} is not a gpugrad checkpoint: it is not an .npz (zip) archive")
    try:
        with _xp().load(fid, allow_pickle=False) as archive:
            root = _read_header(archive)
            return _Reader(archive, map_location).node(root)
    except _Malformed as error:
        raise ValueError(f"{name} is not a valid gpugrad checkpoint: {error}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError) as error:
        raise ValueError(
            f"{name} is truncated or corrupt, not a readable gpugrad checkpoint: "
            f"{type(error).__name__}: {error}"
        ) from None
