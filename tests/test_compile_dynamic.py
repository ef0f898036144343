"""``gg.compile(fn, dynamic=True)``: a size change shares one replay, computing the
program's size-dependent numbers from the inputs' live shapes; sizes 0 and 1 specialize;
what depends on a size in a way the replay cannot follow keeps one signature per shape,
and ``explain`` says why."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from test_compile import _compare, _random_program, _train_step

import gpugrad as gg

pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def _array(t: gg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _same(a: gg.Tensor | None, b: gg.Tensor | None) -> None:
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(_array(b), _array(a), rtol=1e-12, atol=1e-12)


def _leaf(values: np.ndarray, device: str) -> gg.Tensor:
    return gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)


def _step(x: gg.Tensor, target: gg.Tensor):
    """Forward and backward reading the batch size the ways user code does: a view,
    a mean, a division by ``x.shape[0]``, a softmax cross entropy."""
    h = x.view(x.shape[0], -1).tanh()
    loss = gg.nn.functional.cross_entropy(h, target) + (h * h).mean()
    loss = loss + h.sum() / x.shape[0]
    loss.backward()
    return loss.detach(), x.grad


def _batch(n: int, device: str, seed: int = 0):
    rng = np.random.default_rng(seed + n)
    x = rng.standard_normal((n, 2, 3))
    target = gg.tensor(rng.integers(0, 6, n), device=device)
    return x, target


def _check(fn, compiled, sizes, device) -> None:
    for n in sizes:
        x, target = _batch(n, device)
        expected = fn(_leaf(x, device), target)
        got = compiled(_leaf(x, device), target)
        for a, b in zip(expected, got):
            _same(a, b)


def test_batch_sizes_share_one_replay(device) -> None:
    compiled = gg.compile(_step, dynamic=True)
    _check(_step, compiled, [8, 13, 5, 21, 3], device)
    # the first size traces, the first change traces again and generalizes; then none
    assert compiled.traces == 2 and compiled.cache_size == 1
    assert compiled.dynamic_reasons == []
    x, target = _batch(9, device)
    report = gg.compile.explain(compiled, _leaf(x, device), target)
    assert report.captured and report.dynamic_reasons == []


def test_dynamic_replay_reads_sizes_from_its_inputs(device) -> None:
    compiled = gg.compile(_step, dynamic=True)
    _check(_step, compiled, [8, 13], device)
    (entry,) = compiled._entries
    source = entry.generated.source
    assert "t0d.shape[0] >= 2" in source  # the guard keeps the rank and the other sizes
    assert "t0d.shape[1] == 2" in source and "t0d.shape[2] == 3" in source
    body = source.split("_set(_IGNORE)")[1]
    assert "t0d.shape[0]" in body  # the view's size and the divisors, read at replay
    assert re.search(r"(?<![\w.])(13|26|39)(\.0)?(?![\w])", body) is None  # none baked


def test_sizes_zero_and_one_specialize(device) -> None:
    def f(x):
        y = (x * 2.0).sum(0) / x.shape[0] if x.shape[0] else x.sum(0)
        y.sum().backward()
        return y.detach(), x.grad

    compiled = gg.compile(f, dynamic=True)
    rng = np.random.default_rng(1)
    for n in (4, 6, 9):
        values = rng.standard_normal((n, 3))
        for a, b in zip(f(_leaf(values, device)), compiled(_leaf(values, device))):
            _same(a, b)
    assert compiled.traces == 2
    for n, traces in ((1, 3), (0, 4), (1, 4), (0, 4), (7, 4)):
        values = rng.standard_normal((n, 3))
        for a, b in zip(f(_leaf(values, device)), compiled(_leaf(values, device))):
            _same(a, b)
        assert compiled.traces == traces


def test_without_dynamic_each_shape_traces(device) -> None:
    compiled = gg.compile(_step)
    _check(_step, compiled, [8, 13, 5, 8], device)
    assert compiled.traces == 3 and compiled.cache_size == 3


def test_dynamic_none_is_automatic(device) -> None:
    """``dynamic=None`` (PyTorch's default): static first, shared after a change."""
    compiled = gg.compile(_step, dynamic=None)
    _check(_step, compiled, [8, 8, 13, 5, 21], device)
    assert compiled.traces == 2 and compiled.cache_size == 1


def _adam_eager_and_compiled(build, loss_fn, batches, seed):
    """Adam steps of ``build()`` on ``batches()`` (a fresh iterable of ``(x, y)`` per run),
    once eagerly and once under ``gg.compile(dynamic=True)``: losses and parameters must be
    equal. Returns the eager model, the compiled run's model and its compiled step."""
    runs = []
    for compile_it in (False, True):
        gg.manual_seed(seed)
        model = build()
        opt = gg.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        fn = gg.compile(step, dynamic=True) if compile_it else step
        losses = [fn(x, y) for x, y in batches()]
        runs.append((model, losses, fn))
    (eager, eager_losses, _), (compiled, compiled_losses, fn) = runs
    for a, b in zip(eager_losses, compiled_losses):
        _same(a, b)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        _same(a, b)
    return eager, compiled, fn


def test_mlp_training_with_a_short_last_batch(device) -> None:
    rng = np.random.default_rng(7)
    data = gg.tensor(rng.standard_normal((50, 6)), device=device)
    labels = gg.tensor((rng.random((50, 1)) > 0.5).astype(np.float64), device=device)

    def build():
        model = gg.nn.Sequential(gg.nn.Linear(6, 8), gg.nn.Tanh(), gg.nn.Linear(8, 1))
        return model.to(device=device, dtype=gg.float64)

    def batches():
        for _ in range(3):
            for start in range(0, 50, 16):  # batches of 16, 16, 16 and 2
                yield data[start : start + 16], labels[start : start + 16]

    loss_fn = gg.nn.functional.binary_cross_entropy_with_logits
    eager, compiled, fn = _adam_eager_and_compiled(build, loss_fn, batches, seed=3)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        _same(a.grad, b.grad)
    # 16 with no gradients yet, 16 with them, then 2: shared with 16 from there on
    assert fn.traces == 3 and fn.cache_size == 2 and fn.dynamic_reasons == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (lambda x: x * math.sqrt(x.shape[0]), "the number 2.8284271247461903 then 3.0, no"),
        (lambda x: sum((x[i] for i in range(x.shape[0])), x[0]), "19 instructions then 21 (a loop"),
        (lambda x: x[: x.shape[0] // 2], "came out the same in both traces (4; a division"),
        (lambda x: x[: min(x.shape[0], 6)], "came out the same in both traces (6; a division"),
        (lambda x: x[: x.shape[0] - 2], "the number 6 then 7, no function"),
    ],
    ids=["sqrt-of-size", "loop-over-size", "half-of-size", "min-of-size", "offset"],
)
def test_size_used_as_a_python_number_keeps_one_signature_per_shape(device, body, why) -> None:
    def f(x):
        return body(x) * 1.5

    compiled = gg.compile(f, dynamic=True)
    rng = np.random.default_rng(2)
    for n in [8, 9, 12, 8, 3]:
        x = gg.tensor(rng.standard_normal((n, 3)), device=device)
        _same(f(x), compiled(x))
    assert compiled.traces == 4 and compiled.cache_size == 4
    (first, *_) = compiled.dynamic_reasons
    assert first.startswith("sizes A[0].shape[0] (8 then 9) kept one signature per shape")
    assert why in first
    report = gg.compile.explain(compiled, gg.ones(5, 3, device=device))
    assert report.dynamic_reasons == compiled.dynamic_reasons
    assert "dynamic shapes not shared" in str(report) and why in str(report)


def test_strided_convolution_over_a_changing_length_keeps_its_shapes(device) -> None:
    """A strided convolution's output length is the same for lengths 37 and 38: taken as
    a constant it would be wrong at 64; the comparison sees the kept size and refuses."""
    gg.manual_seed(0)
    conv = gg.nn.Conv1d(2, 3, 3, stride=2).to(device=device, dtype=gg.float64)

    def f(x):
        y = conv(x).tanh()
        y.sum().backward()
        return y.detach(), x.grad

    compiled = gg.compile(f, dynamic=True)
    rng = np.random.default_rng(6)
    for length in (37, 38, 64):
        values = rng.standard_normal((4, 2, length))
        conv.zero_grad()
        expected = f(_leaf(values, device))
        expected_grad = conv.weight.grad
        conv.zero_grad()
        for a, b in zip(expected, compiled(_leaf(values, device))):
            _same(a, b)
        _same(expected_grad, conv.weight.grad)
    assert compiled.traces == 3
    assert "came out the same in both traces (18" in compiled.dynamic_reasons[0]


def test_sizes_equal_in_both_traces_stay_tied(device) -> None:
    """Two inputs whose sizes were equal in both traces share one size (PyTorch's duck
    sizing): a call where they differ is another signature, traced."""

    def f(x, y):
        return x.sum(1) + y.sum(1)

    compiled = gg.compile(f, dynamic=True)
    rng = np.random.default_rng(4)
    for n in (3, 5, 8):
        x = gg.tensor(rng.standard_normal((n, 2)), device=device)
        y = gg.tensor(rng.standard_normal((n, 4)), device=device)
        _same(f(x, y), compiled(x, y))
    assert compiled.traces == 2
    x = gg.tensor(rng.standard_normal((6, 2)), device=device)
    y = gg.tensor(rng.standard_normal((1, 4)), device=device)  # broadcasts against x
    _same(f(x, y), compiled(x, y))
    assert compiled.traces == 3


def test_dynamic_random_ops_draw_as_eager(device) -> None:
    def f(x):
        return gg.nn.functional.dropout(x, 0.5, training=True) + gg.randn(x.shape[0], 1)

    compiled = gg.compile(f, dynamic=True)
    for n in (4, 7, 12, 5):
        x = gg.ones(n, 3, dtype=gg.float32, device=device)
        gg.manual_seed(n)
        expected = f(x)
        gg.manual_seed(n)
        got = compiled(x)
        np.testing.assert_array_equal(_array(got), _array(expected))
    assert compiled.traces == 2


def test_module_compile_passes_dynamic(device) -> None:
    gg.manual_seed(2)
    model = gg.nn.Linear(3, 2).to(device=device, dtype=gg.float64)
    model.compile(dynamic=True)
    rng = np.random.default_rng(5)
    with gg.no_grad():
        for n in (4, 6, 11):
            x = gg.tensor(rng.standard_normal((n, 3)), device=device)
            _same(x @ model.weight.T + model.bias, model(x))
    assert model._compiled_call_impl.traces == 2


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_programs_share_a_replay_across_sizes(seed, device) -> None:
    """The random elementwise programs of ``test_compile`` (with their sums, means,
    softmax and cumsum), forward and backward, on changing row counts and then column
    counts: every call equals eager."""
    program, plan = _random_program(seed)
    step = _train_step(program)
    compiled = gg.compile(step, fullgraph=True, dynamic=True)
    rng = np.random.default_rng(2000 + seed)
    for rows, cols in ((3, 5), (6, 5), (4, 5), (9, 5), (4, 7), (9, 2), (5, 3)):
        values = [rng.standard_normal((rows, cols)), rng.standard_normal((rows, cols))]
        _compare(step, compiled, values, device)
    # (3, 5) and (6, 5) share one replay with (4, 5) and (9, 5); (4, 7) is traced, and
    # (9, 2) shares one with it for every size of both dims, so (5, 3) replays
    assert compiled.traces == 4 and compiled.dynamic_reasons == [], plan


class _EmbeddingAttention(gg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = gg.nn.Embedding(10, 8)
        self.attention = gg.nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = gg.nn.Linear(8, 3)

    def forward(self, tokens):
        h = self.embedding(tokens)
        a, _ = self.attention(h, h, h)
        return self.out(a.mean(1))


class _LastStepLSTM(gg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = gg.nn.LSTM(3, 6, batch_first=True)
        self.out = gg.nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.out(y[:, -1])


_MODELS = {
    "cnn-batchnorm": (
        lambda: gg.nn.Sequential(
            gg.nn.Conv2d(1, 4, 3, padding=1),
            gg.nn.BatchNorm2d(4),
            gg.nn.ReLU(),
            gg.nn.MaxPool2d(2),
            gg.nn.Flatten(),
            gg.nn.Linear(64, 3),
        ),
        lambda rng, n: rng.standard_normal((n, 1, 8, 8)),
    ),
    "mlp-layernorm-dropout": (
        lambda: gg.nn.Sequential(
            gg.nn.Linear(6, 8),
            gg.nn.LayerNorm(8),
            gg.nn.GELU(),
            gg.nn.Dropout(0.2),
            gg.nn.Linear(8, 3),
        ),
        lambda rng, n: rng.standard_normal((n, 6)),
    ),
    "embedding-attention": (_EmbeddingAttention, lambda rng, n: rng.integers(0, 10, (n, 5))),
    "lstm": (_LastStepLSTM, lambda rng, n: rng.standard_normal((n, 4, 3))),
}


@pytest.mark.parametrize("name", list(_MODELS))
def test_models_train_on_changing_batch_sizes_as_eager(name, device) -> None:
    """Adam steps of small models on batches of 8, 5, 12, 7, 3, 16 and 2: losses and
    parameters equal eager's; the batch-norm's unbiased correction ``n / (n - 1)`` and a
    convolution's weight gradient (a contraction over the batch) share the replay."""
    build, data = _MODELS[name]

    def batches():
        rng = np.random.default_rng(1)
        for n in (8, 8, 5, 12, 7, 8, 3, 16, 2):
            x = gg.tensor(data(rng, n), device=device)
            x = x.to(gg.float64) if x.dtype.is_floating_point else x
            y = gg.tensor(rng.integers(0, 3, n), device=device)
            gg.manual_seed(n)  # dropout draws the same in both runs
            yield x, y

    def build_on_device():
        return build().to(device=device, dtype=gg.float64)

    loss_fn = gg.nn.functional.cross_entropy
    _, _, fn = _adam_eager_and_compiled(build_on_device, loss_fn, batches, seed=0)
    # no gradients yet, then 8 with them, then 5 shares a replay with 8 from there on
    assert fn.traces == 3 and fn.dynamic_reasons == []
