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


def _host_kernel(tmp_path, resolved, pattern):
    """The fake CuPy running the host build of the kernel for ``pattern``."""
    source = fusion_cuda.HOST_PRELUDE + fusion_c.MATH
    source += fusion_cuda.host_source(resolved, pattern, "gg_broadcast")
    path = tmp_path / "broadcast.so"
    path.with_suffix(".cpp").write_text(source)
    command = [*native_exec.compiler(), "-O1", "-std=c++14", "-shared", "-fPIC"]
    subprocess.run([*command, str(path.with_suffix(".cpp")), "-o", str(path), "-lm"], check=True)
    function = ctypes.CDLL(str(path)).gg_broadcast
    function.restype = None
    return _HostCupy(function, resolved, pattern)  # asserts the source of this pattern


@pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler")
def test_a_broadcast_input_is_passed_as_one_element(tmp_path):
    resolved = fusion.resolve(PROGRAM)
    fake = _host_kernel(tmp_path, resolved, (False, True))
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


@pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler")
def test_only_broadcast_inputs_still_fill_the_whole_shape(tmp_path):
    resolved = fusion.resolve(PROGRAM)
    fake = _host_kernel(tmp_path, resolved, (True, True))
    backend = SimpleNamespace(name="cupy", xp=fake, cuda_device=contextlib.nullcontext())
    a = np.broadcast_to(np.float32(2.0), (4, 250))
    b = np.broadcast_to(np.array([[0.25]], np.float32), (4, 250))
    got_exp, got_sum = compile_elementwise(backend, PROGRAM)(a, b)
    assert got_exp.shape == (4, 250)
    np.testing.assert_array_equal(got_exp, np.full((4, 250), np.exp(np.float32(0.5))))
    assert float(got_sum) == 500.0
