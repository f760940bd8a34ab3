"""Shared pytest configuration: the hypothesis profiles and the numba kernels compiled up front.

Hypothesis: ``ci`` (selected when the environment variable ``CI`` is set) is derandomised, so
a CI run explores the same examples every time; ``dev`` (the default) draws fresh examples.
Neither has a deadline: the first call of a numba kernel may load or compile it, which would
trip one.

Kernels: the suite runs on pytest-xdist workers (``-n auto`` in pyproject's ``addopts``).
With numba's on-disk cache cold (a fresh clone, or a kernel module just edited), compiling
every kernel takes about 70 s of CPU, and each worker would compile, one after the other,
every kernel its tests call. So before the workers start, the main pytest process compiles
the kernel modules into numba's cache in two processes side by side (`KERNEL_GROUPS`), and the
workers load them from there (about a second). With a warm cache this costs the two
processes' start (about 2 s of wall time). It is skipped when numba's JIT or its disk cache
is off (``NUMBA_DISABLE_JIT=1``, ``SDLSS_NUMBA_CACHE=0``), and in a worker. A failed
compilation is not reported here: the tests that call the kernel compile it again and fail
with the error.
"""

import os
import subprocess
import sys

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if "CI" in os.environ else "dev")

#: The kernel modules of `sdlss_theory._kernels`, in two groups compiled side by side, each
#: in dependency order. Balanced on cold compile times (CPU seconds, one core): network 15,
#: threshold 1.3, iht 6.7, refit 13, swap 18, beam 3.2, pairs 7.1, regions 6.8. swap and
#: beam call refit and network, which the second group compiles again for the signatures it
#: needs (the first group's cache files are not yet written when it starts): about 45 s
#: against 72 s one after the other.
KERNEL_GROUPS = (
    ("network", "threshold", "iht", "refit"),
    ("pairs", "regions", "swap", "beam"),
)

_WARM = (
    "import importlib, sys\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module('sdlss_theory._kernels.' + name).warm_up()\n"
)


def _compile_kernels_side_by_side(rootdir) -> None:
    """Fill numba's cache with every kernel, one process per group of `KERNEL_GROUPS`."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WARM, *group],
            cwd=rootdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for group in KERNEL_GROUPS
    ]
    for proc in procs:
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pytest_configure(config):
    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # an xdist worker (the main process compiled the kernels), or nothing runs
    if not getattr(config.option, "numprocesses", None):
        return  # one process (-n 0, or no xdist): its tests compile what they call
    import numba

    from sdlss_theory._kernels import _jit

    if numba.config.DISABLE_JIT or not _jit.CACHE:
        return
    _compile_kernels_side_by_side(config.rootpath)
