"""Activation modules: ``ReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``LeakyReLU``, ``ELU``,
``SiLU``, ``Mish``, ``Softplus``, ``Hardtanh``, ``Softmax``, ``LogSoftmax``."""

from __future__ import annotations

import warnings

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]


class _InplaceActivation(Module):
    """An activation that takes ``inplace``: the functional form named by ``_function``,
    called with the attributes named in ``_arguments``, then ``inplace``; the repr lists
    them, then ``inplace=True`` when set."""

    _function = "relu"
    _arguments: tuple[str, ...] = ()

    def __init__(self, inplace: bool = False) -> None:
        self._record(inplace)

    def _record(self, inplace: bool, **arguments: float) -> None:
        """Initialize the module and keep the arguments, ``inplace`` last (PyTorch's
        attribute order)."""
        super().__init__()
        for name, value in arguments.items():
            setattr(self, name, value)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        arguments = [getattr(self, name) for name in self._arguments]
        return getattr(F, self._function)(input, *arguments, self.inplace)

    def extra_repr(self) -> str:
        parts = [f"{name}={getattr(self, name)}" for name in self._arguments]
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))


class ReLU(_InplaceActivation):
    """``max(x, 0)``; with ``inplace=True`` the input tensor itself is overwritten."""


class Tanh(Module):
    """Applies the hyperbolic tangent elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """Applies the logistic sigmoid ``1 / (1 + exp(-x))`` elementwise (one fused kernel)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class GELU(Module):
    """``x * Phi(x)`` (``approximate="none"``) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate argument must be either none or tanh, not {approximate}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(_InplaceActivation):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""

    _function = "leaky_relu"
    _arguments = ("negative_slope",)

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        self._record(inplace, negative_slope=negative_slope)


class ELU(_InplaceActivation):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    _function = "elu"
    _arguments = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self._record(inplace, alpha=alpha)


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)`` (swish)."""

    _function = "silu"


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))``."""

    _function = "mish"


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(_InplaceActivation):
    """``clamp(x, min_val, max_val)``."""

    _function = "hardtanh"
    _arguments = ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        if max_val <= min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self._record(inplace, min_val=min_val, max_val=max_val)


def _implicit_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class _SoftmaxNd(Module):
    """A softmax along ``dim`` (PyTorch's deprecated implicit choice when ``None``): the
    functional form named by ``_function``."""

    _function = "softmax"

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        dim = _implicit_dim(self._function, input.dim()) if self.dim is None else self.dim
        return getattr(F, self._function)(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxNd):
    """``exp(x) / sum(exp(x))`` along ``dim``."""


class LogSoftmax(_SoftmaxNd):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    _function = "log_softmax"
