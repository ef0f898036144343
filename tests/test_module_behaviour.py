"""``nn.Module`` behaviour as PyTorch defines it: buffers, hooks, traversal, state dicts,
containers, reprs, and in-place writes that bump the version counter."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn

torch = pytest.importorskip("torch")


class WithBuffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.register_buffer("steps", gg.zeros(1))
        self.register_buffer("scratch", gg.ones(2), persistent=False)
        self.cache = nn.Buffer(gg.full((2,), 3.0))
        self.hidden = nn.Buffer(gg.zeros(3), persistent=False)

    def forward(self, x):
        return self.linear(x) * self.cache


def test_buffers_persistent_or_not_in_state_dict_and_moved_by_to(device):
    module = WithBuffers()
    assert [name for name, _ in module.named_buffers()] == ["steps", "scratch", "cache", "hidden"]
    state = module.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == ["steps", "cache", "linear.weight", "linear.bias"]
    module.to(device).double()
    for buffer in module.buffers():
        assert buffer.device.type == device and buffer.dtype == gg.float64
    copy = WithBuffers()
    copy.load_state_dict(module.state_dict())
    assert copy.cache.tolist() == [3.0, 3.0]


def test_buffer_is_a_tensor_that_registers_itself():
    buffer = nn.Buffer(gg.ones(2))
    assert isinstance(buffer, gg.Tensor) and not buffer.requires_grad
    assert repr(buffer) == "tensor([1., 1.])"


def test_forward_hooks_and_pre_hooks_with_handles():
    layer = nn.Linear(2, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = layer(gg.ones(3, 2))
    expected = (layer.bias + 1).detach().expand(3, 2)
    assert gg.equal(out.detach(), expected) and calls == [(3, 2)]
    pre.remove()
    post.remove()
    assert gg.allclose(layer(gg.ones(1, 2)), gg.ones(1, 2) @ layer.weight.t() + layer.bias)
    with layer.register_forward_hook(lambda m, a, k, out: out * 0, with_kwargs=True):
        assert layer(gg.ones(1, 2)).abs().sum().item() == 0
    assert layer(gg.ones(1, 2)).abs().sum().item() != 0


def test_hooks_run_in_order_and_prepend():
    layer = nn.Identity()
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("front"), prepend=True)
    layer(gg.ones(1))
    assert order == ["front", "first"]


def test_named_modules_apply_requires_grad_and_extra_repr():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Sequential(nn.Linear(3, 1)))
    assert [name for name, _ in model.named_modules()] == ["", "0", "1", "2", "2.0"]
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Linear", "Sequential", "Sequential"]
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    assert model[0].extra_repr() == "in_features=2, out_features=3, bias=True"


def test_module_list_repr_folds_repeats_as_torch_does():
    def build(m):
        return m.ModuleList([m.Tanh(), m.Tanh(), m.Linear(2, 2), m.Linear(2, 2), m.ReLU()])

    assert repr(build(nn)) == repr(build(torch.nn))
    assert "(0-1): 2 x Tanh()" in repr(build(nn))
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_containers():
    d = nn.ModuleDict({"a": nn.Linear(2, 2)})
    d["b"] = nn.ReLU()
    assert list(d) == ["a", "b"] and "a" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    d.pop("a")
    assert list(d.keys()) == ["b"]
    plist = nn.ParameterList([gg.ones(2), nn.Parameter(gg.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 2
    plist.append(gg.ones(1))
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
    pdict = nn.ParameterDict({"w": gg.ones(2)})
    pdict["b"] = gg.zeros(1)
    assert isinstance(pdict["w"], nn.Parameter) and list(pdict) == ["w", "b"]
    assert sorted(n for n, _ in pdict.named_parameters()) == ["b", "w"]


def test_parameter_container_reprs_match_torch():
    ours = nn.Sequential(
        nn.ParameterList([nn.Parameter(gg.ones(2)), nn.Parameter(gg.ones(2, 3))]),
        nn.ParameterDict({"x": nn.Parameter(gg.ones(2))}),
    )
    theirs = torch.nn.Sequential(
        torch.nn.ParameterList(
            [torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2, 3))]
        ),
        torch.nn.ParameterDict({"x": torch.nn.Parameter(torch.ones(2))}),
    )
    assert repr(ours) == repr(theirs).replace("torch.", "gpugrad.")


def test_flatten_unflatten():
    x = gg.randn(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 2, 2))(nn.Flatten()(x)).shape == (2, 3, 2, 2)
    assert gg.equal(nn.Unflatten(-1, (2, 2))(x).reshape(2, 3, 4), x)


def test_load_state_dict_bumps_the_version_counter():
    w = nn.Linear(2, 1, bias=False)
    x = gg.ones(1, 2)
    loss = (w(x) * w.weight).sum()  # saves the weight
    w.load_state_dict({"weight": gg.zeros(1, 2)})
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_init_bumps_the_version_counter_and_overwrites_nan():
    p = nn.Parameter(gg.tensor([float("nan"), 1.0]))
    loss = (p * p).sum()
    version = p._version
    nn.init.ones_(p)
    assert p._version > version and p.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    nn.init.normal_(p)
    assert np.isfinite(p.detach().numpy()).all()


def test_batch_norm_running_stats_write_does_not_break_saved_views():
    """A batch norm in training writes its running statistics in place; the backward pass
    then checks the versions of every saved tensor, views of fresh tensors included."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    model(gg.randn(2, 2, 5, 5)).sum().backward()
    assert model[0].weight.grad is not None
    a = gg.randn(2, 3, requires_grad=True)
    view = gg.stack([a, a], 1).reshape(2, 1, 6).squeeze(1)
    out = gg.randn(5, 2) @ view
    gg.zeros(1).add_(1)
    out.sum().backward()
    assert a.grad.shape == (2, 3)


def test_train_eval_propagate_and_dropout_is_identity_in_eval():
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2))
    model.eval()
    assert not model[0].training and not model[1].training
    x = gg.randn(4, 2)
    assert gg.allclose(model(x), x / (1 + 1e-5) ** 0.5)
