"""The Tensor: an array on a device, plus what autograd needs to know about it.

Operators and op methods (``+``, ``sin``, ``sum`` …, and ``backward``) are attached in one
place, ``gpugrad._tensor_methods``, from the op registry (``gpugrad.ops.registry``), so that
a Tensor method is the very function ``gg.sin`` is, with no extra call on the hot path.
Type checkers see them through ``_tensor_api.pyi``, generated from the same registry by
``scripts/gen_stubs.py``.
"""

from __future__ import annotations

import builtins
import operator
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import backends
from ._grad_mode import state as _grad_state
from .backends import dtypes as _dtypes
from .backends.device import Device
from .backends.formatting import format_tensor

if TYPE_CHECKING:
    from ._graph import Node
    from ._tensor_api import TensorMethods as _Methods
else:
    _Methods = object


class Size(tuple):
    """A tensor's shape: a tuple printed as PyTorch prints ``torch.Size``."""

    def __repr__(self) -> str:
        return f"gpugrad.Size({list(self)})"

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds (the product of the sizes)."""
        n = 1
        for d in self:
            n *= d
        return n


def shape_arg(shape: tuple) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean the shape ``(2, 3)``."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


class Tensor(_Methods):
    """A multi-dimensional array on a device (a NumPy array on the CPU, a CuPy array on a
    GPU) that autograd can differentiate, as ``torch.Tensor``.

    Create tensors with the factories (``gpugrad.tensor``, ``zeros``, ``randn`` ...);
    ``Tensor(data)`` / ``Tensor(*sizes)`` are PyTorch's legacy forms. ``requires_grad=True``
    makes a leaf whose ``.grad`` ``backward`` fills; every op on such a tensor records a
    ``grad_fn`` node of the graph.
    """

    # A dict, so that the public slot ``grad_fn`` carries its docstring.
    __slots__ = {
        "_data": None,
        "_backend": None,
        "grad_fn": "The graph node that made this tensor (``None`` for a leaf).",
        "_requires_grad": None,
        "_grad": None,
        "_output_nr": None,
        "_extra": None,
        "__weakref__": None,
    }

    _data: Any
    _backend: backends.ArrayBackend
    grad_fn: Node | None
    _requires_grad: builtins.bool
    _grad: Tensor | None
    _output_nr: builtins.int
    _extra: TensorExtra | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """``Tensor(data)`` / ``Tensor(*sizes)``, PyTorch's legacy constructor, happens in
        ``__new__``, which ``_tensor_methods`` gives the class (``_legacy_tensors``);
        gpugrad itself makes tensors without calling the class."""

    # --- autograd attributes ----------------------------------------------------------------
    # Public ``grad`` and ``requires_grad`` validate what users assign, as PyTorch does; the
    # library itself writes the private slots, so the engine's hot path pays nothing. The
    # getters are C-level ``attrgetter``s: a read costs a few nanoseconds more than a slot's.
    def _set_grad(self, grad: Tensor | None) -> None:
        if grad is not None:
            _check_assigned_grad(self, grad)
        self._grad = grad

    grad = property(
        operator.attrgetter("_grad"),
        _set_grad,
        doc="The gradient accumulated by backward (``None`` until one arrives).",
    )

    def _set_requires_grad(self, requires_grad: builtins.bool) -> None:
        if type(requires_grad) is not builtins.bool:
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None:
            raise RuntimeError(
                _NON_LEAF_REQUIRES_GRAD
                if not requires_grad
                else "you can only change requires_grad flags of leaf variables."
            )
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self._requires_grad = requires_grad

    requires_grad = property(
        operator.attrgetter("_requires_grad"),
        _set_requires_grad,
        doc="Whether backward computes a gradient for this tensor.",
    )

    # --- metadata -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The tensor's shape, a :class:`gpugrad.Size`."""
        return Size(self._data.shape)

    def size(self, dim: builtins.int | None = None) -> Any:
        """The tensor's shape (a :class:`gpugrad.Size`), or the size of dimension ``dim``."""
        shape = self._data.shape
        return Size(shape) if dim is None else shape[dim]

    def dim(self) -> builtins.int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def ndim(self) -> builtins.int:
        """The number of dimensions (an alias of :meth:`dim`)."""
        return self._data.ndim

    def numel(self) -> builtins.int:
        """The number of elements."""
        return int(self._data.size)

    def nelement(self) -> builtins.int:
        """The number of elements (an alias of :meth:`numel`)."""
        return int(self._data.size)

    @property
    def dtype(self) -> _dtypes.DType:
        """The element type, a ``gpugrad.dtype`` (``gpugrad.float32`` ...)."""
        return _dtypes.BY_NUMPY[self._data.dtype]

    @property
    def device(self) -> Device:
        """The device the tensor's memory is on (``device(type='cpu')``, ``device(type='cuda',
        index=0)``)."""
        return self._backend.device

    @property
    def is_cuda(self) -> builtins.bool:
        """True when the tensor is on a CUDA device."""
        return self._backend.device.type == "cuda"

    @property
    def is_leaf(self) -> builtins.bool:
        """True for a tensor no recorded op made: one the user created, or any tensor that does not
        require grad."""
        return self.grad_fn is None

    def is_floating_point(self) -> builtins.bool:
        """True when the dtype is a floating-point type."""
        return self._data.dtype.kind == "f"

    def __len__(self) -> builtins.int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    __hash__ = object.__hash__
    # NumPy defers to the tensor's reflected operators (np.float32(2) * t is a tensor).
    __array_ufunc__ = None

    @property
    def data(self) -> Tensor:
        """The values as a tensor outside the graph, sharing this tensor's array."""
        return _wrap(shareable_data(self), self._backend)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        if value._backend is not self._backend:
            raise RuntimeError(
                f"data set to a tensor on {value.device}, but this tensor is on {self.device}"
            )
        self._data = value._data

    # --- conversion to Python and NumPy --------------------------------------------------
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists of Python numbers; a 0-d tensor gives a number."""
        return self._backend.to_host(self._data).tolist()

    def numpy(self) -> Any:
        """The values as a NumPy array sharing this CPU tensor's memory (refused for a tensor that
        requires grad or is on a GPU)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        if self._backend.device.type != "cpu":
            raise TypeError(
                f"can't convert {self._backend.device_str} device type tensor to numpy. "
                "Use Tensor.cpu() to copy the tensor to host memory first."
            )
        return self._backend.to_host(shareable_data(self))

    def __dlpack__(self, **kwargs: Any) -> Any:
        """Export without a copy (PyTorch's, CuPy's and NumPy's ``from_dlpack`` take it)."""
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[builtins.int, int]:
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict[str, Any]:
        if self._backend.device.type != "cuda":
            raise AttributeError(
                "Can't get __cuda_array_interface__ on non-CUDA tensor type: "
                f"gpugrad.{self.dtype.name} on {self.device}"
            )
        if self.requires_grad:
            raise RuntimeError(
                "Can't get __cuda_array_interface__ on Variable that requires grad. "
                "If gradients aren't required, use var.detach() to get Variable that doesn't "
                "require grad."
            )
        return self._data.__cuda_array_interface__

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        host = self.numpy()  # refuses a tensor that requires grad, as PyTorch does
        return host if dtype is None else host.astype(dtype)

    def _scalar(self, kind: type) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return kind(self._data.item())

    def __float__(self) -> builtins.float:
        return self._scalar(float)

    def __int__(self) -> builtins.int:
        return self._scalar(int)

    def __index__(self) -> builtins.int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __bool__(self) -> builtins.bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size
                else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self._data.item())

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # --- printing -----------------------------------------------------------------------
    def __repr__(self) -> str:
        extra: list[str] = []
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        device = self._backend.device
        return format_tensor(
            self._backend.to_host(self._data),
            device=None if device.type == "cpu" else str(device),
            extra=extra,
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    # --- autograd -----------------------------------------------------------------------
    def __deepcopy__(self, memo: dict[builtins.int, Any]) -> Tensor:
        """A copy with its own array (keeping the class, ``requires_grad`` and ``.grad``);
        as in PyTorch, only graph leaves can be deep-copied."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        backend = self._backend
        copy = _new(type(self))
        copy._data, copy._backend = backend.copy(self._data), backend
        copy.grad_fn, copy._requires_grad, copy._output_nr, copy._extra = (
            None,
            self._requires_grad,
            0,
            None,
        )
        copy._grad = None if self._grad is None else self._grad.__deepcopy__(memo)
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol: Any) -> tuple:
        """Pickle the values (only a view's own elements), dtype, device, class and
        ``requires_grad``, as PyTorch does: the copy is a leaf (a non-leaf's too) without
        ``.grad``. ``gpugrad.save`` stores tensors its own way (sharing storage)."""
        state = getattr(self, "__dict__", None)  # a user subclass's attributes
        host = self._backend.to_host(self._data)
        device = str(self._backend.device)
        return _rebuild_tensor, (type(self), host, device, self._requires_grad, state)

    def storage(self) -> Any:
        """The memory this tensor and its views share (``torch.Tensor.storage``)."""
        from ._storage import TypedStorage

        return TypedStorage(self._data, self._backend)

    def untyped_storage(self) -> Any:
        """The memory this tensor and its views share, as bytes
        (``torch.Tensor.untyped_storage``: ``nbytes()``, ``data_ptr()``)."""
        from ._storage import UntypedStorage

        return UntypedStorage(shareable_data(self), self._backend)

    def detach(self) -> Tensor:
        """The same values outside the graph, sharing memory and version counter."""
        return mark_view(_wrap(shareable_data(self), self._backend), self)

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place: it becomes a leaf that does not require
        grad."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Set ``requires_grad`` of this leaf in place (floating-point tensors only); returns
        the tensor."""
        if type(requires_grad) is not builtins.bool:
            raise TypeError(
                "requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                f"{type(requires_grad).__name__}"
            )
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(_NON_LEAF_REQUIRES_GRAD)
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor when backward runs (leaves keep theirs
        anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self.retains_grad:
            tensor_hooks(self.grad_fn, self._output_nr).retained = weakref.ref(self)
            self._get_extra().retains_grad = True

    @property
    def retains_grad(self) -> builtins.bool:
        """True when :meth:`retain_grad` was called on this non-leaf tensor."""
        return self._extra is not None and self._extra.retains_grad

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            hooks = tensor_hooks(self.grad_fn, self._output_nr).hooks
        else:
            hooks = self._get_extra().hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def _get_extra(self) -> TensorExtra:
        if self._extra is None:
            self._extra = TensorExtra()
        return self._extra

    @property
    def _version(self) -> builtins.int:
        """In-place writes to this tensor's memory (PyTorch's version counter, shared by a
        tensor and its views)."""
        extra = version_owner(self)._extra
        return 0 if extra is None else extra.version


class TensorExtra:
    """Rarely used per-tensor state, kept out of the hot path."""

    __slots__ = (
        "hooks",
        "retains_grad",
        "accumulator",
        "version",
        "writes",
        "base",
        "view_key",
        "views",
    )

    def __init__(self) -> None:
        self.hooks: dict[int, Callable[[Tensor], Tensor | None]] = {}
        self.retains_grad = False
        self.accumulator: Any = None  # weakref.ref to the leaf's AccumulateGrad (_graph.edge_of)
        self.version = 0  # in-place writes so far (PyTorch's version counter)
        self.writes: deque[int] = deque(maxlen=32)  # in-place clock epochs of recent writes
        self.base: Tensor | None = None  # for a view: the tensor whose memory it shares
        self.view_key: Any = None  # for base[key] views: the key, to write back through
        # for a base: its live views made while recording, whose nodes an in-place write
        # into it makes again (_inplace.refresh_views)
        self.views: weakref.WeakSet[Tensor] | None = None

    def versions_since(self, epoch: int) -> int:
        """Writes after ``epoch`` (exact while fewer than 32 of them happened since)."""
        return sum(1 for e in self.writes if e > epoch)


def tensor_hooks(node: Any, output_nr: int) -> TensorHooks:
    """The hooks of the non-leaf tensor that is output ``output_nr`` of ``node``."""
    if node.pre_hooks is None:
        node.pre_hooks = {}
    hooks = node.pre_hooks.get(output_nr)
    if hooks is None:
        hooks = node.pre_hooks[output_nr] = TensorHooks()
    return hooks


class TensorHooks:
    """Hooks of a non-leaf tensor, kept on its ``grad_fn`` (keyed by output number)."""

    __slots__ = ("hooks", "retained")

    def __init__(self) -> None:
        self.hooks: dict[int, Callable[..., Any]] = {}
        self.retained: weakref.ref[Tensor] | None = None


class RemovableHandle:
    """The handle ``register_hook`` returns: ``remove()`` (or leaving its ``with`` block)
    unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Any]) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


_new = object.__new__

_NON_LEAF_REQUIRES_GRAD = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)

# PyTorch names dtypes by their C++ types in ``.grad`` assignment errors.
_CPP_TYPE = {
    "float16": ("c10::Half", "Half"),
    "bfloat16": ("c10::BFloat16", "BFloat16"),
    "float32": ("float", "Float"),
    "float64": ("double", "Double"),
    "uint8": ("unsigned char", "Byte"),
    "int8": ("signed char", "Char"),
    "int16": ("short int", "Short"),
    "int32": ("int", "Int"),
    "int64": ("long int", "Long"),
    "bool": ("bool", "Bool"),
}


def _check_assigned_grad(t: Tensor, grad: Any) -> None:
    """Refuse a ``.grad`` that could not be this tensor's gradient, with PyTorch's errors."""
    if not isinstance(grad, Tensor):
        raise TypeError(
            "assigned grad expected to be a Tensor or None but got grad of type "
            f"{type(grad).__name__}"
        )
    if grad is t:
        raise RuntimeError("can't assign Variable as its own grad")
    if grad._data.dtype != t._data.dtype:
        given, expected = grad.dtype.name, t.dtype.name
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{_CPP_TYPE.get(given, (given,))[0]}' "
            f"to a tensor with grad_dtype '{_CPP_TYPE.get(expected, (0, expected))[1]}'. The "
            "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype)."
        )
    if grad._backend is not t._backend:
        given, expected = grad._backend.device, t._backend.device
        if given.type != expected.type:
            raise RuntimeError(
                f"attempting to assign a gradient with device type '{given.type}' to a tensor "
                f"with device type '{expected.type}'. Please ensure that the gradient and the "
                "tensor are on the same device"
            )
        raise RuntimeError(
            f"attempting to assign a gradient located on device with index '{given.index}' to "
            f"a tensor located on device with index '{expected.index}'. Please ensure that the "
            "gradient and the tensor are on the same device"
        )
    if grad._data.shape != t._data.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(grad._data.shape)}' to a tensor of "
            f"size '{list(t._data.shape)}'. Please ensure that the gradient and the tensor are "
            "the same size"
        )


def _wrap(data: Any, backend: backends.ArrayBackend) -> Tensor:
    """A tensor that does not require grad around ``data``."""
    t = _new(Tensor)
    t._data = data
    t._backend = backend
    t.grad_fn = None
    t._requires_grad = False
    t._grad = None
    t._output_nr = 0
    t._extra = None
    return t


def _wrap_result(data: Any, backend: backends.ArrayBackend, node: Node, output_nr: int = 0):
    """The output of a recorded op."""
    t = _new(Tensor)
    t._data = data
    t._backend = backend
    t.grad_fn = node
    t._requires_grad = True
    t._grad = None
    t._output_nr = output_nr
    t._extra = None
    return t


def _rebuild_tensor(
    cls: type, host: Any, device: str, requires_grad: bool, state: dict | None
) -> Tensor:
    """The tensor ``Tensor.__reduce_ex__`` pickled (named by every pickle: keep its name)."""
    backend = backends.get(device)
    t = _wrap(backends.cpu.to_backend(backends.cpu.asarray(host), backend), backend)
    if cls is not Tensor:
        rebuilt = _new(cls)
        for slot in ("_data", "_backend", "grad_fn", "_requires_grad", "_grad", "_output_nr"):
            setattr(rebuilt, slot, getattr(t, slot))
        rebuilt._extra = None
        t = rebuilt
    t._requires_grad = requires_grad
    if state:
        t.__dict__.update(state)
    return t


def version_owner(t: Tensor) -> Tensor:
    """The tensor whose version counter ``t`` uses: its view base, or itself."""
    extra = t._extra
    return t if extra is None or extra.base is None else extra.base


def shareable_data(t: Tensor) -> Any:
    """``t``'s array, ready to be shared by a view. A 0-d CPU result is an immutable NumPy
    scalar (the 0-d fast paths keep it: its arithmetic is cheaper than a 0-d array's), which
    nothing can alias; this makes it a 0-d array first, so a write through a view (or a
    detached alias, or ``numpy()``) reaches ``t`` as in PyTorch."""
    data = t._data
    if data.ndim == 0 and backends.cpu.is_host_scalar(data):
        data = t._data = backends.cpu.asarray(data)
    return data


def mark_view(view: Tensor, of: Tensor) -> Tensor:
    """Make ``view`` share ``of``'s memory's version counter; while recording, the base
    also keeps it (weakly), so that an in-place write into the base (through any view)
    gives it a node of the base's new history, as PyTorch regenerates a view's grad_fn."""
    if view is not of:
        base = view._get_extra().base = version_owner(of)
        if _grad_state.enabled:
            extra = base._get_extra()
            if extra.views is None:
                extra.views = weakref.WeakSet()
            extra.views.add(view)
    return view


def grad_enabled() -> bool:
    return _grad_state.enabled
