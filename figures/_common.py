"""Helpers shared by several figures (a private module: not discovered as a figure)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def per_seed_values(trials: list[dict], metric: str, x: str) -> dict[int, np.ndarray]:
    """The values of `metric` in the per-trial rows, grouped by ``int(row[x])``."""
    out: dict[int, list[float]] = {}
    for row in trials:
        out.setdefault(int(row[x]), []).append(row[metric])
    return {v: np.asarray(vals) for v, vals in out.items()}


def per_seed_values_by(
    trials: list[dict], metric: str, x: str, by: str
) -> dict[str, dict[int, np.ndarray]]:
    """`per_seed_values` for each value of ``row[by]``, in the order they first appear."""
    groups: dict[str, list[dict]] = {}
    for row in trials:
        groups.setdefault(row[by], []).append(row)
    return {group: per_seed_values(rows, metric, x) for group, rows in groups.items()}


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """The mean of `values` and its 95% Student-t interval (NaN bounds for fewer than 2)."""
    n = values.size
    mean = float(np.mean(values))
    if n < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def plot_seed_means(ax, per_x: dict[int, np.ndarray], **style):
    """Draw one dot per seed at each x, the mean over seeds and its 95% t-interval as a band.

    `per_x` maps an x value to the values of the seeds there; `style` goes to the mean's line.
    Returns the line.
    """
    xs = np.array(sorted(per_x))
    values = [np.asarray(per_x[v]) for v in xs]
    summary = np.array([mean_ci(v) for v in values])
    (line,) = ax.plot(xs, summary[:, 0], **style)
    if np.all(np.isfinite(summary[:, 1])):
        ax.fill_between(xs, summary[:, 1], summary[:, 2], color=line.get_color(), alpha=0.2,
                        linewidth=0)  # fmt: skip
    for v, vals in zip(xs, values, strict=True):
        ax.plot(np.full(vals.size, v), vals, linestyle="none", marker=".",
                color=line.get_color(), alpha=0.6, markersize=3)  # fmt: skip
    return line
