"""``python -m bench.cuda_tune``: the generated CUDA kernels at 100M float32 under each
(unroll, launch bounds) configuration, beside a device copy of the same bytes.

Prints, per kernel and configuration, the registers and spill bytes per thread, the
resident blocks per SM, the microseconds per launch (CUDA events, after warm-up) and the
bytes moved per second. A tool for choosing ``cuda_source.UNROLL`` and ``MIN_BLOCKS``;
needs CuPy and a GPU (PyTorch, when present, adds its copy for reference).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from typing import Any

import numpy

from gpugrad.backends.kernels import cuda_source
from gpugrad.backends.kernels import defs as K


def _elapsed_us(cupy: Any, launch: Callable[[], None], repeat: int) -> float:
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    for _ in range(3):
        launch()
    start.record()
    for _ in range(repeat):
        launch()
    stop.record()
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / repeat * 1e3


def _attr(fn: Any, name: str) -> str:
    try:
        return str(getattr(fn, name))
    except Exception:
        return "?"


def _resident_blocks(cupy: Any, fn: Any) -> int:
    try:
        return int(
            cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
                getattr(fn, "kernel", fn).ptr, cuda_source.BLOCK_THREADS, 0
            )
        )
    except Exception as e:
        print(f"  (occupancy query failed: {type(e).__name__}: {e}; assuming 4)")
        return 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cuda_tune", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    import cupy

    n, repeat = args.n, args.repeat
    x = cupy.random.standard_normal(n, dtype=cupy.float32)
    t = (cupy.random.random(n, dtype=cupy.float32) < 0.5).astype(cupy.float32)
    out = cupy.empty_like(x)
    partials = cupy.empty(cuda_source.MAX_REDUCE_BLOCKS, dtype=cupy.float64)
    counter = cupy.zeros(1, dtype=cupy.uint32)
    result = cupy.empty((), dtype=cupy.float32)
    sms = int(cupy.cuda.Device().attributes["MultiProcessorCount"])
    one, f32 = numpy.int64(1), numpy.float32

    bx, bt = cupy.empty_like(x), cupy.empty_like(t)

    def copy_both() -> None:
        bx[...] = x
        bt[...] = t

    copy_us = _elapsed_us(cupy, copy_both, repeat)
    print(f"n = {n:,} float32 on {sms} SMs")
    print(f"copy of x and t (cupy): {copy_us:8.1f} us  {16 * n / copy_us / 1e6:5.2f} TB/s")
    try:
        import torch

        tx, ty = torch.as_tensor(x, device="cuda"), torch.as_tensor(t, device="cuda")
        cx, cy = torch.empty_like(tx), torch.empty_like(ty)

        def torch_copy() -> None:
            cx.copy_(tx)
            cy.copy_(ty)

        torch_us = _elapsed_us(cupy, torch_copy, repeat)
        print(f"copy of x and t (torch): {torch_us:7.1f} us  {16 * n / torch_us / 1e6:5.2f} TB/s")
    except Exception as e:  # PyTorch is optional here
        print(f"torch copy: not run ({type(e).__name__}: {e})")

    cases = [
        # kernel, reduce, arguments after the inputs, bytes moved per element
        (
            K.BCE_LOGITS_WITH_GRAD,
            True,
            lambda: (f32(n), partials, counter, result, numpy.float64(n), out, numpy.int64(n)),
            12,
        ),
        (
            K.BCE_LOGITS,
            True,
            lambda: (partials, counter, result, numpy.float64(n), numpy.int64(n)),
            8,
        ),
        (K.SIGMOID, False, lambda: (out, numpy.int64(n)), 8),
    ]
    print(
        f"{'kernel':24s} {'unroll':>6s} {'bounds':>6s} {'regs':>5s} {'spill':>5s} "
        f"{'blk/SM':>6s} {'us':>8s} {'TB/s':>6s} {'x copy':>7s}"
    )
    for (kernel, reduce, tail, per_element), unroll, min_blocks in itertools.product(
        cases, (1, 2, 4, 8), (0, 4, 8)
    ):
        try:
            module = cupy.RawModule(
                code=cuda_source.source(kernel, "float32", unroll, min_blocks),
                options=("-std=c++14",),
            )
            fn = module.get_function(cuda_source.function_name(kernel, "float32", (), reduce))
            resident = _resident_blocks(cupy, fn)
            grid = max(1, sms * resident)
            if reduce:
                grid = min(grid, cuda_source.MAX_REDUCE_BLOCKS)
            per_block = cuda_source.BLOCK_THREADS * unroll
            grid = min(grid, -(-n // per_block))
            inputs = (x, one) if kernel is K.SIGMOID else (x, one, t, one)
            launch_args = (*inputs, *tail())

            def launch(fn=fn, grid=grid, launch_args=launch_args) -> None:
                fn((grid,), (cuda_source.BLOCK_THREADS,), launch_args)

            us = _elapsed_us(cupy, launch, repeat)
            print(
                f"{kernel.name:24s} {unroll:6d} {min_blocks:6d} {_attr(fn, 'num_regs'):>5} "
                f"{_attr(fn, 'local_size_bytes'):>5} {resident:6d} {us:8.1f} "
                f"{per_element * n / us / 1e6:6.2f} {us / copy_us:7.2f}"
            )
        except Exception as e:  # report and go on to the next configuration
            print(f"{kernel.name:24s} {unroll:6d} {min_blocks:6d} failed: {type(e).__name__}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
