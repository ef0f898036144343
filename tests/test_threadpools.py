"""Small matrix products run on one BLAS thread, and the thread count is put back."""

from __future__ import annotations

import sys
import threading

import numpy
import pytest

import gpugrad as gg
from gpugrad.backends import threadpools


def _blas_threads() -> list[int]:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    ]


class _Recording:
    """Stands in for a BLAS library's controller: records each thread count set."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.history: list[int] = []

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, n: int) -> None:
        self.threads = n
        self.history.append(n)


def _pools_with(controller: _Recording) -> threadpools._BlasPools:
    pools = threadpools._BlasPools()
    pools._controllers = [controller]
    return pools


def test_a_small_product_runs_on_one_thread_and_restores_the_count(monkeypatch) -> None:
    blas = _Recording(threads=2)
    monkeypatch.setattr(threadpools, "_pools", _pools_with(blas))
    seen = []
    real = numpy.matmul
    monkeypatch.setattr(
        threadpools.numpy, "matmul", lambda a, b: seen.append(blas.threads) or real(a, b)
    )
    a, b = numpy.ones((569, 30), numpy.float32), numpy.ones((30, 64), numpy.float32)
    numpy.testing.assert_array_equal(threadpools.matmul(a, b), real(a, b))
    assert seen == [1] and blas.threads == 2 and blas.history == [1, 2]


def test_large_and_tiny_products_keep_the_blas_setting(monkeypatch) -> None:
    blas = _Recording(threads=2)
    monkeypatch.setattr(threadpools, "_pools", _pools_with(blas))
    n = 256  # 256**3 = 16M multiply-adds, over the threshold
    a = numpy.ones((n, n), numpy.float32)
    assert n**3 >= threadpools.SMALL_PRODUCT
    numpy.testing.assert_array_equal(threadpools.matmul(a, a), numpy.matmul(a, a))
    tiny = numpy.ones((8, 8), numpy.float32)  # one thread anyway: left alone
    assert threadpools.BLAS_ALONE_BELOW > 8**3
    numpy.testing.assert_array_equal(threadpools.matmul(tiny, tiny), numpy.matmul(tiny, tiny))
    assert blas.history == []


def test_a_batch_of_middling_products_runs_on_one_thread(monkeypatch) -> None:
    """Judged per matrix: 64 products of 128x32x128 (524K multiply-adds each, 33M in all)
    run on one thread; a batch of tiny ones is left to BLAS, a batch of large ones too."""
    blas = _Recording(threads=2)
    monkeypatch.setattr(threadpools, "_pools", _pools_with(blas))
    q, k = numpy.ones((64, 128, 32), numpy.float32), numpy.ones((64, 32, 128), numpy.float32)
    numpy.testing.assert_array_equal(threadpools.matmul(q, k), numpy.matmul(q, k))
    assert blas.history == [1, 2]
    tiny = numpy.ones((500, 8, 8), numpy.float32)
    threadpools.matmul(tiny, tiny)
    large = numpy.ones((2, 256, 256), numpy.float32)
    threadpools.matmul(large, large)
    assert blas.history == [1, 2]


def test_one_thread_context_switches_once_for_a_loop(monkeypatch) -> None:
    blas = _Recording(threads=2)
    monkeypatch.setattr(threadpools, "_pools", _pools_with(blas))
    a = numpy.ones((16, 128), numpy.float32)
    with threadpools.one_thread():
        assert blas.threads == 1
        for _ in range(3):
            numpy.matmul(a, a.T)
    assert blas.history == [1, 2]


def test_nested_and_concurrent_limits_restore_the_count_set_before_the_first() -> None:
    blas = _Recording(threads=3)
    pools = _pools_with(blas)
    pools.enter()
    pools.enter()
    assert blas.threads == 1
    pools.exit()
    assert blas.threads == 1
    pools.exit()
    assert blas.threads == 3 and blas.history == [1, 3]

    def work() -> None:
        for _ in range(200):
            pools.enter()
            pools.exit()

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert blas.threads == 3


def test_switched_off_by_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("GPUGRAD_BLAS_SMALL_ONE_THREAD", "0")
    assert threadpools._BlasPools().controllers() == []


def test_without_threadpoolctl_products_run_with_blas_own_setting(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    monkeypatch.setattr(threadpools, "_pools", threadpools._BlasPools())
    a = numpy.arange(12, dtype=numpy.float32).reshape(3, 4)
    numpy.testing.assert_array_equal(threadpools.matmul(a, a.T), a @ a.T)
    assert threadpools._pools.controllers() == []


def test_gpugrad_products_leave_numpys_blas_threads_as_they_were(device) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        rng = numpy.random.default_rng(0)
        x = rng.standard_normal((569, 30)).astype(numpy.float32)
        w = rng.standard_normal((30, 64)).astype(numpy.float32)
        a = gg.tensor(x, device=device)
        b = gg.tensor(w, device=device, requires_grad=True)
        out = a @ b
        out.sum().backward()
        numpy.testing.assert_allclose(out.detach().cpu().numpy(), x @ w, rtol=1e-4, atol=1e-4)
        numpy.testing.assert_allclose(
            b.grad.cpu().numpy(), x.T @ numpy.ones((569, 64), numpy.float32), rtol=1e-4, atol=1e-4
        )
        assert _blas_threads() == before
