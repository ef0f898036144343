"""A catalogue of bad input: each gets a clear error with PyTorch's type and message (where
PyTorch has one), never a wrong number. Where PyTorch is installed, the message is compared
with the one PyTorch raises for the same input."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import gpugrad as gg
from gpugrad.autograd import Function

try:
    import torch
except ImportError:  # the catalogue still checks gpugrad's own messages
    torch = None


class _WrongCount(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return grad


class _WrongShape(Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, grad):
        return gg.ones(5)


def _second_backward(lib: Any) -> None:
    x = lib.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward()
    y.backward()


def _saved_then_modified(lib: Any) -> None:
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h * h
    h.mul_(2)
    y.sum().backward()


def _no_grad_backward(lib: Any) -> None:
    x = lib.tensor(1.0, requires_grad=True)
    with lib.no_grad():
        y = x * 2
    y.backward()


def _leaf_in_place(lib: Any) -> None:
    lib.tensor([1.0], requires_grad=True).add_(1)


def _load_truncated(lib: Any) -> None:
    path = Path(tempfile.mkdtemp()) / "model.npz"
    gg.save({"w": gg.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:200])
    gg.load(path)


def _load_pickle(lib: Any) -> None:
    import numpy

    path = Path(tempfile.mkdtemp()) / "hostile.npz"
    numpy.savez(path, payload=numpy.array([object()], dtype=object))
    gg.load(path)


@dataclass
class Case:
    name: str
    run: Callable[[Any], Any]  # takes the library module: gpugrad or torch
    error: type[Exception]
    message: str  # a regex gpugrad's message must match
    same_as_torch: bool = True  # compare the full text with PyTorch's


CASES = [
    Case(
        "add shapes",
        lambda lib: lib.ones(2) + lib.ones(3),
        RuntimeError,
        r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
        r"dimension 0",
    ),
    Case(
        "mul shapes",
        lambda lib: lib.ones(2, 3) * lib.ones(4, 1, 2),
        RuntimeError,
        r"The size of tensor a \(3\) must match the size of tensor b \(2\)",
    ),
    Case(
        "where shapes",
        lambda lib: lib.where(lib.ones(2) > 0, lib.ones(3), lib.ones(2)),
        RuntimeError,
        r"must match the size of tensor b",
        same_as_torch=False,
    ),
    Case(
        "matmul shapes",
        lambda lib: lib.ones(2, 3) @ lib.ones(4, 5),
        RuntimeError,
        r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)",
    ),
    Case(
        "dot sizes",
        lambda lib: lib.ones(3) @ lib.ones(4),
        RuntimeError,
        r"inconsistent tensor size, expected tensor \[3\] and src \[4\]",
    ),
    Case(
        "matmul 0-d",
        lambda lib: lib.tensor(1.0) @ lib.ones(2),
        RuntimeError,
        r"both arguments to matmul need to be at least 1D, but they are 0D and 1D",
    ),
    Case(
        "matmul dtypes",
        lambda lib: lib.ones(2, 2) @ lib.ones(2, 2, dtype=lib.float64),
        RuntimeError,
        r"expected m1 and m2 to have the same dtype, but got: float != double",
    ),
    Case(
        "int requires grad",
        lambda lib: lib.tensor([1, 2], requires_grad=True),
        RuntimeError,
        r"Only Tensors of floating point and complex dtype can require gradients",
    ),
    Case(
        "non-scalar backward",
        lambda lib: (lib.ones(3, requires_grad=True) * 2).backward(),
        RuntimeError,
        r"grad can be implicitly created only for scalar outputs",
    ),
    Case(
        "gradient shape",
        lambda lib: (lib.ones(3, requires_grad=True) * 2).backward(lib.ones(2)),
        RuntimeError,
        r"Mismatch in shape: grad_output\[0\] has a shape of .*Size\(\[2\]\) and output\[0\] "
        r"has a shape of .*Size\(\[3\]\)",
        same_as_torch=False,
    ),
    Case(
        "second backward",
        _second_backward,
        RuntimeError,
        r"Trying to backward through the graph a second time",
    ),
    Case(
        "saved tensor modified",
        _saved_then_modified,
        RuntimeError,
        r"one of the variables needed for gradient computation has been modified by an "
        r"inplace operation: .* is at version 1; expected version 0 instead",
        same_as_torch=False,
    ),
    Case(
        "in-place leaf",
        _leaf_in_place,
        RuntimeError,
        r"a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    Case(
        "numpy of grad tensor",
        lambda lib: lib.ones(2, requires_grad=True).numpy(),
        RuntimeError,
        r"Can't call numpy\(\) on Tensor that requires grad. "
        r"Use tensor.detach\(\).numpy\(\) instead.",
    ),
    Case(
        "item of many",
        lambda lib: lib.ones(2).item(),
        RuntimeError,
        r"a Tensor with 2 elements cannot be converted to Scalar",
    ),
    Case(
        "view shape",
        lambda lib: lib.ones(2, 3).view(4, 2),
        RuntimeError,
        r"shape '\[4, 2\]' is invalid for input of size 6",
    ),
    Case(
        "index range",
        lambda lib: lib.ones(3)[5],
        IndexError,
        r"index 5 is out of bounds for dimension 0 with size 3",
    ),
    Case(
        "dim range",
        lambda lib: lib.ones(3).sum(2),
        IndexError,
        r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 2\)",
    ),
    Case(
        "backward without graph",
        _no_grad_backward,
        RuntimeError,
        r"element 0 of tensors does not require grad and does not have a grad_fn",
    ),
    Case(
        "cat sizes",
        lambda lib: lib.cat([lib.ones(2, 3), lib.ones(3, 2)]),
        RuntimeError,
        r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 "
        r"for tensor number 1 in the list.",
    ),
    Case(
        "stack sizes",
        lambda lib: lib.stack([lib.ones(2), lib.ones(3)]),
        RuntimeError,
        r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and \[3\] at "
        r"entry 1",
    ),
    Case(
        "expand size",
        lambda lib: lib.ones(3).expand(2, 4),
        RuntimeError,
        r"The expanded size of the tensor \(4\) must match the existing size \(3\) at "
        r"non-singleton dimension 1",
    ),
    Case(
        "in-place cast",
        lambda lib: lib.ones(2, dtype=lib.int64).add_(1.5),
        RuntimeError,
        r"result type Float can't be cast to the desired output type Long",
    ),
    Case(
        "requires_grad_ on non-leaf",
        lambda lib: (lib.ones(1, requires_grad=True) * 2).requires_grad_(False),
        RuntimeError,
        r"you can only change requires_grad flags of leaf variables",
    ),
    Case(
        "bool of many",
        lambda lib: bool(lib.ones(2)),
        RuntimeError,
        r"Boolean value of Tensor with more than one value is ambiguous",
    ),
    Case(
        "unknown device",
        lambda lib: lib.ones(2, device="tpu"),
        RuntimeError,
        r"Expected one of cpu, cuda device type at start of device string: tpu",
        same_as_torch=False,
    ),
    Case(
        "mean of ints",
        lambda lib: lib.ones(2, dtype=lib.int64).mean(),
        RuntimeError,
        r"mean\(\): could not infer output dtype. Input dtype must be either a floating "
        r"point or complex dtype. Got: Long",
        same_as_torch=False,
    ),
    Case(
        "Function gradient count",
        lambda lib: _WrongCount.apply(gg.ones(3, requires_grad=True), gg.ones(3)).sum().backward(),
        RuntimeError,
        r"function _WrongCountBackward returned an incorrect number of gradients "
        r"\(expected 2, got 1\)",
        same_as_torch=False,
    ),
    Case(
        "Function gradient shape",
        lambda lib: _WrongShape.apply(gg.ones(3, requires_grad=True)).sum().backward(),
        RuntimeError,
        r"Function _WrongShapeBackward returned an invalid gradient at index 0 - got \[5\] "
        r"but expected shape compatible with \[3\]",
        same_as_torch=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_a_clear_error(case: Case) -> None:
    with pytest.raises(case.error) as raised:
        case.run(gg)
    assert re.search(case.message, str(raised.value)), str(raised.value)
    if torch is not None and case.same_as_torch:
        with pytest.raises(Exception) as torch_raised:
            case.run(torch)
        assert type(raised.value) is type(torch_raised.value)
        ours = str(raised.value)
        theirs = str(torch_raised.value).replace("torch.", "gpugrad.")
        assert ours == theirs or theirs.startswith(ours), (ours, theirs)


def test_the_catalogue_is_broad():
    assert len(CASES) >= 20


def test_cuda_without_cupy_or_device_names_what_is_missing():
    if gg.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match=r"pip install 'gpugrad\[cuda13\]'|no CUDA device"):
        gg.ones(2, device="cuda")
