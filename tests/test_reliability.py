"""Depth, release and memory: backward never recurses, graphs are freed, training loops
keep memory flat."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import gpugrad as gg


def test_a_million_op_chain_backpropagates_and_is_released():
    x = gg.tensor(0.5, requires_grad=True)
    y = x
    y = y * 1.0
    first_node = weakref.ref(y.grad_fn)
    for _ in range(999_999):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y
    gc.collect()
    assert first_node() is None


def _logistic_steps(steps: int, device: str, state: dict) -> float:
    features, labels = state["x"], state["y"]
    w, b = state["w"], state["b"]
    loss = None
    for _ in range(steps):
        p = gg.sigmoid(features @ w + b)
        loss = -(labels * gg.log(p) + (1 - labels) * gg.log(1 - p)).mean()
        loss.backward()
        with gg.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = None
        b.grad = None
    return loss.item()


def _problem(device: str) -> dict:
    gg.manual_seed(0)
    x = gg.randn(64, 5, device=device)
    y = (x.sum(1) + 2 * gg.randn(64, device=device) > 0).float()  # noisy: a finite optimum
    return {
        "x": x,
        "y": y,
        "w": gg.zeros(5, requires_grad=True, device=device),
        "b": gg.zeros((), requires_grad=True, device=device),
    }


def test_ten_thousand_training_steps_keep_memory_flat(device):
    state = _problem(device)
    first = _logistic_steps(200, device, state)  # warm-up: caches, pools, interned objects
    gc.collect()
    if device == "cuda":
        before = gg.cuda.memory_allocated()
        last = _logistic_steps(10_000, device, state)
        gc.collect()
        growth = gg.cuda.memory_allocated() - before
    else:
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        last = _logistic_steps(10_000, device, state)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        growth = after - before
    assert last < first  # it trained
    assert growth < 256 * 1024, f"memory grew by {growth} bytes over 10,000 steps"
