"""The sample_complexity study (Link 1): networks, certified brackets, slope fits, figure.

Assertions are properties (every network of a family shares k and s; every certified trial has
lower <= upper and nested events; the exact piece count of one-layer networks equals the
arrangement's closed form; the slope fit agrees with scipy's linregress), never numbers copied
from a run.
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
from scipy import stats  # noqa: E402

from figures import sample_complexity as figure_module  # noqa: E402
from simulations import sample_complexity as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(
    trials=3,
    k=3,
    n=12,
    bias_free_nets=("3x1", "5x1", "3x2"),
    biased_nets=("4x1", "6x1", "5x2"),
    m_values=(4, 9, 16),
    n_pairs=20,
    restarts=2,
    max_iter=20,
)


def test_networks_vary_h_and_d_at_fixed_k():
    config = Config()
    nets = study_module.configurations(config)
    assert len(nets) >= 12  # issue 19: at least 12 networks where ln N varies at fixed k
    assert {c["k"] for c in nets} == {config.k}
    for c in nets:
        if c["family"] == "bias_free":
            assert c["s"] >= 2 and not c["bias"]
        else:
            assert c["s"] == config.biased_s and c["bias"]
        assert c["ms"] == study_module.m_axis(config.m_values, c["s"])
    for family in study_module.FAMILIES:  # both h and d vary inside each family
        sel = [c for c in nets if c["family"] == family]
        assert len({c["h"] for c in sel}) > 1 and len({c["depth"] for c in sel}) > 1
    cells = STUDY.cells(config)
    assert len(cells) == len({tuple(sorted(c.items())) for c in cells})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(**TINY)
    results = tmp_path_factory.mktemp("sc")
    out, report = run_into(STUDY, config, results)
    return config, results, report, ok_rows(out)


def test_trials_are_certified_nested_and_count_pieces_exactly(tiny_run):
    config, _, report, rows = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    assert rows and all(r["certified"] for r in rows)
    for r in rows:
        assert r["lower"] <= r["upper"] + 1e-12 <= r["random_min"] + 2e-12
        assert r["success"] == (r["certified"] and r["lower"] >= config.gamma0)
        assert r["upper_ge"] == (r["upper"] >= config.gamma0)
        assert int(r["success"]) <= r["upper_ge"]
        if r["depth"] == 1:  # one layer in general position: the arrangement's region count
            k, h, s = r["k"], r["h"], r["s"]
            per_support = (sum(math.comb(h, j) for j in range(s + 1)) if r["bias"]
                           else 2 * sum(math.comb(h - 1, j) for j in range(s)))  # fmt: skip
            assert r["n_pieces"] == math.comb(k, s) * per_support


def test_slope_fit_agrees_with_linregress():
    rng = np.random.default_rng(3)
    x = rng.uniform(3, 8, 12)
    y = 5.0 + 4.0 * x + rng.normal(0, 0.5, 12)
    fit = study_module.slope_fit(x, y)
    ref = stats.linregress(x, y)
    assert fit["b"] == pytest.approx(ref.slope) and fit["a"] == pytest.approx(ref.intercept)
    assert fit["r2"] == pytest.approx(ref.rvalue**2)
    half = stats.t.ppf(0.975, x.size - 2) * ref.stderr
    assert fit["b_hi"] - fit["b"] == pytest.approx(half)
    assert math.isnan(study_module.slope_fit([1, 2], [3, 4])["b"])


def test_brackets_report_and_figure_from_the_stored_tiny_result(tiny_run):
    config, results, _, rows = tiny_run
    from sdlss_theory.sweep import read_summary_csv

    summary = read_summary_csv(results / STUDY.name / "summary.csv")
    table = study_module.brackets(summary, config.gamma0)
    assert len(table) == len(study_module.configurations(config))
    for b in table:  # ln N is the mean over the network's trials of the stored log count
        logs = [r["log_pieces"] for r in rows
                if (r["family"], r["h"], r["depth"]) == (b["family"], b["h"], b["depth"])]
        assert b["ln_N"] == pytest.approx(np.mean(logs))
        if np.isfinite(b["m_L"]) and np.isfinite(b["m_U"]):
            assert b["m_U"] <= b["m_L"] + 1e-9  # nested events, trial by trial
    tables = study_module.report(summary, {"gamma0": config.gamma0})
    assert len(tables) == 2
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, results / STUDY.name)
    plt.close(fig)
    assert not overlaps, overlaps


def test_config_checks():
    with pytest.raises(ValueError, match="families"):
        Config(families=("nope",))
    with pytest.raises(ValueError, match="bias_free_s"):
        Config(bias_free_s=1)
    with pytest.raises(ValueError, match="HxD"):
        Config(biased_nets=("16-2",))
    with pytest.raises(ValueError, match="gamma0"):
        Config(gamma0=1.0)


@pytest.mark.slow
def test_quick_preset_runs(tmp_path):
    out, report = run_into(STUDY, Config.quick(), tmp_path, n_jobs=2)
    assert report.n_failed == 0
    assert all(r["lower"] <= r["upper"] + 1e-12 for r in ok_rows(out))
