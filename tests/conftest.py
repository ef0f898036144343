"""Shared fixtures: ``device`` runs a test on the CPU and, where present, on CUDA.

On a machine without a CUDA device the CUDA variants are collected, marked ``gpu`` and
skipped with the reason, so the same tests run for real wherever a GPU exists.
"""

from __future__ import annotations

import pytest

import gpugrad as gg

CUDA = gg.cuda.is_available()
NO_CUDA = "no CUDA device (CuPy missing or no GPU/driver on this machine)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("gpu") and not CUDA:
            item.add_marker(pytest.mark.skip(reason=NO_CUDA))


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def torch_on_one_thread():
    """PyTorch's intra-op threads spin and fight for the cores on a loaded 2-core machine,
    making its tiny ops 10-100x slower; files comparing many tiny steps use one thread."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def native_loop():
    """The backward engine's compiled node loop (``_engine_loop.c``), built or loaded now
    whatever the CPU kernels' setting; skipped only where nothing can be built (no C
    compiler or no Python headers), where the Python loop is the only one users get."""
    from gpugrad import _engine, _engine_native

    missing = _engine_native._toolchain_missing()
    if missing is not None:
        pytest.skip(f"the C backward loop cannot be built here: {missing}")
    return _engine_native.build(_engine._configure_native)
