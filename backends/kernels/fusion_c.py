"""C++ for a fused elementwise program (``fusion``), and its CPU runner.

``node_statements`` writes each node as one C statement, ``const T vK = ...;``, from the
resolved types; the same text is the body of the CPU loop here and of the CUDA kernel
(``fusion_cuda``), over the math helpers of ``MATH`` (``gg_exp`` ... in float and double,
NumPy's ``maximum``/``minimum``/``sign``, wrapping int64 arithmetic, NumPy's float to int64
cast). Values that are the same at every element (constants, single-element inputs and
what depends only on them) are computed once, before the loop.

The CPU source is specialized to one broadcast pattern (which inputs are one element) and
built with the native kernels' compiler, flags (plus ``-ffp-contract=off``: no FMA, so
arithmetic rounds as NumPy's does) and cache directory, named by a hash of the source, the
flags, the compiler's version and the processor (``native_exec``). Its loop is the native
kernels' loop: ``#pragma omp simd`` with libmvec's vector math, and the remainder of a call
run through the same vector code in padded buffers, so an element's value does not depend
on where it sits. Two entry points:

- ``gg_small(arrays..., n)``, loaded through ``ctypes.PyDLL`` with ``py_object`` arguments:
  the arrays' objects are passed as they are and the code reads each one's data pointer
  from the array object (the ``data`` field of NumPy's ``PyArrayObject_fields``, at an
  offset measured when this module is imported). It converts no argument and holds the
  GIL: one call on small arrays costs about as much as one NumPy ufunc call.
- ``gg_range(addresses, lo, count, sums)``, through ``ctypes.CDLL`` (the GIL released),
  for the blocks of a large call, on ``numpy_exec``'s threads; each block's sums come back
  in double (int64 sums in its bits) and are added in block order.
"""

from __future__ import annotations

import ctypes
import math
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy

from .. import fp_errors
from . import native_exec, numpy_exec
from .fusion import FusionUnsupported, Resolved, Step, broadcast_plan, reduced_value

__all__ = [
    "CTYPES",
    "DATA_OFFSET",
    "FLAGS",
    "HOST_PRELUDE",
    "MATH",
    "CpuFusedKernel",
    "accumulator",
    "build",
    "convert",
    "cpu_source",
    "expression",
    "literal",
    "node_statements",
    "uniform_ids",
]

CTYPES = {"float32": "float", "float64": "double", "int64": "long long", "bool": "bool"}
_FLOATS = ("float32", "float64")
_FLOAT_FUNCTIONS = {
    "exp": "exp",
    "log": "log",
    "log1p": "log1p",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "tanh": "tanh",
    "floor": "floor",
    "ceil": "ceil",
    "abs": "fabs",
}
VECTOR_MATH = ("exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh")
"""The one-argument functions libmvec (glibc 2.35+, x86-64) has in vector form; ``pow``
has one too."""

MATH = r"""
#ifndef GG_COSF
#define GG_COSF cosf
#define GG_COS cos
#endif
#define GG_DEFINE_MATH(name, f, d) \
    GG_FN float gg_##name(float x) { return f(x); } \
    GG_FN double gg_##name(double x) { return d(x); }
GG_DEFINE_MATH(exp, expf, exp)
GG_DEFINE_MATH(log, logf, log)
GG_DEFINE_MATH(log1p, log1pf, log1p)
GG_DEFINE_MATH(expm1, expm1f, expm1)
GG_DEFINE_MATH(sqrt, sqrtf, sqrt)
GG_DEFINE_MATH(sin, sinf, sin)
GG_DEFINE_MATH(cos, GG_COSF, GG_COS)
GG_DEFINE_MATH(tan, tanf, tan)
GG_DEFINE_MATH(tanh, tanhf, tanh)
GG_DEFINE_MATH(floor, floorf, floor)
GG_DEFINE_MATH(ceil, ceilf, ceil)
GG_DEFINE_MATH(fabs, fabsf, fabs)
GG_FN float gg_pow(float x, float y) { return powf(x, y); }
GG_FN double gg_pow(double x, double y) { return pow(x, y); }
// NumPy's power by a uniform exponent of 0.5 is its sqrt (sqrt(-0.0) = -0.0, sqrt(-inf) = nan).
template <typename T> GG_FN T gg_pow_uniform(T x, T y) {
    return y == T(0.5) ? gg_sqrt(x) : gg_pow(x, y);
}
// NumPy's maximum / minimum: a NaN in either argument propagates; of equal values the
// second is returned (maximum(-0.0, 0.0) is 0.0).
// Written so that GCC vectorizes them: no x != x test of a computed value (that stops the
// loop's vectorization), and the arm taken where a and b are unordered, a + (b - b), is a
// itself elsewhere (every arm is computed for every element, and GCC may move a later
// log() into the arms: an arm such as a + b, negative for most elements, sent libmvec's
// log to its slow scalar path, 10x slower).
template <typename T> GG_FN T gg_maximum(T a, T b) {
    return (a <= b) ? b : ((a > b) ? a : a + (b - b));
}
template <typename T> GG_FN T gg_minimum(T a, T b) {
    return (a >= b) ? b : ((a < b) ? a : a + (b - b));
}
// The same by a number that is not NaN: two arms.
template <typename T> GG_FN T gg_maximum_number(T a, T b) { return (a <= b) ? b : a; }
template <typename T> GG_FN T gg_minimum_number(T a, T b) { return (a >= b) ? b : a; }
// clamp's and relu's bounds: of equal values the first (the input) is returned, as
// PyTorch's clamp keeps its input (clamp(-0.0, min=0.0) is -0.0) and the backend's clamp.
template <typename T> GG_FN T gg_clamp_min(T a, T b) {
    return (a < b) ? b : ((a >= b) ? a : a + (b - b));
}
template <typename T> GG_FN T gg_clamp_max(T a, T b) {
    return (a > b) ? b : ((a <= b) ? a : a + (b - b));
}
template <typename T> GG_FN T gg_clamp_min_number(T a, T b) { return (a < b) ? b : a; }
template <typename T> GG_FN T gg_clamp_max_number(T a, T b) { return (a > b) ? b : a; }
// gpugrad's sign: sign(nan) = 0, sign(-0.0) = 0.
template <typename T> GG_FN T gg_sign(T a) { return a > T(0) ? T(1) : (a < T(0) ? T(-1) : T(0)); }
// int64 arithmetic wraps around, as NumPy's does (signed overflow is undefined in C).
GG_FN long long gg_iadd(long long a, long long b) {
    return (long long)((unsigned long long)a + (unsigned long long)b);
}
GG_FN long long gg_isub(long long a, long long b) {
    return (long long)((unsigned long long)a - (unsigned long long)b);
}
GG_FN long long gg_imul(long long a, long long b) {
    return (long long)((unsigned long long)a * (unsigned long long)b);
}
GG_FN long long gg_ineg(long long a) { return (long long)(0ull - (unsigned long long)a); }
GG_FN long long gg_iabs(long long a) { return a < 0 ? gg_ineg(a) : a; }
// NumPy's float to int64 cast on x86-64: NaN and out-of-range values give INT64_MIN.
GG_FN long long gg_to_int64(double x) {
    return ((x >= -9223372036854775808.0) & (x < 9223372036854775808.0))
        ? (long long)x : (long long)0x8000000000000000ull;
}
"""

HOST_PRELUDE = (
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
    + "".join(f"GG_VEC float {f}f(float);\nGG_VEC double {f}(double);\n" for f in VECTOR_MATH)
    + r"""GG_VEC float powf(float, float);
GG_VEC double pow(double, double);
float sqrtf(float); double sqrt(double);
float floorf(float); double floor(double);
float ceilf(float); double ceil(double);
float fabsf(float); double fabs(double);
// cos under a name GCC does not know: it merges sin(x) and cos(x) of one x (a forward's sin
// and its backward's cos) into sincos(), which has no vector form, and the whole loop then
// runs scalar (a 100-op sin/exp chain's forward and backward: 620 us on 1,000 float32
// where the vector loop takes 90 us).
GG_VEC __attribute__((const)) float gg_cosf_unmerged(float) __asm__("cosf");
GG_VEC __attribute__((const)) double gg_cos_unmerged(double) __asm__("cos");
}
#define GG_COSF gg_cosf_unmerged
#define GG_COS gg_cos_unmerged
#define GG_FN static inline
static volatile double gg_zero_storage = 0.0;
#define GG_ZERO gg_zero_storage
#define GG_INF __builtin_inf()
#define GG_NAN __builtin_nan("")
"""
    + MATH
)
"""What every CPU source starts with (and the host build of a CUDA loop, in the tests)."""


def literal(value: Any, dtype: str) -> str:
    """The C expression of the Python number ``value`` converted to ``dtype`` as NumPy
    converts it (a float32 constant is the float32 nearest the number)."""
    if dtype == "bool":
        return "true" if bool(value) else "false"
    if dtype == "int64":
        if isinstance(value, float):
            raise FusionUnsupported(f"the float constant {value!r} in int64 arithmetic")
        return f"((long long){int(value) % (1 << 64)}ull)"
    with numpy.errstate(all="ignore"):
        number = float(numpy.asarray(value).astype(dtype))
    ctype = CTYPES[dtype]
    if math.isnan(number):
        text = "GG_NAN"
    elif math.isinf(number):
        text = "GG_INF" if number > 0 else "(-GG_INF)"
    else:
        text = repr(number)
    return f"(({ctype}){text})"


def convert(expr: str, source: str, target: str) -> str:
    """``expr`` of dtype ``source`` cast to ``target`` as NumPy's ``astype`` casts."""
    if source == target:
        return expr
    if target == "bool":
        return f"({expr} != 0)"
    if target == "int64" and source in _FLOATS:
        return f"gg_to_int64((double){expr})"
    if source == "int64" and target in _FLOATS:
        # + gg_zero (+0.0, unknown to the compiler): GCC (with -fno-trapping-math) folds
        # float -> int64 -> float into trunc(), which keeps the sign of -0.3, where an
        # int64 0 converts to +0.0; a literal + 0.0 it drops, proving (float)int not -0.
        return f"(({CTYPES[target]}){expr} + ({CTYPES[target]})gg_zero)"
    return f"(({CTYPES[target]}){expr})"


def _operand(resolved: Resolved, steps_before: int, a: int, compute: str) -> str:
    """Operand id ``a`` as an expression of dtype ``compute``; a constant is written in
    ``compute`` from its Python number."""
    first = len(resolved.program.inputs)
    if a >= first:
        step = resolved.steps[a - first]
        if step.op == "const":
            return literal(step.constant, compute)
    return convert(f"v{a}", resolved.dtypes[a], compute)


def _number_id(resolved: Resolved, a: int) -> bool:
    """Whether id ``a`` is a constant that is not NaN."""
    first = len(resolved.program.inputs)
    if a < first:
        return False
    step = resolved.steps[a - first]
    return step.op == "const" and not math.isnan(step.constant)


def expression(resolved: Resolved, me: int, step: Step, flags: list[bool]) -> str:
    """The C expression of node ``me`` (of ``step``), in the node's dtype; ``flags`` tell
    which ids are uniform (``uniform_ids``)."""
    op, ct = step.op, step.compute
    if op == "const":
        return literal(step.constant, step.dtype)
    if op == "cast":
        return convert(f"v{step.args[0]}", ct, step.dtype)
    if op in ("logical_not", "logical_and", "logical_or"):
        a = [_operand(resolved, me, x, "bool") for x in step.args]
        text = {
            "logical_not": "(!{0})",
            "logical_and": "({0} & {1})",
            "logical_or": "({0} | {1})",
        }
        return text[op].format(*a)
    if op == "where":
        c = _operand(resolved, me, step.args[0], "bool")
        a, b = (_operand(resolved, me, x, ct) for x in step.args[1:])
        return convert(f"({c} ? {a} : {b})", ct, step.dtype)
    a = [_operand(resolved, me, x, ct) for x in step.args]
    comparisons = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
    if op in comparisons:
        return f"({a[0]} {comparisons[op]} {a[1]})"
    t = CTYPES[ct]
    integer = ct == "int64"
    if op == "clip":
        x = a[0]
        if len(a) == 1:
            lo, hi = (None if b is None else literal(b, ct) for b in step.constant)
            numbers = tuple(b is None or not math.isnan(b) for b in step.constant)
        else:
            lo, hi = a[1], a[2]
            numbers = (_number_id(resolved, step.args[1]), _number_id(resolved, step.args[2]))
        if lo is not None:
            x = f"gg_clamp_min{'_number' if numbers[0] else ''}<{t}>({x}, {lo})"
        if hi is not None:
            x = f"gg_clamp_max{'_number' if numbers[1] else ''}<{t}>({x}, {hi})"
        return convert(x, ct, step.dtype)
    if integer and op in ("add", "sub", "mul"):
        text = f"gg_i{op}({a[0]}, {a[1]})"
    elif integer and op in ("neg", "square", "abs"):
        text = {"neg": "gg_ineg({0})", "square": "gg_imul({0}, {0})", "abs": "gg_iabs({0})"}[
            op
        ].format(a[0])
    elif ct in ("int64", "bool") and op in ("floor", "ceil", "abs"):
        text = a[0]
    elif op in ("add", "sub", "mul", "div"):
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
        text = f"({a[0]} {symbol} {a[1]})"
    elif op in ("maximum", "minimum"):
        number = "_number" if _number_id(resolved, step.args[1]) else ""
        text = f"gg_{op}{number}<{t}>({a[0]}, {a[1]})"
    elif op == "sign":
        text = f"gg_sign<{t}>({a[0]})"
    elif op == "neg":
        text = f"(-{a[0]})"
    elif op == "square":
        text = f"({a[0]} * {a[0]})"
    elif op == "reciprocal":
        text = f"({t}(1) / {a[0]})"
    elif op == "relu":
        text = f"gg_clamp_min_number<{t}>({a[0]}, {t}(0))"
    elif op == "rsqrt":
        text = f"({t}(1) / gg_sqrt({a[0]}))"
    elif op == "sigmoid_backward":
        text = f"({a[0]} * {a[1]} * ({t}(1) - {a[1]}))"
    elif op == "sigmoid":
        text = f"({t}(1) / ({t}(1) + gg_exp(-{a[0]})))"
    elif op == "pow":
        uniform = flags[step.args[1]]
        text = f"gg_pow_uniform<{t}>({a[0]}, {a[1]})" if uniform else f"gg_pow({a[0]}, {a[1]})"
    elif op in _FLOAT_FUNCTIONS:
        text = f"gg_{_FLOAT_FUNCTIONS[op]}({a[0]})"
    else:  # pragma: no cover - resolve() admits only the ops above
        raise FusionUnsupported(f"op {op!r} has no C lowering")
    return convert(text, ct, step.dtype)


def uniform_ids(resolved: Resolved, pattern: tuple[bool, ...]) -> list[bool]:
    """Per id, whether its value is the same at every element under ``pattern``."""
    flags = list(pattern)
    for step in resolved.steps:
        flags.append(step.op == "const" or all(flags[a] for a in step.args))
    return flags


def node_statements(resolved: Resolved, pattern: tuple[bool, ...]) -> tuple[list[str], list[str]]:
    """The statements computing every node under ``pattern``: those computed once (uniform
    values) and those computed per element."""
    flags = uniform_ids(resolved, pattern)
    first = len(resolved.program.inputs)
    once, each = [], []
    for k, step in enumerate(resolved.steps):
        me = first + k
        line = f"const {CTYPES[step.dtype]} v{me} = {expression(resolved, me, step, flags)};"
        (once if flags[me] else each).append(line)
    return once, each


def accumulator(resolved: Resolved, k: int) -> tuple[str, str]:
    """The C type of output ``k``'s running sum and the value added per element."""
    o = resolved.program.outputs[k]
    if resolved.result_dtype(k) in _FLOATS:
        return "double", f"(double)v{o}"
    return "unsigned long long", f"(unsigned long long)v{o}"


PAD = 16
"""As ``native_source.PAD``: a call's last ``n % PAD`` elements run through the vector
code in padded buffers."""


def cpu_source(resolved: Resolved, pattern: tuple[bool, ...], data_offset: int) -> str:
    """The C++ translation unit of ``resolved`` for inputs broadcast as ``pattern``."""
    program = resolved.program
    first = len(program.inputs)
    full = [i for i in range(first) if not pattern[i]]
    plain = [k for k, r in enumerate(resolved.reductions) if r is None]
    summed = [k for k, r in enumerate(resolved.reductions) if r is not None]
    once, each = node_statements(resolved, pattern)
    params = [f"const {CTYPES[d]}* __restrict__ p{i}" for i, d in enumerate(program.inputs)]
    params += [f"{CTYPES[resolved.dtypes[program.outputs[k]]]}* __restrict__ q{k}" for k in plain]
    params += ["double* __restrict__ gg_sums", "const long long n"]
    uniform_loads = ["const double gg_zero = GG_ZERO;"]
    uniform_loads += [
        f"const {CTYPES[program.inputs[i]]} v{i} = p{i}[0];" for i in pattern_ids(pattern, True)
    ]
    # float64 values are summed with Kahan's compensation (per vector lane; the lanes'
    # sums and compensations are added at the end): a plain double sum of n float64 values
    # errs by up to n ulps, NumPy's pairwise sum by log(n)
    compensated = [k for k in summed if resolved.dtypes[program.outputs[k]] == "float64"]
    accs = [f"{accumulator(resolved, k)[0]} a{k} = 0;" for k in summed]
    accs += [f"double c{k} = 0; double s{k} = 0;" for k in compensated]
    reduced = [f"a{k}" for k in summed] + [f"c{k}, s{k}" for k in compensated]
    clause = f"reduction(+ : {', '.join(reduced)})" if summed else ""

    def add(k: int) -> str:
        value = accumulator(resolved, k)[1]
        if k not in compensated:
            return f"a{k} += {value};"
        return (
            f"{{ const double x = {value}; const double y = x - c{k}; "
            f"const double t = a{k} + y; c{k} = (t - a{k}) - y; a{k} = t; s{k} += x; }}"
        )

    def loop(count: str, at: str, real: str) -> str:
        loads = " ".join(
            f"const {CTYPES[program.inputs[i]]} v{i} = {at.format(f'p{i}')};" for i in full
        )
        stores = " ".join(f"{at.format(f'q{k}')} = v{program.outputs[k]};" for k in plain)
        adds = " ".join(add(k) for k in summed)
        if adds and real != "true":
            adds = f"if ({real}) {{ {adds} }}"
        body = "\n        ".join(each)
        return f"""
#pragma omp simd {clause}
    for (long long i = 0; i < {count}; ++i) {{
        {loads}
        {body}
        {stores} {adds}
    }}"""

    pads = " ".join(
        [f"{CTYPES[program.inputs[i]]} p{i}_pad[PAD];" for i in full]
        + [f"{CTYPES[resolved.dtypes[program.outputs[k]]]} q{k}_pad[PAD];" for k in plain]
    )
    fill = " ".join(f"p{i}_pad[j] = p{i}[gg_main + gg_k];" for i in full)
    back = " ".join(f"q{k}[gg_main + j] = q{k}_pad[j];" for k in plain)
    # the plain sum s where it is inf or nan (the compensation is nan there)
    sums_out = " ".join(f"a{k} = (s{k} - s{k} == 0) ? a{k} - c{k} : s{k};" for k in compensated)
    sums_out += " ".join(
        f"__builtin_memcpy(&gg_sums[{j}], &a{k}, 8);" for j, k in enumerate(summed)
    )
    core = f"""
static inline void gg_core({", ".join(params)}) {{
    {" ".join(uniform_loads)}
    {chr(10).join("    " + s for s in once).strip()}
    {" ".join(accs)}
    const long long gg_main = n - n % PAD;{loop("gg_main", "{}[i]", "true")}
    const long long gg_rest = n - gg_main;
    if (gg_rest > 0) {{
        {pads}
        for (long long j = 0; j < PAD; ++j) {{
            const long long gg_k = j < gg_rest ? j : gg_rest - 1;
            {fill}
        }}{loop("PAD", "{}_pad[i]", "i < gg_rest")}
        for (long long j = 0; j < gg_rest; ++j) {{ {back} }}
    }}
    {sums_out}
}}
"""
    nin, nout = len(program.inputs), len(plain)
    ranged_args = [
        f"(const {CTYPES[d]}*)gg_ptrs[{i}]" + ("" if pattern[i] else " + lo")
        for i, d in enumerate(program.inputs)
    ]
    ranged_args += [
        f"({CTYPES[resolved.dtypes[program.outputs[k]]]}*)gg_ptrs[{nin + j}] + lo"
        for j, k in enumerate(plain)
    ]
    small_params = [f"void* a{i}" for i in range(nin)] + [f"void* o{j}" for j in range(nout)]
    small_params += [f"void* r{j}" for j in range(len(summed))] + ["const long long n"]
    small_args = [f"(const {CTYPES[d]}*)GG_DATA(a{i})" for i, d in enumerate(program.inputs)]
    small_args += [
        f"({CTYPES[resolved.dtypes[program.outputs[k]]]}*)GG_DATA(o{j})"
        for j, k in enumerate(plain)
    ]
    finals = []
    for j, k in enumerate(summed):
        dtype = resolved.result_dtype(k)
        if dtype in _FLOATS:
            value = f"gg_s[{j}]"
            if resolved.reductions[k] == "mean":
                value = f"({value} / (double)n)"
            finals.append(f"*({CTYPES[dtype]}*)GG_DATA(r{j}) = ({CTYPES[dtype]}){value};")
        else:
            finals.append(f"__builtin_memcpy(GG_DATA(r{j}), &gg_s[{j}], 8);")
    return f"""// gpugrad fused elementwise program, generated by backends/kernels/fusion_c.py
{HOST_PRELUDE}
#define PAD {PAD}
#define GG_DATA(o) (*(char**)((char*)(o) + {data_offset}))
{core}
extern "C" void gg_range(const long long* gg_ptrs, const long long lo, const long long n,
                         double* gg_sums) {{
    gg_core({", ".join([*ranged_args, "gg_sums", "n"])});
}}
extern "C" void gg_small({", ".join(small_params)}) {{
    double gg_s[{max(1, len(summed))}];
    gg_core({", ".join([*small_args, "gg_s", "n"])});
    {" ".join(finals)}
}}
"""


def pattern_ids(pattern: tuple[bool, ...], uniform: bool) -> list[int]:
    """The inputs that ``pattern`` reads as one element (``uniform``) or as full arrays."""
    return [i for i, u in enumerate(pattern) if u == uniform]


# --- building ------------------------------------------------------------------------------
FLAGS = (*native_exec.FLAGS, "-ffp-contract=off", "-fno-tree-sink")
"""``-fno-tree-sink``: GCC 12's sinking pass moves a long loop's values into the arms of
its conditionals (a clamp's backward ``where``), and the control flow it leaves stops the
loop's vectorization."""


def build(source: str) -> Path:
    """The shared library of ``source``, built into the native kernels' cache directory
    unless a build of the same source, flags, compiler and processor is there."""
    return native_exec.build_cached(source, "fused", FLAGS, "fused kernel")


def _data_offset() -> int | None:
    """Where a NumPy array object holds its data pointer (``PyArrayObject_fields.data``,
    right after the object header), checked on two arrays; None if not found (then small
    calls pass addresses through ``gg_range`` instead)."""
    probes = [numpy.arange(3.0), numpy.zeros((2, 2), numpy.float32)]
    for offset in (16, 24, 32):
        if all(ctypes.c_void_p.from_address(id(x) + offset).value == x.ctypes.data for x in probes):
            return offset
    return None


DATA_OFFSET = _data_offset()


class _Built:
    """One pattern's library: its two entry points."""

    def __init__(self, path: Path, nargs: int) -> None:
        ranged = ctypes.CDLL(str(path)).gg_range
        ranged.argtypes = (ctypes.c_void_p, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_void_p)
        ranged.restype = None
        self.ranged = ranged
        small = ctypes.PyDLL(str(path)).gg_small
        small.argtypes = (ctypes.py_object,) * nargs + (ctypes.c_longlong,)
        small.restype = None
        self.small = small


class CpuFusedKernel:
    """A program compiled for the CPU: ``kernel(*arrays)`` -> tuple of arrays."""

    def __init__(self, resolved: Resolved, backend: Any) -> None:
        self.resolved = resolved
        program = resolved.program
        self.in_dtypes = tuple(numpy.dtype(d) for d in program.inputs)
        self.outputs = []  # per output: (dtype, reduction kind)
        for k, kind in enumerate(resolved.reductions):
            dtype = (
                resolved.dtypes[program.outputs[k]] if kind is None else resolved.result_dtype(k)
            )
            self.outputs.append((numpy.dtype(dtype), kind))
        self.plain = [k for k, (_, kind) in enumerate(self.outputs) if kind is None]
        self.summed = [k for k, (_, kind) in enumerate(self.outputs) if kind is not None]
        self._plans: dict[tuple, tuple] = {}
        self._fast: dict[tuple, tuple] = {}
        self._built: dict[tuple[bool, ...], _Built] = {}
        self._lock = threading.Lock()
        self._call_small = DATA_OFFSET is not None
        self.backend = backend
        self._fallback: Any = None

    def source(self, pattern: tuple[bool, ...]) -> str:
        """The C++ source for ``pattern`` (per input: one element, or the full shape)."""
        return cpu_source(self.resolved, pattern, DATA_OFFSET or 16)

    def _library(self, pattern: tuple[bool, ...]) -> _Built:
        built = self._built.get(pattern)
        if built is None:
            with self._lock:
                built = self._built.get(pattern)
                if built is None:
                    path = build(self.source(pattern))
                    nargs = len(self.in_dtypes) + len(self.outputs)
                    built = self._built[pattern] = _Built(path, nargs)
        return built

    def _without_compiler(self, error: Exception) -> Any:
        """The NumPy engine, from now on, after a failed build (with one warning naming it):
        the results stay right, only slower."""
        if self._fallback is None:
            from .fusion import NumpyFusedKernel

            warnings.warn(
                f"{error}\nfused kernels run their ops one by one (the NumPy engine)",
                RuntimeWarning,
                stacklevel=3,
            )
            self._fallback = NumpyFusedKernel(self.resolved, self.backend)
        return self._fallback

    def _plan(self, shapes: tuple) -> tuple:
        shape, n, pattern = broadcast_plan(self.resolved, shapes)
        copies = [i for i, s in enumerate(shapes) if not pattern[i] and s != shape]
        full = [i for i in range(len(shapes)) if not pattern[i]]
        plan = (shape, n, pattern, full, copies)
        self._plans[shapes] = plan
        return plan

    def __call__(self, *arrays: Any) -> tuple:
        """The outputs on ``arrays``. Small arrays of the inputs' dtypes, C-contiguous
        where full, with shapes seen before, take the short path: one dictionary look-up,
        the outputs' ``numpy.empty`` and one call."""
        fast = self._fast.get(tuple([x.shape for x in arrays]))
        if fast is not None:
            small, n, full, plain, summed, order = fast
            for i, d in enumerate(self.in_dtypes):
                x = arrays[i]
                if type(x) is not numpy.ndarray:
                    if not isinstance(x, numpy.generic) or x.dtype is not d:
                        break
                    arrays = (*arrays[:i], numpy.asarray(x), *arrays[i + 1 :])  # 0-d data
                elif x.dtype is not d:
                    break
            else:
                for i in full:
                    if not arrays[i].flags.c_contiguous:
                        break
                else:
                    outs = [numpy.empty(shape, d) for shape, d in plain]
                    sums = [numpy.empty((), d) for d in summed]
                    small(*arrays, *outs, *sums, n)
                    if order is None:
                        return (*outs, *sums)
                    both = outs + sums
                    return tuple([both[j] for j in order])
        return self._call(arrays)

    def _call(self, arrays: tuple) -> tuple:
        in_dtypes = self.in_dtypes
        if len(arrays) != len(in_dtypes):
            raise TypeError(f"the fused kernel takes {len(in_dtypes)} arrays, got {len(arrays)}")
        xs = list(arrays)
        for i, x in enumerate(xs):
            if type(x) is not numpy.ndarray:
                x = xs[i] = numpy.asarray(x)
            if x.dtype is not in_dtypes[i] and x.dtype != in_dtypes[i]:
                token = fp_errors.set_state(fp_errors.IGNORE)
                try:
                    xs[i] = x.astype(in_dtypes[i])
                finally:
                    fp_errors.reset_state(token)
        shapes = tuple([x.shape for x in xs])
        plan = self._plans.get(shapes) or self._plan(shapes)
        shape, n, pattern, full, copies = plan
        for i in copies:
            xs[i] = numpy.ascontiguousarray(numpy.broadcast_to(xs[i], shape))
        for i in full:
            if not xs[i].flags.c_contiguous:
                xs[i] = numpy.ascontiguousarray(xs[i])
        if n == 0:
            return self._empty(shape)
        built = self._built.get(pattern)
        if built is None:
            try:
                built = self._library(pattern)
            except native_exec.NativeBuildError as error:
                return self._without_compiler(error)(*xs)
        outputs = self.outputs
        if n <= numpy_exec.BLOCK and self._call_small:
            if not copies:
                self._remember(shapes, built, shape, n, full)
            outs = [numpy.empty(shape if kind is None else (), dtype) for dtype, kind in outputs]
            plain = [outs[k] for k in self.plain]
            summed = [outs[k] for k in self.summed]
            built.small(*xs, *plain, *summed, n)
            return tuple(outs)
        return self._blocked(built, xs, shape, n)

    def _remember(self, shapes: tuple, built: _Built, shape: tuple, n: int, full: list) -> None:
        """The short path's entry for inputs of ``shapes``."""
        plain = [(shape, self.outputs[k][0]) for k in self.plain]
        summed = [self.outputs[k][0] for k in self.summed]
        placed = self.plain + self.summed
        order = None if placed == sorted(placed) else [placed.index(k) for k in range(len(placed))]
        self._fast[shapes] = (built.small, n, tuple(full), plain, summed, order)

    def _empty(self, shape: tuple[int, ...]) -> tuple:
        return tuple(
            numpy.empty(shape, dtype) if kind is None else reduced_value(0, kind, 0, dtype.name)
            for dtype, kind in self.outputs
        )

    def _blocked(self, built: _Built, xs: list[Any], shape: tuple[int, ...], n: int) -> tuple:
        plain = {k: numpy_exec.outputs.empty(n, self.outputs[k][0]) for k in self.plain}
        nsum = max(1, len(self.summed))
        nblocks = numpy_exec.block_count(n)
        sums = numpy.zeros((nblocks, nsum), numpy.float64)
        pointers = numpy.array(
            [x.ctypes.data for x in xs] + [plain[k].ctypes.data for k in self.plain], numpy.int64
        )
        address = pointers.ctypes.data
        sums0 = sums.ctypes.data
        ranged = built.ranged
        block = numpy_exec.BLOCK

        def work(blocks) -> bool:
            for b in blocks:
                lo = b * block
                ranged(address, lo, min(block, n - lo), sums0 + b * nsum * 8)
            return False

        numpy_exec.in_blocks(n, work)
        results = []
        for k, (dtype, kind) in enumerate(self.outputs):
            if kind is None:
                results.append(numpy_exec.shaped(plain[k], shape))
                continue
            column = sums[:, self.summed.index(k)]
            if dtype.kind == "f":
                results.append(reduced_value(math.fsum(column), kind, n, dtype.name))
            else:
                total = numpy.add.reduce(column.view(numpy.int64), dtype=numpy.int64)
                results.append(numpy.asarray(total, numpy.int64))
        return tuple(results)
