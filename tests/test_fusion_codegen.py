"""The fused elementwise kernel generator (``backends/kernels/fusion*.py``) against the same
programs run op by op through the backend's methods (what eager gpugrad computes).

Random programs (DAGs of 1-40 nodes over every supported op, float32/float64 inputs,
single-element inputs broadcast, special values: nan, +-inf, +-0, huge, subnormal) run
through the C engine, the NumPy engine and, on the host, the CUDA kernel's loop; each
CUDA source is compiled by NVRTC where ``cuda.bindings`` is installed, and run through
CuPy on a GPU. Two checks: programs of correctly rounded ops equal eager exactly; in
every program, each node's value equals its op applied by the backend to the values the
kernel computed for its operands, within a few ulps (the math libraries differ: libmvec
and CUDA's against NumPy's own loops), so errors do not compound along a chain.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import subprocess
import warnings
from types import SimpleNamespace

import numpy
import pytest

from gpugrad import backends
from gpugrad.backends.kernels import fusion, fusion_c, fusion_cuda, native_exec, nvrtc
from gpugrad.backends.kernels.fusion import (
    ElementwiseProgram,
    FusionUnsupported,
    compile_elementwise,
    fusion_supported_ops,
)

CPU = backends.get("cpu")
HAS_CXX = fusion.fusion_engine(CPU) == "c"
needs_cxx = pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler: the C engine is not used")

FLOAT_UNARY = (
    *("neg", "exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "sin", "cos", "tan"),
    *("tanh", "sigmoid", "floor", "ceil", "square", "reciprocal", "relu", "rsqrt"),
)
BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "pow", "sigmoid_backward")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
EXACT = frozenset(
    (*("add", "sub", "mul", "div", "neg", "abs", "sign", "floor", "ceil", "square"),)
    + (*("reciprocal", "maximum", "minimum", "sqrt", "where", "clip", "cast", "const"),)
    + (*("relu", "rsqrt", "sigmoid_backward"),)
    + (*COMPARE, "logical_not", "logical_and", "logical_or")
)
"""Ops whose results are correctly rounded (or exact): eager and fused agree bit for bit."""
SPECIAL = (numpy.nan, numpy.inf, -numpy.inf, 0.0, -0.0, 1e30, -1e30, 1e300, 1e-40, 1e-310, 0.5)


def eager(op: str, args: list, constant, dtype: str):
    """One node run by the CPU backend's own methods (``args``: arrays or, for a constant
    operand, its Python number)."""
    b = CPU
    if op == "const":
        return constant
    if op == "cast":
        return numpy.asarray(args[0]).astype(dtype)
    if op == "square":
        return b.mul(args[0], args[0])
    if op == "clip":
        lo, hi = constant if len(args) == 1 else args[1:]
        return b.clamp(args[0], lo, hi)
    return getattr(b, op)(*args)


def run_eager(program: ElementwiseProgram, arrays: list) -> list:
    values = list(arrays)
    with numpy.errstate(all="ignore"):
        for op, args, dtype, constant in program.nodes:
            value = eager(op, [values[a] for a in args], constant, dtype)
            if op != "const":
                assert numpy.asarray(value).dtype == dtype, (op, dtype)
            values.append(value)
    return values


def _result_dtype(op, operand_values, constant):
    with numpy.errstate(all="ignore"):
        return numpy.asarray(eager(op, operand_values, constant, "float64")).dtype.name


def random_program(rng: numpy.random.Generator, dtype: str, nodes: int, exact: bool = False):
    """A random DAG of ``nodes`` ops over 1-3 inputs of ``dtype``; each node's dtype is
    the one eager computes (found by running the op on samples, as a tracer records it)."""
    n_inputs = int(rng.integers(1, 4))
    inputs = [dtype] * n_inputs
    if rng.random() < 0.3:
        inputs.append("bool")
    samples = [numpy.ones(2, d) for d in inputs]
    kinds = {i: inputs[i] for i in range(len(inputs))}
    consts: dict[int, object] = {}
    out_nodes = []

    def pick(want, constants=True):
        pool = [i for i, d in kinds.items() if d in want and (constants or i not in consts)]
        return int(rng.choice(pool)) if pool else None

    floats = ("float32", "float64")
    unary = [o for o in FLOAT_UNARY if not exact or o in EXACT]
    binary = [o for o in BINARY if not exact or o in EXACT]
    while len(out_nodes) < nodes:
        r = rng.random()
        constant = None
        if r < 0.45:
            op = str(rng.choice(unary))
            args = (pick(floats, constants=False),)
        elif r < 0.70:
            op = str(rng.choice(binary))
            args = (pick(floats, constants=False), pick(floats))
            if op == "sigmoid_backward":  # the backend's takes two arrays of one dtype
                args = (args[0], pick((kinds[args[0]],), constants=False))
            if op == "pow" and rng.random() < 0.5:  # a constant exponent, often NumPy's 0.5
                value = float(rng.choice([0.5, 2.0, -1.0, 3.0, 0.25]))
                out_nodes.append(("const", (), "float64", value))
                me = len(inputs) + len(out_nodes) - 1
                kinds[me], consts[me] = "float64", value
                samples.append(value)
                args = (args[0], me)
        elif r < 0.78:
            op = str(rng.choice(COMPARE))
            args = (pick(floats, constants=False), pick(floats))
        elif r < 0.83:
            op = "where"
            cond = pick(("bool",))
            if cond is None:
                continue
            args = (cond, pick(floats, constants=False), pick(floats))
        elif r < 0.87:
            op = "clip"
            if rng.random() < 0.5:
                args = (pick(floats, constants=False),)
                lo = float(rng.choice([-1.0, 1e-7, -numpy.inf])) if rng.random() < 0.8 else None
                hi = float(rng.choice([1.0, 1 - 1e-7, 10.0])) if rng.random() < 0.8 else None
                constant = (lo, hi)
            else:
                args = (pick(floats, constants=False), pick(floats), pick(floats))
        elif r < 0.91:
            op = "const"
            args = ()
            constant = float(rng.choice([1.0, -2.5, 0.1, 1e-7, 3.0, numpy.inf, -0.0]))
        elif r < 0.95:
            op = str(rng.choice(["logical_not", "logical_and", "logical_or"]))
            a = pick(("bool",))
            if a is None:
                continue
            args = (a,) if op == "logical_not" else (a, pick(("bool",)))
        else:
            op = "cast"
            args = (pick(floats + ("bool",), constants=False),)
            target = str(rng.choice(["float32", "float64", "bool", "int64"]))
            out_nodes.append(("cast", args, target, None))
            me = len(inputs) + len(out_nodes) - 1
            kinds[me] = target
            samples.append(numpy.asarray(samples[args[0]]).astype(target))
            if target == "int64":  # back to a float, as gradients would be
                out_nodes.append(("cast", (me,), dtype, None))
                kinds[me + 1] = dtype
                samples.append(numpy.asarray(samples[me]).astype(dtype))
            continue
        operand_values = [consts.get(a, samples[a]) if a in consts else samples[a] for a in args]
        result = _result_dtype(op, operand_values, constant) if op != "const" else "float64"
        out_nodes.append((op, args, result, constant))
        me = len(inputs) + len(out_nodes) - 1
        kinds[me] = result
        if op == "const":
            consts[me] = constant
            samples.append(constant)
        else:
            with numpy.errstate(all="ignore"):
                samples.append(numpy.asarray(eager(op, operand_values, constant, result)))
    return tuple(inputs), tuple(out_nodes)


def every_node(inputs, nodes, reductions=False) -> ElementwiseProgram:
    """The program returning every node that is not a constant (and, with ``reductions``,
    the sum of the last float node)."""
    first = len(inputs)
    outs = [first + i for i, n in enumerate(nodes) if n[0] != "const"]
    reds = [None] * len(outs)
    if reductions:
        last = next(
            (
                first + i
                for i in reversed(range(len(nodes)))
                if nodes[i][2] in FLOATS and i + first in outs
            ),
            None,
        )
        if last is not None:  # a node returned elementwise too, to check the sums against
            outs += [last, last]
            reds += ["sum", "mean"]
    return ElementwiseProgram(inputs, nodes, tuple(outs), tuple(reds))


FLOATS = ("float32", "float64")


def random_inputs(rng, program: ElementwiseProgram, shape, scalar_mask):
    arrays = []
    for i, d in enumerate(program.inputs):
        s = (() if rng.random() < 0.5 else (1,)) if scalar_mask[i] else shape
        if d == "bool":
            arrays.append(rng.random(s) < 0.5)
            continue
        size = int(numpy.prod(s))
        values = rng.standard_normal(size) * 3
        special = rng.random(size) < 0.2
        values[special] = rng.choice(SPECIAL, int(special.sum()))
        with numpy.errstate(all="ignore"):
            arrays.append(values.astype(d).reshape(s))
    return arrays


def ulp_tolerance(dtype: str) -> dict:
    if dtype == "float32":
        return {"rtol": 4e-6, "atol": 1e-37}
    return {"rtol": 1e-14, "atol": 1e-300}


def check_each_node(program: ElementwiseProgram, arrays: list, got: tuple) -> None:
    """Every node's value against its op applied by the backend to the computed values of
    its operands (uniform operands as 0-d arrays, as eager sees them)."""
    first = len(program.inputs)
    values: dict[int, object] = dict(enumerate(arrays))
    pattern = tuple(numpy.asarray(x).size == 1 for x in arrays)
    uniform = fusion_c.uniform_ids(fusion.resolve(program), pattern)
    for o, r, g in zip(program.outputs, program.reductions or (None,) * len(got), got):
        if r is None and o not in values:
            values[o] = numpy.asarray(g).reshape(-1)[:1].reshape(()) if uniform[o] else g
    for i, (op, args, dtype, constant) in enumerate(program.nodes):
        me = first + i
        if op == "const":
            values[me] = constant
            continue
        operands = [values[a] for a in args]
        with numpy.errstate(all="ignore"):
            expected = numpy.asarray(eager(op, operands, constant, dtype))
        actual = numpy.asarray(got[program.outputs.index(me)])
        expected = numpy.broadcast_to(expected, actual.shape)
        assert actual.dtype == dtype, (op, actual.dtype, dtype)
        if dtype in FLOATS and op not in EXACT:
            numpy.testing.assert_allclose(
                actual, expected, equal_nan=True, err_msg=f"node {me} {op}", **ulp_tolerance(dtype)
            )
        else:
            numpy.testing.assert_array_equal(actual, expected, err_msg=f"node {me} {op}")


def check_reductions(program: ElementwiseProgram, got: tuple) -> None:
    """Each sum (mean) against NumPy's float64 sum of the values returned elementwise,
    within a rounding error relative to the sum of their magnitudes (the order of the
    additions differs)."""
    for k, r in enumerate(program.reductions):
        if r is None:
            continue
        elements = got[program.outputs.index(program.outputs[k])]
        assert got[k].shape == () and got[k].dtype == elements.dtype
        with numpy.errstate(all="ignore"):
            values = elements.astype(numpy.float64)
            total = numpy.sum(values)
            scale = numpy.sum(numpy.abs(values))
            if r == "mean":
                total, scale = total / values.size, scale / values.size
        rounded = numpy.asarray(total).astype(elements.dtype)  # inf where it overflows
        if not numpy.isfinite(rounded):
            numpy.testing.assert_equal(got[k], rounded)
            continue
        eps = 1e-6 if elements.dtype == numpy.float32 else 1e-14
        assert abs(float(got[k]) - total) <= eps * scale + 1e-300, (float(got[k]), total)


SEEDS = range(10)
SHAPES = [(7,), (3, 41), (70_001,)]


def _case(seed: int, exact: bool = False):
    rng = numpy.random.default_rng(seed)
    dtype = FLOATS[seed % 2]
    inputs, nodes = random_program(rng, dtype, int(rng.integers(1, 41)), exact=exact)
    program = every_node(inputs, nodes, reductions=True)
    shape = SHAPES[seed % len(SHAPES)]
    mask = [bool(rng.random() < 0.3) for _ in inputs]
    return program, random_inputs(rng, program, shape, mask)


@needs_cxx
@pytest.mark.parametrize("seed", SEEDS)
def test_c_engine_matches_the_backend_node_by_node(seed):
    program, arrays = _case(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with numpy.errstate(all="raise"):  # no floating-point warning leaks
            got = compile_elementwise(CPU, program, engine="c")(*arrays)
    check_each_node(program, arrays, got)
    check_reductions(program, got)


@pytest.mark.parametrize("engine", ["c", "numpy"])
@pytest.mark.parametrize("seed", range(100, 106))
def test_correctly_rounded_programs_equal_eager_exactly(seed, engine):
    if engine == "c" and not HAS_CXX:
        pytest.skip("no C++ compiler")
    program, arrays = _case(seed, exact=True)
    got = compile_elementwise(CPU, program, engine=engine)(*arrays)
    reference = run_eager(program, arrays)
    for k, o in enumerate(program.outputs):
        if program.reductions[k] is None:
            expected = numpy.broadcast_to(reference[o], got[k].shape)
            numpy.testing.assert_array_equal(got[k], expected)
            assert got[k].dtype == numpy.asarray(reference[o]).dtype
            if got[k].dtype.kind == "f":  # signed zeros too (a NaN's sign is unspecified)
                numbers = ~numpy.isnan(expected)
                numpy.testing.assert_array_equal(
                    numpy.signbit(got[k][numbers]), numpy.signbit(expected[numbers])
                )


@pytest.mark.parametrize("seed", SEEDS)
def test_numpy_engine_matches_the_backend_node_by_node(seed):
    program, arrays = _case(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with numpy.errstate(all="raise"):
            got = compile_elementwise(CPU, program, engine="numpy")(*arrays)
    check_each_node(program, arrays, got)
    check_reductions(program, got)


@pytest.fixture(scope="module")
def cuda_on_host(tmp_path_factory):
    """Every seed's CUDA loop built for the host (one library), by seed."""
    if not HAS_CXX:
        pytest.skip("no C++ compiler")
    cases, parts = {}, [fusion_cuda.HOST_PRELUDE, fusion_c.MATH]
    for seed in SEEDS:
        program, arrays = _case(seed)
        pattern = tuple(numpy.asarray(x).size == 1 for x in arrays)
        resolved = fusion.resolve(program)
        parts.append(fusion_cuda.host_source(resolved, pattern, f"gg_seed{seed}"))
        cases[seed] = (program, arrays, resolved)
    path = tmp_path_factory.mktemp("cuda_host") / "fused_cuda_host.so"
    src = path.with_suffix(".cpp")
    src.write_text("\n".join(parts))
    cxx = native_exec.compiler()
    command = [*cxx, "-O1", "-std=c++14", "-ffp-contract=off", "-shared", "-fPIC"]
    subprocess.run([*command, str(src), "-o", str(path), "-lm"], check=True)
    return ctypes.CDLL(str(path)), cases


@pytest.mark.parametrize("seed", SEEDS)
def test_cuda_loop_on_the_host_matches_the_backend(cuda_on_host, seed):
    library, cases = cuda_on_host
    program, arrays, resolved = cases[seed]
    shape = numpy.broadcast_shapes(*[numpy.shape(x) for x in arrays])
    n = int(numpy.prod(shape))
    ins = [
        numpy.ascontiguousarray(numpy.broadcast_to(x, shape) if numpy.size(x) != 1 else x)
        for x in arrays
    ]
    outs = {
        k: numpy.empty(shape, resolved.dtypes[o])
        for k, (o, r) in enumerate(zip(program.outputs, program.reductions))
        if r is None
    }
    summed = [k for k, r in enumerate(program.reductions) if r is not None]
    sums = numpy.zeros(len(summed))
    fn = getattr(library, f"gg_seed{seed}")
    fn.restype = None
    pointers = [ctypes.c_void_p(x.ctypes.data) for x in ins]
    pointers += [ctypes.c_void_p(outs[k].ctypes.data) for k in sorted(outs)]
    fn(*pointers, ctypes.c_void_p(sums.ctypes.data), ctypes.c_longlong(n))
    got = []
    for k, r in enumerate(program.reductions):
        if r is None:
            got.append(outs[k])
        else:
            value = sums[summed.index(k)] / (n if r == "mean" else 1)
            got.append(numpy.asarray(value, resolved.result_dtype(k)))
    check_each_node(program, arrays, tuple(got))
    check_reductions(program, tuple(got))


class _HostCupy:
    """NumPy posing as CuPy, whose compiled module runs a kernel's host build: checks what
    the CUDA launcher compiles (and with which NVRTC options) and passes, and runs it."""

    uint64, uint32, ndarray = numpy.uint64, numpy.uint32, numpy.ndarray

    def __init__(self, function, resolved, pattern):
        test = self

        def compile_using_nvrtc(code, options=()):
            assert code == fusion_cuda.source(resolved, pattern)
            assert options == fusion_cuda.OPTIONS and "--fmad=false" in options
            assert not any(o.startswith("-ftz=true") for o in options)
            return code.encode(), None  # CuPy 13: (binary, lowered names)

        class Module:
            def load(self, binary):
                self.code = binary.decode()

            def get_function(self, name):
                assert name == "gg_fused"
                return test.launch(self.code, function, resolved)

        self.cuda = SimpleNamespace(
            get_current_stream=lambda: SimpleNamespace(ptr=0),
            compiler=SimpleNamespace(compile_using_nvrtc=compile_using_nvrtc),
            function=SimpleNamespace(Module=Module),
        )

    def __getattr__(self, name):
        return getattr(numpy, name)

    @staticmethod
    def launch(code, function, resolved):
        def run(grid, block, args):
            declared = code.split("gg_fused(", 1)[1].split(")", 1)[0].split(",")
            assert len(args) == len(declared) and type(args[-1]) is numpy.int64
            assert all(a.flags.c_contiguous for a in args[:-1])
            summed = [k for k, r in enumerate(resolved.reductions) if r is not None]
            arrays = list(args[:-1])
            results = arrays[len(arrays) - len(summed) :] if summed else []
            if summed:
                arrays = arrays[: -len(summed) - 2]  # the partials and the ticket counter
            sums = numpy.zeros(max(1, len(summed)))
            pointers = [ctypes.c_void_p(a.ctypes.data) for a in arrays]
            function(*pointers, ctypes.c_void_p(sums.ctypes.data), ctypes.c_longlong(args[-1]))
            for j, k in enumerate(summed):
                if results[j].dtype.kind == "f":
                    value = sums[j] / (int(args[-1]) if resolved.reductions[k] == "mean" else 1)
                else:
                    value = sums[j : j + 1].view(numpy.int64)[0]
                results[j][...] = value

        return run


@pytest.mark.parametrize("seed", SEEDS)
def test_cuda_launcher_passes_what_its_kernel_declares(cuda_on_host, seed):
    library, cases = cuda_on_host
    program, arrays, resolved = cases[seed]
    pattern = tuple(numpy.asarray(x).size == 1 for x in arrays)
    function = getattr(library, f"gg_seed{seed}")
    fake = _HostCupy(function, resolved, pattern)
    backend = SimpleNamespace(name="cupy", xp=fake, cuda_device=contextlib.nullcontext())
    got = compile_elementwise(backend, program)(*arrays)
    check_each_node(program, arrays, got)
    check_reductions(program, got)


@pytest.mark.skipif(not nvrtc.available(), reason="cuda.bindings missing: no NVRTC gate")
def test_every_cuda_source_compiles_with_nvrtc():
    errors = []
    for seed in SEEDS:
        program, arrays = _case(seed)
        resolved = fusion.resolve(program)
        for pattern in {tuple(numpy.size(x) == 1 for x in arrays), (False,) * len(arrays)}:
            text = fusion_cuda.source(resolved, pattern)
            try:
                nvrtc.compile_cubin(text, f"fused_{seed}.cu", "sm_90", fusion_cuda.OPTIONS)
            except nvrtc.CompileError as error:
                errors.append(str(error))
    assert errors == []


@pytest.mark.gpu
@pytest.mark.parametrize("seed", SEEDS)
def test_cuda_engine_matches_the_backend_node_by_node(seed):
    gpu = backends.get("cuda")
    program, arrays = _case(seed)
    got = compile_elementwise(gpu, program)(*[gpu.asarray(x) for x in arrays])
    host = tuple(gpu.to_host(g) for g in got)
    check_each_node(program, arrays, host)
    check_reductions(program, host)


# --- targeted checks ------------------------------------------------------------------------
def _program(inputs, nodes, outputs, reductions=()):
    return ElementwiseProgram(tuple(inputs), tuple(nodes), tuple(outputs), tuple(reductions))


BCE = _program(
    ["float32", "float32"],
    [
        ("sigmoid", (0,), "float32", None),
        ("clip", (2,), "float32", (1e-7, 1 - 1e-7)),
        ("log", (3,), "float32", None),
        ("mul", (1, 4), "float32", None),
        ("const", (), "float64", 1.0),
        ("sub", (6, 1), "float32", None),
        ("sub", (6, 3), "float32", None),
        ("log", (8,), "float32", None),
        ("mul", (7, 9), "float32", None),
        ("add", (5, 10), "float32", None),
        ("neg", (11,), "float32", None),
    ],
    [12, 2],
    ["mean", None],
)


@pytest.mark.parametrize("engine", ["c", "numpy"])
def test_blocked_threaded_and_small_calls_agree_bitwise(engine, request):
    if engine == "c" and not HAS_CXX:
        pytest.skip("no C++ compiler")
    if engine == "numpy":
        # The NumPy engine runs the backend's own methods; its sigmoid takes its
        # ``small`` expression for short slices and the backend's kernels for long ones,
        # which agree bitwise only when those kernels are NumPy's too (native C's
        # libmvec ``exp`` can differ by an ulp).
        previous = backends.get_cpu_kernels()
        backends.set_cpu_kernels("numpy")
        request.addfinalizer(lambda: backends.set_cpu_kernels(previous))
    kernel = compile_elementwise(CPU, BCE, engine=engine)
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal(300_007).astype(numpy.float32) * 4
    t = (rng.random(300_007) < 0.5).astype(numpy.float32)
    loss, p = kernel(x, t)
    for lo, hi in [(0, 1), (5, 37), (65_530, 65_600), (300_000, 300_007)]:
        _, part = kernel(x[lo:hi], t[lo:hi])
        numpy.testing.assert_array_equal(part, p[lo:hi])
    again, _ = kernel(x, t)
    assert again == loss  # deterministic
    numpy.testing.assert_allclose(loss, numpy.mean(_bce_reference(x, t)), rtol=1e-6)


def _bce_reference(x, t):
    """The composed BCE, eager, in float32, summed in float64."""
    p = CPU.clamp(CPU.sigmoid(x), 1e-7, 1 - 1e-7)
    return -(t * numpy.log(p) + (1 - t) * numpy.log(1 - p)).astype(numpy.float64)


@needs_cxx
def test_special_points_follow_the_backend():
    x = numpy.array([numpy.nan, -0.0, 0.0, -numpy.inf, numpy.inf, -3.0, 2.0], numpy.float64)
    y = numpy.array([1.0, 0.0, -0.0, numpy.nan, 1.0, -3.0, numpy.nan], numpy.float64)
    program = _program(
        ["float64", "float64", "float64"],
        [
            ("sign", (0,), "float64", None),
            ("maximum", (0, 1), "float64", None),
            ("minimum", (0, 1), "float64", None),
            ("pow", (0, 2), "float64", None),  # uniform exponent 0.5: NumPy's sqrt
            ("cast", (0,), "int64", None),
            ("div", (0, 1), "float64", None),
            ("gt", (0, 1), "bool", None),
        ],
        range(3, 10),
    )
    half = numpy.array(0.5)
    got = compile_elementwise(CPU, program, engine="c")(x, y, half)
    with numpy.errstate(all="ignore"):
        expected = [
            CPU.sign(x),
            CPU.maximum(x, y),
            CPU.minimum(x, y),
            x**half,
            x.astype(numpy.int64),
            x / y,
            x > y,
        ]
    for g, e in zip(got, expected, strict=True):
        numpy.testing.assert_array_equal(g, e)
        assert g.dtype == e.dtype
    assert numpy.signbit(got[3][1])  # sqrt(-0.0) = -0.0, where pow(-0.0, 0.5) = 0.0
    assert got[0][0] == 0  # sign(nan) = 0


@needs_cxx
def test_int64_arithmetic_wraps_and_sums_exactly():
    big = numpy.array([2**62, -(2**63), 5, -7], numpy.int64)
    program = _program(
        ["int64"],
        [
            ("add", (0, 0), "int64", None),
            ("neg", (0,), "int64", None),
            ("abs", (0,), "int64", None),
        ],
        [1, 2, 3, 0],
        [None, None, None, "sum"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compile_elementwise(CPU, program, engine="c")(big)
    with numpy.errstate(all="ignore"):
        numpy.testing.assert_array_equal(got[0], big + big)
        numpy.testing.assert_array_equal(got[1], -big)
        numpy.testing.assert_array_equal(got[2], numpy.abs(big))
    assert got[3].dtype == numpy.int64 and int(got[3]) == int(numpy.sum(big))


@pytest.mark.parametrize("engine", ["c", "numpy"])
def test_broadcast_layouts_scalars_and_empty_inputs(engine):
    if engine == "c" and not HAS_CXX:
        pytest.skip("no C++ compiler")
    program = _program(
        ["float32", "float32"],
        [("mul", (0, 1), "float32", None), ("exp", (2,), "float32", None)],
        [3, 2],
        [None, "sum"],
    )
    kernel = compile_elementwise(CPU, program, engine=engine)
    a = numpy.arange(12, dtype=numpy.float32).reshape(3, 4) / 10
    row = numpy.linspace(0, 1, 4, dtype=numpy.float32)
    cases = [
        (a, row),  # a row against a matrix: copied, then full
        (a.T, numpy.float32(0.5)),  # a transposed view and a NumPy scalar
        (a, numpy.array([[2.0]], numpy.float32)),
        (numpy.array(1.5, numpy.float32), numpy.array(2.0, numpy.float32)),
        (a[:, ::2], row[::2]),
    ]
    for x, y in cases:
        e, s = kernel(x, y)
        expected = numpy.exp(x * y)
        assert e.shape == expected.shape and e.dtype == numpy.float32
        numpy.testing.assert_allclose(e, expected, rtol=4e-6)
        assert s.shape == () and float(s) == pytest.approx(float(numpy.sum(x * y)), rel=1e-6)
    e, s = kernel(numpy.empty((0, 3), numpy.float32), numpy.float32(1))
    assert e.shape == (0, 3) and float(s) == 0.0
    mean = _program(["float64"], [], [0], ["mean"])
    (m,) = compile_elementwise(CPU, mean, engine=engine)(numpy.empty(0))
    assert numpy.isnan(m)


def test_unsupported_and_malformed_programs_are_named():
    with pytest.raises(FusionUnsupported, match="float16"):
        compile_elementwise(CPU, _program(["float16"], [("exp", (0,), "float16", None)], [1]))
    with pytest.raises(FusionUnsupported, match="pow of integers"):
        compile_elementwise(CPU, _program(["int64"], [("pow", (0, 0), "int64", None)], [1]))
    with pytest.raises(FusionUnsupported, match="'matmul'"):
        compile_elementwise(CPU, _program(["float32"], [("matmul", (0, 0), "float32", None)], [1]))
    with pytest.raises(ValueError, match="operands"):
        compile_elementwise(CPU, _program(["float32"], [("exp", (3,), "float32", None)], [1]))
    with pytest.raises(ValueError, match="expects 2 operands"):
        compile_elementwise(CPU, _program(["float32"], [("add", (0,), "float32", None)], [1]))
    assert {"add", "where", "clip", "const", "cast", "sigmoid"} <= fusion_supported_ops()


@needs_cxx
def test_kernels_are_cached_in_memory_and_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(tmp_path))
    program = _program(["float64"], [("tanh", (0,), "float64", 0.25)], [1])
    first = compile_elementwise(CPU, program, engine="c")
    assert compile_elementwise(CPU, program, engine="c") is first
    first(numpy.ones(3))
    built = list(tmp_path.glob("fused_*.so"))
    assert len(built) == 1
    fresh = fusion_c.CpuFusedKernel(fusion.resolve(program), CPU)  # a new process's view

    def no_compiler(*args, **kwargs):
        raise AssertionError("the cached library was rebuilt")

    monkeypatch.setattr(native_exec.subprocess, "run", no_compiler)
    numpy.testing.assert_array_equal(fresh(numpy.ones(3))[0], numpy.tanh(numpy.ones(3)))


@needs_cxx
def test_a_failed_build_warns_once_and_runs_the_ops_one_by_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # a compiler that always fails
    native_exec._machine.cache_clear()
    try:
        program = _program(["float32"], [("exp", (0,), "float32", None)], [1], ["sum"])
        kernel = fusion_c.CpuFusedKernel(fusion.resolve(program), CPU)
        x = numpy.linspace(-1, 1, 5, dtype=numpy.float32)
        with pytest.warns(RuntimeWarning, match="build failed"):
            (total,) = kernel(x)
        assert float(total) == pytest.approx(float(numpy.exp(x).sum()), rel=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (again,) = kernel(x)  # no second warning
        assert again == total
    finally:
        native_exec._machine.cache_clear()


def test_sigmoid_backward_of_two_dtypes_is_not_fused():
    program = _program(["float32", "float64"], [("sigmoid_backward", (0, 1), "float64", None)], [2])
    with pytest.raises(FusionUnsupported, match="two dtypes"):
        compile_elementwise(CPU, program)


@pytest.mark.parametrize("engine", ["c", "numpy"])
def test_float64_sums_are_accurate_and_keep_inf_and_nan(engine):
    if engine == "c" and not HAS_CXX:
        pytest.skip("no C++ compiler")
    program = _program(["float64"], [("mul", (0, 0), "float64", None)], [1, 1], ["sum", "mean"])
    kernel = compile_elementwise(CPU, program, engine=engine)
    x = numpy.full(300_001, numpy.sqrt(0.1))
    total, mean = kernel(x)
    squares = x * x
    assert float(total) == pytest.approx(math.fsum(squares), rel=1e-15)
    assert float(mean) == pytest.approx(math.fsum(squares) / x.size, rel=1e-15)
    for special, expected in [(numpy.inf, numpy.inf), (numpy.nan, numpy.nan)]:
        y = x.copy()
        y[1234] = special
        total, _ = kernel(y)
        numpy.testing.assert_equal(float(total), expected)
