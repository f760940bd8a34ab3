"""Pure NumPy references of the numba kernels, written from the equations, for the tests.

Nothing here calls the package's kernels or its activation table: layers are read from a
`PackedNetwork` by their offsets, activations are written out, Jacobians are explicit
products, least squares is `np.linalg.lstsq`, and the linearised fits of the swap and beam
stages are solved support by support. Clarity over speed.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

IDENTITY, RELU, SIGMOID, TANH = 0, 1, 2, 3
VALUE = {
    IDENTITY: lambda a: a,
    RELU: lambda a: np.maximum(a, 0.0),
    SIGMOID: lambda a: 1.0 / (1.0 + np.exp(-a)),
    TANH: np.tanh,
}
DERIVATIVE = {
    IDENTITY: lambda o: np.ones_like(o),
    RELU: lambda o: (o > 0).astype(float),
    SIGMOID: lambda o: o * (1.0 - o),
    TANH: lambda o: 1.0 - o * o,
}


def layers(net):
    """[(W_i, b_i, code_i)] read from the packed arrays."""
    out = []
    for i in range(len(net.dims) - 1):
        rows, cols = int(net.dims[i + 1]), int(net.dims[i])
        W = net.flat[net.w_off[i] : net.w_off[i] + rows * cols].reshape(rows, cols)
        b = net.flat[net.b_off[i] : net.b_off[i] + rows]
        out.append((W, b, int(net.codes[i])))
    return out


def outputs(net, z):
    """Every layer's output at one z."""
    outs, h = [], np.asarray(z, dtype=float)
    for W, b, code in layers(net):
        h = VALUE[code](W @ h + b)
        outs.append(h)
    return outs


def forward(net, Z):
    return np.array([outputs(net, z)[-1] for z in np.atleast_2d(Z)])


def jacobian(net, z):
    """J_F(z) = D_L W_L ... D_1 W_1 as an explicit product."""
    J = np.eye(len(z))
    for (W, _, code), out in zip(layers(net), outputs(net, z), strict=True):
        J = DERIVATIVE[code](out)[:, None] * (W @ J)
    return J


def objective(net, y, z):
    return float(np.sum((y - outputs(net, z)[-1]) ** 2))


def hard_threshold(u, s):
    """P_s by the documented rule: rank by (-|u_i|, i)."""
    keep = sorted(range(len(u)), key=lambda i: (-abs(u[i]), i))[:s]
    out = np.zeros_like(u)
    out[keep] = u[keep]
    return out


def grow_support(inside, score, s):
    """The indicator of `inside` grown to s entries by the largest |score| (ties by index)."""
    chosen = [j for j in range(len(score)) if inside[j]]
    rest = sorted(
        (j for j in range(len(score)) if not inside[j]), key=lambda j: (-abs(score[j]), j)
    )
    chosen = (chosen + rest)[: max(s, len(chosen))]
    out = np.zeros(len(score))
    out[chosen] = 1.0
    return out


def gauss_newton(net, y, z, S, refit):
    """The refit of `_kernels.refit.gauss_newton`, with lstsq; returns (z, f, steps)."""
    z, S = np.array(z, dtype=float), np.asarray(S)
    f, steps = objective(net, y, z), 0
    if S.size == 0:
        return z, f, steps
    for _ in range(refit.steps):
        if f <= 1e-30 * (y @ y):
            break
        d = np.linalg.lstsq(jacobian(net, z)[:, S], y - outputs(net, z)[-1], rcond=None)[0]
        t = 1.0
        for _ in range(10):
            cand = z.copy()
            cand[S] += t * d
            fc = objective(net, y, cand)
            if np.isfinite(fc) and fc < f:
                break
            t *= 0.5
        else:
            break
        f_before, z, f = f, cand, fc
        steps += 1
        if refit.negate and objective(net, y, -z) < f:
            z, f = -z, objective(net, y, -z)
        if f > refit.stall * f_before or t * np.linalg.norm(d) <= refit.tol * np.linalg.norm(z):
            break
    return z, f, steps


def grow(net, y, z, S, s, refit):
    """Growth of `_kernels.refit.grow` (``refit.grow`` coordinates a step); returns (z, S, f)."""
    z, S = np.array(z, dtype=float), list(S)
    f = objective(net, y, z)
    while len(S) < s:
        g = jacobian(net, z).T @ (y - outputs(net, z)[-1])
        inside = np.zeros(len(z), dtype=bool)
        inside[S] = True
        scale = 1e-3 * max(np.linalg.norm(z), 1.0)
        joining = np.flatnonzero(grow_support(inside, g, min(len(S) + refit.grow, s)) * ~inside)
        for j in joining:
            z[j] = scale * (1.0 if g[j] >= 0 else -1.0)
        S = sorted([*S, *joining.tolist()])
        z, f, _ = gauss_newton(net, y, z, S, refit)
    return z, np.array(S), f


def one_sparse_fits(net, y):
    """The 2k fits t sigma e_j by the closed form, rows +e_1..+e_k then -e_1..-e_k."""
    k = int(net.dims[0])
    E = np.vstack([np.eye(k), -np.eye(k)])
    Z, f = np.zeros((2 * k, k)), np.empty(2 * k)
    for i, e in enumerate(E):
        v = outputs(net, e)[-1]
        t = max(v @ y, 0.0) / (v @ v) if v @ v > 0 else 0.0
        Z[i], f[i] = t * e, np.sum((y - t * v) ** 2)
    return Z, f


def linear_fit(J, b, T):
    """(||b - J_T u||^2 - ||b||^2, u) by lstsq."""
    u = np.linalg.lstsq(J[:, T], b, rcond=None)[0]
    return float(np.sum((b - J[:, T] @ u) ** 2) - b @ b), u


def _moves(z, S, k, swaps):
    """Every candidate move of one swap round: (kind, T, starts) in the kernel's order."""
    outside = [j for j in range(k) if j not in S]
    moves = []
    c = np.linalg.norm(z) / np.sqrt(len(S))
    if swaps.flips:
        for j in S:
            for value in (-z[j], (-1.0 if z[j] > 0 else 1.0) * c):
                cand = z.copy()
                cand[j] = value
                moves.append(("flip", list(S), [cand]))
    singles = [(sorted([*(i for i in S if i != j), add]), j, add) for j in S for add in outside]
    pairs = [
        (sorted([*(i for i in S if i not in drop), *add]), drop, add)
        for drop in combinations(S, 2)
        for add in combinations(outside, 2)
    ]
    return moves, singles, pairs, c


def swap_search(net, y, z, S, swaps, refit, fit_sq):
    """The swap search of `_kernels.swap.swap_search`, every fit by lstsq; returns (z, S, f)."""
    z, S, k = np.array(z, dtype=float), list(S), len(z)
    f = objective(net, y, z)
    for _ in range(swaps.moves):
        if f <= max(fit_sq, 1e-30 * (y @ y)):
            break
        J = jacobian(net, z)
        b = y - outputs(net, z)[-1] + J @ z
        flips, singles, pairs, c = _moves(z, S, k, swaps)
        best, fitted = (f, None, None), False

        def refit_(cand, T, best):
            zc, fc, _ = gauss_newton(net, y, cand, T, refit)
            return ((fc, zc, T) if fc < best[0] else best), fc < best[0] and fc <= fit_sq

        for _, T, cands in flips:
            best, fitted = refit_(cands[0], T, best)
            if fitted:
                break
        ranked = sorted(singles, key=lambda m: linear_fit(J, b, m[0])[0])[: swaps.screen]
        for T, j, l_new in [] if fitted else ranked:
            u = linear_fit(J, b, T)[1]
            cand0 = np.zeros(k)
            cand0[T] = u
            starts = [cand0]
            for sign in (1.0, -1.0):
                cand = z.copy()
                cand[j], cand[l_new] = 0.0, sign * c
                starts.append(cand)
            for cand in starts:
                best, fitted = refit_(cand, T, best)
                if fitted:
                    break
            if fitted:
                break
        if not fitted and best[0] >= f * (1 - 1e-9) and swaps.pairs:
            ranked = sorted(pairs, key=lambda m: linear_fit(J, b, m[0])[0])[: swaps.pairs]
            for T, _, _ in ranked:
                cand = np.zeros(k)
                cand[T] = linear_fit(J, b, T)[1]
                best, fitted = refit_(cand, T, best)
                if fitted:
                    break
        if best[0] < f * (1 - 1e-9):
            z, S = best[1], list(best[2])
            f = objective(net, y, z)
        else:
            break
    return z, np.array(S), f


def beam_level(net, y, Z, S, expand, refit):
    """{support: f} of one level of `_kernels.beam.beam_level` (first refit of a support)."""
    found = {}
    for z, support in zip(Z, S, strict=True):
        J = jacobian(net, z)
        b = y - outputs(net, z)[-1] + J @ z
        outside = [j for j in range(len(z)) if j not in support]
        ranked = sorted(outside, key=lambda j: linear_fit(J, b, sorted([*support, j]))[0])
        for l_new in ranked[:expand]:
            T = tuple(sorted([*support, l_new]))
            if T in found:
                continue
            cand = np.zeros(len(z))
            cand[list(T)] = linear_fit(J, b, list(T))[1]
            found[T] = gauss_newton(net, y, cand, list(T), refit)[1]
    return found


def iht_step(net, y, z, beta, s, l2=0.0):
    """One latent IHT step P_s(z - beta grad f(z)) with f = ||y - F||^2 + l2 ||z||^2."""
    g = 2.0 * jacobian(net, z).T @ (outputs(net, z)[-1] - y) + 2.0 * l2 * z
    return hard_threshold(z - beta * g, s)


def niht_step(net, y, z, s, kappa, c):
    """One latent NIHT step of Blumensath & Davies with the nonlinear safeguard."""
    J = jacobian(net, z)
    g = J.T @ (y - outputs(net, z)[-1])
    gamma = grow_support(z != 0, g, s)
    mu = np.sum((g * gamma) ** 2) / np.sum((J @ (g * gamma)) ** 2)
    f = objective(net, y, z)
    for _ in range(200):
        cand = hard_threshold(z + mu * g, s)
        step = cand - z
        if np.any((cand != 0) != (gamma != 0)):
            omega = (1 - c) * np.sum(step**2) / max(np.sum((J @ step) ** 2), 1e-300)
            if mu > omega:
                mu /= kappa * (1 - c)
                continue
        if objective(net, y, cand) <= f:
            return cand
        mu *= 0.5
    return z


def pair_span_value(A, J_P, J_Q, c_P, c_Q):
    """sigma_min of A on span{J_P, J_Q, c_P - c_Q} (span{J_P} for the same piece), by SVD.

    An orthonormal basis U of the span (left singular vectors above the rank tolerance of
    `numpy.linalg.matrix_rank`), then the smallest singular value of A U; 0 when the span
    has more dimensions than A has rows, inf when it is {0}.
    """
    if J_Q is None:
        X = J_P
    else:
        X = np.column_stack([J_P, J_Q, c_P - c_Q]) if np.any(c_P - c_Q) else np.hstack([J_P, J_Q])
    U, sv, _ = np.linalg.svd(X, full_matrices=False)
    rank = int(np.sum(sv > sv[0] * max(X.shape) * np.finfo(float).eps))
    if rank == 0:  # all columns zero: no direction, no ratio
        return np.inf
    if rank > A.shape[0]:
        return 0.0
    return float(np.linalg.svd(A @ U[:, :rank], compute_uv=False)[-1])


def support_patterns(G, S):
    """The activation patterns (packed bytes) of the pieces of G on support S.

    From the enumeration itself: `linear_pieces` on that one support, every region with its
    rays, vertices and affine map, the patterns merged across the initial fan.
    """
    from sdlss_theory.pieces import linear_pieces

    return set(linear_pieces(G, len(S), supports=[S], max_pieces=10**7).patterns)


def packed_rows(words, bits):
    """Rows of 64-bit words (bit i in bit i % 64 of word i // 64) as `np.packbits` bytes."""
    out = []
    for row in np.asarray(words, dtype=np.uint64):
        mask = [bool((int(row[i // 64]) >> (i % 64)) & 1) for i in range(bits)]
        out.append(np.packbits(np.array(mask, dtype=bool)).tobytes())
    return out
