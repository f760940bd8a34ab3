"""Kernel of the beam stage: one level of a beam search over greedy growth.

A level takes the kept rows (distinct supports of one size, best first), and for each row z
with support S ranks every coordinate l outside S by the linearised fit on S + {l}
(`swap.single_add_scores`, the Gram matrix of J = J_F(z): no network pass), refits its
``expand`` best by Gauss-Newton from their linear fit, and returns every refit whose
support was not refitted before at this level. Repeated supports are found by their
Zobrist key, the XOR of one pseudo-random 64-bit key per coordinate, in a set.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit
from sdlss_theory._kernels.network import objective, tiny_network
from sdlss_theory._kernels.refit import Refit, context, gauss_newton
from sdlss_theory._kernels.swap import linear_fit, linearisation, single_add_scores


def zobrist_keys(k: int) -> np.ndarray:
    """Pseudo-random 64-bit keys, one per coordinate (splitmix64); a support's key is their XOR.

    Two supports share a key with probability about 2^-64, so a set of keys finds repeated
    supports in O(1) each (a repeat only skips a refit). Python integers modulo 2^64.
    """
    mask, keys, x = (1 << 64) - 1, [], 0
    for _ in range(k):
        x = (x + 0x9E3779B97F4A7C15) & mask
        v = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) & mask
        keys.append(v ^ (v >> 31))
    return np.array(keys, dtype=np.uint64)


@jit
def beam_level(ctx, Z, S, expand, keys):
    """Grow every row Z[r] (support S[r], all of one size) by its ``expand`` best coordinates.

    ``keys`` are the coordinates' Zobrist keys (`zobrist_keys`).

    Returns (C, CS, fC, n): the first n rows of C are the refitted candidates, CS their
    supports (sorted, one coordinate more than S's) and fC their f, in the order refitted.
    """
    net, y, refit, work = ctx.net, ctx.y, ctx.refit, ctx.work
    n_rows, k = Z.shape
    size = S.shape[1]
    n_max = n_rows * min(expand, k - size)
    C = np.zeros((n_max, k))
    CS = np.empty((n_max, size + 1), dtype=np.int64)
    fC = np.empty(n_max)
    seen = set()  # Zobrist keys of the supports refitted at this level
    n_c = 0
    inside = np.zeros(k, dtype=np.bool_)
    T = np.empty(size + 1, dtype=np.int64)
    for r in range(n_rows):
        z = Z[r]
        objective(net, y, z, work.H)
        inside[:] = False
        for p in range(size):
            inside[S[r, p]] = True
        outside = np.flatnonzero(~inside)
        M, cvec = linearisation(ctx, z)
        scores = np.empty(outside.shape[0])
        single_add_scores(M, cvec, S[r], outside, scores)
        order = np.argsort(scores)
        for q in range(min(expand, outside.shape[0])):
            T[:size] = S[r]
            T[size] = outside[order[q]]
            T.sort()
            key = np.uint64(0)
            for p in range(size + 1):
                key ^= keys[T[p]]
            if key in seen:
                continue
            seen.add(key)
            u = linear_fit(M, cvec, T)[1]
            cand = C[n_c]
            for p in range(size + 1):
                cand[T[p]] = u[p]
            fC[n_c], _ = gauss_newton(net, y, cand, T, refit, work.Hb, work.Hc)
            CS[n_c] = T
            n_c += 1
    return C, CS, fC, n_c


def warm_up() -> None:
    """Compile the kernel of this module on a tiny network."""
    net, y = tiny_network()
    ctx = context(net, y, Refit(3, 0.5, True, 1e-9), 0.0)
    Z = np.zeros((2, 5))
    Z[0, 1], Z[1, 3] = 1.0, -1.0
    beam_level(ctx, Z, np.array([[1], [3]]), 2, zobrist_keys(5))
