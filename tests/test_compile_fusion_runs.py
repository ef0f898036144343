"""How ``gg.compile`` cuts a program into fused kernels, where the GPU run found CUDA to
cut differently from the CPU: the backward's seed gradient read the loss's values on
CUDA (``ones_like(loss)``), which kept the loss alive and split a run in two; and a run
that read one of its own full sums (a loss made of two sums) called its kernel with a
variable defined nowhere (``NameError`` at the first replay). The CUDA backend's own
logic runs here on the host: ``CupyBackend`` over NumPy, its fused kernels through the
NumPy engine."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
from test_compile import elementwise_chain_step
from test_reliability_cupy_host import CupyLikeNumpy, CupySpecialLike

import gpugrad as gg
from gpugrad import backends
from gpugrad.backends import array_backend
from gpugrad.backends.cupy_backend import CupyBackend
from gpugrad.backends.device import Device
from gpugrad.compile import config

pytest.importorskip("gpugrad.backends.kernels.fusion")


@pytest.fixture
def always_fuse(monkeypatch):
    monkeypatch.setattr(config, "fusion_autotune", False)


class _CupyOnHost(CupyLikeNumpy):
    """NumPy as the CUDA backend's array module (plain ufuncs: nothing scatters here)."""

    def __init__(self) -> None:
        super().__init__()
        self.add, self.maximum, self.minimum = np.add, np.maximum, np.minimum
        self.cuda = SimpleNamespace(get_current_stream=lambda: SimpleNamespace(ptr=0))

    @staticmethod
    def asnumpy(x):
        return np.asarray(x)


@pytest.fixture
def host_cuda(monkeypatch):
    """``"cuda"`` resolves to a ``CupyBackend`` over NumPy while the test runs."""
    from gpugrad.backends.kernels import fusion

    backend = CupyBackend.__new__(CupyBackend)
    array_backend.ArrayBackend.__init__(backend, _CupyOnHost(), Device("cuda", 0))
    backend.special = CupySpecialLike()
    backend.cuda_device = contextlib.nullcontext()
    backend.kernels = backends.cpu.kernels
    monkeypatch.setitem(backends._backends, "cuda", backend)
    monkeypatch.setitem(backends._backends, "cuda:0", backend)
    engine = fusion.fusion_engine
    monkeypatch.setattr(fusion, "fusion_engine", lambda b: "numpy" if b is backend else engine(b))
    return "cuda"


def _same(a, b):
    np.testing.assert_allclose(b.detach().cpu().numpy(), a.detach().cpu().numpy(), rtol=1e-12)


def test_on_the_cuda_backend_a_chain_and_its_backward_are_one_kernel(host_cuda, always_fuse):
    h0 = gg.tensor(np.linspace(-1, 1, 64), device=host_cuda, requires_grad=True)
    assert h0._backend.name == "cupy"
    chain = elementwise_chain_step(h0)
    report = gg.compile.explain(chain)
    assert report.captured and report.fused_kernels == 1 and report.instructions == 3
    compiled = gg.compile(chain)
    for _ in range(3):
        _same(chain(), compiled())


def test_a_size_one_loss_seeds_its_backward_without_reading_it(device, always_fuse):
    """A loss of shape (1,) (seeded with ones of its shape on every device): the backward
    run joins the forward one."""
    h0 = gg.tensor(np.linspace(-1, 1, 64), device=device, requires_grad=True)

    def step():
        (gg.sin(h0 * 0.5) * 3.0).sum(0, keepdim=True).backward()
        grad = h0.grad
        h0.grad = None
        return grad

    assert gg.compile.explain(step).fused_kernels == 1
    compiled = gg.compile(step)
    for _ in range(3):
        _same(step(), compiled())


@pytest.mark.parametrize("where", ["cpu", "host cuda"])
def test_a_run_that_reads_its_own_sum_replays(where, request, always_fuse):
    device = "cpu" if where == "cpu" else request.getfixturevalue("host_cuda")

    def step(x):
        x.grad = None
        y = (x * 3.0 + (x * 2.0).sum()) * 0.5  # a sum of the run read elementwise
        y = y + (y.sum() + gg.cos(y).sum())  # two sums of a run, added and read
        (y * y).sum().backward()
        return y.detach(), x.grad

    compiled = gg.compile(step)
    for k in range(3):
        values = np.linspace(0, 1, 64) + 0.01 * k
        a = gg.tensor(values, device=device, requires_grad=True)
        b = gg.tensor(values, device=device, requires_grad=True)
        for want, got in zip(step(a), compiled(b)):
            _same(want, got)


def test_std_mean_of_the_table_replays_on_the_cuda_backend(host_cuda, always_fuse):
    def step(x):
        std, mean = gg.std_mean(x)
        loss = (std * gg.cos(std.detach() + 1.0)).sum() + (mean * gg.cos(mean.detach())).sum()
        loss.backward()
        return std.detach(), mean.detach()

    compiled = gg.compile(step)
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = rng.standard_normal((3, 4))
        a = gg.tensor(values, device=host_cuda, requires_grad=True)
        b = gg.tensor(values, device=host_cuda, requires_grad=True)
        for want, got in zip(step(a), compiled(b)):
            _same(want, got)
        _same(a.grad, b.grad)


def test_the_composed_bce_step_is_one_cuda_kernel_that_writes_only_the_gradient(
    host_cuda, always_fuse
):
    """The benchmark's composed BCE at 100M took 7.1x a device copy on the H200: the seed's
    ``ones_like(loss)`` cut its run in two, so the forward kernel wrote four intermediates
    for the backward kernel to read back. Now one kernel: it reads the logits, the targets
    and the mean's gradient constant, and writes the gradient and the mean."""
    from gpugrad.backends.kernels import fusion, fusion_cuda

    rng = np.random.default_rng(0)
    n = 1000
    z = gg.tensor(rng.standard_normal(n).astype(np.float32), device=host_cuda, requires_grad=True)
    y = gg.tensor((rng.random(n) > 0.5).astype(np.float32), device=host_cuda)

    def step(z, y):
        z.grad = None
        p = gg.clamp(gg.sigmoid(z), 1e-8, 1 - 1e-8)
        loss = (-(y * gg.log(p) + (1 - y) * gg.log(1 - p))).mean()
        loss.backward()
        return loss, z.grad

    report = gg.compile.explain(step, z, y)
    assert report.fused_kernels == 1
    assert report.source.count("_t = ") == 1
    compiled = gg.compile(step)
    for _ in range(3):
        want_loss, want_grad = step(z, y)
        got_loss, got_grad = compiled(z, y)
        np.testing.assert_allclose(got_loss.item(), want_loss.item(), rtol=1e-6)
        np.testing.assert_allclose(
            got_grad.cpu().numpy(), want_grad.cpu().numpy(), rtol=1e-5, atol=1e-9
        )
    kernels = [p for (p, _) in fusion._compiled[backends._backends["cuda"]] if p.reductions]
    (program,) = [p for p in kernels if len(p.inputs) == 3]
    assert program.reductions.count(None) == 1 and program.reductions.count("mean") == 1
    source = fusion_cuda.source(fusion.resolve(program), (False, False, False))
    assert source.count("__global__") == 1 and "double v" not in source
