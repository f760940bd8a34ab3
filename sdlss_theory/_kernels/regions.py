"""Kernel of `count_pieces`'s exact walk: the activation regions of one support, depth first.

On a support S the walk of `sdlss_theory.pieces.linear_pieces` cuts each of the s + 1
simplicial cones of the initial fan of R^s by every hidden neuron's hyperplane, layer by
layer, with the double description method on homogenised cones (rays V, inequalities H,
incidence ``act``). `walk_support` runs the same tree with the same tolerances as the
pure-Python walk (`pieces._split`, `piece_count._Tree`), without Jacobians, vertices or
interior points, and returns the activation pattern of every leaf packed into 64-bit words.
A region split by the fan is a leaf in each fan cell it meets (at most s + 1), so the
support's number of pieces is the number of **distinct** rows, which the caller counts.

Tolerances, as in `sdlss_theory.pieces`: a neuron cuts a region when its pre-activation
takes both signs on the region's unit rays beyond ``tol ||a||`` (a the neuron's row of the
homogenised pre-activation); two rays on opposite sides are adjacent when the inequalities
active at both have rank D - 2 (singular values above ``rank_tol``), D = s + 1; a ray lies
on a new inequality when |<v, a / ||a||>| <= ``tol``. Products and norms are written the
way NumPy forms them (BLAS products, row norms summed as NumPy's pairwise sum does), so
the decisions are the pure-Python walk's.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit


@jit
def row_norms(M):
    """Euclidean norms of the rows of M, summed in NumPy's order (`np.linalg.norm(M, axis=1)`).

    NumPy reduces a contiguous row by pairwise summation: sequentially below 8 terms, else
    in 8 interleaved partial sums (rows here are far shorter than its 128-term block).
    """
    n, c = M.shape
    out = np.empty(n)
    acc = np.empty(8)
    for i in range(n):
        if c < 8:
            res = 0.0
            for j in range(c):
                res += M[i, j] * M[i, j]
        else:
            for t in range(8):
                acc[t] = M[i, t] * M[i, t]
            j = 8
            while j < c - c % 8:
                for t in range(8):
                    acc[t] += M[i, j + t] * M[i, j + t]
                j += 8
            res = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
            while j < c:
                res += M[i, j] * M[i, j]
                j += 1
        out[i] = np.sqrt(res)
    return out


@jit
def split_region(V, H, act, a, f, tol_j, tol, rank_tol):
    """Cut the cone (V, H, act) by <a, .> = 0 (f = V a); `pieces._split` in a kernel.

    Returns (has_plus, V+, H+, act+, has_minus, V-, H-, act-): the sides <a, .> >= 0 and
    <= 0, each present only when a ray lies strictly inside it (beyond `tol_j`).
    """
    p, D = V.shape
    q = H.shape[0]
    n_pos = 0
    n_neg = 0
    for i in range(p):
        if f[i] > tol_j:
            n_pos += 1
        elif f[i] < -tol_j:
            n_neg += 1
    new_V = np.empty((n_pos * n_neg, D))
    new_act = np.zeros((n_pos * n_neg, q), dtype=np.bool_)
    common = np.empty(q, dtype=np.bool_)
    n_new = 0
    for i in range(p):
        if not f[i] > tol_j:
            continue
        for j in range(p):
            if not f[j] < -tol_j:
                continue
            count = 0
            for c in range(q):
                common[c] = act[i, c] and act[j, c]
                if common[c]:
                    count += 1
            if count < D - 2:
                continue
            if D > 2:
                sub = np.empty((count, D))
                r = 0
                for c in range(q):
                    if common[c]:
                        sub[r] = H[c]
                        r += 1
                if np.linalg.matrix_rank(sub, rank_tol) != D - 2:
                    continue
            w = f[i] * V[j] - f[j] * V[i]
            new_V[n_new] = w / np.sqrt(np.dot(w, w))
            new_act[n_new, :] = common
            n_new += 1
    an = a / np.sqrt(np.dot(a, a))
    sides = []
    for sign in (1.0, -1.0):
        n_side = n_pos if sign > 0 else n_neg
        if n_side == 0:
            sides.append((False, np.empty((0, D)), np.empty((0, D)),
                          np.zeros((0, q + 1), dtype=np.bool_)))  # fmt: skip
            continue
        keep = 0
        for i in range(p):
            if not sign * f[i] < -tol_j:
                keep += 1
        V2 = np.empty((keep + n_new, D))
        act2 = np.zeros((keep + n_new, q + 1), dtype=np.bool_)
        r = 0
        for i in range(p):
            if not sign * f[i] < -tol_j:
                V2[r] = V[i]
                act2[r, :q] = act[i]
                r += 1
        for i in range(n_new):
            V2[r] = new_V[i]
            act2[r, :q] = new_act[i]
            r += 1
        on = np.dot(V2, an)
        for i in range(keep + n_new):
            act2[i, q] = abs(on[i]) <= tol
        H2 = np.empty((q + 1, D))
        H2[:q] = H
        H2[q] = sign * an
        sides.append((True, V2, H2, act2))
    return (*sides[0], *sides[1])


@jit
def next_layer(Mq, pattern, lo, W, b):
    """[W_{l+1} diag(mask) M | + b]: the homogenised pre-activation of the next layer."""
    post = Mq.copy()
    for i in range(Mq.shape[0]):
        if not pattern[lo + i]:
            post[i, :] = 0.0
    nxt = np.dot(W, post)
    nxt[:, -1] += b
    return nxt


@jit
def walk_support(first, net, fan, tol, rank_tol, max_leaves):
    """Every leaf of the search tree of one support: (patterns, complete).

    `first` is [W_1S | b_1] (n_1 x (s + 1)); `net` (a `network.PackedNetwork`) supplies the
    later hidden layers; `fan` = (V, H, act) stacks the s + 1 initial cones
    (`initial_fan`). `patterns` (leaves x words, uint64) holds every leaf's activation pattern over
    all hidden layers, bit i of the concatenated masks in bit i % 64 of word i // 64.
    `complete` is False when the walk stopped after more than `max_leaves` leaves.
    """
    flat, w_off, b_off, dims = net.flat, net.w_off, net.b_off, net.dims
    fan_V, fan_H, fan_act = fan
    hidden = dims.shape[0] - 2
    offsets = np.zeros(hidden + 1, dtype=np.int64)
    for layer in range(hidden):
        offsets[layer + 1] = offsets[layer] + dims[layer + 1]
    total = offsets[hidden]
    words = (total + 63) // 64
    out = np.zeros((64, words), dtype=np.uint64)
    n_out = 0
    norms0 = row_norms(first)
    stack = []
    for c in range(fan_V.shape[0]):
        stack.append((fan_V[c].copy(), fan_H[c].copy(), fan_act[c].copy(), first, norms0, 0,
                      np.zeros(total, dtype=np.bool_), 0))  # fmt: skip
    while len(stack) > 0:
        V, H, act, Mq, norms, start, pattern, layer = stack.pop()
        lo = offsets[layer]
        n_l = Mq.shape[0]
        F = np.dot(V, Mq.T)
        p = V.shape[0]
        cut = -1
        for c in range(start, n_l):
            t = tol * norms[c]
            pos = False
            neg = False
            for r in range(p):
                if F[r, c] > t:
                    pos = True
                elif F[r, c] < -t:
                    neg = True
            if pos and neg:
                cut = c
                break
            pattern[lo + c] = pos
        if cut >= 0:
            t = tol * norms[cut]
            res = split_region(V, H, act, Mq[cut], F[:, cut].copy(), t, tol, rank_tol)
            if res[4]:
                minus = pattern.copy()
                minus[lo + cut] = False
                stack.append((res[5], res[6], res[7], Mq, norms, cut + 1, minus, layer))
            if res[0]:
                pattern[lo + cut] = True
                stack.append((res[1], res[2], res[3], Mq, norms, cut + 1, pattern, layer))
            continue
        if layer + 1 < hidden:
            nxt_rows, nxt_cols = dims[layer + 2], dims[layer + 1]
            W = flat[w_off[layer + 1] : w_off[layer + 1] + nxt_rows * nxt_cols]
            b = flat[b_off[layer + 1] : b_off[layer + 1] + nxt_rows]
            nxt = next_layer(Mq, pattern, lo, W.reshape(nxt_rows, nxt_cols), b)
            stack.append((V, H, act, nxt, row_norms(nxt), 0, pattern, layer + 1))
            continue
        if n_out == out.shape[0]:
            grown = np.zeros((2 * n_out, words), dtype=np.uint64)
            grown[:n_out] = out
            out = grown
        for i in range(total):
            if pattern[i]:
                out[n_out, i // 64] |= np.uint64(1) << np.uint64(i % 64)
        n_out += 1
        if n_out > max_leaves:
            return out[:n_out], False
    return out[:n_out], True


def warm_up() -> None:
    """Compile the kernels of this module on a tiny two-layer network (s = 1 and s = 2)."""
    from sdlss_theory._kernels.network import pack_network

    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((3, 2)), rng.standard_normal((3, 3)),
               rng.standard_normal((2, 3))]  # fmt: skip
    biases = [rng.standard_normal(3), rng.standard_normal(3), np.zeros(2)]
    net = pack_network(weights, biases, [1, 1, 0])
    for s in (1, 2):
        first = np.ascontiguousarray(np.hstack([weights[0][:, :s], biases[0][:, None]]))
        walk_support(first, net, initial_fan(s), 1e-10, 1e-9, 1000)


def initial_fan(s: int):
    """The initial fan of `pieces._initial_regions` stacked: V, H (s+1, s+1, s+1), act."""
    from sdlss_theory.pieces import _initial_regions

    fan = _initial_regions(s)
    return (np.ascontiguousarray(np.stack([r.V for r in fan])),
            np.ascontiguousarray(np.stack([r.H for r in fan])),
            np.ascontiguousarray(np.stack([r.act for r in fan])))  # fmt: skip
