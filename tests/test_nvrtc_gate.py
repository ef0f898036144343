"""The CUDA compile gate: every CUDA source the project ships, compiled to cubin for
sm_80 and sm_90 by NVRTC from pip, with no GPU and no driver.

Needs ``pip install "nvidia-cuda-nvrtc==13.*" "cuda-bindings==13.*"``; skipped, saying so,
where ``cuda.bindings`` is not importable. The sources are exactly the text CuPy's
``RawModule`` compiles at run time (``tests/test_kernels.py`` checks the launcher passes
that text)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from gpugrad.backends.kernels import cuda_source, defs, nvrtc
from gpugrad.backends.kernels.spec import Kernel

pytestmark = pytest.mark.skipif(
    not nvrtc.available(),
    reason="cuda.bindings is not importable: pip install 'nvidia-cuda-nvrtc==13.*' "
    "'cuda-bindings==13.*' to run the NVRTC compile gate",
)


def _compile_all(sources: dict[str, str], arch: str) -> list[str]:
    def one(item):
        name, text = item
        try:
            nvrtc.compile_cubin(text, f"{name}.cu", arch)
        except nvrtc.CompileError as error:
            return str(error)
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:  # NVRTC compiles release the GIL
        return [e for e in pool.map(one, sources.items()) if e is not None]


def test_the_gate_covers_every_kernel_and_dtype():
    sources = cuda_source.all_sources()
    assert len(sources) == len(defs.KERNELS) * len(cuda_source.DTYPES)
    for kernel in defs.KERNELS:
        for dtype in cuda_source.DTYPES:
            text = sources[f"{kernel.name}_{cuda_source.DTYPES[dtype][2]}"]
            for present in kernel.variants():
                for reduce in (False, True) if kernel.reducible else (False,):
                    name = cuda_source.function_name(kernel, dtype, present, reduce)
                    assert f'extern "C" __global__ void {name}(' in text


@pytest.mark.parametrize("arch", nvrtc.ARCHES)
def test_every_shipped_cuda_source_compiles(arch):
    errors = _compile_all(cuda_source.all_sources(), arch)
    assert errors == [], "\n\n".join(errors)


def test_cubin_is_produced_for_each_arch():
    text = cuda_source.source(defs.SIGMOID, "float16")
    for arch in nvrtc.ARCHES:
        cubin = nvrtc.compile_cubin(text, "sigmoid_f16.cu", arch)
        assert cubin[:4] == b"\x7fELF"


def _unary_kernel(name: str, cuda: str) -> Kernel:
    """A ``y = f(x)`` kernel with the CUDA body ``cuda`` (never run on NumPy)."""
    return Kernel(name=name, inputs=("x",), outputs=("y",), cuda=cuda, numpy=lambda y, x: None)


BROKEN = _unary_kernel("broken", "y = x * acc_t(2)  // the ';' is missing")
UNKNOWN_NAME = _unary_kernel("unknown_name", "y = gg_exp(z);")


@pytest.mark.parametrize("arch", nvrtc.ARCHES)
def test_a_broken_kernel_fails_the_gate(arch):
    sources = cuda_source.all_sources((BROKEN,))
    errors = _compile_all(sources, arch)
    assert len(errors) == len(cuda_source.DTYPES)
    assert all('expected a ";"' in e for e in errors), errors
    with pytest.raises(nvrtc.CompileError, match='identifier "z" is undefined'):
        nvrtc.compile_cubin(cuda_source.source(UNKNOWN_NAME, "float32"), "u.cu", arch)


def test_the_gate_command_line_reports(capsys, monkeypatch):
    one = {"sigmoid_f32": cuda_source.source(defs.SIGMOID, "float32")}
    monkeypatch.setattr(cuda_source, "all_sources", lambda: one)
    assert nvrtc.main() == 0
    assert "1 modules x 2 arches, 0 failed" in capsys.readouterr().out
    broken = {"broken_f32": cuda_source.source(BROKEN, "float32")}
    monkeypatch.setattr(cuda_source, "all_sources", lambda: broken)
    assert nvrtc.main() == 1
    assert "2 failed" in capsys.readouterr().out


def test_compiling_leaves_the_shared_one_byte_objects_of_the_process_intact():
    """NVRTC writes its log (here a lone NUL: an empty log has size 1) into the buffer it
    is given. Given ``b" " * 1``, CPython's shared ``b" "``, it made every ``b" "`` of the
    process read ``b"\\x00"``: ``print`` wrote NULs between its arguments and ``torch.load``
    misread its own files, in tests that ran long after."""
    source = 'extern "C" __global__ void gg_quiet(float* x) { x[0] = 1.0f; }'
    for _ in range(2):
        nvrtc.compile_ptx(source, options=("-std=c++14",))
        nvrtc.compile_cubin(source, options=("-std=c++14",))
    assert b" "[0] == 32 and bytes([32])[0] == 32
    assert " ".join(["a", "b"]).encode() == bytes([97, 32, 98])
