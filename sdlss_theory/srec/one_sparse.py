"""The exact S-REC constant at s = 1 without biases: the range is 2k rays (closed form)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.srec._common import (
    _DEGENERATE,
    _check_generator,
    _check_matrix,
    _is_bias_free,
)


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
        pair = _best_ray_pair(U, AU, A, iu, jv)
        if pair is not None and pair[0] < best:
            val, i, j, a, b = pair
            best = val
            z1, z2 = a / norms[live[i]] * Z[live[i]], b / norms[live[j]] * Z[live[j]]
    return RayPairResult(best, z1.copy(), z2.copy())


def _best_ray_pair(U, AU, A, iu, jv):
    """The smallest interior minimum over the ray pairs (iu, jv) of unit rays U.

    Returns (value, i, j, a, b) with a U_i - b U_j attaining it (a, b >= 0), or None when
    no pair has its minimising direction inside its quadrant.
    """
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
    if not np.any(inside):
        return None
    vals = np.sqrt(lam[inside])
    j = int(np.argmin(vals))
    p = np.flatnonzero(inside)[j]
    sgn = 1.0 if a[p] + b[p] >= 0 else -1.0
    return float(vals[j]), int(iu[p]), int(jv[p]), sgn * a[p], sgn * b[p]
