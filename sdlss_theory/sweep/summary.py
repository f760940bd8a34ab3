"""Summaries of a study's tasks: per-cell rates with Wilson intervals and quantiles.

``summary.csv`` has one row per grid cell, in grid order, with the columns

* one per parameter, named as in the grid (``m``, ``s``, ``solver``, ...);
* ``n_ok``, ``n_failed``, ``n_nonfinite``: tasks that returned metrics, tasks that raised, and
  tasks that returned a NaN/inf metric;
* for the success metric ``<name>`` (a bool): ``<name>_count``, ``<name>_rate``,
  ``<name>_lo``, ``<name>_hi`` (Wilson 95% interval);
* for every other numeric metric ``<m>``: ``<m>_mean``, ``<m>_median``, ``<m>_q05``,
  ``<m>_q95``, over its finite values.

The transition points fitted to these rates are in `sdlss_theory.sweep.transitions`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from sdlss_theory.sweep.seeds import cell_key
from sdlss_theory.sweep.store import TaskRecord

__all__ = [
    "read_summary_csv",
    "summarise",
    "summary_columns",
    "wilson_interval",
    "write_csv",
    "trials_table",
]


def wilson_interval(
    successes: ArrayLike, trials: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    r"""Wilson score interval for a binomial proportion.

    With :math:`\hat p = k/n` and :math:`z = \Phi^{-1}((1+c)/2)`,

    .. math::

        \frac{\hat p + z^2/(2n) \pm z\sqrt{\hat p(1-\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}.

    Unlike the Wald interval it stays inside [0, 1] and is not degenerate at 0 or n successes
    (Wilson, *J. Amer. Statist. Assoc.* 22, 1927; Brown, Cai & DasGupta, *Statist. Sci.* 16,
    2001).

    Parameters
    ----------
    successes, trials : array_like of int
        Success counts ``k`` and trial counts ``n`` (broadcast together); ``n = 0`` gives NaN.
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    lo, hi : ndarray of float64
        The interval's ends.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("successes must satisfy 0 <= successes <= trials")
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact ends at k = 0 and k = n (the formula gives them up to rounding).
    lo = np.where((k == 0) & (n > 0), 0.0, lo)
    hi = np.where((k == n) & (n > 0), 1.0, hi)
    return lo, hi


def _columns(grid: Sequence[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for params in grid:
        for key in params:
            if key not in names:
                names.append(key)
    return names


def _describe(name: str, ok: Sequence[TaskRecord]) -> dict[str, float]:
    """Mean, median, 5% and 95% quantiles of the finite values of metric `name` (else NaN)."""
    values = np.array([float(r.metrics[name]) for r in ok if r.metrics.get(name) is not None],
                      dtype=np.float64)  # fmt: skip
    values = values[np.isfinite(values)]
    if not values.size:
        return {f"{name}_{stat}": math.nan for stat in ("mean", "median", "q05", "q95")}
    q05, med, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    return {f"{name}_mean": float(values.mean()), f"{name}_median": float(med),
            f"{name}_q05": float(q05), f"{name}_q95": float(q95)}  # fmt: skip


def summarise(
    grid: Sequence[Mapping[str, Any]],
    records: Iterable[TaskRecord],
    *,
    trials: int | Sequence[int],
    success: str | None = "success",
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Aggregate stored tasks into one row per grid cell.

    Parameters
    ----------
    grid : sequence of mapping
        The study's cells, in the order the rows should have.
    records : iterable of TaskRecord
        Stored tasks; those of cells not in `grid` or with ``trial >= trials`` are ignored.
    trials : int or sequence of int
        The number of trials per cell of the current configuration, or one per cell of `grid`
        (cells with their own ``"trials"``, see :class:`~sdlss_theory.sweep.Study`).
    success : str or None
        The boolean metric whose rate is reported with a Wilson interval.
    metrics : sequence of str, optional
        Numeric metrics to describe (mean, median, 5% and 95% quantiles of finite values).
        Default: every numeric, non-boolean metric seen.
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    list of dict
        The rows (see the module docstring for the columns).
    """
    keys = [cell_key(p) for p in grid]
    counts = [trials] * len(keys) if isinstance(trials, (int, np.integer)) else list(trials)
    if len(counts) != len(keys):
        raise ValueError(f"trials must be an int or one per cell ({len(keys)}), got {counts}")
    limit = dict(zip(keys, counts, strict=True))
    per_cell: dict[str, list[TaskRecord]] = {k: [] for k in keys}
    seen_metrics: list[str] = []
    for rec in records:
        if rec.trial < limit.get(rec.cell_key, 0):
            per_cell[rec.cell_key].append(rec)
            for name, value in (rec.metrics or {}).items():
                if (
                    name not in seen_metrics
                    and name != success
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                ):
                    seen_metrics.append(name)
    metrics = list(seen_metrics if metrics is None else metrics)
    names = _columns(grid)
    rows = []
    for params, key in zip(grid, keys, strict=True):
        recs = per_cell[key]
        ok = [r for r in recs if r.status == "ok"]
        row: dict[str, Any] = {name: params.get(name) for name in names}
        row.update(n_ok=len(ok), n_failed=len(recs) - len(ok),
                   n_nonfinite=sum(1 for r in ok if r.nonfinite))  # fmt: skip
        if success is not None:
            k = sum(1 for r in ok if bool(r.metrics.get(success, False)))
            lo, hi = wilson_interval(k, len(ok), confidence)
            row[f"{success}_count"] = k
            row[f"{success}_rate"] = k / len(ok) if ok else math.nan
            row[f"{success}_lo"] = float(lo)
            row[f"{success}_hi"] = float(hi)
        for name in metrics:
            row.update(_describe(name, ok))
        rows.append(row)
    return rows


def trials_table(records: Iterable[TaskRecord], *, trials: int | None = None) -> list[dict]:
    """Flatten stored tasks into rows: parameters, trial, status, metrics, wall time, error."""
    rows = []
    for rec in records:
        if trials is not None and rec.trial >= trials:
            continue
        row: dict[str, Any] = dict(rec.params)
        row.update(cell_key=rec.cell_key, trial=rec.trial, status=rec.status)
        row.update(rec.metrics or {})
        row.update(wall_time=rec.wall_time, error=rec.error)
        rows.append(row)
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _cell_text(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return ""
    return value


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows (dicts) to a CSV file; lists become JSON text, floats are written exactly."""
    path = Path(path)
    columns = _columns(rows)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell_text(row.get(k)) for k in columns})
    tmp.replace(path)
    return path


def _parse_cell(text: str) -> Any:
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def summary_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Turn summary rows (dicts) into columns, typed as :func:`read_summary_csv` types them.

    Returns
    -------
    dict of str to ndarray
        One array per column: float64 for numeric columns (ints included; missing values are
        NaN), bool for columns of booleans, object arrays otherwise.
    """
    out: dict[str, np.ndarray] = {}
    for col in _columns(rows):
        values = [row.get(col) for row in rows]
        if values and all(isinstance(v, bool) for v in values):
            out[col] = np.array(values, dtype=bool)
        elif all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
        ):
            out[col] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        else:
            out[col] = np.empty(len(values), dtype=object)
            out[col][:] = values
    return out


def read_summary_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``summary.csv`` (or ``trials.csv``) into columns.

    Returns
    -------
    dict of str to ndarray
        One array per column: float64 for numeric columns (ints included; empty cells are NaN),
        bool for True/False columns, object arrays otherwise.
    """
    path = Path(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [{col: _parse_cell(text) for col, text in row.items()} for row in reader]
        columns = reader.fieldnames or []
    if not rows:
        return {col: np.array([], dtype=np.float64) for col in columns}
    return summary_columns(rows)
