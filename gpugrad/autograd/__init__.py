"""``gpugrad.autograd``: gradients, grad modes, custom functions and gradient checks."""

from .._engine import backward, grad
from .._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import functional

# --- s7-func ---
from . import forward_ad, grad_mode
from .grad_mode import inference_mode, set_multithreading_enabled
from .variable import Variable

# --- end s7-func ---
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "backward",
    "detect_anomaly",
    "is_anomaly_enabled",
    "set_detect_anomaly",
    "enable_grad",
    "forward_ad",
    "grad_mode",
    "inference_mode",
    "set_multithreading_enabled",
    "Variable",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]
