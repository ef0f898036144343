"""Every layer against PyTorch: the same weights copied across (through ``load_state_dict``,
so parameter and buffer names must match PyTorch's), float64, values and the gradients of
the input and of every parameter, in train and eval mode; running statistics after the
step; default initialization; repr; errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg
from gpugrad import nn

torch = pytest.importorskip("torch")
tnn = torch.nn

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def _copy_weights(torch_module, module, device) -> None:
    state = {
        name: gg.tensor(value.detach().numpy(), device=device)
        for name, value in torch_module.state_dict().items()
    }
    module.load_state_dict(state)


def _leaves(output):
    if isinstance(output, (tuple, list)):
        for item in output:
            yield from _leaves(item)
    elif output is not None:
        yield output


def _compare(torch_module, module, inputs, device, train: bool, rtol=1e-7, atol=1e-9):
    """Run both modules on the same inputs (float ones require grad) and compare outputs,
    input gradients, parameter gradients and buffers."""
    torch_module.double().train(train)
    module.double().to(device).train(train)
    _copy_weights(torch_module, module, device)
    ours_in, theirs_in = [], []
    for array in inputs:
        floating = array.dtype.kind == "f"
        ours_in.append(gg.tensor(array, device=device, requires_grad=floating))
        theirs_in.append(torch.tensor(array, requires_grad=floating))
    ours = list(_leaves(module(*ours_in)))
    theirs = list(_leaves(torch_module(*theirs_in)))
    assert len(ours) == len(theirs)
    rng = np.random.default_rng(1)
    our_loss, their_loss = 0, 0
    for a, b in zip(ours, theirs, strict=True):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol, atol)
        if b.is_floating_point() and b.requires_grad:
            weight = rng.standard_normal(tuple(b.shape))
            our_loss = our_loss + (a * gg.tensor(weight, device=device)).sum()
            their_loss = their_loss + (b * torch.tensor(weight)).sum()
    our_loss.backward()
    their_loss.backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol, atol)
    our_params = dict(module.named_parameters())
    their_params = dict(torch_module.named_parameters())
    assert list(our_params) == list(their_params)
    for name, p in their_params.items():
        if p.grad is None:
            assert our_params[name].grad is None
            continue
        np.testing.assert_allclose(
            our_params[name].grad.cpu().numpy(), p.grad.numpy(), rtol, atol, err_msg=name
        )
    our_buffers = dict(module.named_buffers())
    for name, b in torch_module.named_buffers():
        np.testing.assert_allclose(
            our_buffers[name].cpu().numpy(), b.numpy(), rtol, atol, err_msg=name
        )


RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape)


def _ints(high, *shape):
    return RNG.integers(0, high, shape)


# (id, module factory taking the nn namespace, inputs)
CASES = [
    ("Linear", lambda m: m.Linear(4, 3), [_x(2, 5, 4)]),
    ("Bilinear", lambda m: m.Bilinear(3, 2, 4), [_x(5, 3), _x(5, 2)]),
    ("Conv1d", lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1), [_x(2, 3, 9)]),
    ("Conv1d-same", lambda m: m.Conv1d(2, 2, 4, padding="same", dilation=2), [_x(2, 2, 7)]),
    ("Conv2d", lambda m: m.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1), [_x(2, 3, 7, 6)]),
    ("Conv2d-groups", lambda m: m.Conv2d(4, 6, 3, groups=2, bias=False), [_x(2, 4, 5, 5)]),
    (
        "Conv2d-reflect",
        lambda m: m.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
        [_x(1, 2, 5, 4)],
    ),
    (
        "Conv2d-circular",
        lambda m: m.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="circular"),
        [_x(1, 2, 5, 4)],
    ),
    ("Conv2d-unbatched", lambda m: m.Conv2d(2, 3, 2), [_x(2, 4, 4)]),
    (
        "ConvTranspose2d",
        lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        [_x(2, 3, 4, 5)],
    ),
    (
        "ConvTranspose2d-groups",
        lambda m: m.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2),
        [_x(1, 4, 3, 3)],
    ),
    ("MaxPool1d", lambda m: m.MaxPool1d(3, 2, padding=1), [_x(2, 3, 8)]),
    ("MaxPool2d", lambda m: m.MaxPool2d(2), [_x(2, 3, 6, 7)]),
    ("MaxPool2d-overlap", lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), [_x(2, 2, 7, 6)]),
    ("MaxPool2d-dilated", lambda m: m.MaxPool2d(2, 1, dilation=2), [_x(1, 2, 5, 5)]),
    ("AvgPool2d", lambda m: m.AvgPool2d(3, 2, 1, count_include_pad=False), [_x(2, 2, 7, 6)]),
    ("AvgPool2d-ceil", lambda m: m.AvgPool2d(2, ceil_mode=True), [_x(2, 2, 5, 5)]),
    ("AdaptiveAvgPool2d", lambda m: m.AdaptiveAvgPool2d((3, 2)), [_x(2, 3, 7, 6)]),
    ("AdaptiveAvgPool2d-1", lambda m: m.AdaptiveAvgPool2d(1), [_x(2, 3, 4, 4)]),
    ("BatchNorm1d", lambda m: m.BatchNorm1d(3), [_x(5, 3)]),
    ("BatchNorm1d-3d", lambda m: m.BatchNorm1d(3, momentum=None), [_x(4, 3, 5)]),
    ("BatchNorm2d", lambda m: m.BatchNorm2d(3, momentum=0.3), [_x(4, 3, 3, 2)]),
    (
        "BatchNorm2d-untracked",
        lambda m: m.BatchNorm2d(3, affine=False, track_running_stats=False),
        [_x(4, 3, 3, 2)],
    ),
    ("LayerNorm", lambda m: m.LayerNorm((3, 4)), [_x(2, 3, 4)]),
    ("LayerNorm-no-bias", lambda m: m.LayerNorm(4, bias=False), [_x(2, 3, 4)]),
    ("GroupNorm", lambda m: m.GroupNorm(2, 4), [_x(3, 4, 5)]),
    ("RMSNorm", lambda m: m.RMSNorm(4), [_x(2, 3, 4)]),
    ("RMSNorm-eps", lambda m: m.RMSNorm([3, 4], eps=1e-3), [_x(2, 3, 4)]),
    ("Embedding", lambda m: m.Embedding(7, 3, padding_idx=2), [_ints(7, 2, 5)]),
    ("EmbeddingBag", lambda m: m.EmbeddingBag(7, 3), [_ints(7, 4, 3)]),
    ("EmbeddingBag-max", lambda m: m.EmbeddingBag(7, 3, mode="max"), [_ints(7, 2, 4)]),
    ("LeakyReLU", lambda m: m.LeakyReLU(0.2), [_x(3, 4)]),
    ("ELU", lambda m: m.ELU(0.7), [_x(3, 4)]),
    ("SiLU", lambda m: m.SiLU(), [_x(3, 4)]),
    ("Mish", lambda m: m.Mish(), [_x(3, 4)]),
    ("Softplus", lambda m: m.Softplus(2.0, 1.5), [_x(3, 4)]),
    ("Hardtanh", lambda m: m.Hardtanh(-0.5, 0.8), [_x(3, 4)]),
    ("Softmax", lambda m: m.Softmax(dim=1), [_x(3, 4)]),
    ("LogSoftmax", lambda m: m.LogSoftmax(dim=0), [_x(3, 4)]),
    ("Flatten", lambda m: m.Flatten(), [_x(2, 3, 4)]),
    ("Unflatten", lambda m: m.Unflatten(1, (2, 3)), [_x(2, 6)]),
    ("L1Loss", lambda m: m.L1Loss(), [_x(3, 4), _x(3, 4)]),
    ("SmoothL1Loss", lambda m: m.SmoothL1Loss(beta=0.5), [_x(3, 4), _x(3, 4)]),
    ("HuberLoss", lambda m: m.HuberLoss(reduction="sum", delta=0.8), [_x(3, 4), _x(3, 4)]),
    ("NLLLoss", lambda m: m.NLLLoss(), [_x(5, 4), _ints(4, 5)]),
    ("KLDivLoss", lambda m: m.KLDivLoss(reduction="batchmean"), [_x(3, 4), RNG.random((3, 4))]),
    (
        "KLDivLoss-log",
        lambda m: m.KLDivLoss(reduction="sum", log_target=True),
        [_x(3, 4), _x(3, 4)],
    ),
    (
        "CosineEmbeddingLoss",
        lambda m: m.CosineEmbeddingLoss(margin=0.1),
        [_x(5, 3), _x(5, 3), np.array([1, -1, 1, -1, -1])],
    ),
    (
        "CrossEntropyLoss",
        lambda m: m.CrossEntropyLoss(label_smoothing=0.1),
        [_x(5, 4), _ints(4, 5)],
    ),
    ("RNN", lambda m: m.RNN(3, 4, num_layers=2), [_x(5, 2, 3)]),
    ("RNN-relu-bi", lambda m: m.RNN(3, 4, nonlinearity="relu", bidirectional=True), [_x(4, 2, 3)]),
    ("LSTM", lambda m: m.LSTM(3, 4, num_layers=2, batch_first=True), [_x(2, 5, 3)]),
    ("LSTM-bi-unbatched", lambda m: m.LSTM(3, 2, bidirectional=True), [_x(4, 3)]),
    (
        "LSTM-proj-bi",
        lambda m: m.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
        [_x(5, 2, 3)],
    ),
    ("GRU", lambda m: m.GRU(3, 4, bias=False), [_x(5, 2, 3)]),
    ("GRU-bi", lambda m: m.GRU(3, 4, num_layers=2, bidirectional=True), [_x(3, 2, 3)]),
    ("RNNCell", lambda m: m.RNNCell(3, 4), [_x(2, 3), _x(2, 4)]),
    ("LSTMCell", lambda m: m.LSTMCell(3, 4), [_x(2, 3)]),
    ("GRUCell", lambda m: m.GRUCell(3, 4), [_x(2, 3), _x(2, 4)]),
    ("MultiheadAttention", lambda m: m.MultiheadAttention(8, 2), [_x(4, 2, 8)] * 3),
    (
        "MultiheadAttention-bias-kv-zero-attn",
        lambda m: m.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True),
        [_x(4, 2, 8), _x(3, 2, 8), _x(3, 2, 8)],
    ),
    (
        "MultiheadAttention-bias-kv",
        lambda m: m.MultiheadAttention(6, 3, add_bias_kv=True, batch_first=True),
        [_x(2, 3, 6), _x(2, 4, 6), _x(2, 4, 6)],
    ),
    (
        "MultiheadAttention-kvdim",
        lambda m: m.MultiheadAttention(6, 3, kdim=4, vdim=5, batch_first=True),
        [_x(2, 3, 6), _x(2, 4, 4), _x(2, 4, 5)],
    ),
    (
        "TransformerEncoderLayer",
        lambda m: m.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
        [_x(2, 5, 8)],
    ),
    (
        "TransformerEncoderLayer-norm-first-gelu",
        lambda m: m.TransformerEncoderLayer(8, 4, 12, 0.0, "gelu", norm_first=True),
        [_x(5, 2, 8)],
    ),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("factory", "inputs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_matches_torch(device, factory, inputs, train):
    torch.manual_seed(0)
    _compare(factory(tnn), factory(nn), inputs, device, train)


def test_batch_norm_running_statistics_over_steps(device):
    theirs = tnn.BatchNorm2d(3, momentum=None).double()
    ours = nn.BatchNorm2d(3, momentum=None).double().to(device)
    for step in range(3):
        x = _x(4, 3, 2, 2) * (step + 1) + step
        ours(gg.tensor(x, device=device))
        theirs(torch.tensor(x))
    assert ours.num_batches_tracked.item() == 3 and ours.num_batches_tracked.dtype == gg.int64
    np.testing.assert_allclose(ours.running_mean.cpu().numpy(), theirs.running_mean.numpy())
    np.testing.assert_allclose(ours.running_var.cpu().numpy(), theirs.running_var.numpy())
    ours.eval()
    theirs.eval()
    x = _x(2, 3, 2, 2)
    np.testing.assert_allclose(
        ours(gg.tensor(x, device=device)).detach().cpu().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        atol=1e-12,
    )


def test_dropout_modules_train_and_eval(device):
    gg.manual_seed(0)
    x = gg.ones(200, 50, 2, 2, device=device)
    drop = nn.Dropout2d(0.3)
    y = drop(x).cpu().numpy()
    per_channel = y.reshape(200, 50, 4)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # whole channels
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y == 0).mean() - 0.3) < 0.03
    assert drop.eval()(x) is x
    gg.manual_seed(1)
    first = nn.Dropout(0.5)(x).cpu().numpy()
    gg.manual_seed(1)
    assert np.array_equal(first, nn.Dropout(0.5)(x).cpu().numpy())  # seeded


def _bound_check(param, bound):
    values = param.detach().cpu().numpy()
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.8 * bound  # spread over the interval, not a constant


@pytest.mark.parametrize(
    ("factory", "bounds"),
    [
        (lambda: nn.Conv2d(4, 6, 3), {"weight": 1 / 6, "bias": 1 / 6}),
        (lambda: nn.Conv1d(8, 60, 2, groups=2), {"weight": 1 / 8**0.5, "bias": 1 / 8**0.5}),
        (lambda: nn.ConvTranspose2d(4, 6, 3), {"weight": 1 / math.sqrt(54)}),
        (lambda: nn.Bilinear(9, 2, 30), {"weight": 1 / 3, "bias": 1 / 3}),
        (lambda: nn.LSTM(3, 16, 2), {"weight_hh_l1": 0.25, "bias_ih_l0": 0.25}),
        (lambda: nn.GRUCell(3, 25), {"weight_ih": 0.2}),
        (lambda: nn.MultiheadAttention(16, 2), {"in_proj_weight": math.sqrt(6 / 64)}),
    ],
)
def test_default_initialization_bounds(factory, bounds):
    gg.manual_seed(0)
    module = factory()
    params = dict(module.named_parameters())
    for name, bound in bounds.items():
        _bound_check(params[name], bound)


def test_default_initialization_constants():
    bn = nn.BatchNorm1d(3)
    assert bn.weight.tolist() == [1, 1, 1] and bn.bias.tolist() == [0, 0, 0]
    assert bn.running_mean.tolist() == [0, 0, 0] and bn.running_var.tolist() == [1, 1, 1]
    mha = nn.MultiheadAttention(4, 2)
    assert mha.in_proj_bias.abs().sum().item() == 0 and mha.out_proj.bias.abs().sum().item() == 0
    gg.manual_seed(0)
    emb = nn.Embedding(2000, 8, padding_idx=3)
    assert emb.weight[3].abs().sum().item() == 0
    w = emb.weight.detach().numpy()
    assert abs(w.std() - 1) < 0.03 and abs(w.mean()) < 0.03  # N(0, 1)


REPRS = [
    lambda m: m.Conv2d(3, 4, 3, padding="same", padding_mode="reflect", bias=False),
    lambda m: m.Conv1d(3, 4, 3, stride=2, dilation=2, groups=1),
    lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1, groups=1),
    lambda m: m.MaxPool2d(2),
    lambda m: m.MaxPool1d(3, 2, ceil_mode=True),
    lambda m: m.AvgPool2d(3, 1, 1),
    lambda m: m.AdaptiveAvgPool2d((2, None)),
    lambda m: m.BatchNorm1d(3),
    lambda m: m.BatchNorm2d(3, affine=False, momentum=None),
    lambda m: m.LayerNorm(4),
    lambda m: m.LayerNorm(4, elementwise_affine=False),
    lambda m: m.GroupNorm(1, 2, affine=False),
    lambda m: m.GroupNorm(2, 4),
    lambda m: m.RMSNorm([2, 4], eps=1e-3),
    lambda m: m.Embedding(5, 3, padding_idx=1, max_norm=2.0),
    lambda m: m.EmbeddingBag(5, 3, mode="sum"),
    lambda m: m.Bilinear(2, 3, 4),
    lambda m: m.LeakyReLU(0.2, inplace=True),
    lambda m: m.ELU(),
    lambda m: m.SiLU(),
    lambda m: m.Mish(inplace=True),
    lambda m: m.Softplus(),
    lambda m: m.Hardtanh(),
    lambda m: m.Softmax(dim=1),
    lambda m: m.LogSoftmax(),
    lambda m: m.Dropout2d(0.2),
    lambda m: m.L1Loss(),
    lambda m: m.KLDivLoss(),
    lambda m: m.LSTM(3, 4, 2, dropout=0.1, bidirectional=True),
    lambda m: m.LSTM(3, 4, 2, bidirectional=True, proj_size=2),
    lambda m: m.GRU(3, 4, bias=False, batch_first=True),
    lambda m: m.RNNCell(2, 3, nonlinearity="relu"),
    lambda m: m.LSTMCell(2, 3),
    lambda m: m.TransformerEncoderLayer(8, 2, 16),
    lambda m: m.Sequential(m.Flatten(), m.Unflatten(1, (2, 3))),
    lambda m: m.ModuleList([m.Tanh(), m.Tanh(), m.Linear(2, 2), m.Linear(2, 2), m.ReLU()]),
    lambda m: m.ModuleDict({"a": m.ReLU(), "b": m.ModuleList([m.Tanh()] * 3)}),
]


@pytest.mark.parametrize("factory", REPRS)
def test_repr_matches_torch(factory):
    assert repr(factory(nn)) == repr(factory(tnn))


# --- errors -------------------------------------------------------------------------------
def _same_error(call):
    assert_raises_like_torch(lambda: call(nn, gg), lambda: call(tnn, torch))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, t: m.Conv2d(3, 4, 3)(t.zeros(2, 4, 5, 5)),
        lambda m, t: m.Conv2d(3, 4, 3)(t.zeros(2, 3, 2, 2)),
        lambda m, t: m.Conv1d(3, 4, 3)(t.zeros(2, 2, 5)),
        lambda m, t: m.Conv2d(3, 4, 3, groups=2),
        lambda m, t: m.MaxPool2d(3)(t.zeros(1, 3, 2, 2)),
        lambda m, t: m.MaxPool2d(2, padding=2)(t.zeros(1, 3, 4, 4)),
        lambda m, t: m.BatchNorm2d(3)(t.zeros(2, 3, 4)),
        lambda m, t: m.BatchNorm1d(3)(t.zeros(1, 3)),
        lambda m, t: m.LayerNorm(4)(t.zeros(2, 3)),
        lambda m, t: m.GroupNorm(4, 6),
        lambda m, t: m.Embedding(3, 2)(t.tensor([3])),
        lambda m, t: m.NLLLoss()(t.zeros(3, 5), t.tensor([1, 2])),
        lambda m, t: m.CrossEntropyLoss()(t.zeros(3, 5), t.tensor([1, 2, 7])),
        lambda m, t: m.Softmax(dim=1)(t.zeros(3)),
        lambda m, t: m.RNN(3, 4, nonlinearity="sigmoid"),
        lambda m, t: m.LSTM(3, 4, proj_size=4),
        lambda m, t: m.LSTM(3, 4, proj_size=-1),
        lambda m, t: m.Hardtanh(1.0, -1.0),
    ],
)
def test_errors_match_torch(call):
    _same_error(call)


def test_linear_with_weight_set_to_none_raises_pytorchs_error():
    def call(m, t):
        layer = m.Linear(2, 3)
        layer.weight = None
        layer(t.zeros(1, 2))

    _same_error(call)


@pytest.mark.parametrize(
    "options",
    [
        {"sparse": True},
        {"scale_grad_by_freq": True},
        {"scale_grad_by_freq": True, "padding_idx": 2, "max_norm": 1.0},
    ],
    ids=["sparse", "scale-grad-by-freq", "scale-padding-max-norm"],
)
def test_embedding_options_match_torch(device, options):
    """``sparse=True`` gives the dense values of PyTorch's sparse gradient;
    ``scale_grad_by_freq`` divides each row's gradient by its count in the input."""
    weight = RNG.standard_normal((5, 3))
    index = np.array([[0, 2, 0], [4, 2, 0]])
    grad = RNG.standard_normal((2, 3, 3))
    ours = gg.tensor(weight, device=device, requires_grad=True)
    theirs = torch.tensor(weight, requires_grad=True)
    out = nn.functional.embedding(gg.tensor(index, device=device), ours, **options)
    out.backward(gg.tensor(grad, device=device))
    expected = torch.nn.functional.embedding(torch.tensor(index), theirs, **options)
    expected.backward(torch.tensor(grad))
    their_grad = theirs.grad.to_dense() if theirs.grad.is_sparse else theirs.grad
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.cpu().numpy(), their_grad.numpy(), atol=1e-15)
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy())


def test_embedding_sparse_with_scale_grad_by_freq_raises_pytorchs_error_in_backward(device):
    weight = gg.randn(4, 2, device=device, requires_grad=True)
    out = nn.functional.embedding(
        gg.tensor([1, 1], device=device), weight, scale_grad_by_freq=True, sparse=True
    )
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
        out.sum().backward()


def test_multihead_attention_bias_kv_and_zero_attn_with_masks_match_torch(device):
    torch.manual_seed(0)
    theirs = tnn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True).double()
    ours = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True).double()
    ours.to(device)
    _copy_weights(theirs, ours, device)
    q, k = _x(4, 2, 8), _x(3, 2, 8)
    attn_mask = _x(4, 3)
    padding = np.array([[0.0, -np.inf, 0.0], [0.0, 0.0, -np.inf]])
    out, weights = ours(
        *(gg.tensor(a, device=device) for a in (q, k, k)),
        attn_mask=gg.tensor(attn_mask, device=device),
        key_padding_mask=gg.tensor(padding, device=device),
    )
    their_out, their_weights = theirs(
        *(torch.tensor(a) for a in (q, k, k)),
        attn_mask=torch.tensor(attn_mask),
        key_padding_mask=torch.tensor(padding),
    )
    assert tuple(weights.shape) == (2, 4, 5)  # 3 keys, the bias key and the zero key
    np.testing.assert_allclose(out.detach().cpu().numpy(), their_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(
        weights.detach().cpu().numpy(), their_weights.detach().numpy(), atol=1e-12
    )
