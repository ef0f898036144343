"""The fused kernels, each defined once: its CUDA body beside its NumPy body.

Formulas follow PyTorch's CPU kernels (``aten/src/ATen/native``) and round in the same
order where that is cheap; each NumPy body computes what its CUDA body computes. See
``spec.Kernel`` for the conventions.

NumPy notes (measured on the 2-core CI machine): ``log1p`` has no SIMD loop in NumPy
(5-7x slower than ``log``), so ``log1p`` is computed from one ``log`` and an exact
correction term (``_log1p_of_neg``, ``_log1p``); ``exp``/``log`` cost ~3 ns an element
and arithmetic ~0.2 ns, so BCE with targets that are all 0 or 1 takes one ``log`` per
element instead of two; masked copies on random masks cost ~6 ns an element, so blends
are arithmetic; clamps that rarely act (BCE's -100, the eps clamp, softplus' threshold)
run only on blocks whose min/max says they may act.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from .. import fp_errors as _fp_errors
from .erf import erf as _erf
from .spec import Kernel

BCE_EPSILON = 9.999999960041972e-13
"""PyTorch's ``EPSILON = 1e-12`` of the BCE gradient, a C++ ``float`` constant."""
LOG_FLOOR = -100.0
"""PyTorch's BCE clamps each log term at -100."""
_EXP_NEG_100 = math.exp(-100.0)
SQRT1_2 = 0.70710678118654752440
GELU_PDF = 2 / math.sqrt(math.pi) * SQRT1_2 * 0.5
"""``1/sqrt(2*pi)``, spelled as PyTorch's ``M_2_SQRTPI * M_SQRT1_2 * 0.5``."""
GELU_TANH_BETA = math.sqrt(2) * 2 / math.sqrt(math.pi) * 0.5
GELU_TANH_KAPPA = 0.044715


def eps_bounds(eps: float, dtype: Any) -> tuple[float, float]:
    """``[eps, 1 - eps]`` as values of ``dtype``: ``1 - eps`` rounded to the dtype, or the
    largest value below 1 when that rounds to 1 (float32: ``1 - 1e-8`` is 1.0); ``eps``
    rounded to the dtype, or its smallest positive value when that rounds to 0."""
    eps = float(eps)
    if not 0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    kind = numpy.dtype(dtype).type
    lo = kind(eps)
    if lo == 0:
        lo = numpy.nextafter(kind(0), kind(1))
    hi = kind(1.0 - eps)
    if hi >= 1:
        hi = numpy.nextafter(kind(1), kind(0))
    return float(lo), float(hi)


def _c(value: float) -> str:
    """A C literal for ``value`` in the compute type."""
    return f"acc_t({value!r})"


# --- NumPy helpers ------------------------------------------------------------------------
_TINY = {numpy.dtype(t): float(numpy.finfo(t).tiny) for t in (numpy.float32, numpy.float64)}


def _log1p_of_neg(p, out, tmp, tmp2):
    """``out = log1p(-p)`` for ``0 <= p <= 1`` from one ``log``: with ``u = fl(1 - p)``,
    ``log(1 - p) = log(u) + ((1 - u) - p) / u`` to within an ulp, where ``1 - u`` and
    ``(1 - u) - p`` (minus the rounding error of ``u``) are exact. The correction is
    divided by ``u + tiny``, which is ``u`` except at ``p = 1``, where it stays 0 and
    ``out`` is ``-inf``."""
    numpy.subtract(1, p, out=out)
    numpy.subtract(1, out, out=tmp)
    numpy.subtract(tmp, p, out=tmp)
    numpy.add(out, _TINY[out.dtype], out=tmp2)
    numpy.divide(tmp, tmp2, out=tmp)
    numpy.log(out, out=out)
    numpy.add(out, tmp, out=out)


def _log1p(y, out, tmp):
    """``out = log1p(y)`` for ``y >= 0``: ``log(u) + (y - (u - 1)) / u``, ``u = fl(1 + y)``
    (the correction is exact for ``y <= 1``, where it matters; ``y = inf`` gives NaN)."""
    numpy.add(y, 1, out=out)
    numpy.subtract(out, 1, out=tmp)
    numpy.subtract(y, tmp, out=tmp)
    numpy.divide(tmp, out, out=tmp)
    numpy.log(out, out=out)
    numpy.add(out, tmp, out=out)


def _sigmoid_into(x, out):
    """``out = 1 / (1 + exp(-x))``: PyTorch's float32 rounding; exp overflow gives 0."""
    numpy.negative(x, out=out)
    numpy.exp(out, out=out)
    numpy.add(out, 1, out=out)
    numpy.divide(1, out, out=out)


def _min(x):
    return numpy.minimum.reduce(x, axis=None)


def _max(x):
    return numpy.maximum.reduce(x, axis=None)


def _in_unit_interval(x) -> bool:
    return bool(_min(x) >= 0 and _max(x) <= 1)  # False for NaN


# --- sigmoid ------------------------------------------------------------------------------
def _sigmoid_np(y, x):
    _sigmoid_into(x, y)


def _sigmoid_small(x):
    """``1 / (1 + exp(-x))`` on any array; ``exp(-x)`` overflows to inf for x < -88
    (float32) and ``1 / inf`` is the exact limit, 0, without a warning (overflow is the
    only flag these steps can raise; ``fp_errors`` switches in a seventh of the time of
    ``numpy.errstate``, which was a third of a 0-d sigmoid)."""
    token = _fp_errors.set_state(_fp_errors.IGNORE)
    try:
        return 1 / (1 + numpy.exp(-x))
    finally:
        _fp_errors.reset_state(token)


SIGMOID = Kernel(
    name="sigmoid",
    inputs=("x",),
    outputs=("y",),
    cuda="y = acc_t(1) / (acc_t(1) + gg_exp(-x));",
    numpy=_sigmoid_np,
    doc="1 / (1 + exp(-x)); exp's overflow for very negative x gives exactly 0.",
    small=_sigmoid_small,
)


def _sigmoid_backward_np(gx, g, y, a):
    numpy.subtract(1, y, out=a)
    numpy.multiply(g, y, out=gx)
    numpy.multiply(gx, a, out=gx)


SIGMOID_BACKWARD = Kernel(
    name="sigmoid_backward",
    inputs=("g", "y"),
    outputs=("gx",),
    cuda="gx = g * y * (acc_t(1) - y);",
    numpy=_sigmoid_backward_np,
    scratch=1,
    doc="g * y * (1 - y) from the saved output y.",
    small=lambda g, y: g * y * (1 - y),
)


# --- binary cross entropy on probabilities ------------------------------------------------
def _bce_terms(loss, p, t, floor, a, b, c):
    """``loss = (t - 1) * L1 - t * L0`` with ``L0 = log(p)``, ``L1 = log1p(-p)``, each
    floored at -100 when ``floor``. Where every target is 0 or 1 (the common case) one
    ``log`` per element does: ``-log(q)``, ``q = p*t + (1 - p)*(1 - t)`` (exactly ``p`` or
    ``1 - p``), the same values. Masked copies are avoided: NumPy runs them at ~6 ns an
    element on random masks, against ~0.2 ns for arithmetic."""
    numpy.subtract(1, t, out=a)
    numpy.multiply(t, a, out=loss)
    if _max(loss) > 0:  # soft labels: both logs
        numpy.log(p, out=c)
        _log1p_of_neg(p, b, loss, a)
        if floor:
            numpy.copyto(c, LOG_FLOOR, where=c < LOG_FLOOR)
            numpy.copyto(b, LOG_FLOOR, where=b < LOG_FLOOR)
        numpy.subtract(t, 1, out=a)
        numpy.multiply(a, b, out=loss)
        numpy.multiply(t, c, out=c)
        numpy.subtract(loss, c, out=loss)
        return
    numpy.subtract(1, p, out=b)  # u = fl(1 - p)
    numpy.subtract(1, b, out=c)
    numpy.subtract(c, p, out=c)  # minus u's rounding error, exactly
    numpy.add(b, _TINY[b.dtype], out=loss)
    numpy.divide(c, loss, out=c)  # log1p's correction (0 where u = 0)
    numpy.multiply(c, a, out=c)  # ... used where t = 0 only
    numpy.multiply(b, a, out=b)
    numpy.multiply(p, t, out=loss)
    numpy.add(b, loss, out=b)  # q
    numpy.log(b, out=b)
    numpy.add(b, c, out=b)  # log(p) where t = 1, log1p(-p) where t = 0
    if floor:
        numpy.copyto(b, LOG_FLOOR, where=b < LOG_FLOOR)
    numpy.negative(b, out=loss)


def _bce_np(loss, p, t, w, a, b, c):
    pmin, pmax = _min(p), _max(p)
    if not (pmin >= 0 and pmax <= 1 and _in_unit_interval(t)):
        return True  # the caller raises PyTorch's error; the values do not matter
    floor = not (pmin >= _EXP_NEG_100 and pmax < 1)  # some log term may be below -100
    _bce_terms(loss, p, t, floor, a, b, c)
    if w is not None:
        numpy.multiply(loss, w, out=loss)
    return False


BCE = Kernel(
    name="bce",
    inputs=("p", "t", "w"),
    optional=frozenset({"w"}),
    outputs=("loss",),
    cuda=f"""
        loss = (t - acc_t(1)) * gg_max(gg_log1p(-p), {_c(LOG_FLOOR)})
             - t * gg_max(gg_log(p), {_c(LOG_FLOOR)});
        if (HAS_w) loss *= w;""",
    numpy=_bce_np,
    check="!((p >= acc_t(0)) & (p <= acc_t(1)) & (t >= acc_t(0)) & (t <= acc_t(1)))",
    scratch=3,
    reducible=True,
    doc="PyTorch's binary_cross_entropy: w * ((t - 1) * max(log1p(-p), -100) "
    "- t * max(log(p), -100)). NumPy flags blocks whose p or t leave [0, 1] (or are NaN).",
)


def _scaled(g, divisor):
    """``g / divisor`` folded into a one-element gradient (after a mean) to save a pass:
    within an ulp of dividing every element last, as PyTorch does."""
    if divisor != 1 and g.size == 1:
        return g / divisor, 1
    return g, divisor


def _times_w_over(gx, w, divisor):
    """``gx *= w`` (when given), then ``gx /= divisor`` (when not 1), in place."""
    if w is not None:
        numpy.multiply(gx, w, out=gx)
    if divisor != 1:
        numpy.divide(gx, divisor, out=gx)


def _times_w_over_c(out: str) -> str:
    """The CUDA body's ``_times_w_over``: ``out *= w`` (when given), ``out /= divisor``."""
    return f"""
        if (HAS_w) {out} *= w;
        {out} /= divisor;"""


def _bce_backward_np(gp, g, p, t, w, divisor, a):
    g, divisor = _scaled(g, divisor)
    numpy.subtract(1, p, out=a)
    numpy.multiply(a, p, out=a)
    if not _min(a) >= BCE_EPSILON:
        numpy.maximum(a, BCE_EPSILON, out=a)
    numpy.subtract(p, t, out=gp)
    numpy.multiply(g, gp, out=gp)
    numpy.divide(gp, a, out=gp)
    _times_w_over(gp, w, divisor)


BCE_BACKWARD = Kernel(
    name="bce_backward",
    inputs=("g", "p", "t", "w"),
    optional=frozenset({"w"}),
    params=("divisor",),
    outputs=("gp",),
    cuda=f"""
        gp = g * (p - t) / gg_max((acc_t(1) - p) * p, {_c(BCE_EPSILON)});"""
    + _times_w_over_c("gp"),
    numpy=_bce_backward_np,
    scratch=1,
    doc="PyTorch's gradient: g * (p - t) / max((1 - p) * p, 1e-12), times w, / divisor.",
)


def _clamped(p, lo, hi, out):
    """``p`` clamped to ``[lo, hi]`` (NaN stays NaN): ``p`` itself when no element leaves."""
    if _min(p) >= lo and _max(p) <= hi:
        return p
    numpy.maximum(p, lo, out=out)
    numpy.minimum(out, hi, out=out)
    return out


def _bce_eps_np(loss, p, t, w, lo, hi, a, b, c, d):
    _bce_terms(loss, _clamped(p, lo, hi, d), t, False, a, b, c)
    if w is not None:
        numpy.multiply(loss, w, out=loss)


BCE_EPS = Kernel(
    name="bce_eps",
    inputs=("p", "t", "w"),
    optional=frozenset({"w"}),
    params=("lo", "hi"),
    outputs=("loss",),
    cuda="""
        const acc_t pc = gg_min(gg_max(p, lo), hi);
        loss = (t - acc_t(1)) * gg_log1p(-pc) - t * gg_log(pc);
        if (HAS_w) loss *= w;""",
    numpy=_bce_eps_np,
    scratch=4,
    reducible=True,
    doc="The seed notebook's BCE: p clamped to [lo, hi] before the logs, no -100 floor.",
)


def _bce_eps_backward_np(gp, g, p, t, w, lo, hi, divisor, a):
    g, divisor = _scaled(g, divisor)
    numpy.subtract(1, p, out=a)
    numpy.multiply(a, p, out=a)
    numpy.subtract(p, t, out=gp)
    numpy.multiply(g, gp, out=gp)
    numpy.divide(gp, a, out=gp)
    if not (_min(p) >= lo and _max(p) <= hi):
        numpy.copyto(gp, 0, where=~((p >= lo) & (p <= hi)))
    _times_w_over(gp, w, divisor)


BCE_EPS_BACKWARD = Kernel(
    name="bce_eps_backward",
    inputs=("g", "p", "t", "w"),
    optional=frozenset({"w"}),
    params=("lo", "hi", "divisor"),
    outputs=("gp",),
    cuda="""
        gp = (p >= lo && p <= hi) ? g * (p - t) / ((acc_t(1) - p) * p) : acc_t(0);"""
    + _times_w_over_c("gp"),
    numpy=_bce_eps_backward_np,
    scratch=1,
    doc="g * (p - t) / (p * (1 - p)) inside [lo, hi], 0 where the clamp acts (and for "
    "NaN), as PyTorch's clamp passes gradients; times w, / divisor.",
)


def _bce_target_backward_np(gt, g, p, w, lo, hi, divisor, a, b, c):
    pc = _clamped(p, lo, hi, c)
    _log1p_of_neg(pc, a, b, gt)
    numpy.log(pc, out=b)
    numpy.subtract(a, b, out=gt)
    numpy.multiply(g, gt, out=gt)
    _times_w_over(gt, w, divisor)


BCE_TARGET_BACKWARD = Kernel(
    name="bce_target_backward",
    inputs=("g", "p", "w"),
    optional=frozenset({"w"}),
    params=("lo", "hi", "divisor"),
    outputs=("gt",),
    cuda="""
        const acc_t pc = gg_min(gg_max(p, lo), hi);
        gt = g * (gg_log1p(-pc) - gg_log(pc));"""
    + _times_w_over_c("gt"),
    numpy=_bce_target_backward_np,
    scratch=3,
    doc="The target's gradient, g * (log1p(-p) - log(p)) (PyTorch's -logit(p), no -100 "
    "floor), with p clamped to [lo, hi] ([0, 1] for PyTorch's BCE); times w, / divisor.",
)


# --- binary cross entropy on logits -------------------------------------------------------
def _exp_neg_abs(x, out):
    numpy.abs(x, out=out)
    numpy.negative(out, out=out)
    numpy.exp(out, out=out)


def _bce_logits_loss(loss, x, t, w, pw, e, b):
    """The loss from ``e = exp(-|x|)``; overwrites ``e`` and ``b``."""
    _log1p(e, b, loss)  # b = log1p(exp(-|x|))
    numpy.minimum(x, 0, out=e)
    numpy.subtract(e, b, out=e)  # e = log_sigmoid(x)
    numpy.subtract(1, t, out=loss)
    numpy.multiply(loss, x, out=loss)
    if pw is not None:
        numpy.subtract(pw, 1, out=b)
        numpy.multiply(b, t, out=b)
        numpy.add(b, 1, out=b)
        numpy.multiply(e, b, out=e)
    numpy.subtract(loss, e, out=loss)
    if w is not None:
        numpy.multiply(loss, w, out=loss)


def _bce_logits_np(loss, x, t, w, pw, a, b):
    _exp_neg_abs(x, a)
    _bce_logits_loss(loss, x, t, w, pw, a, b)


_BCE_LOGITS_LOSS = """
    const acc_t e = gg_exp(-gg_abs(x));
    const acc_t ls = gg_min(x, acc_t(0)) - gg_log1p(e);
    if (HAS_pw) loss = (acc_t(1) - t) * x - ((pw - acc_t(1)) * t + acc_t(1)) * ls;
    else loss = (acc_t(1) - t) * x - ls;
    if (HAS_w) loss *= w;"""

BCE_LOGITS = Kernel(
    name="bce_logits",
    inputs=("x", "t", "w", "pw"),
    optional=frozenset({"w", "pw"}),
    outputs=("loss",),
    cuda=_BCE_LOGITS_LOSS,
    numpy=_bce_logits_np,
    scratch=2,
    reducible=True,
    doc="PyTorch's binary_cross_entropy_with_logits: (1 - t) * x - lw * log_sigmoid(x), "
    "lw = (pw - 1) * t + 1, log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)); times w.",
)


def _logits_grad(gx, s, t, pw, b):
    """``gx = s - t``, or ``(pw*t + 1 - t) * s - pw*t`` with ``pos_weight``."""
    if pw is None:
        numpy.subtract(s, t, out=gx)
    else:
        numpy.multiply(pw, t, out=b)
        numpy.add(b, 1, out=gx)
        numpy.subtract(gx, t, out=gx)
        numpy.multiply(gx, s, out=gx)
        numpy.subtract(gx, b, out=gx)


def _bce_logits_backward_np(gx, g, x, t, w, pw, divisor, a, b):
    g, divisor = _scaled(g, divisor)
    _sigmoid_into(x, a)
    _logits_grad(gx, a, t, pw, b)
    numpy.multiply(gx, g, out=gx)
    _times_w_over(gx, w, divisor)


_LOGITS_GRAD = """
    if (HAS_pw) gx = (pw * t + acc_t(1) - t) * s - pw * t;
    else gx = s - t;"""

BCE_LOGITS_BACKWARD = Kernel(
    name="bce_logits_backward",
    inputs=("g", "x", "t", "w", "pw"),
    optional=frozenset({"w", "pw"}),
    params=("divisor",),
    outputs=("gx",),
    cuda="const acc_t s = acc_t(1) / (acc_t(1) + gg_exp(-x));"
    + _LOGITS_GRAD
    + """
    gx *= g;"""
    + _times_w_over_c("gx"),
    numpy=_bce_logits_backward_np,
    scratch=2,
    doc="PyTorch's gradient: (sigmoid(x) - t) * g, or ((pw*t + 1 - t) * sigmoid(x) - pw*t) "
    "* g with pos_weight; times w, / divisor.",
)


def _bce_logits_with_grad_np(loss, gx, x, t, w, pw, divisor, a, b, c):
    _exp_neg_abs(x, a)
    numpy.greater_equal(x, 0, out=c)
    numpy.maximum(c, a, out=c)  # 1 where x >= 0, else e (NaN stays NaN)
    numpy.add(a, 1, out=b)
    numpy.divide(c, b, out=c)  # sigmoid(x) from e, without a second exp
    _logits_grad(gx, c, t, pw, b)
    _times_w_over(gx, w, divisor)
    _bce_logits_loss(loss, x, t, w, pw, a, b)


BCE_LOGITS_WITH_GRAD = Kernel(
    name="bce_logits_with_grad",
    inputs=("x", "t", "w", "pw"),
    optional=frozenset({"w", "pw"}),
    params=("divisor",),
    outputs=("loss", "gx"),
    cuda=_BCE_LOGITS_LOSS
    + """
    const acc_t s = (x >= acc_t(0) ? acc_t(1) : e) / (acc_t(1) + e);"""
    + _LOGITS_GRAD
    + _times_w_over_c("gx"),
    numpy=_bce_logits_with_grad_np,
    scratch=3,
    reducible=True,
    doc="The loss of bce_logits and, in the same pass, its gradient for an upstream "
    "gradient of one (bce_logits_backward with g = 1, sigmoid taken from exp(-|x|)): "
    "forward and backward of a training step read x and t once.",
)


def _bce_logits_target_backward_np(gt, g, x, w, pw, divisor, a, b):
    if pw is None:
        numpy.negative(x, out=gt)
    else:
        _exp_neg_abs(x, a)
        _log1p(a, b, gt)  # b = log1p(exp(-|x|))
        numpy.minimum(x, 0, out=a)
        numpy.subtract(a, b, out=a)  # log_sigmoid(x)
        numpy.negative(x, out=gt)
        numpy.minimum(gt, 0, out=gt)
        numpy.subtract(gt, b, out=gt)  # log_sigmoid(-x)
        numpy.multiply(a, pw, out=a)
        numpy.subtract(gt, a, out=gt)
    numpy.multiply(gt, g, out=gt)
    _times_w_over(gt, w, divisor)


BCE_LOGITS_TARGET_BACKWARD = Kernel(
    name="bce_logits_target_backward",
    inputs=("g", "x", "w", "pw"),
    optional=frozenset({"w", "pw"}),
    params=("divisor",),
    outputs=("gt",),
    cuda="""
        if (HAS_pw) {
            const acc_t sp = gg_log1p(gg_exp(-gg_abs(x)));
            gt = (gg_min(-x, acc_t(0)) - sp - (gg_min(x, acc_t(0)) - sp) * pw) * g;
        } else {
            gt = -x * g;
        }"""
    + _times_w_over_c("gt"),
    numpy=_bce_logits_target_backward_np,
    scratch=2,
    doc="The target's gradient: -x * g, or (log_sigmoid(-x) - pw * log_sigmoid(x)) * g; "
    "times w, / divisor.",
)


# --- activations --------------------------------------------------------------------------
def _max_ignoring_nan(x):
    return numpy.fmax.reduce(x, axis=None)


def _softplus_np(y, x, beta, threshold, a, b, c):
    if beta == 1:
        bx = x
    else:
        bx = a
        numpy.multiply(x, beta, out=bx)
    numpy.exp(bx, out=b)
    _log1p(b, y, c)
    if beta != 1:
        numpy.divide(y, beta, out=y)
    top = _max_ignoring_nan(bx)  # a NaN must not hide an inf that needs the fix-ups
    if top > 80:  # exp overflowed somewhere below the threshold: log1p(inf) is inf
        numpy.copyto(y, b, where=numpy.isinf(b))
    if top > threshold:
        numpy.copyto(y, x, where=bx > threshold)


SOFTPLUS = Kernel(
    name="softplus",
    inputs=("x",),
    params=("beta", "threshold"),
    outputs=("y",),
    cuda="""
        const acc_t bx = x * beta;
        y = (bx > threshold) ? x : gg_log1p(gg_exp(bx)) / beta;""",
    numpy=_softplus_np,
    scratch=3,
    doc="PyTorch's softplus: x where beta*x > threshold, else log1p(exp(beta*x)) / beta.",
)


def _softplus_backward_np(gx, g, x, beta, threshold, a):
    numpy.multiply(x, beta, out=a)
    top = _max_ignoring_nan(a)
    mask = a > threshold if top > threshold else None
    numpy.exp(a, out=a)
    numpy.multiply(g, a, out=gx)
    numpy.add(a, 1, out=a)
    numpy.divide(gx, a, out=gx)
    if mask is not None:
        numpy.copyto(gx, g, where=mask)


SOFTPLUS_BACKWARD = Kernel(
    name="softplus_backward",
    inputs=("g", "x"),
    params=("beta", "threshold"),
    outputs=("gx",),
    cuda="""
        const acc_t bx = x * beta;
        const acc_t z = gg_exp(bx);
        gx = (bx > threshold) ? g : g * z / (z + acc_t(1));""",
    numpy=_softplus_backward_np,
    scratch=1,
    doc="PyTorch's gradient: g where beta*x > threshold, else g * z / (z + 1), z = exp(beta*x).",
)


def _gelu_np(y, x, a):
    numpy.multiply(x, SQRT1_2, out=a)
    _erf(a, out=a)
    numpy.add(a, 1, out=a)
    numpy.multiply(x, 0.5, out=y)
    numpy.multiply(y, a, out=y)


GELU = Kernel(
    name="gelu",
    inputs=("x",),
    outputs=("y",),
    cuda=f"y = x * acc_t(0.5) * (acc_t(1) + gg_erf(x * {_c(SQRT1_2)}));",
    numpy=_gelu_np,
    scratch=1,
    doc="GELU, approximate='none': x * 0.5 * (1 + erf(x / sqrt(2))).",
)


def _ndtr_into(x, out):
    numpy.multiply(x, SQRT1_2, out=out)
    _erf(out, out=out)
    numpy.add(out, 1, out=out)
    numpy.multiply(out, 0.5, out=out)


def _gelu_backward_np(gx, g, x, a, b):
    _ndtr_into(x, a)
    numpy.multiply(x, x, out=b)
    numpy.multiply(b, -0.5, out=b)
    numpy.exp(b, out=b)
    numpy.multiply(b, GELU_PDF, out=b)
    numpy.multiply(b, x, out=b)
    numpy.add(a, b, out=a)
    numpy.multiply(g, a, out=gx)


GELU_BACKWARD = Kernel(
    name="gelu_backward",
    inputs=("g", "x"),
    outputs=("gx",),
    cuda=f"""
        const acc_t cdf = acc_t(0.5) * (acc_t(1) + gg_erf(x * {_c(SQRT1_2)}));
        const acc_t pdf = gg_exp(x * x * acc_t(-0.5)) * {_c(GELU_PDF)};
        gx = g * (cdf + x * pdf);""",
    numpy=_gelu_backward_np,
    scratch=2,
    doc="PyTorch's gradient: g * (Phi(x) + x * phi(x)).",
)


def _ndtr_np(y, x):
    _ndtr_into(x, y)


NDTR = Kernel(
    name="ndtr",
    inputs=("x",),
    outputs=("y",),
    cuda=f"y = acc_t(0.5) * (acc_t(1) + gg_erf(x * {_c(SQRT1_2)}));",
    numpy=_ndtr_np,
    doc="The standard normal CDF, Phi(x) = (1 + erf(x / sqrt(2))) / 2.",
)


def _gelu_tanh_np(y, x, a):
    numpy.multiply(x, x, out=a)
    numpy.multiply(a, x, out=a)
    numpy.multiply(a, GELU_TANH_KAPPA, out=a)
    numpy.add(a, x, out=a)
    numpy.multiply(a, GELU_TANH_BETA, out=a)
    numpy.tanh(a, out=a)
    numpy.add(a, 1, out=a)
    numpy.multiply(x, 0.5, out=y)
    numpy.multiply(y, a, out=y)


GELU_TANH = Kernel(
    name="gelu_tanh",
    inputs=("x",),
    outputs=("y",),
    cuda=f"""
        const acc_t inner = (x + {_c(GELU_TANH_KAPPA)} * (x * x * x)) * {_c(GELU_TANH_BETA)};
        y = x * acc_t(0.5) * (acc_t(1) + gg_tanh(inner));""",
    numpy=_gelu_tanh_np,
    scratch=1,
    doc="GELU, approximate='tanh': 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).",
)


def _gelu_tanh_backward_np(gx, g, x, a, b, c):
    numpy.multiply(x, x, out=a)  # x^2
    numpy.multiply(a, x, out=b)
    numpy.multiply(b, GELU_TANH_KAPPA, out=b)
    numpy.add(b, x, out=b)
    numpy.multiply(b, GELU_TANH_BETA, out=b)
    numpy.tanh(b, out=b)  # tanh(inner)
    numpy.multiply(b, b, out=c)
    numpy.subtract(1, c, out=c)  # 1 - tanh^2
    numpy.multiply(a, 3 * GELU_TANH_KAPPA, out=a)
    numpy.add(a, 1, out=a)
    numpy.multiply(a, GELU_TANH_BETA, out=a)  # d inner / dx
    numpy.multiply(c, a, out=c)
    numpy.multiply(c, x, out=c)
    numpy.multiply(c, 0.5, out=c)  # right derivative
    numpy.add(b, 1, out=b)
    numpy.multiply(b, 0.5, out=b)  # left derivative
    numpy.add(b, c, out=b)
    numpy.multiply(g, b, out=gx)


GELU_TANH_BACKWARD = Kernel(
    name="gelu_tanh_backward",
    inputs=("g", "x"),
    outputs=("gx",),
    cuda=f"""
        const acc_t x_sq = x * x;
        const acc_t inner = (x + {_c(GELU_TANH_KAPPA)} * (x_sq * x)) * {_c(GELU_TANH_BETA)};
        const acc_t th = gg_tanh(inner);
        const acc_t inner_derivative = (x_sq * {_c(3 * GELU_TANH_KAPPA)} + acc_t(1))
            * {_c(GELU_TANH_BETA)};
        const acc_t right_derivative = (acc_t(1) - th * th) * inner_derivative * x * acc_t(0.5);
        const acc_t left_derivative = (th + acc_t(1)) * acc_t(0.5);
        gx = g * (left_derivative + right_derivative);""",
    numpy=_gelu_tanh_backward_np,
    scratch=3,
    doc="PyTorch's gradient of the tanh GELU.",
)


KERNELS: tuple[Kernel, ...] = (
    SIGMOID,
    SIGMOID_BACKWARD,
    BCE,
    BCE_BACKWARD,
    BCE_EPS,
    BCE_EPS_BACKWARD,
    BCE_TARGET_BACKWARD,
    BCE_LOGITS,
    BCE_LOGITS_BACKWARD,
    BCE_LOGITS_WITH_GRAD,
    BCE_LOGITS_TARGET_BACKWARD,
    SOFTPLUS,
    SOFTPLUS_BACKWARD,
    GELU,
    GELU_BACKWARD,
    NDTR,
    GELU_TANH,
    GELU_TANH_BACKWARD,
)
"""Every kernel the project ships; the NVRTC gate compiles each one's CUDA sources."""
