"""``gpugrad.nn.utils.rnn`` packing against PyTorch: PackedSequence fields, packing and
padding values and gradients, errors, and ``nn.RNN`` / ``LSTM`` / ``GRU`` on packed
input (outputs, final states, gradients of inputs and weights) in float64."""

from __future__ import annotations

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg
from gpugrad.nn.utils import rnn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


def _pair(shape, device, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    ours = gg.tensor(values, device=device, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    return ours, theirs


def _same(ours, theirs, atol=1e-10):
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), atol=atol)


def _same_packed(ours, theirs):
    assert isinstance(ours, rnn.PackedSequence)
    _same(ours.data, theirs.data)
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    assert ours.batch_sizes.device.type == "cpu" and ours.batch_sizes.dtype == gg.int64
    for a, b in ((ours.sorted_indices, theirs.sorted_indices),
                 (ours.unsorted_indices, theirs.unsorted_indices)):  # fmt: skip
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()


def test_signatures_match_pytorch():
    import inspect

    for name in trnn.__all__:
        if name == "PackedSequence":
            continue
        ours = inspect.signature(getattr(rnn, name)).parameters
        theirs = inspect.signature(getattr(trnn, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [p.default for p in theirs.values()], name
    assert sorted(rnn.__all__) == sorted(trnn.__all__)
    assert rnn.PackedSequence._fields == trnn.PackedSequence._fields


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_pad_round_trip_values_and_gradients(device, batch_first, enforce_sorted):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    shape = (4, 5, 2) if batch_first else (5, 4, 2)
    x, tx = _pair(shape, device)
    packed = rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    tpacked = trnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    _same_packed(packed, tpacked)
    padded, out_lengths = rnn.pad_packed_sequence(
        packed, batch_first=batch_first, padding_value=-2.0, total_length=7
    )
    tpadded, tlengths = trnn.pad_packed_sequence(
        tpacked, batch_first=batch_first, padding_value=-2.0, total_length=7
    )
    _same(padded, tpadded)
    assert out_lengths.tolist() == tlengths.tolist() and out_lengths.dtype == gg.int64
    weights = np.random.default_rng(1).standard_normal(tuple(tpadded.shape))
    (padded * gg.tensor(weights, device=device)).sum().backward()
    (tpadded * torch.tensor(weights)).sum().backward()
    _same(x.grad, tx.grad)


def test_pack_sequence_unpack_unpad(device):
    seqs = [_pair((n, 3), device, seed=n) for n in (2, 4, 1)]
    ours = rnn.pack_sequence([s for s, _ in seqs], enforce_sorted=False)
    theirs = trnn.pack_sequence([t for _, t in seqs], enforce_sorted=False)
    _same_packed(ours, theirs)
    for a, b in zip(rnn.unpack_sequence(ours), trnn.unpack_sequence(theirs)):
        _same(a, b)
    padded = rnn.pad_sequence([s for s, _ in seqs])
    tpadded = trnn.pad_sequence([t for _, t in seqs])
    lengths = torch.tensor([2, 4, 1])
    parts = rnn.unpad_sequence(padded, gg.tensor([2, 4, 1]))
    tparts = trnn.unpad_sequence(tpadded.clone(), lengths)
    assert [p.shape[0] for p in parts] == [2, 4, 1]
    for a, b in zip(parts, tparts):
        _same(a, b)
    assert tuple(padded.shape) == (4, 3, 3)  # gpugrad does not transpose it in place
    sum(p.sum() for p in parts).backward()
    sum(p.sum() for p in tparts).backward()
    for s, t in seqs:
        _same(s.grad, t.grad)


def test_invert_permutation_and_packed_sequence_methods(device):
    perm = gg.tensor([2, 0, 3, 1], device=device)
    assert (
        rnn.invert_permutation(perm).tolist()
        == trnn.invert_permutation(torch.tensor([2, 0, 3, 1])).tolist()
    )
    assert rnn.invert_permutation(None) is None
    x, _ = _pair((3, 2, 2), device)
    packed = rnn.pack_padded_sequence(x.detach().float(), [3, 2], enforce_sorted=False)
    assert packed.to(gg.float32) is packed
    doubled = packed.double()
    assert doubled.data.dtype == gg.float64 and doubled.batch_sizes is packed.batch_sizes
    assert doubled.sorted_indices.tolist() == packed.sorted_indices.tolist()
    assert packed.is_cuda == (device == "cuda")
    assert packed.cpu().data.device.type == "cpu"
    again = rnn.PackedSequence((packed.data, packed.batch_sizes))
    assert again.sorted_indices is None and again.unsorted_indices is None
    text = repr(rnn.pack_sequence([gg.tensor([1.0, 2.0]), gg.tensor([3.0])]))
    ttext = repr(trnn.pack_sequence([torch.tensor([1.0, 2.0]), torch.tensor([3.0])]))
    assert text == ttext


@pytest.mark.parametrize(
    ("lengths", "kwargs"),
    [
        ([4, 3, 0], {}),
        ([4, 5, 2], {}),
        ([4, 3], {}),
        ([4, -1, 2], {"enforce_sorted": False}),
    ],
)
def test_pack_errors_as_pytorch(lengths, kwargs):
    x = np.zeros((4, 3, 2))
    assert_raises_like_torch(
        lambda: rnn.pack_padded_sequence(gg.tensor(x), lengths, **kwargs),
        lambda: trnn.pack_padded_sequence(torch.tensor(x), lengths, **kwargs),
    )


def test_other_errors_as_pytorch():
    x = np.zeros((4, 3, 2))
    assert_raises_like_torch(
        lambda: rnn.pack_padded_sequence(gg.tensor(x[:0]), [0, 0, 0]),
        lambda: trnn.pack_padded_sequence(torch.tensor(x[:0]), [0, 0, 0]),
    )
    assert_raises_like_torch(
        lambda: rnn.pack_padded_sequence(gg.tensor(x), gg.tensor([[4, 3, 2]])),
        lambda: trnn.pack_padded_sequence(torch.tensor(x), torch.tensor([[4, 3, 2]])),
    )
    packed = rnn.pack_padded_sequence(gg.tensor(x), [4, 3, 2])
    tpacked = trnn.pack_padded_sequence(torch.tensor(x), [4, 3, 2])
    assert_raises_like_torch(
        lambda: rnn.pad_packed_sequence(packed, total_length=3),
        lambda: trnn.pad_packed_sequence(tpacked, total_length=3),
    )
    assert_raises_like_torch(
        lambda: rnn.PackedSequence(gg.zeros(3, 2)), lambda: trnn.PackedSequence(torch.zeros(3, 2))
    )
    with pytest.raises(RuntimeError, match="exceeds the padded sequence length"):
        rnn.pack_padded_sequence(gg.tensor(x), [5, 3, 2])  # PyTorch reads past the tensor


def _modules(kind, device, **kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(gg.nn, kind)(3, 4, **kwargs).double().to(device)
    ours.load_state_dict(
        {k: gg.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()}
    )
    return ours, theirs


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("RNN", {"num_layers": 2, "bidirectional": True}),
        ("LSTM", {"num_layers": 2, "bidirectional": True}),
        ("GRU", {"bidirectional": True, "batch_first": True}),
        ("LSTM", {"proj_size": 2}),
        ("RNN", {"nonlinearity": "relu", "bias": False}),
    ],
)
@pytest.mark.parametrize("with_hx", [False, True])
def test_rnn_on_packed_input_as_pytorch(device, kind, kwargs, with_hx):
    ours, theirs = _modules(kind, device, **kwargs)
    batch_first = kwargs.get("batch_first", False)
    lengths = [3, 5, 1, 4]
    x, tx = _pair((4, 5, 3) if batch_first else (5, 4, 3), device, seed=3)
    packed = rnn.pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
    tpacked = trnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted=False)
    hx = thx = None
    if with_hx:
        layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        h0, th0 = _pair((layers, 4, kwargs.get("proj_size") or 4), device, seed=5)
        hx, thx = h0, th0
        if kind == "LSTM":
            c0, tc0 = _pair((layers, 4, 4), device, seed=6)
            hx, thx = (h0, c0), (th0, tc0)
    out, state = ours(packed, hx)
    tout, tstate = theirs(tpacked, thx)
    _same_packed(out, tout)
    states = state if kind == "LSTM" else (state,)
    tstates = tstate if kind == "LSTM" else (tstate,)
    for a, b in zip(states, tstates):
        _same(a, b)
    padded, _ = rnn.pad_packed_sequence(out, batch_first=batch_first)
    tpadded, _ = trnn.pad_packed_sequence(tout, batch_first=batch_first)
    rng = np.random.default_rng(7)
    w = rng.standard_normal(tuple(tpadded.shape))
    loss = (padded * gg.tensor(w, device=device)).sum()
    tloss = (tpadded * torch.tensor(w)).sum()
    for a, b in zip(states, tstates):
        w = rng.standard_normal(tuple(b.shape))
        loss = loss + (a * gg.tensor(w, device=device)).sum()
        tloss = tloss + (b * torch.tensor(w)).sum()
    loss.backward()
    tloss.backward()
    _same(x.grad, tx.grad, atol=1e-9)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        _same(p.grad, tp.grad, atol=1e-9)
    if with_hx:
        hs = hx if kind == "LSTM" else (hx,)
        ths = thx if kind == "LSTM" else (thx,)
        for a, b in zip(hs, ths):
            _same(a.grad, b.grad, atol=1e-9)


def test_rnn_packed_errors_as_pytorch():
    ours, theirs = _modules("GRU", "cpu")
    x = np.zeros((3, 2, 3))
    packed = rnn.pack_padded_sequence(gg.tensor(x), [3, 2])
    tpacked = trnn.pack_padded_sequence(torch.tensor(x), [3, 2])
    assert_raises_like_torch(
        lambda: ours(packed, gg.zeros(1, 3, 4, dtype=gg.float64)),
        lambda: theirs(tpacked, torch.zeros(1, 3, 4, dtype=torch.float64)),
    )
    bad = rnn.pack_padded_sequence(gg.zeros(3, 2, 5, dtype=gg.float64), [3, 2])
    tbad = trnn.pack_padded_sequence(torch.zeros(3, 2, 5, dtype=torch.float64), [3, 2])
    assert_raises_like_torch(lambda: ours(bad), lambda: theirs(tbad))


def test_rnn_packed_gradcheck():
    module = gg.nn.LSTM(2, 3, bidirectional=True).double()

    def run(x):
        packed = rnn.pack_padded_sequence(x, [3, 1], enforce_sorted=True)
        out, (h, c) = module(packed)
        return out.data, h, c

    x = gg.randn(3, 2, 2, dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(run, (x,))


def test_packing_gradcheck():
    def round_trip(x):
        packed = rnn.pack_padded_sequence(x, [2, 4, 1], batch_first=True, enforce_sorted=False)
        return rnn.pad_packed_sequence(packed, batch_first=True, total_length=5)[0]

    x = gg.randn(3, 4, 2, dtype=gg.float64, requires_grad=True)
    assert gg.autograd.gradcheck(round_trip, (x,))
    assert gg.autograd.gradgradcheck(round_trip, (x,))


def test_packed_gru_float32_spot_check(device):
    torch.manual_seed(1)
    theirs = torch.nn.GRU(3, 4, num_layers=2)
    ours = gg.nn.GRU(3, 4, num_layers=2).to(device)
    ours.load_state_dict(
        {k: gg.tensor(v.detach().numpy(), device=device) for k, v in theirs.state_dict().items()}
    )
    values = np.random.default_rng(2).standard_normal((4, 3, 3)).astype(np.float32)
    out, h = ours(rnn.pack_padded_sequence(gg.tensor(values, device=device), [4, 2, 2]))
    tout, th = theirs(trnn.pack_padded_sequence(torch.tensor(values), [4, 2, 2]))
    assert out.data.dtype == gg.float32
    np.testing.assert_allclose(
        out.data.detach().cpu().numpy(), tout.data.detach().numpy(), atol=1e-5
    )
    np.testing.assert_allclose(h.detach().cpu().numpy(), th.detach().numpy(), atol=1e-5)
