"""gpugrad.nn: Parameter, Module API, layers, activations, losses and initializations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.nn import init
from gpugrad.nn.modules import (
    GELU,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Linear,
    Module,
    ModuleList,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from gpugrad.nn.parameter import Parameter

pytestmark = pytest.mark.usefixtures("torch_on_one_thread")


class Block(Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = Linear(3, 2)
        self.scale = Parameter(gg.ones(2))
        self.register_buffer("running", gg.zeros(2))
        self.register_buffer("scratch", gg.zeros(1), persistent=False)
        self.act = ReLU()
        self.note = "plain attribute"

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale + self.running


class Net(Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = Sequential(Linear(2, 4), Tanh(), Linear(4, 1))

    def forward(self, x):
        return self.head(self.block(x))


NET_PARAMETERS = [
    "block.scale",
    "block.fc.weight",
    "block.fc.bias",
    "head.0.weight",
    "head.0.bias",
    "head.2.weight",
    "head.2.bias",
]
"""``Net``'s parameters, in registration order."""


# --- Parameter ----------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad(device: str):
    data = gg.tensor([1.0, 2.0], device=device)
    p = Parameter(data)
    assert isinstance(p, gg.Tensor) and isinstance(p, Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not isinstance(data, Parameter) and not data.requires_grad
    assert p.tolist() == [1.0, 2.0] and p.device == data.device
    assert not isinstance(p * 2, Parameter) and not isinstance(p.detach(), Parameter)
    assert not Parameter(data, requires_grad=False).requires_grad
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]


def test_parameter_prints_as_in_pytorch():
    torch = pytest.importorskip("torch")
    p = Parameter(gg.tensor([[1.0, 2.0], [3.0, 4.5]]))
    expected = repr(torch.nn.Parameter(torch.tensor([[1.0, 2.0], [3.0, 4.5]])))
    assert repr(p) == str(p) == expected
    assert repr(p).startswith("Parameter containing:\ntensor([[1.0000, 2.0000],")
    assert repr(gg.tensor([1.0])) == "tensor([1.])"  # plain tensors are unchanged


def test_parameter_rejects_non_tensors():
    with pytest.raises(TypeError, match="gpugrad Tensor"):
        Parameter([1.0, 2.0])


# --- registration and traversal ---------------------------------------------------------
def test_registration_by_assignment():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == NET_PARAMETERS
    assert [p is q for p, q in zip(net.parameters(), (t for _, t in net.named_parameters()))]
    assert [name for name, _ in net.named_buffers()] == ["block.running", "block.scratch"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [type(m).__name__ for m in net.modules()] == [
        "Net",
        "Block",
        "Linear",
        "ReLU",
        "Sequential",
        "Linear",
        "Tanh",
        "Linear",
    ]
    assert [n for n, _ in net.named_modules()][:3] == ["", "block", "block.fc"]
    assert net.block.note == "plain attribute" and "note" not in net.block._parameters
    assert net.get_submodule("head.2") is net.head[2]
    assert len(list(net.parameters(recurse=False))) == 0


def test_assignment_rules():
    block = Block()
    with pytest.raises(TypeError, match="cannot assign 'gpugrad.Tensor' as parameter 'scale'"):
        block.scale = gg.ones(2)
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    block.scale = Parameter(gg.ones(2))
    block.fc = Identity()  # replacing a child
    assert isinstance(block.fc, Identity) and "fc.weight" not in block.state_dict()
    block.extra = Linear(1, 1)
    assert "extra.weight" in block.state_dict()
    del block.extra
    assert "extra.weight" not in block.state_dict()
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        _ = block.missing
    with pytest.raises(KeyError, match="contain"):
        block.register_parameter("a.b", None)

    class Early(Module):
        def __init__(self) -> None:
            self.w = Parameter(gg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameters_are_listed_once():
    shared = Linear(2, 2)
    model = Sequential(shared, ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_and_module_list():
    model = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
    assert len(model) == 3 and isinstance(model[-1], Linear)
    sub = model[:2]
    assert isinstance(sub, Sequential) and len(sub) == 2 and sub[0] is model[0]
    x = gg.randn(4, 2)
    assert model(x).shape == (4, 1)
    assert gg.allclose(model(x), model[2](model[1](model[0](x))))
    layers = ModuleList([Linear(2, 2) for _ in range(3)])
    layers.append(Tanh())
    assert len(layers) == 4 and len(list(layers.parameters())) == 6
    assert list(layers.state_dict())[:2] == ["0.weight", "0.bias"]


def test_deepcopy_gives_an_independent_model():
    import copy

    shared = Linear(2, 2)
    model = Sequential(shared, ReLU(), shared)
    model(gg.ones(1, 2)).sum().backward()
    clone = copy.deepcopy(model)
    weight = clone[0].weight
    assert isinstance(weight, Parameter) and weight.requires_grad and weight is not shared.weight
    assert clone[0] is clone[2]  # sharing is preserved within the copy
    assert gg.equal(weight.detach(), shared.weight.detach())
    assert gg.equal(weight.grad, shared.weight.grad)
    init.zeros_(shared.weight)
    assert not gg.equal(weight.detach(), shared.weight.detach())


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        Module()(1)


# --- state dicts ----------------------------------------------------------------------------
def test_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = Sequential(Linear(3, 4), ReLU(), Dropout(0.2), Linear(4, 2), Sigmoid())
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(4, 2),
        torch.nn.Sigmoid(),
    )
    assert (
        list(ours.state_dict())
        == list(theirs.state_dict())
        == [
            "0.weight",
            "0.bias",
            "3.weight",
            "3.bias",
        ]
    )
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [
        tuple(v.shape) for v in theirs.state_dict().values()
    ]
    # PyTorch weights load into the gpugrad model and give PyTorch's outputs.
    ours.load_state_dict({k: gg.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    with torch.no_grad():
        expected = theirs.eval()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(
        ours.eval()(gg.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6
    )


def test_state_dict_contents():
    net = Net()
    state = net.state_dict()
    # a module's parameters, its (persistent) buffers, then its children's
    assert list(state) == ["block.scale", "block.running", *NET_PARAMETERS[1:]]
    assert all(not t.requires_grad and not isinstance(t, Parameter) for t in state.values())
    kept = net.state_dict(keep_vars=True)
    assert kept["block.scale"] is net.block.scale


def test_load_state_dict_copies_in_place():
    source, target = Net(), Net()
    weight = target.block.fc.weight
    result = target.load_state_dict(source.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert target.block.fc.weight is weight and isinstance(weight, Parameter)
    assert weight.requires_grad and gg.equal(weight.detach(), source.block.fc.weight.detach())
    x = gg.randn(3, 3)
    assert gg.equal(target(x), source(x))
    # The copy does not alias the checkpoint.
    checkpoint = source.state_dict()
    target.load_state_dict(checkpoint)
    checkpoint["block.fc.weight"].zero_()
    assert not gg.equal(target.block.fc.weight.detach(), checkpoint["block.fc.weight"])


def test_load_state_dict_casts_dtype(device: str):
    model = Linear(2, 2, device=device)
    source = Linear(2, 2, dtype="float64")
    model.load_state_dict(source.state_dict())
    assert model.weight.dtype == gg.float32 and str(model.weight.device).startswith(device)
    assert gg.allclose(model.weight.detach().cpu(), source.weight.detach().float())


def test_load_state_dict_errors():
    model = Sequential(Linear(2, 3), Linear(3, 1))
    state = model.state_dict()
    del state["1.bias"]
    state["extra"] = gg.zeros(1)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Sequential:\n"
        '\tMissing key(s) in state_dict: "1.bias". \n'
        '\tUnexpected key(s) in state_dict: "extra". '
    )
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["extra"]
    bad = model.state_dict()
    bad["0.weight"] = gg.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with"):
        model.load_state_dict(bad, strict=False)


# --- modes, gradients, devices -------------------------------------------------------------
def test_train_and_eval_switch_dropout():
    gg.manual_seed(0)
    model = Sequential(Dropout(0.5), Identity())
    x = gg.ones(1000)
    assert model.training and model[0].training
    out = model(x).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}  # kept values are scaled by 1 / (1 - p)
    assert 400 < (out == 0).sum() < 600
    assert model.eval() is model
    assert not model.training and not model[0].training
    assert model(x) is x
    model.train()
    assert model[0].training
    with pytest.raises(ValueError, match="boolean"):
        model.train("yes")
    assert Dropout(1.0)(x).sum().item() == 0.0 and Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(1.5)


def test_relu_inplace_overwrites_its_input():
    x = gg.tensor([-1.0, 2.0], requires_grad=True)
    h = x * 1
    out = ReLU(inplace=True)(h)
    assert out is h and h.tolist() == [0.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]
    assert repr(ReLU(inplace=True)) == "ReLU(inplace=True)"


def test_dropout_gradient_uses_the_same_mask():
    gg.manual_seed(1)
    x = gg.ones(200, requires_grad=True)
    out = Dropout(0.25)(x)
    out.sum().backward()
    assert gg.equal(x.grad, out.detach())


def test_zero_grad():
    model = Sequential(Linear(3, 2), Linear(2, 1))
    model(gg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and p.grad.abs().sum().item() == 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_requires_grad_and_to(device: str):
    model = Sequential(Linear(3, 2), ReLU())
    weight = model[0].weight
    model.requires_grad_(False)
    assert not weight.requires_grad
    model.requires_grad_()
    model(gg.randn(2, 3)).sum().backward()
    assert model.to(device) is model
    assert model[0].weight is weight and str(weight.device).startswith(device)
    assert str(weight.grad.device).startswith(device)
    model.double()
    assert weight.dtype == gg.float64 and weight.grad.dtype == gg.float64
    assert isinstance(weight, Parameter) and weight.requires_grad
    out = model(gg.randn(2, 3, dtype="float64", device=device))
    assert out.dtype == gg.float64
    model.to(dtype=gg.float32).cpu()
    assert weight.dtype == gg.float32 and weight.device.type == "cpu"


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = Sequential(
        Linear(64, 128),
        ReLU(),
        Dropout(0.1),
        GELU(approximate="tanh"),
        Sequential(Linear(128, 10, bias=False), Tanh(), Sigmoid()),
        CrossEntropyLoss(),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.GELU(approximate="tanh"),
        torch.nn.Sequential(
            torch.nn.Linear(128, 10, bias=False), torch.nn.Tanh(), torch.nn.Sigmoid()
        ),
        torch.nn.CrossEntropyLoss(),
    )
    assert repr(ours) == repr(theirs)
    assert repr(Net()).startswith("Net(\n  (block): Block(\n    (fc): Linear(in_features=3")


# --- layers and activations against PyTorch ----------------------------------------------------
def test_linear_matches_pytorch_values_and_gradients(device: str):
    torch = pytest.importorskip("torch")
    layer = Linear(5, 3, dtype="float64", device=device)
    ref = torch.nn.Linear(5, 3, dtype=torch.float64)
    ref.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    gx = gg.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    layer(gx).sum().backward()
    ref(tx).sum().backward()
    np.testing.assert_allclose(layer(gx).detach().cpu().numpy(), ref(tx).detach().numpy())
    np.testing.assert_allclose(gx.grad.cpu().numpy(), tx.grad.numpy())
    np.testing.assert_allclose(layer.weight.grad.cpu().numpy(), ref.weight.grad.numpy())
    no_bias = Linear(5, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.ReLU(),
        lambda nn: nn.Tanh(),
        lambda nn: nn.Sigmoid(),
        lambda nn: nn.GELU(),
        lambda nn: nn.GELU(approximate="tanh"),
    ],
    ids=["relu", "tanh", "sigmoid", "gelu", "gelu_tanh"],
)
def test_activations_match_pytorch(make, device: str):
    torch = pytest.importorskip("torch")
    from gpugrad.nn import modules

    x = np.concatenate([np.linspace(-6, 6, 49), [-30.0, 30.0, 0.3]])
    gx = gg.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out, ref = make(modules)(gx), make(torch.nn)(tx)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(gx.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-12)


# --- losses against PyTorch ----------------------------------------------------------------------
def _loss_case(name: str, rng: np.random.Generator):
    if name.startswith("bce_logits"):
        return rng.standard_normal((6, 3)) * 3, (rng.random((6, 3)) < 0.5).astype(float)
    if name.startswith("bce"):
        return rng.uniform(0.02, 0.98, (6, 3)), rng.random((6, 3))
    if name.startswith("mse"):
        return rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    if name == "ce_probabilities":
        p = rng.random((6, 4))
        return rng.standard_normal((6, 4)), p / p.sum(1, keepdims=True)
    if name == "ce_spatial":
        return rng.standard_normal((2, 4, 3, 2)), rng.integers(0, 4, (2, 3, 2))
    if name == "ce_single":
        return rng.standard_normal(4), np.array(2)
    return rng.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 3])


LOSS_CASES = [
    ("bce", "BCELoss", {}),
    ("bce_weight_none", "BCELoss", {"weight": [1.0, 2.0, 0.5], "reduction": "none"}),
    ("bce_logits", "BCEWithLogitsLoss", {"reduction": "sum"}),
    ("bce_logits_pos_weight", "BCEWithLogitsLoss", {"pos_weight": [2.0, 1.0, 0.5]}),
    ("mse", "MSELoss", {}),
    ("mse_none", "MSELoss", {"reduction": "none"}),
    ("ce", "CrossEntropyLoss", {}),
    ("ce_sum_weight", "CrossEntropyLoss", {"reduction": "sum", "weight": [1.0, 2.0, 3.0, 4.0]}),
    ("ce_ignore", "CrossEntropyLoss", {"ignore_index": 3, "label_smoothing": 0.3}),
    ("ce_none_smoothing", "CrossEntropyLoss", {"reduction": "none", "label_smoothing": 0.1}),
    ("ce_probabilities", "CrossEntropyLoss", {"label_smoothing": 0.2}),
    ("ce_spatial", "CrossEntropyLoss", {"weight": [1.0, 0.5, 2.0, 1.0]}),
    ("ce_single", "CrossEntropyLoss", {"label_smoothing": 0.1}),
]


@pytest.mark.parametrize(("case", "cls", "kwargs"), LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_losses_match_pytorch(case: str, cls: str, kwargs: dict, device: str):
    torch = pytest.importorskip("torch")
    from gpugrad.nn import modules

    x, y = _loss_case(case, np.random.default_rng(len(case)))
    integer_target = y.dtype.kind == "i"

    def convert(value, to_torch):
        if not isinstance(value, list):
            return value
        return (
            torch.tensor(value, dtype=torch.float64)
            if to_torch
            else gg.tensor(value, device=device, dtype="float64")
        )

    loss_fn = getattr(modules, cls)(**{k: convert(v, False) for k, v in kwargs.items()})
    ref_fn = getattr(torch.nn, cls)(**{k: convert(v, True) for k, v in kwargs.items()})
    gx = gg.tensor(x, device=device, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    gy = gg.tensor(y, device=device, dtype="int64" if integer_target else "float64")
    ty = torch.tensor(y)
    out, ref = loss_fn(gx, gy), ref_fn(tx, ty)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), atol=1e-10)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(gx.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-10)


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="different to the input size"):
        BCELoss()(gg.full((3,), 0.5), gg.ones(3, 1))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        CrossEntropyLoss()(gg.randn(2, 3), gg.tensor([0, 5]))
    with pytest.raises(ValueError, match="Expected input batch_size"):
        CrossEntropyLoss()(gg.randn(2, 3), gg.tensor([0, 1, 2]))
    with pytest.warns(UserWarning, match="likely lead to incorrect results"):
        MSELoss()(gg.randn(3, 1), gg.randn(3))


def test_bce_saturates_like_pytorch():
    torch = pytest.importorskip("torch")
    p = [0.0, 1.0, 0.5]
    t = [1.0, 0.0, 1.0]
    ours = BCELoss(reduction="none")(gg.tensor(p), gg.tensor(t))
    ref = torch.nn.BCELoss(reduction="none")(torch.tensor(p), torch.tensor(t))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
    logits = BCEWithLogitsLoss(reduction="none")(gg.tensor([-200.0, 200.0]), gg.tensor([1.0, 0.0]))
    assert logits.tolist() == [200.0, 200.0]


def test_loss_weights_are_buffers():
    loss = CrossEntropyLoss(weight=gg.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(BCEWithLogitsLoss(pos_weight=gg.ones(2)).state_dict()) == ["pos_weight"]
    assert BCELoss().state_dict() == {}


# --- initialization ---------------------------------------------------------------------------
def test_linear_default_init_has_pytorchs_distribution():
    gg.manual_seed(0)
    layer = Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # U(-a, a): std a/sqrt 3
    assert abs(w.mean()) < 0.002 and np.abs(w).max() > 0.99 * bound
    assert b.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert layer.weight.dtype == gg.float32 and isinstance(layer.weight, Parameter)


def test_init_functions_fill_in_place():
    gg.manual_seed(0)
    w = Parameter(gg.empty(200, 100))
    assert init.kaiming_uniform_(w) is w
    bound = math.sqrt(6 / 100)  # gain sqrt(2) for leaky_relu with a=0
    assert np.abs(w.detach().numpy()).max() <= bound
    assert w.detach().numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert isinstance(w, Parameter) and w.requires_grad and w.is_leaf

    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 300)
    assert np.abs(w.detach().numpy()).max() <= bound
    init.normal_(w, mean=1.0, std=0.5)
    assert w.detach().numpy().mean() == pytest.approx(1.0, abs=0.02)
    assert w.detach().numpy().std() == pytest.approx(0.5, rel=0.03)
    init.uniform_(w, -3.0, -2.0)
    assert w.detach().numpy().min() >= -3.0 and w.detach().numpy().max() < -2.0
    init.zeros_(w)
    assert w.abs().sum().item() == 0.0
    init.ones_(w)
    assert w.sum().item() == 20000.0
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w.detach().numpy().std() == pytest.approx(math.sqrt(2 / 100), rel=0.03)
    e = gg.empty(2, 3, dtype="float64")
    assert init.eye_(e).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert init.calculate_gain("tanh") == 5 / 3
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(gg.empty(3))


def test_init_keeps_dtype_and_device(device: str):
    for dtype in ("float16", "float64"):
        t = gg.empty(10, 10, dtype=dtype, device=device)
        init.uniform_(t, -1, 1)
        assert t.dtype.name == dtype and str(t.device).startswith(device)
        assert not t.requires_grad


def test_linear_of_a_batch_is_addmm_and_view_as_pytorch(device):
    """A contiguous input of more than two dims goes through one addmm and a view
    (``ViewBackward0``); a non-contiguous one through a product and an add, as PyTorch's."""
    torch = pytest.importorskip("torch")
    layer = gg.nn.Linear(4, 5).double().to(device)
    reference = torch.nn.Linear(4, 5).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.detach().cpu().numpy()))
        reference.bias.copy_(torch.from_numpy(layer.bias.detach().cpu().numpy()))
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    for arrange in (lambda t: t, lambda t: t.transpose(0, 1)):
        x = gg.tensor(data, requires_grad=True, device=device)
        tx = torch.tensor(data, requires_grad=True)
        out, expected = layer(arrange(x)), reference(arrange(tx))
        assert out.grad_fn.name() == expected.grad_fn.name()
        (out**2).sum().backward()
        (expected**2).sum().backward()
        np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy())
        np.testing.assert_allclose(x.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(
            layer.weight.grad.cpu().numpy(), reference.weight.grad.numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            layer.bias.grad.cpu().numpy(), reference.bias.grad.numpy(), rtol=1e-12
        )
        layer.zero_grad()
        reference.zero_grad()
