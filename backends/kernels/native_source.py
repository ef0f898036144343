"""C++ sources of the kernels for the CPU: the same bodies as on CUDA, in vectorizable loops.

One translation unit per dtype (float32, float64) holds every kernel's variants as
``extern "C"`` functions named as the CUDA ones. Each is a plain loop over contiguous
arrays (``#pragma omp simd``; an input broadcast from one element is given as a filled
buffer by the caller), returns the sum of output 0 in double for a reducing variant, and
ORs the kernel's ``check`` into ``*gg_flag`` (the inputs the NumPy body would flag).

The math functions are declared with GCC's ``simd`` attribute where glibc (2.35 or newer,
x86-64) provides their vector versions in libmvec: the loops then call ``expf`` and
``logf`` eight floats at a time, which is what makes this path faster than NumPy's ufuncs
(each of which makes its own pass over the block). Elsewhere (or with ``-DGG_SCALAR_MATH``,
which the tests use to run this variant here) the same source compiles to scalar calls and
stays correct. No fast-math: NaN, infinities and signed zeros behave as in
the CUDA and NumPy bodies. Subnormals are not flushed on the CPU, so ``gg_log`` needs no
rescaling there (``GG_FLUSHED_SUBNORMALS`` is 0).
"""

from __future__ import annotations

from .cuda_source import MATH, function_name, typedefs
from .spec import Kernel

DTYPES = ("float32", "float64")
"""float16 tensors keep the NumPy executor (compute in float32, one rounding at the end)."""

_VECTOR_MATH = ("exp", "log", "log1p", "tanh", "erf")

_PRELUDE = (
    r"""
#include <features.h>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__) \
    && !defined(GG_SCALAR_MATH)
#if __GLIBC_PREREQ(2, 35)
#define GG_VEC __attribute__((simd("notinbranch")))
#endif
#endif
#ifndef GG_VEC
#define GG_VEC
#endif
extern "C" {
"""
    + "".join(f"GG_VEC float {f}f(float);\nGG_VEC double {f}(double);\n" for f in _VECTOR_MATH)
    + r"""}
static inline float fabsf(float x) { return __builtin_fabsf(x); }
static inline double fabs(double x) { return __builtin_fabs(x); }
#define GG_FN static inline
#define GG_FLUSHED_SUBNORMALS 0
static inline unsigned int gg_float_bits(float x) {
    unsigned int b;
    __builtin_memcpy(&b, &x, sizeof b);
    return b;
}
"""
    + MATH
)


PAD = 16
"""The remainder of a call (``n`` modulo ``PAD``) is copied into arrays of ``PAD``
elements, padded with copies of its last element, and run through the same vector code:
every element is computed by the same instructions wherever it sits, so results do not
depend on an array's length, offset or blocks (a scalar remainder loop would call the
scalar ``expf``, whose last bit can differ from the vector one's). 16 is a whole number of
vectors for every SIMD width up to AVX-512 float32."""


def _loop(kernel: Kernel, loaded: list[str], reduce: bool, count: str, at: str, real: str) -> str:
    """The vectorized loop over ``count`` elements; ``at`` formats an array element of a
    name (``{}`` for the name), ``real`` is the condition for an element to be summed."""
    loads = " ".join(f"const acc_t {n} = {at.format(n)};" for n in loaded)
    declare = " ".join(f"acc_t {n};" for n in kernel.outputs)
    stores = [f"{at.format(n)} = {n};" for n in kernel.stored(reduce)]
    clauses = []
    if reduce:
        stores.append(f"if ({real}) gg_acc += (double){kernel.outputs[0]};")
        clauses.append("reduction(+ : gg_acc)")
    if kernel.check:
        stores.append(f"gg_bad |= ({kernel.check}) ? 1 : 0;")
        clauses.append("reduction(| : gg_bad)")
    body = "\n".join("            " + line.strip() for line in kernel.cuda.strip().splitlines())
    return f"""
#pragma omp simd {" ".join(clauses)}
    for (long long i = 0; i < {count}; ++i) {{
        {loads}
        {declare}
        {{
{body}
        }}
        {" ".join(stores)}
    }}"""


def _function(kernel: Kernel, dtype: str, present: tuple[str, ...], reduce: bool) -> str:
    loaded = [n for n in kernel.inputs if n not in kernel.optional or n in present]
    stored = kernel.stored(reduce)
    args = [f"const gg_t* __restrict__ {n}_ptr" for n in loaded]
    args += [f"const acc_t {n}" for n in kernel.params]
    args += [f"gg_t* __restrict__ {n}_ptr" for n in stored]
    args += ["const long long n", "int* __restrict__ gg_flag"]
    constants = [
        f"const bool HAS_{n} = {'true' if n in present else 'false'};"
        for n in kernel.inputs
        if n in kernel.optional
    ]
    constants += [f"const acc_t {n} = acc_t(1);" for n in kernel.inputs if n not in loaded]
    pads = " ".join(f"gg_t {n}_pad[PAD];" for n in (*loaded, *stored))
    source = " ".join(f"{n}_pad[j] = {n}_ptr[gg_main + gg_k];" for n in loaded)
    back = " ".join(f"{n}_ptr[gg_main + j] = {n}_pad[j];" for n in stored)
    main = _loop(kernel, loaded, reduce, "gg_main", "{}_ptr[i]", "true")
    rest = _loop(kernel, loaded, reduce, "PAD", "{}_pad[i]", "i < gg_rest")
    return f"""
extern "C" double {function_name(kernel, dtype, present, reduce)}(
    {", ".join(args)}) {{
    {" ".join(constants)}
    double gg_acc = 0.0;
    int gg_bad = 0;
    const long long gg_main = n - n % PAD;{main}
    const long long gg_rest = n - gg_main;
    if (gg_rest > 0) {{
        {pads}
        for (long long j = 0; j < PAD; ++j) {{
            const long long gg_k = j < gg_rest ? j : gg_rest - 1;
            {source}
        }}{rest}
        for (long long j = 0; j < gg_rest; ++j) {{ {back} }}
    }}
    *gg_flag = gg_bad;
    return gg_acc;
}}
"""


def source(kernels: tuple[Kernel, ...], dtype: str) -> str:
    """The C++ translation unit of ``kernels`` for ``dtype``."""
    if dtype not in DTYPES:
        raise ValueError(f"native kernels are built for {DTYPES}, not {dtype}")
    parts = [
        f"// gpugrad fused kernels for the CPU, {dtype}; generated from backends/kernels/defs.py",
        _PRELUDE,
        typedefs(dtype),
        f"#define PAD {PAD}",
    ]
    for kernel in kernels:
        for present in kernel.variants():
            parts.append(_function(kernel, dtype, present, False))
            if kernel.reducible:
                parts.append(_function(kernel, dtype, present, True))
    return "\n".join(parts)
