r"""The smallest ratio ||A d|| / ||d|| over a subspace or over a finitely generated cone.

Both are minima of the generalised Rayleigh quotient

.. math:: R(c) = \frac{c^\top X^\top A^\top A X c}{c^\top X^\top X c}, \qquad d = X c,

of the pencil (N, D) = (X^T A^T A X, X^T X):

* over the subspace span(X) the minimum is the smallest generalised eigenvalue of (N, D)
  (`subspace_min_ratio`, batched over many subspaces);
* over the cone {X c : c >= 0} (`cone_min_ratio_batch`, batched over many cones of p
  generators each) the minimiser d* lies in the relative
  interior of a face, and by Caratheodory's theorem for cones d* = X_T c with c > 0 for a
  linearly independent subset T of the generators. There d* is a local minimiser of R on an
  open subset of span(X_T), hence a minimising generalised eigenvector of the restricted
  pencil (local minima of a Rayleigh quotient on a subspace are global). So the minimum over
  the cone is the least lambda_min(N_T, D_T) over the independent subsets T whose
  minimising eigenvector has coefficients of one sign, and every such candidate is attained
  in the cone [Ber09]_.

References
----------
.. [Ber09] D. S. Bernstein, "Matrix Mathematics", 2nd ed., Princeton University Press, 2009,
   Fact 8.15 (generalised Rayleigh quotient) and Sec. 2.3 (Caratheodory for cones).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "cone_min_ratio_batch",
    "orthonormal_basis",
    "subspace_min_ratio",
]

#: Relative eigenvalue floor of X^T X (unit columns) for the Cholesky route.
GRAM_FLOOR = 1e-6
#: Relative column norm below which a column counts as zero (rounding residue).
TINY_COLUMN = 1e-12
#: Singular-value ratio of X above which A U is formed from A X (no product with A).
SCALED_FLOOR = 1e-4
#: A coefficient above -COEF_TOL * max|c| counts as non-negative.
COEF_TOL = 1e-9
#: Relative gap below which the smallest eigenvalue counts as repeated.
GAP_TOL = 1e-9
#: Relative eigenvalue of X_T^T X_T below which a subset T counts as linearly dependent.
DEPENDENT = 1e-20
#: The same floor for the batched version (Cholesky needs a numerically definite X_T^T X_T).
CHOL_FLOOR = 1e-14


def orthonormal_basis(X: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of X (SVD, rank tolerance eps * max(shape))."""
    if X.size == 0 or not np.any(X):
        return np.zeros((X.shape[0], 0))
    U, sv, _ = np.linalg.svd(X, full_matrices=False)
    rank = int(np.sum(sv > sv[0] * max(X.shape) * np.finfo(float).eps))
    return U[:, :rank]


def _svd_values(A: np.ndarray, X: np.ndarray, AX: np.ndarray) -> np.ndarray:
    """subspace_min_ratio by a rank-revealing SVD of every X_b (the robust path)."""
    m = A.shape[0]
    n, r = X.shape[1:]
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    top = np.maximum(S[:, 0], np.finfo(float).tiny)
    rank = np.sum(S > (max(n, r) * np.finfo(float).eps) * top[:, None], axis=1)
    rank[S[:, 0] == 0.0] = 0
    out = np.full(X.shape[0], np.inf)
    for rho in np.unique(rank):
        rows = np.flatnonzero(rank == rho)
        if rho == 0:
            continue
        if rho > m:
            out[rows] = 0.0
            continue
        scaled = S[rows, rho - 1] >= SCALED_FLOOR * top[rows]
        AQ = np.empty((rows.size, m, rho))
        if np.any(scaled):
            sr = rows[scaled]
            AQ[scaled] = np.matmul(AX[sr], Vt[sr, :rho, :].transpose(0, 2, 1)) / S[sr, None, :rho]
        if np.any(~scaled):
            AQ[~scaled] = np.matmul(A, U[rows[~scaled], :, :rho])
        out[rows] = np.linalg.svd(AQ, compute_uv=False)[:, -1]
    return out


def subspace_min_ratio(A: np.ndarray, X: np.ndarray, AX: np.ndarray | None = None) -> np.ndarray:
    r"""min_{d in span(X_b), d != 0} ||A d|| / ||d|| for a stack of column sets X_b.

    The value is sqrt(lambda_min) of the pencil (N, D) = (X^T A^T A X, X^T X), 0 when
    dim span(X_b) > m (A has a kernel direction in it). With unit columns, D = L L^T
    (Cholesky) and lambda_min = lambda_min(L^{-1} N L^{-T}); the rounding error of this
    route grows like eps / lambda_min(D), so it is used only where lambda_min(D) >=
    ``GRAM_FLOOR`` lambda_max(D), which keeps it below 1e-9. The other column sets (nearly
    dependent columns, e.g. two pieces that share a facet, or zero columns) go through a
    rank-revealing SVD, X = U S V^T: with rho the numerical rank (singular values above
    ``max(n, r) * eps`` times the largest, as `orthonormal_basis`), the value is
    sigma_min(A U_rho).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    X : ndarray, shape (B, n, r)
        The column sets (zero columns allowed).
    AX : ndarray, shape (B, m, r), optional
        A @ X if already known.

    Returns
    -------
    ndarray, shape (B,)
        The values (inf for an all-zero X_b).
    """
    if AX is None:
        AX = np.matmul(A, X)
    m = A.shape[0]
    r = X.shape[2]
    norms = np.linalg.norm(X, axis=1)  # (B, r)
    # Columns at the rounding level of the largest (e.g. a rank-deficient Jacobian) go to the
    # rank-revealing path, which drops them; normalised, they would be directions of no meaning.
    nonzero = np.all(norms > TINY_COLUMN * norms.max(axis=1, keepdims=True), axis=1)
    out = np.empty(X.shape[0])
    good = np.zeros(X.shape[0], dtype=bool)
    if r <= m and np.any(nonzero):
        rows = np.flatnonzero(nonzero)
        scale = 1.0 / norms[rows]
        Xn = X[rows] * scale[:, None, :]
        AXn = AX[rows] * scale[:, None, :]
        D = np.matmul(Xn.transpose(0, 2, 1), Xn)
        wD = np.linalg.eigvalsh(D)
        ok = wD[:, 0] >= GRAM_FLOOR * wD[:, -1]
        if np.any(ok):
            Linv = np.linalg.inv(np.linalg.cholesky(D[ok]))
            N = np.matmul(AXn[ok].transpose(0, 2, 1), AXn[ok])
            M = np.matmul(Linv, np.matmul(N, Linv.transpose(0, 2, 1)))
            lam = np.linalg.eigvalsh(0.5 * (M + M.transpose(0, 2, 1)))[:, 0]
            out[rows[ok]] = np.sqrt(np.maximum(lam, 0.0))
            good[rows[ok]] = True
    rest = np.flatnonzero(~good)
    if rest.size:
        out[rest] = _svd_values(A, X[rest], AX[rest])
    return out


def cone_min_ratio_batch(
    A: np.ndarray, X: np.ndarray, AX: np.ndarray | None = None, *, max_size: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The minimum of ||A d|| / ||d|| over each cone of a stack with p generators each.

    The same subsets T of {0, ..., p - 1} are examined for every cone of the stack at once
    (batched eigenproblems); subsets that are linearly dependent for a cone (a zero or a
    repeated generator, or rank below |T|) are skipped for that cone, which Caratheodory's
    theorem allows.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    X : ndarray, shape (B, n, p)
        The generators of each cone (zero columns allowed).
    AX : ndarray, shape (B, m, p), optional
        A @ X if already known.
    max_size : int, optional
        Largest subset examined (default p; the rank of a cone's generators is enough).

    Returns
    -------
    lower : ndarray, shape (B,)
        A lower bound on each cone's minimum: the least candidate value, counting
        conservatively the subsets whose eigenvector is non-negative only to within
        ``COEF_TOL`` or whose smallest eigenvalue is repeated; it equals `value` (to
        rounding) in the generic case.
    value : ndarray, shape (B,)
        The ratio of the witness X_b c_b (an upper bound; inf if none was found).
    coef : ndarray, shape (B, p)
        The witnesses' coefficients c_b >= 0.
    """
    if AX is None:
        AX = np.matmul(A, X)
    m = A.shape[0]
    B, _, p = X.shape
    norms = np.linalg.norm(X, axis=1)  # (B, p)
    live = norms > TINY_COLUMN * np.maximum(norms.max(axis=1, keepdims=True), 1e-300)
    inv = np.where(live, 1.0 / np.where(live, norms, 1.0), 0.0)
    Xn, AXn = X * inv[:, None, :], AX * inv[:, None, :]
    Dg = np.matmul(Xn.transpose(0, 2, 1), Xn)
    Ng = np.matmul(AXn.transpose(0, 2, 1), AXn)
    lower = np.full(B, np.inf)
    value = np.full(B, np.inf)
    coef = np.zeros((B, p))
    # Subsets of one generator: the ratio of the generator itself.
    single = np.sqrt(np.maximum(np.einsum("bii->bi", Ng), 0.0))
    single = np.where(live, single, np.inf)
    j = np.argmin(single, axis=1)
    rows = np.arange(B)
    lower = single[rows, j].copy()
    value = lower.copy()
    coef[rows, j] = inv[rows, j]
    top = p if max_size is None else min(p, max_size)
    cones = (X, AX, Dg, Ng, live, inv, m)
    for t in range(2, top + 1):
        for T in itertools.combinations(range(p), t):
            _subset_candidates(cones, list(T), lower, value, coef)
    return np.minimum(lower, value), value, coef


def _subset_candidates(cones: tuple, T: list, lower, value, coef) -> None:
    """The candidates of the generator subset T for every cone of a batch (in place).

    cones = (X, AX, Dg, Ng, live, inv, m): the generators, their images, the Gram matrices
    of the unit generators, which are non-zero, their inverse norms, and m. Where the
    minimising eigenvector of the restricted pencil has one sign (or the eigenvalue is
    repeated) `lower` takes the value; a non-negative witness updates `value` and `coef`.
    """
    X, AX, Dg, Ng, live, inv, m = cones
    p = X.shape[2]
    t = len(T)
    ok = np.all(live[:, T], axis=1)
    D = Dg[:, T][:, :, T]
    w = np.linalg.eigvalsh(D)
    ok &= w[:, 0] >= CHOL_FLOOR * w[:, -1]
    if not np.any(ok):
        return
    idx = np.flatnonzero(ok)
    Linv = np.linalg.inv(np.linalg.cholesky(D[idx]))
    N = Ng[idx][:, T][:, :, T]
    M = np.matmul(Linv, np.matmul(N, Linv.transpose(0, 2, 1)))
    lam, Y = np.linalg.eigh(0.5 * (M + M.transpose(0, 2, 1)))
    C = np.matmul(Linv.transpose(0, 2, 1), Y[:, :, 0:1])[:, :, 0]
    C *= np.where(C.sum(axis=1) < 0, -1.0, 1.0)[:, None]
    scale = np.abs(C).max(axis=1)
    nonneg = np.all(C >= -COEF_TOL * scale[:, None], axis=1)
    repeated = lam[:, 1] - lam[:, 0] <= GAP_TOL * np.maximum(np.abs(lam[:, -1]), 1e-300)
    vals = np.zeros(idx.size) if t > m else np.sqrt(np.maximum(lam[:, 0], 0.0))
    cand = nonneg | repeated
    lower[idx[cand]] = np.minimum(lower[idx[cand]], vals[cand])
    if not np.any(nonneg):
        return
    sel = idx[nonneg]
    c = np.zeros((sel.size, p))
    c[:, T] = np.maximum(C[nonneg], 0.0) * inv[sel][:, T]
    d = np.einsum("bnp,bp->bn", X[sel], c)
    ad = np.einsum("bmp,bp->bm", AX[sel], c)
    nd = np.linalg.norm(d, axis=1)
    witness = np.where(nd > 0, np.linalg.norm(ad, axis=1) / np.maximum(nd, 1e-300), np.inf)
    better = witness < value[sel]
    value[sel[better]] = witness[better]
    coef[sel[better]] = c[better]
