"""``gpugrad.nn.functional``: PyTorch's ``torch.nn.functional`` names.

The fused activations and binary cross entropies are declared once in ``gpugrad.ops.nn``
(fused kernels on arrays, composite formulas for ``create_graph``); ``relu``, ``sigmoid``,
``tanh``, ``softmax`` and ``log_softmax`` are gpugrad's own ops; ``mse_loss``,
``cross_entropy`` and ``dropout`` are compositions of gpugrad ops, which autograd
differentiates. Semantics and error messages are PyTorch's, except where a docstring says
otherwise. ``EXTRAS`` names what this module has beyond PyTorch's (nothing today).
"""

import warnings as _warnings

from .._factories import arange as _arange
from .._factories import rand as _rand
from .._tensor import Tensor
from ..ops import elementwise as _elementwise
from ..ops.elementwise import logical_and as _logical_and
from ..ops.elementwise import logical_or as _logical_or
from ..ops.elementwise import sigmoid, tanh
from ..ops.nn import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    gelu,
    softplus,
)
from ..ops.reduce import log_softmax, softmax
from ..ops.transfer import to_dtype as _to_dtype
from ._reduction import check_reduction as _check_reduction
from ._reduction import reduce as _reduce

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "gelu",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]

EXTRAS: tuple[str, ...] = ()
"""Public names here that ``torch.nn.functional`` does not have (documented extras)."""


def _check_legacy(size_average: None, reduce: None) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError(
            "size_average and reduce are deprecated in PyTorch and not supported by gpugrad; "
            "use reduction='none' | 'mean' | 'sum'"
        )


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else _elementwise.relu(input)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: None = None,
    reduce: None = None,
    reduction: str = "mean",
) -> Tensor:
    """Mean squared error ``(input - target)**2``, reduced as ``reduction`` says."""
    _check_legacy(size_average, reduce)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        _warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=4,
        )
    diff = input - target
    return _reduce(diff * diff, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: None = None,
    ignore_index: int = -100,
    reduce: None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """PyTorch's ``cross_entropy``: ``input`` holds unnormalized scores with the classes
    along dim 1 (dim 0 for a single sample); ``target`` holds class indices (an integer
    tensor, ``ignore_index`` entries skipped) or class probabilities (a float tensor shaped
    like ``input``)."""
    _check_legacy(size_average, reduce)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() == 0:
        raise ValueError("cross_entropy expects an input of at least one dimension")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    log_p = log_softmax(input, class_dim)
    class_shape = [1] * input.dim()
    class_shape[class_dim] = n_classes
    w = None
    if weight is not None:
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {n_classes} classes or no classes"
            )
        w = weight.reshape(class_shape)

    if target.is_floating_point():  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(
                f"Expected target size {list(input.shape)}, got {list(target.shape)}"
            )
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        terms = log_p * target
        if w is not None:
            terms = terms * w
        loss = -terms.sum(class_dim)
        if reduction == "mean":
            return loss.sum() / (input.numel() // n_classes if input.numel() else 1)
        return _reduce(loss, reduction)

    expected = tuple(s for i, s in enumerate(input.shape) if i != class_dim)
    if tuple(target.shape) != expected:
        raise ValueError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    valid = target != ignore_index
    out_of_range = _logical_and(_logical_or(target < 0, target >= n_classes), valid)
    if bool(out_of_range.any()):
        bad = target[out_of_range].reshape(-1)[0].item()
        raise IndexError(f"Target {bad} is out of bounds.")
    classes = _arange(n_classes, device=input._backend.device_str).reshape(class_shape)
    one_hot = _to_dtype(target.unsqueeze(class_dim) == classes, log_p.dtype)
    picked = (log_p * one_hot).sum(class_dim)  # log p[target]
    # weight[target] per sample (1 without class weights); 0 where the target is ignored
    valid_weight = _to_dtype(valid, log_p.dtype)
    target_weight = valid_weight if w is None else (one_hot * w).sum(class_dim) * valid_weight
    nll = -picked * target_weight
    nll_reduced = (
        nll.sum() / target_weight.sum() if reduction == "mean" else _reduce(nll, reduction)
    )
    if label_smoothing <= 0:
        return nll_reduced
    smooth = -(log_p * w).sum(class_dim) if w is not None else -log_p.sum(class_dim)
    smooth = smooth * valid_weight
    if reduction == "mean":
        smooth_reduced = smooth.sum() / target_weight.sum()
    else:
        smooth_reduced = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll_reduced + smooth_reduced * (label_smoothing / n_classes)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (only while ``training``)."""
    if inplace:
        raise NotImplementedError("dropout(inplace=True) is not supported; use inplace=False")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = _rand(*input.shape, device=input._backend.device_str) >= p
    return input * _to_dtype(keep, input.dtype) * (1.0 / (1.0 - p))
