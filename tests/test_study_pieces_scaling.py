"""The pieces_scaling study (Link 2): sweeps, exact counts, fits, figure.

Assertions are properties: one factor varies at a time; a one-layer network in general
position has exactly the region count of its hyperplane arrangement (Zaslavsky: affine with
biases, central without); the free-exponent fit recovers an exact power law; a predictor
that is the law is recovered by the report's own fit. No number is copied from a run.
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

from figures import pieces_scaling as figure_module  # noqa: E402
from sdlss_theory.sweep import read_summary_csv  # noqa: E402
from simulations import pieces_scaling as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(trials=2, base_s=2, base_depth=1, base_k=4, base_h=4, s_values=(1, 2),
            depth_values=(1, 2), k_values=(3, 4), h_values=(3, 5), max_pieces=5000)  # fmt: skip


def test_one_factor_at_a_time_with_and_without_biases():
    config = Config()
    configs = study_module.configurations(config)
    base = dict(s=config.base_s, depth=config.base_depth, k=config.base_k, h=config.base_h)
    for bias in config.bias:
        sel = [c for c in configs if c["bias"] == bias]
        assert sum(c["factor"] == "base" for c in sel) == 1
        for f in study_module.FACTORS:
            values = {c[f] for c in sel if c["factor"] in (f, "base")}
            assert values == set(getattr(config, f"{f}_values")) | {base[f]}
            assert len(values) >= 4  # issue 19: at least four values of each factor
        for c in sel:
            assert sum(c[f] != base[f] for f in study_module.FACTORS) <= 1


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("ps")
    out, report = run_into(STUDY, Config(**TINY), results)
    return results, report, ok_rows(out)


def test_one_layer_counts_equal_the_arrangement_formula(tiny_run):
    _, report, rows = tiny_run
    assert report.n_failed == 0 and rows
    assert all(r["success"] for r in rows)  # within the budget every count is exact
    for r in rows:
        assert r["log_lower"] == pytest.approx(r["log_pieces"]) == pytest.approx(r["log_upper"])
        if r["depth"] != 1:
            continue
        k, s, h = r["k"], r["s"], r["h"]
        per_support = (sum(math.comb(h, j) for j in range(s + 1)) if r["bias"]
                       else 2 * sum(math.comb(h - 1, j) for j in range(s)))  # fmt: skip
        assert r["pieces"] == math.comb(k, s) * per_support
        if r["bias"]:  # the per-layer Zaslavsky bound is attained in general position
            ln_zas = study_module.predictors(s, 1, k, h)["zaslavsky"]
            assert r["log_pieces"] == pytest.approx(ln_zas)


def test_loglog_fit_recovers_a_power_law():
    rows = []
    for s in (1, 2, 3):
        for depth in (1, 2, 4):
            for k in (4, 8, 16):
                rows.append({"s": s, "depth": depth, "k": k, "h": 12,
                             "log_pieces": 2.0 * s**0.9 * depth**0.3 * k**0.5})  # fmt: skip
    fit = study_module.loglog_fit(rows)
    assert fit["factors"] == ["s", "depth", "k"]
    for f, a in (("s", 0.9), ("depth", 0.3), ("k", 0.5)):
        assert fit[f][0] == pytest.approx(a, abs=1e-9)
        assert fit[f][1] <= fit[f][0] <= fit[f][2]


def test_implied_exponents_of_a_predictor_that_is_the_law(tiny_run):
    """If ln N were exactly a predictor's values, the report's free exponents equal the
    exponents it reports for that predictor (same fit, same configurations)."""
    results, _, _ = tiny_run
    summary = dict(read_summary_csv(results / STUDY.name / "summary.csv"))
    summary["log_pieces_mean"] = np.array([
        study_module.predictors(int(s), int(d), int(k), int(h))["zaslavsky"]
        for s, d, k, h in zip(summary["s"], summary["depth"], summary["k"], summary["h"],
                              strict=True)
    ])  # fmt: skip
    exps = list(study_module.report(summary, {}).values())[1]
    assert exps
    for e in exps:
        assert e["exponent"] == pytest.approx(e["if_zaslavsky"], abs=1e-9)
        assert e["lo"] <= e["if_zaslavsky"] <= e["hi"]


def test_report_and_figure_from_the_stored_tiny_result(tiny_run):
    results, _, rows = tiny_run
    summary = read_summary_csv(results / STUDY.name / "summary.csv")
    tables = study_module.report(summary, {})
    per_config = next(iter(tables.values()))
    assert len(per_config) == len(summary["s"])
    for r in per_config:
        logs = [t["log_pieces"] for t in rows if all(t[c] == r[c] for c in
                                                    ("bias", "s", "depth", "k", "h"))]  # fmt: skip
        assert r["ln_N"] == pytest.approx(np.mean(logs))
        assert r["ln_N"] <= r["zaslavsky"] + 1e-9  # an upper bound for every network
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, results / STUDY.name)
    plt.close(fig)
    assert not overlaps, overlaps


def test_config_checks():
    with pytest.raises(ValueError, match="s must be <= k"):
        Config(base_k=3, s_values=(4,))
    with pytest.raises(ValueError, match="supports"):
        Config(supports=1)
    with pytest.raises(ValueError, match="bias"):
        Config(bias=())
