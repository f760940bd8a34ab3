"""Hard thresholding P_s, row by row, and the one rule that grows a support by a score.

Tie rule: entries are ranked by magnitude, larger first, and equal magnitudes
by index, smaller first (a stable sort of -|u|), so the result never depends
on the platform's sort.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit


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


@jit
def grow_support(inside, score, s, out):
    """Out <- the indicator (0/1) of ``inside`` grown to s entries by the largest |score|.

    ``inside`` is a boolean mask (the current support); the entries outside it join in
    order of |score|, larger first, ties by index (the rule of `hard_threshold_rows`), an
    entry whose score is 0 included. Every entry of ``inside`` stays when it has at most s
    entries. This is the support Gamma of normalised IHT, of the restricted step rule and
    of one greedy growth step (s = |inside| + 1).
    """
    k = score.shape[0]
    n_in = 0
    for j in range(k):
        out[j] = 1.0 if inside[j] else 0.0
        n_in += inside[j]
    if s - n_in == 1:
        # One entry joins (a greedy growth step): the first of largest |score| outside.
        best, best_j = -1.0, -1
        for j in range(k):
            if not inside[j] and abs(score[j]) > best:
                best, best_j = abs(score[j]), j
        if best_j >= 0:
            out[best_j] = 1.0
        return out
    rank = np.empty((1, k))
    top = 0.0
    for j in range(k):
        rank[0, j] = abs(score[j]) + 1.0  # shifted: a zero score can still be chosen
        top = max(top, rank[0, j])
    for j in range(k):
        if inside[j]:
            rank[0, j] = top + 1.0
    hard_threshold_rows(rank, s, rank)
    for j in range(k):
        out[j] = 1.0 if rank[0, j] != 0.0 else 0.0
    return out


def warm_up() -> None:
    """Compile the kernels of this module."""
    u = np.array([[3.0, -1.0, 2.0]])
    hard_threshold_rows(u, 1, np.empty_like(u))
    grow_support(np.array([False, True, False]), u[0], 2, np.empty(3))
