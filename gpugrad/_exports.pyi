# Generated from the op registry by scripts/gen_stubs.py; do not edit by hand.
"""The ops ``gpugrad`` exports, for type checkers (see ``_exports.py``)."""

from .ops.elementwise import abs as abs
from .ops.elementwise import add as add
from .ops.elementwise import allclose as allclose
from .ops.elementwise import clamp as clamp
from .ops.elementwise import clamp as clip
from .ops.elementwise import cos as cos
from .ops.elementwise import div as div
from .ops.elementwise import eq as eq
from .ops.elementwise import equal as equal
from .ops.elementwise import erf as erf
from .ops.elementwise import exp as exp
from .ops.elementwise import expm1 as expm1
from .ops.elementwise import ge as ge
from .ops.elementwise import gt as gt
from .ops.elementwise import isfinite as isfinite
from .ops.elementwise import isnan as isnan
from .ops.elementwise import le as le
from .ops.elementwise import log as log
from .ops.elementwise import log1p as log1p
from .ops.elementwise import logaddexp as logaddexp
from .ops.elementwise import logical_and as logical_and
from .ops.elementwise import logical_not as logical_not
from .ops.elementwise import logical_or as logical_or
from .ops.elementwise import lt as lt
from .ops.elementwise import maximum as maximum
from .ops.elementwise import minimum as minimum
from .ops.elementwise import mul as mul
from .ops.elementwise import ne as ne
from .ops.elementwise import neg as neg
from .ops.elementwise import neg as negative
from .ops.elementwise import pow as pow
from .ops.elementwise import reciprocal as reciprocal
from .ops.elementwise import relu as relu
from .ops.elementwise import rsqrt as rsqrt
from .ops.elementwise import sigmoid as sigmoid
from .ops.elementwise import sign as sign
from .ops.elementwise import sin as sin
from .ops.elementwise import sqrt as sqrt
from .ops.elementwise import sub as sub
from .ops.elementwise import tan as tan
from .ops.elementwise import tanh as tanh
from .ops.elementwise import where as where
from .ops.index import chunk as chunk
from .ops.index import split as split
from .ops.linalg import bmm as bmm
from .ops.linalg import dot as dot
from .ops.linalg import matmul as matmul
from .ops.linalg import mm as mm
from .ops.linalg import mv as mv
from .ops.linalg import outer as ger
from .ops.linalg import outer as outer
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
from .ops.shape import broadcast_to as broadcast_to
from .ops.shape import cat as cat
from .ops.shape import cat as concat
from .ops.shape import cat as concatenate
from .ops.shape import clone as clone
from .ops.shape import flatten as flatten
from .ops.shape import permute as permute
from .ops.shape import reshape as reshape
from .ops.shape import squeeze as squeeze
from .ops.shape import stack as stack
from .ops.shape import t as t
from .ops.shape import transpose as swapaxes
from .ops.shape import transpose as transpose
from .ops.shape import unsqueeze as unsqueeze

__all__ = [
    "abs",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "bmm",
    "broadcast_to",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "concat",
    "concatenate",
    "cos",
    "count_nonzero",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "div",
    "dot",
    "eq",
    "equal",
    "erf",
    "exp",
    "expm1",
    "flatten",
    "flip",
    "ge",
    "ger",
    "gt",
    "isfinite",
    "isnan",
    "kthvalue",
    "le",
    "log",
    "log1p",
    "log_softmax",
    "logaddexp",
    "logcumsumexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logsumexp",
    "lt",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "min",
    "minimum",
    "mm",
    "mode",
    "msort",
    "mul",
    "mv",
    "nanmean",
    "nanmedian",
    "nansum",
    "ne",
    "neg",
    "negative",
    "outer",
    "permute",
    "pow",
    "prod",
    "quantile",
    "reciprocal",
    "relu",
    "reshape",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "std_mean",
    "sub",
    "sum",
    "swapaxes",
    "t",
    "tan",
    "tanh",
    "topk",
    "transpose",
    "unique",
    "unsqueeze",
    "var",
    "var_mean",
    "where",
]
