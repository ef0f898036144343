"""gg.viz: the drawn graph is PyTorch's graph, node for node and edge for edge."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpugrad as gg

SIN_TEXT = """\
SinBackward0
└─ PowBackward0
   └─ AccumulateGrad  x: () float32"""

BCE_TEXT = """\
NegBackward0
└─ AddBackward0
   ├─ MulBackward0
   │  └─ LogBackward0
   │     └─ ClampBackward1 [1]
   │        └─ SigmoidBackward0  [fused kernel]
   │           └─ AddBackward0
   │              ├─ MulBackward0
   │              │  └─ AccumulateGrad  w: () float32
   │              └─ AccumulateGrad  b: () float32
   └─ MulBackward0
      └─ LogBackward0
         └─ RsubBackward1
            └─ ClampBackward1 [1] (above)"""


def sin_square(lib, device="cpu"):
    """The notebook's ``z = sin(x**2)`` in gpugrad or PyTorch: (output, named leaves)."""
    x = lib.tensor(3.0, requires_grad=True, device=device)
    return lib.sin(x**2), {"x": x}


def logistic_bce(lib, device="cpu"):
    """The notebook's logistic regression loss (cells 19-23), verbatim apart from ``lib``."""
    x, y = lib.tensor(6.7, device=device), lib.tensor(0.0, device=device)
    w = lib.tensor(1.0, requires_grad=True, device=device)
    b = lib.tensor(0.0, requires_grad=True, device=device)
    prediction = lib.clamp(lib.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    loss = -(y * lib.log(prediction) + (1 - y) * lib.log(1 - prediction))
    return loss, {"w": w, "b": b}


GRAPHS = [sin_square, logistic_bce]


def structure(output, names, with_none=False):
    """Every node reachable from ``output.grad_fn``, numbered in first-visit order, with
    its name and its gradient edges as (node number, output_nr) pairs (``next_functions``,
    where ``with_none`` keeps its ``(None, 0)`` entries); leaves carry their parameter
    name, shape and dtype."""
    numbers, rows, stack = {}, [], [output.grad_fn]
    by_id = {id(t): name for name, t in names.items()}
    while stack:
        fn = stack.pop()
        if id(fn) in numbers:
            continue
        numbers[id(fn)] = len(numbers)
        rows.append(fn)
        stack.extend(u for u, _ in reversed(fn.next_functions) if u is not None)
    described = []
    for fn in rows:
        edges = tuple(
            (None if u is None else numbers[id(u)], nr)
            for u, nr in fn.next_functions
            if u is not None or with_none
        )
        leaf = None
        if hasattr(fn, "variable"):
            v = fn.variable
            leaf = (by_id.get(id(v)), tuple(v.shape), str(v.dtype).rsplit(".", 1)[-1])
        described.append((fn.name(), edges, leaf))
    return described


def canonical_dot(source: str) -> str:
    """A DOT source with node ids renumbered by first appearance and the fused tag removed,
    so that gpugrad's and PyTorch's drawings of the same graph compare equal."""
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        return numbers.setdefault(match.group(0), f"n{len(numbers)}")

    source = re.sub(r'label="(\w+)\nfused kernel" fillcolor=gold', r"label=\1", source)
    return re.sub(r"\b\d{6,}\b", renumber, source)


@pytest.mark.parametrize("build", GRAPHS)
def test_nodes_and_edges_are_pytorchs(device, build):
    torch = pytest.importorskip("torch")
    ours = structure(*build(gg, device))
    theirs = structure(*build(torch))
    assert ours == theirs
    assert len(ours) == (3 if build is sin_square else 13)


@pytest.mark.parametrize("build", GRAPHS)
def test_next_functions_match_pytorchs_including_none(build):
    torch = pytest.importorskip("torch")
    ours = structure(*build(gg), with_none=True)
    assert ours == structure(*build(torch), with_none=True)


@pytest.mark.parametrize("build", GRAPHS)
def test_make_dot_draws_pytorchs_graph(device, build):
    pytest.importorskip("graphviz")
    torch = pytest.importorskip("torch")
    output, names = build(gg, device)
    dot = gg.viz.make_dot(output, params=names)
    t_output, t_names = build(torch)
    t_dot = gg.viz.make_dot(t_output, params=t_names)
    assert canonical_dot(dot.source) == canonical_dot(t_dot.source)
    # one box per grad_fn plus the output and one per leaf; one arrow per gradient edge
    nodes = len(structure(output, names))
    leaves = len(names)
    assert dot.source.count("[label=") == nodes + 1 + leaves
    edges = sum(len(fn[1]) for fn in structure(output, names))
    assert len(re.findall(r"\d -> \d", dot.source)) == edges + 1 + leaves


def test_make_dot_labels_leaves_and_marks_fused_nodes(device):
    pytest.importorskip("graphviz")
    loss, names = logistic_bce(gg, device)
    source = gg.viz.make_dot(loss, params=names).source
    assert 'label="w\n() float32" fillcolor=lightblue' in source
    assert 'label="b\n() float32" fillcolor=lightblue' in source
    assert 'label="SigmoidBackward0\nfused kernel" fillcolor=gold' in source
    assert source.count("fillcolor=gold") == 1


def test_make_dot_marks_every_fused_node_name(device):
    """FUSED_NODE_NAMES names exactly the nodes the fused functions record."""
    pytest.importorskip("graphviz")
    F = gg.nn.functional
    x = gg.rand(4, device=device, requires_grad=True)
    t = gg.rand(4, device=device)
    outputs = [
        gg.sigmoid(x),
        F.binary_cross_entropy(x.detach().clamp(0.1, 0.9).requires_grad_(), t),
        F.binary_cross_entropy_with_logits(x, t),
        F.softplus(x),
        F.gelu(x),
    ]
    assert {o.grad_fn.name() for o in outputs} == gg.viz.FUSED_NODE_NAMES
    for o in outputs:
        assert "fillcolor=gold" in gg.viz.make_dot(o).source
    assert "fillcolor=gold" not in gg.viz.make_dot(gg.exp(x)).source


def test_show_saved_and_attrs(device):
    pytest.importorskip("graphviz")
    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x**3
    source = gg.viz.make_dot(y, show_saved=True, show_attrs=True).source
    # pow saved its input (drawn as a tensor) and its exponent (written in the label)
    assert 'label="saved[0]\n(2,) float32" fillcolor=orange' in source
    assert re.search(r"saved\[1\]: +3\b", source)
    assert re.search(r"saved\[0\]: \[saved tensor\]", source)
    y.sum().backward()  # frees what the node saved
    source = gg.viz.make_dot(y, show_saved=True).source
    assert "fillcolor=orange" not in source


def test_show_saved_of_a_custom_function_and_of_a_freed_pytorch_graph(device):
    pytest.importorskip("graphviz")

    class Cube(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * g

    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    source = gg.viz.make_dot(Cube.apply(x), show_saved=True).source
    assert 'label="saved_tensors[0]\n(2,) float32" fillcolor=orange' in source
    assert "label=CubeBackward" in source
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.sin(t)
    assert "fillcolor=orange" in gg.viz.make_dot(y, show_saved=True).source
    y.sum().backward()  # PyTorch raises when a freed saved tensor is read; the drawing does not
    assert "fillcolor=orange" not in gg.viz.make_dot(y, show_saved=True).source


def test_max_attr_chars_truncates(device):
    pytest.importorskip("graphviz")
    x = gg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = gg.clamp(x, 0.123456789012345, 1.0)
    label = gg.viz.make_dot(y, show_attrs=True, max_attr_chars=8).source
    assert "0.123..." in label and "0.123456789" not in label


@pytest.mark.parametrize("build,expected", [(sin_square, SIN_TEXT), (logistic_bce, BCE_TEXT)])
def test_text_tree(device, build, expected):
    output, names = build(gg, device)
    assert gg.viz.text(output, params=names) == expected


@pytest.mark.parametrize("build", GRAPHS)
def test_text_tree_of_pytorchs_graph_is_the_same(build):
    torch = pytest.importorskip("torch")
    ours = gg.viz.text(*build(gg)).replace("  [fused kernel]", "")
    assert gg.viz.text(*build(torch)) == ours


def test_text_without_names_and_without_graph(device):
    x = gg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    assert gg.viz.text((x * 2).sum()) == (
        "SumBackward0\n└─ MulBackward0\n   └─ AccumulateGrad  (3,) float32"
    )
    assert gg.viz.text(x) == "(3,) float32 (a leaf that requires grad)"
    assert gg.viz.text(x.detach()) == "(3,) float32 (no grad_fn)"


def test_text_of_a_deep_chain_stops_at_max_depth(device):
    y = x = gg.tensor(1.0, device=device, requires_grad=True)
    for _ in range(10_000):  # no recursion: a deep graph is walked with a stack
        y = y * 1.0
    lines = gg.viz.text(y, max_depth=5).splitlines()
    assert len(lines) == 7
    assert lines[-1].endswith("└─ … (deeper than max_depth=5)")
    assert (
        gg.viz.text(y, max_depth=20_000).splitlines()[-1].lstrip().startswith("└─ AccumulateGrad")
    )
    del x


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a Tensor"):
        gg.viz.text(3.0)
    x = gg.tensor(1.0, requires_grad=True)
    with pytest.raises(TypeError, match=r"params\['w'\] is a float"):
        gg.viz.text(x * 2, params={"w": 1.0})


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program not installed")
def test_renders_svg_and_shows_inline(tmp_path):
    pytest.importorskip("graphviz")
    loss, names = logistic_bce(gg)
    dot = gg.viz.make_dot(loss, params=names)
    svg = dot.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "SigmoidBackward0" in svg and "fused kernel" in svg
    path = dot.render(tmp_path / "bce", format="png", cleanup=True)
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/svg+xml" in dot._repr_mimebundle_()  # Jupyter's inline display


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program not installed")
def test_seed_notebook_draws_its_graphs(tmp_path):
    pytest.importorskip("graphviz")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "examples" / "seed_notebook.py"), "--viz", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr
    assert BCE_TEXT in result.stdout and SIN_TEXT in result.stdout
    for name in ("sin_square", "logistic_bce"):
        assert "</svg>" in (tmp_path / f"{name}.svg").read_text()
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
