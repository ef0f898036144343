"""What PyTorch's tutorials use that gpugrad still lacks, each in a file another helper owns:
strict xfails (they fail loudly once fixed, so the marker comes off). The replays in
test_tutorials_*.py step around these and compare everything else."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


def test_tensor_type_method(device):
    """Learn the Basics' test loop writes ``(pred.argmax(1) == y).type(torch.float)``."""
    x = gg.tensor([1, 0, 1], device=device) == 1
    assert x.type(gg.float).dtype == gg.float32
    assert x.type(gg.float).sum().item() == 2.0
    assert gg.ones(2).type() == "gpugrad.FloatTensor"
    assert gg.ones(2).type("gpugrad.DoubleTensor").dtype == gg.float64
    assert gg.ones(2).type("torch.LongTensor").dtype == gg.int64
    for name in (
        "float32",
        "float64",
        "float16",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "bool",
    ):
        ours = gg.ones(2, dtype=getattr(gg, name), device=device).type()
        theirs = torch.ones(2, dtype=getattr(torch, name)).type()
        cuda = ".cuda" if device == "cuda" else ""
        assert ours == theirs.replace("torch.", f"gpugrad{cuda}.")
    same = gg.ones(2, device=device)
    assert same.type(gg.float32) is same
    with pytest.raises(ValueError, match="invalid type: 'foo'"):
        same.type("foo")


def test_out_keyword(device):
    """The tensors tutorial writes ``torch.matmul(tensor, tensor.T, out=y3)``."""
    tensor = gg.ones(4, 4, device=device)
    y3 = gg.rand_like(tensor)
    gg.matmul(tensor, tensor.T, out=y3)
    z3 = gg.rand_like(tensor)
    gg.mul(tensor, tensor, out=z3)
    assert gg.equal(y3, gg.full((4, 4), 4.0, device=device))
    assert gg.equal(z3, tensor)


def test_index_with_range(device):
    """'What is torch.nn really?' writes ``input[range(target.shape[0]), target]``."""
    x = gg.arange(12.0, device=device).reshape(3, 4)
    target = gg.tensor([1, 0, 3], device=device)
    picked = x[range(target.shape[0]), target]
    expected = torch.arange(12.0).reshape(3, 4)[range(3), torch.tensor([1, 0, 3])]
    np.testing.assert_array_equal(picked.cpu().numpy(), expected.numpy())
    theirs = torch.arange(12.0).reshape(3, 4)
    for key in (range(0), range(1, 3), (slice(None), range(0, 4, 2))):
        np.testing.assert_array_equal(x[key].cpu().numpy(), theirs[key].numpy())
    leaf = gg.zeros(3, requires_grad=True, device=device)
    picked = leaf[range(2)]
    assert picked.grad_fn.name() == "IndexBackward0"
    picked.sum().backward()
    np.testing.assert_array_equal(leaf.grad.cpu().numpy(), [1.0, 1.0, 0.0])
    written = gg.zeros(3, device=device)
    written[range(2)] = 1.0
    np.testing.assert_array_equal(written.cpu().numpy(), [1.0, 1.0, 0.0])


def test_cross_entropy_grad_fn_name(device):
    logits = gg.zeros(2, 3, requires_grad=True, device=device)
    target = gg.tensor([0, 2], device=device)
    loss = gg.nn.functional.cross_entropy(logits, target)
    assert str(loss) == "tensor(1.0986, grad_fn=<NllLossBackward0>)"
    nll = gg.nn.functional.nll_loss(logits.log_softmax(1), target)
    assert nll.grad_fn.name() == "NllLossBackward0"
    names = [node.name() for node, _ in loss.grad_fn.next_functions]
    theirs = torch.nn.functional.cross_entropy(
        torch.zeros(2, 3, requires_grad=True), torch.tensor([0, 2])
    )
    assert names == [node.name() for node, _ in theirs.grad_fn.next_functions]
    x = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [0.0, 1.0, 3.0]]
    for reduction in ("mean", "sum", "none"):
        for t in ([0, 2, 1], [0, -100, 1], [-100, -100, -100]):
            ours = gg.tensor(x, requires_grad=True, device=device)
            theirs = torch.tensor(x, requires_grad=True)
            loss = gg.nn.functional.cross_entropy(
                ours, gg.tensor(t, device=device), reduction=reduction
            )
            expected = torch.nn.functional.cross_entropy(
                theirs, torch.tensor(t), reduction=reduction
            )
            loss.sum().backward()
            expected.sum().backward()
            np.testing.assert_allclose(
                loss.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-6
            )
            np.testing.assert_allclose(
                ours.grad.cpu().numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7
            )


def test_linear_grad_fn_name(device):
    """Build the Model prints ``grad_fn=<AddmmBackward0>``; the node's inputs are PyTorch's
    (the bias, the input, the transposed weight)."""
    layer = gg.nn.Linear(3, 2).to(device)
    out = layer(gg.ones(4, 3, device=device))
    assert out.grad_fn.name() == "AddmmBackward0"
    theirs = torch.nn.Linear(3, 2)(torch.ones(4, 3)).grad_fn
    names = [None if n is None else n.name() for n, _ in out.grad_fn.next_functions]
    assert names == [None if n is None else n.name() for n, _ in theirs.next_functions]
    weighted = gg.addmm(gg.ones(4, 2), gg.ones(4, 3), gg.ones(3, 2), beta=2)
    assert (
        weighted.tolist()
        == torch.addmm(torch.ones(4, 2), torch.ones(4, 3), torch.ones(3, 2), beta=2).tolist()
    )


def test_saved_tensor_attributes(device):
    x = gg.randn(5, requires_grad=True, device=device)
    y = x.pow(2)
    assert y.grad_fn._saved_self.equal(x)
    assert y.grad_fn._saved_exponent == 2
    # the same names PyTorch gives, and its refusals
    for library, dev in ((torch, "cpu"), (gg, device)):
        x = library.randn(3, requires_grad=True, device=dev)
        product, exp = x * x, x.exp()
        assert product.grad_fn._saved_other.equal(x) and exp.grad_fn._saved_result.equal(exp)
        with pytest.raises(AttributeError):
            exp.grad_fn._saved_exponent  # noqa: B018
        exp.sum().backward()
        with pytest.raises(RuntimeError, match="after they have already been freed"):
            exp.grad_fn._saved_result  # noqa: B018


def test_pickle_tensor_and_module(device):
    """Copies via pickle, multiprocessing DataLoader workers and ``pickle.dumps(model)``
    pickle tensors; what survives is what survives PyTorch's pickling."""
    t = gg.ones(3, requires_grad=True, device=device)
    copy = pickle.loads(pickle.dumps(t))
    assert gg.equal(copy, t) and copy.requires_grad and copy.device == t.device
    model = pickle.loads(pickle.dumps(gg.nn.Linear(2, 2).to(device)))
    assert isinstance(model.weight, gg.nn.Parameter) and model.weight.requires_grad
    assert model(gg.ones(1, 2, device=device)).shape == (1, 2)
    for library, dev in ((torch, "cpu"), (gg, device)):
        leaf = library.ones(3, requires_grad=True, device=dev)
        leaf.grad = library.ones(3, device=dev)
        non_leaf = pickle.loads(pickle.dumps(leaf * 2))  # becomes a leaf requiring grad
        assert non_leaf.is_leaf and non_leaf.requires_grad and non_leaf.grad_fn is None
        assert pickle.loads(pickle.dumps(leaf)).grad is None  # .grad is not pickled
        view = pickle.loads(pickle.dumps(library.arange(6, device=dev)[1:4]))
        assert view.tolist() == [1, 2, 3]
        half = pickle.loads(pickle.dumps(library.ones(2, dtype=library.float16, device=dev)))
        assert half.dtype == library.float16 and not half.requires_grad


PRINT_OPTION_CASES = [
    {"precision": 2},
    {"sci_mode": False},
    {"sci_mode": True},
    {"threshold": 5, "edgeitems": 2},
    {"profile": "short"},
    {"linewidth": 30},
    {"profile": "full"},
    {"profile": "default"},
]


@pytest.mark.parametrize("options", PRINT_OPTION_CASES, ids=str)
def test_set_printoptions(options, device):
    """Tutorials call ``torch.set_printoptions(precision=2)``; each option prints as
    PyTorch's does."""
    values = [
        [1.23456, 2e-5, 1e6],
        [[1.5, 2.25], [3.0, 4.0]],
        [x / 7 for x in range(100)],
        [x * 1.5 for x in range(20)],
        [0.0, 0.0],
        list(range(1200)),
        3.14159,
    ]
    try:
        for library in (torch, gg):
            library.set_printoptions(**options)
        for data in values:
            ours = str(gg.tensor(data, device=device).cpu())
            assert ours == str(torch.tensor(data)).replace("torch.", "gpugrad.")
    finally:
        for library in (torch, gg):
            library.set_printoptions(profile="default")
    assert str(gg.tensor([1.23456])) == "tensor([1.2346])"


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")
def test_tensor_storage(device):
    """makemore part 2 prints ``a.storage()`` to show that a view shares memory."""
    a = gg.arange(18, device=device)
    assert re.search(r"\d", str(a.storage()))
    assert a.view(3, 3, 2).storage().data_ptr() == a.storage().data_ptr()
    assert a[4:].storage().data_ptr() == a.storage().data_ptr() and len(a[4:].storage()) == 18
    for data in ([1, 2, 3], [0.5, 1.0], []):
        theirs = str(torch.tensor(data).storage()).replace("torch.", "gpugrad.")
        assert str(gg.tensor(data).storage()) == theirs


def test_mse_loss_grad_fn_chain(device):
    layer = gg.nn.Linear(3, 2).to(device)
    loss = gg.nn.MSELoss()(layer(gg.ones(1, 3, device=device)), gg.zeros(1, 2, device=device))
    assert loss.grad_fn.name() == "MseLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "AddmmBackward0"
    # The 60-minute blitz walks loss.grad_fn.next_functions: the same chain as PyTorch's
    theirs = torch.nn.MSELoss()(torch.nn.Linear(3, 2)(torch.ones(1, 3)), torch.zeros(1, 2))
    chain = [loss.grad_fn, theirs.grad_fn]
    for _ in range(2):
        assert chain[0].name() == chain[1].name()
        chain = [node.next_functions[0][0] for node in chain]
    for reduction in ("mean", "sum", "none"):
        x, t = [[1.5, -2.0], [0.25, 3.0]], [[1.0, 1.0], [-1.0, 0.5]]
        ours = gg.nn.functional.mse_loss(
            gg.tensor(x, device=device), gg.tensor(t, device=device), reduction=reduction
        )
        expected = torch.nn.functional.mse_loss(
            torch.tensor(x), torch.tensor(t), reduction=reduction
        )
        np.testing.assert_allclose(ours.cpu().numpy(), expected.numpy(), rtol=1e-6)


def test_embedding_grad_fn_name(device):
    embeds = gg.nn.Embedding(2, 5).to(device)
    out = embeds(gg.tensor([0], device=device))
    assert out.grad_fn.name() == "EmbeddingBackward0"
    theirs = torch.nn.Embedding(2, 5)(torch.tensor([0]))
    assert out.grad_fn.name() == theirs.grad_fn.name()
    weight = gg.randn(4, 3, requires_grad=True, device=device)
    picked = gg.nn.functional.embedding(gg.tensor([[1, 3], [1, 0]], device=device), weight)
    (picked * 2).sum().backward()
    torch_weight = torch.tensor(weight.detach().cpu().numpy(), requires_grad=True)
    expected = torch.nn.functional.embedding(torch.tensor([[1, 3], [1, 0]]), torch_weight)
    (expected * 2).sum().backward()
    np.testing.assert_array_equal(picked.detach().cpu().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(weight.grad.cpu().numpy(), torch_weight.grad.numpy())


def test_embedding_bag_grad_fn_name(device):
    """The text-classification tutorial prints its EmbeddingBag output."""
    bag = gg.nn.EmbeddingBag(5, 3).to(device)
    out = bag(gg.tensor([1, 2, 4], device=device), gg.tensor([0, 1], device=device))
    theirs = torch.nn.EmbeddingBag(5, 3)(torch.tensor([1, 2, 4]), torch.tensor([0, 1]))
    assert out.grad_fn.name() == theirs.grad_fn.name()
