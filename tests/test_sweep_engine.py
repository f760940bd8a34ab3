"""The sweep engine: determinism across n_jobs and backends, resume, crash safety, errors."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sdlss_theory.sweep import (
    STORE_NAME,
    ConfigMismatchError,
    ResultStore,
    TrialFailedError,
    dask_client,
    read_summary_csv,
    run_study,
    task_rng,
)
from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig, toy_trial

REPO = Path(__file__).resolve().parents[1]


def _stored(out):
    """(cell, trial) -> (status, metrics without the worker pid, seed), from the store."""
    with ResultStore(Path(out) / STORE_NAME, readonly=True) as store:
        return {
            (r.cell_key, r.trial): (
                r.status,
                {k: v for k, v in (r.metrics or {}).items() if k != "pid"},
                r.seed,
            )
            for r in store.records()
        }


def _run(out, config=None, **kwargs):
    kwargs.setdefault("progress", "none")
    return run_study(TOY_STUDY, config or ToyConfig(), out, **kwargs)


def test_results_do_not_depend_on_n_jobs(tmp_path):
    r1 = _run(tmp_path / "a", n_jobs=1)
    r2 = _run(tmp_path / "b", n_jobs=2, backend="loky")
    assert r1.n_run == r2.n_run == 60
    a, b = _stored(tmp_path / "a"), _stored(tmp_path / "b")
    assert a == b and len(a) == 60
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (
        tmp_path / "b" / "summary.csv"
    ).read_bytes()
    # Two worker processes really ran (the check has teeth).
    with ResultStore(tmp_path / "b" / STORE_NAME, readonly=True) as store:
        assert len({r.metrics["pid"] for r in store.records()}) == 2


@pytest.mark.parametrize(("n_jobs", "backend"), [(1, "sequential"), (2, "loky")])
def test_workers_run_single_threaded_blas(tmp_path, n_jobs, backend):
    from sdlss_theory.sweep import Study, StudyConfig
    from sdlss_theory.sweep.examples import threads_trial

    study = Study("threads", StudyConfig, lambda c: [{"a": 1}], threads_trial, "threads")
    report = run_study(
        study, StudyConfig(trials=4), tmp_path, n_jobs=n_jobs, backend=backend,
        progress="none", threads_per_worker=1,
    )  # fmt: skip
    assert report.summary[0]["max_threads_q95"] == 1


def test_tasks_get_the_cores_that_concurrent_tasks_leave(tmp_path, monkeypatch):
    """Default threads: floor(cores / min(n_jobs, tasks to run)), at least 1; 1 with dask."""
    import joblib

    from sdlss_theory.sweep import Study, StudyConfig, auto_threads
    from sdlss_theory.sweep import engine as engine_module
    from sdlss_theory.sweep.examples import threads_trial

    monkeypatch.setattr(engine_module, "cpu_count", lambda: 8)
    monkeypatch.setattr(engine_module, "_load_average", lambda: 0.5)
    assert auto_threads(1, "sequential", 100) == 8
    assert auto_threads(2, "loky", 100) == 4
    assert auto_threads(2, "loky", 1) == 8  # one task left: it gets every core
    assert auto_threads(3, "loky", 100) == 2
    assert auto_threads(16, "loky", 100) == 1
    assert auto_threads(4, "dask", 100) == 1
    assert auto_threads(None, None, 5) == 8  # no parallel_config: one job
    with joblib.parallel_config(backend="loky", n_jobs=4):
        assert auto_threads(None, None, 5) == 2
    monkeypatch.setattr(engine_module, "_load_average", lambda: 8.0)
    assert auto_threads(2, "loky", 100) == 1  # a busy machine: no BLAS threads to spare
    monkeypatch.undo()
    assert auto_threads(-1, "loky", 100) == 1  # -1: as many jobs as cores
    # A sweep of one task, run in this process: its BLAS gets every core, and the
    # provenance records the count.
    monkeypatch.setattr(engine_module, "_load_average", lambda: 0.0)
    cores = joblib.cpu_count()
    study = Study("threads", StudyConfig, lambda c: [{"a": 1}], threads_trial, "threads")
    report = run_study(study, StudyConfig(trials=1), tmp_path, n_jobs=1, progress="none")
    assert report.summary[0]["max_threads_q95"] == cores
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        assert store.runs()[-1]["provenance"]["threads_per_worker"] == cores


def test_task_rng_reproduces_a_stored_trial(tmp_path):
    _run(tmp_path, ToyConfig(trials=3))
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        rec = next(iter(store.records()))
    metrics = toy_trial(rec.params, task_rng(rec.seed["entropy"], rec.params, rec.trial))
    assert metrics["u"] == rec.metrics["u"] and metrics["norm"] == rec.metrics["norm"]
    seq = np.random.SeedSequence(**rec.seed)
    assert np.random.default_rng(seq).uniform() == task_rng(0, rec.params, rec.trial).uniform()


def test_resume_and_more_trials_do_not_recompute(tmp_path):
    first = _run(tmp_path, ToyConfig(trials=4))
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        stamps = {(r.cell_key, r.trial): r.finished_at + r.worker for r in store.records()}
    again = _run(tmp_path, ToyConfig(trials=4))
    assert (again.n_resumed, again.n_run) == (12, 0)
    more = _run(tmp_path, ToyConfig(trials=6))
    assert (more.n_resumed, more.n_run, more.n_tasks) == (12, 6, 18)
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        for r in store.records():
            if (r.cell_key, r.trial) in stamps:
                assert r.finished_at + r.worker == stamps[(r.cell_key, r.trial)]
    assert first.n_run == 12
    # Same tasks as a run made with 6 trials from the start.
    _run(tmp_path / "ref", ToyConfig(trials=6))
    assert _stored(tmp_path) == _stored(tmp_path / "ref")
    # Fewer trials: summarised on the first ones only.
    fewer = _run(tmp_path, ToyConfig(trials=2))
    assert fewer.n_run == 0 and all(row["n_ok"] == 2 for row in fewer.summary)


def test_changed_config_is_refused_and_fresh_keeps_the_old_store(tmp_path):
    _run(tmp_path, ToyConfig(trials=2))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigMismatchError, match=r"changed: size.*--fresh"):
        _run(tmp_path, ToyConfig(trials=2, size=9))
    with pytest.raises(ConfigMismatchError, match="changed: seed"):
        _run(tmp_path, ToyConfig(trials=2, seed=5))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    old = _stored(tmp_path)
    report = _run(tmp_path, ToyConfig(trials=2, size=9), fresh=True)
    assert report.n_run == 6
    kept = [p for p in tmp_path.glob("store.*.sqlite") if p.name != STORE_NAME]
    assert len(kept) == 1
    with ResultStore(kept[0], readonly=True) as store:
        assert len(list(store.records())) == len(old) == 6
        assert store.meta()["config_hash"] != ""


def test_two_runs_never_share_a_store(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    from sdlss_theory.sweep import StoreBusyError
    from sdlss_theory.sweep.engine import lock_holder

    assert lock_holder(tmp_path) is None
    with (tmp_path / ".lock").open("w") as fh:
        fh.write("pid 12345 on elsewhere, since 2026-01-01T00:00:00+00:00\n")
        fh.flush()
        fcntl.flock(fh, fcntl.LOCK_EX)
        assert lock_holder(tmp_path).startswith("pid 12345 on elsewhere")
        with pytest.raises(StoreBusyError, match=r"being written by another run \(pid 12345"):
            _run(tmp_path, ToyConfig(trials=1))
        assert not (tmp_path / STORE_NAME).exists()
    assert lock_holder(tmp_path) is None
    assert _run(tmp_path, ToyConfig(trials=1)).n_run == 3


def test_raising_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    report = _run(tmp_path, ToyConfig(trials=10, fail_at=0), n_jobs=2, backend="loky")
    assert report.n_tasks == report.n_run == 30
    assert 0 < report.n_failed < 30
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        errors = [r for r in store.records() if r.status == "error"]
    assert len(errors) == report.n_failed
    assert all("RuntimeError: toy trial failed on purpose" in r.traceback for r in errors)
    assert all(r.metrics is None for r in errors)
    summary = read_summary_csv(tmp_path / "summary.csv")
    assert summary["n_failed"].sum() == report.n_failed
    assert np.all(summary["n_ok"] + summary["n_failed"] == 10)
    # Errors count as done unless retried; a retry gives the same (deterministic) errors.
    assert _run(tmp_path, ToyConfig(trials=10, fail_at=0)).n_run == 0
    retried = _run(tmp_path, ToyConfig(trials=10, fail_at=0), retry_errors=True)
    assert retried.n_run == report.n_failed and retried.n_failed == report.n_failed


def test_fail_fast_stops_at_the_first_error(tmp_path):
    with pytest.raises(TrialFailedError, match="toy trial failed on purpose"):
        _run(tmp_path, ToyConfig(trials=50, fail_at=0), n_jobs=1, fail_fast=True)
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        counts = store.count()
    assert counts["error"] == 1 and sum(counts.values()) < 150


def test_nonfinite_metrics_are_flagged(tmp_path):
    from sdlss_theory.sweep import Study, StudyConfig

    study = Study("nan", StudyConfig, lambda c: [{"a": 1}], _nan_trial, "nan metrics")
    report = run_study(study, StudyConfig(trials=3), tmp_path, progress="none")
    assert report.n_nonfinite == 3 and report.n_failed == 0
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        assert all(r.nonfinite == ("value",) for r in store.records())


def _nan_trial(params, rng):
    return {"success": True, "value": float("nan")}


def test_dask_local_cluster_on_loopback_matches_loky(tmp_path):
    # Workers are threads of this process (fast to start), but tasks and results travel
    # through a real scheduler over TCP on 127.0.0.1, as on a cluster.
    _run(tmp_path / "loky", n_jobs=2, backend="loky")
    with dask_client(n_workers=2, processes=False) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        report = _run(tmp_path / "dask", n_jobs=-1, backend="dask")
    assert report.n_run == 60
    assert _stored(tmp_path / "dask") == _stored(tmp_path / "loky")


@pytest.mark.parametrize("processes", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_dask_workers_through_a_scheduler_file_match_loky(tmp_path, monkeypatch, processes):
    """The HPC set-up: a scheduler file names a cluster of single-threaded workers.

    `--scheduler-file` is read as dask-mpi and dask-jobqueue write it; the study's tasks run
    in the two workers and store the same metrics as loky, trial for trial. With
    ``processes=True`` (slow: the workers take seconds to start) the workers are processes
    other than this one, as on a cluster; without, threads of this one (the same code path).
    """
    from distributed import Client, LocalCluster

    from simulations._cli import main

    monkeypatch.chdir(tmp_path)
    argv = ["run", "iht_success", "--quick", "--trials", "3", "--no-progress"]
    assert main([*argv, "--n-jobs", "2", "--backend", "loky", "--out", "loky"]) == 0
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            host="127.0.0.1",
            protocol="tcp://",  # threads too talk to the scheduler over TCP, as on a cluster
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.write_scheduler_file(str(tmp_path / "scheduler.json"))
        pids = set(client.run(os.getpid).values())
        if processes:
            assert len(pids) == 2 and os.getpid() not in pids
        else:
            assert pids == {os.getpid()} and len(client.scheduler_info()["workers"]) == 2
        args = ["--scheduler-file", "scheduler.json", "--min-workers", "2", "--out", "dask"]
        assert main([*argv, *args]) == 0
    loky, dask = _stored(tmp_path / "loky"), _stored(tmp_path / "dask")
    assert len(loky) == 21 and loky == dask
    with ResultStore(tmp_path / "dask" / STORE_NAME, readonly=True) as store:
        workers = {int(r.worker.rsplit(":", 1)[1]) for r in store.records()}
        (run,) = store.runs()
    assert workers <= pids  # every task ran in a worker process
    assert run["provenance"]["backend"] == "dask"
    assert "--scheduler-file scheduler.json" in run["command"]


def test_dask_backend_without_client_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="dask_client"):
        _run(tmp_path, backend="dask")


_CRASH_SCRIPT = textwrap.dedent(
    """
    import sys
    from sdlss_theory.sweep import run_study
    from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig
    run_study(TOY_STUDY, ToyConfig(trials=20, sleep=0.02), sys.argv[1], n_jobs=1,
              progress="none")
    """
)


def _count(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


def test_sigkill_loses_nothing_and_resume_does_not_recompute(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", _CRASH_SCRIPT, str(out)], env=env)
    db = out / STORE_NAME
    deadline = time.monotonic() + 60
    while _count(db) < 10:
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with ResultStore(db, readonly=True) as store:
        before = {(r.cell_key, r.trial): r for r in store.records()}
    assert 10 <= len(before) < 60
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    report = _run(out, ToyConfig(trials=20, sleep=0.02))
    assert report.n_resumed == len(before) and report.n_run == 60 - len(before)
    with ResultStore(db, readonly=True) as store:
        after = {(r.cell_key, r.trial): r for r in store.records()}
    for key, rec in before.items():  # not recomputed: same worker, same time stamp
        assert after[key] == rec
    _run(tmp_path / "ref", ToyConfig(trials=20, sleep=0.02))
    assert _stored(out) == _stored(tmp_path / "ref")
