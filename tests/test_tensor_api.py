"""Tensor creation, metadata, conversion and printing, with PyTorch's names and texts."""

from __future__ import annotations

import pytest

import gpugrad as gg
from gpugrad import backends


def test_factories_take_device_and_default_to_float32(device):
    for make in (
        lambda: gg.zeros(2, 3, device=device),
        lambda: gg.ones((2, 3), device=device),
        lambda: gg.full((2, 3), 1.5, device=device),
        lambda: gg.empty(2, 3, device=device),
        lambda: gg.rand(2, 3, device=device),
        lambda: gg.randn(2, 3, device=device),
    ):
        t = make()
        assert (
            t.shape == (2, 3)
            and t.dtype is gg.float32
            and str(t.device) == ("cpu" if device == "cpu" else "cuda:0")
        )
    assert gg.arange(5, device=device).dtype is gg.int64
    assert gg.arange(0, 1, 0.25, device=device).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert gg.linspace(0, 1, 5, device=device).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert gg.eye(2, device=device).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    base = gg.ones(2, dtype=gg.float64, device=device)
    for like in (gg.zeros_like, gg.ones_like, gg.rand_like, gg.randn_like, gg.empty_like):
        assert like(base).dtype is gg.float64 and like(base).device == base.device
    assert gg.full_like(base, 7).tolist() == [7.0, 7.0]


def test_tensor_infers_dtypes_like_pytorch():
    assert gg.tensor(1.5).dtype is gg.float32
    assert gg.tensor([1, 2]).dtype is gg.int64
    assert gg.tensor([True, False]).dtype is gg.bool
    assert gg.tensor([1, 2.5]).dtype is gg.float32
    assert gg.tensor(1.0, dtype=gg.float64).dtype is gg.float64
    assert gg.full((1,), 2).dtype is gg.int64


def test_manual_seed_makes_random_factories_repeatable():
    gg.manual_seed(7)
    a = gg.randn(4).tolist()
    gg.manual_seed(7)
    assert gg.randn(4).tolist() == a


def test_metadata():
    t = gg.zeros(2, 3, 4)
    assert repr(t.shape) == "gpugrad.Size([2, 3, 4])"
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.dim() == 3 and t.numel() == 24
    assert t.is_leaf and not t.requires_grad and t.grad_fn is None
    assert repr(gg.float64) == "gpugrad.float64"
    assert repr(gg.device("cuda:1")) == "device(type='cuda', index=1)"
    assert str(gg.device("cpu")) == "cpu" and t.device == "cpu"


def test_conversions():
    t = gg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t[1, 0].item() == 3.0 and float(t[0, 1]) == 2.0
    assert t.numpy().shape == (2, 2)
    assert f"{gg.tensor(0.25)}" == "0.25" and f"{gg.tensor(2.0):.3f}" == "2.000"
    with pytest.raises(RuntimeError, match="a Tensor with 4 elements cannot be converted"):
        t.item()
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        t.requires_grad_().numpy()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value"):
        bool(t)


def test_from_numpy_shares_memory_and_to_changes_dtype():
    import numpy

    array = numpy.zeros(3)
    t = gg.from_numpy(array)
    array[0] = 5
    assert t.tolist()[0] == 5.0 and t.dtype is gg.float64
    assert t.to(gg.float32).dtype is gg.float32 and t.float().dtype is gg.float32
    assert t.to("cpu") is t and t.cpu() is t


def test_printing_follows_pytorch():
    assert repr(gg.tensor([1.0, 2.5], dtype=gg.float64)) == (
        "tensor([1.0000, 2.5000], dtype=gpugrad.float64)"
    )
    assert repr(gg.tensor([1, 2], dtype=gg.int32)) == "tensor([1, 2], dtype=gpugrad.int32)"
    assert repr(gg.tensor([[1.0, 2.0]], requires_grad=True)) == (
        "tensor([[1., 2.]], requires_grad=True)"
    )
    assert repr(gg.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"
    assert "..." in repr(gg.zeros(2000))
    y = gg.tensor([1.0, 2.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2., 4.], grad_fn=<MulBackward0>)"


def test_cuda_queries_never_raise_and_cuda_tensors_explain_what_is_missing():
    assert isinstance(gg.cuda.is_available(), bool)
    assert gg.cuda.device_count() >= 0
    if gg.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="CuPy|no CUDA device") as error:
        gg.zeros(2, device="cuda")
    assert "pip install" in str(error.value) or "no NVIDIA GPU" in str(error.value)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        gg.zeros(2, device="tpu")


def test_mixing_devices_raises_pytorchs_message(monkeypatch):
    fake = backends.NumpyBackend()
    fake.device = gg.device("cuda:0")
    fake.device_str = "cuda:0"
    monkeypatch.setitem(backends._backends, "cuda:0", fake)
    a = gg.ones(2)
    b = gg.ones(2, device="cuda:0")
    message = (
        "Expected all tensors to be on the same device, but found at least two devices, "
        "cpu and cuda:0!"
    )
    for op in (lambda: a + b, lambda: a * b, lambda: a @ b, lambda: gg.cat([a, b])):
        with pytest.raises(RuntimeError, match=message):
            op()


def test_numpy_scalars_act_like_python_numbers():
    import numpy

    t = gg.tensor([1.0, 2.0], requires_grad=True)
    for result in (numpy.float64(3.0) + t, t * numpy.float64(2.0), numpy.float32(2) * t):
        assert isinstance(result, gg.Tensor) and result.dtype is gg.float32
        assert result.requires_grad


def test_data_is_a_graph_free_view_for_manual_updates():
    w = gg.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    w.data -= 0.5 * w.grad
    assert w.tolist() == [-0.5, 0.5] and w.is_leaf and w.requires_grad
    assert not w.data.requires_grad
