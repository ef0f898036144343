"""float32 subnormals on CUDA, checked without a GPU. The H200 run found them read as zero
where PyTorch's CUDA kernels keep them: in the fused kernels (``abs(1e-40)`` gave 0, and
the cast of a float64 1e-40 to float32), although they asked NVRTC for ``--ftz=false``,
and in the 0-d mean (``mean(1e-45)`` gave 0). The cause: CuPy appends ``-ftz=true`` after
the caller's options when it compiles (``RawModule``, its ufuncs and reductions), and NVRTC
obeys the last. gpugrad's own kernels are now compiled through ``cupy_exec.load_module``,
which passes NVRTC the options as given; the PTX shows the difference here. The one-element
mean is made from the value's bits."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from test_fusion_codegen import SEEDS, _case
from test_reliability_cupy_host import cupy_like_backend

from gpugrad.backends.kernels import cuda_source, cupy_exec, fusion, fusion_cuda, nvrtc
from gpugrad.backends.kernels import defs as K

torch = pytest.importorskip("torch")

needs_nvrtc = pytest.mark.skipif(not nvrtc.available(), reason="cuda.bindings missing")

CUPY_APPENDS = ("-ftz=true",)
"""What ``cupy.cuda.compiler._compile_with_cache_cuda`` adds after the caller's options."""


def _flushing_instructions(ptx: str) -> list[str]:
    """The instructions that flush subnormals as the flag asks (the math library's own
    ``ex2.approx.ftz`` / ``rcp.approx.ftz`` steps are there with either flag: its
    subnormal-correct functions arrange their arguments for them)."""
    return [line.strip() for line in ptx.splitlines() if ".ftz." in line and ".approx." not in line]


@needs_nvrtc
def test_cupys_appended_flag_overrides_ftz_false():
    """The cause, shown on NVRTC itself: the last ``-ftz`` wins."""
    text = 'extern "C" __global__ void k(float* a) { a[0] = fabsf(a[1]) * a[2]; }'
    assert _flushing_instructions(nvrtc.compile_ptx(text, options=("--ftz=false",))) == []
    flushed = nvrtc.compile_ptx(text, options=("--ftz=false", *CUPY_APPENDS))
    assert any(i.startswith("abs.ftz.f32") for i in _flushing_instructions(flushed))


@needs_nvrtc
def test_fused_kernels_compile_to_no_flushing_instruction():
    float32_programs = 0
    for seed in SEEDS:
        program, arrays = _case(seed)
        resolved = fusion.resolve(program)
        pattern = tuple(np.size(x) == 1 for x in arrays)
        text = fusion_cuda.source(resolved, pattern)
        ptx = nvrtc.compile_ptx(text, f"fused_{seed}.cu", options=fusion_cuda.OPTIONS)
        assert _flushing_instructions(ptx) == [], seed
        if "float32" in program.inputs:
            float32_programs += 1
            flushed = nvrtc.compile_ptx(text, options=fusion_cuda.OPTIONS + CUPY_APPENDS)
            assert _flushing_instructions(flushed), seed  # what RawModule compiled
    assert float32_programs >= 3


@needs_nvrtc
@pytest.mark.parametrize("kernel", [K.SIGMOID, K.BCE], ids=lambda k: k.name)
def test_eager_kernels_compile_to_no_flushing_instruction(kernel):
    text = cuda_source.source(kernel, "float32")
    assert _flushing_instructions(nvrtc.compile_ptx(text, options=cupy_exec.OPTIONS)) == []
    assert _flushing_instructions(nvrtc.compile_ptx(text, options=cupy_exec.OPTIONS + CUPY_APPENDS))


class _Compiler:
    """``cupy.cuda.compiler`` and ``cupy.cuda.function``, recording what they are given."""

    def __init__(self, result):
        self.result, self.calls, self.loaded = result, [], []
        test = self

        class Module:
            def load(self, binary):
                test.loaded.append(binary)

            def get_function(self, name):
                return name

        self.cupy = SimpleNamespace(
            cuda=SimpleNamespace(
                compiler=SimpleNamespace(compile_using_nvrtc=self.compile_using_nvrtc),
                function=SimpleNamespace(Module=Module),
            )
        )

    def compile_using_nvrtc(self, code, options=()):
        self.calls.append((code, options))
        return self.result


@pytest.mark.parametrize(
    "result",
    [(b"cubin", None), (b"cubin", {}), b"cubin", "cubin"],
    ids=["CuPy 13", "with names", "bytes", "PTX text"],
)
def test_load_module_passes_the_options_as_given_and_loads_the_binary(result):
    fake = _Compiler(result)
    module = cupy_exec.load_module(fake.cupy, "code", ["-std=c++14", "--ftz=false"])
    assert fake.calls == [("code", ("-std=c++14", "--ftz=false"))]
    assert fake.loaded == [b"cubin"]
    assert module.get_function("gg_fused") == "gg_fused"
    assert "-ftz=true" not in fusion_cuda.OPTIONS and "--ftz=false" in fusion_cuda.OPTIONS


SPECIAL = [1e-45, -1e-45, 1e-40, -0.0, 0.0, 1.5, math.inf, -math.inf, math.nan, 3.0e38, 6e-8]


def _flushing_mean(x, axis=None, keepdims=False, dtype=None):
    """CuPy's mean as compiled with ``-ftz=true``: float32 subnormal inputs read as zero."""
    if x.dtype == np.float32:
        x = np.where(np.abs(x) < np.finfo(np.float32).tiny, np.float32(0), x)
    return np.mean(x, axis=axis, keepdims=keepdims, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_the_mean_of_one_element_is_pytorchs_on_the_cuda_backend(dtype):
    """On the CUDA backend's own logic (over NumPy whose mean flushes as CuPy's does):
    every special value, subnormals and signed zeros included, the bits of PyTorch's mean,
    for every way to reduce one element."""
    backend = cupy_like_backend()
    backend.xp.mean = _flushing_mean
    for value in SPECIAL:
        with np.errstate(over="ignore", under="ignore"):
            host = np.array(value, dtype)
        for shape, dim, keepdim in [
            ((), None, False),
            ((), (0,), False),
            ((), (-1,), True),
            ((1,), (0,), False),
            ((1,), (0,), True),
            ((1, 1), (1,), False),
            ((1, 1), (0, 1), True),
            ((1, 1), (-1,), True),
        ]:
            x = host.reshape(shape)
            got = np.asarray(backend.mean(x, dim, keepdim))
            t = torch.from_numpy(x.copy())
            want = (t.mean() if dim is None else t.mean(dim, keepdim)).numpy()
            assert got.shape == want.shape and got.dtype == want.dtype, (shape, dim, keepdim)
            assert got.tobytes() == want.tobytes() or (np.isnan(got).all() and np.isnan(want).all())
            assert not np.shares_memory(got, x)


def test_a_longer_mean_is_still_cupys():
    backend = cupy_like_backend()
    x = np.array([1.0, 2.0, 4.5], np.float32)
    assert backend.mean(x) == np.float32(2.5)
    np.testing.assert_array_equal(backend.mean(x.reshape(3, 1), (1,), False), x)


class _FlushingSpecial:
    """``cupyx.scipy.special`` as compiled with ``-ftz=true``: float32 subnormals read as 0."""

    def __init__(self, special):
        self.special = special

    def gammaln(self, x):
        if x.dtype == np.float32:
            x = np.where(np.abs(x) < np.finfo(np.float32).tiny, np.float32(0), x)
        with np.errstate(divide="ignore"):
            return self.special.gammaln(x)


def test_lgamma_of_float32_subnormals_is_pytorchs_on_the_cuda_backend():
    backend = cupy_like_backend()
    backend.special = _FlushingSpecial(backend.special)
    tiny = np.finfo(np.float32).tiny
    x = np.array(
        [1e-45, -1e-45, 1e-40, -3e-39, tiny * 0.999, tiny, -tiny, 0.0, -0.0, 2.5, -2.5, 1e-30],
        np.float32,
    )
    got = backend.lgamma(x)
    want = torch.lgamma(torch.from_numpy(x)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-6)
    assert abs(float(got[2]) - 92.1034) < 1e-3  # not inf


def test_load_module_falls_back_to_rawmodule_with_one_warning_where_cupy_moved_its_compiler(
    monkeypatch,
):
    """A CuPy without the internal ``compile_using_nvrtc``: the public ``RawModule`` still
    builds the kernel (flushing subnormals), and the user is told once, not on every kernel."""
    import types
    import warnings

    built = []
    cupy = types.SimpleNamespace(
        cuda=types.SimpleNamespace(compiler=types.SimpleNamespace()),
        RawModule=lambda code, options: built.append((code, options)) or "module",
    )
    monkeypatch.setattr(cupy_exec, "_warned_fallback", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = cupy_exec.load_module(cupy, "code", ("--ftz=false",))
        second = cupy_exec.load_module(cupy, "code2", ("--ftz=false",))
    assert first == second == "module"
    assert built == [("code", ("--ftz=false",)), ("code2", ("--ftz=false",))]
    assert [str(w.message) for w in caught if "RawModule" in str(w.message)] == [
        "gpugrad: this CuPy has no cupy.cuda.compiler.compile_using_nvrtc; gpugrad's CUDA "
        "kernels are built by cupy.RawModule, which flushes float32 subnormals to 0"
    ]
