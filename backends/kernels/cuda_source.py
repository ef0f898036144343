"""Complete CUDA sources for the kernels, one module per (kernel, dtype).

Each module holds one ``extern "C"`` function per variant: every subset of the optional
inputs, elementwise, and (for a reducible kernel) with output 0 summed in the same pass
while the other outputs are stored. The text built here is exactly what
``cupy_exec.load_module`` compiles and what the NVRTC gate (``tests/test_nvrtc_gate.py``)
compiles, so it needs no CuPy internals and no headers: float16 is loaded and stored through PTX
conversions and computed in float.

Elementwise: a grid-stride loop in which each thread first loads ``UNROLL`` elements of
every input (``blockDim`` apart, so a warp's loads stay coalesced) and then computes and
stores them: several loads in flight per thread, which a memory-bound kernel needs to
reach the device's bandwidth. Each input has a step (1, or 0 for one element broadcast).
Reduction: each thread sums its elements in double, blocks reduce with warp shuffles, each
block writes its partial, and the last block to finish (a ticket counter) adds the
partials in a fixed order, writes ``sum / divisor`` and resets the counter: one launch,
deterministic.

The modules are compiled without ``-ftz`` (``cupy_exec.load_module``; ``cupy.RawModule``
would force ``-ftz=true``), so float32 subnormals are kept, as by PyTorch's CUDA kernels:
the log of a probability of 1e-40 is -92.1, not -inf, and sigmoid(-100) is 3.7e-44, not 0.
``gg_log`` keeps a branch for a build that flushes (``GG_FLUSHED_SUBNORMALS`` 1), which
scales a subnormal argument by its bits. The same math prelude is compiled for the host
(``host_source``), where a test runs every CUDA body, subnormal arguments included.
"""

from __future__ import annotations

from .spec import Kernel

BLOCK_THREADS = 256
UNROLL = 2
"""Elements each thread loads before it computes (per grid-stride step). Chosen with
``python -m bench.cuda_tune`` on an H200 (bench/results/gpu-tune.txt), at 100M float32: 2
was the best for BCE forward and within 3% of the best for the fused BCE with its gradient
(1 was best there, 4 was 14% slower: its registers cut the resident blocks from 8 to 3);
for sigmoid 4 was 11% faster than 2. Launch bounds that force occupancy made kernels
spill."""
MAX_REDUCE_BLOCKS = 1024
"""Capacity of the partial-sum workspace; a reduction launches at most this many blocks."""

DTYPES = {
    # numpy dtype name: (storage type, compute type, suffix)
    "float16": ("gg_half", "float", "f16"),
    "float32": ("float", "float", "f32"),
    "float64": ("double", "double", "f64"),
}

MATH = r"""
GG_FN float gg_exp(float x) { return expf(x); }
GG_FN double gg_exp(double x) { return exp(x); }
GG_FN float gg_log(float x) {
#if GG_FLUSHED_SUBNORMALS
    const unsigned int bits = gg_float_bits(x);
    if (bits != 0u && bits < 0x00800000u)  // positive subnormal: m * 2^-149
        return logf((float)bits) - 103.27892990343185f;  // 149 * ln 2
#endif
    return logf(x);
}
GG_FN double gg_log(double x) { return log(x); }
GG_FN float gg_log1p(float x) { return log1pf(x); }
GG_FN double gg_log1p(double x) { return log1p(x); }
GG_FN float gg_tanh(float x) { return tanhf(x); }
GG_FN double gg_tanh(double x) { return tanh(x); }
GG_FN float gg_erf(float x) { return erff(x); }
GG_FN double gg_erf(double x) { return erf(x); }
GG_FN float gg_abs(float x) { return fabsf(x); }
GG_FN double gg_abs(double x) { return fabs(x); }
// std::max / std::min: a NaN first argument propagates, as in PyTorch's CPU kernels.
template <typename T> GG_FN T gg_max(T a, T b) { return (a < b) ? b : a; }
template <typename T> GG_FN T gg_min(T a, T b) { return (b < a) ? b : a; }
"""

_DEVICE_PRELUDE = (
    r"""
#define GG_FN __device__ __forceinline__
#define GG_FLUSHED_SUBNORMALS 0  // compiled without -ftz (cupy_exec.load_module)
typedef unsigned short gg_half;  // IEEE binary16 bits; converted with PTX cvt

__device__ __forceinline__ float gg_load(const gg_half* p, long long i) {
    float v;
    asm("cvt.f32.f16 %0, %1;" : "=f"(v) : "h"(p[i]));
    return v;
}
__device__ __forceinline__ void gg_store(gg_half* p, long long i, float v) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i] = h;
}
__device__ __forceinline__ float gg_load(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ void gg_store(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ double gg_load(const double* p, long long i) { return p[i]; }
__device__ __forceinline__ void gg_store(double* p, long long i, double v) { p[i] = v; }
__device__ __forceinline__ unsigned int gg_float_bits(float x) { return __float_as_uint(x); }
"""
    + MATH
    + r"""
__device__ __forceinline__ double gg_warp_sum(double v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}
// The block's sum, valid in thread 0. Every thread of the block must call it.
__device__ double gg_block_sum(double v) {
    __shared__ double warp_sums[32];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    v = gg_warp_sum(v);
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    const int warps = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < warps) ? warp_sums[lane] : 0.0;
    if (warp == 0) v = gg_warp_sum(v);
    __syncthreads();
    return v;
}
"""
)

_HOST_PRELUDE = (
    r"""
#include <cmath>
#include <cstring>
#define GG_FN inline
#define GG_FLUSHED_SUBNORMALS 0  // as on the device
template <typename T> inline T gg_load(const T* p, long long i) { return p[i]; }
template <typename T> inline void gg_store(T* p, long long i, T v) { p[i] = v; }
inline unsigned int gg_float_bits(float x) {
    unsigned int b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}
struct gg_dim { long long x; };
"""
    + MATH
)


def function_name(kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool) -> str:
    parts = ["gg", kernel.name, DTYPES[dtype][2], *present]
    if reduce:
        parts.append("sum")
    return "_".join(parts)


def _signature(kernel: Kernel, present: tuple[str, ...], reduce: bool) -> list[str]:
    """Inputs (pointer, step), parameters, [reduction workspace], stored outputs, n."""
    args = []
    for name in kernel.inputs:
        if name in kernel.optional and name not in present:
            continue
        args += [f"const gg_t* __restrict__ {name}_ptr", f"const long long {name}_step"]
    args += [f"const acc_t {name}" for name in kernel.params]
    if reduce:
        args += [
            "double* __restrict__ gg_partials",
            "unsigned int* __restrict__ gg_counter",
            "gg_t* __restrict__ gg_result",
            "const double gg_divisor",
        ]
    args += [f"gg_t* __restrict__ {name}_ptr" for name in kernel.stored(reduce)]
    args.append("const long long n")
    return args


def _loop(kernel: Kernel, present: tuple[str, ...], reduce: bool) -> str:
    """The grid-stride loop: load UNROLL elements of each input, then compute and store."""
    loaded = [n for n in kernel.inputs if n not in kernel.optional or n in present]
    flags = [
        f"const bool HAS_{n} = {'true' if n in present else 'false'};"
        for n in kernel.inputs
        if n in kernel.optional
    ]
    ones = [f"const acc_t {n} = acc_t(1);" for n in kernel.inputs if n not in loaded]
    buffers = " ".join(f"acc_t gg_in_{n}[GG_UNROLL];" for n in loaded)
    loads = " ".join(f"gg_in_{n}[u] = gg_load({n}_ptr, i * {n}_step);" for n in loaded)
    takes = " ".join(f"const acc_t {n} = gg_in_{n}[u];" for n in loaded)
    declare = " ".join(f"acc_t {name};" for name in kernel.outputs)
    stores = [f"gg_store({name}_ptr, i, {name});" for name in kernel.stored(reduce)]
    if reduce:
        stores.insert(0, f"gg_acc += (double){kernel.outputs[0]};")
    body = "\n".join("                " + line.strip() for line in kernel.cuda.strip().splitlines())
    return f"""
    {" ".join(flags + ones)}
    const long long gg_stride = (long long)blockDim.x * gridDim.x * GG_UNROLL;
    for (long long gg_base = (long long)blockIdx.x * blockDim.x * GG_UNROLL + threadIdx.x;
         gg_base < n; gg_base += gg_stride) {{
        {buffers}
#pragma unroll
        for (int u = 0; u < GG_UNROLL; ++u) {{
            const long long i = gg_base + (long long)u * blockDim.x;
            if (i < n) {{ {loads} }}
        }}
#pragma unroll
        for (int u = 0; u < GG_UNROLL; ++u) {{
            const long long i = gg_base + (long long)u * blockDim.x;
            if (i < n) {{
                {takes}
                {declare}
                {{
{body}
                }}
                {" ".join(stores)}
            }}
        }}
    }}"""


def _variant(
    kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool, min_blocks: int
) -> str:
    name = function_name(kernel, dtype, present, reduce)
    signature = ",\n    ".join(_signature(kernel, present, reduce))
    loop = _loop(kernel, present, reduce)
    bounds = f"__launch_bounds__({BLOCK_THREADS}, {min_blocks}) " if min_blocks else ""
    if not reduce:
        return f'extern "C" __global__ void {bounds}{name}(\n    {signature}) {{{loop}\n}}\n'
    return f"""extern "C" __global__ void {bounds}{name}(
    {signature}) {{
    double gg_acc = 0.0;{loop}
    gg_acc = gg_block_sum(gg_acc);
    __shared__ bool gg_last;
    if (threadIdx.x == 0) {{
        gg_partials[blockIdx.x] = gg_acc;
        __threadfence();
        gg_last = (atomicAdd(gg_counter, 1u) == gridDim.x - 1);
    }}
    __syncthreads();
    if (gg_last) {{
        double s = 0.0;
        for (unsigned int b = threadIdx.x; b < gridDim.x; b += blockDim.x)
            s += ((volatile double*)gg_partials)[b];
        s = gg_block_sum(s);
        if (threadIdx.x == 0) {{
            gg_store(gg_result, 0, (acc_t)(s / gg_divisor));
            *gg_counter = 0u;
        }}
    }}
}}
"""


def typedefs(dtype: str, unroll: int = UNROLL) -> str:
    storage, compute, _ = DTYPES[dtype]
    return f"typedef {storage} gg_t;\ntypedef {compute} acc_t;\n#define GG_UNROLL {unroll}\n"


HOST_GRID = (3, 5)
"""The (blocks, threads) that the host build of a kernel emulates: small, so that every
size the test uses takes several grid-stride steps and a partial last one."""


def host_source(kernels: tuple[Kernel, ...], dtype: str) -> str:
    """A C++ translation unit that runs every elementwise variant's loop (the same text as
    in the CUDA sources) for each (block, thread) of a small emulated grid, with the C
    library's math, as ``extern "C"`` functions named as the CUDA ones: lets a CPU-only
    test run every CUDA body. float32 and float64 only; subnormals are not flushed here."""
    blocks, threads = HOST_GRID
    parts = [_HOST_PRELUDE, typedefs(dtype)]
    for kernel in kernels:
        for present in kernel.variants():
            name = function_name(kernel, dtype, present, False)
            parts.append(
                f'extern "C" void {name}({", ".join(_signature(kernel, present, False))}) {{\n'
                f"    const gg_dim gridDim = {{{blocks}}}, blockDim = {{{threads}}};\n"
                f"    for (gg_dim blockIdx = {{0}}; blockIdx.x < gridDim.x; ++blockIdx.x)\n"
                f"    for (gg_dim threadIdx = {{0}}; threadIdx.x < blockDim.x; ++threadIdx.x) {{"
                f"{_loop(kernel, present, False)}\n    }}\n}}\n"
            )
    return "\n".join(parts)


MIN_BLOCKS = 0
"""``__launch_bounds__`` minimum of resident blocks per SM (0: none, the compiler chooses
the registers)."""


def source(kernel: Kernel, dtype: str, unroll: int = UNROLL, min_blocks: int = MIN_BLOCKS) -> str:
    """The complete CUDA source of ``kernel``'s module for ``dtype`` (``unroll`` and
    ``min_blocks`` other than the defaults are for ``scripts/cuda-tune``)."""
    parts = [
        f"// gpugrad fused kernel '{kernel.name}' for {dtype}; generated from "
        "backends/kernels/defs.py",
        _DEVICE_PRELUDE,
        typedefs(dtype, unroll),
    ]
    for present in kernel.variants():
        parts.append(_variant(kernel, dtype, present, False, min_blocks))
        if kernel.reducible:
            parts.append(_variant(kernel, dtype, present, True, min_blocks))
    return "\n".join(parts)


def all_sources(kernels: tuple[Kernel, ...] | None = None) -> dict[str, str]:
    """Every CUDA module the project ships, by a name such as ``bce_f32``."""
    if kernels is None:
        from .defs import KERNELS as kernels
    return {
        f"{kernel.name}_{DTYPES[dtype][2]}": source(kernel, dtype)
        for kernel in kernels
        for dtype in DTYPES
    }
