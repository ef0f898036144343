# Generated from the op registry by scripts/gen_stubs.py; do not edit by hand.
"""The ops ``gpugrad`` exports, for type checkers (see ``_exports.py``)."""

from .ops.elementwise import abs as abs
from .ops.elementwise import acos as acos
from .ops.elementwise import acos as arccos
from .ops.elementwise import acosh as acosh
from .ops.elementwise import acosh as arccosh
from .ops.elementwise import add as add
from .ops.elementwise import allclose as allclose
from .ops.elementwise import asin as arcsin
from .ops.elementwise import asin as asin
from .ops.elementwise import asinh as arcsinh
from .ops.elementwise import asinh as asinh
from .ops.elementwise import atan as arctan
from .ops.elementwise import atan as atan
from .ops.elementwise import atan2 as arctan2
from .ops.elementwise import atan2 as atan2
from .ops.elementwise import atanh as arctanh
from .ops.elementwise import atanh as atanh
from .ops.elementwise import bitwise_and as bitwise_and
from .ops.elementwise import bitwise_not as bitwise_not
from .ops.elementwise import bitwise_or as bitwise_or
from .ops.elementwise import bitwise_xor as bitwise_xor
from .ops.elementwise import ceil as ceil
from .ops.elementwise import clamp as clamp
from .ops.elementwise import clamp as clip
from .ops.elementwise import cos as cos
from .ops.elementwise import cosh as cosh
from .ops.elementwise import digamma as digamma
from .ops.elementwise import div as div
from .ops.elementwise import eq as eq
from .ops.elementwise import equal as equal
from .ops.elementwise import erf as erf
from .ops.elementwise import erfc as erfc
from .ops.elementwise import erfinv as erfinv
from .ops.elementwise import exp as exp
from .ops.elementwise import exp2 as exp2
from .ops.elementwise import expm1 as expm1
from .ops.elementwise import floor as floor
from .ops.elementwise import floor_divide as floor_divide
from .ops.elementwise import fmax as fmax
from .ops.elementwise import fmin as fmin
from .ops.elementwise import fmod as fmod
from .ops.elementwise import frac as frac
from .ops.elementwise import ge as ge
from .ops.elementwise import gt as greater
from .ops.elementwise import gt as gt
from .ops.elementwise import hypot as hypot
from .ops.elementwise import isclose as isclose
from .ops.elementwise import isfinite as isfinite
from .ops.elementwise import isinf as isinf
from .ops.elementwise import isnan as isnan
from .ops.elementwise import isneginf as isneginf
from .ops.elementwise import isposinf as isposinf
from .ops.elementwise import le as le
from .ops.elementwise import lerp as lerp
from .ops.elementwise import lgamma as lgamma
from .ops.elementwise import log as log
from .ops.elementwise import log1p as log1p
from .ops.elementwise import log2 as log2
from .ops.elementwise import log10 as log10
from .ops.elementwise import logaddexp as logaddexp
from .ops.elementwise import logical_and as logical_and
from .ops.elementwise import logical_not as logical_not
from .ops.elementwise import logical_or as logical_or
from .ops.elementwise import logical_xor as logical_xor
from .ops.elementwise import lt as less
from .ops.elementwise import lt as lt
from .ops.elementwise import maximum as maximum
from .ops.elementwise import minimum as minimum
from .ops.elementwise import mul as mul
from .ops.elementwise import nan_to_num as nan_to_num
from .ops.elementwise import ne as ne
from .ops.elementwise import neg as neg
from .ops.elementwise import neg as negative
from .ops.elementwise import polygamma as polygamma
from .ops.elementwise import pow as pow
from .ops.elementwise import reciprocal as reciprocal
from .ops.elementwise import relu as relu
from .ops.elementwise import remainder as remainder
from .ops.elementwise import round as round
from .ops.elementwise import rsqrt as rsqrt
from .ops.elementwise import sigmoid as sigmoid
from .ops.elementwise import sign as sign
from .ops.elementwise import sin as sin
from .ops.elementwise import sinh as sinh
from .ops.elementwise import sqrt as sqrt
from .ops.elementwise import square as square
from .ops.elementwise import sub as sub
from .ops.elementwise import tan as tan
from .ops.elementwise import tanh as tanh
from .ops.elementwise import trunc as fix
from .ops.elementwise import trunc as trunc
from .ops.elementwise import where as where
from .ops.index import argwhere as argwhere
from .ops.index import chunk as chunk
from .ops.index import gather as gather
from .ops.index import index_add as index_add
from .ops.index import index_fill as index_fill
from .ops.index import index_put as index_put
from .ops.index import index_select as index_select
from .ops.index import masked_fill as masked_fill
from .ops.index import masked_select as masked_select
from .ops.index import narrow as narrow
from .ops.index import nonzero as nonzero
from .ops.index import repeat_interleave as repeat_interleave
from .ops.index import scatter as scatter
from .ops.index import scatter_add as scatter_add
from .ops.index import scatter_reduce as scatter_reduce
from .ops.index import split as split
from .ops.index import take_along_dim as take_along_dim
from .ops.index import unbind as unbind
from .ops.linalg import addbmm as addbmm
from .ops.linalg import addmm as addmm
from .ops.linalg import addmv as addmv
from .ops.linalg import baddbmm as baddbmm
from .ops.linalg import bmm as bmm
from .ops.linalg import cdist as cdist
from .ops.linalg import cross as cross
from .ops.linalg import det as det
from .ops.linalg import dist as dist
from .ops.linalg import dot as dot
from .ops.linalg import einsum as einsum
from .ops.linalg import inner as inner
from .ops.linalg import inv as inverse
from .ops.linalg import kron as kron
from .ops.linalg import matmul as matmul
from .ops.linalg import mm as mm
from .ops.linalg import mv as mv
from .ops.linalg import norm as norm
from .ops.linalg import outer as ger
from .ops.linalg import outer as outer
from .ops.linalg import slogdet as slogdet
from .ops.linalg import tensordot as tensordot
from .ops.reduce import all as all
from .ops.reduce import amax as amax
from .ops.reduce import amin as amin
from .ops.reduce import any as any
from .ops.reduce import argmax as argmax
from .ops.reduce import argmin as argmin
from .ops.reduce import argsort as argsort
from .ops.reduce import count_nonzero as count_nonzero
from .ops.reduce import cummax as cummax
from .ops.reduce import cummin as cummin
from .ops.reduce import cumprod as cumprod
from .ops.reduce import cumsum as cumsum
from .ops.reduce import flip as flip
from .ops.reduce import kthvalue as kthvalue
from .ops.reduce import log_softmax as log_softmax
from .ops.reduce import logcumsumexp as logcumsumexp
from .ops.reduce import logsumexp as logsumexp
from .ops.reduce import max as max
from .ops.reduce import mean as mean
from .ops.reduce import median as median
from .ops.reduce import min as min
from .ops.reduce import mode as mode
from .ops.reduce import msort as msort
from .ops.reduce import nanmean as nanmean
from .ops.reduce import nanmedian as nanmedian
from .ops.reduce import nanquantile as nanquantile
from .ops.reduce import nansum as nansum
from .ops.reduce import prod as prod
from .ops.reduce import quantile as quantile
from .ops.reduce import softmax as softmax
from .ops.reduce import sort as sort
from .ops.reduce import std as std
from .ops.reduce import std_mean as std_mean
from .ops.reduce import sum as sum
from .ops.reduce import topk as topk
from .ops.reduce import unique as unique
from .ops.reduce import var as var
from .ops.reduce import var_mean as var_mean
from .ops.shape import broadcast_shapes as broadcast_shapes
from .ops.shape import broadcast_tensors as broadcast_tensors
from .ops.shape import broadcast_to as broadcast_to
from .ops.shape import cat as cat
from .ops.shape import cat as concat
from .ops.shape import cat as concatenate
from .ops.shape import clone as clone
from .ops.shape import column_stack as column_stack
from .ops.shape import diag as diag
from .ops.shape import diag_embed as diag_embed
from .ops.shape import diagonal as diagonal
from .ops.shape import dstack as dstack
from .ops.shape import flatten as flatten
from .ops.shape import hstack as hstack
from .ops.shape import meshgrid as meshgrid
from .ops.shape import movedim as moveaxis
from .ops.shape import movedim as movedim
from .ops.shape import permute as permute
from .ops.shape import repeat as repeat
from .ops.shape import reshape as reshape
from .ops.shape import roll as roll
from .ops.shape import squeeze as squeeze
from .ops.shape import stack as stack
from .ops.shape import t as t
from .ops.shape import tile as tile
from .ops.shape import trace as trace
from .ops.shape import transpose as swapaxes
from .ops.shape import transpose as transpose
from .ops.shape import tril as tril
from .ops.shape import triu as triu
from .ops.shape import unsqueeze as unsqueeze
from .ops.shape import vstack as row_stack
from .ops.shape import vstack as vstack

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "addbmm",
    "addmm",
    "addmv",
    "all",
    "allclose",
    "amax",
    "amin",
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
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "baddbmm",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "bmm",
    "broadcast_shapes",
    "broadcast_tensors",
    "broadcast_to",
    "cat",
    "cdist",
    "ceil",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "column_stack",
    "concat",
    "concatenate",
    "cos",
    "cosh",
    "count_nonzero",
    "cross",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "det",
    "diag",
    "diag_embed",
    "diagonal",
    "digamma",
    "dist",
    "div",
    "dot",
    "dstack",
    "einsum",
    "eq",
    "equal",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "gather",
    "ge",
    "ger",
    "greater",
    "gt",
    "hstack",
    "hypot",
    "index_add",
    "index_fill",
    "index_put",
    "index_select",
    "inner",
    "inverse",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "kron",
    "kthvalue",
    "le",
    "lerp",
    "less",
    "lgamma",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logaddexp",
    "logcumsumexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logsumexp",
    "lt",
    "masked_fill",
    "masked_select",
    "matmul",
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
    "mv",
    "nan_to_num",
    "nanmean",
    "nanmedian",
    "nanquantile",
    "nansum",
    "narrow",
    "ne",
    "neg",
    "negative",
    "nonzero",
    "norm",
    "outer",
    "permute",
    "polygamma",
    "pow",
    "prod",
    "quantile",
    "reciprocal",
    "relu",
    "remainder",
    "repeat",
    "repeat_interleave",
    "reshape",
    "roll",
    "round",
    "row_stack",
    "rsqrt",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "slogdet",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "std_mean",
    "sub",
    "sum",
    "swapaxes",
    "t",
    "take_along_dim",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "topk",
    "trace",
    "transpose",
    "tril",
    "triu",
    "trunc",
    "unbind",
    "unique",
    "unsqueeze",
    "var",
    "var_mean",
    "vstack",
    "where",
]
