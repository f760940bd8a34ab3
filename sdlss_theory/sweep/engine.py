"""The Monte Carlo engine: a grid of cells times trials, run in parallel into a resumable store.

A :class:`Study` names a configuration class, a grid (a function of the configuration), a
trial function ``trial(params, rng) -> dict`` and the metrics to summarise.
:func:`run_study` turns the grid into tasks ``(cell, trial)``, skips those already in the
store, runs the rest through ``joblib.Parallel(return_as="generator_unordered")`` under
:func:`joblib.parallel_config` (the caller's backend: loky by default, sequential for one job,
dask for a cluster), writes every finished task to the store at once, and finally writes
``summary.csv`` and the configuration beside the store.

Each task builds its own generator from ``SeedSequence(root_seed, (cell key, trial))`` inside
the worker, so its result does not depend on the order of execution, the number of workers or
the backend (see :mod:`sdlss_theory.sweep.seeds`); a study's ``paired`` axes are left out of
that key, so cells that differ only along them share their draws.

:func:`run_study` checks its arguments once into a frozen :class:`RunPlan` and runs it with
:func:`run_plan`; each step of the run reads the plan. The pieces live beside this module:
the study (:mod:`~sdlss_theory.sweep.study`), the task run in a worker
(:mod:`~sdlss_theory.sweep.worker`), the output folder and its lock
(:mod:`~sdlss_theory.sweep.folder`) and the dask connection
(:mod:`~sdlss_theory.sweep.cluster`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joblib import Parallel, cpu_count, delayed, effective_n_jobs, parallel_config

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.sweep import checkpoints
from sdlss_theory.sweep.cluster import dask_client
from sdlss_theory.sweep.config import StudyConfig, config_hash, config_to_dict, config_to_toml
from sdlss_theory.sweep.folder import (
    ConfigMismatchError,
    check_output_folder,
    exclusive,
    lock_holder,
    set_aside,
)
from sdlss_theory.sweep.progress import ProgressMode, make_progress
from sdlss_theory.sweep.provenance import (
    command_line,
    git_revision,
    package_version,
    run_provenance,
)
from sdlss_theory.sweep.seeds import canonical_json, cell_key
from sdlss_theory.sweep.store import (
    SCHEMA_VERSION,
    STORE_NAME,
    ResultStore,
    StoreBusyError,
    StoreError,
    utc_now,
)
from sdlss_theory.sweep.study import Study
from sdlss_theory.sweep.summary import summarise, trials_table, write_csv
from sdlss_theory.sweep.worker import (
    run_task,
    setup_dask_worker,
    thread_limits,
    warm_up_kernels,
)

__all__ = [
    "ConfigMismatchError",
    "RunPlan",
    "RunReport",
    "StoreBusyError",
    "StoreError",
    "Study",
    "TrialFailedError",
    "auto_threads",
    "check_output_folder",
    "dask_client",
    "git_revision",
    "lock_holder",
    "package_version",
    "run_plan",
    "run_study",
]

class TrialFailedError(RuntimeError):
    """A trial raised and the sweep was asked to stop at the first failure."""


@dataclass(frozen=True)
class RunReport:
    """What :func:`run_study` did.

    Attributes
    ----------
    out_dir : Path
        The output folder (store, summary, configuration).
    n_tasks : int
        Tasks in the study: the sum of the cells' trials (cells times trials by default).
    n_resumed : int
        Tasks found in the store and not recomputed.
    n_run : int
        Tasks run now.
    n_failed : int
        Stored tasks (of this configuration) that raised.
    n_nonfinite : int
        Stored tasks with a NaN or infinite metric.
    wall_time : float
        Seconds spent running tasks.
    summary : list of dict
        The rows written to ``summary.csv``.
    """

    out_dir: Path
    n_tasks: int
    n_resumed: int
    n_run: int
    n_failed: int
    n_nonfinite: int
    wall_time: float
    summary: list[dict[str, Any]]


# -- the sweep ----------------------------------------------------------------------------------
def _load_average() -> float:
    """The 1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return 0.0


def auto_threads(n_jobs: int | None, backend: str | None, n_tasks: int) -> int:
    """BLAS/OpenMP threads per task: ``floor(cores / concurrent tasks)``, at least 1.

    The concurrent tasks are ``min(effective n_jobs, n_tasks)`` (joblib's
    `effective_n_jobs` under the enclosing `parallel_config` and `backend`), the cores
    joblib's `cpu_count` (which honours CPU affinity and cgroup quotas). So a sweep of fewer
    tasks than cores, or one job on a many-core machine, gives each task's BLAS the cores
    that would otherwise sit idle; a sweep with as many jobs as cores keeps one thread per
    task. The dask backend gets 1: this process does not know the workers' cores.

    The count is fixed when the sweep starts (the last tasks of a sweep, when fewer are
    left than jobs, keep it). On a machine that is already busy when the sweep starts (a
    1-minute load average of at least the number of cores) every task keeps one thread:
    BLAS threads that have to wait for a core make a step several times slower, not faster
    (docs/sweeps.md gives the measurement).
    """
    if backend == "dask":
        return 1
    options = {} if backend is None else {"backend": backend}
    with parallel_config(**options):
        jobs = effective_n_jobs(n_jobs)
    concurrent = max(1, min(jobs, n_tasks))
    cores = cpu_count()
    threads = max(1, cores // concurrent)
    if threads > 1 and _load_average() >= cores:
        return 1
    return threads


def _tasks(plan: RunPlan, done: set) -> list[tuple[dict[str, Any], str, str, int]]:
    """``(params, cell key, seed key, trial)`` of every task of `plan` not in `done`."""
    # Trial-major order: every cell gets its first trials early, so partial results are useful.
    cells = list(zip(plan.cells, plan.keys, plan.seed_keys, plan.trials, strict=True))
    return [
        (params, key, seed_key, t)
        for t in range(max(plan.trials))
        for params, key, seed_key, n in cells
        if t < n and (key, t) not in done
    ]


@dataclass(frozen=True)
class RunPlan:
    """One run of a study, checked once: what to run, where, and how.

    :func:`run_study` builds it from its arguments and hands it to :func:`run_plan`; every
    step of the run reads it, nothing changes it.

    Attributes
    ----------
    study : Study
        What to run.
    config : StudyConfig
        Its configuration (an instance of ``study.config``).
    out_dir : Path
        Output folder: ``store.sqlite``, ``summary.csv``, ``config.toml``, ``config.json``
        (and ``trials.csv`` with `write_trials`). A str is turned into a Path.
    n_jobs : int, optional
        Parallel jobs, passed to ``joblib.Parallel`` (``None``: the enclosing
        ``parallel_config``'s, else 1; ``-1``: all cores or all dask workers).
    backend : str, optional
        joblib backend (``"loky"``, ``"sequential"``, ``"dask"``, ...). ``None`` keeps the
        enclosing ``parallel_config``'s (loky by default; one job runs sequentially). The dask
        backend needs an active ``distributed.Client`` (see :func:`dask_client`).
    threads_per_worker : int, optional
        BLAS/OpenMP threads allowed in each worker (also in the parent while tasks run in
        it), so that ``n_jobs`` workers do not oversubscribe the cores. ``None`` (the
        default): `auto_threads`, ``floor(cores / min(n_jobs, tasks to run))`` (1 with
        dask), so a sweep of fewer tasks than cores lets each task's BLAS use the idle
        cores. Whether the count changes a result's last bits depends on the BLAS (see
        docs/sweeps.md): give the same number to compare runs bit for bit across
        ``n_jobs``.
    fresh : bool
        Set an existing store aside (renamed ``store.<time>.sqlite``) and start over.
    fail_fast : bool
        Stop at the first trial that raises (:class:`TrialFailedError`); by default errors are
        recorded with their traceback and the sweep goes on.
    retry_errors : bool
        Run again the tasks stored as errors (by default they count as done).
    progress : {"auto", "bar", "lines", "none"}
        Progress reporting on stderr (see :func:`~sdlss_theory.sweep.progress.make_progress`).
    write_trials : bool
        Also write ``trials.csv``, one row per task.
    command : str
        The command line recorded with the run (``None`` when building: this process's, see
        :func:`~sdlss_theory.sweep.provenance.command_line`).
    checkpoint_seconds : float or None
        In-task checkpoints: while a task runs, a trial that supports them (the PML
        studies' training) saves its state every so many seconds of wall time under
        ``out_dir/checkpoints/<cell key>-<trial>/``, and a re-run after a crash or a
        ``kill -9`` resumes it from there with the same result (see
        :mod:`sdlss_theory.sweep.checkpoints`). A task's checkpoints are removed once its
        record is stored. ``None`` turns them off.
    cells : tuple of dict
        The grid, ``study.cells(config)`` (computed, not given).
    keys : tuple of str
        The cells' keys (:func:`~sdlss_theory.sweep.cell_key`), in grid order.
    seed_keys : tuple of str
        The keys the cells' seeds derive from: the key of ``study.seed_cell(cell)``, the cell
        without the study's `paired` axes (the cell's own key when it pairs none).
    trials : tuple of int
        Each cell's number of trials, ``study.cell_trials(config)``: the cell's ``"trials"``
        entry, else ``config.trials`` (computed, not given).

    Raises
    ------
    TypeError
        If `config` is not an instance of ``study.config``.
    ValueError
        If `threads_per_worker` is not a positive int, `checkpoint_seconds` not a positive
        number, or the grid is empty or holds duplicate cells.
    """

    study: Study
    config: StudyConfig
    out_dir: Path
    n_jobs: int | None = None
    backend: str | None = None
    threads_per_worker: int | None = None
    fresh: bool = False
    fail_fast: bool = False
    retry_errors: bool = False
    progress: ProgressMode = "auto"
    write_trials: bool = False
    command: str | None = None
    checkpoint_seconds: float | None = 60.0
    cells: tuple[dict[str, Any], ...] = field(init=False, repr=False, compare=False)
    keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    seed_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    trials: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        study, config = self.study, self.config
        if not isinstance(config, study.config):
            raise TypeError(
                f"config must be a {study.config.__name__} for study {study.name!r}, "
                f"got {type(config).__name__}"
            )
        fix = object.__setattr__  # frozen: normalise the fields once, here
        if self.threads_per_worker is not None:
            fix(self, "threads_per_worker",
                check_int(self.threads_per_worker, "threads_per_worker", minimum=1))  # fmt: skip
        if self.checkpoint_seconds is not None:
            fix(self, "checkpoint_seconds",
                check_positive_float(self.checkpoint_seconds, "checkpoint_seconds"))  # fmt: skip
        fix(self, "out_dir", Path(self.out_dir))
        grid = study.cells_with_trials(config)
        fix(self, "cells", tuple(cell for cell, _ in grid))
        fix(self, "keys", tuple(cell_key(cell) for cell, _ in grid))
        fix(self, "seed_keys", tuple(cell_key(study.seed_cell(cell)) for cell, _ in grid))
        fix(self, "trials", tuple(n for _, n in grid))
        if self.command is None:
            fix(self, "command", command_line())

    @property
    def n_tasks(self) -> int:
        """Tasks in the study: the sum of the cells' trials."""
        return sum(self.trials)

    def trials_of(self) -> dict[str, int]:
        """Cell key -> number of trials."""
        return dict(zip(self.keys, self.trials, strict=True))


_OPTIONS = tuple(f.name for f in dataclasses.fields(RunPlan) if f.init)[3:]


def run_study(study: Study, config: StudyConfig, out_dir: str | Path, **options: Any) -> RunReport:
    """Run a study into `out_dir`, resuming whatever is already stored there.

    The same as ``run_plan(RunPlan(study, config, out_dir, **options))``.

    Parameters
    ----------
    study : Study
        What to run.
    config : StudyConfig
        Its configuration (an instance of ``study.config``).
    out_dir : str or path-like
        Output folder: ``store.sqlite``, ``summary.csv``, ``config.toml``, ``config.json``
        (and ``trials.csv`` with `write_trials`).
    **options
        By keyword, the other fields of :class:`RunPlan` (described there): `n_jobs`,
        `backend`, `threads_per_worker`, `fresh`, `fail_fast`, `retry_errors`, `progress`,
        `write_trials`, `command`, `checkpoint_seconds`.

    Returns
    -------
    RunReport
        Counts, timing and the summary rows.

    Raises
    ------
    TypeError
        If an option is not one of those above, or `config` is not a ``study.config``.
    ValueError
        If an option has a bad value (see :class:`RunPlan`) or the grid is not valid.
    ConfigMismatchError, StoreError, StoreBusyError, TrialFailedError, KeyboardInterrupt
        See :func:`run_plan`.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(
            f"run_study() got unknown option(s) {', '.join(unknown)}; the options are "
            f"{', '.join(_OPTIONS)}"
        )
    return run_plan(RunPlan(study, config, Path(out_dir), **options))


def run_plan(plan: RunPlan) -> RunReport:
    """Run `plan` into its output folder, resuming whatever is already stored there.

    Parameters
    ----------
    plan : RunPlan
        The study, its configuration, the folder and how to run.

    Returns
    -------
    RunReport
        Counts, timing and the summary rows.

    Raises
    ------
    ConfigMismatchError
        If the folder holds a store of a different configuration and ``plan.fresh`` is false.
    StoreError
        If ``store.sqlite`` in the folder is not a results store this version can use (not a
        database, damaged, another program's, or of a newer schema); nothing is written.
    StoreBusyError
        If another run is writing to the folder.
    TrialFailedError
        With ``plan.fail_fast``, when a trial raises (it is stored first).
    KeyboardInterrupt
        Propagated after the finished tasks are safely stored.
    """
    out_dir = plan.out_dir
    if plan.fresh:
        store_path = out_dir / STORE_NAME
        if store_path.exists():
            with ResultStore(store_path, readonly=True):
                pass  # --fresh sets aside results stores only: refuse any other file now
    else:
        check_output_folder(plan.study, plan.config, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(out_dir):
        return _run_locked(plan)


def _run_locked(plan: RunPlan) -> RunReport:
    """The run, once the folder's lock is held: open the store, run what is left, summarise."""
    if plan.fresh:
        set_aside(plan.out_dir)
        checkpoints.remove_all(plan.out_dir)  # they belong to the store set aside
    else:
        check_output_folder(plan.study, plan.config, plan.out_dir)  # again, under the lock
    git_rev = git_revision()
    with ResultStore(plan.out_dir / STORE_NAME) as store:
        todo = _open_store(plan, store, git_rev)
        threads = plan.threads_per_worker
        if threads is None:
            threads = auto_threads(plan.n_jobs, plan.backend, len(todo))
        _write_config(plan, git_rev)
        wall = _run_tasks(plan, store, todo, threads, git_rev)
        records = list(store.records())
    return _finish(plan, records, n_run=len(todo), wall=wall)


def _open_store(plan: RunPlan, store: ResultStore, git_rev: str) -> list:
    """Write the store's metadata (first run) and return the tasks still to run."""
    config_json = json.dumps(config_to_dict(plan.config), sort_keys=True)
    if not store.meta():
        store.set_meta(
            {
                "study": plan.study.name,
                "config_hash": config_hash(plan.study.name, plan.config),
                "config": config_json,
                "schema_version": str(SCHEMA_VERSION),
                "created": utc_now(),
                "package_version": package_version(),
                "git_rev": git_rev,
            }
        )
    if plan.retry_errors:
        store.delete_errors()
    # `trials` may have changed (same config hash): record the latest value.
    store.set_meta({"config": config_json})
    return _tasks(plan, store.done())


def _run_tasks(
    plan: RunPlan, store: ResultStore, todo: list, threads: int, git_rev: str
) -> float:
    """Record a run in the store, run `todo` and record its outcome; return the seconds spent."""
    n_resumed = plan.n_tasks - len(todo)
    with thread_limits(threads):
        provenance = run_provenance(
            backend=plan.backend, n_jobs=plan.n_jobs, threads_per_worker=threads,
            seed=plan.config.seed,
        )  # fmt: skip
    run_id = store.start_run(
        command=plan.command, trials=plan.config.trials, n_resumed=n_resumed,
        provenance=provenance,
    )  # fmt: skip
    outcome, n_stored = "failed", [0]
    start = time.perf_counter()
    try:
        if todo:
            if plan.progress != "none":
                # A first run compiles the kernels (about a minute); say so, not sit silent.
                print(
                    f"{plan.study.name}: loading the numba kernels (compiled once, then cached)",
                    file=sys.stderr,
                    flush=True,
                )
            warm_up_kernels()
            progress = make_progress(
                plan.n_tasks, initial=n_resumed, desc=plan.study.name, mode=plan.progress
            )
            _execute(plan, todo, store, threads, git_rev, progress, n_stored)
        outcome = "finished"
    except TrialFailedError:
        outcome = "stopped"
        raise
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    finally:
        with contextlib.suppress(StoreError, StoreBusyError):
            store.end_run(run_id, outcome=outcome, n_run=n_stored[0])
        with contextlib.suppress(OSError):
            (plan.out_dir / checkpoints.CHECKPOINTS_DIR).rmdir()  # only when empty
    return time.perf_counter() - start


def _finish(plan: RunPlan, records: list, *, n_run: int, wall: float) -> RunReport:
    """Write ``summary.csv`` (and ``trials.csv``) from the store's records; count."""
    study, trials = plan.study, plan.trials_of()
    rows = summarise(
        plan.cells, records, trials=plan.trials, success=study.success, metrics=study.metrics
    )
    write_csv(rows, plan.out_dir / "summary.csv")
    mine = [r for r in records if r.trial < trials.get(r.cell_key, 0)]  # this configuration's
    if plan.write_trials:
        write_csv(trials_table(mine), plan.out_dir / "trials.csv")
    return RunReport(
        out_dir=plan.out_dir,
        n_tasks=plan.n_tasks,
        n_resumed=plan.n_tasks - n_run,
        n_run=n_run,
        n_failed=sum(1 for r in mine if r.status == "error"),
        n_nonfinite=sum(1 for r in mine if r.nonfinite),
        wall_time=wall,
        summary=rows,
    )


def _parallel_options(backend: str | None, threads: int, parent: int) -> dict[str, Any]:
    """The `parallel_config` of the run's backend (a dask backend's workers are set up here)."""
    options: dict[str, Any] = {}
    if backend is not None:
        options["backend"] = backend
    if backend == "loky":
        options["inner_max_num_threads"] = threads
    if backend == "dask":
        from distributed import get_client

        try:
            client = get_client()
        except ValueError:
            raise RuntimeError(
                "backend='dask' needs an active distributed.Client (use dask_client())"
            ) from None
        client.run(setup_dask_worker, threads, parent)
    return options


def _execute(
    plan: RunPlan,
    todo: list,
    store: ResultStore,
    threads: int,
    git_rev: str,
    progress: Any,
    stored: list[int],
) -> None:
    """Run `todo` in parallel and store each record as it arrives (``stored[0]`` counts)."""
    parent = os.getpid()
    root = plan.out_dir.resolve()  # absolute: workers may run elsewhere (dask)
    every = plan.checkpoint_seconds

    def folder(key: str, t: int) -> str | None:
        return None if every is None else str(checkpoints.task_folder(root, key, t))

    calls = (
        delayed(run_task)(
            plan.study.trial, params, key, t, plan.config.seed, threads, parent,
            folder(key, t), every, seed_key=seed_key,
        )  # fmt: skip
        for params, key, seed_key, t in todo
    )
    options = _parallel_options(plan.backend, threads, parent)
    with contextlib.ExitStack() as stack:
        stack.enter_context(progress)
        stack.enter_context(thread_limits(threads))
        stack.enter_context(parallel_config(**options))
        results = Parallel(n_jobs=plan.n_jobs, return_as="generator_unordered")(calls)
        try:
            for rec in results:
                rec = dataclasses.replace(rec, git_rev=git_rev)
                store.add([rec])
                stored[0] += 1
                # Stored, so its checkpoints are no longer needed (finished or failed).
                checkpoints.remove_task_folder(root, rec.cell_key, rec.trial)
                progress.update(1, failed=int(rec.status == "error"))
                if plan.fail_fast and rec.status == "error":
                    raise TrialFailedError(
                        f"trial {rec.trial} of cell {canonical_json(rec.params)} raised "
                        f"{rec.error}\n{rec.traceback}"
                    )
        finally:
            results.close()


def _write_config(plan: RunPlan, git_rev: str) -> None:
    """Write ``config.toml`` (re-runnable) and ``config.json`` (with hash and revision)."""
    study, config, out_dir = plan.study, plan.config, plan.out_dir
    header = (
        f"study {study.name}: {study.description}\n"
        f"re-run with: sdlss run {study.name} --config {out_dir / 'config.toml'}"
    )
    (out_dir / "config.toml").write_text(config_to_toml(config, header=header))
    info = {
        "study": study.name,
        "config": config_to_dict(config),
        "config_hash": config_hash(study.name, config),
        "package_version": package_version(),
        "git_rev": git_rev,
        "written_at": utc_now(),
    }
    (out_dir / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
