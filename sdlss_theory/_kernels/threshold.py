"""Hard thresholding P_s, row by row.

Tie rule: entries are ranked by magnitude, larger first, and equal magnitudes
by index, smaller first (a stable sort of -|u|), so the result never depends
on the platform's sort.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit, register_warm_up


@jit
def hard_threshold_rows(U, s, out):
    """Write P_s of each row of U into out (same shape); U and out may alias.

    Selection by insertion into a sorted list of the s largest (O(k s) comparisons per row,
    no allocation per row): an entry enters only if its magnitude is strictly larger than
    the smallest kept one, so equal magnitudes keep the smaller index, as a stable sort of
    -|u| would. A NaN ranks below every number (as it would sort last).
    """
    n_rows, k = U.shape
    if s >= k:
        out[:, :] = U
        return out
    if s <= 0:
        out[:, :] = 0.0
        return out
    keep = np.empty(s, dtype=np.int64)
    mags = np.empty(s)
    vals = np.empty(s)
    for r in range(n_rows):
        count = 0
        for j in range(k):
            a = abs(U[r, j])
            if a != a:  # NaN
                a = -1.0
            if count == s and not a > mags[s - 1]:
                continue
            # Insert after every kept entry of larger or equal magnitude.
            pos = count if count < s else s - 1
            while pos > 0 and mags[pos - 1] < a:
                pos -= 1
            last = count if count < s else s - 1
            for q in range(last, pos, -1):
                mags[q] = mags[q - 1]
                keep[q] = keep[q - 1]
            mags[pos] = a
            keep[pos] = j
            if count < s:
                count += 1
        for q in range(s):
            vals[q] = U[r, keep[q]]
        for j in range(k):
            out[r, j] = 0.0
        for q in range(s):
            out[r, keep[q]] = vals[q]
    return out


@register_warm_up
def _warm_up() -> None:
    u = np.array([[3.0, -1.0, 2.0]])
    hard_threshold_rows(u, 1, np.empty_like(u))
