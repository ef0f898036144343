"""ASGD, Rprop, Adafactor and SparseAdam against PyTorch (float64, the same parameters and
gradients, several steps, state and state_dict round trip), and ``optim.swa_utils``
(AveragedModel, the averaging functions, SWALR, update_bn)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg
from gpugrad import optim

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

CASES = {
    "asgd": ("ASGD", {"lr": 0.05}),
    "asgd-t0": ("ASGD", {"lr": 0.05, "t0": 2, "lambd": 0.01, "weight_decay": 0.1}),
    "asgd-max": ("ASGD", {"maximize": True, "foreach": False}),
    "rprop": ("Rprop", {"lr": 0.01}),
    "rprop-opts": (
        "Rprop",
        {"lr": 0.02, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05), "maximize": True},
    ),  # fmt: skip
    "adafactor": ("Adafactor", {}),
    "adafactor-opts": (
        "Adafactor",
        {
            "lr": 0.1,
            "beta2_decay": -0.5,
            "eps": (1e-20, 1e-2),
            "d": 2.0,
            "weight_decay": 0.1,
            "maximize": True,
        },
    ),  # fmt: skip
}
SHAPES = [(3, 4), (3,), (2, 3, 2)]  # a matrix, a vector, a stack of matrices (Adafactor)
STEPS = 5


def _params(device):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s) for s in SHAPES]
    ours = [gg.nn.Parameter(gg.tensor(v, device=device)) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    return ours, theirs


def _set_grads(ours, theirs, step, device):
    rng = np.random.default_rng(100 + step)
    for p, tp in zip(ours, theirs):
        g = rng.standard_normal(tuple(tp.shape))
        if step % 2:
            g = g * np.sign(tp.detach().numpy())  # sign flips for Rprop
        p.grad = gg.tensor(g, device=device)
        tp.grad = torch.tensor(g)


def _same_params(ours, theirs, message):
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(
            p.detach().cpu().numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=message
        )


def _same_state(mine, reference):
    assert mine["state"].keys() == reference["state"].keys()
    for index, values in mine["state"].items():
        assert list(values) == list(reference["state"][index]), index
        for key, value in values.items():
            expected = reference["state"][index][key]
            if isinstance(expected, torch.Tensor):
                np.testing.assert_allclose(value.cpu().numpy(), expected.numpy(), rtol=1e-12)
                assert value.dtype.name == str(expected.dtype).split(".")[1], key
            else:
                assert value == expected
    for group, ref_group in zip(mine["param_groups"], reference["param_groups"]):
        assert group == ref_group


@pytest.mark.parametrize("case", list(CASES))
def test_matches_pytorch_step_for_step(case, device):
    name, kwargs = CASES[case]
    ours, theirs = _params(device)
    optimizer = getattr(optim, name)(ours, **kwargs)
    torch_optimizer = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(STEPS):
        _set_grads(ours, theirs, step, device)
        optimizer.step()
        torch_optimizer.step()
        _same_params(ours, theirs, f"after step {step + 1}")
    _same_state(optimizer.state_dict(), torch_optimizer.state_dict())
    # round trip: fresh optimizers loaded from the state dicts continue identically
    resumed = getattr(optim, name)(ours, **kwargs)
    resumed.load_state_dict(optimizer.state_dict())
    torch_resumed = getattr(torch.optim, name)(theirs, **kwargs)
    torch_resumed.load_state_dict(torch_optimizer.state_dict())
    for step in range(STEPS, STEPS + 2):
        _set_grads(ours, theirs, step, device)
        resumed.step()
        torch_resumed.step()
        _same_params(ours, theirs, f"after resumed step {step + 1}")


@pytest.mark.parametrize("name", ["ASGD", "Rprop", "Adafactor", "SparseAdam"])
def test_signatures_and_repr_match_pytorch(name):
    ours = inspect.signature(getattr(optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]
    assert [p.kind for p in ours.values()] == [p.kind for p in theirs.values()]
    p, tp = gg.nn.Parameter(gg.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    assert repr(getattr(optim, name)([p])) == repr(getattr(torch.optim, name)([tp]))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("ASGD", {"lr": -1.0}),
        ("ASGD", {"weight_decay": -1.0}),
        ("Rprop", {"lr": -1.0}),
        ("Rprop", {"etas": (1.5, 1.2)}),
        ("Adafactor", {"lr": -1.0}),
        ("Adafactor", {"beta2_decay": 0.5}),
        ("Adafactor", {"eps": (-1.0, 1e-3)}),
        ("Adafactor", {"eps": (None, -1.0)}),
        ("Adafactor", {"d": 0.5}),
        ("Adafactor", {"weight_decay": -0.1}),
        ("SparseAdam", {"lr": 0.0}),
        ("SparseAdam", {"eps": 0.0}),
        ("SparseAdam", {"betas": (1.0, 0.9)}),
        ("SparseAdam", {"betas": (0.9, -0.1)}),
    ],
)
def test_argument_errors_as_pytorch(name, kwargs):
    assert_raises_like_torch(
        lambda: getattr(optim, name)([gg.nn.Parameter(gg.zeros(2))], **kwargs),
        lambda: getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs),
    )


def test_sparse_adam_raises_for_dense_gradients_as_pytorch(device):
    p = gg.nn.Parameter(gg.ones(3, device=device))
    tp = torch.nn.Parameter(torch.ones(3))
    ours, theirs = optim.SparseAdam([p]), torch.optim.SparseAdam([tp])
    assert ours.step() is None and theirs.step() is None  # no gradient: nothing to do
    p.grad, tp.grad = gg.ones(3, device=device), torch.ones(3)
    assert_raises_like_torch(ours.step, theirs.step)
    assert p.tolist() == [1.0, 1.0, 1.0]


# --- swa_utils ------------------------------------------------------------------------------
def _nets(device):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    ).double()
    ours = gg.nn.Sequential(
        gg.nn.Linear(3, 4), gg.nn.BatchNorm1d(4), gg.nn.ReLU(), gg.nn.Linear(4, 2)
    ).double()
    ours.load_state_dict(
        {k: gg.tensor(v.numpy(), device=device) for k, v in theirs.state_dict().items()}
    )
    return ours.to(device), theirs


def _perturb(ours, theirs, step, device):
    rng = np.random.default_rng(step)
    with gg.no_grad(), torch.no_grad():
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            delta = rng.standard_normal(tuple(tp.shape))
            p.add_(gg.tensor(delta, device=device))
            tp.add_(torch.tensor(delta))
        for b, tb in zip(ours.buffers(), theirs.buffers()):
            if tb.is_floating_point():
                delta = rng.standard_normal(tuple(tb.shape))
                b.add_(gg.tensor(delta, device=device))
                tb.add_(torch.tensor(delta))


def _same_state_dicts(ours, theirs):
    mine = ours.state_dict()
    reference = theirs.state_dict()
    assert list(mine) == list(reference)
    for key, value in mine.items():
        np.testing.assert_allclose(
            value.cpu().numpy(), reference[key].numpy(), rtol=1e-12, err_msg=key
        )
        assert value.dtype.name == str(reference[key].dtype).split(".")[1], key


@pytest.mark.parametrize(
    "averaging",
    ["swa", "ema-multi", "ema-avg", "swa-avg", "swa-buffers", "ema-buffers"],
)
def test_averaged_model_as_pytorch(device, averaging):
    swa = torch.optim.swa_utils
    ours, theirs = _nets(device)
    kwargs, tkwargs = {}, {}
    if averaging.startswith("ema"):
        fn = "get_ema_multi_avg_fn" if averaging != "ema-avg" else "get_ema_avg_fn"
        key = "multi_avg_fn" if averaging != "ema-avg" else "avg_fn"
        kwargs[key] = getattr(optim.swa_utils, fn)(0.9)
        tkwargs[key] = getattr(swa, fn)(0.9)
    if averaging == "swa-avg":
        kwargs["avg_fn"] = optim.swa_utils.get_swa_avg_fn()
        tkwargs["avg_fn"] = swa.get_swa_avg_fn()
    if averaging.endswith("buffers"):
        kwargs["use_buffers"] = tkwargs["use_buffers"] = True
    averaged = optim.swa_utils.AveragedModel(ours, **kwargs)
    taveraged = swa.AveragedModel(theirs, **tkwargs)
    for step in range(4):
        _perturb(ours, theirs, step, device)
        averaged.update_parameters(ours)
        taveraged.update_parameters(theirs)
        _same_state_dicts(averaged, taveraged)
    assert averaged.n_averaged.item() == 4
    x = np.random.default_rng(9).standard_normal((5, 3))
    averaged.eval()
    taveraged.eval()
    np.testing.assert_allclose(
        averaged(gg.tensor(x, device=device)).detach().cpu().numpy(),
        taveraged(torch.tensor(x)).detach().numpy(),
        rtol=1e-12,
    )


def test_averaging_function_errors_as_pytorch():
    swa = torch.optim.swa_utils
    for fn in ("get_ema_multi_avg_fn", "get_ema_avg_fn"):
        assert_raises_like_torch(
            lambda fn=fn: getattr(optim.swa_utils, fn)(1.5), lambda fn=fn: getattr(swa, fn)(1.5)
        )
    net, tnet = _nets("cpu")
    assert_raises_like_torch(
        lambda: optim.swa_utils.AveragedModel(
            net, avg_fn=optim.swa_utils.get_swa_avg_fn(),
            multi_avg_fn=optim.swa_utils.get_swa_multi_avg_fn()),
        lambda: swa.AveragedModel(
            tnet, avg_fn=swa.get_swa_avg_fn(), multi_avg_fn=swa.get_swa_multi_avg_fn()),
    )  # fmt: skip
    assert sorted(optim.swa_utils.__all__) == sorted(swa.__all__)


def test_update_bn_as_pytorch(device):
    ours, theirs = _nets(device)
    ours[1].momentum = theirs[1].momentum = 0.3
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 3)) for _ in range(3)]
    loader = [(gg.tensor(b, device=device), 0) for b in batches]
    tloader = [(torch.tensor(b), 0) for b in batches]
    ours.eval()
    theirs.eval()
    optim.swa_utils.update_bn(loader, ours)
    torch.optim.swa_utils.update_bn(tloader, theirs)
    _same_state_dicts(ours, theirs)
    assert not ours.training and ours[1].momentum == 0.3


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"swa_lr": 0.05, "anneal_epochs": 3},
        {"swa_lr": [0.05, 0.2], "anneal_epochs": 4, "anneal_strategy": "linear"},
        {"swa_lr": 0.05, "anneal_epochs": 0},
    ],
)
def test_swalr_as_pytorch(kwargs):
    def make(lib):
        p, q = lib.nn.Parameter(lib.zeros(1)), lib.nn.Parameter(lib.zeros(1))
        opt = lib.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=1.0)
        return opt, lib.optim.swa_utils.SWALR(opt, **kwargs)

    (opt, scheduler), (topt, tscheduler) = make(gg), make(torch)
    for _ in range(7):
        opt.step()
        topt.step()
        scheduler.step()
        tscheduler.step()
        assert scheduler.get_last_lr() == pytest.approx(tscheduler.get_last_lr(), rel=1e-14)
    state = scheduler.state_dict()
    assert sorted(state) == sorted(tscheduler.state_dict())
    again = make(gg)[1]
    again.load_state_dict(state)
    assert again.anneal_func(0.5) == scheduler.anneal_func(0.5)


def test_swalr_errors_as_pytorch():
    p, tp = gg.nn.Parameter(gg.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt, topt = optim.SGD([p], lr=1.0), torch.optim.SGD([tp], lr=1.0)
    for kwargs in ({"anneal_strategy": "exp"}, {"anneal_epochs": -1}, {"anneal_epochs": 1.5}):
        assert_raises_like_torch(
            lambda kwargs=kwargs: optim.swa_utils.SWALR(opt, 0.1, **kwargs),
            lambda kwargs=kwargs: torch.optim.swa_utils.SWALR(topt, 0.1, **kwargs),
        )
