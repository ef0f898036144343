"""Random tensor programs run under PyTorch and gpugrad, compared step by step.

A program is a list of Python statements over a pool of variables ``v0, v1, ...``, written
once and executed twice: with ``L = torch`` (on the CPU) and with ``L = gpugrad`` (on the
device under test). Every statement is generated from what PyTorch's run holds so far
(shapes, dtypes), so a program is deterministic given its seed, and its text is a script
that reproduces a failure on its own (``format_program``).

After each statement the two runs must agree on: the exception class raised (and its
text, for the messages in ``COMPARED_MESSAGES``), the result's type, shape, dtype and
values (NaN where NaN), its ``requires_grad``, and, where the values are identical, its
printed form ``str(t)``. At the end a scalar built from every float64 result is
differentiated and the leaves' ``.grad`` compared. A NumPy ``RuntimeWarning`` reaching
gpugrad's caller is a mismatch too.

``tests/test_fuzz_vs_torch.py`` runs a few hundred seeded programs;
``scripts/fuzz_vs_torch.py --seed S --count N`` runs many more and prints each mismatch
with the program that produced it.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import gpugrad as gg
from gpugrad.ops import nn_activation as gg_ops_nn_activation
from gpugrad.ops.registry import REGISTRY

FLOAT_DTYPES = ("float32", "float64")
INT_DTYPES = ("int64", "int32")
DTYPES = (*FLOAT_DTYPES, *INT_DTYPES, "bool")

UNARY = (
    "neg",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "relu",
    "abs",
    "sign",
    "reciprocal",
    "erf",
    "negative",
    "exp2",
    "log2",
    "log10",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "erfc",
    "erfinv",
    "lgamma",
    "digamma",
    "arcsin",
    "arccos",
    "arctan",
    "arcsinh",
    "arccosh",
    "arctanh",
    "floor",
    "ceil",
    "trunc",
    "fix",
    "round",
    "frac",
    "square",
    "isnan",
    "isfinite",
    "isinf",
    "isposinf",
    "isneginf",
    "logical_not",
    "bitwise_not",
    "nan_to_num",
    "arcsin_",
    "arccos_",
    "arctan_",
    "arcsinh_",
    "arccosh_",
    "arctanh_",
    "fix_",
)
BINARY = (
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "logaddexp",
    "atan2",
    "arctan2",
    "hypot",
    "fmax",
    "fmin",
    "remainder",
    "fmod",
    "floor_divide",
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "greater",
    "less",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "arctan2_",
)
OPERATORS = ("+", "-", "*", "/", "**", "//", "%", "&", "|", "^", "<", "<=", ">", ">=", "==", "!=")
REDUCTIONS = (
    "sum",
    "mean",
    "prod",
    "amax",
    "amin",
    "max",
    "min",
    "var",
    "std",
    "logsumexp",
    "argmax",
    "argmin",
    "all",
    "any",
    "nansum",
    "nanmean",
    "count_nonzero",
    "median",
    "nanmedian",
    "mode",
    "var_mean",
    "std_mean",
)
CUMULATIVE = (
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "logcumsumexp",
    "softmax",
    "log_softmax",
)
TRANSFERS = (
    "float",
    "double",
    "long",
    "int",
    "bool",
)

# Registry ops the generator does not call, each with the reason.
NOT_FUZZED = {
    "to": "device moves: the programs stay on one device",
    "cpu": "device moves",
    "cuda": "device moves",
    "half": "float16 printing and rounding are out of scope here",
    "polygamma": "needs an order argument; covered by tests/test_special.py",
    "Tensor.polygamma": "see polygamma",
    "where_method": "Tensor.where: covered through L.where",
    "equal": "returns a bool; covered by tests/test_tensor_api.py",
    "allclose": "returns a bool",
    "diagonal_backward": "a backward helper",
    "embedding": "F.embedding's node; checked against PyTorch in test_tutorials_gaps.py",
    "index_scatter": "a backward helper",
    "gather_backward": "a backward helper",
    "index_select_backward": "a backward helper",
    "element_size": "metadata",
    "itemsize": "metadata",
    "nbytes": "metadata",
    "stride": "strides differ by design (NumPy layouts)",
    "is_contiguous": "layout differs by design",
    "data_ptr": "addresses",
    "storage_offset": "layout differs by design",
    "new_empty": "uninitialised values",
    "broadcast_shapes": "no tensors",
    "einsum": "covered by tests/test_linalg.py",
    "linalg_svd": "sign conventions differ",
    "linalg_qr": "sign conventions differ",
    "linalg_eigh": "sign conventions differ",
    "linalg_eigvalsh": "covered by tests/test_linalg.py",
    "linalg_svdvals": "covered by tests/test_linalg.py",
    "linalg_cholesky": "needs positive definite input; tests/test_linalg.py",
    "linalg_solve": "covered by tests/test_linalg.py",
    "slogdet": "covered by tests/test_linalg.py",
    "matrix_rank": "covered by tests/test_linalg.py",
    "pinv": "covered by tests/test_linalg.py",
    "quantile": "covered by tests/test_reductions_more.py",
    "nanquantile": "covered by tests/test_reductions_more.py",
    "unique": "covered by tests/test_reductions_more.py",
    "meshgrid": "covered by tests/test_shape_index_more.py",
    "unfold": "covered by tests/test_shape_index_more.py",
    "cdist": "covered by tests/test_linalg.py",
    "sum_to_size": "covered by tests/test_shape_index_more.py",
    "normal_": "random values",
    "uniform_": "random values",
    "exponential_": "random values",
    "bernoulli_": "random values",
    "random_": "random values",
    # --- s7-mathx: the numeric and linear-algebra families and the special functions, each
    # against PyTorch (and SciPy where PyTorch is inexact) in tests/test_mathx_*.py
    **dict.fromkeys(
        (
            *(n for n, d in REGISTRY.items() if d.family in ("numeric", "linalg_more")),
            *("i0", "igammac", "mvlgamma", "special_erfcx", "special_i0e", "special_i1"),
            *("special_i1e", "special_log_ndtr", "special_ndtri", "special_zeta"),
            "special_entr",
        ),
        "covered against PyTorch by tests/test_mathx_*.py",
    ),
    # --- s7-nnact: torch's top-level activation/dropout/shuffle/distance names ---
    **dict.fromkeys(
        gg_ops_nn_activation.__all__,
        "covered against PyTorch by tests/test_nnact_functional.py",
    ),
    # s7-topx: composites of fuzzed ops, each against PyTorch in tests/test_topx_ops.py
    **dict.fromkeys(
        (
            "adjoint",
            "alias_copy",
            "as_strided",
            "as_strided_copy",
            "as_strided_scatter",
            "bitwise_left_shift",
            "bitwise_right_shift",
            "detach_copy",
            "diagonal_copy",
            "diagonal_scatter",
            "expand_copy",
            "index_copy",
            "index_reduce",
            "masked_scatter",
            "narrow_copy",
            "permute_copy",
            "put",
            "renorm",
            "rsub",
            "select_copy",
            "select_scatter",
            "slice_copy",
            "slice_scatter",
            "split_copy",
            "split_with_sizes",
            "split_with_sizes_copy",
            "squeeze_copy",
            "t_copy",
            "transpose_copy",
            "unbind_copy",
            "unfold_copy",
            "unsafe_chunk",
            "unsafe_split",
            "unsafe_split_with_sizes",
            "unsqueeze_copy",
            "view_copy",
        ),
        "covered by tests/test_topx_ops.py",
    ),  # fmt: skip
    # aliases and composites of fuzzed ops (helper "out"), each against PyTorch there
    **dict.fromkeys(
        (
            "H",
            "absolute",
            "addcdiv",
            "addcmul",
            "addr",
            "aminmax",
            "atleast_1d",
            "atleast_2d",
            "atleast_3d",
            "block_diag",
            "byte",
            "cartesian_prod",
            "char",
            "clamp_max",
            "clamp_min",
            "conj",
            "copysign",
            "corrcoef",
            "cov",
            "deg2rad",
            "diagflat",
            "diff",
            "dsplit",
            "fliplr",
            "flipud",
            "float_power",
            "get_device",
            "greater_equal",
            "heaviside",
            "hsplit",
            "is_conj",
            "is_cpu",
            "is_same_size",
            "is_signed",
            "isreal",
            "less_equal",
            "logaddexp2",
            "logdet",
            "logit",
            "mH",
            "matrix_power",
            "multiply",
            "ndimension",
            "not_equal",
            "positive",
            "rad2deg",
            "ravel",
            "real",
            "resolve_conj",
            "resolve_neg",
            "rot90",
            "sgn",
            "short",
            "signbit",
            "sinc",
            "subtract",
            "swapdims",
            "tensor_split",
            "true_divide",
            "vdot",
            "vsplit",
            "xlogy",
        ),
        "an alias or composite of fuzzed ops: tests/test_api_gaps_more.py",
    ),
}


def _literal(value: Any) -> str:
    """Python source for a number, NaN and infinities included."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value)


def _nested(values: list[Any], shape: tuple[int, ...]) -> str:
    if not shape:
        return _literal(values[0])
    step = len(values) // shape[0]
    return (
        "["
        + ", ".join(_nested(values[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0]))
        + "]"
    )


@dataclass
class Var:
    """A pool variable: its name and what PyTorch's run holds there."""

    name: str
    value: torch.Tensor


@dataclass
class Outcome:
    """One mismatch: its kind, a description, and the program up to the statement."""

    kind: str
    detail: str
    program: list[str]
    seed: int

    def format(self) -> str:
        return f"[{self.kind}] seed {self.seed}: {self.detail}\n" + format_program(self.program)


def format_program(lines: list[str]) -> str:
    head = "import torch as L  # or: import gpugrad as L\ndev = 'cpu'\n"
    return head + "\n".join(lines)


TIES = re.compile(
    r"L\.(topk|kthvalue|median|nanmedian|mode|max|min|cummax|cummin)\(|\.(max|min|median|mode)\("
)
"""Statements whose index output may differ between correct implementations (ties)."""

# Exception messages compared word for word (substrings of PyTorch's text): the ones a
# user meets first. For the rest the exception class must match.
COMPARED_MESSAGES = (
    "Dimension out of range",
    "must match the size of tensor",
    "shape '[",
    "a leaf Variable that requires grad",
    "is out of bounds for dimension",
    "Trying to create tensor with negative dimension",
)


@dataclass
class Generator:
    rng: random.Random
    hostile: bool
    pool: list[Var] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    # --- random pieces -------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def shape(self) -> tuple[int, ...]:
        ndim = self.rng.choice((0, 1, 1, 2, 2, 2, 3, 3))
        sizes = (0, 1, 1, 2, 3, 3, 4) if self.hostile else (1, 2, 2, 3, 3, 4)
        return tuple(self.rng.choice(sizes) for _ in range(ndim))

    def number(self, dtype: str) -> Any:
        r = self.rng
        if self.hostile and self.chance(0.15):
            if dtype in FLOAT_DTYPES:
                return r.choice((math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-310, 0.0, -0.0))
            if dtype in INT_DTYPES:
                big = 2**62 if dtype == "int64" else 2**30
                return r.choice((big, -big, 0))
        if dtype in FLOAT_DTYPES:
            return round(r.uniform(-3, 3), r.choice((0, 1, 2, 4)))
        if dtype in INT_DTYPES:
            return r.randint(-5, 5)
        return r.random() < 0.5

    def scalar(self) -> Any:
        kind = self.rng.choice(("int", "float", "bool", "int", "float"))
        if kind == "int":
            return self.rng.choice((0, 1, -1, 2, 3, -2))
        if kind == "bool":
            return self.rng.choice((True, False))
        if self.hostile and self.chance(0.2):
            return self.rng.choice((math.nan, math.inf, -math.inf, 1e300))
        return self.rng.choice((0.5, -1.5, 2.0, 0.25, 3.0, -0.0))

    def leaf(self) -> str:
        dtype = self.rng.choice((*DTYPES, "float64", "float64", "float32"))
        shape = self.shape()
        grad = dtype == "float64" and self.chance(0.6)
        size = math.prod(shape)
        suffix = f", dtype=L.{dtype}, device=dev" + (", requires_grad=True" if grad else "")
        if size == 0:
            return f"L.zeros({shape}{suffix})"
        values = [self.number(dtype) for _ in range(size)]
        return f"L.tensor({_nested(values, shape)}{suffix})"

    def var(self, want: Callable[[torch.Tensor], bool] = lambda t: True) -> Var | None:
        options = [v for v in self.pool if want(v.value)]
        return self.rng.choice(options) if options else None

    def dim(self, t: torch.Tensor) -> int:
        nd = max(t.dim(), 1)
        if self.hostile and self.chance(0.1):
            return self.rng.choice((nd, -nd - 1, 5))
        return self.rng.randrange(-nd, nd)

    def other(self, t: torch.Tensor) -> str:
        """A second operand for ``t``: a pool tensor, a Python scalar, a 0-d tensor or a
        new tensor of a broadcastable shape."""
        r = self.rng.random()
        if r < 0.35:
            return _literal(self.scalar())
        if r < 0.5:
            dtype = self.rng.choice(DTYPES)
            return f"L.tensor({_literal(self.number(dtype))}, dtype=L.{dtype}, device=dev)"
        if r < 0.75:
            same = self.var(lambda u: _broadcastable(u.shape, t.shape) or self.hostile)
            if same is not None:
                return same.name
        shape = list(t.shape)
        for i in range(len(shape)):
            if self.chance(0.3):
                shape[i] = 1
        while shape and self.chance(0.3):
            shape.pop(0)
        dtype = self.rng.choice(DTYPES)
        values = [self.number(dtype) for _ in range(math.prod(shape))]
        if not values:
            return f"L.zeros({tuple(shape)}, dtype=L.{dtype}, device=dev)"
        return f"L.tensor({_nested(values, tuple(shape))}, dtype=L.{dtype}, device=dev)"

    def index_tensor(self, size: int, count: int | None = None, dtype: str = "int64") -> str:
        count = self.rng.randint(0, 3) if count is None else count
        hi = max(size, 1)
        values = [self.rng.randrange(-hi, hi) if size else 0 for _ in range(count)]
        if self.hostile and values and self.chance(0.15):
            values[0] = size + self.rng.randint(0, 2)
        if self.hostile and self.chance(0.1):
            dtype = self.rng.choice(("int32", "float32", "bool"))
        return f"L.tensor({values}, dtype=L.{dtype}, device=dev)"

    # --- statements -----------------------------------------------------------------------
    def statement(self) -> str | None:
        makers = (
            (self.make_leaf, 1),
            (self.make_unary, 6),
            (self.make_binary, 6),
            (self.make_operator, 5),
            (self.make_reduction, 5),
            (self.make_cumulative, 2),
            (self.make_sort, 2),
            (self.make_shape, 5),
            (self.make_getitem, 4),
            (self.make_setitem, 2),
            (self.make_index_op, 3),
            (self.make_ternary, 3),
            (self.make_matmul, 2),
            (self.make_transfer, 1),
            (self.make_inplace, 3),
            (self.make_join, 2),
        )
        maker = self.rng.choices([m for m, _ in makers], [w for _, w in makers])[0]
        return maker()

    def make_leaf(self) -> str:
        return self.leaf()

    def make_unary(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        name = self.rng.choice(UNARY)
        form = self.rng.random()
        if name == "nan_to_num" and self.chance(0.5):
            return f"L.nan_to_num({v.name}, nan=0.5, posinf=9.0)"
        if form < 0.5 and not name.endswith("_"):
            return f"L.{name}({v.name})"
        if form < 0.9 or name in ("neg", "abs"):
            return f"{v.name}.{name}()"
        return self.rng.choice((f"-{v.name}", f"abs({v.name})", f"~{v.name}"))

    def make_binary(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        name = self.rng.choice(BINARY)
        other = self.other(v.value)
        extra = ""
        if name == "div" and self.chance(0.3):
            extra = f", rounding_mode={self.rng.choice(('floor', 'trunc'))!r}"
        if name in ("add", "sub") and self.chance(0.2):
            extra = f", alpha={self.rng.choice((2, -1, 0.5))}"
        if self.chance(0.5):
            return f"L.{name}({v.name}, {other}{extra})"
        return f"{v.name}.{name}({other}{extra})"

    def make_operator(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        op = self.rng.choice(OPERATORS)
        other = self.other(v.value)
        if self.chance(0.3):
            return f"({other}) {op} {v.name}"
        return f"{v.name} {op} ({other})"

    def make_reduction(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        name = self.rng.choice(REDUCTIONS)
        t = v.value
        form = self.rng.random()
        if form < 0.25 and name not in ("mode",):
            return f"L.{name}({v.name})"
        keep = self.rng.choice(("", ", keepdim=True", ", keepdim=False"))
        if name == "count_nonzero":
            keep = ""
        if name in (
            "sum",
            "mean",
            "amax",
            "amin",
            "nansum",
            "nanmean",
            "var",
            "std",
            "logsumexp",
        ) and self.chance(0.3):
            dims = tuple(sorted({self.dim(t) for _ in range(self.rng.randint(1, 2))}))
            return f"L.{name}({v.name}, {dims}{keep})"
        extra = ""
        if name in ("var", "std", "var_mean", "std_mean") and self.chance(0.4):
            extra = f", correction={self.rng.choice((0, 1, 2))}"
        if name == "sum" and self.chance(0.2):
            extra = f", dtype=L.{self.rng.choice(DTYPES)}"
        if name in ("max", "min") and self.chance(0.3):
            return f"L.{name}({v.name}, {self.other(t)})"
        if self.chance(0.5):
            return f"{v.name}.{name}({self.dim(t)}{keep}{extra})"
        return f"L.{name}({v.name}, dim={self.dim(t)}{keep}{extra})"

    def make_cumulative(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        name = self.rng.choice(CUMULATIVE)
        extra = ""
        if name in ("cumsum", "cumprod", "softmax", "log_softmax") and self.chance(0.2):
            extra = f", dtype=L.{self.rng.choice(FLOAT_DTYPES)}"
        return f"L.{name}({v.name}, {self.dim(v.value)}{extra})"

    def make_sort(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t = v.value
        name = self.rng.choice(("sort", "argsort", "msort", "topk", "kthvalue", "flip", "sort"))
        d = self.dim(t)
        if name == "sort":
            return f"L.sort({v.name}, dim={d}, descending={self.chance(0.5)}, stable=True)"
        if name == "argsort":
            return f"L.argsort({v.name}, dim={d}, descending={self.chance(0.5)}, stable=True)"
        if name == "msort":
            return f"L.msort({v.name})"
        size = t.shape[d] if -t.dim() <= d < max(t.dim(), 1) and t.dim() else 1
        if name == "topk":
            k = self.rng.randint(0, size + (1 if self.hostile else 0))
            return f"L.topk({v.name}, {k}, dim={d}, largest={self.chance(0.5)})"
        if name == "kthvalue":
            k = self.rng.randint(1 if not self.hostile else 0, max(size, 1))
            return f"L.kthvalue({v.name}, {k}, {d})"
        return f"L.flip({v.name}, ({d},))"

    def make_shape(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t, n = v.value, v.name
        r = self.rng
        choice = r.choice(
            (
                "reshape", "view", "flatten", "squeeze", "unsqueeze", "transpose", "permute",
                "t", "mT", "expand", "roll", "tril", "triu", "diagonal", "repeat", "tile",
                "movedim", "narrow", "contiguous", "clone", "diag", "trace", "unflatten",
                "repeat_interleave", "diag_embed", "chunk", "split", "unbind", "squeeze_all",
                "swapaxes", "moveaxis", "broadcast_to", "expand_as", "view_as", "reshape_as",
                "type_as", "new_zeros", "new_ones", "new_full", "new_tensor",
            )
        )  # fmt: skip
        nd = t.dim()
        if choice in ("reshape", "view"):
            shape = list(t.shape)
            r.shuffle(shape)
            if shape and r.random() < 0.5:
                shape[r.randrange(len(shape))] = -1
            if self.hostile and r.random() < 0.2:
                shape.append(r.choice((2, -1, 0)))
            return f"{n}.{choice}({tuple(shape)})"
        if choice == "swapaxes":
            return f"L.swapaxes({n}, {self.dim(t)}, {self.dim(t)})"
        if choice == "moveaxis":
            return f"L.moveaxis({n}, {self.dim(t)}, {self.dim(t)})"
        if choice in ("broadcast_to", "expand_as", "view_as", "reshape_as", "type_as"):
            w = self.var() or v
            if choice == "broadcast_to":
                return f"L.broadcast_to({n}, {tuple(w.value.shape)})"
            return f"{n}.{choice}({w.name})"
        if choice in ("new_zeros", "new_ones"):
            return f"{n}.{choice}({self.shape()})"
        if choice == "new_full":
            return f"{n}.new_full({self.shape()}, {_literal(self.scalar())})"
        if choice == "new_tensor":
            return f"{n}.new_tensor([{_literal(self.scalar())}, {_literal(self.scalar())}])"
        if choice == "flatten":
            return f"L.flatten({n})" if r.random() < 0.5 else f"{n}.flatten({self.dim(t)})"
        if choice == "squeeze":
            return f"{n}.squeeze({self.dim(t)})"
        if choice == "squeeze_all":
            return f"L.squeeze({n})"
        if choice == "unsqueeze":
            return f"{n}.unsqueeze({r.randint(-nd - 1, nd)})"
        if choice == "transpose":
            return f"{n}.transpose({self.dim(t)}, {self.dim(t)})"
        if choice == "permute":
            order = list(range(nd))
            r.shuffle(order)
            if order and r.random() < 0.5:
                order[0] -= nd
            return f"{n}.permute({tuple(order)})"
        if choice in ("t", "mT"):
            return f"{n}.{choice}()" if choice == "t" else f"{n}.mT"
        if choice == "expand":
            shape = [s if s != 1 else r.choice((1, 2, 3, -1)) for s in t.shape]
            if r.random() < 0.4:
                shape.insert(0, 2)
            return f"{n}.expand({tuple(shape)})"
        if choice == "roll":
            return f"L.roll({n}, {r.randint(-3, 3)}, {self.dim(t)})"
        if choice in ("tril", "triu"):
            return f"L.{choice}({n}, {r.randint(-1, 1)})"
        if choice == "diagonal":
            return f"L.diagonal({n}, {r.randint(-1, 1)}, {self.dim(t)}, {self.dim(t)})"
        if choice in ("repeat", "tile"):
            reps = tuple(
                r.choice((1, 2, 1, 0 if self.hostile else 1))
                for _ in range(max(nd, 1) + r.randint(0, 1))
            )
            return f"{n}.{choice}({reps})"
        if choice == "movedim":
            return f"L.movedim({n}, {self.dim(t)}, {self.dim(t)})"
        if choice == "narrow":
            d = self.dim(t)
            return f"L.narrow({n}, {d}, {r.randint(-1, 1)}, {r.randint(0, 2)})"
        if choice in ("contiguous", "clone"):
            return f"{n}.{choice}()"
        if choice == "diag":
            return f"L.diag({n}, {r.randint(-1, 1)})"
        if choice == "trace":
            return f"L.trace({n})"
        if choice == "unflatten":
            d = self.dim(t)
            size = t.shape[d] if nd and -nd <= d < nd else 1
            return (
                f"{n}.unflatten({d}, ({size}, 1))"
                if r.random() < 0.5
                else f"{n}.unflatten({d}, (-1, 1))"
            )
        if choice == "repeat_interleave":
            return f"L.repeat_interleave({n}, {r.randint(0, 2)}, dim={self.dim(t)})"
        if choice == "diag_embed":
            return f"L.diag_embed({n})"
        if choice == "chunk":
            return f"L.chunk({n}, {r.randint(1, 3)}, {self.dim(t)})"
        if choice == "split":
            return f"L.split({n}, {r.randint(1, 2)}, {self.dim(t)})"
        return f"L.unbind({n}, {self.dim(t)})"

    def make_getitem(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t = v.value
        parts = []
        for d in range(t.dim()):
            size = t.shape[d]
            k = self.rng.random()
            if k < 0.25:
                i = self.rng.randrange(-size, size) if size else 0
                if self.hostile and self.chance(0.15):
                    i = size + 1
                parts.append(str(i))
            elif k < 0.5:
                a, b = self.rng.choice((None, 0, 1, -1, -2)), self.rng.choice((None, 1, 2, -1, 5))
                step = self.rng.choice(("", "", ":2", ":3"))
                parts.append(f"{'' if a is None else a}:{'' if b is None else b}{step}")
            elif k < 0.6:
                parts.append("None")
            elif k < 0.7 and not any(p.startswith("L.tensor") for p in parts):
                parts.append(self.index_tensor(size))
            elif k < 0.75:
                parts.append("...")
                break
            else:
                parts.append(":")
            if self.chance(0.3):
                break
        if not parts or self.chance(0.15):
            mask_of = self.rng.random()
            if mask_of < 0.5 and t.dim():
                return f"{v.name}[{v.name} > 0]"
            return f"{v.name}[{self.rng.choice(('None', '...', '()', 'True'))}]"
        if parts.count("...") > 1:
            return None
        return f"{v.name}[{', '.join(parts)}]"

    def make_setitem(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t = v.value
        target = self.make_getitem()
        if target is None or "[" not in target:
            return None
        name = target.split("[", 1)[0]
        if name != v.name and not target.startswith(v.name + "["):
            target = f"{v.name}[{target.split('[', 1)[1]}"
        value = _literal(self.scalar()) if self.chance(0.6) else self.other(t)
        fresh = f"v{len(self.pool)}"
        index = target[len(v.name) :]
        return f"{fresh} = {v.name}.detach().clone(); {fresh}{index} = {value}; {fresh}"

    def make_index_op(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t, n = v.value, v.name
        r = self.rng
        d = self.dim(t)
        size = t.shape[d] if t.dim() and -t.dim() <= d < t.dim() else 1
        name = r.choice(
            ("index_select", "gather", "masked_fill", "masked_select", "nonzero", "take_along_dim",
             "index_fill", "scatter", "scatter_add", "index_add", "argwhere", "scatter_reduce",
             "index_put")
        )  # fmt: skip
        if name == "index_select":
            return f"L.index_select({n}, {d}, {self.index_tensor(size)})"
        if name == "masked_fill":
            value = _literal(self.scalar())
            mask = f"{n} > 0" if r.random() < 0.6 else self.other(t) + " > 0"
            return f"L.masked_fill({n}, {mask}, {value})"
        if name == "masked_select":
            return f"L.masked_select({n}, {n} < 1)"
        if name in ("nonzero", "argwhere"):
            return f"L.{name}({n})"
        if name == "index_put":
            value = _literal(self.scalar()) if self.chance(0.5) else self.other(t)
            if not value.startswith("L."):
                value = f"L.tensor({value}, dtype={n}.dtype, device=dev)"
            acc = self.chance(0.3)
            return f"L.index_put({n}, ({self.index_tensor(size)},), {value}, accumulate={acc})"
        if name == "index_fill":
            return f"{n}.index_fill({d}, {self.index_tensor(size)}, {_literal(self.scalar())})"
        # gather-like ops: an index of t's shape with entries < size
        shape = list(t.shape) if t.dim() else []
        values = [r.randrange(0, max(size, 1)) for _ in range(math.prod(shape))]
        if self.hostile and values and r.random() < 0.15:
            values[0] = size + 2
        index = (
            f"L.tensor({_nested(values, tuple(shape))}, dtype=L.int64, device=dev)"
            if values
            else f"L.zeros({tuple(shape)}, dtype=L.int64, device=dev)"
        )
        if name == "gather":
            return f"L.gather({n}, {d}, {index})"
        if name == "take_along_dim":
            return f"L.take_along_dim({n}, {index}, {d})"
        if name == "scatter":
            return f"L.scatter({n}, {d}, {index}, {_literal(self.scalar())})"
        if name == "scatter_add":
            return f"L.scatter_add({n}, {d}, {index}, {n})"
        if name == "scatter_reduce":
            reduce = r.choice(("sum", "prod", "mean", "amax", "amin"))
            include = r.random() < 0.5
            return f"L.scatter_reduce({n}, {d}, {index}, {n}, {reduce!r}, include_self={include})"
        return f"L.index_add({n}, {d}, {self.index_tensor(size, size)}, {n})"

    def make_ternary(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t, n = v.value, v.name
        r = self.rng
        name = r.choice(("where", "clamp", "clip", "lerp", "isclose", "where_scalar"))
        if name == "where":
            return f"L.where({n} > 0, {n}, {self.other(t)})"
        if name == "where_scalar":
            return f"L.where({n} > 0, {_literal(self.scalar())}, {_literal(self.scalar())})"
        if name in ("clamp", "clip"):
            lo = r.choice(("None", _literal(self.scalar()), self.other(t)))
            hi = r.choice(("None", _literal(self.scalar())))
            return f"L.{name}({n}, {lo}, {hi})"
        if name == "lerp":
            return f"L.lerp({n}, {self.other(t)}, {r.choice(('0.5', '0.25', self.other(t)))})"
        return f"L.isclose({n}, {self.other(t)})"

    def make_matmul(self) -> str | None:
        r = self.rng
        dtype = r.choice(("float32", "float64", "float64", "int64"))
        a_shape, b_shape, name = r.choice(
            (
                ((2, 3), (3, 4), "mm"), ((3,), (3,), "dot"), ((2, 3), (3,), "mv"),
                ((2, 2, 3), (2, 3, 1), "bmm"), ((2, 3), (3,), "matmul"),
                ((3,), (3, 2), "matmul"), ((2, 1, 2, 3), (4, 3, 2), "matmul"),
                ((3,), (2,), "outer"), ((2, 3), (2, 3), "inner"), ((3, 3), None, "det"),
                ((3,), (3,), "cross"), ((2, 3), (4, 3), "matmul"), ((0, 3), (3, 2), "mm"),
                ((2, 3), None, "norm"), ((3, 3), None, "inverse"), ((2, 3), (2, 2), "kron"),
                ((3,), (2,), "ger"), ((2, 3), (3, 2), "tensordot"), ((2, 3), (2, 3), "dist"),
                ((2, 3), None, "vector_norm"), ((2, 3), None, "matrix_norm"),
                ((2, 3), None, "linalg_norm"), ((2, 3), (2, 3), "linalg_cross"),
                ((2, 3), (3, 4), "addmm"), ((2, 3), (3,), "addmv"),
                ((2, 2, 3), (2, 3, 2), "baddbmm"), ((2, 2, 3), (2, 3, 2), "addbmm"),
            )
        )  # fmt: skip
        a = self.fresh(a_shape, dtype)
        if name == "det":
            return f"L.det({a})" if dtype != "int64" else f"L.det({a}.double())"
        if name == "norm":
            return f"L.norm({a}.double(), dim={r.choice((0, 1, -1))})"
        if name == "inverse":
            return f"L.inverse({a} + 3 * L.eye(3, dtype={a}.dtype, device=dev))"
        if name in ("vector_norm", "matrix_norm", "linalg_norm"):
            order = r.choice(("", ", ord=1", ", ord=2" if name == "vector_norm" else ""))
            return f"L.linalg.{name.removeprefix('linalg_')}({a}.double(){order})"
        b = self.fresh(b_shape, r.choice((dtype, dtype, "float32", "int64")))
        if name == "cross":
            return f"L.cross({a}, {b}, dim=0)"
        if name == "linalg_cross":
            return f"L.linalg.cross({a}, {b}, dim=1)"
        if name == "tensordot":
            return f"L.tensordot({a}, {b}, dims=1)"
        if name in ("addmm", "addmv", "baddbmm", "addbmm"):
            beta = r.choice(("", ", beta=0.5", ", alpha=2"))
            return f"L.{name}({self.other(self.pool[-1].value)}, {a}, {b}{beta})"
        if r.random() < 0.3 and name == "matmul":
            return f"{a} @ {b}"
        return f"L.{name}({a}, {b})"

    def fresh(self, shape: tuple[int, ...], dtype: str) -> str:
        """A pool variable of this shape and dtype if one exists, else a new literal."""
        same = self.var(lambda u: tuple(u.shape) == shape and str(u.dtype) == f"torch.{dtype}")
        if same is not None and self.chance(0.7):
            return same.name
        values = [self.number(dtype) for _ in range(math.prod(shape))]
        if not values:
            return f"L.zeros({shape}, dtype=L.{dtype}, device=dev)"
        return f"L.tensor({_nested(values, shape)}, dtype=L.{dtype}, device=dev)"

    def make_transfer(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        name = self.rng.choice(TRANSFERS)
        if self.chance(0.4):
            return f"{v.name}.to(L.{self.rng.choice(DTYPES)})"
        return f"{v.name}.{name}()"

    def make_inplace(self) -> str | None:
        """An in-place op on a fresh copy, a view of one (transposed, sliced, expanded), or
        straight on a pool variable (leaves needing grad must refuse)."""
        v = self.var()
        if v is None:
            return None
        t, n = v.value, v.name
        r = self.rng
        fresh = f"v{len(self.pool)}"
        target_kind = r.random()
        if target_kind < 0.15:
            target, setup = n, ""
        else:
            setup = f"{fresh} = {n}.clone(); "
            target = fresh
            if target_kind < 0.4 and t.dim() >= 2:
                target = f"{fresh}.transpose(0, 1)"
            elif target_kind < 0.55 and t.dim() >= 1:
                target = f"{fresh}[::2]"
            elif target_kind < 0.65:
                target = f"{fresh}.expand({(2, *t.shape)})"
        op = r.choice(
            ("add_", "mul_", "sub_", "div_", "clamp_", "zero_", "fill_", "exp_", "neg_", "abs_",
             "masked_fill_", "copy_", "pow_", "floor_divide_", "remainder_", "+=", "*=", "-=", "/=",
             "relu_", "sqrt_", "tril_", "index_fill_", "scatter_", "bitwise_and_", "logical_not_",
             "round_", "lerp_")
        )  # fmt: skip
        if op in ("+=", "*=", "-=", "/="):
            body = f"{target} {op} {self.other(t)}"
            if target != n and "." not in target and "[" not in target:
                return f"{setup}{body}; {fresh}"
            method = {"+=": "add_", "*=": "mul_", "-=": "sub_", "/=": "div_"}[op]
            return f"{setup}{target}.{method}({self.other(t)})"
        if op in (
            "zero_",
            "exp_",
            "neg_",
            "abs_",
            "relu_",
            "sqrt_",
            "tril_",
            "logical_not_",
            "round_",
        ):
            body = f"{target}.{op}()"
        elif op == "fill_":
            body = f"{target}.fill_({_literal(self.scalar())})"
        elif op == "clamp_":
            body = f"{target}.clamp_({_literal(self.scalar())}, None)"
        elif op == "masked_fill_":
            body = f"{target}.masked_fill_({target} > 0, {_literal(self.scalar())})"
        elif op == "copy_":
            body = f"{target}.copy_({self.other(t)})"
        elif op == "index_fill_":
            size = t.shape[0] if t.dim() else 1
            body = f"{target}.index_fill_(0, {self.index_tensor(size)}, {_literal(self.scalar())})"
        elif op == "scatter_":
            index = f"L.zeros({tuple(t.shape)}, dtype=L.int64, device=dev)"
            body = f"{target}.scatter_(0, {index}, {_literal(self.scalar())})"
        elif op == "lerp_":
            body = f"{target}.lerp_({self.other(t)}, 0.5)"
        else:
            body = f"{target}.{op}({self.other(t)})"
        if setup:
            return f"{setup}{body}; {fresh}"
        return body

    def make_join(self) -> str | None:
        v = self.var()
        if v is None:
            return None
        t = v.value
        w = self.var(lambda u: u.dim() == t.dim()) or v
        name = self.rng.choice(
            (
                "cat",
                "stack",
                "hstack",
                "vstack",
                "dstack",
                "column_stack",
                "broadcast_tensors",
                "concat",
                "concatenate",
                "row_stack",
            )  # fmt: skip
        )
        d = self.dim(t)
        if name in ("cat", "concat", "concatenate"):
            return f"L.{name}([{v.name}, {w.name}], {d})"
        if name == "stack":
            return f"L.stack([{v.name}, {v.name}], {d})"
        if name == "broadcast_tensors":
            return f"L.broadcast_tensors({v.name}, {self.other(t)})"
        return f"L.{name}([{v.name}, {w.name}])"


def _broadcastable(a: Any, b: Any) -> bool:
    for x, y in zip(reversed(tuple(a)), reversed(tuple(b))):
        if x != y and x != 1 and y != 1:
            return False
    return True


# --- running and comparing ---------------------------------------------------------------
class _Mismatch(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _execute(line: str, namespace: dict[str, Any], target: str) -> Any:
    """Run ``line`` (statements separated by "; ") in ``namespace``; ``target``'s value."""
    exec(compile(line, "<fuzz>", "exec"), namespace)
    return namespace.get(target)


def _run_side(
    line: str, namespace: dict[str, Any], target: str, ours: bool
) -> tuple[Any, BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = _execute(line, namespace, target)
            error = None
        except Exception as e:  # noqa: BLE001 - compared with PyTorch's
            value, error = None, e
    runtime = (
        [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] if ours else []
    )
    return value, error, runtime


def _host(t: Any) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


def _torch_text(text: str) -> str:
    return text.replace("torch.", "gpugrad.")


def _compare_errors(theirs: BaseException, ours: BaseException) -> None:
    if type(theirs) is not type(ours):
        raise _Mismatch(
            "error-class",
            f"torch raised {type(theirs).__name__}: {theirs}\n"
            f"  gpugrad raised {type(ours).__name__}: {ours}",
        )
    expected = _torch_text(str(theirs)).split("\n")[0]
    if any(m in expected for m in COMPARED_MESSAGES) and str(ours).split("\n")[0] != expected:
        raise _Mismatch(
            "error-message", f"torch: {expected!r}\n  gpugrad: {str(ours).splitlines()[0]!r}"
        )


def _without_grad_fn(text: str) -> str:
    return re.sub(r",?\s*grad_fn=<\w+>", "", text)


def _unsigned_zeros(text: str) -> str:
    return re.sub(r"-(0\.0*)(?![0-9])", r" \1", text).replace(" ", "")


def compare_tensor_header(theirs: Any, ours: Any, where: str, requires_grad: bool = True) -> None:
    """Raise the mismatch where ``ours`` is not a tensor like PyTorch's ``theirs``: its type,
    shape, dtype and (``requires_grad``) whether it requires grad; the fuzzers share it."""
    if not isinstance(ours, gg.Tensor):
        raise _Mismatch("type", f"{where}: torch gives a Tensor, gpugrad {type(ours).__name__}")
    if tuple(theirs.shape) != tuple(ours.shape):
        raise _Mismatch(
            "shape", f"{where}: torch {tuple(theirs.shape)}, gpugrad {tuple(ours.shape)}"
        )
    if str(theirs.dtype).replace("torch.", "") != str(ours.dtype).replace("gpugrad.", ""):
        raise _Mismatch("dtype", f"{where}: torch {theirs.dtype}, gpugrad {ours.dtype}")
    if requires_grad and theirs.requires_grad != ours.requires_grad:
        raise _Mismatch(
            "requires_grad",
            f"{where}: torch {theirs.requires_grad}, gpugrad {ours.requires_grad}",
        )


def _compare_values(theirs: Any, ours: Any, where: str) -> None:
    if isinstance(theirs, torch.Tensor):
        compare_tensor_header(theirs, ours, where)
        a, b = _host(theirs), _host(ours)
        if a.dtype.kind == "f":
            # float64 results may carry float32 rounding from earlier steps
            tol = 2e-6 if a.dtype == np.float64 else 1e-4
            with np.errstate(all="ignore"):
                close = np.isclose(a, b, rtol=tol, atol=tol, equal_nan=True)
                # a result in float32 overflowing in one library but not the other is not
                # a bug of either: both are within rounding of the float32 limit
                big = (np.abs(a) > 1e38) | (np.abs(b) > 1e38)
            ok = close | big
        else:
            ok = a == b
        if not np.all(ok):
            raise _Mismatch("value", f"{where}: torch\n{a}\n  gpugrad\n{b}")
        if np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            expected = _torch_text(str(theirs))
            got = str(ours).replace(", device='cuda:0'", "")
            if got != expected:
                kind = "repr"
                if _without_grad_fn(got) == _without_grad_fn(expected):
                    kind = "grad_fn-name"
                elif _unsigned_zeros(got) == _unsigned_zeros(expected):
                    kind = "signed-zero"
                raise _Mismatch(kind, f"{where}: torch\n{expected}\n  gpugrad\n{got}")
        return
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)) or len(theirs) != len(ours):
            raise _Mismatch(
                "type",
                f"{where}: torch gives {type(theirs).__name__} of {len(theirs)}, "
                f"gpugrad {ours!r:.200}",
            )
        for i, (x, y) in enumerate(zip(theirs, ours)):
            _compare_values(x, y, f"{where}[{i}]")
        if hasattr(theirs, "_fields") and tuple(getattr(theirs, "_fields", ())) != tuple(
            getattr(ours, "_fields", ())
        ):
            raise _Mismatch(
                "type", f"{where}: fields {theirs._fields} vs {getattr(ours, '_fields', None)}"
            )
        return
    if isinstance(theirs, (bool, int, float)) or theirs is None:
        if type(theirs) is not type(ours) or not (
            theirs == ours or (theirs != theirs and ours != ours)
        ):
            raise _Mismatch("value", f"{where}: torch {theirs!r}, gpugrad {ours!r}")
        return
    raise _Mismatch("type", f"{where}: unexpected result type {type(theirs).__name__}")


def _tensors_of(value: Any) -> list[Any]:
    if isinstance(value, (torch.Tensor, gg.Tensor)):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_of(v)]
    return []


def run_program(
    seed: int, device: str = "cpu", steps: int = 12, hostile: bool = False
) -> Outcome | None:
    """Generate and run program ``seed``; the first mismatch, or ``None``."""
    gen = Generator(random.Random(seed), hostile)
    torch_ns: dict[str, Any] = {"L": torch, "dev": "cpu"}
    ours_ns: dict[str, Any] = {"L": gg, "dev": device}
    lines: list[str] = []
    leaves: list[str] = []
    try:
        for _ in range(steps):
            name = f"v{len(gen.pool)}"
            body = gen.leaf() if not gen.pool else gen.statement()
            if body is None:
                continue
            setup, _, last = body.rpartition("; ")
            line = f"{setup}; {name} = {last}" if setup else f"{name} = {last}"
            lines.append(line)
            theirs, their_error, _ = _run_side(line, torch_ns, name, ours=False)
            ours, our_error, runtime = _run_side(line, ours_ns, name, ours=True)
            if runtime:
                raise _Mismatch("RuntimeWarning", f"gpugrad warned: {runtime[0]}")
            if their_error is not None or our_error is not None:
                if their_error is None:
                    raise _Mismatch(
                        "error-extra", f"gpugrad raised {type(our_error).__name__}: {our_error}"
                    )
                if our_error is None:
                    kind = (
                        "error-missing-type"
                        if isinstance(their_error, TypeError)
                        else "error-missing"
                    )
                    raise _Mismatch(
                        kind, f"torch raised {type(their_error).__name__}: {their_error}"
                    )
                _compare_errors(their_error, our_error)
                lines[-1] = "# raises: " + line
                torch_ns.pop(name, None)
                ours_ns.pop(name, None)
                continue
            if isinstance(theirs, tuple) and TIES.search(line):
                # indices of tied values are unspecified: compare the values only
                theirs, ours = theirs[0], ours[0] if isinstance(ours, tuple) and ours else ours
            _compare_values(theirs, ours, name)
            tensors = _tensors_of(theirs)
            if not tensors:
                continue
            _compare_aliasing(name, tensors[0], _tensors_of(ours)[0], gen.pool, torch_ns, ours_ns)
            torch_ns[name], ours_ns[name] = theirs, ours
            first = tensors[0]
            if isinstance(theirs, (tuple, list)):
                # keep tuple results addressable as one tensor variable
                torch_ns[name], ours_ns[name] = first, _tensors_of(ours)[0]
                lines[-1] = f"{line}; {name} = {name}[0]"
            gen.pool.append(Var(name, first))
            if first.is_leaf and first.requires_grad:
                leaves.append(name)
        _compare_gradients(gen, torch_ns, ours_ns, leaves, lines)
    except _Mismatch as m:
        return Outcome(m.kind, m.detail, lines, seed)
    return None


def _compare_aliasing(
    name: str, theirs: Any, ours: Any, pool: list[Var], torch_ns: dict, ours_ns: dict
) -> None:
    """A result shares memory with an earlier variable exactly where PyTorch's does: a
    copy where PyTorch views loses writes through the view, a view where PyTorch copies
    lets a write to the result reach the input."""
    if theirs.numel() == 0:
        return
    for var in pool:
        a, b = torch_ns.get(var.name), ours_ns.get(var.name)
        if not isinstance(a, torch.Tensor) or a.numel() == 0 or a is theirs:
            continue
        torch_shares = _torch_bounds_overlap(a, theirs)
        raw = _raw(b), _raw(ours)
        our_shares = bool(np.may_share_memory(*raw))
        if torch_shares != our_shares:
            scalar = not all(isinstance(r, np.ndarray) for r in raw)
            raise _Mismatch(
                "aliasing-numpy-scalar" if scalar else "aliasing",
                f"{name} shares memory with {var.name}: torch {torch_shares}, gpugrad {our_shares}",
            )


def _torch_bounds_overlap(a: Any, b: Any) -> bool:
    """Whether the memory spans of ``a`` and ``b`` overlap (``np.may_share_memory``'s test)."""
    if a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr():
        return False

    def span(t: Any) -> tuple[int, int]:
        low = sum(min(0, (n - 1) * st) for n, st in zip(t.shape, t.stride()))
        high = sum(max(0, (n - 1) * st) for n, st in zip(t.shape, t.stride()))
        size = t.element_size()
        return t.data_ptr() + low * size, t.data_ptr() + (high + 1) * size

    (a0, a1), (b0, b1) = span(a), span(b)
    return a0 < b1 and b0 < a1


def _raw(t: Any) -> Any:
    data = t._data
    return data if isinstance(data, np.ndarray) else data.get() if hasattr(data, "get") else data


def _compare_gradients(
    gen: Generator, torch_ns: dict, ours_ns: dict, leaves: list[str], lines: list[str]
) -> None:
    outputs = [
        v.name
        for v in gen.pool
        if v.value.requires_grad
        and v.value.dtype == torch.float64
        and torch_ns.get(v.name) is v.value
    ]
    if not leaves or not outputs:
        return
    terms = " + ".join(f"({o} * {o}.detach().sin()).sum()" for o in outputs)
    line = f"({terms}).backward()"
    lines.append(line)
    _, their_error, _ = _run_side(line, torch_ns, "", ours=False)
    _, our_error, runtime = _run_side(line, ours_ns, "", ours=True)
    if runtime:
        raise _Mismatch("RuntimeWarning", f"gpugrad warned in backward: {runtime[0]}")
    if their_error is not None or our_error is not None:
        if their_error is None or our_error is None:
            raise _Mismatch("backward-error", f"torch: {their_error!r}\n  gpugrad: {our_error!r}")
        _compare_errors(their_error, our_error)
        return
    for leaf in leaves:
        a, b = torch_ns[leaf].grad, ours_ns[leaf].grad
        if (a is None) != (b is None):
            raise _Mismatch("grad", f"{leaf}.grad: torch {a}, gpugrad {b}")
        if a is not None:
            try:
                _compare_values(a, b, f"{leaf}.grad")
            except _Mismatch as m:
                kind = "grad-signed-zero" if m.kind == "signed-zero" else "grad"
                raise _Mismatch(kind, m.detail) from None


def registry_coverage() -> set[str]:
    """Registry op names that neither the generator's tables nor ``NOT_FUZZED`` mention."""
    import inspect

    source = inspect.getsource(Generator) + " ".join(
        (*UNARY, *BINARY, *REDUCTIONS, *CUMULATIVE, *TRANSFERS)
    )
    missing = set()
    for name, op in REGISTRY.items():
        if op.family == "nn" or name in NOT_FUZZED or name.startswith("__"):
            continue
        if name not in source:
            missing.add(name)
    return missing
