"""The benchmarked programs, each written once against an ``Ops`` namespace (see
``bench.libs``), so that every autograd library runs the very same sequence of operations."""

from __future__ import annotations

from typing import Any

from .libs import Ops

EPS = 1e-8  # the seed notebook's clamp (note: 1 - 1e-8 rounds to 1.0 in float32)
CHAIN_CYCLES = 20
CHAIN_OPS = 5 * CHAIN_CYCLES  # B: mul, add, sin, clamp, exp per cycle


def sin_sq(x: Any, o: Ops) -> Any:
    """A1: the notebook's ``z = sin(x**2)``."""
    return o.sin(x**2)


def bce_terms(y_pred: Any, y: Any, o: Ops) -> Any:
    """The seed notebook's binary cross-entropy, elementwise."""
    p = o.clamp(y_pred, EPS, 1 - EPS)
    return -(y * o.log(p) + (1 - y) * o.log(1 - p))


def logistic_bce(w: Any, b: Any, x: Any, y: Any, o: Ops) -> Any:
    """A2: the notebook's logistic unit and its BCE loss."""
    z = w * x + b
    y_pred = o.sigmoid(z)
    return bce_terms(y_pred, y, o)


def chain(h: Any, o: Ops) -> Any:
    """B: ``CHAIN_OPS`` elementwise ops (mul by a constant, add, sin, clamp, exp).

    The constants make each cycle a contraction (|d out / d in| ≤ 0.73), so libraries whose
    sin/exp differ in the last bit still agree on the gradient after 100 ops."""
    for _ in range(CHAIN_CYCLES):
        h = h * 0.5
        h = h + 0.25
        h = o.sin(h)
        h = o.exp(o.clamp(h, -1.0, 1.0))
    return h


def composed_bce_mean(z: Any, y: Any, o: Ops) -> Any:
    """C/D: sigmoid then the notebook's BCE, averaged."""
    return o.mean(bce_terms(o.sigmoid(z), y, o))


def logistic_logits(X: Any, params: list[Any], o: Ops) -> Any:
    w, b = params
    return X @ w + b


def mlp_logits(X: Any, params: list[Any], o: Ops) -> Any:
    W1, b1, W2, b2 = params
    return o.tanh(X @ W1 + b1) @ W2 + b2
