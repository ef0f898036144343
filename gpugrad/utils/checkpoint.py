"""``gpugrad.utils.checkpoint``: activation checkpointing, as ``torch.utils.checkpoint``.

``checkpoint(function, *args)`` runs ``function`` without recording a graph and keeps only
its inputs; backward runs it again with the graph recorded (with the random state it had the
first time, so dropout draws the same mask) and backpropagates through that, memory traded
for compute. Both of PyTorch's variants give the same gradients here; they differ, as in
PyTorch, where no input requires grad: ``use_reentrant=True`` (the default, with PyTorch's
warning when not passed) then records nothing, so parameters used inside get no gradient,
while ``use_reentrant=False`` still backpropagates into them."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._factories import empty
from .._grad_mode import enable_grad
from .._random import cuda_default_generator, default_generator
from .._tensor import Tensor
from ..autograd import backward as _backward
from ..autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential"]

USE_REENTRANT_WARNING = (
    "gpugrad.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants."
)
NO_INPUT_REQUIRES_GRAD = "None of the inputs have requires_grad=True. Gradients will be None"


def _rng_states(args: tuple) -> list[tuple[Any, Any]]:
    """The state of every generator the recomputation could draw from: the CPU's and that of
    each CUDA device an argument lives on."""
    generators = [default_generator]
    for a in args:
        if isinstance(a, Tensor) and a.device.type == "cuda":
            generator = cuda_default_generator(a.device.index or 0)
            if generator not in generators:
                generators.append(generator)
    return [(g, g.get_state()) for g in generators]


class CheckpointFunction(Function):
    """Runs ``function`` once without a graph, and again with one in backward."""

    @staticmethod
    def forward(ctx: Any, function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        ctx.function = function
        ctx.rng_states = _rng_states(args) if preserve_rng_state else []
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.other_args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return function(*args)

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        args = list(ctx.other_args)
        detached = []
        for position, saved in zip(ctx.tensor_positions, ctx.saved_tensors):
            t = saved.detach().requires_grad_(saved.requires_grad)
            args[position] = t
            detached.append(t)
        restore = [(g, g.get_state()) for g, _ in ctx.rng_states]
        try:
            for generator, state in ctx.rng_states:
                generator.set_state(state)
            with enable_grad():
                outputs = ctx.function(*args)
        finally:
            for generator, state in restore:
                generator.set_state(state)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [
            (o, g)
            for o, g in zip(outputs, grad_outputs)
            if isinstance(o, Tensor) and o.requires_grad and g is not None
        ]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        grads = [None] * len(args)
        for position, t in zip(ctx.tensor_positions, detached):
            grads[position] = t.grad
        return (None, None, *grads)


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable | None = None,
    determinism_check: str = "default",
    debug: bool = False,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept
    (see the module's docstring). ``context_fn``, ``determinism_check`` and ``debug`` are
    accepted for PyTorch compatibility; only their defaults are supported."""
    if use_reentrant is None:
        warnings.warn(USE_REENTRANT_WARNING, UserWarning, stacklevel=2)
        use_reentrant = True
    if context_fn is not None or debug:
        raise NotImplementedError("checkpoint: context_fn and debug are not supported")
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn(NO_INPUT_REQUIRES_GRAD, UserWarning, stacklevel=2)
        return CheckpointFunction.apply(function, preserve_rng_state, *args)

    # Non-reentrant: an extra input that requires grad keeps the node recorded even where no
    # argument requires grad, so parameters used inside still get their gradients.
    def call(*inputs: Any) -> Any:
        return function(*inputs[:-1], **kwargs)

    anchor = empty(0, requires_grad=True)
    return CheckpointFunction.apply(call, preserve_rng_state, *args, anchor)


def checkpoint_sequential(
    functions: Sequence[Callable] | Any,
    segments: int,
    input: Tensor,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Run the modules of ``functions`` (an ``nn.Sequential`` or a list) in ``segments``
    chunks, checkpointing every chunk but the last."""
    if use_reentrant is None:
        warnings.warn(USE_REENTRANT_WARNING, UserWarning, stacklevel=2)
        use_reentrant = True
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)

    def run(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(
            run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=True, **kwargs
        )
    return run(end + 1, len(functions) - 1)(input)
