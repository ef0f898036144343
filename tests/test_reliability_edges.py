"""Issue 15's last edges, each against PyTorch on every device: a Python number that does
not fit the tensor's dtype is refused wherever PyTorch checks it (``x[0] = 1e300`` on
float32, ``fill_``, ``masked_fill``, ``index_fill``, ``scatter``, ``where``, ``clamp``'s
bounds); rows holding infinities through ``log_softmax``/``softmax``/``logsumexp`` and
``cross_entropy`` (values and gradients); ``var``/``std`` without degrees of freedom
(values, gradients and PyTorch's warning in every spelling)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

INF = math.inf


def _outcome(call, lib, device):
    """What ``call`` does with ``lib``: ``("ok", None)`` or the exception's class and text."""
    try:
        call(lib, device)
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return type(error).__name__, str(error)
    return "ok", None


# --- a Python number that does not fit the dtype ----------------------------------------
SCALAR_CASES = {
    "x[0] = 1e300 float32": lambda m, d: m.zeros(3, device=d).__setitem__(0, 1e300),
    "x[:] = -1e300 float32": lambda m, d: m.zeros(3, device=d).__setitem__(slice(None), -1e300),
    "x[mask] = 1e300": lambda m, d: (lambda x: x.__setitem__(x > -1, 1e300))(m.zeros(3, device=d)),
    "x[index] = 1e300": lambda m, d: m.zeros(3, device=d).__setitem__(
        m.tensor([0, 1], device=d), 1e300
    ),
    "x[0] = 1e300 recording a graph": lambda m, d: (
        m.zeros(3, device=d, requires_grad=True).clone().__setitem__(0, 1e300)
    ),
    "x[0] = 300 int8": lambda m, d: m.zeros(3, dtype=m.int8, device=d).__setitem__(0, 300),
    "x[0] = 2**40 int32": lambda m, d: m.zeros(3, dtype=m.int32, device=d).__setitem__(0, 2**40),
    "x[0] = 2**64 int64": lambda m, d: m.zeros(3, dtype=m.int64, device=d).__setitem__(0, 2**64),
    "x[0] = 2**200 float32": lambda m, d: m.zeros(3, device=d).__setitem__(0, 2**200),
    "x[0] = nan int32": lambda m, d: m.zeros(3, dtype=m.int32, device=d).__setitem__(0, math.nan),
    "x[0] = inf int32": lambda m, d: m.zeros(3, dtype=m.int32, device=d).__setitem__(0, INF),
    "x[0] = 256 uint8": lambda m, d: m.zeros(3, dtype=m.uint8, device=d).__setitem__(0, 256),
    "fill_ 2**40 int32": lambda m, d: m.zeros(3, dtype=m.int32, device=d).fill_(2**40),
    "full 2**40 int32": lambda m, d: m.full((2,), 2**40, dtype=m.int32, device=d),
    "masked_fill 1e300": lambda m, d: (lambda x: x.masked_fill(x > -1, 1e300))(
        m.zeros(3, device=d)
    ),
    "masked_fill_ 1e300": lambda m, d: (lambda x: x.masked_fill_(x > -1, 1e300))(
        m.zeros(3, device=d)
    ),
    "masked_fill 1e5 float16": lambda m, d: (lambda x: x.masked_fill(x > -1, 1e5))(
        m.zeros(3, dtype=m.float16, device=d)
    ),
    "masked_fill 1e20 int32": lambda m, d: (lambda x: x.masked_fill(x > -1, 1e20))(
        m.zeros(3, dtype=m.int32, device=d)
    ),
    "index_fill 1e300": lambda m, d: m.zeros(3, device=d).index_fill(
        0, m.tensor([0], device=d), 1e300
    ),
    "index_fill_ 300 int8": lambda m, d: m.zeros(3, dtype=m.int8, device=d).index_fill_(
        0, m.tensor([0], device=d), 300
    ),
    "scatter value 1e300": lambda m, d: m.zeros(3, device=d).scatter(
        0, m.tensor([0], device=d), 1e300
    ),
    "where other 1e300": lambda m, d: (lambda x: m.where(x > 0, x, 1e300))(m.zeros(3, device=d)),
    "where input 300 int8": lambda m, d: (lambda x: m.where(x > 0, 300, x))(
        m.zeros(3, dtype=m.int8, device=d)
    ),
    "clamp min 1e300": lambda m, d: m.zeros(3, device=d).clamp(1e300),
    "clamp max -1e300": lambda m, d: m.zeros(3, device=d).clamp(max=-1e300),
    "clamp_ 1e300": lambda m, d: m.zeros(3, device=d).clamp_(1e300),
    "clip 1e300": lambda m, d: m.zeros(3, device=d).clip(1e300),
    "clamp 300 int8": lambda m, d: m.zeros(3, dtype=m.int8, device=d).clamp(300),
    "clamp tensor min, max 1e300": lambda m, d: m.zeros(3, device=d).clamp(
        m.tensor(1.0, device=d), 1e300
    ),
    "scatter_ reduce add 1e300": lambda m, d: m.zeros(3, device=d).scatter_(
        0, m.tensor([0], device=d), 1e300, reduce="add"
    ),
    "lerp weight 1e300": lambda m, d: m.lerp(m.zeros(3, device=d), m.ones(3, device=d), 1e300),
    "where two numbers 1e300": lambda m, d: m.where(m.ones(3, dtype=m.bool, device=d), 1e300, 0.0),
    "hardtanh min -1e300": lambda m, d: m.nn.functional.hardtanh(m.zeros(3, device=d), -1e300),
    "pad value 1e300": lambda m, d: m.nn.functional.pad(m.zeros(3, device=d), (1, 1), value=1e300),
    "index_add alpha 1e300": lambda m, d: m.zeros(3, device=d).index_add(
        0, m.tensor([0], device=d), m.ones(1, device=d), alpha=1e300
    ),
    "softplus beta 1e300": lambda m, d: m.nn.functional.softplus(m.zeros(3, device=d), 1e300),
    "leaky_relu slope 1e300": lambda m, d: m.nn.functional.leaky_relu(m.zeros(3, device=d), 1e300),
    "elu alpha 1e300": lambda m, d: m.nn.functional.elu(m.zeros(3, device=d), 1e300),
}
"""Each refused by PyTorch 2.13 with "value cannot be converted to type T without
overflow" (or "Overflow when unpacking long long" for an int past int64)."""

SCALAR_ACCEPTED = {
    "x[0] = inf float32": lambda m, d: m.zeros(3, device=d).__setitem__(0, INF),
    "x[0] = nan float32": lambda m, d: m.zeros(3, device=d).__setitem__(0, math.nan),
    "x[0] = 1e5 float16 (indexing does not check)": lambda m, d: m.zeros(
        3, dtype=m.float16, device=d
    ).__setitem__(0, 1e5),
    "x[0] = 1.5 int32": lambda m, d: m.zeros(3, dtype=m.int32, device=d).__setitem__(0, 1.5),
    "x[0] = -1 uint8 (wraps)": lambda m, d: m.zeros(3, dtype=m.uint8, device=d).__setitem__(0, -1),
    "x[0] = -128 int8": lambda m, d: m.zeros(3, dtype=m.int8, device=d).__setitem__(0, -128),
    "x[0] = True float32": lambda m, d: m.zeros(3, device=d).__setitem__(0, True),
    "masked_fill 1.5 int32": lambda m, d: (lambda x: x.masked_fill(x > -1, 1.5))(
        m.zeros(3, dtype=m.int32, device=d)
    ),
    "clamp 1e20 int32 (promotes)": lambda m, d: m.zeros(3, dtype=m.int32, device=d).clamp(1e20),
    "x + 1e300 float32 (arithmetic is unchecked)": lambda m, d: m.zeros(3, device=d) + 1e300,
}


@pytest.mark.parametrize("name", list(SCALAR_CASES))
def test_a_number_that_does_not_fit_the_dtype_is_refused_as_pytorch(device, name):
    call = SCALAR_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any NumPy cast can warn
        ours = _outcome(call, gg, device)
    theirs = _outcome(call, torch, "cpu")
    assert theirs[0] != "ok"
    assert ours == theirs


@pytest.mark.parametrize("name", list(SCALAR_ACCEPTED))
def test_a_number_pytorch_accepts_is_still_accepted(device, name):
    call = SCALAR_ACCEPTED[name]
    assert _outcome(call, torch, "cpu") == ("ok", None)
    assert _outcome(call, gg, device) == ("ok", None)


def test_accepted_numbers_store_pytorchs_values(device):
    x = gg.zeros(3, dtype=gg.uint8, device=device)
    x[0] = -1
    x[1] = 255
    assert x.tolist() == [255, 255, 0]
    half = gg.zeros(2, dtype=gg.float16, device=device)
    half[0] = 1e5
    assert half.tolist() == [INF, 0.0]
    y = gg.zeros(3, device=device)
    y[1:] = INF
    assert y.tolist() == [0.0, INF, INF]


# --- rows holding infinities ------------------------------------------------------------
INFINITE_ROWS = {
    "one -inf": [[1.0, -INF, 2.0]],
    "two -inf": [[-INF, 0.5, -INF]],
    "all -inf": [[-INF, -INF, -INF]],
    "one +inf": [[1.0, INF, 2.0]],
    "mixed rows": [[1.0, -INF, 2.0], [0.0, 0.3, -INF], [0.5, 0.25, 1.0]],
}

WEIGHTS = [[1.0, 2.0, 3.0]]

ROW_CALLS = {
    "log_softmax": lambda m, x: m.log_softmax(x, 1) * m.tensor(WEIGHTS, dtype=x.dtype).to(x.device),
    "log_softmax target column": lambda m, x: m.nn.functional.log_softmax(x, 1)[:, 0],
    "softmax": lambda m, x: m.softmax(x, 1) * m.tensor(WEIGHTS, dtype=x.dtype).to(x.device),
    "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(
        x, m.zeros(x.shape[0], dtype=m.int64).to(x.device)
    ),
    "cross_entropy none": lambda m, x: m.nn.functional.cross_entropy(
        x, m.full((x.shape[0],), 2, dtype=m.int64).to(x.device), reduction="none"
    ),
    "cross_entropy smoothing": lambda m, x: m.nn.functional.cross_entropy(
        x, m.zeros(x.shape[0], dtype=m.int64).to(x.device), label_smoothing=0.1
    ),
    "CrossEntropyLoss weight": lambda m, x: m.nn.CrossEntropyLoss(
        weight=m.tensor(WEIGHTS[0], dtype=x.dtype).to(x.device)
    )(x, m.zeros(x.shape[0], dtype=m.int64).to(x.device)),
}


@pytest.mark.parametrize("row", list(INFINITE_ROWS))
@pytest.mark.parametrize("name", list(ROW_CALLS))
def test_rows_with_infinities_match_pytorch_values_and_gradients(device, name, row):
    values = INFINITE_ROWS[row]
    call = ROW_CALLS[name]
    x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning either
        out = call(gg, x)
        out.sum().backward()
    want = call(torch, xt)
    want.sum().backward()
    np.testing.assert_array_equal(
        np.isnan(out.detach().cpu().numpy()), np.isnan(want.detach().numpy())
    )
    np.testing.assert_allclose(out.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.cpu().numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_with_a_masked_class_is_finite_and_its_gradient_is_zero_there(device):
    logits = gg.tensor([[1.0, -INF, 0.5]], device=device, requires_grad=True)
    loss = gg.nn.functional.cross_entropy(logits, gg.tensor([0], device=device))
    loss.backward()
    want = math.log(math.exp(1.0) + math.exp(0.5)) - 1.0
    assert abs(loss.item() - want) < 1e-6
    assert logits.grad.tolist()[0][1] == 0.0


# --- var / std without degrees of freedom -----------------------------------------------
NO_FREEDOM = {
    "var()": lambda m, x: x.var(),
    "var(0)": lambda m, x: x.var(0),
    "var(dim=0, keepdim=True)": lambda m, x: x.var(dim=0, keepdim=True),
    "var(unbiased=True)": lambda m, x: x.var(unbiased=True),
    "var(0, unbiased=True)": lambda m, x: m.var(x, 0, unbiased=True),
    "var(correction=2)": lambda m, x: x.var(correction=2),
    "var((0, 1), correction=4)": lambda m, x: x.reshape(1, -1).var((0, 1), correction=4),
    "std()": lambda m, x: x.std(),
    "std(0, correction=1)": lambda m, x: m.std(x, 0, correction=1),
    "std(unbiased=True)": lambda m, x: x.std(unbiased=True),
    "var_mean()": lambda m, x: m.var_mean(x)[0],
    "var_mean(0)": lambda m, x: m.var_mean(x, 0)[0],
    "var_mean(correction=3)": lambda m, x: m.var_mean(x, correction=3)[0],
    "std_mean()": lambda m, x: m.std_mean(x)[0],
    "std_mean(0, unbiased=True)": lambda m, x: m.std_mean(x, 0, unbiased=True)[0],
    "std_mean(dim=0, correction=1)": lambda m, x: m.std_mean(x, dim=0, correction=1)[0],
}


def _run_recording(call, lib, x):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call(lib, x)
        out.sum().backward()
    texts = [str(w.message).partition(" (Triggered internally")[0] for w in caught]
    return out, texts, [w.category for w in caught]


@pytest.mark.parametrize("values", [[3.0], [[1.0, 2.0, 4.0]], [2.0, 2.0]], ids=str)
@pytest.mark.parametrize("name", list(NO_FREEDOM))
def test_no_degrees_of_freedom_values_gradients_and_warning_as_pytorch(device, name, values):
    call = NO_FREEDOM[name]
    x = gg.tensor(values, dtype=gg.float64, device=device, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    theirs, their_texts, _ = _run_recording(call, torch, xt)
    ours, our_texts, categories = _run_recording(call, gg, x)
    assert our_texts == their_texts
    assert all(category is UserWarning for category in categories)
    got, want = ours.detach().cpu().numpy(), theirs.detach().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    grad, want_grad = x.grad.cpu().numpy(), xt.grad.numpy()
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(want_grad))
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)


def test_variance_of_one_element_backward_is_nan_not_an_error(device):
    x = gg.tensor([5.0], device=device, requires_grad=True)
    with pytest.warns(UserWarning, match=r"^var\(\): degrees of freedom is <= 0"):
        v = x.var()
    v.backward()
    assert math.isnan(x.grad.item())


# --- polygamma at the infinities (the CPU's Hurwitz zeta looped forever at -inf) ----------
@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma_at_special_points_is_pytorchs(device, n):
    values = [INF, -INF, math.nan, 0.0, -1.0, -2.5, 0.5, 3.0, 1e20]
    ours = gg.polygamma(n, gg.tensor(values, dtype=gg.float64, device=device)).cpu().numpy()
    theirs = torch.polygamma(n, torch.tensor(values, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# --- comparing with a number past the dtype's range --------------------------------------
@pytest.mark.parametrize("operator", ["gt", "lt", "eq", "ge", "ne", "le"])
@pytest.mark.parametrize("number", [1e300, -1e300])
def test_comparing_with_a_number_past_float32_is_quiet_and_pytorchs(device, operator, number):
    values = [0.0, INF, -INF, 3e38, math.nan]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy warned "overflow encountered in cast"
        ours = getattr(gg.tensor(values, device=device), operator)(number)
    theirs = getattr(torch.tensor(values), operator)(number)
    assert ours.tolist() == theirs.tolist()
