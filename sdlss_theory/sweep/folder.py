"""The output folder of a run: whether it can take a study, setting a store aside, the lock.

A folder receives one study with one configuration (:func:`check_output_folder`); ``--fresh``
renames its store out of the way (:func:`set_aside`); a run holds an advisory lock on
``.lock`` for its whole duration (:func:`exclusive`), which :func:`lock_holder` reads.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdlss_theory.sweep.config import StudyConfig, config_hash, config_to_dict
from sdlss_theory.sweep.store import STORE_NAME, ResultStore, StoreBusyError, utc_now

if TYPE_CHECKING:
    from sdlss_theory.sweep.study import Study

__all__ = [
    "LOCK_NAME",
    "ConfigMismatchError",
    "check_output_folder",
    "exclusive",
    "lock_holder",
    "set_aside",
]


class ConfigMismatchError(RuntimeError):
    """The output folder holds a store made with a different configuration."""


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


def set_aside(out_dir: Path) -> Path | None:
    """Rename an existing store to ``store.<UTC time>.sqlite`` (after a WAL checkpoint).

    Only a results store is set aside: a file that is not one raises
    :class:`~sdlss_theory.sweep.store.StoreError` and stays where it is.
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
def exclusive(out_dir: Path) -> Iterator[None]:
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


