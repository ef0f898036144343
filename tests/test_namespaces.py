"""Public namespaces show PyTorch's names: ``dir(gpugrad.nn.functional)`` and
``dir(gpugrad.nn)`` list no private helper, typing name or ``Op`` object, and every public
name is one PyTorch's module has too, or a documented gpugrad extra (``EXTRAS``)."""

from __future__ import annotations

import inspect
import types

import pytest

import gpugrad as gg
import gpugrad.nn.functional as F

NN_NAMES = {
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "GELU",
    "Identity",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
    "parallel",
}
"""What ``gpugrad.nn`` exported when this test was written (other work adds layers)."""


def _public(module: types.ModuleType) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_")}


def test_functional_shows_only_its_functions():
    assert _public(F) == set(F.__all__) | {"EXTRAS", "Tensor"}
    assert all(callable(getattr(F, n)) for n in F.__all__)
    assert {"softmax", "log_softmax", "mse_loss", "cross_entropy", "dropout"} <= set(F.__all__)


def test_functional_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    theirs = set(dir(torch.nn.functional))
    assert sorted(_public(F) - theirs - set(F.EXTRAS) - {"EXTRAS"}) == []


def test_nn_shows_its_all():
    assert set(gg.nn.__all__) >= NN_NAMES
    private_modules = {"modules", "parameter"}  # packages Python binds on import, as torch's
    assert _public(gg.nn) - private_modules == set(gg.nn.__all__)


def test_nn_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    assert sorted(NN_NAMES - set(dir(torch.nn))) == []


def test_functional_is_the_op():
    # gg.softmax … take ``out=`` (gpugrad/_out.py): the functional forms are the ops unwrapped
    assert F.softmax is inspect.unwrap(gg.softmax) and F.log_softmax is inspect.unwrap(
        gg.log_softmax
    )
    assert F.sigmoid is inspect.unwrap(gg.sigmoid) and F.tanh is inspect.unwrap(gg.tanh)
