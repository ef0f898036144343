"""How the layers build and initialize their parameters (one place for PyTorch's
``bias=False`` / ``affine=False`` conventions and its fan-in initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..._factories import empty
from ..._tensor import Tensor
from .. import init
from ..parameter import Parameter
from .module import Module


def add_parameter(
    module: Module,
    name: str,
    shape: tuple[int, ...],
    present: bool = True,
    *,
    fill: Callable[..., Tensor] = empty,
    dtype: Any = None,
    device: Any = None,
) -> None:
    """Register parameter ``name`` of ``module``: a ``Parameter`` of ``shape`` made by
    ``fill`` (``empty``, ``ones`` or ``zeros``), or ``None`` when not ``present``."""
    value = Parameter(fill(*shape, dtype=dtype, device=device)) if present else None
    module.register_parameter(name, value)


def reset_fan_in_uniform_(
    weight: Tensor, bias: Tensor | None, *, zero_bias_without_fan_in: bool
) -> None:
    """PyTorch's initialization of ``Linear`` and the convolutions: ``weight`` by
    ``kaiming_uniform_(a=sqrt(5))``, ``bias`` from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Without inputs (``fan_in == 0``) ``Linear`` zeroes its bias
    (``zero_bias_without_fan_in``) and the convolutions leave theirs as it is."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is None:
        return
    fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
    if fan_in > 0:
        bound = 1 / math.sqrt(fan_in)
        init.uniform_(bias, -bound, bound)
    elif zero_bias_without_fan_in:
        init.uniform_(bias, 0, 0)
