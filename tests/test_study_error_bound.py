"""The error_bound study: smoke run on a tiny grid, per-trial consistency, helpers, figure.

Assertions are properties of the stored results and certificates, never numbers from a
previous run: the best approximation is no worse than z* (error ||e||) and z_hat (error err),
and no worse than a dense grid search over each 1-sparse ray; eps is >= 0; c_needed and the
success flags follow their definitions; the perturbation is orthogonal to the tangent space.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402

from figures import error_bound as figure_module  # noqa: E402
from sdlss_theory import ReLUGenerator, sparse_latents  # noqa: E402
from simulations import error_bound as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(
    trials=3,
    k=6,
    widths=(8, 12),
    n=16,
    s=2,
    m=(4, 12),
    e_level=(0.0, 0.1),
    noise=(0.0, 0.05),
    restarts=4,
    best_restarts=4,
    support_restarts=1,
    exhaustive_max=20,
    max_iter=100,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(**TINY)
    results = tmp_path_factory.mktemp("eb")
    out, report = run_into(STUDY, config, results)
    return config, results, report, ok_rows(out)


def test_tiny_grid_runs_and_summarises(tiny_run):
    config, _, report, rows = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    cells = {(r["m"], r["e_level"], r["noise"]) for r in report.summary}
    assert cells == {(m, e, w) for m in config.m for e in config.e_level for w in config.noise}
    assert len(rows) == config.trials * len(cells)
    for row in report.summary:
        assert row["n_ok"] == config.trials
        assert row["success_lo"] <= row["success_rate"] <= row["success_hi"]


def test_per_trial_quantities_follow_their_definitions(tiny_run):
    config, _, _, rows = tiny_run
    for r in rows:
        slack = config.slack_tol * r["x_norm"]
        assert r["best_method"] == "exhaustive+restarts"  # C(6, 2) = 15 <= 20
        # z_hat and z* are candidates of the best approximation.
        assert r["best_err"] <= r["err"] * (1 + 1e-12) + 1e-14
        assert r["best_err"] <= r["e_norm"] * (1 + 1e-9) + 1e-12
        assert math.isclose(r["e_norm"], r["e_level"] * _clean_norm(r), rel_tol=1e-9)
        assert r["eps"] >= 0
        assert r["zero_best"] == (r["best_err"] == 0.0)
        if r["e_level"] == 0.0:
            assert r["zero_best"]
        if r["zero_best"]:
            assert r["c_needed"] is None
            assert r["zero_bound_holds"] == (r["err"] <= 2 * r["eps"] + slack)
        else:
            expected = max(0.0, (r["err"] - 2 * r["eps"]) / r["best_err"])
            assert math.isclose(r["c_needed"], expected, rel_tol=1e-12, abs_tol=1e-15)
        bound = config.c_fixed * r["best_err"] + 2 * r["eps"] + slack
        assert r["success"] == (r["err"] <= bound)
        assert r["rel_success"] == (r["err"] <= r["best_err"] + config.tol_rel * r["x_norm"])


def _clean_norm(r) -> float:
    # ||G(z*)|| from ||x||^2 = ||G(z*)||^2 + ||e||^2 (e is orthogonal to G(z*)).
    return math.sqrt(max(r["x_norm"] ** 2 - r["e_norm"] ** 2, 0.0))


def test_perturbation_is_orthogonal_to_the_tangent_space():
    rng = np.random.default_rng(1)
    G = ReLUGenerator.random([8, 16, 24], rng, bias=True)
    z = sparse_latents(1, 8, 3, rng)[0]
    e = study_module.off_range_perturbation(G, z, 0.7, rng)
    S = np.flatnonzero(z)
    basis = np.column_stack([G.jacobian(z)[:, S], G(z)])
    assert math.isclose(np.linalg.norm(e), 0.7, rel_tol=1e-12)
    assert np.max(np.abs(basis.T @ e)) <= 1e-10 * np.linalg.norm(basis)
    assert not np.any(study_module.off_range_perturbation(G, z, 0.0, rng))


def test_best_approximation_beats_a_grid_search_over_one_sparse_rays():
    # For s = 1 the s-sparse range is k rays {G(t e_j)}: a fine grid over t is an independent
    # (upper) estimate of the minimum that the search must match up to the grid's resolution.
    rng = np.random.default_rng(2)
    G = ReLUGenerator.random([5, 12, 20], rng)
    x = rng.standard_normal(20)
    start = sparse_latents(1, 5, 1, rng)
    _, best, method = study_module.best_approximation(
        G, x, 1, start, rng, restarts=4, support_restarts=3, exhaustive_max=10, max_iter=500
    )
    assert method == "exhaustive+restarts"
    t = np.linspace(-20, 20, 8001)
    grid_best = min(
        np.min(np.linalg.norm(G(np.outer(t, np.eye(5)[j])) - x, axis=1)) for j in range(5)
    )
    assert best <= grid_best + 1e-6


def test_restricted_generator_matches_zero_padding():
    rng = np.random.default_rng(3)
    G = ReLUGenerator.random([7, 9, 11], rng, bias=True)
    S = np.array([1, 4, 6])
    u = rng.standard_normal(3)
    z = np.zeros(7)
    z[S] = u
    np.testing.assert_allclose(G.restrict(S)(u), G(z), rtol=1e-13, atol=1e-13)


def test_quantile_interval_brackets_the_estimate():
    values = np.arange(1.0, 201.0)
    est, lo, hi = figure_module.quantile_interval(values, 0.95)
    assert est == 190.0  # the smallest value exceeded by at most 5% of 200 values
    assert lo <= est <= hi
    assert all(math.isnan(v) for v in figure_module.quantile_interval(np.array([]), 0.9))


def test_exponential_decay_fit_recovers_the_rate_from_expected_counts():
    m = np.arange(5, 45, 5, dtype=float)
    a, b = 2.0, 0.15
    n = np.full(m.size, 10**7)
    k = np.round(n * a * np.exp(-b * m))
    fit = figure_module.fit_exponential_decay(m, k, n)
    assert fit["b_lo"] <= b <= fit["b_hi"]
    assert math.isclose(fit["b"], b, rel_tol=1e-3)
    assert math.isclose(fit["a"], a, rel_tol=1e-2)
    assert math.isnan(figure_module.fit_exponential_decay(m, np.zeros(m.size), n)["b"])


def test_figure_from_the_stored_tiny_result(tiny_run):
    _, results, _, _ = tiny_run
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_quick_preset_is_valid_and_small():
    config = Config.quick()
    assert len(STUDY.cells(config)) * config.trials <= 300
    with pytest.raises(ValueError, match="s must be"):
        Config(s=0)


@pytest.mark.slow
def test_quick_preset_runs(tmp_path):
    config = Config.quick()
    _, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0
    # the bound at C = c_fixed holds more often at the largest m than at the smallest
    rates = {}
    for row in report.summary:
        rates.setdefault(row["m"], []).append(row["success_rate"])
    assert np.mean(rates[max(config.m)]) >= np.mean(rates[min(config.m)])
