"""``gpugrad.autograd``: gradients, grad modes, custom functions and gradient checks."""

from .._engine import backward, grad
from .._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]
