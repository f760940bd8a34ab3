"""Reference for `sdlss_theory.cone_quotient.cone_min_ratio_batch`: one cone at a time.

The unbatched minimum of ||A d|| / ||d|| over a cone {X c : c >= 0}, written separately (the
library only needs the batched one, `srec` uses it); the tests compare the two.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb

import numpy as np

from sdlss_theory.cone_quotient import COEF_TOL, DEPENDENT, GAP_TOL


def _distinct_directions(X: np.ndarray) -> list[int]:
    """Columns of X that are not positive multiples of earlier columns (the same cone)."""
    U = X / np.linalg.norm(X, axis=0, keepdims=True)
    keep: list[int] = []
    for j in range(X.shape[1]):
        if all(U[:, j] @ U[:, i] < 1.0 - 1e-13 for i in keep):
            keep.append(j)
    return keep


@dataclass(frozen=True)
class ConeMin:
    """The minimum of ||A d|| / ||d|| over a cone {X c : c >= 0} (see `cone_min_ratio`).

    Attributes
    ----------
    lower : float
        A lower bound on the minimum: the least candidate value, counting conservatively the
        subsets whose eigenvector is non-negative only to within ``COEF_TOL``, whose smallest
        eigenvalue is repeated, or whose generators are numerically dependent.
    value : float
        The ratio of ``d = X c`` (an element of the cone): an upper bound on the minimum; it
        equals `lower` (to rounding) in the generic case.
    coef : ndarray, shape (p,)
        c >= 0, the witness's coefficients.
    n_subsets : int
        Subsets examined.
    """

    lower: float
    value: float
    coef: np.ndarray
    n_subsets: int


def cone_min_ratio(
    A: np.ndarray, X: np.ndarray, *, max_subsets: int = 4096
) -> ConeMin | None:
    r"""Exact min of ||A d|| / ||d|| over the cone {X c : c >= 0, X c != 0}.

    Every linearly independent subset T of the p generators (columns of X) with
    |T| <= rank X is examined: the smallest generalised eigenvalue lambda_T of
    (X_T^T A^T A X_T, X_T^T X_T) and its eigenvector c_T. If c_T has one sign, sqrt(lambda_T)
    is attained in the cone; the minimum over the cone is the least such value (module
    docstring). Subsets are built from the p x p Gram matrices of the generators, so a subset
    costs O(|T|^3).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    X : ndarray, shape (n, p)
        The generators (non-zero columns).
    max_subsets : int
        Budget; None is returned when more subsets would be needed.

    Returns
    -------
    ConeMin or None
    """
    p_all = X.shape[1]
    if p_all == 0:
        return None
    cols = _distinct_directions(X)
    X = X[:, cols]
    p = X.shape[1]
    rank = np.linalg.matrix_rank(X)
    n_sub = sum(comb(p, t) for t in range(1, rank + 1))
    if n_sub > max_subsets:
        return None
    AX = A @ X
    Dg = X.T @ X
    Ng = AX.T @ AX
    best_lower, best_value, best_coef = np.inf, np.inf, None
    for t in range(1, rank + 1):
        subsets = np.array(list(itertools.combinations(range(p), t)), dtype=np.int64)
        D = Dg[subsets[:, :, None], subsets[:, None, :]]
        N = Ng[subsets[:, :, None], subsets[:, None, :]]
        w, U = np.linalg.eigh(D)
        # Dependent subsets are not needed (Caratheodory picks an independent one).
        good = w[:, 0] >= DEPENDENT * np.maximum(w[:, -1], np.finfo(float).tiny)
        if not np.any(good):
            continue
        S, Ug, wg = subsets[good], U[good], w[good]
        W = Ug / np.sqrt(wg)[:, None, :]
        M = np.matmul(W.transpose(0, 2, 1), np.matmul(N[good], W))
        lam, Y = np.linalg.eigh(0.5 * (M + M.transpose(0, 2, 1)))
        C = np.matmul(W, Y[:, :, 0:1])[:, :, 0]  # coefficients of the minimising vector
        scale = np.abs(C).max(axis=1)
        flip = np.where(C.sum(axis=1) < 0, -1.0, 1.0)
        C = C * flip[:, None]
        nonneg = np.all(C >= -COEF_TOL * scale[:, None], axis=1)
        if t > 1:
            repeated = lam[:, 1] - lam[:, 0] <= GAP_TOL * np.maximum(np.abs(lam[:, -1]), 1e-300)
        else:
            repeated = np.zeros(len(S), dtype=bool)
        vals = np.sqrt(np.maximum(lam[:, 0], 0.0))
        vals[t > A.shape[0]] = 0.0
        cand = nonneg | repeated
        if np.any(cand):
            best_lower = min(best_lower, float(vals[cand].min()))
        for b in np.flatnonzero(nonneg):
            c = np.zeros(p)
            c[S[b]] = np.maximum(C[b], 0.0)
            d = X @ c
            nd = np.linalg.norm(d)
            if nd == 0.0:
                continue
            value = float(np.linalg.norm(A @ d) / nd)
            if value < best_value:
                best_value, best_coef = value, c
    coef = np.zeros(p_all)
    if best_coef is None:
        return ConeMin(best_lower, np.inf, coef, n_sub)
    coef[cols] = best_coef
    return ConeMin(min(best_lower, best_value), best_value, coef, n_sub)
