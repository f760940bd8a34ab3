"""The srec_constants study: smoke run on a tiny grid, per-trial consistency, figure, presets.

The assertions are properties of the stored results, never numbers from a previous run: the
proven chain lower <= upper <= random minimum holds in every trial, lower and upper agree
when a trial is exact, the guarantee is the closed form of `theory.srec_guarantee_gamma`,
quantiles increase with their level, and no two texts of the figure overlap.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _figure_text import draw_and_check  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402

from figures import srec_constants as figure_module  # noqa: E402
from sdlss_theory.theory import srec_guarantee_gamma  # noqa: E402
from simulations import srec_constants as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(
        trials=2,
        k=4,
        widths=(5, 8),
        n=16,
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


def test_tiny_grid_runs_and_the_proven_chain_holds(tiny_run):
    config, out, report = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    assert {(r["s"], r["m"]) for r in report.summary} == {
        (s, m) for s in config.s for m in config.m
    }
    for row in report.summary:
        assert row["n_ok"] == config.trials
        assert row["ordering_holds_rate"] == 1.0
    rows = ok_rows(out)
    assert len(rows) == config.trials * len(config.m) * len(config.s)
    for r in rows:
        assert r["certified"]
        assert r["lower"] <= r["upper"] + 1e-9 <= r["random_min"] + 2e-9
        if r["exact"]:
            assert r["upper"] - r["lower"] <= 1e-6 * r["upper"]
        expected = srec_guarantee_gamma(
            r["m"], r["k"], r["s"], tuple(r["widths"]), r["guarantee_prob"], bias=r["bias"]
        )
        assert r["guarantee"] == pytest.approx(float(expected), abs=1e-15)
        # the exact count is at most the bound of linear_piece_count_log
        assert r["guarantee_exact_count"] >= r["guarantee"]
        assert r["relaxation_above"] == (r["sampled_relaxation"] > r["upper"] + 1e-9)
        for kind in ("fresh", "fixed"):
            q = [r[f"q_{kind}_{study_module.level_name(p)}"] for p in study_module.QQ_LEVELS]
            assert np.all(np.diff(q) >= 0)
        assert 0.0 <= r["ks_fresh_pvalue"] <= 1.0


def test_trial_draws_everything_from_rng():
    params = study_module.grid(
        Config(k=4, widths=(6,), n=12, m=(6,), s=(2,), n_pairs=10, n_ks=10, n_pieces=4)
    )[0]
    params.update(restarts=2, max_iter=5)
    a = study_module.trial(dict(params), np.random.default_rng(5))
    b = study_module.trial(dict(params), np.random.default_rng(5))
    assert a == b


def test_figure_from_stored_tiny_result(tiny_run, tmp_path):
    _, out, _ = tiny_run
    paths = draw_figure(STUDY.name, out.parent, tmp_path)
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, out)
    plt.close(fig)
    assert not overlaps, overlaps


def test_config_checks():
    with pytest.raises(ValueError, match="every m"):
        Config(n=50, m=(10, 60))
    with pytest.raises(ValueError, match="every s"):
        Config(k=5, s=(5,))
    with pytest.raises(ValueError, match="n_pieces must be >= 2"):
        Config(n_pieces=1)
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
    assert rejections <= 4, rejections  # P(Bin(60, 0.01) > 4) < 1e-3
    assert all(r["ordering_holds"] for r in rows)
