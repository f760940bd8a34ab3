"""`sdlss show`: the summary, transitions and provenance of a run, in four formats."""

import csv
import dataclasses
import io
import json
import re
import sys

import joblib
import numpy as np
import pytest

import simulations
from sdlss_theory.sweep import (
    Study,
    StudyConfig,
    fit_transition,
    format_report,
    read_summary_csv,
    run_study,
    study_report,
)
from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig
from sdlss_theory.sweep.provenance import git_revision, package_version
from simulations._cli import main

ARGV = ["run", "iht_success", "--quick", "--no-progress"]  # 20 trials per cell


@pytest.fixture
def iht_run(tmp_path, monkeypatch, capsys):
    """iht_success at its quick size (7 cells, 20 trials), run by the CLI in a fresh folder."""
    monkeypatch.chdir(tmp_path)
    assert main(ARGV) == 0
    capsys.readouterr()
    return tmp_path / "results" / "iht_success"


def _show(capsys, *args) -> str:
    assert main(["show", "iht_success", *args]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_json_agrees_with_summary_csv_and_an_independent_fit(iht_run, capsys):
    data = json.loads(_show(capsys, "--format", "json"))
    csv_cols = read_summary_csv(iht_run / "summary.csv")
    summary = data["summary"]
    # The study's declared columns come first.
    study = simulations.studies()["iht_success"]
    assert study.show == ("m", "success", "rel_error", "n_iter")
    assert summary["columns"][:6] == [
        "m",
        "success_rate",
        "success_lo",
        "success_hi",
        "rel_error_median",
        "n_iter_median",
    ]
    assert data["fixed"] == {"n": 100, "s": 5, "max_iter": 1000, "tol": 1e-10, "tol_success": 1e-4}
    for col in summary["columns"]:
        got = np.array([np.nan if r[col] is None else r[col] for r in summary["rows"]], float)
        np.testing.assert_array_equal(got, csv_cols[col])
    # The transition is the logistic fit of the stored counts along m.
    fit = fit_transition(csv_cols["m"], csv_cols["success_count"], csv_cols["n_ok"])
    (row,) = data["transitions"]["rows"]
    assert row["method"] == fit.method != "none"
    for key, value in (("m_50", fit.x50), ("m_50_lo", fit.lo), ("m_50_hi", fit.hi)):
        assert row[key] == pytest.approx(value, rel=1e-12)


def test_provenance_names_versions_revision_seed_command_threads_and_counts(iht_run, capsys):
    prov = json.loads(_show(capsys, "--format", "json"))["provenance"]
    assert prov["status"] == "finished"
    assert prov["tasks"] == "140 done (140 ok, 0 errors), 0 pending, of 140 (7 cells x 20 trials)"
    assert prov["seed"] == 0
    assert prov["command"] == "python -m simulations " + " ".join(ARGV)
    assert f"numpy {np.__version__}" in prov["packages"]
    assert prov["packages"].startswith(f"sdlss-theory {package_version()}")
    assert prov["git revision"] == (
        git_revision() or "none (an installed package, not a checkout)"
    )
    assert prov["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert prov["backend"] == "sequential, n_jobs 1"
    # One job: the tasks' BLAS gets every core (auto_threads), or one on a busy machine.
    threads = prov["threads"].split(" per worker; BLAS/OpenMP: ")[0]
    assert threads in {"1", str(joblib.cpu_count())}
    assert "numba: " in prov["threads"]
    for key in ("started", "ended"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", prov[key])
    assert prov["started"] <= prov["ended"]


def test_table_is_aligned_and_names_every_section(iht_run, capsys):
    text = _show(capsys)
    assert text.startswith("iht_success: classical IHT success rate")
    for title in ("Summary: 7 cells, 20 trials each", "Fitted 50% points along m", "Runs"):
        assert title in text
    assert "Provenance" in text and "git revision" in text
    block = text.split("Fixed in every cell:")[1].split("\n\n")[0].splitlines()[1:]
    assert block[0].split() == [
        "m",
        "success",
        "[CI]",
        "rel_error_median",
        "n_iter_median",
        "n_ok",
    ]
    assert len(block) == 2 + 7  # header, rule, one line per cell
    assert len({len(line) for line in block}) == 1  # right-aligned numbers: equal lengths
    rule = block[1]
    for line in block[2:]:  # every value sits under its header's rule
        for start, end in (m.span() for m in re.finditer(r"-+", rule)):
            assert line[start:end].strip(), (line, start, end)
    assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", block[2])


def test_csv_and_markdown(iht_run, capsys):
    rows = list(csv.DictReader(io.StringIO(_show(capsys, "--format", "csv"))))
    csv_cols = read_summary_csv(iht_run / "summary.csv")
    assert [float(r["success_rate"]) for r in rows] == list(csv_cols["success_rate"])
    trans = list(csv.DictReader(io.StringIO(_show(capsys, "--format", "csv", "--section",
                                                   "transitions"))))  # fmt: skip
    assert list(trans[0]) == ["m_50", "m_50_lo", "m_50_hi", "slope", "method"]
    prov = list(csv.reader(io.StringIO(_show(capsys, "--format", "csv", "--section",
                                             "provenance"))))  # fmt: skip
    assert prov[0] == ["key", "value"] and ["seed", "0"] in prov
    md = _show(capsys, "--format", "markdown")
    assert md.startswith("## iht_success: ")
    tables = [b for b in md.split("\n\n") if b.startswith("| ")]
    assert len(tables) == 4  # summary, transitions, runs, provenance
    for table in tables:
        lines = table.splitlines()
        assert re.fullmatch(r"\|(---:?\|)+", lines[1])
        assert len({line.count(" | ") for line in lines if line != lines[1]}) == 1


def test_columns_options(iht_run, capsys):
    data = json.loads(_show(capsys, "--format", "json", "--columns", "m,n_iter_q95,success"))
    assert data["summary"]["columns"] == [
        "m",
        "n_iter_q95",
        "success_rate",
        "success_lo",
        "success_hi",
    ]
    every = json.loads(_show(capsys, "--format", "json", "--all-columns"))["summary"]["columns"]
    assert set(every) == set(read_summary_csv(iht_run / "summary.csv"))
    assert every[:2] == ["m", "success_rate"]
    assert main(["show", "iht_success", "--columns", "m,bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--columns names 'bogus'" in err[0] and "success_rate" in err[0]
    assert main(["show", "iht_success", "--section", "bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no section 'bogus'" in err[0] and "transitions" in err[0]


def _table_hook(summary, config):
    return {"Doubled rates": [{"p": p, "twice": 2 * r}
                              for p, r in zip(summary["p"], summary["success_rate"],
                                              strict=True)]}  # fmt: skip


def _broken_hook(summary, config):
    raise RuntimeError("the hook is broken")


def test_undeclared_study_defaults_and_the_report_hook(tmp_path):
    run_study(TOY_STUDY, ToyConfig(trials=6), tmp_path, progress="none")
    report = study_report(TOY_STUDY, tmp_path)
    summary = report.table("summary")
    # Nothing declared: the varying axis, the success interval, the metrics' medians, n_ok.
    assert summary.columns == [
        "p",
        "success_rate",
        "success_lo",
        "success_hi",
        "u_median",
        "norm_median",
        "n_ok",
    ]
    assert report.fixed == {"size": 8, "sleep": 0.0, "fail_at": -1}
    assert [t.name for t in report.tables] == ["summary", "runs"]  # no transition declared
    study = dataclasses.replace(TOY_STUDY, show=("norm", "p"), report=_table_hook)
    report = study_report(study, tmp_path)
    assert report.table("summary").columns[:2] == ["norm_median", "p"]
    table = report.table("doubled_rates")
    rates = [r["success_rate"] for r in report.table("summary").rows]
    assert [r["twice"] for r in table.rows] == [2 * r for r in rates]
    assert "Doubled rates" in format_report(report)
    broken = study_report(dataclasses.replace(TOY_STUDY, report=_broken_hook), tmp_path)
    assert broken.warnings == ["study toy's report hook raised RuntimeError: the hook is broken"]
    assert format_report(broken).rstrip().endswith("the hook is broken")


def test_a_boolean_metric_stands_for_its_rate(tmp_path):
    run_study(TOY_STUDY, ToyConfig(trials=4), tmp_path, progress="none")
    study = dataclasses.replace(TOY_STUDY, success=None, metrics=("success",), show=("success",))
    report = study_report(study, tmp_path)
    assert report.table("summary").columns[0] == "success_mean"


def _summary_columns(study: Study, config: StudyConfig) -> set[str]:
    """The columns summary.csv will have, from the grid and the study's declarations."""
    cols = {k for cell in study.cells(config) for k in cell} | {"n_ok", "n_failed", "n_nonfinite"}
    if study.success:
        cols |= {f"{study.success}_{s}" for s in ("count", "rate", "lo", "hi")}
    metrics = study.metrics
    if metrics is None:  # every metric is summarised: run one trial to learn their names
        cell = study.cells(config)[0]
        metrics = [k for k in study.trial(cell, np.random.default_rng(0)) if k != study.success]
    for m in metrics:
        cols |= {f"{m}_{s}" for s in ("mean", "median", "q05", "q95")}
    return cols


@pytest.mark.parametrize("name", list(simulations.studies()))
def test_every_declared_show_column_exists(name):
    study = simulations.studies()[name]
    cols = _summary_columns(study, study.config.quick())
    params = {k for cell in study.cells(study.config.quick()) for k in cell}
    for entry in study.show:
        assert (
            entry in cols
            or entry == study.success
            or f"{entry}_median" in cols
            or f"{entry}_mean" in cols
        ), (name, entry)
    if study.transition is not None:
        assert study.transition in params and study.success is not None
