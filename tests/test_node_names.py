"""``grad_fn`` names of ops gpugrad composes from others, and of in-place forms, are
PyTorch's (what ``print(t)`` shows), and renaming a node leaves its gradient alone."""

from __future__ import annotations

import numpy
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")


_leaves: list = []


def _x(L, **kw):
    """A fresh non-leaf float64 matrix; its leaf is recorded in ``_leaves``."""
    leaf = L.tensor([[0.3, 0.6], [0.1, 0.9]], dtype=L.float64, requires_grad=True, **kw)
    _leaves.append(leaf)
    return leaf * 1


def _i(L, values, **kw):
    return L.tensor(values, **kw)


CASES = {
    "repeat_interleave int": lambda L, kw: L.repeat_interleave(_x(L, **kw), 2),
    "repeat_interleave dim": lambda L, kw: L.repeat_interleave(_x(L, **kw), 0, dim=-1),
    "repeat_interleave tensor": lambda L, kw: L.repeat_interleave(
        _x(L, **kw), _i(L, [1, 2], **kw), dim=0
    ),
    "scatter_reduce mean": lambda L, kw: L.scatter_reduce(
        _x(L, **kw), 1, _i(L, [[1, 0], [0, 1]], **kw), _x(L, **kw), "mean"
    ),
    "scatter_reduce sum": lambda L, kw: L.scatter_reduce(
        _x(L, **kw), 1, _i(L, [[1, 0], [0, 1]], **kw), _x(L, **kw), "sum", include_self=False
    ),
    "trace": lambda L, kw: L.trace(_x(L, **kw)),
    "index_put accumulate": lambda L, kw: L.index_put(
        _x(L, **kw), (_i(L, [1, 0], **kw),), _i(L, 3.0, dtype=L.float64, **kw), accumulate=True
    ),
    "roll flat": lambda L, kw: _x(L, **kw).roll(1),
    "roll of an empty tensor, any dim": lambda L, kw: (_x(L, **kw)[:0]).roll(2, 5),
    "vdot": lambda L, kw: _x(L, **kw)[0].vdot(_x(L, **kw)[1]),
    "dist": lambda L, kw: _x(L, **kw).dist(_x(L, **kw) * 2),
    "kron": lambda L, kw: L.kron(_x(L, **kw), _x(L, **kw)),
    "hardshrink": lambda L, kw: _x(L, **kw).hardshrink(0.2),
    "float_power scalar": lambda L, kw: _x(L, **kw).float_power(2.0),
    "float_power base": lambda L, kw: L.float_power(2.0, _x(L, **kw)),
    "float_power tensor": lambda L, kw: _x(L, **kw).float_power(_x(L, **kw)),
    "xlogy tensors": lambda L, kw: L.xlogy(_x(L, **kw), _x(L, **kw)),
    "xlogy number first": lambda L, kw: L.xlogy(2.0, _x(L, **kw)),
    "xlogy number second": lambda L, kw: L.xlogy(_x(L, **kw), 2.0),
    "copysign tensor": lambda L, kw: L.copysign(_x(L, **kw), -_x(L, **kw)),
    "copysign number": lambda L, kw: L.copysign(_x(L, **kw), -1.0),
    "clamp_min tensor": lambda L, kw: L.clamp_min(_x(L, **kw), _x(L, **kw) * 0.5),
    "clamp_max number": lambda L, kw: L.clamp_max(_x(L, **kw), 0.5),
    "logit eps": lambda L, kw: L.logit(_x(L, **kw), 0.1),
    "ldexp": lambda L, kw: L.ldexp(_x(L, **kw), _i(L, [1, 2], **kw)),
    "deg2rad": lambda L, kw: _x(L, **kw).deg2rad(),
    "rad2deg": lambda L, kw: _x(L, **kw).rad2deg(),
    "sinc": lambda L, kw: _x(L, **kw).sinc(),
    "sgn": lambda L, kw: _x(L, **kw).sgn(),
    "logaddexp2": lambda L, kw: L.logaddexp2(_x(L, **kw), _x(L, **kw) * 3),
    "leaky_relu": lambda L, kw: L.nn.functional.leaky_relu(_x(L, **kw) - 0.5, 0.1),
    "elu": lambda L, kw: L.nn.functional.elu(_x(L, **kw) - 0.5),
    "silu": lambda L, kw: L.nn.functional.silu(_x(L, **kw)),
    "mish": lambda L, kw: L.nn.functional.mish(_x(L, **kw)),
    "hardtanh": lambda L, kw: L.nn.functional.hardtanh(_x(L, **kw) * 3 - 1),
    "relu6": lambda L, kw: L.nn.functional.relu6(_x(L, **kw) * 9 - 1),
    "hardsigmoid": lambda L, kw: L.nn.functional.hardsigmoid(_x(L, **kw) * 9 - 4),
    "hardswish": lambda L, kw: L.nn.functional.hardswish(_x(L, **kw) * 9 - 4),
    "logsigmoid": lambda L, kw: L.nn.functional.logsigmoid(_x(L, **kw)),
    "glu": lambda L, kw: L.nn.functional.glu(_x(L, **kw)),
    "softshrink": lambda L, kw: L.nn.functional.softshrink(_x(L, **kw), 0.4),
    "celu": lambda L, kw: L.nn.functional.celu(_x(L, **kw) - 0.5, 0.7),
    "selu": lambda L, kw: L.nn.functional.selu(_x(L, **kw) - 0.5),
    "smooth_l1_loss": lambda L, kw: L.nn.functional.smooth_l1_loss(_x(L, **kw), _x(L, **kw) / 3),
    "huber_loss": lambda L, kw: L.nn.functional.huber_loss(
        _x(L, **kw), _x(L, **kw) * 3, reduction="sum", delta=0.5
    ),
    "pixel_shuffle": lambda L, kw: L.nn.functional.pixel_shuffle(
        _x(L, **kw).reshape(1, 4, 1, 1), 2
    ),
    "addcmul": lambda L, kw: L.addcmul(_x(L, **kw), _x(L, **kw), _x(L, **kw), value=0.5),
    "addcdiv": lambda L, kw: L.addcdiv(_x(L, **kw), _x(L, **kw), _x(L, **kw) + 1),
    "baddbmm": lambda L, kw: L.baddbmm(
        _x(L, **kw)[None], _x(L, **kw)[None], _x(L, **kw)[None], beta=0.5
    ),
    "addbmm": lambda L, kw: L.addbmm(_x(L, **kw), _x(L, **kw)[None], _x(L, **kw)[None]),
    "special.xlog1py": lambda L, kw: L.special.xlog1py(_x(L, **kw), _x(L, **kw)),
    "rot90": lambda L, kw: L.rot90(_x(L, **kw)),
    "rot90 k=4": lambda L, kw: L.rot90(_x(L, **kw), 4),
    "linalg.cross": lambda L, kw: L.linalg.cross(
        _x(L, **kw).reshape(1, 4)[:, :3], _x(L, **kw).reshape(1, 4)[:, 1:]
    ),
    "cdist": lambda L, kw: L.cdist(_x(L, **kw), _x(L, **kw) * 2),
    "linalg.pinv": lambda L, kw: L.linalg.pinv(_x(L, **kw)),
    "asinh_": lambda L, kw: _x(L, **kw).asinh_(),
    "arctanh_": lambda L, kw: (_x(L, **kw) * 0.5).arctanh_(),
    "acosh_": lambda L, kw: (_x(L, **kw) + 1).acosh_(),
    "sinc_": lambda L, kw: _x(L, **kw).sinc_(),
    "deg2rad_": lambda L, kw: _x(L, **kw).deg2rad_(),
    "xlogy_": lambda L, kw: _x(L, **kw).xlogy_(2.0),
    "clamp_min_": lambda L, kw: _x(L, **kw).clamp_min_(0.2),
    "copysign_": lambda L, kw: _x(L, **kw).copysign_(-1.0),
    "logit_": lambda L, kw: _x(L, **kw).logit_(),
    "sin_": lambda L, kw: _x(L, **kw).sin_(),
    "logical_not_": lambda L, kw: _x(L, **kw).clone().logical_not_(),
    "logical_and_": lambda L, kw: _x(L, **kw).logical_and_(_x(L, **kw) > 0.5),
    "logical_not_ of a transposed view": lambda L, kw: _x(L, **kw).transpose(0, 1).logical_not_(),
    "logical_not_ of a slice": lambda L, kw: _x(L, **kw)[::2].logical_not_(),
}


TORCH_CANNOT_DIFFERENTIATE = {
    "asinh_": lambda L, kw: _x(L, **kw).asinh(),
    "arctanh_": lambda L, kw: (_x(L, **kw) * 0.5).arctanh(),
    "acosh_": lambda L, kw: (_x(L, **kw) + 1).acosh(),
}
"""In-place forms whose node PyTorch names but cannot differentiate ("the derivative for
'inplace version of asinh' is not implemented"); gpugrad's gradients are compared with
PyTorch's out-of-place forms."""


def _run(L, case, kw, cases=CASES):
    _leaves.clear()
    out = cases[case](L, kw)
    leaves = list(_leaves)
    grads = L.autograd.grad(out.sin().sum(), leaves, allow_unused=True)
    return out, grads


def _array(g):
    if g is None:
        return None
    if isinstance(g, torch.Tensor):
        return (torch.zeros_like(g) + g).numpy()  # PyTorch's zero tensors do not convert
    return g.cpu().numpy()


@pytest.mark.parametrize("case", list(CASES))
def test_node_names_values_and_gradients_are_pytorchs(case, device):
    ours, our_grads = _run(gg, case, {"device": device})
    theirs = CASES[case](torch, {})
    assert ours.requires_grad == theirs.requires_grad
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__
    assert str(ours).split("grad_fn=")[1] == str(theirs).split("grad_fn=")[1]
    numpy.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy())
    if case in TORCH_CANNOT_DIFFERENTIATE:
        with pytest.raises(NotImplementedError, match="inplace version of"):
            _run(torch, case, {})
        _, their_grads = _run(torch, case, {}, TORCH_CANNOT_DIFFERENTIATE)
    else:
        _, their_grads = _run(torch, case, {})
    assert len(our_grads) == len(their_grads)
    for g_ours, g_theirs in zip(map(_array, our_grads), map(_array, their_grads)):
        if g_ours is None or g_theirs is None:  # no edge here, a zero gradient there
            either = g_ours if g_ours is not None else g_theirs
            assert either is None or not numpy.abs(either).sum()
        else:
            # 1e-7: PyTorch rounds some float64 ops' constants to float32 (celu's alpha,
            # hardsigmoid's 1/6), a relative 3e-8
            numpy.testing.assert_allclose(g_ours, g_theirs, rtol=1e-7, atol=1e-12)


def test_a_renamed_row_is_one_copy_per_name():
    a = gg.tensor([0.5, 1.0], requires_grad=True).deg2rad()
    b = gg.tensor([2.0], requires_grad=True).deg2rad()
    c = gg.tensor([2.0], requires_grad=True) * 3
    assert a.grad_fn.op is b.grad_fn.op
    assert c.grad_fn.name() == "MulBackward0"  # the shared row keeps its own name
