r"""Exact enumeration of the linear pieces of a ReLU generator on s-sparse codes.

On a support S (|S| = s) a ReLU generator with a linear output is a continuous piecewise-affine
function of z_S in R^s: its activation regions are polyhedra, and on each one

.. math:: G(z) = J_P z_S + c_P

with J_P = W_L D_{L-1} W_{L-1} ... D_1 W_{1,S} and c_P collecting the biases (0 for a
bias-free network). `linear_pieces` finds every region of positive volume, layer by layer:
each region is cut by the hyperplane of each neuron of the next layer, and a side is kept when
it has an interior (the double description method on the homogenised cone of the region).

Representation. A polyhedron P in R^s is kept as the closed cone
K = cl{(u t, t) : u in P, t > 0} in R^{s+1}: its extreme rays are the vertices of P
(last coordinate > 0) and its recession directions (last coordinate 0), and its facets are
the inequalities of P. Cutting by an affine function a(u) = <w, u> + q is cutting K by the
linear half-space <(w, q), .> >= 0; the new extreme rays are the positive combinations of the
pairs of adjacent rays on the two sides (two rays are adjacent when the inequalities active
at both have rank s - 1) [FP96]_. R^s itself is covered by the s + 1 simplicial cones of
the fan spanned by e_1, ..., e_s and -(e_1 + ... + e_s); regions split by this fan are
merged back by activation pattern. The walk of the regions runs in the numba kernel
`sdlss_theory._kernels.regions.walk_support`; the pure-Python walk (`_support_pieces`) is
kept as its reference (``_ENUM_KERNEL = False``), and both give the same pieces, in order.

References
----------
.. [FP96] K. Fukuda and A. Prodon, "Double description method revisited", Combinatorics and
   Computer Science, LNCS 1120, 1996.
.. [HR19] B. Hanin and D. Rolnick, "Deep ReLU networks have surprisingly few activation
   patterns", NeurIPS 2019.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from sdlss_theory._validation import check_int
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.projection import check_sparsity

__all__ = ["PieceBudgetExceeded", "Pieces", "linear_pieces"]

#: Relative tolerance of "on the hyperplane": |<a, v>| <= TOL ||a|| for a unit ray v.
TOL = 1e-10
#: Two rays on opposite sides of a cut are adjacent when the inequalities active at both have
#: rank D - 2 with singular values above this.
RANK_TOL = 1e-9
#: A generator whose last coordinate is below this (for a unit ray) is a direction.
POINT_TOL = 1e-9
#: A generator within this distance (relative) of the cone of the others is not extreme.
REDUNDANT = 1e-9
#: A side of a cut whose rays all lie within TOL of the hyperplane is no region; if one of them
#: lies beyond THIN (relative, far above the rounding of a pre-activation), the side is a true
#: region thinner than TOL that was left out, and it is counted (`Pieces.n_thin`).
THIN = 1e-13


#: The region walk of `linear_pieces` runs in the numba kernel (False: the pure-Python walk,
#: `_support_pieces`, kept as the reference).
_ENUM_KERNEL = True


class PieceBudgetExceeded(RuntimeError):
    """More pieces than the budget allows (raised by `linear_pieces` with ``strict=True``)."""


@dataclass(frozen=True)
class Pieces:
    """The linear pieces of G on the s-sparse codes of some supports (see `linear_pieces`).

    Attributes
    ----------
    s : int
        The sparsity (dimension of each support).
    supports : ndarray of int, shape (N, s)
        The support of each piece, sorted.
    jacobians : ndarray, shape (N, n, s)
        J_P, the affine map's linear part on z_S.
    offsets : ndarray, shape (N, n)
        c_P, so that G(z) = J_P z_S + c_P on the piece.
    points : list of ndarray, shape (p_i, s)
        The vertices of each region (in z_S coordinates).
    rays : list of ndarray, shape (r_i, s)
        The recession directions of each region (unit vectors); empty for bounded regions.
    interior : ndarray, shape (N, s)
        A point of each region's interior (its pattern is the piece's pattern).
    patterns : list of bytes
        The activation pattern of each piece (packed bits, all hidden layers).
    complete : bool
        Whether every support asked for was enumerated (False when the budget ran out).
    n_supports : int
        Number of supports enumerated.
    n_thin : int
        Region sides left out as thinner than the tolerance although some of their rays lie
        beyond the rounding level (`THIN`): true regions, possibly with affine maps of their
        own, that the pieces do not hold. 0 means no region was left out above rounding.
    """

    s: int
    supports: np.ndarray
    jacobians: np.ndarray
    offsets: np.ndarray
    points: list
    rays: list
    interior: np.ndarray
    patterns: list
    complete: bool
    n_supports: int
    n_thin: int = 0

    def __len__(self) -> int:
        return self.supports.shape[0]

    def codes(self, index: int, u: np.ndarray, k: int) -> np.ndarray:
        """The k-dimensional code with z_S = u on the support of piece `index`."""
        z = np.zeros(k)
        z[self.supports[index]] = u
        return z


# ------------------------------------------------------------------------- one region
class _Region:
    """A homogenised polyhedral cone: rays V (p, D), inequalities H (q, D) with H V^T >= 0."""

    __slots__ = ("V", "H", "act")

    def __init__(self, V: np.ndarray, H: np.ndarray, act: np.ndarray) -> None:
        self.V = V
        self.H = H
        self.act = act  # (p, q) bool: inequality j is active (= 0) at ray i


def _initial_regions(s: int) -> list[_Region]:
    """The s + 1 simplicial cones of the fan of e_1..e_s, -(e_1+...+e_s), homogenised."""
    D = s + 1
    fan = np.vstack([np.eye(s), -np.ones((1, s)) / math.sqrt(s)])
    origin = np.zeros(D)
    origin[-1] = 1.0
    regions = []
    for drop in range(s + 1):
        R = np.delete(fan, drop, axis=0)  # (s, s): rows are the cone's rays
        rays = np.hstack([R, np.zeros((s, 1))])
        V = np.vstack([origin, rays])
        # u = R^T c with c >= 0  <=>  R^{-T} u >= 0; and t >= 0.
        inv = np.linalg.inv(R.T)
        H = np.vstack([np.hstack([inv, np.zeros((s, 1))]), origin])
        H /= np.linalg.norm(H, axis=1, keepdims=True)
        act = np.abs(V @ H.T) <= TOL
        regions.append(_Region(V, H, act))
    return regions


def _split(region: _Region, a: np.ndarray, f: np.ndarray, tol: float):
    """Cut `region` by <a, .> = 0; return the regions with <a, .> >= 0 and <= 0 (or None).

    `f` = V a. A side is returned only if it has a ray strictly inside it (then it has an
    interior, the region being full-dimensional).
    """
    pos = f > tol
    neg = f < -tol
    zero = ~(pos | neg)
    D = region.V.shape[1]
    new_rays, new_act = [], []
    ip, ineg = np.flatnonzero(pos), np.flatnonzero(neg)
    for i in ip:
        for j in ineg:
            common = region.act[i] & region.act[j]
            if common.sum() < D - 2:
                continue
            if D > 2 and np.linalg.matrix_rank(region.H[common], tol=RANK_TOL) != D - 2:
                continue
            w = f[i] * region.V[j] - f[j] * region.V[i]
            new_rays.append(w / np.linalg.norm(w))
            new_act.append(common)
    an = a / np.linalg.norm(a)
    out = []
    for side, sign in ((pos, 1.0), (neg, -1.0)):
        if not side.any():
            out.append(None)
            continue
        keep = side | zero
        V = region.V[keep]
        act = region.act[keep]
        if new_rays:
            V = np.vstack([V, np.asarray(new_rays)])
            act = np.vstack([act, np.asarray(new_act)])
        act = np.hstack([act, np.zeros((act.shape[0], 1), dtype=bool)])
        act[:, -1] = np.abs(V @ an) <= TOL
        H = np.vstack([region.H, sign * an])
        out.append(_Region(V, H, act))
    return out[0], out[1]


def _thin_sides(F: np.ndarray, tol: np.ndarray, thin: np.ndarray) -> int:
    """Sides of uncut neurons (columns of F) left out though a ray lies beyond `thin` on them.

    A neuron is uncut when its pre-activation F (rays x neurons) does not take both signs
    beyond `tol`; a sign taken only within (thin, tol] is a region thinner than the tolerance.
    """
    pos, neg = (F > tol).any(axis=0), (F < -tol).any(axis=0)
    pos_thin, neg_thin = (F > thin).any(axis=0), (F < -thin).any(axis=0)
    uncut = ~(pos & neg)
    return int(np.count_nonzero(uncut & ((pos_thin & ~pos) | (neg_thin & ~neg))))


class _Leaf:
    """A region as the kernel returns it: its homogenised rays only (all `linear_pieces` reads)."""

    __slots__ = ("V",)

    def __init__(self, V: np.ndarray) -> None:
        self.V = V


def _support_pieces_kernel(G: ReLUGenerator, S: tuple[int, ...], budget: int, thin=None):
    """`_support_pieces` with the region walk in the numba kernel `_kernels.regions`.

    The kernel returns each leaf's pattern, rays and fan cell (the same splits and
    tolerances); the leaves are put in the Python walk's order and the affine map of each is
    formed here layer by layer with the products of the Python walk, so that the pieces are
    the same, in the same order. Raises `PieceBudgetExceeded` above `budget` leaves.
    """
    from sdlss_theory._kernels import regions
    from sdlss_theory._kernels.network import pack_network

    s = len(S)
    first = np.hstack([G.weights[0][:, list(S)], G.biases[0][:, None]])
    net = pack_network(G.weights, G.biases, [0] * len(G.weights))
    words, rays, off, cell, n_thin, complete = regions.walk_support(
        np.ascontiguousarray(first), net, regions.initial_fan(s), TOL, RANK_TOL,
        THIN if thin is not None else 0.0, True, budget,
    )  # fmt: skip
    if not complete:
        raise PieceBudgetExceeded
    if thin is not None:
        thin[0] += n_thin
    sizes = [w.shape[0] for w in G.weights[:-1]]
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, : sum(sizes)]
    cuts = np.cumsum(sizes)[:-1]
    # The Python walk's order: by fan cell, then each layer's mask (False before True).
    order = np.lexsort(np.vstack([bits[:, ::-1].T, cell[None, :]]))
    for i in order:
        masks = tuple(m.astype(bool) for m in np.split(bits[i], cuts))
        Mq = first
        for layer, mask in enumerate(masks):
            post = Mq * mask[:, None]
            Mq = G.weights[layer + 1] @ post
            Mq[:, -1] += G.biases[layer + 1]
        yield masks, Mq[:, :s], Mq[:, s], _Leaf(rays[off[i] : off[i + 1]])


def _support_pieces(G: ReLUGenerator, S: tuple[int, ...], budget: int, thin=None):
    """Enumerate the regions of G on support S; yield (pattern masks, J, c, region).

    `thin`, a one-element list, is incremented by the region sides left out as thinner than
    the tolerance but beyond rounding (see `THIN`).
    """
    s = len(S)
    W1 = G.weights[0][:, list(S)]
    # Homogeneous pre-activation of layer 1: [W_1S | b_1] (n_1, s + 1).
    first = np.hstack([W1, G.biases[0][:, None]])
    cells = [(r, first, ()) for r in _initial_regions(s)]
    hidden = len(G.weights) - 1
    for layer in range(hidden):
        next_cells = []
        for region, Mq, masks in cells:
            stack = [(region, 0, np.zeros(Mq.shape[0], dtype=bool))]
            norms = np.linalg.norm(Mq, axis=1)
            thin_tol = THIN * norms
            while stack:
                reg, start, mask = stack.pop()
                F = reg.V @ Mq.T  # (p, n_l)
                tol = TOL * norms
                mixed = (F > tol).any(axis=0) & (F < -tol).any(axis=0)
                mixed[:start] = False
                idx = np.flatnonzero(mixed)
                if thin is not None:  # neurons start..j-1 are uncut here (j: the next cut)
                    stop = int(idx[0]) if idx.size else F.shape[1]
                    Fs, absF = F[:, start:stop], np.abs(F[:, start:stop])
                    if np.any((absF <= tol[start:stop]) & (absF > thin_tol[start:stop])):
                        thin[0] += _thin_sides(Fs, tol[start:stop], thin_tol[start:stop])
                if idx.size == 0:
                    on = (F > tol).any(axis=0)
                    final = mask.copy()
                    final[start:] = on[start:]
                    next_cells.append((reg, Mq, (*masks, final)))
                    if len(next_cells) + len(stack) > budget:
                        raise PieceBudgetExceeded
                    continue
                j = int(idx[0])
                plus, minus = _split(reg, Mq[j], F[:, j], tol[j])
                head = mask.copy()
                on_before = (F[:, start:j] > tol[start:j]).any(axis=0)
                head[start:j] = on_before
                for child, state in ((plus, True), (minus, False)):
                    if child is None:
                        continue
                    m2 = head.copy()
                    m2[j] = state
                    stack.append((child, j + 1, m2))
        cells = []
        W_next, b_next = G.weights[layer + 1], G.biases[layer + 1]
        for region, Mq, masks in next_cells:
            post = Mq * masks[-1][:, None]
            nxt = W_next @ post
            nxt[:, -1] += b_next
            cells.append((region, nxt, masks))
        if len(cells) > budget:
            raise PieceBudgetExceeded
    for region, Jc, masks in cells:
        yield masks, Jc[:, :s], Jc[:, s], region


def _interior_point(V: np.ndarray) -> np.ndarray:
    """A point in the interior of the polyhedron whose homogenised rays are V."""
    pts = V[V[:, -1] > POINT_TOL]
    base = np.mean(pts[:, :-1] / pts[:, -1:], axis=0)
    rays = V[V[:, -1] <= POINT_TOL, :-1]
    if rays.shape[0]:
        scale = 1.0 + np.max(np.abs(pts[:, :-1] / pts[:, -1:])) if pts.size else 1.0
        base = base + scale * np.mean(rays, axis=0)
    return base


def _extreme(V: np.ndarray) -> np.ndarray:
    """The extreme rays among the homogenised generators V (rows), normalised.

    A row in the cone of the others is dropped, one at a time (non-negative least squares,
    residual <= `REDUNDANT` of the row). Regions merged from several cells of the initial fan
    carry the fan's rays, which are not extreme; fewer generators make the cone minimisation of
    `sdlss_theory.srec` cheaper.
    """
    V = V / np.linalg.norm(V, axis=1, keepdims=True)
    keep = list(range(V.shape[0]))
    for i in range(V.shape[0]):
        others = [j for j in keep if j != i]
        if not others:
            break
        _, resid = nnls(V[others].T, V[i])
        if resid <= REDUNDANT * np.linalg.norm(V[i]):
            keep.remove(i)
    return V[keep]


def check_generator_and_sparsity(G, s) -> int:
    """Refuse anything but a ReLUGenerator with a linear output and 1 <= s <= k; return s."""
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    if G.output != "linear":
        raise ValueError(
            f"linear pieces need a linear output layer; this generator's output is {G.output!r}"
        )
    return check_sparsity(s, G.k)


def linear_pieces(
    G: ReLUGenerator,
    s: int,
    *,
    supports=None,
    max_pieces: int = 20000,
    strict: bool = False,
) -> Pieces:
    r"""Every linear piece of G on the s-sparse codes: regions, affine maps and generators.

    For each support S (all C(k, s) of them, or those given) the activation regions of
    z_S -> G(z) are enumerated exactly, layer by layer (see the module docstring): a region
    of layer l is cut by each neuron's hyperplane {z_S : (W_l h_{l-1}(z) + b_l)_i = 0}, which
    is affine on the region, and a side is kept when it has an interior. Regions of zero
    volume (faces) are left out: G is continuous, so they lie in the closures of the
    full-dimensional ones, whose affine maps extend to them.

    A region counts as cut when the neuron's pre-activation takes both signs on its extreme
    rays beyond a relative tolerance of ``1e-10`` (rays are unit vectors of R^{s+1}); regions
    thinner than that are numerically indistinguishable from their faces and are not kept.
    Such a side is a true region left out when one of its rays lies beyond the rounding level
    (``1e-13``, `THIN`); those sides are counted in ``n_thin``, so that a caller can tell an
    enumeration that holds every piece (``n_thin == 0``: nothing was left out above rounding)
    from one that missed regions thinner than the tolerance (and their affine maps).

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    s : int
        Sparsity, 1 <= s <= k.
    supports : iterable of sequences of int, optional
        The supports to enumerate (default: all C(k, s), in lexicographic order).
    max_pieces : int
        Budget: enumeration stops when more pieces than this would be held.
    strict : bool
        Raise `PieceBudgetExceeded` when the budget runs out (default: return the pieces of
        the supports finished, with ``complete=False``).

    Returns
    -------
    Pieces
        Supports, Jacobians J_P (n, s), offsets c_P, each region's vertices and recession
        directions (in z_S), an interior point, patterns, completeness, ``n_thin``.

    Notes
    -----
    Regions on one support: at most prod_l sum_{j <= s} C(n_l, j) (`theory.
    linear_piece_count_log`), far fewer on random networks [HR19]_; `count_pieces` counts
    them without storing them. Without biases every region is a cone with apex 0.

    Examples
    --------
    >>> G = ReLUGenerator.random([4, 6, 5], np.random.default_rng(0))
    >>> len(linear_pieces(G, 1))  # bias-free, s = 1: two rays per coordinate
    8
    """
    s = check_generator_and_sparsity(G, s)
    max_pieces = check_int(max_pieces, "max_pieces", minimum=1)
    if supports is None:
        supports = itertools.combinations(range(G.k), s)
    rows: list[tuple] = []
    complete, done, thin = True, 0, [0]
    for S in supports:
        try:
            rows.extend(_support_rows(G, _check_support(S, s, G.k), max_pieces - len(rows), thin))
        except PieceBudgetExceeded:
            if strict:
                msg = f"more than max_pieces = {max_pieces} linear pieces"
                raise PieceBudgetExceeded(msg) from None
            complete = False
            break
        done += 1
    return _pieces_from_rows(rows, s, G.n, complete, done, thin[0])


def _support_rows(G: ReLUGenerator, S: tuple[int, ...], budget: int, thin: list) -> list[tuple]:
    """The rows (`_piece_row`) of one support's pieces; `PieceBudgetExceeded` beyond `budget`."""
    walk = _support_pieces_kernel if _ENUM_KERNEL and len(G.weights) > 1 else _support_pieces
    merged = _merge_by_pattern(list(walk(G, S, budget, thin)))
    if len(merged) > budget:
        raise PieceBudgetExceeded
    return [_piece_row(S, key, *value) for key, value in merged.items()]


def _check_support(S, s: int, k: int) -> tuple[int, ...]:
    S = tuple(sorted(int(i) for i in S))
    if len(S) != s or len(set(S)) != s or S[0] < 0 or S[-1] >= k:
        raise ValueError(f"every support must hold {s} distinct coordinates in [0, {k})")
    return S


def _merge_by_pattern(found) -> dict[bytes, list]:
    """{packed pattern: [J, c, [rays of each fan cell's region]]} of one support's regions."""
    merged: dict[bytes, list] = {}
    for masks, J, c, region in found:
        key = np.packbits(np.concatenate(masks)).tobytes() if masks else b""
        merged.setdefault(key, [J, c, []])[2].append(region.V)
    return merged


def _piece_row(S, key: bytes, J: np.ndarray, c: np.ndarray, Vs: list) -> tuple:
    """(support, J, c, vertices, rays, interior point, pattern) of one piece."""
    V = _extreme(np.vstack(Vs))
    is_pt = V[:, -1] > POINT_TOL
    pts = V[is_pt, :-1] / V[is_pt, -1:]
    rays = V[~is_pt, :-1]
    if rays.size:
        rays = rays / np.linalg.norm(rays, axis=1, keepdims=True)
    return S, J, c, pts, rays, _interior_point(Vs[0]), key


def _pieces_from_rows(rows, s: int, n: int, complete: bool, done: int, n_thin: int) -> Pieces:
    sup, J, c, pts, rays, interior, patterns = ([row[i] for row in rows] for i in range(7))
    return Pieces(
        s=s,
        supports=np.asarray(sup, dtype=np.int64).reshape(-1, s),
        jacobians=np.asarray(J, dtype=np.float64).reshape(-1, n, s),
        offsets=np.asarray(c, dtype=np.float64).reshape(-1, n),
        points=pts,
        rays=rays,
        interior=np.asarray(interior, dtype=np.float64).reshape(-1, s),
        patterns=patterns,
        complete=complete,
        n_supports=done,
        n_thin=n_thin,
    )
