"""``gpugrad.amp`` against PyTorch: autocast's state, nesting, decorator form, warnings and
the documented no-op arithmetic; GradScaler's scale, unscale, skipped steps on inf/NaN,
growth and backoff, errors and state_dict, step for step as ``torch.amp.GradScaler``."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
from against_torch import assert_raises_like_torch

import gpugrad as gg

torch = pytest.importorskip("torch")

NO_CUDA = not gg.cuda.is_available()


@pytest.mark.parametrize(
    "name", ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available"]
)
def test_signatures_match_pytorch(name):
    ours = inspect.signature(getattr(gg.amp, name)).parameters
    theirs = inspect.signature(getattr(torch.amp, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]
    assert set(torch.amp.__all__) <= set(gg.amp.__all__)


def test_autocast_state_nesting_and_decorator(device):
    assert gg.autocast is gg.amp.autocast
    assert not gg.is_autocast_enabled("cpu") and not gg.is_autocast_enabled()
    assert gg.get_autocast_dtype("cuda") == gg.float16  # PyTorch's too
    assert gg.get_autocast_dtype("cpu") == gg.float16  # PyTorch's is bfloat16 (none here)
    x = gg.randn(3, 3, device=device)
    with gg.autocast("cpu"):
        assert gg.is_autocast_enabled("cpu") and not gg.is_autocast_enabled("cuda")
        with gg.autocast("cpu", enabled=False):
            assert not gg.is_autocast_enabled("cpu")
        assert gg.is_autocast_enabled("cpu")
        y = x @ x  # documented no-op: the arithmetic keeps its dtype
        assert y.dtype == gg.float32
        np.testing.assert_allclose(y.cpu().numpy(), (x @ x).cpu().numpy())
    assert not gg.is_autocast_enabled("cpu")

    @gg.autocast("cpu", dtype=gg.float16)
    def inside():
        return gg.is_autocast_enabled("cpu"), gg.get_autocast_dtype("cpu")

    assert inside() == (True, gg.float16)
    assert not gg.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gg.autocast(0)
    with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):
        gg.autocast("xyz")


def test_cache_flag_and_nesting_as_pytorch():
    for lib in (gg, torch):
        assert lib.is_autocast_cache_enabled()
        with lib.autocast("cpu", cache_enabled=False):
            assert not lib.is_autocast_cache_enabled()
        assert lib.is_autocast_cache_enabled()
        lib.set_autocast_cache_enabled(False)
        assert not lib.is_autocast_cache_enabled()
        lib.set_autocast_cache_enabled(True)
        assert lib.autocast_increment_nesting() == 1
        assert lib.autocast_decrement_nesting() == 0
        assert lib.clear_autocast_cache() is None
    with gg.autocast("cpu"):
        assert gg.autocast_increment_nesting() == 2
        assert gg.autocast_decrement_nesting() == 1


def test_autocast_state_is_restored_after_an_exception():
    with pytest.raises(KeyError), gg.autocast("cpu"):
        raise KeyError
    assert not gg.is_autocast_enabled("cpu")


def test_autocast_unsupported_dtype_warns_and_disables_as_pytorch():
    with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
        ours = gg.autocast("cpu", dtype=gg.float64)
    with pytest.warns(UserWarning, match="In CPU autocast, but the target dtype is not supported"):
        theirs = torch.autocast("cpu", dtype=torch.float64)
    assert ours._enabled is theirs._enabled is False
    with ours:
        assert not gg.is_autocast_enabled("cpu")


@pytest.mark.skipif(not NO_CUDA, reason="checks the no-CUDA fallback")
def test_cuda_autocast_and_scaler_without_cuda_warn_and_disable_as_pytorch():
    text = "CUDA is not available or torch_xla is imported. Disabling autocast."
    with pytest.warns(UserWarning, match=text):
        assert gg.autocast("cuda")._enabled is False
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling."):
        scaler = gg.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    p = gg.nn.Parameter(gg.ones(2))
    opt = gg.optim.SGD([p], lr=1.0)
    loss = scaler.scale((p * p).sum())
    loss.backward()
    scaler.step(opt)
    scaler.update()
    assert p.tolist() == [-1.0, -1.0]


def test_legacy_spellings_warn_as_pytorch():
    import gpugrad.cpu.amp  # noqa: F401  (importable, as torch.cpu.amp)

    with pytest.warns(FutureWarning) as record:
        legacy = gg.cpu.amp.autocast()
    assert str(record[0].message) == (
        "`gpugrad.cpu.amp.autocast(args...)` is deprecated. Please use "
        "`gpugrad.amp.autocast('cpu', args...)` instead."
    )
    assert isinstance(legacy, gg.amp.autocast) and legacy.device == "cpu"
    with pytest.warns(FutureWarning, match=r"gpugrad.cpu.amp.GradScaler\(args...\)"):
        scaler = gg.cpu.amp.GradScaler(init_scale=8.0)
    assert scaler.get_scale() == 8.0
    assert callable(gg.cuda.amp.custom_fwd) and callable(gg.cuda.amp.GradScaler)
    for name in ("GradScaler", "autocast"):
        ours = inspect.signature(getattr(gg.cuda.amp, name).__init__).parameters
        theirs = inspect.signature(getattr(torch.cuda.amp, name).__init__).parameters
        assert list(ours) == list(theirs)


def _scaler_run(lib, param, scaler, steps, grad_override):
    """SGD steps through a scaler; ``grad_override[step]`` replaces one gradient value."""
    optimizer = lib.optim.SGD([param], lr=0.1, momentum=0.9)
    history = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = (param * param).sum() * 0.5
        scaler.scale(loss).backward()
        if step in grad_override:
            with lib.no_grad():
                param.grad[1] = grad_override[step]
        if step % 3 == 2:
            scaler.unscale_(optimizer)  # as before clipping
        result = scaler.step(optimizer)
        scaler.update()
        history.append((scaler.get_scale(), scaler._get_growth_tracker(), result, param.tolist()))
    return history


def test_grad_scaler_steps_as_pytorch(device):
    values = np.array([1.0, -2.0, 0.5])
    override = {1: float("inf"), 4: float("nan"), 5: float("-inf")}
    kwargs = {"init_scale": 1024.0, "growth_factor": 4.0, "backoff_factor": 0.25,
              "growth_interval": 2}  # fmt: skip
    ours = _scaler_run(
        gg,
        gg.nn.Parameter(gg.tensor(values, device=device)),
        gg.amp.GradScaler("cpu" if device == "cpu" else "cuda", **kwargs),
        9,
        override,
    )
    theirs = _scaler_run(
        torch, torch.nn.Parameter(torch.tensor(values)), torch.amp.GradScaler("cpu", **kwargs),
        9, override,
    )  # fmt: skip
    for (scale, tracker, result, params), (tscale, ttracker, tresult, tparams) in zip(ours, theirs):
        assert (scale, tracker, result) == (tscale, ttracker, tresult)
        np.testing.assert_allclose(params, tparams, rtol=1e-14)


def test_grad_scaler_scale_nested_outputs_and_state_dict():
    scaler, tscaler = gg.amp.GradScaler("cpu", init_scale=4.0), torch.amp.GradScaler("cpu", 4.0)
    a, b = gg.tensor([1.0, 2.0]), gg.tensor(3.0, dtype=gg.float64)
    scaled = scaler.scale([a, (b, a)])
    tscaled = tscaler.scale([torch.tensor([1.0, 2.0]), (torch.tensor(3.0, dtype=torch.float64),
                                                         torch.tensor([1.0, 2.0]))])  # fmt: skip
    assert isinstance(scaled, list) and isinstance(scaled[1], tuple)
    assert scaled[0].tolist() == tscaled[0].tolist() and scaled[1][0].dtype == gg.float64
    assert scaler.state_dict() == tscaler.state_dict()
    state = {"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.1, "growth_interval": 7,
             "_growth_tracker": 2}  # fmt: skip
    scaler.load_state_dict(state)
    tscaler.load_state_dict(state)
    assert scaler.state_dict() == tscaler.state_dict() == state
    for name in ("growth_factor", "backoff_factor", "growth_interval"):
        getattr(scaler, f"set_{name}")(5)
        assert getattr(scaler, f"get_{name}")() == 5
    scaler.update(2.0)
    assert scaler.get_scale() == 2.0
    scaler.update(gg.tensor([8.0]))
    assert scaler.get_scale() == 8.0
    with pytest.raises(AssertionError, match="new_scale should be a float"):
        scaler.update(gg.tensor([8.0, 1.0]))
    copied = pickle.loads(pickle.dumps(scaler))  # as PyTorch: the scale travels as a float
    assert copied.state_dict() == scaler.state_dict() and copied._scale is None
    p = gg.nn.Parameter(gg.ones(1))
    scaler.scale(p.sum()).backward()
    scaler.unscale_(gg.optim.SGD([p], lr=0.1))
    with pytest.raises(AssertionError, match="may only be pickled at the beginning"):
        pickle.dumps(scaler)


def test_grad_scaler_errors_as_pytorch():
    def pair(lib, scaler):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        return p, opt, scaler

    p, opt, scaler = pair(gg, gg.amp.GradScaler("cpu"))
    tp, topt, tscaler = pair(torch, torch.amp.GradScaler("cpu"))
    assert_raises_like_torch(lambda: scaler.step(opt), lambda: tscaler.step(topt))
    assert_raises_like_torch(lambda: scaler.update(), lambda: tscaler.update())
    assert_raises_like_torch(lambda: scaler.unscale_(opt), lambda: tscaler.unscale_(topt))
    scaler.scale((p * p).sum()).backward()
    tscaler.scale((tp * tp).sum()).backward()
    assert_raises_like_torch(
        lambda: scaler.step(opt, closure=lambda: 0), lambda: tscaler.step(topt, closure=lambda: 0)
    )
    scaler.unscale_(opt)
    tscaler.unscale_(topt)
    assert_raises_like_torch(lambda: scaler.unscale_(opt), lambda: tscaler.unscale_(topt))
    scaler.step(opt)
    tscaler.step(topt)
    assert_raises_like_torch(lambda: scaler.step(opt), lambda: tscaler.step(topt))
    assert_raises_like_torch(lambda: scaler.unscale_(opt), lambda: tscaler.unscale_(topt))
    assert_raises_like_torch(
        lambda: gg.amp.GradScaler("cpu", growth_factor=1.0),
        lambda: torch.amp.GradScaler("cpu", growth_factor=1.0),
    )
    assert_raises_like_torch(
        lambda: gg.amp.GradScaler("cpu", backoff_factor=1.0),
        lambda: torch.amp.GradScaler("cpu", backoff_factor=1.0),
    )
    assert_raises_like_torch(
        lambda: gg.amp.GradScaler("cpu").load_state_dict({}),
        lambda: torch.amp.GradScaler("cpu").load_state_dict({}),
    )
    half = gg.nn.Parameter(gg.ones(2, dtype=gg.float16))
    half_opt = gg.optim.SGD([half], lr=0.1)
    scaler = gg.amp.GradScaler("cpu")
    scaler.scale((half * half).sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        scaler.step(half_opt)


def test_custom_fwd_and_bwd():
    seen = {}

    class Square(gg.autograd.Function):
        @staticmethod
        @gg.amp.custom_fwd(device_type="cpu", cast_inputs=gg.float64)
        def forward(ctx, x):
            seen["forward"] = (x.dtype, gg.is_autocast_enabled("cpu"))
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @gg.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            seen["backward"] = gg.is_autocast_enabled("cpu")
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = gg.tensor([1.0, 2.0], requires_grad=True)
    with gg.autocast("cpu"):
        y = Square.apply(x)
    assert seen["forward"] == (gg.float64, False)  # cast, and run with autocast off
    y.sum().backward()
    assert seen["backward"] is False and x.grad.tolist() == [2.0, 4.0]
    y = Square.apply(x)  # outside autocast: no cast
    assert seen["forward"] == (gg.float32, False)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        gg.amp.custom_fwd(device_type=None)
