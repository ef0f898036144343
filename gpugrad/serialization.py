"""``gg.save`` and ``gg.load``: checkpoints that run no code from the file unless the
caller asks for it (``weights_only=False``, for a whole pickled model).

Formats
-------
- **gpugrad** (the default): a zip archive as ``numpy.savez`` writes it. Entry
  ``__gpugrad__`` holds UTF-8 JSON (as a ``uint8`` array) describing the saved object:
  dicts (``str``/``int``/``float``/``bool``/``None`` keys), lists, tuples, numbers,
  strings, ``None`` and tensors; each tensor is a reference to an entry ``t0``, ``t1`` …
  with its dtype, shape, device, ``requires_grad`` and whether it was a ``Parameter``. A
  tensor saved twice is stored once and loads as one object. Any other object (a whole
  module) is a node ``{"pickle": "p<n>"}``: a pickle in entry ``p<n>`` whose tensors are
  persistent references to tensor entries; it loads only with ``weights_only=False``.
- **safetensors**: a path ending in ``.safetensors`` is written and read through the
  ``safetensors`` package (``pip install 'gpugrad[safetensors]'``): a flat dict of named
  tensors, exchangeable with ``safetensors.torch`` and published models.
- **PyTorch** ``.pt``/``.pth`` (read only, no PyTorch needed): the zip format of
  ``torch.save`` (PyTorch >= 1.6). ``data.pkl`` is read by an allowlist unpickler
  (``gpugrad/_torch_pickle.py``) that only rebuilds tensors, parameters, storages,
  ``OrderedDict`` and plain containers; anything else is refused by name before anything
  runs. Storages load as float16/32/64, int8/16/32/64, uint8 or bool tensors; tensors that
  shared a storage load as separate tensors with equal values.

Untrusted files
---------------
Every size a file declares is checked against the file's real size before anything is
allocated: the members of an archive may hold at most ``max_bytes`` bytes in all
(default: ``EXPANSION_LIMIT`` times the file's size, so an archive is never a
decompression bomb), a compressed member may not claim more than deflate can expand to,
the JSON description is limited in size, nesting and integer length, and every array's
header, storage size, offset and stride must agree with the bytes that hold it.

``gg.load`` raises ``CheckpointError`` for every problem with the file: it subclasses
``pickle.UnpicklingError`` and ``RuntimeError`` (what ``torch.load`` raises for a refused
or corrupt file) and ``ValueError`` (what gpugrad raised before), so any of the three
catches it. Problems with the arguments are not the file's fault: a bad ``map_location``
raises ``RuntimeError`` with PyTorch's text, a bad ``max_bytes`` ``ValueError``.

``gg.save`` to a path is atomic: it writes a temporary file in the same directory, flushes
and fsyncs it, then renames it over the target, so a save that fails midway (a full disk)
leaves the previous file untouched and no temporary file behind.

Array-level reading and writing (``.npy`` members, safetensors buffers, PyTorch storages)
is the backend's: ``gpugrad/backends/checkpoint_io.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from . import _torch_pickle, backends
from .backends import checkpoint_io
from .backends import dtypes as _dtypes

__all__ = ["CheckpointError", "load", "save"]

FORMAT = "gpugrad"
VERSION = 1
HEADER = "__gpugrad__"
EXPANSION_LIMIT = 16
"""By default an archive's members may hold at most this many times the file's size."""
MAX_HEADER_BYTES = 16 << 20  # the JSON description of a gpugrad checkpoint
MAX_JSON_DEPTH = 1024
MAX_JSON_CONTAINERS = 1 << 20
MAX_INT_DIGITS = 4300  # Python's own limit for int('...')
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand a byte into more than this
MAX_DEPTH = 256  # nesting of the saved object
TORCH_VERSIONS = (1, 2, 3)
_SCALARS = (bool, int, float, str, type(None))
_KEYS = (str, int, float, bool, type(None))

PathOrFile = str | os.PathLike | BinaryIO

if TYPE_CHECKING:
    from . import Tensor


class _PublicAPI:
    """The few public names this module uses (``Tensor``, ``nn.Parameter``, ``from_numpy``),
    imported from the modules that define them when first used: the ``gpugrad`` package
    imports this module while it initializes, so importing the package here would be a
    cycle."""

    @property
    def Tensor(self) -> Any:  # noqa: N802 - the public name
        from ._tensor import Tensor

        return Tensor

    @property
    def nn(self) -> Any:
        from . import nn

        return nn

    @property
    def from_numpy(self) -> Any:
        from ._factories import from_numpy

        return from_numpy


_API = _PublicAPI()


def _gg() -> _PublicAPI:
    return _API


class CheckpointError(pickle.UnpicklingError, RuntimeError, ValueError):
    """``gg.load`` refused a file: not a checkpoint gpugrad reads, truncated or corrupt,
    hostile (a refused pickle global, an object array, a decompression bomb) or
    inconsistent. The text names the file and the reason."""


class _Malformed(Exception):
    """Internal: a reason, turned into ``CheckpointError`` with the file's name."""


# --- saving -------------------------------------------------------------------------------
def _host(t: Tensor) -> Any:
    return t.detach().cpu().numpy()


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {}
        self.keys: dict[int, str] = {}
        self.keep: list[Tensor] = []  # keeps ids unique while saving

    def tensor(self, t: Tensor) -> dict[str, Any]:
        key = self.keys.get(id(t))
        if key is None:
            key = self.keys[id(t)] = f"t{len(self.keys)}"
            self.arrays[key] = _host(t)
            self.keep.append(t)
        return {
            "tensor": key,
            "dtype": t.dtype.name,
            "shape": list(t.shape),
            "device": str(t.device),
            "requires_grad": bool(t.requires_grad),
            "parameter": isinstance(t, _gg().nn.Parameter),
        }

    def node(self, obj: Any, depth: int = 0) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise ValueError(f"gg.save: object nested deeper than {MAX_DEPTH} levels")
        if isinstance(obj, _gg().Tensor):
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
        return self.pickled(obj)

    def pickled(self, obj: Any) -> dict[str, Any]:
        """Any other object (a whole module, as ``torch.save(model)`` stores it): pickled,
        its tensors stored as arrays like any others and referenced from the pickle."""
        key = f"p{len(self.arrays)}"
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.persistent_id = self.persistent_id
        try:
            pickler.dump(obj)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise TypeError(
                f"gg.save cannot store an object of type {type(obj).__name__}: {error}"
            ) from None
        self.arrays[key] = checkpoint_io.bytes_array(buffer.getvalue())
        return {"pickle": key}

    def persistent_id(self, obj: Any) -> str | None:
        if isinstance(obj, _gg().Tensor):
            return json.dumps(self.tensor(obj))
        return None


def _write_gpugrad(obj: Any) -> Callable[[BinaryIO], None]:
    writer = _Writer()
    root = writer.node(obj)
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root}).encode("utf-8")
    members = {HEADER: checkpoint_io.bytes_array(header), **writer.arrays}

    def write(fid: BinaryIO) -> None:
        with zipfile.ZipFile(fid, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, array in members.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as member:
                    checkpoint_io.write_npy(member, array)

    return write


def _write_safetensors(obj: Any) -> Callable[[BinaryIO], None]:
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, _gg().Tensor) for k, v in obj.items()
    ):
        raise TypeError(
            "gg.save to a .safetensors file stores a flat dict of str names to tensors "
            "(a state_dict); save other objects to another suffix (gpugrad's format)"
        )
    data = checkpoint_io.write_safetensors(
        {name: _host(t) for name, t in obj.items()}, {"format": "pt"}
    )
    return lambda fid: fid.write(data)


def _is_safetensors_path(f: Any) -> bool:
    return (
        not hasattr(f, "write")
        and not hasattr(f, "read")
        and (os.fspath(f).endswith(".safetensors"))
    )


def save(obj: Any, f: PathOrFile) -> None:
    """Save a tensor or a (nested) dict/list/tuple of tensors and Python scalars, e.g. a
    ``state_dict`` of a module or an optimizer, to ``f`` (a path, written as given, or a
    binary file object). A path ending in ``.safetensors`` is written in the safetensors
    format (a flat dict of named tensors). Load it back with ``gg.load``.

    Any other object (a whole model, ``gg.save(model, "model.pth")`` as in PyTorch's
    tutorials) is pickled, its tensors stored as arrays; loading it needs
    ``gg.load(f, weights_only=False)``, as in PyTorch >= 2.6, since unpickling runs code.

    Saving to a path is atomic: the previous file at that path stays intact until the new
    one is complete on disk."""
    write = _write_safetensors(obj) if _is_safetensors_path(f) else _write_gpugrad(obj)
    if hasattr(f, "write"):
        write(f)
    else:
        _write_atomically(os.fspath(f), write)


def _write_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in ``path``'s directory, fsync it, then rename it
    over ``path`` (atomic on POSIX and Windows). On failure the temporary is removed."""
    path = os.path.realpath(path)  # through a symlink, as open() would write
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temporary, flags, 0o666)  # the umask applies, as for open(path, "wb")
    try:
        with os.fdopen(fd, "wb") as fid:
            write(fid)
            fid.flush()
            os.fsync(fid.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


# --- where loaded tensors go --------------------------------------------------------------
def _bad_location(tag: Any) -> RuntimeError:
    return RuntimeError(
        "don't know how to restore data location of gpugrad.storage.UntypedStorage "
        f"(tagged with {tag})"
    )


def _device_name(spec: Any) -> str:
    try:
        return str(backends.Device(spec if isinstance(spec, str) else str(spec)))
    except (RuntimeError, ValueError, TypeError):
        raise _bad_location(spec) from None


class _Placement:
    """``map_location`` as PyTorch reads it: ``None`` (where each tensor was saved), a
    device or its name, a dict from saved locations to new ones, or a callable
    ``(storage, location)`` returning a storage (a 1-D tensor) or ``None``."""

    def __init__(self, map_location: Any) -> None:
        self.map_location = map_location
        self.storages: dict[Any, tuple[Any, str]] = {}
        if map_location is None or callable(map_location):
            return
        if isinstance(map_location, dict):
            for value in map_location.values():
                _device_name(value)
        elif isinstance(map_location, (str, backends.Device)):
            _device_name(map_location)
        else:
            raise TypeError(
                "map_location should be a str, a gpugrad.device, a dict or a callable, "
                f"not {type(map_location).__name__}"
            )

    def target(self, location: str) -> str:
        spec = self.map_location
        if isinstance(spec, dict):
            spec = spec.get(location, location)
        elif spec is None or callable(spec):
            spec = location
        if spec is location:  # the file's own location, not the caller's argument
            try:
                return str(backends.Device(location))
            except (RuntimeError, ValueError, TypeError):
                raise _Malformed(
                    f"a tensor was saved on device {location!r:.40}, which gpugrad does not "
                    "know; pass map_location to load it elsewhere"
                ) from None
        return _device_name(spec)

    def storage(self, key: Any, host: Any, location: str) -> tuple[Any, str]:
        """The host data of storage ``key`` and the device its tensors go to."""
        if key in self.storages:
            return self.storages[key]
        mapped = None
        if callable(self.map_location):
            storage = _gg().from_numpy(host)
            mapped = self.map_location(storage, location)
            if mapped is not None and not (
                isinstance(mapped, _gg().Tensor) and mapped.shape == storage.shape
            ):
                shape = f" of shape {tuple(mapped.shape)}" if hasattr(mapped, "shape") else ""
                raise RuntimeError(
                    "map_location must return a storage (the 1-D tensor it was given, "
                    f"possibly moved) or None, not {type(mapped).__name__}{shape}"
                )
        if mapped is None:
            result = (host, self.target(location))
        else:
            result = (_host(mapped.to(storage.dtype)), str(mapped.device))
        self.storages[key] = result
        return result


def _place(host: Any, device: str) -> Tensor:
    if device.startswith("cuda") and not backends.cuda_is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but "
            "gpugrad.cuda.is_available() is False. If you are running on a CPU-only machine, "
            "please use gpugrad.load with map_location=gpugrad.device('cpu') to map your "
            "storages to the CPU."
        )
    result = _gg().from_numpy(host)
    return result if device == "cpu" else result.to(device)


def _finish(t: Tensor, requires_grad: bool, parameter: bool, what: str) -> Tensor:
    if requires_grad and not t.is_floating_point():
        raise _Malformed(f"{what} of dtype {t.dtype.name} cannot require grad")
    if parameter:
        return _gg().nn.Parameter(t, requires_grad=requires_grad)
    return t.requires_grad_(True) if requires_grad else t


# --- bounded archives ---------------------------------------------------------------------
class _Archive:
    """A zip archive whose members are checked before they are read: not encrypted,
    stored or deflated only, inside the file, and all together no larger than ``limit``."""

    def __init__(self, fid: BinaryIO, file_size: int, limit: int) -> None:
        try:
            self.zip = zipfile.ZipFile(fid)
        except _ZIP_ERRORS as error:
            raise _Malformed(
                f"its zip directory is corrupt: {type(error).__name__}: {error}"
            ) from None
        self.limit = limit
        self.infos = {info.filename: info for info in self.zip.infolist()}
        total = 0
        for info in self.infos.values():
            self._check(info, file_size)
            total += info.file_size
        if total > limit:
            raise _Malformed(
                f"its members declare {_size_text(total)} in all, more than the "
                f"{_size_text(limit)} allowed for a file of {_size_text(file_size)} "
                "(a decompression bomb?); pass max_bytes= to gg.load to allow more for a "
                "file you trust"
            )

    @staticmethod
    def _check(info: zipfile.ZipInfo, file_size: int) -> None:
        name = info.filename
        if info.flag_bits & 0x41:  # bit 0: encrypted, bit 6: strong encryption
            raise _Malformed(f"member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Malformed(
                f"member {name!r} uses compression method {info.compress_type}; gpugrad "
                "reads stored and deflated members only"
            )
        if info.header_offset + info.compress_size > file_size:
            raise _Malformed(f"member {name!r} extends past the end of the file")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise _Malformed(
                f"stored member {name!r} declares {info.file_size} bytes but holds "
                f"{info.compress_size}"
            )
        if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 64:
            raise _Malformed(
                f"member {name!r} declares {_size_text(info.file_size)} from "
                f"{_size_text(info.compress_size)} of compressed data, more than deflate can "
                "expand to"
            )

    def info(self, name: str) -> zipfile.ZipInfo:
        info = self.infos.get(name)
        if info is None:
            raise _Malformed(f"member {name!r} is missing from the archive")
        return info

    def open(self, name: str) -> Any:
        try:
            return self.zip.open(self.info(name))
        except _ZIP_ERRORS as error:
            raise _Malformed(
                f"member {name!r} is corrupt: {type(error).__name__}: {error}"
            ) from None

    def read(self, name: str) -> bytes:
        with self.open(name) as member:
            return member.read()


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    NotImplementedError,  # zip versions and features zipfile does not read
    UnicodeDecodeError,  # member names
    ValueError,  # negative seeks from corrupt offsets
    OverflowError,  # offsets beyond what a seek takes
    EOFError,
    OSError,
)


def _size_text(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# --- gpugrad archives ---------------------------------------------------------------------
def _check_json_text(text: str) -> None:
    """Refuse a description whose nesting or container count would make ``json.loads``
    build far more than its text (before it builds anything)."""
    bare = re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*"', "", text)
    containers = bare.count("[") + bare.count("{")
    if containers > MAX_JSON_CONTAINERS:
        raise _Malformed(f"the description holds more than {MAX_JSON_CONTAINERS} arrays/objects")
    depth = 0
    for char in re.sub(r"[^\[\]{}]", "", bare):
        depth += 1 if char in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise _Malformed(f"the description is nested deeper than {MAX_JSON_DEPTH} levels")


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _Malformed(
            f"the description holds an integer of {len(digits.lstrip('-'))} digits "
            f"(at most {MAX_INT_DIGITS} are read)"
        )
    return int(digits)


class _GpugradReader:
    def __init__(self, archive: _Archive, placement: _Placement, weights_only: bool) -> None:
        self.archive = archive
        self.placement = placement
        self.weights_only = weights_only
        self.loaded: dict[str, Tensor] = {}

    def header(self) -> Any:
        name = HEADER + ".npy"
        if name not in self.archive.infos:
            raise _Malformed(f"the archive has no {HEADER!r} entry (not saved by gg.save)")
        info = self.archive.info(name)
        if info.file_size > MAX_HEADER_BYTES:
            raise _Malformed(
                f"the description entry declares {_size_text(info.file_size)}, more than "
                f"the {_size_text(MAX_HEADER_BYTES)} allowed"
            )
        with self.archive.open(name) as member:
            npy = checkpoint_io.read_npy_header(member, info.file_size)
            if npy.dtype != "uint8" or len(npy.shape) != 1:
                raise _Malformed("the description entry is not a byte string")
            raw = member.read(npy.data_bytes)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Malformed(f"the description is not valid UTF-8: {error}") from None
        _check_json_text(text)
        try:
            header = json.loads(text, parse_int=_parse_int)
        except (json.JSONDecodeError, RecursionError) as error:
            raise _Malformed(f"the description is not valid JSON: {error}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise _Malformed("the description does not name the gpugrad format")
        if header.get("version") != VERSION:
            raise _Malformed(
                f"unsupported gpugrad checkpoint version {header.get('version')!r:.40} "
                f"(this gpugrad reads version {VERSION})"
            )
        if "root" not in header:
            raise _Malformed("the description has no root object")
        return header["root"]

    def array(self, key: str, dtype: str, shape: list[int]) -> Any:
        name = key + ".npy"
        info = self.archive.info(name)
        with self.archive.open(name) as member:
            npy = checkpoint_io.read_npy_header(member, info.file_size)
            if npy.dtype != dtype:
                raise _Malformed(
                    f"entry {key!r} has dtype {npy.dtype}, but the description says {dtype}"
                )
            if list(npy.shape) != shape:
                raise _Malformed(
                    f"entry {key!r} has shape {list(npy.shape)}, but the description says {shape}"
                )
            return checkpoint_io.read_npy_array(member, npy)

    def tensor(self, node: dict[str, Any]) -> Tensor:
        key = node["tensor"]
        dtype, shape, device = node.get("dtype"), node.get("shape"), node.get("device")
        if not isinstance(key, str):
            raise _Malformed("a tensor reference is not a string")
        if key in self.loaded:
            return self.loaded[key]
        if not isinstance(dtype, str) or dtype not in {d.name for d in _dtypes.ALL}:
            raise _Malformed(f"tensor {key!r} has an unsupported dtype {dtype!r:.40}")
        if not (
            isinstance(shape, list)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise _Malformed(f"tensor {key!r} has an invalid shape {shape!r:.80}")
        if not isinstance(device, str):
            raise _Malformed(f"tensor {key!r} has an invalid device {device!r:.40}")
        array = self.array(key, dtype, shape)
        host, target = self.placement.storage(key, array.reshape(-1), device)
        result = _place(host.reshape(array.shape), target)
        result = _finish(
            result,
            node.get("requires_grad", False) is True,
            node.get("parameter", False) is True,
            f"tensor {key!r}",
        )
        self.loaded[key] = result
        return result

    def node(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _Malformed(f"the description is nested deeper than {MAX_DEPTH} levels")
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
        if kind == "pickle":
            return self.unpickle(payload)
        raise _Malformed(f"unknown description node kind {kind!r:.40}")

    def unpickle(self, key: Any) -> Any:
        """A pickled object (``gg.save(model)``), only with ``weights_only=False``."""
        if self.weights_only:
            raise _Malformed(
                "it holds a pickled Python object (gg.save of a whole model or another "
                "object that is not a tensor, container, number or string), and unpickling "
                "runs code from the file. Weights only load failed: re-run gg.load with "
                "weights_only=False only for a file you trust, or save and load a "
                "state_dict instead"
            )
        if not isinstance(key, str) or key + ".npy" not in self.archive.infos:
            raise _Malformed(f"a pickle reference {key!r:.40} names no entry")
        name = key + ".npy"
        with self.archive.open(name) as member:
            npy = checkpoint_io.read_npy_header(member, self.archive.info(name).file_size)
            if npy.dtype != "uint8" or len(npy.shape) != 1:
                raise _Malformed(f"entry {key!r} is not a byte string")
            data = member.read(npy.data_bytes)
        unpickler = pickle.Unpickler(io.BytesIO(data))
        unpickler.persistent_load = self.persistent_load
        return unpickler.load()

    def persistent_load(self, pid: Any) -> Tensor:
        try:
            node = json.loads(pid)
        except (TypeError, json.JSONDecodeError):
            raise _Malformed(f"invalid tensor reference {pid!r:.80} in a pickle") from None
        if not isinstance(node, dict) or "tensor" not in node:
            raise _Malformed(f"invalid tensor reference {pid!r:.80} in a pickle")
        return self.tensor(node)


# --- PyTorch zip checkpoints --------------------------------------------------------------
class _TorchReader:
    def __init__(self, archive: _Archive, placement: _Placement) -> None:
        self.archive = archive
        self.placement = placement
        pickles = [n for n in archive.infos if n.endswith("data.pkl") and n.count("/") <= 1]
        if len(pickles) != 1:
            raise _Malformed("the archive does not hold exactly one data.pkl")
        self.prefix = pickles[0][: -len("data.pkl")]
        self.storages: dict[str, _torch_pickle.StorageRef] = {}
        self.little_endian = True

    def _text(self, name: str, limit: int = 64) -> str | None:
        full = self.prefix + name
        if full not in self.archive.infos:
            return None
        if self.archive.info(full).file_size > limit:
            raise _Malformed(f"member {name!r} is implausibly large")
        return self.archive.read(full).decode("ascii", "replace").strip()

    def persistent_load(self, pid: Any) -> _torch_pickle.StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _torch_pickle.UnsafePickle(f"unknown persistent id {pid!r:.80}")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _torch_pickle.StorageType):
            raise _torch_pickle.UnsafePickle(f"a storage of type {storage_type!r:.60}")
        if not (isinstance(key, str) and isinstance(location, str) and type(numel) is int):
            raise _torch_pickle.UnsafePickle(f"invalid storage description {pid!r:.80}")
        if numel < 0:
            raise _torch_pickle.UnsafePickle(f"storage {key!r} declares {numel} elements")
        ref = _torch_pickle.StorageRef(key, storage_type.dtype, location, numel)
        known = self.storages.setdefault(key, ref)
        if known != ref:
            raise _torch_pickle.UnsafePickle(f"storage {key!r} is described two different ways")
        return ref

    def load(self) -> Any:
        version = self._text("version")
        if version is not None and version not in {str(v) for v in TORCH_VERSIONS}:
            raise _Malformed(
                f"PyTorch checkpoint format version {version!r}; gpugrad reads versions "
                f"{TORCH_VERSIONS[0]} to {TORCH_VERSIONS[-1]}"
            )
        byteorder = self._text("byteorder")
        if byteorder not in (None, "little", "big"):
            raise _Malformed(f"unknown byte order {byteorder!r}")
        self.little_endian = byteorder != "big"
        data = self.archive.read(self.prefix + "data.pkl")
        try:
            root = _torch_pickle.AllowlistUnpickler(data, self.persistent_load).load()
        except _torch_pickle.UnsafePickle as error:
            raise _Malformed(str(error)) from None
        # Every storage and tensor is checked against the archive before any is read.
        for ref in self.storages.values():
            self._check_storage(ref)
        refs: list[_torch_pickle.TensorRef] = []
        _collect(root, refs)
        total = 0
        for ref in refs:
            _check_bounds(ref)
            total += _element_count(ref.size) * _dtypes.as_dtype(ref.storage.dtype).itemsize
        if total > self.archive.limit:  # stride-0 (expanded) tensors repeat their storage
            raise _Malformed(
                f"its tensors declare {_size_text(total)} in all, more than the "
                f"{_size_text(self.archive.limit)} allowed; pass max_bytes= to gg.load to "
                "allow more for a file you trust"
            )
        users: dict[str, set[int]] = {}
        for ref in refs:
            users.setdefault(ref.storage.key, set()).add(id(ref))
        exclusive = {key for key, ids in users.items() if len(ids) == 1}
        return _Rebuilder(self, exclusive).rebuild(root)

    def _check_storage(self, ref: _torch_pickle.StorageRef) -> None:
        name = f"{self.prefix}data/{ref.key}"
        info = self.archive.info(name)
        expected = ref.numel * _dtypes.as_dtype(ref.dtype).itemsize
        if info.file_size != expected:
            raise _Malformed(
                f"storage {ref.key!r} declares {ref.numel} {ref.dtype} elements "
                f"({expected} bytes), but its data holds {info.file_size} bytes"
            )

    def storage(self, ref: _torch_pickle.StorageRef) -> tuple[Any, str]:
        if ref.key in self.placement.storages:
            return self.placement.storages[ref.key]
        with self.archive.open(f"{self.prefix}data/{ref.key}") as member:
            host = checkpoint_io.storage_from_stream(
                member, ref.dtype, ref.numel, self.little_endian
            )
        return self.placement.storage(ref.key, host, ref.location)


def _collect(obj: Any, out: list, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _Malformed(f"the checkpoint is nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, _torch_pickle.TensorRef):
        out.append(obj)
    elif isinstance(obj, dict):
        for value in obj.values():
            _collect(value, out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _collect(value, out, depth + 1)


def _element_count(size: tuple[int, ...]) -> int:
    count = 1
    for n in size:
        count *= n
    return count


def _check_bounds(ref: _torch_pickle.TensorRef) -> None:
    size, stride, offset, numel = ref.size, ref.stride, ref.offset, ref.storage.numel
    if len(size) != len(stride) or offset < 0 or min((*size, *stride, 0)) < 0:
        raise _Malformed(
            f"a tensor of size {size}, stride {stride} and offset {offset} is malformed"
        )
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= numel:
            raise _Malformed(
                f"a tensor of size {size}, stride {stride} at offset {offset} reaches "
                f"element {last} of storage {ref.storage.key!r}, which holds {numel}"
            )


class _Rebuilder:
    def __init__(self, reader: _TorchReader, exclusive: set[str]) -> None:
        self.reader = reader
        self.exclusive = exclusive  # storages only one tensor uses: no copy needed
        self.built: dict[int, Tensor] = {}
        self.keep: list[Any] = []

    def tensor(self, ref: _torch_pickle.TensorRef) -> Tensor:
        host, device = self.reader.storage(ref.storage)
        array = checkpoint_io.array_from_storage(
            host, ref.offset, ref.size, ref.stride, ref.storage.key in self.exclusive
        )
        what = f"a tensor of storage {ref.storage.key!r}"
        return _finish(_place(array, device), ref.requires_grad, ref.parameter, what)

    def rebuild(self, obj: Any) -> Any:
        if isinstance(obj, _torch_pickle.TensorRef):
            if id(obj) not in self.built:
                self.built[id(obj)] = self.tensor(obj)
                self.keep.append(obj)
            return self.built[id(obj)]
        if isinstance(obj, dict):
            out = type(obj)() if type(obj) is not dict else {}
            for key, value in obj.items():
                out[key] = self.rebuild(value)
            return out
        if isinstance(obj, list):
            return [self.rebuild(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.rebuild(v) for v in obj)
        return obj


# --- safetensors --------------------------------------------------------------------------
def _load_safetensors(data: bytes, placement: _Placement) -> dict[str, Tensor]:
    try:
        arrays = checkpoint_io.read_safetensors(data)
    except checkpoint_io.FormatError as error:
        raise _Malformed(str(error)) from None
    out = {}
    for name, array in arrays.items():
        host, device = placement.storage(name, array.reshape(-1), "cpu")
        out[name] = _place(host.reshape(array.shape), device)
    return out


# --- load ---------------------------------------------------------------------------------
def _describe(f: Any) -> str:
    if hasattr(f, "read"):
        return repr(getattr(f, "name", "<file object>"))
    return repr(os.fspath(f))


def load(
    f: PathOrFile,
    map_location: Any = None,
    weights_only: bool = True,
    *,
    max_bytes: int | None = None,
) -> Any:
    """Load what ``gg.save`` wrote, a ``.safetensors`` file, or a PyTorch ``.pt``/``.pth``
    checkpoint (``torch.save``'s zip format, read without PyTorch).

    ``map_location``, as in PyTorch: ``None`` (each tensor returns to the device it was
    saved from), a device or its name (``"cpu"``, ``"cuda:0"``, ``gg.device("cpu")``), a
    dict mapping saved locations to new ones, or a callable ``(storage, location)`` called
    once per storage with a 1-D CPU tensor and the saved location (``"cpu"``,
    ``"cuda:0"``), returning that storage moved where it should go, or ``None`` for the
    default. With ``weights_only=True`` (the default, as in PyTorch) nothing but tensors and
    plain containers is rebuilt and no code from the file runs; ``weights_only=False``
    also unpickles the objects ``gg.save`` pickled (a whole model), for files you trust.
    PyTorch files are read by the allowlist unpickler whatever its value.

    ``max_bytes`` bounds the bytes the file's members may expand to (default:
    ``EXPANSION_LIMIT`` times the file's size); a file declaring more is refused before
    anything is allocated.

    Raises ``CheckpointError`` (a ``pickle.UnpicklingError``, ``RuntimeError`` and
    ``ValueError``) naming the file and the reason for a file that is not a checkpoint
    gpugrad reads, is truncated, corrupt or inconsistent, declares absurd sizes, or asks
    for anything outside the allowlist; ``RuntimeError`` for an invalid ``map_location``
    (PyTorch's text).
    """
    placement = _Placement(map_location)
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0
    ):
        raise ValueError(f"max_bytes must be a non-negative int or None, got {max_bytes!r}")
    name = _describe(f)
    if hasattr(f, "read"):
        return _load_from(f, name, placement, max_bytes, False, weights_only)
    with open(os.fspath(f), "rb") as fid:
        return _load_from(fid, name, placement, max_bytes, _is_safetensors_path(f), weights_only)


def _load_from(
    fid: BinaryIO,
    name: str,
    placement: _Placement,
    max_bytes: int | None,
    suffix_safetensors: bool,
    weights_only: bool | None = True,
) -> Any:
    try:
        start = fid.tell()
        size = fid.seek(0, os.SEEK_END) - start
        fid.seek(start)
        limit = max_bytes if max_bytes is not None else EXPANSION_LIMIT * size + (64 << 10)
        magic = fid.read(16)
        fid.seek(start)
        if suffix_safetensors or _looks_like_safetensors(magic, size):
            if size > limit:
                raise _Malformed(f"the file's {size} bytes exceed max_bytes={limit}")
            return _load_safetensors(fid.read(size), placement)
        if not magic:
            raise _Malformed("the file is empty")
        if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise _Malformed(_not_a_zip(magic))
        archive = _Archive(fid, start + size, limit)
        if HEADER + ".npy" in archive.infos:
            reader = _GpugradReader(archive, placement, weights_only is not False)
            return reader.node(reader.header())
        if any(n.endswith("data.pkl") for n in archive.infos):
            return _TorchReader(archive, placement).load()
        raise _Malformed(
            "a zip archive that is neither a gpugrad checkpoint (no '__gpugrad__' entry) "
            "nor a PyTorch checkpoint (no data.pkl)"
        )
    except _Malformed as error:
        raise CheckpointError(f"{name} is not a valid checkpoint: {error}") from None
    except checkpoint_io.FormatError as error:
        raise CheckpointError(f"{name} is not a valid checkpoint: {error}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise CheckpointError(
            f"{name} is truncated or corrupt: {type(error).__name__}: {error}"
        ) from None


def _looks_like_safetensors(magic: bytes, size: int) -> bool:
    if len(magic) < 9 or magic[8:9] != b"{":
        return False
    return 0 < int.from_bytes(magic[:8], "little") <= size - 8


def _not_a_zip(magic: bytes) -> str:
    if magic.startswith(b"\x80") and magic[2:3] == b"\x8a":
        return (
            "it is a PyTorch checkpoint in the legacy format (before PyTorch 1.6), a pickle "
            "that gpugrad does not run; re-save it with torch.save from PyTorch >= 1.6"
        )
    if magic.startswith(b"\x80"):
        return "it is a pickle, which gpugrad never unpickles (not an .npz/zip archive)"
    if magic.startswith(b"\x93NUMPY"):
        return "it is a single .npy array, not an .npz (zip) archive"
    return "it is not an .npz (zip) archive, a PyTorch zip checkpoint or a .safetensors file"
