"""``gg.compile(fn, dynamic=True)`` sees what Python code asks of the sizes: a traced
tensor's sizes are ``SymInt`` that record a guard wherever they steer Python (a
comparison, ``bool``, ``range``, a dict key, ``float``), and a shared replay checks those
guards, so a branch on a size is never replayed at a size that takes the other branch."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.compile._symbolic import Recorder, SymFloat, SymInt, plain

pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def _x(n: int, device: str, cols: int = 3) -> gg.Tensor:
    values = np.random.default_rng(n).standard_normal((n, cols))
    return gg.tensor(values, dtype=gg.float64, device=device)


def _run(fn, sizes, device, dynamic=True):
    """Calls the compiled ``fn`` at each size, each result compared with eager's; the
    compiled function."""
    compiled = gg.compile(fn, dynamic=dynamic)
    for n in sizes:
        x = _x(n, device)
        expected, got = fn(x), compiled(x)
        np.testing.assert_allclose(got.cpu().numpy(), expected.cpu().numpy(), rtol=1e-12)
    return compiled


def _threshold(x):
    if x.shape[0] > 100:
        return x.sum()
    return x.mean()


def test_branch_on_a_size_is_guarded(device) -> None:
    compiled = _run(_threshold, (10, 20, 150, 30), device)
    # 10 and 20 share a replay guarded on n <= 100; 150 misses it and is traced anew
    assert compiled.traces == 3
    compiled = _run(_threshold, (10, 20, 150, 30, 200, 5000, 40, 101, 100), device)
    # 150 and 200 share the other branch's replay: later sizes never trace
    assert compiled.traces == 4 and compiled.cache_size == 2


def test_branch_first_traced_on_both_sides(device) -> None:
    """Traces at sizes on either side of the threshold do not share; each side shares
    with its next size."""
    compiled = _run(_threshold, (10, 150, 20, 200, 30, 300, 3), device)
    assert compiled.traces == 4 and compiled.cache_size == 2


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum() if x.shape[0] // 2 > 10 else x.mean(),
        lambda x: x.sum() if x.size(0) * 3 == 60 else x.mean(),
        lambda x: x.sum() if x.numel() >= 90 else x.mean(),
        lambda x: x.sum() if len(x) == 20 else x.mean(),
        lambda x: x.sum() if -x.size()[0] < -15 else x.mean(),
        lambda x: x.sum() if (x.shape[0] - 1) % 7 else x.mean(),
        lambda x: x.sum() if x.shape[0] / 4 > 4.5 else x.mean(),
        lambda x: x.sum() if x.reshape(-1).shape[0] > 60 else x.mean(),
        lambda x: x.sum() if (x @ x.T).shape[1] == 20 else x.mean(),
        lambda x: x.sum() if int(x.shape[0]) > 15 else x.mean(),
        lambda x: x.sum() if float(x.shape[0] / 4) > 4.5 else x.mean(),
    ],
    ids=[
        "floordiv",
        "mul-eq",
        "numel",
        "len",
        "neg-size",
        "mod-bool",
        "truediv",
        "computed",
        "matmul",
        "int",
        "float",
    ],
)
def test_derived_sizes_are_guarded(fn, device) -> None:
    _run(fn, (5, 8, 20, 21, 22, 29, 30, 6), device)


def test_range_over_a_size(device) -> None:
    def fn(x):
        total = x[0]
        for i in range(1, x.shape[0]):
            total = total + x[i]
        return total

    compiled = _run(fn, (3, 4, 5, 4), device)
    assert compiled.traces == 3  # a loop count is a new program per size


def test_size_as_dict_key_and_min(device) -> None:
    scales = {10: 2.0, 20: 2.0}  # 10 and 20 scale alike: only the key tells them apart

    def keyed(x):
        return x * scales.get(x.shape[0], 1.0)

    compiled = _run(keyed, (10, 20, 30, 10), device)
    assert compiled.traces == 3

    def clipped(x):
        return x[: min(x.shape[0], 8)].sum(0)

    _run(clipped, (4, 5, 6, 12, 20, 7), device)


def test_float_of_a_size_is_seen_exactly(device) -> None:
    compiled = _run(lambda x: x * math.sqrt(x.shape[0]), (4, 9, 16), device)
    assert compiled.traces == 3


def test_sizes_through_the_program_still_share(device) -> None:
    """Sizes that only reach the program (a view, a divisor, a batch-norm correction)
    record no guard that stops sharing."""

    def fn(x):
        n = x.shape[0]
        return x.view(n, -1).sum(0) / n + x.sum() * (n / (n - 1))

    compiled = _run(fn, (4, 9, 16, 33), device)
    assert compiled.traces == 2 and compiled.dynamic_reasons == []


def test_returned_sizes_are_plain_ints(device) -> None:
    compiled = gg.compile(lambda x: (x.sum(), x.shape[0], x.shape), dynamic=True)
    for n in (4, 9, 16):
        _, size, shape = compiled(_x(n, device))
        assert type(size) is int and size == n
        assert type(shape) is gg.Size and all(type(s) is int for s in shape)
        assert shape == (n, 3)
    compiled = gg.compile(lambda x: (x.sum(), x.shape[0] * 2 + 1), dynamic=True)
    for n in (4, 9, 16, 5):
        _, size = compiled(_x(n, device))
        assert type(size) is int and size == 2 * n + 1
    assert compiled.traces == 2  # a shared replay computes the returned size


def test_not_dynamic_has_plain_sizes(device) -> None:
    def fn(x):
        assert type(x.shape[0]) is int and type(x.numel()) is int  # checked as traced
        return x.sum() if x.shape[0] > 100 else x.mean()

    compiled = _run(fn, (10, 20, 150, 10), device, dynamic=False)
    assert compiled.traces == 3


def test_sym_int_arithmetic_and_guards() -> None:
    recorder = Recorder()
    n = SymInt(12, "_s0_0", recorder)
    m = (n * 2 + 1) // 5 - (-n) % 7
    assert type(m) is SymInt and m == (12 * 2 + 1) // 5 - (-12) % 7
    assert recorder.guards == ["(((((_s0_0 * 2) + 1) // 5) - ((-_s0_0) % 7)) == 3)"]
    assert str(n) == "12" and repr(n) == "12" and f"{n:>4}" == "  12"
    assert type(n / 4) is SymFloat and n / 4 == 3.0
    assert type(abs(-n)) is SymInt and type(2**n) is SymInt and type(n**-1) is SymFloat
    assert list(range(n))[-1] == 11 and hash(n) == hash(12)
    assert float(n) == 12.0 and int(n) == 12 and type(int(n)) is int
    assert recorder.guards[-1] == "(_s0_0 == 12)"  # int() in user code: the exact size
    assert pickle.loads(pickle.dumps(n)) == 12 and type(pickle.loads(pickle.dumps(n))) is int
    assert plain((n, [n / 2], {"a": n})) == (12, [6.0], {"a": 12})
    assert type(plain(gg.Size((n, 3)))[0]) is int
    assert bool(n) and n != 0
    with pytest.raises(ZeroDivisionError):
        n // (n - 12)
    recorder.open = False
    before = len(recorder.guards)
    assert n > 3 and len(recorder.guards) == before  # a closed trace records nothing


def test_every_guard_evaluates_as_recorded() -> None:
    """Each recorded guard, evaluated with the traced value, holds."""
    recorder = Recorder()
    n = SymInt(7, "_s0_0", recorder)
    reflected = 3 < n  # noqa: SIM300 - the reflected comparison is the point
    checks = [n < 8, n <= 6, n > 2.5, n >= 7, n == 7, n != 7, reflected, n / 2 > 3.4, bool(n - 7)]
    assert checks == [True, False, True, True, True, False, True, True, False]
    float(n)
    hash(n - 1)
    for guard in recorder.guards:
        assert eval(guard, {}, {"_s0_0": 7}) is True, guard  # noqa: S307
        assert eval(guard, {}, {"_s0_0": 20}) is False or "== 7" not in guard  # noqa: S307
