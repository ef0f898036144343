"""Zero-copy interop: DLPack with PyTorch, CuPy and NumPy; the CUDA array interface."""

from __future__ import annotations

import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def test_from_dlpack_shares_memory_with_pytorch(device):
    source = torch.arange(4.0, device=device)
    t = gg.from_dlpack(source)
    assert str(t.device) == ("cpu" if device == "cpu" else "cuda:0")
    source[0] = 9
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]


def test_pytorch_takes_gpugrad_tensors_without_a_copy(device):
    t = gg.zeros(3, device=device)
    view = torch.from_dlpack(t)
    t[1] = 5.0
    assert view.tolist() == [0.0, 5.0, 0.0]
    assert t.__dlpack_device__()[0] == (1 if device == "cpu" else 2)


def test_numpy_interop_on_the_cpu():
    import numpy

    t = gg.tensor([1.0, 2.0])
    assert numpy.from_dlpack(t).tolist() == [1.0, 2.0]
    assert numpy.asarray(t).tolist() == [1.0, 2.0]
    assert not hasattr(t, "__cuda_array_interface__")


def test_tensors_that_require_grad_are_not_exported():
    with pytest.raises(RuntimeError, match="Can't export tensors that require gradient"):
        torch.from_dlpack(gg.ones(2, requires_grad=True))


@pytest.mark.gpu
def test_cuda_array_interface_on_cuda_tensors():
    import cupy

    t = gg.ones(3, device="cuda")
    assert cupy.asarray(t).tolist() == [1.0, 1.0, 1.0]
    assert t.__cuda_array_interface__["shape"] == (3,)
