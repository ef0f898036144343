"""PyTorch's ``out=`` keyword: ``gpugrad.add(a, b, out=c)`` writes the sum into ``c`` and
returns ``c``.

Only the top-level functions take it (a Tensor method never does, as in PyTorch), so the
ops keep their signatures and methods pay nothing: ``_exports`` wraps each op of
``OUT_RULES`` with ``accepts_out`` (``gpugrad.linalg`` each of ``LINALG_OUT_RULES``), whose
``out=None`` path is one extra call (the factories, ``zeros``, ``arange``, ``randn`` …,
take ``out=`` in ``_factories``).

What a write into ``out`` does, as PyTorch: the result is computed first (so ``out`` may
be an input), then checked against ``out`` (its device; its dtype by the op's rule, see
``OUT_RULES``), cast to ``out``'s dtype and written into ``out``'s own memory (views of
``out`` see it; its version counter goes up, so a backward that saved ``out`` notices). An
``out`` of another shape is resized, silently when it has no elements and with PyTorch's
deprecation ``UserWarning`` otherwise. Under autograd recording, an ``out`` call with any
argument that requires grad is refused: ``out=`` never records a graph.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from ._factories import OUT_AUTOGRAD_ERROR as AUTOGRAD_ERROR
from ._grad_mode import state as _grad_state
from ._inplace import OVERLAP_ERROR, _record_write
from ._tensor import _CPP_TYPE, Tensor

# --- how each op treats out's dtype ------------------------------------------------------
CAST = "cast"
"""The result is cast to ``out``'s dtype when PyTorch's ``can_cast`` allows it (never
floating to integral, never a non-bool to bool), else PyTorch's "result type" error."""
ANY = "any"
"""Any dtype of ``out`` is accepted: the result is cast to it (comparisons, bitwise ops)."""
ACCUMULATE = "accumulate"
"""``out``'s dtype is the dtype the op computes in (``sum``, ``cumsum``: as ``dtype=``)."""
CAT = "cat"
"""As ``CAST``, with the concatenations' own ``TypeError``."""
EXACT = "Expected out tensor to have dtype {result}, but got {out} instead"
FOUND = "Found dtype {Out} but expected {Result}"
"""Rules naming a message: ``out`` must have the result's dtype exactly (``{result}`` is
the C++ name PyTorch prints, ``double``; ``{Result}`` the scalar-type name, ``Double``)."""

_CAST_OPS = (
    "acos acosh add arccos arccosh arcsin arcsinh arctan arctan2 arctanh asin asinh atan "
    "atan2 atanh cos cosh digamma div erf erfc erfinv exp exp2 expm1 floor_divide fmax "
    "fmin fmod ger hypot kron lerp lgamma log log10 log1p log2 logaddexp logsumexp maximum "
    "mean minimum mul nanmean nansum outer polygamma pow reciprocal remainder rsqrt sigmoid "
    "sin sinh sqrt square std sub tan tanh var deg2rad rad2deg logit sinc diff multiply "
    "subtract divide true_divide xlogy copysign logaddexp2 addcmul addcdiv addr"
)
_ANY_OPS = (
    "bitwise_and bitwise_or bitwise_xor eq ge greater gt le less logical_and logical_not "
    "logical_or logical_xor lt ne greater_equal less_equal not_equal"
)
_ACCUMULATE_OPS = "cumprod cumsum prod sum"
_CAT_OPS = "cat column_stack concat concatenate dstack hstack row_stack stack vstack"
_FOUND_OPS = (
    "abs bitwise_not ceil clamp clip fix floor frac neg negative round sign trunc absolute "
    "sgn clamp_min clamp_max"
)
_EXACT_OPS = (
    "addbmm addmm addmv argmax argmin baddbmm bmm cross cummax cummin diag dot "
    "gather index_add index_select inner inverse kthvalue log_softmax logcumsumexp "
    "masked_select matmul max median min mm mode msort mv nan_to_num nanmedian nanquantile "
    "nonzero norm quantile scatter scatter_add scatter_reduce slogdet softmax sort "
    "take_along_dim tensordot topk tril triu where aminmax isin matrix_power take vdot "
    "float_power"
)
_OWN_MESSAGES = {
    "all": "all only supports bool tensor for result, got: {Out}",
    "any": "any only supports bool tensor for result, got: {Out}",
    "isneginf": "isneginf does not support non-boolean outputs.",
    "isposinf": "isposinf does not support non-boolean outputs.",
    "signbit": "signbit does not support non-boolean outputs.",
    "heaviside": "heaviside is not yet implemented for tensors with different dtypes.",
    "amax": "Expected the dtype for input and out to match, but got {Result} for input's "
    "dtype and {Out} for out's dtype.",
    "amin": "Expected the dtype for input and out to match, but got {Result} for input's "
    "dtype and {Out} for out's dtype.",
}
_CAST_FAILURES = {
    "nansum": (NotImplementedError, "\"nansum_cpu\" not implemented for '{Out}'"),
    "nanmean": (NotImplementedError, "\"nansum_cpu\" not implemented for '{Out}'"),
    "pinv": (
        RuntimeError,
        "linalg.pinv: Expected result to be safely castable from {Result} dtype, but got "
        "result with dtype {Out}",
    ),
}
"""``CAST`` ops whose refusal PyTorch raises its own way."""

OUT_RULES: dict[str, str] = {
    **dict.fromkeys(_CAST_OPS.split(), CAST),
    **dict.fromkeys(_ANY_OPS.split(), ANY),
    **dict.fromkeys(_ACCUMULATE_OPS.split(), ACCUMULATE),
    **dict.fromkeys(_CAT_OPS.split(), CAT),
    **dict.fromkeys(_FOUND_OPS.split(), FOUND),
    **dict.fromkeys(_EXACT_OPS.split(), EXACT),
    **_OWN_MESSAGES,
}
"""Every exported op that takes ``out=`` in PyTorch, with its dtype rule: ``CAST``,
``ANY``, ``ACCUMULATE``, ``CAT``, or the message of its must-match-exactly error."""

_LINALG_EXACT_OPS = (
    "cholesky cross det eigh eigvalsh inv matmul qr slogdet solve svd svdvals vector_norm"
)
LINALG_OUT_RULES: dict[str, str] = {
    **dict.fromkeys(_LINALG_EXACT_OPS.split(), EXACT),
    "matrix_norm": "linalg.matrix_norm expected out tensor dtype {Result} but got: {Out}",
    "norm": "linalg.norm expected out tensor dtype {Result} but got: {Out}",
    "matrix_rank": ANY,
    "pinv": CAST,
}
"""``gpugrad.linalg``'s functions, each taking ``out=`` as ``torch.linalg``'s do."""
LINALG_INTERNAL_NAMES = {
    "inv": "linalg_inv_ex",
    "det": "_linalg_det",
    "svd": "_linalg_svd",
    "matmul": "matmul",
    "cholesky": "linalg_cholesky_ex",
    "solve": "_linalg_solve_ex",
    "slogdet": "_linalg_slogdet",
    "eigh": "_linalg_eigh",
}
"""The names PyTorch's autograd error gives them (the kernels behind them)."""

RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape {old}, which does "
    "not match the required output shape {new}. This behavior is deprecated, and in a "
    "future PyTorch release outputs will not be resized unless they have zero elements. "
    "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
    "with t.resize_(0)."
)


def can_cast(source: Any, target: Any) -> bool:
    """PyTorch's ``can_cast`` for NumPy dtypes: never floating to integral or bool, never a
    non-bool to bool."""
    if source.kind == "f" and target.kind != "f":
        return False
    return source.kind == "b" or target.kind != "b"


def _check_dtype(name: str, rule: str, result: Any, out: Any) -> None:
    if result == out or rule in (ANY, ACCUMULATE):
        return
    if rule in (CAST, CAT):
        if can_cast(result, out):
            return
        out_name = _CPP_TYPE[out.name][1]
        if name in _CAST_FAILURES:
            kind, message = _CAST_FAILURES[name]
            raise kind(message.format(Out=out_name, Result=_CPP_TYPE[result.name][1]))
        if rule == CAT:
            raise TypeError(
                f"torch.cat(): input types can't be cast to the desired output type {out_name}"
            )
        raise RuntimeError(
            f"result type {_CPP_TYPE[result.name][1]} can't be cast to the desired output "
            f"type {out_name}"
        )
    (result_cpp, result_scalar), (out_cpp, out_scalar) = _CPP_TYPE[result.name], _CPP_TYPE[out.name]
    raise RuntimeError(
        rule.format(result=result_cpp, out=out_cpp, Result=result_scalar, Out=out_scalar)
    )


def _requires_grad(values: Any) -> bool:
    for value in values:
        if isinstance(value, Tensor):
            if value._requires_grad:
                return True
        elif isinstance(value, (list, tuple)) and _requires_grad(value):
            return True
    return False


def _outs(name: str, out: Any, count: int | None) -> tuple[Tensor, ...]:
    """``out`` as a tuple of tensors, checked against the op's number of results
    (``None``: one tensor)."""
    if count is None:
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
        return (out,)
    if not isinstance(out, (tuple, list)) or not all(isinstance(t, Tensor) for t in out):
        raise TypeError(
            f"{name}(): argument 'out' must be tuple of Tensors, not {type(out).__name__}"
        )
    if len(out) != count:
        raise TypeError(f"expected tuple of {count} elements but got {len(out)}")
    return tuple(out)


def write(target: Tensor, values: Tensor, *, warn: bool = True) -> None:
    """Write ``values`` (already of ``target``'s dtype and device) into ``target``: into
    its memory when the shapes agree, else into new memory of ``values``' shape (PyTorch's
    resize, with its warning when ``target`` had elements and ``warn``)."""
    data = values._data
    if data.dtype != target._data.dtype:
        data = values._backend.astype(data, target._data.dtype)
    _record_write(target)
    if data.shape == target._data.shape:
        target._data = target._backend.assign(target._data, data)
        return
    if warn and target._data.size:
        warnings.warn(
            RESIZE_WARNING.format(old=list(target._data.shape), new=list(data.shape)),
            UserWarning,
            stacklevel=4,
        )
    target._data = values._backend.copy(data) if data is values._data else data


def _check_device(out: Tensor, result: Tensor) -> None:
    if out._backend is not result._backend:
        raise RuntimeError(
            f"Expected out tensor to have device {result._backend.device_str}, but got "
            f"{out._backend.device_str} instead"
        )


def write_out(
    name: str,
    rule: str,
    internal: str,
    function: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    out: Any,
) -> Any:
    """``function(*args, **kwargs)`` written into ``out`` (a tensor, or a tuple of them for
    ops with several results) by the dtype ``rule``; returns ``out`` (its tuple as the op's
    named tuple). ``internal``: the op's name in PyTorch's autograd error."""
    if _grad_state.enabled and (
        _requires_grad(args)
        or _requires_grad(kwargs.values())
        or _requires_grad(out if isinstance(out, (tuple, list)) else (out,))
    ):
        raise RuntimeError(AUTOGRAD_ERROR.format(name=internal))
    if rule == ACCUMULATE and isinstance(out, Tensor) and kwargs.get("dtype") is None:
        # computed in out's dtype, as PyTorch: by ``dtype=``, else on the input cast to it
        if "dtype" in inspect.signature(function).parameters:
            kwargs = {**kwargs, "dtype": out.dtype}
        elif args and isinstance(args[0], Tensor) and args[0].dtype != out.dtype:
            args = (args[0].to(out.dtype), *args[1:])
    result = function(*args, **kwargs)
    results = (result,) if isinstance(result, Tensor) else tuple(result)
    outs = _outs(name, out, None if isinstance(result, Tensor) else len(results))
    for target, values in zip(outs, results):
        _check_device(target, values)
        _check_dtype(name, rule, values._data.dtype, target._data.dtype)
        if target._data.shape == values._data.shape and target._backend.internal_overlap(
            target._data
        ):  # an expanded view: its elements share memory
            raise RuntimeError(OVERLAP_ERROR)
    for target, values in zip(outs, results):
        write(target, values)
    if isinstance(result, Tensor):
        return out
    return type(result)(*outs) if hasattr(result, "_fields") else outs


def _with_out_parameter(function: Callable[..., Any], wrapper: Callable[..., Any]) -> None:
    """Give ``wrapper`` ``function``'s signature plus a keyword-only ``out=None``."""
    sig = inspect.signature(function)
    params = list(sig.parameters.values())
    out = inspect.Parameter(
        "out", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Tensor | None"
    )
    at = len(params)
    if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
        at -= 1
    wrapper.__signature__ = sig.replace(parameters=[*params[:at], out, *params[at:]])
    note = "\n\nWith ``out=`` the result is written into that tensor, which is returned."
    wrapper.__doc__ = (function.__doc__ or "").rstrip() + note


def accepts_out(
    name: str, function: Callable[..., Any], rules: dict[str, str] | None = None
) -> Callable[..., Any]:
    """``function`` as the top-level ``gpugrad.<name>`` (``rules=LINALG_OUT_RULES``:
    ``gpugrad.linalg.<name>``), taking PyTorch's ``out=``.

    The wrapper is generated with ``function``'s own parameters (and defaults) plus
    ``out=None``, so a call without ``out`` forwards its arguments as they came: one extra
    frame, no ``*args``/``**kwargs`` packing."""
    P = inspect.Parameter
    params = list(inspect.signature(function).parameters.values())
    rule = (OUT_RULES if rules is None else rules)[name]
    if rules is LINALG_OUT_RULES:
        internal = LINALG_INTERNAL_NAMES.get(name, f"linalg_{name}")
    else:
        internal = "cat" if rule == CAT else function.__name__
    namespace: dict[str, Any] = {
        "_op_": function,
        "_write_": write_out,
        "_name_": name,
        "_rule_": rule,
        "_internal_": internal,
    }
    header, positional, keywords = [], [], []
    star = False
    for i, p in enumerate(params):
        default = ""
        if p.default is not P.empty:
            namespace[f"_d{i}_"] = p.default
            default = f"=_d{i}_"
        if p.kind is P.VAR_POSITIONAL:
            header.append(f"*{p.name}")
            positional.append(f"*{p.name}")
            star = True
        elif p.kind is P.VAR_KEYWORD:
            continue
        elif p.kind is P.KEYWORD_ONLY:
            if not star:
                header.append("*")
                star = True
            header.append(p.name + default)
            keywords.append(p.name)
        else:
            header.append(p.name + default)
            positional.append(p.name)
    if not star:
        header.append("*")
    header.append("out=None")
    var_keyword = next((p.name for p in params if p.kind is P.VAR_KEYWORD), None)
    if var_keyword:
        header.append(f"**{var_keyword}")
    forwarded = [*positional, *(f"{k}={k}" for k in keywords)]
    kwargs = "{" + ", ".join(f"{k!r}: {k}" for k in keywords) + "}"
    if var_keyword:
        forwarded.append(f"**{var_keyword}")
        kwargs = f"{{**{kwargs}, **{var_keyword}}}"
    source = (
        f"def {function.__name__}({', '.join(header)}):\n"
        f"    if out is None:\n"
        f"        return _op_({', '.join(forwarded)})\n"
        f"    return _write_(_name_, _rule_, _internal_, _op_, "
        f"({''.join(a + ', ' for a in positional)}), {kwargs}, out)\n"
    )
    exec(source, namespace)  # noqa: S102 - the wrapper's code is built from a signature above
    op = functools.wraps(function)(namespace[function.__name__])
    _with_out_parameter(function, op)
    return op
