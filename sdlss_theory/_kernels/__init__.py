"""Private numba kernels: plain module-level `@njit` functions, one shim for the options."""

from sdlss_theory._kernels._jit import jit, warm_up

__all__ = ["jit", "warm_up"]
