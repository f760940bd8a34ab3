r"""Closed-form predictors: the l1 phase transition, sample-complexity formulas, S-REC guarantees.

Three families of formulas live here; `docs/theory.md` gives the derivations and says
what each one is for in the studies.

1. The l1 phase transition from the statistical dimension of the l1 descent cone
   (Amelunxen, Lotz, McCoy & Tropp 2014): `l1_psi`, `l1_statistical_dimension`,
   `l1_transition_m`, `l1_transition_interval`, `l1_phase_transition_rho`.
2. Sample-complexity predictors: `sdlss_measurements` (Killedar, Pokala & Seelamantula
   2021) and `bora_measurements` (Bora, Jalal, Price & Dimakis 2017).
3. The worst-case S-REC guarantee from counting the linear pieces of a ReLU generator on
   s-sparse codes: `linear_piece_count_log`, `srec_guarantee_measurements`,
   `srec_guarantee_gamma`, `srec_failure_probability_bound`, the same union bound for an
   explicit piece count (`union_bound_measurements`, `union_bound_gamma`), plus the Gaussian
   tail bound they rest on, `gaussian_smin_tail_bound`.

References
----------
.. [ALMT14] D. Amelunxen, M. Lotz, M. B. McCoy and J. A. Tropp, "Living on the edge: phase
   transitions in convex programs with random data", Information and Inference 3(3),
   224-294, 2014.
.. [DT09] D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes when
   the projection radically lowers dimension", J. AMS 22(1), 1-53, 2009.
.. [DMM09] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing algorithms for
   compressed sensing", PNAS 106(45), 18914-18919, 2009.
.. [KPS21] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [BJPD17] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using
   generative models", ICML 2017.
.. [DS01] K. R. Davidson and S. J. Szarek, "Local operator theory, random matrices and
   Banach spaces", Handbook of the Geometry of Banach Spaces I, 2001, Thm II.13.
.. [Ver12] R. Vershynin, "Introduction to the non-asymptotic analysis of random matrices",
   in Compressed Sensing: Theory and Applications, CUP 2012, Thm 5.32, Prop 5.34,
   Cor 5.35.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp

from ._validation import as_float_array, check_int, check_positive_float

__all__ = [
    "bora_measurements",
    "gaussian_smin_tail_bound",
    "l1_phase_transition_rho",
    "l1_psi",
    "l1_statistical_dimension",
    "l1_transition_interval",
    "l1_transition_m",
    "linear_piece_count_log",
    "sdlss_measurements",
    "srec_failure_probability_bound",
    "srec_guarantee_gamma",
    "srec_guarantee_measurements",
    "union_bound_gamma",
    "union_bound_measurements",
]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_XTOL = 1e-14


def _float_input(x, name: str) -> np.ndarray:
    """Finite float64 array of any shape; a scalar stays 0-d (unlike `as_float_array`)."""
    arr = as_float_array(x, name)
    return arr.reshape(()) if np.ndim(x) == 0 else arr


def _scalar_or_array(out: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a Python float (scalar in, scalar out); any other array unchanged."""
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------
# Gaussian helpers (scalar, used inside scalar root finders)
# --------------------------------------------------------------------------------------


def _phi(t: float) -> float:
    """Standard normal density."""
    return _INV_SQRT_2PI * math.exp(-0.5 * t * t)


def _q(t: float) -> float:
    """Standard normal upper tail Q(t) = P(g > t)."""
    return 0.5 * math.erfc(t / _SQRT2)


def _tail_sq(tau: float) -> float:
    r"""E[(|g| - tau)_+^2] = 2 [(1 + tau^2) Q(tau) - tau phi(tau)] for g ~ N(0, 1)."""
    return 2.0 * ((1.0 + tau * tau) * _q(tau) - tau * _phi(tau))


def _mills_gap(tau: float) -> float:
    r"""phi(tau) - tau Q(tau) = E[(g - tau)_+] >= 0."""
    return _phi(tau) - tau * _q(tau)


def _objective(tau: float, rho: float) -> float:
    r"""J_rho(tau) = rho (1 + tau^2) + (1 - rho) E[(|g| - tau)_+^2]."""
    return rho * (1.0 + tau * tau) + (1.0 - rho) * _tail_sq(tau)


def _tau_star(rho: float) -> float:
    r"""The miniser of J_rho over tau >= 0 for 0 < rho < 1.

    J_rho is strictly convex (J'' = 2 rho + 4 (1 - rho) Q(tau) > 0) with
    J'(tau) / 2 = rho tau - 2 (1 - rho) (phi(tau) - tau Q(tau)), which is negative at
    tau = 0 and positive for large tau, so its unique root is the minimiser.
    """

    def half_derivative(tau: float) -> float:
        return rho * tau - 2.0 * (1.0 - rho) * _mills_gap(tau)

    hi = 1.0
    while half_derivative(hi) <= 0.0:
        hi *= 2.0
    return brentq(half_derivative, 0.0, hi, xtol=_XTOL, rtol=4 * np.finfo(float).eps)


def _psi_scalar(rho: float) -> float:
    if rho <= 0.0:
        return 0.0
    if rho >= 1.0:
        return 1.0
    return _objective(_tau_star(rho), rho)


# --------------------------------------------------------------------------------------
# 1. The l1 phase transition
# --------------------------------------------------------------------------------------


def l1_psi(rho: ArrayLike) -> float | np.ndarray:
    r"""ALMT's normalised statistical dimension of the l1 descent cone, psi(rho).

    .. math::

        \psi(\rho) = \inf_{\tau \ge 0} \Big\{ \rho (1 + \tau^2)
            + (1 - \rho) \sqrt{2/\pi} \int_\tau^\infty (u - \tau)^2 e^{-u^2/2}\, du \Big\},

    where the integral term equals E[(|g| - tau)_+^2] = 2[(1 + tau^2) Q(tau) - tau phi(tau)]
    with phi, Q the standard normal density and upper tail ([ALMT14]_, Prop. 4.5 and
    eq. (4.10)). The objective is strictly convex in tau, so the infimum is attained at the
    unique root of its derivative, ``rho / (1 - rho) = 2 (phi(tau) - tau Q(tau)) / tau``,
    found with `scipy.optimize.brentq`. psi(0) = 0 and psi(1) = 1 (limits tau -> inf and
    tau = 0).

    Parameters
    ----------
    rho : float or array_like
        Sparsity fraction(s) s / n in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        psi(rho), with the shape of `rho` (a float for scalar input).

    References
    ----------
    .. [ALMT14] Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 2014.
    """
    arr = _float_input(rho, "rho")
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError("rho must lie in [0, 1]")
    out = np.array([_psi_scalar(float(r)) for r in arr.ravel()]).reshape(arr.shape)
    return _scalar_or_array(out)


def l1_statistical_dimension(s: ArrayLike, n: int) -> float | np.ndarray:
    r"""Statistical dimension of the l1 descent cone at an s-sparse point of R^n (ALMT form).

    .. math::

        \delta(s, n) = \inf_{\tau \ge 0} \Big\{ s (1 + \tau^2)
            + (n - s) \sqrt{2/\pi} \int_\tau^\infty (u - \tau)^2 e^{-u^2/2}\, du \Big\}
            = n\, \psi(s / n).

    This is the upper bound of [ALMT14]_, Prop. 4.5, which also shows it is tight:
    ``n psi(s/n) - 2 sqrt(n / s) <= delta(D(||.||_1, x)) <= n psi(s/n)`` for every x with
    exactly s non-zeros. For s = 0 the descent cone is {0} and the value is 0.

    Parameters
    ----------
    s : float or array_like
        Sparsity level(s) in [0, n]. Integers are the usual case; real values are accepted
        because the formula is continuous in s (useful for drawing curves).
    n : int
        Ambient dimension, >= 1.

    Returns
    -------
    float or numpy.ndarray
        The statistical dimension, shaped like `s`.

    References
    ----------
    .. [ALMT14] Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 2014.
    """
    n = check_int(n, "n", minimum=1)
    arr = _float_input(s, "s")
    if np.any((arr < 0.0) | (arr > n)):
        raise ValueError(f"s must lie in [0, n] = [0, {n}]")
    out = n * np.asarray(l1_psi(arr / n))
    return _scalar_or_array(out)


def l1_transition_m(s: ArrayLike, n: int) -> float | np.ndarray:
    r"""Number of measurements at which basis pursuit recovers an s-sparse x w.p. about 1/2.

    Basis pursuit ``min ||x||_1 s.t. A x = A x0`` with Gaussian A in R^{m x n} succeeds
    with probability that jumps from ~0 to ~1 as m crosses the statistical dimension of
    the l1 descent cone at x0 ([ALMT14]_, Thm II), so the 50% point is predicted by

    .. math:: m_{1/2}(s, n) \approx \delta(s, n) = n\, \psi(s / n).

    The transition has width O(sqrt(n)) (see `l1_transition_interval`), and the value is
    real-valued: round as appropriate when comparing with a grid of integer m.

    Parameters
    ----------
    s : float or array_like
        Sparsity level(s) in [0, n].
    n : int
        Ambient dimension, >= 1.

    Returns
    -------
    float or numpy.ndarray
        The predicted 50% transition point(s), shaped like `s`.

    References
    ----------
    .. [ALMT14] Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 2014.
    """
    return l1_statistical_dimension(s, n)


def l1_transition_interval(s: ArrayLike, n: int, eta: float = 0.05) -> tuple:
    r"""Rigorous ALMT window outside which basis pursuit fails / succeeds w.p. >= 1 - eta.

    [ALMT14]_, Thm II: with a_eta = sqrt(8 log(4 / eta)) and delta the exact statistical
    dimension of the descent cone,

    * m <= delta - a_eta sqrt(n)  implies  P(success) <= eta,
    * m >= delta + a_eta sqrt(n)  implies  P(success) >= 1 - eta.

    Since delta is only known to lie in [n psi(s/n) - 2 sqrt(n/s), n psi(s/n)] (Prop. 4.5),
    this function returns the conservative window

    .. math::

        m_{lo} = n\psi(s/n) - 2\sqrt{n/s} - a_\eta \sqrt{n}, \qquad
        m_{hi} = n\psi(s/n) + a_\eta \sqrt{n}.

    The theorem's constants are loose: the empirical transition is much narrower.

    Parameters
    ----------
    s : float or array_like
        Sparsity level(s) in (0, n].
    n : int
        Ambient dimension, >= 1.
    eta : float, optional
        Tolerance in (0, 1).

    Returns
    -------
    (m_lo, m_hi) : tuple of float or numpy.ndarray
        Below m_lo success has probability <= eta; above m_hi it has probability >= 1 - eta.
        Values may fall outside [0, n], where the statement is vacuous.
    """
    eta = check_positive_float(eta, "eta")
    if eta >= 1.0:
        raise ValueError(f"eta must lie in (0, 1), got {eta!r}")
    arr = _float_input(s, "s")
    if np.any(arr <= 0.0):
        raise ValueError("s must be > 0 (the ALMT lower bound involves 2 sqrt(n / s))")
    delta = np.asarray(l1_statistical_dimension(arr, n))
    a_eta = math.sqrt(8.0 * math.log(4.0 / eta))
    lo = delta - 2.0 * np.sqrt(n / arr) - a_eta * math.sqrt(n)
    hi = delta + a_eta * math.sqrt(n)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def _dt_delta_of_tau(tau: float) -> tuple[float, float]:
    """(delta, s/n) on the l1 curve, parametrised by the optimal threshold tau."""
    gap = _mills_gap(tau)
    rho_s = 2.0 * gap / (tau + 2.0 * gap)
    return _objective(tau, rho_s), rho_s


def l1_phase_transition_rho(delta: ArrayLike) -> float | np.ndarray:
    r"""The theoretical l1 curve on the Donoho-Tanner diagram: rho = s/m against delta = m/n.

    With m equal to the statistical dimension, the curve is ``delta = psi(rho * delta)``
    ([ALMT14]_, Prop. 4.5), which coincides with the Donoho-Tanner weak threshold for the
    cross-polytope ([DT09]_, [DMM09]_). Writing rho_s = s/n, the stationarity condition
    of psi gives the curve parametrically in the optimal threshold tau > 0:

    .. math::

        \rho_s(\tau) = \frac{2(\phi(\tau) - \tau Q(\tau))}{\tau + 2(\phi(\tau) - \tau Q(\tau))},
        \qquad
        \delta(\tau) = \rho_s (1 + \tau^2) + (1 - \rho_s)\, 2[(1 + \tau^2) Q(\tau)
            - \tau \phi(\tau)],

    with delta(tau) decreasing from 1 (tau = 0) to 0 (tau -> inf). For each delta the
    root of delta(tau) = delta is found with `scipy.optimize.brentq`, and
    rho = rho_s(tau) / delta. The limits rho(0) = 0 and rho(1) = 1 are returned at the
    end points.

    Parameters
    ----------
    delta : float or array_like
        Undersampling ratio(s) m / n in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        rho = s / m on the curve, shaped like `delta`; recovery succeeds (w.p. -> 1 as
        n -> inf) below the curve and fails above it.

    References
    ----------
    .. [ALMT14] Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 2014.
    .. [DT09] Donoho & Tanner, J. AMS 2009.
    .. [DMM09] Donoho, Maleki & Montanari, PNAS 2009.
    """
    arr = _float_input(delta, "delta")
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError("delta must lie in [0, 1]")
    out = np.empty(arr.size)
    for i, d in enumerate(arr.ravel()):
        d = float(d)
        if d <= 0.0:
            out[i] = 0.0
            continue
        if d >= 1.0:
            out[i] = 1.0
            continue
        hi = 1.0
        while _dt_delta_of_tau(hi)[0] >= d:
            hi *= 2.0
        tau = brentq(lambda t, d=d: _dt_delta_of_tau(t)[0] - d, 0.0, hi, xtol=_XTOL)
        out[i] = _dt_delta_of_tau(tau)[1] / d
    out = out.reshape(arr.shape)
    return _scalar_or_array(out)


# --------------------------------------------------------------------------------------
# 2. Sample-complexity predictors
# --------------------------------------------------------------------------------------


def _int_array(x, name: str, minimum: int) -> np.ndarray:
    """Integer-valued array (any shape) with all entries >= minimum, as float64."""
    arr = _float_input(x, name)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold integers, got {x!r}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {x!r}")
    return arr


def sdlss_measurements(
    s: ArrayLike, d: ArrayLike, k: ArrayLike, h: ArrayLike, c: float = 1.0
) -> float | np.ndarray:
    r"""SDLSS sample-complexity predictor m = c s d log(k h / s).

    [KPS21]_: for a d-layer ReLU generator with latent dimension k, widest layer h and
    s-sparse latent codes, a Gaussian A with m = O(s d log(k h / s)) rows satisfies the
    S-REC on the generator's range with high probability. This returns the order term
    times an (unknown, to be fitted) constant c; it is a predictor for collapse plots,
    not a guarantee (for an explicit guarantee see `srec_guarantee_measurements`).

    Parameters
    ----------
    s, d, k, h : int or array_like of int
        Sparsity (1 <= s <= k), depth (>= 1), latent dimension (>= 1) and widest layer
        width (>= 1). Arrays broadcast against each other.
    c : float, optional
        Multiplicative constant, > 0.

    Returns
    -------
    float or numpy.ndarray
        c s d log(k h / s) (>= 0 since s <= k and h >= 1), broadcast over the inputs.

    References
    ----------
    .. [KPS21] Killedar, Pokala & Seelamantula, ICASSP 2021.
    """
    c = check_positive_float(c, "c")
    s_a = _int_array(s, "s", 1)
    d_a = _int_array(d, "d", 1)
    k_a = _int_array(k, "k", 1)
    h_a = _int_array(h, "h", 1)
    s_a, d_a, k_a, h_a = np.broadcast_arrays(s_a, d_a, k_a, h_a)
    if np.any(s_a > k_a):
        raise ValueError("s must be <= k (at most k latent entries can be non-zero)")
    return _scalar_or_array(c * s_a * d_a * np.log(k_a * h_a / s_a))


def bora_measurements(
    k: ArrayLike, d: ArrayLike, n: ArrayLike, c: float = 1.0
) -> float | np.ndarray:
    r"""Bora et al.'s sample-complexity predictor m = c k d log(n) for ReLU generators.

    [BJPD17]_, Thm 1.1 / Sec. 3: for a d-layer ReLU generator G: R^k -> R^n with at most
    n nodes per layer, m = O(k d log n) Gaussian measurements give the S-REC on the range
    of G with high probability. Returns the order term times a constant c.

    Parameters
    ----------
    k, d, n : int or array_like of int
        Latent dimension (>= 1), depth (>= 1), and n (>= 1), the output dimension /
        widest layer. Arrays broadcast.
    c : float, optional
        Multiplicative constant, > 0.

    Returns
    -------
    float or numpy.ndarray
        c k d log(n), broadcast over the inputs.

    References
    ----------
    .. [BJPD17] Bora, Jalal, Price & Dimakis, "Compressed sensing using generative
       models", ICML 2017.
    """
    c = check_positive_float(c, "c")
    k_a = _int_array(k, "k", 1)
    d_a = _int_array(d, "d", 1)
    n_a = _int_array(n, "n", 1)
    k_a, d_a, n_a = np.broadcast_arrays(k_a, d_a, n_a)
    return _scalar_or_array(c * k_a * d_a * np.log(n_a))


# --------------------------------------------------------------------------------------
# 3. Worst-case S-REC guarantee from counting linear pieces
# --------------------------------------------------------------------------------------


def _log_comb(a: float, b: np.ndarray) -> np.ndarray:
    """Log-binomial log C(a, b) via gammaln, for integer 0 <= b <= a."""
    return gammaln(a + 1.0) - gammaln(b + 1.0) - gammaln(a - b + 1.0)


def _check_widths(widths) -> list[int]:
    if isinstance(widths, (int, np.integer)):
        raise TypeError("widths must be a sequence of layer widths, e.g. (60, 120)")
    try:
        seq = list(widths)
    except TypeError as exc:
        raise TypeError(f"widths must be a sequence of ints, got {widths!r}") from exc
    if len(seq) == 0:
        raise ValueError("widths must hold at least one layer width")
    return [check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(seq)]


def _log_pieces(k: int, s: int, widths: list[int]) -> float:
    total = float(_log_comb(k, np.float64(s)))
    for w in widths:
        j = np.arange(min(s, w) + 1, dtype=np.float64)
        total += float(logsumexp(_log_comb(w, j)))
    return total


def linear_piece_count_log(k: int, s: int, widths: Sequence[int]) -> float:
    r"""Log of the bound on the number of linear pieces of a ReLU net on s-sparse inputs.

    On a fixed support S (|S| = s) the network is a function of s real inputs. A ReLU
    layer of width n_i splits each affine piece of its (at most s-dimensional) input into
    at most as many pieces as an arrangement of n_i hyperplanes has regions in R^s,
    sum_{j<=s} C(n_i, j) (Zaslavsky / Buck; equality for hyperplanes in general
    position). Multiplying over layers and summing over the C(k, s) supports:

    .. math::

        N(k, s, n_1..n_d) \le \binom{k}{s} \prod_{i=1}^{d} \sum_{j=0}^{s} \binom{n_i}{j}.

    With h = max_i n_i this is at most C(k, s) (sum_{j<=s} C(h, j))^d, the count quoted
    for the SDLSS theorem ([KPS21]_); the per-layer product is never larger, and strictly
    smaller as soon as one layer is narrower than h, so it is the one computed here.
    Everything is done in logs (`scipy.special.gammaln`, `scipy.special.logsumexp`), so
    no overflow for realistic sizes.

    Parameters
    ----------
    k : int
        Latent dimension, >= 1.
    s : int
        Sparsity, 1 <= s <= k.
    widths : sequence of int
        Widths of the layers followed by a ReLU (the hidden layers; a linear output layer
        adds no pieces and must not be listed; list it if it too has a ReLU).

    Returns
    -------
    float
        The natural log of the bound.

    References
    ----------
    .. [KPS21] Killedar, Pokala & Seelamantula, ICASSP 2021.
    .. [Zas75] T. Zaslavsky, "Facing up to arrangements", Mem. AMS 154, 1975.
    """
    k = check_int(k, "k", minimum=1)
    s = check_int(s, "s", minimum=1)
    if s > k:
        raise ValueError(f"s must be <= k, got s={s}, k={k}")
    return _log_pieces(k, s, _check_widths(widths))


def _check_prob(prob) -> float:
    prob = check_positive_float(prob, "prob", allow_zero=True)
    if prob >= 1.0:
        raise ValueError(f"prob must lie in [0, 1), got {prob!r}")
    return prob


def _check_gamma(gamma) -> float:
    gamma = check_positive_float(gamma, "gamma", allow_zero=True)
    if gamma >= 1.0:
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    return gamma


def gaussian_smin_tail_bound(m: ArrayLike, r: int, t: ArrayLike) -> float | np.ndarray:
    r"""Tail bound on the smallest singular value of an (m x r) N(0, 1/m) Gaussian matrix.

    For B in R^{m x r} (m >= r) with i.i.d. N(0, 1/m) entries, e.g. B = A U with A the
    sensing matrix and U an orthonormal basis of a fixed r-dimensional subspace,

    .. math:: P\big(\sigma_{\min}(B) \le 1 - \sqrt{r/m} - t\big) \le \exp(-m t^2 / 2),
              \qquad t \ge 0.

    Source: with G = sqrt(m) B standard Gaussian, Gordon's inequality gives
    E sigma_min(G) >= sqrt(m) - sqrt(r) ([DS01]_, Thm II.13; [Ver12]_, Thm 5.32), and
    sigma_min is 1-Lipschitz in G (Frobenius norm), so Gaussian concentration gives
    P(sigma_min(G) <= E sigma_min(G) - u) <= exp(-u^2 / 2) ([Ver12]_, Prop. 5.34; the
    two-sided form with 2 exp(-u^2/2) is [Ver12]_, Cor. 5.35). Put u = sqrt(m) t. This is
    the Gaussian, explicit-constant case of Vershynin's HDP Thm 4.6.1, whose general
    sub-gaussian statement carries unspecified constants.

    Parameters
    ----------
    m : int or array_like of int
        Number of rows, >= r.
    r : int
        Number of columns (the subspace dimension), >= 1.
    t : float or array_like
        Deviation(s) >= 0.

    Returns
    -------
    float or numpy.ndarray
        exp(-m t^2 / 2), broadcast over `m` and `t`.
    """
    r = check_int(r, "r", minimum=1)
    m_a = _int_array(m, "m", r)
    t_a = _float_input(t, "t")
    if np.any(t_a < 0.0):
        raise ValueError("t must be >= 0")
    return _scalar_or_array(np.exp(-0.5 * m_a * t_a**2))


def _log_pair_count(log_n: float) -> float:
    """log(N (N + 1) / 2): unordered pairs {P, Q} of N pieces, P == Q allowed."""
    return log_n + log_n + math.log1p(math.exp(-log_n)) - math.log(2.0)


def _log_pairs_and_rank(k: int, s: int, widths, bias: bool) -> tuple[float, int]:
    """log(number of unordered pairs of pieces, with repetition) and the subspace rank."""
    log_n = linear_piece_count_log(k, s, widths)
    return _log_pair_count(log_n), 2 * s + (1 if bias else 0)


def _check_log_pieces(log_pieces, rank) -> tuple[float, int]:
    log_pieces = check_positive_float(log_pieces, "log_pieces", allow_zero=True)
    return log_pieces, check_int(rank, "rank", minimum=1)


def union_bound_gamma(
    m: ArrayLike, log_pieces: float, rank: int, prob: float
) -> float | np.ndarray:
    r"""The gamma the union bound over N pieces guarantees with m rows, w.p. >= prob.

    The union bound of `srec_failure_probability_bound` for an explicit piece count N
    (e.g. the exact count of `sdlss_theory.pieces.linear_pieces`) and subspace rank r:

    .. math::

        \gamma(m) = \max\Big(0,\ 1 - \frac{\sqrt{r} + \sqrt{2L}}{\sqrt{m}}\Big),
        \qquad L = \ln\frac{N(N+1)}{2} + \ln\frac{1}{1 - p},

    and 0 for m < r.

    Parameters
    ----------
    m : int or array_like of int
        Number(s) of measurements, >= 1.
    log_pieces : float
        ln N, >= 0.
    rank : int
        r, the dimension of the span of two pieces' differences (2s, or 2s + 1 with biases).
    prob : float
        Required success probability in [0, 1).

    Returns
    -------
    float or numpy.ndarray
        The guaranteed gamma in [0, 1), shaped like `m`.
    """
    prob = _check_prob(prob)
    log_pieces, rank = _check_log_pieces(log_pieces, rank)
    m_a = _int_array(m, "m", 1)
    budget = _log_pair_count(log_pieces) - math.log1p(-prob)
    g = 1.0 - (math.sqrt(rank) + math.sqrt(2.0 * budget)) / np.sqrt(m_a)
    g = np.where(m_a >= rank, np.maximum(g, 0.0), 0.0)
    return _scalar_or_array(g)


def union_bound_measurements(log_pieces: float, rank: int, gamma: float, prob: float) -> int:
    r"""The smallest m for which the union bound over N pieces guarantees gamma w.p. >= prob.

    The inverse of `union_bound_gamma`: the smallest integer m >= r with
    (sqrt(m)(1 - gamma) - sqrt(r))^2 / 2 >= L, L = ln(N(N+1)/2) + ln(1/(1 - p)), i.e.

    .. math:: m^\star = \Big\lceil \Big(\frac{\sqrt{r} + \sqrt{2L}}{1 - \gamma}\Big)^2
              \Big\rceil \ \approx\ \frac{4 \ln N}{(1 - \gamma)^2} \quad (N \to \infty),

    followed by a short monotone integer search to absorb rounding.

    Parameters
    ----------
    log_pieces : float
        ln N, >= 0.
    rank : int
        r (2s, or 2s + 1 with biases).
    gamma : float
        Target S-REC constant in [0, 1).
    prob : float
        Required success probability in [0, 1).

    Returns
    -------
    int
        The guaranteed number of measurements.
    """
    gamma = _check_gamma(gamma)
    prob = _check_prob(prob)
    log_pieces, rank = _check_log_pieces(log_pieces, rank)
    budget = _log_pair_count(log_pieces) - math.log1p(-prob)

    def ok(m: int) -> bool:
        margin = math.sqrt(m) * (1.0 - gamma) - math.sqrt(rank)
        return m >= rank and margin > 0.0 and 0.5 * margin * margin >= budget

    m = max(rank, math.ceil(((math.sqrt(rank) + math.sqrt(2.0 * budget)) / (1.0 - gamma)) ** 2))
    while not ok(m):
        m += 1
    while m > rank and ok(m - 1):
        m -= 1
    return m


def srec_failure_probability_bound(
    m: ArrayLike, k: int, s: int, widths: Sequence[int], gamma: float, *, bias: bool = True
) -> float | np.ndarray:
    r"""Union bound on P(S-REC with constant gamma fails) for a Gaussian A with m rows.

    Each linear piece P of the generator on s-sparse codes is affine,
    G(z) = J_P z + c_P, with J_P of rank <= s. For x1 in piece P and x2 in piece Q the
    difference x1 - x2 lies in the span V_PQ of J_P, J_Q and c_P - c_Q, of dimension at
    most r = 2s + 1 (r = 2s without biases). If sigma_min(A U_PQ) >= gamma for every
    pair, then ||A (x1 - x2)|| >= gamma ||x1 - x2|| on the whole range (S-REC with
    delta = 0). With N = exp(`linear_piece_count_log`) pieces and N (N + 1) / 2 pairs, the
    tail bound of `gaussian_smin_tail_bound` (with t = 1 - gamma - sqrt(r/m)) gives

    .. math::

        P(\text{fail}) \le \min\Big(1, \frac{N(N+1)}{2}
            \exp\big(-\tfrac{1}{2}(\sqrt{m}(1-\gamma) - \sqrt{r})^2\big)\Big)
        \quad\text{if } \sqrt{m}(1 - \gamma) > \sqrt{r}, \text{ else } 1.

    This is a worst-case union bound: it ignores how the pieces are correlated and is far
    above what a random network needs; see `docs/theory.md`.

    Parameters
    ----------
    m : int or array_like of int
        Number(s) of measurements, >= 1.
    k, s, widths
        As in `linear_piece_count_log`.
    gamma : float
        Target S-REC constant in [0, 1).
    bias : bool, optional
        Whether the layers have biases (adds the offset direction: r = 2s + 1).

    Returns
    -------
    float or numpy.ndarray
        The bound, in [0, 1], shaped like `m`.
    """
    gamma = _check_gamma(gamma)
    m_a = _int_array(m, "m", 1)
    log_pairs, rank = _log_pairs_and_rank(k, s, widths, bias)
    margin = np.sqrt(m_a) * (1.0 - gamma) - math.sqrt(rank)
    log_p = log_pairs - 0.5 * margin**2
    out = np.where((margin > 0.0) & (m_a >= rank), np.exp(np.minimum(log_p, 0.0)), 1.0)
    return _scalar_or_array(out)


def srec_guarantee_measurements(
    k: int, s: int, widths: Sequence[int], gamma: float, prob: float, *, bias: bool = True
) -> int:
    r"""Smallest m for which the union bound guarantees S-REC(gamma) with probability >= prob.

    Solves ``srec_failure_probability_bound(m, ...) <= 1 - prob`` for the smallest integer
    m. The bound is decreasing in m, and the condition
    ``(sqrt(m)(1 - gamma) - sqrt(r))^2 / 2 >= log(N(N+1)/2) + log(1/(1 - prob))`` with
    sqrt(m)(1 - gamma) > sqrt(r) inverts in closed form:

    .. math::

        m^\star = \Big\lceil \Big(\frac{\sqrt{r} + \sqrt{2 L}}{1 - \gamma}\Big)^2
            \Big\rceil, \qquad L = \log\frac{N(N+1)}{2} + \log\frac{1}{1 - p}, \ p = \text{prob},

    followed by a short monotone integer search around m* to absorb rounding
    (and m* >= r is enforced). N is the piece-count bound of `linear_piece_count_log`,
    r = 2s + 1 (or 2s without biases); the tail bound is exp(-m t^2 / 2) from
    Gordon's inequality plus Gaussian concentration ([DS01]_, Thm II.13; [Ver12]_,
    Thm 5.32, Prop. 5.34).

    Being a union bound over the worst-case count of linear pieces, the result grows
    like ``4 ln N / (1 - gamma)^2`` (L ~ 2 ln N for the N^2 / 2 pairs, and m* ~ 2L /
    (1 - gamma)^2), i.e. about ``4 s d ln(h) / (1 - gamma)^2`` for wide layers, and is
    typically far above the m at which random networks empirically satisfy the S-REC.
    `union_bound_measurements` computes the same bound for an explicit piece count.

    Parameters
    ----------
    k, s, widths
        As in `linear_piece_count_log`.
    gamma : float
        Target S-REC constant in [0, 1).
    prob : float
        Required success probability in [0, 1).
    bias : bool, optional
        Whether the layers have biases (r = 2s + 1 if so, else 2s).

    Returns
    -------
    int
        The guaranteed number of measurements.
    """
    log_n = linear_piece_count_log(k, s, widths)
    return union_bound_measurements(log_n, 2 * s + (1 if bias else 0), gamma, prob)


def srec_guarantee_gamma(
    m: ArrayLike, k: int, s: int, widths: Sequence[int], prob: float, *, bias: bool = True
) -> float | np.ndarray:
    r"""Largest gamma guaranteed by the union bound with m measurements, w.p. >= prob.

    The inverse of `srec_guarantee_measurements` in gamma (for the S-REC study's
    gamma-against-m figure):

    .. math::

        \gamma^\star(m) = \max\Big(0,\ 1 - \frac{\sqrt{r} + \sqrt{2L}}{\sqrt{m}}\Big),
        \qquad L = \log\frac{N(N+1)}{2} + \log\frac{1}{1 - p}, \ p = \text{prob}.

    A value of 0 means the bound guarantees nothing at that m.

    Parameters
    ----------
    m : int or array_like of int
        Number(s) of measurements, >= 1.
    k, s, widths
        As in `linear_piece_count_log`.
    prob : float
        Required success probability in [0, 1).
    bias : bool, optional
        Whether the layers have biases (r = 2s + 1 if so, else 2s).

    Returns
    -------
    float or numpy.ndarray
        The guaranteed gamma in [0, 1), shaped like `m`.
    """
    log_n = linear_piece_count_log(k, s, widths)
    return union_bound_gamma(m, log_n, 2 * s + (1 if bias else 0), prob)
