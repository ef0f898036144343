"""Special functions: values at the edges of their domains (tails, infinities, NaN) and
in every float dtype, against the C library and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg

EDGES = [-math.inf, -30.0, -6.0, -5.9, -2.0, -1e-300, 0.0, 1e-8, 0.5, 1.9999, 2.0, 5.5, 9.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_erf_at_the_edges(device, dtype):
    x = gg.tensor(EDGES + [math.inf, math.nan], dtype=getattr(gg, dtype), device=device)
    got = gg.erf(x).cpu().numpy()
    want = np.array([math.erf(v) for v in x.cpu().numpy().astype(np.float64)])
    tolerance = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-14}[dtype]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want.astype(dtype), rtol=tolerance, atol=tolerance)


def test_erf_matches_torch_and_its_gradient_is_the_gaussian(device):
    torch = pytest.importorskip("torch")
    values = np.linspace(-4, 4, 41)
    x = gg.tensor(values, device=device, requires_grad=True)
    gg.erf(x).sum().backward()
    xt = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    torch.erf(xt).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert x.erf().grad_fn.name() == "ErfBackward0"
    assert gg.erf(gg.tensor([0, 3], device=device)).dtype == gg.float32
