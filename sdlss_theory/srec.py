r"""Estimating the S-REC constant of a sensing matrix on the range of a sparse-latent generator.

A matrix A in R^{m x n} satisfies the set-restricted eigenvalue condition
S-REC(S, gamma, delta) on a set S if ([BJPD17]_)

.. math:: \|A(x_1 - x_2)\| \ge \gamma \|x_1 - x_2\| - \delta \qquad \forall x_1, x_2 \in S.

Here S = range_s(G) = {G(z) : ||z||_0 <= s}, the union of C(k, s) sub-manifolds of the SDLSS
model ([KPS21]_). With delta = 0 the best constant is

.. math:: \gamma^\star = \inf_{x_1 \ne x_2 \in S} \frac{\|A(x_1 - x_2)\|}{\|x_1 - x_2\|},

which no finite computation gives exactly for a ReLU network. This module offers four views
of it, which bracket it from both sides:

* `random_pair_ratios`: the ratio for random pairs. For a difference vector fixed
  independently of A it is distributed exactly as sqrt(chi^2_m / m) (`chi_ratio_law`); a
  minimum over random pairs only bounds gamma* from above.
* `adversarial_ratio`: minimise the ratio over (z1, z2) by projected gradient with P_s, from
  several starts; it finds actual pairs, so it too bounds gamma* from above, more tightly.
* `piecewise_min_singular_value`: G is affine on each linear piece (a support plus an
  activation pattern); for two pieces the worst ratio over all pairs drawn from them (their
  affine extensions) is sigma_min of A on the span of the two pieces' Jacobian columns
  (plus the offset between them). It is a lower bound for those two pieces.
* The theorem's worst-case union bound over all pieces lives in `sdlss_theory.theory`
  (`srec_guarantee_gamma`, `srec_guarantee_measurements`, `linear_piece_count_log`).

`smallest_delta` converts evaluated pairs into the smallest delta that makes a target gamma
hold on them.

References
----------
.. [BJPD17] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using
   generative models", ICML 2017.
.. [KPS21] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [HV18] P. Hand and V. Voroninski, "Global guarantees for enforcing deep generative
   priors by empirical risk", COLT 2018.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike
from scipy import stats

from sdlss_theory._validation import (
    as_float_array,
    check_int,
    check_positive_float,
    check_rng,
)
from sdlss_theory.data import sparse_latents
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.projection import hard_threshold

__all__ = [
    "AdversarialResult",
    "LinearPiece",
    "PairRatios",
    "adversarial_ratio",
    "chi_ratio_law",
    "ks_against_chi_law",
    "linear_piece",
    "piecewise_min_singular_value",
    "random_pair_ratios",
    "ratio_objective",
    "ratio_objective_grad",
    "sample_pairs",
    "smallest_delta",
]

# A pair whose images are closer than this, relative to their size, has no defined ratio.
_DEGENERATE = 1e-12


# ----------------------------------------------------------------------------- checks
def _check_generator(G) -> ReLUGenerator:
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    return G


def _check_matrix(A, G: ReLUGenerator, *, allow_stack: bool = False) -> np.ndarray:
    ndim = (2, 3) if allow_stack else (2,)
    A = as_float_array(A, "A", ndim=ndim)
    if A.shape[-1] != G.n:
        raise ValueError(
            f"A must have {G.n} columns (the generator's output size n), got shape {A.shape}"
        )
    if A.shape[-2] < 1:
        raise ValueError(f"A must have at least one row, got shape {A.shape}")
    return A


def _check_sparsity(s, k: int) -> int:
    s = check_int(s, "s", minimum=1)
    if s > k:
        raise ValueError(f"s must be <= k = {k} (the generator's latent size), got {s}")
    return s


def _check_pair(G: ReLUGenerator, z1, z2) -> tuple[np.ndarray, np.ndarray, bool]:
    z1 = as_float_array(z1, "z1", ndim=(1, 2))
    z2 = as_float_array(z2, "z2", ndim=(1, 2))
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {z1.shape} and {z2.shape}")
    if z1.shape[-1] != G.k:
        raise ValueError(
            f"z1 and z2 must have shape ({G.k},) or (B, {G.k}) for this generator, got {z1.shape}"
        )
    return np.atleast_2d(z1), np.atleast_2d(z2), z1.ndim == 1


# ----------------------------------------------------------------------------- random pairs
def sample_pairs(
    k: int, s: int, n_pairs: int, rng: np.random.Generator, *, same_support: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw pairs of s-sparse latent codes with Gaussian non-zeros.

    Each code has a support S uniform over the C(k, s) subsets and z_S ~ N(0, I_s), the
    SDLSS latent law (`sdlss_theory.data.sparse_latents`). With ``same_support=True`` the two
    codes of a pair share their support (both points lie on one sub-manifold); otherwise
    their supports are independent uniform subsets conditioned to differ (S1 != S2; they
    may overlap).

    Parameters
    ----------
    k : int
        Latent size, >= 1.
    s : int
        Sparsity, 1 <= s <= k (s < k for different supports).
    n_pairs : int
        Number of pairs, >= 1.
    rng : numpy.random.Generator
        Source of randomness.
    same_support : bool
        Pairs on one support (True) or on two different supports (False).

    Returns
    -------
    z1, z2 : ndarray, shape (n_pairs, k)
        The codes.
    """
    k = check_int(k, "k", minimum=1)
    s = _check_sparsity(s, k)
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    rng = check_rng(rng)
    z1 = sparse_latents(n_pairs, k, s, rng)
    if same_support:
        z2 = np.zeros_like(z1)
        mask = z1 != 0.0
        z2[mask] = rng.standard_normal(int(mask.sum()))
        return z1, z2
    if s == k:
        raise ValueError(f"different supports need s < k, got s = k = {k}")
    z2 = sparse_latents(n_pairs, k, s, rng)
    same = np.all((z1 != 0.0) == (z2 != 0.0), axis=1)
    while np.any(same):  # rejection: each round succeeds with probability 1 - 1/C(k, s)
        z2[same] = sparse_latents(int(same.sum()), k, s, rng)
        same = np.all((z1 != 0.0) == (z2 != 0.0), axis=1)
    return z1, z2


class PairRatios(NamedTuple):
    """Random-pair ratios and the pairs they come from (see `random_pair_ratios`)."""

    ratios: np.ndarray
    diff_norms: np.ndarray
    z1: np.ndarray
    z2: np.ndarray


def random_pair_ratios(
    G: ReLUGenerator,
    A: np.ndarray,
    s: int,
    n_pairs: int,
    rng: np.random.Generator,
    *,
    same_support: bool = False,
    return_pairs: bool = False,
) -> np.ndarray | PairRatios:
    r"""Ratios ||A(x1 - x2)|| / ||x1 - x2|| for random pairs x_i = G(z_i) on the range of G.

    The codes come from `sample_pairs` (s-sparse, uniform supports, Gaussian non-zeros).
    If A is drawn independently of the pair, then for the fixed difference d = x1 - x2 the
    entries of A d are i.i.d. N(0, ||d||^2 / m), so

    .. math:: \frac{\|A d\|}{\|d\|} \sim \sqrt{\chi^2_m / m}

    whatever d is (`chi_ratio_law`). Pass a stack of matrices (one fresh A per pair) to get
    i.i.d. draws from that law. With one A shared by all pairs the ratios are draws from
    the law conditional on A: dependent, with a distribution that varies with A; their
    minimum is an upper bound on the S-REC constant gamma* of A ([BJPD17]_).

    Pairs whose images coincide (``||x1 - x2|| <= 1e-12 (||x1|| + ||x2||)``, e.g. both
    mapped to 0 by a bias-free network) have no ratio and are drawn again.

    Parameters
    ----------
    G : ReLUGenerator
        The generator, G: R^k -> R^n.
    A : array_like, shape (m, n) or (n_pairs, m, n)
        One sensing matrix for all pairs, or one per pair.
    s : int
        Sparsity of the codes, 1 <= s <= k.
    n_pairs : int
        Number of pairs, >= 1.
    rng : numpy.random.Generator
        Source of randomness (the pairs only; A is given).
    same_support : bool
        Pairs on one support, or on two different supports (see `sample_pairs`).
    return_pairs : bool
        Also return the difference norms and the codes.

    Returns
    -------
    ndarray, shape (n_pairs,), or PairRatios
        The ratios; with `return_pairs`, a `PairRatios` (ratios, diff_norms, z1, z2).
    """
    G = _check_generator(G)
    A = _check_matrix(A, G, allow_stack=True)
    s = _check_sparsity(s, G.k)
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    rng = check_rng(rng)
    if A.ndim == 3 and A.shape[0] != n_pairs:
        raise ValueError(
            f"a stack of matrices A must hold one per pair ({n_pairs}), got shape {A.shape}"
        )
    z1, z2 = sample_pairs(G.k, s, n_pairs, rng, same_support=same_support)
    x1, x2 = G(z1), G(z2)
    for _ in range(100):
        bad = np.linalg.norm(x1 - x2, axis=1) <= _DEGENERATE * (
            np.linalg.norm(x1, axis=1) + np.linalg.norm(x2, axis=1)
        )
        if not np.any(bad):
            break
        z1[bad], z2[bad] = sample_pairs(G.k, s, int(bad.sum()), rng, same_support=same_support)
        x1[bad], x2[bad] = G(z1[bad]), G(z2[bad])
    else:
        raise RuntimeError(
            "could not draw pairs with distinct images: G maps almost every s-sparse code to "
            "the same point"
        )
    d = x1 - x2
    diff_norms = np.linalg.norm(d, axis=1)
    Ad = d @ A.T if A.ndim == 2 else np.einsum("pij,pj->pi", A, d)
    ratios = np.linalg.norm(Ad, axis=1) / diff_norms
    if return_pairs:
        return PairRatios(ratios, diff_norms, z1, z2)
    return ratios


def chi_ratio_law(m: int) -> Any:
    r"""The law of ||A d|| / ||d|| for a fixed d != 0 and A with i.i.d. N(0, 1/m) entries.

    sqrt(m) A d / ||d|| is a standard Gaussian vector in R^m, so m ||A d||^2 / ||d||^2 is
    chi-square with m degrees of freedom and the ratio follows a chi law with m degrees of
    freedom scaled by 1/sqrt(m): mean sqrt(2/m) Gamma((m+1)/2) / Gamma(m/2) -> 1 and
    variance about 1/(2m).

    Parameters
    ----------
    m : int
        Number of measurements, >= 1.

    Returns
    -------
    scipy.stats frozen distribution
        ``scipy.stats.chi(df=m, scale=1/sqrt(m))``.
    """
    m = check_int(m, "m", minimum=1)
    return stats.chi(df=m, scale=1.0 / np.sqrt(m))


def ks_against_chi_law(ratios: ArrayLike, m: int) -> tuple[float, float]:
    """Kolmogorov-Smirnov test of ratios against the exact law sqrt(chi^2_m / m).

    The p-value is valid only for i.i.d. draws, i.e. ratios computed with a fresh A per
    pair (or A independent of a set of independent pairs); for ratios sharing one A the
    statistic is only a descriptive distance between the conditional law and this one.

    Parameters
    ----------
    ratios : array_like, shape (P,)
        The ratios, P >= 1.
    m : int
        Number of measurements.

    Returns
    -------
    scipy.stats KstestResult
        ``statistic`` and ``pvalue`` (two-sided, exact or asymptotic as scipy chooses).
    """
    ratios = as_float_array(ratios, "ratios", ndim=(1,))
    if ratios.size == 0:
        raise ValueError("ratios must not be empty")
    return stats.kstest(ratios, chi_ratio_law(m).cdf)


# ----------------------------------------------------------------------------- objective
def _objective_parts(G, A, Z1, Z2):
    X1, X2 = G(Z1), G(Z2)
    D = X1 - X2
    AD = D @ A.T
    num = np.einsum("bi,bi->b", AD, AD)
    den = np.einsum("bi,bi->b", D, D)
    scale = np.einsum("bi,bi->b", X1, X1) + np.einsum("bi,bi->b", X2, X2)
    return D, AD, num, den, scale


def ratio_objective(
    G: ReLUGenerator, A: np.ndarray, z1: ArrayLike, z2: ArrayLike
) -> float | np.ndarray:
    r"""The squared ratio f(z1, z2) = ||A(G(z1) - G(z2))||^2 / ||G(z1) - G(z2)||^2.

    Parameters
    ----------
    G : ReLUGenerator
        The generator.
    A : array_like, shape (m, n)
        The sensing matrix.
    z1, z2 : array_like, shape (k,) or (B, k)
        The codes (any sparsity).

    Returns
    -------
    float or ndarray, shape (B,)
        f; NaN is never returned: a pair with ``G(z1) == G(z2)`` raises.
    """
    G = _check_generator(G)
    A = _check_matrix(A, G)
    Z1, Z2, single = _check_pair(G, z1, z2)
    _, _, num, den, _ = _objective_parts(G, A, Z1, Z2)
    if np.any(den == 0.0):
        raise ValueError("G(z1) == G(z2) for some pair: the ratio is undefined")
    f = num / den
    return float(f[0]) if single else f


def ratio_objective_grad(
    G: ReLUGenerator, A: np.ndarray, z1: ArrayLike, z2: ArrayLike
) -> tuple[float | np.ndarray, np.ndarray, np.ndarray]:
    r"""f(z1, z2) = ||A d||^2 / ||d||^2 with d = G(z1) - G(z2), and its gradient.

    With N = ||A d||^2 and D = ||d||^2 the quotient rule gives

    .. math::

        \nabla_d f = \frac{2}{D}\big(A^\top A d - f\, d\big), \qquad
        \nabla_{z_1} f = J_G(z_1)^\top \nabla_d f, \qquad
        \nabla_{z_2} f = -J_G(z_2)^\top \nabla_d f,

    and the two vector-Jacobian products are computed with the generator's hand-derived
    `ReLUGenerator.vjp` (one backward pass per code; A^T A d costs O(m n)). At a ReLU kink
    the convention of `ReLUGenerator` applies (derivative 0 at 0). Note that grad_d f is
    orthogonal to d: f is invariant to the scale of d.

    Parameters
    ----------
    G : ReLUGenerator
        The generator.
    A : array_like, shape (m, n)
        The sensing matrix.
    z1, z2 : array_like, shape (k,) or (B, k)
        The codes.

    Returns
    -------
    f : float or ndarray, shape (B,)
        The squared ratio.
    g1, g2 : ndarray, shaped like z1
        Its gradients with respect to z1 and z2 (dense: all k coordinates).
    """
    G = _check_generator(G)
    A = _check_matrix(A, G)
    Z1, Z2, single = _check_pair(G, z1, z2)
    f, g1, g2 = _value_and_grad(G, A, Z1, Z2)
    if np.any(~np.isfinite(f)):
        raise ValueError("G(z1) == G(z2) for some pair: the ratio is undefined")
    if single:
        return float(f[0]), g1[0], g2[0]
    return f, g1, g2


def _value_and_grad(G, A, Z1, Z2):
    """Batched f and gradient; rows with a (near-)zero difference get f = inf, gradient 0."""
    D, AD, num, den, scale = _objective_parts(G, A, Z1, Z2)
    ok = den > (_DEGENERATE**2) * scale
    safe_den = np.where(ok, den, 1.0)
    f = np.where(ok, num / safe_den, np.inf)
    f_ok = np.where(ok, f, 0.0)
    grad_d = (2.0 / safe_den)[:, None] * (AD @ A - f_ok[:, None] * D)
    grad_d[~ok] = 0.0
    g = G.vjp(np.concatenate([Z1, Z2]), np.concatenate([grad_d, grad_d]))
    B = Z1.shape[0]
    return f, g[:B], -g[B:]


# ----------------------------------------------------------------------------- adversarial
@dataclass(frozen=True)
class AdversarialResult:
    """The outcome of `adversarial_ratio`.

    Attributes
    ----------
    ratio : float
        The smallest ratio found, ||A(x1 - x2)|| / ||x1 - x2|| at (z1, z2): an upper bound on
        the S-REC constant gamma* (delta = 0).
    z1, z2 : ndarray, shape (k,)
        The s-sparse codes attaining it.
    ratios : ndarray, shape (restarts,)
        The final ratio of every restart.
    initial_ratios : ndarray, shape (restarts,)
        The ratio at every restart's starting pair.
    diff_norms : ndarray, shape (restarts,)
        ||G(z1) - G(z2)|| at every restart's final pair.
    z1_all, z2_all : ndarray, shape (restarts, k)
        Every restart's final pair.
    n_iter : ndarray of int, shape (restarts,)
        Iterations run by every restart.
    """

    ratio: float
    z1: np.ndarray
    z2: np.ndarray
    ratios: np.ndarray
    initial_ratios: np.ndarray
    diff_norms: np.ndarray
    z1_all: np.ndarray
    z2_all: np.ndarray
    n_iter: np.ndarray


def _mixed_pairs(k, s, count, frac, rng):
    """`count` pairs, a fraction `frac` of them on a shared support (all if s = k)."""
    n_same = count if s == k else int(round(frac * count))
    parts = []
    if n_same:
        parts.append(sample_pairs(k, s, n_same, rng, same_support=True))
    if count - n_same:
        parts.append(sample_pairs(k, s, count - n_same, rng, same_support=False))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _objective_parts_ratio(G, A, Z1, Z2):
    """The squared ratio f for a batch, inf where the images (almost) coincide."""
    _, _, num, den, scale = _objective_parts(G, A, Z1, Z2)
    ok = den > (_DEGENERATE**2) * scale
    return np.where(ok, num / np.where(ok, den, 1.0), np.inf)


def adversarial_ratio(
    G: ReLUGenerator,
    A: np.ndarray,
    s: int,
    rng: np.random.Generator,
    *,
    restarts: int = 10,
    max_iter: int = 200,
    step: float = 0.1,
    tol: float = 1e-10,
    same_support_fraction: float = 0.5,
    screen: int | None = None,
) -> AdversarialResult:
    r"""Minimise ||A(G(z1) - G(z2))|| / ||G(z1) - G(z2)|| over s-sparse (z1, z2).

    Projected gradient on f = ratio^2 (`ratio_objective_grad`), all restarts advancing
    together as a batch:

    .. math::

        (z_1, z_2) \leftarrow \big(P_s(z_1 - t \nabla_{z_1} f),\ P_s(z_2 - t \nabla_{z_2} f)\big),

    with P_s the hard threshold (`sdlss_theory.hard_threshold`), so supports may change.
    Each restart has its own step t: a step is accepted only if it decreases f (then t
    grows by 1.5), otherwise t is halved and the step retried; a restart stops when its
    step no longer moves it (``t ||grad|| <= tol ||(z1, z2)||``) or after `max_iter`
    iterations. The first step of a restart moves the pair by ``step * ||(z1, z2)||``. Moves
    that make G(z1) and G(z2) (almost) coincide are refused, so the ratio stays defined;
    the infimum may still be approached as z1 -> z2 (a directional derivative).

    Restarts start from random pairs (`sample_pairs`), a fraction `same_support_fraction`
    of them with a shared support. With `screen` > `restarts`, `screen` random pairs are
    drawn and the `restarts` with the smallest ratios are the starts: gradient steps rarely
    change a support, so the combinatorial part of the search (which pair of supports) is
    done by screening and the continuous part by descent.

    The result is an actual pair, so its ratio is an upper bound on gamma*; with enough
    restarts (or screening) it is typically tighter than the minimum over random pairs.
    This is the "adversarial" estimate of the S-REC constant, in the spirit of the S-REC
    loss of Deep Compressed Sensing (Wu et al. 2019) and of [BJPD17]_.

    Parameters
    ----------
    G : ReLUGenerator
        The generator.
    A : array_like, shape (m, n)
        The sensing matrix.
    s : int
        Sparsity, 1 <= s <= k.
    rng : numpy.random.Generator
        Source of randomness (starting pairs).
    restarts : int
        Number of starting pairs, >= 1.
    max_iter : int
        Iterations per restart (accepted or refused steps), >= 1.
    step : float
        Relative size of the first move, > 0.
    tol : float
        Relative move below which a restart stops, > 0.
    same_support_fraction : float
        Fraction of restarts started from a pair with a shared support, in [0, 1] (all of
        them if s = k).
    screen : int, optional
        Number of random pairs screened for the starts, >= `restarts` (default: `restarts`,
        no screening).

    Returns
    -------
    AdversarialResult
        The best pair and every restart's outcome.
    """
    G = _check_generator(G)
    A = _check_matrix(A, G)
    s = _check_sparsity(s, G.k)
    rng = check_rng(rng)
    restarts = check_int(restarts, "restarts", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    step = check_positive_float(step, "step")
    tol = check_positive_float(tol, "tol")
    frac = check_positive_float(same_support_fraction, "same_support_fraction", allow_zero=True)
    if frac > 1.0:
        raise ValueError(f"same_support_fraction must be in [0, 1], got {frac!r}")
    screen = restarts if screen is None else check_int(screen, "screen", minimum=1)
    if screen < restarts:
        raise ValueError(f"screen must be >= restarts = {restarts}, got {screen}")
    Z1, Z2 = _mixed_pairs(G.k, s, screen, frac, rng)
    f = _objective_parts_ratio(G, A, Z1, Z2)
    for _ in range(100):  # starting pairs must have distinct images
        bad = ~np.isfinite(f)
        if not np.any(bad):
            break
        Z1[bad], Z2[bad] = _mixed_pairs(G.k, s, int(bad.sum()), frac, rng)
        f[bad] = _objective_parts_ratio(G, A, Z1[bad], Z2[bad])
    else:
        raise RuntimeError("could not draw starting pairs with distinct images")
    if screen > restarts:  # start from the worst screened pairs
        keep = np.sort(np.argsort(f, kind="stable")[:restarts])
        Z1, Z2 = Z1[keep], Z2[keep]
    f, g1, g2 = _value_and_grad(G, A, Z1, Z2)
    f0 = f.copy()
    gnorm = np.sqrt(np.sum(g1 * g1, axis=1) + np.sum(g2 * g2, axis=1))
    znorm = np.sqrt(np.sum(Z1 * Z1, axis=1) + np.sum(Z2 * Z2, axis=1))
    t = np.where(gnorm > 0, step * znorm / np.where(gnorm > 0, gnorm, 1.0), 0.0)
    active = gnorm > 0
    n_iter = np.zeros(restarts, dtype=np.int64)
    for _ in range(max_iter):
        if not np.any(active):
            break
        idx = np.flatnonzero(active)
        n_iter[idx] += 1
        ti = t[idx][:, None]
        C1 = hard_threshold(Z1[idx] - ti * g1[idx], s)
        C2 = hard_threshold(Z2[idx] - ti * g2[idx], s)
        fc, gc1, gc2 = _value_and_grad(G, A, C1, C2)
        accept = fc < f[idx]
        acc, rej = idx[accept], idx[~accept]
        Z1[acc], Z2[acc], f[acc] = C1[accept], C2[accept], fc[accept]
        g1[acc], g2[acc] = gc1[accept], gc2[accept]
        t[acc] *= 1.5
        t[rej] *= 0.5
        gnorm = np.sqrt(np.sum(g1[idx] ** 2, axis=1) + np.sum(g2[idx] ** 2, axis=1))
        znorm = np.sqrt(np.sum(Z1[idx] ** 2, axis=1) + np.sum(Z2[idx] ** 2, axis=1))
        active[idx] = t[idx] * gnorm > tol * znorm
    ratios = np.sqrt(f)
    diff = np.linalg.norm(G(Z1) - G(Z2), axis=1)
    best = int(np.argmin(ratios))
    return AdversarialResult(
        ratio=float(ratios[best]),
        z1=Z1[best].copy(),
        z2=Z2[best].copy(),
        ratios=ratios,
        initial_ratios=np.sqrt(f0),
        diff_norms=diff,
        z1_all=Z1,
        z2_all=Z2,
        n_iter=n_iter,
    )


def smallest_delta(
    ratios: ArrayLike, gamma: float, *, diff_norms: ArrayLike | None = None
) -> float:
    r"""The smallest delta >= 0 for which S-REC(gamma, delta) holds on the evaluated pairs.

    S-REC(gamma, delta) asks ||A(x1 - x2)|| >= gamma ||x1 - x2|| - delta for every pair;
    over a finite set of pairs with ratios r_i = ||A d_i|| / ||d_i|| the smallest such delta
    is

    .. math::

        \delta_{\min} = \max_i \big(\gamma \|d_i\| - \|A d_i\|\big)_+
                      = \max_i \|d_i\| (\gamma - r_i)_+ .

    It is a lower bound on the delta needed over the whole range (more pairs can only
    raise it). Without `diff_norms` the differences are taken of unit norm (delta relative
    to ||x1 - x2||).

    Parameters
    ----------
    ratios : array_like, shape (P,)
        The ratios r_i >= 0.
    gamma : float
        Target constant, >= 0.
    diff_norms : array_like, shape (P,), optional
        ||d_i|| = ||x1 - x2|| for each pair.

    Returns
    -------
    float
        delta_min (0 when gamma <= min r_i).
    """
    ratios = as_float_array(ratios, "ratios", ndim=(1,))
    if ratios.size == 0:
        raise ValueError("ratios must not be empty")
    if np.any(ratios < 0):
        raise ValueError("ratios must be >= 0")
    gamma = check_positive_float(gamma, "gamma", allow_zero=True)
    if diff_norms is None:
        norms = np.ones_like(ratios)
    else:
        norms = as_float_array(diff_norms, "diff_norms", ndim=(1,))
        if norms.shape != ratios.shape:
            raise ValueError(
                f"diff_norms must have the shape of ratios {ratios.shape}, got {norms.shape}"
            )
        if np.any(norms < 0):
            raise ValueError("diff_norms must be >= 0")
    return float(np.max(norms * np.maximum(gamma - ratios, 0.0)))


# ----------------------------------------------------------------------------- piecewise
class LinearPiece(NamedTuple):
    """The affine map of G on the linear piece of a code (see `linear_piece`)."""

    support: np.ndarray
    pattern: tuple[np.ndarray, ...]
    jacobian: np.ndarray
    offset: np.ndarray


def linear_piece(G: ReLUGenerator, z: ArrayLike) -> LinearPiece:
    r"""The affine map of G on the linear piece containing z.

    A linear piece is a support S plus an activation pattern (the on/off state of every
    ReLU). For codes z' with supp(z') = S and the same pattern as z, a ReLU network with a
    linear output is affine:

    .. math::

        G(z') = J_S(z)\, z'_S + c(z), \qquad J_S(z) = [J_G(z)]_{:, S}, \quad
        c(z) = G(z) - J_S(z)\, z_S,

    with J_G(z) = W_d D_{d-1} W_{d-1} ... D_1 W_1 ([HV18]_); c(z) collects the biases
    (c = 0 without biases, G being positively homogeneous then).

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    z : array_like, shape (k,)
        The code.

    Returns
    -------
    LinearPiece
        ``support`` (sorted indices), ``pattern`` (one bool mask per hidden layer),
        ``jacobian`` J_S (n, |S|) and ``offset`` c (n,).
    """
    G = _check_generator(G)
    if G.output != "linear":
        raise ValueError(
            f"linear pieces need a linear output layer; this generator's output is {G.output!r}"
        )
    z = as_float_array(z, "z", ndim=(1,))
    if z.shape != (G.k,):
        raise ValueError(f"z must have shape ({G.k},), got {z.shape}")
    S = np.flatnonzero(z)
    J = G.jacobian(z)[:, S]
    c = G(z) - J @ z[S]
    return LinearPiece(S, tuple(G.activation_pattern(z)), J, c)


def piecewise_min_singular_value(
    G: ReLUGenerator, A: np.ndarray, z1: ArrayLike, z2: ArrayLike, *, return_rank: bool = False
) -> float | np.ndarray | tuple[float | np.ndarray, int | np.ndarray]:
    r"""Worst ratio over all pairs drawn from the linear pieces of z1 and z2: sigma_min(A Q).

    With the affine maps of the two pieces (`linear_piece`), G(z1') = J_1 z1'_{S1} + c_1 and
    G(z2') = J_2 z2'_{S2} + c_2, every difference lies in the subspace

    .. math:: V = \operatorname{span}\{J_1, J_2, c_1 - c_2\}, \qquad \dim V \le 2s + 1

    (the offset only matters with biases; 2s without). With Q an orthonormal basis of V
    (`scipy.linalg.orth`, which drops directions below its relative rank tolerance, e.g. a
    zero offset or shared columns),

    .. math::

        \min_{x_1 \in P_1, x_2 \in P_2} \frac{\|A(x_1 - x_2)\|}{\|x_1 - x_2\|}
        \ \ge\ \min_{v \in V} \frac{\|A v\|}{\|v\|} = \sigma_{\min}(A Q),

    with equality over the pieces' affine extensions (all z'_S, not only those keeping the
    activation pattern). So the value is a certified lower bound for every pair from the
    two pieces; if dim V > m it is 0. Minimised over all pairs of pieces it would be the
    exact S-REC constant (delta = 0) - the union-bound guarantee
    (`sdlss_theory.theory.srec_guarantee_gamma`) bounds exactly that minimum ([KPS21]_,
    [BJPD17]_). For a linear G (one layer, no ReLU) it is the restricted singular value of A
    on the union of the two subspaces range(W_{S1}) + range(W_{S2}), a RIP-type constant.

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    A : array_like, shape (m, n)
        The sensing matrix.
    z1, z2 : array_like, shape (k,) or (B, k)
        Codes naming the two pieces (any sparsity; the support is the set of non-zeros).
    return_rank : bool
        Also return dim V.

    Returns
    -------
    float or ndarray, shape (B,)
        sigma_min(A Q); with `return_rank`, a tuple (value, rank).
    """
    G = _check_generator(G)
    A = _check_matrix(A, G)
    Z1, Z2, single = _check_pair(G, z1, z2)
    if G.output != "linear":
        raise ValueError(
            f"linear pieces need a linear output layer; this generator's output is {G.output!r}"
        )
    m = A.shape[0]
    values = np.empty(Z1.shape[0])
    ranks = np.empty(Z1.shape[0], dtype=np.int64)
    for b in range(Z1.shape[0]):
        p1, p2 = linear_piece(G, Z1[b]), linear_piece(G, Z2[b])
        M = np.column_stack([p1.jacobian, p2.jacobian, p1.offset - p2.offset])
        Q = scipy.linalg.orth(M) if np.any(M) else np.zeros((G.n, 0))
        r = Q.shape[1]
        ranks[b] = r
        if r == 0:
            raise ValueError(
                f"pair {b}: both pieces map to the same single point (V = {{0}}); "
                "there is no difference to measure"
            )
        values[b] = 0.0 if r > m else scipy.linalg.svdvals(A @ Q)[-1]
    if single:
        return (float(values[0]), int(ranks[0])) if return_rank else float(values[0])
    return (values, ranks) if return_rank else values
