"""The sample_complexity study: configurations, coupled m axis, smoke run, fits and figure.

Assertions are properties (the grid holds the base and every one-factor sweep; each m axis is
the scaled predictor clipped to [1, n]; stored metrics agree with the success rule; the
collapse fit recovers an exact line; m* lies inside its axis when flagged so), never numbers
copied from a run.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402

from figures import sample_complexity as figure_module  # noqa: E402
from sdlss_theory.sweep import read_summary_csv  # noqa: E402
from sdlss_theory.theory import sdlss_measurements  # noqa: E402
from simulations import sample_complexity as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(
    trials=3,
    base_s=1,
    base_depth=1,
    base_k=6,
    base_h=10,
    n=16,
    s_values=(1, 2),
    depth_values=(1, 2),
    k_values=(6, 8),
    h_values=(10,),
    m_factors=(0.3, 0.6, 1.0, 2.0),
    restarts=3,
    max_iter=60,
)


def test_configurations_are_the_base_and_one_factor_sweeps():
    config = Config.quick()
    configs = study_module.configurations(config)
    base = (config.base_s, config.base_depth, config.base_k, config.base_h)
    assert configs[0] == base and len(set(configs)) == len(configs)
    for c in configs:
        assert sum(a != b for a, b in zip(c, base, strict=True)) <= 1
    for axis, values in enumerate(
        (config.s_values, config.depth_values, config.k_values, config.h_values)
    ):
        for v in values:
            assert tuple(v if i == axis else base[i] for i in range(4)) in configs


def test_m_axis_scales_with_the_predictor_and_stays_in_range():
    config = Config.quick()
    for c in study_module.configurations(config):
        ms = study_module.m_axis(config, *c)
        ref = sdlss_measurements(*c, c=config.c_ref)
        assert ms == sorted(set(ms)) and 1 <= ms[0] and ms[-1] <= config.n
        expected = {min(config.n, max(1, round(f * ref))) for f in config.m_factors}
        assert set(ms) == expected


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(**TINY)
    results = tmp_path_factory.mktemp("sc")
    _, report = run_into(STUDY, config, results)
    return config, results, report


def test_tiny_grid_runs_and_metrics_follow_the_success_rule(tiny_run):
    config, results, report = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    assert len(report.summary) == len(STUDY.cells(config))
    rows = ok_rows(results / STUDY.name)
    assert len(rows) == config.trials * len(report.summary)
    for r in rows:
        assert r["success"] == (r["rel_error"] <= config.tol_success)
        assert r["rel_residual"] >= 0 and r["n_iter"] >= 1
        assert r["solver"] == "niht"


def test_transitions_are_flagged_inside_their_axis(tiny_run):
    _, results, _ = tiny_run
    summary = read_summary_csv(results / STUDY.name / "summary.csv")
    fits = figure_module.transitions(summary)
    assert len(fits) == len({tuple(f[c] for c in figure_module.KEYS) for f in fits})
    for f in fits:
        sel = np.all([summary[c] == f[c] for c in figure_module.KEYS], axis=0)
        inside = np.isfinite(f["m50"]) and summary["m"][sel].min() <= f["m50"]
        assert f["in_range"] == bool(inside and f["m50"] <= summary["m"][sel].max())
        assert 0.0 <= f["top_rate"] <= 1.0


def test_line_fit_recovers_an_exact_line_and_r2():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    fit = figure_module.line_fit(x, 3.0 + 0.5 * x)
    assert math.isclose(fit["a"], 3.0) and math.isclose(fit["b"], 0.5)
    assert math.isclose(fit["r2"], 1.0)
    noisy = figure_module.line_fit(x, np.array([1.0, 3.0, 2.0, np.nan]))
    assert noisy["n"] == 3 and noisy["r2"] <= 1.0


def test_figure_from_the_stored_tiny_result(tiny_run):
    _, results, _ = tiny_run
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 0 for p in paths)


def test_config_checks():
    with pytest.raises(ValueError, match="every s"):
        Config(base_k=4, s_values=(1, 5))
    with pytest.raises(ValueError, match="m_factor"):
        Config(m_factors=(0.0, 1.0))


@pytest.mark.slow
def test_quick_preset_runs(tmp_path):
    config = Config.quick()
    _, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0
    summary = read_summary_csv(tmp_path / STUDY.name / "summary.csv")
    fits = figure_module.transitions(summary)
    # the base configuration's transition is bracketed by its m axis
    assert fits[0]["in_range"]
