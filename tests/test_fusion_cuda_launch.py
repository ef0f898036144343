"""The CUDA fused kernel's launcher, run on the host (NumPy posing as CuPy, the kernel's
loop built for the host, as in ``tests/test_fusion_codegen.py``): an input that repeats one
element in memory (a broadcast, every stride 0, as ``expand`` makes) is passed as that
element and read as uniform, not first copied out to its full size."""

from __future__ import annotations

import contextlib
import ctypes
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
from test_fusion_codegen import HAS_CXX, _HostCupy

from gpugrad.backends.kernels import fusion, fusion_c, fusion_cuda, native_exec
from gpugrad.backends.kernels.fusion import ElementwiseProgram, compile_elementwise

PROGRAM = ElementwiseProgram(
    inputs=("float32", "float32"),
    nodes=(("mul", (0, 1), "float32", None), ("exp", (2,), "float32", None)),
    outputs=(3, 2),
    reductions=(None, "sum"),
)


@pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler")
def test_a_broadcast_input_is_passed_as_one_element(tmp_path):
    resolved = fusion.resolve(PROGRAM)
    pattern = (False, True)
    source = fusion_cuda.HOST_PRELUDE + fusion_c.MATH
    source += fusion_cuda.host_source(resolved, pattern, "gg_broadcast")
    path = tmp_path / "broadcast.so"
    path.with_suffix(".cpp").write_text(source)
    command = [*native_exec.compiler(), "-O1", "-std=c++14", "-shared", "-fPIC"]
    subprocess.run([*command, str(path.with_suffix(".cpp")), "-o", str(path), "-lm"], check=True)
    function = ctypes.CDLL(str(path)).gg_broadcast
    function.restype = None
    fake = _HostCupy(function, resolved, pattern)  # asserts the source of this pattern
    passed = []
    ascontiguousarray = fake.ascontiguousarray
    fake.ascontiguousarray = lambda x: passed.append(np.shape(x)) or ascontiguousarray(x)
    backend = SimpleNamespace(name="cupy", xp=fake, cuda_device=contextlib.nullcontext())
    x = np.linspace(-2, 2, 3000, dtype=np.float32).reshape(3, 1000)
    scale = np.broadcast_to(np.float32(0.5), x.shape)  # every stride 0
    assert scale.strides == (0, 0)
    kernel = compile_elementwise(backend, PROGRAM)
    got_exp, got_sum = kernel(x, scale)
    np.testing.assert_allclose(got_exp, np.exp(x * np.float32(0.5)), rtol=1e-6)
    np.testing.assert_allclose(float(got_sum), float(np.sum(x * 0.5, dtype=np.float64)), atol=1e-3)
    assert (1,) in passed or () in passed  # the one element, not a (3, 1000) copy
    assert (3, 1000) in passed  # x, contiguous already
    assert passed.count((3, 1000)) == 1
