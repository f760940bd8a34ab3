"""Means with Student-t intervals, and differences paired over draws.

A draw (of A, test signals, starting noise) is shared by every method of a cell, so the
per-draw differences between two methods are paired: their mean and its t-interval say
whether one method beats the other beyond the draw-to-draw spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from scipy import stats


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its two-sided Student-t interval (NaN bounds for fewer than 2 values).

    Examples
    --------
    >>> mean, lo, hi = mean_ci([1.0, 2.0, 3.0])
    >>> print(f"{mean:.1f} [{lo:.3f}, {hi:.3f}]")
    2.0 [-0.484, 4.484]
    """
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(np.mean(values))
    if values.size < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.5 + confidence / 2, values.size - 1) * np.std(values, ddof=1)
    half /= np.sqrt(values.size)
    return mean, mean - half, mean + half


def paired(
    a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95
) -> tuple[float, float, float, int]:
    """Mean of ``a[d] - b[d]`` over the draws d both have, its t-interval, and their number."""
    common = sorted(set(a) & set(b))
    if not common:
        return np.nan, np.nan, np.nan, 0
    return (*mean_ci([a[d] - b[d] for d in common], confidence), len(common))
