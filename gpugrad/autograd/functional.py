"""``gpugrad.autograd.functional``: ``jacobian hessian vjp jvp hvp vhp``, PyTorch's API.

Everything is built on reverse mode (``autograd.grad``), as PyTorch's own functions are:
``jvp`` and ``hvp`` use the double-backward trick (the gradient of a vector-Jacobian
product with respect to its vector is a Jacobian-vector product). Inputs and outputs
follow PyTorch's conventions: a Tensor or a tuple of Tensors in, the same structure out.
``vectorize=True`` (PyTorch's vmap path) and ``strategy="forward-mode"`` (which PyTorch
allows only with ``vectorize=True``) are accepted, with PyTorch's argument checks, and
give the same Jacobian, computed row by row in reverse mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._engine import grad as _grad
from .._factories import zeros_like
from .._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from .._tensor import Tensor
from ..ops.shape import stack

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, element in enumerate(values):
        if not isinstance(element, Tensor):
            where = (
                f"value at index {i} has type {type(element)}"
                if is_tuple
                else f"given {arg_name} has type {type(element)}"
            )
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the {where}."
            )
    return is_tuple, values


def _unpack(result: Any, to_unpack: Any) -> Any:
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            result = tuple(element[0] for element in result)
        if not to_unpack[0]:
            result = result[0]
    elif not to_unpack:
        result = result[0]
    return result


def _grad_preprocess(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh inputs to differentiate against: a differentiable alias when the caller's
    graph must be kept (``create_graph``), else a detached copy."""
    if create_graph:
        return tuple(
            inp.view(inp.shape) if inp.requires_grad else inp.detach().requires_grad_(need_graph)
            for inp in inputs
        )
    return tuple(inp.detach().requires_grad_(need_graph) for inp in inputs)


def _grad_postprocess(values: tuple, create_graph: bool) -> tuple:
    if isinstance(values[0], Tensor):
        return values if create_graph else tuple(v.detach() for v in values)
    return tuple(_grad_postprocess(v, create_graph) for v in values)


def _validate_v(v: tuple, other: tuple, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {el_other.size()} but got {el_v.size()}."
            )


_NOT_REQUIRING = {
    "hessian": (
        "The hessian of the user-provided function with respect to input {i} is independent "
        "of the input. This is not allowed in strict mode. You should ensure that your "
        "function is thrice differentiable and that the hessian depends on the inputs."
    ),
    "jacobian": (
        "While computing the hessian, found that the jacobian of the user-provided function "
        "with respect to input {i} is independent of the input. This is not allowed in "
        "strict mode. You should ensure that your function is twice differentiable and that "
        "the jacobian depends on the inputs (this would be violated by a linear function for "
        "example)."
    ),
    "grad_inputs": (
        "The gradient with respect to input {i} is independent of the inputs of the "
        "user-provided function. This is not allowed in strict mode."
    ),
    "outputs": (
        "Output {i} of the user-provided function does not require gradients. The outputs "
        "must be computed in a differentiable manner from the input when running in strict "
        "mode."
    ),
}


def _check_requires_grad(values: tuple, kind: str, strict: bool) -> None:
    if not strict:
        return
    for i, value in enumerate(values):
        if value is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. This "
                "is not allowed in strict mode."
            )
        if not value.requires_grad:
            raise RuntimeError(_NOT_REQUIRING[kind].format(i=i))


def _autograd_grad(
    outputs: tuple, inputs: tuple, grad_outputs: tuple | None = None, create_graph=False
) -> tuple:
    """``autograd.grad`` over the outputs that require grad; ``None`` for unused inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    new_outputs = tuple(o for o, _ in kept)
    new_grads = tuple(g for _, g in kept)
    return _grad(
        new_outputs,
        inputs,
        None if all(g is None for g in new_grads) else new_grads,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )


_ZERO_MESSAGES = {
    "back": (
        "The output of the user-provided function is independent of input {i}. This is not "
        "allowed in strict mode."
    ),
    "back_trick": (
        "The gradient with respect to the input is independent of entry {i} in the "
        "grad_outputs when using the double backward trick to compute forward mode "
        "gradients. This is not allowed in strict mode."
    ),
    "double_back": (
        "The jacobian of the user-provided function is independent of input {i}. This is not "
        "allowed in strict mode."
    ),
    "double_back_trick": (
        "The hessian of the user-provided function is independent of entry {i} in the "
        "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
        "double backward trick to replace forward mode AD."
    ),
    "jacobian_row": (
        "Output {output} of the user-provided function is independent of input {i}. This is "
        "not allowed in strict mode."
    ),
}


def _fill_in_zeros(
    grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str, output: int = -1
) -> tuple:
    """Zeros (like ``refs``) for the gradients that are ``None``; in strict mode, PyTorch's
    error instead, and (with ``create_graph``) for a gradient without a graph. ``output``:
    the output whose Jacobian row ``grads`` is (``jacobian``), which PyTorch's
    ``create_graph`` error names as the input."""
    result = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_ZERO_MESSAGES[stage].format(i=i, output=output))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            which = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {which} of the user-provided function is independent of input "
                f"{i if output < 0 else output}. This is not allowed in strict mode when "
                "create_graph=True."
            )
        result.append(g)
    return tuple(result)


def _prepared_inputs(inputs: Any, name: str, create_graph: bool) -> tuple[bool, tuple]:
    """Whether ``inputs`` is a tuple, and the inputs checked and made differentiable."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    return is_inputs_tuple, _grad_preprocess(inputs, create_graph, need_graph=True)


def _prepared_v(
    v: Any,
    like: tuple,
    is_like_tuple: bool,
    name: str,
    create_graph: bool,
    what: str = "input to the user-provided function is",
) -> tuple | None:
    """``v`` checked against ``like`` (the tensors it multiplies); when it is omitted,
    PyTorch's error unless ``like`` (``what`` names it) is one single-element tensor."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                f"The vector v can only be None if the {what} a single Tensor with a single "
                "element."
            )
        return None
    _, v = _as_tuple(v, "v", name)
    v = _grad_preprocess(v, create_graph, need_graph=False)
    _validate_v(v, like, is_like_tuple)
    return v


def _outputs(func: Callable[..., Any], inputs: tuple, name: str, strict: bool):
    """``func(*inputs)`` as a tuple (checked, and in strict mode required to need grad),
    and whether it was one."""
    is_outputs_tuple, outputs = _as_tuple(
        func(*inputs), "outputs of the user-provided function", name
    )
    _check_requires_grad(outputs, "outputs", strict)
    return is_outputs_tuple, outputs


def _product(
    outputs: tuple,
    is_outputs_tuple: bool,
    backward: tuple[tuple, tuple, Any],
    refs: tuple,
    is_result_tuple: bool,
    stage: str,
    create_graph: bool,
    strict: bool,
) -> tuple[Any, Any]:
    """The second half of ``vjp jvp vhp hvp``: the gradient ``backward`` (outputs, inputs,
    grad_outputs) asks for, zeros (like ``refs``) where it is missing, both results
    detached unless ``create_graph``, unpacked as the caller passed them."""
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grads = _autograd_grad(*backward, create_graph=create_graph)
        result = _fill_in_zeros(grads, refs, strict, create_graph, stage)
    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _unpack(outputs, is_outputs_tuple), _unpack(result, is_result_tuple)


def vjp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph=False, strict=False
) -> tuple[Any, Any]:
    """``(func(*inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        is_inputs_tuple, inputs = _prepared_inputs(inputs, "vjp", create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "vjp", strict)
        v = _prepared_v(
            v, outputs, is_outputs_tuple, "vjp", create_graph, "user-provided function returns"
        )
    return _product(
        outputs, is_outputs_tuple, (outputs, inputs, v), inputs, is_inputs_tuple, "back",
        create_graph, strict,
    )  # fmt: skip


def jvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph=False, strict=False
) -> tuple[Any, Any]:
    """``(func(*inputs), J v)``: the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        is_inputs_tuple, inputs = _prepared_inputs(inputs, "jvp", create_graph)
        v = _prepared_v(v, inputs, is_inputs_tuple, "jvp", create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "jvp", strict)
        grad_outputs = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    return _product(
        outputs, is_outputs_tuple, (grad_inputs, grad_outputs, v), outputs, is_outputs_tuple,
        "back_trick", create_graph, strict,
    )  # fmt: skip


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` has shape
    ``outputs[i].shape + inputs[j].shape``, unpacked as PyTorch's when not tuples."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode":
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                "only implemented for `vectorize=True`."
            )
        if create_graph:
            raise NotImplementedError(
                "gpugrad.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.'
            )
    if vectorize and strict:
        raise RuntimeError(
            "gpugrad.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`."
        )
    # vectorize=True and forward mode are PyTorch's speed paths (vmap, forward AD) to the
    # same Jacobian: gpugrad computes it row by row in reverse mode either way.
    with enable_grad():
        is_inputs_tuple, inputs = _prepared_inputs(inputs, "jacobian", create_graph)
        is_outputs_tuple, outputs = _outputs(func, inputs, "jacobian", strict)
        jacobians = []
        for i, out in enumerate(outputs):
            rows: tuple[list, ...] = tuple([] for _ in inputs)
            flat = out.reshape(-1)
            for j in range(out.numel()):
                vj = _autograd_grad((flat[j],), inputs, create_graph=create_graph)
                vj = _fill_in_zeros(vj, inputs, strict, create_graph, "jacobian_row", output=i)
                for row, g in zip(rows, vj):
                    row.append(g)
            jacobians.append(
                tuple(
                    stack(row, 0).reshape(tuple(out.shape) + tuple(inp.shape))
                    if row
                    else zeros_like(inp).reshape(tuple(out.shape) + tuple(inp.shape))
                    for row, inp in zip(rows, inputs)
                )
            )
        result = _grad_postprocess(tuple(jacobians), create_graph)
        return _unpack(result, (is_outputs_tuple, is_inputs_tuple))


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar function ``func`` at ``inputs``."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp: Tensor) -> Tensor:
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return out.squeeze()

    def jac_func(*inp: Tensor) -> Any:
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    result = jacobian(
        jac_func,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return _unpack(result, (is_inputs_tuple, is_inputs_tuple))


def vhp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph=False, strict=False
) -> tuple[Any, Any]:
    """``(func(*inputs), v^T H)``: the vector-Hessian product of a scalar function."""
    with enable_grad():
        is_inputs_tuple, inputs, outputs, is_outputs_tuple, v, jac = _first_derivative(
            func, inputs, v, create_graph, strict, "vhp"
        )
    return _product(
        outputs, is_outputs_tuple, (jac, inputs, v), inputs, is_inputs_tuple, "double_back",
        create_graph, strict,
    )  # fmt: skip


def hvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph=False, strict=False
) -> tuple[Any, Any]:
    """``(func(*inputs), H v)``: the Hessian-vector product of a scalar function, by the
    double-backward trick."""
    with enable_grad():
        is_inputs_tuple, inputs, outputs, is_outputs_tuple, v, jac = _first_derivative(
            func, inputs, v, create_graph, strict, "hvp"
        )
        grad_jac = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    return _product(
        outputs, is_outputs_tuple, (double_back, grad_jac, v), inputs, is_inputs_tuple,
        "double_back_trick", create_graph, strict,
    )  # fmt: skip


def _first_derivative(func, inputs, v, create_graph: bool, strict: bool, name: str):
    """The shared first half of ``vhp``/``hvp``: checked inputs, ``v`` and outputs, and the
    gradient of the scalar output with its graph kept."""
    is_inputs_tuple, inputs = _prepared_inputs(inputs, name, create_graph)
    v = _prepared_v(v, inputs, is_inputs_tuple, name, create_graph)
    is_outputs_tuple, outputs = _outputs(func, inputs, name, strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {name} should contain a single element"
        )
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, outputs, is_outputs_tuple, v, jac
