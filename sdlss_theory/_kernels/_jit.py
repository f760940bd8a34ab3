"""The one place that sets numba options: cache on, fastmath off, no parallel.

Kernels are compiled lazily on first call and cached on disk; `warm_up()` compiles
(or loads from cache) every kernel up front, so that sweep workers and benchmarks
never pay a cold compile inside a measurement.
"""

from __future__ import annotations

import functools

import numba

jit = functools.partial(numba.njit, cache=True, fastmath=False, nogil=True)

_WARMUPS: list = []


def register_warm_up(func):
    """Register a zero-argument function that calls a module's kernels on tiny inputs."""
    _WARMUPS.append(func)
    return func


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every registered kernel."""
    # Importing the kernel modules registers their warm-ups.
    from sdlss_theory._kernels import latent, threshold  # noqa: F401

    for func in _WARMUPS:
        func()
