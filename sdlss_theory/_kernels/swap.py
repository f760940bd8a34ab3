"""Kernels of the swap stage: local search over supports of one size, ranked by linearisation.

At z with support S, the linearisation of F at z, F(z + u) ~ F(z) + J u (J = J_F(z), one
Jacobian per round), scores a support T by the linearised fit
``min_u ||b - J_T u||^2 = ||b||^2 - c_T^T M_TT^{-1} c_T`` with b = y - F(z) + J z,
M = J^T J (+ a relative ridge) and c = J^T b: no network pass per candidate. For each
kept set R, one solve with M_RR scores every added column (a 1 x 1 Schur complement) or
pair of columns (2 x 2), `_added_fit_parts`. The best-ranked moves are refitted by
Gauss-Newton on the true objective (`gauss_newton`); the best refit replaces z if it lowers
f. Moves, in the order tried each round:

- flips (``Swaps.flips``): for each j in S, z_j <- -z_j and z_j <- -sign(z_j) c,
  c = ||z|| / sqrt(|S|) (the only moves when S is every coordinate);
- one-element swaps T = S - {j} + {l}: the ``screen`` best, each refitted from three starts
  (the linear fit u; z with z_j = 0 and z_l = +c; then -c);
- two-element swaps T = S - {j1, j2} + {l1, l2}, only where no move above lowered f: the
  ``pairs`` best, refitted from their linear fit.

A round stops at the first refit whose f reaches the fit target; the search stops after
``moves`` accepted moves, at a round that lowers f by less than a relative 1e-9, or once
f reaches the target.
"""

from collections import namedtuple

import numpy as np

from sdlss_theory._kernels._jit import jit
from sdlss_theory._kernels.network import (
    jacobian_columns,
    objective,
    output,
    tiny_network,
)
from sdlss_theory._kernels.refit import Refit, context, gauss_newton

# Relative ridge of the Gram matrix M = J^T J of the linearised fits (keeps M_TT invertible
# where dead ReLUs zero whole columns of J).
GRAM_RIDGE = 1e-12
# A round must lower f by more than this relative amount to be taken.
MIN_GAIN = 1e-9


Swaps = namedtuple("Swaps", ["moves", "screen", "pairs", "flips"])
Swaps.__doc__ = """Settings of the swap stage, as the kernels take them.

``moves`` (int): accepted moves per row at most (0: no swap search); ``screen`` (int):
one-element swaps refitted per round; ``pairs`` (int): two-element swaps refitted per round
where no flip or one-element swap lowers f (0: none); ``flips`` (bool): whether sign flips
are tried.
"""


@jit
def linearisation(ctx, z):
    """(M, c) of the linearised fits at z, with ctx.work.H holding the forward pass of z.

    M = J^T J + eps I (eps = GRAM_RIDGE trace(J^T J) / k) and c = J^T b,
    b = y - F(z) + J z, J = J_F(z) with all k columns.
    """
    k = z.shape[0]
    J = jacobian_columns(ctx.net, ctx.work.H, np.arange(k))
    b = ctx.y - output(ctx.net, ctx.work.H, 1)[0] + np.dot(J, z)
    M = np.dot(J.T, J)
    ridge = GRAM_RIDGE * max(np.trace(M) / k, 1e-300)
    for p in range(k):
        M[p, p] += ridge
    return M, np.dot(J.T, b)


@jit
def linear_fit(M, c, T):
    """(-c_T^T u, u) with M_TT u = c_T: the linearised fit on T up to the constant ||b||^2.

    At the least-squares solution ||b - J_T u||^2 = ||b||^2 - c_T^T u, so lower is better.
    """
    n_t = T.shape[0]
    MT = np.empty((n_t, n_t))
    cT = np.empty(n_t)
    for p in range(n_t):
        cT[p] = c[T[p]]
        for q in range(n_t):
            MT[p, q] = M[T[p], T[q]]
    u = np.linalg.solve(MT, cT)
    return -np.dot(cT, u), u


@jit
def added_fit_parts(M, c, R, cands):
    """What adding columns of ``cands`` to a kept set R does to the linearised fit.

    Returns the Schur-complement parts (base, q, C): base = c_R^T M_RR^{-1} c_R,
    q = c_O - M_OR M_RR^{-1} c_R and C = M_OO - M_OR M_RR^{-1} M_RO (O = cands), so that
    the fit on T = R + L (L a subset of O) is ``-(base + q_L^T C_LL^{-1} q_L)``
    (`linear_fit`'s value). One solve with M_RR serves every candidate.
    """
    n_r, n_o = R.shape[0], cands.shape[0]
    q = np.empty(n_o)
    C = np.empty((n_o, n_o))
    for a in range(n_o):
        q[a] = c[cands[a]]
        for b in range(n_o):
            C[a, b] = M[cands[a], cands[b]]
    if n_r == 0:
        return 0.0, q, C
    MRR = np.empty((n_r, n_r))
    rhs = np.empty((n_r, n_o + 1))
    for p in range(n_r):
        rhs[p, 0] = c[R[p]]
        for p2 in range(n_r):
            MRR[p, p2] = M[R[p], R[p2]]
        for a in range(n_o):
            rhs[p, a + 1] = M[R[p], cands[a]]
    X = np.linalg.solve(MRR, rhs)
    base = 0.0
    for p in range(n_r):
        base += rhs[p, 0] * X[p, 0]
    for a in range(n_o):
        for p in range(n_r):
            q[a] -= rhs[p, a + 1] * X[p, 0]
    C -= np.dot(np.ascontiguousarray(rhs[:, 1:].T), np.ascontiguousarray(X[:, 1:]))
    return base, q, C


@jit
def single_add_scores(M, c, R, cands, out):
    """out[a] = `linear_fit` value of R + {cands[a]}, for every a (one solve in all)."""
    base, q, C = added_fit_parts(M, c, R, cands)
    for a in range(cands.shape[0]):
        # C_aa >= the ridge of M in exact arithmetic; the floor guards against rounding.
        out[a] = -(base + q[a] * q[a] / max(C[a, a], 1e-12 * M[cands[a], cands[a]], 1e-300))


@jit(inline="always")
def _without(S, drop1, drop2, T):
    """T[:n] <- S without its entries at positions drop1 and drop2 (-1: none); returns n."""
    n = 0
    for a in range(S.shape[0]):
        if a != drop1 and a != drop2:
            T[n] = S[a]
            n += 1
    return n


@jit
def _refit(ctx, T):
    """Refit ctx.cand on support T; keep it as the round's best if it lowers f. Fits y?"""
    cand, best_f, work = ctx.cand, ctx.best_f, ctx.work
    nonzero = False  # cand is zero off T: a candidate that is zero on T is skipped
    for p in range(T.shape[0]):
        if cand[T[p]] != 0.0:
            nonzero = True
            break
    if not nonzero:
        return False
    fc, _ = gauss_newton(ctx.net, ctx.y, cand, T, ctx.refit, work.Hb, work.Hc)
    if fc < best_f[0]:
        best_f[0] = fc
        best_z, best_S = ctx.best_z, ctx.best_S
        best_z[:] = cand
        best_S[: T.shape[0]] = T
        return fc <= ctx.fit_sq
    return False


@jit
def _flip_moves(ctx, z, S):
    """For each j in S: z_j <- -z_j, then z_j <- -sign(z_j) c, each refitted. Fits y?"""
    c = np.sqrt(np.sum(z * z)) / np.sqrt(S.shape[0])
    cand = ctx.cand
    for a in range(S.shape[0]):
        j = S[a]
        for start in range(2):
            cand[:] = z
            cand[j] = -z[j] if start == 0 else (-1.0 if z[j] > 0.0 else 1.0) * c
            if _refit(ctx, S):
                return True
    return False


@jit
def _single_moves(ctx, z, S, outside, M, cvec, screen):
    """The ``screen`` best-ranked one-element swaps, three refits each. Fits y?"""
    n_s, n_o = S.shape[0], outside.shape[0]
    scores = np.empty(n_s * n_o)
    R = np.empty(n_s - 1, dtype=np.int64)
    for a in range(n_s):
        _without(S, a, -1, R)
        single_add_scores(M, cvec, R, outside, scores[a * n_o : (a + 1) * n_o])
    order = np.argsort(scores)
    c = np.sqrt(np.sum(z * z)) / np.sqrt(n_s)
    T = np.empty(n_s, dtype=np.int64)
    cand = ctx.cand
    for q in range(min(screen, n_s * n_o)):
        a, l_new = order[q] // n_o, outside[order[q] % n_o]
        T[_without(S, a, -1, T)] = l_new
        T.sort()
        for start in range(3):
            if start == 0:
                u = linear_fit(M, cvec, T)[1]
                cand[:] = 0.0
                for p in range(n_s):
                    cand[T[p]] = u[p]
            else:
                cand[:] = z
                cand[S[a]] = 0.0
                cand[l_new] = (1.0 if start == 1 else -1.0) * c
            if _refit(ctx, T):
                return True
    return False


@jit
def _pair_moves(ctx, S, outside, M, cvec, pairs):
    """The ``pairs`` best-ranked two-element swaps, refitted from their linear fit. Fits y?

    For each dropped pair {j1, j2} one solve with M_RR (R = S - {j1, j2}) scores every
    added pair {l1, l2} by a 2 x 2 Schur complement, inverted in closed form.
    """
    n_s, n_o = S.shape[0], outside.shape[0]
    if n_s < 2 or n_o < 2:
        return False
    total = (n_s * (n_s - 1) // 2) * (n_o * (n_o - 1) // 2)
    scores = np.empty(total)
    moves = np.empty((total, 4), dtype=np.int64)
    R = np.empty(n_s - 2, dtype=np.int64)
    idx = 0
    for a1 in range(n_s):
        for a2 in range(a1 + 1, n_s):
            _without(S, a1, a2, R)
            base, qv, C = added_fit_parts(M, cvec, R, outside)
            for o1 in range(n_o):
                for o2 in range(o1 + 1, n_o):
                    c11, c12, c22 = C[o1, o1], C[o1, o2], C[o2, o2]
                    det = max(c11 * c22 - c12 * c12, 1e-300)
                    gain = c22 * qv[o1] ** 2 - 2.0 * c12 * qv[o1] * qv[o2] + c11 * qv[o2] ** 2
                    scores[idx] = -(base + gain / det)
                    moves[idx, 0] = a1
                    moves[idx, 1] = a2
                    moves[idx, 2] = o1
                    moves[idx, 3] = o2
                    idx += 1
    order = np.argsort(scores)
    T = np.empty(n_s, dtype=np.int64)
    cand = ctx.cand
    for q in range(min(pairs, total)):
        move = moves[order[q]]
        n = _without(S, move[0], move[1], T)
        T[n], T[n + 1] = outside[move[2]], outside[move[3]]
        T.sort()
        u = linear_fit(M, cvec, T)[1]
        cand[:] = 0.0
        for p in range(n_s):
            cand[T[p]] = u[p]
        if _refit(ctx, T):
            return True
    return False


@jit
def swap_search(ctx, z, S, swaps, trace):
    """Local search over supports of the size of S, from z (z and S updated in place).

    Each round ranks and refits the moves of the module docstring and takes the best if it
    lowers f by more than MIN_GAIN relatively. ``trace[i]`` receives f after the i-th
    accepted move. Returns (f, accepted moves); ctx.work.H holds the pass of z.
    """
    # Named tuples unpacked once: their fields read in a loop cost a reload each time.
    net, y, fit_sq, work, best_f, best_z, best_S = (
        ctx.net,
        ctx.y,
        ctx.fit_sq,
        ctx.work,
        ctx.best_f,
        ctx.best_z,
        ctx.best_S,
    )
    moves, screen, pairs, flips = swaps
    k, n_s = z.shape[0], S.shape[0]
    y_sq = np.sum(y * y)
    f = objective(net, y, z, work.H)
    n_moves = 0
    inside = np.zeros(k, dtype=np.bool_)
    for _ in range(moves):
        if f <= max(fit_sq, 1e-30 * y_sq) or n_s == 0 or (n_s == k and not flips):
            break
        inside[:] = False
        for a in range(n_s):
            inside[S[a]] = True
        outside = np.flatnonzero(~inside)
        M, cvec = linearisation(ctx, z)
        best_f[0] = f
        fitted = flips and _flip_moves(ctx, z, S)
        if not fitted and outside.shape[0] > 0:
            fitted = _single_moves(ctx, z, S, outside, M, cvec, screen)
        if not fitted and best_f[0] >= f * (1.0 - MIN_GAIN) and pairs > 0:
            _pair_moves(ctx, S, outside, M, cvec, pairs)
        if best_f[0] < f * (1.0 - MIN_GAIN):
            z[:] = best_z
            S[:] = best_S[:n_s]
            f = objective(net, y, z, work.H)
            trace[n_moves] = f
            n_moves += 1
        else:
            break
    return f, n_moves


def warm_up() -> None:
    """Compile the kernels of this module on a tiny network."""
    net, y = tiny_network()
    ctx = context(net, y, Refit(3, 0.5, True, 1e-9), 0.0)
    swap_search(
        ctx, np.array([1.0, 0, 1.0, 0, 0]), np.array([0, 2]), Swaps(2, 2, 2, True), np.empty(2)
    )
