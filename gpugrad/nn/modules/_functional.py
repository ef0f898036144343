"""What the modules compute.

Activations and binary cross entropies come from ``gpugrad.nn.functional`` (fused
kernels), imported at call time so that the two modules never import each other at load
time; mean squared error, cross entropy and dropout are compositions of gpugrad ops here,
which autograd differentiates.
"""

from __future__ import annotations

import warnings
from typing import Any

from ... import _factories, _ops, _reductions
from ..._tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _nn_functional() -> Any:
    from .. import functional

    return functional


def check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _nn_functional().relu(input, inplace=inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return _nn_functional().gelu(input, approximate=approximate)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None, reduction: str
) -> Tensor:
    return _nn_functional().binary_cross_entropy(input, target, weight, check_reduction(reduction))


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    reduction: str,
    pos_weight: Tensor | None,
) -> Tensor:
    return _nn_functional().binary_cross_entropy_with_logits(
        input, target, weight, reduction=check_reduction(reduction), pos_weight=pos_weight
    )


def mse_loss(input: Tensor, target: Tensor, reduction: str) -> Tensor:
    check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            stacklevel=4,
        )
    diff = input - target
    return reduce(diff * diff, reduction)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """PyTorch's ``cross_entropy``: ``input`` holds unnormalized scores with the classes
    along dim 1 (dim 0 for a single sample); ``target`` holds class indices (an integer
    tensor, ``ignore_index`` entries skipped) or class probabilities (a float tensor shaped
    like ``input``)."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() == 0:
        raise ValueError("cross_entropy expects an input of at least one dimension")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    log_p = _reductions.log_softmax(input, class_dim)
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
        return reduce(loss, reduction)

    expected = tuple(s for i, s in enumerate(input.shape) if i != class_dim)
    if tuple(target.shape) != expected:
        raise ValueError(f"Expected target size {list(expected)}, got {list(target.shape)}")
    valid = target != ignore_index
    out_of_range = _ops.logical_and(_ops.logical_or(target < 0, target >= n_classes), valid)
    if bool(out_of_range.any()):
        bad = target[out_of_range].reshape(-1)[0].item()
        raise IndexError(f"Target {bad} is out of bounds.")
    classes = _factories.arange(n_classes, device=input._backend.device_str).reshape(class_shape)
    one_hot = _ops.to_dtype(target.unsqueeze(class_dim) == classes, log_p.dtype)
    picked = (log_p * one_hot).sum(class_dim)  # log p[target]
    # weight[target] per sample (1 without class weights); 0 where the target is ignored
    valid_weight = _ops.to_dtype(valid, log_p.dtype)
    target_weight = valid_weight if w is None else (one_hot * w).sum(class_dim) * valid_weight
    nll = -picked * target_weight
    nll_reduced = nll.sum() / target_weight.sum() if reduction == "mean" else reduce(nll, reduction)
    if label_smoothing <= 0:
        return nll_reduced
    smooth = -(log_p * w).sum(class_dim) if w is not None else -log_p.sum(class_dim)
    smooth = smooth * valid_weight
    if reduction == "mean":
        smooth_reduced = smooth.sum() / target_weight.sum()
    else:
        smooth_reduced = reduce(smooth, reduction)
    return (1 - label_smoothing) * nll_reduced + smooth_reduced * (label_smoothing / n_classes)


def dropout(input: Tensor, p: float, training: bool) -> Tensor:
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    keep = _factories.rand(*input.shape, device=input._backend.device_str) >= p
    return input * _ops.to_dtype(keep, input.dtype) * (1.0 / (1.0 - p))
