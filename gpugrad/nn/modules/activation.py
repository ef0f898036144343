"""Activation modules: ``ReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``LeakyReLU``, ``ELU``,
``SiLU``, ``Mish``, ``Softplus``, ``Hardtanh``, ``Softmax``, ``LogSoftmax``, and PyTorch's
others: ``CELU``, ``SELU``, ``ReLU6``, ``RReLU``, ``PReLU``, ``GLU``, ``Hardshrink``,
``Softshrink``, ``Hardsigmoid``, ``Hardswish``, ``LogSigmoid``, ``Softsign``,
``Tanhshrink``, ``Threshold``, ``Softmin``, ``Softmax2d``."""

from __future__ import annotations

import warnings
from typing import Any

from ..._tensor import Tensor
from .. import functional as F
from .. import init
from ._parameters import add_parameter
from .module import Module

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SELU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
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


class Softmin(_SoftmaxNd):
    """``softmax(-x)`` along ``dim``."""

    _function = "softmin"


class CELU(_InplaceActivation):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""

    _function = "celu"
    _arguments = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self._record(inplace, alpha=alpha)


class SELU(_InplaceActivation):
    """``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` (self-normalizing)."""

    _function = "selu"


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)``: ``Hardtanh(0, 6)``, as in PyTorch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class RReLU(_InplaceActivation):
    """Randomized leaky ReLU: in training, a slope drawn from ``U(lower, upper)`` for each
    negative element; in eval mode the mean slope ``(lower + upper) / 2``."""

    _arguments = ("lower", "upper")

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        self._record(inplace, lower=lower, upper=upper)

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)


class Threshold(_InplaceActivation):
    """``x`` where ``x > threshold``, else ``value``."""

    _function = "threshold"
    _arguments = ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        self._record(inplace, threshold=threshold, value=value)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``."""

    _function = "hardsigmoid"

    def extra_repr(self) -> str:
        return ""  # PyTorch's shows no ``inplace``


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6``."""

    _function = "hardswish"

    def extra_repr(self) -> str:
        return ""  # PyTorch's shows no ``inplace``


class _Shrink(Module):
    """``Hardshrink`` / ``Softshrink``: the functional form named by ``_function`` with
    ``lambd``, shown bare in the repr as PyTorch does."""

    _function = "hardshrink"

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._function)(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(_Shrink):
    """``x`` where ``|x| > lambd``, else 0."""


class Softshrink(_Shrink):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""

    _function = "softshrink"


class _Elementwise(Module):
    """An argument-free activation: the functional form named by ``_function``. Any
    constructor arguments are accepted and ignored, as in PyTorch."""

    _function = "logsigmoid"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._function)(input)


class LogSigmoid(_Elementwise):
    """``log(sigmoid(x))``, computed stably."""


class Softsign(_Elementwise):
    """``x / (1 + |x|)``."""

    _function = "softsign"


class Tanhshrink(_Elementwise):
    """``x - tanh(x)``."""

    _function = "tanhshrink"


class GLU(Module):
    """``a * sigmoid(b)`` for the halves ``a``, ``b`` of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """``x`` where ``x > 0``, else ``weight * x``, with a learnable slope shared by all
    channels (``num_parameters=1``) or one per channel (dim 1); initialized to ``init``."""

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        add_parameter(self, "weight", (num_parameters,), dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(_Elementwise):
    """A softmax over the channels (dim -3) at each location of ``(N, C, H, W)`` or
    ``(C, H, W)``."""

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead"
            )
        return F.softmax(input, -3)
