"""The rest of PyTorch's loss zoo for ``gpugrad.nn.functional`` (helper s7-nnloss).

Every loss here is a composite of registry ops, so autograd gives its gradients (to any
order) and it runs on CUDA unchanged, except ``ctc_loss``: its alpha/beta recursion runs
as array ops over the time steps inside a custom ``Function`` whose backward is PyTorch's
formula (``exp(log_probs) - posterior``, the gradient PyTorch's own CTC returns, which is
exact through a ``log_softmax``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .._factories import arange, tensor
from .._factories import full as filled
from .._grad_mode import is_grad_enabled, no_grad
from .._tensor import Tensor
from ..autograd.function import Function
from ..backends import dtypes
from ..ops.elementwise import logical_and, maximum, minimum, where
from ..ops.linalg import vector_norm
from ..ops.nn import softplus
from ..ops.shape import cat, stack
from ._reduction import check_reduction, legacy_reduction
from ._reduction import reduce as apply_reduction

__all__ = [
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


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _reduction(size_average: Any, reduce_flag: Any, reduction: str) -> str:
    return check_reduction(legacy_reduction(size_average, reduce_flag, reduction))


def _check_long_target(target: Tensor) -> None:
    if target.dtype.name != "int64":
        raise RuntimeError(
            f"expected scalar type Long but found {dtypes.SCALAR_TYPE_NAMES[target.dtype.name]}"
        )


def _zero(like: Tensor) -> Tensor:
    return filled((), 0.0, dtype=like.dtype, device=like.device)


# --- margin and hinge losses ----------------------------------------------------------------
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``x`` where ``target == 1``, ``max(0, margin - x)`` where ``target == -1`` (the two
    terms add where ``target`` is neither, as PyTorch's kernel does)."""
    reduction = _reduction(size_average, reduce, reduction)
    zero = _zero(input)
    margin_term = where(target != 1, (margin - input).clamp(min=0.0), zero)
    self_term = where(target != -1, input, zero)
    return apply_reduction(margin_term + self_term, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} "
        )
    return apply_reduction((-target * (input1 - input2) + margin).clamp(min=0.0), reduction)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``log(1 + exp(-target * input))`` (a softplus, so large margins do not overflow)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "The function 'soft_margin_loss' is not differentiable with respect to argument "
            "'target'. This input cannot have requires_grad True."
        )
    return apply_reduction(softplus(-input * target, 1.0, math.inf), reduction)


def _check_multi_margin(input: Tensor, target: Tensor, weight: Tensor | None) -> tuple[int, int]:
    """PyTorch's shape checks of ``multi_margin_loss``; returns (samples, classes)."""
    ndim = input.dim()
    if not (
        (ndim == 2 and input.shape[1] != 0) or (ndim == 1 and input.shape[0] != 0) or ndim == 0
    ):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{_shape_text(input.shape)}"
        )
    n_samples = input.shape[0] if ndim == 2 else 1
    n_classes = input.shape[-1] if ndim else 1
    if target.dim() > 1 or target.numel() != n_samples:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{n_samples}], but got "
            f"{_shape_text(target.shape)}. Input has shape {_shape_text(input.shape)}."
        )
    if weight is not None and (weight.dim() > 1 or weight.numel() != n_classes):
        raise RuntimeError(
            f"inconsistent weight size, expected {n_classes} but got {_shape_text(weight.shape)}"
        )
    return n_samples, n_classes


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x[y] + x[j])^p / C`` per
    sample, each term weighted by ``weight[y]``."""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    n_samples, n_classes = _check_multi_margin(input, target, weight)
    _check_long_target(target)
    if target.numel() and bool(((target < 0) | (target >= n_classes)).any()):
        raise RuntimeError("target out of range")
    scores = input.reshape(n_samples, n_classes)
    labels = target.reshape(n_samples, 1)
    chosen = scores.gather(1, labels)
    hinge = (margin - chosen + scores).clamp(min=0.0)
    if p == 2:
        hinge = hinge * hinge
    classes = arange(n_classes, device=input.device).reshape(1, n_classes)
    hinge = where(classes == labels, _zero(hinge), hinge)
    if weight is not None:
        hinge = hinge * weight.to(hinge.dtype)[labels.reshape(-1)].reshape(n_samples, 1)
    loss = hinge.sum(1) / n_classes
    if input.dim() < 2:
        loss = loss.reshape(())
    return apply_reduction(loss, reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-label hinge loss: ``sum_{j in y, i not in y} max(0, 1 - (x[j] - x[i])) / C``
    where ``y`` is each row of ``target`` up to its first ``-1``."""
    reduction = _reduction(size_average, reduce, reduction)
    ndim = input.dim()
    if not (
        (ndim == 2 and input.shape[1] != 0) or (ndim == 1 and input.shape[0] != 0) or ndim == 0
    ):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{_shape_text(input.shape)}"
        )
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(
            f"inconsistent target size: {_shape_text(target.shape)} for input of size: "
            f"{_shape_text(input.shape)}"
        )
    _check_long_target(target)
    n_classes = input.shape[-1] if ndim else 1
    scores = input.reshape(-1, n_classes)
    labels = target.reshape(-1, n_classes)
    if labels.numel() and bool(((labels < -1) | (labels >= n_classes)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    # A label counts while no -1 came before it in its row.
    before_end = (labels == -1).cumsum(1) == 0
    classes = arange(n_classes, device=input.device)
    # is_target[n, c]: class c is one of row n's labels.
    matches = logical_and(
        labels.unsqueeze(2) == classes.reshape(1, 1, n_classes), before_end.unsqueeze(2)
    )
    is_target = matches.any(1)
    target_scores = scores.gather(1, labels.clamp(min=0))  # (N, C): x[y_j]
    hinge = (1 - target_scores.unsqueeze(2) + scores.unsqueeze(1)).clamp(min=0.0)  # [n, j, i]
    keep = logical_and(before_end.unsqueeze(2), ~is_target.unsqueeze(1))
    loss = where(keep, hinge, _zero(hinge)).sum((1, 2)) / n_classes
    if ndim < 2:
        loss = loss.reshape(())
    return apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``-mean_c(target log σ(x) + (1 - target) log σ(-x))`` per sample, each class term
    weighted by ``weight``."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    loss = target * softplus(-input, 1.0, math.inf) + (1 - target) * softplus(input, 1.0, math.inf)
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return apply_reduction(loss, reduction)


# --- likelihood losses ----------------------------------------------------------------------
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``exp(input) - target * input`` (``log_input``) or ``input - target * log(input +
    eps)``; ``full`` adds Stirling's term ``t log t - t + log(2πt)/2`` where ``t > 1``."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = where(big, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(big, stirling, _zero(stirling))
    return apply_reduction(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """``(log(max(var, eps)) + (input - target)² / max(var, eps)) / 2`` (plus
    ``log(2π)/2`` when ``full``); ``var`` may lack the last dim or have one dim of size 1.
    The clamp is outside the graph, as PyTorch's: ``var`` gets its gradient through it."""
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _filled_like(input, float(var))
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and (
            sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    with no_grad():
        lifted = var.detach().clamp(min=eps) - var.detach()
    var = var + lifted
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return apply_reduction(loss, reduction)


def _filled_like(input: Tensor, value: float) -> Tensor:
    return filled(tuple(input.shape), value, dtype=input.dtype, device=input.device)


# --- triplet losses -------------------------------------------------------------------------
def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    """``F.pairwise_distance``: ``||x1 - x2 + eps||_p`` along the last dim (with the 0
    subgradient at 0)."""
    return vector_norm(x1 - x2 + eps, p, -1)


def _check_triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == p and p == n):
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs"
        )


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the ``p``-norm pairwise distance;
    ``swap`` uses ``min(d(a, n), d(p, n))``."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    return triplet_margin_with_distance_loss(
        anchor,
        positive,
        negative,
        distance_function=lambda x, y: _pairwise_distance(x, y, p, eps),
        margin=margin,
        swap=swap,
        reduction=reduction,
    )


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` for any distance ``d`` (default: pairwise
    Euclidean distance); ``swap`` uses ``min(d(a, n), d(p, n))``."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    if distance_function is None:
        distance_function = lambda x, y: _pairwise_distance(x, y, 2.0, 1e-6)  # noqa: E731
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    if swap:
        dist_neg = minimum(dist_neg, distance_function(positive, negative))
    return apply_reduction((margin + dist_pos - dist_neg).clamp(min=0.0), reduction)


# --- CTC ------------------------------------------------------------------------------------
def _lengths(values: Any, name: str) -> list[int]:
    """``input_lengths``/``target_lengths`` as Python ints (a tensor, a list or a tuple)."""
    if isinstance(values, Tensor):
        if values.is_floating_point() or values.dtype.name in ("bool", "complex64", "complex128"):
            raise RuntimeError(f"{name} must be integral")
        return [int(v) for v in values.reshape(-1).tolist()]
    if isinstance(values, int):
        raise TypeError(f"ctc_loss(): {name} must be a tuple of ints or a Tensor, not int")
    return [int(v) for v in values]


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """``log(exp(a) + exp(b))`` that is ``-inf`` (not NaN) where both are ``-inf``."""
    high = maximum(a, b)
    finite = high > -math.inf
    base = where(finite, high, 0.0)
    total = (a - base).exp() + (b - base).exp()
    return where(finite, base + total.log(), high)


def _shift(x: Tensor, by: int) -> Tensor:
    """``x`` moved ``by`` places along its last dim (towards higher indices, ``by > 0``)
    with ``-inf`` filled in."""
    width = x.shape[-1]
    if abs(by) >= width:
        return filled(tuple(x.shape), -math.inf, dtype=x.dtype, device=x.device)
    pad = filled((*x.shape[:-1], abs(by)), -math.inf, dtype=x.dtype, device=x.device)
    if by > 0:
        return cat([pad, x[..., :-by]], -1)
    return cat([x[..., -by:], pad], -1)


class CtcLoss(Function):
    """Per-sample negative log likelihood of the CTC alignments (forward: alpha recursion;
    backward: beta recursion and PyTorch's gradient formula)."""

    @staticmethod
    def forward(ctx, log_probs, labels, skip, input_lengths, target_lengths, zero_infinity):
        steps, batch, _ = log_probs.shape
        width = labels.shape[1]
        device = log_probs.device
        emit = log_probs.gather(2, labels.unsqueeze(0).expand(steps, batch, width))  # (T, N, L)
        positions = arange(width, device=device).reshape(1, width)
        tl = tensor(target_lengths, dtype="int64", device=device).reshape(batch, 1)
        il = tensor(input_lengths, dtype="int64", device=device).reshape(batch, 1)
        ninf = filled((), -math.inf, dtype=log_probs.dtype, device=device)
        alpha = where(positions < 2, emit[0], ninf)  # may start on the blank or the first label
        alphas = [alpha]
        for t in range(1, steps):
            step = _logaddexp(
                _logaddexp(alpha, _shift(alpha, 1)), where(skip, _shift(alpha, 2), ninf)
            )
            step = step + emit[t]
            alpha = where(il > t, step, alpha)  # a finished sequence keeps its last alpha
            alphas.append(alpha)
        last = alpha.gather(1, 2 * tl)
        before = where(tl > 0, alpha.gather(1, (2 * tl - 1).clamp(min=0)), ninf)
        nll = -_logaddexp(last, before).reshape(batch)
        # No time steps: the empty target has probability 1, any other 0.
        empty_input = (il == 0).reshape(batch)
        no_alignment = where(tl == 0, 0.0, math.inf).reshape(batch).to(nll.dtype)
        nll = where(empty_input, no_alignment, nll)
        ctx.save_for_backward(log_probs, stack(alphas), emit, nll)
        ctx.extra = (labels, skip, il, tl, positions, zero_infinity)
        if zero_infinity:
            return where(nll == math.inf, _zero(nll), nll)
        return nll

    @staticmethod
    def backward(ctx, grad_nll):
        log_probs, alphas, emit, nll = ctx.saved_tensors
        labels, skip, il, tl, positions, zero_infinity = ctx.extra
        steps, batch, classes = log_probs.shape
        ninf = filled((), -math.inf, dtype=log_probs.dtype, device=log_probs.device)
        end = logical_and(positions >= 2 * tl - 1, positions <= 2 * tl)
        skip_up = _shift_bool(skip)
        beta = where(end, emit[steps - 1], ninf)  # right only for il == T; fixed up below
        betas = [None] * steps
        for t in range(steps - 1, -1, -1):
            starting = where(end, emit[t], ninf)
            if t < steps - 1:
                step = _logaddexp(
                    _logaddexp(beta, _shift(beta, -1)), where(skip_up, _shift(beta, -2), ninf)
                )
                step = step + emit[t]
            else:
                step = starting
            beta = where(il - 1 == t, starting, where(il - 1 > t, step, ninf))
            betas[t] = beta
        log_posterior = alphas + stack(betas)  # (T, N, L): log(alpha * beta) counts emit twice
        # Sum the alignments' occupancy per class (a logsumexp over the positions holding
        # that label), scattered in probability space relative to each step's peak.
        peak = log_posterior.amax(2, keepdim=True)
        base = where(peak > -math.inf, peak, 0.0)
        index = labels.unsqueeze(0).expand(steps, batch, labels.shape[1])
        zeros = filled((steps, batch, classes), 0.0, dtype=log_probs.dtype, device=log_probs.device)
        mass = zeros.scatter_add(2, index, (log_posterior - base).exp())
        occupancy = mass.log() + base
        nll_b = nll.reshape(1, batch, 1)
        grad = log_probs.exp() - (occupancy + nll_b - log_probs).exp()
        times = arange(steps, device=log_probs.device).reshape(steps, 1, 1)
        valid = times < il.reshape(1, batch, 1)
        if zero_infinity:
            valid = logical_and(valid, nll_b != math.inf)
        grad = where(valid, grad, _zero(grad)) * grad_nll.reshape(1, batch, 1)
        return grad, None, None, None, None, None


def _shift_bool(mask: Tensor) -> Tensor:
    """``mask`` moved two places towards lower indices (``skip_up[s] = skip[s + 2]``)."""
    if mask.shape[1] <= 2:
        return filled(tuple(mask.shape), False, dtype="bool", device=mask.device)
    pad = filled((mask.shape[0], 2), False, dtype="bool", device=mask.device)
    return cat([mask[:, 2:], pad], 1)


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist Temporal Classification loss of ``log_probs`` ``(T, N, C)`` (or
    ``(T, C)``) against ``targets`` padded ``(N, S)`` or concatenated (1-D, the sum of
    ``target_lengths``); ``"mean"`` divides each loss by its target length first."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    in_lengths = _lengths(input_lengths, "input_lengths")
    tg_lengths = _lengths(target_lengths, "target_lengths")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.dim() == 1 else targets
    if log_probs.dim() != 3:
        raise RuntimeError("input_lengths must be of size batch_size")
    if not log_probs.is_floating_point():
        raise NotImplementedError(
            f"\"ctc_loss_cpu\" not implemented for '{log_probs.dtype.name.title()}'"
        )
    steps, batch, classes = log_probs.shape
    if len(in_lengths) != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_lengths) != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    for length in in_lengths:
        if length > steps:
            raise RuntimeError(
                f"Expected input_lengths to have value at most {steps}, but got value "
                f"{length} (while checking arguments for ctc_loss_allocate_outputs)"
            )
        if length < 0:
            raise RuntimeError("input_lengths must be non-negative")
    flat = [int(v) for v in targets.reshape(-1).tolist()]
    rows: list[list[int]] = []
    if targets.dim() == 1 and not unbatched:
        if len(flat) != sum(tg_lengths):
            raise RuntimeError(
                f"Expected tensor to have size {sum(tg_lengths)} at dimension 0, but got size "
                f"{len(flat)} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_allocate_outputs)"
            )
        start = 0
        for length in tg_lengths:
            rows.append(flat[start : start + length])
            start += length
    else:
        width = targets.shape[1]
        for n, length in enumerate(tg_lengths):
            if length > width:
                raise RuntimeError(
                    f"Expected tensor to have size at least {length} at dimension 1, but got "
                    f"size {width} for argument #2 'targets' (while checking arguments for "
                    "ctc_loss_allocate_outputs)"
                )
            rows.append(flat[n * width : n * width + length])
    for row in rows:
        for label in row:
            if not 0 <= label < classes or label == blank:
                raise RuntimeError(
                    f"ctc_loss: target label {label} is out of range [0, {classes}) or the blank"
                )
    longest = max(tg_lengths, default=0)
    width = 2 * longest + 1
    labels = [[blank] * width for _ in rows]
    skip = [[False] * width for _ in rows]
    for n, row in enumerate(rows):
        for i, label in enumerate(row):
            labels[n][2 * i + 1] = label
            skip[n][2 * i + 1] = i > 0 and row[i - 1] != label
    device = log_probs.device
    label_tensor = tensor(labels, dtype="int64", device=device).reshape(batch, width)
    skip_tensor = tensor(skip, dtype="bool", device=device).reshape(batch, width)
    nll = CtcLoss.apply(
        log_probs, label_tensor, skip_tensor, in_lengths, tg_lengths, bool(zero_infinity)
    )
    if unbatched:
        nll = nll.reshape(())
    if reduction == "mean":
        divisor = tensor([max(n, 1) for n in tg_lengths], dtype=nll.dtype, device=device)
        return (nll / divisor.reshape(nll.shape)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll
