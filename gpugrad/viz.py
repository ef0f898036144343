"""``gpugrad.viz``: draw a tensor's autograd graph, as torchviz's ``make_dot`` does for PyTorch.

``make_dot(loss)`` returns a ``graphviz.Digraph`` (the optional extra ``gpugrad[viz]``; the
``dot`` program from the operating system's ``graphviz`` package renders it) that shows
inline in Jupyter and renders with ``.render(format="svg")``. ``text(loss)`` is the same
graph as a plain-text tree that needs nothing installed::

    >>> import gpugrad as gg
    >>> x = gg.tensor(3.0, requires_grad=True)
    >>> print(gg.viz.text(gg.sin(x**2)))
    SinBackward0
    └─ PowBackward0
       └─ AccumulateGrad  () float32

Both read only what a ``grad_fn`` shows publicly, as in PyTorch: ``name()``,
``next_functions``, an ``AccumulateGrad``'s ``variable`` and, for ``show_saved``/
``show_attrs``, the saved values (see ``saved_values``). They therefore draw PyTorch graphs
too, which is how the tests check that gpugrad records the graph PyTorch records.
Traversal is iterative: a graph of any depth is drawn without recursion.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["FUSED_NODE_NAMES", "make_dot", "saved_values", "text"]

FUSED_NODE_NAMES = frozenset(
    {
        "SigmoidBackward0",
        "BinaryCrossEntropyBackward0",
        "BinaryCrossEntropyWithLogitsBackward0",
        "SoftplusBackward0",
        "GeluBackward0",
    }
)
"""The names of gpugrad's nodes whose forward and backward each run one fused kernel
(``backends/kernels/defs.py``); ``make_dot`` colours them and ``text`` tags them."""

_ACCUMULATE_PREFIX = "torch::autograd::"
_SAVED_PREFIX = "_saved_"
_LEAF_COLOUR = "lightblue"
_OUTPUT_COLOUR = "darkolivegreen1"
_SAVED_COLOUR = "orange"
_FUSED_COLOUR = "gold"
_FUSED_TAG = "fused kernel"


def _node_name(fn: Any) -> str:
    """PyTorch's node name, ``AccumulateGrad`` without its C++ namespace."""
    name = fn.name()
    return name[len(_ACCUMULATE_PREFIX) :] if name.startswith(_ACCUMULATE_PREFIX) else name


def _is_fused(fn: Any) -> bool:
    return type(fn).__module__.startswith("gpugrad") and fn.name() in FUSED_NODE_NAMES


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "grad_fn") and hasattr(value, "shape") and hasattr(value, "dtype")


def _describe(t: Any) -> str:
    """``(2, 3) float32``: a tensor's shape and dtype, without the library's prefix."""
    shape = "(" + ", ".join(str(int(n)) for n in t.shape) + ("," if len(t.shape) == 1 else "") + ")"
    return f"{shape} {str(t.dtype).rsplit('.', 1)[-1]}"


def saved_values(fn: Any) -> list[tuple[str, Any]]:
    """What ``fn`` saved for its backward, as ``(name, value)`` pairs (empty once freed).

    Read from the public forms only: PyTorch's ``_saved_<name>`` attributes (what torchviz
    reads), a custom ``Function``'s ``saved_tensors``, and a gpugrad node's ``saved`` and
    ``attrs`` tuples (the inputs and arguments its derivative formula reads, in its order,
    named ``saved[i]`` and ``attrs[i]``).
    """
    values = []
    for attribute in dir(fn):
        if attribute.startswith(_SAVED_PREFIX):
            with contextlib.suppress(RuntimeError):  # freed by a backward
                values.append((attribute[len(_SAVED_PREFIX) :], getattr(fn, attribute)))
    saved = getattr(fn, "saved", None)
    if isinstance(saved, tuple):
        values += [(f"saved[{i}]", v) for i, v in enumerate(saved)]
    attrs = getattr(fn, "attrs", None)
    if isinstance(attrs, tuple):
        values += [(f"attrs[{i}]", v) for i, v in enumerate(attrs)]
    if not values and hasattr(fn, "saved_tensors"):
        try:
            tensors = fn.saved_tensors
        except RuntimeError:  # freed by a backward without retain_graph
            tensors = ()
        values += [(f"saved_tensors[{i}]", t) for i, t in enumerate(tensors)]
    return values


def _roots(var: Any) -> list[Any]:
    roots = list(var) if isinstance(var, (tuple, list)) else [var]
    for t in roots:
        if not _is_tensor(t):
            raise TypeError(f"expected a Tensor or a tuple of Tensors, got {type(t).__name__}")
    return roots


def _param_names(params: dict[str, Any] | None) -> dict[int, str]:
    if params is None:
        return {}
    names = {}
    for name, p in params.items():
        if not _is_tensor(p):
            raise TypeError(f"params[{name!r}] is a {type(p).__name__}, not a Tensor")
        names[id(p)] = name
    return names


def _inputs(fn: Any) -> list[Any]:
    """The nodes ``fn`` sends gradients to, in ``next_functions`` order, without ``None``."""
    return [u for u, _ in getattr(fn, "next_functions", ()) if u is not None]


def _attrs_label(name: str, attrs: dict[str, str], max_attr_chars: int) -> str:
    """torchviz's node label with ``show_attrs``: the name, a rule, then ``key: value`` rows."""
    if not attrs:
        return name
    max_attr_chars = max(max_attr_chars, 3)
    key_width = max(len(k) for k in attrs)
    value_width = min(max(len(v) for v in attrs.values()), max_attr_chars)
    rule = "-" * max(key_width + value_width + 2, len(name))

    def truncate(s: str) -> str:
        return s[: value_width - 3] + "..." if len(s) > value_width else s

    rows = "\n".join(f"{k:<{key_width}}: {truncate(v):>{value_width}}" for k, v in attrs.items())
    return f"{name}\n{rule}\n{rows}"


def make_dot(
    var: Any,
    params: dict[str, Any] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
) -> Any:
    """The autograd graph of ``var`` (a tensor or a tuple of tensors) as a ``graphviz.Digraph``.

    torchviz's ``make_dot``: a box per ``grad_fn`` named as in PyTorch, the leaves (blue)
    with their shape and dtype and, given ``params=dict(model.named_parameters())``, their
    names; the output (green); ``show_saved`` adds the tensors each node saved for backward
    (orange) and ``show_attrs`` the other saved values in the node's label, cut to
    ``max_attr_chars``. Nodes that run one of gpugrad's fused kernels are gold and say
    ``fused kernel``. Needs the ``graphviz`` package (``pip install "gpugrad[viz]"``); to
    render, also Graphviz's ``dot`` program (``apt-get install graphviz``, ``brew install
    graphviz``, ``winget install graphviz``).
    """
    try:
        import graphviz
    except ImportError as error:
        raise ImportError(
            "gpugrad.viz.make_dot needs the graphviz package: pip install 'gpugrad[viz]' "
            "(gpugrad.viz.text draws the same graph as text without it)"
        ) from error
    roots = _roots(var)
    names = _param_names(params)
    node_attr = dict(
        style="filled",
        shape="box",
        align="left",
        fontsize="10",
        ranksep="0.1",
        height="0.2",
        fontname="monospace",
    )
    dot = graphviz.Digraph(node_attr=node_attr, graph_attr=dict(size="12,12"))
    seen: set[int] = set()
    # Every tensor drawn stays referenced until the end, so that no id is reused (PyTorch
    # makes a new Python object each time a saved tensor is read).
    drawn: list[Any] = []

    def tensor_node(t: Any, name: str, colour: str) -> None:
        drawn.append(t)
        dot.node(str(id(t)), f"{name}\n{_describe(t)}", fillcolor=colour)

    def add_node(fn: Any) -> None:
        saved = saved_values(fn) if show_saved or show_attrs else []
        if show_saved:
            for name, value in saved:
                for i, t in enumerate(value if isinstance(value, tuple) else (value,)):
                    if _is_tensor(t):
                        label = f"{name}[{i}]" if isinstance(value, tuple) else name
                        tensor_node(t, label, _SAVED_COLOUR)
                        dot.edge(str(id(fn)), str(id(t)), dir="none")
        variable = getattr(fn, "variable", None)
        if variable is not None:
            tensor_node(variable, names.get(id(variable), ""), _LEAF_COLOUR)
            dot.edge(str(id(variable)), str(id(fn)))
        label = _node_name(fn)
        if show_attrs:
            attrs = {
                name: "[saved tensor]" if _is_tensor(v) else str(v)
                for name, v in saved
                if not (isinstance(v, tuple) and any(_is_tensor(t) for t in v))
            }
            label = _attrs_label(label, attrs, max_attr_chars)
        if _is_fused(fn):
            dot.node(str(id(fn)), f"{label}\n{_FUSED_TAG}", fillcolor=_FUSED_COLOUR)
        else:
            dot.node(str(id(fn)), label)

    for root in roots:
        tensor_node(root, names.get(id(root), ""), _OUTPUT_COLOUR)
        fn = root.grad_fn
        if fn is None:
            continue
        dot.edge(str(id(fn)), str(id(root)))
        # Depth first, each node's inputs in next_functions order, as torchviz's recursion.
        stack = [fn]
        while stack:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            add_node(fn)
            inputs = _inputs(fn)
            for u in inputs:
                dot.edge(str(id(u)), str(id(fn)))
            stack.extend(reversed(inputs))
    return dot


def text(var: Any, params: dict[str, Any] | None = None, max_depth: int = 100) -> str:
    """The autograd graph of ``var`` as a tree of ``grad_fn`` names, for a terminal.

    Each node lists the nodes its gradient flows to (``next_functions``, ``None`` left
    out); leaves read ``AccumulateGrad`` with their shape and dtype, and their name when
    given ``params=dict(model.named_parameters())``. A node reached along several paths
    is written out once, tagged ``[n]``, and referred to as ``[n] (above)`` afterwards;
    ``[fused kernel]`` tags nodes that run one of gpugrad's fused kernels. Below
    ``max_depth`` levels a branch ends in ``…``.
    """
    roots = _roots(var)
    names = _param_names(params)
    indegree: dict[int, int] = {}
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    visited: set[int] = set()
    while stack:
        fn = stack.pop()
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        for u in _inputs(fn):
            indegree[id(u)] = indegree.get(id(u), 0) + 1
            stack.append(u)

    labels: dict[int, int] = {}
    lines: list[str] = []
    for root in roots:
        fn = root.grad_fn
        if fn is None:
            state = "a leaf that requires grad" if root.requires_grad else "no grad_fn"
            lines.append(f"{_describe(root)} ({state})")
            continue
        # (node, prefix of its own line, prefix of its children's lines, depth)
        todo = [(fn, "", "", 0)]
        while todo:
            fn, prefix, child_prefix, depth = todo.pop()
            line = _node_name(fn)
            variable = getattr(fn, "variable", None)
            if variable is not None:
                name = names.get(id(variable))
                line += f"  {name}: {_describe(variable)}" if name else f"  {_describe(variable)}"
            if _is_fused(fn):
                line += f"  [{_FUSED_TAG}]"
            if id(fn) in labels:
                lines.append(f"{prefix}{line} [{labels[id(fn)]}] (above)")
                continue
            if indegree.get(id(fn), 0) > 1:
                labels[id(fn)] = len(labels) + 1
                line += f" [{labels[id(fn)]}]"
            lines.append(prefix + line)
            inputs = _inputs(fn)
            if inputs and depth + 1 > max_depth:
                lines.append(f"{child_prefix}└─ … (deeper than max_depth={max_depth})")
                continue
            for i in reversed(range(len(inputs))):
                last = i == len(inputs) - 1
                todo.append(
                    (
                        inputs[i],
                        child_prefix + ("└─ " if last else "├─ "),
                        child_prefix + ("   " if last else "│  "),
                        depth + 1,
                    )
                )
    return "\n".join(lines)
