"""The seed notebook ("PyTorch AutoGrad Function") replayed with gpugrad, cell by cell.

    python examples/seed_notebook.py [--device cuda] [--viz DIR]

Each cell prints what the PyTorch notebook printed; tests/test_notebook_cells.py holds the
expected strings. ``--viz DIR`` also draws the autograd graphs of ``sin(x**2)`` and of the
logistic loss into DIR as SVG and PNG (``gg.viz.make_dot``: ``pip install "gpugrad[viz]"``
and Graphviz's ``dot`` program), and prints them as text trees (``gg.viz.text``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import gpugrad as gg


def cell(number: str, source: str, value: object = None) -> None:
    print(f"[{number}] {source}")
    if value is not None:
        print(f"      {value}")


def binary_cross_entropy(prediction: gg.Tensor, target: gg.Tensor) -> gg.Tensor:
    epsilon = 1e-8
    prediction = gg.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * gg.log(prediction) + (1 - target) * gg.log(1 - prediction))


def draw(graphs: dict[str, tuple[gg.Tensor, dict[str, gg.Tensor]]], out: Path) -> None:
    """Each graph as ``out/<name>.svg`` and ``.png``, and as a text tree on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    for name, (output, params) in graphs.items():
        print(f"\n== The graph of {name}\n{gg.viz.text(output, params=params)}")
        dot = gg.viz.make_dot(output, params=params)
        for fmt in ("svg", "png"):
            print("wrote", dot.render(out / name, format=fmt, cleanup=True))


def main(device: str, viz: Path | None = None) -> None:
    def t(value: float, **kwargs: object) -> gg.Tensor:
        return gg.tensor(value, device=device, **kwargs)

    print("== Derivative of y = x**2 at x = 3")
    x = t(3.0, requires_grad=True)
    cell("1", "x = gg.tensor(3.0, requires_grad=True)", repr(x))
    y = x**2
    cell("2", "y = x**2", repr(y))
    y.backward()
    cell("3", "y.backward(); x.grad", repr(x.grad))

    print("\n== Chain rule: z = sin(x**2)")
    x = t(3.0, requires_grad=True)
    z = gg.sin(x**2)
    graphs = {"sin_square": (z, {"x": x})}
    cell("6", "z = gg.sin(x**2)", repr(z))
    z.backward()
    cell("7", "z.backward(); x.grad", repr(x.grad))
    cell("8", "2 * x * cos(x**2) by hand", 2 * 3 * math.cos(9))

    print("\n== Logistic regression, gradients by hand (no tracking)")
    x, y, w, b = t(6.7), t(0.0), t(1.0), t(0.0)
    y_pred = gg.sigmoid(w * x + b)
    loss = binary_cross_entropy(y_pred, y)
    cell("16", "loss", repr(loss))
    dloss_dy_pred = (y_pred - y) / (y_pred * (1 - y_pred))
    dy_pred_dz = y_pred * (1 - y_pred)
    cell("17", "dL/dw", f"{dloss_dy_pred * dy_pred_dz * x}")
    cell("18", "dL/db", f"{dloss_dy_pred * dy_pred_dz * 1}")

    print("\n== The same gradients with autograd")
    w, b = t(1.0, requires_grad=True), t(0.0, requires_grad=True)
    z = w * x + b
    cell("21", "z = w * x + b", repr(z))
    y_pred = gg.sigmoid(z)
    cell("22", "y_pred = gg.sigmoid(z)", repr(y_pred))
    loss = binary_cross_entropy(y_pred, y)
    graphs["logistic_bce"] = (loss, {"w": w, "b": b})
    cell("23", "loss = binary_cross_entropy(y_pred, y)", repr(loss))
    loss.backward()
    cell("25", "w.grad", str(w.grad))
    cell("26", "b.grad", str(b.grad))

    print("\n== A vector input and mean")
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = (x**2).mean()
    cell("28", "y = (x**2).mean()", repr(y))
    y.backward()
    cell("30", "x.grad", repr(x.grad))

    print("\n== Clearing gradients, requires_grad_(False), detach and no_grad")
    x = t(2.0, requires_grad=True)
    (x**2).backward()
    cell("33", "x.grad", repr(x.grad))
    cell("34", "x.grad.zero_()", repr(x.grad.zero_()))
    cell("41", "x.requires_grad_(False)", repr(x.requires_grad_(False)))
    x = t(2.0, requires_grad=True)
    cell("47", "x.detach()", repr(x.detach()))
    with gg.no_grad():
        y = x**2
    cell("54", "with gg.no_grad(): y = x**2", repr(y))
    try:
        y.backward()
    except RuntimeError as error:
        cell("55", "y.backward()", f"RuntimeError: {error}")

    if viz is not None:
        draw(graphs, viz)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--viz", type=Path, metavar="DIR", help="draw the autograd graphs into DIR (SVG, PNG)"
    )
    args = parser.parse_args()
    main(args.device, args.viz)
