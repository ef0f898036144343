"""gpugrad's layers: backends -> tensor -> graph -> ops -> engine -> nn / optim / distributed.

Read every ``import`` in gpugrad's sources (imports inside functions too; those under
``if TYPE_CHECKING:`` aside) and fail on an import cycle or on a core module importing a
layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gpugrad"

LAYERS = [
    ("gpugrad.backends",),
    (
        "gpugrad._grad_mode",
        "gpugrad._tensor",
        "gpugrad._storage",
        "gpugrad._random",
        "gpugrad._factories",
        "gpugrad._default_device",
        "gpugrad._engine_native",
    ),
    ("gpugrad._graph", "gpugrad._anomaly"),
    ("gpugrad.ops",),
    (
        "gpugrad._inplace",
        "gpugrad._inplace_views",
        "gpugrad._legacy_tensors",
        "gpugrad._engine",
        "gpugrad._tensor_methods",
        "gpugrad.autograd",
        "gpugrad._out",
        "gpugrad._toplevel",
    ),
]
"""The core, bottom to top; a module may import its own layer and those below."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The gpugrad modules ``path`` imports (``from . import x`` counts as module ``x``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "gpugrad.backends" or target.startswith("gpugrad.backends."):
                found.add("gpugrad.backends")  # its own package (tests/test_backends.py)
                return
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub == "gpugrad.backends" or sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}  # backends/: a symlink
    modules = set(paths)
    graph = {name: _imports(path, modules) for name, path in paths.items()}
    graph["gpugrad.backends"] = set()
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _parent_package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing ``a.b.c`` runs ``a/b/__init__.py``: count the packages between too
    (not ``gpugrad`` itself, whose ``__init__`` is the top that imports everything)."""
    out = {}
    for name, targets in graph.items():
        extended = set(targets)
        for t in targets:
            parts = t.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in graph and not name.startswith(parent + ".") and parent != name:
                    extended.add(parent)
        out[name] = extended
    return out


def _layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def test_no_import_cycle():
    assert _cycles(_parent_package_edges(_graph())) == []


def test_core_modules_import_only_their_layer_and_below():
    upward = []
    for module, targets in _graph().items():
        own = _layer(module)
        if own is None:
            continue
        for t in targets:
            other = _layer(t)
            if other is None or other > own:
                upward.append(f"{module} -> {t}")
    assert upward == []


def test_the_reader_sees_imports_inside_functions():
    graph = _graph()
    assert "gpugrad.ops.transfer" in graph["gpugrad._engine"]  # imported inside _accumulate
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
