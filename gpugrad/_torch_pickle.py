"""An allowlist unpickler for the ``data.pkl`` of PyTorch's zip checkpoints, in the spirit
of PyTorch's own ``weights_only=True`` loader, that needs no PyTorch.

It is a small pickle virtual machine written in Python (as PyTorch's
``torch/_weights_only_unpickler.py`` is): it knows only the opcodes ``torch.save`` emits
for state dicts, keeps its memo in a dict (so ``LONG_BINPUT 4294967295`` allocates
nothing), counts the objects it builds, and resolves globals through an allowlist:
PyTorch's tensor and parameter rebuild functions, its typed storage classes,
``collections.OrderedDict`` and ``torch.Size``. Anything else raises ``UnsafePickle``
naming the refused global or opcode, before anything is called. The allowed "functions"
do not build tensors either: they return ``TensorRef`` descriptions that the caller checks
against the archive (storage sizes, bounds) before it reads or allocates any data.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any, NamedTuple

MAX_OBJECTS = 1_000_000  # containers, strings and numbers one pickle may build
MAX_LONG_BYTES = 64  # LONG1/LONG4 integers beyond 512 bits are no tensor metadata

STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
UNSUPPORTED_STORAGES = {
    "BFloat16Storage": "bfloat16",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
}


class UnsafePickle(Exception):
    """The pickle asks for something outside the allowlist, or is malformed."""


class StorageType(NamedTuple):
    name: str  # PyTorch's class name, e.g. FloatStorage
    dtype: str  # gpugrad's dtype name


class StorageRef(NamedTuple):
    key: str  # the archive member data/<key>
    dtype: str
    location: str
    numel: int


class TensorRef(NamedTuple):
    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    requires_grad: bool
    parameter: bool


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(type(n) is int for n in value):
        raise UnsafePickle(f"a tensor's {what} is not a tuple of ints: {value!r:.80}")
    return value


def _empty_hooks(hooks: Any) -> None:
    if not (isinstance(hooks, dict) and not hooks):
        raise UnsafePickle("a tensor carries backward hooks, which are code and are refused")


def _rebuild_tensor_v2(
    storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any,
    backward_hooks: Any, metadata: Any = None,
) -> TensorRef:  # fmt: skip
    if not isinstance(storage, StorageRef):
        raise UnsafePickle("_rebuild_tensor_v2 was given something other than a storage")
    if type(storage_offset) is not int or type(requires_grad) is not bool:
        raise UnsafePickle("_rebuild_tensor_v2 was given an invalid offset or requires_grad")
    _empty_hooks(backward_hooks)
    if metadata is not None and not (isinstance(metadata, dict) and not metadata):
        raise UnsafePickle("a tensor carries Python metadata, which is refused")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    return TensorRef(storage, storage_offset, size, stride, requires_grad, False)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> TensorRef:
    return _rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> TensorRef:
    if not isinstance(data, TensorRef) or type(requires_grad) is not bool:
        raise UnsafePickle("_rebuild_parameter was given something other than a tensor")
    _empty_hooks(backward_hooks)
    return data._replace(requires_grad=requires_grad, parameter=True)


def _rebuild_parameter_with_state(
    data: Any, requires_grad: Any, backward_hooks: Any, state: Any
) -> TensorRef:
    if state:
        raise UnsafePickle("a parameter carries Python state, which is refused")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _ordered_dict(*args: Any) -> OrderedDict:
    if args:
        raise UnsafePickle("collections.OrderedDict is only rebuilt empty")
    return OrderedDict()


def _size(*args: Any) -> tuple[int, ...]:
    if len(args) != 1:
        raise UnsafePickle("torch.Size takes one tuple")
    return _int_tuple(tuple(args[0]) if isinstance(args[0], (list, tuple)) else args[0], "size")


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): _size,
    **{("torch", name): StorageType(name, dtype) for name, dtype in STORAGE_DTYPES.items()},
}


def _find_global(module: str, name: str) -> Any:
    found = ALLOWED_GLOBALS.get((module, name))
    if found is not None:
        return found
    if module == "torch" and name in UNSUPPORTED_STORAGES:
        raise UnsafePickle(
            f"it holds tensors of dtype {UNSUPPORTED_STORAGES[name]} (torch.{name}), which gpugrad "
            "does not support; convert them in PyTorch first (e.g. .float())"
        )
    raise UnsafePickle(
        f"Unsupported global: GLOBAL {module}.{name} was refused: gpugrad loads PyTorch "
        "checkpoints through an allowlist (tensors, parameters, storages, OrderedDict and "
        "plain containers), and nothing in the file was run"
    )


class AllowlistUnpickler:
    """Reads one pickle from ``data`` (bytes); ``persistent_load(pid)`` resolves storages."""

    def __init__(self, data: bytes, persistent_load: Any) -> None:
        self.data = memoryview(data)
        self.position = 0
        self.persistent_load = persistent_load
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.objects = 0

    # --- reading --------------------------------------------------------------------------
    def read(self, n: int) -> bytes:
        end = self.position + n
        if n < 0 or end > len(self.data):
            raise UnsafePickle("the pickle is truncated")
        chunk = bytes(self.data[self.position : end])
        self.position = end
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def push(self, value: Any) -> None:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise UnsafePickle(f"the pickle builds more than {MAX_OBJECTS} objects")
        self.stack.append(value)

    def pop(self) -> Any:
        if not self.stack or (self.marks and len(self.stack) <= self.marks[-1]):
            raise UnsafePickle("the pickle pops an empty stack")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise UnsafePickle("the pickle closes a MARK it never opened")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def text(self, n: int) -> str:
        try:
            return self.read(n).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise UnsafePickle("the pickle holds a string that is not UTF-8") from None

    # --- the machine ----------------------------------------------------------------------
    def load(self) -> Any:
        while True:
            opcode = self.read(1)
            handler = _OPCODES.get(opcode)
            if handler is None:
                raise UnsafePickle(f"pickle opcode {opcode!r} is not allowed")
            if handler is _stop:
                if len(self.stack) != 1 or self.marks:
                    raise UnsafePickle("the pickle stops with a malformed stack")
                return self.stack[0]
            handler(self)


def _stop(u: AllowlistUnpickler) -> None:  # handled in load()
    pass


def _proto(u: AllowlistUnpickler) -> None:
    if u.read(1)[0] > 5:
        raise UnsafePickle("pickle protocol above 5")


def _frame(u: AllowlistUnpickler) -> None:
    u.read(8)  # frames only group opcodes; the whole pickle is in memory


def _line_length(u: AllowlistUnpickler) -> int:
    end = bytes(u.data[u.position : u.position + 256]).find(b"\n")
    if end < 0:
        raise UnsafePickle("a GLOBAL name is not terminated")
    return end


def _after_line(u: AllowlistUnpickler) -> None:
    u.read(1)


def _global_op(u: AllowlistUnpickler) -> None:
    module = u.text(_line_length(u))
    _after_line(u)
    name = u.text(_line_length(u))
    _after_line(u)
    u.push(_find_global(module, name))


def _stack_global(u: AllowlistUnpickler) -> None:
    name, module = u.pop(), u.pop()
    if not (isinstance(module, str) and isinstance(name, str)):
        raise UnsafePickle("STACK_GLOBAL with non-string names")
    u.push(_find_global(module, name))


def _reduce(u: AllowlistUnpickler) -> None:
    args, func = u.pop(), u.pop()
    if not isinstance(args, tuple):
        raise UnsafePickle("REDUCE with arguments that are not a tuple")
    if not callable(func) or isinstance(func, StorageType):
        raise UnsafePickle(f"REDUCE of {func!r:.60}, which is not an allowed function")
    try:
        result = func(*args)
    except TypeError as error:
        raise UnsafePickle(f"REDUCE with the wrong arguments: {error}") from None
    u.push(result)


def _build(u: AllowlistUnpickler) -> None:
    state = u.pop()
    target = u.stack[-1] if u.stack else None
    # torch.save gives a state dict's OrderedDict a ``_metadata`` attribute (module
    # versions); gpugrad has no use for it, and nothing else may be BUILT.
    if not (isinstance(target, OrderedDict) and isinstance(state, dict)):
        raise UnsafePickle(f"BUILD of a {type(target).__name__} is not allowed")


def _persid(u: AllowlistUnpickler) -> None:
    u.push(u.persistent_load(u.pop()))


def _memo_get(index: int, u: AllowlistUnpickler) -> None:
    if index not in u.memo:
        raise UnsafePickle(f"the pickle refers to memo entry {index}, which it never stored")
    u.push(u.memo[index])


def _memo_put(index: int, u: AllowlistUnpickler) -> None:
    if not u.stack:
        raise UnsafePickle("the pickle memoizes an empty stack")
    u.memo[index] = u.stack[-1]


def _set_items(target: Any, items: list[Any]) -> None:
    if not isinstance(target, dict) or len(items) % 2:
        raise UnsafePickle("SETITEMS on something other than a dict")
    for i in range(0, len(items), 2):
        key = items[i]
        if not isinstance(key, (str, int, float, bool, type(None), tuple)):
            raise UnsafePickle(f"a dict key of type {type(key).__name__} is not allowed")
        try:
            target[key] = items[i + 1]
        except TypeError:  # e.g. a tuple key holding a list
            raise UnsafePickle(f"an unhashable dict key {key!r:.60}") from None


def _top(u: AllowlistUnpickler) -> Any:
    if not u.stack:
        raise UnsafePickle("the pickle's stack is empty")
    return u.stack[-1]


def _append(target: Any, items: list[Any]) -> None:
    if not isinstance(target, list):
        raise UnsafePickle("APPEND on something other than a list")
    target.extend(items)


def _setitem(u: AllowlistUnpickler) -> None:
    value, key = u.pop(), u.pop()
    _set_items(_top(u), [key, value])


def _setitems(u: AllowlistUnpickler) -> None:
    items = u.pop_mark()
    _set_items(_top(u), items)


def _appends(u: AllowlistUnpickler) -> None:
    items = u.pop_mark()
    _append(_top(u), items)


def _append_one(u: AllowlistUnpickler) -> None:
    item = u.pop()
    _append(_top(u), [item])


def _long(u: AllowlistUnpickler, n: int) -> None:
    if n > MAX_LONG_BYTES:
        raise UnsafePickle(f"an integer of {n} bytes is no tensor metadata")
    u.push(int.from_bytes(u.read(n), "little", signed=True))


def _tuple_n(n: int):
    def handler(u: AllowlistUnpickler) -> None:
        items = [u.pop() for _ in range(n)][::-1]
        u.push(tuple(items))

    return handler


def _mark(u: AllowlistUnpickler) -> None:
    u.marks.append(len(u.stack))


_OPCODES: dict[bytes, Any] = {
    b".": _stop,
    b"\x80": _proto,
    b"\x95": _frame,
    b"c": _global_op,
    b"\x93": _stack_global,
    b"R": _reduce,
    b"b": _build,
    b"Q": _persid,
    b"(": _mark,
    b"}": lambda u: u.push({}),
    b"]": lambda u: u.push([]),
    b")": lambda u: u.push(()),
    b"t": lambda u: u.push(tuple(u.pop_mark())),
    b"\x85": _tuple_n(1),
    b"\x86": _tuple_n(2),
    b"\x87": _tuple_n(3),
    b"N": lambda u: u.push(None),
    b"\x88": lambda u: u.push(True),
    b"\x89": lambda u: u.push(False),
    b"K": lambda u: u.push(u.read(1)[0]),
    b"M": lambda u: u.push(u.unpack("<H")),
    b"J": lambda u: u.push(u.unpack("<i")),
    b"\x8a": lambda u: _long(u, u.read(1)[0]),
    b"\x8b": lambda u: _long(u, u.unpack("<I")),
    b"G": lambda u: u.push(u.unpack(">d")),
    b"X": lambda u: u.push(u.text(u.unpack("<I"))),
    b"\x8c": lambda u: u.push(u.text(u.read(1)[0])),
    b"\x8d": lambda u: u.push(u.text(u.unpack("<Q"))),
    b"q": lambda u: _memo_put(u.read(1)[0], u),
    b"r": lambda u: _memo_put(u.unpack("<I"), u),
    b"\x94": lambda u: _memo_put(len(u.memo), u),
    b"h": lambda u: _memo_get(u.read(1)[0], u),
    b"j": lambda u: _memo_get(u.unpack("<I"), u),
    b"s": _setitem,
    b"u": _setitems,
    b"a": _append_one,
    b"e": _appends,
}
