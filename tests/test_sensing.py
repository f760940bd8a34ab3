"""Tests of sdlss_theory.sensing: the laws of the random matrices, the DCT, the noise."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from scipy import stats

from sdlss_theory.sensing import add_noise, gaussian_matrix, rademacher_matrix, subsampled_dct

# Under the null hypothesis a KS p-value is uniform on [0, 1], so a correct implementation
# fails a test "p > ALPHA" with probability ALPHA.
ALPHA = 1e-6
# Two-sided normal quantile for the same false-alarm probability (~5.3 sigma).
Z_ALPHA = stats.norm.isf(ALPHA / 2)

MATRICES = [gaussian_matrix, rademacher_matrix, subsampled_dct]


def _chi2_statistic(draw_matrix, x, n_draws, rng):
    """m ||A x||^2 / ||x||^2 over independent draws of A."""
    out = np.empty(n_draws)
    for t in range(n_draws):
        a = draw_matrix(rng)
        out[t] = a.shape[0] * np.sum((a @ x) ** 2) / (x @ x)
    return out


# --- Gaussian -----------------------------------------------------------------------------


@pytest.mark.parametrize("m, n", [(1, 5), (10, 30), (25, 12)])
def test_gaussian_norm_law_is_chi_square(m, n):
    rng = np.random.default_rng(1000 + m)
    x = rng.standard_normal(n)
    t = _chi2_statistic(lambda r: gaussian_matrix(m, n, r), x, 2000, rng)
    assert stats.kstest(t, stats.chi2(m).cdf).pvalue > ALPHA


@pytest.mark.parametrize("variance_factor", [1.1, 10 / 30])
def test_chi_square_ks_test_has_power(variance_factor):
    # The same test, fed a wrongly scaled matrix (N(0, 1.1/m), or N(0, 1/n) with n = 30),
    # must reject: otherwise passing it above would mean nothing.
    m, n = 10, 30
    rng = np.random.default_rng(7)
    x = rng.standard_normal(n)

    def wrong(r):
        return gaussian_matrix(m, n, r) * np.sqrt(variance_factor)

    t = _chi2_statistic(wrong, x, 2000, rng)
    assert stats.kstest(t, stats.chi2(m).cdf).pvalue < ALPHA


def test_gaussian_entries_are_iid_normal():
    m, n = 40, 50
    a = gaussian_matrix(m, n, np.random.default_rng(3))
    entries = np.sqrt(m) * a.ravel()
    assert stats.kstest(entries, stats.norm.cdf).pvalue > ALPHA
    # no correlation between neighbouring entries (rows are not copies, etc.)
    r = np.corrcoef(entries[:-1], entries[1:])[0, 1]
    assert abs(r) < Z_ALPHA / np.sqrt(entries.size)


@pytest.mark.slow
def test_gaussian_norm_law_is_chi_square_many_draws():
    m, n = 20, 200
    rng = np.random.default_rng(11)
    x = rng.standard_normal(n)
    t = _chi2_statistic(lambda r: gaussian_matrix(m, n, r), x, 20000, rng)
    assert stats.kstest(t, stats.chi2(m).cdf).pvalue > ALPHA


# --- Rademacher ---------------------------------------------------------------------------


def test_rademacher_entries_are_signs_over_sqrt_m():
    m, n = 16, 40
    a = rademacher_matrix(m, n, np.random.default_rng(0))
    assert np.array_equal(np.abs(a), np.full((m, n), 1 / np.sqrt(m)))
    # both signs equally likely: a binomial test on the number of positive entries
    n_pos = int(np.sum(a > 0))
    assert stats.binomtest(n_pos, a.size, 0.5).pvalue > ALPHA


def test_rademacher_isotropic_in_expectation():
    m, n, draws = 8, 20, 4000
    rng = np.random.default_rng(5)
    x = rng.standard_normal(n)
    ratio = _chi2_statistic(lambda r: rademacher_matrix(m, n, r), x, draws, rng) / m
    mean, se = ratio.mean(), ratio.std(ddof=1) / np.sqrt(draws)
    assert abs(mean - 1.0) < Z_ALPHA * se


# --- subsampled DCT -----------------------------------------------------------------------


@pytest.mark.parametrize("m, n", [(1, 1), (3, 17), (16, 16), (20, 64)])
def test_dct_rows_are_scaled_orthonormal_and_match_scipy(m, n):
    a, rows = subsampled_dct(m, n, np.random.default_rng(m * n), return_rows=True)
    np.testing.assert_allclose(a @ a.T, (n / m) * np.eye(m), atol=1e-12)
    assert rows.shape == (m,)
    assert len(np.unique(rows)) == m
    assert np.all(np.diff(rows) > 0)  # documented: sorted
    assert rows.min() >= 0 and rows.max() < n
    d = scipy.fft.dct(np.eye(n), norm="ortho", axis=0)
    np.testing.assert_allclose(a, np.sqrt(n / m) * d[rows], atol=1e-12)
    # return_rows=False gives the same matrix for the same seed
    np.testing.assert_array_equal(subsampled_dct(m, n, np.random.default_rng(m * n)), a)


def test_dct_full_rows_is_the_dct():
    n = 12
    a = subsampled_dct(n, n, np.random.default_rng(0))
    np.testing.assert_allclose(a, scipy.fft.dct(np.eye(n), norm="ortho", axis=0), atol=1e-12)


def test_dct_rows_are_uniform_and_isotropic_in_expectation():
    m, n, draws = 4, 10, 5000
    rng = np.random.default_rng(9)
    counts = np.zeros(n)
    for _ in range(draws):
        _, rows = subsampled_dct(m, n, rng, return_rows=True)
        counts[rows] += 1
    # every frequency kept with probability m/n (chi-square goodness of fit)
    assert stats.chisquare(counts).pvalue > ALPHA
    x = rng.standard_normal(n)
    ratio = _chi2_statistic(lambda r: subsampled_dct(m, n, r), x, draws, rng) / m
    mean, se = ratio.mean(), ratio.std(ddof=1) / np.sqrt(draws)
    assert abs(mean - 1.0) < Z_ALPHA * se


def test_dct_refuses_more_rows_than_columns():
    with pytest.raises(ValueError, match="m must be <= n"):
        subsampled_dct(11, 10, np.random.default_rng(0))


# --- all matrices -------------------------------------------------------------------------


@pytest.mark.parametrize("make", MATRICES)
def test_shape_dtype_contiguity_and_reproducibility(make):
    a = make(6, 9, np.random.default_rng(42))
    b = make(6, 9, np.random.default_rng(42))
    c = make(6, 9, np.random.default_rng(43))
    assert a.shape == (6, 9)
    assert a.dtype == np.float64
    assert a.flags.c_contiguous
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("make", MATRICES)
@pytest.mark.parametrize(
    "m, n, err, name",
    [
        (0, 5, ValueError, "m"),
        (-3, 5, ValueError, "m"),
        (3, 0, ValueError, "n"),
        (2.5, 5, ValueError, "m"),
        (3, "5", TypeError, "n"),
    ],
)
def test_bad_sizes_are_refused(make, m, n, err, name):
    with pytest.raises(err, match=rf"^{name} must"):
        make(m, n, np.random.default_rng(0))


@pytest.mark.parametrize("make", MATRICES)
@pytest.mark.parametrize("bad_rng", [None, np.random.RandomState(0), 0.5])
def test_non_generator_rng_is_refused(make, bad_rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        make(3, 5, bad_rng)


# --- noise --------------------------------------------------------------------------------


def test_sigma_noise_has_the_right_law():
    y = np.linspace(-1.0, 2.0, 4000)
    out = add_noise(y, np.random.default_rng(0), sigma=0.3)
    assert stats.kstest((out - y) / 0.3, stats.norm.cdf).pvalue > ALPHA


def test_noise_returns_a_new_array_and_leaves_y_alone():
    y = np.arange(1.0, 6.0)
    y0 = y.copy()
    out = add_noise(y, np.random.default_rng(0), sigma=0.0)
    np.testing.assert_array_equal(out, y)
    assert out is not y and not np.shares_memory(out, y)
    out = add_noise(y, np.random.default_rng(0), snr_db=10.0)
    np.testing.assert_array_equal(y, y0)
    assert not np.shares_memory(out, y)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 20.0, 40])
def test_snr_is_reached_in_expectation_per_row(snr_db):
    rng = np.random.default_rng(1)
    b, m, reps = 3, 50, 400
    # rows with very different energies: the SNR is defined per row
    y = rng.standard_normal((b, m)) * np.array([[0.01], [1.0], [100.0]])
    noise_energy = np.zeros((reps, b))
    for r in range(reps):
        out = add_noise(y, rng, snr_db=snr_db)
        assert out.shape == y.shape
        noise_energy[r] = np.sum((out - y) ** 2, axis=1)
    target = np.sum(y**2, axis=1) / 10 ** (snr_db / 10)  # E||e||^2 per row
    # ||e||^2 / target ~ chi2(m) / m; its mean over reps is within Z_ALPHA standard errors
    ratio = noise_energy / target
    se = np.sqrt(2 / m) / np.sqrt(reps)
    assert np.all(np.abs(ratio.mean(axis=0) - 1.0) < Z_ALPHA * se)
    # and in decibels the empirical SNR is close to the target
    empirical = 10 * np.log10(np.sum(y**2, axis=1) / noise_energy.mean(axis=0))
    np.testing.assert_allclose(empirical, snr_db, atol=0.2)


def test_snr_noise_law_is_gaussian_with_the_documented_variance():
    y = np.random.default_rng(2).standard_normal(5000)
    out = add_noise(y, np.random.default_rng(3), snr_db=6.0)
    sigma = np.sqrt(np.mean(y**2) / 10**0.6)
    assert stats.kstest((out - y) / sigma, stats.norm.cdf).pvalue > ALPHA


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_snr_noise_for_extreme_scales(scale):
    # no overflow or underflow: the noise scales with the signal
    y = np.array([[1.0, -2.0, 3.0], [0.5, 0.5, 0.5]])
    ref = add_noise(y, np.random.default_rng(4), snr_db=10.0)
    out = add_noise(y * scale, np.random.default_rng(4), snr_db=10.0)
    np.testing.assert_allclose(out / scale, ref, rtol=1e-12)


def test_noise_is_reproducible():
    y = np.ones((2, 7))
    a = add_noise(y, np.random.default_rng(5), sigma=0.1)
    b = add_noise(y, np.random.default_rng(5), sigma=0.1)
    np.testing.assert_array_equal(a, b)


def test_exactly_one_noise_argument():
    y = np.ones(4)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="exactly one of sigma and snr_db, got both"):
        add_noise(y, rng, sigma=0.1, snr_db=10.0)
    with pytest.raises(ValueError, match="exactly one of sigma and snr_db, got neither"):
        add_noise(y, rng)


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"sigma": -0.1}, ValueError, "^sigma must"),
        ({"sigma": np.inf}, ValueError, "^sigma must"),
        ({"sigma": "big"}, TypeError, "^sigma must"),
        ({"snr_db": np.nan}, ValueError, "^snr_db must"),
        ({"snr_db": "10"}, TypeError, "^snr_db must"),
    ],
)
def test_bad_noise_levels_are_refused(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        add_noise(np.ones(3), np.random.default_rng(0), **kwargs)


def test_bad_y_and_rng_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="^y must be 1-D or 2-D"):
        add_noise(np.ones((2, 2, 2)), rng, sigma=1.0)
    with pytest.raises(ValueError, match="^y must be finite"):
        add_noise(np.array([1.0, np.nan]), rng, sigma=1.0)
    with pytest.raises(ValueError, match="non-empty signal"):
        add_noise(np.ones(0), rng, snr_db=10.0)
    with pytest.raises(ValueError, match="non-zero signal"):
        add_noise(np.array([[1.0, 2.0], [0.0, 0.0]]), rng, snr_db=10.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        add_noise(np.ones(3), None, sigma=1.0)
