"""The one place where ``Tensor`` gets its methods.

Every op method and operator is the very function of the functional API, taken from the op
registry (``gpugrad.ops.registry``): ``Tensor.sin is gpugrad.sin``. In-place methods
(``sin_``, ``x += y``, ``x[i] = v``) wrap the same functions (``gpugrad._inplace``), and
``backward`` runs the engine. This module sits above the engine, so no lower layer imports
a higher one to reach them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from . import _engine, _inplace, _inplace_views, _legacy_tensors
from ._tensor import Tensor
from .ops import (
    registry,
    scatter_copy,  # noqa: F401  (s7-topx: declares its ops before attach)
    shifts,  # noqa: F401  (s7-topx: declares its ops before attach)
)

AUGMENTED = {
    "__iadd__": "add_",
    "__isub__": "sub_",
    "__imul__": "mul_",
    "__itruediv__": "div_",
    "__ipow__": "pow_",
}
"""Augmented assignments and the in-place method each one is."""


def backward(
    self: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | Tensor | None = None,
) -> None:
    """Accumulate d(self)/d(leaf) into each leaf's ``.grad``, as PyTorch does."""
    _engine.backward(
        (self,),
        None if gradient is None else (gradient,),
        retain_graph,
        create_graph,
        inputs,
    )


def inplace_methods() -> dict:
    """Every in-place method, by name, made from the registry's out-of-place functions."""
    return {
        name: _inplace.inplace_method(name, function)
        for name, function in registry.inplace_methods().items()
    }


def attach() -> None:
    for name, function in registry.methods().items():
        setattr(Tensor, name, function)
    for name, function in registry.properties().items():
        setattr(Tensor, name, property(function))
    inplace = inplace_methods()
    for name, method in inplace.items():
        setattr(Tensor, name, method)
    for dunder, name in AUGMENTED.items():
        setattr(Tensor, dunder, inplace[name])
    for name, function in _inplace_views.VIEW_METHODS.items():
        setattr(Tensor, name, _inplace_views.inplace_view_method(name, function))
    Tensor.__setitem__ = _inplace.setitem_method
    Tensor.__new__ = staticmethod(_legacy_tensors.tensor_new)  # Tensor(data), Tensor(*sizes)
    Tensor.backward = backward
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; tensors hash by identity


# --- typed declarations ------------------------------------------------------------------
STUB_PATH = "gpugrad/_tensor_api.pyi"
_STUB_HEADER = '''# Generated from the op registry by scripts/gen_stubs.py; do not edit by hand.
"""Typed declarations of the methods ``gpugrad._tensor_methods`` attaches to ``Tensor``
(``Tensor`` derives from ``TensorMethods`` for type checkers only)."""

import builtins
from collections.abc import Sequence
from typing import Any

from ._random import Generator
from ._tensor import Tensor
from .backends.device import Device
from .ops.dispatch import Dim, Number, TensorOrNumber

class TensorMethods:
'''
_BUILTIN_NAMES = re.compile(r"(?<![\w.])(int|float|bool)(?![\w])")


_STUB_NAMES = {
    "Any", "Device", "Dim", "Generator", "None", "Number", "Sequence", "Tensor",
    "TensorOrNumber", "builtins", "dict", "list", "slice", "str", "tuple", "type",
    "int", "float", "bool",
}  # fmt: skip
"""Names the stub file's header imports or Python defines; an annotation naming anything
else (a family's result type such as ``SignLogAbsDet``) is declared ``Any``."""


def _annotation(text: Any) -> str:
    """An annotation as written in the source, with ``int``/``float``/``bool`` spelled
    ``builtins.*`` (inside the class those names are the cast methods)."""
    text = text if isinstance(text, str) else text.__name__
    if any(name not in _STUB_NAMES for name in re.findall(r"[A-Za-z_]\w*", text)):
        return "Any"
    return _BUILTIN_NAMES.sub(r"builtins.\1", text)


def _signature(name: str, function: Any, returns: str | None = None, *, method: bool = True) -> str:
    """The stub of ``function`` as the method ``name`` (``method=False``: as a function)."""
    sig = inspect.signature(function)
    params = []
    star_done = False
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 and method:
            params.append("self")
            continue
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text, star_done = f"*{p.name}", True
        elif p.kind is p.VAR_KEYWORD:
            text = f"**{p.name}"
        elif p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        params.append(text)
    if returns is None:
        ret = sig.return_annotation
        returns = "Any" if ret is sig.empty else _annotation(ret)
    ignore = "  # type: ignore[override]" if name in ("__eq__", "__ne__") else ""
    indent = "    " if method else ""
    return f"{indent}def {name}({', '.join(params)}) -> {returns}: ...{ignore}\n"


def render_stubs() -> str:
    """The text of ``_tensor_api.pyi``: every attached method, from the registry."""
    lines = []
    for name, function in sorted(registry.methods().items()):
        lines.append(_signature(name, function))
    for name, function in sorted(registry.inplace_methods().items()):
        lines.append(_signature(name, function, "Tensor"))
    for name, function in sorted(_inplace_views.VIEW_METHODS.items()):
        lines.append(_signature(name, function, "Tensor"))
    for dunder in sorted(AUGMENTED):
        lines.append(f"    def {dunder}(self, other: Any) -> Tensor: ...\n")
    lines.append("    def __setitem__(self, key: Any, value: Any) -> None: ...\n")
    lines.append(_signature("backward", backward))
    for name in sorted(registry.properties()):
        lines.append(f"    @property\n    def {name}(self) -> Tensor: ...\n")
    return _STUB_HEADER + "".join(lines)


EXPORTS_STUB_PATH = "gpugrad/_exports.pyi"
_EXPORTS_STUB_IMPORTS = (
    ("", ("builtins",)),
    ("collections.abc", ("Sequence",)),
    ("typing", ("Any",)),
    None,
    ("._random", ("Generator",)),
    ("._tensor", ("Tensor",)),
    (".backends.device", ("Device",)),
    (".ops.dispatch", ("Dim", "Number", "TensorOrNumber")),
)
"""What the declarations of the ``out=`` ops may name, each imported when one does."""


def render_export_stubs() -> str:
    """The text of ``_exports.pyi``: each exported op imported from its family module."""
    from ._out import OUT_RULES, accepts_out

    exported = registry.exports()
    # the ops taking ``out=`` (gpugrad/_out.py) are declared with it; the others imported
    with_out = sorted(name for name in exported if name in OUT_RULES)
    declared = "".join(_signature(n, accepts_out(n, exported[n]), method=False) for n in with_out)
    used = set(re.findall(r"[A-Za-z_]\w*", declared))
    lines = [
        "# Generated from the op registry by scripts/gen_stubs.py; do not edit by hand.\n",
        '"""The ops ``gpugrad`` exports, for type checkers (see ``_exports.py``)."""\n\n',
    ]
    for entry in _EXPORTS_STUB_IMPORTS:
        if entry is None:  # between the standard library's imports and gpugrad's
            lines.append("\n")
            continue
        module, names = entry
        names = ", ".join(n for n in names if n in used)
        if names:
            lines.append(f"from {module} import {names}\n" if module else f"import {names}\n")
    imports = sorted(
        (
            (f.__module__.removeprefix("gpugrad"), f.__name__, name)
            for name, f in exported.items()
            if name not in with_out
        ),
        key=lambda entry: [_natural(part) for part in entry],
    )
    for module, original, name in imports:
        lines.append(f"from {module} import {original} as {name}\n")
    lines.append("\n" + declared)
    lines.append("\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in sorted(exported)) + "]\n")
    return "".join(lines)


def _natural(text: str) -> list:
    """A sort key that orders numbers inside names by value, as ruff's isort does
    (``log1p``, ``log2``, ``log10``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def attached_names() -> set[str]:
    """Every Tensor attribute ``attach`` sets (what the stubs must declare)."""
    return {
        *registry.methods(),
        *registry.properties(),
        *registry.inplace_methods(),
        *_inplace_views.VIEW_METHODS,
        *AUGMENTED,
        "__setitem__",
        "backward",
    }
