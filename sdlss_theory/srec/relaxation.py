"""Linear pieces, the piece-pair relaxation, and the exact refinement over difference cones.

* `linear_piece`, `piece_pair_relaxation`: the affine map of G on the piece of a code, and
  sigma_min of A on the span of two pieces' differences (a lower bound for those two pieces).
* Private, for `srec_bounds`: the generators of the difference cone of a pair of enumerated
  pieces (`_PairCones`), their exact minima (`_refine`, by
  `sdlss_theory.cone_quotient.cone_min_ratio_batch`), and the explicit pairs witnessing them
  (`_pair_witness`, `_self_witness`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linprog, nnls
from scipy.spatial import Delaunay, QhullError

from sdlss_theory._validation import as_float_array
from sdlss_theory.cone_quotient import cone_min_ratio_batch, orthonormal_basis
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.srec._common import _check_generator, _check_matrix, _check_pair

# Two vertices of two pieces closer than this (relative to their size) are one point.
_SAME_POINT = 1e-9


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


# ----------------------------------------------------------------------------- cone refinement
def _smin_explicit(A: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray]:
    """sigma_min of A on span(X) and a unit minimiser d, by SVD (0 when dim span > m)."""
    Q = orthonormal_basis(X)
    if Q.shape[1] == 0:
        return np.inf, np.zeros(X.shape[0])
    _, sv, Vt = np.linalg.svd(A @ Q, full_matrices=True)
    if Q.shape[1] > A.shape[0]:
        return 0.0, Q @ Vt[-1]
    return float(sv[-1]), Q @ Vt[-1]


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
        self._zrays = pieces.rays
        self._splits: dict[int, np.ndarray | None] = {}

    def simplices(self, i: int) -> np.ndarray | None:
        """Index sets (rows) of `simplicial_split` of piece i's directions, cached."""
        if i not in self._splits:
            self._splits[i] = simplicial_split(self._zrays[i]) if self.n_rays[i] else None
        return self._splits[i]

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


def simplicial_split(R: np.ndarray) -> np.ndarray | None:
    """Index sets of rays whose cones cover the pointed cone generated by the rows of R.

    With at most s rays (R is (r, s)) the cone is already simplicial: one set of all of them.
    Otherwise the rays are cut by a hyperplane <w, x> = 1 that every ray crosses (w the mean
    unit ray, or found by a linear program) and the cut polytope is triangulated (Delaunay,
    on the rays only): each simplex gives s rays whose cone is a part of cone(R), and the
    parts cover it. None when no such
    hyperplane is found or the rays do not span R^s (the caller keeps the whole cone).
    """
    r, s = R.shape
    if r <= s:
        return np.arange(r)[None, :]
    if s < 2:
        return None
    U = R / np.linalg.norm(R, axis=1, keepdims=True)
    w = U.mean(axis=0)
    if (U @ w).min() <= 1e-9 * np.linalg.norm(w):
        # The mean ray does not cut every ray: find w with U w >= t for the largest t in a box
        # (a linear program); t > 0 exactly when the cone is pointed.
        res = linprog(np.r_[np.zeros(s), -1.0], A_ub=np.c_[-U, np.ones(len(U))],
                      b_ub=np.zeros(len(U)), bounds=[(-1, 1)] * s + [(None, 1)])  # fmt: skip
        if res.status != 0 or -res.fun <= 1e-9:
            return None
        w = res.x[:s]
    h = U @ w
    basis = np.linalg.svd(w[None, :])[2][1:].T  # (s, s - 1): a basis of w's complement
    flat = (U / h[:, None]) @ basis
    if s == 2:  # a segment: its two ends
        return np.array([[int(np.argmin(flat[:, 0])), int(np.argmax(flat[:, 0]))]])
    try:
        return Delaunay(flat).simplices
    except QhullError:
        return None


def _split_minima(cones: _PairCones, A, P, Q, max_generators: int, max_size: int):
    """Exact minima of pairs' difference cones through the parts of their pieces.

    Both pieces of a pair are one point plus a cone of directions (a cone without biases),
    so the difference set is p - q + cone(J_P R_P) - cone(J_Q R_Q), and the union over the
    parts of `simplicial_split` of both cones is the same set: the least of the parts'
    minima is the pair's minimum, each part with 1 + 2s generators, all parts of all pairs
    in one batch. Returns (positions in P, lower, value, coef list over each pair's
    generators in `_pair_kinds` order) for the pairs whose pieces could be split.
    """
    done, parts, owner = [], [], []
    for i, (p, q) in enumerate(zip(P.tolist(), Q.tolist(), strict=True)):
        tp, tq = cones.simplices(p), cones.simplices(q)
        if tp is None or tq is None or 1 + tp.shape[1] + tq.shape[1] > max_generators:
            continue
        done.append(i)
        parts.append((p, q, np.repeat(tp, len(tq), axis=0), np.tile(tq, (len(tp), 1))))
        owner.append(np.full(len(tp) * len(tq), len(done) - 1))
    if not done:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), []
    # One batch per shape of the parts (the number of rays of each side).
    shapes: dict[tuple[int, int], list[int]] = {}
    for j, (_, _, a, b) in enumerate(parts):
        shapes.setdefault((a.shape[1], b.shape[1]), []).append(j)
    lo_all = np.full(len(done), np.inf)
    val_all = np.full(len(done), np.inf)
    coef_all: list = [None] * len(done)
    for js in shapes.values():
        Xs, AXs = [], []
        for j in js:
            p, q, a, b = parts[j]
            # Apexes equal up to rounding are one point: no difference (as in `groups`).
            same = np.abs(cones.pts[p, 0] - cones.pts[q, 0]).max() <= _SAME_POINT * max(
                np.abs(cones.pts[p, 0]).max(), np.abs(cones.pts[q, 0]).max()
            )
            for pts, rays, out in ((cones.pts, cones.rays, Xs), (cones.apts, cones.arays, AXs)):
                d = np.zeros_like(pts[p, 0]) if same else pts[p, 0] - pts[q, 0]
                cols = [np.broadcast_to(d, (len(a), 1, d.size)), rays[p][a], -rays[q][b]]
                out.append(np.concatenate(cols, axis=1).transpose(0, 2, 1))
        lo, val, coef = cone_min_ratio_batch(
            A, np.concatenate(Xs), np.concatenate(AXs), max_size=max_size
        )
        start = 0
        for j in js:
            p, q, a, b = parts[j]
            stop = start + len(a)
            best = start + int(np.argmin(val[start:stop]))
            rp = int(cones.n_rays[p])
            full = np.zeros(1 + rp + int(cones.n_rays[q]))
            full[0] = coef[best, 0]
            full[1 + a[best - start]] = coef[best, 1 : 1 + a.shape[1]]
            full[1 + rp + b[best - start]] = coef[best, 1 + a.shape[1] :]
            lo_all[j], val_all[j], coef_all[j] = float(lo[start:stop].min()), val[best], full
            start = stop
    return np.asarray(done), lo_all, val_all, coef_all


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
            left = []
            for i, Xb in zip(pos, X, strict=True):
                found = _span_minimiser_in_cone(A, Xb)
                if found is not None:
                    lower[i] = value[i] = found[0]
                    coefs[i] = found[1]
                else:
                    left.append(i)
            single = cones.n_pts[P[pos[0]]] == 1 and cones.n_pts[Q[pos[0]]] == 1
            if left and single:
                left = np.asarray(left)
                at, lo, val, coef = _split_minima(
                    cones, A, P[left], Q[left], max_generators, max_size
                )
                lower[left[at]], value[left[at]] = lo, val
                for i, c in zip(left[at], coef, strict=True):
                    coefs[i] = c
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


def _refine_batch(cones: _PairCones, A, P, Q, span, max_generators: int, rank: int):
    """Lower bounds, witness values and cone coefficients of one batch of piece pairs."""
    same = P == Q  # a piece with itself: its differences fill range(J_P), span is exact
    lo = span.copy()
    val = np.where(same, span, np.inf)
    coefs: list = [None] * P.size
    other = np.flatnonzero(~same)
    if other.size:
        rlo, rval, rcoef = _refine(cones, A, P[other], Q[other], max_generators, rank)
        lo[other] = np.maximum(np.where(np.isfinite(rlo), rlo, lo[other]), lo[other])
        val[other] = rval
        for i, c in zip(other, rcoef, strict=True):
            coefs[i] = c
    return lo, val, coefs
