"""Fused elementwise kernels (``backends/kernels/fusion``) against PyTorch and gpugrad's
hand-fused kernels, on the seed's composed BCE, and the cost of a 1-element call.

    python -m bench.fusion_micro            # 10M float32 (the issue's size)
    python -m bench.fusion_micro --n 1000000 --repeat 3

Every time is the best of ``--repeat`` runs (the machine this runs on is shared), in ms,
after one warm-up run (which builds the generated kernels: the build time is printed
apart). The composed BCE is the seed's: ``p = clamp(sigmoid(x), 1e-7, 1 - 1e-7)``,
``loss = mean(-(t log p + (1 - t) log(1 - p)))``; its backward chain (what the engine
runs for ``loss.backward()``) written as one program: ``gx = where(1e-7 <= s <= 1 - 1e-7,
g (-(t / p) + (1 - t) / (1 - p)), 0) s (1 - s)`` with ``g = 1 / n``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy

from gpugrad import backends
from gpugrad.backends.kernels.fusion import ElementwiseProgram, compile_elementwise

LO, HI = 1e-7, 1 - 1e-7

_FORWARD = (
    ("sigmoid", (0,), "float32", None),  # 2 s
    ("clip", (2,), "float32", (LO, HI)),  # 3 p
    ("log", (3,), "float32", None),  # 4
    ("mul", (1, 4), "float32", None),  # 5 t log p
    ("const", (), "float64", 1.0),  # 6
    ("sub", (6, 1), "float32", None),  # 7 1 - t
    ("sub", (6, 3), "float32", None),  # 8 1 - p
    ("log", (8,), "float32", None),  # 9
    ("mul", (7, 9), "float32", None),  # 10
    ("add", (5, 10), "float32", None),  # 11
    ("neg", (11,), "float32", None),  # 12 elementwise loss
)
FORWARD = ElementwiseProgram(("float32", "float32"), _FORWARD, (12,), ("mean",))
"""loss = mean(bce(clamp(sigmoid(x)), t)); inputs x, t."""

_BACKWARD = (
    ("sigmoid", (0,), "float32", None),  # 3 s
    ("clip", (3,), "float32", (LO, HI)),  # 4 p
    ("div", (1, 4), "float32", None),  # 5 t / p
    ("const", (), "float64", 1.0),  # 6
    ("sub", (6, 1), "float32", None),  # 7 1 - t
    ("sub", (6, 4), "float32", None),  # 8 1 - p
    ("div", (7, 8), "float32", None),  # 9
    ("sub", (9, 5), "float32", None),  # 10 dloss/dp
    ("mul", (2, 10), "float32", None),  # 11 g * dloss/dp
    ("const", (), "float64", LO),  # 12
    ("ge", (3, 12), "bool", None),  # 13
    ("const", (), "float64", HI),  # 14
    ("le", (3, 14), "bool", None),  # 15
    ("logical_and", (13, 15), "bool", None),  # 16 clamp passes the gradient
    ("const", (), "float64", 0.0),  # 17
    ("where", (16, 11, 17), "float32", None),  # 18
    ("sub", (6, 3), "float32", None),  # 19 1 - s
    ("mul", (3, 19), "float32", None),  # 20 s (1 - s)
    ("mul", (18, 20), "float32", None),  # 21 gx
)
BACKWARD = ElementwiseProgram(("float32", "float32", "float32"), _BACKWARD, (21,))
"""gx of the composed BCE; inputs x, t and g (0-d: 1 / n)."""
BOTH = ElementwiseProgram(
    ("float32", "float32", "float32"),
    _BACKWARD
    + tuple(
        (op, tuple(a if a < 2 else a + 1 + len(_BACKWARD) for a in args), d, c)
        for op, args, d, c in _FORWARD
    ),
    (21, 22 + 10),
    (None, "mean"),
)
"""Forward and backward in one pass: (gx, loss)."""


def interleaved(variants: dict, repeat: int) -> dict:
    """The best time of each variant in ms, over ``repeat`` rounds that run every variant
    once in turn (a load that comes and goes hits all of them alike)."""
    times = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) * 1e3 for name, values in times.items()}


def per_call_us(fn, number: int = 20000, repeat: int = 7) -> float:
    """The best per-call time of ``fn()`` over ``repeat`` loops of ``number`` calls, µs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append(time.perf_counter() - start)
    return min(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat
    cpu = backends.get("cpu")
    rng = numpy.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(numpy.float32)
    t = (rng.random(n) < 0.5).astype(numpy.float32)
    g = numpy.array(1 / n, numpy.float32)
    print(f"n = {n:,} float32; best of {repeat} interleaved rounds; ms; load {os.getloadavg()}")
    variants = {}
    for engine in ("c", "numpy"):
        start = time.perf_counter()
        forward = compile_elementwise(cpu, FORWARD, engine=engine)
        backward = compile_elementwise(cpu, BACKWARD, engine=engine)
        both = compile_elementwise(cpu, BOTH, engine=engine)
        forward(x[:10], t[:10]), backward(x[:10], t[:10], g), both(x[:10], t[:10], g)
        took = (time.perf_counter() - start) * 1e3
        print(f"fused ({engine}): first calls (build or load) {took:.0f} ms")
        variants[f"fused {engine}: forward (loss)"] = lambda f=forward: f(x, t)
        variants[f"fused {engine}: backward (gx)"] = lambda f=backward: f(x, t, g)
        variants[f"fused {engine}: forward+backward, one program"] = lambda f=both: f(x, t, g)
    (loss,) = compile_elementwise(cpu, FORWARD)(x, t)

    import gpugrad as gg

    xt, tt = gg.tensor(x, requires_grad=True), gg.tensor(t)

    def hand_fused(kernels: str):
        def step():
            cpu.use_kernels(kernels)
            xt.grad = None
            gg.nn.functional.binary_cross_entropy_with_logits(xt, tt).backward()

        return step

    def composed(kernels: str):
        def step():
            cpu.use_kernels(kernels)
            xt.grad = None
            p = gg.clamp(gg.sigmoid(xt), LO, HI)
            (-(tt * gg.log(p) + (1 - tt) * gg.log(1 - p)).mean()).backward()

        return step

    for kernels in ("native", "numpy"):
        variants[f"gpugrad bce_with_logits, hand-fused {kernels} kernels, fwd+bwd"] = hand_fused(
            kernels
        )
        variants[f"gpugrad eager composed BCE ({kernels} kernels), fwd+bwd"] = composed(kernels)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        xs, ts = torch.from_numpy(x).requires_grad_(), torch.from_numpy(t)

        def torch_step():
            xs.grad = None
            torch.nn.functional.binary_cross_entropy_with_logits(xs, ts).backward()

        def torch_composed():
            xs.grad = None
            p = torch.clamp(torch.sigmoid(xs), LO, HI)
            (-(ts * torch.log(p) + (1 - ts) * torch.log(1 - p)).mean()).backward()

        threads = torch.get_num_threads()
        variants[f"torch bce_with_logits fwd+bwd ({threads} threads)"] = torch_step
        variants["torch composed BCE fwd+bwd"] = torch_composed
        ref = float(torch.nn.functional.binary_cross_entropy_with_logits(xs.detach(), ts))
        print(f"loss: fused {float(loss):.7f}, torch with_logits {ref:.7f}")
    for fn in variants.values():  # warm-up
        fn()
    best = interleaved(variants, repeat)
    cpu.use_kernels("numpy")
    reference = next((v for k, v in best.items() if k.startswith("torch bce")), None)
    print(f"{'variant':<66} {'ms':>8} {'/ torch':>8}")
    for name, ms in best.items():
        ratio = f"{ms / reference:8.2f}" if reference else ""
        print(f"{name:<66} {ms:8.2f} {ratio}")

    one = numpy.ones(1, numpy.float32)
    sin_square = ElementwiseProgram(
        ("float32",), (("mul", (0, 0), "float32", None), ("sin", (1,), "float32", None)), (2,)
    )
    small = compile_elementwise(cpu, sin_square, engine="c")
    small_both = compile_elementwise(cpu, BOTH, engine="c")
    gs = numpy.array(1.0, numpy.float32)
    small(one), small_both(one, one, gs)
    print("1-element calls, µs per call (best of 7 x 20000):")
    print(f"  fused sin(x*x), C engine        {per_call_us(lambda: small(one)):6.2f}")
    print(f"  fused BCE fwd+bwd, C engine     {per_call_us(lambda: small_both(one, one, gs)):6.2f}")
    print(f"  numpy.sin(x * x) (two ufuncs)   {per_call_us(lambda: numpy.sin(one * one)):6.2f}")
    print(f"  one numpy.add                   {per_call_us(lambda: numpy.add(one, one)):6.2f}")


if __name__ == "__main__":
    main()
