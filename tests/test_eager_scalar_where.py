"""The CPU backend's ``where`` on NumPy scalars (eager overhead, issue 18): its fast path
returns what ``numpy.where`` returns, bit for bit and of the same dtype, and the 0-d
derivatives that use it (clamp's mask) match PyTorch."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import backends

FLOAT_SCALARS = (np.float16, np.float32, np.float64)
SPECIAL = (0.0, -0.0, 1.5, -2.25, math.inf, -math.inf, math.nan, 1e-40, 1e300)
PYTHON_NUMBERS = (0, 1, -3, 0.0, -0.0, 2.5, math.nan, math.inf, 1e300)


def _scalars() -> list:
    with np.errstate(all="ignore"):
        return [kind(v) for kind in FLOAT_SCALARS for v in SPECIAL]


def test_cpu_where_on_scalars_equals_numpy_where_bitwise():
    where = backends.cpu.where
    scalars = _scalars()
    pairs = itertools.chain(
        itertools.product(scalars, scalars + list(PYTHON_NUMBERS)),
        itertools.product(PYTHON_NUMBERS, scalars),
    )
    checked = 0
    for x, y in pairs:
        for condition in (np.True_, np.False_):
            with np.errstate(all="ignore"):
                got = where(condition, x, y)
                want = np.where(condition, x, y)
            assert got.dtype == want.dtype, (x, y)
            assert np.asarray(got).tobytes() == want.tobytes(), (condition, x, y, got, want)
            checked += 1
    assert checked == 2 * (len(scalars) * (len(scalars) + 2 * len(PYTHON_NUMBERS)))


def test_cpu_where_keeps_numpy_where_for_arrays_and_other_kinds():
    where = backends.cpu.where
    mask = np.array([True, False, True])
    x = np.array([1.0, 2.0, 3.0], np.float32)
    got = where(mask, x, 0)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    assert got.tolist() == [1.0, 0.0, 3.0]
    # integer scalars with a Python float promote (not the fast path): NumPy's answer
    assert where(np.True_, np.int32(2), 0.5).dtype == np.where(True, np.int32(2), 0.5).dtype
    # mixed float types promote as NumPy does
    assert where(np.False_, np.float32(1), np.float64(2)).dtype == np.float64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [-3.0, -1.0, 0.25, 1.0, 2.0, math.nan])
def test_clamp_backward_on_0d_tensors_matches_torch(device, dtype, value):
    torch = pytest.importorskip("torch")
    x = gg.tensor(value, dtype=getattr(gg, dtype), device=device, requires_grad=True)
    gg.clamp(x * 1.0, -1.0, 1.0).backward()
    t = torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True)
    torch.clamp(t * 1.0, -1.0, 1.0).backward()
    assert x.grad.dtype == getattr(gg, dtype)
    assert x.grad.item() == t.grad.item()
