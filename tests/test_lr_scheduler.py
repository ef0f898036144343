"""Learning-rate schedulers against PyTorch: the same lr (and momentum) sequences, value for
value, the same warnings, errors and state dicts."""

from __future__ import annotations

import warnings

import pytest

import gpugrad as gg
from gpugrad.nn.parameter import Parameter
from gpugrad.optim import SGD, Adam, lr_scheduler

STEPS = 60


def _lambda(epoch):
    return 0.95**epoch


def _mult(epoch):
    return 0.9 if epoch % 3 else 1.1


# name: (optimizer, optimizer kwargs, scheduler, scheduler kwargs)
CASES = {
    "step": ("SGD", {"lr": 0.1}, "StepLR", {"step_size": 7, "gamma": 0.5}),
    "multistep": ("SGD", {"lr": 0.1}, "MultiStepLR", {"milestones": [5, 20, 20, 41]}),
    "exponential": ("SGD", {"lr": 0.1}, "ExponentialLR", {"gamma": 0.93}),
    "cosine": ("SGD", {"lr": 0.1}, "CosineAnnealingLR", {"T_max": 17, "eta_min": 0.001}),
    "warm_restarts": (
        "SGD",
        {"lr": 0.1},
        "CosineAnnealingWarmRestarts",
        {"T_0": 5, "T_mult": 2, "eta_min": 0.01},
    ),
    "warm_restarts_flat": ("Adam", {"lr": 0.01}, "CosineAnnealingWarmRestarts", {"T_0": 9}),
    "lambda": ("SGD", {"lr": 0.1}, "LambdaLR", {"lr_lambda": _lambda}),
    "multiplicative": ("SGD", {"lr": 0.1}, "MultiplicativeLR", {"lr_lambda": _mult}),
    "linear": (
        "SGD",
        {"lr": 0.1},
        "LinearLR",
        {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 30},
    ),
    "constant": ("SGD", {"lr": 0.1}, "ConstantLR", {"factor": 0.25, "total_iters": 11}),
    "polynomial": ("SGD", {"lr": 0.1}, "PolynomialLR", {"total_iters": 40, "power": 2.0}),
    "one_cycle_sgd": (
        "SGD",
        {"lr": 0.1, "momentum": 0.9},
        "OneCycleLR",
        {"max_lr": 1.0, "total_steps": STEPS + 1},
    ),
    "one_cycle_adam_linear_three_phase": (
        "Adam",
        {"lr": 0.1},
        "OneCycleLR",
        {
            "max_lr": 0.5,
            "epochs": 7,
            "steps_per_epoch": 9,
            "anneal_strategy": "linear",
            "three_phase": True,
        },
    ),
}


def _param_pair():
    torch = pytest.importorskip("torch")
    return Parameter(gg.tensor([1.0, -2.0])), torch.nn.Parameter(torch.tensor([1.0, -2.0]))


def _step_both(optimizers, params):
    for optimizer, param in zip(optimizers, params):
        optimizer.zero_grad()
        (param * param).sum().backward()
        optimizer.step()


def _group_view(group: dict) -> dict:
    return {k: v for k, v in group.items() if k in ("lr", "momentum", "betas", "initial_lr")}


@pytest.mark.parametrize("case", list(CASES))
def test_sequence_matches_pytorch(case: str):
    torch = pytest.importorskip("torch")
    optimizer_name, optimizer_kwargs, name, kwargs = CASES[case]
    w, tw = _param_pair()
    optimizer = {"SGD": SGD, "Adam": Adam}[optimizer_name]([w], **optimizer_kwargs)
    torch_optimizer = getattr(torch.optim, optimizer_name)([tw], **optimizer_kwargs)
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    torch_scheduler = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **kwargs)
    assert scheduler.get_last_lr() == torch_scheduler.get_last_lr()
    for epoch in range(STEPS):
        _step_both((optimizer, torch_optimizer), (w, tw))
        scheduler.step()
        torch_scheduler.step()
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr(), f"epoch {epoch}"
        assert scheduler.last_epoch == torch_scheduler.last_epoch
        assert _group_view(optimizer.param_groups[0]) == _group_view(
            torch_optimizer.param_groups[0]
        )


def test_sequential_lr_matches_pytorch():
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    optimizer, torch_optimizer = SGD([w], lr=0.1), torch.optim.SGD([tw], lr=0.1)

    def build(module, opt):
        warmup = module.LinearLR(opt, start_factor=0.1, total_iters=5)
        cosine = module.CosineAnnealingLR(opt, T_max=30)
        decay = module.ExponentialLR(opt, gamma=0.9)
        return module.SequentialLR(opt, [warmup, cosine, decay], milestones=[5, 35])

    scheduler = build(lr_scheduler, optimizer)
    torch_scheduler = build(torch.optim.lr_scheduler, torch_optimizer)
    for epoch in range(STEPS):
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr(), f"epoch {epoch}"
        _step_both((optimizer, torch_optimizer), (w, tw))
        scheduler.step()
        torch_scheduler.step()


def test_chained_scheduler_matches_pytorch():
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    optimizer, torch_optimizer = SGD([w], lr=1.0), torch.optim.SGD([tw], lr=1.0)

    def build(module, opt):
        return module.ChainedScheduler(
            [module.ConstantLR(opt, factor=0.1, total_iters=2), module.ExponentialLR(opt, 0.9)]
        )

    scheduler = build(lr_scheduler, optimizer)
    torch_scheduler = build(torch.optim.lr_scheduler, torch_optimizer)
    for epoch in range(20):
        _step_both((optimizer, torch_optimizer), (w, tw))
        scheduler.step()
        torch_scheduler.step()
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr(), f"epoch {epoch}"


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_lr_on_plateau_matches_pytorch(mode, threshold_mode):
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    optimizer = SGD([{"params": [w]}], lr=0.1)
    torch_optimizer = torch.optim.SGD([{"params": [tw]}], lr=0.1)
    kwargs = {
        "mode": mode,
        "threshold_mode": threshold_mode,
        "patience": 2,
        "cooldown": 1,
        "factor": 0.5,
        "min_lr": 0.004,
    }
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer, **kwargs)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] * 5
    for epoch, metric in enumerate(metrics):
        scheduler.step(metric)
        torch_scheduler.step(metric)
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr(), f"epoch {epoch}"
        assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs
    assert scheduler.get_last_lr()[0] < 0.1  # the schedule did reduce


def test_step_before_optimizer_warns_as_pytorch():
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        lr_scheduler.StepLR(SGD([w], lr=0.1), step_size=2).step()
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.optim.lr_scheduler.StepLR(torch.optim.SGD([tw], lr=0.1), step_size=2).step()
    assert [str(m.message) for m in ours] == [str(m.message) for m in theirs]
    assert "Detected call of `lr_scheduler.step()` before `optimizer.step()`" in str(
        ours[0].message
    )
    # In the right order, nothing is printed.
    optimizer = SGD([w], lr=0.1)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _step_both((optimizer,), (w,))
        scheduler.step()


def test_epoch_argument_and_get_lr_warn_and_use_closed_form():
    w, _ = _param_pair()
    optimizer = SGD([w], lr=0.1)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    _step_both((optimizer,), (w,))
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
        scheduler.step(7)
    assert scheduler.get_last_lr() == [0.1 * 0.5**2]
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        scheduler.get_lr()


def test_state_dict_round_trip():
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    optimizer = SGD([w], lr=0.1)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    torch_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        torch.optim.SGD([tw], lr=0.1), T_max=10
    )
    for _ in range(4):
        _step_both((optimizer,), (w,))
        scheduler.step()
    saved = scheduler.state_dict()
    assert set(saved) == set(torch_scheduler.state_dict())
    assert "optimizer" not in saved and saved["last_epoch"] == 4

    w2, _ = _param_pair()
    optimizer2 = SGD([w2], lr=0.1)
    restored = lr_scheduler.CosineAnnealingLR(optimizer2, T_max=10)
    restored.load_state_dict(saved)
    optimizer2.load_state_dict(optimizer.state_dict())
    for _ in range(5):
        _step_both((optimizer, optimizer2), (w, w2))
        scheduler.step()
        restored.step()
        assert restored.get_last_lr() == scheduler.get_last_lr()


def test_lambda_state_dict_keeps_callable_objects_state():
    class Factor:
        def __init__(self):
            self.scale = 0.5

        def __call__(self, epoch):
            return self.scale**epoch

    w, _ = _param_pair()
    scheduler = lr_scheduler.LambdaLR(SGD([w], lr=1.0), [Factor()])
    scheduler.lr_lambdas[0].scale = 0.25
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"scale": 0.25}]
    other = lr_scheduler.LambdaLR(SGD([w], lr=1.0), [Factor()])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].scale == 0.25


def test_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    w, tw = _param_pair()
    cases = [
        ("ConstantLR", {"factor": 2.0}),
        ("LinearLR", {"start_factor": 0.0}),
        ("LinearLR", {"end_factor": 1.5}),
        ("CosineAnnealingWarmRestarts", {"T_0": 0}),
        ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}),
        ("OneCycleLR", {"max_lr": 0.1}),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "exp"}),
        ("OneCycleLR", {"max_lr": [0.1, 0.2], "total_steps": 10}),
        ("ReduceLROnPlateau", {"factor": 1.0}),
        ("ReduceLROnPlateau", {"mode": "mean"}),
        ("LambdaLR", {"lr_lambda": [_lambda, _lambda]}),
        ("StepLR", {"step_size": 2, "last_epoch": 3}),
    ]
    for name, kwargs in cases:
        with pytest.raises(Exception) as theirs:
            getattr(torch.optim.lr_scheduler, name)(torch.optim.SGD([tw], lr=0.1), **kwargs)
        with pytest.raises(type(theirs.value)) as ours:
            getattr(lr_scheduler, name)(SGD([w], lr=0.1), **kwargs)
        assert str(ours.value) == str(theirs.value), name
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([w], step_size=1)


def test_one_cycle_past_total_steps_raises():
    w, _ = _param_pair()
    optimizer = SGD([w], lr=0.1, momentum=0.9)
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=3)
    for _ in range(3):
        _step_both((optimizer,), (w,))
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        scheduler.step()
