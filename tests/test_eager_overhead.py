"""The eager fast paths (issue 18) compute exactly what the general paths compute: the 0-d
mean, expand and reshape of the CPU backend, the 0-d sigmoid's overflow guard, and the
unrolled backward of nodes with one or two saved values and formulas."""

from __future__ import annotations

import math
import warnings

import numpy
import pytest

import gpugrad as gg
from gpugrad.backends import cpu
from gpugrad.backends.array_backend import ArrayBackend

torch = pytest.importorskip("torch")

SPECIAL = [-0.0, 0.0, 1.5, -2.25, math.inf, -math.inf, math.nan, 3.0e38, 1e-45]


def same_bits(a: numpy.ndarray, b: numpy.ndarray) -> bool:
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_zero_dim_mean_is_the_general_mean(dtype):
    """Backend level (no tensor): the fast path's value and type are NumPy's mean's, for
    0-d arrays and NumPy scalars, signed zeros, infinities and NaN included."""
    for value in SPECIAL:
        with numpy.errstate(over="ignore"):  # 3e38 is inf in float16: the input, not the op
            array = numpy.array(value, dtype)
        for x in (array, array[()]):
            fast, general = cpu.mean(x), ArrayBackend.mean(cpu, x)
            assert type(fast) is type(general)
            assert same_bits(numpy.asarray(fast), numpy.asarray(general)), (dtype, value)


def test_expand_and_reshape_are_numpys():
    scalar = numpy.float32(2.5)
    assert cpu.expand(scalar, ()) is scalar  # immutable: nothing to view
    array = numpy.arange(3.0)
    view = cpu.expand(array, (2, 3))
    assert view.shape == (2, 3) and not view.flags.writeable and view.base is not None
    for x in (numpy.float32(2), numpy.array(3.0), numpy.arange(6.0)):
        for shape in ((), (1,), [1, 1], -1, (1, -1)):
            try:
                expected = numpy.reshape(x, shape)
            except ValueError:
                with pytest.raises(ValueError):
                    cpu.reshape(x, shape)
                continue
            got = cpu.reshape(x, shape)
            assert type(got) is type(expected) and got.shape == expected.shape
            assert numpy.array_equal(got, expected)


@pytest.mark.parametrize("value", SPECIAL)
def test_zero_dim_mean_and_its_gradient_match_torch(device, value):
    x = gg.tensor(value, requires_grad=True, device=device)
    tx = torch.tensor(value, requires_grad=True)
    y, ty = x.mean(), tx.mean()
    assert numpy.array_equal(y.detach().cpu().numpy(), ty.detach().numpy(), equal_nan=True)
    assert math.copysign(1, y.item()) == math.copysign(1, ty.item())  # -0.0 averages to 0.0
    y.backward()
    ty.backward()
    assert x.grad.item() == tx.grad.item() == 1.0


def test_zero_dim_sigmoid_saturates_without_a_warning(device):
    """exp(1000) overflows inside the guard: 0 exactly, no warning even with NumPy set to
    raise, and the caller's error state is untouched afterwards."""
    before = numpy.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with numpy.errstate(all="raise"):
            for value, expected in [(-1000.0, 0.0), (1000.0, 1.0), (0.0, 0.5)]:
                x = gg.tensor(value, requires_grad=True, device=device)
                y = gg.sigmoid(x)
                assert y.item() == expected
                y.backward()
                assert x.grad.item() == expected * (1 - expected)
            assert numpy.isnan(gg.sigmoid(gg.tensor(math.nan, device=device)).item())
    assert numpy.geterr() == before


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_seed_scalar_step_matches_torch(device, dtype):
    """The step of bench/eager_micro.py: loss and both gradients, repeated with the
    ``.grad`` reset, against PyTorch."""

    def step(L, **kw):
        w = L.tensor(1.0, requires_grad=True, dtype=getattr(L, dtype), **kw)
        b = L.tensor(0.0, requires_grad=True, dtype=getattr(L, dtype), **kw)
        x, y = L.tensor(6.7, dtype=getattr(L, dtype), **kw), L.tensor(0.0, **kw)
        out = []
        for _ in range(3):
            p = L.clamp(L.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
            loss = -(y * L.log(p) + (1 - y) * L.log(1 - p)).mean()
            loss.backward()
            out.append((loss.item(), w.grad.item(), b.grad.item()))
            w.grad = None
            b.grad = None
        return out

    ours, theirs = step(gg, device=device), step(torch)
    assert ours[0] == ours[1] == ours[2]
    tol = 1e-6 if dtype == "float32" else 1e-12
    assert numpy.allclose(ours, theirs, rtol=tol, atol=0)


def test_unrolled_two_input_backward(device):
    """Nodes with two saved values and two formulas: either edge may be absent, the
    inputs may broadcast and differ in dtype; higher order runs the tensor path."""
    a = gg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    b = gg.tensor([0.5, -1.5], device=device)  # no gradient: an absent edge
    (a * b).sum().backward()
    assert b.grad is None
    assert a.grad.tolist() == [[0.5, -1.5], [0.5, -1.5]]
    c = gg.tensor([0.5, -1.5], dtype=gg.float64, requires_grad=True, device=device)
    a.grad = None
    (a * c / (a + c)).sum().backward()
    ta = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    tc = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)
    (ta * tc / (ta + tc)).sum().backward()
    assert a.grad.dtype == gg.float32 and c.grad.dtype == gg.float64
    assert numpy.allclose(a.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-6)
    assert numpy.allclose(c.grad.cpu().numpy(), tc.grad.numpy(), rtol=1e-12)
    x = gg.tensor([0.3, 0.7], dtype=gg.float64, requires_grad=True, device=device)
    y = gg.tensor([1.1, -0.4], dtype=gg.float64, requires_grad=True, device=device)
    assert gg.autograd.gradcheck(lambda p, q: p * q / (p - q), (x, y))
    assert gg.autograd.gradgradcheck(lambda p, q: p * q / (p - q), (x, y))
