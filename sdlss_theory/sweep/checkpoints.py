"""In-task checkpoints: where a long task saves its state so that a killed run resumes it.

A task of :func:`~sdlss_theory.sweep.run_study` that computes for many minutes (training a
prior) can save its state inside the run's folder and pick it up when the run is started
again after a crash, a ``kill -9`` or a lost cluster node. While a task runs, the engine
publishes a :class:`TaskCheckpoint` for it: `current_task_checkpoint` returns it inside the
trial function (and None outside a sweep, or with in-task checkpoints turned off), so the
library code that trains never needs to know about sweeps. Its folder is

    <out>/checkpoints/<cell key>-<trial>/

keyed by the task (the cell's key and the trial index, which fix the task's seed), so a
re-run finds the checkpoint of the same task and of no other. The parent process removes a
task's folder once its record is in the store (finished or failed), and ``--fresh`` removes
them all with the store it sets aside. On a dask cluster the run's folder must be on a
filesystem the workers share (the engine passes its absolute path).

A task that resumes must give the same record as one that never stopped: the trial saves
everything its later numbers depend on (for a trainer: parameters, optimiser state and the
random stream, see `PMLTrainer.save`), and continues the task's random stream from the
saved state.
"""

from __future__ import annotations

import contextlib
import contextvars
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHECKPOINTS_DIR", "TaskCheckpoint", "current_task_checkpoint"]

#: The folder of in-task checkpoints inside a run's output folder.
CHECKPOINTS_DIR = "checkpoints"


@dataclass(frozen=True)
class TaskCheckpoint:
    """Where the running task keeps its checkpoints, and how often to write them.

    Attributes
    ----------
    folder : Path
        ``<out>/checkpoints/<cell key>-<trial>``: the task's own folder (created on demand by
        whoever writes in it).
    every_seconds : float
        The wall-time interval between two checkpoints the run asks for (> 0).
    """

    folder: Path
    every_seconds: float

    def path(self, name: str) -> Path:
        """The stem ``folder / name`` of one checkpoint of the task (e.g. ``"prior"``)."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"name must be a plain file name, got {name!r}")
        return self.folder / name


#: The running task's checkpoint place: a context variable, so that tasks run by threads of
#: one process (dask's threaded workers) each see their own.
_CURRENT: contextvars.ContextVar[TaskCheckpoint | None] = contextvars.ContextVar(
    "sdlss_task_checkpoint", default=None
)


def current_task_checkpoint() -> TaskCheckpoint | None:
    """The checkpoint place of the task running in this thread (None outside a sweep)."""
    return _CURRENT.get()


def task_folder(out_dir: str | Path, key: str, trial: int) -> Path:
    """``<out_dir>/checkpoints/<key>-<trial>``."""
    return Path(out_dir) / CHECKPOINTS_DIR / f"{key}-{int(trial)}"


@contextlib.contextmanager
def task_context(folder: Path | None, every_seconds: float | None) -> Iterator[None]:
    """Publish the running task's `TaskCheckpoint` (none when `folder` is None)."""
    token = _CURRENT.set(
        None if folder is None else TaskCheckpoint(Path(folder), float(every_seconds))
    )
    try:
        yield
    finally:
        _CURRENT.reset(token)


def remove_task_folder(out_dir: str | Path, key: str, trial: int) -> None:
    """Delete a finished task's checkpoints.

    The engine removes the empty ``checkpoints`` folder itself at the end of the run, not
    while workers may still write in it.
    """
    shutil.rmtree(task_folder(out_dir, key, trial), ignore_errors=True)


def remove_all(out_dir: str | Path) -> None:
    """Delete every in-task checkpoint of a run (used with ``--fresh``)."""
    shutil.rmtree(Path(out_dir) / CHECKPOINTS_DIR, ignore_errors=True)
