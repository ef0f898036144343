"""``gradcheck`` and ``gradgradcheck``: analytical gradients against central finite
differences, with PyTorch's signatures and default tolerances. Use float64 inputs."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._engine import grad as autograd_grad
from .._factories import tensor, zeros_like
from .._grad_mode import enable_grad, no_grad
from .._tensor import Tensor
from ..ops.shape import stack


class GradcheckError(RuntimeError):
    """A gradient disagreed with its finite-difference estimate."""


def _as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else tuple(x) if isinstance(x, list) else (x,)


def _differentiable_outputs(func: Callable[..., Any], inputs: Sequence[Any]) -> list[Tensor]:
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]


def _differentiable_positions(func: Callable[..., Any], inputs: Sequence[Any]) -> list[int]:
    outputs = _as_tuple(func(*inputs))
    return [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]


def _numerical_jacobians(func, inputs, index: int, eps: float, positions: list[int]):
    """One (output numel × input numel) matrix per differentiable output (at ``positions``
    of ``func``'s outputs), by central differences."""
    data = inputs[index]._data
    columns: list[list[Tensor]] = [[] for _ in positions]

    def evaluate() -> list[Tensor]:
        outputs = _as_tuple(func(*inputs))
        return [outputs[k].detach().clone() for k in positions]

    with no_grad():
        for j in itertools.product(*map(range, data.shape)):
            original = data[j].item()
            data[j] = original + eps
            plus = evaluate()
            data[j] = original - eps
            minus = evaluate()
            data[j] = original
            for k in range(len(positions)):
                columns[k].append(((plus[k] - minus[k]) / (2 * eps)).reshape(-1))
    return [stack(c, dim=1) if c else None for c in columns]


def _analytical_jacobians(func, inputs, index: int) -> list[Tensor]:
    outputs = _differentiable_outputs(func, inputs)
    jacobians = []
    for out in outputs:
        rows = []
        for k in range(out.numel()):
            seed = zeros_like(out)
            seed._data.reshape(-1)[k] = 1
            (g,) = autograd_grad(out, inputs[index], seed, retain_graph=True, allow_unused=True)
            rows.append(zeros_like(inputs[index]).reshape(-1) if g is None else g.reshape(-1))
        jacobians.append(stack(rows, dim=0) if rows else None)
    return jacobians


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored: Any,
) -> bool:
    """True when every analytical Jacobian matches central differences of ``func``."""
    inputs = tuple(
        tensor(x, dtype=x.dtype, device=x.device, requires_grad=x.requires_grad)
        if isinstance(x, Tensor)
        else x
        for x in _as_tuple(inputs)
    )
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype.name != "float64":
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                stacklevel=2,
            )
    positions = _differentiable_positions(func, inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        numerical = _numerical_jacobians(func, inputs, i, eps, positions)
        analytical = _analytical_jacobians(func, inputs, i)
        for k, (n, a) in enumerate(zip(numerical, analytical)):
            if n is None:
                continue
            close = ((a - n).abs() <= atol + rtol * n.abs()).all()
            if not bool(close):
                message = (
                    f"Jacobian mismatch for output {k} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored: Any,
) -> bool:
    """``gradcheck`` of the first derivatives (built with ``create_graph=True``)."""
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        from .._factories import randn_like

        grad_outputs = tuple(randn_like(o, dtype="float64").requires_grad_() for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_inputs = len(inputs)
    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args: Any) -> tuple:
        xs, gs = args[:n_inputs], args[n_inputs:]
        with enable_grad():
            outs = _differentiable_outputs(func, xs)
            grads = autograd_grad(
                outs, [xs[i] for i in differentiable], gs, create_graph=True, allow_unused=True
            )
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_derivatives,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
