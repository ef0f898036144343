"""The loss zoo (helper s7-nnloss) against PyTorch in float64: values, gradients, legacy
``size_average``/``reduce``, errors, module reprs; gradcheck for a representative set; CTC
with padded and concatenated targets, ``zero_infinity`` and every reduction."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(7)
X = RNG.standard_normal((4, 5))
SIGNS = np.sign(RNG.standard_normal((4, 5)))
POSITIVE = RNG.random((4, 5)) + 0.1
COUNTS = RNG.poisson(2.0, (4, 5)).astype(float)
BINARY = (RNG.random((4, 5)) > 0.5).astype(float)
CLASSES = np.array([1, 0, 4, 2])
LABEL_ROWS = np.array([[1, 3, -1, 0, 0], [0, 1, 2, 3, 4], [-1, 1, 1, 1, 1], [4, 4, -1, 2, 2]])
CLASS_WEIGHT = RNG.random(5) + 0.5


def _pair(arrays, grads, device):
    torch_args = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    gg_args = [gg.tensor(a, device=device, requires_grad=i in grads) for i, a in enumerate(arrays)]
    return torch_args, gg_args


def _check(torch_fn, gg_fn, arrays, device, grads=(0,), **kwargs):
    torch_args, gg_args = _pair(arrays, grads, device)
    expected = torch_fn(*torch_args, **kwargs)
    got = gg_fn(*gg_args, **kwargs)
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10)
    (
        expected * torch.tensor(np.arange(1.0, expected.numel() + 1)).reshape(expected.shape)
    ).sum().backward()
    weights = gg.tensor(np.arange(1.0, got.numel() + 1), device=device).reshape(tuple(got.shape))
    (got * weights).sum().backward()
    for t, g in zip(torch_args, gg_args, strict=True):
        if t.grad is not None:
            np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


CASES = [
    ("hinge_embedding_loss", [X, SIGNS], {"margin": 0.5}, (0,)),
    ("soft_margin_loss", [X, SIGNS], {}, (0,)),
    ("margin_ranking_loss", [X[0], X[1], SIGNS[0]], {"margin": 0.3}, (0, 1)),
    ("multi_margin_loss", [X, CLASSES], {}, (0,)),
    ("multi_margin_loss", [X, CLASSES], {"p": 2, "margin": 0.7}, (0,)),
    ("multi_margin_loss", [X[0], np.array(2)], {}, (0,)),
    ("multilabel_margin_loss", [X, LABEL_ROWS], {}, (0,)),
    ("multilabel_margin_loss", [X[0], LABEL_ROWS[0]], {}, (0,)),
    ("multilabel_soft_margin_loss", [X, BINARY, CLASS_WEIGHT], {}, (0, 1)),
    ("poisson_nll_loss", [X, COUNTS], {"full": True}, (0,)),
    ("poisson_nll_loss", [POSITIVE, COUNTS], {"log_input": False, "full": True}, (0,)),
    ("gaussian_nll_loss", [X, SIGNS, POSITIVE], {"full": True}, (0, 1, 2)),
    ("gaussian_nll_loss", [X, SIGNS, POSITIVE[:, 0]], {}, (0, 2)),
    ("gaussian_nll_loss", [X, SIGNS, POSITIVE[:, :1] * 0], {}, (0, 2)),  # clamped at eps
    ("triplet_margin_loss", [X, SIGNS, POSITIVE], {}, (0, 1, 2)),
    ("triplet_margin_loss", [X, SIGNS, POSITIVE], {"p": 1.0, "swap": True}, (0, 1, 2)),
    ("triplet_margin_loss", [X, SIGNS, POSITIVE], {"p": 3.0, "margin": 2.0}, (0, 1, 2)),
    ("triplet_margin_with_distance_loss", [X, SIGNS, POSITIVE], {"swap": True}, (0, 1, 2)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, arrays, kwargs, grads", CASES)
def test_losses_match_torch(device, name, arrays, kwargs, grads, reduction):
    arrays = list(arrays)
    if name in ("multi_margin_loss", "multilabel_soft_margin_loss") and len(arrays) == 3:
        weight = arrays.pop()
        kwargs = {**kwargs}
        torch_fn = lambda *a, **k: getattr(TF, name)(*a, weight=torch.tensor(weight), **k)  # noqa: E731
        gg_fn = lambda *a, **k: getattr(F, name)(*a, weight=gg.tensor(weight, device=device), **k)  # noqa: E731
    else:
        torch_fn, gg_fn = getattr(TF, name), getattr(F, name)
    _check(torch_fn, gg_fn, arrays, device, grads, reduction=reduction, **kwargs)


def test_weighted_multi_margin_matches_torch(device):
    for p in (1, 2):
        t = torch.tensor(X, requires_grad=True)
        g = gg.tensor(X, device=device, requires_grad=True)
        expected = TF.multi_margin_loss(
            t, torch.tensor(CLASSES), p=p, weight=torch.tensor(CLASS_WEIGHT)
        )
        got = F.multi_margin_loss(
            g, gg.tensor(CLASSES, device=device), p=p, weight=gg.tensor(CLASS_WEIGHT, device=device)
        )
        expected.backward()
        got.backward()
        assert got.item() == pytest.approx(expected.item(), rel=1e-12)
        np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-10)


def test_distance_function_and_top_level_names(device):
    a, p, n = (gg.tensor(v, device=device) for v in (X, SIGNS, POSITIVE))
    cosine = lambda x, y: 1 - F.cosine_similarity(x, y)  # noqa: E731
    got = F.triplet_margin_with_distance_loss(a, p, n, distance_function=cosine, margin=0.5)
    expected = TF.triplet_margin_with_distance_loss(
        torch.tensor(X),
        torch.tensor(SIGNS),
        torch.tensor(POSITIVE),
        distance_function=lambda x, y: 1 - TF.cosine_similarity(x, y),
        margin=0.5,
    )
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    for name in (
        "ctc_loss",
        "hinge_embedding_loss",
        "margin_ranking_loss",
        "poisson_nll_loss",
        "triplet_margin_loss",
        "cosine_embedding_loss",
    ):
        assert hasattr(torch, name) and getattr(gg, name) is getattr(F, name)


@pytest.mark.parametrize(
    "name, arrays, kwargs",
    [
        ("multi_margin_loss", [X[:2, :3], CLASSES[:2] % 3], {"p": 2}),
        ("multilabel_margin_loss", [X[:2, :3], LABEL_ROWS[:2, :3] % 3], {}),
        ("soft_margin_loss", [X[:2], SIGNS[:2]], {}),
        ("poisson_nll_loss", [X[:2], COUNTS[:2]], {"full": True}),
        ("triplet_margin_loss", [X[:2], SIGNS[:2], POSITIVE[:2]], {"swap": True}),
    ],
)
def test_gradcheck(device, name, arrays, kwargs):
    args = [gg.tensor(a, device=device) for a in arrays]
    args[0].requires_grad_(True)
    assert gg.autograd.gradcheck(lambda x: getattr(F, name)(x, *args[1:], **kwargs), (args[0],))
    assert gg.autograd.gradgradcheck(lambda x: getattr(F, name)(x, *args[1:], **kwargs), (args[0],))


def test_legacy_size_average_and_reduce(device):
    x, y = gg.tensor(X, device=device), gg.tensor(SIGNS, device=device)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        got = F.soft_margin_loss(x, y, size_average=False)
    expected = TF.soft_margin_loss(torch.tensor(X), torch.tensor(SIGNS), reduction="sum")
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    with pytest.warns(UserWarning, match="reduction='none'"):
        module = gg.nn.HingeEmbeddingLoss(reduce=False)
    assert module.reduction == "none"
    assert tuple(module(x, y).shape) == (4, 5)


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.type, str(info.value).replace("gpugrad.Size", "torch.Size")


@pytest.mark.parametrize(
    "call",
    [
        lambda f, t: f.multilabel_margin_loss(t(X), t(np.full((4, 5), 7))),
        lambda f, t: f.multilabel_margin_loss(t(X), t(LABEL_ROWS[:2])),
        lambda f, t: f.multilabel_margin_loss(t(X), t(LABEL_ROWS.astype(float))),
        lambda f, t: f.multi_margin_loss(t(X), t(np.array([5, 0, 0, 0]))),
        lambda f, t: f.multi_margin_loss(t(X), t(CLASSES[:2])),
        lambda f, t: f.multi_margin_loss(t(X), t(CLASSES.astype(float))),
        lambda f, t: f.multi_margin_loss(t(X), t(CLASSES), weight=t(np.ones(3))),
        lambda f, t: f.multi_margin_loss(t(X), t(CLASSES), p=3),
        lambda f, t: f.multi_margin_loss(t(np.zeros((2, 3, 4))), t(CLASSES[:2])),
        lambda f, t: f.margin_ranking_loss(t(X), t(X), t(X[0])),
        lambda f, t: f.triplet_margin_loss(t(X), t(X), t(X[0])),
        lambda f, t: f.triplet_margin_loss(t(X), t(X), t(X), margin=0),
        lambda f, t: f.gaussian_nll_loss(t(X), t(X), t(np.ones(2))),
        lambda f, t: f.gaussian_nll_loss(t(X), t(X), t(-np.ones((4, 5)))),
        lambda f, t: f.gaussian_nll_loss(t(X), t(X), -1.0),
        lambda f, t: f.poisson_nll_loss(t(X), t(X), reduction="foo"),
        lambda f, t: f.multilabel_soft_margin_loss(t(X), t(X), reduction="foo"),
    ],
)
def test_errors_match_torch(call):
    torch_error = _error(lambda: call(TF, torch.tensor))
    gg_error = _error(lambda: call(F, gg.tensor))
    assert gg_error[0] is torch_error[0]
    assert gg_error[1] == torch_error[1]


MODULES = [
    ("CTCLoss", {"blank": 2, "reduction": "sum", "zero_infinity": True}),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}),
    ("HingeEmbeddingLoss", {"margin": 2.0}),
    ("MarginRankingLoss", {"margin": 0.5}),
    ("MultiLabelMarginLoss", {}),
    ("MultiLabelSoftMarginLoss", {}),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}),
    ("PoissonNLLLoss", {"log_input": False, "full": True}),
    ("SoftMarginLoss", {"reduction": "none"}),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}),
    ("TripletMarginWithDistanceLoss", {"swap": True}),
    ("PairwiseDistance", {"p": 1.0}),
    ("CosineSimilarity", {"dim": 0}),
]


@pytest.mark.parametrize("name, kwargs", MODULES)
def test_module_repr_attributes_and_state(name, kwargs):
    ours, theirs = getattr(gg.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    for attribute in (
        "reduction",
        "margin",
        "p",
        "eps",
        "swap",
        "full",
        "log_input",
        "blank",
        "zero_infinity",
        "norm",
        "dim",
        "keepdim",
    ):
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_weighted_module_state_and_errors():
    weight = np.ones(5)
    for name in ("MultiMarginLoss", "MultiLabelSoftMarginLoss"):
        ours = getattr(gg.nn, name)(weight=gg.tensor(weight))
        assert list(ours.state_dict()) == list(
            getattr(torch.nn, name)(weight=torch.tensor(weight)).state_dict()
        )
    for name, kwargs in [
        ("MultiMarginLoss", {"p": 3}),
        ("TripletMarginLoss", {"margin": 0}),
        ("TripletMarginWithDistanceLoss", {"margin": -1.0}),
    ]:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn, name)(**kwargs)
        with pytest.raises(ValueError, match=str(theirs.value)):
            getattr(gg.nn, name)(**kwargs)
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        legacy = gg.nn.NLLLoss2d(ignore_index=1)
    assert isinstance(legacy, gg.nn.NLLLoss) and legacy.ignore_index == 1


def test_module_forward_matches_functional(device):
    x, y = gg.tensor(POSITIVE, device=device), gg.tensor(COUNTS, device=device)
    module = gg.nn.PoissonNLLLoss(log_input=False, full=True)
    expected = TF.poisson_nll_loss(
        torch.tensor(POSITIVE), torch.tensor(COUNTS), log_input=False, full=True
    )
    assert module(x, y).item() == pytest.approx(expected.item(), rel=1e-12)
    var = gg.tensor(POSITIVE[:, 0], device=device)
    got = gg.nn.GaussianNLLLoss()(x, y, var).item()
    assert got == pytest.approx(
        TF.gaussian_nll_loss(
            torch.tensor(POSITIVE), torch.tensor(COUNTS), torch.tensor(POSITIVE[:, 0])
        ).item(),
        rel=1e-12,
    )


def test_existing_losses_take_legacy_flags():
    for name in (
        "MSELoss",
        "L1Loss",
        "BCELoss",
        "BCEWithLogitsLoss",
        "CrossEntropyLoss",
        "NLLLoss",
        "SmoothL1Loss",
        "KLDivLoss",
        "CosineEmbeddingLoss",
    ):
        with pytest.warns(UserWarning):
            ours = getattr(gg.nn, name)(size_average=False)
        with pytest.warns(UserWarning):
            theirs = getattr(torch.nn, name)(size_average=False)
        assert ours.reduction == theirs.reduction == "sum", name


# --- CTC ------------------------------------------------------------------------------------
T, N, C = 7, 3, 5
LOGITS = np.random.default_rng(1).standard_normal((T, N, C))
TARGETS = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])
TARGET_LENGTHS = [3, 2, 1]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("input_lengths", [[7, 5, 6], [7, 1, 6]])  # 1 step for 2 labels: inf
@pytest.mark.parametrize("through_log_softmax", [False, True])
def test_ctc_matches_torch(device, reduction, zero_infinity, input_lengths, through_log_softmax):
    t = torch.tensor(LOGITS, requires_grad=True)
    g = gg.tensor(LOGITS, device=device, requires_grad=True)
    t_in = t.log_softmax(2) if through_log_softmax else t
    g_in = g.log_softmax(2) if through_log_softmax else g
    expected = TF.ctc_loss(
        t_in,
        torch.tensor(TARGETS),
        torch.tensor(input_lengths),
        torch.tensor(TARGET_LENGTHS),
        reduction=reduction,
        zero_infinity=zero_infinity,
    )
    got = F.ctc_loss(
        g_in,
        gg.tensor(TARGETS, device=device),
        gg.tensor(input_lengths),
        gg.tensor(TARGET_LENGTHS),
        reduction=reduction,
        zero_infinity=zero_infinity,
    )
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10)
    if not math.isinf(float(expected.detach().sum())):
        expected.sum().backward()
        got.sum().backward()
        np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_concatenated_unbatched_blank_and_module(device):
    lp_t = torch.tensor(LOGITS).log_softmax(2)
    lp_g = gg.tensor(LOGITS, device=device).log_softmax(2)
    flat = [1, 2, 2, 3, 1, 4]
    expected = TF.ctc_loss(lp_t, torch.tensor(flat), [7, 5, 6], TARGET_LENGTHS)
    got = F.ctc_loss(lp_g, gg.tensor(flat, device=device), [7, 5, 6], TARGET_LENGTHS)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)
    expected = TF.ctc_loss(lp_t[:, 0], torch.tensor([1, 2, 2]), torch.tensor(7), torch.tensor(3))
    got = F.ctc_loss(lp_g[:, 0], gg.tensor([1, 2, 2], device=device), gg.tensor(7), gg.tensor(3))
    assert got.shape == () and got.item() == pytest.approx(expected.item(), rel=1e-12)
    expected = torch.nn.CTCLoss(blank=2, reduction="none")(
        lp_t, torch.tensor(TARGETS), (7, 7, 7), (0, 2, 1)
    )
    got = gg.nn.CTCLoss(blank=2, reduction="none")(
        lp_g, gg.tensor(TARGETS, device=device), (7, 7, 7), (0, 2, 1)
    )
    np.testing.assert_allclose(got.cpu().numpy(), expected.numpy(), rtol=1e-10)


def test_ctc_gradcheck_through_log_softmax(device):
    logits = gg.tensor(LOGITS[:4, :2, :4], device=device, requires_grad=True)
    targets = gg.tensor([[1, 1], [3, 2]], device=device)

    def loss(x):
        return F.ctc_loss(x.log_softmax(2), targets, [4, 3], [2, 2], reduction="sum")

    assert gg.autograd.gradcheck(loss, (logits,))


@pytest.mark.parametrize(
    "call",
    [
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7, 5, 6]), t([2, 4, 1])),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([8, 5, 6]), t(TARGET_LENGTHS)),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7, 5, 6]), t(TARGET_LENGTHS), blank=5),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7.0, 5, 6]), t(TARGET_LENGTHS)),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7, 5]), t(TARGET_LENGTHS)),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7, 5, 6]), t([1, 1])),
        lambda f, t, lp: f.ctc_loss(lp, t([1, 2, 3]), t([7, 5, 6]), t(TARGET_LENGTHS)),
        lambda f, t, lp: f.ctc_loss(lp, t(TARGETS), t([7, 5, 6]), t(TARGET_LENGTHS), reduction="x"),
    ],
)
def test_ctc_errors_match_torch(call):
    torch_error = _error(lambda: call(TF, torch.tensor, torch.tensor(LOGITS)))
    gg_error = _error(lambda: call(F, gg.tensor, gg.tensor(LOGITS)))
    assert gg_error == torch_error


def test_ctc_label_out_of_range_is_an_error():
    with pytest.raises(RuntimeError, match="target label 7 is out of range"):
        F.ctc_loss(gg.tensor(LOGITS), gg.tensor([[1, 7, 2]] * 3), [7, 7, 7], [3, 3, 3])


# --- AdaptiveLogSoftmaxWithLoss -------------------------------------------------------------
def _copy_parameters(ours, theirs):
    for (name, mine), (other_name, other) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert name == other_name
        with gg.no_grad():
            mine.copy_(gg.tensor(other.detach().numpy(), device=mine.device))


def test_adaptive_log_softmax_matches_torch(device):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(
        8, 10, [3, 6], div_value=2.0, head_bias=True
    ).double()
    ours = gg.nn.AdaptiveLogSoftmaxWithLoss(
        8, 10, [3, 6], div_value=2.0, head_bias=True, dtype=gg.float64, device=device
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _copy_parameters(ours, theirs)
    x = RNG.standard_normal((6, 8))
    target = np.array([0, 9, 4, 2, 7, 5])
    t_in = torch.tensor(x, requires_grad=True)
    g_in = gg.tensor(x, device=device, requires_grad=True)
    expected = theirs(t_in, torch.tensor(target))
    got = ours(g_in, gg.tensor(target, device=device))
    assert type(got).__name__ == "_ASMoutput" and got._fields == ("output", "loss")
    np.testing.assert_allclose(
        got.output.detach().cpu().numpy(), expected.output.detach().numpy(), rtol=1e-10
    )
    assert got.loss.item() == pytest.approx(expected.loss.item(), rel=1e-12)
    expected.loss.backward()
    got.loss.backward()
    np.testing.assert_allclose(g_in.grad.cpu().numpy(), t_in.grad.numpy(), rtol=1e-9)
    for (_, mine), (_, other) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            mine.grad.cpu().numpy(), other.grad.numpy(), rtol=1e-9, atol=1e-14
        )
    np.testing.assert_allclose(
        ours.log_prob(g_in).detach().cpu().numpy(),
        theirs.log_prob(t_in).detach().numpy(),
        rtol=1e-10,
    )
    np.testing.assert_array_equal(ours.predict(g_in).cpu().numpy(), theirs.predict(t_in).numpy())
    single = ours(g_in[0], gg.tensor(target[0], device=device))
    assert single.output.shape == () and single.output.item() == pytest.approx(got.output[0].item())


def test_adaptive_log_softmax_errors():
    for cutoffs in ([], [3, 3], [6, 3], [0, 4], [10]):
        with pytest.raises(ValueError) as theirs:
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
        with pytest.raises(ValueError) as ours:
            gg.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
        assert str(ours.value) == str(theirs.value)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])
    ours = gg.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])
    for x, target in [((2, 8), [1, 10]), ((2, 8), [1]), ((2, 8), [[1, 2]])]:
        torch_error = _error(
            lambda x=x, target=target: theirs(torch.zeros(x), torch.tensor(target))
        )
        gg_error = _error(lambda x=x, target=target: ours(gg.zeros(x), gg.tensor(target)))
        assert gg_error == torch_error


@pytest.mark.parametrize(
    "input_lengths, target_lengths",
    [
        ([0, 5, 5], [0, 1, 1]),
        ([0, 5, 5], [1, 1, 1]),
        ([5, 5, 5], [0, 0, 0]),
        ([5, 2, 5], [0, 1, 0]),
    ],
)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_empty_inputs_and_targets(device, input_lengths, target_lengths, zero_infinity):
    logits = LOGITS[:5]
    t = torch.tensor(logits, requires_grad=True)
    g = gg.tensor(logits, device=device, requires_grad=True)
    targets = TARGETS[:, :2]
    expected = TF.ctc_loss(
        t.log_softmax(2),
        torch.tensor(targets),
        input_lengths,
        target_lengths,
        reduction="none",
        zero_infinity=zero_infinity,
    )
    got = F.ctc_loss(
        g.log_softmax(2),
        gg.tensor(targets, device=device),
        input_lengths,
        target_lengths,
        reduction="none",
        zero_infinity=zero_infinity,
    )
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10)
    expected.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name, arrays",
    [
        ("multi_margin_loss", [X, CLASSES]),
        ("multilabel_margin_loss", [X, LABEL_ROWS]),
        ("poisson_nll_loss", [X, COUNTS]),
        ("gaussian_nll_loss", [X, SIGNS, POSITIVE]),
        ("triplet_margin_loss", [X, SIGNS, POSITIVE]),
    ],
)
def test_float32_spot_checks(device, name, arrays):
    as32 = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
    t = [torch.tensor(a) for a in as32]
    g = [gg.tensor(a, device=device) for a in as32]
    t[0].requires_grad_(True)
    g[0].requires_grad_(True)
    expected, got = getattr(TF, name)(*t), getattr(F, name)(*g)
    assert got.dtype == gg.float32
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    expected.backward()
    got.backward()
    np.testing.assert_allclose(g[0].grad.cpu().numpy(), t[0].grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ctc_float32_and_gradient_node(device):
    lp32 = LOGITS.astype(np.float32)
    t = torch.tensor(lp32, requires_grad=True)
    g = gg.tensor(lp32, device=device, requires_grad=True)
    expected = TF.ctc_loss(t.log_softmax(2), torch.tensor(TARGETS), [7, 5, 6], TARGET_LENGTHS)
    got = F.ctc_loss(g.log_softmax(2), gg.tensor(TARGETS, device=device), [7, 5, 6], TARGET_LENGTHS)
    assert got.dtype == gg.float32 and got.item() == pytest.approx(expected.item(), rel=1e-5)
    expected.backward()
    got.backward()
    np.testing.assert_allclose(g.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_gradcheck_var_and_weights(device):
    x = gg.tensor(X[:2, :3], device=device, requires_grad=True)
    var = gg.tensor(POSITIVE[:2, :3], device=device, requires_grad=True)
    target = gg.tensor(SIGNS[:2, :3], device=device)
    assert gg.autograd.gradcheck(
        lambda a, v: F.gaussian_nll_loss(a, target, v, full=True), (x, var)
    )
    labels = gg.tensor(BINARY[:2, :3], device=device, requires_grad=True)
    weight = gg.tensor(CLASS_WEIGHT[:3], device=device)
    assert gg.autograd.gradcheck(
        lambda a, y: F.multilabel_soft_margin_loss(a, y, weight=weight), (x, labels)
    )


def test_soft_margin_target_is_not_differentiable(device):
    x = gg.tensor(X, device=device)
    y = gg.tensor(SIGNS, device=device, requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        TF.soft_margin_loss(torch.tensor(X), torch.tensor(SIGNS, requires_grad=True))
    with pytest.raises(RuntimeError) as ours:
        F.soft_margin_loss(x, y)
    assert str(ours.value) == str(theirs.value)
    with gg.no_grad():
        assert F.soft_margin_loss(x, y).item() == pytest.approx(
            TF.soft_margin_loss(torch.tensor(X), torch.tensor(SIGNS)).item(), rel=1e-12
        )
