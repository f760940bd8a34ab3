"""Paired verdicts of the image studies against PCA, and the stored learning curves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sdlss_theory.sweep.paired import mean_ci, paired
from simulations._pml_common import curve_text, parse_curve
from simulations._pml_report import against_baseline, image_report, per_prior


def _summary(rows):
    keys = rows[0].keys()
    return {k: np.array([r[k] for r in rows]) for k in keys}


def _rows(pca, learned, method="sdlss", s=8, m=10):
    out = [{"method": "pca", "s": 32, "m": m, "draw": d, "psnr_mean": v}
           for d, v in enumerate(pca)]  # fmt: skip
    out += [{"method": method, "s": s, "m": m, "draw": d, "psnr_mean": v}
            for d, v in enumerate(learned)]  # fmt: skip
    return out


def test_mean_ci_against_scipy_interval():
    values = np.random.default_rng(0).normal(3.0, 2.0, 7)
    mean, lo, hi = mean_ci(values)
    ref = stats.t.interval(0.95, 6, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert np.isnan(mean_ci([1.0])[1]) and np.isnan(mean_ci([])[0])


def test_paired_uses_only_common_draws():
    diff, lo, hi, n = paired({0: 3.0, 1: 5.0, 2: 9.0}, {0: 1.0, 1: 2.0, 3: 0.0})
    assert n == 2 and diff == pytest.approx(2.5)
    assert (lo, hi) == pytest.approx(mean_ci([2.0, 3.0])[1:])


@pytest.mark.parametrize(
    ("learned", "flag"),
    [
        ([10.0, 11.0, 9.5], "BELOW"),
        ([12.5, 13.0, 12.1], ""),
        ([12.5, 11.5, 13.0], "below in some draws"),
    ],
)
def test_against_baseline_flags_priors_below_pca(learned, flag):
    pca = [12.0, 12.2, 11.9]
    rows = against_baseline(_summary(_rows(pca, learned)))
    assert len(rows) == 1
    row = rows[0]
    diffs = np.subtract(learned, pca)
    assert row["diff"] == pytest.approx(diffs.mean())
    assert (row["diff_lo"], row["diff_hi"]) == pytest.approx(mean_ci(diffs)[1:])
    assert row["draws_below"] == int(np.sum(diffs < 0))
    assert row["flag"] == flag


def test_image_report_pairs_each_prior_with_pca_at_its_own_m():
    rows = _rows([12.0, 12.0], [13.0, 14.0], m=10) + _rows([15.0, 15.0], [14.0, 14.5], m=25)
    rows += _rows([12.0, 12.0], [12.5, 12.5], method="dcs", s=32, m=10)[2:]
    tables = image_report(_summary(rows), {})
    (table,) = [t for title, t in tables.items() if "PCA with the same A" in title]
    got = {(r["method"], r["m"]): (r["diff"], r["flag"]) for r in table}
    # Two draws 0.5 dB apart: the t-interval of -0.75 reaches above 0, so only "some draws".
    assert got == {
        ("sdlss", 10): (1.5, ""),
        ("sdlss", 25): (-0.75, "below in some draws"),
        ("dcs", 10): (0.5, ""),
    }
    alone = image_report(_summary(_rows([1.0], [2.0])[1:]), {})
    assert [t.split(" (")[0] for t in alone] == ["test PSNR of each prior, dB"]  # no baseline
    pending = _rows([np.nan, np.nan], [np.nan, np.nan])  # cells without a finished trial
    assert image_report(_summary(pending), {}) == {}


def test_image_report_pairs_sdlss_with_dcs_and_every_prior_with_pca_top():
    rows = _rows([12.0, 12.0], [13.0, 14.0], m=10)  # pca and sdlss
    rows += _rows([15.0, 15.0], [11.0, 13.0], method="dcs", s=100, m=10)[2:]
    rows += _rows([14.0, 14.0], [0, 0], m=10)[:2]
    for r in rows[-2:]:
        r["method"] = "pca_top"
    tables = image_report(_summary(rows), {})
    by_title = {title.split(" (")[0]: table for title, table in tables.items()}
    assert set(by_title) == {
        "test PSNR of each prior, dB",
        "learned priors against PCA with the same A",
        "learned priors against PCA measured by its own top principal directions",
        "SDLSS against DCS, fixed A",
    }
    (sdlss_dcs,) = by_title["SDLSS against DCS, fixed A"]  # DCS itself is not a row
    assert (sdlss_dcs["method"], sdlss_dcs["diff"]) == ("sdlss", pytest.approx(1.5))
    top = {r["method"]: r["diff"] for r in
           by_title["learned priors against PCA measured by its own top principal directions"]}
    assert top == {"sdlss": pytest.approx(-0.5), "dcs": pytest.approx(-2.0)}


def test_per_prior_means_each_prior_over_its_draws_with_a_t_interval():
    rows = _rows([12.0, 12.4, 11.9], [13.0, 14.0, np.nan], m=10) + _rows([15.0], [16.0], m=25)
    for r in rows:
        r["psnr_T_mean"] = r["psnr_mean"] - 1.0 if r["method"] == "sdlss" else np.nan
    got = {(r["method"], r["m"]): r for r in per_prior(_summary(rows))}
    assert list(got) == [("pca", 10), ("sdlss", 10), ("pca", 25), ("sdlss", 25)]  # m, then name
    pca = got[("pca", 10)]
    assert pca["draws"] == 3 and np.isnan(pca["psnr_T"])
    assert (pca["psnr"], pca["psnr_lo"], pca["psnr_hi"]) == pytest.approx(
        mean_ci([12.0, 12.4, 11.9])
    )
    sdlss = got[("sdlss", 10)]  # the unfinished draw (NaN) is left out, not averaged in
    assert sdlss["draws"] == 2 and sdlss["psnr"] == pytest.approx(13.5)
    assert sdlss["psnr_T"] == pytest.approx(12.5)
    assert got[("sdlss", 25)]["draws"] == 1 and np.isnan(got[("sdlss", 25)]["psnr_lo"])


def test_curve_round_trips_and_fits_the_store():
    history = [{"step": 2000 * (i + 1), "psnr": 10 + i / 3} for i in range(10)]
    text = curve_text(history)
    assert len(text) <= 200  # the store keeps metrics of at most 200 characters
    assert parse_curve(text) == [(h["step"], round(h["psnr"], 2)) for h in history]
