"""Fused losses and activations: ``softplus``, ``gelu`` (and its ``ndtr``), binary cross
entropy on probabilities and on logits.

Each runs one fused kernel forward (``backends.kernels``: NumPy over cache-sized blocks on
the CPU, one CuPy launch on a GPU, the mean/sum reduction included) and records one row
whose ``grads`` are again fused kernels on arrays and whose ``composite`` formulas,
written with gpugrad ops, run on tensors for ``create_graph=True``, so gradients of
gradients work. ``gpugrad.nn.functional`` exports them.

Semantics and error messages are PyTorch's (``torch.nn.functional``), except where a
docstring says otherwise. On CUDA, BCE does not check that its input lies in [0, 1]
(checking would wait for the device): out-of-range values give NaN there.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

from .._grad_mode import state as _grad_state
from .._graph import Op, is_unit_seed
from .._tensor import Size, Tensor, _wrap
from ..backends import dtypes as _dtypes
from ..backends import python_data as _python_data
from ..backends.kernels import defs as K
from .dispatch import broadcast_error, device_error, record
from .elementwise import clamp, exp, log, log1p, logical_and, sigmoid, tanh, where
from .index import index_scatter
from .reduce import softmax
from .registry import declare
from .shape import cat, stack
from .transfer import to_dtype


# --- helpers ------------------------------------------------------------------------------
def _constant(data: Any, like: Tensor) -> Tensor | None:
    return None if data is None else _wrap(data, like._backend)


def _type_name(dtype: Any) -> str:
    return _dtypes.SCALAR_TYPE_NAMES[dtype.name]


def _require_float(input: Tensor, kernel_name: str) -> None:
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"{kernel_name}\" not implemented for '{_type_name(input._data.dtype)}'"
        )


def _reduction(reduction: str, n: int) -> tuple[bool, float]:
    """(reduce in the kernel, divisor) for PyTorch's ``reduction`` argument."""
    if reduction == "mean":
        return True, float(n)
    if reduction == "sum":
        return True, 1.0
    if reduction == "none":
        return False, 1.0
    raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """``reduction``, or PyTorch's reading of the deprecated ``size_average`` and
    ``reduce`` flags of its losses when either is given (with PyTorch's warning)."""
    if size_average is None and reduce is None:
        return reduction
    if isinstance(size_average, str) or isinstance(reduce, str):
        raise TypeError(
            "size_average and reduce are PyTorch's deprecated bool flags; pass the reduction "
            f"by keyword: reduction={(size_average if isinstance(size_average, str) else reduce)!r}"
        )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{result}' "
        "instead.",
        stacklevel=3,
    )
    return result


def _no_grad_allowed(t: Tensor | None, function: str, argument: str) -> None:
    if t is not None and t.requires_grad and _grad_state.enabled:
        raise RuntimeError(
            f"The function '{function}' is not differentiable with respect to argument "
            f"'{argument}'. This input cannot have requires_grad True."
        )


def _same_device(input: Tensor, other: Tensor | None) -> None:
    if other is not None and other._backend is not input._backend:
        raise device_error(input, other)


def _operand(t: Tensor | None, input: Tensor, dtype: Any, broadcast_error) -> Any:
    """``t``'s array in ``dtype``, checked to broadcast to ``input``'s shape."""
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    _same_device(input, t)
    data = t._data
    shape = input._data.shape
    if data.shape != shape and not _broadcasts_to(data.shape, shape):
        raise broadcast_error(data.shape, shape)
    return data if data.dtype == dtype else data.astype(dtype)


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(n == 1 or n == m for n, m in zip(shape[::-1], target[::-1]))


# --- activations ----------------------------------------------------------------------------
def _softplus_kernel_grad(ns, g, x, beta, threshold):
    return ns.run_kernel(K.SOFTPLUS_BACKWARD, (g, x), (beta, threshold))[0][0]


def _softplus_composite_grad(ns, g, x, beta, threshold):
    bx = x * beta
    return where(bx > threshold, g, g * sigmoid(bx))


SOFTPLUS = Op(
    "softplus",
    "SoftplusBackward0",
    None,
    (_softplus_kernel_grad,),
    save=("x",),
    attrs=("beta", "threshold"),
    composite=(_softplus_composite_grad,),
)


@declare(methods=(), export=False, rows=(SOFTPLUS,))
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """PyTorch's softplus: ``log1p(exp(beta * x)) / beta``, and ``x`` itself where
    ``beta * x > threshold``."""
    _require_float(input, "softplus_cpu")
    for number in (beta, threshold):  # PyTorch refuses one past the dtype's range
        _python_data.checked_fill(number, input._data.dtype)
    backend = input._backend
    (out,), _ = backend.run_kernel(K.SOFTPLUS, (input._data,), (beta, threshold))
    return record(SOFTPLUS, out, backend, (input,), (beta, threshold))


def _ndtr_grad(ns, g, x):
    return g * ns.exp(x * x * -0.5) * K.GELU_PDF


NDTR = Op("ndtr", "SpecialNdtrBackward0", None, (_ndtr_grad,), save=("x",))


@declare("ndtr", methods=(), export=False, rows=(NDTR,))
def _ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, differentiable (GELU's gradient uses it)."""
    backend = input._backend
    (out,), _ = backend.run_kernel(K.NDTR, (input._data,))
    return record(NDTR, out, backend, (input,))


def _gelu_kernel_grad(ns, g, x, approximate):
    kernel = K.GELU_TANH_BACKWARD if approximate == "tanh" else K.GELU_BACKWARD
    return ns.run_kernel(kernel, (g, x))[0][0]


def _gelu_composite_grad(ns, g, x, approximate):
    if approximate == "tanh":
        inner = (x + K.GELU_TANH_KAPPA * (x * x * x)) * K.GELU_TANH_BETA
        th = tanh(inner)
        d_inner = (x * x * (3 * K.GELU_TANH_KAPPA) + 1) * K.GELU_TANH_BETA
        return g * ((th + 1) * 0.5 + (1 - th * th) * d_inner * x * 0.5)
    pdf = exp(x * x * -0.5) * K.GELU_PDF
    return g * (_ndtr(x) + x * pdf)


GELU = Op(
    "gelu",
    "GeluBackward0",
    None,
    (_gelu_kernel_grad,),
    save=("x",),
    attrs=("approximate",),
    composite=(_gelu_composite_grad,),
)


@declare(methods=(), export=False, rows=(GELU,))
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU: ``x * Phi(x)`` (``approximate="none"``, through erf) or PyTorch's tanh form
    ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))`` (``"tanh"``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _require_float(input, "GeluKernelImpl")
    backend = input._backend
    kernel = K.GELU_TANH if approximate == "tanh" else K.GELU
    (out,), _ = backend.run_kernel(kernel, (input._data,))
    return record(GELU, out, backend, (input,), (approximate,))


# --- binary cross entropy on probabilities ----------------------------------------------------
def _run_backward(ns, kernel, g, like, inputs, params):
    """A backward kernel on arrays, ``g`` first and cast to ``like``'s dtype."""
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return ns.run_kernel(kernel, (g, *inputs), params)[0][0]


def _weighted(grad, w, like, divisor):
    """``grad * w / divisor`` on tensors (``w`` and the division only when given)."""
    if w is not None:
        grad = grad * _constant(w, like)
    return grad / divisor if divisor != 1 else grad


# The rows save input ``x`` (probabilities ``p``) and target ``y`` (``t``).
def _bce_kernel_grad_input(ns, g, x, y, w, lo, hi, divisor):
    if lo is None:
        return _run_backward(ns, K.BCE_BACKWARD, g, x, (x, y, w), (divisor,))
    return _run_backward(ns, K.BCE_EPS_BACKWARD, g, x, (x, y, w), (lo, hi, divisor))


def _bce_kernel_grad_target(ns, g, x, y, w, lo, hi, divisor):
    bounds = (0.0, 1.0) if lo is None else (lo, hi)
    return _run_backward(ns, K.BCE_TARGET_BACKWARD, g, x, (x, w), (*bounds, divisor))


def _bce_composite_grad_input(ns, g, x, y, w, lo, hi, divisor):
    p, t = x, y
    if lo is None:
        grad = g * (p - t) / clamp((1 - p) * p, min=K.BCE_EPSILON)
    else:
        # Computed on the clamped p, so that no inf/NaN leaks through where() into
        # second derivatives; the mask zeroes the gradient where the clamp acts.
        pc = clamp(p, lo, hi)
        inside = logical_and(p >= lo, p <= hi)
        grad = where(inside, g * (pc - t) / ((1 - pc) * pc), 0)
    return _weighted(grad, w, p, divisor)


def _bce_composite_grad_target(ns, g, x, y, w, lo, hi, divisor):
    pc = x if lo is None else clamp(x, lo, hi)
    grad = g * (log1p(-pc) - log(pc))
    return _weighted(grad, w, x, divisor)


BCE = Op(
    "binary_cross_entropy",
    "BinaryCrossEntropyBackward0",
    None,
    (_bce_kernel_grad_input, _bce_kernel_grad_target),
    save=("x", "y"),
    attrs=("w", "lo", "hi", "divisor"),
    composite=(_bce_composite_grad_input, _bce_composite_grad_target),
)


def _bce_broadcast_error(shape: tuple, expected: tuple) -> RuntimeError:
    return RuntimeError(
        f"Attempting to broadcast a dimension of length {shape[-1] if shape else 1} at -1! "
        f"Mismatching argument at index 1 had {_size(shape)}; but expected shape should be "
        f"broadcastable to {list(expected)}"
    )


def _size(shape: tuple) -> str:
    return repr(Size(shape))


@declare(methods=(), export=False, rows=(BCE,))
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    *,
    eps: float | None = None,
) -> Tensor:
    """Binary cross entropy between probabilities ``input`` and ``target``, fused.

    By default exactly PyTorch's ``binary_cross_entropy``: each log term is clamped at
    -100, the gradient is ``grad * (input - target) / max((1 - input) * input, 1e-12)``,
    ``input`` and ``target`` must lie in [0, 1] (``RuntimeError`` otherwise; not checked
    on CUDA) and have the same shape (``ValueError``) and dtype.

    With ``eps=`` it is the seed notebook's loss: ``input`` is clamped to
    ``[eps, 1 - eps]`` before the logs (no -100 floor) and its gradient is zero where the
    clamp acts, as PyTorch's ``clamp`` passes gradients (inside the closed interval). The
    bounds are honoured in the tensor's dtype: ``eps`` is rounded to it, and where
    ``1 - eps`` rounds to 1 (float32 and ``eps=1e-8``; float16 and ``eps < 2**-12``) the
    upper bound is the largest value below 1, ``nextafter(1, 0)``, so the clamp still
    keeps ``log(1 - p)`` finite. Out-of-range inputs are clamped, not reported.

    ``reduction`` is ``"mean"`` (summed in double precision, divided by the element
    count), ``"sum"`` or ``"none"``; ``weight`` (broadcast to ``input``'s shape)
    multiplies each element's loss and cannot require grad.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("binary_cross_entropy expects tensors for input and target")
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({_size(target._data.shape)}) that is different to the "
            f"input size ({_size(input._data.shape)}) is deprecated. Please ensure they "
            "have the same size."
        )
    _same_device(input, target)
    _require_float(input, "binary_cross_entropy")
    dtype = input._data.dtype
    if target._data.dtype != dtype:
        raise RuntimeError(
            f"Found dtype {_type_name(target._data.dtype)} but expected {_type_name(dtype)}"
        )
    _no_grad_allowed(weight, "binary_cross_entropy", "weight")
    reduce, divisor = _reduction(reduction, input._data.size)
    w = _operand(weight, input, dtype, _bce_broadcast_error)
    backend = input._backend
    p, t = input._data, target._data
    if eps is None:
        lo = hi = None
        (out,), bad = backend.run_kernel(K.BCE, (p, t, w), reduce=reduce, divisor=divisor)
        if bad:
            _raise_range_error(p, t)
    else:
        lo, hi = K.eps_bounds(eps, dtype)
        (out,), _ = backend.run_kernel(
            K.BCE_EPS, (p, t, w), (lo, hi), reduce=reduce, divisor=divisor
        )
    return record(BCE, out, backend, (input, target), (w, lo, hi, divisor))


def _raise_range_error(p: Any, t: Any) -> None:
    if not bool(((p >= 0) & (p <= 1)).all()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not bool(((t >= 0) & (t <= 1)).all()):
        raise RuntimeError("all elements of target should be between 0 and 1")


# --- binary cross entropy on logits -----------------------------------------------------------
# The rows save the logits ``x`` and the target ``y``; ``ready`` holds the input gradient
# the forward pass computed for a unit upstream gradient (used at most once).
def _bce_logits_kernel_grad_input(ns, g, x, y, w, pw, divisor, ready):
    gx = ready.pop() if ready else None
    if gx is None:
        return _run_backward(ns, K.BCE_LOGITS_BACKWARD, g, x, (x, y, w, pw), (divisor,))
    if not is_unit_seed(g):
        gx *= g
    return gx


def _bce_logits_kernel_grad_target(ns, g, x, y, w, pw, divisor, ready):
    return _run_backward(ns, K.BCE_LOGITS_TARGET_BACKWARD, g, x, (x, w, pw), (divisor,))


def _bce_logits_composite_grad_input(ns, g, x, y, w, pw, divisor, ready):
    if ready:
        ready.pop()  # a graph of the backward is built: the forward's gradient is not used
    s = sigmoid(x)
    if pw is None:
        grad = (s - y) * g
    else:
        tp = _constant(pw, x) * y
        grad = ((tp + 1 - y) * s - tp) * g
    return _weighted(grad, w, x, divisor)


def _bce_logits_composite_grad_target(ns, g, x, y, w, pw, divisor, ready):
    # log_sigmoid(-x) - pos_weight * log_sigmoid(x), with log_sigmoid(x) = -softplus(-x)
    grad = -x * g if pw is None else (_constant(pw, x) * softplus(-x) - softplus(x)) * g
    return _weighted(grad, w, x, divisor)


BCE_WITH_LOGITS = Op(
    "binary_cross_entropy_with_logits",
    "BinaryCrossEntropyWithLogitsBackward0",
    None,
    (_bce_logits_kernel_grad_input, _bce_logits_kernel_grad_target),
    save=("x", "y"),
    attrs=("w", "pw", "divisor", "ready"),
    composite=(_bce_logits_composite_grad_input, _bce_logits_composite_grad_target),
)


# --- negative log likelihood ---------------------------------------------------------------
def _nll_grad(ns, g, shape, index, coefficient):
    dim = len(shape) - 1
    return ns.scatter_along(ns.reshape(g * coefficient, index.shape), index, dim, shape)


def _nll_composite_grad(ns, g, shape, index, coefficient):
    return _nll_grad(ns, g, shape, index, _constant(coefficient, g))


NLL_LOSS = Op(
    "nll_loss",
    "NllLossBackward0",
    None,
    (_nll_grad,),
    attrs=("shape", "index", "coefficient"),
    composite=(_nll_composite_grad,),
)
"""``-input[n, target[n]]`` reduced, one node as PyTorch's: the gradient puts
``grad * coefficient[n]`` at each sample's target ``index`` (the coefficient is ``-1``,
over the count of non-ignored targets for ``"mean"``, and 0 for an ignored target)."""


@declare(methods=(), export=False, rows=(NLL_LOSS,))
def nll_loss(
    input: Tensor, target: Tensor, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """The unweighted ``nll_loss`` of log-probabilities ``input`` shaped ``(N, C)`` (or
    ``(C,)``) against class indices ``target`` shaped ``(N,)`` (or ``()``), whose bounds
    ``nn.functional.nll_loss`` (which calls this) has checked."""
    backend = input._backend
    if target._backend is not backend:
        raise device_error(input, target)
    log_p, classes = input._data, target._data.astype("int64")
    valid = classes != ignore_index
    index = backend.where(valid, classes, 0).reshape(classes.shape + (1,))
    dim = log_p.ndim - 1
    with backend.quiet():  # an all-ignored mean is 0/0: NaN, as PyTorch's
        picked = backend.gather(log_p, dim, index).reshape(classes.shape)
        losses = backend.where(valid, -picked, 0).astype(log_p.dtype)
        weight = valid.astype(log_p.dtype)
        if reduction == "mean":
            count = backend.sum(weight)
            out = backend.sum(losses) / count
            # all ignored: a NaN loss, but zero gradients, as PyTorch's
            coefficient = -weight / backend.where(count > 0, count, 1).astype(log_p.dtype)
        else:
            out = backend.sum(losses) if reduction == "sum" else losses
            coefficient = -weight
    return record(NLL_LOSS, out, backend, (input,), (log_p.shape, index, coefficient))


# --- mean squared error ------------------------------------------------------------------
MSE_LOSS = Op(
    "mse_loss",
    "MseLossBackward0",
    None,
    (
        lambda ns, g, x, y, scale: g * (scale * (x - y)),
        lambda ns, g, x, y, scale: -(g * (scale * (x - y))),
    ),
    save=("x", "y"),
    attrs=("scale",),
)
"""``(input - target)²`` reduced, one node as PyTorch's; ``scale`` is the derivative's
``2`` over the element count for ``"mean"``."""


@declare(methods=(), export=False, rows=(MSE_LOSS,))
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``(input - target)²`` reduced by ``reduction`` (``"mean"``, ``"sum"``, ``"none"``),
    for same-shaped floating tensors of one dtype and device: the unweighted case of
    ``nn.functional.mse_loss`` (which checks its arguments and calls this)."""
    backend = input._backend
    if target._backend is not backend:
        raise device_error(input, target)
    with backend.quiet():  # (inf - inf) and overflow give IEEE results, as PyTorch's
        diff = input._data - target._data
        squared = diff * diff
        if reduction == "mean":
            out = backend.mean(squared)
        elif reduction == "sum":
            out = backend.sum(squared)
        else:
            out = squared
    scale = 2.0 / max(squared.size, 1) if reduction == "mean" else 2.0
    return record(MSE_LOSS, out, backend, (input, target), (scale,))


@declare(methods=(), export=False, rows=(BCE_WITH_LOGITS,))
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """PyTorch's ``binary_cross_entropy_with_logits``, fused: the stable form
    ``(1 - t) * x - lw * log_sigmoid(x)`` with ``lw = (pos_weight - 1) * t + 1`` and
    ``log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``; the gradient is
    ``(sigmoid(x) - t)`` (with ``pos_weight``: ``(pos_weight*t + 1 - t) * sigmoid(x) -
    pos_weight*t``), times ``grad`` and ``weight``.

    With a ``mean`` or ``sum`` reduction and an ``input`` that requires grad, the forward
    pass computes that gradient too, in the same pass over the data (its sigmoid taken
    from the ``exp(-|x|)`` the loss needs), and keeps it until backward: ``loss.backward()``
    then launches nothing for this node, and any other upstream gradient costs one multiply.
    This holds one input-sized buffer from forward to backward (where PyTorch holds only
    ``input`` and ``target``); compute losses you will not differentiate under
    ``gg.no_grad()``. ``input`` and ``target`` are promoted
    to a common dtype (PyTorch returns the target's dtype when they differ); ``weight``
    and ``pos_weight`` broadcast to ``input``'s shape and cannot require grad."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("binary_cross_entropy_with_logits expects tensors")
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Target size ({_size(target._data.shape)}) must be the same as input size "
            f"({_size(input._data.shape)})"
        )
    _same_device(input, target)
    _require_float(input, "log_sigmoid_cpu")
    function = "binary_cross_entropy_with_logits"
    _no_grad_allowed(weight, function, "weight")
    _no_grad_allowed(pos_weight, function, "pos_weight")
    xd, td = input._data, target._data
    if td.dtype != xd.dtype:
        dtype = _dtypes.promote_arrays(xd.dtype, xd.ndim, td.dtype, td.ndim)
        if dtype.kind != "f":
            dtype = xd.dtype
        input = to_dtype(input, dtype)
        target = to_dtype(target, dtype)
    dtype = input._data.dtype
    reduce, divisor = _reduction(reduction, input._data.size)
    w = _operand(weight, input, dtype, _logits_broadcast_error)
    pw = _operand(pos_weight, input, dtype, lambda s, e: broadcast_error(s, e))
    backend = input._backend
    arrays = (input._data, target._data, w, pw)
    ready = []
    if reduce and input.requires_grad and _grad_state.enabled:
        (out, gx), _ = backend.run_kernel(
            K.BCE_LOGITS_WITH_GRAD, arrays, (divisor,), reduce=True, divisor=divisor
        )
        ready.append(gx)
    else:
        (out,), _ = backend.run_kernel(K.BCE_LOGITS, arrays, reduce=reduce, divisor=divisor)
    return record(BCE_WITH_LOGITS, out, backend, (input, target), (w, pw, divisor, ready))


def _logits_broadcast_error(shape: tuple, expected: tuple) -> RuntimeError:
    return broadcast_error(expected, shape)


# --- LSTM over a sequence -----------------------------------------------------------------
# One node for a whole layer direction: the forward runs the T steps on arrays
# (``backend.lstm_sequence``) and keeps the opened gates and tanh(c) for backward, which
# runs back through time in one call. The composite formula recomputes the steps with
# gpugrad ops from the saved inputs and writes the same closed form on tensors, so
# ``create_graph=True`` differentiates it again.
def _lstm_kernel_grad(ns, g, x, y, z, o, cache):
    gates, tanh_c = cache
    return ns.lstm_sequence_backward(g, y, z, o, gates, tanh_c)


def _lstm_composite_grad(ns, g, x, y, z, o, cache):
    steps, batch, width = x.shape
    hidden = width // 4
    w_t = y.mT
    h, c = z[0], z[1]
    opened, tanhs, h_prev, c_prev = [], [], [], []
    for t in range(steps):
        a = x[t] + h @ w_t
        gate_i, gate_f = sigmoid(a[:, :hidden]), sigmoid(a[:, hidden : 2 * hidden])
        gate_g, gate_o = tanh(a[:, 2 * hidden : 3 * hidden]), sigmoid(a[:, 3 * hidden :])
        h_prev.append(h)
        c_prev.append(c)
        c = gate_f * c + gate_i * gate_g
        tc = tanh(c)
        h = gate_o * tc
        opened.append((gate_i, gate_f, gate_g, gate_o))
        tanhs.append(tc)
    dh = dc = None
    d_steps: list = [None] * steps
    for t in range(steps - 1, -1, -1):
        gate_i, gate_f, gate_g, gate_o = opened[t]
        tc = tanhs[t]
        dh = g[t, 0] if dh is None else dh + g[t, 0]
        dc = g[t, 1] if dc is None else dc + g[t, 1]
        d_o = dh * tc * gate_o * (1 - gate_o)
        dc = dc + dh * gate_o * (1 - tc * tc)
        d_i = dc * gate_g * gate_i * (1 - gate_i)
        d_f = dc * c_prev[t] * gate_f * (1 - gate_f)
        d_g = dc * gate_i * (1 - gate_g * gate_g)
        d = cat([d_i, d_f, d_g, d_o], 1)
        d_steps[t] = d
        dc = dc * gate_f
        dh = d @ y
    d_x = stack(d_steps)
    flat = d_x.reshape(steps * batch, width)
    d_w = flat.mT @ stack(h_prev).reshape(steps * batch, hidden)
    return d_x, d_w, stack([dh, dc])


LSTM_SEQUENCE = Op(
    "lstm_sequence",
    "LstmSequenceBackward0",
    None,
    (_lstm_kernel_grad,),
    save=("x", "y", "z", "o"),
    attrs=("cache",),
    composite=(_lstm_composite_grad,),
    splits=True,
)


@declare("lstm_sequence", methods=(), export=False, rows=(LSTM_SEQUENCE,))
def _lstm_sequence(gates_in: Tensor, w_hh: Tensor, state0: Tensor) -> Tensor:
    """An LSTM layer direction over a whole sequence, one op: ``gates_in`` ``(T, B, 4H)``
    is ``x W_ihᵀ + b_ih + b_hh`` for every step (gates ``i f g o``), ``w_hh`` ``(4H, H)``
    and ``state0`` ``(2, B, H)`` the initial ``h`` and ``c``. Returns ``(T, 2, B, H)``:
    ``h_t`` and ``c_t`` of every step."""
    backend = gates_in._backend
    states, gates, tanh_c = backend.lstm_sequence(gates_in._data, w_hh._data, state0._data)
    return record(LSTM_SEQUENCE, states, backend, (gates_in, w_hh, state0), ((gates, tanh_c),))


# --- pooling, batch norm and convolution ------------------------------------------------------
# Each is one node whose backward is one backend call (``backend.max_pool_backward``,
# ``batch_norm_backward``, ``conv_backward_*``) instead of the tens of small nodes of the
# composite forms; the composite formulas write the same closed forms with gpugrad ops for
# ``create_graph=True``. ``geometry`` is ``(kernel, stride, dilation, pads, out)`` with
# ``pads`` ``((before, after), ...)`` per spatial dim.
def _taps(kernel: tuple) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(k) for k in kernel)))


def _padded_shape(shape: tuple, pads: tuple) -> tuple:
    return tuple(shape[:2]) + tuple(n + b + a for n, (b, a) in zip(shape[2:], pads))


def _max_pool_kernel_grad(ns, g, shape, geometry, chosen):
    return ns.max_pool_backward(g, chosen, shape, *geometry)


def _max_pool_composite_grad(ns, g, shape, geometry, chosen):
    kernel, stride, dilation, pads, out = geometry
    backend = g._backend
    chosen = _wrap(chosen, backend)
    padded = _padded_shape(shape, pads)
    grad = None
    for k, tap in enumerate(_taps(kernel)):
        term = index_scatter(
            where(chosen == k, g, 0.0), padded, backend.tap_key(tap, stride, dilation, out)
        )
        grad = term if grad is None else grad + term
    return grad[backend.interior(shape, pads)]


MAX_POOL = Op(
    "max_pool",
    "MaxPool2DWithIndicesBackward0",
    None,
    (_max_pool_kernel_grad,),
    attrs=("shape", "geometry", "chosen"),
    composite=(_max_pool_composite_grad,),
)


@declare("max_pool", methods=(), export=False, rows=(MAX_POOL,))
def _max_pool(input: Tensor, kernel: tuple, stride: tuple, dilation: tuple, pads: tuple):
    """Max pooling of ``(N, C, *spatial)`` (already checked by ``nn.functional``), one op:
    ``(values, taps)``, ``taps`` (int32, no gradient) the chosen tap of each window."""
    backend = input._backend
    out = tuple(
        (n + b + a - d * (k - 1) - 1) // s + 1
        for n, (b, a), k, s, d in zip(input._data.shape[2:], pads, kernel, stride, dilation)
    )
    values, chosen = backend.max_pool(input._data, kernel, stride, dilation, pads, out)
    geometry = (kernel, stride, dilation, pads, out)
    result = record(MAX_POOL, values, backend, (input,), (input._data.shape, geometry, chosen))
    return result, _wrap(chosen, backend)


def _batch_norm_kernel_grad(ns, g, x, y, eps, stats):
    return ns.batch_norm_backward(g, x, y, *stats)


def _batch_norm_composite_grad(ns, g, x, y, eps, stats):
    dims = (0, *range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    centered = x - x.mean(dims, keepdim=True)
    invstd = ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    normalized = centered * invstd
    d_bias = g.sum(dims)
    d_weight = (g * normalized).sum(dims)
    scale = invstd if y is None else invstd * y.reshape(shape)
    mean_g = g.mean(dims, keepdim=True)
    mean_gn = (g * normalized).mean(dims, keepdim=True)
    return (g - mean_g - normalized * mean_gn) * scale, d_weight, d_bias


BATCH_NORM = Op(
    "batch_norm",
    "NativeBatchNormBackward0",
    None,
    (_batch_norm_kernel_grad,),
    save=("x", "y"),
    attrs=("eps", "stats"),
    composite=(_batch_norm_composite_grad,),
    splits=True,
)


@declare("batch_norm_train", methods=(), export=False, rows=(BATCH_NORM,))
def _batch_norm_train(input: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float):
    """Batch norm with the batch's statistics, one op: ``(out, mean, biased variance)``
    (the statistics without gradient, for the running averages)."""
    backend = input._backend
    w = None if weight is None else weight._data
    b = None if bias is None else bias._data
    with backend.quiet():  # NaN/inf inputs give NaN statistics quietly, as PyTorch's
        out, mean, var, invstd = backend.batch_norm_train(input._data, w, b, eps)
    result = record(BATCH_NORM, out, backend, (input, weight, bias), (eps, (mean, invstd)))
    return result, _wrap(mean, backend), _wrap(var, backend)


def _batch_norm_eval_kernel_grad(ns, g, x, y, eps, stats):
    return ns.batch_norm_eval_backward(g, x, y, *stats, eps)


def _batch_norm_eval_composite_grad(ns, g, x, y, eps, stats):
    dims = (0, *range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    mean, var = (_wrap(s, g._backend).reshape(shape) for s in stats)
    invstd = (var + eps).rsqrt()
    scale = invstd if y is None else invstd * y.reshape(shape)
    return g * scale, (g * ((x - mean) * invstd)).sum(dims), g.sum(dims)


BATCH_NORM_EVAL = Op(
    "batch_norm_eval",
    "NativeBatchNormBackward0",
    None,
    (_batch_norm_eval_kernel_grad,),
    save=("x", "y"),
    attrs=("eps", "stats"),
    composite=(_batch_norm_eval_composite_grad,),
    splits=True,
)


@declare("batch_norm_eval", methods=(), export=False, rows=(BATCH_NORM_EVAL,))
def _batch_norm_eval(
    input: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
):
    """Batch norm with given statistics (evaluation mode), one op: ``(input - mean) /
    sqrt(var + eps) * weight + bias``. The statistics are constants (copied: a later
    in-place update of the running buffers does not change this node's gradient)."""
    backend = input._backend
    w = None if weight is None else weight._data
    b = None if bias is None else bias._data
    mean, var = running_mean._data.reshape(-1).copy(), running_var._data.reshape(-1).copy()
    with backend.quiet():  # NaN/inf inputs give IEEE results quietly, as PyTorch's
        out = backend.batch_norm_eval(input._data, mean, var, w, b, eps)
    return record(BATCH_NORM_EVAL, out, backend, (input, weight, bias), (eps, (mean, var)))


def _conv_kernel_grad_input(ns, g, x, y, geometry, columns):
    stride, dilation, pads, groups = geometry
    return ns.conv_backward_input(g, y, x.shape, stride, dilation, pads, groups)


def _conv_kernel_grad_weight(ns, g, x, y, geometry, columns):
    return ns.conv_backward_weight(g, columns, y.shape, geometry[3])


def _conv_grad_bias(ns, g, x, y, geometry, columns):
    return ns.sum(g, (0, *range(2, len(g.shape))))


def _conv_composite_grad_input(ns, g, x, y, geometry, columns):
    stride, dilation, pads, groups = geometry
    backend = g._backend
    n, kernel, out = g.shape[0], tuple(y.shape[2:]), tuple(g.shape[2:])
    taps, positions = len(_taps(kernel)), math.prod(out)  # explicit: the batch may be empty
    weights = y.reshape(groups, y.shape[0] // groups, y.shape[1] * taps)
    cols = weights.mT @ g.reshape(n, groups, y.shape[0] // groups, positions)
    cols = cols.reshape(n, x.shape[1], len(_taps(kernel)), *out)
    padded = _padded_shape(tuple(x.shape), pads)
    grad = None
    for k, tap in enumerate(_taps(kernel)):
        term = index_scatter(cols[:, :, k], padded, backend.tap_key(tap, stride, dilation, out))
        grad = term if grad is None else grad + term
    return grad[backend.interior(tuple(x.shape), pads)]


def _conv_composite_grad_weight(ns, g, x, y, geometry, columns):
    stride, dilation, pads, groups = geometry
    backend = g._backend
    n, kernel, out = g.shape[0], tuple(y.shape[2:]), tuple(g.shape[2:])
    padded = index_scatter(
        x, _padded_shape(tuple(x.shape), pads), backend.interior(tuple(x.shape), pads)
    )
    windows = [padded[backend.tap_key(tap, stride, dilation, out)] for tap in _taps(kernel)]
    positions = math.prod(out)  # explicit sizes: the batch may be empty
    cols = stack(windows, 2).reshape(n, groups, x.shape[1] // groups * len(windows), positions)
    g4 = g.reshape(n, groups, y.shape[0] // groups, positions)
    return (g4 @ cols.mT).sum(0).reshape(*y.shape)


CONVOLUTION = Op(
    "convolution",
    "ConvolutionBackward0",
    None,
    (_conv_kernel_grad_input, _conv_kernel_grad_weight, _conv_grad_bias),
    save=("x", "y"),
    attrs=("geometry", "columns"),
    composite=(_conv_composite_grad_input, _conv_composite_grad_weight, _conv_grad_bias),
)


@declare("convolution", methods=(), export=False, rows=(CONVOLUTION,))
def _convolution(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: tuple,
    dilation: tuple,
    pads: tuple,
    groups: int,
) -> Tensor:
    """Cross-correlation of ``(N, C, *spatial)`` with ``(O, C / groups, *kernel)`` (checked
    by ``nn.functional``), one op: the windows as columns, one batched matrix product.
    The columns (``C * taps`` times the output's positions) are kept until backward for
    the weight's gradient, trading that memory for a second gather."""
    backend = input._backend
    b = None if bias is None else bias._data
    with backend.quiet():  # inf * 0 and inf - inf give NaN quietly, as PyTorch's
        out, columns = backend.conv(input._data, weight._data, b, stride, dilation, pads, groups)
    geometry = (stride, dilation, pads, groups)
    keep = columns if weight.requires_grad else None
    return record(CONVOLUTION, out, backend, (input, weight, bias), (geometry, keep))


# --- scaled dot-product attention ------------------------------------------------------------
# One node for ``softmax(q kᵀ scale + mask) v``: the probabilities are kept for backward
# (``backend.attention_backward``: four matrix products and one row reduction).
def _unbroadcast(ns, grads: tuple, inputs: tuple) -> tuple:
    return tuple(
        g if tuple(g.shape) == tuple(t.shape) else ns.sum_to(g, tuple(t.shape))
        for g, t in zip(grads, inputs)
    )


def _attention_kernel_grad(ns, g, x, y, z, o, scale, mask, causal, probs):
    grads = ns.attention_backward(g, x, y, z, o, probs, scale, causal)
    return _unbroadcast(ns, grads, (x, y, z))


def _attention_composite_grad(ns, g, x, y, z, o, scale, mask, causal, probs):
    scores = (x @ y.mT) * scale
    backend = g._backend
    if causal:
        length, source = scores.shape[-2:]
        above = _wrap(backend.triu(backend.ones((length, source), bool), 1), backend)
        scores = where(above, float("-inf"), scores)
    elif mask is not None:
        m = _wrap(mask, backend)
        scores = where(m, scores, float("-inf")) if m.dtype == _dtypes.bool_ else scores + m
    p = softmax(scores, -1)
    d_value = p.mT @ g
    d_scores = g @ z.mT
    d_scores = p * (d_scores - (d_scores * p).sum(-1, keepdim=True)) * scale
    grads = (d_scores @ y, d_scores.mT @ x, d_value)
    return _unbroadcast(ns, grads, (x, y, z))


ATTENTION = Op(
    "scaled_dot_product_attention",
    "ScaledDotProductAttentionBackward0",
    None,
    (_attention_kernel_grad,),
    save=("x", "y", "z", "o"),
    attrs=("scale", "mask", "causal", "probs"),
    composite=(_attention_composite_grad,),
    splits=True,
)


@declare("attention", methods=(), export=False, rows=(ATTENTION,))
def _attention(
    query: Tensor, key: Tensor, value: Tensor, scale: float, mask: Tensor | None, causal: bool
) -> Tensor:
    """``softmax(q kᵀ scale + mask) v`` as one op (checked by ``nn.functional``; ``mask``
    a bool or float tensor that needs no gradient)."""
    backend = query._backend
    m = None if mask is None else mask._data
    out, probs = backend.attention(query._data, key._data, value._data, scale, m, causal)
    attrs = (scale, m, causal, probs)
    return record(ATTENTION, out, backend, (query, key, value), attrs)


# --- layer norm ---------------------------------------------------------------------------
def _layer_norm_kernel_grad(ns, g, x, y, normalized_dims, eps, stats):
    d_input, d_weight, d_bias = ns.layer_norm_backward(g, x, y, *stats)
    if y is None:  # the flat sums shaped as the normalized dims (a bias without a weight)
        shape = tuple(x.shape[len(x.shape) - normalized_dims :])
        d_weight, d_bias = ns.reshape(d_weight, shape), ns.reshape(d_bias, shape)
    return d_input, d_weight, d_bias


def _layer_norm_composite_grad(ns, g, x, y, normalized_dims, eps, stats):
    dims = tuple(range(x.dim() - normalized_dims, x.dim()))
    lead = tuple(range(x.dim() - normalized_dims))
    centered = x - x.mean(dims, keepdim=True)
    invstd = ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    normalized = centered * invstd
    d_weight = (g * normalized).sum(lead)
    d_bias = g.sum(lead)
    gn = g if y is None else g * y
    mean_gn = (gn * normalized).mean(dims, keepdim=True)
    return (gn - gn.mean(dims, keepdim=True) - normalized * mean_gn) * invstd, d_weight, d_bias


LAYER_NORM = Op(
    "layer_norm",
    "NativeLayerNormBackward0",
    None,
    (_layer_norm_kernel_grad,),
    save=("x", "y"),
    attrs=("normalized_dims", "eps", "stats"),
    composite=(_layer_norm_composite_grad,),
    splits=True,
)


@declare("layer_norm", methods=(), export=False, rows=(LAYER_NORM,))
def _layer_norm(
    input: Tensor, normalized_dims: int, weight: Tensor | None, bias: Tensor | None, eps: float
) -> Tensor:
    """Layer norm over the trailing ``normalized_dims`` dims (``weight`` and ``bias``
    shaped as those dims; checked by ``nn.functional``), one op."""
    backend = input._backend
    w = None if weight is None else weight._data
    b = None if bias is None else bias._data
    size = 1
    for n in input._data.shape[input._data.ndim - normalized_dims :]:
        size *= n
    with backend.quiet():  # NaN/inf inputs give NaN statistics quietly, as PyTorch's
        out, mean, invstd = backend.layer_norm(input._data, w, b, size, eps)
    attrs = (normalized_dims, eps, (mean, invstd))
    return record(LAYER_NORM, out, backend, (input, weight, bias), attrs)
