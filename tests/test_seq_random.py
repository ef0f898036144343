"""``gpugrad.random`` as ``torch.random``: the same names and signatures, one global
generator shared with ``gpugrad.manual_seed`` & co, and ``fork_rng`` restoring the state."""

from __future__ import annotations

import inspect
import threading

import pytest

import gpugrad as gg
from gpugrad.utils import data

torch = pytest.importorskip("torch")


def test_names_and_signatures_match_pytorch():
    assert set(torch.random.__all__) <= set(gg.random.__all__)
    for name in torch.random.__all__:
        ours = inspect.signature(getattr(gg.random, name)).parameters
        theirs = inspect.signature(getattr(torch.random, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name


def test_shares_the_global_generator(device):
    gg.random.manual_seed(123)
    assert gg.initial_seed() == gg.random.initial_seed() == 123
    first = gg.rand(4, device=device).tolist()
    gg.manual_seed(123)
    assert gg.rand(4, device=device).tolist() == first
    state = gg.random.get_rng_state()
    assert state.dtype == gg.uint8 and state.device.type == "cpu"
    drawn = gg.rand(3).tolist()
    gg.random.set_rng_state(state)
    assert gg.rand(3).tolist() == drawn
    assert gg.random.manual_seed(5) is gg.random.default_generator is gg.default_generator
    seed = gg.random.seed()
    assert gg.random.initial_seed() == seed


def test_fork_rng_restores_the_cpu_and_device_states(device):
    gg.manual_seed(7)
    devices = [0] if device == "cuda" else []
    with gg.random.fork_rng(devices=devices):
        inside = gg.rand(5, device=device).tolist()
        gg.manual_seed(99)  # even reseeding inside is undone
        gg.rand(2, device=device)
    gg.manual_seed(7)
    assert gg.rand(5, device=device).tolist() == inside
    gg.manual_seed(7)
    with gg.random.fork_rng(devices=devices):
        gg.rand(5, device=device)
    assert gg.rand(5, device=device).tolist() == inside  # as if the block had not drawn
    gg.manual_seed(7)
    with gg.random.fork_rng(enabled=False):
        gg.rand(5)
    assert gg.rand(5).tolist() != inside  # not forked: the draw advanced the stream
    with pytest.raises(KeyError), gg.random.fork_rng(devices=[]):
        gg.manual_seed(1)
        raise KeyError
    assert gg.initial_seed() == 7  # restored on the way out of an exception too
    with gg.random.fork_rng(device_type="meta"):
        pass


def test_thread_safe_generator():
    assert gg.random.thread_safe_generator() is None  # main thread: the global generator
    found = []

    class Draws(data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            generator = gg.random.thread_safe_generator()
            found.append((threading.get_ident(), generator))
            return gg.rand(1, generator=generator)

    list(data.DataLoader(Draws(), num_workers=2))
    assert all(isinstance(g, gg.Generator) for _, g in found)
    by_thread = {}
    for ident, generator in found:
        by_thread.setdefault(ident, set()).add(id(generator))
    assert all(len(ids) == 1 for ids in by_thread.values())  # one generator per thread
