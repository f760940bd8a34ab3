"""The recovery_contrast study: one meaning of success (exact recovery), failures split in two.

Properties only: a trial succeeds exactly when the relative error is within tol_success, and
every failure is of exactly one kind; the configurations vary s at the base and each of k, h, d
once at s = 2; the figure's pooled counts equal the stored trials'.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _figure_text import draw_and_check  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402

from figures import recovery_contrast as figure_module  # noqa: E402
from sdlss_theory.sweep import read_summary_csv  # noqa: E402
from simulations import recovery_contrast as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(trials=6, k=4, h=6, depth=1, n=20, s_values=(1, 2), k_values=(6,),
            h_values=(8,), depth_values=(2,), m_values=(1, 3))  # fmt: skip


def test_configurations():
    config = Config()
    configs = study_module.configurations(config)
    base = dict(k=config.k, h=config.h, depth=config.depth)
    assert [c["s"] for c in configs if all(c[f] == base[f] for f in base)] == list(
        config.s_values
    )
    for c in configs:
        assert sum(c[f] != base[f] for f in base) <= 1 and not c["bias"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("rc")
    out, report = run_into(STUDY, Config(**TINY), results)
    return results, report, ok_rows(out)


def test_failures_split_into_the_two_kinds(tiny_run):
    _, report, rows = tiny_run
    assert report.n_failed == 0 and rows
    for r in rows:
        kinds = r["ident_failure"] + r["opt_failure"]
        assert kinds == (0 if r["success"] else 1)
        assert r["success"] == (r["rel_error"] <= r["tol_success"])


def test_pooled_counts_report_and_figure(tiny_run):
    results, _, rows = tiny_run
    summary = read_summary_csv(results / STUDY.name / "summary.csv")
    for e in figure_module.pooled(summary):
        for i, m in enumerate(e["m"]):
            sel = [r for r in rows if all(r[c] == e[c] for c in figure_module.KEYS)
                   and r["m"] == m]  # fmt: skip
            assert e["trials"][i] == len(sel)
            assert e["success"][i] == sum(bool(r["success"]) for r in sel)
            assert e["ident_failure"][i] == pytest.approx(
                sum(r["ident_failure"] for r in sel)
            )
    table = next(iter(study_module.report(summary, {}).values()))
    assert len(table) == len(study_module.configurations(Config(**TINY)))
    assert all(np.isnan(r["lo"]) or r["lo"] <= r["m50"] <= r["hi"] for r in table)
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, results / STUDY.name)
    plt.close(fig)
    assert not overlaps, overlaps


def test_config_checks():
    with pytest.raises(ValueError, match="s_values"):
        Config(s_values=(30,))
    with pytest.raises(ValueError, match="fit_tol"):
        Config(fit_tol=0.0)
