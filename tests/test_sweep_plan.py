"""The run plan of the sweep engine, and cells with their own number of trials."""

import dataclasses
from pathlib import Path

import pytest

from sdlss_theory.sweep import (
    STORE_NAME,
    ResultStore,
    RunPlan,
    Study,
    StudyConfig,
    cell_key,
    read_summary_csv,
    run_plan,
    run_study,
    study_report,
    task_rng,
)
from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig, toy_grid, toy_trial


@dataclasses.dataclass(frozen=True)
class PerCellConfig(StudyConfig):
    trials: int = 3
    p: tuple[float, ...] = (0.2, 0.5, 0.8)
    extra: tuple[int, ...] = (1, 3, 0)  # trials added to `trials` per cell


def per_cell_grid(config: PerCellConfig) -> list[dict]:
    return [
        {"p": p, "size": 4, "sleep": 0.0, "fail_at": -1, "trials": config.trials + extra}
        for p, extra in zip(config.p, config.extra, strict=True)
    ]


PER_CELL = Study(
    name="per_cell",
    config=PerCellConfig,
    grid=per_cell_grid,
    trial=toy_trial,
    description="toy study whose cells have their own trial counts",
    metrics=("u", "norm"),
)


def _records(out):
    with ResultStore(Path(out) / STORE_NAME, readonly=True) as store:
        return {(r.cell_key, r.trial): r for r in store.records()}


def _no_pid(metrics):
    return {k: v for k, v in metrics.items() if k != "pid"}


def test_run_study_is_run_plan_of_the_same_plan(tmp_path):
    config = ToyConfig(trials=3)
    a = run_study(TOY_STUDY, config, tmp_path / "a", progress="none", threads_per_worker=1)
    plan = RunPlan(TOY_STUDY, config, str(tmp_path / "b"), progress="none",
                   threads_per_worker=1)  # fmt: skip
    assert plan.out_dir == tmp_path / "b" and plan.n_tasks == 9
    assert plan.keys == tuple(cell_key(c) for c in toy_grid(config))
    assert plan.trials == (3, 3, 3) and plan.command  # this process's command line
    b = run_plan(plan)
    assert (a.n_tasks, a.n_run, a.n_resumed) == (b.n_tasks, b.n_run, b.n_resumed) == (9, 9, 0)
    ra, rb = _records(tmp_path / "a"), _records(tmp_path / "b")
    assert ra.keys() == rb.keys()
    assert all(_no_pid(ra[k].metrics) == _no_pid(rb[k].metrics) for k in ra)
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (
        tmp_path / "b" / "summary.csv"
    ).read_bytes()


def test_the_plan_checks_its_options_once(tmp_path):
    with pytest.raises(TypeError, match="n_job.*the options are n_jobs, backend"):
        run_study(TOY_STUDY, ToyConfig(), tmp_path, n_job=2)
    with pytest.raises(ValueError, match="threads_per_worker"):
        RunPlan(TOY_STUDY, ToyConfig(), tmp_path, threads_per_worker=0)
    with pytest.raises(ValueError, match="checkpoint_seconds"):
        RunPlan(TOY_STUDY, ToyConfig(), tmp_path, checkpoint_seconds=-1.0)
    with pytest.raises(TypeError, match="ToyConfig"):
        RunPlan(TOY_STUDY, PerCellConfig(), tmp_path)
    plan = RunPlan(TOY_STUDY, ToyConfig(), tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.n_jobs = 2
    assert not (tmp_path / STORE_NAME).exists()  # nothing written by a plan


def test_cells_run_their_own_number_of_trials_with_the_documented_seeds(tmp_path):
    config = PerCellConfig()
    report = run_study(PER_CELL, config, tmp_path, progress="none", write_trials=True)
    counts = [config.trials + e for e in config.extra]  # 4, 6, 3
    assert report.n_tasks == report.n_run == sum(counts)
    records = _records(tmp_path)
    cells = PER_CELL.cells(config)
    assert all("trials" not in c for c in cells)
    for cell, n in zip(cells, counts, strict=True):
        key = cell_key(cell)  # the key ignores "trials"
        assert sorted(t for k, t in records if k == key) == list(range(n))
        for t in range(n):
            rec = records[(key, t)]
            assert rec.params == cell
            # seeds derived as for any cell: root seed, the cell's parameters, the trial
            again = toy_trial(dict(cell), task_rng(config.seed, cell, t))
            assert _no_pid(rec.metrics) == _no_pid(again)
    summary = read_summary_csv(tmp_path / "summary.csv")
    assert list(summary["n_ok"]) == counts
    assert "trials" not in summary
    assert len((tmp_path / "trials.csv").read_text().splitlines()) == 1 + sum(counts)


def test_per_cell_trials_do_not_depend_on_n_jobs(tmp_path):
    config = PerCellConfig()
    run_study(PER_CELL, config, tmp_path / "a", progress="none", n_jobs=1)
    run_study(PER_CELL, config, tmp_path / "b", progress="none", n_jobs=2, backend="loky",
              threads_per_worker=1)  # fmt: skip
    a, b = _records(tmp_path / "a"), _records(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(_no_pid(a[k].metrics) == _no_pid(b[k].metrics) for k in a)
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (
        tmp_path / "b" / "summary.csv"
    ).read_bytes()


def test_raising_a_cells_trials_resumes_and_report_counts_them(tmp_path):
    first = run_study(PER_CELL, PerCellConfig(), tmp_path, progress="none")
    before = _records(tmp_path)
    more = PerCellConfig(trials=4)  # every cell's count derives from `trials`: one more each
    report = run_study(PER_CELL, more, tmp_path, progress="none")
    assert (report.n_resumed, report.n_run) == (first.n_tasks, 3)
    after = _records(tmp_path)
    assert all(_no_pid(after[k].metrics) == _no_pid(before[k].metrics) for k in before)
    shown = study_report(PER_CELL, tmp_path)
    assert shown.trials == "4 to 7"  # 5, 7 and 4 trials
    assert shown.provenance["tasks"].startswith("16 done (16 ok, 0 errors), 0 pending, of 16")


@pytest.mark.parametrize("bad", [0, 2.5, True, "3"])
def test_a_bad_cell_trials_value_is_refused(bad):
    study = dataclasses.replace(PER_CELL, grid=lambda c: [{"p": 0.5, "trials": bad}])
    with pytest.raises(ValueError, match="'trials' must be an int >= 1"):
        study.cells(PerCellConfig())


def test_cells_that_differ_only_in_trials_are_duplicates():
    study = dataclasses.replace(PER_CELL, grid=lambda c: [{"p": 0.5, "trials": 2}, {"p": 0.5}])
    with pytest.raises(ValueError, match="duplicate cells"):
        study.cell_trials(PerCellConfig())


def paired_grid(config: PerCellConfig) -> list[dict]:
    return [
        {"p": p, "size": size, "sleep": 0.0, "fail_at": -1}
        for p in config.p
        for size in (3, 4)
    ]


PAIRED = dataclasses.replace(PER_CELL, name="paired", grid=paired_grid, paired=("p",))


def test_cells_that_differ_only_along_a_paired_axis_share_their_draws(tmp_path):
    config = PerCellConfig(trials=3)
    run_study(PAIRED, config, tmp_path, progress="none", n_jobs=2, backend="loky",
              threads_per_worker=1)  # fmt: skip
    records = _records(tmp_path)
    cells = PAIRED.cells(config)
    assert len(records) == 3 * len(cells)  # one store row per (cell, trial): p is kept
    draws = {}
    for cell in cells:
        for t in range(config.trials):
            rec = records[(cell_key(cell), t)]
            assert rec.params == cell
            # The seed of the cell without "p" (`task_rng`'s documented construction) ...
            shared = {k: v for k, v in cell.items() if k != "p"}
            assert rec.seed["spawn_key"][-1] == t
            again = toy_trial(dict(cell), task_rng(config.seed, shared, t))
            assert _no_pid(rec.metrics) == _no_pid(again)
            assert _no_pid(rec.metrics) == _no_pid(
                toy_trial(dict(cell), PAIRED.task_rng(config.seed, cell, t))
            )
            assert rec.metrics["success"] == (rec.metrics["u"] < cell["p"])
            draws.setdefault((cell["size"], t), set()).add((rec.metrics["u"], rec.metrics["norm"]))
    # ... so every p of a (size, trial) saw one draw, and other sizes or trials other draws.
    assert all(len(seen) == 1 for seen in draws.values())
    assert len({next(iter(seen)) for seen in draws.values()}) == len(draws)


def test_an_unpaired_study_keeps_its_seeds_and_bad_paired_axes_are_refused():
    cell = {"p": 0.5, "size": 4, "sleep": 0.0, "fail_at": -1}
    a = PER_CELL.task_rng(0, cell, 2).standard_normal(4)
    assert (a == task_rng(0, cell, 2).standard_normal(4)).all()
    with pytest.raises(TypeError, match="paired must be a tuple"):
        dataclasses.replace(PER_CELL, paired="p")
    assert dataclasses.replace(PER_CELL, paired=["p"]).paired == ("p",)
    with pytest.raises(ValueError, match="'trials' is not a parameter to pair"):
        dataclasses.replace(PER_CELL, paired=("trials",))
    study = dataclasses.replace(PAIRED, paired=("q",))
    with pytest.raises(ValueError, match="paired axis 'q' is not a parameter"):
        study.cells(PerCellConfig())
