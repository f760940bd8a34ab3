"""Random pairs on the range of G, the chi law of their ratios, and the delta they need.

* `sample_pairs`, `random_pair_ratios`: random s-sparse pairs and their ratios
  ||A(x1 - x2)|| / ||x1 - x2||; a minimum over them bounds gamma* from above.
* `chi_ratio_law`, `ks_against_chi_law`: the exact law sqrt(chi^2_m / m) of the ratio of a
  difference fixed independently of A, and a test against it.
* `smallest_delta`: the smallest delta making S-REC(gamma, delta) hold on evaluated pairs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from sdlss_theory._validation import as_float_array, check_int, check_positive_float, check_rng
from sdlss_theory.data import sparse_latents
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.projection import check_sparsity
from sdlss_theory.srec._common import _DEGENERATE, _check_generator, _check_matrix


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
    *,
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
        Source of randomness (the pairs only; A is given), keyword-only.
    same_support : bool
        Pairs on one support, or on two different supports (see `sample_pairs`).
    return_pairs : bool
        Also return the difference norms and the codes.

    Returns
    -------
    ndarray, shape (n_pairs,), or PairRatios
        The ratios; with `return_pairs`, a `PairRatios` (ratios, diff_norms, z1, z2).
    """
    rng = check_rng(rng)
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
