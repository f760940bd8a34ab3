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
        (["iht_success", "--n-jobs", "0"], "argument --n-jobs: the parallel jobs must be >= 1"),
        (["iht_success", "--n-jobs", "-2"], "argument --n-jobs: the parallel jobs must be >= 1"),
        (["iht_success", "--trials", "0"], "argument --trials: the trials per cell must be >= 1"),
        (["iht_success", "--trials", "-1"], "argument --trials: the trials per cell must be"),
        (["iht_success", "--trials", "x"], "argument --trials: expected an integer, got 'x'"),
        (["iht_success", "--seed", "-1"], "argument --seed: the root seed must be >= 0"),
        (["iht_success", "--scheduler-timeout", "0"], "argument --scheduler-timeout: the time"),
        (["iht_success", "--scheduler-timeout", "nan"], "argument --scheduler-timeout"),
        (["iht_success", "--min-workers", "0"], "argument --min-workers: the number of workers"),
        (["iht_success", "--min-workers", "2"], "--min-workers needs --scheduler"),
        (["iht_success", "--scheduler-timeout", "5"], "--scheduler-timeout needs --scheduler"),
        (["iht_success", "--backend", "sequential", "--n-jobs", "2"], "--backend sequential"),
        (["iht_success", "--scheduler", "x", "--scheduler-file", "y"], "not both"),
        (["iht_success", "--backend", "loky", "--scheduler-file", "f"], "--scheduler-file needs"),
        (["run"], "the following arguments are required: study"),
        (["show", "no_such_study"], "unknown study 'no_such_study'"),
        (["show", "iht_success"], "no results of iht_success in results/iht_success"),
        (["show", "iht_success", "--format", "xml"], "argument --format: invalid choice"),
        (["figures", "nope"], "no figure for 'nope'"),
        (["figures", "iht_success"], "no results for iht_success in results/iht_success"),
        (["iht_success", "--config", "missing.toml"], "config file not found"),
        (["iht_success", "--backend", "loky", "--scheduler", "x"], "--scheduler needs"),
        (["all", "--set", "m=1"], "'all' takes no --set"),
        (
            ["iht_success", "--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "1"],
            "cannot reach the dask scheduler at tcp://127.0.0.1:1",
        ),
        (
            ["iht_success", "--scheduler-file", "sched.json", "--scheduler-timeout", "0.3"],
            "the dask scheduler file sched.json did not appear within 0.3 s",
        ),
    ],
)
def test_errors_are_one_line_exit_2_and_write_nothing(in_tmp, capsys, argv, message):
    if argv[0] not in ("show", "figures", "run"):
        argv = [*argv, "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("python -m simulations") and ": error: " in lines[0]
    assert message in lines[0]
    assert captured.out == ""
    assert list(in_tmp.iterdir()) == []


def test_each_flag_has_its_own_message(in_tmp, capsys):
    """`--trials 0` names --trials, not --n-jobs (and the other way round)."""
    assert main(["run", "iht_success", "--trials", "0"]) == 2
    err = capsys.readouterr().err
    assert "--trials" in err and "--n-jobs" not in err and "cores" not in err
    assert main(["run", "iht_success", "--n-jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--n-jobs" in err and "--trials" not in err


def test_sdlss_is_the_same_command_under_its_own_name(in_tmp, capsys):
    from simulations._cli import sdlss

    assert sdlss(["list"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("classical_phase_transition")
    assert sdlss(["run", "iht_success", "--trials", "0"]) == 2
    assert capsys.readouterr().err.startswith("sdlss: error: argument --trials")
    with pytest.raises(SystemExit) as exit_:
        sdlss(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    # The help says where results and figures go: under the current folder.
    assert "./results/STUDY/" in text and "./figures/out/" in text
    for command in ("list", "run", "all", "figures", "show"):
        assert command in text
    with pytest.raises(SystemExit):
        sdlss(["run", "--help"])
    assert "default ./results/STUDY" in capsys.readouterr().out
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


def test_the_command_line_imports_no_private_name_of_another_module():
    """``sdlss`` (simulations/_cli*.py) imports public names only, and from another package
    only through public modules (figures' command line through ``figures``)."""
    import ast

    files = sorted((REPO / "simulations").glob("_cli*.py"))
    assert len(files) >= 4  # the dispatcher, the parser, run, the reading commands
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports {private} from {node.module}"
            parts = node.module.split(".")
            if parts[0] != "simulations":
                assert not any(p.startswith("_") for p in parts), (path.name, node.module)
        assert len(path.read_text().splitlines()) <= 600, path.name
