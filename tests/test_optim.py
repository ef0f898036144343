"""Optimizers and losses against PyTorch, step for step; optimizer API and state dicts.

Each case trains the same small float64 model from the same initial weights for 20 steps
in gpugrad and in PyTorch and requires the losses and every parameter to agree to 1e-5
after every step.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.nn.modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Linear,
    MSELoss,
    Sequential,
    Sigmoid,
    Tanh,
)
from gpugrad.nn.parameter import Parameter
from gpugrad.optim import SGD, Adam, AdamW

STEPS = 20
TOL = 1e-5


pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}),
    "sgd_nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd_weight_decay": ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.05}),
    "adam": ("Adam", {"lr": 0.01}),
    "adam_amsgrad_wd": (
        "Adam",
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True},
    ),
    "adamw": ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    "adamw_amsgrad_maximize": (
        "AdamW",
        {"lr": 0.01, "amsgrad": True, "maximize": True},
    ),
}
GG_OPTIM = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}

# name: (output units, final sigmoid, target kind, loss kwargs)
LOSSES = {
    "bce": (1, True, "binary", {}),
    "bce_weight_sum": (1, True, "soft", {"reduction": "sum", "weight": [[2.0]]}),
    "bce_logits": (1, False, "binary", {}),
    "bce_logits_pos_weight": (2, False, "binary", {"pos_weight": [3.0, 0.5]}),
    "mse": (2, False, "regression", {}),
    "cross_entropy": (3, False, "classes", {}),
    "cross_entropy_smoothing": (3, False, "classes", {"label_smoothing": 0.1}),
    "cross_entropy_weight_smoothing_ignore": (
        3,
        False,
        "classes",
        {"label_smoothing": 0.2, "weight": [0.5, 1.0, 2.0], "ignore_index": 1},
    ),
}
LOSS_CLASSES = {
    "bce": "BCELoss",
    "bce_logits": "BCEWithLogitsLoss",
    "mse": "MSELoss",
    "cross_entropy": "CrossEntropyLoss",
}
GG_LOSSES = {
    "BCELoss": BCELoss,
    "BCEWithLogitsLoss": BCEWithLogitsLoss,
    "MSELoss": MSELoss,
    "CrossEntropyLoss": CrossEntropyLoss,
}


def _loss_class(name: str) -> str:
    matches = [k for k in LOSS_CLASSES if name == k or name.startswith(k + "_")]
    return LOSS_CLASSES[max(matches, key=len)]


def _data(kind: str, outputs: int, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, 4))
    if kind == "binary":
        y = (rng.random((n, outputs)) < 0.5).astype(np.float64)
    elif kind == "soft":
        y = rng.random((n, outputs))
    elif kind == "regression":
        y = rng.standard_normal((n, outputs))
    else:
        y = rng.integers(0, outputs, n)
    return x, y


def _models(outputs: int, sigmoid: bool, device: str):
    import torch

    gg.manual_seed(3)
    layers = [
        Linear(4, 6, dtype="float64", device=device),
        Tanh(),
        Linear(6, outputs, dtype="float64", device=device),
    ]
    torch_layers = [
        torch.nn.Linear(4, 6, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(6, outputs, dtype=torch.float64),
    ]
    if sigmoid:
        layers.append(Sigmoid())
        torch_layers.append(torch.nn.Sigmoid())
    model, torch_model = Sequential(*layers), torch.nn.Sequential(*torch_layers)
    with torch.no_grad():
        torch_model.load_state_dict(
            {k: torch.tensor(v.cpu().numpy()) for k, v in model.state_dict().items()}
        )
    return model, torch_model


def _loss_kwargs(kwargs: dict, device: str | None) -> dict:
    import torch

    out = {}
    for key, value in kwargs.items():
        if isinstance(value, list):
            value = (
                torch.tensor(value, dtype=torch.float64)
                if device is None
                else gg.tensor(value, dtype="float64", device=device)
            )
        out[key] = value
    return out


def _assert_params_close(model, torch_model, step: int) -> None:
    theirs = dict(torch_model.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(
            param.detach().cpu().numpy(),
            theirs[name].detach().numpy(),
            rtol=0,
            atol=TOL,
            err_msg=f"{name} after step {step}",
        )


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("optim_name", list(OPTIMIZERS))
def test_training_matches_pytorch_step_for_step(optim_name: str, loss_name: str, device: str):
    torch = pytest.importorskip("torch")
    outputs, sigmoid, kind, loss_kwargs = LOSSES[loss_name]
    optim_class, optim_kwargs = OPTIMIZERS[optim_name]
    model, torch_model = _models(outputs, sigmoid, device)
    loss_class = _loss_class(loss_name)
    loss_fn = GG_LOSSES[loss_class](**_loss_kwargs(loss_kwargs, device))
    torch_loss_fn = getattr(torch.nn, loss_class)(**_loss_kwargs(loss_kwargs, None))
    optimizer = GG_OPTIM[optim_class](model.parameters(), **optim_kwargs)
    torch_optimizer = getattr(torch.optim, optim_class)(torch_model.parameters(), **optim_kwargs)

    x, y = _data(kind, outputs)
    target_dtype = "int64" if kind == "classes" else "float64"
    gx, gy = gg.tensor(x, device=device), gg.tensor(y, dtype=target_dtype, device=device)
    tx, ty = torch.tensor(x), torch.tensor(y)
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(gx), gy)
        loss.backward()
        optimizer.step()

        torch_optimizer.zero_grad()
        torch_loss = torch_loss_fn(torch_model(tx), ty)
        torch_loss.backward()
        torch_optimizer.step()

        assert loss.item() == pytest.approx(torch_loss.item(), abs=TOL), f"loss at step {step}"
        _assert_params_close(model, torch_model, step)


# --- API ----------------------------------------------------------------------------------
def _quadratic_setup(device: str = "cpu"):
    w = Parameter(gg.tensor([1.0, -2.0, 3.0], dtype="float64", device=device))
    b = Parameter(gg.tensor(0.5, dtype="float64", device=device))
    return w, b


def _quadratic_loss(w, b):
    return (w * w).sum() + (b - 1.0) ** 2


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_step_keeps_parameter_identity_and_dtype(name: str, device: str):
    w, b = _quadratic_setup(device)
    optimizer = GG_OPTIM[name]([w, b], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    before = w.detach().clone()
    _quadratic_loss(w, b).backward()
    optimizer.step()
    assert optimizer.param_groups[0]["params"][0] is w
    assert isinstance(w, Parameter) and w.requires_grad and w.is_leaf
    assert w.dtype == gg.float64 and str(w.device).startswith(device)
    assert not gg.equal(w.detach(), before)
    assert w.grad is not None  # step does not clear gradients


def test_zero_grad_sets_to_none_or_zeros():
    w, b = _quadratic_setup()
    optimizer = SGD([w, b], lr=0.1)
    _quadratic_loss(w, b).backward()
    optimizer.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.tolist() == [0.0, 0.0, 0.0]
    _quadratic_loss(w, b).backward()
    assert w.grad.tolist() == [2.0, -4.0, 6.0]  # accumulates from zero
    optimizer.zero_grad()
    assert w.grad is None and b.grad is None


def test_parameters_without_gradient_are_skipped():
    w, b = _quadratic_setup()
    optimizer = Adam([w, b], lr=0.1)
    (w * w).sum().backward()
    optimizer.step()
    assert b.item() == 0.5 and b not in optimizer.state
    assert set(optimizer.state[w]) == {"step", "exp_avg", "exp_avg_sq"}


def test_param_groups_and_closure():
    w, b = _quadratic_setup()
    optimizer = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]

    def closure():
        optimizer.zero_grad()
        loss = _quadratic_loss(w, b)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == pytest.approx(1 + 4 + 9 + 0.25)
    assert w.tolist() == pytest.approx([0.8, -1.6, 2.4])
    assert b.item() == pytest.approx(0.5 - 0.5 * 2 * (0.5 - 1.0))
    optimizer.param_groups[0]["lr"] = 0.0  # changing a hyperparameter takes effect
    optimizer.step(closure)
    assert w.tolist() == pytest.approx([0.8, -1.6, 2.4])


def test_invalid_arguments():
    w, _ = _quadratic_setup()
    with pytest.raises(ValueError, match="Invalid learning rate"):
        SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        Adam(w)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([w * 2], lr=0.1)


def test_repr_lists_groups():
    w, _ = _quadratic_setup()
    text = repr(SGD([w], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9\n" in text


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_identically(name: str):
    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.1, "amsgrad": True}

    def run(optimizer, w, b, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            _quadratic_loss(w, b).backward()
            optimizer.step()

    w, b = _quadratic_setup()
    optimizer = GG_OPTIM[name]([w, b], **kwargs)
    run(optimizer, w, b, 3)
    saved = optimizer.state_dict()
    assert list(saved) == ["state", "param_groups"]
    assert saved["param_groups"][0]["params"] == [0, 1] and set(saved["state"]) == {0, 1}

    w2 = Parameter(w.detach().clone())
    b2 = Parameter(b.detach().clone())
    restored = GG_OPTIM[name]([w2, b2], lr=999.0)
    restored.load_state_dict(saved)
    assert restored.param_groups[0]["lr"] == 0.1
    run(optimizer, w, b, 4)
    run(restored, w2, b2, 4)
    assert w2.tolist() == w.tolist() and b2.item() == b.item()


def test_state_dict_matches_pytorch_layout():
    torch = pytest.importorskip("torch")
    w, b = _quadratic_setup()
    tw = torch.nn.Parameter(torch.tensor(w.tolist(), dtype=torch.float64))
    tb = torch.nn.Parameter(torch.tensor(b.item(), dtype=torch.float64))
    for ours, theirs in (
        (SGD([w, b], lr=0.1, momentum=0.9), torch.optim.SGD([tw, tb], lr=0.1, momentum=0.9)),
        (Adam([w, b], amsgrad=True), torch.optim.Adam([tw, tb], amsgrad=True)),
    ):
        _quadratic_loss(w, b).backward()
        ((tw * tw).sum() + (tb - 1.0) ** 2).backward()
        ours.step()
        theirs.step()
        mine, reference = ours.state_dict(), theirs.state_dict()
        assert mine["state"].keys() == reference["state"].keys()
        for i in mine["state"]:
            assert mine["state"][i].keys() == reference["state"][i].keys()
            for key, value in mine["state"][i].items():
                assert value.dtype.name == str(reference["state"][i][key].dtype).split(".")[1]
        group, ref_group = mine["param_groups"][0], reference["param_groups"][0]
        assert group["params"] == ref_group["params"]
        assert set(group) <= set(ref_group)
        assert all(group[k] == ref_group[k] for k in group)


def test_load_state_dict_validates_groups():
    w, b = _quadratic_setup()
    optimizer = SGD([w, b], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optimizer.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        optimizer.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]})
