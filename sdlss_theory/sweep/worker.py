"""The worker side of a sweep: one task run with its own generator, its record, thread caps.

:func:`run_task` is what the engine ships to a joblib worker (loky process, dask worker or
the parent itself with one job): it builds the task's generator from
``SeedSequence(root_seed, (cell key, trial))`` (:mod:`sdlss_theory.sweep.seeds`; the key of
the cell without the study's paired axes, if it has any), runs the
trial inside its in-task checkpoint context (:mod:`sdlss_theory.sweep.checkpoints`), checks the
metrics and returns a :class:`~sdlss_theory.sweep.store.TaskRecord`; an exception becomes an
``"error"`` record with its traceback. BLAS/OpenMP pools are capped once per worker process.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sdlss_theory.sweep import checkpoints
from sdlss_theory.sweep.provenance import package_version
from sdlss_theory.sweep.seeds import task_seed_sequence
from sdlss_theory.sweep.store import TaskRecord, utc_now

__all__ = [
    "Trial",
    "clean_metrics",
    "limit_worker_threads",
    "run_task",
    "setup_dask_worker",
    "thread_limits",
    "warm_up_kernels",
]

Trial = Callable[[dict, np.random.Generator], Mapping[str, Any]]

_WORKER_THREADS: int | None = None


def thread_limits(threads: int) -> Any:
    """Cap BLAS/OpenMP pools with threadpoolctl (a no-op context if it is not installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def limit_worker_threads(threads: int, parent_pid: int) -> None:
    """Cap BLAS/OpenMP threads once per worker process (the parent is capped by a context)."""
    global _WORKER_THREADS
    if os.getpid() == parent_pid or _WORKER_THREADS == threads:
        return
    thread_limits(threads)  # kept in force for the life of the worker
    _WORKER_THREADS = threads


def clean_metrics(metrics: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Check a trial's metrics and turn them into plain types.

    Returns
    -------
    (dict, tuple of str)
        The metrics as bool, int, float, str or None, and the names of non-finite floats.

    Raises
    ------
    TypeError
        If `metrics` is not a mapping of str, or a value has another type.
    ValueError
        If a string metric is longer than 200 characters.
    """
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


def run_task(
    trial_fn: Trial,
    params: dict[str, Any],
    key: str,
    trial: int,
    root_seed: int,
    threads: int,
    parent_pid: int,
    checkpoint_folder: str | None = None,
    checkpoint_seconds: float | None = None,
    seed_key: str | None = None,
) -> TaskRecord:
    """Run one task in a worker and return its record (errors are caught and recorded).

    The trial's generator comes from ``task_seed_sequence(root_seed, seed_key, trial)``;
    `seed_key` defaults to the cell's `key` (a study with paired axes gives the key of its
    cell without them). With a `checkpoint_folder`, the trial finds it (and
    `checkpoint_seconds`) through `checkpoints.current_task_checkpoint` while it runs.
    """
    limit_worker_threads(threads, parent_pid)
    seq = task_seed_sequence(root_seed, key if seed_key is None else seed_key, trial)
    rng = np.random.Generator(np.random.PCG64(seq))
    start = time.perf_counter()
    metrics = nonfinite = error = tb = None
    try:
        with checkpoints.task_context(checkpoint_folder, checkpoint_seconds):
            metrics, nonfinite = clean_metrics(trial_fn(dict(params), rng))
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


def warm_up_kernels() -> None:
    """Compile (or load from numba's cache) the library's kernels before workers start."""
    from sdlss_theory._kernels import warm_up

    warm_up()


def setup_dask_worker(threads: int, parent_pid: int) -> None:
    """Cap threads and load the kernels in a dask worker (not in the parent's own threads)."""
    limit_worker_threads(threads, parent_pid)
    warm_up_kernels()


