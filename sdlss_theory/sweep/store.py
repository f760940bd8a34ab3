"""The results store: one SQLite database (WAL mode) per study output folder.

Schema (``SCHEMA_VERSION`` 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)
        study, config_hash, config (JSON), schema_version, created, package_version, git_rev
    tasks(
        cell_key TEXT, trial INTEGER,      -- primary key
        params TEXT,                        -- the cell's parameters, canonical JSON
        seed TEXT,                          -- {"entropy": root, "spawn_key": [...]} (JSON)
        status TEXT,                        -- 'ok' or 'error'
        metrics TEXT,                       -- JSON object (NaN/Infinity allowed), NULL on error
        nonfinite TEXT,                     -- comma-separated metrics that were NaN/inf, or NULL
        error TEXT, traceback TEXT,         -- the exception and its traceback, NULL if ok
        wall_time REAL,                     -- seconds spent in the trial function
        worker TEXT,                        -- host:pid that ran the task
        package_version TEXT, git_rev TEXT, -- provenance of the code that ran it
        finished_at TEXT                    -- UTC ISO 8601 time stamp
    )

Every batch of finished tasks is committed at once; with WAL journaling a crash (even
``kill -9``) loses at most the uncommitted tasks and never corrupts the database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "STORE_NAME", "ResultStore", "TaskRecord"]

SCHEMA_VERSION = 1
STORE_NAME = "store.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    cell_key TEXT NOT NULL,
    trial INTEGER NOT NULL,
    params TEXT NOT NULL,
    seed TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    metrics TEXT,
    nonfinite TEXT,
    error TEXT,
    traceback TEXT,
    wall_time REAL NOT NULL,
    worker TEXT,
    package_version TEXT,
    git_rev TEXT,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (cell_key, trial)
);
"""

_COLUMNS = (
    "cell_key",
    "trial",
    "params",
    "seed",
    "status",
    "metrics",
    "nonfinite",
    "error",
    "traceback",
    "wall_time",
    "worker",
    "package_version",
    "git_rev",
    "finished_at",
)


@dataclass(frozen=True)
class TaskRecord:
    """One finished task, as stored.

    Attributes
    ----------
    cell_key : str
        The cell's key (see :func:`sdlss_theory.sweep.seeds.cell_key`).
    trial : int
        The trial index.
    params : dict
        The cell's parameters.
    seed : dict
        ``{"entropy": ..., "spawn_key": [...]}``: ``numpy.random.SeedSequence(**seed)``
        rebuilds the task's seed.
    status : str
        ``"ok"`` or ``"error"``.
    metrics : dict or None
        The trial's metrics (``None`` on error).
    nonfinite : tuple of str
        The metrics that were NaN or infinite.
    error, traceback : str or None
        The exception (``"TypeName: message"``) and its formatted traceback, on error.
    wall_time : float
        Seconds spent in the trial function.
    worker : str
        ``host:pid`` of the process that ran it.
    package_version, git_rev : str
        Provenance of the code.
    finished_at : str
        UTC time stamp (ISO 8601).
    """

    cell_key: str
    trial: int
    params: dict
    seed: dict
    status: str
    metrics: dict | None
    nonfinite: tuple[str, ...]
    error: str | None
    traceback: str | None
    wall_time: float
    worker: str
    package_version: str
    git_rev: str
    finished_at: str

    def _row(self) -> tuple:
        return (
            self.cell_key,
            self.trial,
            json.dumps(self.params, sort_keys=True, separators=(",", ":")),
            json.dumps(self.seed, separators=(",", ":")),
            self.status,
            None if self.metrics is None else json.dumps(self.metrics, separators=(",", ":")),
            ",".join(self.nonfinite) or None,
            self.error,
            self.traceback,
            self.wall_time,
            self.worker,
            self.package_version,
            self.git_rev,
            self.finished_at,
        )

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> TaskRecord:
        return cls(
            cell_key=row["cell_key"],
            trial=row["trial"],
            params=json.loads(row["params"]),
            seed=json.loads(row["seed"]),
            status=row["status"],
            metrics=None if row["metrics"] is None else json.loads(row["metrics"]),
            nonfinite=tuple(row["nonfinite"].split(",")) if row["nonfinite"] else (),
            error=row["error"],
            traceback=row["traceback"],
            wall_time=row["wall_time"],
            worker=row["worker"],
            package_version=row["package_version"],
            git_rev=row["git_rev"],
            finished_at=row["finished_at"],
        )


def utc_now() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultStore:
    """A study's task store (SQLite, WAL mode), used as a context manager.

    Parameters
    ----------
    path : str or path-like
        The database file. Its folder must exist; the file is created on first open.
    readonly : bool
        Open an existing store without the right to write (for summaries and figures).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no results store at {self.path}")
            # Without a -wal file every commit is in the main file: open it immutable, so that
            # reading creates no -wal/-shm files. With one (a writer is running, or was killed),
            # read through it.
            wal = self.path.with_name(self.path.name + "-wal")
            mode = "mode=ro" if wal.exists() else "immutable=1"
            uri = f"{self.path.resolve().as_uri()}?{mode}"
            self._con = sqlite3.connect(uri, uri=True, timeout=30.0)
        else:
            self._con = sqlite3.connect(self.path, timeout=30.0)
            self._con.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash; only a
            # power failure can roll back the last commits, and nothing is ever corrupted.
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.executescript(_SCHEMA)
            self._con.commit()
        self._con.row_factory = sqlite3.Row

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (everything written is already committed)."""
        self._con.close()

    # -- meta ------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """Return the ``meta`` table as a dict."""
        try:
            rows = self._con.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError:
            return {}
        return {row["key"]: row["value"] for row in rows}

    def set_meta(self, values: dict[str, Any]) -> None:
        """Insert or replace ``meta`` entries (values are stored as strings)."""
        with self._con:
            self._con.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()],
            )

    # -- tasks -----------------------------------------------------------------------------
    def add(self, records: Iterable[TaskRecord]) -> int:
        """Write finished tasks in one transaction (a task stored twice is replaced)."""
        rows = [r._row() for r in records]
        placeholders = ", ".join("?" * len(_COLUMNS))
        with self._con:
            self._con.executemany(
                f"INSERT OR REPLACE INTO tasks ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                rows,
            )
        return len(rows)

    def done(self, *, include_errors: bool = True) -> set[tuple[str, int]]:
        """Return the ``(cell_key, trial)`` pairs already stored."""
        sql = "SELECT cell_key, trial FROM tasks"
        if not include_errors:
            sql += " WHERE status = 'ok'"
        return {(row[0], row[1]) for row in self._con.execute(sql)}

    def delete_errors(self) -> int:
        """Remove the tasks that raised, so that they are run again; return how many."""
        with self._con:
            cur = self._con.execute("DELETE FROM tasks WHERE status = 'error'")
        return cur.rowcount

    def records(self) -> Iterator[TaskRecord]:
        """Yield every stored task, ordered by cell key then trial."""
        for row in self._con.execute("SELECT * FROM tasks ORDER BY cell_key, trial"):
            yield TaskRecord._from_row(row)

    def count(self) -> dict[str, int]:
        """Return the number of stored tasks per status."""
        rows = self._con.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status")
        return {row[0]: row[1] for row in rows}
