"""Shared pytest configuration: the hypothesis profiles and the numba kernels compiled up front.

Hypothesis: ``ci`` (selected when the environment variable ``CI`` is set) is derandomised, so
a CI run explores the same examples every time; ``dev`` (the default) draws fresh examples.
Neither has a deadline: the first call of a numba kernel may load or compile it, which would
trip one.

Kernels: the suite runs on pytest-xdist workers (``-n auto`` in pyproject's ``addopts``).
With numba's on-disk cache cold (a fresh clone, or a kernel module just edited), compiling
every kernel takes about 70 s of CPU, and each worker would compile, one after the other,
every kernel its tests call. So the main pytest process starts two processes that compile the
kernel modules into numba's cache side by side (`KERNEL_GROUPS`); the workers start and
collect meanwhile, wait for both to finish before their first test, and load the kernels from
the cache (about a second). With a warm cache this costs the two processes' start (about a
second each). It is skipped when numba's JIT or its disk cache is off
(``NUMBA_DISABLE_JIT=1``, ``SDLSS_NUMBA_CACHE=0``) and in a one-process run (``-n 0``). A
failed compilation is not reported here: the tests that call the kernel compile it again and
fail with the error.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if "CI" in os.environ else "dev")

#: The kernel modules of `sdlss_theory._kernels`, in two groups compiled side by side, each
#: in dependency order. Balanced on cold compile times (CPU seconds, one core): network 15,
#: threshold 1.3, iht 6.7, refit 13, swap 18, beam 3.2, pairs 7.1, regions 6.8. swap and
#: beam call refit and network, which the second group compiles again for the signatures it
#: needs (the first group's cache files are not yet written when it starts). Measured side
#: by side, cold: 39 and 40 s for these groups, 31 and 43 s with pairs in the second group,
#: 72 s one after the other.
KERNEL_GROUPS = (
    ("network", "threshold", "iht", "refit", "pairs"),
    ("regions", "swap", "beam"),
)

_WARM = (
    "import importlib, sys\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module('sdlss_theory._kernels.' + name).warm_up()\n"
)
#: The environment variable that names, for the workers, the files that appear when the
#: compiling processes have ended (however they ended).
_MARKERS = "SDLSS_TESTS_KERNELS_COMPILED"
_WAIT = 600  # seconds a worker waits for the compiling processes, then compiles by itself
_procs: list = []
_watchers: list = []


def _start_compiling(rootdir) -> None:
    """Start one process per group of `KERNEL_GROUPS` that fills numba's cache with its
    kernels, and a thread that creates a marker file when it ends; tell the workers (through
    the environment they inherit) which files to wait for."""
    folder = Path(tempfile.mkdtemp(prefix="sdlss-kernels-"))
    markers = [folder / f"group{i}.done" for i in range(len(KERNEL_GROUPS))]
    for marker, group in zip(markers, KERNEL_GROUPS, strict=True):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WARM, *group],
            cwd=rootdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _procs.append(proc)

        def watch(proc=proc, marker=marker):
            try:
                proc.wait(timeout=_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            marker.touch()

        _watchers.append(threading.Thread(target=watch, daemon=True))
        _watchers[-1].start()
    os.environ[_MARKERS] = os.pathsep.join(map(str, markers))


def pytest_configure(config):
    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # an xdist worker (it waits for the compilation), or nothing runs
    if not getattr(config.option, "numprocesses", None):
        return  # one process (-n 0, or no xdist): its tests compile what they call
    import numba

    from sdlss_theory._kernels import _jit

    if numba.config.DISABLE_JIT or not _jit.CACHE:
        return
    _start_compiling(config.rootpath)


def pytest_collection_finish(session):
    """In a worker: wait until the kernels are in numba's cache (the main process started
    their compilation), before the first test."""
    markers = os.environ.get(_MARKERS)
    if not markers or not hasattr(session.config, "workerinput"):
        return
    deadline = time.monotonic() + _WAIT
    while not all(map(os.path.exists, markers.split(os.pathsep))):
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def pytest_unconfigure(config):
    if not _watchers:
        return
    for proc in _procs:  # in the main process: ended before the first test, unless the
        proc.kill()  # run was interrupted
    for watcher in _watchers:
        watcher.join()
    _procs.clear()
    _watchers.clear()
    markers = os.environ.pop(_MARKERS).split(os.pathsep)
    shutil.rmtree(Path(markers[0]).parent, ignore_errors=True)
