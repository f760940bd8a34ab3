"""Hard thresholding P_s, row by row.

Tie rule: entries are ranked by magnitude, larger first, and equal magnitudes
by index, smaller first (a stable sort of -|u|), so the result never depends
on the platform's sort.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit, register_warm_up


@jit
def hard_threshold_rows(U, s, out):
    """Write P_s of each row of U into out (same shape); U and out may alias."""
    n_rows, k = U.shape
    if s >= k:
        out[:, :] = U
        return out
    for r in range(n_rows):
        order = np.argsort(-np.abs(U[r]), kind="mergesort")
        # Read the kept values before zeroing, so that U and out may be the same array.
        kept = U[r][order[:s]].copy()
        out[r, :] = 0.0
        for j in range(s):
            out[r, order[j]] = kept[j]
    return out


@register_warm_up
def _warm_up() -> None:
    u = np.array([[3.0, -1.0, 2.0]])
    hard_threshold_rows(u, 1, np.empty_like(u))
