"""The code of ``gpugrad.nn.utils.rnn`` (which re-exports it): batches of variable-length
sequences, padded or packed, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` holds the time steps of a batch sorted by decreasing length, step
after step: ``data[offset_t : offset_t + batch_sizes[t]]`` are the rows of the
``batch_sizes[t]`` sequences still running at step ``t``. ``nn.RNN`` / ``LSTM`` / ``GRU``
take one and return one (``gpugrad/nn/modules/rnn.py``). Packing and padding are slices,
``cat`` and ``index_select``, so gradients flow through them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from .._factories import arange, as_tensor, empty_like, full
from .._tensor import Tensor
from ..backends import dtypes as _dtypes
from ..ops.shape import cat, stack

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(optional: Any, fn: Any) -> Any:
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """A packed batch of sequences: ``data`` (all steps' rows, step after step),
    ``batch_sizes`` (a CPU int64 tensor: how many sequences run at each step),
    ``sorted_indices`` / ``unsorted_indices`` (the permutation to and from length order,
    ``None`` when the batch came sorted). Made by ``pack_padded_sequence`` /
    ``pack_sequence``, not by hand."""

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence"
                )
        else:  # PackedSequence((data, batch_sizes), sorted_indices)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(*args, **kwargs)``, with the index tensors moved to its device
        (``batch_sizes`` stays on the CPU); ``self`` when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t: Tensor) -> Tensor:
            return t.to(data.device)

        return type(self)(
            data,
            self.batch_sizes,
            _bind(self.sorted_indices, move),
            _bind(self.unsorted_indices, move),
        )

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The sequence with ``data`` on a CUDA device."""
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The sequence with ``data`` on the CPU."""
        return self.to("cpu")

    def double(self) -> PackedSequence:
        """``data`` as float64."""
        return self.to(dtype=_dtypes.float64)

    def float(self) -> PackedSequence:
        """``data`` as float32."""
        return self.to(dtype=_dtypes.float32)

    def half(self) -> PackedSequence:
        """``data`` as float16."""
        return self.to(dtype=_dtypes.float16)

    def long(self) -> PackedSequence:
        """``data`` as int64."""
        return self.to(dtype=_dtypes.int64)

    def int(self) -> PackedSequence:
        """``data`` as int32."""
        return self.to(dtype=_dtypes.int32)

    def short(self) -> PackedSequence:
        """``data`` as int16."""
        return self.to(dtype=_dtypes.int16)

    def char(self) -> PackedSequence:
        """``data`` as int8."""
        return self.to(dtype=_dtypes.int8)

    def byte(self) -> PackedSequence:
        """``data`` as uint8."""
        return self.to(dtype=_dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` is on a CUDA device."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """Whether ``data`` is in pinned memory."""
        return self.data.is_pinned()


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0 .. n-1`` (``None`` for ``None``)."""
    if permutation is None:
        return None
    output = empty_like(permutation)
    output.scatter_(0, permutation, arange(permutation.numel(), device=permutation.device))
    return output


def _int64_lengths(lengths: Tensor | Iterable[int]) -> list[int]:
    """``lengths`` checked as PyTorch's ``_pack_padded_sequence`` does, as a list."""
    if not isinstance(lengths, Tensor):
        return [int(n) for n in lengths]
    if lengths.device.type != "cpu" or lengths.dim() != 1:
        kind = "cuda:0" if lengths.device.type == "cuda" else "cpu"
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.dim()}D {kind} Long tensor"
        )
    return [int(n) for n in lengths.to(dtype=_dtypes.int64).tolist()]


def _pack(input: Tensor, lengths: list[int], batch_first: bool) -> tuple[Tensor, Tensor]:
    """``_VF._pack_padded_sequence``: ``input`` ``(T, B, *)`` (sorted by length) to packed
    ``data`` and ``batch_sizes``."""
    if batch_first:
        input = input.transpose(0, 1)
    batch = input.shape[1]
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if len(lengths) != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
            f"(batch_size={batch})"
        )
    if lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if any(a < b for a, b in zip(lengths, lengths[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX "
            "exportability."
        )
    if lengths[0] > input.shape[0]:  # PyTorch reads past the tensor here
        raise RuntimeError(
            f"pack_padded_sequence: the longest length ({lengths[0]}) exceeds the padded "
            f"sequence length ({input.shape[0]})"
        )
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0])]
    data = cat([input[t, :size] for t, size in enumerate(batch_sizes)], 0)
    return data, as_tensor(batch_sizes, dtype="int64")


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | list[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences
    of ``lengths``; with ``enforce_sorted=False`` the batch need not come sorted by
    decreasing length (the permutation is kept in the result)."""
    sizes = _int64_lengths(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = sorted(range(len(sizes)), key=lambda i: -sizes[i])  # stable, as PyTorch's
        sizes = [sizes[i] for i in order]
        sorted_indices = as_tensor(order, dtype="int64", device=input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    data, batch_sizes = _pack(input, sizes, batch_first)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: the padded batch ``(T, B, *)`` (``(B, T, *)`` with
    ``batch_first``; ``T`` is ``total_length`` when given) filled with ``padding_value``,
    and the lengths as a CPU int64 tensor, in the batch's original order."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_seq_length}"
            )
        max_seq_length = total_length
    batch = batch_sizes[0]
    steps, offset = [], 0
    for size in batch_sizes:
        rows = data[offset : offset + size]
        offset += size
        if size < batch:
            fill = full((batch - size, *data.shape[1:]), padding_value, dtype=data.dtype)
            rows = cat([rows, fill.to(data.device)], 0)
        steps.append(rows)
    if max_seq_length > len(batch_sizes):
        fill = full((batch, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
        steps += [fill] * (max_seq_length - len(batch_sizes))
    padded = stack(steps, 1 if batch_first else 0)
    lengths = as_tensor(
        [sum(1 for size in batch_sizes if size > b) for b in range(batch)], dtype="int64"
    )
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, unsorted_indices)
        lengths = lengths[unsorted_indices.cpu()]
    return padded, lengths


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


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False
) -> list[Tensor]:
    """Split a padded batch back into its sequences: the first ``lengths[i]`` steps of
    each. (PyTorch transposes a time-first ``padded_sequences`` in place; gpugrad leaves
    the argument as it was.)"""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[: int(n)] for seq, n in zip(padded_sequences, lengths.tolist())]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shapes ``(L_i, *)``: ``pad_sequence`` then
    ``pack_padded_sequence``."""
    lengths = as_tensor([v.size(0) for v in sequences], dtype="int64")
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a ``PackedSequence`` holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
