"""No NumPy floating-point warning leaks out of gpugrad, as none leaks out of PyTorch.

A catalogue of programs that make NumPy warn when computed naively (``log(0)``,
``exp(100)`` in float32, the gradient of ``sqrt`` at 0, ``0/0``, softmax of an all
``-inf`` row, fractional powers of negatives, casts that overflow, backward formulas that
divide by zero, empty and degenerate reductions, optimizers fed ``inf``) runs under
``warnings.simplefilter("error")``; each gives PyTorch's values. And the caller's NumPy
error state is the caller's: unchanged by gpugrad, and not obeyed by it (PyTorch does not
raise ``FloatingPointError`` either).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_errors import CASES as BAD_INPUT  # the other catalogues, reused
from test_reliability_core import MISUSE, OVERFLOWS

import gpugrad as gg

try:
    import torch
except ImportError:  # the values are then checked against gpugrad's own expectations only
    torch = None

INF, NAN = math.inf, math.nan


def _leaf(L: Any, values: Any, d: str, dtype: Any = None) -> Any:
    return L.tensor(values, dtype=dtype or L.float32, device=d, requires_grad=True)


def _grad_of(L: Any, f: Callable[[Any], Any], values: Any, d: str, dtype: Any = None) -> list:
    """``f(x)`` and the gradient of its sum at ``x = values``."""
    x = _leaf(L, values, d, dtype)
    y = f(x)
    y.sum().backward()
    return [y, x.grad]


def _grad2_of(L: Any, f: Callable[[Any, Any], Any], a: Any, b: Any, d: str) -> list:
    x, y = _leaf(L, a, d), _leaf(L, b, d)
    z = f(x, y)
    z.sum().backward()
    return [z, x.grad, y.grad]


def _double(L: Any, f: Callable[[Any], Any], values: Any, d: str) -> list:
    """Second derivative through ``create_graph``: formulas on tensors warn no more."""
    x = _leaf(L, values, d, L.float64)
    (g,) = L.autograd.grad(f(x).sum(), x, create_graph=True)
    g.sum().backward()
    return [g, x.grad]


def _optimizer(L: Any, make: Callable[[Any, list], Any], d: str) -> list:
    p = L.nn.Parameter(L.ones(2, device=d))
    opt = make(L, [p])
    for _ in range(2):
        p.grad = L.tensor([INF, 0.0], device=d)
        opt.step()
    return [p]


def _copy_into(L: Any, dtype: Any, values: Any, source_dtype: Any, d: str) -> list:
    x = L.zeros(len(values), dtype=dtype, device=d)
    x.copy_(L.tensor(values, dtype=source_dtype, device=d))
    return [x]


def _setitem(L: Any, d: str) -> list:
    x = L.zeros(3, device=d)
    x[0] = L.tensor(1e300, dtype=L.float64, device=d)
    x[1:] = L.tensor([1e300, -1e300], dtype=L.float64, device=d)
    return [x]


# Each program takes the library (gpugrad or torch) and a device; it returns tensors whose
# values must equal PyTorch's.
PROGRAMS: dict[str, Callable[[Any, str], list]] = {
    "log(0) and log(-1)": lambda L, d: [L.log(L.tensor([0.0, -1.0], device=d))],
    "log backward at 0": lambda L, d: _grad_of(L, L.log, [0.0, 1.0], d),
    "exp(100) float32": lambda L, d: _grad_of(L, L.exp, [100.0, 1.0], d),
    "exp(100) 0-d": lambda L, d: _grad_of(L, L.exp, 100.0, d),
    "expm1(1000)": lambda L, d: _grad_of(L, L.expm1, [1000.0], d),
    "log1p(-1)": lambda L, d: _grad_of(L, L.log1p, [-1.0, -2.0], d),
    "sqrt backward at 0": lambda L, d: _grad_of(L, L.sqrt, [0.0, 4.0], d),
    "sqrt backward at 0, 0-d": lambda L, d: _grad_of(L, L.sqrt, 0.0, d),
    "sqrt(-1)": lambda L, d: _grad_of(L, L.sqrt, [-1.0], d),
    "rsqrt(0)": lambda L, d: _grad_of(L, L.rsqrt, [0.0], d),
    "reciprocal(0)": lambda L, d: _grad_of(L, L.reciprocal, [0.0], d),
    "sin, cos, tan of inf": lambda L, d: [
        *_grad_of(L, L.sin, [INF], d),
        *_grad_of(L, L.cos, [INF], d),
        *_grad_of(L, L.tan, [INF], d),
    ],
    "0/0 and 1/0": lambda L, d: [L.tensor([0.0, 1.0], device=d) / L.zeros(2, device=d)],
    "x / 0 scalar": lambda L, d: [L.tensor([1.0, 0.0], device=d) / 0],
    "div backward at 0": lambda L, d: _grad2_of(L, lambda x, y: x / y, [1.0, 0.0], [0.0, 0.0], d),
    "div backward 0-d float64": lambda L, d: _grad_of(L, lambda x: x / 0.0, 0.0, d, L.float64),
    "int / int by 0": lambda L, d: [L.tensor([1, 0], device=d) / L.tensor([0, 0], device=d)],
    "inf - inf, inf * 0, overflow": lambda L, d: [
        *_grad2_of(L, lambda x, y: x - y, [INF], [INF], d),
        *_grad2_of(L, lambda x, y: x * y, [INF, 1e30], [0.0, 1e30], d),
        *_grad2_of(L, lambda x, y: x + y, [INF], [-INF], d),
    ],
    "float16 overflow": lambda L, d: [L.tensor([60000.0], dtype=L.float16, device=d) * 2],
    "pow of a negative to 0.5": lambda L, d: _grad_of(L, lambda x: x**0.5, [-2.0], d),
    "pow of a negative, tensor exponent": lambda L, d: _grad2_of(
        L, L.pow, [-2.0, 2.0], [0.5, 0.5], d
    ),
    "pow of 0 to -1": lambda L, d: _grad_of(L, lambda x: x**-1.0, [0.0], d),
    "pow backward at 0": lambda L, d: _grad_of(L, lambda x: x**0.5, [0.0], d),
    "0 ** x": lambda L, d: _grad_of(L, lambda x: 0.0**x, [-1.0, 0.0, 1.0], d),
    "softmax of an all -inf row": lambda L, d: _grad_of(
        L, lambda x: L.softmax(x, 1), [[-INF, -INF], [0.0, 1.0]], d
    ),
    "log_softmax of an all -inf row": lambda L, d: [
        L.log_softmax(L.tensor([[-INF, -INF], [0.0, 1.0]], device=d), 1)
    ],
    "softmax with inf": lambda L, d: [L.softmax(L.tensor([[INF, 0.0]], device=d), 1)],
    "logsumexp of -inf": lambda L, d: [L.logsumexp(L.tensor([-INF, -INF], device=d), 0)],
    "cross_entropy with -inf logits": lambda L, d: [
        L.nn.functional.cross_entropy(
            L.tensor([[-INF, -INF], [0.0, 1.0]], device=d), L.tensor([1, 0], device=d)
        )
    ],
    "cast inf and nan to int32": lambda L, d: [
        L.tensor([INF, -INF, 1e20], device=d).to(L.int32),
    ],
    "cast float64 1e300 to float32": lambda L, d: [
        L.tensor([1e300], dtype=L.float64, device=d).float()
    ],
    "cast 1e6 to float16": lambda L, d: [L.tensor([1e6], device=d).half()],
    "copy_ with overflow": lambda L, d: _copy_into(L, L.float32, [1e300, 1.0], L.float64, d),
    "copy_ into float16": lambda L, d: _copy_into(L, L.float16, [1e6, 1.0], L.float32, d),
    "setitem with overflow": lambda L, d: _setitem(L, d),
    "sum and prod overflow": lambda L, d: [
        *_grad_of(L, lambda x: x.sum(), [3e38, 3e38], d),
        L.tensor([1e30, 1e30], device=d).prod(),
    ],
    "mean of empty": lambda L, d: [L.zeros(0, device=d).mean(), L.zeros(0, 3, device=d).mean(0)],
    "std of constant slice": lambda L, d: _grad_of(L, lambda x: x.std(), [1.0, 1.0], d),
    "amax backward with nan": lambda L, d: _grad_of(L, lambda x: L.amax(x, 0), [NAN, 1.0], d),
    "matmul with inf": lambda L, d: _grad2_of(L, lambda x, y: x @ y, [[INF]], [[0.0]], d),
    "adam with an inf gradient": lambda L, d: _optimizer(L, lambda L, p: L.optim.Adam(p), d),
    "rmsprop with an inf gradient": lambda L, d: _optimizer(L, lambda L, p: L.optim.RMSprop(p), d),
    "adagrad with an inf gradient": lambda L, d: _optimizer(L, lambda L, p: L.optim.Adagrad(p), d),
    "second derivative of sqrt at 0": lambda L, d: _double(L, L.sqrt, [0.0, 1.0], d),
    "second derivative of log at 0": lambda L, d: _double(L, L.log, [0.0, 1.0], d),
    "sigmoid of +-1000 (fused kernel)": lambda L, d: _grad_of(L, L.sigmoid, [-1000.0, 1e3], d),
    "tanh of inf": lambda L, d: _grad_of(L, L.tanh, [INF, -INF], d),
    "binary_cross_entropy at 0 and 1": lambda L, d: _grad_of(
        L,
        lambda x: L.nn.functional.binary_cross_entropy(x, L.tensor([1.0, 0.0], device=d)),
        [0.0, 1.0],
        d,
    ),
    "bce_with_logits of inf": lambda L, d: _grad_of(
        L,
        lambda x: L.nn.functional.binary_cross_entropy_with_logits(
            x, L.tensor([0.0, 1.0], device=d)
        ),
        [INF, -INF],
        d,
    ),
    "mse_loss of inf": lambda L, d: _grad_of(
        L, lambda x: L.nn.functional.mse_loss(x, L.tensor([INF], device=d)), [INF], d
    ),
    "repr of inf and nan": lambda L, d: [
        L.tensor([len(repr(L.tensor([INF, NAN, 1e38, 1e-45], device=d))) > 0], device=d)
    ],
}


VALUES_DIFFER = {
    "std of constant slice": "std's gradient where the spread is 0 is nan, PyTorch's 0 "
    "(issue 15's special values, ops/reduce.py)",
}
"""Programs whose values still differ from PyTorch's for reasons that are not warnings;
their no-warning check still runs."""


DEVICE_DEFINED = {
    "cast inf and nan to int32": {"cuda": [[2**31 - 1, -(2**31), 2**31 - 1]]},
}
"""Values C leaves undefined, where each device gives its own (as PyTorch's tensors on that
device do): a float outside int32 cast to it saturates on CUDA, and is the minimum on x86
CPUs (NumPy's and PyTorch's CPU tensors). On CUDA the CuPy cast's values are checked."""


def _same(ours: Any, theirs: Any) -> bool:
    a = np.asarray(ours.detach().cpu().tolist(), dtype=np.float64)
    b = np.asarray(theirs.detach().tolist(), dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=0, equal_nan=True))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_no_floating_point_warning_and_pytorchs_values(device: str, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = PROGRAMS[name](gg, device)
    if device in DEVICE_DEFINED.get(name, {}):
        assert [a.tolist() for a in ours] == DEVICE_DEFINED[name][device]
        return
    if torch is not None and name not in VALUES_DIFFER:
        with np.errstate(all="ignore"):
            theirs = PROGRAMS[name](torch, "cpu")
        assert len(ours) == len(theirs)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert _same(a, b), f"{name}, result {i}: {a.tolist()} != PyTorch's {b.tolist()}"


def test_the_callers_numpy_error_state_is_neither_changed_nor_obeyed(device: str) -> None:
    before = np.geterr()
    try:
        np.seterr(all="raise")  # NumPy would raise FloatingPointError; PyTorch computes
        for name, program in PROGRAMS.items():
            program(gg, device)
            assert np.geterr() == dict.fromkeys(before, "raise"), name
        with pytest.raises(FloatingPointError):  # still the caller's state outside gpugrad
            np.log(np.zeros(1))
    finally:
        np.seterr(**before)
    assert np.geterr() == before


def test_numpy_warns_as_usual_outside_gpugrad(device: str) -> None:
    """The state gpugrad computes under is its own: the caller's NumPy code still warns,
    also right after a gpugrad op that silenced the same warning, and in another thread."""
    x = gg.tensor([0.0], device=device, requires_grad=True)
    gg.log(x).sum().backward()
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        np.log(np.zeros(1))
    assert np.geterr()["divide"] == "warn"


REFUSED: dict[str, tuple[type[Exception], Callable[[Any, str], Any]]] = {
    **{f"bad input: {c.name}": (c.error, lambda L, d, c=c: c.run(L)) for c in BAD_INPUT},
    **{f"misuse: {name}": (error, make) for name, (error, make) in MISUSE.items()},
    **{f"overflow {i}": (error, make) for i, (make, error, _) in enumerate(OVERFLOWS)},
}
"""The bad-input catalogues of ``test_errors`` and ``test_reliability_core``: each raises
its error, with no NumPy warning on the way there."""


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_input_raises_its_error_and_no_warning(device: str, name: str) -> None:
    error, make = REFUSED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Exception) as raised:
            make(gg, device)
    assert type(raised.value) is error, repr(raised.value)


def test_ops_in_many_threads_at_once_stay_silent(device: str) -> None:
    """Each thread computes in a context of its own (``fp_errors.quiet``): none is entered
    twice, and none warns."""
    import threading

    errors: list[BaseException] = []

    def work() -> None:
        try:
            x = gg.tensor([0.0, 1.0], device=device, requires_grad=True)
            for _ in range(200):
                (gg.log(x) * x / 0).sum().backward()
            assert x.grad.isnan().tolist() == [True, True]
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
