"""Wilson intervals, per-cell summaries and the logistic 50%-transition fit."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, special, stats

from sdlss_theory.sweep import (
    TaskRecord,
    cell_key,
    empirical_crossing,
    fit_transition,
    fit_transitions,
    read_summary_csv,
    summarise,
    wilson_interval,
    write_csv,
)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_scipy(kn):
    k, n = kn
    lo, hi = wilson_interval(k, n)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_vectorised_and_empty():
    lo, hi = wilson_interval([0, 5, 10], [10, 10, 10], confidence=0.9)
    assert lo[0] == 0 and hi[2] == 1 and lo[1] < 0.5 < hi[1]
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def _record(params, trial, metrics=None, status="ok", nonfinite=()):
    return TaskRecord(
        cell_key=cell_key(params),
        trial=trial,
        params=params,
        seed={},
        status=status,
        metrics=metrics,
        nonfinite=nonfinite,
        error=None if status == "ok" else "E: x",
        traceback=None,
        wall_time=0.0,
        worker="h:1",
        package_version="0",
        git_rev="",
        finished_at="t",
    )


def test_summarise_counts_quantiles_and_failures(tmp_path):
    rng = np.random.default_rng(0)
    grid = [{"m": 10, "s": 2}, {"m": 20, "s": 2}]
    records, errors = [], {}
    for cell in grid:
        errors[cell["m"]] = rng.standard_normal(30)
        for t, e in enumerate(errors[cell["m"]]):
            records.append(_record(cell, t, {"success": bool(e > 0), "error": float(e)}))
    records.append(_record(grid[0], 30, status="error"))
    records.append(
        _record(grid[1], 30, {"success": False, "error": math.nan}, nonfinite=("error",))
    )
    records.append(_record(grid[1], 99, {"success": True, "error": 1.0}))  # beyond `trials`
    records.append(_record({"m": 30, "s": 2}, 0, {"success": True, "error": 1.0}))  # not in grid
    rows = summarise(grid, records, trials=31, success="success")
    assert [r["m"] for r in rows] == [10, 20]
    r0, r1 = rows
    assert (r0["n_ok"], r0["n_failed"], r0["n_nonfinite"]) == (30, 1, 0)
    assert (r1["n_ok"], r1["n_failed"], r1["n_nonfinite"]) == (31, 0, 1)
    k = int(np.sum(errors[10] > 0))
    assert r0["success_count"] == k and r0["success_rate"] == k / 30
    assert (r0["success_lo"], r0["success_hi"]) == tuple(float(v) for v in wilson_interval(k, 30))
    assert r1["error_median"] == pytest.approx(np.median(errors[20]))  # NaN excluded
    assert r0["error_q95"] == pytest.approx(np.quantile(errors[10], 0.95))
    assert r0["error_mean"] == pytest.approx(np.mean(errors[10]))

    path = write_csv(rows, tmp_path / "summary.csv")
    table = read_summary_csv(path)
    assert list(table)[:5] == ["m", "s", "n_ok", "n_failed", "n_nonfinite"]
    np.testing.assert_array_equal(table["m"], [10, 20])
    assert table["error_median"][1] == r1["error_median"]  # floats written exactly


def _nll(theta, x, k, n):
    eta = theta[0] + theta[1] * x
    return -np.sum(k * eta - n * np.logaddexp(0, eta))


def test_transition_fit_agrees_with_direct_likelihood_maximisation():
    rng = np.random.default_rng(1)
    x = np.linspace(10, 60, 11)
    n = np.full(x.size, 200)
    k = rng.binomial(n, special.expit(0.3 * (x - 35)))
    fit = fit_transition(x, k, n)
    assert fit.method == "logistic"
    ref = optimize.minimize(
        _nll,
        x0=[0.0, 0.1],
        args=(x, k, n),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    assert fit.x50 == pytest.approx(-ref.x[0] / ref.x[1], rel=1e-5)
    assert fit.slope == pytest.approx(ref.x[1], rel=1e-4)
    assert fit.lo < fit.x50 < fit.hi and fit.hi - fit.lo < 3


@pytest.mark.slow
def test_transition_interval_coverage():
    rng = np.random.default_rng(2)
    x = np.linspace(10, 60, 6)
    covered = 0
    for _ in range(400):
        k = rng.binomial(50, special.expit(0.2 * (x - 35)))
        fit = fit_transition(x, k, np.full(6, 50))
        covered += fit.lo <= 35 <= fit.hi
    assert 0.9 <= covered / 400 <= 0.99


def test_transition_fit_degenerate_cases():
    x = [10, 20, 30, 40]
    sep = fit_transition(x, [0, 0, 5, 5], [5, 5, 5, 5])
    assert (sep.method, sep.x50, sep.lo, sep.hi) == ("separated", 25.0, 20.0, 30.0)
    none = fit_transition(x, [5, 5, 5, 5], [5, 5, 5, 5])
    assert none.method == "none" and math.isnan(none.x50)


def _penalised_nll(theta, x, k, n):
    # Firth's objective written out for two parameters: the Fisher information is the 2 x 2
    # matrix [[sum w, sum w x], [sum w x, sum w x^2]], w = n p (1 - p).
    p = special.expit(theta[0] + theta[1] * x)
    w = n * p * (1 - p)
    det = np.sum(w) * np.sum(w * x * x) - np.sum(w * x) ** 2
    return _nll(theta, x, k, n) - 0.5 * np.log(det)


def _nelder_mead(objective, x, k, n, start):
    res = optimize.minimize(
        objective,
        x0=start,
        args=(x, k, n),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000},
    )
    assert res.success, res.message
    return res.x


def test_quasi_separated_counts_get_firths_penalised_fit():
    # All failures up to m = 4, one mixed cell, all successes after: no MLE exists (the
    # unpenalised likelihood keeps rising along b -> inf), so IRLS cannot converge.
    x = np.array([2.0, 3.0, 4.0, 6.0, 8.0, 12.0])
    k, n = np.array([0, 0, 0, 2, 5, 5]), np.full(6, 5)
    steep = [_nll([-6.0 * b, b], x, k, n) for b in (1.0, 10.0, 100.0)]
    assert steep[0] > steep[1] > steep[2]
    for level in (0.5, 0.9):
        fit = fit_transition(x, k, n, level=level)
        assert fit.method == "firth" and fit.level == level
        a, b = _nelder_mead(_penalised_nll, x, k, n, start=[-3.0, 0.5])
        assert fit.slope == pytest.approx(b, rel=1e-5)
        assert fit.x50 == pytest.approx((special.logit(level) - a) / b, rel=1e-6)
        assert fit.lo < fit.x50 < fit.hi


def test_firth_fit_tends_to_the_mle_where_the_mle_exists():
    # Firth's penalty is O(1) against a log-likelihood of order sum(n): with many trials per
    # cell the penalised and unpenalised 50% points agree closely, with few they do not.
    from sdlss_theory.sweep.transitions import _logistic_firth

    rng = np.random.default_rng(4)
    x = np.linspace(10, 60, 6)
    X = np.column_stack([np.ones_like(x), x])
    for trials, tol in ((20_000, 2e-3), (20, 0.2)):
        n = np.full(6, trials)
        k = rng.binomial(n, special.expit(0.2 * (x - 35)))
        ml = fit_transition(x, k, n)
        assert ml.method == "logistic"
        a, b = _logistic_firth(X, k.astype(float), n.astype(float))
        assert -a / b == pytest.approx(ml.x50, rel=tol)
        # Started from the unpenalised fit: the simplex then has little way to go.
        ref = _nelder_mead(_penalised_nll, x, k, n, start=[-ml.slope * ml.x50, ml.slope])
        assert -a / b == pytest.approx(-ref[0] / ref[1], rel=1e-5)


def test_transition_at_other_levels_agrees_with_direct_maximisation():
    rng = np.random.default_rng(5)
    x = np.linspace(10, 60, 11)
    n = np.full(x.size, 100)
    k = rng.binomial(n, special.expit(0.3 * (x - 35)))
    a, b = _nelder_mead(_nll, x, k, n, start=[0.0, 0.1])
    fits = {q: fit_transition(x, k, n, level=q) for q in (0.1, 0.5, 0.9)}
    for q, fit in fits.items():
        assert fit.method == "logistic"
        assert fit.x50 == pytest.approx((special.logit(q) - a) / b, rel=1e-5)
    assert fits[0.1].x50 < fits[0.5].x50 < fits[0.9].x50
    # The interval is narrowest near the middle of the data.
    width = {q: fit.hi - fit.lo for q, fit in fits.items()}
    assert width[0.5] < min(width[0.1], width[0.9])
    with pytest.raises(ValueError, match="level"):
        fit_transition(x, k, n, level=1.0)


def test_empirical_crossing_interpolates_in_log_x():
    x, rate = np.array([2.0, 4.0, 8.0, 16.0]), np.array([0.0, 0.25, 0.75, 1.0])
    # Halfway in log between 4 and 8.
    assert empirical_crossing(x, rate) == pytest.approx(math.sqrt(32.0))
    assert empirical_crossing(x, rate, log=False) == pytest.approx(6.0)
    assert empirical_crossing(x, rate, level=0.25) == 4.0
    assert empirical_crossing(x, [0.5, 0.6, 1.0, 1.0]) == -math.inf
    assert empirical_crossing(x, [0.0, 0.1, 0.2, 0.4]) == math.inf


def test_fit_transitions_per_curve():
    rng = np.random.default_rng(3)
    rows = []
    for s, centre in ((2, 20.0), (4, 40.0)):
        for m in range(5, 80, 5):
            k = int(rng.binomial(100, special.expit(0.4 * (m - centre))))
            rows.append({"s": s, "m": m, "success_count": k, "n_ok": 100})
    fits = fit_transitions(rows, x="m", by=("s",))
    assert [f["s"] for f in fits] == [2, 4]
    for f, centre in zip(fits, (20.0, 40.0), strict=True):
        assert abs(f["x50"] - centre) < 2.5


def test_transition_point_is_the_fit_inside_the_grid_else_the_empirical_crossing():
    from sdlss_theory.sweep import empirical_crossing, fit_transition, transition_point

    x = np.array([2.0, 4.0, 8.0, 16.0])
    n = np.full(4, 20)
    smooth = np.array([2, 7, 14, 19])  # a fitted point inside the grid, with its interval
    point, fit = transition_point(x, smooth, n)
    assert fit is not None and point == fit.x50 == fit_transition(x, smooth, n).x50
    assert x.min() <= point <= x.max() and fit.lo < point < fit.hi
    # Already above 50% at the first x: the fit lies below the grid, so the data's crossing.
    early = np.array([15, 18, 20, 20])
    point, fit = transition_point(x, early, n)
    assert fit is None and point == empirical_crossing(x, early / n) == -np.inf
    never = np.array([0, 1, 2, 3])  # never reaches 50% inside the grid
    point, fit = transition_point(x, never, n)
    assert fit is None and point == np.inf
    # At another level the same rule, at that level.
    point, fit = transition_point(x, smooth, n, level=0.9)
    assert fit is not None and fit.level == 0.9 and point > transition_point(x, smooth, n)[0]
