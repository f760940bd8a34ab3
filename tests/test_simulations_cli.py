"""The `python -m simulations` runner: studies, errors (one line, exit 2, nothing written)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import simulations
from figures import figure_modules
from sdlss_theory.sweep import STORE_NAME, ResultStore, read_summary_csv
from simulations._cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_study_is_registered_and_listed(capsys):
    known = simulations.studies()
    assert "iht_success" in known
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(known)
    for line, (name, study) in zip(lines, known.items(), strict=True):
        assert line.startswith(name) and study.description in line
    for study in known.values():  # every quick preset builds a grid
        assert study.cells(study.config.quick())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no_such_study"], "unknown study 'no_such_study'; known studies: "),
        (["iht_success", "--set", "bogus=1"], "unknown key 'bogus' in --set; valid keys: trials"),
        (["iht_success", "--set", "s=abc"], "bad value for 's': 'abc' is not an integer"),
        (["iht_success", "--set", "m=20,x"], "bad value for 'm'"),
        (["iht_success", "--set", "s=500"], "s must be in [1, n=200]"),
        (["iht_success", "--set", "s"], "--set expects key=value"),
        (["iht_success", "--n-jobs", "0"], "--n-jobs"),
        (["iht_success", "--config", "missing.toml"], "config file not found"),
        (["iht_success", "--backend", "loky", "--scheduler", "x"], "--scheduler needs"),
        (["all", "--set", "m=1"], "'all' takes no --set"),
        (
            ["iht_success", "--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "1"],
            "cannot reach the dask scheduler at tcp://127.0.0.1:1",
        ),
    ],
)
def test_errors_are_one_line_exit_2_and_write_nothing(in_tmp, capsys, argv, message):
    assert main([*argv, "--no-progress"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m simulations: error: ")
    assert message in lines[0]
    assert captured.out == ""
    assert list(in_tmp.iterdir()) == []


def test_run_resume_and_refuse_a_changed_config(in_tmp, capsys):
    argv = ["iht_success", "--quick", "--trials", "2", "--no-progress", "--trials-csv"]
    assert main(argv) == 0
    out = in_tmp / "results" / "iht_success"
    assert {p.name for p in out.iterdir()} >= {
        STORE_NAME,
        "summary.csv",
        "trials.csv",
        "config.toml",
        "config.json",
    }
    summary = read_summary_csv(out / "summary.csv")
    assert list(summary)[:3] == ["n", "s", "m"]
    assert {"success_rate", "success_lo", "success_hi", "rel_error_median"} <= set(summary)
    assert "(0 resumed, 14 run, 0 failed" in capsys.readouterr().err

    assert main(argv) == 0
    assert "(14 resumed, 0 run" in capsys.readouterr().err

    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main([*argv, "--set", "s=4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different configuration (changed: s)" in err[0]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before

    # The saved config.toml re-runs the same study (it resumes).
    assert main(["iht_success", "--config", str(out / "config.toml"), "--no-progress"]) == 0
    assert "(14 resumed, 0 run" in capsys.readouterr().err

    assert main([*argv, "--set", "s=4", "--fresh"]) == 0
    assert len(list(out.glob("store*.sqlite"))) == 2  # the new store and the old one
    with ResultStore(out / STORE_NAME, readonly=True) as store:
        assert {r.params["s"] for r in store.records()} == {4}


def test_all_runs_the_studies_then_the_figures(in_tmp, monkeypatch, capsys):
    """The `all` code path, restricted to the example study to stay fast."""
    import figures

    only = {"iht_success": simulations.studies()["iht_success"]}
    monkeypatch.setattr(simulations, "studies", lambda: only)
    fig_only = {"iht_success": figure_modules()["iht_success"]}
    monkeypatch.setattr(figures, "figure_modules", lambda: fig_only)
    argv = ["all", "--quick", "--trials", "2", "--no-progress", "--figures-out", "figs"]
    assert main(argv) == 0
    assert (in_tmp / "results" / "iht_success" / "summary.csv").exists()
    assert (in_tmp / "figs" / "iht_success.pdf").exists()
    assert (in_tmp / "figs" / "iht_success.png").exists()


@pytest.mark.slow
def test_all_quick_runs_every_study_then_every_figure(tmp_path):
    """The README's main-job command, in a subprocess, with 2 trials per cell."""
    results, figs = tmp_path / "results", tmp_path / "figs"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulations",
            "all",
            "--quick",
            "--trials",
            "2",
            "--no-progress",
            "--out",
            str(results),
            "--figures-out",
            str(figs),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for name in simulations.studies():
        assert (results / name / "summary.csv").exists()
    for name in figure_modules():
        assert (figs / f"{name}.pdf").exists() and (figs / f"{name}.png").exists()
