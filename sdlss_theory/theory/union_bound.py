r"""The worst-case S-REC guarantee from counting the linear pieces of a ReLU generator.

`linear_piece_count_log` (the per-layer Zaslavsky bound on s-sparse codes), the Gaussian
tail bound `gaussian_smin_tail_bound`, and the union bound over pairs of pieces built on
them: `srec_failure_probability_bound`, `srec_guarantee_measurements`,
`srec_guarantee_gamma`, and the same bound for an explicit piece count,
`union_bound_measurements`, `union_bound_gamma`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, logsumexp

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.theory._arrays import _float_input, _int_array, _scalar_or_array

__all__ = [
    "gaussian_smin_tail_bound",
    "linear_piece_count_log",
    "srec_failure_probability_bound",
    "srec_guarantee_gamma",
    "srec_guarantee_measurements",
    "union_bound_gamma",
    "union_bound_measurements",
]


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


def _rank(s: int, bias: bool) -> int:
    """r, the dimension of the span of two pieces' differences: 2s, plus 1 with biases."""
    return 2 * s + (1 if bias else 0)


def _log_pairs_and_rank(k: int, s: int, widths, bias: bool) -> tuple[float, int]:
    """log(number of unordered pairs of pieces, with repetition) and the subspace rank."""
    log_n = linear_piece_count_log(k, s, widths)
    return _log_pair_count(log_n), _rank(s, bias)


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
    return union_bound_measurements(log_n, _rank(s, bias), gamma, prob)


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
    m, k, s, widths, bias
        As in `srec_failure_probability_bound`.
    prob
        As in `union_bound_gamma`.

    Returns
    -------
    float or numpy.ndarray
        `union_bound_gamma` at ln N = `linear_piece_count_log` and r = 2s + 1 (2s without
        biases): in [0, 1), shaped like `m`.
    """
    return union_bound_gamma(m, linear_piece_count_log(k, s, widths), _rank(s, bias), prob)
