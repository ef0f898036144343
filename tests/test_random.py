"""Random generators (issue 16): ``gg.Generator``, ``generator=`` on every random function,
the random Tensor methods. Values are gpugrad's own stream, so the checks against PyTorch
are on shapes, dtypes, errors and generator semantics; distributions are checked by their
moments on large samples (fixed seeds, bounds many standard errors wide)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg

N = 200_000


def _errors_match(ours, theirs):
    with pytest.raises(Exception) as reference:
        theirs()
    with pytest.raises(type(reference.value)) as mine:
        ours()
    assert str(mine.value).split("\n")[0] == str(reference.value).split("\n")[0]


# --- the Generator object ------------------------------------------------------------------
def test_generator_seeding_as_pytorch():
    torch = pytest.importorskip("torch")
    g, tg = gg.Generator(), torch.Generator()
    assert g.initial_seed() == tg.initial_seed() == 67280421310721
    assert str(g.device) == str(tg.device) == "cpu"
    assert g.manual_seed(5) is g
    for seed in (0, 7, -1, 2**64 - 1, -(2**63)):
        assert g.manual_seed(seed).initial_seed() == tg.manual_seed(seed).initial_seed()
    for bad in (2**64, 1.5, "3"):
        _errors_match(lambda b=bad: g.manual_seed(b), lambda b=bad: tg.manual_seed(b))
    value = g.seed()
    assert isinstance(value, int) and g.initial_seed() == value
    assert gg.Generator("cuda").device == gg.device("cuda:0")


def test_get_state_set_state_restores_the_stream():
    g = gg.Generator().manual_seed(11)
    gg.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == gg.uint8 and state.dim() == 1
    first = gg.randn(5, generator=g).tolist()
    gg.rand(7, generator=g)
    assert g.set_state(state) is g
    assert gg.randn(5, generator=g).tolist() == first
    assert g.initial_seed() == 11
    other = gg.Generator().set_state(state)
    assert gg.randn(5, generator=other).tolist() == first
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(gg.zeros(3))
    with pytest.raises(RuntimeError, match="the input RNG state size to be 3"):
        g.set_state(gg.zeros(3, dtype=gg.uint8))


def test_manual_seed_returns_default_generator_and_reproduces(device: str):
    assert gg.manual_seed(3) is gg.default_generator
    assert gg.initial_seed() == 3
    first = [
        gg.rand(4, device=device).tolist(),
        gg.randn(2, 2, device=device).tolist(),
        gg.randint(0, 10, (5,), device=device).tolist(),
        gg.randperm(6, device=device).tolist(),
    ]
    gg.manual_seed(3)
    again = [
        gg.rand(4, device=device).tolist(),
        gg.randn(2, 2, device=device).tolist(),
        gg.randint(0, 10, (5,), device=device).tolist(),
        gg.randperm(6, device=device).tolist(),
    ]
    assert first == again
    gg.seed()
    assert gg.initial_seed() != 3


def test_own_generator_leaves_the_default_stream_alone(device: str):
    gg.manual_seed(0)
    expected = gg.rand(3, device=device).tolist()
    gg.manual_seed(0)
    g = gg.Generator(device).manual_seed(0)
    gg.rand(100, generator=g, device=device)
    assert gg.rand(3, device=device).tolist() == expected
    a = gg.randn(4, generator=gg.Generator(device).manual_seed(9), device=device)
    b = gg.randn(4, generator=gg.Generator(device).manual_seed(9), device=device)
    assert a.tolist() == b.tolist()


def test_same_seed_same_values_across_processes():
    code = (
        "import gpugrad as gg; gg.manual_seed(1234); "
        "print(gg.rand(3).tolist(), gg.randint(0, 100, (3,)).tolist(), gg.randperm(5).tolist())"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    gg.manual_seed(1234)
    here = str([gg.rand(3).tolist(), gg.randint(0, 100, (3,)).tolist(), gg.randperm(5).tolist()])
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.strip() == here.replace("], [", "] [")[1:-1]


def test_generator_of_another_device_is_refused():
    with pytest.raises(
        RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"
    ):
        gg.rand(2, generator=gg.Generator("cuda"))
    with pytest.raises(TypeError, match="generator must be a gpugrad.Generator"):
        gg.rand(2, generator=3)


# --- shapes, dtypes and errors as PyTorch ---------------------------------------------------
def _shape_dtype_cases(lib):
    x = lib.zeros(2, 3, dtype=lib.float64)
    return [
        lambda: lib.rand(2, 3),
        lambda: lib.rand((4,), dtype=lib.float64),
        lambda: lib.rand(2, dtype=lib.float16),
        lambda: lib.randn(3, 1),
        lambda: lib.randint(5, (2, 2)),
        lambda: lib.randint(-3, 5, (4,), dtype=lib.int32),
        lambda: lib.randint(0, 3, (2,), dtype=lib.float32),
        lambda: lib.rand_like(x),
        lambda: lib.randn_like(x, dtype=lib.float32),
        lambda: lib.randint_like(x, 5),
        lambda: lib.randint_like(x, 2, 5, dtype=lib.int64),
        lambda: lib.randperm(7),
        lambda: lib.randperm(0),
        lambda: lib.randperm(4, dtype=lib.int32),
        lambda: lib.multinomial(lib.tensor([1.0, 2.0, 3.0]), 2),
        lambda: lib.multinomial(lib.tensor([[1.0, 2.0], [3.0, 4.0]]), 5, True),
        lambda: lib.bernoulli(lib.tensor([0.3, 0.7], dtype=lib.float64)),
        lambda: lib.bernoulli(lib.tensor([0.3, 0.7]), 0.5),
        lambda: lib.normal(lib.zeros(2, 1), lib.ones(3)),
        lambda: lib.normal(lib.zeros(2, dtype=lib.float64), 2.0),
        lambda: lib.normal(1.0, lib.ones(3)),
        lambda: lib.normal(2.0, 3.0, size=(2, 2)),
        lambda: lib.normal(2.0, 3.0, (2,), dtype=lib.float64),
        lambda: lib.zeros(3).normal_(),
        lambda: lib.zeros(3, dtype=lib.float64).uniform_(-1, 1),
        lambda: lib.zeros(3).exponential_(2.0),
        lambda: lib.zeros(3, dtype=lib.int64).random_(10),
        lambda: lib.zeros(3, dtype=lib.uint8).random_(),
        lambda: lib.zeros(3).bernoulli_(0.5),
        lambda: lib.zeros(3).bernoulli_(lib.full((3,), 0.2)),
        lambda: lib.rand(0, 4),
    ]


def test_shapes_and_dtypes_match_pytorch():
    torch = pytest.importorskip("torch")
    for index, (ours, theirs) in enumerate(zip(_shape_dtype_cases(gg), _shape_dtype_cases(torch))):
        mine, reference = ours(), theirs()
        assert tuple(mine.shape) == tuple(reference.shape), index
        assert mine.dtype.name == str(reference.dtype).split(".")[1], index


def _error_cases(lib):
    return [
        lambda: lib.randint(5, 3, (2,)),
        lambda: lib.randint(3, (2,), dtype=lib.bool),
        lambda: lib.rand(2, dtype=lib.int64),
        lambda: lib.randn(2, dtype=lib.int64),
        lambda: lib.rand(-1),
        lambda: lib.randperm(-1),
        lambda: lib.multinomial(lib.tensor([1.0, 2.0, 3.0]), 4),
        lambda: lib.multinomial(lib.tensor([-1.0, 2.0, 3.0]), 1),
        lambda: lib.multinomial(lib.tensor([float("nan"), 2.0]), 1),
        lambda: lib.multinomial(lib.tensor([0.0, 0.0, 0.0]), 1, True),
        lambda: lib.multinomial(lib.zeros(2, 2, 2), 1),
        lambda: lib.multinomial(lib.tensor([1, 2]), 1),
        lambda: lib.multinomial(lib.tensor([1.0, 2.0]), 0),
        lambda: lib.bernoulli(lib.tensor([0.5, 2.0])),
        lambda: lib.bernoulli(lib.tensor([1, 0])),
        lambda: lib.normal(lib.zeros(2), lib.tensor([1.0, -1.0])),
        lambda: lib.normal(0.0, -1.0, (2,)),
        lambda: lib.zeros(3, dtype=lib.int64).normal_(),
        lambda: lib.zeros(3).uniform_(2, 1),
        lambda: lib.zeros(3).exponential_(-1),
        lambda: lib.zeros(3).exponential_(0),
        lambda: lib.zeros(3).random_(5, 2),
        lambda: lib.zeros(3, dtype=lib.uint8).random_(0, 300),
        lambda: lib.zeros(3).bernoulli_(1.5),
        lambda: lib.zeros(3, requires_grad=True).normal_(),
        lambda: lib.zeros(3, requires_grad=True).uniform_(),
        lambda: lib.randint(0, 3, (2,), requires_grad=True),
    ]


def test_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_error_cases(gg), _error_cases(torch)):
        _errors_match(ours, theirs)


# --- distributions ----------------------------------------------------------------------
def _moments(t):
    values = t.cpu().numpy().astype(np.float64).ravel()
    return values.mean(), values.var()


def test_continuous_distributions(device: str):
    g = gg.Generator(device).manual_seed(0)
    se = 1 / np.sqrt(N)
    mean, var = _moments(gg.rand(N, generator=g, device=device))
    assert abs(mean - 0.5) < 6 * se * np.sqrt(1 / 12) and abs(var - 1 / 12) < 0.002
    mean, var = _moments(gg.randn(N, generator=g, device=device, dtype=gg.float64))
    assert abs(mean) < 6 * se and abs(var - 1) < 0.02
    t = gg.empty(N, device=device)
    mean, var = _moments(t.exponential_(4.0, generator=g))
    assert abs(mean - 0.25) < 6 * se * 0.25 and abs(var - 1 / 16) < 0.003
    values = t.uniform_(-2, 3, generator=g).cpu().numpy()
    assert values.min() >= -2 and values.max() < 3 and abs(values.mean() - 0.5) < 0.03
    mean, var = _moments(t.normal_(5.0, 2.0, generator=g))
    assert abs(mean - 5) < 6 * se * 2 and abs(var - 4) < 0.1
    mean_t = gg.tensor([[-10.0], [10.0]], device=device)
    samples = gg.normal(mean_t, gg.full((2, N // 2), 0.5, device=device), generator=g)
    assert samples.shape == (2, N // 2)
    rows = samples.cpu().numpy()
    assert abs(rows[0].mean() + 10) < 0.01 and abs(rows[1].std() - 0.5) < 0.01


def test_discrete_distributions(device: str):
    g = gg.Generator(device).manual_seed(1)
    values = gg.randint(-3, 4, (N,), generator=g, device=device).cpu().numpy()
    counts = np.bincount(values + 3, minlength=7)
    assert values.min() == -3 and values.max() == 3
    assert np.all(np.abs(counts / N - 1 / 7) < 0.005)
    p = gg.tensor([0.1, 0.5, 0.9], dtype=gg.float64, device=device)
    draws = gg.bernoulli(p.expand(N, 3), generator=g).cpu().numpy()
    assert set(np.unique(draws)) <= {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(axis=0), [0.1, 0.5, 0.9], atol=0.006)
    assert gg.zeros(N, device=device).bernoulli_(0.25, generator=g).mean().item() == pytest.approx(
        0.25, abs=0.006
    )
    for n in (0, 1, 50):
        perm = gg.randperm(n, generator=g, device=device).tolist()
        assert sorted(perm) == list(range(n))
    values = gg.empty(N, device=device).random_(5, generator=g).cpu().numpy()
    assert set(np.unique(values)) == {0.0, 1.0, 2.0, 3.0, 4.0}
    values = gg.empty(1000, dtype=gg.float32, device=device).random_(generator=g).cpu().numpy()
    assert values.min() >= 0 and values.max() <= 2**24 and values.max() > 2**20


def test_multinomial_frequencies(device: str):
    g = gg.Generator(device).manual_seed(2)
    weights = gg.tensor([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 1.0, 1.0]], device=device)
    draws = gg.multinomial(weights, N, replacement=True, generator=g).cpu().numpy()
    assert draws.dtype == np.int64
    np.testing.assert_allclose(
        np.bincount(draws[0], minlength=4) / N, [1 / 8, 2 / 8, 0, 5 / 8], atol=0.005
    )
    np.testing.assert_allclose(np.bincount(draws[1], minlength=4) / N, [0, 0, 0.5, 0.5], atol=0.005)
    # Without replacement: distinct indices, never a zero weight, the first pick
    # distributed as the weights.
    firsts, seconds = [], []
    for _ in range(4000):
        picks = gg.multinomial(weights[0], 3, generator=g).tolist()
        assert len(set(picks)) == 3 and 2 not in picks
        firsts.append(picks[0])
        seconds.append(picks[1])
    np.testing.assert_allclose(
        np.bincount(firsts, minlength=4) / 4000, [1 / 8, 2 / 8, 0, 5 / 8], atol=0.03
    )
    # P(second = 0) = P(1 first) * 1/7 + P(3 first) * 1/3
    assert np.mean(np.array(seconds) == 0) == pytest.approx(2 / 8 / 7 + 5 / 8 / 3, abs=0.03)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        gg.multinomial(weights[1], 3)


def test_random_methods_are_in_place_writes(device: str):
    t = gg.zeros(3, device=device)
    for name, args in [
        ("normal_", ()),
        ("uniform_", (0, 1)),
        ("exponential_", ()),
        ("bernoulli_", (0.5,)),
        ("random_", (3,)),
    ]:
        before = t
        assert getattr(t, name)(*args) is before
    w = gg.nn.Parameter(gg.ones(3, device=device))
    loss = (w * w).sum()
    with gg.no_grad():
        w.normal_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
