"""Every row of the derivative table, checked against finite differences.

``CASES`` is one table: each case names the table ops it exercises, and is run through
``gradcheck`` and ``gradgradcheck`` in float64 (first order only where a case sits on a tie,
or for ``prod`` over zeros, whose double backward gpugrad does not support). A test checks
that the named ops are really recorded, and another that every ``Op`` in
``gpugrad._derivatives`` is named by some case, so a new op without a check fails the suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import _derivatives as D
from gpugrad._graph import Op
from gpugrad._transfer import to_backend
from gpugrad.autograd import GradcheckError, gradcheck, gradgradcheck
from gpugrad.backends import NumpyBackend

rng = np.random.default_rng(20240611)


def randn(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def positive(*shape: int) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def nonzero(*shape: int) -> np.ndarray:
    """Magnitudes in [0.3, 2] with random signs: away from the kink at 0."""
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape: int) -> np.ndarray:
    """Shuffled, evenly spaced values in [-2, 2] (no ties for max/min)."""
    return rng.permutation(np.linspace(-2.0, 2.0, math.prod(shape))).reshape(shape)


def array(values: list) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    inputs: tuple[np.ndarray, ...]
    ops: tuple[Op, ...]
    second_order: bool = True
    tol: dict = field(default_factory=dict)


def case(name, fn, inputs, *ops, second_order=True, **tol) -> Case:
    return Case(name, fn, tuple(inputs), ops, second_order, tol)


def pair_apart(*shape: int) -> tuple[np.ndarray, np.ndarray]:
    x = randn(*shape)
    return x, x + nonzero(*shape)


def index(values: list) -> gg.Tensor:
    return gg.tensor(values)


OTHER_CPU = NumpyBackend()
CLAMP_INPUT = array([[-1.3, -0.8, -0.2, 0.1], [0.35, 0.9, 1.6, -0.05]])
MASK = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])
DISTINCT_7 = distinct(7)

CASES = [
    # --- arithmetic -------------------------------------------------------------------
    case("add", lambda x, y: x + y, (randn(3, 4), randn(3, 4)), D.ADD),
    case("add_scalar", lambda x: x + 2.5, (randn(3),), D.ADD),
    case("radd_scalar", lambda x: 2.5 + x, (randn(3),), D.ADD),
    case("add_fn", lambda x, y: gg.add(x, y), (randn(2, 3), randn(2, 3)), D.ADD),
    case("sub", lambda x, y: x - y, (randn(3, 4), randn(3, 4)), D.SUB),
    case("sub_scalar", lambda x: x - 1.5, (randn(3),), D.SUB),
    case("rsub_scalar", lambda x: 2.0 - x, (randn(3),), D.RSUB),
    case("mul", lambda x, y: x * y, (randn(3, 4), randn(3, 4)), D.MUL),
    case("mul_self", lambda x: x * x, (randn(5),), D.MUL),
    case("rmul_scalar", lambda x: 3 * x, (randn(3),), D.MUL),
    case("div", lambda x, y: x / y, (randn(3, 4), nonzero(3, 4)), D.DIV),
    case("div_scalar", lambda x: x / 4.0, (randn(3),), D.DIV),
    case("rdiv_scalar", lambda x: 2.0 / x, (nonzero(3),), D.RECIPROCAL, D.MUL),
    case("neg", lambda x: -x, (randn(2, 3),), D.NEG),
    case("neg_fn", lambda x: gg.neg(x), (randn(2, 3),), D.NEG),
    case("pow_int", lambda x: x**3, (randn(2, 3),), D.POW_SCALAR),
    case("pow_float", lambda x: x**2.5, (positive(2, 3),), D.POW_SCALAR),
    case("pow_negative", lambda x: x**-1.5, (positive(2, 3),), D.POW_SCALAR),
    case("pow_zero", lambda x: x**0, (randn(3),), D.POW_SCALAR),
    case("pow_one", lambda x: x**1, (randn(3),), D.POW_SCALAR),
    case("pow_tensor", lambda x, y: x**y, (positive(2, 3), randn(2, 3)), D.POW),
    case("pow_fn", lambda x, y: gg.pow(x, y), (positive(3), randn(3)), D.POW),
    case("pow_broadcast", lambda x, y: x**y, (positive(3, 1), randn(1, 4)), D.POW),
    case("rpow_scalar", lambda x: 2.0**x, (randn(2, 3),), D.RPOW),
    case("rpow_fn", lambda x: gg.pow(0.5, x), (randn(3),), D.RPOW),
    # --- unary ------------------------------------------------------------------------
    case("exp", lambda x: x.exp(), (randn(2, 3),), D.EXP),
    case("log", lambda x: gg.log(x), (positive(2, 3),), D.LOG),
    case("log1p", lambda x: x.log1p(), (positive(2, 3) - 0.4,), D.LOG1P),
    case("expm1", lambda x: gg.expm1(x), (randn(2, 3),), D.EXPM1),
    case("sqrt", lambda x: x.sqrt(), (positive(2, 3),), D.SQRT),
    case("rsqrt", lambda x: gg.rsqrt(x), (positive(2, 3),), D.RSQRT),
    case("sin", lambda x: x.sin(), (randn(2, 3),), D.SIN),
    case("cos", lambda x: gg.cos(x), (randn(2, 3),), D.COS),
    case("tan", lambda x: x.tan(), (rng.uniform(-1.2, 1.2, (2, 3)),), D.TAN),
    case("tanh", lambda x: gg.tanh(x), (randn(2, 3),), D.TANH),
    case("sigmoid", lambda x: x.sigmoid(), (randn(2, 3),), D.SIGMOID),
    case("relu", lambda x: x.relu(), (nonzero(3, 4),), D.RELU),
    case("abs", lambda x: x.abs(), (nonzero(3, 4),), D.ABS),
    case("abs_operator", lambda x: abs(x), (nonzero(3),), D.ABS),
    case("sign", lambda x: x.sign() * x, (nonzero(3, 4),), D.SIGN, D.MUL),
    case("reciprocal", lambda x: x.reciprocal(), (nonzero(2, 3),), D.RECIPROCAL),
    case("clamp", lambda x: x.clamp(-0.5, 0.5), (CLAMP_INPUT,), D.CLAMP),
    case("clamp_min", lambda x: x.clamp(min=-0.5), (CLAMP_INPUT,), D.CLAMP),
    case("clamp_max", lambda x: gg.clamp(x, max=0.5), (CLAMP_INPUT,), D.CLAMP),
    case("clip", lambda x: x.clip(-0.5, 0.5), (CLAMP_INPUT,), D.CLAMP),
    case("maximum", lambda x, y: gg.maximum(x, y), pair_apart(3, 4), D.MAXIMUM),
    case("minimum", lambda x, y: x.minimum(y), pair_apart(3, 4), D.MINIMUM),
    case(
        "maximum_broadcast",
        lambda x, y: gg.maximum(x, y),
        (DISTINCT_7[:3].reshape(3, 1), DISTINCT_7[3:].reshape(1, 4)),
        D.MAXIMUM,
    ),
    case("max_other", lambda x, y: x.max(y), pair_apart(4), D.MAXIMUM),
    case("min_other", lambda x, y: gg.min(x, y), pair_apart(4), D.MINIMUM),
    case(
        "maximum_tie_splits",
        lambda x, y: gg.maximum(x, y),
        (array([1.0, -2.0, 3.0]), array([1.0, 0.5, 3.0])),
        D.MAXIMUM,
        second_order=False,
    ),
    case(
        "minimum_tie_splits",
        lambda x, y: gg.minimum(x, y),
        (array([1.0, -2.0]), array([1.0, 0.5])),
        D.MINIMUM,
        second_order=False,
    ),
    case("where", lambda x, y: gg.where(x > 0, x, y), (nonzero(3, 4), randn(3, 4)), D.WHERE),
    case("where_scalar", lambda x: gg.where(x > 0, x, 0.0), (nonzero(3, 4),), D.WHERE),
    case("where_scalar_input", lambda x: gg.where(x > 0, 1.5, x), (nonzero(3, 4),), D.WHERE),
    case(
        "where_broadcast",
        lambda c, x, y: gg.where(c > 0, x, y),
        (nonzero(3, 1), randn(1, 4), randn(3, 4)),
        D.WHERE,
    ),
    # --- broadcasting -----------------------------------------------------------------
    case("broadcast_add", lambda x, y: x + y, (randn(3, 1), randn(1, 4)), D.ADD),
    case("broadcast_sub_0d", lambda x, y: x - y, (randn(), randn(3)), D.SUB),
    case("broadcast_mul_rows", lambda x, y: x * y, (randn(2, 3), randn(3)), D.MUL),
    case("broadcast_mul_0d", lambda x, y: x * y, (randn(3, 4), randn()), D.MUL),
    case("broadcast_div", lambda x, y: x / y, (randn(2, 1, 3), nonzero(4, 1)), D.DIV),
    case("broadcast_0d_0d", lambda x, y: x * y + x, (randn(), randn()), D.MUL, D.ADD),
    # --- reductions -------------------------------------------------------------------
    case("sum", lambda x: x.sum(), (randn(3, 4),), D.SUM),
    case("sum_dim", lambda x: x.sum(1), (randn(3, 4),), D.SUM_DIM),
    case("sum_dims_keepdim", lambda x: x.sum((0, 2), keepdim=True), (randn(2, 3, 4),), D.SUM_DIM),
    case("sum_neg_dim", lambda x: gg.sum(x, -1), (randn(2, 3, 4),), D.SUM_DIM),
    case("sum_0d", lambda x: x.sum(), (randn(),), D.SUM),
    case("mean", lambda x: x.mean(), (randn(3, 4),), D.MEAN),
    case("mean_dim", lambda x: x.mean(0), (randn(3, 4),), D.MEAN_DIM),
    case("mean_dims", lambda x: gg.mean(x, (0, 1), keepdim=True), (randn(2, 3, 4),), D.MEAN_DIM),
    case("prod", lambda x: x.prod(), (nonzero(2, 3),), D.PROD),
    case("prod_dim", lambda x: x.prod(1), (nonzero(3, 4),), D.PROD_DIM),
    case("prod_dim_keepdim", lambda x: gg.prod(x, 0, keepdim=True), (nonzero(3, 2),), D.PROD_DIM),
    case(
        "prod_one_zero",
        lambda x: x.prod(),
        (array([[1.5, 0.0, -2.0], [0.7, 1.2, 0.9]]),),
        D.PROD,
        second_order=False,
    ),
    case(
        "prod_dim_zeros",
        lambda x: x.prod(1),
        (array([[1.5, 0.0, -2.0], [0.0, 1.2, 0.0], [0.7, 1.2, 0.9]]),),
        D.PROD_DIM,
        second_order=False,
    ),
    case("max", lambda x: x.max(), (distinct(3, 4),), D.MAX),
    case("max_dim", lambda x: x.max(1)[0], (distinct(3, 4),), D.MAX_DIM),
    case(
        "max_dim_keepdim",
        lambda x: gg.max(x, dim=0, keepdim=True).values,
        (distinct(3, 4),),
        D.MAX_DIM,
    ),
    case("min", lambda x: gg.min(x), (distinct(3, 4),), D.MIN),
    case("min_dim", lambda x: x.min(-1).values, (distinct(2, 3, 4),), D.MIN_DIM),
    case("amax", lambda x: x.amax(), (distinct(3, 4),), D.AMAX),
    case("amax_dim", lambda x: gg.amax(x, 1), (distinct(3, 4),), D.AMAX),
    case("amax_dims", lambda x: x.amax((0, 2), keepdim=True), (distinct(2, 3, 4),), D.AMAX),
    case("amin", lambda x: gg.amin(x), (distinct(3, 4),), D.AMIN),
    case("amin_dim", lambda x: x.amin(0, keepdim=True), (distinct(3, 4),), D.AMIN),
    case(
        "amax_tie_splits",
        lambda x: x.amax(1),
        (array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),),
        D.AMAX,
        second_order=False,
    ),
    case(
        "max_tie_splits",
        lambda x: x.max(),
        (array([[1.0, 3.0], [3.0, 0.5]]),),
        D.MAX,
        second_order=False,
    ),
    case("var", lambda x: x.var(), (randn(3, 4),), D.VAR),
    case("var_dim", lambda x: gg.var(x, 1), (randn(3, 4),), D.VAR),
    case(
        "var_dims_biased",
        lambda x: x.var((0, 2), keepdim=True, unbiased=False),
        (randn(2, 3, 4),),
        D.VAR,
    ),
    case("var_correction", lambda x: x.var(0, correction=2), (randn(4, 3),), D.VAR),
    case("std", lambda x: x.std(), (randn(3, 4),), D.STD),
    case("std_dim", lambda x: gg.std(x, 0, keepdim=True), (randn(3, 4),), D.STD),
    case("std_biased", lambda x: x.std(-1, unbiased=False), (randn(2, 3, 4),), D.STD),
    case("logsumexp", lambda x: x.logsumexp(1), (randn(3, 4),), D.LOGSUMEXP),
    case("logsumexp_dims", lambda x: gg.logsumexp(x, (0, 1)), (randn(3, 4),), D.LOGSUMEXP),
    case("logsumexp_keepdim", lambda x: x.logsumexp(-1, keepdim=True), (randn(2, 3),), D.LOGSUMEXP),
    case("cumsum", lambda x: x.cumsum(0), (randn(3, 4),), D.CUMSUM),
    case("cumsum_last", lambda x: gg.cumsum(x, -1), (randn(2, 3, 4),), D.CUMSUM),
    case("cumsum_0d", lambda x: x.cumsum(0), (randn(),), D.CUMSUM),
    case("softmax", lambda x: x.softmax(1), (randn(3, 4),), D.SOFTMAX),
    case("softmax_dim0", lambda x: gg.softmax(x, 0), (randn(3, 4),), D.SOFTMAX),
    case("softmax_0d", lambda x: x.softmax(0), (randn(),), D.SOFTMAX),
    case("log_softmax", lambda x: x.log_softmax(-1), (randn(3, 4),), D.LOG_SOFTMAX),
    case("log_softmax_3d", lambda x: gg.log_softmax(x, 1), (randn(2, 3, 4),), D.LOG_SOFTMAX),
    case("flip", lambda x: x.flip(0), (randn(3, 4),), D.FLIP),
    case("flip_dims", lambda x: gg.flip(x, (0, 1)), (randn(3, 4),), D.FLIP),
    # --- shapes -----------------------------------------------------------------------
    case("reshape", lambda x: x.reshape(4, 3), (randn(3, 4),), D.VIEW),
    case("reshape_fn", lambda x: gg.reshape(x, (2, -1)), (randn(3, 4),), D.VIEW),
    case("view", lambda x: x.view(-1), (randn(3, 4),), D.VIEW),
    case("reshape_copy", lambda x: x.t().reshape(-1), (randn(3, 4),), D.UNSAFE_VIEW),
    case("flatten", lambda x: x.flatten(), (randn(2, 3, 4),), D.VIEW),
    case("flatten_from", lambda x: gg.flatten(x, 1), (randn(2, 3, 4),), D.VIEW),
    case("squeeze", lambda x: x.squeeze(), (randn(3, 1, 4, 1),), D.SQUEEZE),
    case("squeeze_dim", lambda x: gg.squeeze(x, 1), (randn(3, 1, 4),), D.SQUEEZE_DIM),
    case("squeeze_dims", lambda x: x.squeeze((1, 3)), (randn(3, 1, 4, 1),), D.SQUEEZE_DIMS),
    case("unsqueeze", lambda x: x.unsqueeze(0), (randn(3, 4),), D.UNSQUEEZE),
    case("unsqueeze_last", lambda x: gg.unsqueeze(x, -1), (randn(3, 4),), D.UNSQUEEZE),
    case("transpose", lambda x: x.transpose(0, 2), (randn(2, 3, 4),), D.TRANSPOSE),
    case("transpose_fn", lambda x: gg.transpose(x, -1, 0), (randn(3, 4),), D.TRANSPOSE),
    case("t", lambda x: x.t(), (randn(3, 4),), D.T),
    case("T", lambda x: x.T, (randn(2, 3, 4),), D.PERMUTE),
    case("mT", lambda x: x.mT, (randn(2, 3, 4),), D.TRANSPOSE),
    case("permute", lambda x: x.permute(2, 0, 1), (randn(2, 3, 4),), D.PERMUTE),
    case("permute_fn", lambda x: gg.permute(x, (1, 0)), (randn(2, 3),), D.PERMUTE),
    case("expand", lambda x: x.expand(3, 4), (randn(1, 4),), D.EXPAND),
    case("expand_new_dims", lambda x: x.expand(2, -1, 4), (randn(3, 1),), D.EXPAND),
    case("expand_as", lambda x, y: x.expand_as(y) * y, (randn(3, 1), randn(3, 4)), D.EXPAND),
    case("broadcast_to", lambda x: gg.broadcast_to(x, (2, 3)), (randn(3),), D.EXPAND),
    case("sum_to_size", lambda x: x.sum_to_size(1, 4), (randn(3, 4),), D.SUM_TO),
    case("contiguous", lambda x: x.t().contiguous(), (randn(3, 4),), D.CLONE),
    case("clone", lambda x: x.clone(), (randn(3, 4),), D.CLONE),
    case("clone_fn", lambda x: gg.clone(x) * x, (randn(3),), D.CLONE),
    case("cat", lambda x, y: gg.cat([x, y]), (randn(2, 3), randn(4, 3)), D.CAT),
    case("cat_dim1", lambda x, y: gg.cat((x, y, x), dim=1), (randn(2, 3), randn(2, 1)), D.CAT),
    case("stack", lambda x, y: gg.stack([x, y]), (randn(2, 3), randn(2, 3)), D.STACK),
    case("stack_last", lambda x, y: gg.stack((x, y, x), -1), (randn(2, 3), randn(2, 3)), D.STACK),
    case("split", lambda x: x.split(2), (randn(5, 2),), D.SLICE),
    case("split_sizes", lambda x: gg.split(x, [1, 3], dim=1), (randn(2, 4),), D.SLICE),
    case("chunk", lambda x: x.chunk(2, 1), (randn(2, 5),), D.SLICE),
    case("chunk_fn", lambda x: gg.chunk(x, 3), (randn(6),), D.SLICE),
    # --- indexing ---------------------------------------------------------------------
    case("select", lambda x: x[0], (randn(3, 4),), D.SELECT, D.INDEX_SCATTER),
    case("select_2", lambda x: x[1, -1], (randn(3, 4),), D.SELECT),
    case("select_ellipsis", lambda x: x[..., 1], (randn(2, 3, 4),), D.SELECT),
    case("slice", lambda x: x[1:3], (randn(4, 3),), D.SLICE, D.INDEX_SCATTER),
    case("slice_step", lambda x: x[:, ::2], (randn(3, 5),), D.SLICE),
    case("slice_select", lambda x: x[1:, 0], (randn(3, 4),), D.SELECT),
    case("slice_none_int", lambda x: x[None, 0, 1:], (randn(3, 4),), D.SLICE),
    case("none", lambda x: x[None], (randn(3, 4),), D.UNSQUEEZE),
    case("none_middle", lambda x: x[:, None], (randn(3, 4),), D.UNSQUEEZE),
    case("ellipsis", lambda x: x[...], (randn(3, 4),), D.UNSQUEEZE),
    case("index_tensor", lambda x: x[index([2, 0])], (randn(3, 4),), D.INDEX, D.INDEX_SCATTER),
    case("index_repeated", lambda x: x[index([0, 2, 0, 0])], (randn(3, 4),), D.INDEX),
    case("index_list", lambda x: x[[1, 1, 2]], (randn(3, 4),), D.INDEX),
    case("index_columns", lambda x: x[:, [3, 0, 3]], (randn(3, 4),), D.INDEX),
    case("index_2d_tensor", lambda x: x[index([[0, 1], [1, 1]])], (randn(2, 3),), D.INDEX),
    case("index_pairs", lambda x: x[index([0, 2, 0]), index([1, 3, 1])], (randn(3, 4),), D.INDEX),
    case("index_int_and_list", lambda x: x[1, [0, 2, 2]], (randn(3, 4),), D.INDEX),
    case("index_ellipsis_list", lambda x: x[..., [0, 0]], (randn(2, 3),), D.INDEX),
    case("index_bool_tensor", lambda x: x[gg.tensor(MASK)], (randn(3, 4),), D.INDEX),
    case("index_bool_list", lambda x: x[[True, False, True]], (randn(3, 2),), D.INDEX),
    case("index_comparison", lambda x: x[x > 0], (nonzero(3, 4),), D.INDEX),
    # --- linear algebra ---------------------------------------------------------------
    case("matmul_1d_1d", lambda x, y: x @ y, (randn(4), randn(4)), D.DOT),
    case("matmul_2d_1d", lambda x, y: x @ y, (randn(3, 4), randn(4)), D.MV),
    case("matmul_1d_2d", lambda x, y: x @ y, (randn(3), randn(3, 4)), D.VM),
    case("matmul_2d_2d", lambda x, y: x @ y, (randn(2, 3), randn(3, 4)), D.MM),
    case("matmul_batched", lambda x, y: x @ y, (randn(2, 2, 3), randn(2, 3, 4)), D.MATMUL),
    case(
        "matmul_broadcast",
        lambda x, y: gg.matmul(x, y),
        (randn(2, 1, 2, 3), randn(3, 3, 2)),
        D.MATMUL,
    ),
    case("matmul_3d_2d", lambda x, y: x.matmul(y), (randn(2, 2, 3), randn(3, 4)), D.MATMUL),
    case("matmul_1d_3d", lambda x, y: x @ y, (randn(3), randn(2, 3, 4)), D.MATMUL),
    case("matmul_3d_1d", lambda x, y: x @ y, (randn(2, 4, 3), randn(3)), D.MATMUL),
    case("mm", lambda x, y: gg.mm(x, y), (randn(2, 3), randn(3, 2)), D.MM),
    case("bmm", lambda x, y: x.bmm(y), (randn(2, 2, 3), randn(2, 3, 4)), D.BMM),
    case("mv", lambda x, y: gg.mv(x, y), (randn(3, 2), randn(2)), D.MV),
    case("dot", lambda x, y: x.dot(y), (randn(5), randn(5)), D.DOT),
    case("outer", lambda x, y: gg.outer(x, y), (randn(3), randn(4)), D.MUL, D.UNSQUEEZE),
    # --- dtype and device -------------------------------------------------------------
    case(
        "to_float32",
        lambda x: x.float() * x.float(),
        (array([[0.5, -1.25], [2.0, 0.75]]),),
        D.TO_DTYPE,
        eps=1e-3,
        atol=1e-4,
    ),
    case(
        "to_dtype_and_back",
        lambda x: (x.to(gg.float32) * 2).double(),
        (array([0.5, -1.25, 2.0]),),
        D.TO_DTYPE,
        eps=1e-3,
        atol=1e-4,
    ),
    case(
        "to_other_backend",
        lambda x: to_backend(to_backend(x, OTHER_CPU).sin(), gg.backends.cpu),
        (randn(3),),
        D.TO_DEVICE,
    ),
]


def _leaves(values: tuple[np.ndarray, ...]) -> tuple[gg.Tensor, ...]:
    return tuple(gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in values)


def _outputs(result) -> list[gg.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


def _recorded_ops(tensors: list[gg.Tensor]) -> set[int]:
    ops, seen = set(), set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if hasattr(node, "op"):
            ops.add(id(node.op))
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return ops


@pytest.fixture(autouse=True)
def _seeded():
    gg.manual_seed(0)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_gradcheck(c: Case) -> None:
    assert gradcheck(c.fn, _leaves(c.inputs), **c.tol)


@pytest.mark.parametrize("c", [c for c in CASES if c.second_order], ids=lambda c: c.name)
def test_gradgradcheck(c: Case) -> None:
    assert gradgradcheck(c.fn, _leaves(c.inputs), **c.tol)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_case_records_its_ops(c: Case) -> None:
    """The ops a case names appear in its graph or in its create_graph gradient's graph."""
    inputs = _leaves(c.inputs)
    outputs = _outputs(c.fn(*inputs))
    grads = gg.autograd.grad(
        outputs,
        inputs,
        [gg.ones_like(o, requires_grad=True) for o in outputs],
        create_graph=c.second_order,
        allow_unused=True,
    )
    recorded = _recorded_ops(outputs + [g for g in grads if g is not None])
    missing = [op for op in c.ops if id(op) not in recorded]
    assert not missing, f"{c.name} does not record {missing}"


def test_every_derivative_table_op_has_a_case() -> None:
    table = {id(v): name for name, v in vars(D).items() if isinstance(v, Op)}
    covered = {id(op) for c in CASES for op in c.ops}
    assert sorted(name for key, name in table.items() if key not in covered) == []


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


class _WrongSquare(gg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2.1


class _WrongSecondDerivative(gg.autograd.Function):
    """x**3 with the right first derivative from a detached x: wrong second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x.detach() ** 2


def test_gradcheck_catches_a_wrong_gradient() -> None:
    (x,) = _leaves((randn(3),))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(_WrongSquare.apply, (x,))
    assert gradcheck(_WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    (x,) = _leaves((positive(3),))
    assert gradcheck(_WrongSecondDerivative.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(_WrongSecondDerivative.apply, (x,))


def test_gradcheck_skips_non_differentiable_outputs() -> None:
    (x,) = _leaves((randn(3),))
    assert gradcheck(lambda x: (x.detach() * 5, x * 2), (x,))
    assert gradcheck(lambda x: (x.argmax(), x.sin()), (x,))


def test_gradcheck_perturbs_inputs_of_any_memory_layout() -> None:
    x = gg.tensor(np.asfortranarray(randn(3, 4)), dtype=gg.float64, requires_grad=True)
    assert not x.detach().numpy().flags.c_contiguous
    assert gradcheck(lambda x: x.sin(), (x,))
    assert gradgradcheck(lambda x: x.sin(), (x,))
