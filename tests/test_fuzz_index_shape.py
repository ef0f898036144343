"""Indexing, shape ops, in-place ops and views as PyTorch has them: node names, values,
gradients, errors and aliasing of the cases the fuzzer (``tests/fuzz_programs.py``) found
to differ. Each case is one snippet run with ``L = torch`` and with ``L = gpugrad``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import gpugrad as gg  # noqa: E402

# PyTorch warns that writing into an expanded tensor is deprecated, and does it
pytestmark = pytest.mark.filterwarnings("ignore:Use of .* on expanded tensors:UserWarning")


def _nan_safe(values):
    """``values`` (nested lists) with NaN spelled out, so that equal results compare equal."""
    if isinstance(values, list):
        return [_nan_safe(v) for v in values]
    return "nan" if values != values else values


def _outcome(L, dev: str, code: str) -> tuple:
    """Run ``code`` (which sets ``r``, a tuple of tensors) with ``x`` a float64 leaf; the
    error it raises (class, text), or each result's values, dtype and node name, and
    ``x.grad`` after a backward through the first result that requires grad."""
    x = L.tensor(
        [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=L.float64, device=dev, requires_grad=True
    )
    ns = {"L": L, "x": x, "dev": dev, "i0": L.tensor([0], device=dev)}
    ns["no_index"] = L.tensor([], dtype=L.int64, device=dev)
    ns["two"] = L.tensor(2.0, dtype=L.float64, device=dev)
    ns["z"] = L.zeros(2, 3, 4, dtype=L.float64, device=dev)
    try:
        exec(code, ns)
    except Exception as error:  # noqa: BLE001 - compared with PyTorch's
        text = str(error).split("\nException raised from")[0]  # PyTorch's C++ trace
        return type(error).__name__, text.replace("torch.", "gpugrad.")
    results = ns["r"]
    seen = []
    for t in results:
        node = t.grad_fn
        name = None if node is None else (node.name() if L is gg else type(node).__name__)
        seen.append((_nan_safe(t.tolist()), str(t.dtype).split(".")[-1], name))
    first = next((t for t in results if t.requires_grad), None)
    if first is not None:
        try:
            (first * first.detach().sin()).sum().backward()
        except RuntimeError as error:  # PyTorch's backward refuses some graphs
            return (*seen, str(error))
        seen.append(_nan_safe(x.grad.tolist()) if x.grad is not None else None)
    return tuple(seen)


def assert_like_torch(code: str, device: str) -> None:
    assert _outcome(gg, device, code) == _outcome(torch, "cpu", code), code


# --- node names of x[key] ----------------------------------------------------------------
GETITEM_KEYS = [
    "True", "False", "None", "...", "()", "0", "-1", ":", "0:1", "0:9", ":, :", "0, :",
    "0, None", "None, :1", "0:1:1, None", ":, :, None", "1, 0:2, None", "0, 0, ...", ":, ...",
    "..., None", "None, ...", "None, 0:10", "None, -5:", "None, -2:2", "True, 0", "None, 0, True",
    "L.tensor([0, 1], device=dev)", "[0, 1], None", "::-1, None", "::0", "x > 0",
    "L.tensor(1, device=dev)",
]  # fmt: skip


@pytest.mark.parametrize("key", GETITEM_KEYS)
def test_getitem_node_names(device, key):
    """PyTorch names ``x[key]`` after its last step that changes anything: an int selects
    (SelectBackward0), a slice that is not full slices, ``None`` unsqueezes, a bool or a
    tensor indexes; a key that changes nothing is ``AliasBackward0``, and a lone slice
    always slices."""
    assert_like_torch(f"r = (x[{key}],)", device)


@pytest.mark.parametrize(
    "call",
    [
        "L.chunk(x, 2, 1)",
        "L.chunk(x, 1, -2)",
        "L.split(x, 2, 1)",
        "L.split(x, [1, 2], 1)",
        "L.unbind(x, 1)",
        "L.unbind(x[0], 0)",
        "L.chunk(x[:, :0], 3, 1)",
        "(L.masked_select(x, x > 2),)",
        "(L.masked_select(x, L.tensor([True, False, True], device=dev)),)",
        "(x.narrow(0, 0, 2),)",
    ],
)
def test_multi_view_node_names(device, call):
    assert_like_torch(f"r = tuple({call})", device)


# --- x[key] = value: nodes, values, gradients ----------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "y = x.detach().clone(); y[:] = x; r = (y,)",
        "y = x.detach().clone(); y[()] = x; r = (y,)",
        "y = x.detach().clone(); y[:, :] = x * 2; r = (y,)",
        "y = x.detach().clone(); y[0] = x[1] * 2; r = (y,)",
        "y = x.clone(); y[i0] = 2.0; r = (y,)",
        "y = x.clone(); y[L.tensor([0, 0], device=dev)] = x[1]; r = (y,)",
        "y = x.clone(); y[y > 0] = 2.0; r = (y,)",
        "y = x.clone(); y[y > 0] = x[x > 0] * 3; r = (y,)",
        "y = x.clone(); y[y > 0] = x[0, 0].float(); r = (y,)",
        "y = x.clone(); y[0] = x[None, None, 1]; r = (y,)",
        "y = L.zeros(2, 3, dtype=L.int64, device=dev); y[0] = x[1]; r = (y,)",
        "y = x.clone(); v = y[::2]; v.relu_(); r = (y, v)",
        "y = x.clone(); r = (y[::2].sub_(1), y)",
        "y = x.clone(); y[::2].zero_(); r = (y,)",
        "y = x.clone(); v = y[0]; v.mul_(2); r = (y, v)",
        "y = x.clone(); v = y[:, :]; v.mul_(2); r = (y, v)",
        "y = x.clone(); v = y[None]; v.mul_(2); r = (y, v)",
    ],
)
def test_setitem_nodes_values_and_gradients(device, code):
    """``CopyBackwards`` for a key that selects all, ``CopySlices`` for a basic key (and on
    the base of a view written in place, the view then ``AsStridedBackward0``),
    ``IndexPutBackward0`` for an advanced key."""
    assert_like_torch(code, device)


# --- x[key] = value: refusals ---------------------------------------------------------------
@pytest.mark.parametrize(
    "assignment",
    [
        "y[L.tensor([0, 1], device=dev)] = L.tensor(1.0, dtype=L.float32, device=dev)",
        "y[L.tensor([0, 1], device=dev)] = L.ones(5, dtype=L.float64, device=dev)",
        "y[L.tensor([0, 1], device=dev)] = L.ones(1, 1, 5, dtype=L.float64, device=dev)",
        "y[L.tensor([0, 1], device=dev)] = L.ones(1, 1, 1, 3, dtype=L.float64, device=dev)",
        "y[L.tensor([0, 1], device=dev)] = L.ones(5, dtype=L.int64, device=dev)",
        "y[[0, 1]] = L.ones(2, 3, dtype=L.bool, device=dev)",
        "y[0, [0, 1]] = L.ones(2, 1, dtype=L.float64, device=dev)",
        "y[y > 0] = L.ones(3, dtype=L.float32, device=dev)",
        "y[y > 0] = L.ones(1, dtype=L.float32, device=dev)",
        "y[y > 0] = L.ones(5, dtype=L.float64, device=dev)",
        "y[None, L.tensor([-1, -1], device=dev)] = L.ones(3, dtype=L.float32, device=dev)",
        "y[0] = L.ones(1, 2, 3, dtype=L.float64, device=dev)",
        "y[0] = L.ones(3, 1, 1, 3, dtype=L.float64, device=dev)",
        "y[0] = L.ones(2, dtype=L.float64, device=dev)",
        "y[0] = L.ones(1, 1, 2, dtype=L.int32, device=dev)",
        "y[0] = L.ones(3, dtype=L.int64, device=dev)",
        "y[1:] = L.ones(1, 2, 3, dtype=L.float64, device=dev)",
        "y[:, None] = L.ones(2, 2, 3, dtype=L.float64, device=dev)",
        "y[0, -2] = L.ones(2, 2, dtype=L.bool, device=dev)",
        "y[1:1] = L.ones(2, 3, dtype=L.float64, device=dev)",
    ],
)
@pytest.mark.parametrize("grad", [False, True])
def test_setitem_checks_the_value_as_torch(device, assignment, grad):
    """The value's leading 1s are dropped; an advanced key then wants it broadcastable to
    the indexed shape ("shape mismatch") and of the same dtype (a lone bool mask with one
    value aside), a basic key expands it (expand's errors) and casts it."""
    start = "y = x.clone()" if grad else "y = x.detach().clone()"
    assert_like_torch(f"{start}; {assignment}; r = (y,)", device)


def test_expand_error_names_the_tensor_type(device):
    for dtype, shape in (("float32", (2, 2)), ("int64", (2, 1)), ("bool", (3, 2, 3))):
        code = f"r = (L.zeros({shape}, dtype=L.{dtype}, device=dev).expand(2),)"
        assert_like_torch(code, device)


# --- in-place ops through transposed and expanded views -------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "y = x.clone(); v = y.t(); v.mul_(2); r = (y, v)",
        "y = x.clone(); v = y.transpose(0, 1); v.clamp_(0.5, None); r = (y, v)",
        "y = x.clone(); v = y.transpose(0, 1); v.fill_(True); r = (y, v)",
        "y = x.clone(); v = y.transpose(0, 1); v.copy_(L.tensor(-2.5, device=dev)); r = (y, v)",
        "y = x.clone(); r = (y.transpose(0, 1).div_(-0.0), y)",
        "y = x.clone(); v = y.permute(1, 0)[::2]; v.sqrt_(); r = (y,)",
        "y = x.clone(); y.t().div_(L.ones(3, device=dev)); r = (y,)",
        "y = x.clone(); y.t().add_(L.ones(3, 3, dtype=L.float64, device=dev)); r = (y,)",
        "y = x.clone().long(); y.t().div_(2.0); r = (y,)",
        "y = x[:1].clone(); v = y.expand(2, 3); v.fill_(0.5); r = (y, v)",
        "y = x[:1].clone(); v = y.expand(2, 3); v.abs_(); r = (y, v)",
        "y = x[:1].clone(); v = y.expand(2, 3).tril_(); r = (y, v)",
        "y = x[:, :1].clone(); y.expand(2, 3).index_fill_(1, i0, 2.0); r = (y,)",
        "y = x[:1].detach().clone(); v = y.expand(2, 3); v.fill_(0.5); r = (y, v)",
        "y = x[:1].detach().clone(); y.expand(2, 3).zero_(); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).masked_fill_(y > 0, 7.0); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).index_fill_(0, i0, 2.0); r = (y,)",
        "y = x[:, :1].detach().clone(); y.expand(2, 3).index_fill_(1, i0, 2.0); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).index_fill_(0, no_index, 2.0); r = (y,)",
        "y = x[:1, :1].detach().clone(); y.expand(3, 3).tril_(); r = (y,)",
        "y = x[:1, :1].detach().clone(); y.expand(3, 3).triu_(1); r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3).index_put_((i0,), two); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).abs_(); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).relu_(); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 3).copy_(L.tensor(2.0, device=dev)); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 0, 3).copy_(2.0); r = (y,)",
        "y = x[:1].detach().clone(); y.expand(2, 0, 3).abs_(); r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[0].abs_(); r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[0].fill_(2); r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[0] = 5; r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[:, 1] = 5; r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[:] = 5; r = (y,)",
        "y = x[0].detach().clone(); y.expand(2, 3)[i0] = 5; r = (y,)",
    ],
)
def test_inplace_through_transposed_and_expanded_views(device, code):
    """A write through any view reaches its base (its elements found by their memory
    positions), recorded as CopySlices; PyTorch's fill-like ops write into an expanded view,
    its other in-place ops refuse one whose elements share memory."""
    assert_like_torch(code, device)


# --- index arrays with ints, bools, empty and 0-d indices ----------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "r = (x[None, 0, L.tensor([2, 0], device=dev)],)",
        "r = (x[:, 0, None][L.tensor([1, 0], device=dev), 0],)",
        "r = (z[0, :, L.tensor([1], device=dev)],)",
        "r = (z[None, 0, :, L.tensor([1, 0], device=dev)],)",
        "r = (z[0, ..., L.tensor([1, 0], device=dev)],)",
        "r = (z[-2, :, L.tensor([], dtype=L.int64, device=dev)],)",
        "z[0, :, L.tensor([1], device=dev)] = x[0, :, None]; r = (z,)",
        "y = x.clone(); y[1, L.tensor([1, 0], device=dev)] = x[0, :2] * 2; r = (y,)",
        "y = x.detach().clone(); y[True] = L.tensor(3, dtype=L.int32, device=dev); r = (y,)",
        "y = x.detach().clone(); y[True] = L.ones(3, dtype=L.int32, device=dev); r = (y,)",
        "y = x.detach().clone(); y[False] = L.ones(4, device=dev); r = (y,)",
        "y = x.clone(); y[True] = x[1] * 3; r = (y,)",
        "r = (L.zeros(0, 3, device=dev)[L.tensor([0, 0], device=dev), :],)",
        "r = (L.zeros(3, 0, device=dev)[-3, L.tensor([0], device=dev)],)",
        "y = L.zeros(0, 3, device=dev); y[L.tensor([-1], device=dev), None] = 1.0; r = (y,)",
        "r = (x[:, L.tensor([0, 5], device=dev)],)",
        "r = (x[L.tensor([0, 1], device=dev), L.tensor([0, 5], device=dev)],)",
        "r = (x[None, ..., L.tensor([7], device=dev)],)",
        "r = (L.gather(x, 1, L.zeros((0, 3), dtype=L.int64, device=dev)),)",
        "r = (L.gather(x[:0], 1, L.zeros((0, 3), dtype=L.int64, device=dev)),)",
        "r = (L.gather(x[:, :0], 0, L.zeros((1, 0), dtype=L.int64, device=dev)),)",
        "r = (L.take_along_dim(x[:, :0], L.zeros((1, 0), dtype=L.int64, device=dev), 0),)",
        "r = (L.scatter_add(x[0].detach(), 0, L.tensor(1, device=dev), x[1].detach()),)",
        "r = (L.scatter(x, 1, L.tensor(0, device=dev), 1.0),)",
        "r = (L.gather(x, 1, L.tensor(0, device=dev)),)",
        "r = (x[:0].unflatten(0, (-1, 1)),)",
        "r = (x[:0].unflatten(0, (-1, 0)),)",
        "r = (x[:, :0].unflatten(1, (2, -1)),)",
    ],
)
def test_index_arrays_ints_bools_and_empty_indices(device, code):
    """Ints select before index arrays index (NumPy would move the dims); a lone bool key
    of setitem adds a dim (True) or writes nothing (False); index errors name the index
    array's place; gather reads nothing from an empty index; unflatten infers -1 from the
    dim alone."""
    assert_like_torch(code, device)


@pytest.mark.parametrize(
    "call", ["x.split(1)[1]", "x.chunk(2)[0]", "x.unbind(1)[2]", "x.split([1, 1])[0]"]
)
def test_in_place_on_a_piece_of_split_or_unbind_is_refused(device, call):
    """PyTorch refuses an in-place op on one of several views made by one call, while
    recording; without grad the write reaches the base."""
    assert_like_torch(f"v = {call}; v.mul_(2); r = (x,)", device)
    piece = call.replace("x.", "y.")
    assert_like_torch(f"y = x.clone(); v = {piece}; v.mul_(2); r = (y,)", device)
    assert_like_torch(f"y = x.detach().clone(); v = {piece}; v.mul_(2); r = (y,)", device)


@pytest.mark.parametrize(
    "code",
    [
        "v = L.tensor([True, False], device=dev); r = (v.bitwise_and_(L.tensor(2.0, device=dev)),)",
        "v = L.tensor([True, False], device=dev); r = (v.bitwise_and_(2.0),)",
        "v = L.tensor([1, 2], device=dev); r = (v.bitwise_and_(-0.0),)",
        "v = L.tensor([1, 2], device=dev); r = (v.bitwise_or_(True),)",
        "v = L.tensor([1, 2], device=dev); r = (v.add_(L.tensor([1.5, 2], device=dev)),)",
        "v = L.tensor([1, 2], device=dev); r = (v.mul_(L.tensor(2, dtype=L.int32, device=dev)),)",
        "v = L.tensor([1, 2, 3], dtype=L.int32, device=dev)[::2]; "
        "r = (v.bitwise_and_(L.tensor([2, -4, 5], dtype=L.int32, device=dev)),)",
    ],
)
def test_in_place_operand_dtype_checked_first(device, code):
    """An in-place elementwise op refuses an operand of a higher dtype category with
    PyTorch's cast error, before the op's own dtype support is asked."""
    assert_like_torch(code, device)


@pytest.mark.parametrize(
    "call",
    [
        "L.gather(x[0], 0, L.tensor(1, device=dev))",
        "L.gather(x[0, 0], 0, L.tensor(0, device=dev))",
        "L.scatter(x[0], 0, L.tensor(1, device=dev), 1.0)",
        "L.scatter(x[0], 0, L.tensor(1, device=dev), x[1].detach())",
        "L.scatter_add(x[0], 0, L.tensor(1, device=dev), x[1].detach())",
        "L.scatter_reduce(x[0], 0, L.tensor(1, device=dev), x[1].detach(), 'prod')",
    ],
)
def test_gather_and_scatter_at_a_0d_index_are_one_node(device, call):
    """(PyTorch's own backward to ``src`` at a 0-d index fails or spreads: not compared.)"""
    assert_like_torch(f"r = ({call},)", device)


@pytest.mark.parametrize(
    "code",
    [
        "r = (x[2:, L.tensor([5, -1, -3], device=dev)],)",
        "r = (x[:0, L.tensor([7], device=dev)],)",
        "r = (x[None, L.tensor([], dtype=L.int64, device=dev), 9:],)",
        "r = (x[:, :0][L.tensor([4, 1], device=dev)],)",
        "r = (x[L.tensor([4], device=dev), 5:],)",
        "y = x[:, :0].detach(); r = (L.index_add(y, 0, L.tensor([4, 1], device=dev), y),)",
        "r = (x[:0].index_fill(-1, L.tensor([4, 0], device=dev), float('nan')),)",
    ],
)
def test_out_of_range_indices_that_read_nothing(device, code):
    """PyTorch checks an index as it reads or writes through it: an empty result, an
    empty source, an empty input check none."""
    assert_like_torch(code, device)


@pytest.mark.parametrize(
    "code",
    [
        "z = L.zeros(1, 2, 2, dtype=L.float64, device=dev); "
        "r = (L.index_add(z, 1, L.tensor([0, -1], device=dev), z),)",
        "z = L.zeros(1, 2, 2, dtype=L.float64, device=dev); "
        "r = (L.index_add(z, 2, L.tensor([0, -1], device=dev), z),)",
        "r = (L.index_select(L.zeros(3, 4, 5, device=dev), 1, L.tensor([-1], device=dev)),)",
        "r = (L.index_select(L.zeros(3, 4, 5, device=dev), 2, L.tensor([-1], device=dev)),)",
        "y = L.tensor(True, device=dev).clone(); y.expand(2).fill_(False); r = (y,)",
        "y = L.tensor(1.5, device=dev).clone(); y.expand(2, 2)[0].fill_(3.0); r = (y,)",
    ],
)
def test_index_add_select_kernels_and_0d_bases(device, code):
    assert_like_torch(code, device)
