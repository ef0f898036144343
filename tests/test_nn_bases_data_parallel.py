"""``nn.RNNBase``/``nn.RNNCellBase`` (PyTorch's public bases of the recurrent layers) and
``nn.DataParallel`` on one device, and the top-level distance functions, against PyTorch."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["RNNBase", "RNNCellBase"])
def test_recurrent_bases_have_pytorch_signatures(name):
    ours = inspect.signature(getattr(gg.nn, name).__init__)
    theirs = inspect.signature(getattr(torch.nn, name).__init__)
    assert list(ours.parameters) == list(theirs.parameters)
    for layer in ("RNN", "LSTM", "GRU") if name == "RNNBase" else ("RNNCell", "LSTMCell"):
        assert isinstance(getattr(gg.nn, layer)(3, 4), getattr(gg.nn, name))


def test_rnn_base_builds_the_mode_it_is_given(device):
    lstm = gg.nn.RNNBase("LSTM", 3, 4, num_layers=2).to(device)
    theirs = torch.nn.RNNBase("LSTM", 3, 4, num_layers=2)
    assert [(n, tuple(p.shape)) for n, p in lstm.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]


def test_data_parallel_wraps_one_device(device):
    inner = gg.nn.Linear(2, 3).to(device)
    model = gg.nn.DataParallel(inner)
    theirs = torch.nn.DataParallel(torch.nn.Linear(2, 3))
    assert repr(model) == repr(theirs)
    assert list(model.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    x = gg.randn(5, 2, device=device)
    np.testing.assert_array_equal(model(x).detach().cpu().numpy(), inner(x).detach().cpu().numpy())
    model(x).sum().backward()
    assert inner.weight.grad is not None and model.module is inner


def test_top_level_distances_are_the_functional_ones(device):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    ga, gb = gg.tensor(a, device=device), gg.tensor(b, device=device)
    ta, tb = torch.tensor(a), torch.tensor(b)
    assert gg.cosine_similarity is gg.nn.functional.cosine_similarity
    assert gg.pairwise_distance is gg.nn.functional.pairwise_distance
    np.testing.assert_allclose(
        gg.cosine_similarity(ga, gb, dim=0).cpu().numpy(),
        torch.cosine_similarity(ta, tb, dim=0).numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        gg.pairwise_distance(ga, gb, p=1.5).cpu().numpy(),
        torch.pairwise_distance(ta, tb, p=1.5).numpy(),
        rtol=1e-12,
    )
