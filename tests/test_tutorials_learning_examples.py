"""PyTorch's "Learning PyTorch with Examples" replayed with gpugrad in place of torch: the
third-order polynomial fit to ``sin(x)`` written six ways, as the tutorial writes them -
tensors with hand-written gradients, autograd, a custom ``autograd.Function``
(``LegendrePolynomial3``), ``nn.Sequential`` with ``nn.Flatten(0, 1)`` and a hand-written
update, ``optim.RMSprop``, a custom ``nn.Module`` (``Polynomial3`` with ``string()``) and
the dynamic-control-flow ``DynamicNet`` (weight sharing, ``random.randint`` layers,
``SGD(momentum=0.9)``). The tutorial's ``torch.randn(())`` starting points come from one
seeded NumPy stream so both libraries start from the same values, and the loops run 400
steps instead of 2000 (the printed losses and results are compared to float tolerance)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import gpugrad as gg
from tests.tutorial_replay import assert_same_output, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

STEPS = 400
POINTS = 2000


def starting_values(torch, device, count, requires_grad=False):
    """The tutorial's ``torch.randn((), ...)`` starting scalars, from a seeded stream."""
    values = np.random.default_rng(0).standard_normal(count).astype(np.float32)
    return [
        torch.tensor(float(v), dtype=torch.float, device=device, requires_grad=requires_grad)
        for v in values
    ]


def tensors_program(torch, device):
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, POINTS, device=device, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = starting_values(torch, device, 4)
    learning_rate = 1e-6
    for t in range(STEPS):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        if t % 100 == 99:
            print(t, loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")


def autograd_program(torch, device):
    dtype = torch.float
    torch.set_default_device(device)  # the tutorial's way to pick the device
    try:
        x = torch.linspace(-math.pi, math.pi, POINTS, dtype=dtype)
        y = torch.sin(x)
        a, b, c, d = starting_values(torch, device, 4, requires_grad=True)
        learning_rate = 1e-6
        for t in range(STEPS):
            y_pred = a + b * x + c * x**2 + d * x**3
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(t, loss.item())
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    finally:
        torch.set_default_device(None)


def legendre_program(torch, device):
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, POINTS, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    for t in range(STEPS):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
    print(y_pred.grad_fn.__class__.__name__ != "", P3(x[:3]).shape)


def polynomial_features(torch, device):
    x = torch.linspace(-math.pi, math.pi, POINTS, device=device)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3], device=device)
    xx = x.unsqueeze(-1).pow(p)
    return x, y, p, xx


def seeded_linear(torch, model):
    """The tutorial's ``Linear(3, 1)`` with seeded weights (initializations differ)."""
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for param in model.parameters():
            values = rng.uniform(-0.5, 0.5, tuple(param.shape)).astype(np.float32)
            param.copy_(torch.from_numpy(values))


def nn_program(torch, device):
    x, y, p, xx = polynomial_features(torch, device)
    print(xx.shape, xx.dtype, p.dtype)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(device)
    print(model)
    seeded_linear(torch, model)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    for t in range(STEPS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
        f" + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )


def optim_program(torch, device):
    x, y, p, xx = polynomial_features(torch, device)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).to(device)
    seeded_linear(torch, model)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-3
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    print(optimizer)
    for t in range(STEPS):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
        f" + {linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )


def custom_module_program(torch, device):
    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            a, b, c, d = starting_values(torch, "cpu", 4)
            self.a = torch.nn.Parameter(a)
            self.b = torch.nn.Parameter(b)
            self.c = torch.nn.Parameter(c)
            self.d = torch.nn.Parameter(d)

        def forward(self, x):
            return self.a + self.b * x + self.c * x**2 + self.d * x**3

        def string(self):
            return (
                f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2"
                f" + {self.d.item()} x^3"
            )

    x = torch.linspace(-math.pi, math.pi, POINTS, device=device)
    y = torch.sin(x)
    model = Polynomial3().to(device)
    print([name for name, _ in model.named_parameters()])
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    for t in range(STEPS):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")


def dynamic_net_program(torch, device):
    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            a, b, c, d, e = starting_values(torch, "cpu", 5)
            self.a = torch.nn.Parameter(a)
            self.b = torch.nn.Parameter(b)
            self.c = torch.nn.Parameter(c)
            self.d = torch.nn.Parameter(d)
            self.e = torch.nn.Parameter(e)

        def forward(self, x):
            y = self.a + self.b * x + self.c * x**2 + self.d * x**3
            for exp in range(4, random.randint(4, 6)):
                y = y + self.e * x**exp
            return y

        def string(self):
            return (
                f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2"
                f" + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?"
            )

    random.seed(0)
    x = torch.linspace(-math.pi, math.pi, POINTS, device=device)
    y = torch.sin(x)
    model = DynamicNet().to(device)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(STEPS):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")


@pytest.mark.parametrize(
    "program",
    [
        tensors_program,
        autograd_program,
        legendre_program,
        nn_program,
        optim_program,
        custom_module_program,
        dynamic_net_program,
    ],
)
def test_learning_pytorch_with_examples(program, device, capsys):
    assert_same_output(*replay(program, device, capsys), rtol=2e-4)


def test_set_default_device(device):
    torch = pytest.importorskip("torch")
    assert str(gg.get_default_device()) == str(torch.get_default_device()) == "cpu"
    gg.set_default_device(device)
    try:
        assert gg.get_default_device().type == device
        made = [
            gg.tensor([1.0]), gg.zeros(2), gg.ones(2, 3), gg.arange(3), gg.randn(2),
            gg.linspace(0, 1, 3), gg.full((2,), 1.0), gg.empty(2), gg.eye(2),
            gg.nn.Linear(2, 2).weight,
        ]  # fmt: skip
        assert {t.device.type for t in made} == {device}
        # PyTorch keeps these on the CPU
        assert gg.from_numpy(np.ones(2)).device.type == "cpu"
        assert gg.Tensor([1.0]).device.type == "cpu"
        assert gg.LongTensor([1]).device.type == "cpu"
        assert gg.zeros(2, device="cpu").device.type == "cpu"
    finally:
        gg.set_default_device(None)
    assert gg.zeros(1).device.type == "cpu" and str(gg.get_default_device()) == "cpu"
    with pytest.raises(RuntimeError, match="Expected one of cpu"):
        gg.set_default_device("bogus")
    with pytest.raises(RuntimeError, match="Expected one of cpu"):
        torch.set_default_device("bogus")
