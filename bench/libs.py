"""The libraries under comparison, seen through one small vocabulary.

Each workload's program is written once (``bench.programs``) against an :class:`Ops`
namespace; gpugrad, PyTorch, NumPy/CuPy and the optional peers (HIPS ``autograd``,
``mygrad``) each supply one. :class:`Env` places host arrays on a device for each library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import gpugrad as gg

from .harness import Unavailable


@dataclass(frozen=True)
class Ops:
    sin: Callable[..., Any]
    exp: Callable[..., Any]
    log: Callable[..., Any]
    tanh: Callable[..., Any]
    sigmoid: Callable[..., Any]
    clamp: Callable[..., Any]  # clamp(x, lo, hi)
    mean: Callable[..., Any]


GG = Ops(gg.sin, gg.exp, gg.log, gg.tanh, gg.sigmoid, gg.clamp, gg.mean)
TORCH = Ops(torch.sin, torch.exp, torch.log, torch.tanh, torch.sigmoid, torch.clamp, torch.mean)


def optional(module: str) -> Any:
    """An optional peer library, or :class:`Unavailable` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Unavailable(f"{module.split('.')[0]} is not installed") from e


def autograd_ops() -> Ops:
    anp = optional("autograd.numpy")
    expit = optional("autograd.scipy.special").expit
    return Ops(anp.sin, anp.exp, anp.log, anp.tanh, expit, anp.clip, anp.mean)


def mygrad_ops() -> Ops:
    mg = optional("mygrad")
    sigmoid = optional("mygrad.nnet.activations").sigmoid
    return Ops(mg.sin, mg.exp, mg.log, mg.tanh, sigmoid, mg.clip, mg.mean)


def gg_functional() -> tuple[Any, str]:
    """gpugrad's ``nn.functional`` module when it can be imported, and why not otherwise."""
    try:
        return importlib.import_module("gpugrad.nn.functional"), ""
    except ImportError:
        return None, "gpugrad.nn.functional does not exist"
    except Exception as e:  # a module being written right now may not import cleanly
        return None, f"gpugrad.nn.functional failed to import: {type(e).__name__}: {e}"


def gg_fused_bce() -> tuple[Callable[[Any, Any], Any] | None, str]:
    """gpugrad's fused BCE-on-logits if it has one: ``binary_cross_entropy_with_logits``,
    else ``binary_cross_entropy(sigmoid(z), y)``; ``(None, reason)`` when it has neither."""
    functional, reason = gg_functional()
    if functional is None:
        return None, reason
    if hasattr(functional, "binary_cross_entropy_with_logits"):
        return functional.binary_cross_entropy_with_logits, (
            "gg.nn.functional.binary_cross_entropy_with_logits"
        )
    if hasattr(functional, "binary_cross_entropy"):
        bce = functional.binary_cross_entropy
        return (
            lambda z, y: bce(gg.sigmoid(z), y),
            "gg.nn.functional.binary_cross_entropy(sigmoid(z), y)",
        )
    return None, "gpugrad.nn.functional has no binary_cross_entropy[_with_logits]"


def gg_has_inplace_sub() -> bool:
    """Whether ``w -= x`` updates a gpugrad tensor in place (PyTorch's ``__isub__``)."""
    return hasattr(gg.Tensor, "__isub__") and hasattr(gg.Tensor, "sub_")


class Env:
    """One device ("cpu" or "cuda") as each library names it."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "cuda":
            import cupy

            self.xp = cupy
            self.sync: Callable[[], None] | None = gg.cuda.synchronize
        else:
            self.xp = np
            self.sync = None

    def gg(self, host: Any, requires_grad: bool = False) -> gg.Tensor:
        return gg.tensor(host, device=self.name, requires_grad=requires_grad)

    def torch(self, host: Any, requires_grad: bool = False) -> torch.Tensor:
        if self.name == "cuda" and not torch.cuda.is_available():
            raise Unavailable("this PyTorch build has no CUDA")
        t = torch.tensor(host, device=self.name)
        return t.requires_grad_(requires_grad)

    def array(self, host: Any) -> Any:
        """NumPy: float32 scalars stay NumPy scalars (the fastest a hand program gets)."""
        if self.xp is np:
            return host.copy() if isinstance(host, np.ndarray) else host
        return self.xp.asarray(host)


def envs(device: str = "all") -> list[Env]:
    """The devices to run on: the CPU, and CUDA when gpugrad sees a device."""
    names = ["cpu"]
    if gg.cuda.is_available():
        names.append("cuda")
    if device != "all":
        names = [n for n in names if n == device]
    return [Env(n) for n in names]
