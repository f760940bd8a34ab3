"""Private numba kernels: plain module-level functions compiled with one set of options.

`MODULES` is the explicit list of kernel modules; each defines a ``warm_up()`` that calls
every kernel it holds on tiny inputs. `warm_up` runs them all, so that sweep workers and
benchmarks load every kernel from numba's cache (or compile it) before any measurement.
Options and the cache switch: `sdlss_theory._kernels._jit`.
"""

from __future__ import annotations

from sdlss_theory._kernels import beam, iht, network, pairs, refit, regions, swap, threshold
from sdlss_theory._kernels._jit import jit

__all__ = ["MODULES", "jit", "warm_up"]

#: Every module that holds kernels, in dependency order.
MODULES = (network, threshold, iht, refit, swap, beam, pairs, regions)


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) every kernel of every module."""
    for module in MODULES:
        module.warm_up()
