"""The optimizers beyond SGD/Adam against PyTorch, step for step in float64, and the
optimizer API that every optimizer shares (version counter, groups, state dicts)."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.nn.modules import Linear, MSELoss, Sequential, Tanh
from gpugrad.nn.parameter import Parameter

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

STEPS = 20
RTOL = 1e-10

CASES = {
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_centered_momentum_wd": (
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    ),
    "rmsprop_maximize": ("RMSprop", {"lr": 0.001, "maximize": True}),
    "adagrad": ("Adagrad", {"lr": 0.1}),
    "adagrad_decay_init_wd": (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.3, "weight_decay": 0.05},
    ),
    "adagrad_maximize": ("Adagrad", {"lr": 0.01, "maximize": True}),
    "adadelta": ("Adadelta", {}),
    "adadelta_rho_wd": ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1}),
    "adamax": ("Adamax", {"lr": 0.01}),
    "adamax_wd_maximize": (
        "Adamax",
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True},
    ),
    "nadam": ("NAdam", {"lr": 0.01}),
    "nadam_wd": ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    "nadam_decoupled": (
        "NAdam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
    "radam": ("RAdam", {"lr": 0.01}),
    "radam_wd": ("RAdam", {"lr": 0.01, "betas": (0.5, 0.6), "weight_decay": 0.1}),
    "radam_decoupled_maximize": (
        "RAdam",
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    ),
    "sgd_nesterov_wd": (
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    ),
    "adam_amsgrad_maximize": ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3}),
}


def _models(device: str):
    import torch

    gg.manual_seed(3)
    model = Sequential(
        Linear(4, 6, dtype="float64", device=device),
        Tanh(),
        Linear(6, 2, dtype="float64", device=device),
    )
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(4, 6, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 2, dtype=torch.float64),
    )
    with torch.no_grad():
        torch_model.load_state_dict(
            {k: torch.tensor(v.cpu().numpy()) for k, v in model.state_dict().items()}
        )
    return model, torch_model


def _data():
    rng = np.random.default_rng(7)
    return rng.standard_normal((12, 4)), rng.standard_normal((12, 2))


def _assert_same_params(model, torch_model, message: str, rtol: float = RTOL) -> None:
    theirs = dict(torch_model.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(
            param.detach().cpu().numpy(),
            theirs[name].detach().numpy(),
            rtol=rtol,
            atol=1e-14,
            err_msg=f"{name} {message}",
        )


@pytest.mark.parametrize("case", list(CASES))
def test_matches_pytorch_step_for_step(case: str, device: str):
    torch = pytest.importorskip("torch")
    name, kwargs = CASES[case]
    model, torch_model = _models(device)
    kwargs = {**kwargs, "foreach": False} if name != "SGD" and "Adam" not in name[:4] else kwargs
    optimizer = getattr(optim, name)(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, name)(torch_model.parameters(), **kwargs)
    x, y = _data()
    gx, gy = gg.tensor(x, device=device), gg.tensor(y, device=device)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        MSELoss()(model(gx), gy).backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        torch.nn.MSELoss()(torch_model(tx), ty).backward()
        torch_optimizer.step()
        _assert_same_params(model, torch_model, f"after step {step}")
    mine, reference = optimizer.state_dict(), torch_optimizer.state_dict()
    assert mine["state"].keys() == reference["state"].keys()
    for index, values in mine["state"].items():
        assert values.keys() == reference["state"][index].keys()
        for key, value in values.items():
            np.testing.assert_allclose(
                value.cpu().numpy(), reference["state"][index][key].numpy(), rtol=RTOL, atol=1e-14
            )
            assert value.dtype.name == str(reference["state"][index][key].dtype).split(".")[1]
    group, ref_group = mine["param_groups"][0], reference["param_groups"][0]
    assert {k: v for k, v in group.items() if k != "params"} == {
        k: v for k, v in ref_group.items() if k in group and k != "params"
    }


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("history_size", [100, 3])
def test_lbfgs_matches_pytorch(line_search_fn, history_size, device: str):
    torch = pytest.importorskip("torch")
    model, torch_model = _models(device)
    kwargs = {"lr": 0.5, "max_iter": 10, "history_size": history_size}
    optimizer = optim.LBFGS(model.parameters(), line_search_fn=line_search_fn, **kwargs)
    torch_optimizer = torch.optim.LBFGS(
        torch_model.parameters(), line_search_fn=line_search_fn, **kwargs
    )
    x, y = _data()
    gx, gy = gg.tensor(x, device=device), gg.tensor(y, device=device)
    tx, ty = torch.tensor(x), torch.tensor(y)

    def closure():
        optimizer.zero_grad()
        loss = MSELoss()(model(gx), gy)
        loss.backward()
        return loss

    def torch_closure():
        torch_optimizer.zero_grad()
        loss = torch.nn.MSELoss()(torch_model(tx), ty)
        loss.backward()
        return loss

    for step in range(1, 6):
        loss = optimizer.step(closure)
        torch_loss = torch_optimizer.step(torch_closure)
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-9)
        # Dozens of quasi-Newton iterations amplify the last-bit differences of the dot
        # products' summation order (PyTorch's dot vs a NumPy sum) to ~1e-9.
        _assert_same_params(model, torch_model, f"after LBFGS step {step}", rtol=1e-7)
    state = optimizer.state[next(iter(model.parameters()))]
    torch_state = torch_optimizer.state[next(iter(torch_model.parameters()))]
    assert state["func_evals"] == torch_state["func_evals"]
    assert state["n_iter"] == torch_state["n_iter"]


def test_lbfgs_refuses_groups_and_other_line_searches():
    w = Parameter(gg.tensor([1.0, 2.0], dtype="float64"))
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [Parameter(gg.zeros(1))]}])
    optimizer = optim.LBFGS([w], line_search_fn="armijo")

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        optimizer.step(closure)


# --- issue 15: updates go through the version counter --------------------------------------
ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]


@pytest.mark.parametrize("name", ALL)
def test_step_bumps_version_counter(name: str, device: str):
    w = Parameter(gg.tensor([1.0, 2.0], device=device))
    x = gg.tensor([3.0, 4.0], device=device)
    optimizer = getattr(optim, name)([w], lr=0.1)
    loss = (w * w * x).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_lbfgs_step_bumps_version_counter():
    w = Parameter(gg.tensor([1.0, 2.0], dtype="float64"))
    optimizer = optim.LBFGS([w], max_iter=2)
    graph = (w * w).sum()

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        graph.backward()


# --- shared API --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_errors_match_pytorch(name: str):
    torch = pytest.importorskip("torch")
    w = Parameter(gg.zeros(2))
    tw = torch.nn.Parameter(torch.zeros(2))
    for kwargs in ({"lr": -1.0}, {"weight_decay": -0.5}, {"eps": -1.0}, {"momentum": -1.0}):
        try:
            getattr(torch.optim, name)([tw], **kwargs)
        except (ValueError, TypeError) as error:
            with pytest.raises(type(error)) as ours:
                getattr(optim, name)([w], **kwargs)
            assert str(ours.value) == str(error)


def test_zero_grad_defaults_to_none_and_add_param_group():
    w = Parameter(gg.tensor([1.0, 2.0]))
    b = Parameter(gg.tensor([0.5]))
    optimizer = optim.RMSprop([w], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": b, "lr": 0.5})
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
    assert optimizer.param_groups[1]["momentum"] == 0.9  # defaults fill the new group
    ((w * w).sum() + (b * b).sum()).backward()
    optimizer.step()
    assert set(optimizer.state_dict()["state"]) == {0, 1}
    assert optimizer.state_dict()["param_groups"][1]["params"] == [1]
    optimizer.zero_grad()
    assert w.grad is None and b.grad is None
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [w]})


@pytest.mark.parametrize("name", ["Adagrad", "NAdam", "RMSprop"])
def test_state_dict_round_trip_continues_identically(name: str):
    def run(optimizer, w, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            (w * w * w).sum().backward()
            optimizer.step()

    w = Parameter(gg.tensor([1.0, -2.0, 3.0], dtype="float64"))
    optimizer = getattr(optim, name)([w], lr=0.05)
    run(optimizer, w, 3)
    saved = optimizer.state_dict()
    w2 = Parameter(w.detach().clone())
    restored = getattr(optim, name)([w2], lr=9.0)
    restored.load_state_dict(saved)
    run(optimizer, w, 4)
    run(restored, w2, 4)
    assert w2.tolist() == w.tolist()
