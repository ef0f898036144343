"""Shared helpers of the ``gpugrad.func`` tests: run one program on gpugrad and on PyTorch
and compare results (pytree structure, shapes, values, requires_grad)."""

from __future__ import annotations

from typing import Any

import numpy as np

import gpugrad as gg


def assert_same_tree(ours: Any, theirs: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """``ours`` (gpugrad) has ``theirs``' (PyTorch) structure, shapes, values and
    requires_grad."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), (ours, theirs)
        for key in theirs:
            assert_same_tree(ours[key], theirs[key], rtol, atol)
        return
    if isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs):
            assert_same_tree(a, b, rtol, atol)
        return
    if theirs is None or isinstance(theirs, (int, float)):
        assert ours == theirs
        return
    assert isinstance(ours, gg.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    assert ours.requires_grad == theirs.requires_grad
    np.testing.assert_allclose(
        ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol
    )


def both(value: Any, device: str, requires_grad: bool = False) -> tuple[Any, Any]:
    """``value`` (an array) as a float64 gpugrad tensor on ``device`` and a PyTorch one."""
    import torch

    return (
        gg.tensor(value, dtype=gg.float64, device=device, requires_grad=requires_grad),
        torch.tensor(value, dtype=torch.float64, requires_grad=requires_grad),
    )
