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
the backend (see :mod:`sdlss_theory.sweep.seeds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import json
import math
import os
import socket
import sqlite3
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs, parallel_config

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.sweep import checkpoints
from sdlss_theory.sweep.config import (
    StudyConfig,
    config_hash,
    config_to_dict,
    config_to_toml,
)
from sdlss_theory.sweep.progress import ProgressMode, make_progress
from sdlss_theory.sweep.provenance import (
    command_line,
    git_revision,
    package_version,
    run_provenance,
)
from sdlss_theory.sweep.seeds import canonical_json, cell_key, task_seed_sequence, to_plain
from sdlss_theory.sweep.store import (
    SCHEMA_VERSION,
    STORE_NAME,
    ResultStore,
    StoreBusyError,
    StoreError,
    TaskRecord,
    utc_now,
)
from sdlss_theory.sweep.summary import summarise, trials_table, write_csv

__all__ = [
    "ConfigMismatchError",
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
    "run_study",
]

Trial = Callable[[dict, np.random.Generator], Mapping[str, Any]]


@dataclass(frozen=True)
class Study:
    """A Monte Carlo study: what to vary, what one trial does, what to summarise.

    Attributes
    ----------
    name : str
        Identifier (``python -m simulations <name>``; output in ``results/<name>/``).
    config : type of StudyConfig
        The configuration dataclass (defaults, ``quick()`` preset).
    grid : callable
        ``grid(config) -> list of dict``: the cells, each a dict of every parameter a trial
        needs (fixed ones included, so that a cell's key reflects all of them). Cells must be
        distinct; their order is the order of ``summary.csv``.
    trial : callable
        ``trial(params, rng) -> dict`` of metrics (bool, int, float or short str). It must be a
        module-level function (workers import it by name) and draw all its randomness from
        `rng`.
    description : str
        One line for ``python -m simulations list``.
    success : str or None
        The boolean metric summarised as a rate with a Wilson interval.
    metrics : tuple of str, optional
        Numeric metrics summarised by mean, median and 5%/95% quantiles (default: all).
    show : tuple of str
        The columns ``sdlss show`` prints first, in order: grid parameters, columns of
        ``summary.csv`` (``rel_error_q95``), the success metric's name (its rate with the
        Wilson interval), a boolean metric's name (its mean, the rate) or another metric's
        name (its median). After them come the other parameters that vary over the grid, the
        success interval and ``n_ok``. Default: those, then the medians of the first metrics.
    transition : str or None
        The grid parameter along which ``sdlss show`` fits the 50% point of the success rate
        (:func:`~sdlss_theory.sweep.fit_transition`), once per combination of the other
        varying parameters (ignored where the grid does not vary it). Default ``None``: no
        fits, since a success rate is not a transition in every study.
    report : callable, optional
        ``report(summary, config) -> {title: rows}``: further tables for ``sdlss show`` (fitted
        constants, comparisons with a theory), each a list of dicts with the same keys.
        `summary` maps every column of ``summary.csv`` to an array (as figures receive it),
        `config` is the configuration as a dict. It must only compute from its arguments.
    """

    name: str
    config: type[StudyConfig]
    grid: Callable[[Any], list[dict[str, Any]]]
    trial: Trial
    description: str
    success: str | None = "success"
    metrics: tuple[str, ...] | None = None
    show: tuple[str, ...] = ()
    transition: str | None = None
    report: Callable[[dict[str, np.ndarray], dict[str, Any]], Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.show, str) or not all(isinstance(c, str) for c in self.show):
            raise TypeError(f"study {self.name!r}: show must be a tuple of column names")
        if self.transition is not None and not isinstance(self.transition, str):
            raise TypeError(f"study {self.name!r}: transition must be a parameter name or None")
        if self.report is not None and not callable(self.report):
            raise TypeError(f"study {self.name!r}: report must be callable or None")

    def cells(self, config: StudyConfig) -> list[dict[str, Any]]:
        """Return the grid of `config` as plain dicts, refusing duplicate cells."""
        cells = [to_plain(dict(c)) for c in self.grid(config)]
        if not cells:
            raise ValueError(f"study {self.name!r}: the grid is empty")
        keys = [cell_key(c) for c in cells]
        if len(set(keys)) != len(keys):
            raise ValueError(f"study {self.name!r}: the grid holds duplicate cells")
        return cells


class ConfigMismatchError(RuntimeError):
    """The output folder holds a store made with a different configuration."""


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
        Tasks in the study (cells times trials).
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


# -- the task, run inside a worker --------------------------------------------------------------
_WORKER_THREADS: int | None = None


def _thread_limits(threads: int) -> Any:
    """Cap BLAS/OpenMP pools with threadpoolctl (a no-op context if it is not installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def _limit_worker_threads(threads: int, parent_pid: int) -> None:
    """Cap BLAS/OpenMP threads once per worker process (the parent is capped by a context)."""
    global _WORKER_THREADS
    if os.getpid() == parent_pid or _WORKER_THREADS == threads:
        return
    _thread_limits(threads)  # kept in force for the life of the worker
    _WORKER_THREADS = threads


def _clean_metrics(metrics: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    if not isinstance(metrics, Mapping):
        raise TypeError(f"a trial must return a dict of metrics, got {type(metrics).__name__}")
    out: dict[str, Any] = {}
    nonfinite = []
    for name, value in metrics.items():
        if not isinstance(name, str):
            raise TypeError(f"metric names must be strings, got {name!r}")
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif isinstance(value, (int, np.integer)):
            value = int(value)
        elif isinstance(value, (float, np.floating)):
            value = float(value)
            if not math.isfinite(value):
                nonfinite.append(name)
        elif isinstance(value, str):
            if len(value) > 200:
                raise ValueError(f"metric {name!r} is a string of {len(value)} characters")
        elif value is None:
            pass
        else:
            raise TypeError(
                f"metric {name!r} has type {type(value).__name__}; metrics must be bool, int, "
                "float, str or None"
            )
        out[name] = value
    return out, tuple(nonfinite)


def _run_task(
    trial_fn: Trial,
    params: dict[str, Any],
    key: str,
    trial: int,
    root_seed: int,
    threads: int,
    parent_pid: int,
    checkpoint_folder: str | None = None,
    checkpoint_seconds: float | None = None,
) -> TaskRecord:
    """Run one task in a worker and return its record (errors are caught and recorded).

    With a `checkpoint_folder`, the trial finds it (and `checkpoint_seconds`) through
    `checkpoints.current_task_checkpoint` while it runs.
    """
    _limit_worker_threads(threads, parent_pid)
    seq = task_seed_sequence(root_seed, key, trial)
    rng = np.random.Generator(np.random.PCG64(seq))
    start = time.perf_counter()
    metrics = nonfinite = error = tb = None
    try:
        with checkpoints.task_context(checkpoint_folder, checkpoint_seconds):
            metrics, nonfinite = _clean_metrics(trial_fn(dict(params), rng))
        status = "ok"
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        status = "error"
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
    wall = time.perf_counter() - start
    return TaskRecord(
        cell_key=key,
        trial=trial,
        params=params,
        seed={"entropy": root_seed, "spawn_key": list(seq.spawn_key)},
        status=status,
        metrics=metrics,
        nonfinite=nonfinite or (),
        error=error,
        traceback=tb,
        wall_time=wall,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        package_version=package_version(),
        git_rev="",
        finished_at=utc_now(),
    )


def _warm_up_kernels() -> None:
    """Compile (or load from numba's cache) the library's kernels before workers start."""
    from sdlss_theory._kernels import warm_up

    warm_up()


def _setup_dask_worker(threads: int, parent_pid: int) -> None:
    """Cap threads and load the kernels in a dask worker (not in the parent's own threads)."""
    _limit_worker_threads(threads, parent_pid)
    _warm_up_kernels()


# -- output folder -----------------------------------------------------------------------------
def _config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = [k for k in {**old, **new} if k != "trials"]
    return [k for k in keys if old.get(k) != new.get(k)]


def check_output_folder(study: Study, config: StudyConfig, out_dir: str | Path) -> str:
    """Say whether `out_dir` can receive `study` run with `config`, writing nothing.

    Returns
    -------
    str
        ``"new"`` (no store yet) or ``"resume"`` (a store of the same study and configuration).

    Raises
    ------
    ConfigMismatchError
        If the folder holds a store of another study or configuration (the message names the
        keys that differ and suggests ``--fresh``).
    """
    path = Path(out_dir) / STORE_NAME
    if not path.exists():
        return "new"
    with ResultStore(path, readonly=True) as store:
        meta = store.meta()
    if not meta:
        return "new"
    if meta.get("study") != study.name:
        raise ConfigMismatchError(
            f"{out_dir} holds results of study {meta.get('study')!r}, not {study.name!r}; "
            "choose another --out or use --fresh"
        )
    if meta.get("config_hash") != config_hash(study.name, config):
        old = json.loads(meta.get("config", "{}"))
        changed = ", ".join(_config_diff(old, config_to_dict(config))) or "seed/config"
        raise ConfigMismatchError(
            f"{out_dir} holds {study.name} results for a different configuration (changed: "
            f"{changed}); use --fresh to start over (the old store is kept) or choose another "
            "--out"
        )
    return "resume"


def _set_aside(out_dir: Path) -> Path | None:
    """Rename an existing store to ``store.<UTC time>.sqlite`` (after a WAL checkpoint).

    Only a results store is set aside: a file that is not one raises :class:`StoreError` and
    stays where it is.
    """
    path = out_dir / STORE_NAME
    if not path.exists():
        return None
    with ResultStore(path, readonly=True):
        pass  # refuses a foreign, damaged or newer file before anything is touched
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise StoreBusyError(
            f"cannot set {path} aside ({exc}); wait for the program using it or choose "
            "another --out"
        ) from None
    finally:
        con.close()
    stamp = utc_now().replace(":", "").replace("+0000", "Z")
    target = out_dir / f"store.{stamp}.sqlite"
    i = 1
    while target.exists():
        target = out_dir / f"store.{stamp}.{i}.sqlite"
        i += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    return target


LOCK_NAME = ".lock"
# flock errors that mean "held by someone else"; any other (ENOLCK on a network filesystem
# mounted without locks, EOPNOTSUPP, ...) means "this filesystem cannot lock".
_BUSY_ERRNOS = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """Hold an advisory lock on ``out_dir/.lock`` so that two runs never share a store.

    The lock file names its holder (pid, host, start time) for the error message of a second
    run and for ``sdlss show``. On a filesystem without locks a warning is issued and the run
    goes on unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    # "a+" neither truncates the holder's note nor fails if the file exists.
    with (out_dir / LOCK_NAME).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in _BUSY_ERRNOS:
                warnings.warn(
                    f"cannot lock {out_dir / LOCK_NAME} ({exc.strerror}): the filesystem has no "
                    "locks; make sure that no other run writes to this folder",
                    RuntimeWarning,
                    stacklevel=3,
                )
                yield
                return
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise StoreBusyError(
                f"{out_dir / STORE_NAME} is being written by another run ({holder}); wait for "
                "it to finish or choose another --out"
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} on {socket.gethostname()}, since {utc_now()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def lock_holder(out_dir: str | Path) -> str | None:
    """Return who is running a study into `out_dir` now, or ``None`` if nobody is.

    Reads ``out_dir/.lock`` without creating or changing anything: a run holds an exclusive
    lock on it (released when the process ends, however it ends).
    """
    path = Path(out_dir) / LOCK_NAME
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fh = path.open("r")
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _BUSY_ERRNOS:
                return fh.read().strip() or "another process"
            return None
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


# -- dask ---------------------------------------------------------------------------------------
def _scheduler_address(scheduler_file: Path, timeout: float) -> str:
    """Wait for a dask scheduler file and return the address it holds.

    dask-mpi, dask-jobqueue and ``dask scheduler --scheduler-file`` write such files.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = json.loads(scheduler_file.read_text())
        except FileNotFoundError:
            info = None
        except (OSError, ValueError):
            info = {}  # being written, or not a scheduler file: look again until the deadline
        if isinstance(info, dict) and isinstance(info.get("address"), str):
            return info["address"]
        if time.monotonic() >= deadline:
            if info is None:
                raise ConnectionError(
                    f"the dask scheduler file {scheduler_file} did not appear within "
                    f"{timeout:g} s; start the scheduler first (dask-mpi --scheduler-file FILE, "
                    "dask scheduler --scheduler-file FILE) or raise --scheduler-timeout"
                )
            raise ConnectionError(
                f'{scheduler_file} is not a dask scheduler file (no "address" in its JSON)'
            )
        time.sleep(0.1)


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    scheduler_file: str | Path | None = None,
    n_workers: int = 2,
    processes: bool = True,
    timeout: float = 10.0,
    min_workers: int = 1,
) -> Iterator[Any]:
    """Connect to a dask.distributed scheduler, or start a local cluster on 127.0.0.1.

    Parameters
    ----------
    scheduler : str, optional
        The scheduler's address (``tcp://host:8786``).
    scheduler_file : str or path-like, optional
        A scheduler file, dask's standard handshake on clusters: ``dask-mpi
        --scheduler-file FILE``, ``dask scheduler --scheduler-file FILE`` and dask-jobqueue
        (``client.write_scheduler_file(FILE)``) write the scheduler's address there. The file
        is waited for (up to `timeout`), so the client may start before the scheduler.
        Without `scheduler` and `scheduler_file` a ``LocalCluster`` of `n_workers`
        single-threaded workers is started on the loopback interface (no dashboard) and shut
        down on exit.
    n_workers : int
        Workers of the local cluster.
    processes : bool
        Local cluster workers are processes (default) or threads of this process.
    timeout : float
        Seconds to wait for the scheduler file, the scheduler, and `min_workers` workers.
    min_workers : int
        With an existing scheduler, wait until this many workers have joined: joblib sizes
        its dispatching by the workers present when the sweep starts.

    Yields
    ------
    distributed.Client
        The client; joblib's ``"dask"`` backend uses it.

    Raises
    ------
    ConnectionError
        If the scheduler file does not appear, the scheduler cannot be reached or too few
        workers join within `timeout`.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "the dask backend needs dask.distributed: pip install 'sdlss-theory[dask]'"
        ) from exc
    if scheduler is not None and scheduler_file is not None:
        raise ValueError("give a scheduler address or a scheduler file, not both")
    if scheduler is None and scheduler_file is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            host="127.0.0.1",
            protocol="tcp://",
            dashboard_address=None,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    start = time.monotonic()
    if scheduler_file is not None:
        scheduler = _scheduler_address(Path(scheduler_file), timeout)
    remaining = max(timeout - (time.monotonic() - start), 1.0)
    try:
        client = Client(scheduler, timeout=f"{remaining}s")
    except (OSError, TimeoutError) as exc:
        source = f" (from {scheduler_file})" if scheduler_file is not None else ""
        raise ConnectionError(
            f"cannot reach the dask scheduler at {scheduler}{source} within {timeout:g} s ({exc})"
        ) from None
    try:
        try:
            remaining = max(timeout - (time.monotonic() - start), 1.0)
            client.wait_for_workers(min_workers, timeout=remaining)
        except (TimeoutError, asyncio.TimeoutError):
            have = len(client.scheduler_info().get("workers", {}))
            raise ConnectionError(
                f"only {have} of {min_workers} dask workers joined the scheduler at "
                f"{scheduler} within {timeout:g} s; raise --scheduler-timeout or lower "
                "--min-workers"
            ) from None
        yield client
    finally:
        client.close()


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


def _tasks(
    cells: Sequence[dict[str, Any]], keys: Sequence[str], trials: int, done: set
) -> list[tuple[dict[str, Any], str, int]]:
    # Trial-major order: every cell gets its first trials early, so partial results are useful.
    return [
        (params, key, t)
        for t in range(trials)
        for params, key in zip(cells, keys, strict=True)
        if (key, t) not in done
    ]


def run_study(
    study: Study,
    config: StudyConfig,
    out_dir: str | Path,
    *,
    n_jobs: int | None = None,
    backend: str | None = None,
    threads_per_worker: int | None = None,
    fresh: bool = False,
    fail_fast: bool = False,
    retry_errors: bool = False,
    progress: ProgressMode = "auto",
    write_trials: bool = False,
    command: str | None = None,
    checkpoint_seconds: float | None = 60.0,
) -> RunReport:
    """Run a study into `out_dir`, resuming whatever is already stored there.

    Parameters
    ----------
    study : Study
        What to run.
    config : StudyConfig
        Its configuration (an instance of ``study.config``).
    out_dir : str or path-like
        Output folder: ``store.sqlite``, ``summary.csv``, ``config.toml``, ``config.json``
        (and ``trials.csv`` with `write_trials`).
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
    command : str, optional
        The command line recorded with the run (default: this process's, see
        :func:`~sdlss_theory.sweep.provenance.command_line`).
    checkpoint_seconds : float or None
        In-task checkpoints: while a task runs, a trial that supports them (the PML
        studies' training) saves its state every so many seconds of wall time under
        ``out_dir/checkpoints/<cell key>-<trial>/``, and a re-run after a crash or a
        ``kill -9`` resumes it from there with the same result (see
        :mod:`sdlss_theory.sweep.checkpoints`). A task's checkpoints are removed once its
        record is stored. ``None`` turns them off.

    Returns
    -------
    RunReport
        Counts, timing and the summary rows.

    Raises
    ------
    ConfigMismatchError
        If `out_dir` holds a store of a different configuration and `fresh` is false.
    StoreError
        If ``store.sqlite`` in `out_dir` is not a results store this version can use (not a
        database, damaged, another program's, or of a newer schema); nothing is written.
    StoreBusyError
        If another run is writing to `out_dir`.
    TrialFailedError
        With `fail_fast`, when a trial raises (it is stored first).
    KeyboardInterrupt
        Propagated after the finished tasks are safely stored.
    """
    if not isinstance(config, study.config):
        raise TypeError(
            f"config must be a {study.config.__name__} for study {study.name!r}, "
            f"got {type(config).__name__}"
        )
    threads = None
    if threads_per_worker is not None:
        threads = check_int(threads_per_worker, "threads_per_worker", minimum=1)
    if checkpoint_seconds is not None:
        checkpoint_seconds = check_positive_float(checkpoint_seconds, "checkpoint_seconds")
    out_dir = Path(out_dir)
    cells = study.cells(config)
    keys = [cell_key(c) for c in cells]
    if fresh:
        store_path = out_dir / STORE_NAME
        if store_path.exists():
            with ResultStore(store_path, readonly=True):
                pass  # --fresh sets aside results stores only: refuse any other file now
    else:
        check_output_folder(study, config, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(out_dir):
        return _run_locked(
            study,
            config,
            out_dir,
            cells,
            keys,
            threads,
            n_jobs=n_jobs,
            backend=backend,
            fresh=fresh,
            fail_fast=fail_fast,
            retry_errors=retry_errors,
            progress=progress,
            write_trials=write_trials,
            command=command_line() if command is None else command,
            checkpoint_seconds=checkpoint_seconds,
        )


def _run_locked(
    study,
    config,
    out_dir,
    cells,
    keys,
    threads,
    *,
    n_jobs,
    backend,
    fresh,
    fail_fast,
    retry_errors,
    progress,
    write_trials,
    command,
    checkpoint_seconds,
) -> RunReport:
    if fresh:
        _set_aside(out_dir)
        checkpoints.remove_all(out_dir)  # they belong to the store set aside
    else:
        check_output_folder(study, config, out_dir)  # again, now that we hold the lock
    chash = config_hash(study.name, config)
    config_dict = config_to_dict(config)
    git_rev = git_revision()

    with ResultStore(out_dir / STORE_NAME) as store:
        if not store.meta():
            store.set_meta(
                {
                    "study": study.name,
                    "config_hash": chash,
                    "config": json.dumps(config_dict, sort_keys=True),
                    "schema_version": str(SCHEMA_VERSION),
                    "created": utc_now(),
                    "package_version": package_version(),
                    "git_rev": git_rev,
                }
            )
        if retry_errors:
            store.delete_errors()
        # `trials` may have changed (same config hash): record the latest value.
        store.set_meta({"config": json.dumps(config_dict, sort_keys=True)})
        done = store.done()
        todo = _tasks(cells, keys, config.trials, done)
        n_tasks = len(cells) * config.trials
        n_resumed = n_tasks - len(todo)
        if threads is None:
            threads = auto_threads(n_jobs, backend, len(todo))
        _write_config(out_dir, study, config, chash, git_rev)
        with _thread_limits(threads):
            provenance = run_provenance(
                backend=backend, n_jobs=n_jobs, threads_per_worker=threads, seed=config.seed
            )
        run_id = store.start_run(
            command=command, trials=config.trials, n_resumed=n_resumed, provenance=provenance
        )
        outcome, n_stored = "failed", [0]
        start = time.perf_counter()
        try:
            if todo:
                if progress != "none":
                    # A first run compiles the kernels (about a minute); say so, not sit silent.
                    print(
                        f"{study.name}: loading the numba kernels (compiled once, then cached)",
                        file=sys.stderr,
                        flush=True,
                    )
                _warm_up_kernels()
                _execute(
                    study,
                    config,
                    todo,
                    store,
                    n_jobs=n_jobs,
                    backend=backend,
                    threads=threads,
                    fail_fast=fail_fast,
                    git_rev=git_rev,
                    progress=make_progress(
                        n_tasks, initial=n_resumed, desc=study.name, mode=progress
                    ),
                    stored=n_stored,
                    checkpoint_seconds=checkpoint_seconds,
                    out_dir=out_dir,
                )
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
                (out_dir / checkpoints.CHECKPOINTS_DIR).rmdir()  # only when empty
        wall = time.perf_counter() - start
        records = list(store.records())

    rows = summarise(
        cells, records, trials=config.trials, success=study.success, metrics=study.metrics
    )
    write_csv(rows, out_dir / "summary.csv")
    if write_trials:
        write_csv(trials_table(records, trials=config.trials), out_dir / "trials.csv")
    current = set(keys)
    mine = [r for r in records if r.cell_key in current and r.trial < config.trials]
    return RunReport(
        out_dir=out_dir,
        n_tasks=n_tasks,
        n_resumed=n_resumed,
        n_run=len(todo),
        n_failed=sum(1 for r in mine if r.status == "error"),
        n_nonfinite=sum(1 for r in mine if r.nonfinite),
        wall_time=wall,
        summary=rows,
    )


def _execute(
    study,
    config,
    todo,
    store,
    *,
    n_jobs,
    backend,
    threads,
    fail_fast,
    git_rev,
    progress,
    stored,
    checkpoint_seconds,
    out_dir,
) -> None:
    parent = os.getpid()
    root = Path(out_dir).resolve()  # absolute: workers may run elsewhere (dask)

    def folder(key: str, t: int) -> str | None:
        if checkpoint_seconds is None:
            return None
        return str(checkpoints.task_folder(root, key, t))

    calls = (
        delayed(_run_task)(
            study.trial, params, key, t, config.seed, threads, parent, folder(key, t),
            checkpoint_seconds,
        )  # fmt: skip
        for params, key, t in todo
    )
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
        client.run(_setup_dask_worker, threads, parent)
    with contextlib.ExitStack() as stack:
        stack.enter_context(progress)
        stack.enter_context(_thread_limits(threads))
        stack.enter_context(parallel_config(**options))
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(calls)
        try:
            for rec in results:
                rec = dataclasses.replace(rec, git_rev=git_rev)
                store.add([rec])
                stored[0] += 1
                # Stored, so its checkpoints are no longer needed (finished or failed).
                checkpoints.remove_task_folder(root, rec.cell_key, rec.trial)
                progress.update(1, failed=int(rec.status == "error"))
                if fail_fast and rec.status == "error":
                    raise TrialFailedError(
                        f"trial {rec.trial} of cell {canonical_json(rec.params)} raised "
                        f"{rec.error}\n{rec.traceback}"
                    )
        finally:
            results.close()


def _write_config(
    out_dir: Path, study: Study, config: StudyConfig, chash: str, git_rev: str
) -> None:
    header = (
        f"study {study.name}: {study.description}\n"
        f"re-run with: sdlss run {study.name} --config {out_dir / 'config.toml'}"
    )
    (out_dir / "config.toml").write_text(config_to_toml(config, header=header))
    info = {
        "study": study.name,
        "config": config_to_dict(config),
        "config_hash": chash,
        "package_version": package_version(),
        "git_rev": git_rev,
        "written_at": utc_now(),
    }
    (out_dir / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
