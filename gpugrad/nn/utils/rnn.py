"""``gpugrad.nn.utils.rnn``: padding a batch of variable-length sequences, as
``torch.nn.utils.rnn`` (packed sequences are not supported)."""

from __future__ import annotations

from collections.abc import Iterable

from ..._factories import full
from ..._tensor import Tensor
from ...ops.shape import cat, stack

__all__ = ["pad_sequence"]


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes ``(L_i, *)`` into one ``(T, B, *)`` tensor (``(B, T, *)``
    with ``batch_first``), ``T`` the longest ``L_i``, filling the rest with
    ``padding_value`` on ``padding_side``. Differentiable in every sequence."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    elif not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = full((missing, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat((s, fill) if padding_side == "right" else (fill, s), 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)
