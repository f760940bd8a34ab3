"""Kernels of the latent recovery pipeline: Gauss-Newton on a support, greedy seeds, swaps.

The objective is f(z) = ||y - F(z)||^2 on a packed network F (``network.py``). Every
function here works on one row z of shape (k,) at a time, with the forward workspaces of
one row (``workspace_size(1, dims)`` floats), except `one_sparse_fits`, which pushes all
2k signed unit vectors through the network as one batch (GEMMs).

- `gauss_newton`: on the support S of z, d = argmin ||y - F(z) - J_S d|| (the Gauss-Newton
  step of the restricted problem, by least squares), then z_S <- z_S + t d with t halved
  until f decreases; optionally the negation check f(-z) < f(z) after each step.
- `grow`: orthogonal-matching-pursuit growth of a support: add the coordinate with the
  largest |gradient| outside it, then Gauss-Newton on the grown support.
- `beam_growth`: beam search over growth: the best ``width`` partial supports kept at each
  size, each expanded by its ``expand`` best coordinates (linearised fit) refitted by
  Gauss-Newton.
- `htp_step`: one latent hard-thresholding-pursuit step: a normalised gradient step,
  P_s, then Gauss-Newton on the new support.
- `swap_search`: local search over supports: at z, the linearised residual of every
  one-element swap (drop j in S, add l outside it) is ranked by least squares on the
  Jacobian columns (Schur complements of the Gram matrix, `_added_fit_parts`; no network
  pass), the best ``n_screen`` swaps are refitted by
  Gauss-Newton on the true objective, and the best improving one is taken; repeated until
  no swap improves.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit, register_warm_up
from sdlss_theory._kernels.network import (
    RELU,
    SIGMOID,
    TANH,
    backward,
    forward,
    layer_output,
    layer_weight,
    pack_network,
    workspace_size,
)
from sdlss_theory._kernels.threshold import hard_threshold_rows

# Line-search halvings of a Gauss-Newton or gradient step before giving up.
MAX_HALVINGS = 10


@jit
def _derivative(out, code):
    if code == RELU:
        return 1.0 if out > 0.0 else 0.0
    if code == SIGMOID:
        return out * (1.0 - out)
    if code == TANH:
        return 1.0 - out * out
    return 1.0


@jit
def jacobian_columns(flat, w_off, dims, codes, H, cols):
    """The columns ``cols`` of J_F(z), shape (m, len(cols)), with H the forward pass of z."""
    n_layers = dims.shape[0] - 1
    W0 = layer_weight(flat, w_off, dims, 0)
    t = np.empty((dims[1], cols.shape[0]))
    for c in range(cols.shape[0]):
        t[:, c] = W0[:, cols[c]]
    for i in range(n_layers):
        if i > 0:
            t = np.dot(layer_weight(flat, w_off, dims, i), t)
        out = layer_output(H, 1, dims, i)[0]
        if codes[i] != 0:
            for a in range(dims[i + 1]):
                d = _derivative(out[a], codes[i])
                if d != 1.0:
                    t[a, :] *= d
    return t


@jit
def objective(flat, w_off, b_off, dims, codes, y, z, H):
    """f(z) = ||y - F(z)||^2, leaving the forward pass of z in H."""
    F = forward(flat, w_off, b_off, dims, codes, z.reshape((1, -1)), H)
    return np.sum((y - F[0]) ** 2)


# Relative ridge of the normal equations of a least-squares solve (see `least_squares`).
LSQ_RIDGE = 1e-13


@jit
def least_squares(J, r):
    """argmin_d ||r - J d|| by the normal equations (J^T J + eps I) d = J^T r.

    eps = LSQ_RIDGE * trace(J^T J) / cols: a relative ridge that leaves well-determined
    directions alone and keeps d finite (near the minimum-norm solution) where J is rank
    deficient (dead ReLUs zero whole columns). For the small tall J of a support (m x s)
    this is 10-25x faster than LAPACK's SVD-based gelsd (np.linalg.lstsq); the squared
    condition number is harmless here because every step is checked on the true objective
    (line search) and Gauss-Newton iterates to the fit.
    """
    M = np.dot(J.T, J)
    c = np.dot(J.T, r)
    n = M.shape[0]
    ridge = LSQ_RIDGE * max(np.trace(M) / max(n, 1), 1e-300)
    for p in range(n):
        M[p, p] += ridge
    return np.linalg.solve(M, c)


@jit
def gauss_newton(flat, w_off, b_off, dims, codes, y, z, n_steps, negate, tol, H, Hc, stall=1.0):
    """Gauss-Newton with backtracking on the support of z (in place); returns (f, steps).

    Stops after ``n_steps`` accepted steps, when a step is at most tol ||z||, when no step
    length in MAX_HALVINGS halvings lowers f, or when an accepted step (and its negation
    check) leaves f above ``stall`` times its previous value (``stall`` = 1: never).
    H holds the forward pass of the final z on return.
    """
    f = objective(flat, w_off, b_off, dims, codes, y, z, H)
    y_sq = np.sum(y * y)
    n_done = 0
    cand = np.empty_like(z)
    for _ in range(n_steps):
        if f <= 1e-30 * y_sq:
            break
        S = np.flatnonzero(z)
        if S.shape[0] == 0:
            break
        m = dims[-1]
        F = layer_output(H, 1, dims, dims.shape[0] - 2)[0]
        J = jacobian_columns(flat, w_off, dims, codes, H, S)
        r = np.empty(m)
        for i in range(m):
            r[i] = y[i] - F[i]
        d = least_squares(J, r)
        t = 1.0
        accepted = False
        fc = f
        for _ in range(MAX_HALVINGS):
            cand[:] = z
            for c in range(S.shape[0]):
                cand[S[c]] += t * d[c]
            fc = objective(flat, w_off, b_off, dims, codes, y, cand, Hc)
            if np.isfinite(fc) and fc < f:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        change = t * np.sqrt(np.sum(d * d))
        f_before = f
        z[:] = cand
        H[:] = Hc
        f = fc
        n_done += 1
        if negate:
            cand[:] = -z
            fn = objective(flat, w_off, b_off, dims, codes, y, cand, Hc)
            if fn < f:
                z[:] = cand
                H[:] = Hc
                f = fn
        if f > stall * f_before or change <= tol * max(np.sqrt(np.sum(z * z)), 1e-300):
            break
    return f, n_done


@jit
def one_sparse_fits(flat, w_off, b_off, dims, codes, y):
    """Best fits t * sign * e_j, t >= 0, of every signed unit vector: (Z, f), 2k rows.

    For a bias-free ReLU network F(t v) = t F(v) for t >= 0, so the best t is
    max(<y, F(v)>, 0) / ||F(v)||^2 in closed form; otherwise this is the same formula
    read as one Gauss-Newton step from 0 along v (exact for homogeneous F).
    """
    k = dims[0]
    E = np.zeros((2 * k, k))
    for j in range(k):
        E[j, j] = 1.0
        E[k + j, j] = -1.0
    H = np.empty(workspace_size(2 * k, dims))
    V = forward(flat, w_off, b_off, dims, codes, E, H)
    Z = np.zeros((2 * k, k))
    f = np.empty(2 * k)
    y_sq = np.sum(y * y)
    for i in range(2 * k):
        ip = np.dot(V[i], y)
        nv = np.dot(V[i], V[i])
        t = ip / nv if (ip > 0.0 and nv > 0.0) else 0.0
        Z[i] = t * E[i]
        f[i] = y_sq - t * ip
    return Z, f


@jit
def _linearisation(flat, w_off, dims, codes, H, y, z):
    """The linearisation of F at z (H: its forward pass): (J, b, M, c).

    J = J_F(z) (all k columns), b = y - F(z) + J z, and the normal equations
    M = J^T J + eps I, c = J^T b of the linearised fits min_u ||b - J_T u|| on supports T
    (eps = 1e-12 trace(J^T J) / k keeps M_TT invertible where dead ReLUs zero columns).
    """
    k = z.shape[0]
    F = layer_output(H, 1, dims, dims.shape[0] - 2)[0]
    J = jacobian_columns(flat, w_off, dims, codes, H, np.arange(k))
    b = y - F + np.dot(J, z)
    M = np.dot(J.T, J)
    ridge = 1e-12 * max(np.trace(M) / k, 1e-300)
    for p in range(k):
        M[p, p] += ridge
    return J, b, M, np.dot(J.T, b)


@jit
def _linear_fit_score(M, cvec, T):
    """(-c_T^T u, u) with M_TT u = c_T: the linearised fit on T up to the constant ||b||^2.

    At the least-squares solution ||b - J_T u||^2 = ||b||^2 - c_T^T u, so lower is better.
    """
    n_t = T.shape[0]
    MT = np.empty((n_t, n_t))
    cT = np.empty(n_t)
    for p in range(n_t):
        cT[p] = cvec[T[p]]
        for q in range(n_t):
            MT[p, q] = M[T[p], T[q]]
    u = np.linalg.solve(MT, cT)
    return -np.dot(cT, u), u


@jit
def _added_fit_parts(M, cvec, R, cands):
    """What adding the columns O = cands to a kept set R does to the linearised fit.

    Returns the Schur-complement parts (base, q, C): base = c_R^T M_RR^{-1} c_R,
    q = c_O - M_OR M_RR^{-1} c_R and C = M_OO - M_OR M_RR^{-1} M_RO, so that the fit on
    T = R + L (L a subset of O) is
    ``-(base + q_L^T C_LL^{-1} q_L)`` (`_linear_fit_score`'s value). One solve with M_RR for
    all of cands, instead of one |T| x |T| solve per candidate T.
    """
    n_r, n_o = R.shape[0], cands.shape[0]
    q = np.empty(n_o)
    C = np.empty((n_o, n_o))
    for a in range(n_o):
        q[a] = cvec[cands[a]]
        for b in range(n_o):
            C[a, b] = M[cands[a], cands[b]]
    if n_r == 0:
        return 0.0, q, C
    MRR = np.empty((n_r, n_r))
    rhs = np.empty((n_r, n_o + 1))
    for p in range(n_r):
        rhs[p, 0] = cvec[R[p]]
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
def _single_add_scores(M, cvec, R, cands, out):
    """out[a] = `_linear_fit_score` of R + {cands[a]}, for every a (one solve in all)."""
    base, q, C = _added_fit_parts(M, cvec, R, cands)
    for a in range(cands.shape[0]):
        # C_aa >= the ridge of M in exact arithmetic; the floor guards against rounding.
        out[a] = -(base + q[a] * q[a] / max(C[a, a], 1e-12 * M[cands[a], cands[a]], 1e-300))


@jit
def _zobrist_keys(k):
    """Pseudo-random 64-bit keys, one per coordinate (splitmix64); a support's key is their XOR.

    Two supports share a key with probability about 2^-64, so a set of keys finds repeated
    supports in O(1) each (a repeat only skips a refit).
    """
    keys = np.empty(k, dtype=np.uint64)
    x = np.uint64(0)
    for j in range(k):
        x += np.uint64(0x9E3779B97F4A7C15)
        v = x
        v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        keys[j] = v ^ (v >> np.uint64(31))
    return keys


@jit
def beam_growth(
    flat, w_off, b_off, dims, codes, y, Z0, s, width, expand, gn_steps, negate, tol, stall=1.0
):
    """Beam search over growth: the ``width`` best partial supports kept at every size.

    Starts from the rows of Z0 (distinct supports of one size, best first). At each size,
    every beam row z (support S) ranks each l outside S by its linearised fit on
    S + {l} (Gram matrix of J = J_F(z), no network pass), and its ``expand`` best are
    refitted by Gauss-Newton from that fit; the refits (distinct supports, none that lost a
    coordinate) are ranked by their residual and the ``width`` best form the next beam.
    Returns (Z, f): the final beam (s non-zeros per row where growth reached s), best first.
    """
    k = Z0.shape[1]
    H = np.empty(workspace_size(1, dims))
    Hc = np.empty(workspace_size(1, dims))
    keys = _zobrist_keys(k)
    n_beam = min(width, Z0.shape[0])
    beam = Z0[:n_beam].copy()
    fb = np.empty(n_beam)
    for r in range(n_beam):
        fb[r] = objective(flat, w_off, b_off, dims, codes, y, beam[r], H)
    size = np.count_nonzero(beam[0])
    cand = np.empty(k)
    while size < s:
        n_max = n_beam * expand
        C = np.zeros((n_max, k))
        seen = set()  # Zobrist keys of the supports refitted at this size
        fC = np.empty(n_max)
        n_c = 0
        T = np.empty(size + 1, dtype=np.int64)
        for r in range(n_beam):
            z = beam[r]
            objective(flat, w_off, b_off, dims, codes, y, z, H)
            S = np.flatnonzero(z)
            outside = np.flatnonzero(z == 0.0)
            if S.shape[0] != size or outside.shape[0] == 0:
                continue
            _, _, M, cvec = _linearisation(flat, w_off, dims, codes, H, y, z)
            T[:size] = S
            scores = np.empty(outside.shape[0])
            _single_add_scores(M, cvec, S, outside, scores)
            order = np.argsort(scores)
            for q in range(min(expand, outside.shape[0])):
                T[size] = outside[order[q]]
                key = np.uint64(0)
                for p in range(size + 1):
                    key ^= keys[T[p]]
                if key in seen:
                    continue
                seen.add(key)
                u = _linear_fit_score(M, cvec, T)[1]
                cand[:] = 0.0
                for p in range(size + 1):
                    cand[T[p]] = u[p] if u[p] != 0.0 else 1e-12
                fc, _ = gauss_newton(
                    flat, w_off, b_off, dims, codes, y, cand, gn_steps, negate, tol, H, Hc, stall
                )
                if np.count_nonzero(cand) != size + 1:
                    continue
                C[n_c] = cand
                fC[n_c] = fc
                n_c += 1
        if n_c == 0:
            break
        order = np.argsort(fC[:n_c])
        n_beam = min(width, n_c)
        beam = np.empty((n_beam, k))
        fb = np.empty(n_beam)
        for r in range(n_beam):
            beam[r] = C[order[r]]
            fb[r] = fC[order[r]]
        size += 1
    return beam, fb


@jit
def grow(
    flat, w_off, b_off, dims, codes, y, z, s, gn_steps, negate, tol, grow_try, H, Hc, stall=1.0
):
    """Growth of z's support to s entries, one coordinate at a time, refitting each time.

    ``grow_try`` = 0: OMP, the coordinate of largest |gradient| joins, then Gauss-Newton.
    ``grow_try`` = q > 0: every candidate l outside S is ranked by its linearised fit on
    S + {l} (Gram matrix of J = J_F(z), no network pass), and the q best are refitted by
    Gauss-Newton from that fit; the best refit is kept (an OLS-style step).
    """
    k = z.shape[0]
    f = objective(flat, w_off, b_off, dims, codes, y, z, H)
    g = np.empty((1, k))
    work = np.empty(2 * np.max(dims))
    best_z = np.empty(k)
    cand = np.empty(k)
    Hb = np.empty_like(H)
    while np.count_nonzero(z) < s:
        F = layer_output(H, 1, dims, dims.shape[0] - 2)
        if grow_try == 0:
            backward(flat, w_off, dims, codes, H, y.reshape((1, -1)) - F, g, work)
            best, best_j = -1.0, -1
            for j in range(k):
                if z[j] == 0.0 and abs(g[0, j]) > best:
                    best, best_j = abs(g[0, j]), j
            scale = max(np.sqrt(np.sum(z * z)), 1.0)
            z[best_j] = 1e-3 * scale * (1.0 if g[0, best_j] >= 0.0 else -1.0)
            f, _ = gauss_newton(
                flat, w_off, b_off, dims, codes, y, z, gn_steps, negate, tol, H, Hc, stall
            )
            continue
        _, _, M, cvec = _linearisation(flat, w_off, dims, codes, H, y, z)
        S = np.flatnonzero(z)
        outside = np.flatnonzero(z == 0.0)
        T = np.empty(S.shape[0] + 1, dtype=np.int64)
        T[: S.shape[0]] = S
        scores = np.empty(outside.shape[0])
        _single_add_scores(M, cvec, S, outside, scores)
        order = np.argsort(scores)
        best_f = np.inf
        for q in range(min(grow_try, outside.shape[0])):
            T[-1] = outside[order[q]]
            u = _linear_fit_score(M, cvec, T)[1]
            cand[:] = 0.0
            for p in range(T.shape[0]):
                cand[T[p]] = u[p]
            if cand[T[-1]] == 0.0:
                cand[T[-1]] = 1e-12
            fc, _ = gauss_newton(
                flat, w_off, b_off, dims, codes, y, cand, gn_steps, negate, tol, Hb, Hc, stall
            )
            if fc < best_f and np.count_nonzero(cand) == T.shape[0]:
                best_f = fc
                best_z[:] = cand
        if best_f == np.inf:
            # Every refit lost a coordinate: fall back to the best-ranked linear fit.
            T[-1] = outside[order[0]]
            z[T[-1]] = 1e-12
        else:
            z[:] = best_z
        f = objective(flat, w_off, b_off, dims, codes, y, z, H)
    return f


@jit
def htp_step(flat, w_off, b_off, dims, codes, y, z, s, f, gn_steps, negate, tol, H, Hc, stall=1.0):
    """One latent HTP step from z (in place): normalised gradient step, P_s, Gauss-Newton.

    Returns (f, support_changed). The step mu = ||g_Gamma||^2 / ||J g_Gamma||^2 (Gamma:
    the support grown to s by |g|) is halved until f decreases; if it never does, z stays.
    """
    k = z.shape[0]
    g = np.empty((1, k))
    work = np.empty(2 * np.max(dims))
    F = layer_output(H, 1, dims, dims.shape[0] - 2)
    backward(flat, w_off, dims, codes, H, y.reshape((1, -1)) - F, g, work)
    score = np.abs(g[0]) + 1.0
    top = np.max(score) + 1.0
    for j in range(k):
        if z[j] != 0.0:
            score[j] = top
    gamma = hard_threshold_rows(score.reshape((1, -1)), s, np.empty((1, k)))[0] != 0.0
    cols = np.flatnonzero(gamma)
    J = jacobian_columns(flat, w_off, dims, codes, H, cols)
    g_sup = np.empty(cols.shape[0])
    for c in range(cols.shape[0]):
        g_sup[c] = g[0, cols[c]]
    num = np.sum(g_sup * g_sup)
    den = np.sum(np.dot(J, g_sup) ** 2)
    if num == 0.0 or den == 0.0:
        return f, False
    mu = num / den
    cand = np.empty((1, k))
    for _ in range(MAX_HALVINGS):
        cand[0] = z + mu * g[0]
        hard_threshold_rows(cand, s, cand)
        fc = objective(flat, w_off, b_off, dims, codes, y, cand[0], Hc)
        if np.isfinite(fc) and fc < f:
            changed = False
            for j in range(k):
                if (cand[0, j] != 0.0) != (z[j] != 0.0):
                    changed = True
            z[:] = cand[0]
            fn, _ = gauss_newton(
                flat, w_off, b_off, dims, codes, y, z, gn_steps, negate, tol, H, Hc, stall
            )
            return fn, changed
        mu *= 0.5
    return f, False


@jit
def swap_search(
    flat,
    w_off,
    b_off,
    dims,
    codes,
    y,
    z,
    n_screen,
    n_starts,
    gn_steps,
    max_swaps,
    negate,
    tol,
    fit_sq,
    flips,
    H,
    Hc,
    pair_screen=0,
    stall=1.0,
):
    """Local search over supports of the same size (in place); returns (f, moves taken).

    At z with support S, for every j in S and l outside, the linearised fit on
    T = S - {j} + {l}, min_u ||b - J_T u|| with b = y - F(z) + J_S z_S, ranks the swaps
    (J = J_F(z), one Jacobian per round). The ``n_screen`` best are refitted on the true
    objective by Gauss-Newton from ``n_starts`` (1 to 3) starts each (u; then z with z_j = 0,
    z_l = +c, then -c, c = ||z|| / sqrt(|S|)); the best refit replaces z if it lowers f.
    With ``flips``, the sign-flip moves are tried as well: for each j in S, z_j <- -z_j and
    z_j <- -sign(z_j) c, refitted likewise (the only moves when S is everything, s = k).
    Stops once f <= fit_sq, without refitting the round's remaining candidates.
    """
    k = z.shape[0]
    y_sq = np.sum(y * y)
    f = objective(flat, w_off, b_off, dims, codes, y, z, H)
    n_swaps = 0
    best_z = np.empty(k)
    cand = np.empty(k)
    Hb = np.empty_like(H)
    for _ in range(max_swaps):
        if f <= max(fit_sq, 1e-30 * y_sq):
            break
        S = np.flatnonzero(z)
        n_s = S.shape[0]
        if n_s == 0 or (n_s == k and not flips):
            break
        outside = np.flatnonzero(z == 0.0)
        n_o = outside.shape[0]
        # Linearised fits on the Gram matrix: no network pass per swap, and one solve per
        # dropped j for all the l (Schur complements, `_added_fit_parts`).
        J, b, M, cvec = _linearisation(flat, w_off, dims, codes, H, y, z)
        n_cand = n_s * n_o
        scores = np.empty(n_cand)
        R = np.empty(n_s - 1, dtype=np.int64)
        for a in range(n_s):
            c = 0
            for a2 in range(n_s):
                if a2 != a:
                    R[c] = S[a2]
                    c += 1
            _single_add_scores(M, cvec, R, outside, scores[a * n_o : (a + 1) * n_o])
        order = np.argsort(scores)
        best_f = f
        norm_z = np.sqrt(np.sum(z * z))
        # A refit that fits y to fit_sq ends the round (and the search) at once.
        fitted = False
        if flips:
            for a in range(n_s):
                if fitted:
                    break
                j = S[a]
                for start in range(2):
                    cand[:] = z
                    if start == 0:
                        cand[j] = -z[j]
                    else:
                        cand[j] = (-1.0 if z[j] > 0.0 else 1.0) * norm_z / np.sqrt(n_s)
                    fc, _ = gauss_newton(
                        flat,
                        w_off,
                        b_off,
                        dims,
                        codes,
                        y,
                        cand,
                        gn_steps,
                        negate,
                        tol,
                        Hb,
                        Hc,
                        stall,
                    )
                    if fc < best_f:
                        best_f = fc
                        best_z[:] = cand
                        if fc <= fit_sq:
                            fitted = True
                            break
        T = np.empty(n_s, dtype=np.int64)
        for q in range(min(n_screen, n_cand)):
            if fitted:
                break
            a = order[q] // n_o
            j, l_new = S[a], outside[order[q] % n_o]
            for start in range(n_starts):
                if start == 0:
                    c = 0
                    for a2 in range(n_s):
                        if a2 != a:
                            T[c] = S[a2]
                            c += 1
                    T[c] = l_new
                    u = _linear_fit_score(M, cvec, T)[1]
                    cand[:] = 0.0
                    for p in range(n_s):
                        cand[T[p]] = u[p]
                else:
                    cand[:] = z
                    cand[j] = 0.0
                    cand[l_new] = (1.0 if start == 1 else -1.0) * norm_z / np.sqrt(n_s)
                if np.count_nonzero(cand) == 0:
                    continue
                fc, _ = gauss_newton(
                    flat, w_off, b_off, dims, codes, y, cand, gn_steps, negate, tol, Hb, Hc, stall
                )
                if fc < best_f:
                    best_f = fc
                    best_z[:] = cand
                    if fc <= fit_sq:
                        fitted = True
                        break
        if best_f >= f * (1.0 - 1e-9) and not fitted and pair_screen > 0:
            best_f = _pair_moves(
                flat,
                w_off,
                b_off,
                dims,
                codes,
                y,
                S,
                outside,
                M,
                cvec,
                pair_screen,
                gn_steps,
                negate,
                tol,
                fit_sq,
                best_f,
                best_z,
                cand,
                Hb,
                Hc,
                stall,
            )
        if best_f < f * (1.0 - 1e-9):
            z[:] = best_z
            f = objective(flat, w_off, b_off, dims, codes, y, z, H)
            n_swaps += 1
        else:
            break
    return f, n_swaps


@jit
def _pair_moves(
    flat,
    w_off,
    b_off,
    dims,
    codes,
    y,
    S,
    outside,
    M,
    cvec,
    pair_screen,
    gn_steps,
    negate,
    tol,
    fit_sq,
    best_f,
    best_z,
    cand,
    Hb,
    Hc,
    stall=1.0,
):
    """Two-element swaps ranked by the linearised fit; the pair_screen best refitted.

    For each dropped pair {j1, j2} one solve with M_RR (R = S - {j1, j2}) scores every added
    pair {l1, l2} by a 2 x 2 Schur complement (`_added_fit_parts`).
    """
    n_s = S.shape[0]
    n_o = outside.shape[0]
    if n_s < 2 or n_o < 2:
        return best_f
    total = (n_s * (n_s - 1) // 2) * (n_o * (n_o - 1) // 2)
    scores = np.empty(total)
    moves = np.empty((total, 4), dtype=np.int64)
    T = np.empty(n_s, dtype=np.int64)
    R = np.empty(n_s - 2, dtype=np.int64)
    idx = 0
    for a1 in range(n_s):
        for a2 in range(a1 + 1, n_s):
            c = 0
            for a in range(n_s):
                if a != a1 and a != a2:
                    R[c] = S[a]
                    c += 1
            base, qv, C = _added_fit_parts(M, cvec, R, outside)
            for o1 in range(n_o):
                for o2 in range(o1 + 1, n_o):
                    # q_L^T C_LL^{-1} q_L for L = {l1, l2}, the 2 x 2 inverse in closed form.
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
    for q in range(min(pair_screen, total)):
        mv = moves[order[q]]
        _pair_support(S, outside, mv[0], mv[1], mv[2], mv[3], T)
        u = _linear_fit_score(M, cvec, T)[1]
        cand[:] = 0.0
        for p in range(n_s):
            cand[T[p]] = u[p] if u[p] != 0.0 else 1e-12
        fc, _ = gauss_newton(
            flat, w_off, b_off, dims, codes, y, cand, gn_steps, negate, tol, Hb, Hc, stall
        )
        if fc < best_f:
            best_f = fc
            best_z[:] = cand
            if fc <= fit_sq:
                break
    return best_f


@jit
def _pair_support(S, outside, a1, a2, o1, o2, T):
    c = 0
    for a in range(S.shape[0]):
        if a != a1 and a != a2:
            T[c] = S[a]
            c += 1
    T[c] = outside[o1]
    T[c + 1] = outside[o2]


@jit
def support_gradient_norm(flat, w_off, b_off, dims, codes, y, z, H):
    """(||(grad f(z))_S||, ||J_S||_F): the gradient on the support S of z and its scale.

    grad f(z) = 2 J^T (F(z) - y), J = J_F(z).
    """
    k = z.shape[0]
    objective(flat, w_off, b_off, dims, codes, y, z, H)
    F = layer_output(H, 1, dims, dims.shape[0] - 2)
    g = np.empty((1, k))
    backward(flat, w_off, dims, codes, H, F - y.reshape((1, -1)), g, np.empty(2 * np.max(dims)))
    total = 0.0
    for j in range(k):
        if z[j] != 0.0:
            total += g[0, j] ** 2
    S = np.flatnonzero(z)
    scale = 0.0
    if S.shape[0] > 0:
        scale = np.sqrt(np.sum(jacobian_columns(flat, w_off, dims, codes, H, S) ** 2))
    return 2.0 * np.sqrt(total), scale


@jit
def _refine_row(
    flat,
    w_off,
    b_off,
    dims,
    codes,
    y,
    z,
    s,
    gn_steps,
    htp_iters,
    negate,
    tol,
    fit_sq,
    grow_try,
    H,
    Hc,
    changes,
    steps,
    r,
    stall=1.0,
):
    """Phase 1 of one row (in place): growth to s, Gauss-Newton, up to htp_iters HTP steps."""
    if np.count_nonzero(z) < s:
        grow(
            flat, w_off, b_off, dims, codes, y, z, s, gn_steps, negate, tol, grow_try, H, Hc, stall
        )
    f, n_gn = gauss_newton(
        flat, w_off, b_off, dims, codes, y, z, gn_steps, negate, tol, H, Hc, stall
    )
    steps[r] += n_gn
    for _ in range(htp_iters):
        if f <= fit_sq:
            break
        fn, changed = htp_step(
            flat, w_off, b_off, dims, codes, y, z, s, f, gn_steps, negate, tol, H, Hc, stall
        )
        if changed:
            changes[r] += 1
        steps[r] += 1
        stalled = fn >= f * (1.0 - 1e-12)
        f = fn
        if stalled:
            break
    return f


@jit
def recover_rows(
    flat,
    w_off,
    b_off,
    dims,
    codes,
    y,
    Z,
    s,
    gn_steps,
    htp_iters,
    n_screen,
    swap_starts,
    max_swaps,
    swap_rows,
    negate,
    tol,
    fit_sq,
    flips,
    grow_try,
    group,
    pair_screen=0,
    stall=1.0,
):
    """The pipeline on the rows of Z (in place), ``group`` rows at a time.

    The rows are taken in blocks of ``group`` consecutive rows. In each block, phase 1 on
    every row: a row with fewer than s non-zeros is grown to s (`grow`), then refitted by
    `gauss_newton` and improved by up to ``htp_iters`` `htp_step`s; phase 2: the block's rows
    run `swap_search`, smallest f first, while fewer than ``swap_rows`` searches have run in
    all. Once a row reaches f <= fit_sq, everything stops (rows not reached keep the f of
    their start). ``group`` = 1 is the lazy order (each row's whole pipeline before the next
    row starts), ``group`` >= the number of rows the eager one (phase 1 on all rows first).
    Every row's pipeline is deterministic and independent of the other rows, so any two
    groupings give the same f on every row they both finish; small groups only stop sooner.
    Returns (f, support_changes, steps) per row; steps counts accepted Gauss-Newton, HTP and
    swap steps.
    """
    n_rows, k = Z.shape
    H = np.empty(workspace_size(1, dims))
    Hc = np.empty(workspace_size(1, dims))
    f = np.empty(n_rows)
    changes = np.zeros(n_rows, dtype=np.int64)
    steps = np.zeros(n_rows, dtype=np.int64)
    done = False
    n_searched = 0
    for lo in range(0, n_rows, group):
        hi = min(lo + group, n_rows)
        if done:
            for r in range(lo, hi):
                f[r] = objective(flat, w_off, b_off, dims, codes, y, Z[r], H)
            continue
        for r in range(lo, hi):
            if done:
                f[r] = objective(flat, w_off, b_off, dims, codes, y, Z[r], H)
                continue
            f[r] = _refine_row(
                flat,
                w_off,
                b_off,
                dims,
                codes,
                y,
                Z[r],
                s,
                gn_steps,
                htp_iters,
                negate,
                tol,
                fit_sq,
                grow_try,
                H,
                Hc,
                changes,
                steps,
                r,
                stall,
            )
            done = f[r] <= fit_sq
        if done or max_swaps == 0:
            continue
        order = lo + np.argsort(f[lo:hi])
        for q in range(hi - lo):
            if n_searched >= swap_rows:
                break
            r = order[q]
            f[r], n_sw = swap_search(
                flat,
                w_off,
                b_off,
                dims,
                codes,
                y,
                Z[r],
                n_screen,
                swap_starts,
                gn_steps,
                max_swaps,
                negate,
                tol,
                fit_sq,
                flips,
                H,
                Hc,
                pair_screen,
                stall,
            )
            n_searched += 1
            changes[r] += n_sw
            steps[r] += n_sw
            if f[r] <= fit_sq:
                done = True
                break
    return f, changes, steps


@register_warm_up
def _warm_up() -> None:
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((5, 4)), rng.standard_normal((3, 5))]
    packed = pack_network(weights, [np.zeros(5), np.zeros(3)], [RELU, 0])
    y = rng.standard_normal(3)
    Z, _ = one_sparse_fits(*packed, y)
    for group in (1, 2):
        recover_rows(
            *packed, y, Z[:2].copy(), 2, 3, 1, 2, 3, 2, 2, True, 1e-9, 0.0, True, 2, group, 2, 0.5
        )
    support_gradient_norm(*packed, y, Z[0].copy(), np.empty(workspace_size(1, packed[3])))
    beam_growth(*packed, y, Z[:2].copy(), 2, 2, 2, 3, True, 1e-9, 0.5)
