"""``gpugrad.nn.Module``: the base class of layers and models, as in PyTorch.

Assigning a Parameter, a Module or (through ``register_buffer``) a tensor to an attribute
registers it; ``parameters()``, ``state_dict()``, ``to()`` and friends walk the
registrations. Values are replaced in place (``Parameter`` objects keep their identity), so
optimizers built before ``load_state_dict`` or ``to(device)`` keep working.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from ..._grad_mode import no_grad
from ..._tensor import RemovableHandle, Tensor
from ...backends import dtypes as _dtypes
from ...ops.transfer import parse_to as _parse_to_args
from ..parameter import (
    Buffer,
    Parameter,
    UninitializedTensorMixin,  # s7-nnpool: lazy layers
    copy_leaf,
    move_,
    zero_grads,
)

__all__ = ["Module"]


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
            f"unexpected_keys={self.unexpected_keys!r})"
        )

    __str__ = __repr__


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * spaces + line for line in lines)


def non_default_repr(module: Any, defaults: dict[str, Any]) -> str:
    """``", name=value"`` for each attribute of ``module`` that differs from its default in
    ``defaults`` (in that order), as PyTorch's ``extra_repr`` lists the optional arguments.
    ``None``, ``True`` and ``False`` defaults are compared by identity, others by value."""
    text = ""
    for name, default in defaults.items():
        value = getattr(module, name)
        by_identity = default is None or isinstance(default, bool)
        if value is not default if by_identity else value != default:
            text += f", {name}={value}"
    return text


def _typename(value: Any) -> str:
    if isinstance(value, Tensor):
        return "gpugrad.Tensor"
    return type(value).__module__ + "." + type(value).__qualname__


_compile: Callable[..., Any] | None = None
"""``gg.compile``, set by ``gpugrad.compile`` when it is imported: that package sits above
``nn`` (it reads modules and optimizers), so ``Module.compile`` cannot import it."""


class Module:
    """Base class for all neural network modules; subclasses define ``forward``."""

    training: bool
    _parameters: dict[str, Tensor | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_hooks_with_kwargs", set())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    _compiled_call_impl: Callable[..., Any] | None = None
    """What ``__call__`` runs instead of ``_call_impl`` after ``compile()``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        compiled = self._compiled_call_impl
        if compiled is not None:
            return compiled(*args, **kwargs)
        state = self.__dict__  # without hooks, straight to forward (one call fewer)
        if not (
            state.get("_forward_pre_hooks")
            or state.get("_forward_hooks")
            or state.get("_backward_hooks")
            or state.get("_backward_pre_hooks")
        ):
            return self.forward(*args, **kwargs)
        return self._call_impl(*args, **kwargs)

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """Compile this module's ``__call__`` in place with ``gg.compile`` (the arguments
        are passed on as they are), as ``torch.nn.Module.compile``: calling the module then
        runs the compiled call (with forward hooks, eagerly: ``gg.compile`` warns once); its
        type, parameters and
        ``state_dict`` keys are unchanged, where ``gg.compile(module)`` returns a wrapper
        whose keys start with ``_orig_mod.``. Copies and pickles are not compiled."""
        if _compile is None:  # pragma: no cover - gpugrad's import sets it
            raise RuntimeError("Module.compile: gpugrad.compile is not imported")
        object.__setattr__(self, "_compiled_call_impl", _compile(self._call_impl, *args, **kwargs))

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        pre_hooks = self.__dict__.get("_forward_pre_hooks")
        hooks = self.__dict__.get("_forward_hooks")
        if self.__dict__.get("_backward_hooks") or self.__dict__.get("_backward_pre_hooks"):
            return _call_with_backward_hooks(self, args, kwargs)
        if not pre_hooks and not hooks:
            return self.forward(*args, **kwargs)
        return self._call_with_forward_hooks(args, kwargs)

    def _call_with_forward_hooks(self, args: tuple, kwargs: dict) -> Any:
        pre_hooks = self._forward_pre_hooks
        hooks = self._forward_hooks
        with_kwargs = self._hooks_with_kwargs
        for hook_id, hook in list(pre_hooks.items()):
            if hook_id in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(hooks.items()):
            if hook_id in with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # --- hooks --------------------------------------------------------------------------
    def _add_hook(
        self, registry: OrderedDict, hook: Callable, prepend: bool, with_kwargs: bool
    ) -> RemovableHandle:
        handle = RemovableHandle(registry)
        registry[handle.id] = hook
        if prepend:
            registry.move_to_end(handle.id, last=False)
        if with_kwargs:
            self._hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward`` (``hook(module, args,
        kwargs)`` with ``with_kwargs``); a non-``None`` result replaces the arguments.
        Returns a handle whose ``remove()`` unregisters the hook."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward`` (``hook(module, args,
        kwargs, output)`` with ``with_kwargs``); a non-``None`` result replaces the output.
        Returns a handle whose ``remove()`` unregisters the hook."""
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the
        module's outputs are computed; a non-``None`` result replaces ``grad_output``.
        Returns a handle whose ``remove()`` unregisters the hook."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend, False)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's tensor inputs are computed (``None`` for inputs that need none); a
        non-``None`` result replaces ``grad_input``. Returns a handle whose ``remove()``
        unregisters the hook."""
        return self._add_hook(self._backward_hooks, hook, prepend, False)

    # --- registration -------------------------------------------------------------------
    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")

    @staticmethod
    def _check_name(name: Any, kind: str, owner: Module, registry: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(owner, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        self._check_init("parameters")
        self._check_name(name, "parameter", self, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(gpugrad.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                "be created explicitly. To express '"
                f"{name}' as a function of another Tensor, compute the value in the forward() "
                "method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        self._check_init("buffers")
        self._check_name(name, "buffer", self, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(gpugrad Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_init("module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name(name, "module", self, self._modules)
        self._modules[name] = module

    register_module = add_module

    def _unregister(self, name: str) -> None:
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self._modules.pop(name, None)

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Buffer):
            self._check_init("buffers")
            self._unregister(name)
            self.register_buffer(name, value, persistent=value.persistent)
        elif isinstance(value, Parameter):
            self._check_init("parameters")
            self._unregister(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(gpugrad.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._check_init("module")
            self._unregister(name)
            self._modules[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(gpugrad.nn.Module or None expected)"
                )
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(gpugrad Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = d.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = set(super().__dir__())
        keys.update(self._parameters, self._buffers, self._modules)
        return sorted(keys)

    # --- traversal ----------------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        module = self
        if target == "":
            return module
        for item in target.split("."):
            child = module._modules.get(item)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = child
        return module

    def _get_member(self, target: str, registry: str, kind: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in getattr(module, registry):
            raise AttributeError(f"`{name}` is not {kind}")
        return getattr(module, name)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter named by the dotted path ``target`` (``"0.weight"``)."""
        return self._get_member(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer named by the dotted path ``target`` (``"bn.running_mean"``)."""
        return self._get_member(target, "_buffers", "a buffer")

    def apply(self, fn: Callable[[Module], None]) -> Module:
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- modes and gradients --------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros."""
        zero_grads(self.parameters(), set_to_none)

    # --- devices and dtypes -------------------------------------------------------------
    def _convert(self, device: Any, dtype: Any) -> Module:
        if dtype is not None and not getattr(dtype, "is_floating_point", True):
            raise TypeError(
                f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}"
            )
        with no_grad():
            for module in self.modules():
                tensors = [t for t in module._parameters.values() if t is not None]
                tensors += [t for t in module._buffers.values() if t is not None]
                for t in tensors:
                    target_dtype = dtype if t.is_floating_point() else None
                    move_(t, t.detach().to(device=device, dtype=target_dtype))
                    if t.grad is not None:
                        grad = t.grad
                        move_(grad, grad.detach().to(device=device, dtype=target_dtype))
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move and/or cast parameters and buffers in place: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Only floating point values change dtype."""
        device, dtype = _parse_to_args(args, dict(kwargs))
        if dtype is not None:
            dtype = _dtypes.as_dtype(dtype)
        return self._convert(device, dtype)

    def cpu(self) -> Module:
        return self._convert("cpu", None)

    def cuda(self, device: int | str | None = None) -> Module:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self._convert(device, None)

    def float(self) -> Module:
        return self._convert(None, _dtypes.float32)

    def double(self) -> Module:
        return self._convert(None, _dtypes.float64)

    def half(self) -> Module:
        return self._convert(None, _dtypes.float16)

    # --- state dict ---------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()

    def state_dict(
        self, *, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (``"0.weight"``), in an
        ``OrderedDict``, detached unless ``keep_vars``."""
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers, in
        place (each is cast to the dtype and moved to the device of the tensor it fills).

        With ``strict`` (default), missing or unexpected keys raise ``RuntimeError``; a
        shape mismatch always does. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            )
        missing: list[str] = []
        errors: list[str] = []
        expected: set[str] = set()
        updates: list[tuple[Tensor, Tensor]] = []
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            prefix = module_prefix + "." if module_prefix else ""
            local = {k: v for k, v in module._parameters.items() if v is not None}
            local.update(
                (k, v)
                for k, v in module._buffers.items()
                if v is not None and k not in module._non_persistent_buffers
            )
            for name, target in local.items():
                key = prefix + name
                expected.add(key)
                if key not in state_dict:
                    missing.append(key)
                    continue
                source = state_dict[key]
                if not isinstance(source, Tensor):
                    errors.append(
                        f'While copying the parameter named "{key}", expected gpugrad Tensor '
                        f"or Tensor-like object from checkpoint but received "
                        f"{type(source).__name__}"
                    )
                    continue
                if isinstance(target, UninitializedTensorMixin):  # s7-nnpool: a lazy layer's
                    target.materialize(tuple(source.shape))  # placeholder takes the shape
                if tuple(source.shape) != tuple(target.shape):
                    errors.append(
                        f"size mismatch for {key}: copying a param with shape {source.shape} "
                        f"from checkpoint, the shape in current model is {target.shape}."
                    )
                    continue
                updates.append((target, source))
        unexpected = [k for k in state_dict if k not in expected]
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ". ",
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ",
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for target, source in updates:
                # An in-place write into the target's own array: it bumps the version counter,
                # so a graph that saved the old values refuses to backpropagate through them.
                target[...] = source.detach().to(device=target.device, dtype=target.dtype)
        return _IncompatibleKeys(missing, unexpected)

    # --- copying ------------------------------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> Module:
        """An independent copy: parameters stay Parameters (with copied values and
        gradients), shared tensors and submodules stay shared within the copy."""
        for module in self.modules():
            tensors = [*module._parameters.values(), *module._buffers.values()]
            tensors += [v for v in module.__dict__.values() if isinstance(v, Tensor)]
            for t in tensors:
                if t is not None and id(t) not in memo:
                    memo[id(t)] = copy_leaf(t)
        new = object.__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__getstate__().items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    # --- printing -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_compiled_call_impl", None)  # as PyTorch: a compiled call is not copied
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name, default in (
            ("_forward_pre_hooks", OrderedDict),
            ("_forward_hooks", OrderedDict),
            ("_hooks_with_kwargs", set),
            ("_backward_pre_hooks", OrderedDict),
            ("_backward_hooks", OrderedDict),
        ):
            self.__dict__.setdefault(name, default())

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _addindent(repr(module), 2) for name, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


_OUTPUTS_ONLY_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module outputs "
    "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
    "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details."
)


class _BackwardHookState:
    """One call's backward hooks: the gradients of the outputs, once computed, wait here for
    the gradients of the inputs."""

    def __init__(self, module: Module, n_inputs: int) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.grad_outputs: tuple | None = None

    def outputs_done(self, grad_outputs: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_outputs)
            if result is not None:
                grad_outputs = result if isinstance(result, tuple) else (result,)
        self.grad_outputs = grad_outputs
        return grad_outputs

    def inputs_done(self, grad_inputs: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is not None:
                grad_inputs = result if isinstance(result, tuple) else (result,)
        return grad_inputs


def _identity_function(name: str, on_backward: Callable[[tuple], tuple]) -> Any:
    """A custom autograd ``Function`` that passes its tensors through and hands their
    gradients to ``on_backward`` (whose result becomes the gradients) in backward."""
    from ...autograd.function import Function

    def forward(ctx: Any, *tensors: Tensor) -> Any:
        return tensors[0] if len(tensors) == 1 else tensors

    def backward(ctx: Any, *grads: Any) -> Any:
        result = on_backward(grads)
        return result[0] if len(result) == 1 else result

    return type(
        name, (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    )


def _call_with_backward_hooks(module: Module, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` with its full backward (pre-)hooks: the tensor arguments
    and the tensor outputs pass through identity functions whose backward calls the hooks,
    as PyTorch's ``BackwardHook`` does."""
    import warnings

    from ..._grad_mode import is_grad_enabled

    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    state = _BackwardHookState(module, len(positions))
    needing = [i for i in positions if args[i].requires_grad]
    if is_grad_enabled() and needing:

        def inputs_done(grads: tuple) -> tuple:
            by_position = dict(zip(needing, grads))
            full = tuple(by_position.get(i) for i in positions)
            full = state.inputs_done(full)
            return tuple(full[positions.index(i)] for i in needing)

        wrapped = _identity_function("BackwardHookFunction", inputs_done).apply(
            *(args[i] for i in needing)
        )
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        args = list(args)
        for i, t in zip(needing, wrapped):
            args[i] = t
        args = tuple(args)
    output = module._call_with_forward_hooks(args, kwargs)
    if not is_grad_enabled():
        return output
    single = isinstance(output, Tensor)
    outputs = (output,) if single else output
    if not isinstance(outputs, tuple):
        return output
    tracked = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
    if not tracked:
        return output

    def outputs_done(grads: tuple) -> tuple:
        grads = state.outputs_done(grads)
        if not needing:
            warnings.warn(_OUTPUTS_ONLY_WARNING, UserWarning, stacklevel=2)
            state.inputs_done((None,) * state.n_inputs)
        return grads

    wrapped = _identity_function("BackwardHookFunction", outputs_done).apply(
        *(outputs[i] for i in tracked)
    )
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    outputs = list(outputs)
    for i, t in zip(tracked, wrapped):
        outputs[i] = t
    return outputs[0] if single else tuple(outputs)
