"""The one place that sets numba options: cache on (unless switched off), fastmath off.

This module is a leaf: it imports numba and nothing of the package. The list of kernel
modules to compile ahead of use lives in `sdlss_theory._kernels` (`MODULES`, `warm_up`).

Environment
-----------
``SDLSS_NUMBA_CACHE=0``
    Turn numba's on-disk cache off (for read-only installs, where numba cannot write its
    cache files next to the sources; the kernels are then compiled once per process).
    Any other value, or none, keeps it on.
``NUMBA_DISABLE_JIT=1``
    numba's own switch: every kernel runs as plain Python (slow; the test suite runs the
    kernel tests this way too).
"""

from __future__ import annotations

import functools
import os

import numba

#: Whether compiled kernels are cached on disk (``SDLSS_NUMBA_CACHE``, default on).
CACHE = os.environ.get("SDLSS_NUMBA_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}

#: The options of every kernel.
OPTIONS = {"cache": CACHE, "fastmath": False, "nogil": True}

jit = functools.partial(numba.njit, **OPTIONS)

#: The same options for a small helper a kernel calls in its inner loops (once per row and
#: iteration): numba inlines it into the caller's IR, so the split costs no call (a call
#: would pass its arrays with their reference counts, measurable at small sizes).
jit_inline = functools.partial(numba.njit, inline="always", **OPTIONS)
