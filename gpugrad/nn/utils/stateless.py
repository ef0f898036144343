"""``functional_call``: run a module with some of its parameters and buffers replaced by
given tensors, and put the originals back afterwards (``torch.nn.utils.stateless``; the
core, ``reparametrize_module``, is shared with ``gg.func.functional_call``)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from ..._tensor import Tensor
from ..modules.module import Module

__all__ = ["functional_call"]


def _untie_named_tensors_map(
    module: Module, parameters_and_buffers: dict[str, Tensor]
) -> dict[str, Tensor]:
    """``parameters_and_buffers`` with each given tensor also under the names of the
    tensors tied to it (one parameter reachable by several names)."""
    named: dict[str, Tensor] = {}
    named.update(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    names_of: dict[int, set[str]] = {}
    for name, tensor in named.items():
        names_of.setdefault(id(tensor), set()).add(name)
    tied: dict[str, set[str]] = {}
    for names in names_of.values():
        if len(names) > 1:
            for name in names:
                tied[name] = names
    given = set(parameters_and_buffers)
    given_tied = {name for name in given if name in tied}
    for name in given_tied:
        names = tied[name]
        if (
            len(names & given_tied) > 1
            and len({id(parameters_and_buffers[n]) for n in names & given_tied}) != 1
        ):
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(names)}, which are "
                "tied. Consider using tie_weights=False"
            )
    untied = dict(parameters_and_buffers)
    for name in given_tied:
        for other in tied[name]:
            untied[other] = parameters_and_buffers[name]
    return untied


def _owner(module: Module, name: str) -> tuple[Module, str]:
    *path, leaf = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _swap(module: Module, name: str, value: Any) -> Any:
    """Put ``value`` at dotted ``name`` (a parameter, buffer or plain attribute slot)
    and return what was there (``_MISSING`` when nothing was)."""
    owner, leaf = _owner(module, name)
    for registry in (owner._parameters, owner._buffers):
        if leaf in registry:
            old = registry[leaf]
            if value is _MISSING:
                del registry[leaf]
            else:
                registry[leaf] = value
            return old
    old = owner.__dict__.get(leaf, _MISSING)
    if value is _MISSING:
        owner.__dict__.pop(leaf, None)
    else:
        owner.__dict__[leaf] = value
    return old


_MISSING = object()


def _check_keys(module: Module, keys: dict[str, Tensor]) -> None:
    expected = {n for n, _ in module.named_parameters(remove_duplicate=False)}
    expected |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
    unexpected = [k for k in keys if k not in expected]
    missing = sorted(k for k in expected if k not in keys)
    messages = []
    if unexpected:
        messages.append(f"Unexpected key(s): {', '.join(map(repr, sorted(unexpected)))}.")
    if missing:
        messages.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if messages:
        raise RuntimeError(
            f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(messages)
        )


@contextlib.contextmanager
def reparametrize_module(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    tie_weights: bool = False,
    strict: bool = False,
) -> Iterator[None]:
    """Within this block ``module``'s tensors named in ``parameters_and_buffers`` are the
    given tensors (tied names follow with ``tie_weights``; ``strict`` requires every
    parameter and buffer and no other name)."""
    untied = (
        _untie_named_tensors_map(module, parameters_and_buffers)
        if tie_weights
        else parameters_and_buffers
    )
    if strict:
        _check_keys(module, untied)
    originals: dict[str, Any] = {}
    try:
        for name, value in untied.items():
            originals[name] = _swap(module, name, value)
        yield
    finally:
        for name, value in reversed(list(originals.items())):
            _swap(module, name, value)


def functional_call(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the tensors of ``parameters_and_buffers`` in place
    of the module's own (deprecated in PyTorch in favor of ``torch.func.functional_call``;
    a ``FutureWarning``, as there)."""
    warnings.warn(
        "`gpugrad.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and "
        "will be removed in a future version of PyTorch. Please use "
        "`gpugrad.func.functional_call` instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return call_with(
        module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict
    )


def call_with(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``functional_call`` without the deprecation warning (``gg.func`` builds on it)."""
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with reparametrize_module(module, parameters_and_buffers, tie_weights, strict):
        return module(*args, **kwargs)
