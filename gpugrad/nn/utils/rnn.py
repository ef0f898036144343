"""``gpugrad.nn.utils.rnn``: batches of variable-length sequences, padded or packed, as
``torch.nn.utils.rnn``. The code lives in ``gpugrad/nn/_rnn_packing.py``, below
``nn.modules`` (whose recurrent layers take a ``PackedSequence``), since this package's
other modules build on ``nn.modules``."""

from .._rnn_packing import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

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
