"""The results store: one SQLite database (WAL mode) per study output folder.

Schema (``SCHEMA_VERSION`` 2)::

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
    runs(                                   -- one row per run_study call (schema 2)
        id INTEGER PRIMARY KEY,
        started_at TEXT, ended_at TEXT,     -- UTC; ended_at is NULL while running or if killed
        outcome TEXT,                       -- 'finished', 'stopped', 'interrupted', 'failed'
        command TEXT,                       -- the command line that started the run
        trials INTEGER,                     -- trials per cell it was asked for
        n_resumed INTEGER, n_run INTEGER,   -- tasks found stored at the start, tasks run
        provenance TEXT                     -- JSON: Python and package versions, git revision,
    )                                       -- host, pid, backend, n_jobs, BLAS/numba threads

Schema 1 is schema 2 without ``runs``: such a store is read as it is and gains the table the
next time a run writes to it (nothing else changes). A file that is not an SQLite database, a
database of another program, or a store of a newer schema is refused with a
:class:`StoreError` before anything is written.

Every batch of finished tasks is committed at once; with WAL journaling a crash (even
``kill -9``) loses at most the uncommitted tasks and never corrupts the database.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "STORE_NAME",
    "ResultStore",
    "StoreBusyError",
    "StoreError",
    "TaskRecord",
]

SCHEMA_VERSION = 2
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
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    command TEXT,
    trials INTEGER NOT NULL,
    n_resumed INTEGER,
    n_run INTEGER,
    provenance TEXT NOT NULL
);
"""


class StoreError(RuntimeError):
    """A file cannot be used as a results store; the message names it and says what to do.

    Raised for a file that is not an SQLite database (or is damaged), a database of another
    program, and a store written by a newer version of sdlss-theory. Nothing has been written
    to the file when it is raised.
    """


class StoreBusyError(RuntimeError):
    """Another process is writing to the same store (a run in progress, or a locked file)."""


def _translate(exc: sqlite3.Error, path: Path) -> RuntimeError:
    """Turn an sqlite3 error about `path` into a one-line StoreError or StoreBusyError."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"{path} is locked by another process (a run writing to it, or a program holding "
            "it open); wait for it to finish or choose another --out"
        )
    if "not a database" in text or "encrypted" in text:
        return StoreError(
            f"{path} is not an SQLite database (a damaged copy or another program's file?), "
            "so not a results store; move it away or choose another --out (nothing was changed)"
        )
    if "malformed" in text or "corrupt" in text:
        return StoreError(
            f"{path} is a damaged SQLite database ({text}); move it away (sqlite3's .recover "
            "may rescue its rows) or choose another --out (nothing was changed)"
        )
    return StoreError(f"cannot use {path} as a results store ({text}); choose another --out")


def _inspect(con: sqlite3.Connection, path: Path) -> int | None:
    """Return the schema version of the store `con` is open on, ``None`` for an empty database.

    Reads only. Raises :class:`StoreError` for a file that is not an SQLite database, a
    database of another program and a store of a newer schema.
    """
    try:
        tables = {
            row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not tables:
            return None
        foreign = not {"meta", "tasks"} <= tables
        if not foreign:
            columns = {row[1] for row in con.execute("PRAGMA table_info(tasks)")}
            foreign = not set(_COLUMNS) <= columns
        if foreign:
            raise StoreError(
                f"{path} is an SQLite database of another program (tables: "
                f"{', '.join(sorted(tables))}), not a results store; move it away or choose "
                "another --out (nothing was changed)"
            )
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:
        raise _translate(exc, path) from None
    if row is None:  # tables made, meta not yet written (a run killed at its first instant)
        return SCHEMA_VERSION if "runs" in tables else 1
    try:
        version = int(row[0])
    except ValueError:
        raise StoreError(
            f"{path} has an unreadable schema_version {row[0]!r}: not a results store of "
            "sdlss-theory; move it away or choose another --out (nothing was changed)"
        ) from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer sdlss-theory (store schema {version}; this version "
            f"reads up to {SCHEMA_VERSION}); upgrade (pip install -U sdlss-theory) or choose "
            "another --out (nothing was changed)"
        )
    return version


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

    Raises
    ------
    FileNotFoundError
        With `readonly`, if there is no file at `path`.
    StoreError
        If the file is not an SQLite database, is damaged, belongs to another program or was
        written by a newer version (checked before anything is written).
    StoreBusyError
        If another process keeps the database locked.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.schema_version: int | None = None
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
            try:
                self.schema_version = _inspect(self._con, self.path)
            except BaseException:
                self._con.close()
                raise
        else:
            self._con = sqlite3.connect(self.path, timeout=30.0)
            try:
                self._open_for_writing()
            except BaseException:
                self._con.close()
                raise
        self._con.row_factory = sqlite3.Row

    def _open_for_writing(self) -> None:
        # Everything is checked before the first write: a foreign or damaged file is left as
        # it is.
        version = _inspect(self._con, self.path)
        with self._guard():
            if version is not None:
                check = self._con.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
            self._con.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash; only a
            # power failure can roll back the last commits, and nothing is ever corrupted.
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.executescript(_SCHEMA)
            if version is not None and version < SCHEMA_VERSION:
                # Schema 1 -> 2 only adds the runs table (made above).
                self._con.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION),),
                )
            self._con.commit()
        self.schema_version = SCHEMA_VERSION

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Translate sqlite3 errors into one-line StoreError / StoreBusyError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from None

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
        """Return the ``meta`` table as a dict (empty for an empty database)."""
        if self.schema_version is None:
            return {}
        with self._guard():
            rows = self._con.execute("SELECT key, value FROM meta").fetchall()
        return {row["key"]: row["value"] for row in rows}

    def set_meta(self, values: dict[str, Any]) -> None:
        """Insert or replace ``meta`` entries (values are stored as strings)."""
        with self._guard(), self._con:
            self._con.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.items()],
            )

    # -- tasks -----------------------------------------------------------------------------
    def add(self, records: Iterable[TaskRecord]) -> int:
        """Write finished tasks in one transaction (a task stored twice is replaced)."""
        rows = [r._row() for r in records]
        placeholders = ", ".join("?" * len(_COLUMNS))
        with self._guard(), self._con:
            self._con.executemany(
                f"INSERT OR REPLACE INTO tasks ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                rows,
            )
        return len(rows)

    def done(self, *, include_errors: bool = True) -> set[tuple[str, int]]:
        """Return the ``(cell_key, trial)`` pairs already stored."""
        if self.schema_version is None:
            return set()
        sql = "SELECT cell_key, trial FROM tasks"
        if not include_errors:
            sql += " WHERE status = 'ok'"
        with self._guard():
            return {(row[0], row[1]) for row in self._con.execute(sql)}

    def delete_errors(self) -> int:
        """Remove the tasks that raised, so that they are run again; return how many."""
        with self._guard(), self._con:
            cur = self._con.execute("DELETE FROM tasks WHERE status = 'error'")
        return cur.rowcount

    def records(self) -> Iterator[TaskRecord]:
        """Yield every stored task, ordered by cell key then trial."""
        if self.schema_version is None:
            return
        with self._guard():
            for row in self._con.execute("SELECT * FROM tasks ORDER BY cell_key, trial"):
                yield TaskRecord._from_row(row)

    def count(self) -> dict[str, int]:
        """Return the number of stored tasks per status."""
        if self.schema_version is None:
            return {}
        with self._guard():
            rows = self._con.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status")
            return {row[0]: row[1] for row in rows}

    # -- runs ------------------------------------------------------------------------------
    def start_run(
        self, *, command: str, trials: int, n_resumed: int, provenance: Mapping[str, Any]
    ) -> int:
        """Record the start of a run; return its id (for :meth:`end_run`)."""
        with self._guard(), self._con:
            cur = self._con.execute(
                "INSERT INTO runs (started_at, command, trials, n_resumed, provenance) "
                "VALUES (?, ?, ?, ?, ?)",
                (utc_now(), command, trials, n_resumed, json.dumps(provenance, sort_keys=True)),
            )
        return int(cur.lastrowid)

    def end_run(self, run_id: int, *, outcome: str, n_run: int) -> None:
        """Record the end of run `run_id`: finished, stopped, interrupted or failed."""
        with self._guard(), self._con:
            self._con.execute(
                "UPDATE runs SET ended_at = ?, outcome = ?, n_run = ? WHERE id = ?",
                (utc_now(), outcome, n_run, run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        """Return the recorded runs, oldest first (empty for a schema-1 store).

        Each is a dict with ``id``, ``started_at``, ``ended_at``, ``outcome``, ``command``,
        ``trials``, ``n_resumed``, ``n_run`` and ``provenance`` (a dict).
        """
        if self.schema_version is None or self.schema_version < 2:
            return []
        with self._guard():
            rows = self._con.execute("SELECT * FROM runs ORDER BY id").fetchall()
        out = []
        for row in rows:
            entry = dict(row)
            entry["provenance"] = json.loads(entry["provenance"])
            out.append(entry)
        return out
