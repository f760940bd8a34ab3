"""The adversarial search: minimise the ratio over s-sparse pairs by projected gradient.

`ratio_objective` and `ratio_objective_grad` give f = ratio^2 and its gradient (hand-derived
vector-Jacobian products of the generator); `adversarial_ratio` descends on it from screened
random starts. Every pair it returns is an explicit pair: its ratio bounds gamma* from above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.projection import check_sparsity, hard_threshold
from sdlss_theory.srec._common import (
    _DEGENERATE,
    _build_options,
    _check_generator,
    _check_matrix,
    _check_pair,
)
from sdlss_theory.srec.sampling import sample_pairs


def _objective_parts(G, A, Z1, Z2):
    X1, X2 = G(Z1), G(Z2)
    D = X1 - X2
    AD = D @ A.T
    num = np.einsum("bi,bi->b", AD, AD)
    den = np.einsum("bi,bi->b", D, D)
    scale = np.einsum("bi,bi->b", X1, X1) + np.einsum("bi,bi->b", X2, X2)
    return D, AD, num, den, scale


def _checked_inputs(G, A, z1, z2):
    """G, A and the pair (z1, z2) checked, as (G, A, Z1, Z2, single) with 2-D Z1, Z2."""
    G = _check_generator(G)
    A = _check_matrix(A, G)
    return (G, A, *_check_pair(G, z1, z2))


def _require_defined(defined: np.ndarray) -> None:
    if not np.all(defined):
        raise ValueError("G(z1) == G(z2) for some pair: the ratio is undefined")


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
    G, A, Z1, Z2, single = _checked_inputs(G, A, z1, z2)
    _, _, num, den, _ = _objective_parts(G, A, Z1, Z2)
    _require_defined(den != 0.0)
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
    G, A, Z1, Z2, single = _checked_inputs(G, A, z1, z2)
    f, g1, g2 = _value_and_grad(G, A, Z1, Z2)
    _require_defined(np.isfinite(f))
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


@dataclass(frozen=True)
class AdversarialOptions:
    """The settings of `adversarial_ratio` (frozen; every field checked on creation).

    Attributes
    ----------
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
    screen : int or None
        Number of random pairs screened for the starts, >= `restarts` (default: `restarts`,
        no screening).
    """

    restarts: int = 10
    max_iter: int = 200
    step: float = 0.1
    tol: float = 1e-10
    same_support_fraction: float = 0.5
    screen: int | None = None

    def __post_init__(self) -> None:
        for name in ("restarts", "max_iter"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=1))
        for name in ("step", "tol"):
            object.__setattr__(self, name, check_positive_float(getattr(self, name), name))
        frac = check_positive_float(
            self.same_support_fraction, "same_support_fraction", allow_zero=True
        )
        if frac > 1.0:
            raise ValueError(f"same_support_fraction must be in [0, 1], got {frac!r}")
        object.__setattr__(self, "same_support_fraction", frac)
        if self.screen is not None:
            screen = check_int(self.screen, "screen", minimum=1)
            if screen < self.restarts:
                raise ValueError(f"screen must be >= restarts = {self.restarts}, got {screen}")
            object.__setattr__(self, "screen", screen)


def adversarial_ratio(
    G: ReLUGenerator,
    A: np.ndarray,
    s: int,
    *,
    rng: np.random.Generator | int | None = None,
    starts: tuple[np.ndarray, np.ndarray] | None = None,
    options: AdversarialOptions | None = None,
    **knobs: Any,
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
        Source of randomness (starting pairs), keyword-only.
    starts : tuple of ndarray, shape (P, k) each, optional
        Starting pairs (z1, z2) screened together with the random ones; each must be s-sparse
        with G(z1) != G(z2).
    options : AdversarialOptions, optional
        The search's settings (default ``AdversarialOptions()``).
    **knobs
        Fields of `AdversarialOptions` by keyword (``restarts``, ``max_iter``, ``step``,
        ``tol``, ``same_support_fraction``, ``screen``), replacing those of `options`.

    Returns
    -------
    AdversarialResult
        The best pair and every restart's outcome.
    """
    opts = _build_options(AdversarialOptions, options, knobs, "adversarial_ratio")
    rng = check_rng(rng)
    G = _check_generator(G)
    A = _check_matrix(A, G)
    s = check_sparsity(s, G.k)
    Z1, Z2 = _starting_pairs(G, A, s, opts, starts, rng)
    Z1, Z2, f, f0, n_iter = _descend(G, A, s, Z1, Z2, opts)
    ratios = np.sqrt(f)
    diff = np.linalg.norm(G(Z1) - G(Z2), axis=1)
    best = int(np.argmin(ratios))
    return AdversarialResult(
        ratio=float(ratios[best]), z1=Z1[best].copy(), z2=Z2[best].copy(), ratios=ratios,
        initial_ratios=np.sqrt(f0), diff_norms=diff, z1_all=Z1, z2_all=Z2, n_iter=n_iter,
    )  # fmt: skip


def _starting_pairs(G, A, s: int, opts: AdversarialOptions, starts, rng):
    """The `restarts` starting pairs: the worst of `screen` random ones and of `starts`."""
    restarts, frac = opts.restarts, opts.same_support_fraction
    screen = restarts if opts.screen is None else opts.screen
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
    return Z1, Z2


def _descend(G, A, s: int, Z1, Z2, opts: AdversarialOptions):
    """Projected gradient from (Z1, Z2), each restart with its own step (`adversarial_ratio`).

    Returns (Z1, Z2, f, f at the starts, iterations per restart).
    """
    f, g1, g2 = _value_and_grad(G, A, Z1, Z2)
    f0 = f.copy()
    gnorm = np.sqrt(np.sum(g1 * g1, axis=1) + np.sum(g2 * g2, axis=1))
    znorm = np.sqrt(np.sum(Z1 * Z1, axis=1) + np.sum(Z2 * Z2, axis=1))
    t = np.where(gnorm > 0, opts.step * znorm / np.where(gnorm > 0, gnorm, 1.0), 0.0)
    active = gnorm > 0
    n_iter = np.zeros(Z1.shape[0], dtype=np.int64)
    for _ in range(opts.max_iter):
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
        active[idx] = t[idx] * gnorm > opts.tol * znorm
    return Z1, Z2, f, f0, n_iter
