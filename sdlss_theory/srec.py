r"""Estimating the S-REC constant of a sensing matrix on the range of a sparse-latent generator.

A matrix A in R^{m x n} satisfies the set-restricted eigenvalue condition
S-REC(S, gamma, delta) on a set S if ([BJPD17]_)

.. math:: \|A(x_1 - x_2)\| \ge \gamma \|x_1 - x_2\| - \delta \qquad \forall x_1, x_2 \in S.

Here S = range_s(G) = {G(z) : ||z||_0 <= s}, the union of C(k, s) sub-manifolds of the SDLSS
model ([KPS21]_). With delta = 0 the best constant is

.. math:: \gamma^\star = \inf_{x_1 \ne x_2 \in S} \frac{\|A(x_1 - x_2)\|}{\|x_1 - x_2\|},

Every estimator here says in which direction it is proven:

* `srec_bounds`: a **proven lower bound** (every linear piece of G enumerated by
  `sdlss_theory.pieces.linear_pieces`, sigma_min of A on the span of every pair of pieces,
  the lowest pairs refined to the exact minimum over their difference cone) and an **upper
  bound witnessed** by an explicit pair; ``exact`` when they agree. Beyond its budget, or when
  the enumeration left out a region thinner than its tolerance, the lower bound is the
  union-bound guarantee, which holds only with a stated probability.
* `srec_one_sparse`: the **exact** value for s = 1 without biases (the range is 2k rays), in
  closed form.
* `random_pair_ratios`: the ratio for random pairs. For a difference vector fixed
  independently of A it is distributed exactly as sqrt(chi^2_m / m) (`chi_ratio_law`); a
  minimum over random pairs only bounds gamma* from above.
* `adversarial_ratio`: minimise the ratio over (z1, z2) by projected gradient with P_s, from
  several starts; it finds actual pairs, so it too bounds gamma* from above.
* `piece_pair_relaxation`: sigma_min of A on the span of two pieces' differences, a lower
  bound for the pairs of *those two* pieces; minimised over a sample of piece pairs it bounds
  gamma* in neither direction.
* The theorem's worst-case union bound lives in `sdlss_theory.theory`
  (`srec_guarantee_gamma`, `union_bound_gamma`, `linear_piece_count_log`).

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

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from scipy.optimize import nnls

from sdlss_theory._kernels import pairs as pair_kernels
from sdlss_theory._validation import (
    as_float_array,
    check_int,
    check_positive_float,
    check_rng,
)
from sdlss_theory.cone_quotient import (
    GRAM_FLOOR,
    TINY_COLUMN,
    _smin_explicit,
    cone_min_ratio_batch,
    orthonormal_basis,
    subspace_min_ratio,
)
from sdlss_theory.data import sparse_latents
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pieces import linear_pieces
from sdlss_theory.projection import check_sparsity, hard_threshold
from sdlss_theory.theory import linear_piece_count_log, union_bound_gamma

__all__ = [
    "AdversarialResult",
    "LinearPiece",
    "PairRatios",
    "RayPairResult",
    "SRECBounds",
    "adversarial_ratio",
    "chi_ratio_law",
    "ks_against_chi_law",
    "linear_piece",
    "piece_pair_relaxation",
    "piecewise_min_singular_value",
    "random_pair_ratios",
    "ratio_objective",
    "ratio_objective_grad",
    "sample_pairs",
    "smallest_delta",
    "srec_bounds",
    "srec_one_sparse",
]

# A pair whose images are closer than this, relative to their size, has no defined ratio.
_DEGENERATE = 1e-12
# Piece pairs refined per batch by srec_bounds: the first batch, and the largest (batches
# double, so that the bound stops the refinement early when it can).
_REFINE_FIRST = 64
_REFINE_CHUNK = 8192
# Piece pairs whose span values one call of the pair kernel writes (memory: 8 bytes each).
_PAIR_BLOCK = 1 << 21
# Span values by the numba kernel (True) or by the NumPy reference (False; for benchmarks).
_PAIR_KERNEL = True
# Refined pairs whose witnesses srec_bounds builds (the best few by their cone minimum).
_WITNESSES = 8
# Two vertices of two pieces closer than this (relative to their size) are one point.
_SAME_POINT = 1e-9


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
    s = check_sparsity(s, k)
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
    *args,
    rng: np.random.Generator | int | None = None,
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
    rng : numpy.random.Generator or int
        Source of randomness (the pairs only; A is given), keyword-only (a positional rng
        still works, with a DeprecationWarning).
    same_support : bool
        Pairs on one support, or on two different supports (see `sample_pairs`).
    return_pairs : bool
        Also return the difference norms and the codes.

    Returns
    -------
    ndarray, shape (n_pairs,), or PairRatios
        The ratios; with `return_pairs`, a `PairRatios` (ratios, diff_norms, z1, z2).
    """
    rng = _keyword_rng(args, rng, "random_pair_ratios")
    G = _check_generator(G)
    A = _check_matrix(A, G, allow_stack=True)
    s = check_sparsity(s, G.k)
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
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
    *args,
    rng: np.random.Generator | int | None = None,
    restarts: int = 10,
    max_iter: int = 200,
    step: float = 0.1,
    tol: float = 1e-10,
    same_support_fraction: float = 0.5,
    screen: int | None = None,
    starts: tuple[np.ndarray, np.ndarray] | None = None,
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
    done by screening and the continuous part by descent. Pairs given as `starts` join the
    screened ones (`srec_bounds` passes its best explicit pairs), so the result is never
    worse than the best of them.

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
    rng : numpy.random.Generator or int
        Source of randomness (starting pairs), keyword-only (a positional rng still works,
        with a DeprecationWarning).
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
    starts : tuple of ndarray, shape (P, k) each, optional
        Starting pairs (z1, z2) screened together with the random ones; each must be s-sparse
        with G(z1) != G(z2).

    Returns
    -------
    AdversarialResult
        The best pair and every restart's outcome.
    """
    rng = _keyword_rng(args, rng, "adversarial_ratio")
    G = _check_generator(G)
    A = _check_matrix(A, G)
    s = check_sparsity(s, G.k)
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
    if starts is not None:
        S1, S2, _ = _check_pair(G, *starts)
        if np.any(np.count_nonzero(S1, axis=1) > s) or np.any(np.count_nonzero(S2, axis=1) > s):
            raise ValueError(f"starts must hold s-sparse codes (s = {s})")
        fs = _objective_parts_ratio(G, A, S1, S2)
        if not np.all(np.isfinite(fs)):
            raise ValueError("starts must hold pairs with distinct images G(z1) != G(z2)")
        Z1, Z2, f = np.vstack([S1, Z1]), np.vstack([S2, Z2]), np.concatenate([fs, f])
    if Z1.shape[0] > restarts:  # start from the worst screened pairs
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


def piece_pair_relaxation(
    G: ReLUGenerator, A: np.ndarray, z1: ArrayLike, z2: ArrayLike, *, return_rank: bool = False
) -> float | np.ndarray | tuple[float | np.ndarray, int | np.ndarray]:
    r"""sigma_min of A on the span of the difference set of two linear pieces.

    With the affine maps of the pieces of z1 and z2 (`linear_piece`),
    G(z1') = J_1 z1'_{S1} + c_1 and G(z2') = J_2 z2'_{S2} + c_2, every difference of a point
    of the first piece and a point of the second lies in the subspace

    .. math:: V = \operatorname{span}\{J_1, J_2, c_1 - c_2\}, \qquad \dim V \le 2s + 1

    (2s without biases). With Q an orthonormal basis of V (SVD; directions below the
    rounding level are dropped, e.g. a zero offset or shared columns),

    .. math::

        \min_{x_1 \in P_1, x_2 \in P_2} \frac{\|A(x_1 - x_2)\|}{\|x_1 - x_2\|}
        \ \ge\ \min_{v \in V} \frac{\|A v\|}{\|v\|} = \sigma_{\min}(A Q):

    a proven lower bound for every pair drawn from these two pieces (0 if dim V > m), and
    exact for a piece with itself (its differences fill range(J_1)). It is the relaxation
    that `srec_bounds` minimises over *all* pairs of pieces to get a lower bound on gamma*.
    Its minimum over a *sample* of piece pairs (the "sampled piece-pair relaxation") is a
    lower bound for the sampled pieces only: it is no bound on gamma* in either direction.

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
        sigma_min(A Q) (inf where V = {0}: both pieces are one and the same point, so no
        pair has a difference); with `return_rank`, a tuple (value, rank).
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
        Q = orthonormal_basis(M)
        r = Q.shape[1]
        ranks[b] = r
        if r == 0:  # both pieces are the same single point: no difference to bound
            values[b] = np.inf
            continue
        values[b] = 0.0 if r > m else np.linalg.svd(A @ Q, compute_uv=False)[-1]
    if single:
        return (float(values[0]), int(ranks[0])) if return_rank else float(values[0])
    return (values, ranks) if return_rank else values


def piecewise_min_singular_value(*args, **kwargs):
    """Deprecated name of `piece_pair_relaxation` (it is a relaxation, not an exact value)."""
    warnings.warn(
        "piecewise_min_singular_value is deprecated; use piece_pair_relaxation (the same "
        "values: a lower bound for the two pieces named, not an exact S-REC constant)",
        DeprecationWarning,
        stacklevel=2,
    )
    return piece_pair_relaxation(*args, **kwargs)


def _keyword_rng(args: tuple, rng, name: str) -> np.random.Generator:
    """The estimators' rng: keyword-only, with the old positional spelling deprecated."""
    if args:
        if len(args) > 1 or rng is not None:
            raise TypeError(f"{name} takes rng as its only extra argument, by keyword (rng=...)")
        warnings.warn(
            f"passing rng positionally to {name} is deprecated; pass it by keyword (rng=...)",
            DeprecationWarning,
            stacklevel=3,
        )
        rng = args[0]
    return check_rng(rng)


# ----------------------------------------------------------------------------- exact, s = 1
def _is_bias_free(G: ReLUGenerator) -> bool:
    return all(not np.any(b) for b in G.biases)


@dataclass(frozen=True)
class RayPairResult:
    """The S-REC constant of A on the 2k rays of a bias-free network (see `srec_one_sparse`).

    Attributes
    ----------
    value : float
        gamma* = min over pairs of range_1(G) of ||A(x1 - x2)|| / ||x1 - x2||.
    z1, z2 : ndarray, shape (k,)
        1-sparse codes attaining it (one may be 0).
    """

    value: float
    z1: np.ndarray
    z2: np.ndarray


def srec_one_sparse(G: ReLUGenerator, A: np.ndarray) -> RayPairResult:
    r"""The exact S-REC constant gamma* of A on range_1(G) for a bias-free network, in closed form.

    Without biases G is positively homogeneous, G(t z) = t G(z) for t >= 0, so the 1-sparse
    range is the union of the 2k rays {t g_i : t >= 0}, g_i = G(+-e_j), and the point 0. The
    difference of a point of ray u and a point of ray v is a u - b v with a, b >= 0, and the
    worst ratio over that cone is the minimum of the generalised Rayleigh quotient

    .. math::

        R(a, b) = \frac{\|A(a u - b v)\|^2}{\|a u - b v\|^2}, \qquad (a, b) \ge 0,

    a 2 x 2 pencil restricted to a quadrant. On the half-turn of directions R has one
    minimum (the smallest generalised eigenvector w) and one maximum, and is monotone in
    between, so its minimum over the quadrant is lambda_min if w (or -w) lies in the quadrant
    and otherwise the smaller of the boundary values ||A u||/||u|| (b = 0: the pair of a point
    of u and 0, or two points of u) and ||A v||/||v||. The pencil is solved in an orthonormal
    basis of span{u, v} (Gram-Schmidt), so the 2 x 2 eigenproblem is symmetric; rays that
    vanish (G(+-e_j) = 0) contribute only the point 0, and parallel rays only their boundary
    values.

    Parameters
    ----------
    G : ReLUGenerator
        A bias-free generator with a linear output layer.
    A : array_like, shape (m, n)
        The sensing matrix.

    Returns
    -------
    RayPairResult
        gamma* and a pair of 1-sparse codes attaining it.
    """
    G = _check_generator(G)
    A = _check_matrix(A, G)
    if G.output != "linear" or not _is_bias_free(G):
        raise ValueError("srec_one_sparse needs a bias-free generator with a linear output")
    k = G.k
    Z = np.vstack([np.eye(k), -np.eye(k)])
    X = G(Z)
    norms = np.linalg.norm(X, axis=1)
    live = np.flatnonzero(norms > _DEGENERATE * max(norms.max(), 1e-300))
    if live.size == 0:
        raise ValueError("G maps every 1-sparse code to 0: range_1(G) = {0}, no pair to measure")
    U = X[live] / norms[live, None]
    AU = U @ A.T
    single = np.linalg.norm(AU, axis=1)
    i0 = int(np.argmin(single))
    best, z1, z2 = float(single[i0]), Z[live[i0]], np.zeros(k)
    iu, jv = np.triu_indices(live.size, 1)
    if iu.size:
        cos = (U @ U.T)[iu, jv]
        sin = np.sqrt(np.maximum(1.0 - cos * cos, 0.0))
        # q2 = (v - cos u) / sin, so A q2 = (A v - cos A u) / sin: no product with A per
        # pair; nearly parallel rays (sin < 1e-3) get q2 by Gram-Schmidt in R^n instead.
        AQ2 = (AU[jv] - cos[:, None] * AU[iu]) / np.maximum(sin, 1e-300)[:, None]
        near = np.flatnonzero(sin < 1e-3)
        if near.size:
            W = U[jv[near]] - cos[near, None] * U[iu[near]]
            sin[near] = np.linalg.norm(W, axis=1)
            AQ2[near] = (W / np.maximum(sin[near], 1e-300)[:, None]) @ A.T
        ok = sin > 1e-12  # parallel rays: only their boundary values count
        iu, jv, cos, sin, AQ2 = iu[ok], jv[ok], cos[ok], sin[ok], AQ2[ok]
        AQ1 = AU[iu]
        n11 = np.einsum("pi,pi->p", AQ1, AQ1)
        n22 = np.einsum("pi,pi->p", AQ2, AQ2)
        n12 = np.einsum("pi,pi->p", AQ1, AQ2)
        # Smallest eigenpair of [[n11, n12], [n12, n22]].
        half_tr, half_diff = 0.5 * (n11 + n22), 0.5 * (n11 - n22)
        rad = np.hypot(half_diff, n12)
        lam = np.maximum(half_tr - rad, 0.0)
        # Eigenvector y of lam (a stable choice of the two equivalent formulas).
        y1 = np.where(half_diff <= 0, rad - half_diff, -n12)
        y2 = np.where(half_diff <= 0, -n12, rad + half_diff)
        zero = (np.abs(y1) + np.abs(y2)) == 0
        y1, y2 = np.where(zero, 1.0, y1), np.where(zero, 0.0, y2)
        # y1 q1 + y2 q2 = a u - b v with u = q1, v = cos q1 + sin q2.
        b = -y2 / sin
        a = y1 + b * cos
        inside = ((a >= 0) & (b >= 0)) | ((a <= 0) & (b <= 0))
        if np.any(inside):
            vals = np.sqrt(lam[inside])
            j = int(np.argmin(vals))
            if vals[j] < best:
                p = np.flatnonzero(inside)[j]
                sgn = 1.0 if a[p] + b[p] >= 0 else -1.0
                ap, bp = sgn * a[p] / norms[live[iu[p]]], sgn * b[p] / norms[live[jv[p]]]
                best = float(vals[j])
                z1, z2 = ap * Z[live[iu[p]]], bp * Z[live[jv[p]]]
    return RayPairResult(best, z1.copy(), z2.copy())


# ----------------------------------------------------------------------------- bounds
@dataclass(frozen=True)
class SRECBounds:
    """Two-sided bounds on the S-REC constant gamma* of A on range_s(G) (see `srec_bounds`).

    Attributes
    ----------
    lower : float
        A lower bound on gamma*: proven for this A when `certified`, otherwise the union-bound
        guarantee, which holds with probability `probability` over the draw of A.
    upper : float
        ||A(G(z1) - G(z2))|| / ||G(z1) - G(z2)|| of the returned pair: an upper bound.
    certified : bool
        Whether `lower` is a proven bound for this A: every piece pair was evaluated and the
        enumeration left out no region thinner than its tolerance (``n_thin == 0``).
    exact : bool
        Whether upper - lower <= rtol * upper + atol, with `certified`: gamma* is known to
        rtol, or to atol where it is (near) 0.
    method : str
        How `lower` was obtained: ``"closed form"`` (s = 1, no biases), ``"piece pairs"``,
        or ``"union bound"`` (the fallback).
    z1, z2 : ndarray, shape (k,)
        The s-sparse pair witnessing `upper`.
    random_min : float
        The smallest ratio over the random pairs (`upper` <= it).
    n_pieces : int
        Number of linear pieces enumerated (-1 when the enumeration ran out of budget).
    n_pairs : int
        Piece pairs evaluated (with repetition: N (N + 1) / 2).
    n_refined : int
        Piece pairs whose difference cone was minimised exactly.
    probability : float
        1.0 for a certificate; the guarantee's probability for the fallback.
    rtol : float
        The relative tolerance of `exact`.
    atol : float
        The absolute tolerance of `exact`.
    n_thin : int
        Regions left out of the enumeration as thinner than its tolerance, although beyond
        rounding (`sdlss_theory.pieces.Pieces.n_thin`); when > 0, nothing is certified.
    """

    lower: float
    upper: float
    certified: bool
    exact: bool
    method: str
    z1: np.ndarray
    z2: np.ndarray
    random_min: float
    n_pieces: int
    n_pairs: int
    n_refined: int
    probability: float
    rtol: float
    atol: float = 0.0
    n_thin: int = 0


def _pair_kinds(pieces, P: int, Q: int) -> list[tuple[str, int, int]]:
    """What each generator of the pair's difference cone is, in the order of `_PairCones`."""
    a, b = len(pieces.points[P]), len(pieces.points[Q])
    kinds = [("pp", i, j) for i in range(a) for j in range(b)]
    kinds += [("rp", r, -1) for r in range(len(pieces.rays[P]))]
    kinds += [("rq", r, -1) for r in range(len(pieces.rays[Q]))]
    return kinds


class _PairCones:
    """Generators of cone{x1 - x2 : x1 in piece P, x2 in piece Q}, batched over pairs.

    Points p_i of P and q_j of Q give p_i - q_j (row-major in (i, j)); recession directions r
    of P give J_P r and those of Q give -J_Q r. Pairs are grouped by their numbers of points
    and directions, so that one group's cones have the same number of generators.
    """

    def __init__(self, pieces, A: np.ndarray) -> None:
        N = len(pieces)
        n = pieces.jacobians.shape[1]
        self.n_pts = np.array([len(p) for p in pieces.points])
        self.n_rays = np.array([len(r) for r in pieces.rays])
        a, b = max(self.n_pts.max(), 1), max(self.n_rays.max(initial=0), 1)
        self.pts = np.zeros((N, a, n))
        self.rays = np.zeros((N, b, n))
        for i in range(N):
            J, c = pieces.jacobians[i], pieces.offsets[i]
            self.pts[i, : self.n_pts[i]] = pieces.points[i] @ J.T + c
            if self.n_rays[i]:
                images = pieces.rays[i] @ J.T
                # A direction along which G is constant (rounding residue only) is no direction.
                small = np.linalg.norm(images, axis=1) <= _SAME_POINT * np.linalg.norm(J)
                self.rays[i, : self.n_rays[i]] = np.where(small[:, None], 0.0, images)
        self.apts = self.pts @ A.T
        self.arays = self.rays @ A.T

    def size(self, P: np.ndarray, Q: np.ndarray) -> np.ndarray:
        return self.n_pts[P] * self.n_pts[Q] + self.n_rays[P] + self.n_rays[Q]

    def groups(self, P: np.ndarray, Q: np.ndarray):
        """Yield (positions, X (L, n, p), AX (L, m, p)) for the pairs (P, Q) by signature."""
        sig = np.stack([self.n_pts[P], self.n_pts[Q], self.n_rays[P], self.n_rays[Q]], axis=1)
        for key in np.unique(sig, axis=0):
            pos = np.flatnonzero(np.all(sig == key, axis=1))
            a, b, r, q = (int(v) for v in key)
            p, qq = P[pos], Q[pos]
            out = []
            diff = self.pts[p, :a, None, :] - self.pts[qq, None, :b, :]
            scale = np.maximum(np.abs(self.pts[p, :a, None, :]).max(axis=-1),
                               np.abs(self.pts[qq, None, :b, :]).max(axis=-1))  # fmt: skip
            # A vertex shared by the two pieces (equal up to rounding) is one point: no
            # difference; its rounding residue would be a direction of no meaning.
            same = np.abs(diff).max(axis=-1) <= _SAME_POINT * scale
            for pts, rays, d in ((self.pts, self.rays, diff),
                                 (self.apts, self.arays, None)):  # fmt: skip
                if d is None:
                    d = pts[p, :a, None, :] - pts[qq, None, :b, :]
                d = np.where(same[..., None], 0.0, d)
                cols = [d.reshape(pos.size, a * b, -1), rays[p, :r], -rays[qq, :q]]
                out.append(np.concatenate(cols, axis=1).transpose(0, 2, 1))
            yield pos, out[0], out[1]


def _span_minimiser_in_cone(A, X):
    """(value, c) if the worst direction of A on span(X) lies in the cone {X c : c >= 0}.

    Then the span value sigma_min(A|span X) is attained in the cone, so it is the cone's exact
    minimum; membership is a non-negative least-squares fit with residual <= 1e-9. None
    otherwise (for cones with too many generators to examine every face).
    """
    value, d = _smin_explicit(A, X)
    if not np.isfinite(value):
        return None
    for sign in (1.0, -1.0):
        c, resid = nnls(X, sign * d)
        if resid <= 1e-9 * np.linalg.norm(d):
            return value, c
    return None


def _refine(cones: _PairCones, A, P, Q, max_generators: int, max_size: int):
    """Exact minima of the pairs' difference cones: (lower, witness value, coef list)."""
    lower = np.full(P.size, -np.inf)  # -inf: not refined (too many generators)
    value = np.full(P.size, np.inf)
    coefs: list = [None] * P.size
    for pos, X, AX in cones.groups(P, Q):
        if X.shape[2] > max_generators:
            for i, Xb in zip(pos, X, strict=True):
                found = _span_minimiser_in_cone(A, Xb)
                if found is not None:
                    lower[i] = value[i] = found[0]
                    coefs[i] = found[1]
            continue
        lo, val, coef = cone_min_ratio_batch(A, X, AX, max_size=max_size)
        lower[pos], value[pos] = lo, val
        for i, c in zip(pos, coef, strict=True):
            coefs[i] = c
    return lower, value, coefs


def _pair_witness(G, pieces, P, Q, coef):
    """Codes (z1, z2) of pieces P and Q with G(z1) - G(z2) in the direction sum_i coef_i X_i."""
    s, k = pieces.s, G.k
    kinds = _pair_kinds(pieces, P, Q)
    u1, u2 = np.zeros(s), np.zeros(s)
    w_pp = sum(c for c, kd in zip(coef, kinds, strict=True) if kd[0] == "pp")
    r1, r2 = np.zeros(s), np.zeros(s)
    for c, (kind, i, j) in zip(coef, kinds, strict=True):
        if c == 0.0:
            continue
        if kind == "pp":
            u1 += c * pieces.points[P][i]
            u2 += c * pieces.points[Q][j]
        elif kind == "rp":
            r1 += c * pieces.rays[P][i]
        else:
            r2 += c * pieces.rays[Q][i]
    if w_pp > 0:
        u1, u2 = (u1 + r1) / w_pp, (u2 + r2) / w_pp
    else:  # only directions: base points plus a long step along them
        b1, b2 = pieces.points[P][0], pieces.points[Q][0]
        base = np.linalg.norm(G(pieces.codes(P, b1, k)) - G(pieces.codes(Q, b2, k)))
        step = np.linalg.norm(pieces.jacobians[P] @ r1 - pieces.jacobians[Q] @ r2)
        t = 1.0 if base == 0.0 else 1e10 * base / step
        u1, u2 = b1 + t * r1, b2 + t * r2
    return pieces.codes(P, u1, k), pieces.codes(Q, u2, k)


def _self_witness(G, pieces, P, A):
    """Two codes of piece P whose difference is the worst direction of A on range(J_P)."""
    J = pieces.jacobians[P]
    value, d = _smin_explicit(A, J)
    y = np.linalg.lstsq(J, d, rcond=None)[0]
    u0 = pieces.interior[P]
    z0 = pieces.codes(P, u0, G.k)
    pattern = pieces.patterns[P]
    step = (1.0 + np.linalg.norm(u0)) / max(np.linalg.norm(y), 1e-300)
    for _ in range(60):
        z1 = pieces.codes(P, u0 + step * y, G.k)
        if np.packbits(np.concatenate(G.activation_pattern(z1))).tobytes() == pattern:
            return z1, z0
        step *= 0.5
    return None


def _tie(value: float) -> float:
    """`value` plus the relative tolerance within which two bounds count as equal."""
    return value + 1e-9 * abs(value) + 1e-15


def _well_separated(G, z1, z2) -> bool:
    """Whether G(z1) and G(z2) differ by more than 1e-8 of their size (a usable start)."""
    x1, x2 = G(z1), G(z2)
    return bool(np.linalg.norm(x1 - x2) > 1e-8 * (np.linalg.norm(x1) + np.linalg.norm(x2)))


def _ratio(G, A, z1, z2) -> float:
    d = G(z1) - G(z2)
    nd = np.linalg.norm(d)
    return float(np.linalg.norm(A @ d) / nd) if nd > 0 else np.inf


def _piece_pair_values_numpy(pieces, A, chunk: int = 4096) -> np.ndarray:
    """sigma_min of A on span{J_P, J_Q, c_P - c_Q} for every unordered pair P <= Q (NumPy).

    The reference route of `_piece_pair_values` (batched `subspace_min_ratio`), in row-major
    order of the pairs.
    """
    N = len(pieces)
    J, C = pieces.jacobians, pieces.offsets
    AJ = np.matmul(A, J)
    AC = C @ A.T
    biased = bool(np.any(C))
    iu, jv = np.triu_indices(N, 0)
    values = np.empty(iu.size)
    same = iu == jv
    values[same] = subspace_min_ratio(A, J, AJ)  # a piece with itself: range(J_P)
    pairs = np.flatnonzero(~same)
    for start in range(0, pairs.size, chunk):
        idx = pairs[start : start + chunk]
        P, Q = iu[idx], jv[idx]
        parts, aparts = [J[P], J[Q]], [AJ[P], AJ[Q]]
        if biased:
            parts.append((C[P] - C[Q])[:, :, None])
            aparts.append((AC[P] - AC[Q])[:, :, None])
        X = np.concatenate(parts, axis=2)
        AX = np.concatenate(aparts, axis=2)
        values[idx] = subspace_min_ratio(A, X, AX)
    return values


def _pair_columns(pieces, A, P, Q, biased):
    """X = [J_P, J_Q, c_P - c_Q] (J_P alone for P = Q) and A X for pairs of one kind."""
    J, C = pieces.jacobians, pieces.offsets
    if np.all(P == Q):
        X = J[P]
    else:
        parts = [J[P], J[Q]]
        if biased:
            parts.append((C[P] - C[Q])[:, :, None])
        X = np.concatenate(parts, axis=2)
    return X, np.matmul(A, X)


def _piece_pair_values(
    pieces, A, threshold: float = np.inf, *, kernel: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Span values of the piece pairs P <= Q that are at most `threshold`.

    The value of a pair is sigma_min of A on span{J_P, J_Q, c_P - c_Q} (range(J_P) for
    P = Q), by the Cholesky route of `subspace_min_ratio` in the numba kernel
    `sdlss_theory._kernels.pairs.pair_span_values` and, where that route does not apply, by
    `subspace_min_ratio` itself (its rank-revealing SVD path). The kernel does not solve the
    eigenproblem of a pair whose value a Cholesky test shows to exceed `threshold`.
    ``kernel=False`` (or ``_PAIR_KERNEL = False``) computes every value with
    `_piece_pair_values_numpy` instead, the reference.

    Returns
    -------
    iu, jv : ndarray of int
        The pairs kept (values <= threshold), in row-major order of (P, Q).
    values : ndarray
        Their values.
    n_total : int
        N (N + 1) / 2, the pairs evaluated.
    rest : float
        A lower bound on the values left out: their smallest, or threshold (1 - 1e-8) for
        those the kernel's test left out (inf when none was).
    """
    N = len(pieces)
    n_total = N * (N + 1) // 2
    if kernel is None:
        kernel = _PAIR_KERNEL
    if not kernel:
        iu, jv = np.triu_indices(N, 0)
        values = _piece_pair_values_numpy(pieces, A)
        keep = values <= threshold
        rest = float(values[~keep].min(initial=np.inf))
        return iu[keep], jv[keep], values[keep], n_total, rest
    J, C = pieces.jacobians, pieces.offsets
    AJ = np.matmul(A, J)
    JT = np.ascontiguousarray(J.transpose(0, 2, 1))
    AJT = np.ascontiguousarray(AJ.transpose(0, 2, 1))
    GJ, GAJ = np.matmul(JT, J), np.matmul(AJT, AJ)
    C = np.ascontiguousarray(C)
    AC = C @ A.T
    norms = np.ascontiguousarray(np.linalg.norm(J, axis=1))
    biased = bool(np.any(C))
    lengths = N - np.arange(N)  # pairs per row P: Q = P, ..., N - 1
    out = np.empty(max(min(n_total, _PAIR_BLOCK), int(lengths[0]) if N else 0))
    iu_all, jv_all, val_all, rest = [], [], [], np.inf
    p0 = 0
    while p0 < N:
        p1, count = p0, 0
        while p1 < N and (p1 == p0 or count + lengths[p1] <= out.size):
            count += int(lengths[p1])
            p1 += 1
        written = pair_kernels.pair_span_values(
            JT, AJT, GJ, GAJ, C, AC, norms, biased, p0, p1, GRAM_FLOOR, TINY_COLUMN,
            float(threshold), out,
        )  # fmt: skip
        v = out[:written].copy()
        if np.isfinite(threshold) and np.any(np.isposinf(v)):
            # Pairs shown by the kernel's Cholesky test to exceed the threshold: their values
            # are above it up to the test's rounding.
            rest = min(rest, threshold * (1.0 - 1e-8))
        starts = np.concatenate([[0], np.cumsum(lengths[p0:p1])])
        todo = np.flatnonzero(np.isnan(v))
        if todo.size:
            P = p0 + np.searchsorted(starts, todo, side="right") - 1
            Q = P + todo - starts[P - p0]
            for self_pair in (True, False):
                sel = np.flatnonzero((P == Q) == self_pair)
                for lo in range(0, sel.size, 4096):
                    part = sel[lo : lo + 4096]
                    X, AX = _pair_columns(pieces, A, P[part], Q[part], biased)
                    v[todo[part]] = subspace_min_ratio(A, X, AX)
        keep = v <= threshold
        rest = min(rest, float(v[~keep].min(initial=np.inf)))
        pos = np.flatnonzero(keep)
        P = p0 + np.searchsorted(starts, pos, side="right") - 1
        iu_all.append(P)
        jv_all.append(P + pos - starts[P - p0])
        val_all.append(v[keep])
        p0 = p1
    return (np.concatenate(iu_all), np.concatenate(jv_all), np.concatenate(val_all),
            n_total, rest)  # fmt: skip


def srec_bounds(
    G: ReLUGenerator,
    A: np.ndarray,
    s: int,
    *,
    rng: np.random.Generator | int | None = None,
    n_pairs: int = 200,
    restarts: int = 8,
    max_iter: int = 200,
    max_pieces: int = 5000,
    max_pair_evals: int = 2_000_000,
    refine: int = 200_000,
    max_generators: int = 8,
    prob: float = 0.95,
    rtol: float = 1e-6,
    atol: float | None = None,
    closed_form: bool = True,
) -> SRECBounds:
    r"""Certified lower and witnessed upper bounds on the S-REC constant of A on range_s(G).

    gamma* = inf { ||A(x1 - x2)|| / ||x1 - x2|| : x1 != x2 in range_s(G) } (S-REC with
    delta = 0, [BJPD17]_). Two bounds are computed, each with the direction it is proven in:

    **Lower (a proof).** G is affine on each of its N linear pieces (`linear_pieces`: every
    activation region of every support, enumerated exactly), so x1 - x2 for x1 in piece P and
    x2 in piece Q lies in span{J_P, J_Q, c_P - c_Q}, and

    .. math::

        \gamma^\star \ \ge\ \min_{P \le Q} \sigma_{\min}\big(A|_{\operatorname{span}\{J_P,
        J_Q, c_P - c_Q\}}\big)

    over all N (N + 1) / 2 pairs, a piece with itself included (`piece_pair_relaxation`; the
    point G(0) and codes with fewer non-zeros lie in the closures of the pieces). The pairs are
    then refined in increasing order of that value: the exact minimum over the pair's
    difference cone, generated by the differences of the two regions' vertices and by their
    recession directions (`sdlss_theory.cone_quotient.cone_min_ratio_batch`; for pairs with
    more than `max_generators` generators only the test whether the span's worst direction lies
    in the cone, else they keep the span value), replaces the span value, until
    the next span value is no smaller than the best refined one, or a refined pair's witness
    value is within the tolerance of ``exact`` of the bound so far (or `refine`
    pairs were refined). The bound is the smaller of the two.

    For s = 1 without biases the range is 2k rays and gamma* has a closed form
    (`srec_one_sparse`), which is used instead: lower = upper = gamma*.

    **Upper (a witness).** The smallest ratio of an explicit pair: the witnesses of the refined
    pairs, `n_pairs` random pairs (half on one support), and `adversarial_ratio` started from
    the best of them (skipped once lower and upper agree). So upper <= every random-pair ratio
    by construction, and the returned pair (z1, z2) attains it.

    **Fallback.** When the pieces exceed `max_pieces` or the pairs `max_pair_evals`, the lower
    bound is the union-bound guarantee `sdlss_theory.theory.union_bound_gamma` (with the exact
    piece count when it is known, the bound of `linear_piece_count_log` otherwise), which
    holds with probability `prob` over A and is no certificate for this A: ``certified`` is
    False.

    **Thin regions.** The enumeration leaves out regions thinner than its tolerance (1e-10,
    relative, see `linear_pieces`), and with them their affine maps; since the ratio is
    scale-free, a left-out region can hold the worst pair however thin it is. Such a region
    is detected whenever one of its extreme rays lies beyond the rounding level (1e-13) off
    the neuron's hyperplane (`sdlss_theory.pieces.Pieces.n_thin`); then nothing is certified
    and the lower bound is the union-bound fallback with the worst-case piece count.

    What is proven, when ``certified``: gamma* >= lower for this A, in floating point, for
    the pieces of G whose regions reach beyond 1e-13 (relative, in the homogenised
    coordinates of `linear_pieces`) of their bounding hyperplanes; a region thinner than that
    is below the resolution of the enumeration and can be neither kept nor detected.

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    A : array_like, shape (m, n)
        The sensing matrix.
    s : int
        Sparsity, 1 <= s <= k.
    rng : numpy.random.Generator or int
        Source of the random and adversarial pairs (keyword-only).
    n_pairs : int
        Random pairs for the upper bound.
    restarts, max_iter : int
        The adversarial search (`adversarial_ratio`).
    max_pieces : int
        Budget of the piece enumeration.
    max_pair_evals : int
        Budget of piece pairs, N (N + 1) / 2 <= max_pair_evals.
    refine : int
        Budget of piece pairs whose difference cone is minimised exactly.
    max_generators : int
        Pairs whose difference cone has more generators than this keep their span value.
    prob : float
        Probability of the union-bound fallback, in [0, 1).
    rtol : float
        Relative tolerance of ``exact``: upper - lower <= rtol * upper + atol.
    atol : float, optional
        Absolute tolerance of ``exact`` (default ``rtol * ||A||_2``), so that gamma* = 0 is
        known exactly when the witnessed upper bound is at the rounding level.
    closed_form : bool
        Use `srec_one_sparse` where it applies (s = 1, no biases); False runs the piece
        route there too (the two agree, a check of both).

    Returns
    -------
    SRECBounds
        lower, upper, certified, exact, the witness pair and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([6, 10, 20], rng)
    >>> A = gaussian_matrix(12, 20, rng)
    >>> b = srec_bounds(G, A, 1, rng=rng)
    >>> b.certified, b.exact, b.lower <= b.upper
    (True, True, True)
    """
    rng = check_rng(rng)
    G = _check_generator(G)
    A = _check_matrix(A, G)
    s = check_sparsity(s, G.k)
    if G.output != "linear":
        raise ValueError(
            f"srec_bounds needs a linear output layer; this generator's output is {G.output!r}"
        )
    for name, value in (
        ("n_pairs", n_pairs),
        ("restarts", restarts),
        ("max_iter", max_iter),
        ("max_pieces", max_pieces),
        ("max_pair_evals", max_pair_evals),
        ("max_generators", max_generators),
    ):
        check_int(value, name, minimum=1)
    refine = check_int(refine, "refine", minimum=0)
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"prob must lie in [0, 1), got {prob!r}")
    rtol = check_positive_float(rtol, "rtol")
    if atol is None:
        atol = rtol * float(np.linalg.norm(A, 2))
    atol = check_positive_float(atol, "atol", allow_zero=True)
    k, m = G.k, A.shape[0]

    # Random pairs: half on one support, half on two (all on one if s = k).
    n_same = n_pairs if s == k else n_pairs // 2
    parts = []
    if n_same:
        parts.append(random_pair_ratios(G, A, s, n_same, rng=rng, same_support=True,
                                        return_pairs=True))  # fmt: skip
    if n_pairs - n_same:
        parts.append(random_pair_ratios(G, A, s, n_pairs - n_same, rng=rng,
                                        return_pairs=True))  # fmt: skip
    ratios = np.concatenate([p.ratios for p in parts])
    rz1 = np.concatenate([p.z1 for p in parts])
    rz2 = np.concatenate([p.z2 for p in parts])
    random_min = float(ratios.min())
    candidates = [(random_min, rz1[np.argmin(ratios)], rz2[np.argmin(ratios)])]

    def known(lower, upper) -> bool:
        return bool(upper - lower <= rtol * upper + atol)

    def finish(lower, certified, method, n_pieces, n_evals, n_refined, probability, extra,
               n_thin=0):  # fmt: skip
        cand = sorted(candidates + extra, key=lambda c: c[0])
        upper, z1, z2 = cand[0]
        if not (certified and known(lower, upper)):
            top = [c for c in cand if _well_separated(G, c[1], c[2])][: max(1, restarts // 2)]
            adv = adversarial_ratio(
                G, A, s, rng=rng, restarts=restarts, max_iter=max_iter, screen=n_pairs,
                starts=(np.array([c[1] for c in top]), np.array([c[2] for c in top]))
                if top else None,
            )  # fmt: skip
            if adv.ratio < upper:
                upper, z1, z2 = adv.ratio, adv.z1, adv.z2
        lower = min(lower, upper) if certified else lower
        exact = bool(certified and known(lower, upper))
        return SRECBounds(
            lower=float(lower), upper=float(upper), certified=certified, exact=exact,
            method=method, z1=np.asarray(z1, dtype=float), z2=np.asarray(z2, dtype=float),
            random_min=random_min, n_pieces=n_pieces, n_pairs=n_evals, n_refined=n_refined,
            probability=probability, rtol=rtol, atol=atol, n_thin=n_thin,
        )  # fmt: skip

    bias_free = _is_bias_free(G)
    if s == 1 and bias_free and closed_form:
        exact1 = srec_one_sparse(G, A)
        witness = _ratio(G, A, exact1.z1, exact1.z2)
        return finish(exact1.value, True, "closed form", 2 * k, 0, 0, 1.0,
                      [(witness, exact1.z1, exact1.z2)])  # fmt: skip

    rank = 2 * s + (0 if bias_free else 1)
    pieces = linear_pieces(G, s, max_pieces=max_pieces)
    N = len(pieces)
    # Regions thinner than the enumeration's tolerance were left out (n_thin): the pieces miss
    # affine maps, so no piece-pair bound is a proof, and N is no piece count.
    thin = pieces.n_thin
    if thin or not pieces.complete or N * (N + 1) // 2 > max_pair_evals:
        if pieces.complete and not thin:
            log_n = math.log(N)
        else:
            log_n = linear_piece_count_log(k, s, G.relu_widths) if G.relu_depth else 0.0
        lower = float(union_bound_gamma(m, log_n, rank, prob))
        return finish(lower, False, "union bound", N if pieces.complete else -1, 0, 0, prob, [],
                      thin)  # fmt: skip

    # Only pairs whose span value is near the smallest exact ratio known can be refined: the
    # kernel keeps those below an upper bound on gamma* (a random pair, a piece with itself);
    # if the refinement would reach beyond them, every pair is kept and it starts again.
    J = pieces.jacobians
    self_min = float(subspace_min_ratio(A, J, np.matmul(A, J)).min())
    threshold = min(random_min, self_min) * (1.0 + 1e-6)
    cones = _PairCones(pieces, A)
    for keep_below in (threshold, np.inf):
        iu, jv, span, n_evals, rest = _piece_pair_values(pieces, A, keep_below)
        order = np.argsort(span, kind="stable")
        best, best_pairs, refined, start, chunk = np.inf, [], 0, 0, _REFINE_FIRST
        spilled = False  # whether a pair left out would have been refined
        # Ties are refined too: a pair whose span value equals the best bound may hold its witness
        # (the minimiser often lies on a face shared by several pairs).
        while start < order.size and span[order[start]] <= _tie(best) and refined < refine:
            step = min(chunk, refine - refined)
            chunk = min(2 * chunk, _REFINE_CHUNK)
            spilled |= start + step > order.size and rest <= _tie(best)
            take = order[start : start + step]
            take = take[span[take] <= _tie(best)]
            start += step
            refined += take.size
            P, Q = iu[take], jv[take]
            same = P == Q  # a piece with itself: its differences fill range(J_P), span is exact
            lo = span[take].copy()
            val = np.where(same, span[take], np.inf)
            coefs: list = [None] * take.size
            other = np.flatnonzero(~same)
            if other.size:
                rlo, rval, rcoef = _refine(cones, A, P[other], Q[other], max_generators, rank)
                lo[other] = np.maximum(np.where(np.isfinite(rlo), rlo, lo[other]), lo[other])
                val[other] = rval
                for i, c in zip(other, rcoef, strict=True):
                    coefs[i] = c
            best = min(best, float(lo.min()))
            for j in np.argsort(val)[:_WITNESSES]:
                if np.isfinite(val[j]):
                    best_pairs.append((float(val[j]), int(P[j]), int(Q[j]), coefs[j]))
            best_pairs = sorted(best_pairs, key=lambda c: c[0])[:_WITNESSES]
            # A witness within the tolerance of `exact` of the bound so far (the pairs left out
            # included): more refinement could only raise the bound towards it (at gamma* = 0
            # every pair ties at 0 otherwise).
            bound = best if start >= order.size else min(best, float(span[order[start]]))
            if best_pairs and known(min(bound, rest), best_pairs[0][0]):
                break
        spilled |= start >= order.size and refined < refine and rest <= _tie(best)
        if not spilled:
            break
    lower = best if start >= order.size else min(best, float(span[order[start]]))
    extra = []
    # Several pairs often share the minimum (a face common to adjacent pieces): build the
    # witnesses of the few best and keep every one that is a valid pair.
    for _, Pb, Qb, coef in best_pairs:
        pair = (
            _self_witness(G, pieces, Pb, A) if Pb == Qb else _pair_witness(G, pieces, Pb, Qb, coef)
        )
        if pair is not None:
            ratio = _ratio(G, A, *pair)
            if np.isfinite(ratio):
                extra.append((ratio, pair[0], pair[1]))
    lower = max(lower, 0.0)
    return finish(lower, True, "piece pairs", N, n_evals, refined, 1.0, extra)
