"""Reliability of the autograd core (issue 15): gradient accumulation from several threads,
``.grad`` and ``requires_grad`` assignment, grad-mode decorators on generators, leaves freed
by reference counting, integer overflow at creation, and misuse of the factories and of the
tensor raising PyTorch's exception classes."""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gpugrad as gg

try:
    import torch
except ImportError:  # gpugrad's own assertions still run; the comparisons need torch
    torch = None


def _on(lib: Any, device: str) -> str:
    """The device to ask ``lib`` for: PyTorch here is a CPU build."""
    return device if lib is gg else "cpu"


@pytest.fixture
def frequent_thread_switches():
    """Switch threads every microsecond, so that an unguarded read-add-write of ``.grad``
    loses updates within a few hundred backward passes (as it did before)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _in_threads(work: Callable[[int], None], n: int) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as error:  # noqa: BLE001 - re-raised below in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- 1. thread-safe gradient accumulation ---------------------------------------------------
def test_gradient_accumulation_from_several_threads_loses_nothing(device, frequent_thread_switches):
    # Large enough that NumPy releases the GIL inside the addition, as real models do.
    x = gg.zeros(100_000, device=device, requires_grad=True)
    y = (x * 2).sum()  # one graph, shared by the threads: each backward adds 2

    def backward_50_times(_: int) -> None:
        for _ in range(50):
            y.backward(retain_graph=True)

    for _ in range(4):  # 4 rounds of 2 threads x 50 passes
        _in_threads(backward_50_times, 2)
    assert x.grad.min().item() == x.grad.max().item() == 800.0


def test_hogwild_training_of_a_shared_weight_is_exact(device, frequent_thread_switches):
    w = gg.zeros(100_000, device=device, requires_grad=True)
    steps = 200

    def train(i: int) -> None:
        for _ in range(steps):
            (w.sum() * (i + 1)).backward()  # a fresh graph per step, one shared leaf

    _in_threads(train, 2)
    assert w.grad.min().item() == w.grad.max().item() == steps * (1 + 2)


# --- 2. .grad and requires_grad assignment ---------------------------------------------------
GRAD_ASSIGNMENTS = [
    (lambda L, d: L.ones(1, device=d), RuntimeError, "attempting to assign a gradient of size"),
    (lambda L, d: L.ones(2, 2, device=d), RuntimeError, "of size '\\[2, 2\\]' to a tensor of"),
    (lambda L, d: L.ones(2, dtype=L.float64, device=d), RuntimeError, "with dtype 'double'"),
    (lambda L, d: L.ones(2, dtype=L.int64, device=d), RuntimeError, "with dtype 'long int'"),
    (lambda L, d: [1.0, 1.0], TypeError, "but got grad of type list"),
    (lambda L, d: 1.0, TypeError, "but got grad of type float"),
]


@pytest.mark.parametrize("grad, error, message", GRAD_ASSIGNMENTS)
def test_grad_assignment_is_validated_as_pytorch_does(device, grad, error, message):
    a = gg.zeros(2, device=device, requires_grad=True)
    with pytest.raises(error, match=message) as raised:
        a.grad = grad(gg, device)
    assert a.grad is None
    if torch is not None:
        t = torch.zeros(2, requires_grad=True)
        with pytest.raises(Exception) as theirs:
            t.grad = grad(torch, "cpu")
        assert type(theirs.value) is type(raised.value)
        assert str(theirs.value).startswith(str(raised.value))


def test_valid_grad_assignment_is_kept_and_used(device):
    a = gg.zeros(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="can't assign Variable as its own grad"):
        a.grad = a
    a.grad = gg.tensor([1.0, 2.0], device=device)
    gg.optim.SGD([a], lr=1.0).step()
    assert a.tolist() == [-1.0, -2.0]
    a.grad = None
    assert a.grad is None


def test_requires_grad_of_a_computed_tensor_cannot_be_switched_off(device):
    y = gg.zeros(2, device=device, requires_grad=True) * 2
    for switch_off in (lambda: setattr(y, "requires_grad", False), lambda: y.requires_grad_(False)):
        with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
            switch_off()
    assert y.requires_grad and y.requires_grad_(True) is y
    with pytest.raises(RuntimeError, match="floating point and complex dtype"):
        gg.zeros(2, dtype=gg.int64, device=device).requires_grad = True
    with pytest.raises(RuntimeError, match="requires_grad must be a bool"):
        gg.zeros(2, device=device).requires_grad = 1
    leaf = gg.zeros(2, device=device)
    leaf.requires_grad = True
    assert leaf.requires_grad and leaf.is_leaf


def test_numpy_conversion_refuses_a_tensor_that_requires_grad():
    a = gg.zeros(2, requires_grad=True)
    for convert in (np.asarray, np.array):
        with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead."):
            convert(a)
    assert np.asarray(a.detach()).tolist() == [0.0, 0.0]


# --- 3. grad-mode decorators on generator functions -----------------------------------------
MODES = [
    (lambda: gg.no_grad(), False),
    (lambda: gg.enable_grad(), True),
    (lambda: gg.set_grad_enabled(False), False),
]


@pytest.mark.parametrize("make_mode, recording", MODES)
def test_grad_mode_decorator_applies_to_every_step_of_a_generator(device, make_mode, recording):
    x = gg.ones(2, device=device, requires_grad=True)
    finished: list[bool] = []

    @make_mode()
    def steps():
        try:
            received = yield (x * 2).requires_grad, gg.is_grad_enabled()
            while True:
                received = yield (x * received).requires_grad, gg.is_grad_enabled()
        finally:
            finished.append(gg.is_grad_enabled())

    caller = not recording
    with gg.set_grad_enabled(caller):
        generator = steps()
        assert next(generator) == (recording, recording)
        assert gg.is_grad_enabled() is caller  # the caller's own mode between steps
        assert generator.send(3.0) == (recording, recording)
        assert (x * 2).requires_grad is caller
        generator.close()
    assert finished == [recording]


def test_no_grad_generator_returns_its_value_and_sees_thrown_errors():
    @gg.no_grad()
    def steps():
        try:
            yield 1
        except KeyError:
            yield gg.is_grad_enabled()
        return "done"

    generator = steps()
    assert next(generator) == 1
    assert generator.throw(KeyError("k")) is False
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"


# --- 4. leaves freed by reference counting alone --------------------------------------------
def test_a_leaf_that_took_part_in_backward_is_freed_without_the_garbage_collector(device):
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for step in range(200):
            x = gg.randn(1 << 20, device=device, requires_grad=True)  # 4 MB
            (x * x).sum().backward()
            alive = weakref.ref(x)
            del x
            assert alive() is None, f"step {step}: the leaf outlived its last reference"
            if step == 10:
                start = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
        gc.enable()
    assert grown < 16 * 2**20, f"{grown / 2**20:.0f} MiB kept over 190 steps"


def test_a_graph_keeps_its_leaf_and_one_accumulator_as_in_pytorch(device):
    x = gg.ones(2, device=device, requires_grad=True)
    seen: list[list[float]] = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y1, y2 = x * 2, x * 3
    accumulator = y1.grad_fn.next_functions[0][0]
    assert y2.grad_fn.next_functions[0][0] is accumulator and accumulator.variable is x
    alive = weakref.ref(x)
    del x
    assert alive() is not None  # the graph still needs it
    (y1 + y2).sum().backward()
    assert seen == [[5.0, 5.0]] and alive().grad.tolist() == [5.0, 5.0]


# --- 5. integer overflow and dtype at creation ----------------------------------------------
OVERFLOWS = [
    (lambda L, d: L.tensor(2**63, device=d), ValueError, "Overflow when unpacking long long"),
    (lambda L, d: L.tensor([2**63], device=d), ValueError, "Overflow when unpacking long long"),
    (lambda L, d: L.tensor([-(2**63) - 1], device=d), ValueError, "Overflow when unpacking"),
    (lambda L, d: L.tensor([[1, 2], [3, 2**63]], device=d), ValueError, "Overflow when"),
    (lambda L, d: L.tensor([2**63, -1], device=d), ValueError, "Overflow when unpacking"),
    (lambda L, d: L.tensor(2**64, device=d), ValueError, "Overflow when unpacking long long"),
    (lambda L, d: L.tensor(300, dtype=L.int8, device=d), RuntimeError, "type int8 without"),
    (lambda L, d: L.tensor([1, 300], dtype=L.int8, device=d), RuntimeError, "type int8 with"),
    (lambda L, d: L.tensor(300.0, dtype=L.int8, device=d), RuntimeError, "type int8 without"),
    (lambda L, d: L.tensor(np.int64(300), dtype=L.int8, device=d), RuntimeError, "type int8"),
    (lambda L, d: L.tensor(-256, dtype=L.uint8, device=d), RuntimeError, "type uint8 without"),
    (lambda L, d: L.tensor(float("nan"), dtype=L.int64, device=d), RuntimeError, "type int64"),
    (lambda L, d: L.tensor(2**31, dtype=L.int32, device=d), RuntimeError, "type int32 without"),
    (lambda L, d: L.full((2,), 2**63, device=d), RuntimeError, "type int64_t without overflow"),
    (lambda L, d: L.full((2,), 300, dtype=L.int8, device=d), RuntimeError, "type int8_t with"),
]


@pytest.mark.parametrize("make, error, message", OVERFLOWS)
def test_integers_that_do_not_fit_are_refused_at_creation(device, make, error, message):
    with pytest.raises(error, match=message) as raised:
        make(gg, device)
    if torch is not None:
        with pytest.raises(Exception) as theirs:
            make(torch, "cpu")
        assert type(theirs.value) is type(raised.value)
        assert str(theirs.value) == str(raised.value)


FITTING = [
    lambda L, d: L.tensor(2**63 - 1, device=d),
    lambda L, d: L.tensor([-(2**63), 5], device=d),
    lambda L, d: L.tensor(-1, dtype=L.uint8, device=d),  # PyTorch wraps -255..-1
    lambda L, d: L.tensor([-255, 3], dtype=L.uint8, device=d),
    lambda L, d: L.tensor(3.7, dtype=L.int8, device=d),
    lambda L, d: L.tensor([127, -128], dtype=L.int8, device=d),
    lambda L, d: L.tensor([1.5, 2**70], device=d),
    lambda L, d: L.tensor([2**63], dtype=L.float64, device=d),
    lambda L, d: L.tensor(65536.0, dtype=L.float16, device=d),  # inf, as in PyTorch
    lambda L, d: L.tensor(np.array([300]), dtype=L.int8, device=d),  # arrays cast, wrapping
    lambda L, d: L.full((2,), -1, dtype=L.uint8, device=d),
]


@pytest.mark.parametrize("make", FITTING)
def test_values_pytorch_accepts_give_its_values_and_dtype(device, make):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy cast warning either
        ours = make(gg, device)
    if torch is not None:
        theirs = make(torch, "cpu")
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        assert ours.tolist() == theirs.tolist()


# --- 6. misuse raises PyTorch's exception class ---------------------------------------------
def _set(obj: Any, name: str, value: Any) -> None:
    setattr(obj, name, value)


MISUSE: dict[str, tuple[type[Exception], Callable[[Any, str], Any]]] = {
    "full((2,), None)": (TypeError, lambda L, d: L.full((2,), None, device=d)),
    "full((2,), 'a')": (TypeError, lambda L, d: L.full((2,), "a", device=d)),
    "full(2, 1.0)": (TypeError, lambda L, d: L.full(2, 1.0, device=d)),
    "full_like(t, None)": (TypeError, lambda L, d: L.full_like(L.zeros(2, device=d), None)),
    "zeros(True)": (TypeError, lambda L, d: L.zeros(True, device=d)),
    "zeros(2.5)": (TypeError, lambda L, d: L.zeros(2.5, device=d)),
    "zeros('a')": (TypeError, lambda L, d: L.zeros("a", device=d)),
    "zeros(None)": (TypeError, lambda L, d: L.zeros(None, device=d)),
    "zeros((True,))": (TypeError, lambda L, d: L.zeros((True,), device=d)),
    "zeros(2, 2.5)": (TypeError, lambda L, d: L.zeros(2, 2.5, device=d)),
    "zeros(-1)": (RuntimeError, lambda L, d: L.zeros(-1, device=d)),
    "zeros((2, -3))": (RuntimeError, lambda L, d: L.zeros((2, -3), device=d)),
    "ones(-2)": (RuntimeError, lambda L, d: L.ones(-2, device=d)),
    "empty(-1, 2)": (RuntimeError, lambda L, d: L.empty(-1, 2, device=d)),
    "rand(-1)": (RuntimeError, lambda L, d: L.rand(-1, device=d)),
    "randn(2, -3)": (RuntimeError, lambda L, d: L.randn(2, -3, device=d)),
    "full((-1,), 1.0)": (RuntimeError, lambda L, d: L.full((-1,), 1.0, device=d)),
    "arange(10, 0)": (RuntimeError, lambda L, d: L.arange(10, 0, device=d)),
    "arange(0, 10, -1)": (RuntimeError, lambda L, d: L.arange(0, 10, -1, device=d)),
    "arange(1, 0, 0.5)": (RuntimeError, lambda L, d: L.arange(1, 0, 0.5, device=d)),
    "arange(0, 10, 0)": (RuntimeError, lambda L, d: L.arange(0, 10, 0, device=d)),
    "arange(0, inf)": (RuntimeError, lambda L, d: L.arange(0, float("inf"), device=d)),
    "arange(nan)": (RuntimeError, lambda L, d: L.arange(float("nan"), device=d)),
    "arange(0, 1e20)": (RuntimeError, lambda L, d: L.arange(0, 1e20, device=d)),
    "arange(None)": (TypeError, lambda L, d: L.arange(None, device=d)),
    "arange('a')": (TypeError, lambda L, d: L.arange("a", device=d)),
    "arange(5, dtype=bool)": (
        NotImplementedError,
        lambda L, d: L.arange(5, dtype=L.bool, device=d),
    ),
    "linspace(0, 1, -1)": (RuntimeError, lambda L, d: L.linspace(0, 1, -1, device=d)),
    "eye(-1)": (RuntimeError, lambda L, d: L.eye(-1, device=d)),
    "eye(2, -1)": (RuntimeError, lambda L, d: L.eye(2, -1, device=d)),
    "eye(True)": (TypeError, lambda L, d: L.eye(True, device=d)),
    "eye(None)": (TypeError, lambda L, d: L.eye(None, device=d)),
    "randint(5, 2, (3,))": (RuntimeError, lambda L, d: L.randint(5, 2, (3,), device=d)),
    "randint(3, 3, (3,))": (RuntimeError, lambda L, d: L.randint(3, 3, (3,), device=d)),
    "randint(0, (3,))": (RuntimeError, lambda L, d: L.randint(0, (3,), device=d)),
    "randint(0, 5, (-1,))": (RuntimeError, lambda L, d: L.randint(0, 5, (-1,), device=d)),
    "randint(0, 5.5, (2,))": (TypeError, lambda L, d: L.randint(0, 5.5, (2,), device=d)),
    "randint(5)": (TypeError, lambda L, d: L.randint(5, device=d)),
    "tensor(None)": (RuntimeError, lambda L, d: L.tensor(None, device=d)),
    "tensor({})": (RuntimeError, lambda L, d: L.tensor({}, device=d)),
    "tensor([1, None])": (RuntimeError, lambda L, d: L.tensor([1, None], device=d)),
    "tensor([[1], [None]])": (RuntimeError, lambda L, d: L.tensor([[1], [None]], device=d)),
    "tensor(object())": (RuntimeError, lambda L, d: L.tensor(object(), device=d)),
    "tensor('abc')": (TypeError, lambda L, d: L.tensor("abc", device=d)),
    "tensor([[1, 2], [3]])": (ValueError, lambda L, d: L.tensor([[1, 2], [3]], device=d)),
    "tensor(1, requires_grad=True)": (
        RuntimeError,
        lambda L, d: L.tensor(1, requires_grad=True, device=d),
    ),
    "ones_like([1, 2])": (TypeError, lambda L, d: L.ones_like([1, 2])),
    "zeros_like(None)": (TypeError, lambda L, d: L.zeros_like(None)),
    "from_numpy([1, 2])": (TypeError, lambda L, d: L.from_numpy([1, 2])),
    "manual_seed(2**64)": (ValueError, lambda L, d: L.manual_seed(2**64)),
    "set_grad_enabled('a')": (TypeError, lambda L, d: L.set_grad_enabled("a")),
    "requires_grad = 'yes'": (
        RuntimeError,
        lambda L, d: _set(L.zeros(2, device=d), "requires_grad", "yes"),
    ),
    "requires_grad_(1)": (TypeError, lambda L, d: L.zeros(2, device=d).requires_grad_(1)),
    "int requires_grad_()": (
        RuntimeError,
        lambda L, d: L.zeros(2, dtype=L.int64, device=d).requires_grad_(),
    ),
    "non-leaf requires_grad = True": (
        RuntimeError,
        lambda L, d: _set(L.zeros(2, device=d, requires_grad=True) * 2, "requires_grad", True),
    ),
}

PYTORCH_2_13_TEXTS = {
    "full((2,), None)": "full(): argument 'fill_value' (position 2) must be Number, not NoneType",
    "full((2,), 'a')": "full(): argument 'fill_value' (position 2) must be Number, not str",
    "full(2, 1.0)": "full(): argument 'size' (position 1) must be tuple of ints, not int",
    "zeros(True)": "zeros(): argument 'size' (position 1) must be tuple of ints, not bool",
    "zeros(2.5)": "zeros(): argument 'size' (position 1) must be tuple of ints, not float",
    "zeros('a')": "zeros(): argument 'size' (position 1) must be tuple of ints, not str",
    "zeros(None)": "zeros(): argument 'size' (position 1) must be tuple of ints, not NoneType",
    "zeros((True,))": "zeros(): argument 'size' (position 1) must be tuple of ints, but found "
    "element of type bool at pos 0",
}
"""gpugrad's texts for these factory misuses: PyTorch 2.13's. Older PyTorch (2.11, beside the
GPU runner's CuPy) printed "full() received an invalid combination of arguments - got ..."
with its overloads instead; the test compares with the PyTorch installed when its text is
2.13's form, and always with these."""

# Where the text is PyTorch's too (the others name gpugrad's own types, or PyTorch lists its
# overloads).
SAME_TEXT = {
    "full((2,), None)",
    "full((2,), 'a')",
    "full(2, 1.0)",
    "full_like(t, None)",
    "zeros(True)",
    "zeros(2.5)",
    "zeros('a')",
    "zeros(None)",
    "zeros((True,))",
    "zeros(2, 2.5)",
    "zeros(-1)",
    "zeros((2, -3))",
    "ones(-2)",
    "empty(-1, 2)",
    "rand(-1)",
    "randn(2, -3)",
    "full((-1,), 1.0)",
    "arange(10, 0)",
    "arange(0, 10, -1)",
    "arange(1, 0, 0.5)",
    "arange(0, 10, 0)",
    "arange(0, inf)",
    "arange(nan)",
    "arange(0, 1e20)",
    "linspace(0, 1, -1)",
    "eye(-1)",
    "eye(2, -1)",
    "randint(5, 2, (3,))",
    "randint(3, 3, (3,))",
    "randint(0, (3,))",
    "randint(0, 5, (-1,))",
    "tensor(None)",
    "tensor({})",
    "tensor([1, None])",
    "tensor([[1], [None]])",
    "tensor(object())",
    "ones_like([1, 2])",
    "zeros_like(None)",
    "from_numpy([1, 2])",
    "manual_seed(2**64)",
    "set_grad_enabled('a')",
    "requires_grad = 'yes'",
    "requires_grad_(1)",
    "int requires_grad_()",
    "non-leaf requires_grad = True",
}


@pytest.mark.parametrize("name", list(MISUSE))
def test_misuse_raises_pytorchs_exception(device, name):
    error, make = MISUSE[name]
    with pytest.raises(Exception) as raised:
        make(gg, device)
    assert type(raised.value) is error, repr(raised.value)
    if torch is None:
        return
    with pytest.raises(Exception) as theirs:
        make(torch, "cpu")
    assert type(raised.value) is type(theirs.value), (repr(raised.value), repr(theirs.value))
    if name in SAME_TEXT:
        their_text = str(theirs.value).replace("torch.", "gpugrad.")
        function = name.partition("(")[0]
        if name in PYTORCH_2_13_TEXTS:
            assert str(raised.value) == PYTORCH_2_13_TEXTS[name]
        if their_text.startswith(f"{function}() received an invalid combination of arguments"):
            return  # an older PyTorch's wording (2.11), replaced in 2.13 by the one above
        assert str(raised.value) == their_text


def test_correct_use_of_the_checked_factories_still_works(device):
    assert gg.zeros(np.int64(2), 3, device=device).shape == (2, 3)
    assert gg.ones([2, 3], device=device).shape == (2, 3)
    assert gg.zeros((), device=device).shape == ()
    assert gg.arange(10, 0, -3, device=device).tolist() == [10, 7, 4, 1]
    assert gg.arange(gg.tensor(3), device=device).tolist() == [0, 1, 2]
    assert gg.eye(2, 3, device=device).shape == (2, 3)
    assert gg.full([2], True, device=device).dtype == gg.bool
    assert gg.full((2,), gg.tensor(1.5), device=device).tolist() == [1.5, 1.5]
    assert gg.randint(5, (4,), device=device).shape == (4,)
    values = gg.randint(2, 4, (100,), device=device)
    assert values.min().item() >= 2 and values.max().item() <= 3
    gg.manual_seed(-1)  # PyTorch takes negative seeds (modulo 2**64)
    first = gg.rand(3).tolist()
    gg.manual_seed(2**64 - 1)
    assert gg.rand(3).tolist() == first
