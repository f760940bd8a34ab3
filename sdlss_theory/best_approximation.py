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
the faces of the region (`_piece_minimum`).

Rounding. A piece with few active units has a rank-deficient J_P whose computed singular values
are rounding residue (1e-20, not 0); taken at face value they let a recession direction in the
kernel reach any image with coefficients near 1e16. So a direction whose image is at most
``DEGENERATE`` = 1e-9 of the whole map's largest Jacobian norm ||J|| = max_P ||J_P||_2 counts as
a kernel direction, every piece's programme is solved in its remaining directions, and every
candidate is evaluated with G itself: the reported distance is ||G(z) - x|| at the returned z.
The search is ``exact`` only when that distance and the lower bound (the least programme value
of the pieces visited, and the least-squares value of the first piece not visited) agree to
``EXACT_RTOL`` = 1e-9 of max(||x||, ||G(z)||).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pieces import Pieces, check_generator_and_sparsity, linear_pieces

__all__ = ["BestApproximation", "best_sparse_approximation"]

#: A face's coefficient above -COEF_TOL (relative) counts as inside the face.
COEF_TOL = 1e-10
#: Condition number above which a face's least-squares problem counts as rank deficient
#: (judged in the reduced coordinates of its piece, where no direction is degenerate).
COND_MAX = 1e10
#: A direction of a piece whose image is at most DEGENERATE * ||J|| (||J|| = max_P ||J_P||_2,
#: the largest Jacobian of the whole map on s-sparse codes) counts as a kernel direction.
DEGENERATE = 1e-9
#: ``exact`` requires distance - lower <= EXACT_RTOL * max(||x||, ||G(z)||).
EXACT_RTOL = 1e-9


@dataclass(frozen=True)
class BestApproximation:
    """The best s-sparse approximation of x (see `best_sparse_approximation`).

    Attributes
    ----------
    z : ndarray, shape (k,)
        An s-sparse code attaining `distance`.
    distance : float
        ||G(z) - x||, evaluated with G at `z`: an upper bound on the minimum, witnessed by z.
    exact : bool
        Whether `distance` is the global minimum over s-sparse codes: every piece was
        enumerated, the branch and bound finished, and distance - lower <=
        ``EXACT_RTOL`` max(||x||, ||G(z)||) (see the module docstring for what is proven).
        False for the fallback.
    lower : float
        A lower bound on the minimum: the least programme value of the pieces visited and the
        least-squares value of the first piece not visited (<= `distance`; 0 for the fallback).
    method : str
        ``"pieces"`` (the piece route, exact or not, see `exact`) or ``"latent_recover"``
        (the fallback).
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


def _reduced_pieces(J: np.ndarray, Y: np.ndarray):
    """Batched SVD of the pieces' Jacobians and their least squares in the kept directions.

    Singular values at or below ``DEGENERATE * max_P ||J_P||_2`` are set to zero (the tolerance
    is that of the whole map, not of the piece: a rank-deficient piece's rounding residue is no
    direction). Returns (U, S, Vt, tol, u, ls): ``u`` the minimum-norm least-squares solution
    of J_P u = Y_P in the kept directions and ``ls = ||Y_P - U_r U_r^T Y_P||`` its residual, a
    lower bound on the piece's value.
    """
    U, S, Vt = np.linalg.svd(J, full_matrices=False)
    tol = DEGENERATE * float(S[:, 0].max()) if S.size else 0.0
    kept = S > tol
    coef = np.einsum("pns,pn->ps", U, Y) * kept
    u = np.einsum("pst,ps->pt", Vt, coef / np.where(kept, S, 1.0))
    ls = np.linalg.norm(Y - np.einsum("pns,ps->pn", U, coef), axis=1)
    return U, S, Vt, tol, u, ls


def _face_solve(M: np.ndarray, a: np.ndarray) -> np.ndarray | None:
    """argmin_w ||M w + a|| if M has full column rank (cond <= COND_MAX), else None."""
    if M.shape[1] == 0:
        return np.zeros(0)
    U, sv, Vt = np.linalg.svd(M, full_matrices=False)
    if not sv[-1] > sv[0] / COND_MAX:
        return None
    return -(Vt.T @ ((U.T @ a) / sv))


def _piece_minimum(U, S, Vt, tol, c, x, points, rays, max_faces: int):
    """The minimum of ||J u + c - x|| over u in conv(points) + cone(rays): (value, u) or None.

    J = U diag(S) Vt is replaced by its directions with S > `tol` (the others are kernel
    directions, see `DEGENERATE`), so the problem is solved in the r kept coordinates
    w = S_r Vt_r u, where the objective ||w - U_r^T (x - c)||^2 + ||(I - U_r U_r^T)(x - c)||^2
    is strictly convex; recession directions with no image there are dropped.

    The minimiser lies in the relative interior of a face, i.e. of a simplex spanned by
    affinely independent generators T of the region (Caratheodory), and it minimises the
    objective over aff(T) (convexity); where that objective is not strictly convex a
    minimiser lies on a smaller face. So the minimum is the least value over the subsets T
    whose equality-constrained least-squares problem (sum of the point weights = 1) has
    full rank and a solution with non-negative weights. A cone with its apex at the only
    point (a bias-free network) is first tried as a non-negative least-squares problem
    (`scipy.optimize.nnls`), accepted when its active generators are well conditioned.
    """
    y = x - c
    kept = S > tol
    Ur, Vr = U[:, kept], Vt[kept] * S[kept, None]  # w = Vr u
    yt = Ur.T @ y
    perp2 = float(np.sum((y - Ur @ yt) ** 2))
    if not kept.any():  # G is constant on the piece
        return math.sqrt(perp2), points[0].copy()
    a_pts = points @ Vr.T - yt  # (p, r)
    b_all = rays @ Vr.T
    live = np.linalg.norm(b_all, axis=1) > tol
    rays, b_rays = rays[live], b_all[live]
    p, r = a_pts.shape[0], b_rays.shape[0]
    if p == 1 and not np.any(points[0]) and r:
        mu, _ = nnls(b_rays.T, -a_pts[0])
        on = mu > 0
        if _face_solve(b_rays[on].T, a_pts[0]) is not None:
            value = math.sqrt(float(np.sum((a_pts[0] + mu @ b_rays) ** 2)) + perp2)
            return value, points[0] + mu @ rays
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
                    ctol = COEF_TOL * max(1.0, np.abs(w).max(initial=0.0))
                    if np.any(lam < -ctol) or np.any(mu < -ctol):
                        continue
                    lam, mu = np.maximum(lam, 0.0), np.maximum(mu, 0.0)
                    lam /= lam.sum()
                    image = lam @ a_pts[list(Ip)] + (mu @ b_rays[list(K)] if n_rays else 0.0)
                    value = math.sqrt(float(np.sum(image**2)) + perp2)
                    if best is None or value < best[0]:
                        u = lam @ points[list(Ip)] + (mu @ rays[list(K)] if n_rays else 0.0)
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

    What is proven. Every candidate is evaluated with G, so `distance` = ||G(z) - x|| is
    attained (an upper bound on the minimum). `lower` is the minimum of the problem in which
    every direction of a piece with an image at most 1e-9 ||J|| (||J|| = max_P ||J_P||_2) is a
    kernel direction: moving a code by t along such a direction moves G(z) by at most
    1e-9 ||J|| t, so `lower` is a lower bound on the true minimum up to that, and to rounding
    and to the pieces' tolerance (`linear_pieces`: a region thinner than 1e-10 is left out;
    G being continuous, a code in it lies within that distance of one in a neighbour's
    closure). ``exact=True`` only when distance - lower <= 1e-9 max(||x||, ||G(z)||); a piece
    whose programme value disagrees with G at its minimiser leaves `lower` below `distance`
    and the result inexact, never wrong.

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
    x, max_faces, pieces = _checked_inputs(G, x, s, max_pieces, max_faces, pieces)
    if pieces.complete:
        result = _exact(G, x, pieces, max_faces)
        if result is not None:
            return result
    return _fallback(G, x, s, rng, len(pieces) if pieces.complete else -1)


def _checked_inputs(G, x, s: int, max_pieces, max_faces, pieces) -> tuple:
    """x, max_faces and the pieces (enumerated here if not given) of the arguments, checked."""
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
    return x, max_faces, pieces


def _exact(G, x, pieces: Pieces, max_faces: int) -> BestApproximation | None:
    J, C = pieces.jacobians, pieces.offsets
    U, S, Vt, tol, u_ls, ls = _reduced_pieces(J, x[None, :] - C)
    order = np.argsort(ls, kind="stable")
    best_val, best_z, solved = np.inf, None, 0
    lower = np.inf  # the least model value of the pieces visited
    for P in order:
        if ls[P] >= best_val:
            lower = min(lower, float(ls[P]))  # every piece left has ls >= this
            break
        z = pieces.codes(P, u_ls[P], G.k)
        if _pattern(G, z) == pieces.patterns[P]:
            value, u = float(ls[P]), u_ls[P]
        else:
            solved += 1
            found = _piece_minimum(U[P], S[P], Vt[P], tol, C[P], x, pieces.points[P],
                                   pieces.rays[P], max_faces)  # fmt: skip
            if found is None:
                return None
            value, u = found
        lower = min(lower, value)
        z = pieces.codes(P, u, G.k)
        attained = float(np.linalg.norm(G(z) - x))  # the candidate, evaluated with G itself
        if attained < best_val:
            best_val, best_z = attained, z
    lower = min(lower, best_val)
    scale = max(float(np.linalg.norm(x)), float(np.linalg.norm(G(best_z))))
    return BestApproximation(
        z=best_z,
        distance=best_val,
        exact=bool(best_val - lower <= EXACT_RTOL * scale),
        lower=lower,
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
