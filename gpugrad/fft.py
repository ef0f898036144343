"""``gpugrad.fft``: the real parts of PyTorch's ``torch.fft``.

gpugrad has no complex dtypes, so the transforms (``fft``, ``rfft``, ``irfft`` ...), whose
results or inputs are complex, raise ``NotImplementedError``; the sample frequencies and
the shifts (``fftfreq rfftfreq fftshift ifftshift``) are here, as PyTorch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._factories import arange
from ._tensor import Tensor
from .ops.shape import roll

__all__ = ["fftfreq", "fftshift", "ifftshift", "rfftfreq"]


def _check_floating(name: str, dtype: Any) -> None:
    if dtype is not None and not dtype.is_floating_point:
        raise RuntimeError(f"{name} requires a floating point or complex dtype")


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of a signal of size ``n`` and spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d * n)``."""
    _check_floating("fftfreq", dtype)
    index = arange(n, dtype=dtype, device=device)
    shifted = index.where(index < (n - 1) // 2 + 1, index - n)
    return (shifted / (d * n)).requires_grad_(requires_grad)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The sample frequencies of ``rfft`` of a signal of size ``n``:
    ``[0, 1, ..., n // 2] / (d * n)``."""
    _check_floating("rfftfreq", dtype)
    out = arange(n // 2 + 1, dtype=dtype, device=device) / (d * n)
    return out.requires_grad_(requires_grad)


def _dims(input: Tensor, dim: int | Sequence[int] | None) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(input.ndim))
    return (dim,) if isinstance(dim, int) else tuple(dim)


def fftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """``input`` rolled so that the zero frequency is at the centre of each of ``dim``."""
    dims = _dims(input, dim)
    return roll(input, [input.shape[d] // 2 for d in dims], dims)


def ifftshift(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of ``fftshift``."""
    dims = _dims(input, dim)
    return roll(input, [-(input.shape[d] // 2) for d in dims], dims)


def _complex_transform(name: str) -> Any:
    def transform(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError(
            f"gpugrad.fft.{name}: gpugrad has no complex dtypes, so the Fourier transforms "
            "(whose inputs or results are complex) are not available; use numpy.fft on "
            "tensor.numpy() outside autograd"
        )

    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = f"PyTorch's ``torch.fft.{name}``: refused (no complex dtypes)."
    return transform


for _name in [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
]:
    globals()[_name] = _complex_transform(_name)
