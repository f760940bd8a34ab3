"""The classical phase-transition study: smoke run, figure, and the engine's calibration.

Calibration: basis pursuit's empirical 50% point along m (logistic fit of the stored counts)
must sit on the l1 curve m = n psi(s/n) of Amelunxen, Lotz, McCoy & Tropp (2014) within
``CALIBRATION_TOL`` measurements. Why that tolerance (n = 100):

* The rigorous ALMT window (``l1_transition_interval``, +-a_eta sqrt(n) with a_eta ~ 5.9 at
  eta = 0.05) is about +-59 measurements at n = 100, wider than the whole m axis: it cannot
  serve as a test tolerance. The observed transition is far narrower: the logistic slope is
  about 0.35-0.5 per measurement, a 10%-90% width of about 9-13 measurements.
* Statistical error: with 20-24 trials per m at spacings of 2-5 measurements, the fitted
  50% point has a standard error of about 0.6-0.9 measurements (delta method, reported by
  the fit as its 95% interval).
* Finite-n offset: the exact statistical dimension lies in
  [n psi(s/n) - 2 sqrt(n/s), n psi(s/n)] (ALMT Prop. 4.5), so the empirical 50% point is
  expected at or slightly below the curve; the gap is under one measurement for these s.

Three measurements is therefore the offset plus about 2.5 standard errors, and a third of the
transition's width: a wrong curve (a missing factor in A's variance, rho = s/n mistaken for
s/m) moves the 50% point by far more. The test also requires the fit's 95% interval to be
narrower than +-2.5 measurements, so that it cannot pass by being vague.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _study_helpers import draw_figure, run_into

from sdlss_theory.sweep import ConfigError, apply_overrides, fit_transitions
from sdlss_theory.theory import l1_transition_m
from simulations import classical_phase_transition as study_module

STUDY = study_module.STUDY
Config = study_module.Config
CALIBRATION_TOL = 3.0
MAX_CI_HALF_WIDTH = 2.5


def _columns(rows: list[dict]) -> dict[str, np.ndarray]:
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(trials=3, n=30, m=(6, 12, 30), s=(2, 4, 8), max_iter=300)
    out, report = run_into(STUDY, config, tmp_path_factory.mktemp("classical"))
    return config, out, report


def test_tiny_grid_runs_and_summarises(tiny_run):
    config, out, report = tiny_run
    rows = report.summary
    expected = {
        (solver, s, m) for solver in config.solvers for s in config.s for m in config.m if s <= m
    }
    assert {(r["solver"], r["s"], r["m"]) for r in rows} == expected
    assert report.n_failed == 0 and report.n_nonfinite == 0
    for row in rows:
        assert row["n_ok"] == config.trials
        assert 0 <= row["success_count"] <= row["n_ok"]
        assert row["success_lo"] <= row["success_rate"] <= row["success_hi"]
        assert row["rel_error_q05"] <= row["rel_error_median"] <= row["rel_error_q95"]
    assert (out / "summary.csv").exists()


def test_basis_pursuit_is_exact_when_a_is_square(tiny_run):
    # m = n: A is invertible almost surely, so A x = y has the single solution x.
    _, _, report = tiny_run
    square = [r for r in report.summary if r["solver"] == "basis_pursuit" and r["m"] == 30]
    assert square and all(r["success_count"] == r["n_ok"] for r in square)


def test_trial_metrics_are_consistent():
    rng = np.random.default_rng(3)
    params = study_module.grid(Config(n=40, m=(40,), s=(3,), solvers=("niht",)))[0]
    metrics = study_module.trial(params, rng)
    assert metrics["success"] == (metrics["rel_error"] <= params["tol"])
    assert metrics["rel_residual"] >= 0.0


def test_figure_from_stored_tiny_result(tiny_run, tmp_path):
    _, out, _ = tiny_run
    paths = draw_figure(STUDY.name, out.parent, tmp_path)
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 1000 for p in paths)


def test_config_checks():
    with pytest.raises(ValueError, match="every m"):
        Config(n=50, m=(10, 60))
    with pytest.raises(ValueError, match="s <= m"):
        Config(n=50, m=(5,), s=(10,))
    with pytest.raises(ConfigError, match="solvers"):
        apply_overrides(Config.quick(), {"solvers": "basis_pursuit,omp"})
    assert apply_overrides(Config.quick(), {"solvers": "iht"}).solvers == ("iht",)


def _check_calibration(rows: list[dict], n: int) -> list[dict]:
    fits = fit_transitions(
        _columns([r for r in rows if r["solver"] == "basis_pursuit"]), x="m", by=("s",)
    )
    for fit in fits:
        s, x50 = fit["s"], fit["x50"]
        theory = float(l1_transition_m(s, n))
        assert fit["method"] == "logistic", fit
        half_width = 0.5 * (fit["x50_hi"] - fit["x50_lo"])
        assert half_width <= MAX_CI_HALF_WIDTH, fit
        assert math.isfinite(x50) and abs(x50 - theory) <= CALIBRATION_TOL, (s, x50, theory)
    return fits


def test_calibration_basis_pursuit_on_the_l1_curve_small(tmp_path):
    # Two s values, m in steps of 3 across both transitions (~20 and ~33 at n = 100).
    config = Config(
        trials=24, n=100, m=tuple(range(11, 45, 3)), s=(5, 10), solvers=("basis_pursuit",)
    )
    _, report = run_into(STUDY, config, tmp_path)
    fits = _check_calibration(report.summary, config.n)
    assert len(fits) == 2


@pytest.mark.slow
def test_quick_preset_calibration_and_ordering(tmp_path):
    config = Config.quick()
    assert config.n == 100
    _, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0
    _check_calibration(report.summary, config.n)
    # IHT and NIHT need at least as many measurements as basis pursuit (Maleki & Donoho 2010).
    fits = fit_transitions(_columns(report.summary), x="m", by=("solver", "s"))
    bp = {f["s"]: f["x50"] for f in fits if f["solver"] == "basis_pursuit"}
    for fit in fits:
        if fit["solver"] != "basis_pursuit" and math.isfinite(fit["x50"]):
            assert fit["x50"] >= bp[fit["s"]] - CALIBRATION_TOL, fit
    paths = draw_figure(STUDY.name, tmp_path, tmp_path / "figs")
    assert all(p.exists() for p in paths)
