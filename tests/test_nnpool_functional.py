"""The n-d convolution, pooling and normalization functions (task s7-nnpool) against
PyTorch in float64: values and the gradients of every floating input, errors (class and
text), and a gradcheck of each family."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

RNG = np.random.default_rng(7)


def _x(*shape):
    return RNG.standard_normal(shape)


def _run(function, arrays, device, kwargs, ours: bool):
    module = gg if ours else torch
    tensors = [
        module.tensor(a, requires_grad=a.dtype.kind == "f", **({"device": device} if ours else {}))
        for a in arrays
    ]
    F = gg.nn.functional if ours else TF
    out = function(F, *tensors, **kwargs)
    return tensors, out if isinstance(out, tuple) else (out,)


def _compare(function, arrays, device, rtol=1e-7, atol=1e-9, **kwargs):
    our_in, ours = _run(function, arrays, device, kwargs, True)
    their_in, theirs = _run(function, arrays, device, kwargs, False)
    assert len(ours) == len(theirs)
    rng = np.random.default_rng(3)
    our_loss, their_loss = None, None
    for a, b in zip(ours, theirs, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol, atol)
        if b.requires_grad:
            w = rng.standard_normal(tuple(b.shape))
            our_term = (a * gg.tensor(w, device=device)).sum()
            their_term = (b * torch.tensor(w)).sum()
            our_loss = our_term if our_loss is None else our_loss + our_term
            their_loss = their_term if their_loss is None else their_loss + their_term
    if their_loss is None:
        return
    our_loss.backward()
    their_loss.backward()
    for a, b in zip(our_in, their_in, strict=True):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol, atol)


CONV = [
    (
        "conv3d",
        lambda F, x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1),
        [_x(2, 4, 5, 6, 4), _x(6, 4, 3, 2, 3), _x(6)],
        {},
    ),
    (
        "conv3d-groups",
        lambda F, x, w: F.conv3d(x, w, groups=2, dilation=(2, 1, 1), padding="same"),
        [_x(1, 4, 6, 4, 5), _x(4, 2, 2, 3, 2)],
        {},
    ),
    (
        "conv3d-unbatched",
        lambda F, x, w: F.conv3d(x, w, padding="valid"),
        [_x(2, 4, 4, 4), _x(3, 2, 2, 2, 2)],
        {},
    ),
    (
        "conv_transpose1d",
        lambda F, x, w, b: F.conv_transpose1d(x, w, b, stride=3, padding=1, output_padding=2),
        [_x(2, 4, 5), _x(4, 3, 4), _x(3)],
        {},
    ),
    (
        "conv_transpose1d-groups",
        lambda F, x, w: F.conv_transpose1d(x, w, groups=2, dilation=2),
        [_x(4, 6), _x(4, 2, 3)],
        {},
    ),
    (
        "conv_transpose2d",
        lambda F, x, w: F.conv_transpose2d(
            x, w, stride=(2, 1), padding=(1, 0), output_padding=(1, 0)
        ),
        [_x(2, 3, 4, 5), _x(3, 2, 3, 2)],
        {},
    ),
    (
        "conv_transpose3d",
        lambda F, x, w, b: F.conv_transpose3d(
            x, w, b, stride=2, padding=(0, 1, 1), output_padding=1, groups=2
        ),
        [_x(2, 4, 3, 4, 3), _x(4, 1, 2, 3, 3), _x(2)],
        {},
    ),
    (
        "conv_transpose3d-big-padding",
        lambda F, x, w: F.conv_transpose3d(x, w, padding=2),
        [_x(1, 2, 5, 5, 6), _x(2, 3, 2, 2, 2)],
        {},
    ),
]

POOL = [
    ("max_pool3d", lambda F, x: F.max_pool3d(x, 2), [_x(2, 3, 4, 5, 6)], {}),
    (
        "max_pool3d-indices",
        lambda F, x: F.max_pool3d(
            x,
            (2, 3, 2),
            stride=(1, 2, 2),
            padding=1,
            dilation=(1, 1, 2),
            ceil_mode=True,
            return_indices=True,
        ),
        [_x(2, 2, 5, 6, 7)],
        {},
    ),
    (
        "max_pool3d_with_indices",
        lambda F, x: F.max_pool3d_with_indices(x, 3, 2),
        [_x(2, 5, 6, 7)],
        {},
    ),
    (
        "max_pool2d_with_indices",
        lambda F, x: F.max_pool2d_with_indices(x, 3, 2, 1),
        [_x(2, 3, 5, 7)],
        {},
    ),
    (
        "max_pool1d_with_indices",
        lambda F, x: F.max_pool1d_with_indices(x, 2, ceil_mode=True),
        [_x(2, 3, 7)],
        {},
    ),
    (
        "avg_pool1d",
        lambda F, x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [_x(2, 3, 8)],
        {},
    ),
    ("avg_pool1d-unbatched", lambda F, x: F.avg_pool1d(x, 2), [_x(3, 8)], {}),
    (
        "avg_pool2d",
        lambda F, x: F.avg_pool2d(x, (3, 2), 2, (1, 1), ceil_mode=True),
        [_x(2, 3, 6, 7)],
        {},
    ),
    (
        "avg_pool3d",
        lambda F, x: F.avg_pool3d(x, 3, (2, 1, 2), 1, count_include_pad=False, ceil_mode=True),
        [_x(2, 2, 5, 6, 7)],
        {},
    ),
    (
        "avg_pool3d-divisor",
        lambda F, x: F.avg_pool3d(x, 2, divisor_override=3),
        [_x(2, 4, 4, 5)],
        {},
    ),
    ("lp_pool1d", lambda F, x: F.lp_pool1d(x, 2, 3, 2), [_x(2, 3, 9)], {}),
    (
        "lp_pool2d",
        lambda F, x: F.lp_pool2d(x.abs() + 0.1, 3.0, (2, 3), ceil_mode=True),
        [_x(2, 3, 5, 7)],
        {},
    ),
    ("lp_pool3d", lambda F, x: F.lp_pool3d(x, 2, 2), [_x(1, 2, 4, 4, 6)], {}),
    ("lp_pool2d-inf", lambda F, x: F.lp_pool2d(x, float("inf"), 2), [_x(1, 2, 4, 6)], {}),
    ("adaptive_avg_pool1d", lambda F, x: F.adaptive_avg_pool1d(x, 4), [_x(2, 3, 9)], {}),
    ("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (3, None)), [_x(2, 3, 7, 5)], {}),
    (
        "adaptive_avg_pool3d",
        lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, 4)),
        [_x(2, 3, 5, 6, 7)],
        {},
    ),
    ("adaptive_avg_pool3d-ones", lambda F, x: F.adaptive_avg_pool3d(x, 1), [_x(2, 3, 5, 6, 7)], {}),
    (
        "adaptive_max_pool1d",
        lambda F, x: F.adaptive_max_pool1d(x, 4, return_indices=True),
        [_x(2, 3, 9)],
        {},
    ),
    (
        "adaptive_max_pool2d",
        lambda F, x: F.adaptive_max_pool2d(x, (3, 4), True),
        [_x(2, 3, 7, 5)],
        {},
    ),
    (
        "adaptive_max_pool2d-unbatched",
        lambda F, x: F.adaptive_max_pool2d(x, (None, 2)),
        [_x(3, 7, 5)],
        {},
    ),
    (
        "adaptive_max_pool3d",
        lambda F, x: F.adaptive_max_pool3d_with_indices(x, (2, 3, 4)),
        [_x(2, 2, 5, 6, 7)],
        {},
    ),
    (
        "adaptive_max_pool3d-grow",
        lambda F, x: F.adaptive_max_pool3d(x, (4, 2, 3)),
        [_x(1, 2, 3, 2, 2)],
        {},
    ),
]

NORM = [
    (
        "instance_norm",
        lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b),
        [_x(3, 4, 5), _x(4), _x(4)],
        {},
    ),
    (
        "instance_norm-eval",
        lambda F, x, m, v: F.instance_norm(x, m.detach(), v.detach().abs(), use_input_stats=False),
        [_x(2, 3, 4, 5), _x(3), _x(3)],
        {},
    ),
    ("local_response_norm-3d", lambda F, x: F.local_response_norm(x, 3), [_x(2, 5, 7)], {}),
    (
        "local_response_norm-5d",
        lambda F, x: F.local_response_norm(x, 2, alpha=0.1, beta=0.5, k=2.0),
        [_x(2, 5, 3, 4, 2)],
        {},
    ),
]


@pytest.mark.parametrize(
    ("name", "function", "arrays", "kwargs"),
    CONV + POOL + NORM,
    ids=[c[0] for c in CONV + POOL + NORM],
)
def test_matches_torch(device, name, function, arrays, kwargs):
    _compare(function, arrays, device, **kwargs)


def test_float32_spot_check(device):
    x, w = _x(2, 3, 4, 5, 6).astype(np.float32), _x(3, 3, 2, 2, 2).astype(np.float32)
    _compare(lambda F, x, w: F.conv_transpose3d(x, w, stride=2), [x, w], device, 1e-5, 1e-5)
    _compare(lambda F, x: F.avg_pool3d(x, 2), [x], device, 1e-5, 1e-6)


def test_instance_norm_running_statistics(device):
    x = _x(3, 4, 6)
    ours = [
        gg.zeros(4, device=device, dtype=gg.float64),
        gg.ones(4, device=device, dtype=gg.float64),
    ]
    theirs = [torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)]
    for _ in range(2):
        gg.nn.functional.instance_norm(gg.tensor(x, device=device), *ours, momentum=0.3)
        TF.instance_norm(torch.tensor(x), *theirs, momentum=0.3)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.cpu().numpy(), b.numpy(), 1e-12)


def test_max_unpool_round_trip(device):
    for spatial, shape in ((1, (2, 3, 8)), (2, (2, 3, 6, 7)), (3, (1, 2, 4, 6, 5))):
        x = _x(*shape)
        pool = f"max_pool{spatial}d"
        unpool = f"max_unpool{spatial}d"

        def run(F, x, pool=pool, unpool=unpool, size=shape):
            values, indices = getattr(F, pool)(x, 2, return_indices=True)
            return getattr(F, unpool)(values, indices, 2, output_size=size[2:])

        _compare(run, [x], device)
        _compare(
            lambda F, x, pool=pool, unpool=unpool, size=shape: getattr(F, unpool)(
                *getattr(F, pool)(x, 3, 2, 1, return_indices=True), 3, 2, 1, output_size=size
            ),
            [x],
            device,
        )


def test_gradcheck(device):
    F = gg.nn.functional

    def t(*shape):
        return gg.tensor(_x(*shape), device=device, requires_grad=True)

    cases = [
        (lambda x, w: F.conv3d(x, w, padding=1, stride=2), (t(1, 2, 3, 4, 3), t(2, 2, 2, 2, 2))),
        (
            lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1),
            (t(2, 2, 4), t(2, 3, 3)),
        ),
        (
            lambda x: F.avg_pool3d(x, 2, ceil_mode=True, count_include_pad=False, padding=1),
            (t(1, 2, 3, 4, 3),),
        ),
        (lambda x: F.adaptive_max_pool2d(x, (2, 3)), (t(1, 2, 5, 4),)),
        (lambda x: F.adaptive_avg_pool1d(x, 3), (t(2, 2, 7),)),
        (lambda x: F.lp_pool2d(x, 2, 2), (t(1, 2, 4, 4),)),
        (lambda x, w: F.instance_norm(x, weight=w), (t(2, 3, 5), t(3))),
        (lambda x: F.local_response_norm(x, 3), (t(2, 4, 3, 3),)),
    ]
    for function, inputs in cases:
        assert gg.autograd.gradcheck(function, inputs)


ERRORS = [
    lambda F, T: F.conv3d(T(2, 4, 5), T(3, 2, 2, 2, 2)),
    lambda F, T: F.conv3d(T(2, 4, 5, 5, 5), T(3, 3, 2, 2, 2)),
    lambda F, T: F.conv3d(T(2, 2, 1, 5, 5), T(3, 2, 2, 2, 2)),
    lambda F, T: F.conv_transpose3d(T(2, 4, 3, 3, 3), T(4, 3, 2, 2, 2), stride=2, output_padding=2),
    lambda F, T: F.conv_transpose1d(T(2, 4, 3), T(4, 3, 2), stride=2, output_padding=2),
    lambda F, T: F.conv_transpose1d(T(2, 4, 3, 1), T(4, 3, 2)),
    lambda F, T: F.conv_transpose1d(T(2, 3, 3), T(4, 3, 2)),
    lambda F, T: F.max_pool3d(T(2, 3, 4, 5, 6), (2, 2)),
    lambda F, T: F.max_pool3d(T(2, 3, 4, 5, 6), 2, padding=2),
    lambda F, T: F.max_pool3d(T(2, 3, 4, 5, 6), 8),
    lambda F, T: F.max_pool3d(T(4, 5, 6), 2),
    lambda F, T: F.max_pool3d(T(2, 3, 4, 5, 6), 2, dilation=0),
    lambda F, T: F.avg_pool3d(T(2, 3, 4, 5, 6), (2, 2)),
    lambda F, T: F.avg_pool3d(T(2, 3, 4, 5, 6), (2, 9, 2)),
    lambda F, T: F.avg_pool3d(T(2, 3, 4, 5, 6), 2, divisor_override=0),
    lambda F, T: F.avg_pool3d(T(2, 3, 4, 5, 6), 2, stride=(1, 1)),
    lambda F, T: F.avg_pool1d(T(2, 3, 4, 5), 2),
    lambda F, T: F.avg_pool1d(T(2, 3, 4), (2, 2)),
    lambda F, T: F.avg_pool1d(T(2, 3, 4), 9),
    lambda F, T: F.avg_pool2d(T(2, 3, 4, 5), 2, padding=2),
    lambda F, T: F.adaptive_avg_pool3d(T(5, 6, 7), 2),
    lambda F, T: F.adaptive_avg_pool3d(T(2, 5, 6, 7), (2, 2)),
    lambda F, T: F.adaptive_avg_pool1d(T(2, 3, 5, 6), 2),
    lambda F, T: F.adaptive_max_pool1d(T(2, 3, 5, 6), 2),
    lambda F, T: F.adaptive_max_pool2d(T(6, 7), 2),
    lambda F, T: F.adaptive_max_pool3d(T(5, 6, 7), 2),
    lambda F, T: F.adaptive_max_pool3d(T(2, 5, 6, 7), (2, 2)),
    lambda F, T: F.adaptive_max_pool2d(T(3, 0, 6, 7), 2),
    lambda F, T: F.adaptive_max_pool2d(T(6, 7), (2, 2, 2)),
    lambda F, T: F.max_unpool2d(T(1, 2, 2, 2), T(1, 2, 2, 2).long(), 2, output_size=(9, 9)),
    lambda F, T: F.max_unpool2d(T(1, 2, 2, 2), T(1, 2, 2, 2).long(), 2, output_size=(4,)),
    lambda F, T: F.max_unpool2d(T(1, 2, 2, 2), T(1, 2, 2, 2).long() * 0 + 99, 2),
    lambda F, T: F.max_unpool1d(T(1, 2, 2), T(1, 2, 2).long() * 0 + 20, 2),
    lambda F, T: F.max_unpool3d(T(1, 2, 2, 2, 2), T(1, 2, 2, 2, 2).long() * 0 - 3, 2),
    lambda F, T: F.max_unpool2d(T(1, 2, 2, 2), T(1, 2, 2, 2).int(), 2),
    lambda F, T: F.max_unpool2d(T(1, 2, 2, 2), T(1, 2, 2, 3).long(), 2),
    lambda F, T: F.max_unpool2d(T(2, 2), T(2, 2).long(), 2),
    lambda F, T: F.instance_norm(T(2, 3, 1)),
    lambda F, T: F.local_response_norm(T(2, 3), 2),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(device, case):
    our_rng, their_rng = np.random.default_rng(case), np.random.default_rng(case)

    def ours(*shape):
        return gg.tensor(our_rng.standard_normal(shape), device=device)

    def theirs(*shape):
        return torch.tensor(their_rng.standard_normal(shape))

    assert_raises_like_torch(
        lambda: ERRORS[case](gg.nn.functional, ours), lambda: ERRORS[case](TF, theirs)
    )


TOPLEVEL = [
    ("conv3d", lambda m, x, w: m.conv3d(x, w, None, 1, 1), [_x(1, 2, 3, 4, 3), _x(3, 2, 2, 2, 2)]),
    (
        "conv_transpose1d",
        lambda m, x, w: m.conv_transpose1d(x, w, None, 2),
        [_x(2, 2, 4), _x(2, 3, 3)],
    ),
    (
        "conv_transpose3d",
        lambda m, x, w: m.conv_transpose3d(x, w),
        [_x(1, 2, 3, 2, 3), _x(2, 1, 2, 2, 2)],
    ),
    (
        "batch_norm",
        lambda m, x, w, b: m.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [_x(4, 3, 5), _x(3), _x(3)],
    ),
    (
        "instance_norm",
        lambda m, x, w, b: m.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
        [_x(4, 3, 5), _x(3), _x(3)],
    ),
    ("layer_norm", lambda m, x, w: m.layer_norm(x, (5,), w), [_x(4, 3, 5), _x(5)]),
    ("group_norm", lambda m, x: m.group_norm(x, 3), [_x(4, 6, 5)]),
    ("max_pool1d", lambda m, x: m.max_pool1d(x, 2), [_x(2, 3, 7)]),
    ("max_pool1d_with_indices", lambda m, x: m.max_pool1d_with_indices(x, 3, 2, 1), [_x(2, 3, 7)]),
    ("max_pool2d", lambda m, x: m.max_pool2d(x, 2, [], 1), [_x(2, 3, 5, 7)]),
    ("max_pool3d", lambda m, x: m.max_pool3d(x, 2), [_x(2, 3, 5, 4, 7)]),
    ("avg_pool1d", lambda m, x: m.avg_pool1d(x, 3, [], 1), [_x(2, 3, 7)]),
    ("adaptive_avg_pool1d", lambda m, x: m.adaptive_avg_pool1d(x, 3), [_x(2, 3, 7)]),
    ("adaptive_max_pool1d", lambda m, x: m.adaptive_max_pool1d(x, 3), [_x(2, 3, 7)]),
]


@pytest.mark.parametrize(("name", "function", "arrays"), TOPLEVEL, ids=[c[0] for c in TOPLEVEL])
def test_top_level_names_match_torch(device, name, function, arrays):
    def with_module(F, *tensors):
        return function(gg if F is gg.nn.functional else torch, *tensors)

    _compare(with_module, arrays, device)


FRACTIONAL = [
    (2, (2, 3, 9, 11), {"kernel_size": 2, "output_size": (4, 5)}),
    (2, (3, 9, 11), {"kernel_size": (3, 2), "output_ratio": (0.5, 0.6)}),
    (2, (2, 3, 9, 11), {"kernel_size": 2, "output_size": (8, 10)}),
    (3, (2, 2, 7, 9, 8), {"kernel_size": 2, "output_size": (3, 4, 5)}),
    (3, (2, 7, 9, 8), {"kernel_size": (2, 3, 2), "output_ratio": (0.5, 0.5, 0.7)}),
]


@pytest.mark.parametrize(("spatial", "shape", "kwargs"), FRACTIONAL)
def test_fractional_max_pool_matches_torch(device, spatial, shape, kwargs):
    samples = RNG.random(
        (shape[0] if len(shape) == spatial + 2 else 1, shape[-spatial - 1], spatial)
    )
    x = _x(*shape)

    def run(F, x, samples):
        function = getattr(F, f"fractional_max_pool{spatial}d")
        return function(x, return_indices=True, _random_samples=samples.detach(), **kwargs)

    _compare(run, [x, samples], device)
    _compare(run, [x.astype(np.float32), samples.astype(np.float32)], device, 1e-6, 1e-6)


def test_fractional_max_pool_module_and_gradcheck(device):
    torch.manual_seed(0)
    x = gg.tensor(_x(1, 2, 6, 7), device=device, requires_grad=True)
    pool = gg.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.5))
    values, indices = gg.nn.FractionalMaxPool2d(2, (3, 3), return_indices=True)(x)
    assert tuple(values.shape) == (1, 2, 3, 3) and indices.dtype == gg.int64
    flat = x.detach().reshape(1, 2, -1).gather(2, indices.reshape(1, 2, -1)).reshape(1, 2, 3, 3)
    np.testing.assert_array_equal(flat.cpu().numpy(), values.detach().cpu().numpy())
    samples = gg.tensor(RNG.random((1, 2, 2)), device=device)
    assert gg.autograd.gradcheck(
        lambda t: gg.nn.functional.fractional_max_pool2d(t, 2, (3, 3), _random_samples=samples),
        (x,),
    )
    assert tuple(pool(x).shape) == (1, 2, 3, 3)


FRACTIONAL_ERRORS = [
    lambda F, T: F.fractional_max_pool2d(T(2, 3, 7, 8), 2),
    lambda F, T: F.fractional_max_pool2d(T(2, 3, 7, 8), (2, 2, 2), output_size=3),
    lambda F, T: F.fractional_max_pool2d(T(2, 3, 7, 8), 2, output_size=(3, 3, 3)),
    lambda F, T: F.fractional_max_pool2d(T(2, 3, 7, 8), 2, output_size=(7, 3)),
    lambda F, T: F.fractional_max_pool2d(T(7, 8), 2, output_ratio=(0.5, 0.5)),
    lambda F, T: F.fractional_max_pool2d(T(2, 3, 7, 8), 2, output_ratio=(0.5, 0.5, 0.5)),
    lambda F, T: F.fractional_max_pool2d(
        T(2, 3, 7, 8), 2, output_size=3, _random_samples=T(2, 3, 3)
    ),
    lambda F, T: F.fractional_max_pool3d(T(1, 2, 7, 7, 7), 2, output_size=(3, 3, 6)),
    lambda F, T: F.fractional_max_pool3d(T(1, 2, 7, 7, 7), (2, 2), output_size=2),
    lambda F, T: F.fractional_max_pool3d(T(1, 2, 7, 7, 7), 2),
]


@pytest.mark.parametrize("case", range(len(FRACTIONAL_ERRORS)))
def test_fractional_errors_match_torch(device, case):
    def ours(*shape):
        return gg.rand(*shape, device=device)

    assert_raises_like_torch(
        lambda: FRACTIONAL_ERRORS[case](gg.nn.functional, ours),
        lambda: FRACTIONAL_ERRORS[case](TF, torch.rand),
    )


def test_gradgradcheck(device):
    F = gg.nn.functional

    def t(*shape):
        return gg.tensor(_x(*shape), device=device, requires_grad=True)

    cases = [
        (lambda x, w: F.conv_transpose1d(x, w, stride=2), (t(1, 2, 3), t(2, 2, 2))),
        (lambda x: F.avg_pool3d(x, 2, ceil_mode=True), (t(1, 1, 3, 3, 2),)),
        (lambda x: F.adaptive_max_pool1d(x, 2), (t(1, 2, 5),)),
        (lambda x, w: F.instance_norm(x, weight=w), (t(2, 2, 4), t(2))),
    ]
    for function, inputs in cases:
        assert gg.autograd.gradgradcheck(function, inputs)
