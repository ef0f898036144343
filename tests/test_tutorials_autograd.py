"""PyTorch's autograd tutorials and how-tos replayed with gpugrad in place of torch:
higher-order gradients (``autograd.grad`` with ``create_graph``), ``autograd.functional``
(``jacobian hessian vjp jvp hvp vhp``, ``vectorize=True``), autograd mechanics (grad modes,
``requires_grad_``), custom ``autograd.Function`` in both styles (``forward(ctx, …)`` and
``setup_context``) with ``save_for_backward``, ``once_differentiable``-free double
backward, ``gradcheck``/``gradgradcheck``, module hooks (forward, forward pre, full backward
and backward pre), tensor hooks, ``clip_grad_norm_``/``clip_grad_value_``, and learning
rate schedulers (``scheduler.step()`` after ``optimizer.step()``, ``get_last_lr``,
``ReduceLROnPlateau(optimizer, 'min')``). Each program prints the same under both."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gpugrad as gg
from tests.tutorial_replay import assert_same_output, fill_parameters, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def higher_order_program(torch, device):
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = (x**3).sum()
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    print(g)
    (g2,) = torch.autograd.grad(g.sum(), x)
    print(g2)
    x = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2
    y.backward(torch.tensor([0.1, 1.0], device=device))
    print(x.grad)

    def f(x):
        return x.exp() * x.sin()

    def pow_reducer(x):
        return x.pow(3).sum()

    def exp_adder(x, y):
        return 2 * x.exp() + 3 * y

    inp = torch.tensor([0.5, 1.0, 1.5], device=device)
    v = torch.ones(3, device=device)
    AF = torch.autograd.functional
    print(AF.jacobian(f, inp))
    print(AF.hessian(pow_reducer, inp))
    print(AF.vjp(f, inp, v))
    print(AF.jvp(f, inp, v))
    print(AF.hvp(pow_reducer, inp, v))
    print(AF.vhp(pow_reducer, inp, v))
    pair = (torch.tensor([0.1, 0.2], device=device), torch.tensor([0.3, 0.4], device=device))
    print(AF.jacobian(exp_adder, pair))
    print(AF.jacobian(f, inp, vectorize=True))
    print(AF.jacobian(f, inp, vectorize=True, strategy="forward-mode"))
    print(AF.hessian(pow_reducer, inp, vectorize=True))


def test_higher_order_and_functional(device, capsys):
    assert_same_output(*replay(higher_order_program, device, capsys))


def mechanics_program(torch, device):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.standard_normal((2, 2)), requires_grad=True, device=device)
    b = a * a
    print(b.grad_fn, b.is_leaf, a.is_leaf, b.requires_grad)
    print(b.grad_fn.next_functions)
    x = torch.tensor(rng.standard_normal(5), requires_grad=True, device=device)
    with torch.inference_mode():
        z = x * 2
    print(z.requires_grad)
    with torch.set_grad_enabled(False):
        z = x * 2
    print(z.requires_grad)
    torch.set_grad_enabled(True)

    @torch.no_grad()
    def doubler(x):
        return x * 2

    print(doubler(x).requires_grad)

    @torch.enable_grad()
    def tripler(x):
        return x * 3

    with torch.no_grad():
        print(tripler(x).requires_grad)
    model = torch.nn.Linear(3, 2)
    model.requires_grad_(False)
    print([p.requires_grad for p in model.parameters()])
    t = torch.ones(3, requires_grad=True, device=device)
    t.register_hook(lambda g: g * 2)
    (t * 3).sum().backward()
    print(t.grad)
    v = torch.ones(3, requires_grad=True, device=device)
    w = v * 2
    w.retain_grad()
    w.sum().backward()
    print(w.grad, w.is_leaf)


def test_autograd_mechanics(device, capsys):
    ours, theirs = replay(mechanics_program, device, capsys)
    assert_same_output(ours, theirs)
    assert re.search(r"<MulBackward0 object at 0x[0-9a-f]+>", ours)
    assert re.search(r"\(\(<AccumulateGrad object at 0x[0-9a-f]+>, 0\), \(<Accum", ours)


def custom_function_program(torch, device):
    Function = torch.autograd.Function

    class Exp(Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    inp = torch.tensor([0.1, 0.2], requires_grad=True, device=device)
    output = Exp.apply(inp)
    print(output)
    output.sum().backward()
    print(inp.grad)

    class LinearFunction(Function):
        @staticmethod
        def forward(input, weight, bias):
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias = inputs
            ctx.save_for_backward(input, weight, bias)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    linear = LinearFunction.apply
    rng = np.random.default_rng(0)
    inputs = tuple(
        torch.tensor(rng.standard_normal(shape), requires_grad=True, device=device)
        for shape in ((20, 20), (30, 20), (30,))
    )
    print(torch.autograd.gradcheck(linear, inputs, eps=1e-6, atol=1e-4))
    out = linear(*inputs)
    out.pow(2).sum().backward()
    print(out.grad_fn.name(), inputs[2].grad[:4])

    class MulConstant(Function):
        @staticmethod
        def forward(tensor, constant):
            return tensor * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            tensor, constant = inputs
            ctx.constant = constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    t = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    o = MulConstant.apply(t, 5.0)
    print(o, o.grad_fn)
    o.sum().backward()
    print(t.grad)

    class MyCube(Function):
        @staticmethod
        def forward(x):
            result = x**3
            dx = 3 * x**2
            return result, dx

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            result = grad_output * dx + grad_dx * 6 * x
            return result

    def my_cube(x):
        result, dx = MyCube.apply(x)
        return result

    x = torch.tensor([1.0, 2.0], dtype=torch.double, requires_grad=True, device=device)
    print(torch.autograd.gradcheck(my_cube, (x,)), torch.autograd.gradgradcheck(my_cube, (x,)))
    (g,) = torch.autograd.grad(my_cube(x).sum(), x, create_graph=True)
    (gg_,) = torch.autograd.grad(g.sum(), x)
    print(g, gg_)

    class MyReLU(Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    x = torch.tensor([-1.0, 2.0], requires_grad=True, device=device)
    y = MyReLU.apply(x)
    y.sum().backward()
    print(x.grad, y.grad_fn)


def test_custom_autograd_function(device, capsys):
    ours, theirs = replay(custom_function_program, device, capsys)
    assert_same_output(ours, theirs)
    assert re.search(r"<gpugrad\.autograd\.function\.MulConstantBackward object at 0x", ours)


def hooks_program(torch, device):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    fill_parameters(torch, model, scale=0.5)
    activation = {}

    def get_activation(name):
        def hook(model, input, output):
            activation[name] = output.detach()

        return hook

    handles = [model[0].register_forward_hook(get_activation("fc1"))]

    def pre(module, args):
        print("pre", type(module).__name__, len(args), args[0].shape)

    handles.append(model[2].register_forward_pre_hook(pre))
    records = []

    def backward_hook(module, grad_input, grad_output):
        records.append(("hook", type(module).__name__, grad_input, grad_output))

    def backward_pre_hook(module, grad_output):
        records.append(("pre", type(module).__name__, grad_output))

    handles.append(model[2].register_full_backward_hook(backward_hook))
    handles.append(model[2].register_full_backward_pre_hook(backward_pre_hook))
    handles.append(model[1].register_full_backward_hook(backward_hook))
    x = torch.ones(2, 3, device=device)
    out = model(x)
    out.sum().backward()
    print(activation["fc1"])
    for record in records:
        print(*record)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records.clear()
        first = nn.Linear(3, 1).to(device)
        first.register_full_backward_hook(backward_hook)
        first(torch.ones(1, 3, device=device)).sum().backward()
        print(records[0][2], [str(w.message)[:48] for w in caught])
    for handle in handles:
        handle.remove()
    records.clear()
    activation.clear()
    model(x).sum().backward()
    print(len(activation), len(records))
    x = torch.ones(2, 3, requires_grad=True, device=device)

    def doubling(module, grad_input, grad_output):
        return (grad_input[0] * 2,)

    model[0].register_full_backward_hook(doubling)
    model(x).sum().backward()
    print(x.grad)


def test_module_hooks(device, capsys):
    assert_same_output(*replay(hooks_program, device, capsys))


def clip_grad_program(torch, device):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) * 0.1 - 0.2)
    out = model(torch.ones(2, 3, device=device))
    out.sum().backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    print(total_norm, [p.grad for p in model.parameters()])
    print(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=2.0))
    print(torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01))
    print(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, norm_type="inf"))
    print(torch.nn.utils.parameters_to_vector(model.parameters()))
    print(sum(p.numel() for p in model.parameters() if p.requires_grad))


def test_clip_grad(device, capsys):
    assert_same_output(*replay(clip_grad_program, device, capsys))


SCHEDULERS = [
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 4], "gamma": 0.1}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 5}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95**epoch}),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10}),
    ("LinearLR", {"start_factor": 0.5, "total_iters": 4}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 1, "mode": "exp_range",
                  "gamma": 0.9}),
    ("PolynomialLR", {"total_iters": 4}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 2}),
]  # fmt: skip


def schedulers_program(torch, device):
    model = torch.nn.Linear(2, 1).to(device)
    fill_parameters(torch, model)
    x = torch.ones(1, 2, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    for epoch in range(3):
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()
        scheduler.step()
        print(epoch, scheduler.get_last_lr(), optimizer.param_groups[0]["lr"])
    print(model.weight)
    scheduler1 = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    scheduler2 = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
    for _ in range(3):
        optimizer.step()
        scheduler1.step()
        scheduler2.step()
    print(scheduler2.get_last_lr())
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, "min")
    for val_loss in [1.0] * 14:
        plateau.step(val_loss)
    print(optimizer.param_groups[0]["lr"], plateau.get_last_lr())
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=0.5, patience=2
    )
    for val_loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85]:
        plateau.step(val_loss)
        print(optimizer.param_groups[0]["lr"])
    for name, kwargs in SCHEDULERS:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **kwargs)
        lrs = []
        for _ in range(6):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
        print(name, lrs, scheduler.last_epoch, optimizer.param_groups[0]["momentum"])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    cyclic = torch.optim.lr_scheduler.CyclicLR(optimizer, 0.01, 0.1, step_size_up=3)
    for _ in range(4):
        optimizer.step()
        cyclic.step()
    print(cyclic.get_last_lr(), optimizer.param_groups[0]["betas"])
    print(sorted(cyclic.state_dict()))
    sequential = torch.optim.lr_scheduler.SequentialLR(
        optimizer,
        schedulers=[
            torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2),
            torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9),
        ],
        milestones=[2],
    )
    for _ in range(5):
        optimizer.step()
        sequential.step()
        print(sequential.get_last_lr())
    groups = [{"params": model.weight}, {"params": model.bias, "lr": 1e-3}]
    print(torch.optim.Adam(groups, lr=1e-2))
    print(torch.optim.SGD(model.parameters(), lr=0.1))
    print(torch.optim.AdamW(model.parameters(), lr=0.1, fused=False))


def test_learning_rate_schedulers(device, capsys):
    assert_same_output(*replay(schedulers_program, device, capsys), rtol=1e-12, atol=1e-15)


def test_cyclic_lr_state_dict_round_trip(device):
    model = gg.nn.Linear(2, 1).to(device)
    optimizer = gg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = gg.optim.lr_scheduler.CyclicLR(optimizer, 0.01, 0.1, step_size_up=3)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] is None and "optimizer" not in state
    resumed = gg.optim.lr_scheduler.CyclicLR(optimizer, 0.01, 0.1, step_size_up=3)
    resumed.load_state_dict(state)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
        expected = scheduler.get_last_lr()
        resumed.step()
        assert resumed.get_last_lr() == expected
