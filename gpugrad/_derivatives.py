"""The derivative table: each op's node name, what it saves, and its backward formulas.

A formula is ``f(F, grad, *saved, *attrs)`` -> the gradient for one input. ``F`` is the
backend (raw arrays) or gpugrad's functional namespace (tensors, for ``create_graph``), so
one formula serves both and every gradient is itself differentiable. ``save`` names the
saved values: inputs ``x``, ``y``, ``z`` and the output ``o``. Broadcasting is undone once,
in ``Node.apply``, for rows marked ``broadcasts``.
"""

from __future__ import annotations

import math

from ._graph import Op


def unary(name, node, forward, grad, save="x"):
    return Op(name, node, forward, (grad,), save)


def binary(name, node, forward, grad_x, grad_y, save="xy"):
    return Op(name, node, forward, (grad_x, grad_y), save, broadcasts=True)


def backward_only(name, node, grad, save=""):
    """An op whose forward is written out in ``_ops`` (shape, reduction, index ops)."""
    return Op(name, node, None, (grad,), save)


def _pow_grad(F, g, x, y):
    if not isinstance(y, (int, float)):
        return g * y * x ** (y - 1)
    return F.zeros_like(g) if y == 0 else g * y * x ** (y - 1)


def _pow_exponent_grad(F, g, x, y, o):
    safe_log = F.log(F.where(x == 0, 1, x))
    return g * o * safe_log


def _rpow_grad(F, g, x, o):
    """``x ** y`` for a number ``x``: ``o * log(x)``; NaN for ``x < 0``, and for ``x == 0``
    zero where ``y >= 0`` (there ``o`` is 0 or 1), as in PyTorch."""
    if x > 0:
        return g * o * math.log(x)
    if x < 0:
        return g * o * math.nan
    return F.where(o > 1, g * -math.inf, 0)


def _expand_reduced(F, g, shape, keep):
    """Undo a reduction's shape: back to ``keep`` (kept dims), then broadcast to ``shape``."""
    return F.expand(F.reshape(g, keep), shape)


def _extreme_grad(F, g, x, o, shape, keep, dim):
    """Max/min over a whole dim: ties share the gradient evenly, as in PyTorch."""
    mask = x == F.reshape(o, keep)
    count = F.sum(mask, dim, True)
    return F.where(mask, _expand_reduced(F, g, shape, keep), 0) / F.astype(count, g.dtype)


def _matmul_grad_x(F, g, x, y):
    if y.ndim == 1:
        if x.ndim == 1:
            return g * y
        return F.unsqueeze(g, -1) * y
    if x.ndim == 1:
        return F.reshape(F.sum_to(F.matmul(F.unsqueeze(g, -2), F.mT(y)), (1, x.shape[0])), x.shape)
    return F.matmul(g, F.mT(y))


def _matmul_grad_y(F, g, x, y):
    if x.ndim == 1:
        if y.ndim == 1:
            return g * x
        return F.unsqueeze(x, -1) * F.unsqueeze(g, -2)
    if y.ndim == 1:
        return F.reshape(F.sum_to(F.matmul(F.mT(x), F.unsqueeze(g, -1)), (y.shape[0], 1)), y.shape)
    return F.matmul(F.mT(x), g)


# --- elementwise ------------------------------------------------------------------------
NEG = unary("neg", "NegBackward0", lambda B, x: B.neg(x), lambda F, g: -g, save="")
EXP = unary("exp", "ExpBackward0", lambda B, x: B.exp(x), lambda F, g, o: g * o, save="o")
LOG = unary("log", "LogBackward0", lambda B, x: B.log(x), lambda F, g, x: g / x)
LOG1P = unary("log1p", "Log1PBackward0", lambda B, x: B.log1p(x), lambda F, g, x: g / (1 + x))
EXPM1 = unary(
    "expm1", "Expm1Backward0", lambda B, x: B.expm1(x), lambda F, g, o: g * (o + 1), save="o"
)
SQRT = unary("sqrt", "SqrtBackward0", lambda B, x: B.sqrt(x), lambda F, g, o: g / (2 * o), save="o")
RSQRT = unary(
    "rsqrt",
    "RsqrtBackward0",
    lambda B, x: B.rsqrt(x),
    lambda F, g, o: -0.5 * g * o * o * o,
    save="o",
)
SIN = unary("sin", "SinBackward0", lambda B, x: B.sin(x), lambda F, g, x: g * F.cos(x))
COS = unary("cos", "CosBackward0", lambda B, x: B.cos(x), lambda F, g, x: -g * F.sin(x))
TAN = unary("tan", "TanBackward0", lambda B, x: B.tan(x), lambda F, g, o: g * (1 + o * o), save="o")
TANH = unary(
    "tanh", "TanhBackward0", lambda B, x: B.tanh(x), lambda F, g, o: g * (1 - o * o), save="o"
)
SIGMOID = unary(
    "sigmoid",
    "SigmoidBackward0",
    lambda B, x: B.sigmoid(x),
    lambda F, g, o: F.sigmoid_backward(g, o),
    save="o",
)
RELU = unary(
    "relu", "ReluBackward0", lambda B, x: B.relu(x), lambda F, g, o: F.where(o > 0, g, 0), save="o"
)
ABS = unary("abs", "AbsBackward0", lambda B, x: B.abs(x), lambda F, g, x: g * F.sign(x))
SIGN = unary("sign", "SignBackward0", lambda B, x: B.sign(x), lambda F, g: F.zeros_like(g), save="")
RECIPROCAL = unary(
    "reciprocal",
    "ReciprocalBackward0",
    lambda B, x: B.reciprocal(x),
    lambda F, g, o: -g * o * o,
    save="o",
)
CLAMP = unary(
    "clamp",
    "ClampBackward1",
    lambda B, x, low, high: B.clamp(x, low, high),
    # out == x exactly where low <= x <= high (NaN compares false): PyTorch's mask
    lambda F, g, x, o, low, high: F.where(o == x, g, 0),
    save="xo",
)

ADD = binary(
    "add", "AddBackward0", lambda B, x, y: B.add(x, y), lambda F, g: g, lambda F, g: g, save=""
)
SUB = binary(
    "sub", "SubBackward0", lambda B, x, y: B.sub(x, y), lambda F, g: g, lambda F, g: -g, save=""
)
RSUB = binary(
    "rsub", "RsubBackward1", lambda B, x, y: B.sub(y, x), lambda F, g: -g, lambda F, g: g, save=""
)
MUL = binary(
    "mul",
    "MulBackward0",
    lambda B, x, y: B.mul(x, y),
    lambda F, g, x, y: g * y,
    lambda F, g, x, y: g * x,
)
DIV = binary(
    "div",
    "DivBackward0",
    lambda B, x, y: B.div(x, y),
    lambda F, g, x, y: g / y,
    lambda F, g, x, y: -g * x / (y * y),
)
POW_SCALAR = binary("pow", "PowBackward0", lambda B, x, y: B.pow(x, y), _pow_grad, None)
POW = binary(
    "pow",
    "PowBackward1",
    lambda B, x, y: B.pow(x, y),
    lambda F, g, x, y, o: _pow_grad(F, g, x, y),
    _pow_exponent_grad,
    save="xyo",
)
RPOW = binary("pow", "PowBackward2", lambda B, x, y: B.pow(x, y), None, _rpow_grad, save="xo")
MAXIMUM = binary(
    "maximum",
    "MaximumBackward0",
    lambda B, x, y: B.maximum(x, y),
    lambda F, g, x, y: F.where(x == y, g / 2, F.where(x > y, g, 0)),
    lambda F, g, x, y: F.where(x == y, g / 2, F.where(y > x, g, 0)),
)
MINIMUM = binary(
    "minimum",
    "MinimumBackward0",
    lambda B, x, y: B.minimum(x, y),
    lambda F, g, x, y: F.where(x == y, g / 2, F.where(x < y, g, 0)),
    lambda F, g, x, y: F.where(x == y, g / 2, F.where(y < x, g, 0)),
)
WHERE = Op(
    "where",
    "WhereBackward0",
    None,
    (None, lambda F, g, c: F.where(c, g, 0), lambda F, g, c: F.where(c, 0, g)),
    save="x",
    broadcasts=True,
)

# --- reductions -------------------------------------------------------------------------
SUM = backward_only(
    "sum", "SumBackward0", lambda F, g, shape, keep: _expand_reduced(F, g, shape, keep)
)
SUM_DIM = backward_only(
    "sum", "SumBackward1", lambda F, g, shape, keep: _expand_reduced(F, g, shape, keep)
)
MEAN = backward_only(
    "mean", "MeanBackward0", lambda F, g, shape, keep, n: _expand_reduced(F, g, shape, keep) / n
)
MEAN_DIM = backward_only(
    "mean", "MeanBackward1", lambda F, g, shape, keep, n: _expand_reduced(F, g, shape, keep) / n
)
PROD = backward_only(
    "prod",
    "ProdBackward0",
    lambda F, g, x, shape, keep, dim: _expand_reduced(F, g, shape, keep) * F.prod_others(x, dim),
    save="x",
)
PROD_DIM = Op("prod", "ProdBackward1", None, PROD.grads, save="x")
AMAX = backward_only("amax", "AmaxBackward0", _extreme_grad, save="xo")
AMIN = backward_only("amin", "AminBackward0", _extreme_grad, save="xo")
MAX = backward_only("max", "MaxBackward1", _extreme_grad, save="xo")
MIN = backward_only("min", "MinBackward1", _extreme_grad, save="xo")
MAX_DIM = backward_only(
    "max",
    "MaxBackward0",
    lambda F, g, shape, keep, onehot: F.where(onehot, _expand_reduced(F, g, shape, keep), 0),
)
MIN_DIM = Op("min", "MinBackward0", None, MAX_DIM.grads)
VAR = backward_only(
    "var",
    "VarBackward0",
    lambda F, g, x, shape, keep, dim, dof: (
        _expand_reduced(F, g, shape, keep) * (2 / dof) * (x - F.mean(x, dim, True))
    ),
    save="x",
)
STD = backward_only(
    "std",
    "StdBackward0",
    lambda F, g, x, o, shape, keep, dim, dof: (
        _expand_reduced(F, g, shape, keep) * (x - F.mean(x, dim, True)) / (F.reshape(o, keep) * dof)
    ),
    save="xo",
)
LOGSUMEXP = backward_only(
    "logsumexp",
    "LogsumexpBackward0",
    lambda F, g, x, o, shape, keep: (
        _expand_reduced(F, g, shape, keep) * F.exp(x - F.reshape(o, keep))
    ),
    save="xo",
)
SOFTMAX = backward_only(
    "softmax", "SoftmaxBackward0", lambda F, g, o, dim: o * (g - F.sum(g * o, dim, True)), save="o"
)
LOG_SOFTMAX = backward_only(
    "log_softmax",
    "LogSoftmaxBackward0",
    lambda F, g, o, dim: g - F.exp(o) * F.sum(g, dim, True),
    save="o",
)
CUMSUM = backward_only(
    "cumsum", "CumsumBackward0", lambda F, g, dim: F.flip(F.cumsum(F.flip(g, dim), dim), dim)
)
FLIP = backward_only("flip", "FlipBackward0", lambda F, g, dims: F.flip(g, dims))

# --- shape, indexing, joining -----------------------------------------------------------
VIEW = backward_only("view", "ViewBackward0", lambda F, g, shape: F.reshape(g, shape))
UNSAFE_VIEW = backward_only(
    "reshape", "UnsafeViewBackward0", lambda F, g, shape: F.reshape(g, shape)
)
SQUEEZE = backward_only("squeeze", "SqueezeBackward0", lambda F, g, shape: F.reshape(g, shape))
SQUEEZE_DIM = backward_only("squeeze", "SqueezeBackward1", lambda F, g, shape: F.reshape(g, shape))
SQUEEZE_DIMS = Op("squeeze", "SqueezeBackward2", None, SQUEEZE.grads)
UNSQUEEZE = backward_only(
    "unsqueeze", "UnsqueezeBackward0", lambda F, g, shape: F.reshape(g, shape)
)
EXPAND = backward_only("expand", "ExpandBackward0", lambda F, g, shape: F.sum_to(g, shape))
SUM_TO = backward_only("sum_to_size", "SumBackward1", lambda F, g, shape: F.expand(g, shape))
TRANSPOSE = backward_only(
    "transpose", "TransposeBackward0", lambda F, g, d0, d1: F.transpose(g, d0, d1)
)
T = backward_only("t", "TBackward0", lambda F, g: F.transpose(g, 0, 1))
PERMUTE = backward_only("permute", "PermuteBackward0", lambda F, g, inverse: F.permute(g, inverse))
SELECT = backward_only(
    "select", "SelectBackward0", lambda F, g, shape, key: F.index_scatter(g, shape, key)
)
SLICE = backward_only(
    "slice", "SliceBackward0", lambda F, g, shape, key: F.index_scatter(g, shape, key)
)
INDEX = backward_only(
    "index", "IndexBackward0", lambda F, g, shape, key: F.index_scatter(g, shape, key)
)
INDEX_SCATTER = backward_only(
    "index_scatter", "IndexPutBackward0", lambda F, g, key: F.getitem(g, key)
)
CAT = Op(
    "cat",
    "CatBackward0",
    None,
    lambda F, g, dim, bounds: [
        F.getitem(g, (slice(None),) * dim + (slice(start, stop),)) for start, stop in bounds
    ],
)
STACK = Op(
    "stack",
    "StackBackward0",
    None,
    lambda F, g, dim, n: [F.getitem(g, (slice(None),) * dim + (i,)) for i in range(n)],
)
CLONE = backward_only("clone", "CloneBackward0", lambda F, g: g)
TO_DEVICE = backward_only("to", "ToCopyBackward0", lambda F, g, source: F.to_backend(g, source))
TO_DTYPE = backward_only("to", "ToCopyBackward0", lambda F, g, dtype: F.astype(g, dtype))

# --- linear algebra ---------------------------------------------------------------------
DOT = Op("matmul", "DotBackward0", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
MV = Op("matmul", "MvBackward0", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
VM = Op("matmul", "SqueezeBackward4", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
MM = Op("matmul", "MmBackward0", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
BMM = Op("matmul", "BmmBackward0", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
MATMUL = Op("matmul", "UnsafeViewBackward0", None, (_matmul_grad_x, _matmul_grad_y), "xy", True)
