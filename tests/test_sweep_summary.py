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
