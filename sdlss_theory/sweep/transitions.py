"""Transition points of success curves: logistic fits (Firth's where separated), crossings.

`fit_transition` fits one curve's counts, `fit_transitions` every curve of a summary table
(`sdlss_theory.sweep.summary`), `empirical_crossing` reads the crossing off the rates, and
`transition_point` is the rule the studies report: the fitted point inside the grid, else the
empirical crossing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from sdlss_theory.sweep.summary import _json_value

__all__ = [
    "TransitionFit",
    "empirical_crossing",
    "fit_transition",
    "fit_transitions",
    "transition_point",
]


@dataclass(frozen=True)
class TransitionFit:
    """The point where a success curve crosses a level (1/2 by default).

    Attributes
    ----------
    x50 : float
        Where the fitted success probability equals `level` (the 50% point by default; the
        name is kept for every level).
    lo, hi : float
        Its confidence interval.
    slope : float
        The logistic slope ``b`` in ``P(success) = expit(a + b x)`` (inf if separated).
    method : str
        ``"logistic"`` (maximum likelihood, Wald interval by the delta method);
        ``"firth"`` (the maximum-likelihood estimate does not exist, as with quasi-separated
        counts: Firth's penalised likelihood, same interval); ``"separated"`` (the data jump
        from all failures to all successes between two neighbouring ``x``: ``x50`` is their
        midpoint and the interval spans them, whatever the level); or ``"none"`` (no
        transition inside the data: all NaN).
    level : float
        The success probability the point is fitted at.
    """

    x50: float
    lo: float
    hi: float
    slope: float
    method: str
    level: float = 0.5


def fit_transition(
    x: ArrayLike,
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    level: float = 0.5,
    confidence: float = 0.95,
) -> TransitionFit:
    r"""Fit a logistic curve to binomial success counts and return where it crosses `level`.

    The model is :math:`k_i \sim \mathrm{Bin}(n_i, \sigma(a + b x_i))`, fitted by iteratively
    reweighted least squares (maximum likelihood); the point is
    :math:`x_q = (\mathrm{logit}(q) - a)/b` (:math:`-a/b` at :math:`q = 1/2`) and its standard
    error comes from the delta method with the inverse Fisher information,
    :math:`\nabla x_q = (-1/b, -(\mathrm{logit}(q) - a)/b^2)`. Pass ``log(m)`` as `x` to fit on
    a log scale.

    Where the maximum-likelihood estimate does not exist (IRLS does not converge: typically
    quasi-separated counts at small trial numbers, all failures up to one mixed cell and all
    successes after it), the estimate maximises Firth's penalised log-likelihood
    :math:`\ell(a, b) + \tfrac12 \log\det I(a, b)` instead [1]_, which is finite for such
    data; its interval is the same Wald interval, an approximation that is rough when the
    data are (quasi-)separated [2]_. Complete separation (all failures, then all successes)
    keeps its own rule (``method="separated"``).

    Parameters
    ----------
    x : array_like
        The swept parameter (e.g. ``m`` or ``m / n``), one value per cell.
    successes, trials : array_like of int
        Success and trial counts per cell (cells with no trials are ignored).
    level : float
        The success probability in (0, 1) whose crossing is returned.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    TransitionFit
        The fit (an estimate with an approximate interval); see its attributes for the
        ``method`` values.

    References
    ----------
    .. [1] D. Firth, "Bias reduction of maximum likelihood estimates", Biometrika 80(1),
       1993.
    .. [2] G. Heinze and M. Schemper, "A solution to the problem of separation in logistic
       regression", Statistics in Medicine 21(16), 2002.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x, k, n = _sorted_counts(x, successes, trials)
    nan = TransitionFit(math.nan, math.nan, math.nan, math.nan, "none", level)
    if x.size < 2 or np.all(k == 0) or np.all(k == n):
        return nan
    # Complete separation: all failures, then all successes (no MLE exists).
    full, empty = k == n, k == 0
    if np.all(full | empty):
        for i in range(x.size - 1):
            if np.all(empty[: i + 1]) and np.all(full[i + 1 :]):
                mid = 0.5 * (x[i] + x[i + 1])
                return TransitionFit(
                    mid, float(x[i]), float(x[i + 1]), math.inf, "separated", level
                )
    X = np.column_stack([np.ones_like(x), x])
    method, beta = "logistic", _logistic_mle(X, k, n)
    if beta is None:
        method, beta = "firth", _logistic_firth(X, k, n)
    if beta is None:
        return nan
    return _wald_point(X, n, beta, method, level, confidence) or nan


def _sorted_counts(x, successes, trials) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells with trials, sorted by x (stable), as float arrays."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if not (x.shape == k.shape == n.shape and x.ndim == 1):
        raise ValueError("x, successes and trials must be 1-D arrays of the same length")
    keep = n > 0
    x, k, n = x[keep], k[keep], n[keep]
    order = np.argsort(x, kind="stable")
    return x[order], k[order], n[order]


def _wald_point(
    X: np.ndarray, n: np.ndarray, beta: np.ndarray, method: str, level: float, confidence: float
) -> TransitionFit | None:
    """Where expit(X beta) crosses `level`, with its delta-method interval.

    None where the Fisher information is singular.
    """
    a, b = beta
    p = special.expit(X @ beta)
    info = X.T @ ((n * p * (1 - p))[:, None] * X)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None
    logit_q = float(special.logit(level))
    x50 = (logit_q - a) / b
    g = np.array([-1.0 / b, -(logit_q - a) / b**2])
    se = math.sqrt(max(float(g @ cov @ g), 0.0))
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    lo, hi = float(x50 - z * se), float(x50 + z * se)
    return TransitionFit(float(x50), lo, hi, float(b), method, level)


def _logistic_mle(X: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray | None:
    """The binomial logistic MLE (a, b) by IRLS, or None where it does not converge."""
    # IRLS for the logistic GLM, started from a least-squares fit of the empirical logits.
    logit = np.log((k + 0.5) / (n - k + 0.5))
    beta = np.linalg.lstsq(X, logit, rcond=None)[0]
    for _ in range(100):
        p = special.expit(X @ beta)
        w = n * p * (1 - p)
        info = X.T @ (w[:, None] * X)
        grad = X.T @ (k - n * p)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) <= 1e-10 * (1 + np.max(np.abs(beta))):
            b = beta[1]
            return beta if np.isfinite(b) and b != 0 else None
    return None


def _firth_objective(theta: np.ndarray, X: np.ndarray, k: np.ndarray, n: np.ndarray):
    r"""Minus Firth's penalised log-likelihood and its gradient (the modified score).

    :math:`-\ell(\theta) - \tfrac12 \log\det(X^T W X)`, W = diag(n p (1 - p)); the
    gradient is :math:`-X^T (k - n p + h (1/2 - p))` with h the diagonal of the hat matrix
    :math:`W^{1/2} X (X^T W X)^{-1} X^T W^{1/2}` (Firth 1993, for grouped binomial rows).
    """
    eta = X @ theta
    p = special.expit(eta)
    w = n * p * (1 - p)
    info = X.T @ (w[:, None] * X)
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        return np.inf, np.zeros_like(theta)
    loglik = float(np.sum(k * eta - n * np.logaddexp(0.0, eta)))
    h = w * np.einsum("ij,ij->i", X, np.linalg.solve(info, X.T).T)
    score = X.T @ (k - n * p + h * (0.5 - p))
    return -(loglik + 0.5 * logdet), -score


def _logistic_firth(X: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray | None:
    """Firth's penalised logistic estimate (a, b), or None where the optimiser fails.

    Fitted on the standardised covariate (better conditioned; the penalised estimate is
    equivariant under affine changes of x) by BFGS with the modified score as gradient.
    """
    x = X[:, 1]
    centre, scale = float(np.mean(x)), float(np.std(x))
    if scale == 0.0:
        return None
    Xs = np.column_stack([np.ones_like(x), (x - centre) / scale])
    start = np.linalg.lstsq(Xs, np.log((k + 0.5) / (n - k + 0.5)), rcond=None)[0]
    res = optimize.minimize(
        _firth_objective, start, args=(Xs, k, n), jac=True, method="BFGS",
        options={"gtol": 1e-9, "maxiter": 1000},
    )  # fmt: skip
    _, grad = _firth_objective(res.x, Xs, k, n)
    if not (np.all(np.isfinite(res.x)) and np.max(np.abs(grad)) <= 1e-6 * (1 + np.sum(n))):
        return None
    a_s, b_s = res.x
    if b_s == 0.0:
        return None
    return np.array([a_s - b_s * centre / scale, b_s / scale])


def empirical_crossing(
    x: ArrayLike, rate: ArrayLike, *, level: float = 0.5, log: bool = True
) -> float:
    """Where an observed success rate first reaches `level`, interpolated between grid values.

    The interpolation is linear in ``log x`` (or in ``x`` with ``log=False``) between the
    last ``x`` below `level` and the first at or above it: the fallback where a fitted
    curve (`fit_transition`) is missing or lies outside the grid. A plain read of the data,
    with no interval.

    Parameters
    ----------
    x : array_like
        The grid, increasing (positive when `log`).
    rate : array_like
        The success rate at each grid value.
    level : float
        The rate whose crossing is wanted.
    log : bool
        Interpolate in ``log x``.

    Returns
    -------
    float
        The crossing; ``-inf`` when the rate is already at or above `level` at the first
        ``x``, ``+inf`` when it never reaches it.
    """
    x = np.asarray(x, dtype=np.float64)
    rate = np.asarray(rate, dtype=np.float64)
    if x.shape != rate.shape or x.ndim != 1:
        raise ValueError("x and rate must be 1-D arrays of the same length")
    above = np.flatnonzero(rate >= level)
    if above.size == 0:
        return math.inf
    i = int(above[0])
    if i == 0:
        return -math.inf
    t = np.log(x) if log else x
    w = (level - rate[i - 1]) / (rate[i] - rate[i - 1])
    point = t[i - 1] + w * (t[i] - t[i - 1])
    return float(np.exp(point) if log else point)


def transition_point(
    x: ArrayLike, successes: ArrayLike, trials: ArrayLike, *, level: float = 0.5
) -> tuple[float, TransitionFit | None]:
    """Where a success rate crosses `level`: the fitted point inside the grid, else the data's.

    The logistic fit's point (`fit_transition`) when it lies within [min x, max x]; otherwise
    the empirical crossing (`empirical_crossing`, linear in log x). The rule the studies and
    figures use to report one transition point per curve.

    Parameters
    ----------
    x : array_like
        The grid, increasing and positive.
    successes, trials : array_like
        Success counts and trial counts at each grid value (trials > 0).
    level : float
        The success rate whose crossing is wanted.

    Returns
    -------
    point : float
        The crossing; ``-inf`` when the rate is already at or above `level` at the first x and
        no fit lies inside, ``+inf`` when it never reaches it.
    fit : TransitionFit or None
        The fit when `point` is the fitted one (with its interval), None when `point` is the
        empirical crossing (no interval).
    """
    x, successes, trials = (np.asarray(a, dtype=np.float64) for a in (x, successes, trials))
    fit = fit_transition(x, successes, trials, level=level)
    if np.isfinite(fit.x50) and x.min() <= fit.x50 <= x.max():
        return float(fit.x50), fit
    return empirical_crossing(x, successes / trials, level=level), None


def fit_transitions(
    summary: Mapping[str, np.ndarray] | Sequence[Mapping[str, Any]],
    *,
    x: str,
    by: Sequence[str] = (),
    success: str = "success",
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Fit the 50% transition along `x` for every combination of the `by` columns.

    Parameters
    ----------
    summary : dict of columns or list of rows
        A summary table (from :func:`summarise` or :func:`read_summary_csv`).
    x : str
        The column swept across the transition (e.g. ``"m"``).
    by : sequence of str
        Columns that identify a curve (e.g. ``("s",)``).
    success : str
        The success metric's name (uses ``<success>_count`` and ``n_ok``).
    confidence : float
        Coverage of the intervals.

    Returns
    -------
    list of dict
        One dict per curve: the `by` values, then ``x50``, ``x50_lo``, ``x50_hi``, ``slope``,
        ``method``.
    """
    if isinstance(summary, Mapping):
        length = len(next(iter(summary.values()))) if summary else 0
        rows = [{c: summary[c][i] for c in summary} for i in range(length)]
    else:
        rows = list(summary)
    # Grouped by the canonical JSON of the `by` values, so that list-valued parameters
    # (``hidden = [60, 120]``) identify curves too.
    groups: dict[str, tuple[tuple, list[Mapping[str, Any]]]] = {}
    for row in rows:
        values = tuple(row[c] for c in by)
        key = json.dumps([_json_value(v) for v in values], sort_keys=True)
        groups.setdefault(key, (values, []))[1].append(row)
    out = []
    for values, members in groups.values():
        fit = fit_transition(
            [r[x] for r in members],
            [r[f"{success}_count"] for r in members],
            [r["n_ok"] for r in members],
            confidence=confidence,
        )
        entry = dict(zip(by, values, strict=True))
        entry.update(x50=fit.x50, x50_lo=fit.lo, x50_hi=fit.hi, slope=fit.slope, method=fit.method)
        out.append(entry)
    return out
