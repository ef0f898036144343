"""The op registry: where every public op is declared, once.

An ``OpDef`` names what the rest of gpugrad derives from the declaration: the function
exported as ``gpugrad.<name>``, the ``Tensor`` methods that are that very function, the
in-place methods (``sin_``) made from it, and the derivative-table rows (``Op``) it records.
Op-family modules (``elementwise``, ``reduce``, ``shape``, ``index``, ``linalg``,
``transfer``, ``nn``) declare their ops with ``declare`` (a decorator) or a family helper
such as ``elementwise.unary``; ``gpugrad/__init__.py`` exports ``exports()``,
``gpugrad._tensor_methods`` attaches ``methods()``, and ``scripts/gen_stubs.py`` writes the
typed declarations in ``gpugrad/_tensor_api.pyi`` from the same table. A test fails when
any of them disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .._graph import Op


@dataclass(frozen=True)
class OpDef:
    """One public op.

    ``name``: its name in ``gpugrad`` (``export=False``: a Tensor method only, such as
    ``float``); ``methods``: the ``Tensor`` attributes that are this function (operators
    included); ``inplace``: the in-place methods made from it (``"sin_"``); ``rows``: the
    derivative-table rows it records; ``domain``: for the generated gradient checks of
    unary elementwise ops, the interval the inputs are drawn from (``None``: not checked
    automatically); ``family``: the module that declares it.
    """

    name: str
    function: Callable[..., Any]
    methods: tuple[str, ...] = ()
    inplace: tuple[str, ...] = ()
    rows: tuple[Op, ...] = ()
    export: bool = True
    domain: tuple[float, float] | None = None
    family: str = ""
    properties: tuple[str, ...] = field(default=())


REGISTRY: dict[str, OpDef] = {}
"""Every declared op by name (``gpugrad.<name>``, or the method name when not exported)."""


def register(opdef: OpDef) -> Callable[..., Any]:
    """Add ``opdef`` to the registry, refusing a second declaration of a name or method."""
    if opdef.name in REGISTRY:
        raise ValueError(f"op {opdef.name!r} is declared twice")
    taken = {m: d.name for d in REGISTRY.values() for m in (*d.methods, *d.inplace)}
    for m in (*opdef.methods, *opdef.inplace, *opdef.properties):
        if m in taken:
            raise ValueError(f"Tensor.{m} is declared by both {taken[m]!r} and {opdef.name!r}")
    REGISTRY[opdef.name] = opdef
    return opdef.function


def declare(
    name: str | None = None,
    *,
    methods: tuple[str, ...] | None = None,
    inplace: tuple[str, ...] = (),
    rows: tuple[Op, ...] = (),
    export: bool = True,
    domain: tuple[float, float] | None = None,
    properties: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the decorated function as a public op: ``gpugrad.<name>`` and the Tensor
    methods ``methods`` (by default ``(name,)``; ``()`` for a function only)."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        op_name = name or function.__name__
        register(
            OpDef(
                name=op_name,
                function=function,
                methods=(op_name,) if methods is None else methods,
                inplace=inplace,
                rows=rows,
                export=export,
                domain=domain,
                family=function.__module__.rpartition(".")[2],
                properties=properties,
            )
        )
        return function

    return decorate


def alias(
    name: str, of: str, *, methods: tuple[str, ...] | None = None, export: bool = True
) -> None:
    """``gpugrad.<name>`` is the op ``of`` under another name (``clip`` for ``clamp``)."""
    target = REGISTRY[of]
    register(
        OpDef(
            name=name,
            function=target.function,
            methods=(name,) if methods is None else methods,
            export=export,
            family=target.family,
        )
    )


# --- s7-topx ---
def add_inplace(of: str, *names: str) -> None:
    """Give the declared op ``of`` the further in-place methods ``names`` (``erf_`` for
    ``erf``), made from it as its own in-place forms are."""
    target = REGISTRY[of]
    taken = {m for d in REGISTRY.values() for m in (*d.methods, *d.inplace, *d.properties)}
    clash = [n for n in names if n in taken]
    if clash:
        raise ValueError(f"Tensor.{clash[0]} is already declared")
    REGISTRY[of] = replace(target, inplace=(*target.inplace, *names))


# --- end s7-topx ---


def exports() -> dict[str, Callable[..., Any]]:
    """The public functions, by their ``gpugrad`` name."""
    return {d.name: d.function for d in REGISTRY.values() if d.export}


def methods() -> dict[str, Callable[..., Any]]:
    """The Tensor methods and operators, by attribute name."""
    return {m: d.function for d in REGISTRY.values() for m in d.methods}


def properties() -> dict[str, Callable[..., Any]]:
    return {p: d.function for d in REGISTRY.values() for p in d.properties}


def inplace_methods() -> dict[str, Callable[..., Any]]:
    """In-place method name -> the out-of-place function it stores back (``sin_``: sin)."""
    return {m: d.function for d in REGISTRY.values() for m in d.inplace}


def rows() -> list[Op]:
    """Every derivative-table row a declared op records."""
    seen: dict[int, Op] = {}
    for d in REGISTRY.values():
        for row in d.rows:
            seen.setdefault(id(row), row)
    return list(seen.values())
