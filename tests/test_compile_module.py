"""``Module.compile()``: a module compiled in place, as ``torch.nn.Module.compile``; and the
guards of a compiled module (its parameters, buffers and ``training`` flag are read live)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.compile import CompileError

pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def _array(t: gg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _same(a: gg.Tensor, b: gg.Tensor) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(_array(b), _array(a), rtol=1e-12, atol=1e-13)


def _mlp(device: str) -> gg.nn.Module:
    gg.manual_seed(5)
    return gg.nn.Sequential(gg.nn.Linear(4, 8), gg.nn.Tanh(), gg.nn.Linear(8, 2)).to(
        device=device, dtype=gg.float64
    )


def _data(device: str, rows: int = 6) -> gg.Tensor:
    rng = np.random.default_rng(rows)
    return gg.tensor(rng.standard_normal((rows, 4)), device=device)


def test_compile_in_place_keeps_type_and_state_dict_keys(device) -> None:
    model = _mlp(device)
    keys = list(model.state_dict())
    assert model.compile() is None
    assert type(model) is gg.nn.Sequential
    assert list(model.state_dict()) == keys == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sorted(n for n, _ in model.named_parameters()) == sorted(keys)
    wrapped = gg.compile(_mlp(device))  # the wrapper, by contrast, prefixes its keys
    assert list(wrapped.state_dict()) == [f"_orig_mod.{k}" for k in keys]


def test_compiled_in_place_calls_replay_and_equal_eager(device) -> None:
    eager, compiled = _mlp(device), _mlp(device)
    compiled.compile()
    x = _data(device)
    with gg.no_grad():
        for _ in range(3):
            _same(eager(x), compiled(x))
    call = compiled._compiled_call_impl
    assert call.cache_size == 1  # traced once, replayed twice
    with gg.no_grad():
        report = gg.compile.explain(call, x)
    assert report.captured and report.instructions > 0


def test_compile_passes_its_arguments_to_gg_compile(device) -> None:
    class Reads(gg.nn.Module):
        def forward(self, x):
            return x * x.sum().item()

    model = Reads()
    model.compile(fullgraph=True)
    with pytest.raises(CompileError, match=r"item\(\)"):
        model(gg.ones(3, device=device))
    with pytest.raises(ValueError, match="backend must be one of"):
        _mlp(device).compile(backend="inductor")
    with pytest.raises(TypeError):
        _mlp(device).compile(True)  # torch.compile's options are keywords
    eager = _mlp(device)
    eager.compile(backend="eager")
    _same(eager(_data(device)), _mlp(device)(_data(device)))


def test_compiled_module_sees_training_flag_and_rebound_parameters(device) -> None:
    """The module's parameters, buffers and ``training`` are guarded and read live, in
    place and through ``gg.compile(module)``'s wrapper."""
    for in_place in (True, False):
        gg.manual_seed(1)
        model = gg.nn.Sequential(gg.nn.Linear(4, 3), gg.nn.Dropout(0.5)).to(dtype=gg.float64)
        model = model.to(device=device)
        if in_place:
            model.compile()
            call = model
        else:
            call = gg.compile(model)
        x = _data(device)
        with gg.no_grad():
            call(x)
            call(x)
            model.eval()
            _same(model[0](x), call(x))  # no dropout once in eval mode
            model[0].weight.data = gg.zeros(3, 4, dtype=gg.float64, device=device)
            _same(model[0].bias.expand(6, 3), call(x))


def test_compiled_module_inside_a_compiled_step_trains_as_eager(device) -> None:
    x = _data(device)
    target = gg.tensor(np.linspace(-1, 1, 12).reshape(6, 2), device=device)
    runs = []
    for compile_it in (False, True):
        model = _mlp(device)
        opt = gg.optim.SGD(model.parameters(), lr=0.1)
        if compile_it:
            model.compile()

        def step(x, model=model, opt=opt):
            opt.zero_grad()
            loss = ((model(x) - target) ** 2).mean()
            loss.backward()
            opt.step()
            return loss.detach()

        fn = gg.compile(step) if compile_it else step
        runs.append((model, [fn(x) for _ in range(20)]))
    (eager, eager_losses), (compiled, compiled_losses) = runs
    for a, b in zip(eager_losses, compiled_losses):
        _same(a, b)
    for a, b in zip(eager.parameters(), compiled.parameters()):
        _same(a, b)
        _same(a.grad, b.grad)


def test_compiled_module_with_live_graph_runs_eagerly(device) -> None:
    """``loss.backward()`` outside the compiled call: the call returns a live graph, which
    a replay cannot rebuild, so it runs eagerly (with the one-time warning)."""
    eager, compiled = _mlp(device), _mlp(device)
    compiled.compile()
    x = _data(device)
    with pytest.warns(UserWarning, match="autograd graph is still live"):
        compiled(x).sum().backward()
    compiled(x).sum().backward()
    for _ in range(2):
        eager(x).sum().backward()
    for a, b in zip(eager.parameters(), compiled.parameters()):
        _same(a.grad, b.grad)


def test_forward_hooks_run_and_copies_are_not_compiled(device) -> None:
    model = _mlp(device)
    model.compile()
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    x = _data(device)
    with pytest.warns(UserWarning, match="forward hooks"), gg.no_grad():
        out = model(x)
    assert seen == [out.shape]
    clone = copy.deepcopy(model)
    assert clone._compiled_call_impl is None and model._compiled_call_impl is not None
    with gg.no_grad():
        _same(clone(x), out)
