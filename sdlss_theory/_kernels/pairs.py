"""Kernels of `srec_bounds`'s piece pairs: sigma_min of A on span{J_P, J_Q, c_P - c_Q}.

For a pair of linear pieces P <= Q with Jacobians J_P, J_Q (n x s) and offsets c_P, c_Q, the
columns are X = [J_P, J_Q, c_P - c_Q] (the last only with biases; X = J_P for P = Q) and
the value is the smallest generalised eigenvalue of the pencil (N, D) = (X^T A^T A X, X^T X)
on unit columns, as `sdlss_theory.cone_quotient.subspace_min_ratio` computes it by its
Cholesky route: D = L L^T, lambda_min(L^{-1} N L^{-T}), value sqrt(max(lambda, 0)). The
Gram matrices are formed from dot products: the pieces' own blocks J_P^T J_P and
(A J_P)^T (A J_P) come precomputed, a pair costs its cross blocks only, and the r x r
eigenproblems (r = 2s or 2s + 1) are solved by cyclic Jacobi rotations, without calls into
LAPACK. Where that route does not apply (a column at the rounding level of the largest,
r > m, or lambda_min(D) < ``gram_floor`` lambda_max(D)) the value is NaN and the caller
takes the rank-revealing SVD path for that pair.

`pruned_span_values` first tests, per pair, whether the value exceeds a threshold t
(X^T (A^T A - t'^2 I) X positive definite, t' = t (1 + 5e-8)), by a Schur complement on
blocks precomputed per piece: with K_P = J_P^T M J_P = L_P L_P^T and F_P = L_P^{-1} J_P^T M,
the pair's matrix is definite iff K_Q - (F_P J_Q)^T (F_P J_Q) is (plus one row and column
for c_P - c_Q). That costs s^2 r_W multiply-adds for the cross block (r_W <= n: the
dimension of the span of the Jacobians, where the caller projects them) and an s x s
Cholesky factorisation; only the pairs it cannot place above t are evaluated in full.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit


@jit
def jacobi_eigenvalues(a, r):
    """Eigenvalues of the symmetric leading r x r block of `a`, left on its diagonal.

    Cyclic Jacobi rotations (Numerical Recipes' rotation formulas), until the off-diagonal
    part's Frobenius norm is at most 1e-15 of the diagonal's absolute sum: by Weyl's
    inequality every eigenvalue is then within that of its diagonal entry (the backward
    error of LAPACK's symmetric solvers is of the same order). An entry below 1e-18 of both
    its diagonal entries is set to zero without a rotation. The block is overwritten.
    """
    for _ in range(64):
        off, diag = 0.0, 0.0
        for p in range(r):
            diag += abs(a[p, p])
            for q in range(p + 1, r):
                off += a[p, q] * a[p, q]
        if np.sqrt(2.0 * off) <= 1e-15 * diag:
            return
        for p in range(r - 1):
            for q in range(p + 1, r):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                app, aqq = a[p, p], a[q, q]
                if abs(apq) <= 1e-18 * min(abs(app), abs(aqq)):
                    a[p, q] = 0.0
                    a[q, p] = 0.0
                    continue
                h = aqq - app
                if abs(h) + 100.0 * abs(apq) == abs(h):
                    t = apq / h
                else:
                    theta = 0.5 * h / apq
                    t = 1.0 / (abs(theta) + np.sqrt(1.0 + theta * theta))
                    if theta < 0.0:
                        t = -t
                c = 1.0 / np.sqrt(1.0 + t * t)
                sn = t * c
                tau = sn / (1.0 + c)
                a[p, p] = app - t * apq
                a[q, q] = aqq + t * apq
                a[p, q] = 0.0
                a[q, p] = 0.0
                for j in range(r):
                    if j != p and j != q:
                        ajp, ajq = a[j, p], a[j, q]
                        a[j, p] = ajp - sn * (ajq + tau * ajp)
                        a[p, j] = a[j, p]
                        a[j, q] = ajq + sn * (ajp - tau * ajq)
                        a[q, j] = a[j, q]


@jit
def _dot(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc



@jit
def _cholesky(D, r, drop, floor, L):
    """D = L L^T on the leading r x r block; the rank kept (r or r - 1), or -1 on breakdown.

    A pivot at most `floor` is a breakdown. When the last column's distance to the span of
    the others (the last pivot) is at most `drop`, it is left out and r - 1 is returned
    (drop = 0: never). L may be D itself (in place).
    """
    for j in range(r):
        acc = D[j, j]
        for q in range(j):
            acc -= L[j, q] * L[j, q]
        if j == r - 1 and drop > 0.0 and acc <= drop * drop:
            return r - 1
        if not acc > floor:
            return -1
        L[j, j] = np.sqrt(acc)
        for i in range(j + 1, r):
            acc = D[i, j]
            for q in range(j):
                acc -= L[i, q] * L[j, q]
            L[i, j] = acc / L[j, j]
    return r


@jit
def _well_conditioned(D, r, gram_floor, L, E, Y):
    """Whether lambda_min(D) >= gram_floor lambda_max(D), given D = L L^T (unit columns).

    lambda_min(D) = 1 / ||L^{-1}||_2^2 and ||L^{-1}||_2^2 lies in [f / r, f] with
    f = ||L^{-1}||_F^2; lambda_max(D) lies in [1, r] (trace r). Only when these brackets
    straddle the floor are D's eigenvalues computed (Jacobi, in E). Y is scratch.
    """
    f = 0.0
    for c in range(r):  # column c of L^{-1}, in Y
        for i in range(r):
            acc = 1.0 if i == c else 0.0
            for q in range(c, i):
                acc -= L[i, q] * Y[q, c]
            Y[i, c] = acc / L[i, i] if i >= c else 0.0
            f += Y[i, c] * Y[i, c]
    if 1.0 / f >= gram_floor * r:
        return True
    if r / f < gram_floor:
        return False
    for i in range(r):
        for j in range(r):
            E[i, j] = D[i, j]
    jacobi_eigenvalues(E, r)
    wmin, wmax = E[0, 0], E[0, 0]
    for i in range(1, r):
        wmin = min(wmin, E[i, i])
        wmax = max(wmax, E[i, i])
    return wmin >= gram_floor * wmax


@jit
def _transformed_min(Nm, r, L, E, Y):
    """lambda_min(L^{-1} Nm L^{-T}) on the leading r x r blocks (E, Y scratch)."""
    for c in range(r):  # Y = L^{-1} Nm, column by column
        for i in range(r):
            acc = Nm[i, c]
            for q in range(i):
                acc -= L[i, q] * Y[q, c]
            Y[i, c] = acc / L[i, i]
    for c in range(r):  # E = L^{-1} Y^T = L^{-1} Nm L^{-T}
        for i in range(r):
            acc = Y[c, i]
            for q in range(i):
                acc -= L[i, q] * E[q, c]
            E[i, c] = acc / L[i, i]
    for i in range(r):
        for j in range(i + 1, r):
            v = 0.5 * (E[i, j] + E[j, i])
            E[i, j] = v
            E[j, i] = v
    jacobi_eigenvalues(E, r)
    lam = E[0, 0]
    for i in range(1, r):
        lam = min(lam, E[i, i])
    return lam


@jit
def pencil_min(D, Nm, r, gram_floor, drop, E, L, Y):
    """sqrt(lambda_min) of the pencil (Nm, D) on its leading r x r blocks, or NaN.

    D and Nm hold the Gram matrices of unit columns. When the last column's distance to the
    span of the others (the last Cholesky pivot) is at most `drop`, it is left out (the
    span is that of the others; drop = 0: never). NaN when lambda_min(D) <
    ``gram_floor`` lambda_max(D) or the Cholesky factorisation breaks down.
    E, L, Y are scratch blocks of at least r x r.
    """
    r = _cholesky(D, r, drop, 0.0, L)
    if r < 0 or not _well_conditioned(D, r, gram_floor, L, E, Y):
        return np.nan
    return np.sqrt(max(_transformed_min(Nm, r, L, E, Y), 0.0))


@jit
def _pair_grams(blocks, biased, P, Q, D, Nm, nrm, d, ad):
    """The Gram blocks D, Nm (not yet normalised) and column norms of the pair (P, Q).

    Returns the number of columns r: s for P = Q, else 2s, plus one with `biased`.
    """
    JT, AJT, GJ, GAJ, C, AC, norms = blocks
    s, n = JT.shape[1], JT.shape[2]
    m = AJT.shape[2]
    for i in range(s):
        nrm[i] = norms[P, i]
        for j in range(s):
            D[i, j] = GJ[P, i, j]
            Nm[i, j] = GAJ[P, i, j]
    if Q == P:
        return s
    for i in range(s):
        nrm[s + i] = norms[Q, i]
        for j in range(s):
            D[s + i, s + j] = GJ[Q, i, j]
            Nm[s + i, s + j] = GAJ[Q, i, j]
            D[i, s + j] = D[s + j, i] = _dot(JT[P, i], JT[Q, j])
            Nm[i, s + j] = Nm[s + j, i] = _dot(AJT[P, i], AJT[Q, j])
    if not biased:
        return 2 * s
    b = 2 * s
    for t in range(n):
        d[t] = C[P, t] - C[Q, t]
    for t in range(m):
        ad[t] = AC[P, t] - AC[Q, t]
    for i in range(s):
        D[i, b] = D[b, i] = _dot(JT[P, i], d)
        D[s + i, b] = D[b, s + i] = _dot(JT[Q, i], d)
        Nm[i, b] = Nm[b, i] = _dot(AJT[P, i], ad)
        Nm[s + i, b] = Nm[b, s + i] = _dot(AJT[Q, i], ad)
    D[b, b] = _dot(d, d)
    Nm[b, b] = _dot(ad, ad)
    nrm[b] = np.sqrt(D[b, b])
    return b + 1


@jit
def pair_value(blocks, biased, P, Q, tols, work):
    """The span value of the pair (P, Q) (NaN: take the SVD path).

    tols = (gram_floor, tiny): the Gram floor of the Cholesky route and the relative norm
    below which a column counts as zero. work = (D, Nm, E, L, Y, nrm, d, ad), scratch.
    """
    D, Nm, E, L, Y, nrm, d, ad = work
    gram_floor, tiny = tols
    s, n = blocks[0].shape[1], blocks[0].shape[2]
    m = blocks[1].shape[2]
    r = _pair_grams(blocks, biased, P, Q, D, Nm, nrm, d, ad)
    top = 0.0
    for i in range(r):
        top = max(top, nrm[i])
    drop = 0.0
    if r == 2 * s + 1:
        # c_P - c_Q at the rounding level, or within rounding of span{J_P, J_Q} (two
        # pieces meeting at a point): the rank-revealing SVD would drop it too.
        top_j = 0.0
        for i in range(2 * s):
            top_j = max(top_j, nrm[i])
        if not nrm[r - 1] > tiny * top:
            r -= 1
            top = top_j
        else:
            drop = max(n, r) * np.finfo(np.float64).eps * top_j / nrm[r - 1]
    if r > m:
        return np.nan
    for i in range(r):
        if not nrm[i] > tiny * top:
            return np.nan
    for i in range(r):
        for j in range(r):
            scale = nrm[i] * nrm[j]
            D[i, j] /= scale
            Nm[i, j] /= scale
    return pencil_min(D, Nm, r, gram_floor, drop, E, L, Y)


@jit
def _workspace(s, n, m):
    rmax = 2 * s + 1
    return (np.empty((rmax, rmax)), np.empty((rmax, rmax)), np.empty((rmax, rmax)),
            np.zeros((rmax, rmax)), np.empty((rmax, rmax)), np.empty(rmax), np.empty(n),
            np.empty(m))  # fmt: skip


@jit
def pair_span_values(blocks, biased, rows, tols, out):
    """Span values of the pairs (P, Q), p0 <= P < p1, P <= Q < N, in row-major order.

    blocks = (JT, AJT, GJ, GAJ, C, AC, norms):
      JT, AJT : (N, s, n), (N, s, m), the columns of J_P and A J_P as rows;
      GJ, GAJ : (N, s, s), their Gram matrices;
      C, AC : (N, n), (N, m), the offsets c_P and A c_P (read when `biased`);
      norms : (N, s), the column norms of J_P.
    rows = (p0, p1); tols = (gram_floor, tiny) as in `pair_value`.
    out : (number of pairs,), written with the values (NaN: take the SVD path).

    Returns the number of values written.
    """
    N, s, n = blocks[0].shape
    work = _workspace(s, n, blocks[1].shape[2])
    pos = 0
    for P in range(rows[0], rows[1]):
        for Q in range(P, N):
            out[pos] = pair_value(blocks, biased, P, Q, tols, work)
            pos += 1
    return pos


@jit
def _schur_definite(S, r, tau):
    """Whether S's Cholesky factorisation (leading r x r, overwritten) has pivots above tau."""
    return _cholesky(S, r, 0.0, tau, S) == r


@jit
def _cross_schur(F, ZT, K, Q, cols, count, B, S):
    """S = K_Q - B^T B with B = F_P Z_Q (F = F_P): the Schur complement of K_P.

    Only the columns cols[:count] of Z_Q enter (B's columns and S compacted to them).
    """
    s, rw = F.shape
    for i in range(s):
        for jj in range(count):
            acc = 0.0
            for t in range(rw):
                acc += F[i, t] * ZT[Q, cols[jj], t]
            B[i, jj] = acc
    for ii in range(count):
        for jj in range(ii + 1):
            acc = K[Q, cols[ii], cols[jj]]
            for q in range(s):
                acc -= B[q, ii] * B[q, jj]
            S[ii, jj] = acc
            S[jj, ii] = acc


@jit
def _offset_row(CA, JA, FF, P, Q, cols, B, S, lims):
    """Row `count` of the Schur complement for the column u = (c_P - c_Q) / ||c_P - c_Q||.

    With M = A^T A - cut I, in the coordinates (x, A x) of CA = [C, A C] and
    JA = [Jn, A Jn] (unit Jacobian columns): S[count, jj] = u^T M Jn_Q[:, cols[jj]] -
    (F_P u) . B[:, jj] and S[count, count] = u^T M u - ||F_P u||^2. lims = (cut, floor,
    n, count). False when ||c_P - c_Q|| <= floor (no test: the pair is evaluated in full).
    """
    cut, floor, n, count = lims
    s, nm = FF.shape[1], CA.shape[1]
    dd, quad = 0.0, 0.0
    for t in range(nm):
        x = (CA[P, t] - CA[Q, t]) ** 2
        if t < n:
            dd += x
            quad -= cut * x
        else:
            quad += x
    nd = np.sqrt(dd)
    if not nd > floor:
        return False
    for jj in range(count):
        acc = 0.0
        for t in range(nm):
            w = -cut if t < n else 1.0
            acc += w * JA[Q, cols[jj], t] * (CA[P, t] - CA[Q, t])
        S[count, jj] = acc / nd
    corr = 0.0
    for i in range(s):
        f = 0.0
        for t in range(n):
            f += FF[P, i, t] * (CA[P, t] - CA[Q, t])
        f /= nd
        corr += f * f
        for jj in range(count):
            S[count, jj] -= f * B[i, jj]
    for jj in range(count):
        S[jj, count] = S[count, jj]
    S[count, count] = quad / dd - corr
    return True


@jit
def _orthonormal_add(V, AV, count, x, A, lims):
    """Append x's component orthogonal to V[:, :count] (normalised) and A times it.

    Two passes of Gram-Schmidt. Returns count + 1, count when x lies in span(V) to rounding
    (its residual at most drop = lims[1] of ||x||: the rank-revealing SVD drops such a
    direction too), or -1 when the residual is in between (up to 1e-9: undecided).
    """
    n, drop = V.shape[0], lims[1]
    size = np.sqrt(_dot(x, x))
    for _ in range(2):
        for k in range(count):
            c = 0.0
            for t in range(n):
                c += V[t, k] * x[t]
            for t in range(n):
                x[t] -= c * V[t, k]
    res = np.sqrt(_dot(x, x))
    if res <= drop * size:
        return count
    if res <= 1e-9 * size:
        return -1
    for t in range(n):
        V[t, count] = x[t] / res
    for i in range(AV.shape[0]):
        acc = 0.0
        for t in range(n):
            acc += A[i, t] * V[t, count]
        AV[i, count] = acc
    return count + 1


@jit
def _span_above(JA, CA, A, P, Q, biased, lims, V, AV, S):
    """Whether V^T (A^T A - cut I) V is definite with pivots above tau (lims: cut, drop, tau).

    V is an orthonormal basis of span{J_P, J_Q, c_P - c_Q} (rank-revealing: columns within
    rounding of the others' span are left out). False when undecided.
    """
    n = A.shape[1]
    s = JA.shape[1]
    x = np.empty(n)
    count = 0
    for k in range(2 * s + (1 if biased else 0)):
        for t in range(n):
            if k < s:
                x[t] = JA[P, k, t]
            elif k < 2 * s:
                x[t] = JA[Q, k - s, t]
            else:
                x[t] = CA[P, t] - CA[Q, t]
        count = _orthonormal_add(V, AV, count, x, A, lims)
        if count < 0:
            return False
    for i in range(count):
        for j in range(i + 1):
            acc = _dot(AV[:, i], AV[:, j])
            S[i, j] = S[j, i] = acc - lims[0] if i == j else acc
    return _schur_definite(S, count, lims[2])


@jit
def pruned_span_values(blocks, prep, biased, rows, tols, out_pos, out_val):
    """The pairs of rows p0 <= P < p1 (P <= Q < N) not shown to lie above a threshold.

    A pair is skipped when X^T (A^T A - cut I) X is definite with Cholesky pivots above tau,
    by the Schur complement of K_P (`_cross_schur`, `_offset_row`, `_schur_definite`), or,
    where that fails, on a rank-revealing orthonormal basis of the pair's span
    (`_span_above`: pairs with dependent columns): its value then exceeds sqrt(cut). Every
    other pair is evaluated by `pair_value` and written: its position in the row-major
    order of the block's pairs to `out_pos`, its value to `out_val`.

    blocks : as `pair_span_values`.
    prep = (FT, ZT, K, ok, FF, CA, JA, A, cut): per piece, F_P (N, s, r_W) and the unit
      Jacobian columns Z_P (N, s, r_W) in the coordinates of the span of the Jacobians,
      K_P (N, s, s), whether K_P is definite with pivots above tau (N,), F_P in the original
      coordinates (N, s, n), [c_P, A c_P] (N, n + m), the unit Jacobian columns with their
      images [Jn, A Jn] (N, s, n + m), A itself, and the shift cut (the threshold
      squared, raised by a margin).
    tols = (gram_floor, tiny, tau).

    Returns the number of pairs written.
    """
    N, s, n = blocks[0].shape
    work = _workspace(s, n, blocks[1].shape[2])
    FT, ZT, K, ok, FF, CA, JA, A, cut = prep
    norms, r = blocks[6], 2 * s + 1
    F, B, S = np.empty((s, ZT.shape[2])), np.empty((s, s)), np.empty((r, r))
    V, AV = np.empty((n, r)), np.empty((A.shape[0], r))
    cols = np.arange(s)
    lims = (cut, max(n, r) * np.finfo(np.float64).eps, tols[2])
    pos, written = 0, 0
    for P in range(rows[0], rows[1]):
        F[:] = FT[P]
        for Q in range(P, N):
            above = ok[P] and ok[Q]
            if above and Q != P:
                _cross_schur(F, ZT, K, Q, cols, s, B, S)
                if biased:
                    floor = 1e-8 * max(norms[P].max(), norms[Q].max())
                    above = _offset_row(CA, JA, FF, P, Q, cols, B, S, (cut, floor, n, s))
                above = above and _schur_definite(S, s + 1 if biased else s, tols[2])
            if not above:  # dependent columns (pieces sharing a column or a face)?
                above = _span_above(JA, CA, A, P, Q, biased and P != Q, lims, V, AV, S)
            if not above:
                out_pos[written] = pos
                out_val[written] = pair_value(blocks, biased, P, Q, tols[:2], work)
                written += 1
            pos += 1
    return written


def warm_up() -> None:
    """Compile the kernels of this module on two tiny pieces (with and without biases)."""
    rng = np.random.default_rng(0)
    J = rng.standard_normal((2, 5, 2))
    A = rng.standard_normal((4, 5))
    AJ = np.matmul(A, J)
    JT, AJT = J.transpose(0, 2, 1).copy(), AJ.transpose(0, 2, 1).copy()
    C = rng.standard_normal((2, 5))
    blocks = (JT, AJT, np.matmul(JT, J), np.matmul(AJT, AJ), C, C @ A.T,
              np.linalg.norm(J, axis=1))  # fmt: skip
    out = np.empty(3)
    pos = np.empty(3, dtype=np.int64)
    K = np.broadcast_to(np.eye(2), (2, 2, 2)).copy()
    CA = np.ascontiguousarray(np.concatenate([C, C @ A.T], axis=1))
    JA = np.ascontiguousarray(np.concatenate([JT, AJT], axis=2))
    prep = (JT, JT, K, np.ones(2, dtype=np.bool_), JT, CA, JA, A, 0.25)
    for biased in (False, True):
        pair_span_values(blocks, biased, (0, 2), (1e-6, 1e-12), out)
        pruned_span_values(blocks, prep, biased, (0, 2), (1e-6, 1e-12, 1e-9), pos, out)
