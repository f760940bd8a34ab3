"""Solvers: sanity identities, agreement with independent implementations, certificates."""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from scipy.optimize import linprog
from test_stages import hard_problem

from sdlss_theory import (
    LatentGD,
    LatentIHT,
    LatentNIHT,
    LatentRecover,
    ReLUGenerator,
    basis_pursuit,
    gaussian_matrix,
    hard_threshold,
    iht,
    latent_gd,
    latent_iht,
    latent_niht,
    latent_recover,
    niht,
)
from sdlss_theory.solvers import IHT, NIHT, BasisPursuit
from sdlss_theory.solvers.recover import PRESETS


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


def test_identity_generator_reduces_to_classical_iht():
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
        latent = latent_iht(G, A, y, s, step=beta, max_iter=t, tol=0, z0=x0)
        classical = iht(A, y, s, step=beta, max_iter=t, tol=0, z0=x0)
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


def test_objective_never_rises_with_auto_step(problem):
    G, A, _, y = problem
    for solver in (latent_iht, latent_niht):
        result = solver(G, A, y, 3, max_iter=300, rng=np.random.default_rng(2))
        assert np.all(np.diff(result.history) <= 1e-12 * result.history[:-1])


def test_converged_point_is_stationary_on_its_support(problem):
    """Certificate: at a converged IHT point the gradient vanishes on the support."""
    G, A, _, y = problem
    result = latent_iht(G, A, y, 3, starts=4, max_iter=20000, tol=1e-13, rng=4)
    assert result.converged and result.certified
    g = grad(autograd_objective(G, A, y))(result.z)
    on_support = result.z != 0
    assert np.linalg.norm(g[on_support]) <= 1e-5 * max(np.linalg.norm(g), 1.0)


def test_starts_keep_the_lowest_residual_and_are_reproducible(problem):
    G, A, _, y = problem
    a = latent_iht(G, A, y, 3, starts=6, max_iter=200, rng=np.random.default_rng(11))
    b = latent_iht(G, A, y, 3, starts=6, max_iter=200, rng=11)
    residuals, best = a.extras["start_residuals"], a.extras["start"]
    assert residuals.shape == (6,)
    assert a.residual == residuals.min() == residuals[best]
    np.testing.assert_array_equal(a.z, b.z)
    # Each start is the single run from the same start: batching changes nothing.
    starts = np.random.default_rng(11).standard_normal((6, G.k))
    single = latent_iht(G, A, y, 3, max_iter=200, z0=starts[best])
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
    with pytest.raises(ValueError, match="kappa must exceed"):
        latent_niht(G, A, y, 3, z0=z_true, kappa=1.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        iht(A, y, 3, max_iter=0)


# --------------------------------------------------------------------- latent IHT options


def test_step_growth_keeps_the_objective_monotone(problem):
    G, A, _, y = problem
    r = latent_iht(G, A, y, 3, step_growth=2.0, max_iter=300, rng=2)
    assert np.all(np.diff(r.history) <= 1e-12 * r.history[:-1])


def test_step_growth_only_changes_the_auto_step(problem):
    G, A, _, y = problem
    z0 = np.random.default_rng(2).standard_normal(G.k)
    a = latent_iht(G, A, y, 3, step=1e-3, max_iter=50, tol=0, z0=z0)
    b = latent_iht(G, A, y, 3, step=1e-3, step_growth=3.0, max_iter=50, tol=0, z0=z0)
    np.testing.assert_array_equal(a.z, b.z)
    # With the auto step, growth 1 never lets beta exceed its value after the first
    # iteration; growth 2 doubles it after an accepted step (a refused one halves both).
    first = latent_iht(G, A, y, 3, step_growth=1.0, max_iter=1, tol=0, z0=z0).extras["step"]
    grown = latent_iht(G, A, y, 3, step_growth=2.0, max_iter=1, tol=0, z0=z0).extras["step"]
    later = latent_iht(G, A, y, 3, step_growth=1.0, max_iter=50, tol=0, z0=z0).extras["step"]
    assert later <= first
    assert grown == pytest.approx(2 * first) or grown == first


@pytest.mark.parametrize("solver", [iht, niht])
def test_measurements_whose_norm_overflows_are_refused(solver):
    A = gaussian_matrix(10, 20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="y is too large"):
        solver(A, np.full(10, 1e300), 2)


# --------------------------------------------------------------------- one contract


def _solvers(G, A):
    """Every solver class, built on the same problem."""
    return [
        LatentRecover(G, A, 3),
        LatentIHT(G, A, 3, max_iter=200),
        LatentNIHT(G, A, 3, max_iter=200),
        LatentGD(G, A, max_iter=200),
        IHT(A, 3, max_iter=200),
        NIHT(A, 3, max_iter=200),
        BasisPursuit(A),
    ]


def test_every_solver_follows_the_contract(problem):
    G, A, _, y = problem
    for solver in _solvers(G, A):
        name = type(solver).__name__
        # solve(y, *, z0=None, rng=None): z0 and rng keyword-only.
        with pytest.raises(TypeError):
            solver.solve(y, None, 0)
        r = solver.solve(y, rng=0)
        assert r.history.shape == (r.n_iter,), name
        assert isinstance(r.converged, bool) and isinstance(r.certified, bool), name
        assert isinstance(r.extras, dict), name
        assert np.isfinite(r.residual) and np.all(np.isfinite(r.x)), name
        np.testing.assert_allclose(r.residual, np.linalg.norm(y - A @ r.x), rtol=1e-6, atol=1e-9)
        if "start_residuals" in r.extras:
            assert r.residual == pytest.approx(r.extras["start_residuals"].min())
        # Options are validated at construction, naming the option.
        if hasattr(solver.options, "max_iter"):
            with pytest.raises(ValueError, match="max_iter"):
                type(solver)(*_args(solver, G, A), max_iter=0)
        with pytest.raises(TypeError, match="unknown options"):
            type(solver)(*_args(solver, G, A), bogus=1)


def _args(solver, G, A):
    if isinstance(solver, (IHT, NIHT)):
        return (A, 3)
    if isinstance(solver, BasisPursuit):
        return (A,)
    if isinstance(solver, LatentGD):
        return (G, A)
    return (G, A, 3)


def test_iterative_certificate_is_the_autograd_gradient_on_the_support(problem):
    G, A, _, y = problem
    y = y + 0.05 * np.random.default_rng(3).standard_normal(y.size)
    for solver in (latent_iht, latent_niht):
        r = solver(G, A, y, 3, max_iter=3000, tol=1e-14, z0=np.ones(G.k))
        g = grad(autograd_objective(G, A, y))(r.z)
        S = r.z != 0
        scale = np.linalg.norm(A @ G.jacobian(r.z)[:, S]) * np.linalg.norm(y)
        np.testing.assert_allclose(
            r.extras["gradient_norm"], np.linalg.norm(g[S]), rtol=1e-6, atol=1e-12 * scale
        )
        assert r.certified == (np.linalg.norm(g[S]) <= 2e-6 * scale)


def test_basis_pursuit_is_certified_by_lp_duality():
    rng = np.random.default_rng(8)
    A = gaussian_matrix(20, 50, rng)
    r = basis_pursuit(A, rng.standard_normal(20))
    dual = r.extras["dual"]
    assert r.certified and r.converged
    assert np.max(np.abs(A.T @ dual)) <= 1 + 1e-9
    np.testing.assert_allclose(np.abs(r.x).sum(), dual @ (A @ r.x), rtol=1e-8)
    # The dual of another y certifies nothing here: its objective is not ||x||_1.
    other = basis_pursuit(A, rng.standard_normal(20)).extras["dual"]
    assert abs(other @ (A @ r.x) - np.abs(r.x).sum()) > 1e-6


def test_a_solver_that_draws_refuses_a_missing_rng_up_front(problem):
    G, A, z_true, y = problem
    for make in (
        lambda: LatentIHT(G, A, 3, starts=2),
        lambda: LatentNIHT(G, A, 3, starts=2),
        lambda: LatentGD(G, A, starts=2),
        lambda: LatentRecover(G, A, 12),  # s = k: random starts
    ):
        with pytest.raises(ValueError, match="rng is required"):
            make().solve(y, z0=z_true)
    # An integer seed is a generator: the same numbers.
    a = latent_iht(G, A, y, 3, starts=3, rng=7, max_iter=50)
    b = latent_iht(G, A, y, 3, starts=3, rng=np.random.default_rng(7), max_iter=50)
    np.testing.assert_array_equal(a.z, b.z)


def test_latent_recover_draws_only_where_its_options_say_so(problem):
    G, A, _, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = latent_recover(G, A, y, 3)  # seeds only: nothing to draw, no rng needed
    assert r.certified
    for options in (dict(polish=2), dict(starts=G.k * 2 + 1)):
        with pytest.raises(ValueError, match="rng is required"):
            latent_recover(G, A, y, 3, **options)
    a = latent_recover(G, A, y, 3, polish=2, fit_tol=0.0, rng=3)
    b = latent_recover(G, A, y, 3, polish=2, fit_tol=0.0, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.z, b.z)


def test_old_option_names_are_unknown_options(problem):
    # The renamed options of the unreleased 0.1.0 are gone: a clear error names the options.
    G, A, z_true, y = problem
    with pytest.raises(TypeError, match="unknown options \\['restarts'\\]"):
        latent_iht(G, A, y, 3, restarts=3, rng=1, max_iter=50)
    with pytest.raises(TypeError, match="unknown options \\['engine'\\]"):
        latent_iht(G, A, y, 3, z0=z_true, engine="numba")
    with pytest.raises(TypeError, match="x0"):
        iht(A, A @ G(z_true), 3, x0=np.zeros(A.shape[1]), max_iter=5)
    r = iht(A, A @ G(z_true), 3, max_iter=5)
    with pytest.raises(AttributeError, match="restart"):
        r.restart  # noqa: B018
    assert "start" in r.extras
    with pytest.raises(TypeError, match="unknown options \\['restarts'\\]"):
        LatentRecover(G, A, 3, restarts=2)


# --------------------------------------------------------------------- latent_recover


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
        assert r.residual == r.extras["start_residuals"].min()
        assert r.extras["support"].size == s and np.count_nonzero(r.z) <= s
        assert set(np.flatnonzero(r.z)) <= set(r.extras["support"])


def test_latent_recover_certificate_is_the_autograd_gradient_on_the_support(problem):
    G, A, _, y = problem
    # Noisy data: the fit is not exact, so the certificate is a genuine stationarity check.
    noise = np.random.default_rng(3).standard_normal(y.size)
    y_noisy = y + 0.05 * np.linalg.norm(y) / np.sqrt(y.size) * noise
    r = latent_recover(G, A, y_noisy, 3, fit_tol=0.0, rng=1)
    S = r.extras["support"]
    g = grad(autograd_objective(G, A, y_noisy))(r.z)
    scale = np.linalg.norm(A @ G.jacobian(r.z)[:, S]) * np.linalg.norm(y_noisy)
    # Equal to rounding of the gradient's natural scale (the gradient itself may be tiny).
    np.testing.assert_allclose(
        r.extras["gradient_norm"], np.linalg.norm(g[S]), rtol=1e-6, atol=1e-12 * scale
    )
    assert r.certified == (np.linalg.norm(g[S]) <= 2e-6 * scale)
    assert r.history.shape == (r.n_iter,) and np.all(np.diff(r.history) <= 1e-12)


def test_latent_recover_is_reproducible_and_never_worse_than_its_starts(problem):
    G, A, _, y = problem
    a = LatentRecover(G, A, 3, seeds=4, starts=7, fit_tol=0.0).solve(y, rng=5)
    b = LatentRecover(G, A, 3, seeds=4, starts=7, fit_tol=0.0).solve(y, rng=5)
    np.testing.assert_array_equal(a.z, b.z)
    assert a.extras["start_residuals"].size >= 7
    assert a.history[-1] <= a.history[0]


def test_latent_recover_bad_input(problem):
    G, A, _, y = problem
    with pytest.raises(ValueError, match="seeds must be at most"):
        LatentRecover(G, A, 3, seeds=25)
    with pytest.raises(ValueError, match="starts .* must be at least seeds"):
        LatentRecover(G, A, 3, seeds=4, starts=2)
    with pytest.raises(ValueError, match="no starting point"):
        latent_recover(G, A, y, 3, seeds=0, starts=0, rng=0)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="gn_stall"):
            LatentRecover(G, A, 3, gn_stall=bad)
    with pytest.raises(ValueError, match="beam_expand"):
        LatentRecover(G, A, 3, beam_expand=0)


def test_latent_recover_defaults_are_the_presets():
    rng = np.random.default_rng(40)
    k = 8
    G = ReLUGenerator.random([k, 4 * k, 8 * k], rng)
    A = gaussian_matrix(4 * k, 8 * k, rng)
    for s, preset in ((3, PRESETS["sparse"]), (k, PRESETS["dense"])):
        o = LatentRecover(G, A, s).options
        assert o.seeds == (preset["seeds"] if preset["seeds"] is not None else 2 * k)
        assert o.starts == o.seeds + preset["random_starts"]
        assert (o.gn_stall, o.flips) == (preset["gn_stall"], preset["flips"])


def test_latent_recover_wide_presets_where_s_exceeds_m():
    """s > m: the "wide" entries over the sparse or dense preset; s <= m: untouched."""
    rng = np.random.default_rng(41)
    k = 8
    G = ReLUGenerator.random([k, 4 * k, 8 * k], rng)
    for m, s, base in ((3, 7, "sparse"), (3, k, "dense"), (5, k, "dense"), (7, 7, "sparse")):
        A = gaussian_matrix(m, 8 * k, rng)
        o = LatentRecover(G, A, s).options
        preset = PRESETS[base]
        assert (o.gn_stall, o.flips) == (preset["gn_stall"], preset["flips"])
        if s > m:
            assert o.max_swaps == PRESETS["wide"]["max_swaps"] == 0
            assert o.grow_step == -(-s // m) >= 2
        else:
            assert (o.max_swaps, o.grow_step) == (preset["max_swaps"], preset["grow_step"])
        # Explicit values win over every preset.
        o = LatentRecover(G, A, s, max_swaps=3, grow_step=1).options
        assert (o.max_swaps, o.grow_step) == (3, 1)
    with pytest.raises(ValueError, match="grow_step"):
        LatentRecover(G, A, 3, grow_step=0)
    with pytest.raises(ValueError, match="max_swaps"):
        LatentRecover(G, A, 3, max_swaps=-1)


@pytest.mark.parametrize("s", [6, 8])
def test_latent_recover_wide_runs_no_swap_search(s, monkeypatch):
    """s > m (sparse and s = k): the swap stage never runs, the returned point is the best
    refined row (the same as with max_swaps=0 given explicitly) and its certificate is the
    stationarity test computed afresh."""
    from sdlss_theory.solvers import stages
    from sdlss_theory.solvers._problem import Problem

    rng = np.random.default_rng(42)
    k, m = 8, 4
    G = ReLUGenerator.random([k, 4 * k, 8 * k], rng)
    A = gaussian_matrix(m, 8 * k, rng)
    z_true = hard_threshold(rng.standard_normal(k), s)
    y = A @ G(z_true)
    explicit = latent_recover(G, A, y, s, max_swaps=0, grow_step=-(-s // m), rng=1)

    def no_swaps(*args, **kwargs):
        raise AssertionError("the swap search ran")

    monkeypatch.setattr(stages, "swap", no_swaps)
    r = latent_recover(G, A, y, s, rng=1)
    np.testing.assert_array_equal(r.z, explicit.z)
    assert r.extras["support_changes"] == 0
    assert r.extras["support"].size == s
    assert np.count_nonzero(r.z) <= s
    stationary, norm = Problem.from_generator(G, A).certificate(
        y, r.z, r.extras["support"], cert_tol=1e-6
    )
    assert r.certified == stationary and r.extras["gradient_norm"] == pytest.approx(norm)
    assert r.residual == pytest.approx(np.linalg.norm(y - A @ G(r.z)), rel=1e-9, abs=1e-12)
    assert r.residual <= np.min(r.extras["start_residuals"]) * (1 + 1e-12)


def test_latent_recover_dense_recovers_an_expansive_network():
    rng = np.random.default_rng(40)
    k = 8
    G = ReLUGenerator.random([k, 4 * k, 8 * k], rng)
    A = gaussian_matrix(4 * k, 8 * k, rng)
    z_true = rng.standard_normal(k)
    r = latent_recover(G, A, A @ G(z_true), k, rng=rng)
    np.testing.assert_allclose(r.x, G(z_true), rtol=1e-6, atol=1e-9)
    assert r.certified and r.extras["origin"] == "random"


def test_pair_moves_never_make_a_recovery_worse():
    # Pair moves only run where no one-element swap improves, so each row ends at least as
    # low as without them (fit_tol = 0: every row runs to the end).
    G, A, _, y = hard_problem()
    kw = dict(fit_tol=0.0, polish=0, beam=0, exhaustive=0)
    without = latent_recover(G, A, y, 4, pair_screen=0, **kw).extras["start_residuals"]
    with_pairs = latent_recover(G, A, y, 4, pair_screen=16, **kw).extras["start_residuals"]
    assert np.all(with_pairs <= without * (1 + 1e-9))


def test_later_stages_run_only_where_no_row_fits_and_add_rows():
    G, A, _, y_clean = hard_problem()
    for noise in (0.0, 0.05):
        y = y_clean + noise * np.random.default_rng(41).standard_normal(y_clean.size)
        fit = 1e-10 * np.linalg.norm(y)
        base = latent_recover(G, A, y, 4, beam=0, exhaustive=0, polish=0)
        n = base.extras["start_residuals"].size
        beam = latent_recover(G, A, y, 4, beam=6, exhaustive=0, polish=0)
        searched = latent_recover(G, A, y, 4, beam=6, polish=0)
        np.testing.assert_array_equal(
            beam.extras["start_residuals"][:n], base.extras["start_residuals"]
        )
        if base.residual <= fit:
            assert beam.extras["start_residuals"].size == n
        else:
            assert n < beam.extras["start_residuals"].size <= n + 6
            extra = searched.extras["start_residuals"].size - beam.extras["start_residuals"].size
            assert extra == (0 if beam.residual <= fit else 1)
        assert searched.residual <= beam.residual <= base.residual
