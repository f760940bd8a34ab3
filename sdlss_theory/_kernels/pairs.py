"""Kernel of `srec_bounds`'s piece pairs: sigma_min of A on span{J_P, J_Q, c_P - c_Q}.

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
def pencil_min(D, Nm, r, gram_floor, cut, drop, E, L, Y):
    """sqrt(lambda_min) of the pencil (Nm, D) on its leading r x r blocks, inf, or NaN.

    D and Nm hold the Gram matrices of unit columns. When the last column's distance to the
    span of the others (the last Cholesky pivot) is at most `drop`, it is left out (the
    span is that of the others; drop = 0: never). NaN when lambda_min(D) <
    ``gram_floor`` lambda_max(D) or the Cholesky factorisation breaks down. inf when
    Nm - cut D is positive definite (its Cholesky factorisation succeeds), i.e. when the
    value exceeds sqrt(cut): no eigenproblem is solved for such a pencil (cut = inf: never).
    E, L, Y are scratch blocks of at least r x r.
    """
    for j in range(r):  # D = L L^T
        acc = D[j, j]
        for q in range(j):
            acc -= L[j, q] * L[j, q]
        if j == r - 1 and drop > 0.0 and acc <= drop * drop:
            r -= 1
            break
        if not acc > 0.0:
            return np.nan
        L[j, j] = np.sqrt(acc)
        for i in range(j + 1, r):
            acc = D[i, j]
            for q in range(j):
                acc -= L[i, q] * L[j, q]
            L[i, j] = acc / L[j, j]
    # lambda_min(D) = 1 / ||L^{-1}||_2^2 and ||L^{-1}||_2^2 lies in [f / r, f] with
    # f = ||L^{-1}||_F^2; lambda_max(D) lies in [1, r] (unit columns, trace r). Only when
    # these brackets straddle the floor are D's eigenvalues computed.
    f = 0.0
    for c in range(r):  # column c of L^{-1}, in Y
        for i in range(r):
            acc = 1.0 if i == c else 0.0
            for q in range(c, i):
                acc -= L[i, q] * Y[q, c]
            Y[i, c] = acc / L[i, i] if i >= c else 0.0
            f += Y[i, c] * Y[i, c]
    if 1.0 / f < gram_floor * r:
        if r / f < gram_floor:
            return np.nan
        for i in range(r):
            for j in range(r):
                E[i, j] = D[i, j]
        jacobi_eigenvalues(E, r)
        wmin, wmax = E[0, 0], E[0, 0]
        for i in range(1, r):
            wmin = min(wmin, E[i, i])
            wmax = max(wmax, E[i, i])
        if not wmin >= gram_floor * wmax:
            return np.nan
    if cut < np.inf:  # Cholesky of Nm - cut D, in E: positive definite -> value > sqrt(cut)
        definite = True
        for j in range(r):
            acc = Nm[j, j] - cut * D[j, j]
            for q in range(j):
                acc -= E[j, q] * E[j, q]
            if not acc > 0.0:
                definite = False
                break
            E[j, j] = np.sqrt(acc)
            for i in range(j + 1, r):
                acc = Nm[i, j] - cut * D[i, j]
                for q in range(j):
                    acc -= E[i, q] * E[j, q]
                E[i, j] = acc / E[j, j]
        if definite:
            return np.inf
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
    return np.sqrt(max(lam, 0.0))


@jit
def pair_span_values(
    JT, AJT, GJ, GAJ, C, AC, norms, biased, p0, p1, gram_floor, tiny, threshold, out
):
    """Span values of the pairs (P, Q), p0 <= P < p1, P <= Q < N, in row-major order.

    A value shown to exceed `threshold` by a Cholesky test (`pencil_min`) is written as
    inf without being computed (threshold = inf: every value is computed).

    JT, AJT : (N, s, n), (N, s, m), the columns of J_P and A J_P as rows.
    GJ, GAJ : (N, s, s), their Gram matrices.
    C, AC : (N, n), (N, m), the offsets c_P and A c_P (read when `biased`).
    norms : (N, s), the column norms of J_P.
    out : (number of pairs,), written with the values (NaN: take the SVD path).

    Returns the number of values written.
    """
    N, s, n = JT.shape
    m = AJT.shape[2]
    rmax = 2 * s + 1
    D = np.empty((rmax, rmax))
    Nm = np.empty((rmax, rmax))
    E = np.empty((rmax, rmax))
    L = np.zeros((rmax, rmax))
    Y = np.empty((rmax, rmax))
    nrm = np.empty(rmax)
    d = np.empty(n)
    ad = np.empty(m)
    cut = threshold * threshold
    eps = np.finfo(np.float64).eps
    pos = 0
    for P in range(p0, p1):
        for Q in range(P, N):
            r = s if Q == P else (2 * s + 1 if biased else 2 * s)
            for i in range(s):
                nrm[i] = norms[P, i]
                for j in range(s):
                    D[i, j] = GJ[P, i, j]
                    Nm[i, j] = GAJ[P, i, j]
            if Q != P:
                for i in range(s):
                    nrm[s + i] = norms[Q, i]
                    for j in range(s):
                        D[s + i, s + j] = GJ[Q, i, j]
                        Nm[s + i, s + j] = GAJ[Q, i, j]
                        x = _dot(JT[P, i], JT[Q, j])
                        D[i, s + j] = x
                        D[s + j, i] = x
                        x = _dot(AJT[P, i], AJT[Q, j])
                        Nm[i, s + j] = x
                        Nm[s + j, i] = x
                if biased:
                    b = 2 * s
                    for t in range(n):
                        d[t] = C[P, t] - C[Q, t]
                    for t in range(m):
                        ad[t] = AC[P, t] - AC[Q, t]
                    for i in range(s):
                        x = _dot(JT[P, i], d)
                        D[i, b] = x
                        D[b, i] = x
                        x = _dot(JT[Q, i], d)
                        D[s + i, b] = x
                        D[b, s + i] = x
                        x = _dot(AJT[P, i], ad)
                        Nm[i, b] = x
                        Nm[b, i] = x
                        x = _dot(AJT[Q, i], ad)
                        Nm[s + i, b] = x
                        Nm[b, s + i] = x
                    D[b, b] = _dot(d, d)
                    Nm[b, b] = _dot(ad, ad)
                    nrm[b] = np.sqrt(D[b, b])
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
                    drop = max(n, r) * eps * top_j / nrm[r - 1]
            usable = r <= m
            for i in range(r):
                if not nrm[i] > tiny * top:
                    usable = False
            if usable:
                for i in range(r):
                    for j in range(r):
                        scale = nrm[i] * nrm[j]
                        D[i, j] /= scale
                        Nm[i, j] /= scale
                out[pos] = pencil_min(D, Nm, r, gram_floor, cut, drop, E, L, Y)
            else:
                out[pos] = np.nan
            pos += 1
    return pos


def warm_up() -> None:
    """Compile the kernels of this module on two tiny pieces (with and without biases)."""
    rng = np.random.default_rng(0)
    J = rng.standard_normal((2, 5, 2))
    A = rng.standard_normal((4, 5))
    AJ = np.matmul(A, J)
    JT, AJT = J.transpose(0, 2, 1).copy(), AJ.transpose(0, 2, 1).copy()
    GJ, GAJ = np.matmul(JT, J), np.matmul(AJT, AJ)
    C = rng.standard_normal((2, 5))
    norms = np.linalg.norm(J, axis=1)
    out = np.empty(3)
    for biased, threshold in ((False, np.inf), (True, 0.5)):
        pair_span_values(
            JT, AJT, GJ, GAJ, C, C @ A.T, norms, biased, 0, 2, 1e-6, 1e-12, threshold, out
        )
