"""Complete CUDA sources for the kernels, one module per (kernel, dtype).

Each module holds one ``extern "C"`` function per variant: every subset of the optional
inputs, elementwise, and (for a reducible kernel) with output 0 summed in the same pass.
The text built here is exactly what CuPy's ``RawModule`` compiles and what the NVRTC gate
(``tests/test_nvrtc_gate.py``) compiles, so it needs no CuPy internals and no headers:
float16 is loaded and stored through PTX conversions and computed in float.

Elementwise: a grid-stride loop; each input has a step (1, or 0 for one element broadcast).
Reduction: each thread sums its elements in double, blocks reduce with warp shuffles, each
block writes its partial, and the last block to finish (a ticket counter) adds the
partials in a fixed order, writes ``sum / divisor`` and resets the counter: one launch,
deterministic.
"""

from __future__ import annotations

from .spec import Kernel

BLOCK_THREADS = 256
MAX_REDUCE_BLOCKS = 1024
"""Capacity of the partial-sum workspace; a reduction launches at most this many blocks."""

DTYPES = {
    # numpy dtype name: (storage type, compute type, suffix)
    "float16": ("gg_half", "float", "f16"),
    "float32": ("float", "float", "f32"),
    "float64": ("double", "double", "f64"),
}

_PRELUDE = r"""
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

__device__ __forceinline__ float gg_exp(float x) { return expf(x); }
__device__ __forceinline__ double gg_exp(double x) { return exp(x); }
__device__ __forceinline__ float gg_log(float x) { return logf(x); }
__device__ __forceinline__ double gg_log(double x) { return log(x); }
__device__ __forceinline__ float gg_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double gg_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float gg_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double gg_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float gg_erf(float x) { return erff(x); }
__device__ __forceinline__ double gg_erf(double x) { return erf(x); }
__device__ __forceinline__ float gg_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double gg_abs(double x) { return fabs(x); }
// std::max / std::min: a NaN first argument propagates, as in PyTorch's CPU kernels.
template <typename T> __device__ __forceinline__ T gg_max(T a, T b) { return (a < b) ? b : a; }
template <typename T> __device__ __forceinline__ T gg_min(T a, T b) { return (b < a) ? b : a; }

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


def function_name(kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool) -> str:
    parts = ["gg", kernel.name, DTYPES[dtype][2], *present]
    if reduce:
        parts.append("sum")
    return "_".join(parts)


def _parts(kernel: Kernel, present: tuple[str, ...], reduce: bool) -> tuple[list[str], str]:
    """The parameter list and the per-element code (loads, body, stores) of one variant."""
    args = []
    loads = []
    for name in kernel.inputs:
        if name in kernel.optional:
            loads.append(f"const bool HAS_{name} = {'true' if name in present else 'false'};")
            if name not in present:
                loads.append(f"const acc_t {name} = acc_t(1);")
                continue
        args.append(f"const gg_t* __restrict__ {name}_ptr")
        args.append(f"const long long {name}_step")
        loads.append(f"const acc_t {name} = gg_load({name}_ptr, i * {name}_step);")
    args += [f"const acc_t {name}" for name in kernel.params]
    if reduce:
        args += [
            "double* __restrict__ gg_partials",
            "unsigned int* __restrict__ gg_counter",
            "gg_t* __restrict__ gg_result",
            "const double gg_divisor",
        ]
    else:
        args += [f"gg_t* __restrict__ {name}_ptr" for name in kernel.outputs]
    args.append("const long long n")
    declare = " ".join(f"acc_t {name};" for name in kernel.outputs)
    if reduce:
        store = f"gg_acc += (double){kernel.outputs[0]};"
    else:
        store = " ".join(f"gg_store({name}_ptr, i, {name});" for name in kernel.outputs)
    body = "\n".join("            " + line.strip() for line in kernel.cuda.strip().splitlines())
    element = f"""        {" ".join(loads)}
        {declare}
        {{
{body}
        }}
        {store}"""
    return args, element


def _variant(kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool) -> str:
    args, element = _parts(kernel, present, reduce)
    loop = f"""
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)blockDim.x * gridDim.x) {{
{element}
    }}"""
    name = function_name(kernel, dtype, present, reduce)
    signature = ",\n    ".join(args)
    if not reduce:
        return f'extern "C" __global__ void {name}(\n    {signature}) {{{loop}\n}}\n'
    return f"""extern "C" __global__ void {name}(
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


_HOST_PRELUDE = r"""
#include <cmath>
template <typename T> inline T gg_load(const T* p, long long i) { return p[i]; }
template <typename T> inline void gg_store(T* p, long long i, T v) { p[i] = v; }
inline float gg_exp(float x) { return expf(x); }
inline double gg_exp(double x) { return exp(x); }
inline float gg_log(float x) { return logf(x); }
inline double gg_log(double x) { return log(x); }
inline float gg_log1p(float x) { return log1pf(x); }
inline double gg_log1p(double x) { return log1p(x); }
inline float gg_tanh(float x) { return tanhf(x); }
inline double gg_tanh(double x) { return tanh(x); }
inline float gg_erf(float x) { return erff(x); }
inline double gg_erf(double x) { return erf(x); }
inline float gg_abs(float x) { return fabsf(x); }
inline double gg_abs(double x) { return fabs(x); }
template <typename T> inline T gg_max(T a, T b) { return (a < b) ? b : a; }
template <typename T> inline T gg_min(T a, T b) { return (b < a) ? b : a; }
"""


def host_source(kernels: tuple[Kernel, ...], dtype: str) -> str:
    """A C++ translation unit that runs every elementwise variant's per-element code (the
    same text as in the CUDA sources) in a plain loop with the C library's math, as
    ``extern "C"`` functions named as the CUDA ones: lets a CPU-only test run every CUDA
    body. float32 and float64 only."""
    storage, compute, _ = DTYPES[dtype]
    parts = [_HOST_PRELUDE, f"typedef {storage} gg_t;\ntypedef {compute} acc_t;\n"]
    for kernel in kernels:
        for present in kernel.variants():
            args, element = _parts(kernel, present, False)
            name = function_name(kernel, dtype, present, False)
            parts.append(
                f'extern "C" void {name}({", ".join(args)}) {{\n'
                f"    for (long long i = 0; i < n; ++i) {{\n{element}\n    }}\n}}\n"
            )
    return "\n".join(parts)


def source(kernel: Kernel, dtype: str) -> str:
    """The complete CUDA source of ``kernel``'s module for ``dtype``."""
    storage, compute, _ = DTYPES[dtype]
    parts = [
        f"// gpugrad fused kernel '{kernel.name}' for {dtype}; generated from "
        "backends/kernels/defs.py",
        _PRELUDE,
        f"typedef {storage} gg_t;\ntypedef {compute} acc_t;\n",
    ]
    for present in kernel.variants():
        parts.append(_variant(kernel, dtype, present, False))
        if kernel.reducible:
            parts.append(_variant(kernel, dtype, present, True))
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
