"""gpugrad.nn.utils.prune (helper s7-nnloss) against torch.nn.utils.prune: masks, state_dict
keys, combined prunings, remove, global pruning, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg
import gpugrad.nn.utils.prune as prune

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as torch_prune  # noqa: E402

RNG = np.random.default_rng(5)


def _pair(device, weight):
    theirs = torch.nn.Linear(weight.shape[1], weight.shape[0]).double()
    ours = gg.nn.Linear(weight.shape[1], weight.shape[0], dtype=gg.float64, device=device)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
    with gg.no_grad():
        ours.weight.copy_(gg.tensor(weight, device=device))
        ours.bias.copy_(gg.tensor(theirs.bias.detach().numpy(), device=device))
    return ours, theirs


def _same_mask(ours, theirs, name="weight"):
    np.testing.assert_array_equal(
        getattr(ours, name + "_mask").cpu().numpy(), getattr(theirs, name + "_mask").numpy()
    )


def test_l1_then_ln_structured_then_l1_match_torch(device):
    ours, theirs = _pair(device, RNG.standard_normal((4, 6)))
    prune.l1_unstructured(ours, "weight", amount=0.3)
    torch_prune.l1_unstructured(theirs, "weight", amount=0.3)
    assert (
        list(ours.state_dict())
        == list(theirs.state_dict())
        == ["bias", "weight_orig", "weight_mask"]
    )
    assert [n for n, _ in ours.named_parameters()] == ["bias", "weight_orig"]
    _same_mask(ours, theirs)
    prune.ln_structured(ours, "weight", amount=1, n=2, dim=0)
    torch_prune.ln_structured(theirs, "weight", amount=1, n=2, dim=0)
    _same_mask(ours, theirs)
    prune.l1_unstructured(ours, "weight", amount=2)
    torch_prune.l1_unstructured(theirs, "weight", amount=2)
    _same_mask(ours, theirs)
    hook = next(iter(ours._forward_pre_hooks.values()))
    assert isinstance(hook, prune.PruningContainer) and len(hook) == 3
    x = RNG.standard_normal((3, 6))
    np.testing.assert_allclose(
        ours(gg.tensor(x, device=device)).detach().cpu().numpy(),
        theirs(torch.tensor(x)).detach().numpy(),
        rtol=1e-12,
    )
    ours(gg.tensor(x, device=device)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(
        ours.weight_orig.grad.cpu().numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-12
    )
    assert prune.is_pruned(ours)
    prune.remove(ours, "weight")
    torch_prune.remove(theirs, "weight")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    assert isinstance(ours.weight, gg.nn.Parameter) and not prune.is_pruned(ours)
    np.testing.assert_array_equal(
        ours.weight.detach().cpu().numpy(), theirs.weight.detach().numpy()
    )


def test_importance_scores_custom_mask_identity_and_global(device):
    scores = RNG.standard_normal((4, 6))
    ours, theirs = _pair(device, RNG.standard_normal((4, 6)))
    prune.ln_structured(
        ours, "weight", 2, n=1, dim=1, importance_scores=gg.tensor(scores, device=device)
    )
    torch_prune.ln_structured(
        theirs, "weight", 2, n=1, dim=1, importance_scores=torch.tensor(scores)
    )
    _same_mask(ours, theirs)
    mask = (RNG.random(4) > 0.5).astype(float)
    prune.custom_from_mask(ours, "bias", gg.tensor(mask, device=device))
    torch_prune.custom_from_mask(theirs, "bias", torch.tensor(mask))
    _same_mask(ours, theirs, "bias")
    model = gg.nn.Sequential(gg.nn.Linear(3, 3), gg.nn.Linear(3, 2)).to(
        device=device, dtype=gg.float64
    )
    prune.identity(model[1], "bias")
    assert bool((model[1].bias_mask == 1).all())
    parameters = [(model[0], "weight"), (model[1], "weight")]
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=5)
    magnitudes = np.concatenate(
        [model[i].weight_orig.detach().cpu().numpy().ravel() for i in (0, 1)]
    )
    kept = np.concatenate([model[i].weight_mask.cpu().numpy().ravel() for i in (0, 1)])
    assert kept.sum() == magnitudes.size - 5
    assert np.abs(magnitudes[kept == 0]).max() <= np.abs(magnitudes[kept == 1]).min()


def test_random_pruning_counts_and_reproducibility(device):
    gg.manual_seed(2)
    a = prune.random_unstructured(gg.nn.Linear(5, 4, device=device), "weight", amount=0.25)
    assert int((a.weight_mask == 0).sum()) == 5
    gg.manual_seed(2)
    b = prune.random_unstructured(gg.nn.Linear(5, 4, device=device), "weight", amount=0.25)
    assert bool((a.weight_mask == b.weight_mask).all())
    c = prune.random_structured(gg.nn.Linear(5, 4, device=device), "weight", amount=2, dim=1)
    zero_columns = (c.weight_mask.sum(0) == 0).cpu().numpy()
    assert zero_columns.sum() == 2 and bool(((c.weight_mask == 0) | (c.weight_mask == 1)).all())


@pytest.mark.parametrize(
    "call",
    [
        lambda p, nn: p.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5),
        lambda p, nn: p.l1_unstructured(nn.Linear(2, 2), "weight", amount=-1),
        lambda p, nn: p.l1_unstructured(nn.Linear(2, 2), "weight", amount="x"),
        lambda p, nn: p.l1_unstructured(nn.Linear(2, 2), "weight", amount=5),
        lambda p, nn: p.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0),
        lambda p, nn: p.ln_structured(nn.Linear(2, 2), "weight", amount=1, n=2, dim=2),
        lambda p, nn: p.remove(nn.Linear(2, 2), "weight"),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch_prune, torch.nn)
    with pytest.raises(Exception) as ours:
        call(prune, gg.nn)
    assert ours.type is theirs.type
    normalize = lambda text: text.replace("torch.", "").replace("gpugrad.", "")  # noqa: E731
    if "module" not in str(theirs.value):
        assert normalize(str(ours.value)) == normalize(str(theirs.value))


def test_public_names_match_torch():
    public = {n for n in dir(torch_prune) if not n.startswith("_")}
    public = {
        n
        for n in public
        if getattr(getattr(torch_prune, n), "__module__", "") == torch_prune.__name__
    }
    assert public == set(prune.__all__)
