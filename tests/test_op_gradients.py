"""Every row of the derivative table, checked against finite differences.

``CASES`` is one table: each case names the table ops it exercises, and is run through
``gradcheck`` and ``gradgradcheck`` in float64 (first order only where a case sits on a tie,
or for ``prod`` over zeros, whose double backward gpugrad does not support). A test checks
that the named ops are really recorded, and another that every ``Op`` in
the op registry records is named by some case, so a new op without a check fails the suite.
Unary elementwise ops that declare a ``domain`` get their cases generated from the registry
(``GENERATED``), so a new one is checked without a line here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import gpugrad as gg
from gpugrad._graph import Op
from gpugrad.autograd import GradcheckError, gradcheck, gradgradcheck
from gpugrad.backends import NumpyBackend
from gpugrad.ops import elementwise as E
from gpugrad.ops import index as I  # noqa: E741
from gpugrad.ops import linalg as L
from gpugrad.ops import nn as NN
from gpugrad.ops import reduce as R
from gpugrad.ops import registry
from gpugrad.ops import shape as S
from gpugrad.ops import transfer as X
from gpugrad.ops.registry import REGISTRY
from gpugrad.ops.transfer import to_backend

rng = np.random.default_rng(20240611)


def row(name: str) -> Op:
    """The derivative-table row of the registry's op ``name`` (its first)."""
    return REGISTRY[name].rows[0]


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


def _restrided(x: gg.Tensor) -> gg.Tensor:
    """A view written in place: made again from its base (``AsStridedBackward0``)."""
    view = (x * 1)[1:]
    view.mul_(2)
    return view


CASES = [
    # --- arithmetic -------------------------------------------------------------------
    case("add", lambda x, y: x + y, (randn(3, 4), randn(3, 4)), E.ADD),
    case("add_scalar", lambda x: x + 2.5, (randn(3),), E.ADD),
    case("radd_scalar", lambda x: 2.5 + x, (randn(3),), E.ADD),
    case("add_fn", lambda x, y: gg.add(x, y), (randn(2, 3), randn(2, 3)), E.ADD),
    case("sub", lambda x, y: x - y, (randn(3, 4), randn(3, 4)), E.SUB),
    case("sub_scalar", lambda x: x - 1.5, (randn(3),), E.SUB),
    case("rsub_scalar", lambda x: 2.0 - x, (randn(3),), E.RSUB),
    case("mul", lambda x, y: x * y, (randn(3, 4), randn(3, 4)), E.MUL),
    case("mul_self", lambda x: x * x, (randn(5),), E.MUL),
    case("rmul_scalar", lambda x: 3 * x, (randn(3),), E.MUL),
    case("div", lambda x, y: x / y, (randn(3, 4), nonzero(3, 4)), E.DIV),
    case("div_scalar", lambda x: x / 4.0, (randn(3),), E.DIV),
    case("rdiv_scalar", lambda x: 2.0 / x, (nonzero(3),), row("reciprocal"), E.MUL),
    case("neg", lambda x: -x, (randn(2, 3),), row("neg")),
    case("neg_fn", lambda x: gg.neg(x), (randn(2, 3),), row("neg")),
    case("pow_int", lambda x: x**3, (randn(2, 3),), E.POW_SCALAR),
    case("pow_float", lambda x: x**2.5, (positive(2, 3),), E.POW_SCALAR),
    case("pow_negative", lambda x: x**-1.5, (positive(2, 3),), E.POW_SCALAR),
    case("pow_zero", lambda x: x**0, (randn(3),), E.POW_SCALAR),
    case("pow_one", lambda x: x**1, (randn(3),), E.POW_SCALAR),
    case("pow_tensor", lambda x, y: x**y, (positive(2, 3), randn(2, 3)), E.POW),
    case("pow_fn", lambda x, y: gg.pow(x, y), (positive(3), randn(3)), E.POW),
    case("pow_broadcast", lambda x, y: x**y, (positive(3, 1), randn(1, 4)), E.POW),
    case("rpow_scalar", lambda x: 2.0**x, (randn(2, 3),), E.RPOW),
    case("rpow_fn", lambda x: gg.pow(0.5, x), (randn(3),), E.RPOW),
    # --- unary ------------------------------------------------------------------------
    case("exp", lambda x: x.exp(), (randn(2, 3),), row("exp")),
    case("log", lambda x: gg.log(x), (positive(2, 3),), row("log")),
    case("log1p", lambda x: x.log1p(), (positive(2, 3) - 0.4,), row("log1p")),
    case("expm1", lambda x: gg.expm1(x), (randn(2, 3),), row("expm1")),
    case("sqrt", lambda x: x.sqrt(), (positive(2, 3),), row("sqrt")),
    case("rsqrt", lambda x: gg.rsqrt(x), (positive(2, 3),), row("rsqrt")),
    case("sin", lambda x: x.sin(), (randn(2, 3),), row("sin")),
    case("cos", lambda x: gg.cos(x), (randn(2, 3),), row("cos")),
    case("tan", lambda x: x.tan(), (rng.uniform(-1.2, 1.2, (2, 3)),), row("tan")),
    case("tanh", lambda x: gg.tanh(x), (randn(2, 3),), row("tanh")),
    case("sigmoid", lambda x: x.sigmoid(), (randn(2, 3),), row("sigmoid")),
    case("relu", lambda x: x.relu(), (nonzero(3, 4),), row("relu")),
    case("abs", lambda x: x.abs(), (nonzero(3, 4),), row("abs")),
    case("abs_operator", lambda x: abs(x), (nonzero(3),), row("abs")),
    case("sign", lambda x: x.sign() * x, (nonzero(3, 4),), row("sign"), E.MUL),
    case("reciprocal", lambda x: x.reciprocal(), (nonzero(2, 3),), row("reciprocal")),
    case("clamp", lambda x: x.clamp(-0.5, 0.5), (CLAMP_INPUT,), E.CLAMP),
    case("clamp_min", lambda x: x.clamp(min=-0.5), (CLAMP_INPUT,), E.CLAMP),
    case("clamp_max", lambda x: gg.clamp(x, max=0.5), (CLAMP_INPUT,), E.CLAMP),
    case("clip", lambda x: x.clip(-0.5, 0.5), (CLAMP_INPUT,), E.CLAMP),
    case("maximum", lambda x, y: gg.maximum(x, y), pair_apart(3, 4), E.MAXIMUM),
    case("minimum", lambda x, y: x.minimum(y), pair_apart(3, 4), E.MINIMUM),
    case(
        "maximum_broadcast",
        lambda x, y: gg.maximum(x, y),
        (DISTINCT_7[:3].reshape(3, 1), DISTINCT_7[3:].reshape(1, 4)),
        E.MAXIMUM,
    ),
    case("max_other", lambda x, y: x.max(y), pair_apart(4), E.MAXIMUM),
    case("min_other", lambda x, y: gg.min(x, y), pair_apart(4), E.MINIMUM),
    case(
        "maximum_tie_splits",
        lambda x, y: gg.maximum(x, y),
        (array([1.0, -2.0, 3.0]), array([1.0, 0.5, 3.0])),
        E.MAXIMUM,
        second_order=False,
    ),
    case(
        "minimum_tie_splits",
        lambda x, y: gg.minimum(x, y),
        (array([1.0, -2.0]), array([1.0, 0.5])),
        E.MINIMUM,
        second_order=False,
    ),
    case("where", lambda x, y: gg.where(x > 0, x, y), (nonzero(3, 4), randn(3, 4)), E.WHERE),
    case("where_scalar", lambda x: gg.where(x > 0, x, 0.0), (nonzero(3, 4),), E.WHERE),
    case("where_scalar_input", lambda x: gg.where(x > 0, 1.5, x), (nonzero(3, 4),), E.WHERE),
    case(
        "where_broadcast",
        lambda c, x, y: gg.where(c > 0, x, y),
        (nonzero(3, 1), randn(1, 4), randn(3, 4)),
        E.WHERE,
    ),
    # --- broadcasting -----------------------------------------------------------------
    case("broadcast_add", lambda x, y: x + y, (randn(3, 1), randn(1, 4)), E.ADD),
    case("broadcast_sub_0d", lambda x, y: x - y, (randn(), randn(3)), E.SUB),
    case("broadcast_mul_rows", lambda x, y: x * y, (randn(2, 3), randn(3)), E.MUL),
    case("broadcast_mul_0d", lambda x, y: x * y, (randn(3, 4), randn()), E.MUL),
    case("broadcast_div", lambda x, y: x / y, (randn(2, 1, 3), nonzero(4, 1)), E.DIV),
    case("broadcast_0d_0d", lambda x, y: x * y + x, (randn(), randn()), E.MUL, E.ADD),
    # --- reductions -------------------------------------------------------------------
    case("sum", lambda x: x.sum(), (randn(3, 4),), R.SUM),
    case("sum_dim", lambda x: x.sum(1), (randn(3, 4),), R.SUM_DIM),
    case("sum_dims_keepdim", lambda x: x.sum((0, 2), keepdim=True), (randn(2, 3, 4),), R.SUM_DIM),
    case("sum_neg_dim", lambda x: gg.sum(x, -1), (randn(2, 3, 4),), R.SUM_DIM),
    case("sum_0d", lambda x: x.sum(), (randn(),), R.SUM),
    case("mean", lambda x: x.mean(), (randn(3, 4),), R.MEAN),
    case("mean_dim", lambda x: x.mean(0), (randn(3, 4),), R.MEAN_DIM),
    case("mean_dims", lambda x: gg.mean(x, (0, 1), keepdim=True), (randn(2, 3, 4),), R.MEAN_DIM),
    case("prod", lambda x: x.prod(), (nonzero(2, 3),), R.PROD),
    case("prod_dim", lambda x: x.prod(1), (nonzero(3, 4),), R.PROD_DIM),
    case("prod_dim_keepdim", lambda x: gg.prod(x, 0, keepdim=True), (nonzero(3, 2),), R.PROD_DIM),
    case(
        "prod_one_zero",
        lambda x: x.prod(),
        (array([[1.5, 0.0, -2.0], [0.7, 1.2, 0.9]]),),
        R.PROD,
        second_order=False,
    ),
    case(
        "prod_dim_zeros",
        lambda x: x.prod(1),
        (array([[1.5, 0.0, -2.0], [0.0, 1.2, 0.0], [0.7, 1.2, 0.9]]),),
        R.PROD_DIM,
        second_order=False,
    ),
    case("max", lambda x: x.max(), (distinct(3, 4),), R.MAX),
    case("max_dim", lambda x: x.max(1)[0], (distinct(3, 4),), R.MAX_DIM),
    case(
        "max_dim_keepdim",
        lambda x: gg.max(x, dim=0, keepdim=True).values,
        (distinct(3, 4),),
        R.MAX_DIM,
    ),
    case("min", lambda x: gg.min(x), (distinct(3, 4),), R.MIN),
    case("min_dim", lambda x: x.min(-1).values, (distinct(2, 3, 4),), R.MIN_DIM),
    case("amax", lambda x: x.amax(), (distinct(3, 4),), R.AMAX),
    case("amax_dim", lambda x: gg.amax(x, 1), (distinct(3, 4),), R.AMAX),
    case("amax_dims", lambda x: x.amax((0, 2), keepdim=True), (distinct(2, 3, 4),), R.AMAX),
    case("amin", lambda x: gg.amin(x), (distinct(3, 4),), R.AMIN),
    case("amin_dim", lambda x: x.amin(0, keepdim=True), (distinct(3, 4),), R.AMIN),
    case(
        "amax_tie_splits",
        lambda x: x.amax(1),
        (array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),),
        R.AMAX,
        second_order=False,
    ),
    case(
        "max_tie_splits",
        lambda x: x.max(),
        (array([[1.0, 3.0], [3.0, 0.5]]),),
        R.MAX,
        second_order=False,
    ),
    case("var", lambda x: x.var(), (randn(3, 4),), R.VAR),
    case("var_dim", lambda x: gg.var(x, 1), (randn(3, 4),), R.VAR),
    case(
        "var_dims_biased",
        lambda x: x.var((0, 2), keepdim=True, unbiased=False),
        (randn(2, 3, 4),),
        R.VAR,
    ),
    case("var_correction", lambda x: x.var(0, correction=2), (randn(4, 3),), R.VAR),
    case("std", lambda x: x.std(), (randn(3, 4),), R.STD),
    case("std_dim", lambda x: gg.std(x, 0, keepdim=True), (randn(3, 4),), R.STD),
    case("std_biased", lambda x: x.std(-1, unbiased=False), (randn(2, 3, 4),), R.STD),
    case("logsumexp", lambda x: x.logsumexp(1), (randn(3, 4),), R.LOGSUMEXP),
    case("logsumexp_dims", lambda x: gg.logsumexp(x, (0, 1)), (randn(3, 4),), R.LOGSUMEXP),
    case("logsumexp_keepdim", lambda x: x.logsumexp(-1, keepdim=True), (randn(2, 3),), R.LOGSUMEXP),
    case("cumsum", lambda x: x.cumsum(0), (randn(3, 4),), R.CUMSUM),
    case("cumsum_last", lambda x: gg.cumsum(x, -1), (randn(2, 3, 4),), R.CUMSUM),
    case("cumsum_0d", lambda x: x.cumsum(0), (randn(),), R.CUMSUM),
    case("softmax", lambda x: x.softmax(1), (randn(3, 4),), R.SOFTMAX),
    case("softmax_dim0", lambda x: gg.softmax(x, 0), (randn(3, 4),), R.SOFTMAX),
    case("softmax_0d", lambda x: x.softmax(0), (randn(),), R.SOFTMAX),
    case("log_softmax", lambda x: x.log_softmax(-1), (randn(3, 4),), R.LOG_SOFTMAX),
    case("log_softmax_3d", lambda x: gg.log_softmax(x, 1), (randn(2, 3, 4),), R.LOG_SOFTMAX),
    case("flip", lambda x: x.flip(0), (randn(3, 4),), R.FLIP),
    case("flip_dims", lambda x: gg.flip(x, (0, 1)), (randn(3, 4),), R.FLIP),
    # --- reductions: order statistics, scans, sorting (tests/test_reductions_more.py) ----
    case("sort", lambda x: x.sort(1).values, (distinct(3, 4),), R.SORT),
    case("sort_descending", lambda x: gg.sort(x, 0, True)[0], (distinct(3, 4),), R.SORT),
    case("msort", lambda x: x.msort(), (distinct(3, 2),), R.SORT),
    case("sort_stable", lambda x: gg.sort(x, 1, stable=True)[0], (distinct(3, 4),), R.SORT_STABLE),
    case("sort_0d", lambda x: x.sort().values, (randn(),), R.SORT),
    case("kthvalue_0d", lambda x: x.kthvalue(1)[0], (randn(),), R.KTHVALUE),
    case("cummin_0d", lambda x: x.cummin(0)[0], (randn(),), R.CUMMIN),
    case("topk", lambda x: x.topk(2).values, (distinct(3, 5),), R.TOPK),
    case("topk_smallest", lambda x: gg.topk(x, 1, 0, largest=False)[0], (distinct(4, 3),), R.TOPK),
    case("topk_partition", lambda x: x.topk(3).values, (distinct(2, 40),), R.TOPK),
    case("kthvalue", lambda x: x.kthvalue(2, 1)[0], (distinct(3, 4),), R.KTHVALUE),
    case("median", lambda x: x.median(), (distinct(3, 3),), R.MEDIAN),
    case("median_dim", lambda x: x.median(1).values, (distinct(3, 4),), R.MEDIAN_DIM),
    case(
        "median_dim_keepdim",
        lambda x: gg.median(x, 0, keepdim=True)[0],
        (distinct(3, 4),),
        R.MEDIAN_DIM,
    ),
    case("nanmedian", lambda x: x.nanmedian(), (distinct(5),), R.NANMEDIAN),
    case("nanmedian_dim", lambda x: x.nanmedian(0).values, (distinct(3, 2),), R.NANMEDIAN_DIM),
    case("mode", lambda x: x.mode(1).values, (distinct(3, 4),), R.MODE),
    case("cummax", lambda x: x.cummax(1).values, (distinct(3, 5),), R.CUMMAX),
    case("cummin", lambda x: gg.cummin(x, 0)[0], (distinct(4, 3),), R.CUMMIN),
    case("cumprod", lambda x: x.cumprod(1), (nonzero(3, 4),), R.CUMPROD),
    case(
        "cumprod_zeros",
        lambda x: gg.cumprod(x, 1),
        (array([[1.5, 0.0, -2.0, 0.7], [0.0, 1.2, 0.0, 2.0], [0.7, 1.2, 0.9, 0.0]]),),
        R.CUMPROD,
        second_order=False,
    ),
    case("logcumsumexp", lambda x: x.logcumsumexp(1), (randn(3, 4),), R.LOGCUMSUMEXP),
    case("nansum", lambda x: x.nansum(1), (randn(3, 4),), R.NANSUM),
    case(
        "nansum_nan",
        lambda x: gg.nansum(x),
        (array([[0.5, float("nan")], [-1.0, 2.0]]),),
        R.NANSUM,
    ),
    case("var_mean", lambda x: gg.var_mean(x, 1), (randn(3, 4),), R.VAR_MEAN, R.VAR_MEAN_MEAN),
    case("std_mean", lambda x: gg.std_mean(x), (randn(3, 4),), R.STD_MEAN, R.STD_MEAN_MEAN),
    case("quantile", lambda x: x.quantile(0.3, dim=1), (distinct(3, 5),), R.QUANTILE_PICK),
    case(
        "nanquantile",
        lambda x: gg.nanquantile(x, gg.tensor([0.2, 0.75], dtype=x.dtype), 1, True),
        (array([[0.5, float("nan"), -1.0, 2.0], [1.5, 0.25, -0.75, float("nan")]]),),
        R.QUANTILE_PICK,
    ),
    # --- shapes -----------------------------------------------------------------------
    case("reshape", lambda x: x.reshape(4, 3), (randn(3, 4),), S.VIEW),
    case("reshape_fn", lambda x: gg.reshape(x, (2, -1)), (randn(3, 4),), S.VIEW),
    case("view", lambda x: x.view(-1), (randn(3, 4),), S.VIEW),
    case("reshape_copy", lambda x: x.t().reshape(-1), (randn(3, 4),), S.UNSAFE_VIEW),
    case("flatten", lambda x: x.flatten(), (randn(2, 3, 4),), S.VIEW),
    case("flatten_from", lambda x: gg.flatten(x, 1), (randn(2, 3, 4),), S.VIEW),
    case("squeeze", lambda x: x.squeeze(), (randn(3, 1, 4, 1),), S.SQUEEZE),
    case("squeeze_dim", lambda x: gg.squeeze(x, 1), (randn(3, 1, 4),), S.SQUEEZE_DIM),
    case("squeeze_dims", lambda x: x.squeeze((1, 3)), (randn(3, 1, 4, 1),), S.SQUEEZE_DIMS),
    case("unsqueeze", lambda x: x.unsqueeze(0), (randn(3, 4),), S.UNSQUEEZE),
    case("unsqueeze_last", lambda x: gg.unsqueeze(x, -1), (randn(3, 4),), S.UNSQUEEZE),
    case("transpose", lambda x: x.transpose(0, 2), (randn(2, 3, 4),), S.TRANSPOSE),
    case("transpose_fn", lambda x: gg.transpose(x, -1, 0), (randn(3, 4),), S.TRANSPOSE),
    case("t", lambda x: x.t(), (randn(3, 4),), S.T_ROW),
    case("T", lambda x: x.T, (randn(2, 3, 4),), S.PERMUTE),
    case("mT", lambda x: x.mT, (randn(2, 3, 4),), S.TRANSPOSE),
    case("permute", lambda x: x.permute(2, 0, 1), (randn(2, 3, 4),), S.PERMUTE),
    case("permute_fn", lambda x: gg.permute(x, (1, 0)), (randn(2, 3),), S.PERMUTE),
    case("expand", lambda x: x.expand(3, 4), (randn(1, 4),), S.EXPAND),
    case("expand_new_dims", lambda x: x.expand(2, -1, 4), (randn(3, 1),), S.EXPAND),
    case("expand_as", lambda x, y: x.expand_as(y) * y, (randn(3, 1), randn(3, 4)), S.EXPAND),
    case("broadcast_to", lambda x: gg.broadcast_to(x, (2, 3)), (randn(3),), S.EXPAND),
    case("sum_to_size", lambda x: x.sum_to_size(1, 4), (randn(3, 4),), S.SUM_TO),
    case("contiguous", lambda x: x.t().contiguous(), (randn(3, 4),), S.CLONE),
    case("clone", lambda x: x.clone(), (randn(3, 4),), S.CLONE),
    case("clone_fn", lambda x: gg.clone(x) * x, (randn(3),), S.CLONE),
    case("cat", lambda x, y: gg.cat([x, y]), (randn(2, 3), randn(4, 3)), S.CAT),
    case("cat_dim1", lambda x, y: gg.cat((x, y, x), dim=1), (randn(2, 3), randn(2, 1)), S.CAT),
    case("stack", lambda x, y: gg.stack([x, y]), (randn(2, 3), randn(2, 3)), S.STACK),
    case("stack_last", lambda x, y: gg.stack((x, y, x), -1), (randn(2, 3), randn(2, 3)), S.STACK),
    case("split", lambda x: x.split(2), (randn(5, 2),), I.SPLIT),
    case("split_sizes", lambda x: gg.split(x, [1, 3], dim=1), (randn(2, 4),), I.SPLIT_WITH_SIZES),
    case("chunk", lambda x: x.chunk(2, 1), (randn(2, 5),), I.SPLIT),
    case("chunk_fn", lambda x: gg.chunk(x, 3), (randn(6),), I.SPLIT),
    # --- indexing ---------------------------------------------------------------------
    case("select", lambda x: x[0], (randn(3, 4),), I.SELECT, I.INDEX_SCATTER),
    case("select_2", lambda x: x[1, -1], (randn(3, 4),), I.SELECT),
    case("select_ellipsis", lambda x: x[..., 1], (randn(2, 3, 4),), I.SELECT),
    case("slice", lambda x: x[1:3], (randn(4, 3),), I.SLICE, I.INDEX_SCATTER),
    case("slice_step", lambda x: x[:, ::2], (randn(3, 5),), I.SLICE),
    case("slice_select", lambda x: x[1:, 0], (randn(3, 4),), I.SELECT),
    case("slice_none_int", lambda x: x[None, 0, 1:], (randn(3, 4),), I.SLICE),
    case("none", lambda x: x[None], (randn(3, 4),), I.INDEX_UNSQUEEZE),
    case("none_middle", lambda x: x[:, None], (randn(3, 4),), I.INDEX_UNSQUEEZE),
    case("int_none", lambda x: x[1, None], (randn(3, 4),), I.INDEX_UNSQUEEZE),
    case("sliced_none", lambda x: x[1:, None], (randn(3, 4),), I.INDEX_UNSQUEEZE),
    case("full_slices", lambda x: x[:, 0:9] * x, (randn(3, 4),), I.INDEX_ALIAS),
    case("unbind", lambda x: gg.unbind(x, 1), (randn(3, 4),), I.UNBIND),
    case("restrided", _restrided, (randn(3, 4),), I.AS_STRIDED),
    case("ellipsis", lambda x: x[...], (randn(3, 4),), I.INDEX_ALIAS),
    case("index_tensor", lambda x: x[index([2, 0])], (randn(3, 4),), I.INDEX, I.INDEX_SCATTER),
    case("index_repeated", lambda x: x[index([0, 2, 0, 0])], (randn(3, 4),), I.INDEX),
    case("index_list", lambda x: x[[1, 1, 2]], (randn(3, 4),), I.INDEX),
    case("index_columns", lambda x: x[:, [3, 0, 3]], (randn(3, 4),), I.INDEX),
    case("index_2d_tensor", lambda x: x[index([[0, 1], [1, 1]])], (randn(2, 3),), I.INDEX),
    case("index_pairs", lambda x: x[index([0, 2, 0]), index([1, 3, 1])], (randn(3, 4),), I.INDEX),
    case("index_int_and_list", lambda x: x[1, [0, 2, 2]], (randn(3, 4),), I.INDEX),
    case("index_ellipsis_list", lambda x: x[..., [0, 0]], (randn(2, 3),), I.INDEX),
    case("index_bool_tensor", lambda x: x[gg.tensor(MASK)], (randn(3, 4),), I.INDEX),
    case("index_bool_list", lambda x: x[[True, False, True]], (randn(3, 2),), I.INDEX),
    case("index_comparison", lambda x: x[x > 0], (nonzero(3, 4),), I.INDEX),
    case(
        "masked_select",
        lambda x: gg.masked_select(x, gg.tensor(MASK)),
        (randn(3, 4),),
        I.MASKED_SELECT,
    ),
    # --- linear algebra ---------------------------------------------------------------
    case("matmul_1d_1d", lambda x, y: x @ y, (randn(4), randn(4)), L.DOT),
    case("matmul_2d_1d", lambda x, y: x @ y, (randn(3, 4), randn(4)), L.MV),
    case("matmul_1d_2d", lambda x, y: x @ y, (randn(3), randn(3, 4)), L.VM),
    case("matmul_2d_2d", lambda x, y: x @ y, (randn(2, 3), randn(3, 4)), L.MM),
    case("matmul_batched", lambda x, y: x @ y, (randn(2, 2, 3), randn(2, 3, 4)), L.MATMUL),
    case(
        "matmul_broadcast",
        lambda x, y: gg.matmul(x, y),
        (randn(2, 1, 2, 3), randn(3, 3, 2)),
        L.MATMUL,
    ),
    case("matmul_3d_2d", lambda x, y: x.matmul(y), (randn(2, 2, 3), randn(3, 4)), L.MATMUL),
    case("matmul_1d_3d", lambda x, y: x @ y, (randn(3), randn(2, 3, 4)), L.MATMUL),
    case("matmul_3d_1d", lambda x, y: x @ y, (randn(2, 4, 3), randn(3)), L.MATMUL),
    case("mm", lambda x, y: gg.mm(x, y), (randn(2, 3), randn(3, 2)), L.MM),
    case("bmm", lambda x, y: x.bmm(y), (randn(2, 2, 3), randn(2, 3, 4)), L.BMM),
    case(
        "linear_2d_bias",
        lambda b, x, w: gg.nn.functional.linear(x, w, b),
        (randn(3), randn(2, 4), randn(3, 4)),
        L.ADDMM,
    ),
    case(
        "addmm", lambda b, x, y: gg.addmm(b, x, y), (randn(2, 3), randn(2, 4), randn(4, 3)), L.ADDMM
    ),
    case("mv", lambda x, y: gg.mv(x, y), (randn(3, 2), randn(2)), L.MV),
    case("dot", lambda x, y: x.dot(y), (randn(5), randn(5)), L.DOT),
    case("outer", lambda x, y: gg.outer(x, y), (randn(3), randn(4)), E.MUL, S.UNSQUEEZE),
    # --- einsum and gpugrad.linalg (issue 16) ----------------------------------------------
    case(
        "einsum_mm", lambda x, y: gg.einsum("ij,jk->ik", x, y), (randn(2, 3), randn(3, 4)), L.EINSUM
    ),
    case(
        "einsum_diagonal_trace",
        lambda x, y: gg.einsum("iij,j->i", x, y),
        (randn(3, 3, 2), randn(2)),
        L.EINSUM_REDUCE,
        L.EINSUM,
    ),
    case("inverse", lambda x: x.inverse(), (randn(3, 3) + 3 * np.eye(3),), L.INV),
    case("det", lambda x: gg.det(x), (randn(3, 3) + 3 * np.eye(3),), L.DET),
    case("slogdet", lambda x: gg.slogdet(x)[1], (randn(3, 3) + 3 * np.eye(3),), L.SLOGDET),
    case(
        "linalg_solve",
        lambda a, b: gg.linalg.solve(a, b),
        (randn(2, 3, 3) + 3 * np.eye(3), randn(3, 2)),
        L.SOLVE,
    ),
    case(
        "linalg_cholesky",
        lambda a: gg.linalg.cholesky(a @ a.mT + gg.eye(3, dtype=gg.float64)),
        (randn(3, 3),),
        L.CHOLESKY,
    ),
    case(
        "linalg_qr",
        lambda a: (lambda r: r.Q * r.R.sum(0))(gg.linalg.qr(a)),
        (randn(4, 3),),
        L.QR,
    ),
    case(
        "linalg_svd",
        lambda a: (lambda r: r.U @ (r.Vh * r.S.unsqueeze(-1)) + r.U @ r.Vh)(
            gg.linalg.svd(a, full_matrices=False)
        ),
        (randn(4, 3),),
        L.SVD,
    ),
    case(
        "linalg_eigh",
        lambda a: (lambda r: r.eigenvectors * r.eigenvectors * r.eigenvalues)(
            gg.linalg.eigh(a + a.mT)
        ),
        (randn(3, 3),),
        L.EIGH,
    ),
    case("vector_norm", lambda x: gg.linalg.vector_norm(x, dim=1), (randn(3, 4),), L.VECTOR_NORM),
    # --- dtype and device -------------------------------------------------------------
    case(
        "to_float32",
        lambda x: x.float() * x.float(),
        (array([[0.5, -1.25], [2.0, 0.75]]),),
        X.TO_DTYPE,
        eps=1e-3,
        atol=1e-4,
    ),
    case(
        "to_dtype_and_back",
        lambda x: (x.to(gg.float32) * 2).double(),
        (array([0.5, -1.25, 2.0]),),
        X.TO_DTYPE,
        eps=1e-3,
        atol=1e-4,
    ),
    case(
        "to_other_backend",
        lambda x: to_backend(to_backend(x, OTHER_CPU).sin(), gg.backends.cpu),
        (randn(3),),
        X.TO_DEVICE,
    ),
]


def _arity(function: Callable) -> int:
    return sum(
        p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        for p in inspect.signature(function).parameters.values()
    )


GENERATED = [
    case(
        f"{d.name}_registry",
        d.function,
        tuple(rng.uniform(*d.domain, (2, 3)) for _ in range(_arity(d.function))),
        *d.rows,
    )
    for d in REGISTRY.values()
    if d.domain is not None
]
"""One case per registry op that declares a ``domain``: values drawn from it."""

CASES += GENERATED
CASES += [
    case("softplus", lambda x: gg.nn.functional.softplus(x, beta=1.5), (randn(2, 3),), NN.SOFTPLUS),
    case("gelu", lambda x: gg.nn.functional.gelu(x), (randn(2, 3),), NN.GELU, NN.NDTR),
    case(
        "gelu_tanh",
        lambda x: gg.nn.functional.gelu(x, approximate="tanh"),
        (randn(2, 3),),
        NN.GELU,
    ),
    case(
        "binary_cross_entropy",
        lambda p, t: gg.nn.functional.binary_cross_entropy(p, t),
        (rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0.1, 0.9, (2, 3))),
        NN.BCE,
    ),
    case(
        "embedding",
        lambda w: gg.nn.functional.embedding(gg.tensor([[0, 2], [2, 1]]), w),
        (randn(3, 4),),
        I.EMBEDDING,
    ),
    case(
        "cross_entropy",
        lambda x: gg.nn.functional.cross_entropy(x, gg.tensor([0, -100, 3])),
        (randn(3, 4),),
        NN.NLL_LOSS,
    ),
    case(
        "nll_loss_none",
        lambda x: gg.nn.functional.nll_loss(x, gg.tensor([1, 0, 3]), reduction="none"),
        (randn(3, 4),),
        NN.NLL_LOSS,
    ),
    case(
        "nll_loss_1d_sum",
        lambda x: gg.nn.functional.nll_loss(x, gg.tensor(2), reduction="sum"),
        (randn(4),),
        NN.NLL_LOSS,
    ),
    case(
        "mse_loss",
        lambda x, t: gg.nn.functional.mse_loss(x, t),
        (randn(2, 3), randn(2, 3)),
        NN.MSE_LOSS,
    ),
    case(
        "mse_loss_sum",
        lambda x, t: gg.nn.functional.mse_loss(x, t, reduction="sum"),
        (randn(2, 3), randn(2, 3)),
        NN.MSE_LOSS,
    ),
    case(
        "mse_loss_none",
        lambda x, t: gg.nn.functional.mse_loss(x, t, reduction="none"),
        (randn(2, 3), randn(2, 3)),
        NN.MSE_LOSS,
    ),
    case(
        "binary_cross_entropy_with_logits",
        lambda x, t: gg.nn.functional.binary_cross_entropy_with_logits(x, t),
        (randn(2, 3), rng.uniform(0.1, 0.9, (2, 3))),
        NN.BCE_WITH_LOGITS,
    ),
]

# --- layer ops (LSTM over a sequence, pooling, batch norm, convolution, attention) ------
CASES += [
    case(
        "lstm_sequence",
        lambda x, w, s: NN._lstm_sequence(x, w, s),
        (randn(3, 2, 8) * 0.5, randn(8, 2) * 0.5, randn(2, 2, 2) * 0.5),
        NN.LSTM_SEQUENCE,
    ),
    case(
        "max_pool_overlapping_padded",
        lambda x: gg.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True),
        (distinct(2, 2, 5, 5),),
        NN.MAX_POOL,
    ),
    case(
        "batch_norm_train",
        lambda x, w, b: gg.nn.functional.batch_norm(x, None, None, w, b, training=True),
        (randn(3, 2, 2, 2), positive(2), randn(2)),
        NN.BATCH_NORM,
    ),
    case(
        "batch_norm_train_no_affine",
        lambda x: gg.nn.functional.batch_norm(x, None, None, training=True) ** 2,
        (randn(4, 3),),
        NN.BATCH_NORM,
    ),
    case(
        "batch_norm_eval",
        lambda x, w, b: gg.nn.functional.batch_norm(
            x, gg.tensor([0.5, -1.0], dtype=x.dtype), gg.tensor([2.0, 0.5], dtype=x.dtype), w, b
        ),
        (randn(3, 2, 2, 2), randn(2), randn(2)),
        NN.BATCH_NORM_EVAL,
    ),
    case(
        "batch_norm_eval_no_affine",
        lambda x: (
            gg.nn.functional.batch_norm(
                x,
                gg.tensor([0.5, -1.0, 0.0], dtype=x.dtype),
                gg.tensor([2.0, 0.5, 1.0], dtype=x.dtype),
            )
            ** 2
        ),
        (randn(4, 3),),
        NN.BATCH_NORM_EVAL,
    ),
    case(
        "conv2d_strided_dilated",
        lambda x, w, b: gg.nn.functional.conv2d(x, w, b, stride=2, padding=(1, 2), dilation=2),
        (randn(2, 2, 5, 6), randn(3, 2, 2, 3), randn(3)),
        NN.CONVOLUTION,
    ),
    case(
        "conv1d_groups",
        lambda x, w: gg.nn.functional.conv1d(x, w, groups=2, padding="same"),
        (randn(2, 4, 5), randn(4, 2, 3)),
        NN.CONVOLUTION,
    ),
    case(
        "attention_causal",
        lambda q, k, v: gg.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
        (randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 2)),
        NN.ATTENTION,
    ),
    case(
        "attention_bool_mask_broadcast_key",
        lambda q, k, v: gg.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=gg.tensor(MASK[:, :3]), scale=0.7
        ),
        (randn(2, 3, 2), randn(1, 3, 2), randn(2, 3, 3)),
        NN.ATTENTION,
    ),
    case(
        "attention_float_mask",
        lambda q, k, v: gg.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=gg.tensor(array([[0.5, -1.0], [0.0, 2.0]]))
        ),
        (randn(2, 2, 3), randn(2, 2, 3), randn(2, 2, 2)),
        NN.ATTENTION,
    ),
    case(
        "layer_norm_affine",
        lambda x, w, b: gg.nn.functional.layer_norm(x, (2, 3), w, b),
        (randn(2, 2, 3), positive(2, 3), randn(2, 3)),
        NN.LAYER_NORM,
    ),
    case(
        "layer_norm_plain",
        lambda x: gg.nn.functional.layer_norm(x, (4,)) ** 2,
        (randn(3, 4),),
        NN.LAYER_NORM,
    ),
]

# --- shape and index ops (gather, scatter, index_select, diagonal ...) --------------------
ROWS_3x4 = index([[0, 3], [1, 1], [2, 0]])
CASES += [
    case("gather", lambda x: x.gather(1, ROWS_3x4), (randn(3, 4),), I.GATHER, I.GATHER_BACKWARD),
    case(
        "take_along_dim",
        lambda x: gg.take_along_dim(x, index([[1], [0], [3]]), 1),
        (randn(3, 4),),
        I.GATHER,
    ),
    case(
        "scatter",
        lambda x, s: x.scatter(1, index([[0, 3], [1, 2], [2, 0]]), s),
        (randn(3, 4), randn(3, 2)),
        I.SCATTER,
        I.SCATTER_VALUE,
        I.GATHER,
    ),
    case(
        "scatter_value",
        lambda x: x.scatter(0, index([[2, 0]]), 1.5),
        (randn(3, 2),),
        I.SCATTER_VALUE,
    ),
    *(
        case(
            f"scatter_reduce_{reduce}_{include_self}",
            lambda x, s, reduce=reduce, include_self=include_self: x.scatter_reduce(
                1, ROWS_3x4, s, reduce, include_self=include_self
            ),
            (distinct(3, 4), distinct(3, 2) * 0.93 + 0.01),  # no ties between the two
            I.SCATTER_REDUCE_PROD if reduce == "prod" else I.SCATTER_REDUCE_EXTREME,
        )
        for reduce in ("prod", "amax", "amin")
        for include_self in (True, False)
    ),
    case(
        "scatter_add",
        lambda x, s: x.scatter_add(1, ROWS_3x4, s),
        (randn(3, 4), randn(3, 2)),
        I.SCATTER_ADD,
        I.GATHER,
    ),
    case(
        "index_select",
        lambda x: x.index_select(1, index([3, 0, 3])),
        (randn(2, 4),),
        I.INDEX_SELECT,
        I.INDEX_SELECT_BACKWARD,
    ),
    case(
        "index_add",
        lambda x, s: x.index_add(0, index([2, 2]), s, alpha=1.5),
        (randn(3, 2), randn(2, 2)),
        I.INDEX_ADD,
        I.INDEX_SELECT,
    ),
    case(
        "index_fill", lambda x: x.index_fill(1, index([0, 2]), -1.0), (randn(2, 3),), I.INDEX_FILL
    ),
    case(
        "masked_fill", lambda x: x.masked_fill(gg.tensor(MASK), 2.0), (randn(3, 4),), I.MASKED_FILL
    ),
    case(
        "masked_fill_tensor",
        lambda x, v: x.masked_fill(gg.tensor(MASK[0]), v.sum()),
        (randn(3, 4), randn(2)),
        I.MASKED_FILL_TENSOR,
    ),
    case(
        "index_put",
        lambda x, v: x.index_put((index([1, 0]), index([2, 2])), v),
        (randn(3, 4), randn(2)),
        I.INDEX_PUT,
    ),
    case("roll", lambda x: x.roll((1, -2), (0, 1)), (randn(3, 4),), S.ROLL),
    case("tril", lambda x: x.tril(-1), (randn(3, 4),), S.TRIL),
    case("triu", lambda x: gg.triu(x, 1), (randn(2, 3, 4),), S.TRIU),
    case(
        "diagonal",
        lambda x: x.diagonal(1, 0, 2),
        (randn(3, 2, 4),),
        S.DIAGONAL,
        S.DIAGONAL_BACKWARD,
    ),
    case("diag_embed", lambda x: gg.diag_embed(x, -1), (randn(2, 3),), S.DIAG_EMBED, S.DIAGONAL),
    case("repeat", lambda x: x.repeat(2, 1, 3), (randn(3, 2),), S.REPEAT),
    case("diag_of_matrix", lambda x: gg.diag(x, 1), (randn(3, 4),), S.DIAGONAL_COPY),
    case("movedim_0d", lambda x: gg.movedim(x * 2, 0, -1), (randn(),), S.ALIAS, E.MUL),
]


# --- elementwise ops with several rows, or integer-valued ones (zero gradients) -----------
FRACTIONAL = rng.uniform(0.1, 0.9, (2, 3)) + rng.integers(-3, 3, (2, 3))
"""Values away from integers, where rounding ops are locally constant."""
CASES += [
    case("floor", lambda x: x.floor() * x, (FRACTIONAL,), row("floor"), E.MUL),
    case("ceil", lambda x: gg.ceil(x) * x, (FRACTIONAL,), row("ceil"), E.MUL),
    case("trunc", lambda x: x.trunc() * x, (FRACTIONAL,), row("trunc"), E.MUL),
    case("round", lambda x: gg.round(x) * x, (FRACTIONAL + 0.03,), E.ROUND, E.MUL),
    case(
        "round_decimals",
        lambda x: x.round(decimals=1) * x,
        (FRACTIONAL + 0.03,),
        E.ROUND_DECIMALS,
        E.MUL,
    ),
    case("frac", lambda x: x.frac(), (FRACTIONAL,), E.FRAC),
    case("polygamma", lambda x: gg.polygamma(2, x), (positive(2, 3),), E.POLYGAMMA),
    case("polygamma_method", lambda x: x.polygamma(1), (positive(2, 3),), E.POLYGAMMA),
    case("remainder_scalar", lambda x: x % 1.5, (FRACTIONAL,), E.REMAINDER_SCALAR),
    case(
        "remainder", lambda x, y: gg.remainder(x, y), (FRACTIONAL, nonzero(2, 3) + 3.1), E.REMAINDER
    ),
    case("fmod_scalar", lambda x: gg.fmod(x, -1.5), (FRACTIONAL,), E.FMOD_SCALAR),
    case("fmod", lambda x, y: x.fmod(y), (FRACTIONAL, nonzero(2, 3) * 0.9 + 0.05), E.FMOD),
    case("lerp_scalar", lambda x, y: gg.lerp(x, y, 0.3), (randn(2, 3), randn(3)), E.LERP_SCALAR),
    case("lerp_scalar_far", lambda x, y: x.lerp(y, 0.8), (randn(2, 3), randn(2, 3)), E.LERP_SCALAR),
    case(
        "lerp_tensor",
        lambda x, y, w: gg.lerp(x, y, w),
        (randn(2, 3), randn(1, 3), rng.uniform(-0.2, 1.2, (2, 1))),
        E.LERP,
    ),
    case(
        "clamp_tensor_bounds",
        lambda x, low, high: gg.clamp(x, low, high),
        (CLAMP_INPUT, CLAMP_INPUT + rng.choice([-0.1, 0.1], (2, 4)), array([[0.05], [0.4]])),
        E.CLAMP_TENSORS,
    ),
    case(
        "div_rounded",
        lambda x, y: gg.div(x, y, rounding_mode="floor") * x,
        (FRACTIONAL, array([1.7, -2.3, 3.1])),
        E.DIV_ROUNDED,
        E.MUL,
    ),
]


def _leaves(values: tuple[np.ndarray, ...]) -> tuple[gg.Tensor, ...]:
    return tuple(gg.tensor(v, dtype=gg.float64, requires_grad=True) for v in values)


def _outputs(result) -> list[gg.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


def _recorded_ops(tensors: list[gg.Tensor]) -> set[int]:
    return {id(node.op) for node in _nodes(tensors) if hasattr(node, "op")}


@pytest.fixture(autouse=True)
def _seeded():
    gg.manual_seed(0)


# --- mathx: gpugrad.special's rows and linalg.lu_factor -----------------------------------
_SHAPE_A = np.array([[0.7, 2.5, 4.0], [1.5, 3.0, 0.4]])
CASES += [
    case("special_i0e", gg.special.i0e, (randn(2, 3),), E.SPECIAL_I0E),
    case("special_i1", gg.special.i1, (randn(2, 3),), E.SPECIAL_I1),
    case("special_i1e", gg.special.i1e, (randn(2, 3),), E.SPECIAL_I1E),
    case("special_erfcx", gg.special.erfcx, (randn(2, 3),), E.SPECIAL_ERFCX),
    case("special_ndtri", gg.special.ndtri, (positive(2, 3) / 4,), E.SPECIAL_NDTRI),
    case("special_log_ndtr", gg.special.log_ndtr, (randn(2, 3) * 3,), E.SPECIAL_LOG_NDTR),
    case("special_entr", gg.special.entr, (positive(2, 3),), E.SPECIAL_ENTR),
    case(
        "special_zeta_q",
        lambda q: gg.special.zeta(gg.tensor(_SHAPE_A + 1.5, dtype=q.dtype), q),
        (positive(2, 3) + 0.5,),
        E.SPECIAL_ZETA,
    ),
    case(
        "igamma_x",
        lambda x: gg.igamma(gg.tensor(_SHAPE_A, dtype=x.dtype), x),
        (positive(2, 3) + 0.2,),
        E.IGAMMA,
    ),
    case(
        "igammac_x",
        lambda x: gg.igammac(gg.tensor(_SHAPE_A, dtype=x.dtype), x),
        (positive(2, 3) + 0.2,),
        E.IGAMMAC,
    ),
    case(
        "lu_factor",
        lambda a: gg.linalg.lu_factor_ex(a).LU,
        (randn(2, 3, 3) + 3 * np.eye(3),),
        __import__("gpugrad.ops.linalg_more", fromlist=["LU_FACTOR"]).LU_FACTOR,
    ),
]


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


def _nodes(tensors: list[gg.Tensor]) -> list:
    """Every graph node behind ``tensors``, each once."""
    nodes, seen = [], set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return nodes


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_recorded_nodes_keep_their_rows_contract(c: Case) -> None:
    """Each node holds the saved values and static attributes its row names, one each."""
    outputs = _outputs(c.fn(*_leaves(c.inputs)))
    for node in _nodes(outputs):
        op = getattr(node, "op", None)
        if op is None:
            continue
        assert len(node.attrs) == len(op.attrs), (op, node.attrs)
        assert len(node.saved) == len(op.save_inputs), op
        assert (node.out is not None) == op.save_output, op


def test_every_derivative_table_op_has_a_case() -> None:
    covered = {id(op) for c in CASES for op in c.ops}
    assert sorted(op.node_name for op in registry.rows() if id(op) not in covered) == []


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


# --- s7-topx: the scatter ops' rows (gpugrad/ops/scatter_copy.py) -------------------------
from gpugrad.ops import scatter_copy as SC  # noqa: E402

CASES += [
    case(
        "slice_scatter",
        lambda x, v: gg.slice_scatter(x, v, 1, 0, 4, 2),
        (randn(3, 4), randn(3, 2)),
        SC.SLICE_SCATTER,
    ),
    case(
        "select_scatter",
        lambda x, v: gg.select_scatter(x, v, 0, 1),
        (randn(3, 4), randn(4)),
        SC.SELECT_SCATTER,
    ),
    case(
        "diagonal_scatter",
        lambda x, v: gg.diagonal_scatter(x, v, 1),
        (randn(3, 4), randn(3)),
        SC.DIAGONAL_SCATTER,
    ),
    case(
        "as_strided_scatter",
        lambda x, v: gg.as_strided_scatter(x, v, (2, 2), (1, 3), 1),
        (randn(3, 4), randn(2, 2)),
        SC.AS_STRIDED_SCATTER,
    ),
    case(
        "index_copy",
        lambda x, v: gg.index_copy(x, 1, index([3, 0]), v),
        (randn(3, 4), randn(3, 2)),
        SC.INDEX_COPY,
    ),
    case(
        "masked_scatter",
        lambda x, v: gg.masked_scatter(x, gg.tensor(MASK[0]), v),
        (randn(3, 4), randn(12)),
        SC.MASKED_SCATTER,
    ),
]
