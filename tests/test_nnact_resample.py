"""``F.interpolate`` in every mode (``bicubic`` and ``area`` added by task nnact), every
``F.pad`` mode for 1-3 padded dims, ``F.fold`` and the deprecated ``upsample`` names,
against PyTorch in float64: values, gradients for one upstream gradient, gradchecks and
error texts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F
from tests.against_torch import assert_raises_like_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _check(ours_fn, theirs_fn, shape, device, atol=1e-10):
    values = np.random.default_rng(0).standard_normal(shape)
    x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    out, expected = ours_fn(x), theirs_fn(tx)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), atol=atol)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(gg.tensor(upstream, device=device))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), atol=atol)


INTERPOLATE = [
    (mode, spatial, kwargs, align)
    for mode, spatial in [
        ("nearest", 2),
        ("nearest-exact", 3),
        ("linear", 1),
        ("bilinear", 2),
        ("trilinear", 3),
        ("bicubic", 2),
        ("area", 1),
        ("area", 2),
        ("area", 3),
    ]
    for kwargs in [
        {"size": (8, 3, 6)[:spatial]},
        {"scale_factor": 1.7},
        {"scale_factor": 0.6, "recompute_scale_factor": True},
    ]
    for align in (
        [None, True] if mode in ("linear", "bilinear", "bicubic", "trilinear") else [None]
    )
]


@pytest.mark.parametrize(("mode", "spatial", "kwargs", "align"), INTERPOLATE)
def test_interpolate_matches_torch(mode, spatial, kwargs, align, device):
    shape = (2, 3, *(5, 7, 4)[:spatial])
    _check(
        lambda x: F.interpolate(x, mode=mode, align_corners=align, **kwargs),
        lambda x: TF.interpolate(x, mode=mode, align_corners=align, **kwargs),
        shape,
        device,
    )


@pytest.mark.parametrize("mode", ["bicubic", "area"])
def test_interpolate_float32_spot_check(mode, device):
    values = np.random.default_rng(4).standard_normal((1, 2, 6, 5)).astype(np.float32)
    out = F.interpolate(gg.tensor(values, device=device), size=(9, 4), mode=mode)
    expected = TF.interpolate(torch.tensor(values), size=(9, 4), mode=mode)
    assert out.dtype == gg.float32
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("mode", ["bicubic", "area"])
def test_interpolate_gradcheck(mode, device):
    x = gg.randn(1, 1, 3, 4, dtype=gg.float64, device=device).requires_grad_()
    assert gg.autograd.gradcheck(lambda t: F.interpolate(t, size=(5, 3), mode=mode), (x,))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.interpolate(x, size=4, mode="bicubic"),
        lambda m, x: m.interpolate(x, size=4, mode="area", align_corners=True),
        lambda m, x: m.interpolate(x, size=(4, 4), mode="area"),
    ],
)
def test_interpolate_errors_match_torch(call):
    values = np.zeros((1, 2, 3))
    assert_raises_like_torch(
        lambda: call(F, gg.tensor(values)), lambda: call(TF, torch.tensor(values))
    )


PADS = [
    (mode, pad, shape)
    for mode in ("constant", "reflect", "replicate", "circular")
    for pad, shape in [
        ((2, 1), (2, 3, 4)),
        ((1, 2), (3, 4)),
        ((1, 2, 2, 0), (1, 2, 3, 4)),
        ((0, 1, 2, 1), (2, 3, 4)),
        ((1, 0, 1, 2, 2, 1), (1, 2, 3, 3, 3)),
        ((1, 1, 0, 2, 1, 0), (2, 3, 4, 3)),
        ((-1, 2), (2, 3, 4)),
    ]
]


@pytest.mark.parametrize(("mode", "pad", "shape"), PADS)
def test_pad_matches_torch(mode, pad, shape, device):
    _check(lambda x: F.pad(x, pad, mode), lambda x: TF.pad(x, pad, mode), shape, device)


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"output_size": (4, 5), "kernel_size": (2, 2)}, (2, 12, 12)),
        ({"output_size": (4, 5), "kernel_size": (2, 3)}, (1, 12, 9)),
        (
            {"output_size": 5, "kernel_size": 2, "dilation": 2, "padding": 1, "stride": 2},
            (3, 4, 9),
        ),
        ({"output_size": (5, 6), "kernel_size": 3, "padding": (1, 0), "stride": (1, 2)}, (18, 10)),
    ],
)
def test_fold_matches_torch(kwargs, shape, device):
    _check(lambda x: F.fold(x, **kwargs), lambda x: TF.fold(x, **kwargs), shape, device)


def test_fold_is_unfolds_adjoint(device):
    x = gg.randn(2, 3, 5, 6, dtype=gg.float64, device=device)
    cols = F.unfold(x, 2, padding=1, stride=2)
    y = gg.randn(*cols.shape, dtype=gg.float64, device=device)
    lhs = (cols * y).sum().item()
    rhs = (x * F.fold(y, (5, 6), 2, padding=1, stride=2)).sum().item()
    assert abs(lhs - rhs) < 1e-9
    z = gg.randn(1, 8, 12, dtype=gg.float64, device=device).requires_grad_()
    assert gg.autograd.gradcheck(lambda t: F.fold(t, (4, 5), (2, 2)), (z,))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.fold(x, (4, 5), (2, 2)),
        lambda m, x: m.fold(x[:, :11], (4, 5), (2, 2)),
        lambda m, x: m.fold(x.reshape(1, 1, 12, 12), (4, 5), (2, 2)),
        lambda m, x: m.fold(x, (4, 5), (0, 2)),
        lambda m, x: m.fold(x, (4, 5), (2, 2), stride=0),
        lambda m, x: m.fold(x, (4, 5), (2, 2), dilation=(1, 0)),
        lambda m, x: m.fold(x, (4, 5), (2, 2), padding=-1),
    ],
)
def test_fold_errors_match_torch(call):
    values = np.zeros((1, 13, 12))
    assert_raises_like_torch(
        lambda: call(F, gg.tensor(values)), lambda: call(TF, torch.tensor(values))
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
        ("upsample_nearest", {"size": (5, 4)}),
        ("upsample_bilinear", {"scale_factor": 1.5}),
    ],
)
def test_deprecated_upsample_names(name, kwargs, device):
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        _check(
            lambda x: getattr(F, name)(x, **kwargs),
            lambda x: _quiet(getattr(TF, name), x, **kwargs),
            (1, 2, 3, 3),
            device,
        )


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.parametrize(
    ("mode", "pad", "shape"),
    [
        ("circular", (1, 1, 1, 1), (3, 2)),  # PyTorch's list of supported combinations
        ("reflect", (1, 1, 1, 1, 1, 1), (2, 3)),
        ("reflect", (-2, -1, -1, -2), (4, 1, 1)),  # too small, worded per kernel
        ("replicate", (-2, -1, -1, -2), (4, 1, 1)),
        ("replicate", (-3, -3, -3, -1, 1, 0), (1, 2, 2, 3)),  # the first negative size
        ("circular", (2, 1, -3, -1, -2, -3), (1, 2, 1, 1)),  # outermost dim checked first
        ("circular", (4, 0), (2, 3)),
    ],
)
def test_pad_errors_match_torch(mode, pad, shape):
    values = np.zeros(shape)
    assert_raises_like_torch(
        lambda: F.pad(gg.tensor(values), pad, mode),
        lambda: TF.pad(torch.tensor(values), pad, mode),
    )


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((2, 3, 4), {"mode": "foo"}),  # no size: PyTorch asks for one before the mode
        ((2, 3, 4, 4), {"size": [3, 3, 3], "mode": "foo"}),
        ((2, 3, 4), {"size": 4, "recompute_scale_factor": True}),
        ((2, 3, 4), {"size": [2.5]}),
        ((2, 3, 4, 4), {"scale_factor": 2, "antialias": True}),
        ((2, 3, 4, 4), {"scale_factor": 2, "mode": "lanczos"}),
        ((2, 3, 4, 4), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
        ((2, 3, 4), {"scale_factor": 2, "mode": "trilinear"}),
        ((2, 3, 4, 4, 4), {"scale_factor": 2, "mode": "bicubic"}),
        ((1, 2, 0), {"size": 2, "mode": "area"}),
        ((1, 2, 3), {"size": -1, "mode": "area"}),
        ((1, 2, 2, 2, 3), {"size": (1, -2, 1), "mode": "area"}),
    ],
)
def test_interpolate_argument_errors_match_torch(shape, kwargs):
    values = np.zeros(shape)
    theirs = lambda: TF.interpolate(torch.tensor(values), **kwargs)  # noqa: E731
    try:
        theirs()
    except Exception:
        assert_raises_like_torch(lambda: F.interpolate(gg.tensor(values), **kwargs), theirs)
    else:  # PyTorch's bilinear with align_corners runs: so does gpugrad's
        expected = theirs().numpy()
        np.testing.assert_allclose(F.interpolate(gg.tensor(values), **kwargs).numpy(), expected)


def test_area_interpolation_allows_empty_outputs_and_batches(device):
    assert F.interpolate(gg.zeros(2, 0, 3, 3, device=device), size=2, mode="area").shape == (
        2,
        0,
        2,
        2,
    )
    assert F.interpolate(gg.zeros(1, 2, 3, device=device), size=0, mode="area").shape == (1, 2, 0)
