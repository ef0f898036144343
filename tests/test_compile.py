"""``gg.compile``: a compiled replay has the eager call's results and side effects.

Every case of the derivative table (``test_op_gradients.CASES``) runs as a training-style
step (forward, a weighted loss, ``backward``) eagerly and compiled on fresh data, values and
gradients compared exactly; a fuzzer draws random elementwise programs; training loops run
100 steps both ways; every fallback reason is triggered and its warning checked.
"""

from __future__ import annotations

import gc
import tracemalloc
import warnings

import numpy as np
import pytest
from test_op_gradients import CASES

import gpugrad as gg
from gpugrad.compile import CompileError, config

pytestmark = pytest.mark.filterwarnings("error::UserWarning")


def _array(t: gg.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy()


def _same(a: gg.Tensor | None, b: gg.Tensor | None, single: bool = False) -> None:
    """Equal values: exactly, or within a few ulps of the precision computed in (fused
    kernels' ``exp``, ``log``, ``sin`` … are libmvec's, not NumPy's); ``single`` when a
    float64 result was computed through float32."""
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype == gg.float64 and not single:
        np.testing.assert_allclose(_array(b), _array(a), rtol=1e-12, atol=1e-13)
    elif a.dtype in (gg.float32, gg.float64):
        np.testing.assert_allclose(_array(b), _array(a), rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(_array(a), _array(b))


def _leaves(values, device: str) -> tuple[gg.Tensor, ...]:
    return tuple(gg.tensor(v, dtype=gg.float64, device=device, requires_grad=True) for v in values)


def _train_step(fn):
    """``fn``'s outputs, a loss weighting each by ``cos(out + 1)``, and its backward."""

    def step(*xs):
        out = fn(*xs)
        outs = list(out) if isinstance(out, tuple) else [out]
        loss = None
        for o in outs:
            if o.requires_grad:
                term = (o * gg.cos(o.detach() + 1.0)).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
        return tuple(o.detach() for o in outs)

    return step


def _compare(step, compiled, values, device: str, single: bool = False) -> None:
    eager_in, compiled_in = _leaves(values, device), _leaves(values, device)
    gg.manual_seed(7)
    try:
        expected = step(*eager_in)
    except Exception as error:  # the replay must fail the same way
        gg.manual_seed(7)
        with pytest.raises(type(error)):
            compiled(*compiled_in)
        return
    gg.manual_seed(7)
    got = compiled(*compiled_in)
    assert len(got) == len(expected)
    for a, b in zip(expected, got):
        _same(a, b, single)
    for a, b in zip(eager_in, compiled_in):
        _same(a.grad, b.grad, single)


# cases whose op reads tensor data in Python (a documented eager fallback)
EAGER_CASES = {"median", "nanmedian", "nanquantile"}  # data-dependent: read on the host
EAGER_CASES |= {"index_copy", "masked_scatter"}  # s7-topx: index bounds / mask count read
# cases that compute in float32 or float16 before returning float64
SINGLE_PRECISION_CASES = {"to_float32"}


@pytest.fixture
def always_fuse(monkeypatch):
    """Every run the fused-kernel generator takes becomes a kernel (no timing choice), so
    the kernels' results are what the comparison sees."""
    monkeypatch.setattr(config, "fusion_autotune", False)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_compiled_equals_eager_for_every_table_case(c, device, always_fuse) -> None:
    step = _train_step(c.fn)
    compiled = gg.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(3):  # the trace, then two replays on fresh data
            values = [v + 0.001 * k if v.dtype.kind == "f" else v for v in c.inputs]
            _compare(step, compiled, values, device, c.name in SINGLE_PRECISION_CASES)
    fallbacks = [str(w.message) for w in caught if "gg.compile" in str(w.message)]
    if c.name in EAGER_CASES:
        assert fallbacks and "runs eagerly" in fallbacks[0]
    else:
        assert not fallbacks, fallbacks


# --- fuzzer ------------------------------------------------------------------------------
UNARY = [
    ("sin", gg.sin),
    ("cos", gg.cos),
    ("tanh", gg.tanh),
    ("sigmoid", gg.sigmoid),
    ("exp_clamped", lambda x: gg.exp(gg.clamp(x, -3.0, 3.0))),
    ("log_abs", lambda x: gg.log(gg.abs(x) + 0.5)),
    ("sqrt_abs", lambda x: gg.sqrt(x * x + 0.1)),
    ("neg", lambda x: -x),
    ("square", lambda x: x**2),
    ("relu", gg.relu),
    ("scale", lambda x: x * 0.7 + 0.1),
    ("softplus", gg.nn.functional.softplus),
    ("mean_keep", lambda x: x - x.mean(dim=-1, keepdim=True)),
    ("softmax", lambda x: gg.softmax(x, dim=-1)),
    ("cumsum", lambda x: gg.cumsum(x, dim=-1) * 0.3),
    ("transpose_back", lambda x: x.t().contiguous().t()),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1.0)),
    ("maximum", gg.maximum),
    ("minimum", gg.minimum),
    ("where", lambda a, b: gg.where(a > b, a, b * 0.5)),
    ("atan2", gg.atan2),
]


def _random_program(seed: int):
    rng = np.random.default_rng(seed)
    length = int(rng.integers(5, 31))
    plan = []
    for _ in range(length):
        if rng.random() < 0.6:
            plan.append(("u", int(rng.integers(len(UNARY))), 0))
        else:
            plan.append(("b", int(rng.integers(len(BINARY))), int(rng.integers(1, 4))))

    def program(x, y):
        values = [x, y]
        for kind, index, back in plan:
            if kind == "u":
                values.append(UNARY[index][1](values[-1]))
            else:
                values.append(BINARY[index][1](values[-1], values[-min(back, len(values))]))
        return values[-1].sum() + values[len(values) // 2].mean()

    return program, plan


@pytest.mark.parametrize("autotune", [False, True], ids=["fused", "autotuned"])
@pytest.mark.parametrize("seed", range(40))
def test_fuzzed_programs_replay_as_eager(seed, autotune, device, monkeypatch) -> None:
    monkeypatch.setattr(config, "fusion_autotune", autotune)
    program, plan = _random_program(seed)
    step = _train_step(program)
    compiled = gg.compile(step, fullgraph=True)
    rng = np.random.default_rng(1000 + seed)
    for _ in range(4):
        values = [rng.standard_normal((3, 5)), rng.standard_normal((3, 5))]
        _compare(step, compiled, values, device)
    assert compiled.cache_size == 1, plan


# --- training loops ----------------------------------------------------------------------
def _mlp_data(device):
    rng = np.random.default_rng(3)
    x = gg.tensor(rng.standard_normal((32, 6)), device=device)
    y = gg.tensor((rng.random((32, 1)) > 0.5).astype(np.float64), device=device)
    return x, y


def _mlp(device):
    gg.manual_seed(11)
    return gg.nn.Sequential(
        gg.nn.Linear(6, 16), gg.nn.Tanh(), gg.nn.Linear(16, 1), gg.nn.Sigmoid()
    ).to(device=device, dtype=gg.float64)


def _bce(p, y):
    p = gg.clamp(p, 1e-8, 1 - 1e-8)
    return -(y * gg.log(p) + (1 - y) * gg.log(1 - p)).mean()


def test_hand_written_sgd_loop_matches_eager(device) -> None:
    x, y = _mlp_data(device)
    runs = []
    for compile_it in (False, True):
        model = _mlp(device)
        lr = 0.1

        def step(x, y, model=model, lr=lr):
            loss = _bce(model(x), y)
            loss.backward()
            with gg.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
                    p.grad = None
            return loss.detach()

        fn = gg.compile(step) if compile_it else step
        losses = [fn(x, y) for _ in range(100)]
        runs.append((model, losses, fn))
    (eager_model, eager_losses, _), (model, losses, fn) = runs
    assert fn.cache_size == 1
    for a, b in zip(eager_losses, losses):
        _same(a, b)
    for a, b in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_allclose(_array(b), _array(a), rtol=0, atol=1e-12)
        assert b.grad is None
        assert a._version == b._version


def test_adam_loop_matches_eager(device) -> None:
    x, y = _mlp_data(device)
    runs = []
    for compile_it in (False, True):
        model = _mlp(device)
        opt = gg.optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = _bce(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        fn = gg.compile(step) if compile_it else step
        losses = [fn(x, y) for _ in range(100)]
        runs.append((model, opt, losses))
    (em, eopt, el), (cm, copt, cl) = runs
    for a, b in zip(el, cl):
        _same(a, b)
    for a, b in zip(em.parameters(), cm.parameters()):
        np.testing.assert_allclose(_array(b), _array(a), rtol=0, atol=1e-12)
        _same(a.grad, b.grad)
    for a, b in zip(em.parameters(), cm.parameters()):
        sa, sb = eopt.state[a], copt.state[b]
        assert float(sa["step"]) == float(sb["step"]) == 100
        np.testing.assert_allclose(_array(sb["exp_avg"]), _array(sa["exp_avg"]), atol=1e-12)


def test_compiled_module_forward(device) -> None:
    model = _mlp(device)
    compiled = gg.compile(model)
    x, _ = _mlp_data(device)
    with gg.no_grad():
        for _ in range(3):
            _same(compiled(x), model(x))
    assert sorted(n for n, _ in compiled.named_parameters()) == sorted(
        f"_orig_mod.{n}" for n, _ in model.named_parameters()
    )


def test_decorator_forms_and_backend_argument(device) -> None:
    @gg.compile
    def f(x):
        return x * 2

    @gg.compile(fullgraph=True)
    def g(x):
        return x + 1

    x = gg.ones(3, device=device)
    _same(f(x), x * 2)
    _same(g(x), x + 1)
    with pytest.raises(ValueError, match="backend must be one of"):
        gg.compile(f, backend="inductor")
    _same(gg.compile(lambda t: t * 3, backend="eager")(x), x * 3)


# --- side effects ------------------------------------------------------------------------
def test_grad_accumulates_and_resets_like_eager(device) -> None:
    w = gg.tensor([1.0, -2.0], dtype=gg.float64, device=device, requires_grad=True)

    def step(x):
        (w * x).sum().backward()

    compiled = gg.compile(step)
    x = gg.tensor([3.0, 4.0], dtype=gg.float64, device=device)
    for _ in range(3):
        compiled(x)
    _same(w.grad, gg.tensor([9.0, 12.0], dtype=gg.float64, device=device))
    first = w.grad
    compiled(x)
    assert w.grad is first  # accumulated in place, as the engine does
    w.grad = None
    compiled(x)
    _same(w.grad, gg.tensor([3.0, 4.0], dtype=gg.float64, device=device))


def test_rebinding_data_between_calls_is_seen(device) -> None:
    w = gg.tensor([1.0, 2.0], device=device)

    @gg.compile
    def f(x):
        return x * w

    x = gg.ones(2, device=device)
    f(x)
    f(x)
    w.data = gg.tensor([5.0, 6.0], device=device)
    _same(f(x), gg.tensor([5.0, 6.0], device=device))
    w.mul_(2)
    _same(f(x), gg.tensor([10.0, 12.0], device=device))


def test_in_place_updates_bump_version_counters(device) -> None:
    p = gg.zeros(3, device=device)
    q = gg.zeros(3, device=device)

    def update(v):
        p.add_(v)
        p.mul_(2)

    compiled = gg.compile(update)
    v = gg.ones(3, device=device)
    for _ in range(3):
        compiled(v)
        q.add_(v)
        q.mul_(2)
    _same(p, q)
    assert p._version == q._version == 6


def test_random_ops_draw_like_eager(device) -> None:
    def step(x):
        return gg.nn.functional.dropout(x, 0.5, training=True) + gg.rand_like(x)

    compiled = gg.compile(step)
    x = gg.ones(64, device=device)
    for seed in range(3):
        gg.manual_seed(seed)
        expected = step(x)
        gg.manual_seed(seed)
        _same(compiled(x), expected)
    a, b = compiled(x), compiled(x)
    assert not np.array_equal(_array(a), _array(b))  # fresh draws each replay


def test_returned_leaf_and_structure(device) -> None:
    w = gg.ones(2, device=device, requires_grad=True)

    @gg.compile
    def f(x):
        return {"w": w, "y": (x * 2, [x + 1]), "n": 3}

    x = gg.ones(2, device=device)
    f(x)
    out = f(x)
    assert out["w"] is w and out["n"] == 3
    _same(out["y"][0], x * 2)
    _same(out["y"][1][0], x + 1)


# --- guards and retracing ------------------------------------------------------------------
def test_new_shape_retraces(device) -> None:
    compiled = gg.compile(lambda x: gg.sin(x) * 2)
    for n in (2, 3, 2, 3):
        x = gg.ones(n, device=device)
        _same(compiled(x), gg.sin(x) * 2)
    assert compiled.cache_size == 2


SCALE = 2.0


def _scaled(x):
    return x * SCALE


def test_changing_a_global_number_retraces(device) -> None:
    global SCALE
    compiled = gg.compile(_scaled)
    x = gg.ones(2, device=device)
    _same(compiled(x), x * 2.0)
    _same(compiled(x), x * 2.0)
    SCALE = 5.0
    try:
        _same(compiled(x), x * 5.0)
    finally:
        SCALE = 2.0
    assert compiled.cache_size == 2


def test_changing_a_closure_number_and_grad_mode_retrace(device) -> None:
    lr = 0.5

    def f(x):
        return x * lr

    compiled = gg.compile(f)
    x = gg.ones(2, device=device, requires_grad=True)
    with gg.no_grad():
        _same(compiled(x), x.detach() * 0.5)
        lr = 3.0
        _same(compiled(x), x.detach() * 3.0)
    assert compiled.cache_size == 2


def test_recompile_limit_warns_once_then_runs_eagerly(device, monkeypatch) -> None:
    monkeypatch.setattr(config, "recompile_limit", 2)
    compiled = gg.compile(lambda x: x + 1)
    for n in (1, 2):
        compiled(gg.ones(n, device=device))
    with pytest.warns(UserWarning, match=r"hit the recompile limit \(2 signatures\)"):
        _same(compiled(gg.ones(3, device=device)), gg.ones(3, device=device) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(compiled(gg.ones(4, device=device)), gg.ones(4, device=device) + 1)
    assert compiled.cache_size == 2


# --- fallbacks, breaks and fullgraph ----------------------------------------------------
def _item(x):
    return x * x.sum().item()


def _print(x):
    print(x)
    return x + 1


def _tolist(x):
    return x.tolist()


def _to_numpy(x):
    return gg.tensor(x.cpu().numpy()) + 1


def _nonzero(x):
    return gg.nonzero(x > 0)


def _bool_after_write(x):
    x.add_(1)
    return x * 2 if bool((x > 0).all()) else x


def _register_hook(x):
    y = x * 2
    y.register_hook(lambda g: g * 3)
    y.sum().backward()
    return x.grad


def _stores_in_list(x, cache):
    cache.append(x * 2)
    return x


def _live_graph(x):
    return x * 2


BREAKS = [
    ("item", _item, "Tensor.item() (data-dependent Python value)", False),
    ("print", _print, "a tensor's values copied to the host", False),
    ("tolist", _tolist, "a tensor's values copied to the host", False),
    ("numpy", _to_numpy, "a tensor's values copied to the host", False),
    ("nonzero", _nonzero, "nonzero() (a data-dependent shape)", False),
    ("bool_after_write", _bool_after_write, "bool() of a tensor", False),
    ("register_hook", _register_hook, "Tensor.register_hook", True),
    ("live_graph", _live_graph, "returns a tensor whose autograd graph is still live", True),
]


@pytest.mark.parametrize("name,fn,reason,grad", BREAKS, ids=[b[0] for b in BREAKS])
def test_each_break_falls_back_with_its_warning(name, fn, reason, grad, device, capsys) -> None:
    compiled = gg.compile(fn)
    data = np.array([1.0, -2.0, 3.0])
    x_eager = gg.tensor(data, device=device, requires_grad=grad)
    x_comp = gg.tensor(data, device=device, requires_grad=grad)
    with pytest.warns(UserWarning, match="runs eagerly for this signature") as caught:
        got = compiled(x_comp)
    assert reason in str(caught[0].message)
    expected = fn(x_eager)
    for _ in range(2):  # later calls run eagerly, without a second warning
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            x_again = gg.tensor(data, device=device, requires_grad=grad)
            again = compiled(x_again)
            fn(gg.tensor(data, device=device, requires_grad=grad))
    for value in (got, again):
        if isinstance(expected, gg.Tensor):
            assert type(value._data) is type(expected._data)  # no proxy left behind
            np.testing.assert_array_equal(_array(value), _array(expected))
    _same(x_comp, x_eager)
    _same(x_comp.grad, x_eager.grad)
    with pytest.raises(CompileError, match="fullgraph=True"):
        gg.compile(fn, fullgraph=True)(gg.tensor(data, device=device, requires_grad=grad))
    capsys.readouterr()


def test_storing_a_new_tensor_outside_breaks(device) -> None:
    cache: list = []
    compiled = gg.compile(_stores_in_list)
    x = gg.ones(2, device=device)
    with pytest.warns(UserWarning, match="stores a tensor it made where gg.compile cannot"):
        compiled(x, cache)
    compiled(x, cache)
    assert len(cache) == 2
    for t in cache:
        np.testing.assert_array_equal(_array(t), [2.0, 2.0])
        assert type(t._data).__name__ != "Traced"


def test_input_with_a_graph_and_tensor_hooks_fall_back(device) -> None:
    x = gg.ones(2, device=device, requires_grad=True)
    compiled = gg.compile(lambda t: t * 2)
    with pytest.warns(UserWarning, match="carries an autograd graph made outside"):
        compiled(x + 1)
    h = gg.ones(2, device=device, requires_grad=True)
    h.register_hook(lambda g: g * 2)
    compiled_hooked = gg.compile(lambda t: (t * 3).sum().backward())
    with pytest.warns(UserWarning, match="a tensor with hooks"):
        compiled_hooked(h)
    _same(h.grad, gg.full((2,), 6.0, device=device))


def test_module_forward_hooks_fall_back(device) -> None:
    model = _mlp(device)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(1))
    compiled = gg.compile(lambda x: model(x))
    x, _ = _mlp_data(device)
    with pytest.warns(UserWarning, match="a module with forward hooks"):
        compiled(x)
    compiled(x)
    assert len(seen) == 2


def test_data_dependent_check_replays_and_diverges_to_eager(device) -> None:
    def pick(x, index):
        return gg.gather(x, 0, index) * 2

    compiled = gg.compile(pick)
    x = gg.arange(5.0, device=device)
    good = gg.tensor([0, 4], device=device)
    for _ in range(2):
        _same(compiled(x, good), pick(x, good))
    bad = gg.tensor([0, 9], device=device)
    with pytest.raises(Exception) as eager_error:
        pick(x, bad)
    with pytest.raises(type(eager_error.value), match="out of bounds|out of range"):
        compiled(x, bad)
    assert compiled.diverged == 1

    def branch(x):
        return x * 2 if bool((x > 0).all()) else x - 1

    compiled_branch = gg.compile(branch)
    for data in ([1.0, 2.0], [1.0, 2.0], [-1.0, 2.0], [3.0, 4.0]):
        t = gg.tensor(data, device=device)
        _same(compiled_branch(t), branch(t))
    assert compiled_branch.diverged == 1


def test_item_of_a_bool_tensor_is_speculated_as_bool(device) -> None:
    """``if isnan(x).any().item():`` replays while the answer holds, and a call where it
    differs runs eagerly (no break, no warning); ``.item()`` of a number still breaks."""

    def clean(x):
        if gg.isnan(x).any().item():
            x = gg.nan_to_num(x, nan=0.0)
        return x * 2

    compiled = gg.compile(clean)
    for data in ([1.0, 2.0], [1.0, 3.0], [float("nan"), 2.0], [4.0, 5.0]):
        t = gg.tensor(data, device=device)
        _same(compiled(t), clean(t))
    assert compiled.traces == 1 and compiled.diverged == 1
    report = gg.compile.explain(clean, gg.ones(2, device=device))
    assert report.captured and report.break_reasons == []


def test_explain_reports_capture_and_breaks(device) -> None:
    x = gg.ones(3, device=device, requires_grad=True)

    def good(x):
        (gg.sin(x) * 2).sum().backward()

    report = gg.compile.explain(good, x)
    assert report.captured and report.break_reasons == []
    assert report.instructions > 0 and "def entry" in report.source
    assert "captured: True" in str(report)
    bad = gg.compile.explain(_item, gg.ones(3, device=device))
    assert not bad.captured
    assert bad.break_reasons == ["Tensor.item() (data-dependent Python value)"]
    assert "Tensor.item()" in str(bad)


# --- no leak ---------------------------------------------------------------------------
def test_no_growth_over_10000_replays(device) -> None:
    w = gg.tensor([0.5, -0.5], dtype=gg.float64, device=device, requires_grad=True)
    x = gg.tensor([1.0, 2.0], dtype=gg.float64, device=device)

    @gg.compile
    def step(x):
        loss = (gg.sigmoid(w * x) ** 2).sum()
        loss.backward()
        with gg.no_grad():
            w.sub_(0.01 * w.grad)
        w.grad = None
        return loss.detach()

    for _ in range(200):
        step(x)
    gc.collect()
    objects = len(gc.get_objects())
    for _ in range(10_000):
        step(x)
    gc.collect()
    assert len(gc.get_objects()) - objects < 50
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(10_000):
        step(x)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown < 64 * 1024, grown
    assert step.cache_size == 1


def test_a_compiled_function_called_inside_another_is_inlined(device) -> None:
    inner = gg.compile(lambda t: gg.exp(t) * 2)
    w = gg.ones(3, device=device, requires_grad=True)

    @gg.compile
    def outer(x):
        (inner(w * x) + inner(x)).sum().backward()

    x = gg.full((3,), 0.5, device=device)
    for _ in range(3):
        outer(x)
    expected = gg.ones(3, device=device, requires_grad=True)
    for _ in range(3):
        (gg.exp(expected * x) * 2 + gg.exp(x) * 2).sum().backward()
    _same(w.grad, expected.grad)
    assert inner.cache_size == 0 and outer.cache_size == 2


def test_an_exception_in_the_trace_propagates_and_leaves_no_proxy(device) -> None:
    w = gg.ones(2, device=device, requires_grad=True)

    @gg.compile
    def f(x):
        (w * x).sum().backward()
        raise ValueError("user error")

    with pytest.raises(ValueError, match="user error"):
        f(gg.ones(2, device=device))
    assert type(w._data) is type(gg.ones(2, device=device)._data)
    assert type(w.grad._data) is type(w._data)
    _same(w.grad, gg.ones(2, device=device))
    assert f.cache_size == 0


def test_zero_grad_to_zeros_writes_in_place(device) -> None:
    model = _mlp(device)
    opt = gg.optim.SGD(model.parameters(), lr=0.1)
    x, y = _mlp_data(device)

    @gg.compile
    def step(x, y):
        opt.zero_grad(set_to_none=False)
        _bce(model(x), y).backward()
        opt.step()

    reference = _mlp(device)
    ref_opt = gg.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(5):
        step(x, y)
        ref_opt.zero_grad(set_to_none=False)
        _bce(reference(x), y).backward()
        ref_opt.step()
    for a, b in zip(reference.parameters(), model.parameters()):
        _same(a, b)
        _same(a.grad, b.grad)


def elementwise_chain_step(h0):
    """A step of five ``exp(clamp(sin(h * 0.5 + 0.25)))`` rounds from the leaf ``h0`` and its
    backward, returning ``h0``'s gradient and resetting it (also used by
    ``test_compile_fusion_runs``)."""

    def chain():
        h = h0
        for _ in range(5):
            h = gg.exp(gg.clamp(gg.sin(h * 0.5 + 0.25), -1.0, 1.0))
        h.sum().backward()
        grad = h0.grad
        h0.grad = None
        return grad

    return chain


def test_an_elementwise_chain_and_its_backward_become_one_kernel(device, always_fuse) -> None:
    pytest.importorskip("gpugrad.backends.kernels.fusion")
    h0 = gg.tensor(np.linspace(-1, 1, 64), device=device, requires_grad=True)
    chain = elementwise_chain_step(h0)
    report = gg.compile.explain(chain)
    assert report.captured and report.fused_kernels == 1
    assert report.fused_instructions > 40
    compiled = gg.compile(chain)
    for _ in range(3):
        _same(compiled(), chain())


def test_a_second_signature_builds_and_times_no_kernel_again(device, monkeypatch) -> None:
    """The step resets the leaf's gradient inside, so its second call (the leaf holding
    the first call's gradient) is a new signature tracing the same program: its kernels
    are neither built nor timed again."""
    pytest.importorskip("gpugrad.backends.kernels.fusion")
    from gpugrad.backends.kernels import fusion_c
    from gpugrad.compile import _fusion

    builds, timings = [], []
    build, timed = fusion_c.build, _fusion._timed_faster
    monkeypatch.setattr(fusion_c, "build", lambda source: builds.append(1) or build(source))
    monkeypatch.setattr(_fusion, "_timed_faster", lambda *a: timings.append(1) or timed(*a))
    z = gg.tensor(np.linspace(-3, 3, 50_000), device=device, requires_grad=True)
    scale = 1.0 + np.random.default_rng().random()  # a program no other test compiled

    def step(z):
        z.grad = None
        loss = (gg.log1p(gg.exp(-gg.abs(z * scale))) + gg.relu(z)).mean()
        loss.backward()
        return loss, z.grad

    compiled = gg.compile(step)
    first = compiled(z)
    made, timed_first = len(builds), len(timings)
    assert timed_first >= 1  # the first signature timed its kernels
    for _ in range(2):
        again = compiled(z)
        _same(again[0], first[0])
        _same(again[1], first[1])
    assert compiled.cache_size == 2  # the second call was a signature of its own
    assert len(builds) == made
    assert len(timings) == timed_first


def test_large_runs_are_timed_on_their_leading_rows() -> None:
    from gpugrad.compile import _fusion
    from gpugrad.compile._tracer import Traced

    big = np.ones((1000, 300), np.float32)
    column = np.ones((1000, 1), np.float32)
    cut = _fusion._timing_values([Traced(big, 0), Traced(column, 1), 2.0])
    rows = 1000 * _fusion.TIMED_ELEMENTS // big.size
    assert [v.shape for v in cut[:2]] == [(rows, 300), (rows, 1)] and cut[2] == 2.0
    small = np.ones(100, np.float32)
    assert _fusion._timing_values([Traced(small, 0)])[0] is small
    # a constant array of the full shape is read whole by the plain run: nothing is cut
    whole = _fusion._timing_values([Traced(big, 0), big])
    assert whole[0] is big and whole[1] is big


def test_sin_and_cos_of_one_value_in_one_kernel_match_numpy(device, always_fuse) -> None:
    """GCC merges sin(x) and cos(x) into sincos() unless cos is called by another name
    (the loop then vectorizes): the values stay NumPy's within an ulp or two."""
    pytest.importorskip("gpugrad.backends.kernels.fusion")
    x = gg.tensor(np.linspace(-4, 4, 4099, dtype=np.float32), device=device, requires_grad=True)

    def step(x):
        x.grad = None
        gg.sin(x * 1.5).sum().backward()
        return x.grad

    compiled = gg.compile(step)
    assert gg.compile.explain(step, x).fused_kernels == 1
    for _ in range(2):
        got = compiled(x).cpu().numpy()
        xs = np.linspace(-4, 4, 4099, dtype=np.float32)
        np.testing.assert_allclose(got, np.cos(xs * np.float32(1.5)) * 1.5, rtol=2e-6, atol=2e-6)


def test_seeding_inside_the_function_replays(device) -> None:
    def draw(x):
        gg.manual_seed(5)
        return x + gg.rand(4, device=device)

    compiled = gg.compile(draw)
    x = gg.zeros(4, device=device)
    expected = draw(x)
    for _ in range(3):
        gg.manual_seed(99)  # the function's own seed wins, as eagerly
        _same(compiled(x), expected)

    def fresh(x):
        gg.seed()
        return x + gg.rand(4, device=device)

    compiled_fresh = gg.compile(fresh)
    with pytest.warns(UserWarning, match=r"a seed drawn from the operating system"):
        compiled_fresh(x)
    b, c = compiled_fresh(x), compiled_fresh(x)
    assert not np.array_equal(_array(b), _array(c))

    def state(x):
        return gg.default_generator.get_state().sum() + x

    with pytest.warns(UserWarning, match=r"a generator's state read \(get_state\)"):
        gg.compile(state)(gg.zeros((), dtype=gg.int64))


def test_cnn_with_batchnorm_dropout_and_cross_entropy(device) -> None:
    """BatchNorm writes its running statistics before cross_entropy checks its targets
    (``bool``): the check moves before the writes, so a bad target later runs eagerly
    and raises eager's error, with nothing written by the replay."""

    def make():
        gg.manual_seed(0)
        model = gg.nn.Sequential(
            gg.nn.Conv2d(1, 4, 3),
            gg.nn.BatchNorm2d(4),
            gg.nn.ReLU(),
            gg.nn.Dropout(0.3),
            gg.nn.Flatten(),
            gg.nn.Linear(4 * 6 * 6, 3),
        ).to(device=device, dtype=gg.float64)
        return model, gg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    gg.manual_seed(4)
    x = gg.randn(5, 1, 8, 8, dtype=gg.float64, device=device)
    y = gg.tensor([0, 1, 2, 1, 0], device=device)
    runs = []
    for compile_it in (False, True):
        model, opt = make()

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = gg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        fn = gg.compile(step) if compile_it else step
        gg.manual_seed(1)
        runs.append((model, [fn(x, y) for _ in range(10)], fn))
    (em, el, _), (cm, cl, fn) = runs
    for a, b in zip(el, cl):
        _same(a, b)
    for a, b in zip(em.state_dict().values(), cm.state_dict().values()):
        _same(a, b)
    assert fn.cache_size == 2 and fn.diverged == 0
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        fn(x, gg.tensor([0, 1, 2, 1, 7], device=device))
    assert fn.diverged == 1
    with pytest.raises(IndexError):
        runs[0][2](x, gg.tensor([0, 1, 2, 1, 7], device=device))
    for a, b in zip(em.state_dict().values(), cm.state_dict().values()):
        _same(a, b)  # the same partial writes as eager before its error


def test_compiled_method_of_a_module(device) -> None:
    class Scaled(gg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = gg.nn.Parameter(gg.ones(3, device=device))
            self.scale = 2.0

        @gg.compile
        def forward(self, x):
            return self.w * x * self.scale

    a, b = Scaled(), Scaled()
    x = gg.ones(3, device=device)
    with gg.no_grad():
        _same(a(x), gg.full((3,), 2.0, device=device))
        b.scale = 3.0
        _same(b(x), gg.full((3,), 3.0, device=device))
        _same(a(x), gg.full((3,), 2.0, device=device))
    assert Scaled.forward.cache_size == 2


def test_constants_are_folded_only_where_nothing_can_change_them(device) -> None:
    def returns_constant(x):
        c = gg.ones(3, device=device) * 2
        return x + c, c

    compiled = gg.compile(returns_constant)
    x = gg.zeros(3, device=device)
    for _ in range(3):
        y, c = compiled(x)
        _same(y, gg.full((3,), 2.0, device=device))
        c.mul_(100)  # the user's copy: the next replay must not see it

    def writes_constant(x):
        c = gg.ones(3, device=device)
        c.add_(x)
        return c * 1

    compiled_write = gg.compile(writes_constant)
    for _ in range(3):
        _same(compiled_write(x + 1), gg.full((3,), 2.0, device=device))

    w = gg.ones(3, device=device, requires_grad=True)

    def seed_gradient(x):
        (w * x).sum().backward()
        grad = w.grad
        w.grad = None
        return grad

    compiled_seed = gg.compile(seed_gradient)
    report = gg.compile.explain(seed_gradient, x + 3)
    assert "v" in report.source
    for k in range(3):
        grad = compiled_seed(x + k)
        _same(grad, gg.full((3,), float(k), device=device))
        grad.mul_(0)


def test_a_helper_with_a_none_default_replays_instead_of_retracing(device):
    """A reachable function's ``None`` default is guarded as ``is None`` (the guard once
    named ``NoneType``, unknown to the generated code, so every call retraced)."""

    def scale(t, factor=None):
        return t * (2.0 if factor is None else factor)

    def step(x):
        x.grad = None
        y = scale(x).sum()
        y.backward()
        return y.detach(), x.grad

    compiled = gg.compile(step)
    x = gg.ones(3, device=device, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no recompile-limit warning
        for _ in range(12):
            loss, grad = compiled(x)
    assert loss.item() == 6.0
    assert grad.tolist() == [2.0, 2.0, 2.0]
    assert compiled.cache_size == 2  # x.grad unset on the first call, set on later ones


def test_a_trace_that_meets_the_auto_kernels_unresolved_is_captured() -> None:
    """The CPU's default "auto" kernels choose native or NumPy on the first fused call,
    rebinding the backend's fused methods; a trace made before that choice must not lose
    its recorders to it (it fell back to eager: "memory handed to C directly")."""
    previous = gg.backends.get_cpu_kernels()
    gg.backends.set_cpu_kernels("auto")
    try:
        x = gg.randn(100_000, requires_grad=True)

        def step(x):
            x.grad = None
            gg.sigmoid(x).sum().backward()
            return x.grad

        compiled = gg.compile(step)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = compiled(x).clone()
            second = compiled(x)
        assert not [w for w in caught if "gg.compile" in str(w.message)]
        expected = step(x)
        assert gg.equal(first, expected) and gg.equal(second, expected)
    finally:
        gg.backends.set_cpu_kernels(previous)


def test_backend_queries_receive_real_arrays_during_a_trace(monkeypatch) -> None:
    """Metadata queries (``shares_memory`` ...) are not recorded but must see the real
    arrays: CuPy's ``may_share_memory`` refuses anything else (every view op failed to
    trace on CUDA)."""
    backend = gg.backends.cpu
    original = backend.shares_memory
    seen = []

    def shares_memory(a, b):
        seen.append((type(a), type(b)))
        return original(a, b)

    monkeypatch.setattr(backend, "shares_memory", shares_memory, raising=False)
    w = gg.randn(3, 4, requires_grad=True)

    def step(x):
        w.grad = None
        (x @ w.t()).sum().backward()
        return w.grad

    x = gg.randn(2, 4)
    got = gg.compile(step)(x).clone()
    assert seen and all(a is np.ndarray and b is np.ndarray for a, b in seen)
    assert gg.allclose(got, step(x))
