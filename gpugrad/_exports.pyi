# Generated from the op registry by scripts/gen_stubs.py; do not edit by hand.
"""The ops ``gpugrad`` exports, for type checkers (see ``_exports.py``)."""

import builtins
from collections.abc import Sequence
from typing import Any

from ._tensor import Tensor
from .ops.dispatch import Dim, Number, TensorOrNumber
from .ops.elementwise import allclose as allclose
from .ops.elementwise import conj as conj
from .ops.elementwise import equal as equal
from .ops.elementwise import i0 as i0
from .ops.elementwise import igamma as igamma
from .ops.elementwise import igammac as igammac
from .ops.elementwise import is_conj as is_conj
from .ops.elementwise import isclose as isclose
from .ops.elementwise import isfinite as isfinite
from .ops.elementwise import isinf as isinf
from .ops.elementwise import isnan as isnan
from .ops.elementwise import isreal as isreal
from .ops.elementwise import mvlgamma as mvlgamma
from .ops.elementwise import positive as positive
from .ops.elementwise import real as real
from .ops.elementwise import relu as relu
from .ops.elementwise import resolve_conj as resolve_conj
from .ops.elementwise import resolve_neg as resolve_neg
from .ops.index import argwhere as argwhere
from .ops.index import chunk as chunk
from .ops.index import dsplit as dsplit
from .ops.index import hsplit as hsplit
from .ops.index import index_fill as index_fill
from .ops.index import index_put as index_put
from .ops.index import masked_fill as masked_fill
from .ops.index import narrow as narrow
from .ops.index import repeat_interleave as repeat_interleave
from .ops.index import select as select
from .ops.index import split as split
from .ops.index import tensor_split as tensor_split
from .ops.index import unbind as unbind
from .ops.index import vsplit as vsplit
from .ops.linalg import cdist as cdist
from .ops.linalg import corrcoef as corrcoef
from .ops.linalg import cov as cov
from .ops.linalg import det as det
from .ops.linalg import dist as dist
from .ops.linalg import einsum as einsum
from .ops.linalg import logdet as logdet
from .ops.linalg_more import chain_matmul as chain_matmul
from .ops.linalg_more import cholesky_inverse as cholesky_inverse
from .ops.linalg_more import cholesky_solve as cholesky_solve
from .ops.linalg_more import frobenius_norm as frobenius_norm
from .ops.linalg_more import geqrf as geqrf
from .ops.linalg_more import legacy_cholesky as cholesky
from .ops.linalg_more import legacy_lu as lu
from .ops.linalg_more import legacy_lu_solve as lu_solve
from .ops.linalg_more import legacy_qr as qr
from .ops.linalg_more import legacy_svd as svd
from .ops.linalg_more import lu_unpack as lu_unpack
from .ops.linalg_more import matrix_exp as matrix_exp
from .ops.linalg_more import nuclear_norm as nuclear_norm
from .ops.linalg_more import orgqr as orgqr
from .ops.linalg_more import ormqr as ormqr
from .ops.linalg_more import pinverse as pinverse
from .ops.linalg_more import triangular_solve as triangular_solve
from .ops.nn_activation import alpha_dropout as alpha_dropout
from .ops.nn_activation import alpha_dropout_ as alpha_dropout_
from .ops.nn_activation import celu as celu
from .ops.nn_activation import celu_ as celu_
from .ops.nn_activation import channel_shuffle as channel_shuffle
from .ops.nn_activation import dropout as dropout
from .ops.nn_activation import dropout_ as dropout_
from .ops.nn_activation import feature_alpha_dropout as feature_alpha_dropout
from .ops.nn_activation import feature_alpha_dropout_ as feature_alpha_dropout_
from .ops.nn_activation import feature_dropout as feature_dropout
from .ops.nn_activation import feature_dropout_ as feature_dropout_
from .ops.nn_activation import hardshrink as hardshrink
from .ops.nn_activation import native_channel_shuffle as native_channel_shuffle
from .ops.nn_activation import pdist as pdist
from .ops.nn_activation import pixel_shuffle as pixel_shuffle
from .ops.nn_activation import pixel_unshuffle as pixel_unshuffle
from .ops.nn_activation import prelu as prelu
from .ops.nn_activation import relu_ as relu_
from .ops.nn_activation import rrelu as rrelu
from .ops.nn_activation import rrelu_ as rrelu_
from .ops.nn_activation import selu as selu
from .ops.nn_activation import selu_ as selu_
from .ops.nn_activation import threshold as threshold
from .ops.nn_activation import threshold_ as threshold_
from .ops.numeric import angle as angle
from .ops.numeric import bartlett_window as bartlett_window
from .ops.numeric import bincount as bincount
from .ops.numeric import blackman_window as blackman_window
from .ops.numeric import bucketize as bucketize
from .ops.numeric import combinations as combinations
from .ops.numeric import cumulative_trapezoid as cumulative_trapezoid
from .ops.numeric import frexp as frexp
from .ops.numeric import gcd as gcd
from .ops.numeric import hamming_window as hamming_window
from .ops.numeric import hann_window as hann_window
from .ops.numeric import histc as histc
from .ops.numeric import histogram as histogram
from .ops.numeric import histogramdd as histogramdd
from .ops.numeric import kaiser_window as kaiser_window
from .ops.numeric import lcm as lcm
from .ops.numeric import ldexp as ldexp
from .ops.numeric import nextafter as nextafter
from .ops.numeric import searchsorted as searchsorted
from .ops.numeric import trapezoid as trapezoid
from .ops.numeric import trapz as trapz
from .ops.numeric import unique_consecutive as unique_consecutive
from .ops.numeric import vander as vander
from .ops.reduce import argsort as argsort
from .ops.reduce import count_nonzero as count_nonzero
from .ops.reduce import flip as flip
from .ops.reduce import std_mean as std_mean
from .ops.reduce import unique as unique
from .ops.reduce import var_mean as var_mean
from .ops.scatter_copy import adjoint as adjoint
from .ops.scatter_copy import alias_copy as alias_copy
from .ops.scatter_copy import as_strided as as_strided
from .ops.scatter_copy import as_strided_copy as as_strided_copy
from .ops.scatter_copy import as_strided_scatter as as_strided_scatter
from .ops.scatter_copy import detach_copy as detach_copy
from .ops.scatter_copy import diagonal_copy as diagonal_copy
from .ops.scatter_copy import diagonal_scatter as diagonal_scatter
from .ops.scatter_copy import expand_copy as expand_copy
from .ops.scatter_copy import index_copy as index_copy
from .ops.scatter_copy import index_reduce as index_reduce
from .ops.scatter_copy import masked_scatter as masked_scatter
from .ops.scatter_copy import narrow_copy as narrow_copy
from .ops.scatter_copy import permute_copy as permute_copy
from .ops.scatter_copy import put as put
from .ops.scatter_copy import renorm as renorm
from .ops.scatter_copy import rsub as rsub
from .ops.scatter_copy import select_copy as select_copy
from .ops.scatter_copy import select_scatter as select_scatter
from .ops.scatter_copy import slice_copy as slice_copy
from .ops.scatter_copy import slice_scatter as slice_scatter
from .ops.scatter_copy import split_copy as split_copy
from .ops.scatter_copy import split_with_sizes as split_with_sizes
from .ops.scatter_copy import split_with_sizes_copy as split_with_sizes_copy
from .ops.scatter_copy import squeeze_copy as squeeze_copy
from .ops.scatter_copy import t_copy as t_copy
from .ops.scatter_copy import transpose_copy as transpose_copy
from .ops.scatter_copy import unbind_copy as unbind_copy
from .ops.scatter_copy import unfold_copy as unfold_copy
from .ops.scatter_copy import unsafe_chunk as unsafe_chunk
from .ops.scatter_copy import unsafe_split as unsafe_split
from .ops.scatter_copy import unsafe_split_with_sizes as unsafe_split_with_sizes
from .ops.scatter_copy import unsqueeze_copy as unsqueeze_copy
from .ops.scatter_copy import view_copy as view_copy
from .ops.shape import atleast_1d as atleast_1d
from .ops.shape import atleast_2d as atleast_2d
from .ops.shape import atleast_3d as atleast_3d
from .ops.shape import block_diag as block_diag
from .ops.shape import broadcast_shapes as broadcast_shapes
from .ops.shape import broadcast_tensors as broadcast_tensors
from .ops.shape import broadcast_to as broadcast_to
from .ops.shape import cartesian_prod as cartesian_prod
from .ops.shape import clone as clone
from .ops.shape import diag_embed as diag_embed
from .ops.shape import diagflat as diagflat
from .ops.shape import diagonal as diagonal
from .ops.shape import flatten as flatten
from .ops.shape import fliplr as fliplr
from .ops.shape import flipud as flipud
from .ops.shape import meshgrid as meshgrid
from .ops.shape import movedim as moveaxis
from .ops.shape import movedim as movedim
from .ops.shape import permute as permute
from .ops.shape import ravel as ravel
from .ops.shape import repeat as repeat
from .ops.shape import reshape as reshape
from .ops.shape import roll as roll
from .ops.shape import rot90 as rot90
from .ops.shape import squeeze as squeeze
from .ops.shape import t as t
from .ops.shape import tile as tile
from .ops.shape import trace as trace
from .ops.shape import transpose as swapaxes
from .ops.shape import transpose as swapdims
from .ops.shape import transpose as transpose
from .ops.shape import unflatten as unflatten
from .ops.shape import unsqueeze as unsqueeze
from .ops.shifts import bitwise_left_shift as bitwise_left_shift
from .ops.shifts import bitwise_right_shift as bitwise_right_shift

def abs(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def absolute(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def acos(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def acosh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def add(
    input: Tensor, other: TensorOrNumber, *, alpha: Number = 1, out: Tensor | None = None
) -> Tensor: ...
def addbmm(
    input: Tensor,
    batch1: Tensor,
    batch2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Any: ...
def addcdiv(
    input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1, out: Tensor | None = None
) -> Tensor: ...
def addcmul(
    input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Number = 1, out: Tensor | None = None
) -> Tensor: ...
def addmm(
    input: Tensor,
    mat1: Tensor,
    mat2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Any: ...
def addmv(
    input: Tensor,
    mat: Tensor,
    vec: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Any: ...
def addr(
    input: Tensor,
    vec1: Tensor,
    vec2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Tensor: ...
def all(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def amax(
    input: Tensor,
    dim: Dim = (),
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def amin(
    input: Tensor,
    dim: Dim = (),
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def aminmax(
    input: Tensor,
    *,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    out: Tensor | None = None,
) -> Any: ...
def any(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def arccos(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arccosh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arcsin(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arcsinh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arctan(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arctan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def arctanh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def argmax(
    input: Tensor,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def argmin(
    input: Tensor,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def asin(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def asinh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def atan(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def atan2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def atanh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def baddbmm(
    input: Tensor,
    batch1: Tensor,
    batch2: Tensor,
    *,
    beta: Any = 1,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Any: ...
def bitwise_and(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def bitwise_not(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def bitwise_or(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def bitwise_xor(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def cat(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, out: Tensor | None = None
) -> Tensor: ...
def ceil(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def clamp(
    input: Tensor,
    min: Number | None = None,
    max: Number | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor: ...
def clamp_max(input: Tensor, max: Number, *, out: Tensor | None = None) -> Tensor: ...
def clamp_min(input: Tensor, min: Number, *, out: Tensor | None = None) -> Tensor: ...
def clip(
    input: Tensor,
    min: Number | None = None,
    max: Number | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor: ...
def column_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor: ...
def concat(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, out: Tensor | None = None
) -> Tensor: ...
def concatenate(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, out: Tensor | None = None
) -> Tensor: ...
def copysign(
    input: TensorOrNumber, other: TensorOrNumber, *, out: Tensor | None = None
) -> Tensor: ...
def cos(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def cosh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def cross(
    input: Tensor, other: Tensor, dim: builtins.int | None = None, *, out: Tensor | None = None
) -> Tensor: ...
def cummax(input: Tensor, dim: builtins.int, *, out: Tensor | None = None) -> Any: ...
def cummin(input: Tensor, dim: builtins.int, *, out: Tensor | None = None) -> Any: ...
def cumprod(
    input: Tensor, dim: builtins.int, *, dtype: Any = None, out: Tensor | None = None
) -> Tensor: ...
def cumsum(
    input: Tensor, dim: builtins.int, *, dtype: Any = None, out: Tensor | None = None
) -> Tensor: ...
def deg2rad(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def diag(input: Tensor, diagonal: builtins.int = 0, *, out: Tensor | None = None) -> Tensor: ...
def diff(
    input: Tensor,
    n: builtins.int = 1,
    dim: builtins.int = -1,
    prepend: Any = None,
    append: Any = None,
    *,
    out: Tensor | None = None,
) -> Tensor: ...
def digamma(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def div(
    input: Tensor,
    other: TensorOrNumber,
    *,
    rounding_mode: str | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def divide(
    input: Tensor,
    other: TensorOrNumber,
    *,
    rounding_mode: str | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def dot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def dstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor: ...
def eq(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def erf(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def erfc(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def erfinv(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def exp(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def exp2(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def expm1(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def fix(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def float_power(
    input: TensorOrNumber, exponent: TensorOrNumber, *, out: Tensor | None = None
) -> Tensor: ...
def floor(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def floor_divide(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def fmax(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def fmin(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def fmod(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def frac(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def gather(
    input: Tensor,
    dim: builtins.int,
    index: Tensor,
    *,
    sparse_grad: builtins.bool = False,
    out: Tensor | None = None,
) -> Tensor: ...
def ge(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def ger(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def greater(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def greater_equal(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def gt(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def hstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor: ...
def hypot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def index_add(
    input: Tensor,
    dim: builtins.int,
    index: Tensor,
    source: Tensor,
    *,
    alpha: Any = 1,
    out: Tensor | None = None,
) -> Tensor: ...
def index_select(
    input: Tensor, dim: builtins.int, index: Tensor, *, out: Tensor | None = None
) -> Tensor: ...
def inner(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def inverse(A: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def isin(
    elements: Any,
    test_elements: Any,
    *,
    assume_unique: builtins.bool = False,
    invert: builtins.bool = False,
    out: Tensor | None = None,
) -> Tensor: ...
def isneginf(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def isposinf(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def kron(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def kthvalue(
    input: Tensor,
    k: builtins.int,
    dim: builtins.int = -1,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def le(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def lerp(
    input: Tensor, end: Tensor, weight: TensorOrNumber, *, out: Tensor | None = None
) -> Tensor: ...
def less(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def less_equal(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def lgamma(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def log(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def log10(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def log1p(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def log2(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def log_softmax(
    input: Tensor, dim: builtins.int, *, dtype: Any = None, out: Tensor | None = None
) -> Tensor: ...
def logaddexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logaddexp2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logcumsumexp(input: Tensor, dim: builtins.int, *, out: Tensor | None = None) -> Tensor: ...
def logical_and(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logical_not(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logical_or(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logical_xor(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def logit(
    input: Tensor, eps: builtins.float | None = None, *, out: Tensor | None = None
) -> Tensor: ...
def logsumexp(
    input: Tensor,
    dim: Dim,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def lt(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def matrix_power(input: Tensor, n: builtins.int, *, out: Tensor | None = None) -> Tensor: ...
def max(
    input: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def maximum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def mean(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def median(
    input: Tensor,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def min(
    input: Tensor,
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def minimum(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def mode(
    input: Tensor,
    dim: builtins.int = -1,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def msort(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def mul(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def multiply(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def mv(input: Tensor, vec: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def nan_to_num(
    input: Tensor,
    nan: builtins.float = 0.0,
    posinf: builtins.float | None = None,
    neginf: builtins.float | None = None,
    *,
    out: Tensor | None = None,
) -> Tensor: ...
def nanmean(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def nanmedian(
    input: Tensor,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def nanquantile(
    input: Tensor,
    q: Any,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    interpolation: str = "linear",
    out: Tensor | None = None,
) -> Tensor: ...
def nansum(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def ne(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def neg(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def negative(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def nonzero(
    input: Tensor, *, as_tuple: builtins.bool = False, out: Tensor | None = None
) -> Any: ...
def norm(
    input: Tensor,
    p: Any = "fro",
    dim: Any = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    out: Tensor | None = None,
) -> Tensor: ...
def not_equal(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def outer(input: Tensor, vec2: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def polygamma(n: builtins.int, input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def pow(
    input: TensorOrNumber, exponent: TensorOrNumber, *, out: Tensor | None = None
) -> Tensor: ...
def prod(
    input: Tensor,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def quantile(
    input: Tensor,
    q: Any,
    dim: builtins.int | None = None,
    keepdim: builtins.bool = False,
    *,
    interpolation: str = "linear",
    out: Tensor | None = None,
) -> Tensor: ...
def rad2deg(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def reciprocal(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def remainder(input: Tensor, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...
def round(input: Tensor, *, decimals: builtins.int = 0, out: Tensor | None = None) -> Tensor: ...
def row_stack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor: ...
def rsqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def scatter(
    input: Tensor,
    dim: builtins.int,
    index: Tensor,
    src: Any = None,
    *,
    value: Any = None,
    reduce: str | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def scatter_add(
    input: Tensor, dim: builtins.int, index: Tensor, src: Tensor, *, out: Tensor | None = None
) -> Tensor: ...
def scatter_reduce(
    input: Tensor,
    dim: builtins.int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: builtins.bool = True,
    out: Tensor | None = None,
) -> Tensor: ...
def sgn(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def sigmoid(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def sign(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def signbit(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def sin(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def sinc(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def sinh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def slogdet(A: Tensor, *, out: Tensor | None = None) -> tuple[Tensor, Tensor]: ...
def softmax(
    input: Tensor, dim: builtins.int, *, dtype: Any = None, out: Tensor | None = None
) -> Tensor: ...
def sort(
    input: Tensor,
    dim: builtins.int = -1,
    descending: builtins.bool = False,
    *,
    stable: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Any: ...
def sqrt(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def square(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def stack(
    tensors: Sequence[Tensor], dim: builtins.int = 0, *, out: Tensor | None = None
) -> Tensor: ...
def std(
    input: Tensor,
    dim: Dim = None,
    unbiased: builtins.bool | None = None,
    keepdim: builtins.bool = False,
    *,
    correction: builtins.float | None = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def sub(
    input: Tensor, other: TensorOrNumber, *, alpha: Number = 1, out: Tensor | None = None
) -> Tensor: ...
def subtract(
    input: Tensor, other: TensorOrNumber, *, alpha: Number = 1, out: Tensor | None = None
) -> Tensor: ...
def sum(
    input: Tensor,
    dim: Dim = None,
    keepdim: builtins.bool = False,
    *,
    dtype: Any = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def take(input: Tensor, index: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def take_along_dim(
    input: Tensor, indices: Tensor, dim: builtins.int | None = None, *, out: Tensor | None = None
) -> Tensor: ...
def tan(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def tanh(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def tensordot(a: Tensor, b: Tensor, dims: Any = 2, *, out: Tensor | None = None) -> Tensor: ...
def topk(
    input: Tensor,
    k: builtins.int,
    dim: builtins.int = -1,
    largest: builtins.bool = True,
    sorted: builtins.bool = True,
    *,
    out: Tensor | None = None,
) -> Any: ...
def tril(input: Tensor, diagonal: builtins.int = 0, *, out: Tensor | None = None) -> Tensor: ...
def triu(input: Tensor, diagonal: builtins.int = 0, *, out: Tensor | None = None) -> Tensor: ...
def true_divide(
    input: Tensor,
    other: TensorOrNumber,
    *,
    rounding_mode: str | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def trunc(input: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def var(
    input: Tensor,
    dim: Dim = None,
    unbiased: builtins.bool | None = None,
    keepdim: builtins.bool = False,
    *,
    correction: builtins.float | None = None,
    keepdims: builtins.bool | None = None,
    out: Tensor | None = None,
) -> Tensor: ...
def vdot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor: ...
def vstack(tensors: Sequence[Tensor], *, out: Tensor | None = None) -> Tensor: ...
def where(condition: Any, input: Any, other: Any, *, out: Tensor | None = None) -> Tensor: ...
def xlogy(input: TensorOrNumber, other: TensorOrNumber, *, out: Tensor | None = None) -> Tensor: ...

__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "addbmm",
    "addcdiv",
    "addcmul",
    "addmm",
    "addmv",
    "addr",
    "adjoint",
    "alias_copy",
    "all",
    "allclose",
    "alpha_dropout",
    "alpha_dropout_",
    "amax",
    "amin",
    "aminmax",
    "angle",
    "any",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argmax",
    "argmin",
    "argsort",
    "argwhere",
    "as_strided",
    "as_strided_copy",
    "as_strided_scatter",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "baddbmm",
    "bartlett_window",
    "bincount",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "blackman_window",
    "block_diag",
    "bmm",
    "broadcast_shapes",
    "broadcast_tensors",
    "broadcast_to",
    "bucketize",
    "cartesian_prod",
    "cat",
    "cdist",
    "ceil",
    "celu",
    "celu_",
    "chain_matmul",
    "channel_shuffle",
    "cholesky",
    "cholesky_inverse",
    "cholesky_solve",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "clone",
    "column_stack",
    "combinations",
    "concat",
    "concatenate",
    "conj",
    "copysign",
    "corrcoef",
    "cos",
    "cosh",
    "count_nonzero",
    "cov",
    "cross",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "cumulative_trapezoid",
    "deg2rad",
    "det",
    "detach_copy",
    "diag",
    "diag_embed",
    "diagflat",
    "diagonal",
    "diagonal_copy",
    "diagonal_scatter",
    "diff",
    "digamma",
    "dist",
    "div",
    "divide",
    "dot",
    "dropout",
    "dropout_",
    "dsplit",
    "dstack",
    "einsum",
    "eq",
    "equal",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expand_copy",
    "expm1",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "fix",
    "flatten",
    "flip",
    "fliplr",
    "flipud",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "frexp",
    "frobenius_norm",
    "gather",
    "gcd",
    "ge",
    "geqrf",
    "ger",
    "greater",
    "greater_equal",
    "gt",
    "hamming_window",
    "hann_window",
    "hardshrink",
    "heaviside",
    "histc",
    "histogram",
    "histogramdd",
    "hsplit",
    "hstack",
    "hypot",
    "i0",
    "igamma",
    "igammac",
    "index_add",
    "index_copy",
    "index_fill",
    "index_put",
    "index_reduce",
    "index_select",
    "inner",
    "inverse",
    "is_conj",
    "isclose",
    "isfinite",
    "isin",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "kaiser_window",
    "kron",
    "kthvalue",
    "lcm",
    "ldexp",
    "le",
    "lerp",
    "less",
    "less_equal",
    "lgamma",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logaddexp",
    "logaddexp2",
    "logcumsumexp",
    "logdet",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "logsumexp",
    "lt",
    "lu",
    "lu_solve",
    "lu_unpack",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "matmul",
    "matrix_exp",
    "matrix_power",
    "max",
    "maximum",
    "mean",
    "median",
    "meshgrid",
    "min",
    "minimum",
    "mm",
    "mode",
    "moveaxis",
    "movedim",
    "msort",
    "mul",
    "multiply",
    "mv",
    "mvlgamma",
    "nan_to_num",
    "nanmean",
    "nanmedian",
    "nanquantile",
    "nansum",
    "narrow",
    "narrow_copy",
    "native_channel_shuffle",
    "ne",
    "neg",
    "negative",
    "nextafter",
    "nonzero",
    "norm",
    "not_equal",
    "nuclear_norm",
    "orgqr",
    "ormqr",
    "outer",
    "pdist",
    "permute",
    "permute_copy",
    "pinverse",
    "pixel_shuffle",
    "pixel_unshuffle",
    "polygamma",
    "positive",
    "pow",
    "prelu",
    "prod",
    "put",
    "qr",
    "quantile",
    "rad2deg",
    "ravel",
    "real",
    "reciprocal",
    "relu",
    "relu_",
    "remainder",
    "renorm",
    "repeat",
    "repeat_interleave",
    "reshape",
    "resolve_conj",
    "resolve_neg",
    "roll",
    "rot90",
    "round",
    "row_stack",
    "rrelu",
    "rrelu_",
    "rsqrt",
    "rsub",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "searchsorted",
    "select",
    "select_copy",
    "select_scatter",
    "selu",
    "selu_",
    "sgn",
    "sigmoid",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "slice_copy",
    "slice_scatter",
    "slogdet",
    "softmax",
    "sort",
    "split",
    "split_copy",
    "split_with_sizes",
    "split_with_sizes_copy",
    "sqrt",
    "square",
    "squeeze",
    "squeeze_copy",
    "stack",
    "std",
    "std_mean",
    "sub",
    "subtract",
    "sum",
    "svd",
    "swapaxes",
    "swapdims",
    "t",
    "t_copy",
    "take",
    "take_along_dim",
    "tan",
    "tanh",
    "tensor_split",
    "tensordot",
    "threshold",
    "threshold_",
    "tile",
    "topk",
    "trace",
    "transpose",
    "transpose_copy",
    "trapezoid",
    "trapz",
    "triangular_solve",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unbind",
    "unbind_copy",
    "unflatten",
    "unfold_copy",
    "unique",
    "unique_consecutive",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "unsqueeze",
    "unsqueeze_copy",
    "vander",
    "var",
    "var_mean",
    "vdot",
    "view_copy",
    "vsplit",
    "vstack",
    "where",
    "xlogy",
]
