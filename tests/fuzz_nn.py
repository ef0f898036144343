"""Random ``nn.functional`` calls and ``nn`` modules run under PyTorch and gpugrad, compared.

Each case is one call, ``F.conv2d(x, w, b, stride=2, padding='same')`` or
``nn.GroupNorm(2, 4, dtype=L.float64)`` applied to ``x``, with random but mostly valid
hyper-parameters and float64 inputs (and integer targets) drawn from the case's seed. The
same NumPy arrays become the inputs of both runs (``L = torch`` on the CPU, ``L = gpugrad`` on
the device under test), and a module's parameters and buffers are copied from PyTorch's
freshly built module into gpugrad's (``load_state_dict``).

The two runs must agree on: the exception class raised and the first line of its text
(``torch.`` read as ``gpugrad.``); the result's type, shape, dtype, ``requires_grad`` and
values (NaN where NaN; float64 to ``TOLERANCE``); the inputs a call updates in place
(running statistics, ``max_norm`` renormalized embeddings); the gradients of every input and
parameter after backpropagating a fixed random cotangent. A NumPy ``RuntimeWarning``
reaching gpugrad's caller is a mismatch too.

A fraction of the cases (most of them with ``hostile=True``) is deliberately bad: wrong rank
or channel count, a kernel larger than the input, negative or oversized padding, targets of
the wrong dtype or shape, class indices out of range, empty batches, NaN and inf values.

``tests/test_fuzz_nn.py`` runs fixed seeds; ``scripts/fuzz_nn_vs_torch.py --seed S --count N``
explores more and prints each mismatch with its reproduction (``Outcome.format``).
"""

from __future__ import annotations

import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from fuzz_programs import _host, _Mismatch, compare_tensor_header

import gpugrad as gg

TOLERANCE = 1e-10
"""Relative and absolute tolerance of float64 values and gradients."""

FLOAT32_TOLERANCE = 1e-5


@dataclass
class Input:
    """One named input: its values (a NumPy array), whether it requires grad."""

    array: np.ndarray
    requires_grad: bool


@dataclass
class Case:
    """One generated call: ``call`` is an expression over ``F``, ``nn``, ``L`` and the inputs;
    ``module`` (if any) builds a module named ``m`` before the call."""

    seed: int
    function: str
    call: str
    inputs: dict[str, Input]
    module: str | None = None
    train: bool = True

    def format(self) -> str:
        lines = ["import numpy as np", "import torch as L  # or: import gpugrad as L"]
        lines.append("F, nn = L.nn.functional, L.nn")
        for name, spec in self.inputs.items():
            dtype = str(spec.array.dtype)
            values = (
                np.array2string(spec.array, separator=", ", threshold=10**9, floatmode="unique")
                .replace("nan", "float('nan')")
                .replace("inf", "float('inf')")
            )
            if spec.array.ndim == 0 or spec.array.size == 0:
                values = repr(spec.array.tolist())
                if spec.array.size == 0:
                    values = f"np.zeros({spec.array.shape})"
            lines.append(
                f"{name} = L.tensor(np.array({values}), dtype=L.{dtype}"
                + (", requires_grad=True)" if spec.requires_grad else ")")
            )
        if self.module:
            lines.append(f"m = {self.module}")
            if not self.train:
                lines.append("m.eval()")
        lines.append(f"out = {self.call}")
        return "\n".join(lines)


@dataclass
class Outcome:
    kind: str
    detail: str
    case: Case

    def format(self) -> str:
        return (
            f"[{self.kind}] seed {self.case.seed} {self.case.function}: {self.detail}\n"
            f"  {self.case.module + ' -> ' if self.case.module else ''}{self.case.call}\n"
            + "\n".join("    " + line for line in self.case.format().splitlines())
        )


# --- generating cases --------------------------------------------------------------------
@dataclass
class Gen:
    rng: random.Random
    hostile: bool
    inputs: dict[str, Input] = field(default_factory=dict)

    def int(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def pick(self, options: Any) -> Any:
        return self.rng.choice(list(options))

    def coin(self, p: float = 0.5) -> bool:
        return self.rng.random() < p

    def bad(self) -> bool:
        """Whether to spoil this case on purpose."""
        return self.coin(0.45 if self.hostile else 0.12)

    def tensor(
        self,
        name: str,
        shape: tuple[int, ...],
        requires_grad: bool = True,
        low: float = -2.0,
        high: float = 2.0,
    ) -> str:
        array = np.array(
            [self.rng.uniform(low, high) for _ in range(int(np.prod(shape, dtype=np.int64)))],
            dtype=np.float64,
        ).reshape(shape)
        if self.hostile and array.size and self.coin(0.25):
            flat = array.reshape(-1)
            for _ in range(self.int(1, 2)):
                flat[self.int(0, flat.size - 1)] = self.pick([np.nan, np.inf, -np.inf, 1e300])
        self.inputs[name] = Input(array, requires_grad)
        return name

    def ints(self, name: str, shape: tuple[int, ...], low: int, high: int) -> str:
        array = np.array(
            [self.int(low, high) for _ in range(int(np.prod(shape, dtype=np.int64)))],
            dtype=np.int64,
        ).reshape(shape)
        self.inputs[name] = Input(array, False)
        return name

    def retype(self, name: str, dtype: str) -> None:
        spec = self.inputs[name]
        with np.errstate(invalid="ignore"):  # NaN as an integer target: any value
            spec.array = spec.array.astype(dtype)
        spec.requires_grad = spec.requires_grad and dtype.startswith("float")


def _call(function: str, args: list[str], kwargs: dict[str, Any]) -> str:
    parts = list(args) + [f"{k}={_text(v)}" for k, v in kwargs.items()]
    return f"{function}({', '.join(parts)})"


class Raw(str):
    """Source text written as it is (a dtype, an expression), not quoted."""


def _text(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, float) and value != value:
        return "float('nan')"
    if isinstance(value, float) and abs(value) == float("inf"):
        return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)


def _maybe(g: Gen, kwargs: dict[str, Any], name: str, value: Any, p: float = 0.5) -> None:
    if g.coin(p):
        kwargs[name] = value


def _int_or_tuple(g: Gen, values: list[int]) -> Any:
    if len(set(values)) == 1 and g.coin(0.6):
        return values[0]
    return tuple(values)


def _spatial(g: Gen, dims: int, low: int, high: int) -> list[int]:
    return [g.int(low, high) for _ in range(dims)]


def _batch(g: Gen) -> int:
    return 0 if g.hostile and g.coin(0.1) else g.int(1, 3)


def _convolution(g: Gen, dims: int, module: bool) -> tuple[str, str | None]:
    groups = g.pick([1, 1, 1, 2, 3])
    c_in, c_out = groups * g.int(1, 2), groups * g.int(1, 2)
    kernel = _spatial(g, dims, 1, 3)
    stride = _spatial(g, dims, 1, 3) if g.coin(0.5) else [1] * dims
    dilation = _spatial(g, dims, 1, 2) if g.coin(0.3) else [1] * dims
    padding: Any = _spatial(g, dims, 0, 2) if g.coin(0.5) else [0] * dims
    if g.coin(0.25):
        padding = g.pick(["same", "valid"])
        if padding == "same" and not g.bad():
            stride = [1] * dims
    size = [(k - 1) * d + 1 + g.int(0, 4) for k, d in zip(kernel, dilation)]
    batch: tuple[int, ...] = (_batch(g),) if g.coin(0.85) else ()
    shape = (*batch, c_in, *size)
    weight_shape = (c_out, c_in // groups, *kernel)
    bias = g.coin(0.7)
    if g.bad():
        spoil = g.pick(["rank", "channels", "kernel", "padding", "stride", "groups"])
        if spoil == "rank":
            shape = shape[1:] if len(shape) > 2 else (2, *shape)
        elif spoil == "channels":
            shape = (*batch, c_in + 1, *size)
        elif spoil == "kernel":
            shape = (*batch, c_in, *[s // 2 for s in size])
        elif spoil == "padding":
            padding = [-1] * dims
        elif spoil == "stride":
            stride = [0] * dims
        else:
            groups += 1
    x = g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    padding_value = padding if isinstance(padding, str) else _int_or_tuple(g, padding)
    if module:
        name = "nn.Conv1d" if dims == 1 else "nn.Conv2d"
        mkw: dict[str, Any] = {"stride": _int_or_tuple(g, stride), "padding": padding_value}
        _maybe(g, mkw, "dilation", _int_or_tuple(g, dilation), 0.6)
        if groups != 1:
            mkw["groups"] = groups
        if not bias:
            mkw["bias"] = False
        if g.coin(0.2):
            mkw["padding_mode"] = g.pick(["reflect", "replicate", "circular", "zeros"])
        mkw["dtype"] = Raw("L.float64")
        return "m(x)", _call(name, [str(c_in), str(c_out), repr(_int_or_tuple(g, kernel))], mkw)
    w = g.tensor("w", weight_shape)
    args = [x, w]
    if bias:
        args.append(g.tensor("b", (c_out,)))
    elif g.coin(0.3):
        kwargs["bias"] = None
    _maybe(g, kwargs, "stride", _int_or_tuple(g, stride), 0.7 if stride != [1] * dims else 0.2)
    _maybe(g, kwargs, "padding", padding_value, 0.9 if padding != [0] * dims else 0.2)
    _maybe(g, kwargs, "dilation", _int_or_tuple(g, dilation), 0.9 if dilation[0] > 1 else 0.2)
    if groups != 1 or g.coin(0.1):
        kwargs["groups"] = groups
    return _call(f"F.conv{dims}d", args, kwargs), None


def _conv_transpose(g: Gen, module: bool) -> tuple[str, str | None]:
    groups = g.pick([1, 1, 2])
    c_in, c_out = groups * g.int(1, 2), groups * g.int(1, 2)
    kernel = _spatial(g, 2, 1, 3)
    stride = _spatial(g, 2, 1, 3)
    dilation = _spatial(g, 2, 1, 2) if g.coin(0.3) else [1, 1]
    padding = _spatial(g, 2, 0, 2)
    output_padding = [
        g.int(0, max(s, d) - 1) if g.coin(0.4) else 0 for s, d in zip(stride, dilation)
    ]
    size = _spatial(g, 2, 1, 4)
    batch: tuple[int, ...] = (_batch(g),) if g.coin(0.85) else ()
    shape = (*batch, c_in, *size)
    if g.bad():
        spoil = g.pick(["rank", "channels", "output_padding", "padding"])
        if spoil == "rank":
            shape = (2, *shape)
        elif spoil == "channels":
            shape = (*batch, c_in + 1, *size)
        elif spoil == "output_padding":
            output_padding = [s + d for s, d in zip(stride, dilation)]
        else:
            padding = [p + 5 for p in padding]
    x = g.tensor("x", shape)
    kwargs: dict[str, Any] = {
        "stride": _int_or_tuple(g, stride),
        "padding": _int_or_tuple(g, padding),
    }
    if any(output_padding):
        kwargs["output_padding"] = _int_or_tuple(g, output_padding)
    if groups != 1:
        kwargs["groups"] = groups
    _maybe(g, kwargs, "dilation", _int_or_tuple(g, dilation), 0.9 if dilation[0] > 1 else 0.2)
    bias = g.coin(0.7)
    if module:
        if not bias:
            kwargs["bias"] = False
        kwargs["dtype"] = Raw("L.float64")
        kernel_text = repr(_int_or_tuple(g, kernel))
        return "m(x)", _call("nn.ConvTranspose2d", [str(c_in), str(c_out), kernel_text], kwargs)
    w = g.tensor("w", (c_in, c_out // groups, *kernel))
    args = [x, w]
    if bias:
        args.append(g.tensor("b", (c_out,)))
    return _call("F.conv_transpose2d", args, kwargs), None


def _max_pool(g: Gen, dims: int, module: bool) -> tuple[str, str | None]:
    kernel = _spatial(g, dims, 1, 3)
    stride = _spatial(g, dims, 1, 3) if g.coin(0.6) else None
    padding = [g.int(0, k // 2) for k in kernel]
    dilation = _spatial(g, dims, 1, 2) if g.coin(0.3) else [1] * dims
    size = [(k - 1) * d + 1 + g.int(0, 4) for k, d in zip(kernel, dilation)]
    batch: tuple[int, ...] = (_batch(g),) if g.coin(0.8) else ()
    shape = (*batch, g.int(1, 3), *size)
    if g.bad():
        spoil = g.pick(["rank", "padding", "kernel", "zero"])
        if spoil == "rank":
            shape = (2, *shape)
        elif spoil == "padding":
            padding = [k // 2 + 1 for k in kernel]
        elif spoil == "kernel":
            shape = (*shape[:-dims], *[1] * dims)
        else:
            kernel = [0] * dims
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    if stride is not None:
        kwargs["stride"] = _int_or_tuple(g, stride)
    _maybe(g, kwargs, "padding", _int_or_tuple(g, padding), 0.9 if any(padding) else 0.2)
    _maybe(g, kwargs, "dilation", _int_or_tuple(g, dilation), 0.9 if dilation[0] > 1 else 0.2)
    _maybe(g, kwargs, "ceil_mode", g.coin(), 0.5)
    _maybe(g, kwargs, "return_indices", g.coin(), 0.4)
    kernel_text = repr(_int_or_tuple(g, kernel))
    if module:
        return "m(x)", _call(f"nn.MaxPool{dims}d", [kernel_text], kwargs)
    return _call(f"F.max_pool{dims}d", ["x", kernel_text], kwargs), None


def _avg_pool(g: Gen, module: bool) -> tuple[str, str | None]:
    kernel = _spatial(g, 2, 1, 3)
    stride = _spatial(g, 2, 1, 3) if g.coin(0.6) else None
    padding = [g.int(0, k // 2) for k in kernel]
    size = [k + g.int(0, 4) for k in kernel]
    batch: tuple[int, ...] = (_batch(g),) if g.coin(0.8) else ()
    shape = (*batch, g.int(1, 3), *size)
    divisor = g.pick([None, None, 1, 2, 5])
    if g.bad():
        spoil = g.pick(["rank", "padding", "divisor", "kernel"])
        if spoil == "rank":
            shape = shape[-2:]
        elif spoil == "padding":
            padding = [k // 2 + 1 for k in kernel]
        elif spoil == "divisor":
            divisor = 0
        else:
            shape = (*shape[:-2], 1, 1)
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    if stride is not None:
        kwargs["stride"] = _int_or_tuple(g, stride)
    _maybe(g, kwargs, "padding", _int_or_tuple(g, padding), 0.9 if any(padding) else 0.2)
    _maybe(g, kwargs, "ceil_mode", g.coin())
    _maybe(g, kwargs, "count_include_pad", g.coin())
    if divisor is not None:
        kwargs["divisor_override"] = divisor
    kernel_text = repr(_int_or_tuple(g, kernel))
    if module:
        return "m(x)", _call("nn.AvgPool2d", [kernel_text], kwargs)
    return _call("F.avg_pool2d", ["x", kernel_text], kwargs), None


def _adaptive_avg_pool(g: Gen, module: bool) -> tuple[str, str | None]:
    size = _spatial(g, 2, 1, 7)
    batch: tuple[int, ...] = (_batch(g),) if g.coin(0.8) else ()
    shape = (*batch, g.int(1, 3), *size)
    output: Any = g.pick(
        [g.int(1, 4), (g.int(1, 5), g.int(1, 5)), (None, g.int(1, 3)), (g.int(1, 3), None)]
    )
    if g.bad():
        spoil = g.pick(["rank", "zero", "size"])
        if spoil == "rank":
            shape = shape[-1:]
        elif spoil == "zero":
            output = 0
        else:
            shape = (*shape[:-2], 0, size[1])
    g.tensor("x", shape)
    if module:
        return "m(x)", _call("nn.AdaptiveAvgPool2d", [repr(output)], {})
    return _call("F.adaptive_avg_pool2d", ["x", repr(output)], {}), None


def _batch_norm(g: Gen, module: bool) -> tuple[str, str | None]:
    channels = g.int(1, 3)
    dims = g.pick([0, 1, 2]) if not module else g.pick([0, 1, 2])
    n = g.int(1, 3)
    shape = (n, channels, *_spatial(g, dims, 1, 3))
    training = g.coin(0.6)
    if training and int(np.prod(shape)) // channels == 1 and not g.bad():
        shape = (2, *shape[1:])
    if g.bad():
        spoil = g.pick(["channels", "rank", "empty"])
        if spoil == "channels":
            shape = (n, channels + 1, *shape[2:])
        elif spoil == "rank":
            shape = (channels,)
        else:
            shape = (0, *shape[1:])
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    if module:
        name = "nn.BatchNorm2d" if len(shape) == 4 or dims == 2 else "nn.BatchNorm1d"
        _maybe(g, kwargs, "momentum", g.pick([0.1, 0.5, None]), 0.3)
        _maybe(g, kwargs, "eps", g.pick([1e-5, 1e-3]), 0.2)
        _maybe(g, kwargs, "affine", g.coin(), 0.3)
        _maybe(g, kwargs, "track_running_stats", g.coin(), 0.3)
        kwargs["dtype"] = Raw("L.float64")
        return "m(x)", _call(name, [str(channels)], kwargs)
    running = g.coin(0.8) or not training
    args = ["x"]
    if running:
        args.append(g.tensor("running_mean", (channels,), False, -1.0, 1.0))
        args.append(g.tensor("running_var", (channels,), False, 0.5, 2.0))
    else:
        args += ["None", "None"]
    if g.coin(0.7):
        kwargs["weight"] = Raw(g.tensor("weight", (channels,)))
    if g.coin(0.7):
        kwargs["bias"] = Raw(g.tensor("bias", (channels,)))
    kwargs["training"] = training
    _maybe(g, kwargs, "momentum", g.pick([0.1, 0.5, 1.0]), 0.4)
    _maybe(g, kwargs, "eps", g.pick([1e-5, 1e-3, 0.1]), 0.4)
    return _call("F.batch_norm", args, kwargs), None


def _layer_norm(g: Gen, module: bool, rms: bool) -> tuple[str, str | None]:
    shape = tuple(_spatial(g, g.int(1, 4), 1, 4))
    k = g.int(1, len(shape))
    normalized = shape[-k:]
    if g.bad():
        spoil = g.pick(["shape", "long"])
        normalized = (*normalized[:-1], normalized[-1] + 1) if spoil == "shape" else (2, *shape)
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    shape_text = repr(normalized[0] if len(normalized) == 1 and g.coin() else list(normalized))
    affine = g.coin(0.7)
    eps = g.pick([1e-5, 1e-3, 0.5]) if g.coin(0.4) else None
    if module:
        name = "nn.RMSNorm" if rms else "nn.LayerNorm"
        if eps is not None or (rms and g.coin(0.2)):
            kwargs["eps"] = eps
        if not affine:
            kwargs["elementwise_affine"] = False
        elif not rms and g.coin(0.2):
            kwargs["bias"] = False
        kwargs["dtype"] = Raw("L.float64")
        return "m(x)", _call(name, [shape_text], kwargs)
    if affine:
        kwargs["weight"] = Raw(g.tensor("weight", tuple(normalized)))
        if not rms and g.coin(0.7):
            kwargs["bias"] = Raw(g.tensor("bias", tuple(normalized)))
    if eps is not None or rms:
        kwargs["eps"] = eps if eps is not None else 1e-5
        if rms and g.coin(0.3):
            kwargs["eps"] = None
    return _call("F.rms_norm" if rms else "F.layer_norm", ["x", shape_text], kwargs), None


def _group_norm(g: Gen, module: bool) -> tuple[str, str | None]:
    groups = g.int(1, 3)
    channels = groups * g.int(1, 2)
    shape = (g.int(1, 3), channels, *_spatial(g, g.int(0, 2), 1, 3))
    if g.bad():
        groups = channels + 1 if g.coin() else groups
        if g.coin():
            shape = (channels,)
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    _maybe(g, kwargs, "eps", g.pick([1e-5, 0.1]), 0.3)
    if module:
        _maybe(g, kwargs, "affine", g.coin(), 0.3)
        kwargs["dtype"] = Raw("L.float64")
        return "m(x)", _call("nn.GroupNorm", [str(groups), str(channels)], kwargs)
    if g.coin(0.7):
        kwargs["weight"] = Raw(g.tensor("weight", (channels,)))
    if g.coin(0.7):
        kwargs["bias"] = Raw(g.tensor("bias", (channels,)))
    return _call("F.group_norm", ["x", str(groups)], kwargs), None


def _embedding(g: Gen, module: bool) -> tuple[str, str | None]:
    vocab, dim = g.int(1, 6), g.int(1, 4)
    shape = tuple(_spatial(g, g.int(0, 2), 0 if g.hostile else 1, 3))
    high = vocab - 1
    if g.bad():
        high = vocab + 2 if g.coin() else high
    low = -2 if g.bad() else 0
    g.ints("idx", shape, low, high)
    if g.bad() and g.coin(0.5):
        g.retype("idx", g.pick(["float64", "int32"]))
    kwargs: dict[str, Any] = {}
    if g.coin(0.4):
        kwargs["padding_idx"] = g.int(-vocab, vocab - 1) if not g.bad() else vocab
    if g.coin(0.3):
        kwargs["max_norm"] = g.pick([0.5, 1.0, 2.0])
        _maybe(g, kwargs, "norm_type", g.pick([1.0, 2.0, 3.0]), 0.4)
    _maybe(g, kwargs, "scale_grad_by_freq", g.coin(), 0.2)
    if module:
        kwargs["dtype"] = Raw("L.float64")
        return "m(idx)", _call("nn.Embedding", [str(vocab), str(dim)], kwargs)
    g.tensor("w", (vocab, dim))
    return _call("F.embedding", ["idx", "w"], kwargs), None


def _one_hot(g: Gen, module: bool) -> tuple[str, str | None]:
    classes = g.int(1, 5)
    shape = tuple(_spatial(g, g.int(0, 2), 0 if g.hostile else 1, 3))
    g.ints("idx", shape, -1 if g.bad() else 0, classes - 1)
    if g.bad() and g.coin(0.4):
        g.retype("idx", g.pick(["float64", "int32", "bool"]))
    num = g.pick([-1, classes, classes + 2, max(classes - 2, 0) if g.bad() else classes])
    args = ["idx"] + ([str(num)] if num != -1 or g.coin() else [])
    return _call("F.one_hot", args, {}), None


def _pad(g: Gen, module: bool) -> tuple[str, str | None]:
    mode = g.pick(["constant", "constant", "reflect", "replicate", "circular"])
    rank = g.int(1, 4) if mode == "constant" else g.int(2, 4)
    shape = tuple(_spatial(g, rank, 1, 4))
    padded = g.int(1, min(rank if mode == "constant" else rank - 1, 3))
    pads: list[int] = []
    for d in range(padded):
        size = shape[-1 - d]
        for _ in range(2):
            if mode == "constant":
                pads.append(g.int(-1 if size > 1 else 0, 2))
            elif mode == "reflect":
                pads.append(g.int(0, size - 1))
            elif mode == "circular":
                pads.append(g.int(0, size))
            else:
                pads.append(g.int(0, 3))
    if g.bad():
        spoil = g.pick(["odd", "large", "negative", "long"])
        if spoil == "odd":
            pads = pads[:-1] or [1]
        elif spoil == "large":
            pads[0] = shape[-1] + 2
        elif spoil == "negative":
            pads[0] = -shape[-1] - 1
        else:
            pads = pads + [1] * (2 * rank + 2 - len(pads))
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    if mode != "constant" or g.coin(0.3):
        kwargs["mode"] = mode
    if mode == "constant" and g.coin(0.5):
        kwargs["value"] = g.pick([0.0, 1.5, -2.0])
    pads_text = repr(tuple(pads) if g.coin() else pads)
    return _call("F.pad", ["x", pads_text], kwargs), None


def _distance(g: Gen, module: bool) -> tuple[str, str | None]:
    function = g.pick(["normalize", "cosine_similarity", "pairwise_distance"])
    shape = tuple(_spatial(g, g.int(1, 3), 1, 4))
    kwargs: dict[str, Any] = {}
    if function == "normalize":
        g.tensor("x", shape)
        _maybe(g, kwargs, "p", g.pick([1.0, 2.0, 3.0, float("inf")]), 0.5)
        _maybe(g, kwargs, "dim", g.int(-len(shape), len(shape) - (0 if g.bad() else 1)), 0.7)
        _maybe(g, kwargs, "eps", g.pick([1e-12, 0.1]), 0.2)
        return _call("F.normalize", ["x"], kwargs), None
    other = list(shape)
    if g.coin(0.3):
        other[g.int(0, len(other) - 1)] = 1
    if g.bad():
        other[-1] += 1
    g.tensor("x1", shape)
    g.tensor("x2", tuple(other))
    if function == "cosine_similarity":
        _maybe(g, kwargs, "dim", g.int(-len(shape), len(shape) - 1), 0.7)
        _maybe(g, kwargs, "eps", g.pick([1e-8, 0.5]), 0.3)
    else:
        _maybe(g, kwargs, "p", g.pick([1.0, 2.0, 3.0, 0.5]), 0.5)
        _maybe(g, kwargs, "eps", g.pick([1e-6, 0.1]), 0.3)
        _maybe(g, kwargs, "keepdim", g.coin(), 0.4)
    return _call(f"F.{function}", ["x1", "x2"], kwargs), None


def _softmax(g: Gen, module: bool) -> tuple[str, str | None]:
    function = g.pick(["softmax", "log_softmax"])
    shape = tuple(_spatial(g, g.int(0, 3), 1 if not g.hostile else 0, 4))
    g.tensor("x", shape, low=-5.0, high=5.0)
    rank = max(len(shape), 1)
    dim = g.int(-rank, rank - 1) if not g.bad() else rank
    kwargs: dict[str, Any] = {}
    if module:
        name = "nn.Softmax" if function == "softmax" else "nn.LogSoftmax"
        return "m(x)", _call(name, [], {"dim": dim})
    if g.coin(0.3):
        kwargs["dtype"] = Raw(g.pick(["L.float32", "L.float64"]))
    return _call(f"F.{function}", ["x", str(dim)], kwargs), None


ACTIVATIONS: dict[str, Callable[[Gen], dict[str, Any]]] = {
    "relu": lambda g: {},
    "sigmoid": lambda g: {},
    "tanh": lambda g: {},
    "silu": lambda g: {},
    "mish": lambda g: {},
    "leaky_relu": lambda g: {"negative_slope": g.pick([0.01, 0.2, -0.5, 0.0])},
    "elu": lambda g: {"alpha": g.pick([1.0, 0.5, 2.0])},
    "gelu": lambda g: {"approximate": g.pick(["none", "tanh"] + (["bad"] if g.bad() else []))},
    "hardtanh": lambda g: {
        "min_val": g.pick([-1.0, -0.5, -2.0]),
        "max_val": g.pick([1.0, 0.5, 2.0] + ([-3.0] if g.bad() else [])),
    },
    "softplus": lambda g: {"beta": g.pick([1.0, 0.5, 2.0]), "threshold": g.pick([20.0, 1.0, 0.5])},
    "dropout": lambda g: {
        "p": g.pick([0.0, 0.5, 1.0] + ([1.5] if g.bad() else [])),
        "training": False,
    },
}

ACTIVATION_MODULES = {
    "relu": "nn.ReLU",
    "sigmoid": "nn.Sigmoid",
    "tanh": "nn.Tanh",
    "silu": "nn.SiLU",
    "mish": "nn.Mish",
    "leaky_relu": "nn.LeakyReLU",
    "elu": "nn.ELU",
    "gelu": "nn.GELU",
    "hardtanh": "nn.Hardtanh",
    "softplus": "nn.Softplus",
    "dropout": "nn.Dropout",
}


def _activation(g: Gen, module: bool) -> tuple[str, str | None]:
    function = g.pick(ACTIVATIONS)
    shape = tuple(_spatial(g, g.int(0, 3), 0 if g.hostile else 1, 4))
    g.tensor("x", shape, low=-4.0, high=4.0)
    kwargs = {
        k: v
        for k, v in ACTIVATIONS[function](g).items()
        if g.coin(0.7) or k == "training"  # dropout in evaluation only: deterministic
    }
    if module:
        kwargs.pop("training", None)
        return "m(x)", _call(ACTIVATION_MODULES[function], [], kwargs)
    return _call(f"F.{function}", ["x"], kwargs), None


def _interpolate(g: Gen, module: bool) -> tuple[str, str | None]:
    dims = g.pick([1, 2])
    mode = g.pick(["nearest", "linear" if dims == 1 else "bilinear"])
    if g.bad():
        mode = g.pick(["bilinear" if dims == 1 else "linear", "cubic"])
    size = _spatial(g, dims, 1, 5)
    g.tensor("x", (g.int(1, 2), g.int(1, 2), *size))
    kwargs: dict[str, Any] = {}
    if g.coin():
        out = _spatial(g, dims, 1, 7)
        kwargs["size"] = out[0] if dims == 1 or (g.coin() and len(set(out)) == 1) else tuple(out)
    else:
        scales = [g.pick([0.5, 1.0, 1.5, 2.0, 3.0, 0.7]) for _ in range(dims)]
        kwargs["scale_factor"] = scales[0] if g.coin() else tuple(scales)
        _maybe(g, kwargs, "recompute_scale_factor", g.coin(), 0.3)
    if g.bad() and g.coin():
        kwargs["size"], kwargs["scale_factor"] = 2, 2.0
    kwargs["mode"] = mode
    if mode != "nearest" and g.coin(0.6):
        kwargs["align_corners"] = g.coin()
    return _call("F.interpolate", ["x"], kwargs), None


def _unfold(g: Gen, module: bool) -> tuple[str, str | None]:
    kernel = _spatial(g, 2, 1, 3)
    dilation = _spatial(g, 2, 1, 2) if g.coin(0.3) else [1, 1]
    padding = _spatial(g, 2, 0, 1) if g.coin(0.4) else [0, 0]
    stride = _spatial(g, 2, 1, 2) if g.coin(0.4) else [1, 1]
    size = [(k - 1) * d + 1 + g.int(0, 3) for k, d in zip(kernel, dilation)]
    batch: tuple[int, ...] = (g.int(1, 2),) if g.coin(0.8) else ()
    shape = (*batch, g.int(1, 2), *size)
    if g.bad():
        spoil = g.pick(["kernel", "rank"])
        shape = (*shape[:-2], 1, 1) if spoil == "kernel" else shape[-2:]
    g.tensor("x", shape)
    kwargs: dict[str, Any] = {}
    _maybe(g, kwargs, "dilation", _int_or_tuple(g, dilation), 0.9 if dilation != [1, 1] else 0.2)
    _maybe(g, kwargs, "padding", _int_or_tuple(g, padding), 0.9 if any(padding) else 0.2)
    _maybe(g, kwargs, "stride", _int_or_tuple(g, stride), 0.9 if stride != [1, 1] else 0.2)
    return _call("F.unfold", ["x", repr(_int_or_tuple(g, kernel))], kwargs), None


REDUCTION = ("mean", "sum", "none")

LOSS_MODULES = {
    "mse_loss": "nn.MSELoss",
    "l1_loss": "nn.L1Loss",
    "smooth_l1_loss": "nn.SmoothL1Loss",
    "huber_loss": "nn.HuberLoss",
    "cross_entropy": "nn.CrossEntropyLoss",
    "nll_loss": "nn.NLLLoss",
    "kl_div": "nn.KLDivLoss",
    "binary_cross_entropy": "nn.BCELoss",
    "binary_cross_entropy_with_logits": "nn.BCEWithLogitsLoss",
    "cosine_embedding_loss": "nn.CosineEmbeddingLoss",
}

MODULE_TENSOR_KEYWORDS = ("weight", "pos_weight")


def _regression_loss(g: Gen, function: str, kwargs: dict[str, Any]) -> list[str]:
    shape = tuple(_spatial(g, g.int(0, 3), 0 if g.hostile else 1, 3))
    target = shape
    if g.bad():
        target = (*shape, 2) if g.coin() else (1, *shape)
    g.tensor("input", shape)
    g.tensor("target", target, requires_grad=g.coin(0.3))
    if g.bad() and g.coin(0.3):
        g.retype("target", "int64")
    if function == "smooth_l1_loss":
        _maybe(g, kwargs, "beta", g.pick([1.0, 0.5, 0.0, 2.0] + ([-1.0] if g.bad() else [])))
    if function == "huber_loss":
        _maybe(g, kwargs, "delta", g.pick([1.0, 0.5, 2.0] + ([0.0] if g.bad() else [])))
    return ["input", "target"]


def _classification_loss(g: Gen, function: str, kwargs: dict[str, Any]) -> list[str]:
    classes = g.int(1, 4)
    n = _batch(g) if g.coin(0.85) else None
    extra = tuple(_spatial(g, g.int(0, 2), 1, 3)) if n is not None and g.coin(0.3) else ()
    shape = (classes,) if n is None else (n, classes, *extra)
    target_shape = () if n is None else (n, *extra)
    g.tensor("input", shape, low=-3.0, high=3.0)
    probabilities = function == "cross_entropy" and g.coin(0.3)
    if probabilities:
        g.tensor("target", shape, requires_grad=False, low=0.0, high=1.0)
    else:
        high = classes - 1 + (2 if g.bad() else 0)
        g.ints("target", target_shape, -1 if g.bad() else 0, high)
        if g.bad():
            spoil = g.pick(["dtype", "shape"])
            if spoil == "dtype":
                g.retype("target", g.pick(["float64", "int32"]))
            else:
                g.ints("target", (*target_shape, 2), 0, classes - 1)
    if g.coin(0.3):
        kwargs["weight"] = Raw(g.tensor("weight", (classes + (1 if g.bad() else 0),), False, 0.1))
    if not probabilities and g.coin(0.4):
        kwargs["ignore_index"] = g.pick([-100, 0, classes - 1, -1])
    if function == "cross_entropy" and g.coin(0.4):
        kwargs["label_smoothing"] = g.pick([0.0, 0.1, 0.5, 1.0] + ([1.5] if g.bad() else []))
    return ["input", "target"]


def _loss(g: Gen, module: bool) -> tuple[str, str | None]:
    function = g.pick(LOSS_MODULES)
    kwargs: dict[str, Any] = {}
    if function in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        args = _regression_loss(g, function, kwargs)
    elif function in ("cross_entropy", "nll_loss"):
        args = _classification_loss(g, function, kwargs)
    elif function == "kl_div":
        shape = tuple(_spatial(g, g.int(1, 3), 1, 3))
        g.tensor("input", shape, low=-3.0, high=0.0)
        log_target = g.coin()
        g.tensor("target", shape, g.coin(0.3), *((-3.0, 0.0) if log_target else (0.0, 1.0)))
        if log_target or g.coin(0.2):
            kwargs["log_target"] = log_target
        args = ["input", "target"]
    elif function.startswith("binary_cross_entropy"):
        shape = tuple(_spatial(g, g.int(0, 3), 0 if g.hostile else 1, 3))
        logits = function.endswith("logits")
        bad_range = not logits and g.bad()
        g.tensor(
            "input", shape, low=-3.0 if logits or bad_range else 0.01, high=3.0 if logits else 0.99
        )
        g.tensor("target", shape, g.coin(0.2), 0.0, 1.0)
        if g.bad():
            g.tensor("target", (*shape, 2), False, 0.0, 1.0)
        if g.coin(0.3):
            kwargs["weight"] = Raw(g.tensor("weight", shape[-1:] if shape else (), False, 0.1))
        if logits and g.coin(0.3):
            kwargs["pos_weight"] = Raw(
                g.tensor("pos_weight", shape[-1:] if shape else (), False, 0.1)
            )
        args = ["input", "target"]
    else:  # cosine_embedding_loss
        n, d = g.int(1, 3), g.int(1, 4)
        unbatched = g.coin(0.2)
        g.tensor("x1", (d,) if unbatched else (n, d))
        g.tensor("x2", (d,) if unbatched else (n, d + (1 if g.bad() else 0)))
        g.ints("y", () if unbatched else (n,), 0, 1)
        g.inputs["y"].array = g.inputs["y"].array * 2 - 1
        _maybe(g, kwargs, "margin", g.pick([0.0, 0.3, -0.2]), 0.4)
        args = ["x1", "x2", "y"]
    reductions = list(REDUCTION) + (["batchmean"] if function == "kl_div" else [])
    if g.bad():
        reductions.append("avg")
    _maybe(g, kwargs, "reduction", g.pick(reductions), 0.6)
    if module:
        tensors = {k: kwargs.pop(k) for k in MODULE_TENSOR_KEYWORDS if k in kwargs}
        mkw = {**{k: Raw(v) for k, v in tensors.items()}, **kwargs}
        return f"m({', '.join(args)})", _call(LOSS_MODULES[function], [], mkw)
    return _call(f"F.{function}", args, kwargs), None


def _linear(g: Gen, module: bool) -> tuple[str, str | None]:
    n_in, n_out = g.int(1, 4), g.int(1, 4)
    shape = (*_spatial(g, g.int(0, 2), 1, 3), n_in + (1 if g.bad() else 0))
    g.tensor("x", shape)
    bias = g.coin(0.7)
    if module:
        kwargs: dict[str, Any] = {} if bias else {"bias": False}
        kwargs["dtype"] = Raw("L.float64")
        return "m(x)", _call("nn.Linear", [str(n_in), str(n_out)], kwargs)
    args = ["x", g.tensor("w", (n_out, n_in))]
    if bias:
        args.append(g.tensor("b", (n_out,)))
    return _call("F.linear", args, {}), None


FAMILIES: dict[str, tuple[Callable[[Gen, bool], tuple[str, str | None]], bool]] = {
    # name: (generator, whether it also has a module form)
    "conv1d": (lambda g, m: _convolution(g, 1, m), True),
    "conv2d": (lambda g, m: _convolution(g, 2, m), True),
    "conv_transpose2d": (_conv_transpose, True),
    "max_pool1d": (lambda g, m: _max_pool(g, 1, m), True),
    "max_pool2d": (lambda g, m: _max_pool(g, 2, m), True),
    "avg_pool2d": (_avg_pool, True),
    "adaptive_avg_pool2d": (_adaptive_avg_pool, True),
    "batch_norm": (_batch_norm, True),
    "layer_norm": (lambda g, m: _layer_norm(g, m, rms=False), True),
    "rms_norm": (lambda g, m: _layer_norm(g, m, rms=True), True),
    "group_norm": (_group_norm, True),
    "embedding": (_embedding, True),
    "one_hot": (_one_hot, False),
    "pad": (_pad, False),
    "distance": (_distance, False),
    "softmax": (_softmax, True),
    "activation": (_activation, True),
    "interpolate": (_interpolate, False),
    "unfold": (_unfold, False),
    "loss": (_loss, True),
    "linear": (_linear, True),
}


def generate(seed: int, hostile: bool = False, family: str | None = None) -> Case:
    """Case ``seed``: deterministic given the seed, the hostility and the family."""
    rng = random.Random(seed * 2 + int(hostile))
    g = Gen(rng, hostile)
    name = family or g.pick(sorted(FAMILIES))
    make, has_module = FAMILIES[name]
    module_form = has_module and g.coin(0.3)
    call, module = make(g, module_form)
    function = name
    match = re.match(r"(?:F\.|nn\.)(\w+)", module or call)
    if match:
        function = match.group(1)
    return Case(seed, function, call, g.inputs, module, train=not (module and g.coin(0.3)))


# --- running and comparing ---------------------------------------------------------------
def _namespace(lib: Any, case: Case, device: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"L": lib, "F": lib.nn.functional, "nn": lib.nn}
    for name, spec in case.inputs.items():
        t = torch.tensor(spec.array) if lib is torch else gg.tensor(spec.array, device=device)
        if spec.requires_grad:
            t.requires_grad_(True)
        namespace[name] = t
    return namespace


def _run(
    case: Case, namespace: dict[str, Any], device: str, initial_state: dict | None = None
) -> tuple[Any, BaseException | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if case.module is not None:
                module = eval(case.module, namespace)  # noqa: S307 - generated text
                if initial_state is None:
                    namespace["initial_state"] = {
                        k: v.detach().numpy().copy() for k, v in module.state_dict().items()
                    }
                else:
                    state = {k: gg.tensor(v, device=device) for k, v in initial_state.items()}
                    module.load_state_dict(state)
                if not case.train:
                    module.eval()
                namespace["m"] = module
            value = eval(case.call, namespace)  # noqa: S307 - generated text
            error = None
        except Exception as e:  # noqa: BLE001 - compared with PyTorch's
            value, error = None, e
    runtime = (
        [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        if namespace["L"] is gg
        else []
    )
    return value, error, runtime


def _first_line(error: BaseException) -> str:
    text = str(error).strip().split("\n")[0]
    return text.replace("torch.", "gpugrad.").strip()


def _compare_errors(theirs: BaseException, ours: BaseException) -> None:
    if type(theirs) is not type(ours):
        raise _Mismatch(
            "error-class",
            f"torch raised {type(theirs).__name__}: {_first_line(theirs)}\n"
            f"  gpugrad raised {type(ours).__name__}: {_first_line(ours)}",
        )
    if _first_line(theirs) != _first_line(ours):
        raise _Mismatch(
            "error-message", f"torch: {_first_line(theirs)!r}\n  gpugrad: {_first_line(ours)!r}"
        )


def _compare_values(
    theirs: Any, ours: Any, where: str, grad: bool = True, loose: bool = False
) -> None:
    """``loose``: float64 values computed through a float32 result (``dtype=``)."""
    if isinstance(theirs, torch.Tensor):
        compare_tensor_header(theirs, ours, where, requires_grad=grad)
        a, b = _host(theirs), _host(ours)
        if a.dtype.kind == "f":
            tol = TOLERANCE if a.dtype == np.float64 and not loose else FLOAT32_TOLERANCE
            with np.errstate(all="ignore"):
                ok = np.isclose(a, b, rtol=tol, atol=tol, equal_nan=True)
        else:
            ok = a == b
        if not np.all(ok):
            with np.errstate(all="ignore"):
                diff = np.abs(a - b)[~(np.isnan(a) & np.isnan(b))] if a.dtype.kind == "f" else None
                worst = diff.max() if diff is not None and diff.size else "-"
            raise _Mismatch(
                "value",
                f"{where}: max |diff| {worst}; torch\n{a}\n  gpugrad\n{b}",
            )
        return
    if isinstance(theirs, (tuple, list)):
        if not isinstance(ours, (tuple, list)) or len(theirs) != len(ours):
            raise _Mismatch(
                "type",
                f"{where}: torch gives {type(theirs).__name__} of {len(theirs)}, "
                f"gpugrad {type(ours).__name__}",
            )
        for i, (x, y) in enumerate(zip(theirs, ours)):
            _compare_values(x, y, f"{where}[{i}]", grad, loose)
        return
    if type(theirs) is not type(ours) or theirs != ours:
        raise _Mismatch("value", f"{where}: torch {theirs!r}, gpugrad {ours!r}")


def _tensors_of(value: Any) -> list[Any]:
    if isinstance(value, (torch.Tensor, gg.Tensor)):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_of(v)]
    return []


def _leaves(namespace: dict[str, Any]) -> dict[str, Any]:
    found = {
        name: t
        for name, t in namespace.items()
        if isinstance(t, (torch.Tensor, gg.Tensor)) and t.requires_grad
    }
    module = namespace.get("m")
    if module is not None:
        for name, p in module.named_parameters():
            found[f"m.{name}"] = p
    return found


def _buffers(namespace: dict[str, Any], case: Case) -> dict[str, Any]:
    """What a call may update in place: its inputs and the module's buffers/parameters."""
    found = {name: namespace[name] for name in case.inputs}
    module = namespace.get("m")
    if module is not None:
        for name, t in module.state_dict().items():
            found[f"m.{name}"] = t
    return found


def run_case(case: Case, device: str = "cpu") -> Outcome | None:
    """Run ``case`` under both libraries; the first mismatch, or ``None``."""
    theirs_ns = _namespace(torch, case, "cpu")
    ours_ns = _namespace(gg, case, device)
    try:
        theirs, their_error, _ = _run(case, theirs_ns, "cpu")
        ours, our_error, runtime = _run(case, ours_ns, device, theirs_ns.get("initial_state", {}))
        if runtime:
            raise _Mismatch("RuntimeWarning", f"gpugrad warned: {runtime[0]}")
        if their_error is not None or our_error is not None:
            if their_error is None:
                raise _Mismatch(
                    "error-extra", f"gpugrad raised {type(our_error).__name__}: {our_error}"
                )
            if our_error is None:
                raise _Mismatch(
                    "error-missing",
                    f"torch raised {type(their_error).__name__}: {_first_line(their_error)}",
                )
            _compare_errors(their_error, our_error)
            return None
        _compare_values(theirs, ours, "out")
        mutated_theirs, mutated_ours = _buffers(theirs_ns, case), _buffers(ours_ns, case)
        for name, t in mutated_theirs.items():
            if name not in mutated_ours:
                raise _Mismatch("state", f"gpugrad's module has no {name}")
            try:
                _compare_values(t, mutated_ours[name], f"{name} after the call", grad=False)
            except _Mismatch as m:
                raise _Mismatch("state", m.detail) from None
        _compare_gradients(case, theirs, ours, theirs_ns, ours_ns)
    except _Mismatch as m:
        kind = m.kind
        if kind in ("value", "grad", "state") and _extreme_inputs(case):
            kind += "-nonfinite"  # NaN/inf/1e300 inputs: IEEE corner cases of a formula
        return Outcome(kind, m.detail, case)
    return None


def _extreme_inputs(case: Case) -> bool:
    return any(
        spec.array.dtype.kind == "f" and spec.array.size and not np.all(np.abs(spec.array) < 1e200)
        for spec in case.inputs.values()
    )


def _compare_gradients(case: Case, theirs: Any, ours: Any, theirs_ns: dict, ours_ns: dict) -> None:
    outputs = [
        (a, b)
        for a, b in zip(_tensors_of(theirs), _tensors_of(ours))
        if a.requires_grad and a.dtype in (torch.float64, torch.float32)
    ]
    if not outputs:
        return
    rng = np.random.default_rng(case.seed)
    cotangents = [rng.standard_normal(tuple(a.shape)) for a, _ in outputs]
    errors: list[BaseException | None] = []
    for index, lib in enumerate((torch, gg)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                total = None
                for pair, cot in zip(outputs, cotangents):
                    out = pair[index]
                    c = lib.tensor(cot, dtype=out.dtype)
                    if lib is gg:
                        c = c.to(out.device)
                    term = (out * c).sum()
                    total = term if total is None else total + term
                total.backward()
                errors.append(None)
            except Exception as e:  # noqa: BLE001 - compared with PyTorch's
                errors.append(e)
        if lib is gg and any(issubclass(w.category, RuntimeWarning) for w in caught):
            raise _Mismatch("RuntimeWarning", "gpugrad warned in backward")
    their_error, our_error = errors
    if their_error is not None or our_error is not None:
        if their_error is None or our_error is None:
            raise _Mismatch("backward-error", f"torch: {their_error!r}\n  gpugrad: {our_error!r}")
        _compare_errors(their_error, our_error)
        return
    ours_leaves = _leaves(ours_ns)
    for name, leaf in _leaves(theirs_ns).items():
        other = ours_leaves.get(name)
        if other is None:
            raise _Mismatch("grad", f"gpugrad has no leaf {name}")
        a, b = leaf.grad, other.grad
        if (a is None) != (b is None):
            raise _Mismatch("grad", f"{name}.grad: torch {a}, gpugrad {b}")
        if a is not None:
            low_precision = any(out.dtype == torch.float32 for out, _ in outputs)
            try:
                _compare_values(a, b, f"{name}.grad", grad=False, loose=low_precision)
            except _Mismatch as m:
                raise _Mismatch("grad", m.detail) from None


def run_seed(
    seed: int, device: str = "cpu", hostile: bool = False, family: str | None = None
) -> Outcome | None:
    return run_case(generate(seed, hostile, family), device)
