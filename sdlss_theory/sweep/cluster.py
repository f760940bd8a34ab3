"""Connecting a sweep to a dask.distributed cluster (local, by address or by scheduler file)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["dask_client"]


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
    client = _connect(scheduler, scheduler_file, timeout, min_workers)
    try:
        yield client
    finally:
        client.close()


def _connect(
    scheduler: str | None, scheduler_file: str | Path | None, timeout: float, min_workers: int
) -> Any:
    """A client of an existing scheduler once `min_workers` have joined (see `dask_client`)."""
    from distributed import Client

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
        remaining = max(timeout - (time.monotonic() - start), 1.0)
        client.wait_for_workers(min_workers, timeout=remaining)
    except (TimeoutError, asyncio.TimeoutError):
        have = len(client.scheduler_info().get("workers", {}))
        client.close()
        raise ConnectionError(
            f"only {have} of {min_workers} dask workers joined the scheduler at "
            f"{scheduler} within {timeout:g} s; raise --scheduler-timeout or lower "
            "--min-workers"
        ) from None
    except BaseException:
        client.close()
        raise
    return client
