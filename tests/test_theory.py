"""Tests for sdlss_theory.theory: every formula against an independent computation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from sdlss_theory import theory as T

# --------------------------------------------------------------------------------------
# Independent references for the l1 section
# --------------------------------------------------------------------------------------


def _tail_integral_quad(tau: float) -> float:
    """sqrt(2/pi) int_tau^inf (u - tau)^2 exp(-u^2/2) du by adaptive quadrature."""
    # the integrand is below exp(-800) beyond tau + 40; a finite range lets quad reach 1e-12
    val, _ = integrate.quad(
        lambda u: (u - tau) ** 2 * math.exp(-0.5 * u * u), tau, tau + 40.0, epsabs=0, epsrel=1e-12
    )
    return math.sqrt(2.0 / math.pi) * val


def _stat_dim_quad(s: float, n: int) -> float:
    """The ALMT infimum with the integral done by quad and tau by a grid + bounded search."""

    def objective(tau: float) -> float:
        return s * (1.0 + tau * tau) + (n - s) * _tail_integral_quad(tau)

    grid = np.linspace(0.0, 6.0, 121)
    vals = [objective(t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    return min(res.fun, min(vals))


def _dmm_rho_bruteforce(delta: float) -> float:
    """Donoho-Maleki-Montanari (PNAS 2009) form of the l1 / weak cross-polytope threshold.

    rho(delta) = max_{z >= 0} [1 - (2/delta) M(z)] / [1 + z^2 - 2 M(z)],
    M(z) = (1 + z^2) Phi(-z) - z phi(z), maximised by brute force on a fine grid of z
    (no optimiser, no root finder).
    """
    z = np.linspace(1e-9, 12.0, 1_200_001)  # z = 0 gives 0/0
    m = (1.0 + z**2) * stats.norm.sf(z) - z * stats.norm.pdf(z)
    return float(np.max((1.0 - 2.0 * m / delta) / (1.0 + z**2 - 2.0 * m)))


# --------------------------------------------------------------------------------------
# l1 statistical dimension
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, 0.3, 1.0, 2.5, 5.0])
def test_closed_form_tail_matches_quadrature(tau):
    # E[(|g| - tau)_+^2] = 2[(1 + tau^2) Q(tau) - tau phi(tau)]
    closed = 2.0 * ((1.0 + tau**2) * stats.norm.sf(tau) - tau * stats.norm.pdf(tau))
    assert _tail_integral_quad(tau) == pytest.approx(closed, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "s,n", [(1, 10), (5, 100), (10, 100), (30, 100), (50, 200), (3, 1000), (90, 100)]
)
def test_statistical_dimension_matches_quadrature_infimum(s, n):
    assert T.l1_statistical_dimension(s, n) == pytest.approx(_stat_dim_quad(s, n), rel=1e-7)


def test_statistical_dimension_is_n_psi_and_scale_invariant():
    s = np.array([1, 4, 17, 50, 99])
    n = 100
    got = T.l1_statistical_dimension(s, n)
    assert got.shape == s.shape
    np.testing.assert_allclose(got, n * T.l1_psi(s / n), rtol=1e-12)
    np.testing.assert_allclose(T.l1_statistical_dimension(2 * s, 2 * n), 2 * got, rtol=1e-10)
    assert T.l1_statistical_dimension(0, n) == 0.0
    assert T.l1_statistical_dimension(n, n) == pytest.approx(n)


def test_psi_is_increasing_concave_and_within_crpw_bound():
    rho = np.linspace(0.001, 0.999, 400)
    p = T.l1_psi(rho)
    assert np.all(np.diff(p) > 0)
    assert np.all(np.diff(p, 2) < 1e-12)  # concave (a minimum of affine functions of rho)
    assert np.all((p > rho) & (p < 1.0))  # delta(D) >= s: the cone contains a face of dim s
    # Chandrasekaran, Recht, Parrilo & Willsky (2012), Prop. 3.10:
    # delta <= 2 s log(n/s) + 5 s / 4.
    small = np.logspace(-10, -1, 20)
    assert np.all(T.l1_psi(small) <= 2 * small * np.log(1 / small) + 1.25 * small)
    small = np.logspace(-10, -3, 15)
    # and psi(rho) / (2 rho log(1/rho)) -> 1 (slowly) as rho -> 0
    ratio = T.l1_psi(small) / (2 * small * np.log(1 / small))
    assert np.all(np.diff(ratio) < 0)  # closer to 1 for smaller rho
    assert ratio[0] > 0.8


def test_statistical_dimension_against_monte_carlo_definition():
    # delta(C) = E dist^2(g, C°) with C° = cone(d||x||_1) = E min_{tau>=0} dist^2(g, tau d||x||_1),
    # and ALMT Prop 4.5: n psi(s/n) - 2 sqrt(n/s) <= delta <= n psi(s/n).
    rng = np.random.default_rng(12345)
    n, s, draws = 100, 10, 3000
    g = rng.standard_normal((draws, n))
    g_on = g[:, :s]  # signs of x on its support taken as +1 (sign symmetry of g)
    g_off = np.abs(g[:, s:])
    lo = np.zeros(draws)
    hi = np.full(draws, np.abs(g).max() + 10.0)
    for _ in range(80):  # bisection on the increasing derivative in tau, all draws at once
        mid = 0.5 * (lo + hi)
        deriv = (mid[:, None] - g_on).sum(1) - np.clip(g_off - mid[:, None], 0, None).sum(1)
        pos = deriv > 0
        hi = np.where(pos, mid, hi)
        lo = np.where(pos, lo, mid)
    tau = 0.5 * (lo + hi)
    d2 = ((g_on - tau[:, None]) ** 2).sum(1) + (np.clip(g_off - tau[:, None], 0, None) ** 2).sum(1)
    mean, se = d2.mean(), d2.std(ddof=1) / math.sqrt(draws)
    upper = T.l1_statistical_dimension(s, n)
    assert upper - 2 * math.sqrt(n / s) - 4 * se <= mean <= upper + 4 * se


def test_transition_m_and_interval():
    s = np.array([5, 10, 20])
    n = 100
    m = T.l1_transition_m(s, n)
    np.testing.assert_allclose(m, T.l1_statistical_dimension(s, n))
    lo, hi = T.l1_transition_interval(s, n, eta=0.1)
    a = math.sqrt(8 * math.log(4 / 0.1))
    np.testing.assert_allclose(hi - m, a * math.sqrt(n))
    np.testing.assert_allclose(m - lo, a * math.sqrt(n) + 2 * np.sqrt(n / s))
    lo2, hi2 = T.l1_transition_interval(10, n, eta=0.01)
    assert lo2 < lo[1] and hi2 > hi[1]  # smaller eta, wider window


# --------------------------------------------------------------------------------------
# Donoho-Tanner curve
# --------------------------------------------------------------------------------------


def test_curve_limits_and_monotonicity():
    delta = np.linspace(0.0, 1.0, 201)
    rho = T.l1_phase_transition_rho(delta)
    assert rho[0] == 0.0 and rho[-1] == 1.0
    assert np.all(np.diff(rho) > 0)
    assert np.all((rho[1:-1] > 0) & (rho[1:-1] < 1))
    assert T.l1_phase_transition_rho(1e-12) < 0.05  # rho -> 0, like 1 / (2 log(1/delta))
    assert T.l1_phase_transition_rho(1 - 1e-9) > 0.999


@pytest.mark.parametrize("delta", [0.05, 0.2, 0.5, 0.8, 0.95])
def test_curve_matches_dmm_bruteforce(delta):
    assert T.l1_phase_transition_rho(delta) == pytest.approx(_dmm_rho_bruteforce(delta), abs=1e-8)


def test_curve_solves_psi_equation():
    # On the curve m = n psi(s/n): delta = psi(rho * delta).
    delta = np.array([0.03, 0.1, 0.33, 0.6, 0.9])
    rho = T.l1_phase_transition_rho(delta)
    assert rho.shape == delta.shape
    np.testing.assert_allclose(T.l1_psi(rho * delta), delta, rtol=1e-10)


# --------------------------------------------------------------------------------------
# Sample-complexity predictors
# --------------------------------------------------------------------------------------


def test_sdlss_and_bora_formulas():
    assert T.sdlss_measurements(5, 3, 20, 120) == pytest.approx(5 * 3 * math.log(20 * 120 / 5))
    assert T.sdlss_measurements(5, 3, 20, 120, c=2.5) == pytest.approx(
        2.5 * T.sdlss_measurements(5, 3, 20, 120)
    )
    assert T.bora_measurements(20, 3, 784) == pytest.approx(20 * 3 * math.log(784))
    got = T.sdlss_measurements(np.array([1, 2, 4]), 2, 20, np.array([[60], [120]]))
    assert got.shape == (2, 3)
    assert got[1, 2] == pytest.approx(4 * 2 * math.log(20 * 120 / 4))
    assert np.all(np.diff(T.bora_measurements(10, np.arange(1, 6), 100)) > 0)


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: T.sdlss_measurements(6, 2, 5, 10), ValueError),  # s > k
        (lambda: T.sdlss_measurements(0, 2, 5, 10), ValueError),
        (lambda: T.sdlss_measurements(2.5, 2, 5, 10), ValueError),
        (lambda: T.sdlss_measurements(2, 2, 5, 10, c=0), ValueError),
        (lambda: T.sdlss_measurements(2, "x", 5, 10), TypeError),
        (lambda: T.bora_measurements(2, 2, 0), ValueError),
        (lambda: T.bora_measurements(2, np.nan, 5), ValueError),
        (lambda: T.l1_statistical_dimension(11, 10), ValueError),
        (lambda: T.l1_statistical_dimension(-1, 10), ValueError),
        (lambda: T.l1_statistical_dimension(1, 0), ValueError),
        (lambda: T.l1_psi(1.5), ValueError),
        (lambda: T.l1_phase_transition_rho([0.5, np.inf]), ValueError),
        (lambda: T.l1_phase_transition_rho(-0.1), ValueError),
        (lambda: T.l1_transition_interval(0, 10), ValueError),
        (lambda: T.l1_transition_interval(2, 10, eta=1.0), ValueError),
        (lambda: T.linear_piece_count_log(3, 4, (5,)), ValueError),
        (lambda: T.linear_piece_count_log(3, 2, 5), TypeError),
        (lambda: T.linear_piece_count_log(3, 2, ()), ValueError),
        (lambda: T.linear_piece_count_log(3, 2, (5, 0)), ValueError),
        (lambda: T.srec_guarantee_measurements(5, 2, (4,), 1.0, 0.9), ValueError),
        (lambda: T.srec_guarantee_measurements(5, 2, (4,), 0.5, 1.0), ValueError),
        (lambda: T.srec_guarantee_gamma(0, 5, 2, (4,), 0.9), ValueError),
        (lambda: T.gaussian_smin_tail_bound(3, 5, 0.1), ValueError),  # m < r
        (lambda: T.gaussian_smin_tail_bound(10, 5, -0.1), ValueError),
    ],
)
def test_bad_input_raises(call, exc):
    with pytest.raises(exc):
        call()


# --------------------------------------------------------------------------------------
# Linear-piece count
# --------------------------------------------------------------------------------------


def _exact_piece_bound(k, s, widths):
    out = math.comb(k, s)
    for w in widths:
        out *= sum(math.comb(w, j) for j in range(s + 1))
    return out


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 30),
    data=st.data(),
)
def test_piece_count_log_equals_exact_integer(k, data):
    s = data.draw(st.integers(1, k))
    widths = data.draw(st.lists(st.integers(1, 40), min_size=1, max_size=4))
    exact = _exact_piece_bound(k, s, widths)
    assert T.linear_piece_count_log(k, s, widths) == pytest.approx(
        math.log(exact), rel=1e-12, abs=1e-12
    )


def test_piece_count_per_layer_is_tighter_than_max_width_form_and_no_overflow():
    k, s, widths = 20, 5, (60, 120, 90)
    h, d = max(widths), len(widths)
    coarse = math.log(math.comb(k, s)) + d * math.log(sum(math.comb(h, j) for j in range(s + 1)))
    assert T.linear_piece_count_log(k, s, widths) < coarse
    assert T.linear_piece_count_log(k, s, (h,) * d) == pytest.approx(coarse, rel=1e-12)
    big = T.linear_piece_count_log(5000, 200, (4000,) * 12)
    assert np.isfinite(big) and big > 1e4


def _count_activation_regions(k, s, weights, biases):
    """Brute force: number of non-empty open activation regions, summed over supports.

    For every support S and every joint sign pattern of all ReLU units, an LP decides
    whether some z in R^s puts every pre-activation strictly on the chosen side.
    """
    total = 0
    widths = [w.shape[0] for w in weights]
    for support in itertools.combinations(range(k), s):
        for pattern in itertools.product((-1.0, 1.0), repeat=sum(widths)):
            signs = np.split(np.array(pattern), np.cumsum(widths)[:-1])
            # pre-activation of layer i as an affine map of z: P z + q
            p, q = weights[0][:, list(support)], biases[0]
            rows, rhs = [], []
            for i, sg in enumerate(signs):
                # constraint: sg * (P z + q) >= t  <=>  -sg*P z + t <= sg*q
                rows.append(np.hstack([-sg[:, None] * p, np.ones((len(sg), 1))]))
                rhs.append(sg * q)
                if i + 1 < len(weights):
                    active = (sg > 0).astype(float)
                    p = weights[i + 1] @ (active[:, None] * p)
                    q = weights[i + 1] @ (active * q) + biases[i + 1]
            a_ub, b_ub = np.vstack(rows), np.concatenate(rhs)
            c = np.zeros(s + 1)
            c[-1] = -1.0
            bounds = [(None, None)] * s + [(None, 1.0)]
            res = optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if res.status == 0 and -res.fun > 1e-9:
                total += 1
    return total


def test_piece_count_against_bruteforce_enumeration():
    rng = np.random.default_rng(7)
    k, s = 4, 2
    # one layer, generic weights: the bound is attained exactly (Zaslavsky)
    w1 = [rng.standard_normal((4, k))]
    b1 = [rng.standard_normal(4)]
    count1 = _count_activation_regions(k, s, w1, b1)
    assert count1 == _exact_piece_bound(k, s, (4,))
    assert math.log(count1) == pytest.approx(T.linear_piece_count_log(k, s, (4,)))
    # two layers: an upper bound
    w2 = [rng.standard_normal((3, k)), rng.standard_normal((2, 3))]
    b2 = [rng.standard_normal(3), rng.standard_normal(2)]
    count2 = _count_activation_regions(k, s, w2, b2)
    assert count1 > 0 and count2 > 0
    assert math.log(count2) <= T.linear_piece_count_log(k, s, (3, 2)) + 1e-12


# --------------------------------------------------------------------------------------
# Gaussian tail bound and the S-REC guarantee
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("m,r,t", [(40, 5, 0.1), (40, 5, 0.25), (20, 4, 0.05), (60, 10, 0.15)])
def test_gaussian_smin_tail_bound_holds_empirically(m, r, t):
    rng = np.random.default_rng(1000 * m + r)
    draws = 200
    b = rng.standard_normal((draws, m, r)) / math.sqrt(m)
    smin = np.linalg.svd(b, compute_uv=False)[:, -1]
    below = int(np.sum(smin <= 1 - math.sqrt(r / m) - t))
    bound = T.gaussian_smin_tail_bound(m, r, t)
    # under P(below) <= bound, `below` is stochastically dominated by Binomial(draws, bound)
    assert below <= stats.binom.ppf(1 - 1e-6, draws, min(bound, 1.0))


def _failure_bound_direct(m, k, s, widths, gamma, bias):
    """Union bound recomputed from exact integers (no logs), for small networks."""
    n_pieces = _exact_piece_bound(k, s, widths)
    pairs = n_pieces * (n_pieces + 1) // 2
    r = 2 * s + (1 if bias else 0)
    t = 1 - gamma - math.sqrt(r / m)
    if m < r or t <= 0:
        return 1.0
    return min(1.0, pairs * math.exp(-m * t * t / 2))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "k,s,widths,gamma,prob",
    [(6, 2, (5,), 0.5, 0.9), (10, 3, (8, 12), 0.3, 0.99), (8, 1, (4, 4, 4), 0.7, 0.5)],
)
def test_guarantee_is_the_smallest_m_by_linear_search(k, s, widths, gamma, prob, bias):
    m_star = T.srec_guarantee_measurements(k, s, widths, gamma, prob, bias=bias)
    m = 1
    while _failure_bound_direct(m, k, s, widths, gamma, bias) > 1 - prob:
        m += 1
    assert m_star == m
    assert T.srec_failure_probability_bound(m, k, s, widths, gamma, bias=bias) == pytest.approx(
        _failure_bound_direct(m, k, s, widths, gamma, bias), rel=1e-9
    )
    g = T.srec_guarantee_gamma(np.array([m_star - 1, m_star]), k, s, widths, prob, bias=bias)
    assert g[0] < gamma <= g[1] + 1e-12


def test_guarantee_monotonicity():
    k, widths = 20, (60, 120)
    base = T.srec_guarantee_measurements(k, 5, widths, 0.5, 0.9)
    gammas = [T.srec_guarantee_measurements(k, 5, widths, g, 0.9) for g in (0.1, 0.5, 0.9, 0.99)]
    probs = [T.srec_guarantee_measurements(k, 5, widths, 0.5, p) for p in (0.0, 0.9, 0.999)]
    sparsities = [T.srec_guarantee_measurements(k, s, widths, 0.5, 0.9) for s in (1, 3, 5, 8)]
    assert np.all(np.diff(gammas) > 0)
    assert np.all(np.diff(probs) > 0)
    assert np.all(np.diff(sparsities) > 0)
    assert T.srec_guarantee_measurements(k, 5, widths + (120,), 0.5, 0.9) > base
    assert T.srec_guarantee_measurements(k, 5, widths, 0.5, 0.9, bias=False) <= base
    fail = T.srec_failure_probability_bound(np.arange(1, 3000, 7), k, 5, widths, 0.5)
    assert np.all(np.diff(fail) <= 0) and fail[0] == 1.0 and fail[-1] < 1e-6
    gam = T.srec_guarantee_gamma(np.arange(1, 5000, 11), k, 5, widths, 0.9)
    assert np.all(np.diff(gam) >= 0) and gam[0] == 0.0 and 0 < gam[-1] < 1
    # the worst-case guarantee sits far above the SDLSS order term
    assert base > 3 * T.sdlss_measurements(5, 2, k, 120)


# --------------------------------------------------------------------------------------
# The union bound for an explicit piece count
# --------------------------------------------------------------------------------------


def test_union_bound_with_the_bounded_count_is_the_guarantee():
    for k, s, widths, bias in ((20, 2, (60, 120), False), (10, 3, (30,), True)):
        log_n = T.linear_piece_count_log(k, s, widths)
        rank = 2 * s + bias
        assert T.union_bound_measurements(log_n, rank, 0.5, 0.9) == (
            T.srec_guarantee_measurements(k, s, widths, 0.5, 0.9, bias=bias)
        )
        m = np.array([10, 100, 1000, 10000])
        np.testing.assert_allclose(
            T.union_bound_gamma(m, log_n, rank, 0.9),
            T.srec_guarantee_gamma(m, k, s, widths, 0.9, bias=bias),
            rtol=0,
            atol=0,
        )


def test_union_bound_grows_as_four_ln_n_over_one_minus_gamma_squared():
    gamma = 0.5
    log_ns = (10.0, 100.0, 1e3, 1e4, 1e6)
    ratios = [
        T.union_bound_measurements(log_n, 2, gamma, 0.5) * (1 - gamma) ** 2 / log_n
        for log_n in log_ns
    ]
    assert all(a > b for a, b in zip(ratios, ratios[1:], strict=False))  # falls towards 4
    assert 4.0 < ratios[-1] < 4.01
    # and gamma(m) inverts m*: the guaranteed gamma at m* is at least gamma, not at m* - 1.
    log_n = math.log(1e6)
    m_star = T.union_bound_measurements(log_n, 4, 0.3, 0.9)
    assert T.union_bound_gamma(m_star, log_n, 4, 0.9) >= 0.3
    assert T.union_bound_gamma(m_star - 1, log_n, 4, 0.9) < 0.3
