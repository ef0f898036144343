"""Property tests (hypothesis): random shapes, broadcasting pairs, reduction dims and index
expressions; every gradient against float64 central differences (``gradcheck``)."""

from __future__ import annotations

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import gpugrad as gg
from gpugrad.autograd import gradcheck

PROPERTY = settings(max_examples=20, deadline=None, derandomize=True)


def _values(shape: tuple[int, ...], seed: int, low: float, high: float) -> gg.Tensor:
    rng = numpy.random.default_rng(seed)
    return gg.tensor(rng.uniform(low, high, shape), dtype=gg.float64, requires_grad=True)


def _signed(shape: tuple[int, ...], seed: int) -> gg.Tensor:
    """Values with |v| in [0.5, 2] and random signs: away from every kink and pole."""
    rng = numpy.random.default_rng(seed)
    magnitude = rng.uniform(0.5, 2.0, shape)
    return gg.tensor(
        magnitude * rng.choice([-1.0, 1.0], shape), dtype=gg.float64, requires_grad=True
    )


BINARY = {
    "add": (lambda a, b: a + b, _signed, _signed),
    "sub": (lambda a, b: a - b, _signed, _signed),
    "mul": (lambda a, b: a * b, _signed, _signed),
    "div": (lambda a, b: a / b, _signed, _signed),
    "pow": (lambda a, b: a**b, lambda s, k: _values(s, k, 0.5, 2.0), _signed),
    "maximum": (gg.maximum, _signed, lambda s, k: _signed(s, k + 1) * 1.37),
    "minimum": (gg.minimum, _signed, lambda s, k: _signed(s, k + 1) * 1.37),
    "where": (lambda a, b: gg.where(a > 0, a, b), _signed, _signed),
}


@pytest.mark.parametrize("name", list(BINARY))
@PROPERTY
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_broadcast_and_differentiate(name, shapes, seed):
    op, make_a, make_b = BINARY[name]
    a, b = make_a(shapes.input_shapes[0], seed), make_b(shapes.input_shapes[1], seed + 7)
    out = op(a, b)
    assert tuple(out.shape) == shapes.result_shape
    assert gradcheck(op, (a, b))


REDUCTIONS = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "prod": lambda x, d, k: x.prod(d[0], keepdim=k) if isinstance(d, tuple) else x.prod(d, k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k),
    "std": lambda x, d, k: x.std(d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
}


@st.composite
def _reduction(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    dims = draw(
        st.lists(
            st.integers(-len(shape), len(shape) - 1),
            min_size=1,
            max_size=2,
            unique_by=lambda d: d % len(shape),
        )
    )
    dim = tuple(dims) if len(dims) > 1 else dims[0]
    return shape, dim, draw(st.booleans()), draw(st.integers(0, 2**16))


@pytest.mark.parametrize("name", list(REDUCTIONS))
@PROPERTY
@given(case=_reduction())
def test_reductions_over_random_dims(name, case):
    shape, dim, keepdim, seed = case
    x = _signed(shape, seed)
    reduce = REDUCTIONS[name]
    expected = numpy.sum(
        numpy.ones(shape),
        axis=dim if not isinstance(dim, tuple) or name != "prod" else dim[0],
        keepdims=keepdim,
    ).shape
    assert tuple(reduce(x, dim, keepdim).shape) == expected
    assert gradcheck(lambda t: reduce(t, dim, keepdim), (x,))


@st.composite
def _index(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis", "ints", "mask"]))
    if kind == "int":
        item = draw(st.integers(-n, n - 1))
    elif kind == "slice":
        start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
        item = slice(start, stop, draw(st.sampled_from([None, 1, 2, -1])))
    elif kind == "ints":  # repeated indices must accumulate
        item = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
    elif kind == "mask":
        item = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    else:
        item = None if kind == "none" else Ellipsis
    key = (slice(None),) * axis + (item,)
    return shape, key, draw(st.integers(0, 2**16))


@PROPERTY
@given(case=_index())
def test_random_index_expressions(case):
    shape, key, seed = case
    x = _signed(shape, seed)
    reference = numpy.zeros(shape)[
        tuple(numpy.asarray(k) if isinstance(k, list) else k for k in key)
    ]
    out = x[key]
    assert tuple(out.shape) == reference.shape
    if out.numel():
        weights = gg.tensor(
            numpy.arange(1.0, out.numel() + 1).reshape(reference.shape), dtype=gg.float64
        )
        assert gradcheck(lambda t: (t[key] * weights).sum(), (x,))
