"""Provenance of a run: package versions, git revision, host, threads, command line.

:func:`run_provenance` is what the engine records in the store's ``runs`` table at the start
of every run, and what ``sdlss show`` prints.
"""

from __future__ import annotations

import functools
import os
import platform
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["command_line", "git_revision", "package_version", "run_provenance"]

#: Distributions whose versions are recorded with every run (those installed).
PACKAGES = (
    "sdlss-theory",
    "numpy",
    "scipy",
    "numba",
    "llvmlite",
    "autograd",
    "joblib",
    "threadpoolctl",
    "matplotlib",
    "dask",
    "distributed",
)


@functools.cache
def package_version(name: str = "sdlss-theory") -> str:
    """Return the installed version of distribution `name` (``"unknown"`` if not installed)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def git_revision() -> str:
    """Return the git commit of the package's source tree, ``+dirty`` if modified, or ``""``.

    Only a checkout of this project counts: the folder above ``sdlss_theory`` must hold its
    ``pyproject.toml`` and be the top of a git work tree. An installed copy (in
    ``site-packages``, perhaps inside somebody else's repository) has no revision.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        return ""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root:
            return ""
        rev = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return ""
    return rev + ("+dirty" if dirty else "")


def command_line(argv: list[str] | None = None) -> str:
    """Return the command line of this process as a shell would read it.

    ``python -m pkg`` is shown as such (``sys.argv[0]`` is then the path of
    ``pkg/__main__.py``) and a console script by its name, not its full path.
    """
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    first = Path(argv[0])
    if first.name == "__main__.py":
        head = ["python", "-m", first.parent.name]
    elif first.name == "-c":
        head = ["python", "-c"]
    else:
        head = [first.name]
    return shlex.join(head + argv[1:])


def _blas_pools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return []
    return [
        {
            "api": pool.get("internal_api") or pool.get("user_api"),
            "version": pool.get("version"),
            "threads": pool.get("num_threads"),
        }
        for pool in threadpool_info()
    ]


def _numba_threads() -> int | None:
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    return int(numba.config.NUMBA_NUM_THREADS)


def run_provenance(
    *, backend: str | None, n_jobs: int | None, threads_per_worker: int, seed: int
) -> dict[str, Any]:
    """Return the provenance of a run that starts now, as a JSON-able dict.

    Call it inside the run's thread limits, so that ``blas`` shows the pools as the tasks see
    them.

    Parameters
    ----------
    backend : str or None
        The joblib backend (``None``: joblib's default).
    n_jobs : int or None
        Parallel jobs.
    threads_per_worker : int
        The cap on BLAS/OpenMP threads of each worker.
    seed : int
        The study's root seed.

    Returns
    -------
    dict
        ``python``, ``platform``, ``packages`` (name -> version, installed ones),
        ``git_rev``, ``host``, ``pid``, ``backend``, ``n_jobs``, ``threads_per_worker``,
        ``blas`` (one entry per BLAS/OpenMP pool: api, version, threads), ``numba_threads``
        (numba's thread count; the library's kernels are serial), ``seed``.
    """
    packages = {name: package_version(name) for name in PACKAGES}
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {k: v for k, v in packages.items() if v != "unknown"},
        "git_rev": git_revision(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "backend": backend or "default",
        "n_jobs": n_jobs,
        "threads_per_worker": threads_per_worker,
        "blas": _blas_pools(),
        "numba_threads": _numba_threads(),
        "seed": seed,
    }
