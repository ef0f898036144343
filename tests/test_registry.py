"""The op registry is the one source of gpugrad's ops: the ``gpugrad.*`` exports, the
Tensor methods, the typed declarations (``_tensor_api.pyi``) and the derivative table all
come from it, and these tests fail when any of them disagree."""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import _tensor_methods, backends
from gpugrad._graph import Op
from gpugrad.ops import backward_ns, registry
from gpugrad.ops.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = [
    m
    for m in vars(gg.ops).values()
    if isinstance(m, types.ModuleType) and m.__name__.startswith("gpugrad.ops.")
]


def test_every_exported_op_is_the_registered_function():
    for d in REGISTRY.values():
        if d.export:
            # ops taking ``out=`` are exported wrapped (gpugrad/_out.py)
            assert inspect.unwrap(getattr(gg, d.name)) is d.function, d.name


def test_no_op_is_exported_around_the_registry():
    """Every public function of ``gpugrad`` that an op family defines is registered."""
    registered = {id(d.function) for d in REGISTRY.values()}
    stray = [
        name
        for name, value in vars(gg).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and value.__module__.startswith("gpugrad.ops.")
        and id(inspect.unwrap(value)) not in registered
    ]
    assert stray == []


def test_tensor_methods_are_the_registered_functions():
    for name, function in registry.methods().items():
        assert gg.Tensor.__dict__[name] is function, name
    for name, function in registry.properties().items():
        assert gg.Tensor.__dict__[name].fget is function, name
    for name in registry.inplace_methods():
        assert callable(gg.Tensor.__dict__[name]), name


def test_method_is_the_functional_op():
    assert gg.Tensor.sin is inspect.unwrap(gg.sin) and gg.Tensor.sum is inspect.unwrap(gg.sum)
    assert gg.Tensor.__add__ is inspect.unwrap(gg.add) and gg.Tensor.t is gg.t


def _stub_tree(text: str) -> ast.Module:
    return ast.parse(text)


def test_stub_file_is_what_the_registry_generates():
    """``gpugrad/_tensor_api.pyi`` equals the generated text up to formatting; run
    ``python scripts/gen_stubs.py`` after declaring an op."""
    on_disk = (ROOT / _tensor_methods.STUB_PATH).read_text()
    assert ast.dump(_stub_tree(on_disk)) == ast.dump(_stub_tree(_tensor_methods.render_stubs()))


def test_export_stubs_are_what_the_registry_generates():
    on_disk = (ROOT / _tensor_methods.EXPORTS_STUB_PATH).read_text()
    generated = _tensor_methods.render_export_stubs()
    assert ast.dump(_stub_tree(on_disk)) == ast.dump(_stub_tree(generated))
    assert sorted(gg._exports.__all__) == sorted(registry.exports())


def test_stubs_declare_exactly_the_attached_methods_with_their_parameters():
    tree = _stub_tree((ROOT / _tensor_methods.STUB_PATH).read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    declared = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    assert set(declared) == _tensor_methods.attached_names()
    for name, function in registry.methods().items():
        params = [a.arg for a in declared[name].args.args][1:]
        expected = [
            p.name
            for p in list(inspect.signature(function).parameters.values())[1:]
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        assert params == expected, name


def test_every_row_in_an_op_family_is_declared_by_an_op():
    """A derivative row that no declared op records would escape the gradient checks."""
    declared = {id(r) for r in registry.rows()}
    stray = [
        f"{family.__name__}.{name}"
        for family in FAMILIES
        for name, value in vars(family).items()
        if isinstance(value, Op) and id(value) not in declared
    ]
    assert stray == []


def test_a_name_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        registry.declare("sin")(lambda input: input)
    with pytest.raises(ValueError, match="Tensor.cos is declared by both"):
        registry.declare("my_cos", methods=("cos",))(lambda input: input)
    assert "my_cos" not in REGISTRY


def test_row_contracts_are_checked_when_the_table_is_built():
    def grad(ns, g, x, dim):
        return g

    assert Op("f", "FBackward0", None, (grad,), save=("x",), attrs=("dim",)).attrs == ("dim",)
    with pytest.raises(TypeError, match=r"takes \['x', 'dim'\]"):
        Op("f", "FBackward0", None, (grad,), save=("x",), attrs=("axis",))
    with pytest.raises(TypeError, match="in that order"):
        Op("f", "FBackward0", None, (lambda ns, g, o, x: g,), save=("o", "x"))
    with pytest.raises(TypeError, match="tuples of formulas"):
        Op("f", "FBackward0", None, lambda ns, g: g)


def test_backward_namespace_offers_what_the_backend_offers():
    """A formula runs on the backend (arrays) or on ``backward_ns`` (tensors): every name
    of the tensor namespace exists on the backend too."""
    for name in backward_ns.__all__:
        assert callable(getattr(backends.cpu, name)), name


def test_fused_rows_run_kernels_on_arrays_and_composites_on_tensors():
    fused = [r for r in registry.rows() if r.composite is not r.grads]
    assert {r.node_name for r in fused} >= {
        "SoftplusBackward0",
        "GeluBackward0",
        "BinaryCrossEntropyBackward0",
        "BinaryCrossEntropyWithLogitsBackward0",
    }
    for r in fused:
        assert len(r.composite) == len(r.grads)


GENERATED = [d for d in REGISTRY.values() if d.domain is not None]
"""Elementwise ops that declare a ``domain``: checked here against PyTorch on every device,
and in tests/test_op_gradients.py by gradcheck/gradgradcheck, with no line per op."""


def _arity(function) -> int:
    return sum(
        p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        for p in inspect.signature(function).parameters.values()
    )


@pytest.mark.parametrize("op", GENERATED, ids=lambda d: d.name)
def test_elementwise_op_matches_torch_on_device(op, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    values = [rng.uniform(*op.domain, (3, 4)) for _ in range(_arity(op.function))]
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        xs = [
            gg.tensor(v, dtype=getattr(gg, dtype), device=device, requires_grad=True)
            for v in values
        ]
        y = op.function(*xs)
        y.backward(gg.ones_like(y))
        xts = [torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True) for v in values]
        yt = getattr(torch, op.name)(*xts)
        yt.backward(torch.ones_like(yt))
        assert y.grad_fn.name() == yt.grad_fn.name()
        np.testing.assert_allclose(y.detach().cpu().numpy(), yt.detach().numpy(), rtol=rtol)
        for x, xt in zip(xs, xts):
            np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=rtol, atol=1e-7)
    if len(values) == 1:  # integer inputs compute in the default float dtype, as PyTorch's
        ints = gg.tensor([1, 2], device=device)
        theirs = getattr(torch, op.name)(torch.tensor([1, 2])).dtype
        assert op.function(ints).dtype.name == str(theirs).removeprefix("torch.")


F = gg.nn.functional
_P = np.random.default_rng(11).uniform(0.05, 0.95, (4, 5))
_X = np.random.default_rng(12).standard_normal((4, 5)) * 3
FUSED_CALLS = {
    "sigmoid": (lambda x, t: gg.sigmoid(x), _X),
    "softplus": (lambda x, t: F.softplus(x, beta=1.5, threshold=2.0), _X),
    "gelu": (lambda x, t: F.gelu(x), _X),
    "gelu_tanh": (lambda x, t: F.gelu(x, approximate="tanh"), _X),
    "bce": (lambda p, t: F.binary_cross_entropy(p, t, reduction="sum"), _P),
    "bce_eps": (lambda p, t: F.binary_cross_entropy(p, t, reduction="none", eps=0.1), _P),
    "bce_logits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t), _X),
    "bce_logits_pos_weight": (
        lambda x, t: F.binary_cross_entropy_with_logits(
            x,
            t,
            weight=gg.full((5,), 0.5, dtype=gg.float64, device=x.device),
            pos_weight=gg.full((5,), 2.0, dtype=gg.float64, device=x.device),
        ),
        _X,
    ),
}


@pytest.mark.parametrize("name", sorted(FUSED_CALLS))
def test_fused_kernels_agree_with_their_composites(name, device):
    """The kernel gradients (plain backward) equal the composite formulas' (the same
    backward with ``create_graph=True``), for the input and the target."""
    fn, values = FUSED_CALLS[name]
    target = np.random.default_rng(13).uniform(0.0, 1.0, values.shape)
    results = []
    for create_graph in (False, True):
        x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
        t = gg.tensor(target, dtype=gg.float64, device=device, requires_grad=True)
        out = fn(x, t)
        used = [x, t] if name.startswith("bce") else [x]
        grads = gg.autograd.grad(
            out, used, gg.ones_like(out) * 0.75, create_graph=create_graph, allow_unused=True
        )
        results.append([g.detach().cpu().numpy() for g in grads])
    for kernel, composite in zip(*results):
        np.testing.assert_allclose(kernel, composite, rtol=1e-10, atol=1e-12)
