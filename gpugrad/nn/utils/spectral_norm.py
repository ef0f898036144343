"""The legacy hook form of spectral normalization (``torch.nn.utils.spectral_norm``):
``weight = weight_orig / sigma`` with ``sigma`` estimated by power iteration on the
buffers ``weight_u`` and ``weight_v`` (updated in place in training mode before each
forward), as in Miyato et al., "Spectral Normalization for GANs"."""

from __future__ import annotations

from typing import Any, TypeVar

from ..._grad_mode import no_grad
from ..._tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]

T_module = TypeVar("T_module", bound=Module)


def _normalize(x: Tensor, eps: float) -> Tensor:
    """``x / max(||x||, eps)`` of a vector (``F.normalize(x, dim=0, eps=eps)``)."""
    from ..functional import normalize

    return normalize(x, dim=0, eps=eps)


def reshape_weight_to_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` as a matrix whose rows run along ``dim``."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.dim()) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def power_iteration(
    weight_mat: Tensor, u: Tensor, v: Tensor, n_power_iterations: int, eps: float
) -> tuple[Tensor, Tensor]:
    """``n_power_iterations`` steps of ``v = normalize(Wᵀ u)``, ``u = normalize(W v)``,
    written into ``u`` and ``v`` in place (outside the graph); returns copies of them."""
    with no_grad():
        for _ in range(n_power_iterations):
            v[...] = _normalize(weight_mat.t().mv(u), eps)
            u[...] = _normalize(weight_mat.mv(v), eps)
        return u.clone(), v.clone()


class SpectralNorm:
    """The forward pre-hook that recomputes ``module.<name>`` as ``<name>_orig / sigma``."""

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(
        self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """``weight`` as a matrix whose rows run along ``self.dim``."""
        return reshape_weight_to_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """``weight_orig / (u · W v)``, after the power iteration when asked."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            u, v = power_iteration(weight_mat, u, v, self.n_power_iterations, self.eps)
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Put ``name`` back as one parameter holding the current normalized weight."""
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(
        module: Module, name: str, n_power_iterations: int, dim: int, eps: float
    ) -> SpectralNorm:
        """Move parameter ``name`` to ``name_orig``, draw the unit vectors ``name_u`` and
        ``name_v`` (gpugrad's generator) and register the hook."""
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        from ... import _factories

        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            device = weight._backend.device_str
            u = _normalize(_factories.randn(h, dtype=weight.dtype, device=device), fn.eps)
            v = _normalize(_factories.randn(w, dtype=weight.dtype, device=device), fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def _is_transposed_convolution(module: Module) -> bool:
    return type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")


def spectral_norm(
    module: T_module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> T_module:
    """Reparametrize ``module.<name>`` as ``weight_orig / sigma(weight_orig)`` (``dim``
    defaults to 1 for transposed convolutions, else 0)."""
    if dim is None:
        dim = 1 if _is_transposed_convolution(module) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo ``spectral_norm``: ``module.<name>`` becomes a plain parameter again."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
