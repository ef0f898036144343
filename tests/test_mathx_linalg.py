"""mathx's gpugrad.linalg leftovers and legacy top-level linear algebra against PyTorch:
values and float64 gradients (PyTorch autograd and gradcheck), result types, errors."""

import numpy as np
import pytest

import gpugrad as gg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
A_VALUES = RNG.normal(size=(2, 4, 4)) + 3 * np.eye(4)
B_VALUES = RNG.normal(size=(2, 4, 3))


def _spd(m, module):
    return m @ m.mT + module.eye(m.shape[-1], dtype=m.dtype)


CASES = {
    "solve_triangular": lambda m, A, B: m.linalg.solve_triangular(A, B, upper=True),
    "solve_triangular_right_unit": lambda m, A, B: m.linalg.solve_triangular(
        A, B.mT, upper=False, left=False, unitriangular=True
    ),
    "lu_factor": lambda m, A, B: m.linalg.lu_factor(A).LU,
    "lu": lambda m, A, B: m.linalg.lu(A).L + m.linalg.lu(A).U + m.linalg.lu(A).P,
    "lu_solve": lambda m, A, B: m.linalg.lu_solve(*m.linalg.lu_factor(A), B),
    "lu_solve_adjoint": lambda m, A, B: m.linalg.lu_solve(*m.linalg.lu_factor(A), B, adjoint=True),
    "lu_solve_right": lambda m, A, B: m.linalg.lu_solve(*m.linalg.lu_factor(A), B.mT, left=False),
    "lu_unpack": lambda m, A, B: sum(m.lu_unpack(*m.linalg.lu_factor(A))),
    "legacy_lu_solve": lambda m, A, B: m.lu_solve(B, *m.lu(A)),
    "matrix_exp": lambda m, A, B: m.linalg.matrix_exp(A),
    "matrix_exp_large": lambda m, A, B: m.matrix_exp(A * 3),
    "cond": lambda m, A, B: m.linalg.cond(A),
    "cond_minus_two": lambda m, A, B: m.linalg.cond(B, -2),
    "lstsq": lambda m, A, B: m.linalg.lstsq(A[..., :3], B).solution,
    "legacy_svd": lambda m, A, B: m.svd(B).S,
    "cholesky_solve": lambda m, A, B: m.cholesky_solve(B, m.linalg.cholesky(_spd(A, m))),
    "cholesky_solve_upper": lambda m, A, B: m.cholesky_solve(
        B, m.linalg.cholesky(_spd(A, m), upper=True), upper=True
    ),
    "cholesky_inverse": lambda m, A, B: m.cholesky_inverse(m.linalg.cholesky(_spd(A, m))),
    "triangular_solve": lambda m, A, B: m.triangular_solve(B, A, transpose=True).solution,
    "householder_product": lambda m, A, B: m.linalg.householder_product(A[..., :3], B[..., 0, :2]),
    "vecdot": lambda m, A, B: m.linalg.vecdot(A, B[..., :1].mT),
    "multi_dot": lambda m, A, B: m.linalg.multi_dot([A[0, 0], A[1], B[0]]),
    "linalg_vander": lambda m, A, B: m.linalg.vander(B[0], N=4),
    "pinverse": lambda m, A, B: m.pinverse(B),
    "nuclear_norm": lambda m, A, B: m.nuclear_norm(B),
    "frobenius_norm": lambda m, A, B: m.frobenius_norm(B, (0, 1)),
    "tensorinv": lambda m, A, B: m.linalg.tensorinv(A[0].reshape(2, 2, 4), ind=2),
    "tensorsolve": lambda m, A, B: m.linalg.tensorsolve(A[0].reshape(4, 2, 2), B[0, :, 0]),
    "chain_matmul": lambda m, A, B: m.chain_matmul(A[0], A[1], B[1]),
    "inv_ex": lambda m, A, B: m.linalg.inv_ex(A).inverse,
    "solve_ex": lambda m, A, B: m.linalg.solve_ex(A, B).result,
    "cholesky_ex": lambda m, A, B: m.linalg.cholesky_ex(_spd(A, m)).L,
    "diagonal": lambda m, A, B: m.linalg.diagonal(B, offset=1),
    "legacy_qr": lambda m, A, B: m.qr(B).R.abs(),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(device, name):
    A = gg.tensor(A_VALUES, device=device, requires_grad=True)
    B = gg.tensor(B_VALUES, device=device, requires_grad=True)
    tA = torch.tensor(A_VALUES, requires_grad=True)
    tB = torch.tensor(B_VALUES, requires_grad=True)
    ours, theirs = CASES[name](gg, A, B), CASES[name](torch, tA, tB)
    assert tuple(ours.shape) == tuple(theirs.shape)
    scale = max(float(theirs.detach().abs().max()), 1e-300)
    np.testing.assert_allclose(
        ours.detach().cpu().numpy(), theirs.detach().numpy(), atol=1e-12 * scale
    )
    grads = gg.autograd.grad((ours * ours).sum(), (A, B), allow_unused=True)
    tgrads = torch.autograd.grad((theirs * theirs).sum(), (tA, tB), allow_unused=True)
    for g, tg in zip(grads, tgrads):
        if tg is None:
            assert g is None or not g.abs().sum()
            continue
        gscale = max(float(tg.abs().max()), 1e-300)
        np.testing.assert_allclose(g.cpu().numpy(), tg.numpy(), atol=1e-11 * gscale)


@pytest.mark.parametrize(
    "name",
    [
        "lu_factor",
        "lu_solve",
        "matrix_exp",
        "solve_triangular",
        "householder_product",
        "cholesky_solve",
    ],
)
def test_gradcheck(device, name):
    A = gg.tensor(A_VALUES[0, :3, :3], device=device, requires_grad=True)
    B = gg.tensor(B_VALUES[0, :3, :2], device=device, requires_grad=True)
    fn = CASES[name]
    assert gg.autograd.gradcheck(lambda a, b: fn(gg, a, b), (A, B))
    assert gg.autograd.gradgradcheck(lambda a, b: fn(gg, a, b), (A, B))


def test_result_types_and_metadata(device):
    a = gg.tensor(A_VALUES[0], device=device)
    ta = torch.tensor(A_VALUES[0])
    lu, pivots = gg.linalg.lu_factor(a)
    tlu, tpivots = torch.linalg.lu_factor(ta)
    np.testing.assert_array_equal(pivots.cpu().numpy(), tpivots.numpy())
    assert pivots.dtype == gg.int32
    LU, piv, info = gg.linalg.lu_factor_ex(a)
    assert info.dtype == gg.int32 and int(info) == 0
    assert type(gg.svd(a)).__name__ == "svd" and gg.svd(a)._fields == ("U", "S", "V")
    U, S, V = gg.svd(a)
    np.testing.assert_allclose((U @ gg.diag(S) @ V.mT).cpu().numpy(), A_VALUES[0], atol=1e-12)
    u, s, v = gg.svd(a, compute_uv=False)
    assert float(u.abs().sum()) == 0 and float(v.abs().sum()) == 0
    np.testing.assert_allclose(s.cpu().numpy(), torch.svd(ta, compute_uv=False).S.numpy())
    Q, R = gg.qr(gg.tensor(B_VALUES[0], device=device), some=False)
    assert tuple(Q.shape) == (4, 4) and tuple(R.shape) == (4, 3)
    for driver in ("gelsy", "gelsd", "gelss", "gels"):
        ours = gg.linalg.lstsq(gg.tensor(B_VALUES[0], device=device), a[:, :2], driver=driver)
        theirs = torch.linalg.lstsq(torch.tensor(B_VALUES[0]), ta[:, :2], driver=driver)
        assert ours._fields == ("solution", "residuals", "rank", "singular_values")
        assert ours.rank.dtype == gg.int64
        for o, t in zip(ours, theirs):
            assert tuple(o.shape) == tuple(t.shape), driver
            np.testing.assert_allclose(o.cpu().numpy(), t.numpy(), atol=1e-12)
    with pytest.raises(RuntimeError, match="parameter `driver` should be one of"):
        gg.linalg.lstsq(a, a, driver="x")
    singular = gg.tensor([[1.0, 2.0], [2.0, 4.0]], device=device)
    assert int(gg.linalg.inv_ex(singular).info) != 0
    assert int(gg.linalg.lu_factor_ex(singular).info) == int(
        torch.linalg.lu_factor_ex(torch.tensor([[1.0, 2.0], [2.0, 4.0]])).info
    )
    with pytest.raises(gg.linalg.LinAlgError):
        gg.linalg.inv_ex(singular, check_errors=True)
    with pytest.raises(gg.linalg.LinAlgError):
        gg.linalg.lu_factor(singular)
    assert int(gg.linalg.cholesky_ex(singular - 3).info) != 0
    with pytest.raises(NotImplementedError, match="no complex dtypes"):
        gg.linalg.eig(a)
    with pytest.raises(RuntimeError, match="expected at least 2 tensors but got 1"):
        gg.linalg.multi_dot([a])
    np.testing.assert_allclose(
        gg.linalg.matrix_power(a, 3).cpu().numpy(),
        np.linalg.matrix_power(A_VALUES[0], 3),
        rtol=1e-12,
    )
    rect = gg.tensor(RNG.normal(size=(5, 3)), device=device)
    ours, theirs = gg.linalg.lu(rect), torch.linalg.lu(torch.tensor(rect.cpu().numpy()))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.cpu().numpy(), t.numpy(), atol=1e-14)
    assert a.svd().S.shape == (4,) and a.matrix_exp().shape == (4, 4)
    np.testing.assert_allclose(a.pinverse().cpu().numpy(), np.linalg.pinv(A_VALUES[0]), atol=1e-12)


def test_geqrf_orgqr_ormqr(device):
    a = RNG.normal(size=(2, 5, 3))
    ours, theirs = gg.geqrf(gg.tensor(a, device=device)), torch.geqrf(torch.tensor(a))
    assert ours._fields == ("a", "tau")
    np.testing.assert_allclose(ours.a.cpu().numpy(), theirs.a.numpy(), atol=1e-13)
    np.testing.assert_allclose(ours.tau.cpu().numpy(), theirs.tau.numpy(), atol=1e-13)
    np.testing.assert_allclose(
        gg.orgqr(*ours).cpu().numpy(), torch.orgqr(*theirs).numpy(), atol=1e-13
    )
    for left, transpose, shape in (
        (True, False, (2, 5, 4)),
        (True, True, (2, 5, 4)),
        (False, True, (2, 4, 5)),
    ):
        c = RNG.normal(size=shape)
        np.testing.assert_allclose(
            ours.a.ormqr(ours.tau, gg.tensor(c, device=device), left, transpose).cpu().numpy(),
            torch.ormqr(theirs.a, theirs.tau, torch.tensor(c), left, transpose).numpy(),
            atol=1e-13,
        )
    other = gg.tensor(RNG.normal(size=(2, 5, 2)), device=device, requires_grad=True)
    assert gg.autograd.gradcheck(lambda o: gg.ormqr(ours.a, ours.tau, o, transpose=True), (other,))
