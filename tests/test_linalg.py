"""``einsum``, the matrix-product family, norms and ``gpugrad.linalg`` against PyTorch:
values, first and second derivatives (float64), node names and error texts, on every
device. The gradcheck/gradgradcheck rows live in tests/test_op_gradients.py."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(1606)


def _pair(values, device):
    ours = [gg.tensor(v, dtype=gg.float64, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    return ours, theirs


def _numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)  # also PyTorch's zero tensors
    return t.detach().cpu().numpy()


def _compare(ours_fn, theirs_fn, values, device, second=True, node=True):
    """Values, gradients for a random upstream gradient and (``second``) the gradient of
    the gradients' weighted sum, ours against PyTorch's."""
    ours, theirs = _pair(values, device)
    a, b = ours_fn(*ours), theirs_fn(*theirs)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-9, atol=1e-10)
    if node:
        assert a.grad_fn.name() == b.grad_fn.name()
    weight = rng.standard_normal(tuple(b.shape))
    ga = gg.autograd.grad((a * gg.tensor(weight, device=device)).sum(), ours, create_graph=True)
    gb = torch.autograd.grad((b * torch.tensor(weight)).sum(), theirs, create_graph=True)
    for x, y in zip(ga, gb):
        np.testing.assert_allclose(_numpy(x), _numpy(y), rtol=1e-8, atol=1e-9)
    if second:
        weights = [rng.standard_normal(tuple(y.shape)) for y in gb]
        total_a = sum((x * gg.tensor(w, device=device)).sum() for x, w in zip(ga, weights))
        total_b = sum((y * torch.tensor(w)).sum() for y, w in zip(gb, weights))
        if not total_b.requires_grad:  # linear in the inputs: no second derivative
            assert not total_a.requires_grad or not np.any(
                [
                    _numpy(x)
                    for x in gg.autograd.grad(total_a, ours, allow_unused=True)
                    if x is not None
                ]
            )
            return
        hh_a = gg.autograd.grad(total_a, ours, allow_unused=True)
        hh_b = torch.autograd.grad(total_b, theirs, allow_unused=True)
        for x, y in zip(hh_a, hh_b):
            if y is None:
                assert x is None or not np.any(_numpy(x))
            else:
                np.testing.assert_allclose(_numpy(x), _numpy(y), rtol=1e-7, atol=1e-8)


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->ji", [(3, 4)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ("iij,jk", [(3, 3, 4), (4, 2)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ba,ac", [(2, 3), (3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_matches_torch(equation, shapes, device):
    values = [rng.standard_normal(s) for s in shapes]
    _compare(
        lambda *xs: gg.einsum(equation, *xs),
        lambda *xs: torch.einsum(equation, *xs),
        values,
        device,
        node=False,
    )


def test_einsum_accepts_a_list_of_operands_and_spaces(device):
    x = gg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert gg.einsum("i j , j k -> i k", [x, x]).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    assert gg.einsum("ii", x).item() == 5.0


@pytest.mark.parametrize(
    "equation,shapes",
    [
        ("ij,jk->ik", [(2, 3), (2, 3)]),
        ("ij,jk->ik", [(2, 3)]),
        ("ijk->i", [(2, 3)]),
        ("ij->iz", [(2, 3)]),
        ("ij->ii", [(2, 2)]),
        ("i1->i", [(2, 3)]),
    ],
)
def test_einsum_errors_are_pytorchs(equation, shapes, device):
    ours = [gg.zeros(s, device=device) for s in shapes]
    theirs = [torch.zeros(s) for s in shapes]
    with pytest.raises(RuntimeError) as expected:
        torch.einsum(equation, *theirs)
    with pytest.raises(RuntimeError) as got:
        gg.einsum(equation, *ours)
    assert str(got.value).split(":")[0] == str(expected.value).split(":")[0]


PRODUCTS = {
    "addmm": (lambda m, a, x, y: m.addmm(a, x, y, beta=0.5, alpha=2), [(3, 5), (3, 4), (4, 5)]),
    "addmv": (lambda m, a, x, v: m.addmv(a, x, v), [(3,), (3, 4), (4,)]),
    "baddbmm": (lambda m, a, x, y: m.baddbmm(a, x, y), [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
    "addbmm": (lambda m, a, x, y: m.addbmm(a, x, y), [(3, 5), (2, 3, 4), (2, 4, 5)]),
    "kron": (lambda m, x, y: m.kron(x, y), [(3, 4), (2, 3)]),
    "kron_ranks": (lambda m, x, y: m.kron(x, y), [(3, 4), (2,)]),
    "tensordot": (lambda m, x, y: m.tensordot(x, y, dims=([1], [1])), [(3, 4), (5, 4)]),
    "tensordot_int": (lambda m, x, y: m.tensordot(x, y, 2), [(2, 3, 4), (3, 4, 5)]),
    "inner": (lambda m, x, y: m.inner(x, y), [(3, 4), (5, 4)]),
    "cross": (lambda m, x, y: m.linalg.cross(x, y), [(4, 3), (4, 3)]),
    "cross_dim": (lambda m, x, y: m.cross(x, y, dim=0), [(3, 4), (3, 4)]),
    "dist": (lambda m, x, y: m.dist(x, y, 3), [(3, 4), (3, 4)]),
    "cdist": (lambda m, x, y: m.cdist(x, y), [(3, 4), (5, 4)]),
    "cdist_p1": (lambda m, x, y: m.cdist(x, y, 1.0), [(2, 3, 4), (2, 5, 4)]),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_and_distances_match_torch(name, device):
    fn, shapes = PRODUCTS[name]
    values = [rng.standard_normal(s) for s in shapes]
    second = not name.startswith("cdist")  # PyTorch has no double backward for cdist
    _compare(
        lambda *xs: fn(gg, *xs), lambda *xs: fn(torch, *xs), values, device, second, node=False
    )


def test_cdist_has_a_second_derivative(device):
    x1, x2 = (
        gg.tensor(rng.standard_normal(s), dtype=gg.float64, device=device, requires_grad=True)
        for s in ((3, 4), (2, 4))
    )
    assert gg.autograd.gradgradcheck(lambda a, b: gg.cdist(a, b, 3.0), (x1, x2))
    same = gg.cdist(x1, x1.detach())
    (g,) = gg.autograd.grad(same.sum(), x1)
    assert np.all(np.isfinite(_numpy(g)))  # zero distances on the diagonal: no NaN


def test_addmm_with_beta_zero_ignores_nan_in_input(device):
    nan = gg.full((2, 2), float("nan"), device=device)
    out = gg.addmm(nan, gg.eye(2, device=device), gg.eye(2, device=device), beta=0)
    assert out.tolist() == [[1.0, 0.0], [0.0, 1.0]]


NORMS = [
    ("vector_2", lambda m, x: m.linalg.vector_norm(x)),
    ("vector_1_dim", lambda m, x: m.linalg.vector_norm(x, 1, dim=1, keepdim=True)),
    ("vector_3", lambda m, x: m.linalg.vector_norm(x, 3, dim=(0, 1))),
    ("vector_half", lambda m, x: m.linalg.vector_norm(x, 0.5, dim=0)),
    ("vector_inf", lambda m, x: m.linalg.vector_norm(x, float("inf"), dim=1)),
    ("vector_-inf", lambda m, x: m.linalg.vector_norm(x, float("-inf"))),
    ("matrix_fro", lambda m, x: m.linalg.matrix_norm(x)),
    ("matrix_nuc", lambda m, x: m.linalg.matrix_norm(x, "nuc")),
    ("matrix_2_keep", lambda m, x: m.linalg.matrix_norm(x, 2, keepdim=True)),
    ("matrix_-2", lambda m, x: m.linalg.matrix_norm(x, -2)),
    ("matrix_1", lambda m, x: m.linalg.matrix_norm(x, 1)),
    ("matrix_-inf_keep", lambda m, x: m.linalg.matrix_norm(x, float("-inf"), keepdim=True)),
    ("linalg_norm", lambda m, x: m.linalg.norm(x)),
    ("linalg_norm_ord_dim", lambda m, x: m.linalg.norm(x, 1, dim=1)),
    ("linalg_norm_matrix", lambda m, x: m.linalg.norm(x, "nuc", dim=(0, 1))),
    ("norm", lambda m, x: m.norm(x)),
    ("norm_method_dim", lambda m, x: x.norm(dim=1, keepdim=True)),
    ("norm_p", lambda m, x: m.norm(x, 3, dim=0)),
]


@pytest.mark.parametrize("name,fn", NORMS, ids=[n for n, _ in NORMS])
def test_norms_match_torch(name, fn, device):
    _compare(
        lambda x: fn(gg, x),
        lambda x: fn(torch, x),
        [rng.standard_normal((3, 4))],
        device,
        node=name in ("vector_2", "matrix_fro", "norm", "linalg_norm"),
    )


def test_norm_of_zeros_has_zero_gradient_like_torch(device):
    x = gg.zeros(3, dtype=gg.float64, device=device, requires_grad=True)
    gg.linalg.vector_norm(x).backward()
    xt = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(xt).backward()
    assert x.grad.tolist() == xt.grad.tolist() == [0.0, 0.0, 0.0]


def _spd(m, x):
    return x @ x.mT + 3 * m.eye(x.shape[-1], dtype=x.dtype, device=x.device)


DECOMPOSITIONS = {
    "inv": (lambda m, a: m.linalg.inv(a), [(3, 3)], True),
    "inv_batched": (lambda m, a: m.linalg.inv(a), [(2, 3, 3)], True),
    "inverse_method": (lambda m, a: a.inverse(), [(3, 3)], True),
    "det": (lambda m, a: m.linalg.det(a), [(2, 3, 3)], True),
    "det_top": (lambda m, a: m.det(a), [(3, 3)], True),
    "slogdet": (lambda m, a: m.linalg.slogdet(a).logabsdet, [(3, 3)], True),
    "solve": (lambda m, a, b: m.linalg.solve(a, b), [(3, 3), (3, 2)], True),
    "solve_broadcast": (lambda m, a, b: m.linalg.solve(a, b), [(2, 3, 3), (3, 4)], True),
    "solve_vector": (lambda m, a, b: m.linalg.solve(a, b), [(3, 3), (3,)], False),
    "solve_right": (lambda m, a, b: m.linalg.solve(a, b, left=False), [(3, 3), (2, 3)], False),
    "cholesky": (lambda m, a: m.linalg.cholesky(_spd(m, a)), [(3, 3)], True),
    "cholesky_upper": (lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), [(3, 3)], False),
    "qr_q": (lambda m, a: m.linalg.qr(a).Q, [(4, 3)], True),
    "qr_r": (lambda m, a: m.linalg.qr(a)[1], [(2, 4, 3)], True),
    "svd_s": (lambda m, a: m.linalg.svd(a).S, [(4, 3)], True),
    "svd_u_vh": (lambda m, a: (lambda r: r.U @ r.Vh)(m.linalg.svd(a, False)), [(4, 3)], False),
    "svd_wide": (lambda m, a: (lambda r: r.U @ r.Vh)(m.linalg.svd(a, False)), [(3, 5)], False),
    "svd_full_u_squared": (lambda m, a: m.linalg.svd(a).U[:, :3] ** 2, [(4, 3)], False),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), [(3, 4)], True),
    "eigh_values": (lambda m, a: m.linalg.eigh(a + a.mT).eigenvalues, [(3, 3)], True),
    "eigh_vectors_squared": (
        lambda m, a: m.linalg.eigh(a + a.mT).eigenvectors ** 2,
        [(3, 3)],
        False,
    ),
    "eigvalsh_upper": (lambda m, a: m.linalg.eigvalsh(a + a.mT, UPLO="U"), [(3, 3)], True),
    "pinv": (lambda m, a: m.linalg.pinv(a), [(4, 3)], False),
}


@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_linalg_matches_torch(name, device):
    fn, shapes, same_node = DECOMPOSITIONS[name]
    values = [
        rng.standard_normal(s) + (2 * np.eye(s[-1]) if s[-1] == s[-2:][0] else 0) for s in shapes
    ]
    _compare(lambda *xs: fn(gg, *xs), lambda *xs: fn(torch, *xs), values, device, node=same_node)


def test_decompositions_return_named_tuples(device):
    a = gg.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=gg.float64, device=device)
    q, r = gg.linalg.qr(a)
    np.testing.assert_allclose(_numpy(q @ r), _numpy(a), atol=1e-12)
    u, s, vh = gg.linalg.svd(a)
    np.testing.assert_allclose(_numpy((u * s) @ vh), _numpy(a), atol=1e-12)
    values, vectors = gg.linalg.eigh(a)
    np.testing.assert_allclose(_numpy(vectors * values @ vectors.mT), _numpy(a), atol=1e-12)
    sign, logabsdet = gg.linalg.slogdet(a)
    assert sign.item() == 1.0 and abs(logabsdet.item() - np.log(5.0)) < 1e-12
    assert gg.linalg.matrix_rank(gg.ones(3, 3, device=device)).item() == 1
    assert gg.linalg.matrix_rank(gg.eye(3, device=device)).dtype == gg.int64


def _message(fn_ours, fn_theirs):
    with pytest.raises(Exception) as theirs:
        fn_theirs()
    with pytest.raises(Exception) as ours:
        fn_ours()
    return ours, theirs


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.linalg.inv(m.zeros(2, 3)),
        lambda m: m.linalg.det(m.zeros(2, 3)),
        lambda m: m.linalg.inv(m.zeros(2, 2, dtype=m.int64)),
        lambda m: m.linalg.solve(m.eye(2), m.zeros(3)),
        lambda m: m.linalg.vector_norm(m.tensor([1, 2])),
        lambda m: m.linalg.matrix_norm(m.zeros(3)),
        lambda m: m.linalg.norm(m.zeros(2, 2, 2), ord=2),
        lambda m: m.linalg.cross(m.zeros(2), m.zeros(2)),
        lambda m: m.cdist(m.zeros(2, 3), m.zeros(2, 4)),
    ],
)
def test_shape_and_dtype_errors_are_pytorchs(call, device):
    ours, theirs = _message(lambda: call(_OnDevice(device)), lambda: call(torch))
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


class _OnDevice:
    """``gpugrad`` with tensor factories that create on ``device``."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.linalg = gg.linalg
        self.int64 = gg.int64

    def __getattr__(self, name):
        value = getattr(gg, name)
        if name in ("zeros", "eye", "tensor"):
            return lambda *a, **k: value(*a, device=self.device, **k)
        return value


def test_singular_and_indefinite_matrices_raise_linalg_error(device):
    singular = gg.zeros(2, 2, device=device)
    with pytest.raises(gg.linalg.LinAlgError, match="linalg.inv: .*singular"):
        gg.linalg.inv(singular)
    with pytest.raises(gg.linalg.LinAlgError, match="linalg.solve: .*singular"):
        gg.linalg.solve(singular, gg.ones(2, device=device))
    with pytest.raises(gg.linalg.LinAlgError, match="linalg.cholesky: .*positive-definite"):
        gg.linalg.cholesky(-gg.eye(2, device=device))
    assert issubclass(gg.linalg.LinAlgError, RuntimeError)  # as torch.linalg.LinAlgError


def test_qr_mode_r_has_no_gradient(device):
    a = gg.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True)
    q, r = gg.linalg.qr(a, mode="r")
    assert q.numel() == 0
    with pytest.raises(RuntimeError, match="mode='r'"):
        r.sum().backward()


def test_linalg_namespace_exports_only_public_names():
    names = set(gg.linalg.__all__)
    assert {"norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve"} <= names
    assert {"cholesky", "qr", "svd", "svdvals", "eigh", "eigvalsh", "pinv"} <= names
    assert not any(n.startswith("_") for n in names)
    for name in names:
        assert getattr(gg.linalg, name).__doc__, name


def test_second_order_through_multi_output_nodes_frees_the_graph(device):
    a = gg.tensor(rng.standard_normal((3, 3)), device=device, requires_grad=True)
    values, vectors = gg.linalg.eigh(a + a.mT)
    loss = (values * (vectors**2).sum(0)).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
