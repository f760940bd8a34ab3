"""The srec_constants study: smoke run on a tiny grid, per-trial consistency, figure, presets.

The assertions are properties of the stored results, never numbers from a previous run:
minima are <= the medians they come with, the overall minima are the minima of their same- and
different-support parts, the ordering flag is the conjunction of its three links, the
adversarial pair is certified by the piecewise value of its own two pieces, the guarantee is
the closed form of `theory.srec_guarantee_gamma`, quantiles increase with their level, and
the smallest delta vanishes exactly when no random pair falls below the target gamma.
"""

from __future__ import annotations

import numpy as np
import pytest
from _study_helpers import draw_figure, ok_rows, run_into

from sdlss_theory.theory import srec_guarantee_gamma
from simulations import srec_constants as study_module

STUDY = study_module.STUDY
Config = study_module.Config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(
        trials=2,
        k=6,
        widths=(10, 16),
        n=24,
        m=(4, 8, 16),
        s=(1, 2),
        n_pairs=40,
        n_ks=60,
        n_pieces=10,
        restarts=3,
        max_iter=20,
    )
    out, report = run_into(STUDY, config, tmp_path_factory.mktemp("srec"))
    return config, out, report


def test_tiny_grid_runs_and_summarises(tiny_run):
    config, out, report = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    assert {(r["s"], r["m"]) for r in report.summary} == {
        (s, m) for s in config.s for m in config.m
    }
    for row in report.summary:
        assert row["n_ok"] == config.trials
        assert row["ordering_holds_lo"] <= row["ordering_holds_rate"] <= row["ordering_holds_hi"]
        for name in ("guarantee", "piecewise", "adversarial", "random_min", "random_median"):
            assert row[f"{name}_q05"] <= row[f"{name}_median"] <= row[f"{name}_q95"]
        assert row["random_min_median"] <= row["random_median_median"]
        assert row["adversarial_certified_mean"] == 1.0
    assert (out / "summary.csv").exists()


def test_per_trial_metrics_are_consistent(tiny_run):
    config, out, _ = tiny_run
    rows = ok_rows(out)
    assert len(rows) == config.trials * len(config.m) * len(config.s)
    for r in rows:
        assert r["random_min"] == min(r["random_min_same"], r["random_min_diff"])
        assert r["piecewise"] == min(r["piecewise_same"], r["piecewise_diff"])
        assert r["piecewise"] <= r["piecewise_median"]
        links = (
            r["guarantee_le_piecewise"],
            r["piecewise_le_adversarial"],
            r["adversarial_le_random"],
        )
        assert r["ordering_holds"] == all(links)
        tol = study_module.ORDER_TOL
        assert bool(links[1]) == (r["piecewise"] <= r["adversarial"] + tol)
        assert bool(links[2]) == (r["adversarial"] <= r["random_min"] + tol)
        assert r["adversarial_piece"] <= r["adversarial"] + tol
        expected = srec_guarantee_gamma(
            r["m"], r["k"], r["s"], tuple(r["widths"]), r["guarantee_prob"], bias=r["bias"]
        )
        assert r["guarantee"] == pytest.approx(float(expected), abs=1e-15)
        for kind in ("fresh", "fixed"):
            q = [r[f"q_{kind}_{study_module.level_name(p)}"] for p in study_module.QQ_LEVELS]
            assert np.all(np.diff(q) >= 0)
        assert 0.0 <= r["ks_fresh_pvalue"] <= 1.0
        assert (r["delta_random"] == 0.0) == (r["random_min"] >= r["delta_gamma"])
        assert (r["below_gamma_fraction"] > 0) == (r["random_min"] < r["delta_gamma"])
        # With m < 2s the span of two pieces can exceed m: then A has a kernel direction in it.
        if r["m"] < 2 * r["s"]:
            assert r["piecewise_diff"] == 0.0


def test_trial_draws_everything_from_rng():
    params = study_module.grid(
        Config(k=6, widths=(8,), n=12, m=(6,), s=(2,), n_pairs=10, n_ks=10, n_pieces=4)
    )[0]
    params.update(restarts=2, max_iter=5)
    a = study_module.trial(dict(params), np.random.default_rng(5))
    b = study_module.trial(dict(params), np.random.default_rng(5))
    assert a == b


def test_figure_from_stored_tiny_result(tiny_run, tmp_path):
    _, out, _ = tiny_run
    paths = draw_figure(STUDY.name, out.parent, tmp_path)
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    assert all(p.stat().st_size > 1000 for p in paths)


def test_config_checks():
    with pytest.raises(ValueError, match="every m"):
        Config(n=50, m=(10, 60))
    with pytest.raises(ValueError, match="every s"):
        Config(k=5, s=(5,))
    with pytest.raises(ValueError, match="n_pieces must be >= 2"):
        Config(n_pieces=1)
    with pytest.raises(ValueError, match="delta_gamma"):
        Config(delta_gamma=1.5)
    quick = Config.quick()
    assert len(STUDY.cells(quick)) == len(quick.m) * len(quick.s)


@pytest.mark.slow
def test_quick_preset(tmp_path):
    config = Config.quick()
    out, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0 and report.n_nonfinite == 0
    rows = ok_rows(out)
    # Fresh A per pair: i.i.d. draws from the exact law, so p < 0.01 about 1% of the time.
    rejections = sum(r["ks_fresh_reject"] for r in rows)
    assert rejections <= 5, rejections  # P(Bin(64, 0.01) > 5) < 1e-4
    # The typical ratio is about 1 (E ||A d||^2 = ||d||^2), and every adversarial pair is
    # certified by its own pieces.
    for row in report.summary:
        assert abs(row["random_median_median"] - 1.0) < 0.1
        assert row["adversarial_certified_mean"] == 1.0
    # The estimates grow with m (a taller A preserves distances better).
    for s in config.s:
        med = {r["m"]: r for r in report.summary if r["s"] == s}
        lo, hi = med[min(config.m)], med[max(config.m)]
        for name in ("piecewise", "adversarial", "random_min"):
            assert hi[f"{name}_median"] > lo[f"{name}_median"]
