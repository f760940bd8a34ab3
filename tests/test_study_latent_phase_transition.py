"""The latent phase-transition study: smoke run, failure classification, figures, quick preset."""

from __future__ import annotations

import numpy as np
import pytest

from sdlss_theory import ReLUGenerator, sparse_latents
from sdlss_theory.sweep import ConfigError, apply_overrides, read_summary_csv, run_study
from simulations import latent_phase_transition as study_module

STUDY = study_module.STUDY
Config = study_module.Config


def _params(**overrides) -> dict:
    config = Config(
        k=6, hidden=(12, 24), n=30, depth=(1,), s=(2,), m=(30,), restarts=(2,), max_iter=400
    )
    params = study_module.grid(config)[0]
    params.update(overrides)
    return params


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(
        trials=2,
        k=6,
        hidden=(12, 24),
        n=30,
        depth=(2,),
        s=(1, 2, 3),
        m=(3, 10, 30),
        restarts=(2,),
        max_iter=60,
    )
    out = tmp_path_factory.mktemp("latent") / STUDY.name
    report = run_study(STUDY, config, out, n_jobs=1, progress="none")
    return config, out, report


def test_tiny_grid_runs_and_partitions_outcomes(tiny_run):
    config, out, report = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    rows = report.summary
    assert len(rows) == len(config.solvers) * len(config.s) * len(config.m)
    for row in rows:
        assert row["n_ok"] == config.trials
        assert row["success_lo"] <= row["success_rate"] <= row["success_hi"]
        # Every trial is exactly one of: success, identifiability failure, optimisation failure.
        total = row["success_rate"] + row["ident_failure_mean"] + row["opt_failure_mean"]
        assert total == pytest.approx(1.0)
    summary = read_summary_csv(out / "summary.csv")
    assert set(summary["solver"]) == set(config.solvers)


@pytest.mark.parametrize("solver", study_module.SOLVER_NAMES)
def test_trial_outcome_is_exactly_one_class(solver):
    metrics = study_module.trial(
        _params(solver=solver, depth=2, hidden=[12], m=8), np.random.default_rng(1)
    )
    flags = [metrics["success"], metrics["ident_failure"], metrics["opt_failure"]]
    assert sum(flags) == 1
    assert metrics["success"] == (metrics["rel_error"] <= 1e-3)


def test_oracle_recovers_a_linear_generator_with_square_a():
    # Depth 1: G(z) = W z, so the oracle solves a full-rank least-squares problem in s unknowns
    # (A W_S has full column rank when m = n): gradient descent converges to z*.
    for seed in range(3):
        metrics = study_module.trial(_params(solver="oracle"), np.random.default_rng(seed))
        assert metrics["success"], metrics
        assert metrics["support_match"]


def test_underdetermined_fit_is_an_identifiability_failure():
    # One measurement, three unknowns on the known support: gradient descent fits y exactly
    # with a code other than z*, which is the definition of an identifiability failure.
    metrics = study_module.trial(
        _params(solver="oracle", s=3, m=1, max_iter=2000), np.random.default_rng(5)
    )
    assert metrics["ident_failure"] and not metrics["opt_failure"], metrics
    assert metrics["rel_residual"] <= 1e-6


def test_restrict_to_support_matches_the_full_generator():
    rng = np.random.default_rng(2)
    G = ReLUGenerator.random([8, 16, 32, 40], rng)
    z = sparse_latents(1, 8, 3, rng)[0]
    S = np.flatnonzero(z)
    G_S = G.restrict(S)
    np.testing.assert_allclose(G_S(z[S]), G(z), rtol=1e-13, atol=1e-14)


def test_figure_heat_map_mode_from_stored_tiny_result(tiny_run, tmp_path):
    from figures import latent_phase_transition as figure_module
    from figures._cli import make_figure

    _, out, _ = tiny_run
    paths = make_figure(STUDY.name, figure_module, out.parent, tmp_path)
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 1000 for p in paths)


def test_figure_curve_mode_with_two_sparsities(tiny_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from figures import latent_phase_transition as figure_module

    _, out, _ = tiny_run
    summary = read_summary_csv(out / "summary.csv")
    keep = summary["s"] <= 2
    fig = figure_module.plot({k: v[keep] for k, v in summary.items()}, {})
    try:
        # Two s panels on top, two failure panels below, and the m_50 column.
        assert len(fig.axes) == 5
    finally:
        plt.close(fig)


def test_config_checks():
    with pytest.raises(ValueError, match="depth"):
        Config(hidden=(60,), depth=(3,))
    with pytest.raises(ValueError, match="every s"):
        Config(k=5, s=(6,))
    with pytest.raises(ConfigError, match="solvers"):
        apply_overrides(Config.quick(), {"solvers": "latent_iht,omp"})
    quick = Config.quick()
    assert quick.k == 10 and quick.hidden == (30, 60) and quick.n == 80


@pytest.mark.slow
def test_quick_preset(tmp_path):
    from figures import latent_phase_transition as figure_module
    from figures._cli import make_figure

    config = Config.quick()
    out = tmp_path / STUDY.name
    report = run_study(STUDY, config, out, n_jobs=2, progress="none")
    assert report.n_failed == 0
    rows = report.summary
    m_max = max(config.m)
    for row in rows:
        total = row["success_rate"] + row["ident_failure_mean"] + row["opt_failure_mean"]
        assert total == pytest.approx(1.0)
        if row["m"] == m_max:
            # m = 48 measurements of codes with k = 10: no other code fits y exactly.
            assert row["ident_failure_mean"] == 0.0, row

    # Knowing the support helps: the oracle succeeds at least as often as latent IHT, summed
    # over m, in every (depth, restarts, s) slice.
    def total_successes(solver, depth, restarts, s):
        return sum(
            r["success_count"]
            for r in rows
            if (r["solver"], r["depth"], r["restarts"], r["s"]) == (solver, depth, restarts, s)
        )

    for depth in config.depth:
        for restarts in config.restarts:
            for s in config.s:
                assert total_successes("oracle", depth, restarts, s) >= total_successes(
                    "latent_iht", depth, restarts, s
                )
    paths = make_figure(STUDY.name, figure_module, tmp_path, tmp_path / "figs")
    assert all(p.exists() for p in paths)
