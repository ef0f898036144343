"""``gpugrad.nn.functional``: PyTorch's ``torch.nn.functional`` names, each defined once.

Three kinds live behind this one namespace:

- fused ops declared in the op registry (``gpugrad.ops.nn``: ``softplus``, ``gelu``,
  ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``; fused kernels forward
  and backward, composite formulas for ``create_graph``), imported here;
- gpugrad's own ops (``relu``, ``sigmoid``, ``tanh``, ``softmax``, ``log_softmax``);
- composites of gpugrad's public tensor ops, defined below: the layers' functional forms
  (convolution, pooling, normalization, embeddings, attention, distances) and the other
  losses. Autograd differentiates them, to any order, with no gradient code here
  (tinygrad's approach). Convolution and pooling gather their windows with ``kh * kw``
  strided slices of the padded input (each slice a view) and reduce them with one matrix
  product (convolution) or elementwise maxima/sums (pooling).

Semantics, error texts and exception classes are PyTorch's, except where a docstring says
otherwise. ``EXTRAS`` names what this module has beyond PyTorch's (nothing today).
"""

from __future__ import annotations

import itertools as _itertools
import math as _math
import struct as _struct
import typing as _typing
import warnings as _warnings

from .._factories import arange as _arange
from .._factories import full as _full
from .._factories import rand as _rand
from .._factories import tensor as _tensor
from .._factories import zeros as _zeros
from .._grad_mode import is_grad_enabled as _is_grad_enabled
from .._grad_mode import no_grad as _no_grad
from .._graph import named_node as _named_node
from .._tensor import Tensor
from ..autograd.function import one_node as _one_node
from ..backends import dtypes as _dtypes
from ..backends import python_data as _python_data
from ..ops import elementwise as _elementwise
from ..ops.elementwise import logical_and as _logical_and
from ..ops.elementwise import logical_or as _logical_or
from ..ops.elementwise import sigmoid, tanh
from ..ops.elementwise import where as _where
from ..ops.index import embedding as _embedding
from ..ops.linalg import addmm as _addmm
from ..ops.nn import (
    _attention,
    _batch_norm_eval,
    _batch_norm_train,
    _convolution,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    gelu,
    softplus,
)
from ..ops.nn import _layer_norm as _layer_norm_op
from ..ops.nn import _max_pool as _max_pool_op
from ..ops.nn import mse_loss as _mse_loss
from ..ops.nn import nll_loss as _nll_loss
from ..ops.reduce import log_softmax, softmax
from ..ops.shape import broadcast_tensors as _broadcast_tensors
from ..ops.shape import cat as _cat
from ..ops.shape import stack as _stack
from ..ops.transfer import to_dtype as _to_dtype
from ._reduction import REDUCTIONS as _REDUCTION_NAMES
from ._reduction import check_reduction as _check_reduction
from ._reduction import legacy_reduction as _legacy_reduction
from ._reduction import reduce as _reduce

if _typing.TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

del annotations  # the __future__ flag's name: dir() shows PyTorch's names only

__all__ = [
    "batch_norm",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "embedding_bag",
    "gelu",
    "group_norm",
    "hardtanh",
    "huber_loss",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "relu",
    "rms_norm",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
    "unfold",
]

EXTRAS: tuple[str, ...] = ()
"""Public names here that ``torch.nn.functional`` does not have (documented extras)."""


# --- small shared pieces ------------------------------------------------------------------
def _pair(value: Any, n: int = 2) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return tuple(value) * n
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _require_tensor(value: Any, function: str, argument: str, position: int) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{function}(): argument '{argument}' (position {position}) must be Tensor, "
            f"not {type(value).__name__}"
        )


def _device(t: Tensor) -> str:
    return t._backend.device_str


def _constant(values: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """A tensor of ``values`` (a NumPy array or number) on ``like``'s device."""
    return _tensor(values, dtype=dtype or like.dtype, device=_device(like))


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _in_place(input: Tensor, function: Any) -> Tensor:
    """``input`` given ``function(input)``'s values in place (an activation's
    ``inplace=True``). Outside a recorded graph this is a plain assignment, exact even where
    ``input`` held inf or NaN; inside one, the function runs on a clone (so the values it
    saves are never overwritten) and ``copy_`` records the write (refusing a leaf that
    requires grad, as PyTorch does)."""
    if _is_grad_enabled() and input.requires_grad:
        return input.copy_(function(input.clone()))
    input[...] = function(input)
    return input


def _same_shape_warning(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        _warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )


# --- linear maps and activations ------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; ``inplace=True`` overwrites ``input``."""
    return input.relu_() if inplace else _elementwise.relu(input)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``. An input of more than two dims is multiplied as one
    ``(rows, in_features)`` matrix, as PyTorch does: its backward is then two plain matrix
    products, not a batch of products whose weight gradients are summed afterwards."""
    _require_tensor(input, "linear", "input", 1)
    _require_tensor(weight, "linear", "weight", 2)
    if weight.dim() != 2:
        out = input @ weight
    elif input.dim() > 2:
        lead = tuple(input.shape[:-1])
        if input.shape[-1] != weight.shape[-1]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_math.prod(lead)}x"
                f"{input.shape[-1]} and {weight.shape[1]}x{weight.shape[0]})"
            )
        if bias is not None and input.is_contiguous():  # PyTorch's addmm + view
            rows = _addmm(bias, input.reshape(-1, input.shape[-1]), weight.t())
            return rows.view(*lead, weight.shape[0])
        out = (input.reshape(-1, input.shape[-1]) @ weight.t()).reshape(*lead, weight.shape[0])
    elif input.dim() == 2 and bias is not None:
        return _addmm(bias, input, weight.t())  # one AddmmBackward0 node, as PyTorch's
    else:
        out = input @ weight.t()
    return out if bias is None else out + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``."""
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} "
            f"but expected {in1}"
        )
    if input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} "
            f"but expected {in2}"
        )
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (n, in1) @ (in1, out * in2) -> (n, out, in2), then contract in2 with input2.
    mixed = (x1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)).reshape(
        -1, out_features, in2
    )
    out = (mixed * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, out_features)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    _python_data.checked_fill(negative_slope, input._data.dtype)

    def function(x: Tensor) -> Tensor:
        return _where(x > 0, x, x * negative_slope)

    if inplace:
        return _in_place(input, function)
    return _named_node(function(input), "LeakyReluBackward0", input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    _python_data.checked_fill(alpha, input._data.dtype)

    def function(x: Tensor) -> Tensor:
        return _where(x > 0, x, x.clamp(max=0.0).expm1() * alpha)

    if inplace:
        return _in_place(input, function)
    return _named_node(function(input), "EluBackward0", input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""

    def function(x: Tensor) -> Tensor:
        return x * x.sigmoid()

    if inplace:
        return _in_place(input, function)
    return _named_node(function(input), "SiluBackward0", input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""

    def function(x: Tensor) -> Tensor:
        return x * softplus(x).tanh()

    if inplace:
        return _in_place(input, function)
    return _named_node(function(input), "MishBackward0", input)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``clamp(x, min_val, max_val)``; as in PyTorch the gradient is 0 at the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")

    def function(x: Tensor) -> Tensor:
        inside = _logical_and(x > min_val, x < max_val)
        return _where(inside, x, x.detach().clamp(min_val, max_val))

    if inplace:
        return _in_place(input, function)
    return _named_node(function(input), "HardtanhBackward0", input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """In training, zero each element with probability ``p`` (from gpugrad's seeded
    generator) and scale the rest by ``1 / (1 - p)``; otherwise the identity."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        scale = _zeros(tuple(input.shape), dtype=input.dtype, device=_device(input))
    else:
        keep = _rand(*input.shape, device=_device(input)) >= p
        scale = _to_dtype(keep, input.dtype) * (1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels (dim 1 of ``(N, C, H, W)``, dim 0 of ``(C, H, W)``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (3, 4):
        raise RuntimeError(
            f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. Expected a 3-D or 4-D input."
        )
    if not training or p == 0:
        return input
    mask_shape = tuple(input.shape[: input.dim() - 2]) + (1, 1)
    if p == 1:
        scale = _zeros(mask_shape, dtype=input.dtype, device=_device(input))
    else:
        keep = _rand(*mask_shape, device=_device(input)) >= p
        scale = _to_dtype(keep, input.dtype) * (1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale


# --- index-like ops -------------------------------------------------------------------------
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``int64`` one-hot codes along a new last dim."""
    if tensor.dtype != _dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() and bool((tensor < 0).any()):
        raise RuntimeError("Class values must be non-negative.")
    if tensor.numel() == 0 and num_classes <= 0:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    if num_classes == -1:
        num_classes = int(tensor.max().item()) + 1
    elif tensor.numel() and int(tensor.max().item()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _arange(num_classes, device=_device(tensor))
    return _to_dtype(tensor.unsqueeze(-1) == classes, _dtypes.int64)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx``'s row gets no
    gradient. ``max_norm`` renormalizes the looked-up rows of ``weight`` in place;
    ``scale_grad_by_freq`` divides each row's gradient by how often ``input`` picks it.

    ``sparse=True`` is accepted, but gpugrad has no sparse tensors: ``weight.grad`` is the
    same values as a dense tensor (PyTorch's is a sparse COO tensor; ``.to_dense()`` of
    it equals gpugrad's). Optimizers that PyTorch restricts to sparse gradients
    (``SparseAdam``) do not exist here."""
    rows = weight.shape[0] if weight.dim() else 0
    if padding_idx is not None and not -rows <= padding_idx < max(rows, 1):
        raise AssertionError("Padding_idx must be within num_embeddings")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += rows
    if max_norm is not None and input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            "Expected tensor for argument #2 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_legacy_type_name(input)} instead (while checking "
            "arguments for embedding_renorm_)"
        )
    outside = None if max_norm is None else (input >= rows) | (input < -rows)
    if outside is not None and input.numel() and bool(outside.any()):
        first = int(input[outside].min().item())  # PyTorch visits the sorted unique rows
        raise IndexError(
            f"select(): index {first} out of range for tensor of size "
            f"{_shape_text(weight.shape)} at dimension 0"
        )
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {_legacy_type_name(input)} instead (while checking "
            "arguments for embedding)"
        )
    if input.numel() and (bool((input >= rows).any()) or bool((input < 0).any())):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        with _no_grad():
            picked = weight[input.reshape(-1)]
            norms = _vector_norm(picked, norm_type, -1, True)
            factor = _where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            weight[input.reshape(-1)] = picked * factor
    if padding_idx is None and not scale_grad_by_freq and input.dim():
        return _embedding(weight, input)  # one EmbeddingBackward0 node, as PyTorch's
    out = weight[input]
    if padding_idx is not None:
        out = _where((input != padding_idx).unsqueeze(-1), out, out.detach())
    if scale_grad_by_freq and out.requires_grad:
        with _no_grad():
            flat = input.reshape(-1)
            counts = _zeros(rows, dtype=weight.dtype, device=_device(weight))
            counts = counts.index_add(
                0, flat, _full((flat.numel(),), 1.0, dtype=weight.dtype, device=_device(weight))
            )
            scale = (1 / counts[input]).unsqueeze(-1)
        out.register_hook(_frequency_scaling(scale, sparse))
    return out


def _frequency_scaling(scale: Tensor, sparse: bool) -> Any:
    """The output gradient hook of ``embedding(scale_grad_by_freq=True)``."""

    def hook(grad: Tensor) -> Tensor:
        if sparse:  # PyTorch's error, raised where PyTorch raises it: in backward
            raise RuntimeError(
                "embedding_backward: scale_grad_by_freq not supported with sparse gradients"
            )
        return grad * scale

    return hook


def _legacy_type_name(t: Tensor) -> str:
    """PyTorch's legacy type name, as its argument checks print it (``torch.DoubleTensor``,
    ``CPUBoolType``)."""
    cuda = _device(t).startswith("cuda")
    if t.dtype.name == "bool":
        return "CUDABoolType" if cuda else "CPUBoolType"
    return f"gpugrad.{'cuda.' if cuda else ''}{_scalar_name(t)}Tensor"


def _scalar_name(t: Tensor) -> str:
    return _dtypes.SCALAR_TYPE_NAMES[t.dtype.name]


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embeddings: ``input`` 2-D (one bag per row) or 1-D
    with ``offsets`` marking where each bag starts."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
            "on GitHub."
        )
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences."
            )
        bags = [(i * input.shape[1], (i + 1) * input.shape[1]) for i in range(input.shape[0])]
        flat = input.reshape(-1)
        weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = [int(v) for v in offsets.tolist()]
        ends = starts[1:] + [input.shape[0]]
        if include_last_offset:
            starts, ends = starts[:-1], ends[:-1]
        bags = list(zip(starts, ends, strict=True))
        flat, weights = input, per_sample_weights
    else:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}"
        )
    with _no_grad():  # embedding's argument checks; ``max_norm`` renormalizes rows in place
        embedding(flat, weight, None, max_norm, norm_type)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    plan = _BagPlan(flat, bags, mode, padding_idx, weight)
    return _one_node("EmbeddingBagBackward0", plan.reduce, weight, weights)


class _BagPlan:
    """``embedding_bag``'s bags, found once: ``reduce(weight, per_sample_weights)`` runs in
    forward and again in backward (``one_node``). Bags are consecutive ranges of the flat
    indices, so each row's bag id comes from the bag lengths without a loop over bags."""

    def __init__(self, flat: Tensor, bags: list, mode: str, padding_idx: Any, weight: Tensor):
        self.mode = mode
        self.n_bags = len(bags)
        self.width = weight.shape[1]
        device = _device(weight)
        starts = [start for start, _ in bags]
        lengths = [max(end - start, 0) for start, end in bags]
        if all(a + n == b for a, n, b in zip(starts, lengths, starts[1:])):
            first = starts[0] if bags else 0
            positions = _arange(first, first + sum(lengths), device=device)
        else:  # overlapping or unordered offsets: list each bag's rows
            positions = _tensor(
                [i for start, n in zip(starts, lengths) for i in range(start, start + n)],
                dtype=flat.dtype,
                device=device,
            )
        self.positions = positions
        self.indices = flat[positions]
        self.bag_of_row = (
            _arange(self.n_bags, device=device).repeat_interleave(
                _tensor(lengths, dtype=flat.dtype, device=device), output_size=int(sum(lengths))
            )
            if bags
            else positions
        )
        self.kept = None if padding_idx is None else self.indices != padding_idx

    def reduce(self, weight: Tensor, per_sample_weights: Tensor | None) -> Tensor:
        rows = weight[self.indices]
        kept, bag_of_row = self.kept, self.bag_of_row
        if per_sample_weights is not None:
            rows = rows * per_sample_weights.reshape(-1)[self.positions].unsqueeze(-1)
        shape = (self.n_bags, self.width)
        out = _zeros(shape, dtype=weight.dtype, device=_device(weight))
        if self.mode == "max":
            if kept is not None:
                rows, bag_of_row = rows[kept], bag_of_row[kept]
            index = bag_of_row.unsqueeze(-1).expand(-1, self.width)
            return out.scatter_reduce(0, index, rows, "amax", include_self=False)
        if kept is not None:
            rows = _where(kept.unsqueeze(-1), rows, 0.0)
        out = out.index_add(0, bag_of_row, rows)
        if self.mode == "mean":
            ones = _ones(bag_of_row.shape, dtype=weight.dtype, device=_device(weight))
            if kept is not None:
                ones = _where(kept, ones, 0.0)
            counts = _zeros(self.n_bags, dtype=weight.dtype, device=_device(weight))
            out = out / counts.index_add(0, bag_of_row, ones).clamp(min=1.0).unsqueeze(-1)
        return out


# --- padding and windows --------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None):
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` starts
    from the last dim. ``mode`` is ``"constant"``, ``"reflect"``, ``"replicate"`` or
    ``"circular"``. Negative widths crop, as in PyTorch: ``constant``, ``reflect`` and
    ``replicate`` pad from the whole input and then crop, ``circular`` crops and then wraps."""
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    for i, p in enumerate(pad):
        if not hasattr(p, "__index__"):
            raise TypeError(
                "pad(): argument 'pad' (position 2) must be tuple of ints, but found element "
                f"of type {type(p).__name__} at pos {i}"
            )
    pad = [p.__index__() for p in pad]
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension "
            f"but got padding length {len(pad)} and input of dimension {input.dim()}"
        )
    widths = [(input.dim() - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]
    if mode == "constant":
        return _pad_constant(input, widths, 0.0 if value is None else value)
    if value not in (None, 0):
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if k > 3 or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    if mode == "circular":
        return _pad_circular(input, widths)
    batch = 1 if input.dim() == k + 2 else 0
    if any(n == 0 for n in input.shape[batch:]):
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {_shape_text(input.shape)}"
        )
    names = ("W", "H", "D")[:k]
    if mode == "reflect":
        for j, (dim, before, after) in enumerate(widths):
            if before >= input.shape[dim] or after >= input.shape[dim]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({before}, {after}) at dimension {dim} "
                    f"of input {_shape_text(input.shape)}"
                )
    sizes = [input.shape[dim] for dim, _, _ in widths]
    outs = [n + before + after for n, (_, before, after) in zip(sizes, widths, strict=True)]
    if all(o < 1 for o in outs) or (k == 1 and outs[0] < 1):
        w, h, d = (*sizes, None, None)[:3]
        space = " " if mode == "replicate" else ""  # PyTorch's two kernels word it apart
        given = {1: f"W: {w}", 2: f"H: {h}, W: {w}{space}", 3: f"D: {d} H: {h}, W: {w}"}[k]
        result = " ".join(f"{n}: {o}" for n, o in reversed(list(zip(names, outs, strict=True))))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {result}")
    if any(o < 0 for o in outs):
        shape = list(input.shape)
        for (dim, _, _), o in zip(widths, outs, strict=True):
            shape[dim] = o
        negative = next(n for n in shape if n < 0)  # the first, as PyTorch reports it
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {negative}: {_shape_text(shape)}"
        )
    out = input
    for dim, before, after in widths:
        out = _pad_edges(out, dim, max(before, 0), max(after, 0), mode)
    for dim, before, after in widths:
        start, stop = max(-before, 0), out.shape[dim] - max(-after, 0)
        if start or stop != out.shape[dim]:
            out = _narrow(out, dim, start, max(stop, start))
    return out


def _narrow(t: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    key = [slice(None)] * t.dim()
    key[dim] = slice(start, stop, step)
    return t[tuple(key)]


def _pad_constant(input: Tensor, widths: list, value: float) -> Tensor:
    """PyTorch's ``constant_pad_nd``: negative widths narrow first (refusing a negative
    length), then the positive ones are filled with ``value``."""
    out = input
    for dim, before, after in widths:
        if before < 0:
            if out.shape[dim] + before < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            out = _narrow(out, dim, -before, out.shape[dim])
        if after < 0:
            if out.shape[dim] + after < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            out = _narrow(out, dim, 0, out.shape[dim] + after)
    for dim, before, after in widths:
        before, after = max(before, 0), max(after, 0)
        if not before and not after:
            continue
        pieces = []
        for width in (before, after):
            shape = list(out.shape)
            shape[dim] = width
            pieces.append(_full(tuple(shape), value, dtype=out.dtype, device=_device(out)))
        parts = [p for p, w in ((pieces[0], before), (out, 1), (pieces[1], after)) if w]
        out = _cat(parts, dim)
    return out


def _pad_circular(input: Tensor, widths: list) -> Tensor:
    for dim, before, after in reversed(widths):  # PyTorch's order: outermost dim first
        if before > input.shape[dim] or after > input.shape[dim]:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if input.shape[dim] + before + after < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    out = input
    for dim, before, after in widths:
        start, stop = max(-before, 0), out.shape[dim] - max(-after, 0)
        if start >= stop:  # cropped to nothing: PyTorch fills the rest uninitialized
            out = _pad_constant(out, [(dim, -out.shape[dim], out.shape[dim] + before + after)], 0.0)
            continue
        out = _narrow(out, dim, start, stop)
        size = out.shape[dim]
        before, after = max(before, 0), max(after, 0)
        if before or after:
            # wrap as often as needed (PyTorch reads uninitialized memory past one wrap)
            times = -(-max(before, after) // size)
            tiled = _cat([out] * (2 * times + 1), dim) if times > 0 else out
            out = _narrow(tiled, dim, times * size - before, (times + 1) * size + after)
    return out


def _pad_edges(t: Tensor, dim: int, before: int, after: int, mode: str) -> Tensor:
    """Reflect or replicate ``t`` by ``before`` / ``after`` cells along ``dim``."""
    if not before and not after:
        return t
    size = t.shape[dim]
    if mode == "reflect":
        left = _narrow(t, dim, 1, before + 1).flip(dim) if before else None
        right = _narrow(t, dim, size - 1 - after, size - 1).flip(dim) if after else None
    else:  # replicate
        left = _repeat(_narrow(t, dim, 0, 1), dim, before) if before else None
        right = _repeat(_narrow(t, dim, size - 1, size), dim, after) if after else None
    parts = [p for p in (left, t, right) if p is not None]
    return _cat(parts, dim)


def _repeat(t: Tensor, dim: int, times: int) -> Tensor:
    shape = list(t.shape)
    shape[dim] = times
    return t.expand(*shape)


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def _taps(kernel: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Each offset within a kernel window, in row-major order."""
    return list(_itertools.product(*(range(k) for k in kernel)))


def _windows(
    x: Tensor,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    out: tuple[int, ...],
) -> list[Tensor]:
    """The ``prod(kernel)`` strided views of an already padded ``(N, C, *spatial)`` input,
    one per kernel offset in row-major order, each shaped ``(N, C, *out)``."""
    views = []
    for offset in _taps(kernel):
        key: list[Any] = [slice(None), slice(None)]
        for o, s, d, n in zip(offset, stride, dilation, out, strict=True):
            start = o * d
            key.append(slice(start, start + s * (n - 1) + 1, s))
        views.append(x[tuple(key)])
    return views


def unfold(
    input: Tensor,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """im2col: ``(N, C, H, W)`` to ``(N, C * kh * kw, L)`` sliding-window columns."""
    if input.dim() < 3:
        raise IndexError(
            "Dimension out of range (expected to be in range of "
            f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got 2)"
        )
    if input.dim() > 4:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other "
            f"non-zero dimensions for input, but got: {_shape_text(input.shape)}"
        )
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    kernel, dil, pads, strides = _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    x = pad(x, (pads[1], pads[1], pads[0], pads[0])) if any(pads) else x
    out = tuple(
        _out_size(x.shape[2 + i], kernel[i], strides[i], 0, dil[i], False) for i in range(2)
    )
    if min(out) <= 0:
        raise RuntimeError(
            f"Given input with spatial size ({input.shape[-2]}, {input.shape[-1]}), "
            f"kernel_size=({kernel[0]}, {kernel[1]}), dilation=({dil[0]}, {dil[1]}), "
            f"padding=({pads[0]}, {pads[1]}), calculated shape of the array of sliding blocks "
            f"as ({out[0]}, {out[1]}), but its components must be at least one."
        )
    n, c = x.shape[0], x.shape[1]
    cols = _stack(_windows(x, kernel, strides, dil, out), 2)  # (N, C, kh*kw, oh, ow)
    cols = cols.reshape(n, c * kernel[0] * kernel[1], out[0] * out[1])
    return cols if batched else cols.squeeze(0)


# --- convolution ----------------------------------------------------------------------------
def _conv_padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple) -> list:
    """``[(before, after), ...]`` per spatial dim from an int, a tuple, ``"valid"`` or
    ``"same"`` (which may pad one more after than before, as PyTorch does)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * len(kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            result = []
            for k, d in zip(kernel, dilation, strict=True):
                total = d * (k - 1)
                result.append((total // 2, total - total // 2))
            return result
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    return [(p, p) for p in _pair(padding, len(kernel))]


def _conv_parameter(value: Any, name: str, spatial: int, dims: int) -> tuple[int, ...]:
    """``value`` (an int or a tuple of the function's ``spatial`` ints) as ``dims`` ints,
    PyTorch's ``expand_param_if_needed`` (``dims`` comes from the weight's rank)."""
    values = _pair(value, spatial)
    if len(values) == 1:
        return values * dims
    if len(values) != dims:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {dims} values to "
            f"match the convolution dimensions, but got {name}={_shape_text(values)}"
        )
    return values


def _check_convolution(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    geometry: tuple,
    groups: int,
    transposed: bool,
) -> None:
    """PyTorch's ``check_shape_forward``, in its order, for a batched ``x``; ``geometry``
    is ``(strides, pads, dilations, output_padding)``, ``pads`` ``None`` for a padding
    string (then nothing is negative)."""
    strides, pads, dilations, output_padding = geometry
    if pads is not None and any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in strides):
        raise RuntimeError("non-positive stride is not supported")
    sizes = tuple(weight.shape)
    if weight.dim() != x.dim():
        raise RuntimeError(
            f"Expected {weight.dim()}-dimensional input for {weight.dim()}-dimensional weight "
            f"{_shape_text(sizes)}, but got {x.dim()}-dimensional input of size "
            f"{_shape_text(x.shape)} instead"
        )
    if sizes[0] < groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {_shape_text(sizes)} instead"
        )
    if sizes[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension "
            f"0, but got weight of size [{_shape_text(sizes)}] instead"
        )
    channels = sizes[0] if transposed else sizes[1] * groups
    if x.shape[1] != channels:
        given = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(
            f"Given {given}, weight of size {_shape_text(sizes)}, expected input"
            f"{_shape_text(x.shape)} to have {channels} channels, but got {x.shape[1]} "
            "channels instead"
        )
    outputs = sizes[1] * groups if transposed else sizes[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != outputs):
        given = "transposed=1, weight" if transposed else "weight"
        raise RuntimeError(
            f"Given {given} of size {_shape_text(sizes)}, expected bias to be 1-dimensional "
            f"with {outputs} elements, but got bias of size {_shape_text(bias.shape)} instead"
        )
    if any(d <= 0 for d in dilations) and not transposed:
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilations)}")
    if bias is not None and bias.dtype != x.dtype:
        names = [_dtypes.SCALAR_TYPE_NAMES[t.dtype.name].lower() for t in (x, bias)]
        raise RuntimeError(f"Input type ({names[0]}) and bias type ({names[1]}) should be the same")


def _check_kernel_fits(x: Tensor, weight: Tensor, pads: list, dilations: tuple) -> None:
    padded = tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pads, strict=True))
    kernel = tuple(weight.shape[2:])
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True))
    if any(e > p for e, p in zip(effective, padded, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, effective))}). Kernel size can't be greater "
            "than actual input size"
        )


def _check_same_dtype(x: Tensor, weight: Tensor) -> None:
    if weight.dtype != x.dtype:
        raise RuntimeError(
            f"expected scalar type {_dtypes.SCALAR_TYPE_NAMES[x.dtype.name]} but found "
            f"{_dtypes.SCALAR_TYPE_NAMES[weight.dtype.name]}"
        )


def _batched(input: Tensor, name: str, spatial: int) -> bool:
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
            f"{name}, but got input of size: {_shape_text(input.shape)}"
        )
    return input.dim() == spatial + 2


def _conv(
    name: str,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    spatial: int,
) -> Tensor:
    _require_tensor(input, name, "input", 1)
    _require_tensor(weight, name, "weight", 2)
    batched = _batched(input, name, spatial)
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if weight.dim() < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    dims = weight.dim() - 2
    strides = _conv_parameter(stride, "stride", spatial, dims)
    dilations = _conv_parameter(dilation, "dilation", spatial, dims)
    given = None if isinstance(padding, str) else _conv_parameter(padding, "padding", spatial, dims)
    x = input if batched else input.unsqueeze(0)
    geometry = (strides, given, dilations, ())
    _check_convolution(x, weight, bias, geometry, groups, transposed=False)
    pads = _conv_padding(padding if given is None else given, weight.shape[2:], dilations, strides)
    _check_kernel_fits(x, weight, pads, dilations)
    _check_same_dtype(x, weight)
    result = _convolution(x, weight, bias, strides, dilations, tuple(pads), groups)
    return result if batched else result.squeeze(0)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation of ``(N, C, L)`` with ``weight`` ``(O, C / groups, k)``."""
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of ``(N, C, H, W)`` with ``weight`` ``(O, C / groups, kh, kw)``."""
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


# --- pooling --------------------------------------------------------------------------------
def _pool_ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),)


def _one_int_arguments(name: str, input: Tensor, **arguments: Any) -> tuple[int | None, ...]:
    """The 1-d pooling functions' checks before PyTorch runs them as height-1 2-d ones:
    a 2-D or 3-D input and one int per argument (``None`` for one omitted)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for "
            f"argument #1 'self' (while checking arguments for {name})"
        )
    values = []
    for what, value in arguments.items():
        ints = () if value is None else _pool_ints(value)
        if not ints:  # omitted (``None``, or PyTorch's top-level ``[]``)
            values.append(None)
            continue
        if len(ints) != 1:
            raise RuntimeError(
                f"{name}() argument '{what}' should contain one int (got {len(ints)})"
            )
        values.append(ints[0])
    return tuple(values)


_COUNT_WORDS = {2: "two", 3: "three"}


def _pool_arguments(
    name: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any, spatial: int = 2
) -> tuple[tuple[int, ...], ...]:
    """PyTorch's n-d pooling argument checks: each an int or ``spatial`` ints (``stride``
    also omitted: the kernel), as ``(kernel, strides, pads, dilations)``."""
    count = _COUNT_WORDS[spatial]
    either = "" if name == "avg_pool3d" else "either "  # PyTorch's avg_pool3d words it so
    kernel = _pool_ints(kernel_size)
    if len(kernel) not in (1, spatial):
        raise RuntimeError(
            f"{name}: kernel_size must {either}be a single int, or a tuple of {count} ints"
        )
    strides = () if stride is None else _pool_ints(stride)
    if len(strides) not in (0, 1, spatial):
        raise RuntimeError(
            f"{name}: stride must {either}be omitted, a single int, or a tuple of {count} ints"
        )
    pads = _pool_ints(padding)
    if len(pads) not in (1, spatial):
        raise RuntimeError(
            f"{name}: padding must {either}be a single int, or a tuple of {count} ints"
        )
    dil = _pool_ints(dilation)
    if len(dil) not in (1, spatial):
        raise RuntimeError(
            f"{name}: dilation must be either a single int, or a tuple of {count} ints"
        )
    kernel, pads, dil = (_pair(v, spatial) for v in (kernel, pads, dil))
    return kernel, _pair(strides, spatial) if strides else kernel, pads, dil


_AXIS_LETTERS = {2: ("H", "W"), 3: ("T", "H", "W")}


def _pool_shape(
    input: Tensor, kernel: tuple, strides: tuple, pads: tuple, dil: tuple, ceil_mode: bool
) -> tuple[int, ...]:
    """PyTorch's ``pooling_output_shape`` and ``pool2d_shape_check`` /
    ``pool3d_shape_check`` for an unbatched or batched ``input`` with ``len(kernel)``
    spatial dims: the output's spatial size."""
    spatial = len(kernel)
    out = []
    for n, k, s, p, d in zip(input.shape[-spatial:], kernel, strides, pads, dil, strict=True):
        if s == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > int(((k - 1) * d + 1) / 2):
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation={d}"
            )
        out.append(_out_size(n, k, s, p, d, ceil_mode))
    letters = _AXIS_LETTERS[spatial]

    def named(prefix: str, values: tuple) -> str:
        return " ".join(f"{prefix}{a}: {v}" for a, v in zip(letters, values, strict=True))

    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got {named('k', kernel)}")
    if min(strides) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got {named('d', strides)}")
    if min(dil) <= 0:
        raise RuntimeError(
            f"dilation should be greater than zero, but got {named('dilation', dil)}"
        )
    shape = input.shape
    if input.dim() not in (spatial + 1, spatial + 2) or 0 in shape[-spatial - 1 :]:
        raise RuntimeError(
            f"Expected {spatial + 1}D or {spatial + 2}D (batch mode) tensor with optional 0 dim "
            f"batch size for input, but got:{_shape_text(shape)}"
        )
    if spatial == 2 and (kernel[1] // 2 < pads[1] or kernel[0] // 2 < pads[0]):
        raise RuntimeError(
            "pad should be smaller than or equal to half of kernel size, but got "
            f"padW = {pads[1]}, padH = {pads[0]}, kW = {kernel[1]}, kH = {kernel[0]}"
        )
    if min(out) < 1:
        planes, sizes = shape[-spatial - 1], shape[-spatial:]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (planes, *sizes)))}). Calculated output "
            f"size: ({'x'.join(map(str, (planes, *out)))}). Output size is too small"
        )
    return tuple(out)


def _max_pool1d_geometry(
    input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool
) -> tuple:
    """PyTorch's ``max_pool1d`` checks (the path without indices)."""
    if input.dim() not in (2, 3) or 0 in input.shape[input.dim() - 2 :]:
        raise RuntimeError(
            "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size "
            f"for input, but got:{_shape_text(input.shape)}"
        )
    kernel, pads, dil = _pool_ints(kernel_size), _pool_ints(padding), _pool_ints(dilation)
    strides = () if stride is None else _pool_ints(stride)
    for what, values, kinds in (
        ("kernel_size", kernel, "an int, list of ints or tuple of ints"),
        ("stride", strides, "None, an int, list of ints, or tuple of ints"),
        ("padding", pads, "an int, list of ints, or tuple of ints"),
        ("dilation", dil, "an int, list of ints or tuple of ints"),
    ):
        if len(values) != 1 and not (what == "stride" and not values):
            raise RuntimeError(
                f"max_pool1d() {what} must be {kinds} of size 1 but got size {len(values)}"
            )
    strides = strides or kernel
    (k,), (s,), (p,), (d,) = kernel, strides, pads, dil
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(
            "max_pool1d() padding should be at most half of kernel size, but got "
            f"padding={p} and kernel_size={k}"
        )
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    out = _out_size(input.shape[-1], k, s, p, d, ceil_mode)
    if out <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {out}")
    return kernel, strides, pads, dil, (out,)


def _pool_extra(sizes: tuple, kernel, strides, pads, dil, out) -> tuple:
    """Right padding so the last (ceil-mode) window fits."""
    return tuple(
        max(0, (o - 1) * s + d * (k - 1) + 1 - n - 2 * p)
        for o, s, d, k, n, p in zip(out, strides, dil, kernel, sizes, pads, strict=True)
    )


def _spatial_pad(x: Tensor, pads: tuple, extra: tuple, value: float) -> Tensor:
    flat: list[int] = []
    for p, e in reversed(list(zip(pads, extra, strict=True))):
        flat += [p, p + e]
    return pad(x, flat, value=value) if any(flat) else x


def _max_pool(
    input: Tensor, spatial: int, geometry: tuple, return_indices: bool, squeeze: int | None = None
) -> Any:
    """Max pooling of a checked ``input`` with ``geometry`` ``(kernel, strides, pads,
    dilations, out)``; ``squeeze``: a dim added for the 2-D path, removed from the results."""
    kernel, strides, pads, dil, out = geometry
    extra = _pool_extra(tuple(input.shape[-spatial:]), kernel, strides, pads, dil, out)
    batched = input.dim() == spatial + 2
    x = input if batched else input.unsqueeze(0)
    edges = tuple((p, p + e) for p, e in zip(pads, extra, strict=True))
    result, first = _max_pool_op(x, kernel, strides, dil, edges)
    if not batched:
        result = result.squeeze(0)
    if squeeze is not None:
        result = result.squeeze(squeeze)
    if not return_indices:
        return result
    first = _to_dtype(first, _dtypes.int64)
    indices = _pool_indices(first, input, kernel, strides, pads, dil, batched)
    return result, indices if squeeze is None else indices.squeeze(squeeze)


def _pool_indices(first, input, kernel, strides, pads, dil, batched) -> Tensor:
    """Flat positions (within each channel of ``input``) of the chosen maxima; ``first``
    holds each window's tap number (row-major over the kernel)."""
    spatial = len(kernel)
    sizes = tuple(input.shape[-spatial:])
    tap_offsets = list(zip(*_taps(kernel), strict=True))  # per axis, each tap's offset
    flat = None
    for axis in range(spatial):
        offset = _constant(list(tap_offsets[axis]), first, _dtypes.int64)[first]
        steps = _arange(first.shape[2 + axis], device=_device(input))
        steps = steps.reshape(-1, *([1] * (spatial - axis - 1)))
        coord = steps * strides[axis] - pads[axis] + offset * dil[axis]
        flat = coord if flat is None else flat * sizes[axis] + coord
    return flat if batched else flat.squeeze(0)


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of ``(N, C, L)``. As in PyTorch, ``return_indices``
    takes the 2-D path (its checks and error texts) on a height-1 input."""
    if not return_indices:
        geometry = _max_pool1d_geometry(input, kernel_size, stride, padding, dilation, ceil_mode)
        return _max_pool(input, 1, geometry, False)
    k, s, p, d = _one_int_arguments(
        "max_pool1d", input, kernel_size=kernel_size, stride=stride, padding=padding,
        dilation=dilation,
    )  # fmt: skip
    s = k if s is None else s
    x = input.unsqueeze(-2)
    geometry = ((1, k), (1, s), (0, p), (1, d))
    out = _pool_shape(x, *geometry, ceil_mode)
    return _max_pool(x, 2, (*geometry, out), True, squeeze=-2)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over sliding windows of ``(N, C, H, W)``."""
    geometry = _pool_arguments("max_pool2d", kernel_size, stride, padding, dilation)
    if input.dim() not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    out = _pool_shape(input, *geometry, ceil_mode)
    return _max_pool(input, 2, (*geometry, out), return_indices)


# --- resampling -----------------------------------------------------------------------------
_INTERPOLATE_MODES = {
    "nearest": None,
    "nearest-exact": None,
    "linear": 1,
    "bilinear": 2,
    "trilinear": 3,
    "bicubic": 2,  # s7-nnact
    "area": None,  # s7-nnact
}
_SIZE_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _float32(value: float) -> float:
    """``value`` rounded to float32, as PyTorch's nearest-neighbour kernels compute."""
    return _struct.unpack("f", _struct.pack("f", value))[0]


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``(N, C, *spatial)`` to ``size`` or by ``scale_factor``:
    ``mode`` ``"nearest"``, ``"nearest-exact"``, ``"linear"`` (3-D input), ``"bilinear"``
    (4-D) or ``"trilinear"`` (5-D), with PyTorch's source-index rules (``align_corners``);
    each axis is one gather (and for the linear modes one blend), so gradients flow back
    through autograd; ``"bicubic"`` (4-D) and ``"area"`` are one matrix product per axis
    (``_functional_resample``). ``antialias`` is not implemented."""
    out_sizes, scales, align = _functional_resample.interpolate_arguments(  # s7-nnact
        input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )
    spatial, sizes = input.dim() - 2, list(input.shape[2:])
    linear_mode = _INTERPOLATE_MODES[mode] is not None
    if min(sizes) <= 0 or (min(out_sizes) <= 0 and mode != "area"):  # area: adaptive pooling
        names = _SIZE_NAMES[spatial]
        shown_in = ", ".join(f"{k}: {v}" for k, v in zip(names, sizes, strict=True))
        shown_out = ", ".join(f"{k}: {v}" for k, v in zip(names, out_sizes, strict=True))
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input "
            f"({shown_in}) {'and ' if spatial == 1 else ''}output ({shown_out})"
        )
    out = input
    for axis in range(spatial):
        n_in, n_out, scale = sizes[axis], out_sizes[axis], scales[axis]
        dim = 2 + axis
        if mode == "bicubic":  # s7-nnact
            out = _functional_resample.cubic_resample(out, dim, n_in, n_out, scale, align)
        elif mode == "area":  # s7-nnact
            out = _functional_resample.area_resample(out, dim, n_in, n_out)
        elif linear_mode:
            out = _linear_resample(out, dim, n_in, n_out, scale, align)
        else:
            out = _take(out, dim, _nearest_indices(n_in, n_out, scale, mode == "nearest-exact"))
    return out


def _take(x: Tensor, dim: int, indices: list[int]) -> Tensor:
    key = (slice(None),) * dim + (_tensor(indices, dtype=_dtypes.int64, device=_device(x)),)
    return x[key]


def _nearest_indices(n_in: int, n_out: int, scale: float | None, exact: bool) -> list[int]:
    """PyTorch's ``nearest_idx`` / ``nearest_neighbor_exact_compute_source_index``: the
    scale is a float32, ``1 / scale_factor`` when one was given, else ``n_in / n_out``."""
    if not exact and n_out == n_in:
        return list(range(n_out))
    if not exact and n_out == 2 * n_in:
        return [i >> 1 for i in range(n_out)]
    s = _float32(1.0 / scale if scale is not None and scale > 0 else n_in / n_out)
    offset = 0.5 if exact else 0.0
    return [min(int(_math.floor(_float32((i + offset) * s))), n_in - 1) for i in range(n_out)]


def _linear_resample(
    x: Tensor, dim: int, n_in: int, n_out: int, scale: float | None, align: bool
) -> Tensor:
    """Linear interpolation along ``dim`` with PyTorch's ``area_pixel_compute_source_index``."""
    if align:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    lower, upper, weights = [], [], []
    for i in range(n_out):
        source = step * i if align else max(step * (i + 0.5) - 0.5, 0.0)
        first = int(source)
        lower.append(first)
        upper.append(first + 1 if first < n_in - 1 else first)
        weights.append(source - first)
    shape = [1] * x.dim()
    shape[dim] = n_out
    w1 = _tensor(weights, dtype=x.dtype, device=_device(x)).reshape(shape)
    return _take(x, dim, lower) * (1 - w1) + _take(x, dim, upper) * w1


# --- normalization --------------------------------------------------------------------------
def _update_running(running: Tensor, value: Tensor, momentum: float) -> None:
    with _no_grad():
        running[...] = running * (1 - momentum) + value.detach() * momentum


def _fused_eval(input: Tensor, *others: Tensor | None) -> bool:
    """Whether evaluation-mode batch norm takes its one-op kernel: every tensor of one dtype
    and device, and no gradient wanted for the running statistics."""
    running = others[:2]
    return not any(t.requires_grad for t in running) and all(
        t is None or (t.dtype == input.dtype and t.device == input.device) for t in others
    )


def _verify_batch_size(size: Any) -> None:
    """PyTorch's ``_verify_batch_size``: normalizing one value per channel is refused."""
    count = size[0]
    for n in size[2:]:
        count *= n
    if count == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (dim 1) by the batch statistics (``training``) or by the
    running ones; in training the running statistics move by ``momentum`` towards the
    batch mean and unbiased variance, in place."""
    if training:
        _verify_batch_size(input.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = input.shape[1] if input.dim() >= 2 else 0
    if input.numel() == 0 and input.dim() >= 2:
        # PyTorch's empty path: no statistics, no checks; a copy keeps the graph
        out = input.clone()
        out = out if weight is None else out * weight[0]
        return out if bias is None else out + bias[0]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
        if t is None and not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    if input.dim() < 2:
        raise IndexError(
            "Dimension out of range (expected to be in range of "
            f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got 1)"
        )
    shape = (1, channels) + (1,) * (input.dim() - 2)
    if training:
        count = input.numel() // channels
        out, mean, var = _batch_norm_train(input, weight, bias, eps)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * (count / (count - 1)), momentum)
        return out
    if _fused_eval(input, running_mean, running_var, weight, bias):
        return _batch_norm_eval(input, running_mean, running_var, weight, bias, eps)
    centered = input - running_mean.reshape(shape)
    scale = (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)  # per channel: one full-size product below
    out = centered * scale
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _normalized_dims(
    function: str,
    input: Tensor,
    normalized_shape: Any,
    affine: tuple[tuple[str, Tensor | None], ...],
) -> tuple[int, ...]:
    """PyTorch's ``_check_layer_norm_inputs``: the trailing dims ``normalized_shape``
    names, which ``weight``/``bias`` (``affine``) must match exactly."""
    if not isinstance(normalized_shape, (tuple, list)) and not (
        isinstance(normalized_shape, Tensor) or hasattr(normalized_shape, "__len__")
    ):
        raise TypeError(
            f"{function}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
            f"not {type(normalized_shape).__name__}"
        )
    shape = tuple(int(n) for n in normalized_shape)
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
            "least one element, but got normalized_shape = []"
        )
    for name, t in affine:
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_text(t.shape)} and normalized_shape = {_shape_text(shape)}"
            )
    k = len(shape)
    if function == "rms_norm" and k > input.dim():
        raise ValueError(f"Input tensor must have at least {k} dimensions, but got {input.dim()}")
    if k > input.dim() or tuple(input.shape[-k:]) != shape:
        expected = _shape_text(["*", *shape])
        if function == "rms_norm":
            expected = "[*" + _shape_text(shape)[1:]
        raise RuntimeError(
            f"Given normalized_shape={_shape_text(shape)}, expected input with shape "
            f"{expected}, but got input of size{_shape_text(input.shape)}"
        )
    return tuple(range(input.dim() - k, input.dim()))


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims (biased variance)."""
    affine = (("weight", weight), ("bias", bias))
    dims = _normalized_dims("layer_norm", input, normalized_shape, affine)
    if input.numel() == 0:
        return _layer_norm_composite(input, dims, weight, bias, eps)
    return _layer_norm_op(input, len(dims), weight, bias, eps)


def _layer_norm_composite(input, dims, weight, bias, eps) -> Tensor:
    """Layer norm from gpugrad ops, for an empty input (which the fused op leaves out)."""
    mean = input.mean(dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


_MACHINE_EPSILON = {
    "float16": 2.0**-10,
    "float32": 2.0**-23,
    "float64": 2.0**-52,
}


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """``x / sqrt(mean(x²) + eps)`` over the trailing dims; ``eps`` defaults to the
    dtype's machine epsilon, as in PyTorch."""
    dims = _normalized_dims("rms_norm", input, normalized_shape, (("weight", weight),))
    if eps is None:
        eps = _MACHINE_EPSILON[input.dtype.name]
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each group of ``channels / num_groups`` channels of every sample."""
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}"
        )
    n, channels = input.shape[0], input.shape[1]
    _verify_batch_size([n * channels // num_groups, num_groups, *input.shape[2:]])
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {_shape_text(input.shape)} and num_groups={num_groups}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != channels):
            shown = weight.shape if weight is not None else (0,)  # PyTorch's text: weight's
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {_shape_text(shown)} and input of shape "
                f"{_shape_text(input.shape)}"
            )
    grouped = input.reshape(n, num_groups, (channels // num_groups) * _math.prod(input.shape[2:]))
    mean = grouped.mean(-1, keepdim=True)
    centered = grouped - mean
    var = (centered * centered).mean(-1, keepdim=True)
    out = (centered * (var + eps).rsqrt()).reshape(*input.shape)
    shape = (1, channels) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# --- distances ------------------------------------------------------------------------------
def _vector_norm(x: Tensor, p: float, dim: Any, keepdim: bool) -> Tensor:
    """``||x||_p`` along ``dim`` whose gradient at a zero vector is 0 (PyTorch's
    subgradient), not the NaN that ``sqrt(0)``'s derivative would give."""
    if p == float("inf"):
        return x.abs().amax(dim, keepdim=keepdim)
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    powered = (x * x) if p == 2 else x.abs() ** p
    total = powered.sum(dim, keepdim=keepdim)
    positive = total > 0
    safe = _where(positive, total, 1.0)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return _where(positive, root, 0.0)


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    norm = _vector_norm(input, p, dim, True)
    return input / norm.clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim``, of ``x1``
    and ``x2`` broadcast together first (as PyTorch does: a size-1 dim of one counts as
    repeated in its norm)."""
    if tuple(x1.shape) != tuple(x2.shape):
        x1, x2 = _broadcast_tensors(x1, x2)
    n1, n2 = _clamped_norm(x1, dim, eps), _clamped_norm(x2, dim, eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """``max(||x||, eps)`` along ``dim`` as PyTorch's ``cosine_similarity`` has it: the
    norm clamped in place without grad, so the norm's own gradient ``x / ||x||`` still
    flows where the clamp is active."""
    norm = _vector_norm(x, 2, dim, True)
    if not norm.requires_grad:
        return norm.clamp(min=eps)
    fixed = norm.detach()
    return norm + (fixed.clamp(min=eps) - fixed)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dim."""
    return _vector_norm(x1 - x2 + eps, p, -1, keepdim)


# --- attention ------------------------------------------------------------------------------
def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(q kᵀ * scale + mask) v``. A boolean mask keeps the ``True`` positions, a
    float mask is added; ``is_causal`` keeps position ``j <= i``."""
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if (
        attn_mask is not None
        and attn_mask.dtype != _dtypes.bool_
        and not (attn_mask.is_floating_point())
    ):
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {_C_NAMES.get(attn_mask.dtype.name, attn_mask.dtype.name)} and "
            f" query.dtype: {_C_NAMES.get(query.dtype.name, query.dtype.name)} instead."
        )
    if enable_gqa and key.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key = _repeat_heads(key, repeat)
        value = _repeat_heads(value, repeat)
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / _math.sqrt(query.shape[-1]) if scale is None else scale
    if dropout_p == 0 and (attn_mask is None or not attn_mask.requires_grad):
        return _attention(query, key, value, scale, attn_mask, is_causal)
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        rows = _arange(length, device=_device(query)).unsqueeze(-1)
        cols = _arange(source, device=_device(query))
        scores = _where(cols <= rows, scores, float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype == _dtypes.bool_:
            scores = _where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


_C_NAMES = {
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
}


def _repeat_heads(t: Tensor, repeat: int) -> Tensor:
    shape = list(t.shape)
    expanded = t.unsqueeze(-3).expand(*shape[:-2], repeat, *shape[-2:])
    return expanded.reshape(*shape[:-3], shape[-3] * repeat, *shape[-2:])


# --- losses ---------------------------------------------------------------------------------
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean squared error ``(input - target)²``; with an elementwise ``weight`` (shaped like
    ``input``) ``"mean"`` divides the weighted sum by ``weight.sum()``, as PyTorch does."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _same_shape_warning(input, target)
    if (
        weight is None
        and input.shape == target.shape
        and input.dtype == target.dtype
        and input.is_floating_point()
    ):
        return _mse_loss(input, target, reduction)  # one MseLossBackward0 node, as PyTorch's
    diff = input - target
    return _weighted_reduce(diff * diff, input, weight, reduction, by_weight=True)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean absolute error ``|input - target|``; ``weight`` as in ``mse_loss``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _same_shape_warning(input, target)
    return _weighted_reduce((input - target).abs(), input, weight, reduction, by_weight=True)


def _weighted_reduce(
    loss: Tensor, input: Tensor, weight: Tensor | None, reduction: str, by_weight: bool
) -> Tensor:
    """``loss * weight`` reduced: PyTorch's weighted ``mse_loss``/``l1_loss`` divide the
    mean by the summed weights (``by_weight``), ``huber_loss`` by the element count."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "mean" and by_weight:
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d² / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _same_shape_warning(input, target)
    diff = input - target
    size = diff.abs()
    if beta == 0:
        return _reduce(size, reduction)
    loss = _where(size < beta, diff * diff * (0.5 / beta), size - 0.5 * beta)
    return _named_node(_reduce(loss, reduction), "SmoothL1LossBackward0", input, target)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """``0.5 d²`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _same_shape_warning(input, target)
    diff = input - target
    size = diff.abs()
    loss = _where(size < delta, diff * diff * 0.5, (size - 0.5 * delta) * delta)
    loss = _weighted_reduce(loss, input, weight, reduction, by_weight=False)
    return loss if weight is not None else _named_node(loss, "HuberLossBackward0", input, target)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """``target * (log(target) - input)`` (0 where ``target`` is 0); ``input`` holds log
    probabilities; ``reduction="batchmean"`` divides the sum by the batch size."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in (*_REDUCTION_NAMES, "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        _warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        log_t = _where(positive, target, 1.0).log()
        loss = _where(positive, target * (log_t - input), -target * input * 0.0)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction)


_TARGET_DTYPES = ("int64", "uint8")


def _class_layout(input: Tensor, target: Tensor, function: str) -> tuple[int, int, Tensor]:
    """Check class-index targets for ``nll_loss``/``cross_entropy``: returns the class dim,
    the number of classes and the target (a 1-element target of a 1-D input made 0-d)."""
    if input.dim() == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if input.dim() == 1 and target.dim() == 1:
        if target.shape[0] != 1:
            raise ValueError(
                f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}"
            )
        target = target.reshape(())  # PyTorch reads a 1-element target as the 0-d one
    class_dim = 0 if input.dim() == 1 else 1
    if input.dim() != 1 and (target.dim() == 0 or target.shape[0] != input.shape[0]):
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.dim() else 1})."
        )
    if input.dim() <= 2 and target.dim() != input.dim() - 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() == 4 and target.dim() != 3:  # PyTorch's nll_loss2d
        raise RuntimeError(
            "only batches of spatial targets supported (3D tensors) but got targets of "
            f"dimension: {target.dim()}"
        )
    expected = tuple(s for i, s in enumerate(input.shape) if i != class_dim)
    if tuple(target.shape) != expected:
        raise RuntimeError(
            f"Expected target size {_shape_text(expected)}, got {_shape_text(target.shape)}"
        )
    if target.dtype.name not in _TARGET_DTYPES:  # PyTorch checks the shapes first
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_scalar_name(target)}"
        )
    return class_dim, input.shape[class_dim], target


def _check_class_weight(weight: Tensor | None, n_classes: int, input: Tensor) -> None:
    """PyTorch's class-weight check, before the targets' (its 1-D/2-D and spatial kernels
    word it differently)."""
    if weight is None or weight.numel() == n_classes:
        return
    if input.dim() <= 2:
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no "
            f"classes but got weight tensor of shape: {_shape_text(weight.shape)}"
        )
    raise RuntimeError("weight tensor should be defined either for all or no classes")


def _check_targets(target: Tensor, ignore_index: int, n_classes: int) -> Tensor:
    """Refuse a class index out of ``[0, n_classes)`` (``ignore_index`` aside); returns the
    mask of the targets not ignored."""
    valid = target != ignore_index
    if target.numel():
        bad = _logical_and(_logical_or(target < 0, target >= n_classes), valid)
        if bool(bad.any()):
            raise IndexError(f"Target {target[bad].reshape(-1)[0].item()} is out of bounds.")
    return valid


def _nll(
    log_p: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    class_dim: int,
    n_classes: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample ``-w[t] log_p[t]``, the per-sample weights ``w[t]`` (0 where ignored) and
    the one-hot mask of the targets."""
    valid = _check_targets(target, ignore_index, n_classes)
    class_shape = [1] * log_p.dim()
    class_shape[class_dim] = n_classes
    classes = _arange(n_classes, device=_device(log_p)).reshape(class_shape)
    chosen = target.unsqueeze(class_dim) == classes
    picked = _where(chosen, log_p, 0.0).sum(class_dim)
    sample_weight = _to_dtype(valid, log_p.dtype)
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {n_classes} classes or no "
                "classes but got weight tensor of shape: "
                f"{_shape_text(weight.shape)}"
            )
        per_class = _where(chosen, weight.reshape(class_shape), 0.0).sum(class_dim)
        sample_weight = per_class * sample_weight
    return -picked * sample_weight, sample_weight, chosen


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """``-input[n, target[n]]`` weighted by ``weight[target[n]]``; ``"mean"`` divides by
    the summed weights of the non-ignored targets."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    class_dim, n_classes, target = _class_layout(input, target, "nll_loss")
    _check_class_weight(weight, n_classes, input)
    if weight is None and input.dim() <= 2 and input.is_floating_point():
        _check_targets(target, ignore_index, n_classes)
        return _nll_loss(input, target, ignore_index, reduction)  # one NllLossBackward0 node
    loss, sample_weight, _ = _nll(input, target, weight, ignore_index, class_dim, n_classes)
    if reduction == "mean":
        return _weighted_mean(loss, sample_weight)
    return _reduce(loss, reduction)


def _weighted_mean(loss: Tensor, sample_weight: Tensor) -> Tensor:
    """``loss.sum() / sample_weight.sum()``; when every target is ignored the value is
    NaN (0 / 0) but the gradient 0, as PyTorch's."""
    total = sample_weight.sum()
    if bool(total != 0):
        return loss.sum() / total
    with _no_grad():
        nan = _full((), float("nan"), dtype=loss.dtype, device=_device(loss))
    return loss.sum() * 0 + nan


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """PyTorch's ``cross_entropy``: ``input`` holds unnormalized scores with the classes
    along dim 1 (dim 0 for a single sample); ``target`` holds class indices (an integer
    tensor, ``ignore_index`` entries skipped) or class probabilities (a float tensor shaped
    like ``input``); ``label_smoothing`` mixes the target with the uniform distribution."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if tuple(target.shape) == tuple(input.shape):  # PyTorch's test for probabilities
        if not target.is_floating_point():
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{_scalar_name(target)}"
            )
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    class_dim, n_classes, target = _class_layout(input, target, "cross_entropy")
    _check_class_weight(weight, n_classes, input)
    log_p = log_softmax(input, class_dim)
    if weight is None and input.dim() <= 2 and label_smoothing <= 0:
        _check_targets(target, ignore_index, n_classes)
        return _nll_loss(log_p, target, ignore_index, reduction)  # NllLossBackward0, as PyTorch's
    nll, sample_weight, _ = _nll(log_p, target, weight, ignore_index, class_dim, n_classes)
    if reduction == "mean":
        nll_reduced = _weighted_mean(nll, sample_weight)
    else:
        nll_reduced = _reduce(nll, reduction)
    if label_smoothing <= 0:
        return nll_reduced
    class_shape = [1] * input.dim()
    class_shape[class_dim] = n_classes
    per_class = log_p if weight is None else log_p * weight.reshape(class_shape)
    valid = _to_dtype(target != ignore_index, log_p.dtype)
    smooth = -per_class.sum(class_dim) * valid
    if reduction == "mean":
        smooth_reduced = _weighted_mean(smooth, sample_weight)
    else:
        smooth_reduced = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll_reduced + smooth_reduced * (label_smoothing / n_classes)


def _cross_entropy_probabilities(
    input: Tensor, target: Tensor, weight: Tensor | None, reduction: str, smoothing: float
) -> Tensor:
    if tuple(target.shape) != tuple(input.shape):
        if input.dim() == 2 and target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(
            f"Expected target size {_shape_text(input.shape)}, got {_shape_text(target.shape)}"
        )
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    log_p = log_softmax(input, class_dim)
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / n_classes
    terms = log_p * target
    if weight is not None:
        class_shape = [1] * input.dim()
        class_shape[class_dim] = n_classes
        terms = terms * weight.reshape(class_shape)
    loss = -terms.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / max(input.numel() // n_classes, 1) if input.numel() else loss.sum()
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` for ``target == 1``, ``max(0, cos(x1, x2) - margin)`` for
    ``target == -1``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input1.dim() != input2.dim() or input1.dim() not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss : 1D or 2D inputs expected, got {input1.dim()}D and "
            f"{input2.dim()}D"
        )
    dim = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    positive = 1 - cos
    negative = (cos - margin).clamp(min=0.0)
    zero = _zeros((), dtype=cos.dtype, device=_device(cos))
    loss = _where(target == 1, positive, zero) + _where(target == -1, negative, zero)
    return _reduce(loss, reduction)


# --- spatial transformers (helper tut): affine_grid, grid_sample ----------------------------
# 2-D (N, C, H, W) and 3-D (N, C, D, H, W) inputs, mode bilinear (trilinear in 3-D) /
# nearest / bicubic (2-D), padding_mode zeros / border / reflection, both align_corners.
# Composites of tensor ops (``gather`` for the taps, ``floor`` on detached coordinates), so
# autograd gives the gradients for input, grid and theta, to any order.

from .._factories import linspace as _linspace  # noqa: E402
from .._factories import ones as _ones  # noqa: E402

_ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)
_UNIT_GRID_WARNING = (
    "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
    "align_corners=True. This is not an intended use case of affine_grid. See the "
    "documentation of affine_grid for details."
)
_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDING_MODES = ("zeros", "border", "reflection")
_BICUBIC_A = -0.75
"""The cubic convolution coefficient PyTorch's bicubic interpolation uses."""


def _grid_align_corners(align_corners: bool | None) -> bool:
    if align_corners is None:
        _warnings.warn(_ALIGN_CORNERS_WARNING, UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coordinates(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    """The normalized coordinates of ``steps`` pixel centres (or corners) in [-1, 1]."""
    values = _linspace(-1.0, 1.0, steps, dtype=like.dtype, device=like.device)
    if not align_corners and steps > 1:
        values = values * ((steps - 1) / steps)
    return values


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (``N, H, W, 2`` or ``N, D, H, W, 3``) of the affine maps ``theta``
    (``N, 2, 3`` or ``N, 3, 4``) for an output of ``size``, for ``grid_sample``."""
    align_corners = _grid_align_corners(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        expected, what = (2, 3), "2D affine matrices of shape Nx2x3"
    elif len(size) == 5:
        expected, what = (3, 4), "3D affine matrices of shape Nx3x4"
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if theta.dim() != 3 or tuple(theta.shape[1:]) != expected or theta.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {what} for size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(spatial) == 1:
        _warnings.warn(_UNIT_GRID_WARNING, UserWarning, stacklevel=2)
    # coordinates run x (last spatial dim) first, as PyTorch orders them
    axes = [_base_coordinates(n, align_corners, theta) for n in reversed(spatial)]
    shape = tuple(reversed(spatial))
    columns = []
    for position, axis in enumerate(axes):
        view = [1] * len(axes)
        view[position] = axis.shape[0]
        columns.append(axis.reshape(*view).expand(*shape))
    columns.append(_ones(shape, dtype=theta.dtype, device=theta.device))
    # (x, y[, z], 1) per point, points laid out in (D,) H, W order
    base = _stack(columns, dim=-1).permute(*reversed(range(len(axes))), len(axes))
    points = base.reshape(1, -1, len(axes) + 1)
    grid = points.matmul(theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, len(axes))


def _grid_unnormalize(coordinate: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coordinate + 1) / 2 * (size - 1)
    return ((coordinate + 1) * size - 1) / 2


def _grid_reflect(coordinate: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """PyTorch's ``reflect_coordinates``: fold ``coordinate`` into [low, high]."""
    if twice_low == twice_high:
        return coordinate * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    distance = (coordinate - low).abs()
    flips = (distance.detach() / span).floor()
    extra = distance - flips * span
    even = flips.remainder(2) == 0
    return _where(even, extra + low, span - extra + low)


def _grid_pad_coordinate(coordinate: Tensor, size: int, padding_mode: str, align_corners: bool):
    if padding_mode == "border":
        return coordinate.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coordinate = _grid_reflect(coordinate, 0, 2 * (size - 1))
        else:
            coordinate = _grid_reflect(coordinate, -1, 2 * size - 1)
        return coordinate.clamp(0, size - 1)
    return coordinate


def _gather_taps(flat: Tensor, indices: list[Tensor], sizes: tuple[int, ...]) -> Tensor:
    """``input`` at integer positions ``indices`` (one per spatial dim, each ``N, P``),
    zero where a position lies outside; shape ``N, C, P``."""
    inside = None
    flat_index = None
    for index, size in zip(indices, sizes, strict=True):
        ok = (index >= 0) & (index < size)
        inside = ok if inside is None else inside & ok
        clamped = index.clamp(0, size - 1)
        flat_index = clamped if flat_index is None else flat_index * size + clamped
    n, c = flat.shape[0], flat.shape[1]
    gathered = flat.gather(2, flat_index.unsqueeze(1).expand(n, c, flat_index.shape[1]))
    return gathered * inside.unsqueeze(1).to(flat.dtype)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """The four cubic-convolution weights of the taps at -1, 0, 1, 2 for offset ``t``."""
    a = _BICUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in _GRID_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _GRID_PADDING_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if input.dim() not in (4, 5):
        raise RuntimeError(
            f"grid_sampler(): expected 4D or 5D input and grid with same number of "
            f"dimensions, but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    spatial = input.dim() - 2
    if grid.dim() != input.dim() or grid.shape[-1] != spatial:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {spatial} in last dimension, but got "
            f"grid with sizes {list(grid.shape)}"
        )
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid and input to have same batch size, but got input "
            f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    if grid.dtype != input.dtype:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to have the same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    if grid.device != input.device:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to be on same device, but input is on "
            f"{input.device} and grid is on {grid.device}"
        )
    if mode == "bicubic" and spatial != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """``input`` sampled at the normalized positions ``grid`` (x, y[, z] in [-1, 1] per
    output point): the output is ``N, C, *grid.shape[1:-1]``."""
    _check_grid_sample(input, grid, mode, padding_mode)
    align_corners = _grid_align_corners(align_corners)
    n, c = input.shape[0], input.shape[1]
    sizes = tuple(input.shape[2:])  # (D,) H, W
    out_spatial = tuple(grid.shape[1:-1])
    flat = input.reshape(n, c, -1)
    points = grid.reshape(n, -1, len(sizes))
    # grid's last dim is x (W), y (H)[, z (D)]: reverse to follow ``sizes``
    coordinates = []
    for dim, size in enumerate(sizes):
        coordinate = _grid_unnormalize(points[..., len(sizes) - 1 - dim], size, align_corners)
        if mode != "bicubic":
            coordinate = _grid_pad_coordinate(coordinate, size, padding_mode, align_corners)
        coordinates.append(coordinate)
    if mode == "nearest":
        indices = [x.detach().round().long() for x in coordinates]
        out = _gather_taps(flat, indices, sizes) + _zero_gradient_path(points)
    elif mode == "bilinear":
        lows = [x.detach().floor() for x in coordinates]
        fractions = [x - low for x, low in zip(coordinates, lows, strict=True)]
        out = 0
        for corner in _itertools.product((0, 1), repeat=len(sizes)):
            weight = 1
            indices = []
            for offset, low, fraction in zip(corner, lows, fractions, strict=True):
                weight = weight * (fraction if offset else 1 - fraction)
                indices.append(low.long() + offset)
            out = out + _gather_taps(flat, indices, sizes) * weight.unsqueeze(1)
    else:
        out = _grid_bicubic(flat, coordinates, sizes, padding_mode, align_corners)
    return out.reshape(n, c, *out_spatial)


def _zero_gradient_path(points: Tensor) -> Tensor:
    """Zeros (``N, 1, P``) that pass ``points`` a zero gradient: ``nearest`` sampling is
    flat in the grid, and PyTorch gives the grid a zero gradient rather than none. A
    ``where`` that never picks ``points`` keeps an inf or NaN in them out of the values."""
    picked = points.sum(-1, keepdim=True).transpose(1, 2)
    never = _zeros(picked.shape, dtype=_dtypes.bool_, device=picked.device)
    return _where(never, picked, 0.0)


def _grid_bicubic(flat, coordinates, sizes, padding_mode: str, align_corners: bool) -> Tensor:
    """Sixteen taps around each point, their positions padded one by one (PyTorch's rule
    for bicubic sampling), weighted by the cubic convolution of the offsets."""
    y, x = coordinates
    y0, x0 = y.detach().floor(), x.detach().floor()
    wy, wx = _cubic_weights(y - y0), _cubic_weights(x - x0)
    out = 0
    for i in range(4):
        yi = _tap_index(y0 + (i - 1), sizes[0], padding_mode, align_corners)
        for j in range(4):
            xj = _tap_index(x0 + (j - 1), sizes[1], padding_mode, align_corners)
            tap = _gather_taps(flat, [yi, xj], sizes)
            out = out + tap * (wy[i] * wx[j]).unsqueeze(1)
    return out


def _tap_index(position: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    return _grid_pad_coordinate(position, size, padding_mode, align_corners).long()


__all__ += ["affine_grid", "grid_sample"]


# --- s7-nnloss: the rest of the loss zoo (gpugrad/nn/_functional_losses.py) ----------------
from ._functional_losses import (  # noqa: E402
    ctc_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ += [
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


# --- s7-nnact: activations, dropouts, shuffles, resampling (gpugrad/nn/_functional_*.py) ---
from ..ops.nn_activation import apply_composite_inplace as _apply_composite_inplace  # noqa: E402
from . import _functional_activation, _functional_resample  # noqa: E402
from ._functional_activation import *  # noqa: E402,F403
from ._functional_resample import *  # noqa: E402,F403


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return _apply_composite_inplace(elu, input, alpha)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _apply_composite_inplace(hardtanh, input, min_val, max_val)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return _apply_composite_inplace(leaky_relu, input, negative_slope)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)`` (gradient 0 at both bounds, as PyTorch's)."""
    if input.dtype == _dtypes.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if not input.dtype.is_floating_point:  # an integer input stays integer, as PyTorch's
        return input.clamp_(0, 6) if inplace else input.clamp(0, 6)
    return hardtanh_(input, 0.0, 6.0) if inplace else hardtanh(input, 0.0, 6.0)


def _deprecated_upsample(name: str) -> None:
    _warnings.warn(
        f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=3,
    )


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode, align_corners)``."""
    _deprecated_upsample("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")``."""
    _deprecated_upsample("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="bilinear",
    align_corners=True)``."""
    _deprecated_upsample("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ += [
    *_functional_activation.__all__,
    *_functional_resample.__all__,
    "elu_",
    "hardtanh_",
    "leaky_relu_",
    "relu6",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]
