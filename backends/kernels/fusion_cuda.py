"""CUDA for a fused elementwise program (``fusion``), and its CuPy runner.

One ``extern "C" __global__`` kernel per program and broadcast pattern, over the same node
statements as the CPU code (``fusion_c.node_statements``): a grid-stride loop in which
each element's inputs are loaded, its nodes computed and its plain outputs stored; values
uniform over the elements (constants, single-element inputs) are computed once per thread
before the loop. Sums (and means) accumulate per thread in double (int64 sums in unsigned
64-bit integers, wrapping), are reduced per block with warp shuffles, and the last block to
finish (a ticket counter, as in ``cuda_source``) adds the blocks' partial sums in block
order and writes each 0-d result: one launch, deterministic.

It is compiled with NVRTC by ``cupy_exec.load_module`` (not ``cupy.RawModule``, which
forces ``-ftz=true``: subnormals are kept, as by PyTorch's CUDA kernels and on the CPU),
with ``--fmad=false``, so that products are not contracted into FMAs: arithmetic rounds
as CuPy's one-op kernels do. The source needs no headers (``tests/test_fusion_codegen.py``
compiles it with the NVRTC gate, and runs its loop on the host with the C library's math).
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from . import cupy_exec
from .fusion import Resolved, broadcast_plan, reduced_value
from .fusion_c import CTYPES, MATH, accumulator, node_statements

__all__ = ["DEVICE_PRELUDE", "HOST_PRELUDE", "OPTIONS", "CudaFusedKernel", "host_source", "source"]

BLOCK_THREADS = 256
MAX_BLOCKS = 1024
"""At most this many blocks (a grid-stride loop covers the rest); the partial sums'
workspace holds ``MAX_BLOCKS`` per reduced output."""
OPTIONS = (*cupy_exec.OPTIONS, "--fmad=false")

DEVICE_PRELUDE = (
    r"""
#define GG_FN __device__ __forceinline__
#define GG_INF __longlong_as_double(0x7ff0000000000000ll)
#define GG_NAN __longlong_as_double(0x7ff8000000000000ll)
"""
    + MATH
    + r"""
template <typename T> __device__ T gg_block_sum(T v) {
    __shared__ T gg_warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) gg_warp_sums[warp] = v;
    __syncthreads();
    const int warps = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < warps) ? gg_warp_sums[lane] : T(0);
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}
"""
)

HOST_PRELUDE = r"""
#include <cmath>
#include <cstring>
using std::exp; using std::log; using std::log1p; using std::expm1; using std::sqrt;
using std::sin; using std::cos; using std::tan; using std::tanh; using std::floor;
using std::ceil; using std::fabs; using std::pow;
#define GG_FN static inline
#define GG_INF __builtin_inf()
#define GG_NAN __builtin_nan("")
struct gg_dim { long long x; };
"""
HOST_GRID = (3, 5)
"""(blocks, threads) the host build of a kernel's loop emulates."""


def _parts(resolved: Resolved, pattern: tuple[bool, ...]) -> dict[str, Any]:
    program = resolved.program
    first = len(program.inputs)
    plain = [k for k, r in enumerate(resolved.reductions) if r is None]
    summed = [k for k, r in enumerate(resolved.reductions) if r is not None]
    once, each = node_statements(resolved, pattern)
    full = [i for i in range(first) if not pattern[i]]
    uniform_loads = ["const double gg_zero = 0.0;"]
    uniform_loads += [
        f"const {CTYPES[program.inputs[i]]} v{i} = p{i}[0];" for i in range(first) if pattern[i]
    ]
    loads = [f"const {CTYPES[program.inputs[i]]} v{i} = p{i}[i];" for i in full]
    stores = [f"q{k}[i] = v{program.outputs[k]};" for k in plain]
    adds = [f"a{k} += {accumulator(resolved, k)[1]};" for k in summed]
    accs = [f"{accumulator(resolved, k)[0]} a{k} = 0;" for k in summed]
    loop = f"""
    {" ".join(uniform_loads)}
    {" ".join(once)}
    {" ".join(accs)}
    const long long gg_stride = (long long)blockDim.x * gridDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gg_stride) {{
        {" ".join(loads)}
        {chr(10).join("        " + s for s in each).strip()}
        {" ".join(stores)} {" ".join(adds)}
    }}"""
    params = [f"const {CTYPES[d]}* __restrict__ p{i}" for i, d in enumerate(program.inputs)]
    params += [f"{CTYPES[resolved.dtypes[program.outputs[k]]]}* __restrict__ q{k}" for k in plain]
    return {"loop": loop, "params": params, "plain": plain, "summed": summed}


def source(resolved: Resolved, pattern: tuple[bool, ...]) -> str:
    """The complete CUDA source (kernel ``gg_fused``) for inputs broadcast as ``pattern``."""
    parts = _parts(resolved, pattern)
    params = list(parts["params"])
    summed = parts["summed"]
    tail = ""
    if summed:
        params += ["unsigned long long* __restrict__ gg_partials"]
        params += ["unsigned int* __restrict__ gg_counter"]
        for j, k in enumerate(summed):
            params.append(f"{CTYPES[resolved.result_dtype(k)]}* __restrict__ r{j}")
        partial_writes, finals = [], []
        for j, k in enumerate(summed):
            acc_type = accumulator(resolved, k)[0]
            slot = f"gg_partials[{j} * {MAX_BLOCKS} + blockIdx.x]"
            partial_writes.append(f"{{ const {acc_type} s = gg_block_sum<{acc_type}>(a{k});")
            if acc_type == "double":
                partial_writes.append(f"if (threadIdx.x == 0) {slot} = __double_as_longlong(s); }}")
            bits = f"((volatile unsigned long long*)gg_partials)[{j} * {MAX_BLOCKS} + b]"
            if acc_type == "double":
                read = f"__longlong_as_double({bits})"
            else:
                partial_writes.append(f"if (threadIdx.x == 0) {slot} = s; }}")
                read = bits
            dtype = resolved.result_dtype(k)
            value = "t"
            if resolved.reductions[k] == "mean":
                value = "(t / (double)n)"
            store = (
                f"*r{j} = ({CTYPES[dtype]}){value};"
                if acc_type == "double"
                else f"*r{j} = (long long)t;"
            )
            finals.append(
                f"{{ {acc_type} t = 0; for (unsigned int b = threadIdx.x; b < gridDim.x; "
                f"b += blockDim.x) t += {read}; t = gg_block_sum<{acc_type}>(t); "
                f"if (threadIdx.x == 0) {{ {store} }} }}"
            )
        tail = f"""
    {chr(10).join("    " + s for s in partial_writes).strip()}
    __shared__ bool gg_last;
    if (threadIdx.x == 0) {{
        __threadfence();
        gg_last = (atomicAdd(gg_counter, 1u) == gridDim.x - 1);
    }}
    __syncthreads();
    if (gg_last) {{
        __threadfence();
        {chr(10).join("        " + s for s in finals).strip()}
        if (threadIdx.x == 0) *gg_counter = 0u;
    }}"""
    params.append("const long long n")
    signature = ",\n    ".join(params)
    return (
        "// gpugrad fused elementwise program, generated by backends/kernels/fusion_cuda.py\n"
        + DEVICE_PRELUDE
        + f'\nextern "C" __global__ void gg_fused(\n    {signature}) {{{parts["loop"]}{tail}\n}}\n'
    )


def host_source(resolved: Resolved, pattern: tuple[bool, ...], name: str) -> str:
    """The kernel's loop (the same text as in ``source``) as a C++ function ``name`` run for
    each (block, thread) of a small emulated grid, the sums added into ``gg_sums`` (double,
    or an int64's bits): lets a CPU-only test run the CUDA code. Needs ``HOST_PRELUDE`` and
    ``fusion_c.MATH`` before it."""
    parts = _parts(resolved, pattern)
    blocks, threads = HOST_GRID
    adds = []
    for j, k in enumerate(parts["summed"]):
        acc_type = accumulator(resolved, k)[0]
        adds.append(
            f"{{ {acc_type} t; std::memcpy(&t, &gg_sums[{j}], 8); t += a{k}; "
            f"std::memcpy(&gg_sums[{j}], &t, 8); }}"
        )
    params = [*parts["params"], "double* gg_sums", "const long long n"]
    return (
        f'extern "C" void {name}({", ".join(params)}) {{\n'
        f"    const gg_dim gridDim = {{{blocks}}}, blockDim = {{{threads}}};\n"
        f"    for (gg_dim blockIdx = {{0}}; blockIdx.x < gridDim.x; ++blockIdx.x)\n"
        f"    for (gg_dim threadIdx = {{0}}; threadIdx.x < blockDim.x; ++threadIdx.x) {{"
        f"{parts['loop']}\n    {' '.join(adds)}\n    }}\n}}\n"
    )


class CudaFusedKernel:
    """A program compiled for a CuPy backend's device: ``kernel(*arrays)`` -> arrays."""

    def __init__(self, resolved: Resolved, backend: Any) -> None:
        self.resolved = resolved
        self.backend = backend
        self.cupy = backend.xp
        self._functions: dict[tuple[bool, ...], Any] = {}
        self._workspaces: dict[int, tuple[Any, Any]] = {}
        self.summed = [k for k, r in enumerate(resolved.reductions) if r is not None]

    def _function(self, pattern: tuple[bool, ...]) -> Any:
        fn = self._functions.get(pattern)
        if fn is None:
            module = cupy_exec.load_module(self.cupy, source(self.resolved, pattern), OPTIONS)
            fn = self._functions[pattern] = module.get_function("gg_fused")
        return fn

    def _workspace(self) -> tuple[Any, Any]:
        stream = self.cupy.cuda.get_current_stream().ptr
        space = self._workspaces.get(stream)
        if space is None:
            space = self._workspaces[stream] = (
                self.cupy.empty(MAX_BLOCKS * max(1, len(self.summed)), dtype=self.cupy.uint64),
                self.cupy.zeros(1, dtype=self.cupy.uint32),
            )
        return space

    def __call__(self, *arrays: Any) -> tuple:
        with self.backend.cuda_device:
            return self._call(arrays)

    def _call(self, arrays: tuple) -> tuple:
        cupy = self.cupy
        resolved = self.resolved
        program = resolved.program
        if len(arrays) != len(program.inputs):
            raise TypeError(
                f"the fused kernel takes {len(program.inputs)} arrays, got {len(arrays)}"
            )
        xs = []
        for x, d in zip(arrays, program.inputs):
            x = cupy.asarray(x)
            xs.append(x if x.dtype == d else x.astype(d))
        shape, n, pattern = broadcast_plan(resolved, tuple(x.shape for x in xs))
        pattern = tuple(one or _repeats_one_element(x) for x, one in zip(xs, pattern))
        args: list[Any] = []
        for x, one in zip(xs, pattern):
            if one:
                element = x if x.size == 1 else x[(0,) * x.ndim]
                args.append(cupy.ascontiguousarray(element).reshape(1))
            else:
                if x.shape != shape:
                    x = cupy.broadcast_to(x, shape)
                args.append(cupy.ascontiguousarray(x))
        outs: list[Any] = []
        for k, kind in enumerate(resolved.reductions):
            if kind is None:
                outs.append(cupy.empty(shape, dtype=resolved.dtypes[program.outputs[k]]))
            else:
                outs.append(cupy.empty((), dtype=resolved.result_dtype(k)))
        if n == 0:
            for k in self.summed:
                value = reduced_value(0, resolved.reductions[k], 0, resolved.result_dtype(k))
                outs[k].fill(value.item())
            return tuple(outs)
        args += [outs[k] for k in range(len(outs)) if k not in self.summed]
        if self.summed:
            partials, counter = self._workspace()
            args += [partials, counter, *[outs[k] for k in self.summed]]
        args.append(numpy.int64(n))
        blocks = min(MAX_BLOCKS, max(1, math.ceil(n / BLOCK_THREADS)))
        self._function(pattern)((blocks,), (BLOCK_THREADS,), tuple(args))
        return tuple(outs)


def _repeats_one_element(x: Any) -> bool:
    """Whether every element of ``x`` is one element in memory (a broadcast of one value,
    every stride 0): read as one element, not materialized at its full size first."""
    return x.size > 1 and not any(x.strides)
