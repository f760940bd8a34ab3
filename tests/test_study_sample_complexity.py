"""The sample_complexity study: configurations, brackets, fits, recovery contrast, figure.

Assertions are properties (the blocks hold their configurations; every certified trial has
lower <= upper and the events are nested, so the fitted m_L >= m_U up to their intervals; the
transition fit recovers a known logistic curve; the line and exponent fits recover exact data;
failures of the recovery contrast split into the two kinds), never numbers copied from a run.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _figure_text import draw_and_check  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402
from scipy import special  # noqa: E402

from figures import sample_complexity as figure_module  # noqa: E402
from simulations import sample_complexity as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(
    trials=3,
    sweep_replicas=1,
    recovery_replicas=1,
    base_k=4,
    base_h=6,
    base_depth=1,
    n=20,
    k_values=(4, 8),
    h_values=(6,),
    depth_values=(1, 2),
    m_values=(4, 10, 18),
    biased_k=3,
    biased_h=4,
    biased_depth=1,
    biased_n=12,
    biased_k_values=(3,),
    biased_h_values=(4,),
    biased_depth_values=(1,),
    biased_m_values=(4, 10),
    grid_s=(1, 2),
    grid_k=3,
    grid_h=4,
    grid_n=12,
    grid_m_values=(5, 10),
    recovery_s=(1, 2),
    recovery_m_values=(1, 3),
    n_pairs=20,
    restarts=2,
    max_iter=20,
)


def test_configurations_hold_every_block():
    config = Config.quick()
    configs = study_module.configurations(config)
    blocks = {c["block"] for c in configs}
    assert blocks == set(study_module.BLOCKS)
    sweep = [c for c in configs if c["block"] == "sweep"]
    assert all(c["s"] == 1 and not c["bias"] for c in sweep)
    base = (config.base_k, config.base_h, config.base_depth)
    for c in sweep:  # one factor at a time
        assert sum(a != b for a, b in zip((c["k"], c["h"], c["depth"]), base, strict=True)) <= 1
    grid = {(c["s"], c["bias"]) for c in configs if c["block"] == "grid"}
    assert grid == {(s, b) for s in config.grid_s for b in config.grid_bias}
    cells = STUDY.cells(config)
    assert len(cells) == len({tuple(sorted(c.items())) for c in cells})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(**TINY)
    results = tmp_path_factory.mktemp("sc")
    out, report = run_into(STUDY, config, results)
    return config, results, report, ok_rows(out)


def test_trials_are_certified_and_the_events_nested(tiny_run):
    config, _, report, rows = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    srec = [r for r in rows if r["block"] != "recovery"]
    assert srec and all(r["certified"] for r in srec)
    for r in srec:
        assert r["lower"] <= r["upper"] + 1e-12 <= r["random_min"] + 2e-12
        assert r["success"] == (r["lower"] >= config.gamma0)
        assert r["upper_ge"] == (r["upper"] >= config.gamma0)
        assert int(r["success"]) <= r["upper_ge"]  # lower >= gamma0 implies upper >= gamma0
        if r["block"] == "sweep":  # s = 1 without biases: the closed form, exact
            assert r["exact"] and r["n_pieces"] == 2 * r["k"]


def test_recovery_failures_split_into_the_two_kinds(tiny_run):
    _, _, _, rows = tiny_run
    rec = [r for r in rows if r["block"] == "recovery"]
    assert rec
    for r in rec:
        kinds = r["identifiability_failure"] + r["optimisation_failure"]
        assert kinds == (0 if r["success"] else 1)
        assert r["success"] == (r["rel_error"] <= r["tol_success"])


def test_transition_recovers_a_known_logistic_curve():
    m = np.arange(4, 40, 4, dtype=float)
    a, b = -6.0, 0.3
    n = np.full(m.size, 10**6)
    k = np.round(n * special.expit(a + b * m))
    for q in (0.5, 0.9):
        fit = figure_module.transition(m, k, n, q)
        assert fit["method"] == "logistic"
        assert fit["x"] == pytest.approx((special.logit(q) - a) / b, rel=1e-3)
        assert fit["lo"] <= fit["x"] <= fit["hi"]
    sep = figure_module.transition([1, 2, 3, 4], [0, 0, 5, 5], [5, 5, 5, 5])
    assert sep["method"] == "separated" and sep["x"] == 2.5
    assert figure_module.transition([1, 2], [0, 0], [5, 5])["method"] == "none"


def test_line_and_exponent_fits_recover_exact_data():
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    fit = figure_module.line_fit(x, 3.0 + 0.5 * x)
    assert math.isclose(fit["a"], 3.0) and math.isclose(fit["b"], 0.5)
    assert math.isclose(fit["r2"], 1.0) and fit["b_lo"] <= 0.5 <= fit["b_hi"]
    entries = []
    for k in (5, 10, 20, 40):
        for d in (1, 2, 3):
            entries.append({"s": 1, "depth": d, "k": k, "h": 8,
                            "L50": {"x": 7.0 * k**0.4 * d**0.1}})  # fmt: skip
    exps = figure_module.exponent_fit(entries, "L50")
    assert exps["factors"] == ["depth", "k"]
    assert exps["k"][0] == pytest.approx(0.4, abs=1e-9)
    assert exps["depth"][0] == pytest.approx(0.1, abs=1e-9)


def test_analysis_and_figure_from_the_stored_tiny_result(tiny_run):
    config, results, _, rows = tiny_run
    result = figure_module.analyse(rows, {"gamma0": config.gamma0})
    for e in result["entries"]:
        if e["block"] == "recovery":
            continue
        assert np.all(e["lower_count"] <= e["upper_count"])  # nested events, trial by trial
        if e["block"] == "sweep":
            np.testing.assert_array_equal(e["lower_count"], e["upper_count"])
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, results / STUDY.name)
    plt.close(fig)
    assert not overlaps, overlaps


def test_config_checks():
    with pytest.raises(ValueError, match="blocks"):
        Config(blocks=("nope",))
    with pytest.raises(ValueError, match="grid_s"):
        Config(grid_k=2, grid_s=(3,))
    with pytest.raises(ValueError, match="gamma0"):
        Config(gamma0=1.0)


@pytest.mark.slow
def test_quick_preset_runs(tmp_path):
    config = Config.quick()
    out, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0
    rows = ok_rows(out)
    srec = [r for r in rows if r["block"] != "recovery"]
    assert all(r["lower"] <= r["upper"] + 1e-12 for r in srec)
