"""``gpugrad.func``: PyTorch's composable function transforms (``torch.func``).

``grad``, ``vjp``, ``jacrev`` and ``hessian`` run on gpugrad's any-order reverse mode: each
transform marks its inputs (a fresh leaf that requires grad, or an alias of an input that
already does), runs the function with gradient recording on, and calls
``gpugrad.autograd.grad``. A graph is kept for the result (``create_graph=True``) only when
something may differentiate it again: an enclosing transform, or tensors from outside that
require grad (closed-over parameters, inputs that require grad); otherwise results come back
detached, as PyTorch's do.

``jvp`` (and so ``jacfwd``) use the double-vjp trick instead of forward-mode kernels:
``J t = d/du <J^T u, t>``, two reverse passes per call. ``vmap`` maps by slicing: it calls the
function once per index of the batch dimension and stacks the results, which gives
PyTorch's values for any function (nested ``vmap``, ``grad`` inside ``vmap`` for per-sample
gradients, in-place updates of a sliced input) at the cost of one Python call per sample.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from . import _random
from ._engine import grad as _autograd_grad
from ._grad_mode import enable_grad, is_grad_enabled, no_grad
from ._tensor import Tensor
from .autograd.forward_ad import reaches_outside as _reaches_outside

__all__ = [
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]


# --- pytrees: tuples, lists, dicts (and namedtuples) of leaves ----------------------------
class _TreeSpec:
    """The structure of a pytree: a node type, its keys (dict) and its children's specs; a
    leaf's spec is ``None``. ``repr`` is PyTorch's ``TreeSpec`` text, for error messages."""

    __slots__ = ("kind", "context", "children")

    def __init__(self, kind: type, context: Any, children: list) -> None:
        self.kind = kind
        self.context = context
        self.children = children

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _TreeSpec)
            and self.kind is other.kind
            and self.context == other.context
            and self.children == other.children
        )

    def __hash__(self) -> int:  # pragma: no cover - specs are compared, never hashed
        return id(self)

    def __repr__(self) -> str:
        return self._text(0)

    def _text(self, indent: int) -> str:
        name = self.kind.__name__
        parts = []
        for i, child in enumerate(self.children):
            text = "*" if child is None else child._text(indent + 2)
            parts.append(text if i == 0 else "\n" + " " * (indent + 2) + text)
        context = "None" if self.context is None else repr(self.context)
        return f"TreeSpec({name}, {context}, [{','.join(parts)}])"


def _spec_text(spec: _TreeSpec | None) -> str:
    return "*" if spec is None else repr(spec)


def _spec_pprint(spec: _TreeSpec | None) -> str:
    """PyTorch's ``treespec_pprint``: the structure written as Python, ``*`` for leaves."""
    if spec is None:
        return "*"
    parts = [_spec_pprint(child) for child in spec.children]
    if spec.context is not None:  # a dict
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(spec.context, parts)) + "}"
    if spec.kind is list:
        return "[" + ", ".join(parts) + "]"
    return "(" + ", ".join(parts) + (",)" if len(parts) == 1 else ")")


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _tree_flatten(tree: Any) -> tuple[list, _TreeSpec | None]:
    """The leaves of ``tree`` in order, and its structure."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree: Any, leaves: list) -> _TreeSpec | None:
    # Iterative over siblings, recursive over nesting depth (user structures are shallow).
    if isinstance(tree, (tuple, list)):
        kind = type(tree) if _is_namedtuple(tree) else (tuple if isinstance(tree, tuple) else list)
        return _TreeSpec(kind, None, [_flatten_into(item, leaves) for item in tree])
    if isinstance(tree, dict):
        keys = list(tree)
        kind = OrderedDict if isinstance(tree, OrderedDict) else dict
        return _TreeSpec(kind, keys, [_flatten_into(tree[k], leaves) for k in keys])
    leaves.append(tree)
    return None


def _tree_unflatten(leaves: Sequence, spec: _TreeSpec | None) -> Any:
    """The pytree of structure ``spec`` holding ``leaves``."""
    iterator = iter(leaves)
    return _build(iterator, spec)


def _build(iterator: Any, spec: _TreeSpec | None) -> Any:
    if spec is None:
        return next(iterator)
    children = [_build(iterator, child) for child in spec.children]
    if spec.kind is tuple or spec.kind is list:
        return spec.kind(children)
    if issubclass(spec.kind, tuple):  # a namedtuple
        return spec.kind(*children)
    return spec.kind(zip(spec.context, children))


def _broadcast_prefix(prefix: Any, tree: Any) -> list | None:
    """``prefix`` (a tree whose leaves stand for whole subtrees of ``tree``) expanded to one
    value per leaf of ``tree``; ``None`` when the structures do not match."""
    out: list = []
    pending = [(prefix, tree)]
    while pending:
        p, t = pending.pop()
        p_spec = _tree_flatten(p)[1] if isinstance(p, (tuple, list, dict)) else None
        if p_spec is None:
            out.extend([p] * len(_tree_flatten(t)[0]))
            continue
        t_is_node = isinstance(t, (tuple, list, dict))
        if not t_is_node or len(p) != len(t):
            return None
        if isinstance(p, dict):
            if not isinstance(t, dict) or set(p) != set(t):
                return None
            pairs = [(p[k], t[k]) for k in t]
        else:
            if isinstance(t, dict) or isinstance(p, list) != isinstance(t, list):
                return None
            pairs = list(zip(p, t))
        pending.extend(reversed(pairs))
    return out


# --- transform levels: whether results may be differentiated again -------------------------
class _Levels(threading.local):
    depth = 0
    outer_grad_enabled = True


_levels = _Levels()


def _keeps_graph(roots: Sequence[Tensor], inner: set[int], extra: Sequence[Any] = ()) -> bool:
    """Whether a transform's derivatives must be built differentiably (never under a
    ``no_grad`` in force where the outermost transform was called)."""
    if _levels.depth > 1:
        return True
    if not _levels.outer_grad_enabled:
        return False
    if any(isinstance(t, Tensor) and t._requires_grad for t in extra):
        return True
    return _reaches_outside(roots, inner)


def _check_transform_input(value: Any) -> Tensor:
    if not isinstance(value, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(value)}")
    return value


def _mark(value: Any, inner: set[int]) -> Tensor:
    """The tensor a transform differentiates with respect to, standing for ``value``: an
    alias that keeps ``value``'s own graph when it requires grad, else a fresh leaf."""
    tensor = _check_transform_input(value)
    if tensor._requires_grad:
        return tensor.view_as(tensor)
    marked = tensor.detach().requires_grad_()
    inner.add(id(marked))
    return marked


def _detach_tree(tree: Any) -> Any:
    leaves, spec = _tree_flatten(tree)
    return _tree_unflatten(
        [leaf.detach() if isinstance(leaf, Tensor) else leaf for leaf in leaves], spec
    )


def _gradients(
    outputs: Sequence[Tensor],
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor] | None,
    create_graph: bool,
) -> list[Tensor]:
    """``autograd.grad`` that gives zeros for inputs the outputs do not depend on."""
    pairs = [i for i, o in enumerate(outputs) if o._requires_grad]
    wanted = [i for i, t in enumerate(inputs) if t._requires_grad]
    found: list[Tensor | None] = [None] * len(inputs)
    if pairs and wanted:
        got = _autograd_grad(
            [outputs[i] for i in pairs],
            [inputs[i] for i in wanted],
            grad_outputs=None if grad_outputs is None else [grad_outputs[i] for i in pairs],
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
        for i, g in zip(wanted, got):
            found[i] = g
    return [_zeros(g, t) for g, t in zip(found, inputs)]


def _zeros(g: Tensor | None, like: Tensor) -> Tensor:
    if g is not None:
        return g
    from ._factories import zeros_like

    return zeros_like(like.detach())


# --- argnums ------------------------------------------------------------------------------
def _normalize_argnums(argnums: Any, n_args: int) -> tuple[int, ...]:
    as_tuple = argnums if isinstance(argnums, tuple) else (argnums,)
    if not isinstance(argnums, (int, tuple)) or isinstance(argnums, bool):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if not as_tuple:
        raise RuntimeError("argnums must be non-empty")
    for a in as_tuple:
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
        if not -n_args <= a < n_args:
            raise RuntimeError(f"Got argnum={a}, but only {n_args} positional inputs")
    normalized = tuple(a % n_args for a in as_tuple)
    if len(set(normalized)) != len(normalized):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return normalized


def _marked_args(args: tuple, argnums: Any, inner: set[int]) -> tuple[tuple, Any, list]:
    """``args`` with the differentiated ones (``argnums``) replaced by marked tensors; the
    marked part as a pytree (an argument, or a tuple of them when ``argnums`` is a tuple)
    and its leaves."""
    positions = _normalize_argnums(argnums, len(args))
    new_args = list(args)
    marked_parts = []
    all_leaves: list = []
    for p in positions:
        leaves, spec = _tree_flatten(args[p])
        marked = [_mark(leaf, inner) for leaf in leaves]
        all_leaves.extend(marked)
        new_args[p] = _tree_unflatten(marked, spec)
        marked_parts.append(new_args[p])
    tree = tuple(marked_parts) if isinstance(argnums, tuple) else marked_parts[0]
    return tuple(new_args), tree, all_leaves


def _check_aux(aux: Any) -> None:
    for leaf in _tree_flatten(aux)[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")


class _Level:
    """One transform level: counted while the function runs, so nested transforms know that
    their results will be differentiated again."""

    def __enter__(self) -> None:
        if _levels.depth == 0:
            _levels.outer_grad_enabled = is_grad_enabled()
        _levels.depth += 1

    def __exit__(self, *exc: object) -> None:
        _levels.depth -= 1


# --- grad, grad_and_value, vjp -------------------------------------------------------------
def grad_and_value(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function that returns ``(gradient, value)`` of ``func`` with respect to the
    arguments ``argnums``; ``func`` returns a scalar tensor, or ``(scalar, aux)`` with
    ``has_aux=True`` (then the result is ``(gradient, (value, aux))``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inner: set[int] = set()
        with _Level(), enable_grad():
            new_args, tree, leaves = _marked_args(args, argnums, inner)
            output = func(*new_args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(output, tuple) and len(output) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                output, aux = output
                _check_aux(aux)
            if not isinstance(output, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(output)}"
                )
            if output.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                    f"got tensor with {output.dim()} dims. Maybe you wanted to use the vjp or "
                    "jacrev APIs instead?"
                )
            keep = _keeps_graph([output], inner)
            grads = _gradients([output], leaves, None, keep)
        spec = _tree_flatten(tree)[1]
        gradient = _tree_unflatten(grads, spec)
        if not keep:
            output, aux = output.detach(), _detach_tree(aux)
        if has_aux:
            return gradient, (output, aux)
        return gradient, output

    return wrapper


def grad(
    func: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function that returns the gradient of ``func`` (a scalar-valued function) with
    respect to its arguments ``argnums`` (``(gradient, aux)`` with ``has_aux=True``)."""
    with_value = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gradient, (value_and_aux) = with_value(*args, **kwargs)
        if has_aux:
            return gradient, value_and_aux[1]
        return gradient

    return wrapper


def _tensor_outputs(output: Any, has_aux: bool, call: str) -> tuple[Any, Any, list, Any]:
    """``output`` and the auxiliary value split (``has_aux``), the output's tensors and its
    tree spec, with PyTorch's errors for a function that returns something else; ``call``
    names the transform in them (``"vjp(f, *primals)"``)."""
    aux = None
    if has_aux:
        if not (isinstance(output, tuple) and len(output) == 2):
            raise RuntimeError(
                f"{call}: output of function f should be a tuple: (output, aux) if has_aux is True"
            )
        output, aux = output
    leaves, spec = _tree_flatten(output)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(
                f"{call}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(leaf)}"
            )
    return output, aux, leaves, spec


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn)`` (and ``aux`` with ``has_aux=True``): ``vjp_fn(cotangents)``
    returns the vector-Jacobian products with respect to every primal, as a tuple."""
    inner: set[int] = set()
    with _Level(), enable_grad():
        marked_primals = []
        primal_specs = []
        marked_leaves: list = []
        for primal in primals:
            leaves, spec = _tree_flatten(primal)
            marked = [_mark(leaf, inner) for leaf in leaves]
            marked_leaves.extend(marked)
            primal_specs.append((len(marked), spec))
            marked_primals.append(_tree_unflatten(marked, spec))
        output, aux, out_leaves, out_spec = _tensor_outputs(
            func(*marked_primals), has_aux, "vjp(f, *primals)"
        )
        outside = _keeps_graph(out_leaves, inner)

    def vjp_fn(cotangents: Any, *, retain_graph: bool = True, create_graph: Any = None) -> tuple:
        ct_leaves, ct_spec = _tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure "
                f"of outputs to the function. cotangents: {_spec_pprint(ct_spec)}, primal "
                f"output: {_spec_pprint(out_spec)}"
            )
        for ct, out in zip(ct_leaves, out_leaves):
            if not isinstance(ct, Tensor):
                raise TypeError(
                    f"gradients can be either Tensors or None, but got {type(ct).__name__}"
                )
            if ct.shape != out.shape:
                raise RuntimeError(
                    "Mismatch in shape: grad_output[0] has a shape of "
                    f"{ct.shape} and output[0] has a shape of {out.shape}."
                )
        keep = is_grad_enabled() and (
            outside or _levels.depth > 0 or any(ct._requires_grad for ct in ct_leaves)
        )
        with enable_grad():
            grads = _gradients(out_leaves, marked_leaves, ct_leaves, keep)
        if not keep:
            grads = [g.detach() for g in grads]
        result = []
        start = 0
        for count, spec in primal_specs:
            result.append(_tree_unflatten(grads[start : start + count], spec))
            start += count
        return tuple(result)

    shown = output if outside else _detach_tree(output)
    if has_aux:
        return shown, vjp_fn, (aux if outside else _detach_tree(aux))
    return shown, vjp_fn


# --- jvp, linearize ----------------------------------------------------------------------
def _check_jvp_args(primals: Any, tangents: Any, name: str = "jvp") -> tuple[list, list, Any]:
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"{name}(f, primals, tangents): Expected primals to be a tuple. E.g. it should be "
            "valid to call f(*primals)."
        )
    p_leaves, p_spec = _tree_flatten(primals)
    t_leaves, t_spec = _tree_flatten(tangents)
    if not isinstance(tangents, tuple) or p_spec != t_spec:
        raise RuntimeError(
            f"{name}(f, primals, tangents): Expected primals and tangents to have the same "
            "python structure. For example, if primals is a tuple of 3 tensors, tangents "
            f"also must be. Got primals with structure {_spec_text(p_spec)} and tangents "
            f"with structure {_spec_text(t_spec)}"
        )
    for p, t in zip(p_leaves, t_leaves):
        _check_transform_input(p)
        _check_transform_input(t)
        if p.shape != t.shape:
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    return p_leaves, t_leaves, p_spec


def _jacobian_vector_products(
    out_leaves: list, marked: list, tangents: list, keep: bool
) -> list[Tensor]:
    """``J t`` for each output by two reverse passes: ``g(u) = J^T u`` with a dummy ``u``
    recorded, then the gradient of ``<g(u), t>`` with respect to ``u``."""
    from ._factories import zeros_like

    differentiable = [o for o in out_leaves if o._requires_grad]
    dummies = [zeros_like(o.detach()).requires_grad_() for o in differentiable]
    pulled = _gradients(differentiable, marked, dummies, create_graph=True) if dummies else []
    used = [i for i, g in enumerate(pulled) if g._requires_grad]
    products: list[Tensor | None] = [None] * len(differentiable)
    if used:
        got = _autograd_grad(
            [pulled[i] for i in used],
            dummies,
            grad_outputs=[tangents[i] for i in used],
            retain_graph=True,
            create_graph=keep,
            allow_unused=True,
        )
        products = list(got)
    result = []
    k = 0
    for o in out_leaves:
        if o._requires_grad:
            product = products[k]
            k += 1
        else:
            product = None
        result.append(_zeros(product, o) if keep else _zeros(product, o).detach())
    return result


def jvp(
    func: Callable[..., Any],
    primals: Any,
    tangents: Any,
    *,
    strict: bool = False,
    has_aux: bool = False,
) -> Any:
    """``(func(*primals), J·tangents)`` (and ``aux`` with ``has_aux=True``).

    Computed with two reverse passes (the double-vjp trick), not forward-mode kernels.
    ``strict`` is accepted and ignored, as in PyTorch."""
    p_leaves, t_leaves, p_spec = _check_jvp_args(primals, tangents)
    inner: set[int] = set()
    with _Level(), enable_grad():
        marked = [_mark(p, inner) for p in p_leaves]
        output, aux, out_leaves, out_spec = _tensor_outputs(
            func(*_tree_unflatten(marked, p_spec)), has_aux, "jvp(f, primals, tangents)"
        )
        keep = _keeps_graph(out_leaves, inner, t_leaves)
        products = _jacobian_vector_products(
            out_leaves, marked, [t.to(p.dtype) for t, p in zip(t_leaves, p_leaves)], keep
        )
    if not keep:
        output, aux = _detach_tree(output), _detach_tree(aux)
    result = (output, _tree_unflatten(products, out_spec))
    return (*result, aux) if has_aux else result


def linearize(func: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the jvp at ``primals``."""
    output = func(*primals)

    def jvp_fn(*tangents: Any) -> Any:
        p_leaves, p_spec = _tree_flatten(primals)
        t_leaves, t_spec = _tree_flatten(tangents)
        if p_spec != t_spec:
            raise RuntimeError(
                f"Expected the tangents {_spec_text(t_spec)} to have the same argspec as the "
                f"primals {_spec_text(p_spec)}"
            )
        for index, (p, t) in enumerate(zip(p_leaves, t_leaves)):
            for what in ("shape", "device", "dtype"):
                if getattr(t, what) != getattr(p, what):
                    raise RuntimeError(
                        f"tangent:{index} with {what} {getattr(t, what)} in flattened pytree "
                        f"doesn't match the {what} {getattr(p, what)} of the corresponding "
                        "primal."
                    )
        return jvp(func, tuple(primals), tuple(tangents))[1]

    return _detach_tree(output), jvp_fn


# --- jacrev, jacfwd, hessian ---------------------------------------------------------------
def _jacobian(
    func: Callable[..., Any], argnums: Any, has_aux: bool, name: str
) -> Callable[..., Any]:
    # PyTorch's messages name the transform jacrev/jacfwd are built on.
    inner_name = "vjp(f, *primals)" if name == "jacrev" else "jvp(f, primals, tangents)"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ._exports import stack  # type: ignore[attr-defined]

        inner: set[int] = set()
        with _Level(), enable_grad():
            new_args, tree, leaves = _marked_args(args, argnums, inner)
            output, aux, out_leaves, out_spec = _tensor_outputs(
                func(*new_args, **kwargs), has_aux, inner_name
            )
            keep = _keeps_graph(out_leaves, inner)
            in_spec = _tree_flatten(tree)[1]
            per_output = []
            for out in out_leaves:
                flat = out.reshape(-1)
                rows: list[list[Tensor]] = [[] for _ in leaves]
                for k in range(flat.shape[0]):
                    row = _gradients([flat[k]], leaves, None, keep)
                    for i, g in enumerate(row):
                        rows[i].append(g)
                blocks = []
                for i, leaf in enumerate(leaves):
                    shape = tuple(out.shape) + tuple(leaf.shape)
                    if rows[i]:
                        block = stack(rows[i]).reshape(shape)
                    else:
                        from ._factories import zeros

                        block = zeros(shape, dtype=leaf.dtype, device=leaf.device)
                    blocks.append(block if keep else block.detach())
                per_output.append(_tree_unflatten(blocks, in_spec))
        jac = _tree_unflatten(per_output, out_spec)
        if has_aux:
            return jac, (aux if keep else _detach_tree(aux))
        return jac

    return wrapper


def jacrev(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
    _preallocate_and_copy: bool = False,
) -> Callable[..., Any]:
    """A function that returns the Jacobian of ``func`` with respect to the arguments
    ``argnums``, computed row by row with reverse mode (one backward pass per output
    element). ``chunk_size`` is accepted; the rows are always computed one at a time."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(
    func: Callable[..., Any],
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    *,
    randomness: str = "error",
) -> Callable[..., Any]:
    """A function that returns the Jacobian of ``func`` with respect to the arguments
    ``argnums``: the same values and structure as ``jacrev`` (gpugrad has no forward-mode
    kernels, so it is computed by reverse mode too)."""
    _check_randomness(randomness)
    return _jacobian(func, argnums, has_aux, "jacfwd")


def hessian(func: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """A function that returns the Hessian of the scalar function ``func`` with respect to
    the arguments ``argnums`` (``jacfwd(jacrev(func, argnums), argnums)``)."""
    return jacfwd(jacrev(func, argnums), argnums)


# --- vmap --------------------------------------------------------------------------------
def _check_randomness(randomness: Any) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )


def _func_name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))


def _generators() -> list:
    """The default generators in use (the CPU one and each CUDA device's that exists)."""
    return [_random.default_generator, *_random._cuda_generators.values()]


def _rng_states() -> list:
    return [g.get_state() for g in _generators()]


def vmap(
    func: Callable[..., Any],
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """``func`` mapped over dimension ``in_dims`` of its inputs, results stacked along
    ``out_dims``.

    gpugrad maps by slicing: ``func`` runs once per index of the batch dimension (so the
    values are PyTorch's for any function, at one Python call per sample); ``chunk_size``
    is accepted and does not change results. ``randomness='error'`` raises when ``func``
    draws random numbers, ``'different'`` lets each sample draw its own, ``'same'`` replays
    one draw for every sample."""
    _check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _func_name(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _vmap_call(func, name, in_dims, out_dims, randomness, args, kwargs)

    return wrapper


def _vmap_call(
    func: Callable[..., Any],
    name: str,
    in_dims: Any,
    out_dims: Any,
    randomness: str,
    args: tuple,
    kwargs: dict,
) -> Any:
    where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    for dim in _tree_flatten(out_dims)[0]:
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool)):
            raise ValueError(
                f"vmap({name}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a "
                "python collection of ints representing where in the outputs the vmapped "
                "dimension should appear."
            )
    if not args:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(
            f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching "
            f"the structure of inputs, got: {type(in_dims)}."
        )
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(
            f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {_spec_text(_tree_flatten(in_dims)[1])} but inputs has structure "
            f"{_spec_text(_tree_flatten(args)[1])}."
        )
    arg_leaves, arg_spec = _tree_flatten(args)
    dims = _broadcast_prefix(in_dims, args)
    if dims is None:
        raise ValueError(
            f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {_spec_text(_tree_flatten(in_dims)[1])} but inputs has structure "
            f"{_spec_text(arg_spec)}."
        )
    sizes = []
    for leaf, dim in zip(arg_leaves, dims):
        if dim is None:
            continue
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise ValueError(
                f"{where}: Got in_dim={dim} for an input but in_dim must be either an integer "
                "dimension or None."
            )
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"{where}: Got in_dim={dim} for an input but the input is of type "
                f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use None as "
                "the respective in_dim"
            )
        ndim = leaf.dim()
        if not -ndim <= dim < ndim or ndim == 0:
            raise ValueError(
                f"{where}: Got in_dim={dim} for some input, but that input is a Tensor of "
                f"dimensionality {ndim} so expected in_dim to satisfy -{ndim} <= in_dim < "
                f"{ndim}."
            )
        sizes.append(leaf.shape[dim])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    batch = sizes[0]
    if batch == 0:
        return _vmap_empty(func, name, arg_leaves, dims, arg_spec, kwargs, out_dims)
    results = []
    out_spec = None
    replay = _rng_states() if randomness == "same" else None
    for index in range(batch):
        if replay is not None:
            for generator, state in zip(_generators(), replay):
                generator.set_state(state)
        before = _rng_states() if randomness == "error" else None
        sample = [
            leaf if dim is None else leaf.select(dim, index) for leaf, dim in zip(arg_leaves, dims)
        ]
        output = func(*_tree_unflatten(sample, arg_spec), **kwargs)
        if before is not None and _states_differ(before, _rng_states()):
            raise RuntimeError(
                "vmap: called random operation while in randomness error mode. Please either "
                "use the 'same' or 'different' randomness flags on vmap or perform the "
                "randomness operation out of vmap"
            )
        leaves, spec = _tree_flatten(output)
        out_spec = spec
        results.append(leaves)
    return _stack_outputs(name, results, out_spec, out_dims)


def _vmap_empty(
    func: Callable[..., Any],
    name: str,
    arg_leaves: list,
    dims: list,
    arg_spec: Any,
    kwargs: dict,
    out_dims: Any,
) -> Any:
    """A batch of size 0: ``func`` runs once on a zero-filled sample (its values are thrown
    away) to learn the outputs' shapes, dtypes and devices, and the results are empty."""
    from ._factories import zeros

    sample = []
    for leaf, dim in zip(arg_leaves, dims):
        if dim is None:
            sample.append(leaf)
            continue
        shape = [size for d, size in enumerate(leaf.shape) if d != dim % leaf.dim()]
        sample.append(zeros(shape, dtype=leaf.dtype, device=leaf.device))
    output = func(*_tree_unflatten(sample, arg_spec), **kwargs)
    leaves, spec = _tree_flatten(output)
    stacked = _stack_outputs(name, [leaves], spec, out_dims)
    out_leaves, _ = _tree_flatten(stacked)
    dims_out = _broadcast_prefix(out_dims, output)
    empty = [leaf if d is None else leaf.narrow(d, 0, 0) for leaf, d in zip(out_leaves, dims_out)]
    return _tree_unflatten(empty, spec)


def _states_differ(before: list, after: list) -> bool:
    return any(not a.equal(b) for a, b in zip(before, after))


def _unbatched(name: str, column: list) -> Any:
    """An output whose ``out_dim`` is ``None``: the same for every sample, or an error (a
    tensor that differs between samples is batched)."""
    first = column[0]
    if isinstance(first, Tensor):
        for other in column[1:]:
            if other is not first and not (
                isinstance(other, Tensor) and other.shape == first.shape and other.equal(first)
            ):
                raise ValueError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim "
                    "is None"
                )
    return first


def _stack_outputs(name: str, results: list[list], out_spec: Any, out_dims: Any) -> Any:
    from ._exports import stack  # type: ignore[attr-defined]

    template = _tree_unflatten(results[0], out_spec)
    dims = _broadcast_prefix(out_dims, template)
    if dims is None or not isinstance(out_dims, (int, tuple, type(None))):
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
            "with the structure of `outputs`. out_dims has structure "
            f"{_spec_text(_tree_flatten(out_dims)[1])} but outputs has structure "
            f"{_spec_text(out_spec)}."
        )
    stacked = []
    for k, dim in enumerate(dims):
        column = [leaves[k] for leaves in results]
        if dim is None:
            stacked.append(_unbatched(name, column))
            continue
        if not isinstance(column[0], Tensor):
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                f"{type(column[0])}. Did you mean to set out_dims= to None for output?"
            )
        ndim = column[0].dim() + 1
        if not -ndim <= dim < ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                f"but got {dim})"
            )
        stacked.append(stack(column, dim=dim))
    return _tree_unflatten(stacked, out_spec)


# --- functional_call, stack_module_state ---------------------------------------------------
def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module`` with its parameters and buffers replaced by the given tensors (a
    dict, or a sequence of dicts, by name); the module itself is left unchanged."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        counts: dict[str, int] = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(
                f"{repeated} appeared in multiple dictionaries; behavior of functional call "
                "is ambiguous"
            )
        values = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, "
            f"but got {type(parameter_and_buffer_dicts)}"
        )
    from .nn.utils.stateless import call_with

    return call_with(module, values, args, kwargs, tie_weights=tie_weights, strict=strict)


def _stacked_leaf(tensors: tuple[Tensor, ...], name: str) -> Tensor:
    from ._exports import stack  # type: ignore[attr-defined]

    all_require = all(t.requires_grad for t in tensors)
    none_require = not any(t.requires_grad for t in tensors)
    if not all_require and not none_require:
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    with no_grad():
        result = stack(tensors)
    if all_require:
        result = result.detach().requires_grad_()
    return result


def stack_module_state(models: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, buffers)``: each parameter and buffer of the (same-class) ``models``
    stacked along a new leading dimension, for ``vmap`` over ``functional_call``."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: _stacked_leaf(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: _stacked_leaf(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers


# --- functionalize, replace_all_batch_norm_modules_ -----------------------------------------
def functionalize(func: Callable[..., Any], *, remove: str = "mutations") -> Callable[..., Any]:
    """``func`` itself, wrapped: PyTorch's ``functionalize`` rewrites mutations for its graph
    compilers without changing results or the input updates a caller sees, and gpugrad
    runs eagerly, so there is nothing to rewrite. ``remove`` is checked as PyTorch does."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(
            "functionalize(f, remove='mutations'): received invalid argument for remove="
            f"{remove}. Valid options are:\n     remove='mutations': all inplace and out= "
            "operators will be removed from the program, and replaced with their out-of-place "
            "equivalents.\n     remove='mutations_and_views': In addition to the above, all "
            "aliasing operators {view} will be replaced with their non-aliasing counterparts, "
            "{view}_copy.\n"
        )

    @functools.wraps(func)
    def functionalized(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return functionalized


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """In place: every batch-norm module in ``root`` stops tracking running statistics
    (``running_mean``/``running_var`` set to None), so it can run under ``vmap``."""
    from .nn.modules.normalization import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
