"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Each layer projects the whole input sequence with one matrix product, then runs the
recurrence one step at a time; gate order and parameter names are PyTorch's (``i f g o``
for LSTM, ``r z n`` for GRU; ``weight_ih_l0``, ``bias_hh_l1_reverse`` …), so state dicts
load either way.
"""

from __future__ import annotations

import math
from typing import Any

from ..._factories import empty, zeros
from ..._tensor import Tensor
from ...ops.nn import _lstm_sequence
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(mode: str, x_proj: Tensor, h: Tensor, c: Tensor | None, w_hh_t, b_hh):
    """One step given the input's projection ``x W_ihᵀ + b_ih`` (plus ``b_hh`` except
    for GRU, whose ``b_hn`` sits inside the reset gate) and ``W_hhᵀ``: returns ``(h, c)``."""
    h_proj = h @ w_hh_t
    if mode == "LSTM":
        gates = x_proj + h_proj
        hidden = c.shape[-1]  # h may be projected (proj_size)
        opened = gates.sigmoid()  # one op for i, f and o (g's share is unused)
        i, f, o = opened[:, :hidden], opened[:, hidden : 2 * hidden], opened[:, 3 * hidden :]
        g = gates[:, 2 * hidden : 3 * hidden].tanh()
        c = f * c + i * g
        return o * c.tanh(), c
    if mode == "GRU":
        if b_hh is not None:
            h_proj = h_proj + b_hh
        hidden = h.shape[-1]
        rz = (x_proj[:, : 2 * hidden] + h_proj[:, : 2 * hidden]).sigmoid()
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = (x_proj[:, 2 * hidden :] + r * h_proj[:, 2 * hidden :]).tanh()
        return n + z * (h - n), None
    pre = x_proj + h_proj
    return (pre.tanh() if mode == "RNN_TANH" else F.relu(pre)), None


def _lstm_layer(projected: Tensor, w_hh: Tensor, h: Tensor, c: Tensor, reverse: bool):
    """One LSTM layer direction over the sequence as one op (``lstm_sequence``: forward
    and backward through time each in one call): ``(h_n, c_n, outputs (T, B, H))``."""
    if reverse:
        projected = projected.flip(0)
    states = _lstm_sequence(projected, w_hh, stack([h, c]))  # (T, 2, B, H)
    sequence = states[:, 0]
    if reverse:
        sequence = sequence.flip(0)
    return states[-1, 0], states[-1, 1], sequence


def _recurrence(
    mode: str,
    steps: list[Tensor],
    h: Tensor,
    c: Tensor | None,
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
    reverse: bool,
) -> tuple[list[Tensor], Tensor, Tensor | None]:
    """One layer direction, step by step over the projected inputs ``steps`` (backwards
    when ``reverse``): returns each step's ``h`` and the final ``(h, c)``. A step with
    fewer rows than ``h`` (a packed sequence's shorter batch) advances only the first
    rows; the others keep their state. With ``w_hr`` (LSTM ``proj_size``),
    ``h = W_hr (o * tanh(c))``."""
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    outputs: list[Tensor] = [None] * len(steps)  # type: ignore[list-item]
    for t in range(len(steps) - 1, -1, -1) if reverse else range(len(steps)):
        size = steps[t].shape[0]
        running = size < h.shape[0]
        h_t = h[:size] if running else h
        c_t = c[:size] if running and c is not None else c
        new_h, new_c = _rnn_step(mode, steps[t], h_t, c_t, w_hh_t, b_hh)
        if w_hr_t is not None:
            new_h = new_h @ w_hr_t
        outputs[t] = new_h
        h = cat([new_h, h[size:]], 0) if running else new_h
        if c is not None:
            c = cat([new_c, c[size:]], 0) if running else new_c
    return outputs, h, c


def _project(mode: str, x: Tensor, w_ih: Tensor, b_ih, b_hh) -> Tensor:
    """``x W_ihᵀ + b_ih`` for all steps at once, with ``b_hh`` folded in where the
    recurrence allows it (not GRU): the two bias vectors are added first, so the
    sequence-sized projection takes one bias add."""
    if b_hh is not None and mode != "GRU":
        b_ih = b_hh if b_ih is None else b_ih + b_hh
    return F.linear(x, w_ih, b_ih)


class RNNBase(Module):
    """The base of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``nn.RNNBase``): ``mode`` is
    ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        output_size = proj_size or hidden_size  # the size of h (LSTM projects it)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else output_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gates, layer_input)), ("weight_hh", (gates, output_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    param = Parameter(empty(*shape, dtype=dtype, device=device))
                    setattr(self, name + suffix, param)
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _layer_params(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (
            get("weight_ih" + suffix),
            get("weight_hh" + suffix),
            get("bias_ih" + suffix),
            get("bias_hh" + suffix),
            get("weight_hr" + suffix),
        )

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        from .._rnn_packing import PackedSequence

        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        is_lstm = self.mode == "LSTM"
        batched = input.dim() == 3
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D "
                "tensor instead"
            )
        self._check_input_size(input)
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (T, B, F)
        h0, c0 = self._initial_states(hx, x.shape[1], input, unbatched=not batched)
        output, h_n, c_n = self._run_layers(x, h0, c0, None)
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return output, ((h_n, c_n) if is_lstm else h_n)

    def _forward_packed(self, packed: Any, hx: Any) -> tuple[Any, Any]:
        """``forward`` on a ``PackedSequence``: at step ``t`` only the first
        ``batch_sizes[t]`` rows (the sequences still running, longest first) advance, so
        each sequence's final state is the one after its own last step (for the reverse
        direction, the rows start from ``h_0`` when their sequence's last step comes).
        ``hx`` and the final states are in the batch's original order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        self._check_input_size(data)
        sizes = [int(n) for n in batch_sizes.tolist()]
        h0, c0 = self._initial_states(hx, sizes[0], data)
        if hx is not None and sorted_indices is not None:
            h0 = h0.index_select(1, sorted_indices)
            c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
        output, h_n, c_n = self._run_layers(data, h0, c0, sizes)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
        output = type(packed)(output, batch_sizes, sorted_indices, unsorted_indices)
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _check_input_size(self, input: Tensor) -> None:
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.shape[-1]}"
            )

    def _initial_states(
        self, hx: Any, batch: int, like: Tensor, unbatched: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """``(h_0, c_0)`` (``c_0`` None except for LSTM): zeros like ``like`` without
        ``hx``, else ``hx`` checked against PyTorch's expected shapes."""
        is_lstm = self.mode == "LSTM"
        layers = self.num_layers * (2 if self.bidirectional else 1)
        state_shape = (layers, batch, self.proj_size or self.hidden_size)
        cell_shape = (layers, batch, self.hidden_size)
        if hx is None:
            device = like._backend.device_str
            h0 = zeros(state_shape, dtype=like.dtype, device=device)
            c0 = zeros(cell_shape, dtype=like.dtype, device=device) if is_lstm else None
            return h0, c0
        h0, c0 = hx if is_lstm else (hx, None)
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        if tuple(h0.shape) != state_shape:
            raise RuntimeError(f"Expected hidden size {state_shape}, got {list(h0.shape)}")
        if c0 is not None and tuple(c0.shape) != cell_shape:
            raise RuntimeError(f"Expected hidden size {cell_shape}, got {list(c0.shape)}")
        return h0, c0

    def _run_layers(
        self, x: Tensor, h0: Tensor, c0: Tensor | None, sizes: list[int] | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Every layer and direction over ``x``: a padded ``(T, B, F)`` sequence
        (``sizes`` None) or a packed one's ``data`` with its ``batch_sizes`` as ``sizes``.
        Returns the last layer's output in the same layout, ``h_n`` and ``c_n``."""
        is_lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        final_h, final_c = [], []
        offsets = [0]
        for size in sizes or ():
            offsets.append(offsets[-1] + size)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(layer, direction)
                index = layer * directions + direction
                h = h0[index]
                c = c0[index] if c0 is not None else None
                projected = _project(self.mode, x, w_ih, b_ih, b_hh)
                if sizes is None and is_lstm and w_hr is None:
                    h, c, sequence = _lstm_layer(projected, w_hh, h, c, reverse=bool(direction))
                elif sizes is None:
                    steps = [projected[t] for t in range(x.shape[0])]
                    hs, h, c = _recurrence(self.mode, steps, h, c, w_hh, b_hh, w_hr, direction)
                    sequence = stack(hs)
                else:
                    steps = [projected[offsets[t] : offsets[t + 1]] for t in range(len(sizes))]
                    hs, h, c = _recurrence(self.mode, steps, h, c, w_hh, b_hh, w_hr, direction)
                    sequence = cat(hs, 0)
                outputs.append(sequence)
                final_h.append(h)
                if is_lstm:
                    final_c.append(c)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, stack(final_h), (stack(final_c) if is_lstm else None)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`` (or ``relu``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


class LSTM(RNNBase):
    """Long short-term memory; ``forward(input, (h_0, c_0))`` returns
    ``output, (h_n, c_n)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's formulation, gates ``r z n``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


class RNNCellBase(Module):
    """The base of ``RNNCell``, ``LSTMCell`` and ``GRUCell`` (PyTorch's
    ``nn.RNNCellBase``): ``num_chunks`` gates of ``hidden_size`` rows each."""

    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(
            empty(num_chunks * hidden_size, input_size, dtype=dtype, device=device)
        )
        self.weight_hh = Parameter(
            empty(num_chunks * hidden_size, hidden_size, dtype=dtype, device=device)
        )
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def _step(self, input: Tensor, h: Tensor | None, c: Tensor | None):
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected "
                f"{self.input_size}"
            )
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        device = input._backend.device_str
        h = zeros(shape, dtype=input.dtype, device=device) if h is None else h
        h = h if batched or h.dim() == 2 else h.unsqueeze(0)
        if self._mode == "LSTM":
            c = zeros(shape, dtype=input.dtype, device=device) if c is None else c
            c = c if batched or c.dim() == 2 else c.unsqueeze(0)
        projected = _project(self._mode, x, self.weight_ih, self.bias_ih, self.bias_hh)
        h, c = _rnn_step(self._mode, projected, h, c, self.weight_hh.t(), self.bias_hh)
        if not batched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return h, c

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """One step of ``RNN``: ``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, None)[0]


class LSTMCell(RNNCellBase):
    """One step of ``LSTM``: returns ``(h', c')``."""

    _mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        h, c = (None, None) if hx is None else hx
        return self._step(input, h, c)


class GRUCell(RNNCellBase):
    """One step of ``GRU``."""

    _mode = "GRU"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, None)[0]
