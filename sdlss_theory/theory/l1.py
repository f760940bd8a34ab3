r"""The l1 phase transition from the statistical dimension of the l1 descent cone.

ALMT's statistical dimension (Amelunxen, Lotz, McCoy & Tropp 2014) and the Donoho-Tanner
curve it gives: `l1_psi`, `l1_statistical_dimension`, `l1_transition_m`,
`l1_transition_interval`, `l1_phase_transition_rho`. The Gaussian helpers are scalar: they
run inside `scipy.optimize.brentq`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.theory._arrays import _float_input, _scalar_or_array

__all__ = [
    "l1_phase_transition_rho",
    "l1_psi",
    "l1_statistical_dimension",
    "l1_transition_interval",
    "l1_transition_m",
]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_XTOL = 1e-14


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


def _on_unit_interval(x, name: str, interior) -> float | np.ndarray:
    """f(x) entry by entry for x in [0, 1]: f(0) = 0, f(1) = 1, ``interior(x)`` in between."""
    arr = _float_input(x, name)
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1]")
    values = [0.0 if v <= 0.0 else 1.0 if v >= 1.0 else interior(v) for v in arr.ravel().tolist()]
    return _scalar_or_array(np.array(values, dtype=np.float64).reshape(arr.shape))


def _psi_interior(rho: float) -> float:
    """psi(rho) for 0 < rho < 1: the objective at its minimiser."""
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
    return _on_unit_interval(rho, "rho", _psi_interior)


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
    rho : float or numpy.ndarray
        s / m on the curve, shaped like `delta`; recovery succeeds (w.p. -> 1 as n -> inf)
        below the curve and fails above it.

    References
    ----------
    .. [ALMT14] Amelunxen, Lotz, McCoy & Tropp, "Living on the edge", Inf. Inference 2014.
    .. [DT09] Donoho & Tanner, J. AMS 2009.
    .. [DMM09] Donoho, Maleki & Montanari, PNAS 2009.
    """
    return _on_unit_interval(delta, "delta", _curve_rho)


def _curve_rho(d: float) -> float:
    """The l1 curve's rho at 0 < delta = d < 1: the root tau of delta(tau) = d, then rho."""
    hi = 1.0
    while _dt_delta_of_tau(hi)[0] >= d:
        hi *= 2.0
    tau = brentq(lambda t: _dt_delta_of_tau(t)[0] - d, 0.0, hi, xtol=_XTOL)
    return _dt_delta_of_tau(tau)[1] / d
