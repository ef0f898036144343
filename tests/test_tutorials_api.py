"""Small pieces of PyTorch's API that tutorials use, found missing while replaying them:
``gg.accelerator``, ``Module.get_parameter``/``get_buffer``, ``lr_scheduler._LRScheduler``,
the deprecated ``clip_grad_norm``, ``nn.utils.rnn.pad_sequence``,
``utils.checkpoint.checkpoint``/``checkpoint_sequential``, the optimizers' ``foreach``/
``fused``/``differentiable``/``capturable`` flags, and whole-model ``save``/``load``.
Each is compared with PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
from tests.against_torch import assert_raises_like_torch
from tests.tutorial_replay import fill_parameters

torch = pytest.importorskip("torch")


def test_accelerator_queries(device):
    if device == "cuda":
        assert gg.accelerator.is_available()
        assert gg.accelerator.current_accelerator().type == "cuda"
        assert gg.accelerator.device_count() >= 1
        assert gg.accelerator.current_device_index() == 0
        gg.accelerator.synchronize()
        return
    assert gg.accelerator.is_available() is torch.accelerator.is_available() is False
    assert gg.accelerator.current_accelerator() is torch.accelerator.current_accelerator()
    assert gg.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert_raises_like_torch(
        gg.accelerator.current_device_index, torch.accelerator.current_device_index
    )
    chosen = gg.accelerator.current_accelerator().type if gg.accelerator.is_available() else "cpu"
    assert gg.ones(2, device=chosen).device.type == "cpu"


@pytest.mark.parametrize(
    "target", ["0.weight", "1.running_mean", "0.nope", "0.training", "2.weight"]
)
def test_get_parameter_and_get_buffer(target):
    ours = gg.nn.Sequential(gg.nn.Linear(2, 2), gg.nn.BatchNorm1d(2))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    for method in ("get_parameter", "get_buffer"):
        try:
            expected = getattr(theirs, method)(target)
        except AttributeError:
            assert_raises_like_torch(
                lambda m=method: getattr(ours, m)(target),
                lambda m=method: getattr(theirs, m)(target),
            )
        else:
            got = getattr(ours, method)(target)
            assert got is getattr(ours.get_submodule(target.split(".")[0]), target.split(".")[1])
            assert tuple(got.shape) == tuple(expected.shape)


def test_custom_scheduler_subclassing_the_old_name():
    def make(L):
        class WarmupScheduler(L.optim.lr_scheduler._LRScheduler):
            def __init__(self, optimizer, warmup, last_epoch=-1):
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                scale = min(1.0, (self.last_epoch + 1) / self.warmup)
                return [base * scale for base in self.base_lrs]

        model = L.nn.Linear(2, 1)
        optimizer = L.optim.SGD(model.parameters(), lr=0.1)
        scheduler = WarmupScheduler(optimizer, warmup=4)
        lrs = []
        for _ in range(6):
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
        return lrs, isinstance(scheduler, L.optim.lr_scheduler.LRScheduler)

    assert make(gg) == make(torch)


def test_deprecated_clip_grad_norm_warns_and_clips(device):
    p = gg.nn.Parameter(gg.ones(4, device=device))
    p.grad = gg.full((4,), 2.0, device=device)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        norm = gg.nn.utils.clip_grad_norm(p, 1.0)
    assert norm.item() == pytest.approx(4.0)
    np.testing.assert_allclose(p.grad.cpu().numpy(), np.full(4, 0.5), rtol=1e-5)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_values_and_gradients(device, batch_first, padding_side):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 3)]
    weights = rng.standard_normal((5, 3, 3) if batch_first else (5, 3, 3))
    ours = [gg.tensor(a, requires_grad=True, device=device) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kwargs = {"batch_first": batch_first, "padding_value": -1.5, "padding_side": padding_side}
    out = gg.nn.utils.rnn.pad_sequence(ours, **kwargs)
    expected = torch.nn.utils.rnn.pad_sequence(theirs, **kwargs)
    np.testing.assert_array_equal(out.detach().cpu().numpy(), expected.detach().numpy())
    w = weights.transpose(1, 0, 2) if batch_first else weights
    (out * gg.tensor(w, device=device)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-12)


def test_pad_sequence_errors_are_pytorchs():
    rnn_ours, rnn_theirs = gg.nn.utils.rnn, torch.nn.utils.rnn
    assert_raises_like_torch(
        lambda: rnn_ours.pad_sequence([gg.ones(2)], padding_side="up"),
        lambda: rnn_theirs.pad_sequence([torch.ones(2)], padding_side="up"),
    )
    assert_raises_like_torch(lambda: rnn_ours.pad_sequence([]), lambda: rnn_theirs.pad_sequence([]))
    stacked = rnn_ours.pad_sequence(gg.ones(2, 3))
    assert stacked.shape == torch.nn.utils.rnn.pad_sequence(torch.ones(2, 3)).shape


def _block(L):
    return L.nn.Sequential(L.nn.Linear(4, 8), L.nn.Tanh(), L.nn.Linear(8, 3))


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_gives_pytorchs_values_and_gradients(device, use_reentrant):
    ours, theirs = _block(gg).to(device), _block(torch)
    fill_parameters(gg, ours, scale=0.5)
    fill_parameters(torch, theirs, scale=0.5)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    x_ours = gg.tensor(x, requires_grad=True, device=device)
    x_theirs = torch.tensor(x, requires_grad=True)
    out = gg.utils.checkpoint.checkpoint(ours, x_ours, use_reentrant=use_reentrant)
    expected = torch.utils.checkpoint.checkpoint(theirs, x_theirs, use_reentrant=use_reentrant)
    assert out.grad_fn.name() == "CheckpointFunctionBackward"
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-5)
    out.pow(2).sum().backward()
    expected.pow(2).sum().backward()
    np.testing.assert_allclose(x_ours.grad.cpu().numpy(), x_theirs.grad.numpy(), rtol=1e-4)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_without_input_grads_follows_the_variant(device, use_reentrant):
    results = []
    for L, dev in ((gg, device), (torch, "cpu")):
        model = _block(L).to(dev)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = L.utils.checkpoint.checkpoint(
                model, L.ones(2, 4, device=dev), use_reentrant=use_reentrant
            )
        if out.requires_grad:
            out.sum().backward()
        results.append(
            (
                out.requires_grad,
                model[0].weight.grad is not None,
                [str(w.message) for w in caught if "requires_grad" in str(w.message)],
            )
        )
    assert results[0] == results[1]


def test_checkpoint_replays_dropout_with_the_same_mask(device):
    model = gg.nn.Sequential(gg.nn.Linear(6, 6), gg.nn.Dropout(0.5), gg.nn.Linear(6, 2))
    model.to(device)
    x = gg.ones(8, 6, requires_grad=True, device=device)
    gg.manual_seed(7)
    model(x).sum().backward()
    plain = x.grad.clone()
    x.grad = None
    gg.manual_seed(7)
    gg.utils.checkpoint.checkpoint(model, x, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), plain.cpu().numpy(), rtol=1e-6)


def test_checkpoint_sequential_matches_plain_run(device):
    model = gg.nn.Sequential(*[gg.nn.Linear(3, 3) for _ in range(5)]).to(device)
    x = gg.ones(2, 3, requires_grad=True, device=device)
    out = gg.utils.checkpoint.checkpoint_sequential(model, 2, x, use_reentrant=False)
    out.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected = model(x.detach().requires_grad_())
    expected.sum().backward()
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().cpu().numpy())
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g.cpu().numpy(), p.grad.cpu().numpy(), rtol=1e-6)


def test_checkpoint_without_use_reentrant_warns_as_pytorch():
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        gg.utils.checkpoint.checkpoint(lambda a: a * 2, gg.ones(2, requires_grad=True))


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", {"lr": 0.1, "foreach": None, "differentiable": False, "fused": None}),
        ("Adam", {"lr": 0.1, "foreach": True, "capturable": False, "fused": False}),
        ("AdamW", {"lr": 0.1, "fused": False, "foreach": False}),
    ],
)
def test_optimizer_flags_are_accepted_and_printed_as_pytorch(name, kwargs):
    ours = getattr(gg.optim, name)(gg.nn.Linear(2, 1).parameters(), **kwargs)
    theirs = getattr(torch.optim, name)(torch.nn.Linear(2, 1).parameters(), **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]


def test_whole_model_with_buffers_and_shared_weights_round_trips(device, tmp_path):
    model = gg.nn.Sequential(gg.nn.Linear(3, 3), gg.nn.BatchNorm1d(3), gg.nn.Linear(3, 3))
    model[2].weight = model[0].weight
    model.to(device)
    model(gg.randn(4, 3, device=device))
    gg.save({"model": model, "epoch": 2}, tmp_path / "whole.pt")
    loaded = gg.load(tmp_path / "whole.pt", weights_only=False)
    assert loaded["epoch"] == 2
    copy = loaded["model"]
    assert copy[2].weight is copy[0].weight
    for (name, a), (_, b) in zip(model.state_dict().items(), copy.state_dict().items()):
        assert a.device == b.device and gg.equal(a, b), name
    copy.eval()
    model.eval()
    x = gg.randn(2, 3, device=device)
    assert gg.equal(copy(x), model(x))


def test_unpicklable_objects_are_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type Linear"):
        model = gg.nn.Linear(2, 2)
        model.register_forward_hook(lambda *a: None)
        gg.save(model, tmp_path / "hooked.pt")
