"""In-task checkpoints: a sweep task that trains resumes after a kill with the same record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _checkpoint_study as ck
import numpy as np
import pytest

from sdlss_theory.sweep import ResultStore, StudyConfig, current_task_checkpoint, run_study
from sdlss_theory.sweep.checkpoints import CHECKPOINTS_DIR, task_context
from sdlss_theory.sweep.store import STORE_NAME

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve().parent / "_checkpoint_study.py"


def _metrics(out: Path) -> dict:
    with ResultStore(out / STORE_NAME, readonly=True) as store:
        return {(r.cell_key, r.trial): (r.status, r.metrics) for r in store.records()}


def _script(out: Path, steps: int, seconds: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(SCRIPT.parent)])}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), str(steps), seconds],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_train_prior_resumes_from_its_task_checkpoint(tmp_path):
    """A task that stopped after half the steps resumes to the unbroken run, bit for bit,
    and continues the task's random stream from the saved one."""
    from simulations._pml_common import train_prior

    x = ck.data()
    for params in ck.cells(40):
        straight, _ = train_prior(params, rng_a := np.random.default_rng(5), x, "sigmoid")
        folder = tmp_path / params["method"]
        with task_context(folder, 1e9):
            assert current_task_checkpoint().path("prior") == folder / "prior"
            half, _ = train_prior({**params, "steps": 20}, np.random.default_rng(5), x, "sigmoid")
            assert half.step == 20 and (folder / "prior.json").is_file()  # saved at the end
            # A fresh task generator: everything it needs comes from the checkpoint.
            resumed, _ = train_prior(params, rng_b := np.random.default_rng(5), x, "sigmoid")
        assert current_task_checkpoint() is None
        assert resumed.step == straight.step == 40
        for name, p in straight.params.items():
            assert np.array_equal(resumed.params[name], p), name
            assert np.array_equal(resumed.adam_v[name], straight.adam_v[name]), name
        assert rng_a.bit_generator.state == rng_b.bit_generator.state
        assert rng_a.random() == rng_b.random()


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path, caplog):
    from simulations._pml_common import train_prior

    x = ck.data()
    params = ck.cells(10)[0]
    with task_context(tmp_path, 1e9):
        train_prior({**params, "lr": 0.5}, np.random.default_rng(5), x, "sigmoid")
        with caplog.at_level("WARNING"):
            other, _ = train_prior(params, np.random.default_rng(5), x, "sigmoid")
    straight, _ = train_prior(params, np.random.default_rng(5), x, "sigmoid")
    assert "another configuration" in caplog.text
    assert np.array_equal(other.params["W0"], straight.params["W0"])


def test_sweep_removes_the_checkpoints_of_stored_tasks(tmp_path):
    seen = []

    def grid(config):
        return ck.cells(15)

    def trial(params, rng):
        task = current_task_checkpoint()
        seen.append(task)
        return ck.trial(params, rng)

    from sdlss_theory.sweep import Study

    study = Study("ckpt", StudyConfig, grid, trial, "test", success=None)
    run_study(study, StudyConfig(trials=1), tmp_path / "a", n_jobs=1, progress="none",
              checkpoint_seconds=1e-3)  # fmt: skip
    assert len(seen) == 2 and all(t is not None for t in seen)
    assert all(t.folder.parent == (tmp_path / "a" / CHECKPOINTS_DIR).resolve() for t in seen)
    assert not (tmp_path / "a" / CHECKPOINTS_DIR).exists()  # removed once stored
    seen.clear()
    run_study(study, StudyConfig(trials=1), tmp_path / "b", n_jobs=1, progress="none",
              checkpoint_seconds=None)  # fmt: skip
    assert seen == [None, None]
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")


@pytest.mark.slow
def test_kill_9_mid_training_then_rerun_gives_the_unbroken_store(tmp_path):
    steps = 800
    straight = _script(tmp_path / "straight", steps, "none")
    out, err = straight.communicate(timeout=600)
    assert straight.returncode == 0, err

    run = tmp_path / "killed"
    proc = _script(run, steps, "0.05")
    ckpt_json = None
    deadline = time.monotonic() + 600
    while ckpt_json is None and time.monotonic() < deadline:
        found = list((run / CHECKPOINTS_DIR).glob("*/prior.json"))
        if found and json.loads(found[0].read_text())["step"] > 0:
            ckpt_json = found[0]
        elif proc.poll() is not None:
            pytest.fail(f"the run ended before its first checkpoint: {proc.stderr.read()}")
        time.sleep(0.01)
    assert ckpt_json is not None, "no checkpoint appeared"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    saved = json.loads(ckpt_json.read_text())["step"]
    assert 0 < saved < steps  # killed mid-training
    key, trial = ckpt_json.parent.name.rsplit("-", 1)
    assert (key, int(trial)) not in _metrics(run)  # the task it killed is not stored

    rerun = _script(run, steps, "0.05")
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert "resuming the training saved at" in err
    assert not (run / CHECKPOINTS_DIR).exists()
    assert _metrics(run) == _metrics(tmp_path / "straight")
    assert len(_metrics(run)) == 2


def test_fresh_removes_the_checkpoints_of_the_store_it_sets_aside(tmp_path):
    from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig

    run_study(TOY_STUDY, ToyConfig(trials=1), tmp_path, progress="none")
    stale = tmp_path / CHECKPOINTS_DIR / "0123-0"
    stale.mkdir(parents=True)
    (stale / "prior.json").write_text("{}")
    run_study(TOY_STUDY, ToyConfig(trials=1), tmp_path, progress="none")  # a resume keeps it
    assert stale.is_dir()
    run_study(TOY_STUDY, ToyConfig(trials=1), tmp_path, progress="none", fresh=True)
    assert not (tmp_path / CHECKPOINTS_DIR).exists()
