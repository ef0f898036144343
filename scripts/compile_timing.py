"""Per-step time of three small steps, eager and compiled, against PyTorch eager.

Usage: ``python scripts/compile_timing.py MODE`` with MODE one of ``torch``, ``eager``
(gpugrad), ``compiled`` (gpugrad with ``gg.compile``); run each mode in its own process.
Each step is forward + backward + ``.grad`` reset, as in ``bench/programs.py``, and
returns the loss and the gradients (read before the reset), so no work is dead:
A the seed's scalar BCE step (sigmoid, clamp, two logs), B ``sin(x**2)`` on a scalar,
C a 100-op elementwise chain (mul, add, sin, clamp, exp) on 1,000 float32.
Prints the median of several rounds in microseconds per step.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

EPS = 1e-8


def steps(L, compile_=None):  # noqa: N803 - L is the library, as in the issue
    w = L.tensor(1.0, requires_grad=True)
    b = L.tensor(0.0, requires_grad=True)
    x = L.tensor(6.7)
    y = L.tensor(0.0)
    s = L.tensor(3.0, requires_grad=True)
    h0 = L.tensor(np.random.default_rng(1).random(1000, dtype=np.float32), requires_grad=True)

    def bce():
        z = w * x + b
        p = L.clamp(L.sigmoid(z), EPS, 1 - EPS)
        loss = -(y * L.log(p) + (1 - y) * L.log(1 - p))
        loss.backward()
        grads = (w.grad, b.grad)
        w.grad = None
        b.grad = None
        return loss.detach(), grads

    def sin_sq():
        z = L.sin(s**2)
        z.backward()
        grad = s.grad
        s.grad = None
        return z.detach(), grad

    def chain():
        h = h0
        for _ in range(20):
            h = h * 0.5
            h = h + 0.25
            h = L.sin(h)
            h = L.exp(L.clamp(h, -1.0, 1.0))
        loss = h.sum()
        loss.backward()
        grad = h0.grad
        h0.grad = None
        return loss.detach(), grad

    fns = {"bce": bce, "sin_sq": sin_sq, "chain100": chain}
    if compile_ is not None:
        fns = {k: compile_(f) for k, f in fns.items()}
    return fns


def main() -> None:
    mode = sys.argv[1]
    if mode == "torch":
        import torch

        torch.set_num_threads(1)
        fns = steps(torch)
    else:
        import gpugrad as gg

        fns = steps(gg, gg.compile if mode == "compiled" else None)
    for name, fn in fns.items():
        for _ in range(50):
            fn()
        n = 2000 if name != "chain100" else 200
        rounds = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            rounds.append((time.perf_counter() - t0) / n * 1e6)
        print(f"{mode:9s} {name:9s} {statistics.median(rounds):9.2f} us/step")


if __name__ == "__main__":
    main()
