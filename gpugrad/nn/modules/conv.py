"""Convolutions: ``Conv1d``, ``Conv2d``, ``Conv3d`` and ``ConvTranspose1d/2d/3d``."""

from __future__ import annotations

from typing import Any

from ..._tensor import Size, Tensor
from .. import functional as F
from ._parameters import add_parameter, reset_fan_in_uniform_
from .module import Module, non_default_repr

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * n


class _ConvNd(Module):
    """What the convolutions share: PyTorch's arguments (the constructor is ``Conv1d``'s and
    ``Conv2d``'s; ``ConvTranspose2d`` sets its ``output_padding`` after), parameters,
    initialization and repr. ``weight`` is ``(out, in / groups, *kernel)`` (``(in, out /
    groups, *kernel)`` when transposed); both are drawn from U(-1/sqrt(fan_in),
    1/sqrt(fan_in)), as in PyTorch."""

    _spatial = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        n = self._spatial
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}"
                )
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.transposed = self._transposed
        self.output_padding = (0,) * n
        self.groups = groups
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        add_parameter(self, "weight", shape, dtype=dtype, device=device)
        add_parameter(self, "bias", (out_channels,), bias, dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_fan_in_uniform_(self.weight, self.bias, zero_bias_without_fan_in=False)

    def _padded(self, input: Tensor) -> tuple[Tensor, Any]:
        """The input padded by ``padding_mode`` (non-zero modes) and the padding left for
        the convolution itself."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if isinstance(self.padding, str):
            pads = F._conv_padding(self.padding, self.kernel_size, self.dilation, self.stride)
        else:
            pads = [(p, p) for p in self.padding]
        flat: list[int] = []
        for before, after in reversed(pads):
            flat += [before, after]
        return F.pad(input, flat, mode=self.padding_mode), 0

    def extra_repr(self) -> str:
        n = self._spatial
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        zeros = (0,) * n
        text += non_default_repr(
            self, {"padding": zeros, "dilation": (1,) * n, "output_padding": zeros, "groups": 1}
        )
        if self.bias is None:
            text += ", bias=False"
        return text + non_default_repr(self, {"padding_mode": "zeros"})


class _ConvForward(_ConvNd):
    """A convolution's forward: ``padding_mode`` applied, then the functional form named
    by ``_function``."""

    _function = "conv2d"

    def forward(self, input: Tensor) -> Tensor:
        x, padding = self._padded(input)
        return getattr(F, self._function)(
            x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups
        )


class Conv1d(_ConvForward):
    """1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``)."""

    _spatial = 1
    _function = "conv1d"


class Conv2d(_ConvForward):
    """2-D convolution over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``)."""


class Conv3d(_ConvForward):
    """3-D convolution over ``(N, C_in, D, H, W)`` (or unbatched ``(C_in, D, H, W)``)."""

    _spatial = 3
    _function = "conv3d"


class _ConvTransposeNd(_ConvNd):
    """The transpose (gradient) of a convolution as a layer; ``weight`` is ``(C_in, C_out
    / groups, *kernel)``. Only ``padding_mode="zeros"``, as in PyTorch."""

    _transposed = True
    _function = "conv_transpose2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip
        self.output_padding = _ntuple(output_padding, self._spatial)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return getattr(F, self._function)(
            input, self.weight, self.bias, self.stride, self.padding, output_padding,
            self.groups, self.dilation,
        )  # fmt: skip

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """PyTorch's ``_output_padding``: the padding that gives ``output_size``."""
        n = self._spatial
        batch_dims = 2 if input.dim() == n + 2 else 1
        size = list(output_size)
        if len(size) == batch_dims + n:
            size = size[batch_dims:]
        if len(size) != n:
            raise ValueError(
                f"ConvTranspose{n}D: for {input.dim()}D input, output_size must have {n} or "
                f"{batch_dims + n} elements (got {len(size)})"
            )
        smallest = [
            (input.shape[d - n] - 1) * self.stride[d]
            - 2 * self.padding[d]
            + self.dilation[d] * (self.kernel_size[d] - 1)
            + 1
            for d in range(n)
        ]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride, strict=True)]
        for d in range(n):
            if not smallest[d] <= size[d] <= largest[d]:
                raise ValueError(
                    f"requested an output size of {list(output_size)}, but valid sizes range "
                    f"from {smallest} to {largest} (for an input of {Size(input.shape[2:])!r})"
                )
        return tuple(s - m for s, m in zip(size, smallest, strict=True))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution of ``(N, C_in, L)``."""

    _spatial = 1
    _function = "conv_transpose1d"


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution of ``(N, C_in, H, W)``."""


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution of ``(N, C_in, D, H, W)``."""

    _spatial = 3
    _function = "conv_transpose3d"
