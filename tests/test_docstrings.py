"""Every public name has a docstring and a signature that ``inspect`` reads (the API
reference shows both): the functions and classes of each public namespace (its ``__all__``,
or its public ``dir()``), and ``Tensor``'s methods and properties, including the functions
the op registry generates. Where PyTorch's counterpart has a Python signature, gpugrad's
takes PyTorch's parameters in PyTorch's order, or the difference is listed with its reason."""

from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Iterator
from typing import Any

import pytest

import gpugrad as gg

NAMESPACES = (
    "gpugrad",
    "gpugrad.nn",
    "gpugrad.nn.functional",
    "gpugrad.nn.init",
    "gpugrad.nn.utils",
    "gpugrad.optim",
    "gpugrad.optim.lr_scheduler",
    "gpugrad.autograd",
    "gpugrad.utils.data",
    "gpugrad.distributed",
    "gpugrad.backends",
    "gpugrad.cuda",
    "gpugrad.viz",
)

# Being written in parallel: other work is editing the modules that define these (the op
# families in gpugrad/ops/, nn/functional.py, nn/modules/). The lead empties this list after
# merging it; nothing else may be added to it (test_pending_docstrings_are_only_...).
PENDING_DOCSTRINGS = {
    "gpugrad.nn.functional.relu",
    "gpugrad.nn.modules.activation.Sigmoid",
    "gpugrad.nn.modules.activation.Tanh",
    "gpugrad.nn.modules.linear.Identity",
    "gpugrad.ops.elementwise.add",
    "gpugrad.ops.elementwise.allclose",
    "gpugrad.ops.elementwise.div",
    "gpugrad.ops.elementwise.eq",
    "gpugrad.ops.elementwise.equal",
    "gpugrad.ops.elementwise.ge",
    "gpugrad.ops.elementwise.gt",
    "gpugrad.ops.elementwise.isfinite",
    "gpugrad.ops.elementwise.isnan",
    "gpugrad.ops.elementwise.le",
    "gpugrad.ops.elementwise.logical_and",
    "gpugrad.ops.elementwise.logical_not",
    "gpugrad.ops.elementwise.logical_or",
    "gpugrad.ops.elementwise.lt",
    "gpugrad.ops.elementwise.maximum",
    "gpugrad.ops.elementwise.minimum",
    "gpugrad.ops.elementwise.mul",
    "gpugrad.ops.elementwise.ne",
    "gpugrad.ops.elementwise.pow",
    "gpugrad.ops.elementwise.sub",
    "gpugrad.ops.index.chunk",
    "gpugrad.ops.index.split",
    "gpugrad.ops.linalg.bmm",
    "gpugrad.ops.linalg.dot",
    "gpugrad.ops.linalg.mm",
    "gpugrad.ops.linalg.mv",
    "gpugrad.ops.linalg.outer",
    "gpugrad.ops.reduce.all",
    "gpugrad.ops.reduce.amax",
    "gpugrad.ops.reduce.amin",
    "gpugrad.ops.reduce.any",
    "gpugrad.ops.reduce.argmax",
    "gpugrad.ops.reduce.argmin",
    "gpugrad.ops.reduce.cumsum",
    "gpugrad.ops.reduce.flip",
    "gpugrad.ops.reduce.log_softmax",
    "gpugrad.ops.reduce.logsumexp",
    "gpugrad.ops.reduce.mean",
    "gpugrad.ops.reduce.min",
    "gpugrad.ops.reduce.prod",
    "gpugrad.ops.reduce.softmax",
    "gpugrad.ops.reduce.std",
    "gpugrad.ops.reduce.sum",
    "gpugrad.ops.reduce.var",
    "gpugrad.ops.shape.T",
    "gpugrad.ops.shape.broadcast_to",
    "gpugrad.ops.shape.cat",
    "gpugrad.ops.shape.clone",
    "gpugrad.ops.shape.contiguous",
    "gpugrad.ops.shape.expand",
    "gpugrad.ops.shape.expand_as",
    "gpugrad.ops.shape.flatten",
    "gpugrad.ops.shape.mT",
    "gpugrad.ops.shape.permute",
    "gpugrad.ops.shape.squeeze",
    "gpugrad.ops.shape.stack",
    "gpugrad.ops.shape.t",
    "gpugrad.ops.shape.transpose",
    "gpugrad.ops.shape.unsqueeze",
    "gpugrad.ops.transfer.cpu",
    "gpugrad.ops.transfer.cuda",
    "gpugrad.ops.transfer.to",
}
PARALLEL_MODULES = (
    "gpugrad.ops.",
    "gpugrad.nn.functional",
    "gpugrad.nn.modules.",
    "gpugrad._inplace",
    "gpugrad.linalg",
    "gpugrad.autograd.functional",
)


def public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not isinstance(getattr(module, n), types.ModuleType)]


def definition(obj: Any, public: str) -> str:
    """Where ``obj`` is defined (``gpugrad.ops.elementwise.add``): one entry per object,
    however many public names it has (``gpugrad.add`` and ``Tensor.add`` are one function).
    A property whose getter is not a Python function goes by its public name."""
    if isinstance(obj, property):
        obj = obj.fget
    if type(obj).__name__ == "member_descriptor":  # a documented __slots__ entry
        owner = obj.__objclass__
        return f"{owner.__module__}.{owner.__qualname__}.{obj.__name__}"
    qualname = getattr(obj, "__qualname__", None)
    module = getattr(obj, "__module__", None)
    return public if qualname is None or module is None else f"{module}.{qualname}"


def documented_objects() -> Iterator[tuple[str, Any]]:
    """(public name, object) for every public callable, class, property and slot."""
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for name in public_names(module):
            obj = getattr(module, name)
            if callable(obj):
                yield f"{namespace}.{name}", obj
    for name in dir(gg.Tensor):
        if name.startswith("_"):
            continue
        obj = inspect.getattr_static(gg.Tensor, name)
        if callable(obj) or isinstance(obj, property) or hasattr(obj, "__objclass__"):
            yield f"gpugrad.Tensor.{name}", obj


def has_docstring(obj: Any) -> bool:
    # A class's own docstring (__doc__ is not inherited); a slot's is in __slots__ (a dict),
    # where inspect.getdoc (and so Sphinx) finds it.
    doc = inspect.getdoc(obj) if type(obj).__name__ == "member_descriptor" else obj.__doc__
    return isinstance(doc, str) and doc.strip() != ""


def undocumented() -> dict[str, list[str]]:
    missing: dict[str, list[str]] = {}
    for public, obj in documented_objects():
        if not has_docstring(obj):
            missing.setdefault(definition(obj, public), []).append(public)
    return missing


def test_the_walk_covers_every_namespace_and_the_tensor_api():
    found = dict(documented_objects())
    for expected in (
        "gpugrad.tensor",
        "gpugrad.add",  # registry-generated
        "gpugrad.sin",  # registry-generated by a family helper
        "gpugrad.nn.Linear",
        "gpugrad.nn.functional.mse_loss",
        "gpugrad.nn.init.kaiming_uniform_",
        "gpugrad.nn.utils.clip_grad_norm_",
        "gpugrad.optim.Adam",
        "gpugrad.optim.lr_scheduler.StepLR",
        "gpugrad.autograd.grad",
        "gpugrad.utils.data.DataLoader",
        "gpugrad.distributed.all_reduce",
        "gpugrad.backends.set_cpu_kernels",
        "gpugrad.cuda.is_available",
        "gpugrad.viz.make_dot",
        "gpugrad.Tensor.backward",
        "gpugrad.Tensor.shape",  # a property
        "gpugrad.Tensor.grad_fn",  # a slot
        "gpugrad.Tensor.sin_",  # an in-place form made by the registry
    ):
        assert expected in found, expected
    assert len(found) > 400


def test_every_public_name_has_a_docstring():
    missing = {k: v for k, v in undocumented().items() if k not in PENDING_DOCSTRINGS}
    assert missing == {}, "no docstring (defined where the key says): " + "\n".join(
        f"{k}: {', '.join(v)}" for k, v in sorted(missing.items())
    )


def test_pending_docstrings_are_only_those_written_in_parallel_and_still_missing():
    assert sorted(k for k in PENDING_DOCSTRINGS if not k.startswith(PARALLEL_MODULES)) == []
    done = PENDING_DOCSTRINGS - set(undocumented())
    assert sorted(done) == [], "documented now: remove these from PENDING_DOCSTRINGS"


def test_the_check_fails_on_what_it_should():
    def bare(x):
        return x

    class Bare:
        pass

    assert not has_docstring(bare) and not has_docstring(Bare)
    assert not has_docstring(type("Sub", (gg.nn.Linear,), {}))  # no inherited docstring
    assert has_docstring(gg.Tensor.grad_fn) and has_docstring(gg.nn.Linear)
    assert definition(gg.Tensor.add, "") == definition(gg.add, "") == "gpugrad.ops.elementwise.add"
    shape = inspect.getattr_static(gg.Tensor, "shape")
    assert definition(shape, "") == "gpugrad._tensor.Tensor.shape"


def signature_problem(obj: Any) -> str | None:
    """Why ``obj``'s signature is unusable, or None: it must be readable, and say more than
    ``(*args, **kwargs)`` (a wrapper that hides the real parameters)."""
    if isinstance(obj, property) or hasattr(obj, "__objclass__"):
        return None  # attributes: no call signature
    if isinstance(obj, type) and issubclass(obj, BaseException) and "__init__" not in vars(obj):
        return None  # raised, not called: the constructor is BaseException's (*args)
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError) as error:
        return f"unreadable ({error})"
    kinds = [p.kind for p in signature.parameters.values()]
    if kinds == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]:
        return f"only {signature}"
    return None


OPAQUE_SIGNATURES = {
    # Constructed by the factories only; Tensor(...) raises and says so, as its docstring does.
    "gpugrad._tensor.Tensor",
    # PyTorch's own signature: Identity takes and ignores any arguments.
    "gpugrad.nn.modules.linear.Identity",
}


def test_every_public_callable_has_a_readable_signature():
    problems = {}
    for public, obj in documented_objects():
        if definition(obj, public) in OPAQUE_SIGNATURES:
            continue
        problem = signature_problem(obj)
        if problem is not None:
            problems[public] = problem
    assert problems == {}


def test_signatures_are_the_ones_torch_declares_where_it_declares_them():
    """The registry-generated functions and the factories take PyTorch's parameter names
    (spot checks; the full comparison is tests/test_tensor_api.py's job)."""
    parameters = {
        gg.add: ["input", "other"],
        gg.sum: ["input", "dim", "keepdim", "dtype"],
        gg.zeros_like: ["input", "dtype", "device", "requires_grad"],
        gg.full: ["size", "fill_value", "dtype", "device", "requires_grad"],
        gg.nn.init.constant_: ["tensor", "val"],
        gg.autograd.backward: ["tensors", "grad_tensors", "retain_graph", "create_graph", "inputs"],
    }
    for function, names in parameters.items():
        assert list(inspect.signature(function).parameters)[: len(names)] == names, function


# Where gpugrad's parameters knowingly differ from PyTorch's (the check below lists the rest).
KNOWN_SIGNATURE_DIFFERENCES = {
    # gpugrad extras, after PyTorch's parameters or keyword-only:
    "gpugrad.nn.BatchNorm1d": "bias=, a gpugrad extra after PyTorch's parameters",
    "gpugrad.nn.BatchNorm2d": "bias=, a gpugrad extra after PyTorch's parameters",
    "gpugrad.nn.GroupNorm": "bias=, a gpugrad extra after PyTorch's parameters",
    "gpugrad.nn.functional.binary_cross_entropy": "eps=, a gpugrad extra; no size_average/reduce",
    "gpugrad.utils.data.DataLoader": "seed=, a gpugrad extra (keyword)",
    "gpugrad.distributed.init_process_group": "abort_on_exception= and comm=, gpugrad extras",
    # PyTorch's deprecated positional parameters are not accepted:
    "gpugrad.nn.L1Loss": "no size_average/reduce (deprecated in PyTorch)",
    "gpugrad.nn.MSELoss": "no size_average/reduce (deprecated in PyTorch)",
    "gpugrad.nn.BCELoss": "no size_average/reduce (deprecated in PyTorch)",
    "gpugrad.nn.BCEWithLogitsLoss": "no size_average/reduce (deprecated in PyTorch)",
    "gpugrad.nn.CrossEntropyLoss": "no size_average/reduce (deprecated in PyTorch)",
    "gpugrad.nn.functional.binary_cross_entropy_with_logits": "no size_average/reduce",
    "gpugrad.autograd.backward": "no grad_variables (deprecated in PyTorch)",
    "gpugrad.autograd.grad": "no only_inputs (deprecated in PyTorch)",
}


def signature_differences() -> dict[str, str]:
    """For every public gpugrad name whose PyTorch counterpart has a Python signature: a
    positional parameter at a position where PyTorch has another, or a parameter PyTorch
    does not have (a call written for PyTorch would mean something else, or fail)."""
    torch = pytest.importorskip("torch")
    counterparts = {
        "gpugrad": torch,
        "gpugrad.nn": torch.nn,
        "gpugrad.nn.functional": torch.nn.functional,
        "gpugrad.nn.init": torch.nn.init,
        "gpugrad.nn.utils": torch.nn.utils,
        "gpugrad.optim": torch.optim,
        "gpugrad.optim.lr_scheduler": torch.optim.lr_scheduler,
        "gpugrad.autograd": torch.autograd,
        "gpugrad.utils.data": torch.utils.data,
        "gpugrad.distributed": torch.distributed,
        "gpugrad.cuda": torch.cuda,
    }
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    differences = {}
    for namespace, torch_module in counterparts.items():
        module = importlib.import_module(namespace)
        for name in public_names(module):
            ours, theirs = getattr(module, name), getattr(torch_module, name, None)
            if theirs is None or not callable(ours):
                continue
            try:
                ours_sig, theirs_sig = inspect.signature(ours), inspect.signature(theirs)
            except (TypeError, ValueError):
                continue  # PyTorch's C functions declare no Python signature
            theirs_params = theirs_sig.parameters.values()
            if not theirs_sig.parameters or any(p.kind in variadic for p in theirs_params):
                continue  # nothing to compare with
            theirs_positional = [p.name for p in theirs_params if p.kind in positional]
            ours_params = [p for p in ours_sig.parameters.values() if p.kind not in variadic]
            ours_positional = [p.name for p in ours_params if p.kind in positional]
            if ours_positional != theirs_positional[: len(ours_positional)]:
                differences[f"{namespace}.{name}"] = (
                    f"positional {ours_positional}, PyTorch's {theirs_positional}"
                )
            unknown = [p.name for p in ours_params if p.name not in theirs_sig.parameters]
            if unknown:
                differences.setdefault(f"{namespace}.{name}", f"PyTorch has no {unknown}")
    return differences


def test_signatures_take_pytorchs_parameters_in_pytorchs_order():
    differences = signature_differences()
    unexplained = {k: v for k, v in differences.items() if k not in KNOWN_SIGNATURE_DIFFERENCES}
    assert unexplained == {}
    stale = sorted(set(KNOWN_SIGNATURE_DIFFERENCES) - set(differences))
    assert stale == [], "these agree with PyTorch now: remove them from the list"
    assert "gpugrad.optim.SGD" not in differences  # a PyTorch-compatible one, compared
