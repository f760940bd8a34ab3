r"""The exact best s-sparse approximation min_{||z||_0 <= s} ||G(z) - x|| of a signal x.

On every linear piece P of G (a support S and an activation region R_P, enumerated exactly by
`sdlss_theory.pieces.linear_pieces`) G is affine, G(z) = J_P z_S + c_P, so

.. math::

    \min_{\|z\|_0 \le s} \|G(z) - x\| = \min_P \ \min_{u \in R_P} \|J_P u + c_P - x\|,

and each inner problem is a convex quadratic programme over a polyhedron. Its value is at
least the unconstrained least-squares distance ``ls_P = min_u ||J_P u + c_P - x||``, which
orders the pieces (branch and bound): they are visited in increasing ``ls_P`` and the search
stops when ``ls_P`` reaches the best distance found. A piece whose least-squares minimiser
lies inside its region has its exact value at once; otherwise the programme is solved over
the faces of the region (`_polyhedron_distance`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pieces import Pieces, check_generator_and_sparsity, linear_pieces

__all__ = ["BestApproximation", "best_sparse_approximation"]

#: A face's coefficient above -COEF_TOL (relative) counts as inside the face.
COEF_TOL = 1e-10
#: Condition number above which a face's least-squares problem counts as rank deficient.
COND_MAX = 1e10


@dataclass(frozen=True)
class BestApproximation:
    """The best s-sparse approximation of x (see `best_sparse_approximation`).

    Attributes
    ----------
    z : ndarray, shape (k,)
        An s-sparse code attaining `distance`.
    distance : float
        ||G(z) - x||.
    exact : bool
        Whether `distance` is the global minimum over s-sparse codes (to rounding): every
        piece was enumerated and the branch and bound finished. False for the fallback.
    lower : float
        A lower bound on the minimum (= `distance` when exact; 0 for the fallback).
    method : str
        ``"pieces"`` (exact) or ``"latent_recover"`` (the fallback).
    n_pieces : int
        Linear pieces enumerated (-1 when the budget ran out).
    n_solved : int
        Pieces whose programme was solved over their faces.
    """

    z: np.ndarray
    distance: float
    exact: bool
    lower: float
    method: str
    n_pieces: int
    n_solved: int


def _least_squares(J: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched min-norm least squares u_P = argmin ||J_P u - y_P||; returns (u, residual)."""
    U, S, Vt = np.linalg.svd(J, full_matrices=False)
    tol = S[:, :1] * max(J.shape[1:]) * np.finfo(float).eps
    inv = np.where(S > tol, 1.0 / np.where(S > tol, S, 1.0), 0.0)
    coef = np.einsum("pns,pn->ps", U, y) * inv
    u = np.einsum("pst,ps->pt", Vt, coef)
    res = np.linalg.norm(np.einsum("pns,ps->pn", J, u) - y, axis=1)
    return u, res


def _face_solve(M: np.ndarray, a: np.ndarray) -> np.ndarray | None:
    """argmin_w ||M w + a|| if M has full column rank (cond <= COND_MAX), else None."""
    if M.shape[1] == 0:
        return np.zeros(0)
    sv = np.linalg.svd(M, compute_uv=False)
    if sv[-1] <= sv[0] / COND_MAX:
        return None
    return np.linalg.lstsq(M, -a, rcond=None)[0]


def _polyhedron_distance(J, c, x, points, rays, max_faces: int):
    """The minimum of ||J u + c - x|| over u in conv(points) + cone(rays): (value, u) or None.

    The minimiser lies in the relative interior of a face, i.e. of a simplex spanned by
    affinely independent generators T of the region (Caratheodory), and it minimises the
    objective over aff(T) (convexity); where that objective is not strictly convex a
    minimiser lies on a smaller face. So the minimum is the least value over the subsets T
    whose equality-constrained least-squares problem (sum of the point weights = 1) has
    full rank and a solution with non-negative weights. A cone with its apex at the only
    point (a bias-free network) is a non-negative least-squares problem (`scipy.optimize.nnls`).
    """
    y = x - c
    if points.shape[0] == 1 and np.allclose(points[0], 0.0) and rays.shape[0]:
        B = rays @ J.T  # (r, n)
        w, _ = nnls(B.T, y - J @ points[0])
        u = points[0] + w @ rays
        return float(np.linalg.norm(J @ u + c - x)), u
    a_pts = points @ J.T + c - x  # (p, n)
    b_rays = rays @ J.T
    p, r = a_pts.shape[0], b_rays.shape[0]
    dim = np.linalg.matrix_rank(np.vstack([a_pts[1:] - a_pts[0], b_rays])) if p + r > 1 else 0
    best = None
    count = 0
    for size in range(1, dim + 2):
        for n_pts in range(1, min(size, p) + 1):
            n_rays = size - n_pts
            if n_rays > r:
                continue
            for Ip in itertools.combinations(range(p), n_pts):
                for K in itertools.combinations(range(r), n_rays):
                    count += 1
                    if count > max_faces:
                        return None
                    base = a_pts[Ip[0]]
                    cols = [a_pts[i] - base for i in Ip[1:]] + [b_rays[j] for j in K]
                    M = np.array(cols).T if cols else np.zeros((base.size, 0))
                    w = _face_solve(M, base)
                    if w is None:
                        continue
                    lam_rest, mu = w[: n_pts - 1], w[n_pts - 1 :]
                    lam = np.concatenate([[1.0 - lam_rest.sum()], lam_rest])
                    tol = COEF_TOL * max(1.0, np.abs(w).max(initial=0.0))
                    if np.any(lam < -tol) or np.any(mu < -tol):
                        continue
                    lam, mu = np.maximum(lam, 0.0), np.maximum(mu, 0.0)
                    lam /= lam.sum()
                    u = lam @ points[list(Ip)] + (mu @ rays[list(K)] if n_rays else 0.0)
                    value = float(np.linalg.norm(J @ u + c - x))
                    if best is None or value < best[0]:
                        best = (value, u)
    return best


def _pattern(G: ReLUGenerator, z: np.ndarray) -> bytes:
    return np.packbits(np.concatenate(G.activation_pattern(z))).tobytes()


def best_sparse_approximation(
    G: ReLUGenerator,
    x: np.ndarray,
    s: int,
    *,
    max_pieces: int = 20000,
    max_faces: int = 20000,
    pieces: Pieces | None = None,
    rng: np.random.Generator | int | None = None,
) -> BestApproximation:
    r"""The global minimum of ||G(z) - x|| over s-sparse codes z, exact where pieces allow.

    Exact path (see the module docstring): every linear piece of G on s-sparse codes is
    enumerated (`linear_pieces`, at most `max_pieces`); the pieces are visited in increasing
    order of their unconstrained least-squares distance ``ls_P``, a lower bound on their
    value; a piece whose least-squares minimiser lies in its region (same activation
    pattern) is solved at once, any other one over the faces of its region; the search stops
    when ``ls_P`` is no smaller than the best distance found. For a bias-free network every
    region is a cone with apex 0 (G is positively homogeneous) and its programme is a
    non-negative least-squares problem in the region's extreme rays.

    Fallback: when the pieces exceed `max_pieces` (or a region has more than `max_faces`
    faces to examine), the result is ``latent_recover(G, I, x, s, rng=rng)`` (the measurement
    matrix is the identity), with ``exact=False``: an s-sparse point, so `distance` is an
    upper bound on the minimum.

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    x : array_like, shape (n,)
        The signal.
    s : int
        Sparsity, 1 <= s <= k.
    max_pieces : int
        Budget of the piece enumeration.
    max_faces : int
        Budget of faces examined per region.
    pieces : Pieces, optional
        The pieces of G at sparsity s, if already enumerated (`linear_pieces`).
    rng : numpy.random.Generator or int, optional
        Source of randomness of the fallback (required only when it runs).

    Returns
    -------
    BestApproximation
        z, distance = ||G(z) - x||, exact, and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([6, 12, 20], rng, bias=True)
    >>> best = best_sparse_approximation(G, rng.standard_normal(20), 2)
    >>> best.exact, int(np.count_nonzero(best.z)) <= 2
    (True, True)
    """
    s = check_generator_and_sparsity(G, s)
    x = as_float_array(x, "x", ndim=(1,))
    if x.shape != (G.n,):
        raise ValueError(
            f"x must have shape ({G.n},) (the generator's output size), got {x.shape}"
        )
    max_pieces = check_int(max_pieces, "max_pieces", minimum=1)
    max_faces = check_int(max_faces, "max_faces", minimum=1)
    if pieces is None:
        pieces = linear_pieces(G, s, max_pieces=max_pieces)
    elif pieces.s != s:
        raise ValueError(f"pieces were enumerated for s = {pieces.s}, not s = {s}")
    if pieces.complete:
        result = _exact(G, x, pieces, max_faces)
        if result is not None:
            return result
    return _fallback(G, x, s, rng, len(pieces) if pieces.complete else -1)


def _exact(G, x, pieces: Pieces, max_faces: int) -> BestApproximation | None:
    J, C = pieces.jacobians, pieces.offsets
    u_ls, ls = _least_squares(J, x[None, :] - C)
    order = np.argsort(ls, kind="stable")
    best_val, best_z, solved = np.inf, None, 0
    for P in order:
        if ls[P] >= best_val:
            break
        z = pieces.codes(P, u_ls[P], G.k)
        if _pattern(G, z) == pieces.patterns[P]:
            value, u = float(ls[P]), u_ls[P]
        else:
            solved += 1
            found = _polyhedron_distance(J[P], C[P], x, pieces.points[P], pieces.rays[P],
                                         max_faces)  # fmt: skip
            if found is None:
                return None
            value, u = found
        if value < best_val:
            best_val, best_z = value, pieces.codes(P, u, G.k)
    distance = float(np.linalg.norm(G(best_z) - x))
    return BestApproximation(
        z=best_z,
        distance=distance,
        exact=True,
        lower=min(best_val, distance),
        method="pieces",
        n_pieces=len(pieces),
        n_solved=solved,
    )


def _fallback(G, x, s, rng, n_pieces) -> BestApproximation:
    from sdlss_theory.solvers import latent_recover

    rng = check_rng(rng)
    res = latent_recover(G, np.eye(G.n), x, s, rng=rng)
    z = np.asarray(res.z, dtype=float)
    return BestApproximation(
        z=z,
        distance=float(np.linalg.norm(G(z) - x)),
        exact=False,
        lower=0.0,
        method="latent_recover",
        n_pieces=n_pieces,
        n_solved=0,
    )
