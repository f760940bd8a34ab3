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
def scan_columns(F, norms, tol, thin, start, pattern, lo):
    """The first neuron >= start whose pre-activation F takes both signs beyond tolerance.

    Neurons before it (from `start` on) are uncut: their bit is set to "positive somewhere"
    (``pattern[lo + c]``). Returns (cut, thin sides): cut = -1 when no neuron cuts, and the
    number of uncut neurons with a side left out though a ray lies beyond ``thin ||a||``
    (`pieces._thin_sides`; 0 when ``thin`` is 0).
    """
    p = F.shape[0]
    n_thin = 0
    for c in range(start, F.shape[1]):
        t = tol * norms[c]
        t_thin = thin * norms[c]
        pos = False
        neg = False
        pos_thin = False
        neg_thin = False
        for r in range(p):
            f = F[r, c]
            if f > t:
                pos = True
            elif f < -t:
                neg = True
            if f > t_thin:
                pos_thin = True
            elif f < -t_thin:
                neg_thin = True
        if pos and neg:
            return c, n_thin
        pattern[lo + c] = pos
        if thin > 0.0 and ((pos_thin and not pos) or (neg_thin and not neg)):
            n_thin += 1
    return -1, n_thin


@jit
def walk_support(first, net, fan, tol, rank_tol, thin, keep_rays, max_leaves):
    """Every leaf of one support's search tree: (patterns, rays, ray_off, cell, n_thin, complete).

    `first` is [W_1S | b_1] (n_1 x (s + 1)); `net` (a `network.PackedNetwork`) supplies the
    later hidden layers; `fan` = (V, H, act) stacks the s + 1 initial cones (`initial_fan`).
    `patterns` (leaves x words, uint64) holds every leaf's activation pattern over all hidden
    layers, bit i of the concatenated masks in bit i % 64 of word i // 64. With `keep_rays`,
    leaf i's region has the homogenised rays ``rays[ray_off[i]:ray_off[i + 1]]`` (else
    `rays` is empty); `cell[i]` is the fan cell it lies in. `n_thin` counts the sides left
    out as thinner than `tol` though a ray lies beyond `thin` (`pieces.THIN`; 0 disables).
    `complete` is False when the walk stopped after more than `max_leaves` leaves.
    """
    flat, w_off, b_off, dims = net.flat, net.w_off, net.b_off, net.dims
    fan_V, fan_H, fan_act = fan
    hidden = dims.shape[0] - 2
    offsets = np.zeros(hidden + 1, dtype=np.int64)
    for layer in range(hidden):
        offsets[layer + 1] = offsets[layer] + dims[layer + 1]
    total = offsets[hidden]
    out = np.zeros((64, (total + 63) // 64), dtype=np.uint64)
    D = first.shape[1]
    rays = np.empty((64 if keep_rays else 0, D))
    ray_off = np.zeros(65, dtype=np.int64)
    cell = np.zeros(64, dtype=np.int64)
    n_out, n_thin = 0, 0
    stack = []
    for c in range(fan_V.shape[0]):
        stack.append((fan_V[c].copy(), fan_H[c].copy(), fan_act[c].copy(), first,
                      row_norms(first), 0, np.zeros(total, dtype=np.bool_), 0, c))  # fmt: skip
    while len(stack) > 0:
        V, H, act, Mq, norms, start, pattern, layer, root = stack.pop()
        F = np.dot(V, Mq.T)
        cut, n_add = scan_columns(F, norms, tol, thin, start, pattern, offsets[layer])
        n_thin += n_add
        if cut >= 0:
            res = split_region(V, H, act, Mq[cut], F[:, cut].copy(), tol * norms[cut], tol,
                               rank_tol)  # fmt: skip
            if res[4]:
                minus = pattern.copy()
                minus[offsets[layer] + cut] = False
                stack.append((res[5], res[6], res[7], Mq, norms, cut + 1, minus, layer, root))
            if res[0]:
                pattern[offsets[layer] + cut] = True
                stack.append((res[1], res[2], res[3], Mq, norms, cut + 1, pattern, layer, root))
            continue
        if layer + 1 < hidden:
            rows, cols = dims[layer + 2], dims[layer + 1]
            W = flat[w_off[layer + 1] : w_off[layer + 1] + rows * cols].reshape(rows, cols)
            b = flat[b_off[layer + 1] : b_off[layer + 1] + rows]
            nxt = next_layer(Mq, pattern, offsets[layer], W, b)
            stack.append((V, H, act, nxt, row_norms(nxt), 0, pattern, layer + 1, root))
            continue
        if n_out == out.shape[0]:
            out = grow_rows(out, 2 * n_out)
            ray_off = np.concatenate((ray_off, np.zeros(n_out, dtype=np.int64)))
            cell = np.concatenate((cell, np.zeros(n_out, dtype=np.int64)))
        cell[n_out] = root
        for i in range(total):
            if pattern[i]:
                out[n_out, i // 64] |= np.uint64(1) << np.uint64(i % 64)
        end = ray_off[n_out] + (V.shape[0] if keep_rays else 0)
        if keep_rays:
            if end > rays.shape[0]:
                rays = grow_rows(rays, max(2 * rays.shape[0], end))
            rays[ray_off[n_out] : end] = V
        ray_off[n_out + 1] = end
        n_out += 1
        if n_out > max_leaves:
            return out[:n_out], rays[:end], ray_off[: n_out + 1], cell[:n_out], n_thin, False
    end = ray_off[n_out]
    return out[:n_out], rays[:end], ray_off[: n_out + 1], cell[:n_out], n_thin, True


@jit
def grow_rows(a, rows):
    """`a` with its leading axis grown to `rows` (new rows zero)."""
    b = np.zeros((rows, a.shape[1]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


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
        for keep in (False, True):
            walk_support(first, net, initial_fan(s), 1e-10, 1e-9, 1e-13, keep, 1000)


def initial_fan(s: int):
    """The initial fan of `pieces._initial_regions` stacked: V, H (s+1, s+1, s+1), act."""
    from sdlss_theory.pieces import _initial_regions

    fan = _initial_regions(s)
    return (np.ascontiguousarray(np.stack([r.V for r in fan])),
            np.ascontiguousarray(np.stack([r.H for r in fan])),
            np.ascontiguousarray(np.stack([r.act for r in fan])))  # fmt: skip
