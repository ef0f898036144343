"""PyTorch's ``torch.func`` tutorials with gpugrad in place of torch: per-sample gradients
(``functional_call`` + ``vmap(grad(...))``) and model ensembling (``stack_module_state`` +
``vmap``), run as written (smaller batches) and compared with PyTorch on the same weights;
plus ``functional_call`` / ``stack_module_state`` details (tied weights, strict, several
dicts, buffers, error texts)."""

# ruff: noqa: E501  (the tutorials' text is kept as PyTorch's documentation writes it)
from __future__ import annotations

import copy

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")

# The per-sample-gradients tutorial, as written (batch of 4 instead of 64 to keep it short).
PER_SAMPLE_GRADS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)

class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output

def loss_fn(predictions, targets):
    return F.nll_loss(predictions, targets)

device = 'cpu'

num_models = 10
batch_size = 4
data = torch.randn(batch_size, 1, 28, 28, device=device)

targets = torch.randint(10, (4,), device=device)

model = SimpleCNN().to(device=device)
predictions = model(data)
loss = loss_fn(predictions, targets)

def compute_grad(sample, target):
    sample = sample.unsqueeze(0)
    target = target.unsqueeze(0)
    prediction = model(sample)
    loss = loss_fn(prediction, target)
    return torch.autograd.grad(loss, list(model.parameters()))

def compute_sample_grads(data, targets):
    sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
    sample_grads = zip(*sample_grads)
    sample_grads = [torch.stack(shards) for shards in sample_grads]
    return sample_grads

per_sample_grads = compute_sample_grads(data, targets)

from torch.func import functional_call, vmap, grad

params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}

def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    targets = target.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    loss = loss_fn(predictions, targets)
    return loss

ft_compute_grad = grad(compute_loss)
ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
    assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
"""

# The model-ensembling tutorial, as written (fewer/smaller minibatches). The one change:
# ``base_model.to('meta')`` is left out, gpugrad having no meta device.
ENSEMBLING = """
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)

class SimpleMLP(nn.Module):
    def __init__(self):
        super(SimpleMLP, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.flatten(1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        x = F.relu(x)
        x = self.fc3(x)
        return x

device = 'cpu'
num_models = 4

data = torch.randn(10, 16, 1, 28, 28, device=device)
targets = torch.randint(10, (160,), device=device)

models = [SimpleMLP().to(device) for _ in range(num_models)]

minibatches = data[:num_models]
predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch in zip(models, minibatches)]

minibatch = data[0]
predictions2 = [model(minibatch) for model in models]

from torch.func import stack_module_state

params, buffers = stack_module_state(models)

from torch.func import functional_call
import copy

# Construct a "stateless" version of one of the models. It is "stateless" in
# the sense that the parameters are meta Tensors and do not have storage.
base_model = copy.deepcopy(models[0])

def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))

sizes = [p.size(0) for p in params.values()] # show the leading 'num_models' dimension

assert minibatches.shape == (num_models, 16, 1, 28, 28) # verify minibatch has leading dimension of size 'num_models'

from torch import vmap

predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)

# verify the ``vmap`` predictions match the
assert torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop), atol=1e-3, rtol=1e-5)

predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)

assert torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5)
"""


def _run_as(source: str, library: str) -> dict:
    """Run a tutorial with ``torch`` meaning ``library``; its globals after the run."""
    if library == "gpugrad":
        source = source.replace("import torch\n", "import gpugrad as torch\n", 1)
        source = source.replace("import torch.nn as nn", "import gpugrad.nn as nn")
        source = source.replace(
            "import torch.nn.functional as F", "import gpugrad.nn.functional as F"
        )
        source = source.replace("from torch.func import", "from gpugrad.func import")
        source = source.replace("from torch import vmap", "from gpugrad import vmap")
    scope: dict = {"__name__": "tutorial"}
    exec(compile(source, f"<tutorial on {library}>", "exec"), scope)  # noqa: S102
    return scope


def _copy_weights(ours_model, theirs_model) -> None:
    state = {k: gg.tensor(v.detach().numpy()) for k, v in theirs_model.state_dict().items()}
    ours_model.load_state_dict(state)


def test_per_sample_gradients_tutorial_matches_torch():
    ours, theirs = _run_as(PER_SAMPLE_GRADS, "gpugrad"), _run_as(PER_SAMPLE_GRADS, "torch")
    # The tutorial's own asserts passed on gpugrad; now the same weights and data as PyTorch.
    _copy_weights(ours["model"], theirs["model"])
    data = gg.tensor(theirs["data"].numpy())
    targets = gg.tensor(theirs["targets"].numpy())
    params = {k: v.detach() for k, v in ours["model"].named_parameters()}
    got = ours["ft_compute_sample_grad"](params, {}, data, targets)
    assert list(got) == list(theirs["ft_per_sample_grads"])
    for name, expected in theirs["ft_per_sample_grads"].items():
        assert tuple(got[name].shape) == tuple(expected.shape)
        assert not got[name].requires_grad
        np.testing.assert_allclose(got[name].numpy(), expected.numpy(), rtol=1e-4, atol=2e-6)


def test_model_ensembling_tutorial_matches_torch():
    ours, theirs = _run_as(ENSEMBLING, "gpugrad"), _run_as(ENSEMBLING, "torch")
    assert ours["sizes"] == theirs["sizes"] == [4] * 6
    assert list(ours["params"]) == list(theirs["params"])
    assert all(p.requires_grad and p.is_leaf for p in ours["params"].values())
    for ours_model, theirs_model in zip(ours["models"], theirs["models"]):
        _copy_weights(ours_model, theirs_model)
    params, buffers = gg.func.stack_module_state(ours["models"])
    batches = gg.tensor(theirs["minibatches"].numpy())
    got = gg.vmap(ours["fmodel"])(params, buffers, batches)
    expected = theirs["predictions1_vmap"]
    np.testing.assert_allclose(
        got.detach().numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5
    )
    assert got.requires_grad == expected.requires_grad
    # gradients reach the stacked parameters, as in PyTorch
    got.sum().backward()
    expected.sum().backward()
    for name, p in params.items():
        np.testing.assert_allclose(
            p.grad.numpy(), theirs["params"][name].grad.numpy(), rtol=1e-4, atol=1e-5
        )


class _Tied:
    @staticmethod
    def build(m):
        class TiedModel(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = m.nn.Linear(2, 2, bias=False)
                self.b = m.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight
                self.register_buffer("scale", m.ones(2))

            def forward(self, x):
                return self.b(self.a(x)) * self.scale

        return TiedModel()


@pytest.mark.parametrize("tie_weights", [True, False])
def test_functional_call_tied_weights_buffers_and_restores(tie_weights):
    results = []
    for m in (gg, torch):
        model = _Tied.build(m)
        with m.no_grad():
            model.a.weight.copy_(m.tensor([[1.0, 2.0], [3.0, 4.0]]))
        weight = m.tensor([[0.5, 0.0], [1.0, -1.0]])
        x = m.tensor([[1.0, -2.0]])
        out = m.func.functional_call(
            model,
            ({"a.weight": weight}, {"scale": m.tensor([2.0, 3.0])}),
            x,
            tie_weights=tie_weights,
        )
        assert model.a.weight.tolist() == [[1.0, 2.0], [3.0, 4.0]]  # restored
        assert model.scale.tolist() == [1.0, 1.0]
        assert model.b.weight is model.a.weight
        results.append(out.tolist())
    assert results[0] == results[1]


def test_functional_call_kwargs_and_strict():
    for m in (gg, torch):
        lin = m.nn.Linear(2, 1)
        out = m.func.functional_call(
            lin, {"weight": m.ones(1, 2), "bias": m.zeros(1)}, (), {"input": m.ones(3, 2)}
        )
        assert out.tolist() == [[2.0], [2.0], [2.0]]
    assert_raises_like_torch(
        lambda: gg.func.functional_call(
            gg.nn.Linear(2, 1), {"weight": gg.ones(1, 2), "w": gg.ones(1)}, gg.ones(2), strict=True
        ),
        lambda: torch.func.functional_call(
            torch.nn.Linear(2, 1),
            {"weight": torch.ones(1, 2), "w": torch.ones(1)},
            torch.ones(2),
            strict=True,
        ),
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.func.functional_call(
            m.nn.Linear(2, 1), ({"bias": m.ones(1)}, {"bias": m.ones(1)}), m.ones(2)
        ),
        lambda m: m.func.functional_call(m.nn.Linear(2, 1), [{"bias": m.ones(1)}, 3], m.ones(2)),
        lambda m: m.func.functional_call(m.nn.Linear(2, 1), 3, m.ones(2)),
        lambda m: m.func.functional_call(
            _Tied.build(m), {"a.weight": m.ones(2, 2), "b.weight": m.zeros(2, 2)}, m.ones(2)
        ),
        lambda m: m.func.stack_module_state([]),
        lambda m: m.func.stack_module_state([m.nn.Linear(2, 1), m.nn.Linear(2, 1).eval()]),
        lambda m: m.func.stack_module_state([m.nn.Linear(2, 1), m.nn.Conv1d(2, 1, 1)]),
        lambda m: m.func.stack_module_state(
            [m.nn.Linear(2, 1), m.nn.Linear(2, 1).requires_grad_(False)]
        ),
    ],
)
def test_errors_match_torch(call):
    assert_raises_like_torch(lambda: call(gg), lambda: call(torch))


def test_stack_module_state_without_grad_and_with_buffers():
    for m in (gg, torch):
        norms = [m.nn.BatchNorm1d(3) for _ in range(2)]
        for n in norms:
            n.requires_grad_(False)
        params, buffers = m.func.stack_module_state(norms)
        assert list(buffers) == ["running_mean", "running_var", "num_batches_tracked"]
        assert tuple(buffers["running_var"].shape) == (2, 3)
        assert not params["weight"].requires_grad
        base = copy.deepcopy(norms[0])

        def fmodel(p, b, x, m=m, base=base):
            return m.func.functional_call(base, (p, b), x)

        out = m.vmap(fmodel)(params, buffers, m.ones(2, 4, 3))
        assert tuple(out.shape) == (2, 4, 3)


LAYERS = {
    "lstm": (lambda m: m.nn.LSTM(3, 4, batch_first=True), lambda m: (m.ones(2, 5, 3),)),
    "gru": (lambda m: m.nn.GRU(3, 4), lambda m: (m.ones(5, 2, 3),)),
    "attention": (
        lambda m: m.nn.MultiheadAttention(4, 2, batch_first=True),
        lambda m: (m.ones(2, 3, 4),) * 3,
    ),
    "encoder_layer": (
        lambda m: m.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
        lambda m: (m.ones(2, 3, 4),),
    ),
    "embedding": (lambda m: m.nn.Embedding(5, 3), lambda m: (m.tensor([1, 2, 4]),)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_functional_call_reaches_every_layer_parameter(name):
    """Layers that keep their weights in several places (RNNs, attention) use the given ones."""
    build, inputs = LAYERS[name]
    outs = []
    for m in (gg, torch):
        module = build(m)
        params = {
            k: (m.arange(v.numel()).reshape(tuple(v.shape)) % 7 - 3.0) * 0.1
            for k, v in module.named_parameters()
        }
        out = m.func.functional_call(module, params, inputs(m))
        outs.append((out[0] if isinstance(out, tuple) else out).detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-6)


def test_ensemble_gradients_with_vmap_of_grad():
    """One training step's gradients for every model of an ensemble at once."""
    grads = []
    for m in (gg, torch):
        m.manual_seed(0)
        models = [m.nn.Linear(3, 2) for _ in range(3)]
        for k, model in enumerate(models):
            with m.no_grad():
                model.weight.copy_(m.arange(6.0).reshape(2, 3) * (k + 1) * 0.1)
                model.bias.fill_(k * 0.5)
        params, buffers = m.func.stack_module_state(models)
        base = copy.deepcopy(models[0])
        x = m.arange(12.0).reshape(4, 3) / 10
        y = m.tensor([0, 1, 1, 0])

        def loss(p, b, inputs, targets, m=m, base=base):
            out = m.func.functional_call(base, (p, b), (inputs,))
            return m.nn.functional.cross_entropy(out, targets)

        grads.append(m.vmap(m.func.grad(loss), in_dims=(0, 0, None, None))(params, buffers, x, y))
    assert list(grads[0]) == list(grads[1]) == ["weight", "bias"]
    for name in grads[1]:
        # the stacked parameters require grad, so (in both libraries) their gradients do too
        assert grads[0][name].requires_grad == grads[1][name].requires_grad
        np.testing.assert_allclose(
            grads[0][name].detach().numpy(), grads[1][name].detach().numpy(), rtol=1e-5, atol=1e-7
        )
