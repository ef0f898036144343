"""``embedding_bag`` as one ``EmbeddingBagBackward0`` node (``autograd.function.one_node``),
its bags reduced without a loop over bags: values and gradients against PyTorch in float64
over modes, padding, per-sample weights, offsets forms and empty bags; higher order."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.autograd.function import one_node

torch = pytest.importorskip("torch")

CASES = [
    # (indices, offsets or None for 2-D input, mode, padding_idx, per_sample_weights, last)
    ([1, 2, 4, 4, 0, 3], [0, 2, 2, 5], "mean", None, False, False),
    ([1, 2, 4, 4, 0, 3], [0, 2, 2, 5], "sum", None, True, False),
    ([1, 2, 4, 4, 0, 3], [0, 2, 2, 5], "max", None, False, False),
    ([1, 2, 4, 4, 0, 3], [0, 3, 6], "mean", 4, False, True),
    ([1, 2, 4, 4, 0, 3], [0, 3], "sum", 4, True, False),
    ([1, 2, 4, 4, 0, 3], [0, 1, 4], "max", 2, False, False),
    ([[1, 2, 0], [4, 4, 3]], None, "mean", 0, False, False),
    ([[1, 2, 0], [4, 4, 3]], None, "sum", None, True, False),
    ([[1, 2, 0], [4, 4, 3]], None, "max", None, False, False),
    ([4, 4], [0, 0, 2], "mean", 4, False, True),  # every row padding: zero bags
]


def _both(data, dtype):
    return gg.tensor(data, dtype=dtype), torch.tensor(data)


@pytest.mark.parametrize("indices, offsets, mode, padding_idx, weighted, last", CASES)
def test_embedding_bag_matches_pytorch(device, indices, offsets, mode, padding_idx, weighted, last):
    rng = np.random.default_rng(len(str(indices)) + len(mode))
    weight_np = rng.standard_normal((5, 3))
    weight = gg.tensor(weight_np, requires_grad=True, device=device)
    theirs_weight = torch.tensor(weight_np, requires_grad=True)
    shape = np.shape(indices)
    psw_np = rng.standard_normal(shape) if weighted else None
    psw = None if psw_np is None else gg.tensor(psw_np, requires_grad=True, device=device)
    theirs_psw = None if psw_np is None else torch.tensor(psw_np, requires_grad=True)
    kwargs = {"mode": mode, "padding_idx": padding_idx, "include_last_offset": last}
    out = gg.nn.functional.embedding_bag(
        gg.tensor(indices, device=device),
        weight,
        None if offsets is None else gg.tensor(offsets, device=device),
        per_sample_weights=psw,
        **kwargs,
    )
    expected = torch.nn.functional.embedding_bag(
        torch.tensor(indices),
        theirs_weight,
        None if offsets is None else torch.tensor(offsets),
        per_sample_weights=theirs_psw,
        **kwargs,
    )
    assert out.grad_fn.name() == expected.grad_fn.name() == "EmbeddingBagBackward0"
    assert [f is None for f, _ in out.grad_fn.next_functions] == [
        f is None for f, _ in expected.grad_fn.next_functions
    ]
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), atol=1e-12)
    upstream = rng.standard_normal(tuple(expected.shape))
    (out * gg.tensor(upstream, device=device)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(weight.grad.cpu().numpy(), theirs_weight.grad.numpy(), atol=1e-12)
    if weighted:
        np.testing.assert_allclose(psw.grad.cpu().numpy(), theirs_psw.grad.numpy(), atol=1e-12)


def test_embedding_bag_gradcheck_and_second_order(device):
    weight = gg.randn(6, 4, dtype=gg.float64, requires_grad=True, device=device)
    psw = gg.randn(7, dtype=gg.float64, requires_grad=True, device=device)
    indices = gg.tensor([0, 5, 2, 2, 1, 3, 4], device=device)
    offsets = gg.tensor([0, 3, 3], device=device)

    def bags(w, p):
        return gg.nn.functional.embedding_bag(indices, w, offsets, mode="sum", per_sample_weights=p)

    assert gg.autograd.gradcheck(bags, (weight, psw))
    assert gg.autograd.gradgradcheck(bags, (weight, psw))


def test_one_node_records_one_node_and_differentiates_twice(device):
    x = gg.tensor([0.5, -1.0, 2.0], dtype=gg.float64, requires_grad=True, device=device)
    y = one_node("CubeBackward0", lambda t: t * t * t, x)
    assert y.grad_fn.name() == "CubeBackward0"
    assert repr(y.grad_fn).startswith("<CubeBackward0 object at 0x")
    assert [type(f).__name__ for f, _ in y.grad_fn.next_functions] == ["AccumulateGrad"]
    (first,) = gg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(first.detach().cpu().numpy(), 3 * np.array([0.25, 1.0, 4.0]))
    (second,) = gg.autograd.grad(first.sum(), x)
    np.testing.assert_allclose(second.cpu().numpy(), 6 * np.array([0.5, -1.0, 2.0]))
    with gg.no_grad():
        assert one_node("CubeBackward0", lambda t: t * 2, x).grad_fn is None
