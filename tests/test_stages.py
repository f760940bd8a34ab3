"""The stages of latent_recover, each on its own: properties and independent computations."""

import itertools

import numpy as np
import pytest

from sdlss_theory import ReLUGenerator, gaussian_matrix, hard_threshold
from sdlss_theory._kernels import refit
from sdlss_theory.solvers import stages
from sdlss_theory.solvers.stages import Beam, Plan, Refit, Row, Swaps

REFIT = Refit(8, 1.0, True, 1e-12)
SPARSE = Plan(Refit(8, 0.5, True, 1e-9), Swaps(20, 4, 32, False), 2)


def ctx_for(G, A, y, settings=REFIT, fit_sq=0.0):
    return refit.context(G.pack(A), y, settings, fit_sq)


def hard_problem():
    # Few measurements: the seeds need growth and swaps, and several do not fit y.
    rng = np.random.default_rng(53)
    G = ReLUGenerator.random([12, 30, 60], rng)
    A = gaussian_matrix(9, 60, rng)
    z_true = hard_threshold(rng.standard_normal(12), 4)
    return G, A, z_true, A @ G(z_true)


def test_seed_rows_are_the_best_fits_along_each_signed_axis():
    rng = np.random.default_rng(31)
    G = ReLUGenerator.random([6, 20, 30], rng)
    A = gaussian_matrix(12, 30, rng)
    y = rng.standard_normal(12)
    rows = stages.seed_rows(ctx_for(G, A, y), 12)
    f = [np.sum((y - A @ G(r.z)) ** 2) for r in rows]
    assert f == sorted(f)
    ts = np.linspace(0.0, 10.0, 2001)
    for row in rows:
        assert row.S.size <= 1 and row.origin == "seed"
        if row.S.size == 0:
            continue
        j, sign = row.S[0], np.sign(row.z[row.S[0]])
        e = np.zeros(6)
        e[j] = sign
        # No point t * sign * e_j on a fine grid fits better (positive homogeneity of G).
        grid_best = min(np.sum((y - A @ G(t * e)) ** 2) for t in ts)
        assert np.sum((y - A @ G(row.z)) ** 2) <= grid_best + 1e-12


def test_random_rows_are_projected_draws_of_the_given_stream():
    rows = stages.random_rows(10, 3, 4, np.random.default_rng(0))
    draws = hard_threshold(np.random.default_rng(0).standard_normal((4, 10)), 3)
    for row, z in zip(rows, draws, strict=True):
        np.testing.assert_array_equal(row.z, z)
        np.testing.assert_array_equal(row.S, np.flatnonzero(z))


def test_refine_grows_to_s_and_solves_a_linear_generator_exactly():
    rng = np.random.default_rng(32)
    W = rng.standard_normal((15, 8))
    G = ReLUGenerator([W])  # depth 1: G(z) = W z
    A = gaussian_matrix(10, 15, rng)
    y = rng.standard_normal(10)
    row = Row.at(np.eye(8)[1], "z0")
    ctx = ctx_for(G, A, y)
    stages.refine(ctx, row, 3)
    assert row.S.size == 3 and np.all(np.diff(row.S) > 0) and 1 in row.S
    # On a linear network Gauss-Newton on a support is least squares on its columns.
    expected = np.linalg.lstsq((A @ W)[:, row.S], y, rcond=None)[0]
    np.testing.assert_allclose(row.z[row.S], expected, rtol=1e-9)
    assert len(row.history) == 3  # two growth steps and the refit
    np.testing.assert_allclose(row.history[-1], np.sum((y - A @ W @ row.z) ** 2), rtol=1e-10)


def test_a_support_is_explicit_even_where_a_coefficient_is_zero():
    # z is zero at coordinate 4, which is in the support: the row is complete (s = 2) and is
    # refitted on {1, 4}, not grown as if it had one coordinate.
    rng = np.random.default_rng(33)
    W = rng.standard_normal((12, 6))
    G = ReLUGenerator([W])
    A = gaussian_matrix(8, 12, rng)
    y = rng.standard_normal(8)
    z = np.zeros(6)
    z[1] = 1.0
    row = Row(z, np.array([1, 4]), "z0")
    stages.refine(ctx_for(G, A, y), row, 2)
    np.testing.assert_array_equal(row.S, [1, 4])
    expected = np.linalg.lstsq((A @ W)[:, [1, 4]], y, rcond=None)[0]
    np.testing.assert_allclose(row.z[[1, 4]], expected, rtol=1e-9)


def test_gauss_newton_stall_only_stops_the_same_path_early():
    # The stall rule never changes a step, it only stops: the stalled run equals the full
    # run cut at the same step count, and it stopped because its last step lowered f by
    # less than half (or for a reason the full run shares).
    rng = np.random.default_rng(34)
    G = ReLUGenerator.random([10, 30, 60], rng)
    A = gaussian_matrix(8, 60, rng)
    y = A @ G(hard_threshold(rng.standard_normal(10), 4))
    ctx = ctx_for(G, A, y)
    stopped_by_stall = 0
    for _ in range(20):
        S = np.sort(rng.permutation(10)[:4])
        z0 = np.zeros(10)
        z0[S] = rng.standard_normal(4)

        def run(n_steps, stall, z0=z0, S=S):
            z = z0.copy()
            f, steps = refit.gauss_newton(
                ctx.net, y, z, S, Refit(n_steps, stall, True, 1e-12), ctx.work.H, ctx.work.Hc
            )
            return z, f, steps

        z_stall, f_stall, n_stall = run(30, 0.5)
        z_cut, _, n_cut = run(n_stall, 1.0)
        assert n_cut == n_stall
        np.testing.assert_array_equal(z_stall, z_cut)
        _, f_full, n_full = run(30, 1.0)
        assert f_full <= f_stall and n_full >= n_stall
        if n_full > n_stall:
            _, f_before, _ = run(n_stall - 1, 1.0)
            assert f_stall > 0.5 * f_before
            stopped_by_stall += 1
    assert stopped_by_stall > 0  # the rule did fire on some of these starts


def test_swap_repairs_a_wrong_support_of_a_linear_generator():
    rng = np.random.default_rng(33)
    n = 40
    G = ReLUGenerator([np.eye(n)])
    A = gaussian_matrix(30, n, rng)
    x = np.zeros(n)
    x[[2, 11, 29]] = [1.5, -2.0, 1.0]
    z = np.zeros(n)
    z[[2, 11, 35]] = 1.0  # one wrong index
    row = Row.at(z, "z0")
    stages.swap(ctx_for(G, A, A @ x), row, Swaps(10, 4, 0, False))
    assert row.moves >= 1 and len(row.history) == row.moves
    np.testing.assert_allclose(row.z, x, atol=1e-9)
    np.testing.assert_array_equal(row.S, [2, 11, 29])


def test_pair_moves_repair_two_wrong_indices_of_a_linear_generator():
    # For a linear generator the linearised fit is exact, so the best-ranked two-element
    # swap is the true support and its refit is the truth; one-element swaps cannot fit.
    rng = np.random.default_rng(35)
    n = 30
    G = ReLUGenerator([np.eye(n)])
    A = gaussian_matrix(20, n, rng)
    x = np.zeros(n)
    x[[3, 8, 17, 25]] = [1.5, -2.0, 1.0, 0.7]
    z = np.zeros(n)
    z[[3, 8, 11, 29]] = 1.0  # two wrong indices
    row = Row.at(z, "z0")
    fit_sq = 1e-20 * np.sum((A @ x) ** 2)
    # No one-element swap screened (screen=0): the round's only moves are the pairs.
    stages.swap(ctx_for(G, A, A @ x, fit_sq=fit_sq), row, Swaps(1, 0, 1, False))
    np.testing.assert_allclose(row.z, x, atol=1e-9)


def test_run_rows_order_does_not_change_any_row():
    # Each row's stages are independent of the others: with fit_sq = 0 every row runs, and
    # every grouping gives every row the same residual and code.
    G, A, _, y = hard_problem()
    results = []
    for group in (0, 1, 2, 5):
        ctx = ctx_for(G, A, y, SPARSE.refit)
        rows = stages.seed_rows(ctx, 24)
        stages.run_rows(ctx, rows, 4, SPARSE._replace(group=group))
        results.append(np.array([[r.f, *r.z] for r in rows]))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_run_rows_stops_at_the_first_fitting_row_and_leaves_the_rest():
    G, A, _, y = hard_problem()
    fit_sq = (1e-10 * np.linalg.norm(y)) ** 2
    ctx = ctx_for(G, A, y, SPARSE.refit, fit_sq)
    rows = stages.seed_rows(ctx, 24)
    starts = [r.z.copy() for r in rows]
    stages.run_rows(ctx, rows, 4, SPARSE._replace(group=1))
    fitted = [i for i, r in enumerate(rows) if r.f <= fit_sq]
    assert fitted, "some seed fits y on this problem"
    first = fitted[0]
    for i in range(first + 1, len(rows)):
        np.testing.assert_array_equal(rows[i].z, starts[i])
        np.testing.assert_allclose(rows[i].f, np.sum((y - A @ G(starts[i])) ** 2), rtol=1e-9)
        assert rows[i].history == []


def test_beam_with_a_wide_width_visits_every_support_once():
    # k = 5, s = 2: from the 5 one-element supports, 4 expansions each reach every one of
    # the C(5, 2) = 10 pairs; a beam of width 10 keeps each exactly once, ranked by f.
    rng = np.random.default_rng(40)
    G = ReLUGenerator.random([5, 15, 30], rng)
    A = gaussian_matrix(8, 30, rng)
    y = A @ G(rng.standard_normal(5))
    ctx = ctx_for(G, A, y, SPARSE.refit)
    rows = stages.beam_rows(ctx, 2, Beam(10, 8))
    supports = {tuple(r.S) for r in rows}
    assert len(supports) == len(rows) == 10 and all(len(t) == 2 for t in supports)
    f = [r.history[0] for r in rows]
    assert f == sorted(f)
    np.testing.assert_allclose(f, [np.sum((y - A @ G(r.z)) ** 2) for r in rows], rtol=1e-9)
    # A narrower beam keeps the best of what it saw.
    narrow = stages.beam_rows(ctx, 2, Beam(3, 1))
    assert len(narrow) <= 3 and narrow[0].history[0] >= f[0] * (1 - 1e-9)


def test_beam_expand_beyond_the_free_coordinates_changes_nothing():
    rng = np.random.default_rng(41)
    G = ReLUGenerator.random([6, 18, 36], rng)
    A = gaussian_matrix(9, 36, rng)
    y = A @ G(rng.standard_normal(6))
    ctx = ctx_for(G, A, y, SPARSE.refit)
    five = stages.beam_rows(ctx, 3, Beam(20, 5))
    nine = stages.beam_rows(ctx, 3, Beam(20, 9))
    for a, b in zip(five, nine, strict=True):
        np.testing.assert_array_equal(a.z, b.z)
    assert {tuple(r.S) for r in five} == set(itertools.combinations(range(6), 3))


def test_support_search_finds_the_unique_fitting_support_of_a_linear_generator():
    # With m = s + 1 generic measurements exactly one s-sparse support fits y; an
    # independent brute force by least squares on every support finds it.
    rng = np.random.default_rng(37)
    k, s, m = 8, 3, 4
    W = rng.standard_normal((12, k))
    G = ReLUGenerator([W])
    A = gaussian_matrix(m, 12, rng)
    z_true = np.zeros(k)
    z_true[[1, 4, 6]] = [1.2, -0.7, 2.0]
    y = A @ W @ z_true
    residuals = {
        T: np.linalg.lstsq((A @ W)[:, T], y, rcond=None)[1][0]
        for T in itertools.combinations(range(k), s)
    }
    assert min(residuals, key=residuals.get) == (1, 4, 6)
    dense = Plan(REFIT, Swaps(20, 1, 0, True), 0)
    row = stages.support_search(ctx_for(G, A, y, fit_sq=1e-20 * np.sum(y**2)), s, dense)
    np.testing.assert_allclose(row.z, z_true, atol=1e-9)
    np.testing.assert_array_equal(row.S, [1, 4, 6])


def test_support_search_solves_the_true_support_as_the_oracle_does():
    from sdlss_theory import latent_recover

    rng = np.random.default_rng(38)
    G = ReLUGenerator.random([8, 16, 24], rng)
    A = gaussian_matrix(4, 24, rng)
    z_true = np.zeros(8)
    z_true[[0, 3, 5]] = [0.9, -1.1, 0.6]
    y = A @ G(z_true)
    oracle = latent_recover(G.restrict([0, 3, 5]), A, y, 3, seeds=6, rng=0)
    assert oracle.residual <= 1e-8 * np.linalg.norm(y)
    dense = Plan(REFIT, Swaps(20, 1, 0, True), 0)
    row = stages.support_search(
        ctx_for(G, A, y, fit_sq=(1e-10 * np.linalg.norm(y)) ** 2), 3, dense
    )
    np.testing.assert_allclose(row.z, z_true, atol=1e-7)


def test_polish_rows_keep_the_support_and_draw_from_the_stream():
    z = np.zeros(7)
    z[[2, 5]] = [3.0, -4.0]
    rows = stages.polish_rows(Row.at(z, "seed"), 3, np.random.default_rng(1))
    draws = 5.0 / np.sqrt(2) * np.random.default_rng(1).standard_normal((3, 2))
    for row, d in zip(rows, draws, strict=True):
        np.testing.assert_array_equal(row.S, [2, 5])
        np.testing.assert_allclose(row.z[[2, 5]], d)
        assert np.count_nonzero(row.z) == 2 and row.origin == "polish"


@pytest.mark.parametrize("depth", [2, 3])
def test_the_pipeline_recovers_with_m_equal_n(depth):
    rng = np.random.default_rng(34 + depth)
    G = ReLUGenerator.random([10, 30, 60][:depth] + [60], rng)
    A = gaussian_matrix(60, 60, rng)
    z_true = hard_threshold(rng.standard_normal(10), 3)
    y = A @ G(z_true)
    ctx = ctx_for(G, A, y, SPARSE.refit, (1e-10 * np.linalg.norm(y)) ** 2)
    rows = stages.seed_rows(ctx, 20)
    stages.run_rows(ctx, rows, 3, SPARSE)
    best = min(rows, key=lambda r: r.f)
    np.testing.assert_allclose(G(best.z), G(z_true), rtol=1e-6, atol=1e-9)
