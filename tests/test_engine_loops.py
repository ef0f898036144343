"""The backward engine's two node loops, the Python one (``_engine._run_nodes``) and the
compiled C one (``_engine_loop.c``, the default where it builds), give bitwise the same
gradients, the same errors and the same side effects (hooks, ``retain_grad``, freed
graphs), on the programs people write; and the C loop holds on to nothing."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref
from collections.abc import Callable

import numpy
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from gpugrad import _engine, nn
from gpugrad._graph import Node


def _with_loop(loop, monkeypatch) -> None:
    monkeypatch.setattr(_engine, "_native_loop", lambda configure: loop)


def _run(program: Callable[[str], list], device: str, loop, monkeypatch) -> list:
    _with_loop(loop, monkeypatch)
    gg.manual_seed(0)
    return [None if g is None else g.detach().cpu().numpy().copy() for g in program(device)]


def _bce(device):
    w = gg.tensor(1.0, requires_grad=True, device=device)
    b = gg.tensor(0.0, requires_grad=True, device=device)
    x, y = gg.tensor(6.7, device=device), gg.tensor(0.0, device=device)
    p = gg.clamp(gg.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    (-(y * gg.log(p) + (1 - y) * gg.log(1 - p)).mean()).backward()
    return [w.grad, b.grad]


def _mlp_adam(device):
    model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3)).to(device)
    opt = gg.optim.Adam(model.parameters(), lr=0.01)
    x = gg.randn(32, 5, device=device)
    target = gg.randint(0, 3, (32,), device=device)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), target).backward()
        opt.step()
    return [p.grad for p in model.parameters()] + list(model.parameters())


def _cnn(device):
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(4 * 4 * 4, 2),
    ).to(device)
    x = gg.randn(3, 2, 8, 8, device=device, requires_grad=True)
    F.mse_loss(model(x), gg.randn(3, 2, device=device)).backward()
    return [x.grad] + [p.grad for p in model.parameters()]


def _lstm_attention(device):
    lstm = nn.LSTM(4, 6, batch_first=True).to(device)
    attention = nn.MultiheadAttention(6, 2, batch_first=True).to(device)
    x = gg.randn(2, 5, 4, device=device, requires_grad=True)
    h, _ = lstm(x)
    a, _ = attention(h, h, h, need_weights=False)
    norm = nn.LayerNorm(6).to(device)
    norm(a + h).pow(2).mean().backward()
    params = [*lstm.parameters(), *attention.parameters(), *norm.parameters()]
    return [x.grad] + [p.grad for p in params]


def _slices_and_multi_output(device):
    h = gg.randn(6, 4, device=device, dtype=gg.float64, requires_grad=True)
    q, k, v = (h * 1).split(2)
    first, *rest = h.unbind(1)
    a = h[:4] @ h[:4].T + gg.eye(4, device=device, dtype=gg.float64) * 4
    values, vectors = gg.linalg.eigh(a)
    u, s, vt = gg.linalg.svd(h, full_matrices=False)
    total = (q * k + v).sum() + (first * rest[0]).sum() + h[1:3, ::2].sum()
    total = total + values.sum() + vectors.abs().sum() * 0.5 + s.sum() + gg.cat(rest).sum()
    total.backward()
    return [h.grad]


class _Softsign(gg.autograd.Function):
    """PyTorch 2's style: ``forward`` without ``ctx``, ``setup_context`` apart."""

    @staticmethod
    def forward(x):
        return x / (1 + x.abs())

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + x.abs()) ** 2


def _hooks_custom_and_casts(device):
    x = gg.tensor([0.5, -1.5, 2.0], requires_grad=True, device=device)
    y = gg.tensor([[1.0], [2.0]], requires_grad=True, dtype=gg.float64, device=device)
    a = _Softsign.apply(x.sin())
    a.register_hook(lambda g: g * 3)
    b = a * y  # broadcast and float32 * float64
    b.retain_grad()
    x.register_hook(lambda g: g + 1)
    (b.exp() + 2**a).sum().backward()
    return [x.grad, y.grad, b.grad]


def _retain_graph_twice(device):
    x = gg.tensor([0.25, 0.75], requires_grad=True, device=device)
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    return [x.grad]


def _double_backward(device):
    x = gg.tensor([0.3, -0.8, 1.1], dtype=gg.float64, requires_grad=True, device=device)
    y = (x.sin() * x.exp()).sum()
    (g,) = gg.autograd.grad(y, x, create_graph=True)
    (g.pow(2).sum() + y).backward()
    return [x.grad, g]


def _grad_of_intermediates(device):
    x = gg.tensor([0.5, 1.0, -2.0], requires_grad=True, device=device)
    a = x.tanh()
    b = a * 3
    return list(gg.autograd.grad(b.exp().sum() + a.sum(), (x, a, b)))


def _hessian_and_per_sample_grads(device):
    x = gg.tensor([0.2, -0.4, 0.9], dtype=gg.float64, device=device)
    hessian = gg.func.hessian(lambda t: (t.sin() * t).sum())(x)
    w = gg.randn(3, dtype=gg.float64, device=device)
    batch = gg.randn(4, 3, dtype=gg.float64, device=device)
    per_sample = gg.func.vmap(gg.func.grad(lambda w, x: (w * x).sum().tanh()), (None, 0))(w, batch)
    return [hessian, per_sample]


PROGRAMS = [
    _double_backward,
    _grad_of_intermediates,
    _hessian_and_per_sample_grads,
    _bce,
    _mlp_adam,
    _cnn,
    _lstm_attention,
    _slices_and_multi_output,
    _hooks_custom_and_casts,
    _retain_graph_twice,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda f: f.__name__.strip("_"))
def test_both_loops_give_bitwise_the_same_gradients(program, device, native_loop, monkeypatch):
    python = _run(program, device, None, monkeypatch)
    native = _run(program, device, native_loop, monkeypatch)
    assert len(python) == len(native)
    for ours, theirs in zip(native, python):
        numpy.testing.assert_array_equal(ours, theirs)


def _error(program, loop, monkeypatch) -> BaseException:
    _with_loop(loop, monkeypatch)
    with pytest.raises(Exception) as caught:
        program()
    return caught.value


def _second_backward():
    loss = gg.tensor([1.0, 2.0], requires_grad=True).exp().sum()
    loss.backward()
    loss.backward()


def _modified_in_place():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y * 2
    y.mul_(3)
    z.sum().backward()


def _failing_hook():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: 1 / 0)
    y.sum().backward()


def _bad_custom_gradient():
    class Wrong(gg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, g

    Wrong.apply(gg.tensor([1.0], requires_grad=True)).sum().backward()


@pytest.mark.parametrize(
    "program", [_second_backward, _modified_in_place, _failing_hook, _bad_custom_gradient]
)
def test_both_loops_raise_the_same_errors(program, native_loop, monkeypatch):
    python = _error(program, None, monkeypatch)
    native = _error(program, native_loop, monkeypatch)
    assert type(native) is type(python)
    assert str(native) == str(python)


def test_anomaly_mode_runs_in_the_c_loop(native_loop, monkeypatch):
    _with_loop(native_loop, monkeypatch)
    x = gg.tensor(0.0, requires_grad=True)
    with (
        pytest.warns(RuntimeWarning, match="SqrtBackward0"),
        pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan"),
        gg.autograd.detect_anomaly(),
    ):
        ((x * 1).sqrt() * 0).backward()


def test_the_default_loop_is_the_c_one_unless_the_kernels_are_numpys(native_loop, monkeypatch):
    from gpugrad import _engine_native
    from gpugrad.backends import cpu
    from gpugrad.backends.kernels import native_exec, numpy_exec

    monkeypatch.setattr(cpu, "kernels", numpy_exec)
    assert _engine_native.loop(_engine._configure_native) is None
    assert "Python" in _engine_native.describe()
    monkeypatch.setattr(cpu, "kernels", native_exec)
    monkeypatch.setitem(_engine_native._state, "loop", native_loop)
    assert _engine_native.loop(_engine._configure_native) is native_loop
    from gpugrad.info import _cpu_kernel_rows

    assert ("Backward engine", "backward loop: C (built or loaded from the cache)") in (
        _cpu_kernel_rows()
    )


def test_a_failed_build_warns_once_and_the_python_loop_runs(tmp_path, monkeypatch):
    from gpugrad import _engine_native
    from gpugrad.backends import cpu
    from gpugrad.backends.kernels import native_exec

    if _engine_native._toolchain_missing() is not None:
        pytest.skip("no compiler: nothing to fail")
    monkeypatch.setenv("GPUGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_engine_native, "SOURCE", tmp_path / "broken.c")
    (tmp_path / "broken.c").write_text("this is not C\n")
    monkeypatch.setattr(_engine_native, "_state", {"loop": None, "tried": False, "reason": ""})
    monkeypatch.setattr(cpu, "kernels", native_exec)
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="the native backward loop: the build failed"):
        (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert "backward loop: Python (the native backward loop: the build failed" in (
        _engine_native.describe()
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x).sum().backward()  # no second warning
    assert x.grad.tolist() == [4.0, 8.0]


def test_the_c_loop_keeps_nothing_alive(native_loop, monkeypatch):
    """Graphs, gradients and saved values are freed after each backward: node counts,
    reference counts and traced memory stay flat over many steps."""
    _with_loop(native_loop, monkeypatch)
    w = gg.randn(64, 64, requires_grad=True)
    x = gg.randn(8, 64)

    def step():
        loss = ((x @ w).tanh() * 2 + 1).log().split(16, dim=1)[0].sum()
        loss.backward()
        return weakref.ref(loss.grad_fn)

    node = step()
    gc.collect()
    assert node() is None
    refcounts = (sys.getrefcount(w), sys.getrefcount(w.grad), sys.getrefcount(w.grad._data))
    nodes = len([o for o in gc.get_objects() if issubclass(type(o), Node)])
    tracemalloc.start()
    for _ in range(300):
        step()
    gc.collect()
    start, _ = tracemalloc.get_traced_memory()
    for _ in range(2000):
        step()
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert end - start < 64 * 1024
    assert len([o for o in gc.get_objects() if issubclass(type(o), Node)]) <= nodes
    assert (sys.getrefcount(w), sys.getrefcount(w.grad), sys.getrefcount(w.grad._data)) == (
        refcounts
    )


def test_two_processes_building_on_an_empty_cache_both_get_the_c_loop(tmp_path):
    """The first backward of two processes at once, on an empty cache: both build (one
    file is left, renamed into place atomically) and both run the C loop."""
    import os
    import subprocess

    from gpugrad import _engine_native

    if _engine_native._toolchain_missing() is not None:
        pytest.skip("no compiler: the Python loop is the only one here")
    script = (
        "import gpugrad as gg\n"
        "from gpugrad import _engine_native\n"
        "x = gg.tensor([1.0, 2.0], requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "print(x.grad.tolist(), _engine_native.describe())\n"
    )
    environment = {**os.environ, "GPUGRAD_CACHE_DIR": str(tmp_path), "GPUGRAD_CPU_KERNELS": "auto"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-W", "error::RuntimeWarning", "-c", script],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert out.strip() == "[2.0, 4.0] backward loop: C (built or loaded from the cache)"
    assert [p.name.startswith("engine_loop_") for p in tmp_path.iterdir()] == [True]
