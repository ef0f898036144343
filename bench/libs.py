"""The libraries under comparison, seen through one small vocabulary.

Each workload's program is written once (``bench.programs``) against an :class:`Ops`
namespace: for gpugrad and PyTorch the library module itself (``L = gpugrad`` or
``L = torch``, as user code is written), for the optional peers (HIPS ``autograd``,
``mygrad``) an :class:`Ops` of their functions. :class:`Env` places host arrays on a
device for each library.

Every library is imported lazily, by the variant that uses it: each variant is measured in
a process of its own (``bench.worker``), and that process must load its own library only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def gg_ops() -> Any:
    """The ``gpugrad`` module itself: it has every name of :class:`Ops`, so the programs run
    as user code writes them (``L.sin(x)`` with ``L = gpugrad``), and a compiler
    (``gg.compile``) sees the module the user would, not a namespace of our own."""
    import gpugrad

    return gpugrad


def torch_ops() -> Any:
    """The ``torch`` module itself (as :func:`gg_ops`)."""
    import torch

    return torch


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
        import gpugrad as gg

        bce = functional.binary_cross_entropy
        return (
            lambda z, y: bce(gg.sigmoid(z), y),
            "gg.nn.functional.binary_cross_entropy(sigmoid(z), y)",
        )
    return None, "gpugrad.nn.functional has no binary_cross_entropy[_with_logits]"


def gg_has_inplace_sub() -> bool:
    """Whether ``w -= x`` updates a gpugrad tensor in place (PyTorch's ``__isub__``)."""
    import gpugrad as gg

    return hasattr(gg.Tensor, "__isub__") and hasattr(gg.Tensor, "sub_")


def synchronize_cuda() -> None:
    """Wait for the GPU work of every library this process has loaded (each process
    measures one library, and only that library's module is imported there)."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.cuda.Device().synchronize()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


class Env:
    """One device ("cpu" or "cuda") as each library names it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sync: Callable[[], None] | None = synchronize_cuda if name == "cuda" else None

    @property
    def xp(self) -> Any:
        """NumPy on the CPU, CuPy on CUDA (imported when a variant first asks)."""
        if self.name == "cuda":
            import cupy

            return cupy
        return np

    def gg(self, host: Any, requires_grad: bool = False) -> Any:
        import gpugrad as gg

        return gg.tensor(host, device=self.name, requires_grad=requires_grad)

    def torch(self, host: Any, requires_grad: bool = False) -> Any:
        import torch

        if self.name == "cuda" and not torch.cuda.is_available():
            raise Unavailable("this PyTorch build has no CUDA")
        t = torch.tensor(host, device=self.name)
        return t.requires_grad_(requires_grad)

    def array(self, host: Any) -> Any:
        """NumPy: float32 scalars stay NumPy scalars (the fastest a hand program gets)."""
        if self.name == "cpu":
            return host.copy() if isinstance(host, np.ndarray) else host
        return self.xp.asarray(host)


def cuda_available() -> bool:
    """Whether gpugrad sees a CUDA device (asked in the driving process only)."""
    import gpugrad as gg

    return gg.cuda.is_available()


def envs(device: str = "all") -> list[Env]:
    """The devices to run on: the CPU, and CUDA when gpugrad sees a device."""
    names = ["cpu", "cuda"] if device != "cpu" and cuda_available() else ["cpu"]
    if device != "all":
        names = [n for n in names if n == device]
    return [Env(n) for n in names]
