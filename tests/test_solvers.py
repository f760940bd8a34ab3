"""Solvers: sanity identities, agreement with independent implementations, certificates."""

import itertools

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from scipy.optimize import linprog

from sdlss_theory import (
    LatentIHT,
    ReLUGenerator,
    basis_pursuit,
    gaussian_matrix,
    hard_threshold,
    iht,
    latent_gd,
    latent_iht,
    latent_niht,
    niht,
)


def reference_hard_threshold(u, s):
    keep = sorted(range(len(u)), key=lambda i: (-abs(u[i]), i))[:s]
    out = np.zeros_like(u)
    out[keep] = u[keep]
    return out


def textbook_iht(A, y, s, beta, x0, n_iter):
    """x <- H_s(x + 2 beta A^T (y - A x)), written out independently of the library."""
    x = reference_hard_threshold(x0, s)
    iterates = []
    for _ in range(n_iter):
        x = reference_hard_threshold(x + 2 * beta * A.T @ (y - A @ x), s)
        iterates.append(x)
    return iterates


def autograd_objective(G, A, y):
    def f(z):
        h = z
        for W, b in zip(G.weights[:-1], G.biases[:-1], strict=True):
            h = anp.maximum(anp.dot(W, h) + b, 0.0)
        out = anp.dot(G.weights[-1], h) + G.biases[-1]
        if G.output == "sigmoid":
            out = 0.5 * (1 + anp.tanh(0.5 * out))
        elif G.output == "tanh":
            out = anp.tanh(out)
        r = y - anp.dot(A, out)
        return anp.dot(r, r)

    return f


@pytest.fixture
def problem():
    rng = np.random.default_rng(1234)
    G = ReLUGenerator.random([12, 30, 60], rng)
    z_true = hard_threshold(rng.standard_normal(12), 3)
    A = gaussian_matrix(60, 60, rng)
    return G, A, z_true, A @ G(z_true)


# --------------------------------------------------------------------- sanity identities


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_identity_generator_reduces_to_classical_iht(engine):
    rng = np.random.default_rng(0)
    n, m, s = 30, 15, 3
    A = gaussian_matrix(m, n, rng)
    x_true = hard_threshold(rng.standard_normal(n), s)
    y = A @ x_true
    G = ReLUGenerator([np.eye(n)])
    beta = 0.5 / (2 * np.linalg.norm(A, 2) ** 2)
    x0 = rng.standard_normal(n)
    expected = textbook_iht(A, y, s, beta, x0, 25)
    for t in (1, 2, 10, 25):
        latent = latent_iht(G, A, y, s, step=beta, max_iter=t, tol=0, z0=x0, engine=engine)
        classical = iht(A, y, s, step=beta, max_iter=t, tol=0, x0=x0, engine=engine)
        np.testing.assert_allclose(latent.z, expected[t - 1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(classical.x, expected[t - 1], rtol=1e-12, atol=1e-12)
        assert latent.n_iter == classical.n_iter == t


def test_full_sparsity_iht_equals_latent_gd(problem):
    G, A, _, y = problem
    z0 = np.random.default_rng(5).standard_normal(G.k)
    a = latent_iht(G, A, y, G.k, step=1e-3, max_iter=40, tol=0, z0=z0)
    b = latent_gd(G, A, y, step=1e-3, max_iter=40, tol=0, z0=z0)
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.history, b.history)


@pytest.mark.parametrize("solver", [latent_iht, latent_niht])
def test_started_at_the_truth_stays_there(problem, solver):
    G, A, z_true, y = problem
    result = solver(G, A, y, 3, z0=z_true)
    # y = A (W_2 h) and the solver's (A W_2) h differ by rounding only.
    np.testing.assert_allclose(result.z, z_true, rtol=1e-13, atol=0)
    assert result.converged and result.residual <= 1e-12 * np.linalg.norm(y)


@pytest.mark.parametrize("solver", [latent_iht, latent_niht])
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_converges_to_the_truth_from_nearby(solver, output):
    rng = np.random.default_rng(7)
    G = ReLUGenerator.random([10, 40, 50], rng, output=output, bias=True)
    z_true = hard_threshold(rng.standard_normal(10), 3)
    A = gaussian_matrix(60, 50, rng)  # m >= n
    y = A @ G(z_true)
    z0 = z_true + 0.01 * rng.standard_normal(10) * (z_true != 0)
    result = solver(G, A, y, 3, z0=z0, max_iter=5000, tol=1e-14)
    assert np.linalg.norm(result.z - z_true) <= 1e-6 * np.linalg.norm(z_true)
    assert np.linalg.norm(result.x - G(z_true)) <= 1e-6 * np.linalg.norm(G(z_true))


def test_diverging_fixed_step_is_reported_not_nan(problem):
    G, A, _, y = problem
    result = latent_iht(G, A, y, 3, step=1e6, max_iter=200, rng=np.random.default_rng(0))
    assert not result.converged
    assert "diverged" in result.message
    assert np.all(np.isfinite(result.z)) and np.isfinite(result.residual)


def test_max_iter_reached_is_not_converged(problem):
    G, A, _, y = problem
    result = latent_iht(G, A, y, 3, max_iter=2, tol=0, rng=np.random.default_rng(0))
    assert not result.converged and "maximum number of iterations" in result.message
    assert result.n_iter == 2 and result.history.shape == (2,)


# --------------------------------------------------------------------- independent computations


@pytest.mark.parametrize("output", ["linear", "sigmoid", "tanh"])
def test_one_step_equals_autograd_projected_gradient_step(output):
    rng = np.random.default_rng(3)
    G = ReLUGenerator.random([8, 16, 24, 20], rng, output=output, bias=True)
    A = gaussian_matrix(12, 20, rng)
    y = rng.standard_normal(12)
    z0 = hard_threshold(rng.standard_normal(8), 4)
    beta = 0.01
    g = grad(autograd_objective(G, A, y))(z0)
    expected = reference_hard_threshold(z0 - beta * g, 4)
    result = latent_iht(G, A, y, 4, step=beta, max_iter=1, tol=0, z0=z0)
    np.testing.assert_allclose(result.z, expected, rtol=1e-10, atol=1e-12)


def test_engines_give_the_same_iterates(problem):
    G, A, _, y = problem
    runs = [
        latent_iht(G, A, y, 3, restarts=4, max_iter=300, rng=np.random.default_rng(9), engine=e)
        for e in ("numba", "numpy")
    ]
    np.testing.assert_allclose(runs[0].z, runs[1].z, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(runs[0].history, runs[1].history, rtol=1e-10, atol=1e-12)
    runs = [
        latent_niht(G, A, y, 3, restarts=2, max_iter=100, rng=np.random.default_rng(9), engine=e)
        for e in ("numba", "numpy")
    ]
    np.testing.assert_allclose(runs[0].z, runs[1].z, rtol=1e-10, atol=1e-12)


def test_objective_never_rises_with_auto_step(problem):
    G, A, _, y = problem
    for solver in (latent_iht, latent_niht):
        result = solver(G, A, y, 3, max_iter=300, rng=np.random.default_rng(2))
        assert np.all(np.diff(result.history) <= 1e-12 * result.history[:-1])


def test_converged_point_is_stationary_on_its_support(problem):
    """Certificate: at a converged IHT point the gradient vanishes on the support."""
    G, A, _, y = problem
    result = latent_iht(
        G, A, y, 3, restarts=4, max_iter=20000, tol=1e-13, rng=np.random.default_rng(4)
    )
    assert result.converged
    g = grad(autograd_objective(G, A, y))(result.z)
    on_support = result.z != 0
    assert np.linalg.norm(g[on_support]) <= 1e-5 * max(np.linalg.norm(g), 1.0)


def test_restarts_keep_the_lowest_residual_and_are_reproducible(problem):
    G, A, _, y = problem
    a = latent_iht(G, A, y, 3, restarts=6, max_iter=200, rng=np.random.default_rng(11))
    b = latent_iht(G, A, y, 3, restarts=6, max_iter=200, rng=np.random.default_rng(11))
    assert a.restart_residuals.shape == (6,)
    assert a.residual == a.restart_residuals.min() == a.restart_residuals[a.restart]
    np.testing.assert_array_equal(a.z, b.z)
    # Each restart is the single run from the same start: batching changes nothing.
    starts = np.random.default_rng(11).standard_normal((6, G.k))
    single = latent_iht(G, A, y, 3, max_iter=200, z0=starts[a.restart])
    # Equal up to the stopping tolerance (GEMM and GEMV round differently).
    np.testing.assert_allclose(single.z, a.z, rtol=1e-6)


def test_solver_class_reuses_setup(problem):
    G, A, z_true, y = problem
    solver = LatentIHT(G, A, 3, max_iter=50)
    r1 = solver.solve(y, z0=z_true)
    r2 = solver.solve(2 * y, z0=z_true)
    np.testing.assert_allclose(r1.z, z_true, rtol=1e-13, atol=0)
    assert r2.residual < np.linalg.norm(2 * y)


# --------------------------------------------------------------------- classical solvers


@pytest.mark.parametrize("solver", [iht, niht, basis_pursuit])
def test_classical_solvers_recover_sparse_vectors(solver):
    rng = np.random.default_rng(21)
    n, m, s = 128, 64, 6
    A = gaussian_matrix(m, n, rng)
    x = hard_threshold(rng.standard_normal(n), s)
    result = solver(A, A @ x) if solver is basis_pursuit else solver(A, A @ x, s)
    assert result.converged
    assert np.linalg.norm(result.x - x) <= 1e-6 * np.linalg.norm(x)


def test_basis_pursuit_meets_the_lp_duality_certificate():
    """x is l1-optimal iff some l with ||A^T l||_inf <= 1 has y^T l = ||x||_1 (LP duality)."""
    rng = np.random.default_rng(8)
    A = gaussian_matrix(20, 50, rng)
    y = rng.standard_normal(20)  # not sparse-generated: the minimiser is not the truth
    result = basis_pursuit(A, y)
    assert result.converged
    np.testing.assert_allclose(A @ result.x, y, atol=1e-8)
    # The dual, max y^T l s.t. -1 <= A^T l <= 1, solved independently.
    dual = linprog(
        -y, A_ub=np.vstack([A.T, -A.T]), b_ub=np.ones(100), bounds=(None, None), method="highs"
    )
    assert dual.success
    assert np.max(np.abs(A.T @ dual.x)) <= 1 + 1e-9
    np.testing.assert_allclose(np.abs(result.x).sum(), y @ dual.x, rtol=1e-8)


def test_niht_first_step_is_the_normalised_step():
    rng = np.random.default_rng(2)
    A = gaussian_matrix(30, 60, rng)
    y = rng.standard_normal(30)
    s = 4
    g = A.T @ y
    gamma = reference_hard_threshold(g, s) != 0
    mu = np.sum(g[gamma] ** 2) / np.sum((A[:, gamma] @ g[gamma]) ** 2)
    result = niht(A, y, s, max_iter=1, tol=0)
    # From x0 = 0 the support cannot change, so the first step is exactly P_s(mu g).
    np.testing.assert_allclose(result.x, reference_hard_threshold(mu * g, s), rtol=1e-10)


# --------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_clear_messages(problem):
    G, A, z_true, y = problem
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"y must have shape \(60,\)"):
        latent_iht(G, A, y[:-1], 3, rng=rng)
    with pytest.raises(ValueError, match="s must be at most"):
        latent_iht(G, A, y, 13, rng=rng)
    with pytest.raises(ValueError, match="s must be >= 1"):
        latent_iht(G, A, y, 0, rng=rng)
    with pytest.raises(ValueError, match="rng is required"):
        latent_iht(G, A, y, 3)
    with pytest.raises(ValueError, match="step must be 'auto'"):
        latent_iht(G, A, y, 3, step="big", rng=rng)
    with pytest.raises(ValueError, match="step must be finite and > 0"):
        latent_iht(G, A, y, 3, step=-1.0, rng=rng)
    with pytest.raises(TypeError, match="G must be a ReLUGenerator"):
        latent_iht(lambda z: z, A, y, 3, rng=rng)
    with pytest.raises(ValueError, match=r"A must have shape \(m, 60\)"):
        latent_iht(G, A[:, :-1], y, 3, rng=rng)
    with pytest.raises(ValueError, match="y must be finite"):
        latent_iht(G, A, np.full(60, np.nan), 3, rng=rng)
    with pytest.raises(ValueError, match=r"z0 must have shape \(12,\)"):
        latent_iht(G, A, y, 3, z0=np.zeros(5))
    with pytest.raises(ValueError, match="engine must be one of"):
        latent_iht(G, A, y, 3, z0=z_true, engine="fortran")
    with pytest.raises(ValueError, match="kappa must exceed"):
        latent_niht(G, A, y, 3, z0=z_true, kappa=1.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        iht(A, y, 3, max_iter=0)


# --------------------------------------------------------------------- latent_recover

from sdlss_theory._kernels import network as network_kernels  # noqa: E402
from sdlss_theory._kernels import recover as recover_kernels  # noqa: E402
from sdlss_theory.solvers import LatentRecover, latent_recover  # noqa: E402
from sdlss_theory.solvers._driver import PackedProblem  # noqa: E402


def _packed(G, A):
    return PackedProblem.latent(G, A).packed


def test_jacobian_columns_match_the_generator_jacobian():
    rng = np.random.default_rng(30)
    G = ReLUGenerator.random([7, 15, 25, 20], rng, bias=True, output="sigmoid")
    A = gaussian_matrix(9, 20, rng)
    z = rng.standard_normal(7)
    packed = _packed(G, A)
    H = np.empty(network_kernels.workspace_size(1, packed[3]))
    recover_kernels.objective(*packed, A @ G(z), z, H)
    cols = np.array([4, 0, 6])
    J = recover_kernels.jacobian_columns(packed[0], packed[1], packed[3], packed[4], H, cols)
    np.testing.assert_allclose(J, (A @ G.jacobian(z))[:, cols], rtol=1e-10, atol=1e-12)


def test_one_sparse_fits_are_the_best_fits_along_each_signed_axis():
    rng = np.random.default_rng(31)
    G = ReLUGenerator.random([6, 20, 30], rng)
    A = gaussian_matrix(12, 30, rng)
    y = rng.standard_normal(12)
    Z, f = recover_kernels.one_sparse_fits(*_packed(G, A), y)
    ts = np.linspace(0.0, 10.0, 2001)
    for i in range(12):
        j, sign = i % 6, 1.0 if i < 6 else -1.0
        assert np.count_nonzero(Z[i]) <= 1 and sign * Z[i, j] >= 0
        np.testing.assert_allclose(f[i], np.sum((y - A @ G(Z[i])) ** 2), rtol=1e-10)
        # No point t * sign * e_j on a fine grid fits better (homogeneity of G).
        e = np.zeros(6)
        e[j] = sign
        grid_best = min(np.sum((y - A @ G(t * e)) ** 2) for t in ts)
        assert f[i] <= grid_best + 1e-12


def test_gauss_newton_solves_a_linear_generator_on_its_support_in_one_step():
    rng = np.random.default_rng(32)
    W = rng.standard_normal((15, 8))
    G = ReLUGenerator([W])  # depth 1: G(z) = W z
    A = gaussian_matrix(10, 15, rng)
    y = rng.standard_normal(10)
    z = np.zeros(8)
    z[[1, 4, 5]] = rng.standard_normal(3)
    packed = _packed(G, A)
    H = np.empty(network_kernels.workspace_size(1, packed[3]))
    f, steps = recover_kernels.gauss_newton(*packed, y, z, 1, False, 0.0, H, H.copy())
    expected = np.linalg.lstsq((A @ W)[:, [1, 4, 5]], y, rcond=None)[0]
    np.testing.assert_allclose(z[[1, 4, 5]], expected, rtol=1e-9)
    assert steps == 1 and np.count_nonzero(z) == 3
    np.testing.assert_allclose(f, np.sum((y - A @ W @ z) ** 2), rtol=1e-10)


def test_gauss_newton_stall_only_stops_the_same_path_early():
    # The stall rule never changes a step, it only stops: the stalled run equals the full
    # run cut at the same step count, and it stopped because its last step lowered f by
    # less than half (or for a reason the full run shares).
    rng = np.random.default_rng(34)
    G = ReLUGenerator.random([10, 30, 60], rng)
    A = gaussian_matrix(8, 60, rng)
    y = A @ G(hard_threshold(rng.standard_normal(10), 4))
    packed = _packed(G, A)
    H = np.empty(network_kernels.workspace_size(1, packed[3]))
    stopped_by_stall = 0
    for _ in range(20):
        z0 = np.zeros(10)
        z0[rng.permutation(10)[:4]] = rng.standard_normal(4)

        def run(n_steps, stall, z0=z0):
            z = z0.copy()
            f, steps = recover_kernels.gauss_newton(
                *packed, y, z, n_steps, True, 1e-12, H, H.copy(), stall
            )
            return z, f, steps

        z_stall, f_stall, n_stall = run(30, 0.5)
        z_cut, f_cut, n_cut = run(n_stall, 1.0)
        assert n_cut == n_stall
        np.testing.assert_array_equal(z_stall, z_cut)
        _, f_full, n_full = run(30, 1.0)
        assert f_full <= f_stall and n_full >= n_stall
        if n_full > n_stall:
            _, f_before, _ = run(n_stall - 1, 1.0)
            assert f_stall > 0.5 * f_before
            stopped_by_stall += 1
    assert stopped_by_stall > 0  # the rule did fire on some of these starts


def test_swap_search_repairs_a_wrong_support_of_a_linear_generator():
    rng = np.random.default_rng(33)
    n = 40
    G = ReLUGenerator([np.eye(n)])
    A = gaussian_matrix(30, n, rng)
    x = np.zeros(n)
    x[[2, 11, 29]] = [1.5, -2.0, 1.0]
    y = A @ x
    z = np.zeros(n)
    z[[2, 11, 35]] = 1.0  # one wrong index
    packed = _packed(G, A)
    H = np.empty(network_kernels.workspace_size(1, packed[3]))
    f, swaps = recover_kernels.swap_search(
        *packed, y, z, 4, 3, 8, 10, False, 1e-12, 0.0, False, H, H.copy()
    )
    assert swaps >= 1
    np.testing.assert_allclose(z, x, atol=1e-9)


def test_pair_moves_repair_two_wrong_indices_of_a_linear_generator():
    # For a linear generator the linearised fit is exact, so the best-ranked two-element
    # swap is the true support and its refit is the truth.
    rng = np.random.default_rng(35)
    n = 30
    G = ReLUGenerator([np.eye(n)])
    A = gaussian_matrix(20, n, rng)
    x = np.zeros(n)
    x[[3, 8, 17, 25]] = [1.5, -2.0, 1.0, 0.7]
    y = A @ x
    z = np.zeros(n)
    z[[3, 8, 11, 29]] = 1.0  # two wrong indices
    packed = _packed(G, A)
    H = np.empty(network_kernels.workspace_size(1, packed[3]))
    f_start = recover_kernels.objective(*packed, y, z, H)
    S, outside = np.flatnonzero(z), np.flatnonzero(z == 0.0)
    J = A.copy()  # the Jacobian of F(z) = A z
    b = y - A @ z + J[:, S] @ z[S]
    M, cvec = J.T @ J, J.T @ b
    best_z, cand = np.empty(n), np.empty(n)
    f = recover_kernels._pair_moves(
        *packed,
        y,
        S,
        outside,
        M,
        cvec,
        1,
        4,
        False,
        1e-12,
        0.0,
        f_start,
        best_z,
        cand,
        H.copy(),
        H.copy(),
    )
    assert f <= 1e-20 * np.sum(y**2) < f_start
    np.testing.assert_allclose(best_z, x, atol=1e-9)


@pytest.mark.parametrize("n_kept", [0, 1, 4])
def test_schur_scores_equal_least_squares_fits(n_kept):
    # The one-solve Schur-complement scores of added columns (one and two at a time) equal
    # ||b - J_T u||^2 - ||b||^2 of an independent least-squares fit on each T = R + L.
    rng = np.random.default_rng(36)
    m, k = 12, 9
    J, b = rng.standard_normal((m, k)), rng.standard_normal(m)
    M, cvec = J.T @ J, J.T @ b
    perm = rng.permutation(k)
    R, cands = np.sort(perm[:n_kept]), np.sort(perm[n_kept:])

    def fit(T):
        u = np.linalg.lstsq(J[:, T], b, rcond=None)[0]
        return np.sum((b - J[:, T] @ u) ** 2) - np.sum(b**2)

    single = np.empty(cands.size)
    recover_kernels._single_add_scores(M, cvec, R, cands, single)
    np.testing.assert_allclose(single, [fit([*R, c]) for c in cands], rtol=1e-9)
    base, q, C = recover_kernels._added_fit_parts(M, cvec, R, cands)
    for a, b_ in [(0, 1), (1, cands.size - 1)]:
        L = [a, b_]
        pair = -(base + q[L] @ np.linalg.solve(C[np.ix_(L, L)], q[L]))
        np.testing.assert_allclose(pair, fit([*R, cands[a], cands[b_]]), rtol=1e-9)
        score, u = recover_kernels._linear_fit_score(M, cvec, np.array([*R, cands[a], cands[b_]]))
        np.testing.assert_allclose(score, pair, rtol=1e-9)


def test_pair_moves_never_make_a_recovery_worse():
    # Pair moves only run where no one-element swap improves, so each row ends at least as
    # low as without them (fit_tol = 0: every row runs to the end).
    G, A, _, y = _hard_recovery_problem()
    kw = dict(fit_tol=0.0, polish=0)
    without = latent_recover(G, A, y, 4, pair_screen=0, **kw)
    with_pairs = latent_recover(G, A, y, 4, pair_screen=16, **kw)
    assert np.all(with_pairs.restart_residuals <= without.restart_residuals * (1 + 1e-9))


@pytest.mark.parametrize("depth", [2, 3])
def test_latent_recover_recovers_and_certifies_with_m_equal_n(depth):
    rng = np.random.default_rng(34 + depth)
    G = ReLUGenerator.random([10, 30, 60][:depth] + [60], rng)
    A = gaussian_matrix(60, 60, rng)
    for s in (1, 3, 10):
        z_true = hard_threshold(rng.standard_normal(10), s)
        y = A @ G(z_true)
        r = latent_recover(G, A, y, s, rng=rng)
        assert np.linalg.norm(r.x - G(z_true)) <= 1e-6 * np.linalg.norm(G(z_true))
        assert r.certified and r.converged
        assert r.residual == r.restart_residuals.min()
        assert r.support_changes >= 0 and np.count_nonzero(r.z) <= s


def test_latent_recover_certificate_is_the_autograd_gradient_on_the_support(problem):
    G, A, _, y = problem
    # Noisy data: the fit is not exact, so the certificate is a genuine stationarity check.
    y_noisy = y + 0.05 * np.linalg.norm(y) / np.sqrt(y.size) * np.random.default_rng(
        3
    ).standard_normal(y.size)
    r = latent_recover(G, A, y_noisy, 3, fit_tol=0.0, rng=np.random.default_rng(1))
    g = grad(autograd_objective(G, A, y_noisy))(r.z)
    np.testing.assert_allclose(r.gradient_norm, np.linalg.norm(g[r.z != 0]), rtol=1e-6, atol=1e-12)
    assert r.residual <= r.restart_residuals.min()
    assert r.certified == (
        r.gradient_norm
        <= 2e-6 * np.linalg.norm(A @ G.jacobian(r.z)[:, r.z != 0]) * np.linalg.norm(y_noisy)
    )


def test_latent_recover_is_reproducible_and_never_worse_than_its_starts(problem):
    G, A, _, y = problem
    a = LatentRecover(G, A, 3, restarts=3, seeds=4, fit_tol=0.0).solve(
        y, rng=np.random.default_rng(5)
    )
    b = LatentRecover(G, A, 3, restarts=3, seeds=4, fit_tol=0.0).solve(
        y, rng=np.random.default_rng(5)
    )
    np.testing.assert_array_equal(a.z, b.z)
    assert a.restart_residuals.shape[0] >= 7
    assert a.history[-1] <= a.history[0]


def test_latent_recover_bad_input(problem):
    G, A, z_true, y = problem
    with pytest.raises(ValueError, match="seeds must be at most"):
        latent_recover(G, A, y, 3, seeds=25)
    with pytest.raises(ValueError, match="swap_starts must be"):
        latent_recover(G, A, y, 3, swap_starts=4)
    with pytest.raises(ValueError, match="group"):
        latent_recover(G, A, y, 3, group=0)
    with pytest.raises(ValueError, match="no starting point"):
        latent_recover(G, A, y, 3, seeds=0)
    with pytest.raises(ValueError, match="rng is required"):
        latent_recover(G, A, y, 3, seeds=0, restarts=2)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="gn_stall"):
            latent_recover(G, A, y, 3, gn_stall=bad)


def test_latent_recover_dense_uses_flips_and_recovers_an_expansive_network():
    rng = np.random.default_rng(40)
    k = 8
    G = ReLUGenerator.random([k, 4 * k, 8 * k], rng)
    A = gaussian_matrix(4 * k, 8 * k, rng)
    z_true = rng.standard_normal(k)
    y = A @ G(z_true)
    solver = LatentRecover(G, A, k)
    assert solver.flips and solver.seeds == 0 and solver.restarts > 0
    r = solver.solve(y, rng=rng)
    np.testing.assert_allclose(r.x, G(z_true), rtol=1e-6, atol=1e-9)
    assert r.certified


def test_latent_recover_grow_rules_agree_on_an_easy_problem(problem):
    G, A, z_true, y = problem
    for grow_try in (0, 3):
        r = latent_recover(G, A, y, 3, grow_try=grow_try, rng=np.random.default_rng(0))
        np.testing.assert_allclose(r.x, G(z_true), rtol=1e-6, atol=1e-9)


def _hard_recovery_problem():
    # Few measurements: the seeds need growth and swaps, and several do not fit y.
    rng = np.random.default_rng(53)
    G = ReLUGenerator.random([12, 30, 60], rng)
    A = gaussian_matrix(9, 60, rng)
    z_true = hard_threshold(rng.standard_normal(12), 4)
    return G, A, z_true, A @ G(z_true)


def test_latent_recover_row_order_does_not_change_any_row():
    # Each start's pipeline is independent of the others: with fit_tol = 0 every row runs,
    # and the lazy, grouped and eager orders must give every row the same residual.
    G, A, _, y = _hard_recovery_problem()
    kw = dict(fit_tol=0.0, polish=0, rng=np.random.default_rng(0))
    eager = latent_recover(G, A, y, 4, group=10**6, **kw)
    for group in (1, 2, 5):
        r = latent_recover(G, A, y, 4, group=group, **kw)
        np.testing.assert_array_equal(r.restart_residuals, eager.restart_residuals)
        np.testing.assert_array_equal(r.z, eager.z)


def test_latent_recover_lazy_order_stops_at_the_first_fitting_start():
    G, A, _, y = _hard_recovery_problem()
    solver = LatentRecover(G, A, 4, group=1)
    assert LatentRecover(G, A, 4).group >= 1 and LatentRecover(G, A, 12).group is None
    r = solver.solve(y, rng=np.random.default_rng(0))
    fit = solver.fit_tol * np.linalg.norm(y)
    if r.residual <= fit:
        # Rows after the winner were never touched: they keep their start's residual.
        Z = solver.starts(y, None, None)
        start = np.linalg.norm(solver.problem.forward(Z) - y, axis=1)
        np.testing.assert_allclose(
            r.restart_residuals[r.restart + 1 :], start[r.restart + 1 :], rtol=1e-12
        )
        assert np.all(r.restart_residuals[: r.restart] > fit)
    # Never worse than running every row to the end (same rows, same pipeline).
    full = latent_recover(G, A, y, 4, fit_tol=0.0, polish=0)
    assert r.residual <= max(full.residual, fit)


def test_support_search_finds_the_unique_fitting_support_of_a_linear_generator():
    # With m = s + 1 generic measurements exactly one s-sparse support fits y; an
    # independent brute force by least squares on every support finds it.
    rng = np.random.default_rng(37)
    k, s, m = 8, 3, 4
    W = rng.standard_normal((12, k))
    G = ReLUGenerator([W])  # depth 1: G(z) = W z
    A = gaussian_matrix(m, 12, rng)
    z_true = np.zeros(k)
    z_true[[1, 4, 6]] = [1.2, -0.7, 2.0]
    y = A @ W @ z_true
    residuals = {
        T: np.linalg.lstsq((A @ W)[:, T], y, rcond=None)[1][0]
        for T in itertools.combinations(range(k), s)
    }
    assert min(residuals, key=residuals.get) == (1, 4, 6)
    z, f, _ = LatentRecover(G, A, s).support_search(y, 1e-20 * np.sum(y**2))
    np.testing.assert_allclose(z, z_true, atol=1e-9)
    assert f <= 1e-20 * np.sum(y**2)


def test_support_search_solves_the_true_support_as_the_oracle_does():
    # On a ReLU generator with m = s + 1, the search reaches the true support and fits it
    # as latent_recover on the generator restricted to that support does.
    rng = np.random.default_rng(38)
    G = ReLUGenerator.random([8, 16, 24], rng)
    A = gaussian_matrix(4, 24, rng)
    z_true = np.zeros(8)
    z_true[[0, 3, 5]] = [0.9, -1.1, 0.6]
    y = A @ G(z_true)
    oracle = latent_recover(G.restrict([0, 3, 5]), A, y, 3, seeds=6, rng=np.random.default_rng(0))
    assert oracle.residual <= 1e-8 * np.linalg.norm(y)
    z, f, _ = LatentRecover(G, A, 3).support_search(y, (1e-10 * np.linalg.norm(y)) ** 2)
    np.testing.assert_allclose(z, z_true, atol=1e-7)


def test_support_search_runs_only_where_nothing_else_fits():
    G, A, _, y = _hard_recovery_problem()
    without = latent_recover(G, A, y, 4, exhaustive=0, rng=np.random.default_rng(0))
    with_search = latent_recover(G, A, y, 4, rng=np.random.default_rng(0))
    if without.residual <= 1e-10 * np.linalg.norm(y):
        assert with_search.restart_residuals.size == without.restart_residuals.size
    else:
        assert with_search.restart_residuals.size == without.restart_residuals.size + 1
    assert with_search.residual <= without.residual * (1 + 1e-9)


def test_beam_growth_with_a_wide_beam_visits_every_support_once():
    # k = 5, s = 2: from the 5 one-element supports, 4 expansions each reach every one of
    # the C(5, 2) = 10 pairs; a beam of width 10 keeps each exactly once, ranked by f.
    rng = np.random.default_rng(40)
    G = ReLUGenerator.random([5, 15, 30], rng)
    A = gaussian_matrix(8, 30, rng)
    y = A @ G(rng.standard_normal(5))
    packed = _packed(G, A)
    solver = LatentRecover(G, A, 2, beam=10)
    Z1, f1 = recover_kernels.one_sparse_fits(*packed, y)
    Zb, fb = solver.beam_rows(y)
    supports = {tuple(np.flatnonzero(z)) for z in Zb}
    assert len(supports) == Zb.shape[0] == 10 and all(len(t) == 2 for t in supports)
    assert np.all(np.diff(fb) >= 0)
    np.testing.assert_allclose(fb, np.sum((y - G(Zb) @ A.T) ** 2, axis=1), rtol=1e-9)
    # A narrower beam keeps the best of what it saw: its rows are among the wide one's.
    Zn, fn = LatentRecover(G, A, 2, beam=3, beam_expand=1).beam_rows(y)
    assert Zn.shape[0] <= 3 and all(np.count_nonzero(z) == 2 for z in Zn)
    assert np.all(np.diff(fn) >= 0) and fn[0] >= fb[0] * (1 - 1e-9)


def test_beam_expand_beyond_the_free_coordinates_changes_nothing():
    # Each kept support of size j has k - j coordinates outside it; asking for more
    # expansions than that refits every one of them, so any larger beam_expand gives the
    # same beam, and a beam wide enough to keep every support then holds all C(k, s).
    rng = np.random.default_rng(41)
    G = ReLUGenerator.random([6, 18, 36], rng)
    A = gaussian_matrix(9, 36, rng)
    y = A @ G(rng.standard_normal(6))
    Z5, f5 = LatentRecover(G, A, 3, beam=20, beam_expand=5).beam_rows(y)
    Z9, f9 = LatentRecover(G, A, 3, beam=20, beam_expand=9).beam_rows(y)
    np.testing.assert_array_equal(Z5, Z9)
    np.testing.assert_array_equal(f5, f9)
    assert {tuple(np.flatnonzero(z)) for z in Z5} == set(itertools.combinations(range(6), 3))


def test_beam_only_runs_where_no_start_fits_and_never_makes_a_recovery_worse():
    G, A, _, y_clean = _hard_recovery_problem()
    kw = dict(polish=0, exhaustive=0, rng=np.random.default_rng(0))
    for noise in (0.0, 0.05):
        y = y_clean + noise * np.random.default_rng(41).standard_normal(y_clean.size)
        _check_beam_rows_are_extra_rows(G, A, y, kw)
    with pytest.raises(ValueError, match="beam"):
        LatentRecover(G, A, 4, beam=-1)
    with pytest.raises(ValueError, match="beam_expand"):
        LatentRecover(G, A, 4, beam_expand=0)


def _check_beam_rows_are_extra_rows(G, A, y, kw):
    # The beam's rows come after every other row and only where none of them fits y.
    without = latent_recover(G, A, y, 4, beam=0, **kw)
    with_beam = latent_recover(G, A, y, 4, beam=6, **kw)
    fit = 1e-10 * np.linalg.norm(y)
    n_rows = without.restart_residuals.size
    np.testing.assert_array_equal(with_beam.restart_residuals[:n_rows], without.restart_residuals)
    if without.residual <= fit:
        assert with_beam.restart_residuals.size == n_rows
    else:
        assert n_rows < with_beam.restart_residuals.size <= n_rows + 6
    assert with_beam.residual <= without.residual
    assert with_beam.residual == with_beam.restart_residuals.min()


# --------------------------------------------------------------------- latent IHT options


def test_step_growth_keeps_the_objective_monotone(problem):
    G, A, _, y = problem
    r = latent_iht(G, A, y, 3, step_growth=2.0, max_iter=300, rng=np.random.default_rng(2))
    assert np.all(np.diff(r.history) <= 1e-12 * r.history[:-1])


def test_step_growth_only_changes_the_auto_step(problem):
    G, A, _, y = problem
    z0 = np.random.default_rng(2).standard_normal(G.k)
    a = latent_iht(G, A, y, 3, step=1e-3, max_iter=50, tol=0, z0=z0)
    b = latent_iht(G, A, y, 3, step=1e-3, step_growth=3.0, max_iter=50, tol=0, z0=z0)
    np.testing.assert_array_equal(a.z, b.z)
    # With the auto step, growth 1 never lets beta exceed its value after the first
    # iteration; growth 2 doubles it after an accepted step (a refused one halves both).
    first = latent_iht(G, A, y, 3, step_growth=1.0, max_iter=1, tol=0, z0=z0)
    grown = latent_iht(G, A, y, 3, step_growth=2.0, max_iter=1, tol=0, z0=z0)
    later = latent_iht(G, A, y, 3, step_growth=1.0, max_iter=50, tol=0, z0=z0)
    assert later.step <= first.step
    assert grown.step == pytest.approx(2 * first.step) or grown.step == first.step


def test_continuation_runs_its_stages_and_ends_s_sparse(problem):
    G, A, _, y = problem
    z0 = np.random.default_rng(3).standard_normal(G.k)
    r = latent_iht(G, A, y, 3, continuation=2, max_iter=90, tol=0, z0=z0)
    assert np.count_nonzero(r.z) <= 3
    assert r.n_iter == 90 and r.history.shape == (90,)
    # The first stage is plain IHT at sparsity 5 from the same start (same step rule).
    first = latent_iht(G, A, y, 5, max_iter=30, tol=0, z0=hard_threshold(z0, 5))
    np.testing.assert_allclose(r.history[:30], first.history, rtol=1e-12)


def test_negation_check_turns_a_negated_start_around():
    rng = np.random.default_rng(41)
    G = ReLUGenerator.random([10, 40, 80], rng)
    A = gaussian_matrix(80, 80, rng)
    z_true = hard_threshold(rng.standard_normal(10), 3)
    y = A @ G(z_true)
    # A negligible fixed step keeps z at -z*; the check after iteration 1 then flips it.
    r = latent_iht(G, A, y, 3, z0=-z_true, step=1e-14, negate_every=1, max_iter=1, tol=0)
    np.testing.assert_allclose(r.z, z_true, rtol=1e-9, atol=1e-12)
    plain = latent_iht(G, A, y, 3, z0=-z_true, step=1e-14, max_iter=1, tol=0)
    np.testing.assert_allclose(plain.z, -z_true, rtol=1e-9, atol=1e-12)


def test_iht_option_errors(problem):
    G, A, z_true, y = problem
    with pytest.raises(ValueError, match="step_growth must be >= 1"):
        latent_iht(G, A, y, 3, z0=z_true, step_growth=0.5)
    with pytest.raises(ValueError, match="continuation must be >= 0"):
        latent_iht(G, A, y, 3, z0=z_true, continuation=-1)
    with pytest.raises(ValueError, match="negate_every must be >= 0"):
        latent_iht(G, A, y, 3, z0=z_true, negate_every=-2)


@pytest.mark.parametrize("solver", [iht, niht])
def test_measurements_whose_norm_overflows_are_refused(solver):
    A = gaussian_matrix(10, 20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="y is too large"):
        solver(A, np.full(10, 1e300), 2)
