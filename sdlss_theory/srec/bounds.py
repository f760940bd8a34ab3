"""Certified two-sided bounds on the S-REC constant: `srec_bounds` and its options.

The lower bound evaluates sigma_min of A on the span of every pair of linear pieces (the
numba kernel `sdlss_theory._kernels.pairs`, or the NumPy reference), refines the lowest
pairs to the exact minimum over their difference cones (`sdlss_theory.srec.relaxation`),
and falls back to the union-bound guarantee beyond its budget; the upper bound is witnessed
by explicit pairs (random, refined, and `adversarial_ratio`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from sdlss_theory._kernels import pairs as pair_kernels
from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.cone_quotient import GRAM_FLOOR, TINY_COLUMN, subspace_min_ratio
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pieces import linear_pieces
from sdlss_theory.projection import check_sparsity
from sdlss_theory.srec._common import (
    _build_options,
    _check_generator,
    _check_matrix,
    _is_bias_free,
    _ratio,
    _tie,
    _well_separated,
)
from sdlss_theory.srec.adversarial import adversarial_ratio
from sdlss_theory.srec.one_sparse import srec_one_sparse
from sdlss_theory.srec.relaxation import _pair_witness, _PairCones, _refine_batch, _self_witness
from sdlss_theory.srec.sampling import random_pair_ratios
from sdlss_theory.theory import linear_piece_count_log, union_bound_gamma

# Piece pairs refined per batch by srec_bounds: the first batch, and the largest (batches
# double, so that the bound stops the refinement early when it can).
_REFINE_FIRST = 64
_REFINE_CHUNK = 8192
# Piece pairs whose span values one call of the pair kernel writes (memory: 8 bytes each).
_PAIR_BLOCK = 1 << 21
# Span values by the numba kernel (True) or by the NumPy reference (False; for benchmarks).
_PAIR_KERNEL = True
# (gram_floor, tiny) of the pair kernels: those of `subspace_min_ratio`'s Cholesky route.
_TOLS = (GRAM_FLOOR, TINY_COLUMN)
# Refined pairs whose witnesses srec_bounds builds (the best few by their cone minimum).
_WITNESSES = 8


@dataclass(frozen=True)
class SRECBounds:
    """Two-sided bounds on the S-REC constant gamma* of A on range_s(G) (see `srec_bounds`).

    Attributes
    ----------
    lower : float
        A lower bound on gamma*: proven for this A when `certified`, otherwise the union-bound
        guarantee, which holds with probability `probability` over the draw of A.
    upper : float
        ||A(G(z1) - G(z2))|| / ||G(z1) - G(z2)|| of the returned pair: an upper bound.
    certified : bool
        Whether `lower` is a proven bound for this A: every piece pair was evaluated and the
        enumeration left out no region thinner than its tolerance (``n_thin == 0``).
    exact : bool
        Whether upper - lower <= rtol * upper + atol, with `certified`: gamma* is known to
        rtol, or to atol where it is (near) 0.
    method : str
        How `lower` was obtained: ``"closed form"`` (s = 1, no biases), ``"piece pairs"``,
        or ``"union bound"`` (the fallback).
    z1, z2 : ndarray, shape (k,)
        The s-sparse pair witnessing `upper`.
    random_min : float
        The smallest ratio over the random pairs (`upper` <= it).
    n_pieces : int
        Number of linear pieces enumerated (-1 when the enumeration ran out of budget).
    n_pairs : int
        Piece pairs evaluated (with repetition: N (N + 1) / 2).
    n_refined : int
        Piece pairs whose difference cone was minimised exactly.
    probability : float
        1.0 for a certificate; the guarantee's probability for the fallback.
    rtol : float
        The relative tolerance of `exact`.
    atol : float
        The absolute tolerance of `exact`.
    n_thin : int
        Regions left out of the enumeration as thinner than its tolerance, although beyond
        rounding (`sdlss_theory.pieces.Pieces.n_thin`); when > 0, nothing is certified.
    """

    lower: float
    upper: float
    certified: bool
    exact: bool
    method: str
    z1: np.ndarray
    z2: np.ndarray
    random_min: float
    n_pieces: int
    n_pairs: int
    n_refined: int
    probability: float
    rtol: float
    atol: float = 0.0
    n_thin: int = 0


def _piece_pair_values_numpy(pieces, A, chunk: int = 4096) -> np.ndarray:
    """sigma_min of A on span{J_P, J_Q, c_P - c_Q} for every unordered pair P <= Q (NumPy).

    The reference route of `_piece_pair_values` (batched `subspace_min_ratio`), in row-major
    order of the pairs.
    """
    N = len(pieces)
    J, C = pieces.jacobians, pieces.offsets
    AJ = np.matmul(A, J)
    AC = C @ A.T
    biased = bool(np.any(C))
    iu, jv = np.triu_indices(N, 0)
    values = np.empty(iu.size)
    same = iu == jv
    values[same] = subspace_min_ratio(A, J, AJ)  # a piece with itself: range(J_P)
    pairs = np.flatnonzero(~same)
    for start in range(0, pairs.size, chunk):
        idx = pairs[start : start + chunk]
        P, Q = iu[idx], jv[idx]
        parts, aparts = [J[P], J[Q]], [AJ[P], AJ[Q]]
        if biased:
            parts.append((C[P] - C[Q])[:, :, None])
            aparts.append((AC[P] - AC[Q])[:, :, None])
        X = np.concatenate(parts, axis=2)
        AX = np.concatenate(aparts, axis=2)
        values[idx] = subspace_min_ratio(A, X, AX)
    return values


def _pair_columns(pieces, A, P, Q, biased):
    """X = [J_P, J_Q, c_P - c_Q] (J_P alone for P = Q) and A X for pairs of one kind."""
    J, C = pieces.jacobians, pieces.offsets
    if np.all(P == Q):
        X = J[P]
    else:
        parts = [J[P], J[Q]]
        if biased:
            parts.append((C[P] - C[Q])[:, :, None])
        X = np.concatenate(parts, axis=2)
    return X, np.matmul(A, X)


def _pair_blocks(pieces, A) -> tuple:
    """The per-piece inputs of the pair kernels: (JT, AJT, GJ, GAJ, C, AC, norms)."""
    J, C = pieces.jacobians, pieces.offsets
    JT = np.ascontiguousarray(J.transpose(0, 2, 1))
    AJT = np.ascontiguousarray(np.matmul(A, J).transpose(0, 2, 1))
    GJ, GAJ = np.matmul(JT, J), np.matmul(AJT, AJT.transpose(0, 2, 1))
    C = np.ascontiguousarray(C)
    norms = np.ascontiguousarray(np.linalg.norm(J, axis=1))
    return JT, AJT, GJ, GAJ, C, np.ascontiguousarray(C @ A.T), norms


def _jacobian_basis(JnT: np.ndarray) -> np.ndarray:
    """An orthonormal basis (n, r_W) of the span of every unit Jacobian column.

    Used only where it is exact to rounding (no unit column farther than 1e-13 from it);
    otherwise the identity.
    """
    N, s, n = JnT.shape
    if N * s <= n:
        return np.eye(n)
    cols = JnT.reshape(N * s, n)
    U, sv, _ = np.linalg.svd(cols.T, full_matrices=False)
    rank = int(np.sum(sv > 1e-10 * sv[0]))
    if rank >= n:
        return np.eye(n)
    U = U[:, :rank]
    if np.max(np.linalg.norm(cols - (cols @ U) @ U.T, axis=1)) > 1e-13:
        return np.eye(n)
    return U


def _prune_prep(blocks: tuple, A: np.ndarray, threshold: float) -> tuple[tuple, float]:
    """The per-piece blocks of `pair_kernels.pruned_span_values` for `threshold`, and tau.

    cut = threshold^2 (1 + 1e-7): a pair is skipped only when X^T (A^T A - cut I) X is
    definite with every Cholesky pivot above tau = 1e-9 (||A||_2^2 + cut) (unit columns),
    so that rounding cannot put a value at most `threshold` among the skipped ones.
    """
    JT, AJT, _, _, C, AC, norms = blocks
    N, s, n = JT.shape
    cut = float(threshold) ** 2 * (1.0 + 1e-7)
    tau = 1e-9 * (float(np.linalg.norm(A, 2)) ** 2 + cut)
    live = np.all(norms > 0.0, axis=1)
    scale = np.where(norms > 0.0, 1.0 / np.where(norms > 0.0, norms, 1.0), 0.0)
    JnT, AJnT = JT * scale[:, :, None], AJT * scale[:, :, None]
    U = _jacobian_basis(JnT)
    ZT = np.ascontiguousarray(JnT @ U)  # (N, s, r_W)
    AU = A @ U
    M = AU.T @ AU - cut * np.eye(U.shape[1])
    K = np.matmul(AJnT, AJnT.transpose(0, 2, 1)) - cut * np.matmul(ZT, ZT.transpose(0, 2, 1))
    K = 0.5 * (K + K.transpose(0, 2, 1))
    ok = live & (np.linalg.eigvalsh(K)[:, 0] > tau) if N else live
    FT = np.zeros_like(ZT)
    if np.any(ok):
        L = np.linalg.cholesky(K[ok])
        FT[ok] = np.linalg.solve(L, np.matmul(ZT[ok], M))
    FF = np.ascontiguousarray(FT @ U.T)
    CA = np.ascontiguousarray(np.concatenate([C, AC], axis=1))
    JA = np.ascontiguousarray(np.concatenate([JnT, AJnT], axis=2))
    return (FT, ZT, K, ok, FF, CA, JA, np.ascontiguousarray(A), cut), tau


def _block_rows(lengths: np.ndarray, p0: int, size: int) -> int:
    """The end p1 of the block of rows from p0 whose pairs fit in `size` (one row at least)."""
    ends = np.cumsum(lengths[p0:])
    return p0 + max(1, int(np.searchsorted(ends, size, side="right")))


def _svd_fill(pieces, A, P, Q, biased, values) -> None:
    """values[i] for the pairs (P[i], Q[i]) by `subspace_min_ratio` (the kernel's NaNs)."""
    for self_pair in (True, False):
        sel = np.flatnonzero((P == Q) == self_pair)
        for lo in range(0, sel.size, 4096):
            part = sel[lo : lo + 4096]
            X, AX = _pair_columns(pieces, A, P[part], Q[part], biased)
            values[part] = subspace_min_ratio(A, X, AX)


class _PairValues(NamedTuple):
    """The piece pairs P <= Q kept by `_piece_pair_values` (values <= threshold)."""

    iu: np.ndarray
    jv: np.ndarray
    values: np.ndarray
    n_total: int
    rest: float


def _piece_pair_values(
    pieces, A, threshold: float = np.inf, *, kernel: bool | None = None
) -> _PairValues:
    """Span values of the piece pairs P <= Q that are at most `threshold`.

    The value of a pair is sigma_min of A on span{J_P, J_Q, c_P - c_Q} (range(J_P) for
    P = Q), by the Cholesky route of `subspace_min_ratio` in the numba kernel
    `sdlss_theory._kernels.pairs.pair_value` and, where that route does not apply, by
    `subspace_min_ratio` itself (its rank-revealing SVD path). With a finite `threshold`
    the kernel `pruned_span_values` skips the pairs a Schur-complement test shows to lie
    above it (`_prune_prep`), without evaluating them. ``kernel=False`` (or
    ``_PAIR_KERNEL = False``) computes every value with `_piece_pair_values_numpy`
    instead, the reference.

    Returns
    -------
    _PairValues
        ``iu, jv``: the pairs kept (values <= threshold), in row-major order of (P, Q);
        ``values``: their values; ``n_total``: N (N + 1) / 2, the pairs covered; ``rest``:
        a lower bound on the values left out: their smallest, or threshold (1 - 1e-8) for
        those the test skipped (inf when none was left out).
    """
    N = len(pieces)
    n_total = N * (N + 1) // 2
    if not (_PAIR_KERNEL if kernel is None else kernel):
        iu, jv = np.triu_indices(N, 0)
        values = _piece_pair_values_numpy(pieces, A)
        keep = values <= threshold
        rest = float(values[~keep].min(initial=np.inf))
        return _PairValues(iu[keep], jv[keep], values[keep], n_total, rest)
    blocks = _pair_blocks(pieces, A)
    biased = bool(np.any(pieces.offsets))
    prep = _prune_prep(blocks, A, threshold) if np.isfinite(threshold) else None
    lengths = N - np.arange(N)  # pairs per row P: Q = P, ..., N - 1
    size = max(min(n_total, _PAIR_BLOCK), int(lengths[0]) if N else 0)
    out_pos, out_val = np.empty(size, dtype=np.int64), np.empty(size)
    iu_all, jv_all, val_all, rest = [], [], [], np.inf
    p0 = 0
    while p0 < N:
        p1 = _block_rows(lengths, p0, size)
        if prep is None:
            written = pair_kernels.pair_span_values(blocks, biased, (p0, p1), _TOLS, out_val)
            pos = np.arange(written)
        else:
            written = pair_kernels.pruned_span_values(
                blocks, prep[0], biased, (p0, p1), (*_TOLS, prep[1]), out_pos, out_val
            )
            pos = out_pos[:written].copy()
            if written < int(lengths[p0:p1].sum()):
                rest = min(rest, threshold * (1.0 - 1e-8))
        v = out_val[:written].copy()
        starts = np.concatenate([[0], np.cumsum(lengths[p0:p1])])
        P = p0 + np.searchsorted(starts, pos, side="right") - 1
        Q = P + pos - starts[P - p0]
        todo = np.flatnonzero(np.isnan(v))
        if todo.size:
            sub = v[todo]
            _svd_fill(pieces, A, P[todo], Q[todo], biased, sub)
            v[todo] = sub
        keep = v <= threshold
        rest = min(rest, float(v[~keep].min(initial=np.inf)))
        iu_all.append(P[keep])
        jv_all.append(Q[keep])
        val_all.append(v[keep])
        p0 = p1
    cat = np.concatenate
    return _PairValues(cat(iu_all), cat(jv_all), cat(val_all), n_total, rest)


@dataclass(frozen=True)
class SRECBoundsOptions:
    """The budgets and tolerances of `srec_bounds` (frozen; every field checked on creation).

    Attributes
    ----------
    n_pairs : int
        Random pairs for the upper bound.
    restarts, max_iter : int
        The adversarial search (`adversarial_ratio`).
    max_pieces : int
        Budget of the piece enumeration (default 50,000).
    max_pair_evals : int
        Budget of piece pairs, N (N + 1) / 2 <= max_pair_evals (default 1.5e9, which
        50,000 pieces stay under). The pairs above an upper bound on gamma* cost about
        0.1-0.2 us each (a Schur-complement test, `_piece_pair_values`), so this is a
        few minutes of one core.
    refine : int
        Budget of piece pairs whose difference cone is minimised exactly.
    max_generators : int
        Pairs whose difference cone has more generators than this keep their span value.
    prob : float
        Probability of the union-bound fallback, in [0, 1).
    rtol : float
        Relative tolerance of ``exact``: upper - lower <= rtol * upper + atol.
    atol : float or None
        Absolute tolerance of ``exact`` (default ``rtol * ||A||_2``), so that gamma* = 0 is
        known exactly when the witnessed upper bound is at the rounding level.
    closed_form : bool
        Use `srec_one_sparse` where it applies (s = 1, no biases); False runs the piece
        route there too (the two agree, a check of both).

    """

    n_pairs: int = 200
    restarts: int = 8
    max_iter: int = 200
    max_pieces: int = 50_000
    max_pair_evals: int = 1_500_000_000
    refine: int = 200_000
    max_generators: int = 8
    prob: float = 0.95
    rtol: float = 1e-6
    atol: float | None = None
    closed_form: bool = True

    def __post_init__(self) -> None:
        positive = ("n_pairs", "restarts", "max_iter", "max_pieces", "max_pair_evals",
                    "max_generators")  # fmt: skip
        for name in positive:
            object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=1))
        object.__setattr__(self, "refine", check_int(self.refine, "refine", minimum=0))
        prob = self.prob
        if isinstance(prob, bool) or not isinstance(prob, (int, float, np.floating, np.integer)):
            raise TypeError(f"prob must be a real number, got {prob!r}")
        if not 0.0 <= prob < 1.0:
            raise ValueError(f"prob must lie in [0, 1), got {prob!r}")
        object.__setattr__(self, "prob", float(prob))
        object.__setattr__(self, "rtol", check_positive_float(self.rtol, "rtol"))
        if self.atol is not None:
            atol = check_positive_float(self.atol, "atol", allow_zero=True)
            object.__setattr__(self, "atol", atol)
        if not isinstance(self.closed_form, (bool, np.bool_)):
            raise TypeError(f"closed_form must be a bool, got {self.closed_form!r}")
        object.__setattr__(self, "closed_form", bool(self.closed_form))


class _Lower(NamedTuple):
    """A lower bound and how it was obtained, before the upper bound is searched for."""

    lower: float
    certified: bool
    method: str
    n_pieces: int
    n_pairs: int = 0
    n_refined: int = 0
    probability: float = 1.0
    extra: tuple = ()  # explicit pairs (ratio, z1, z2) found on the way
    n_thin: int = 0


class _Run:
    """One call of `srec_bounds`: its problem, options, random pairs and upper-bound search."""

    def __init__(self, G, A, s: int, rng: np.random.Generator, opts: SRECBoundsOptions):
        self.G, self.A, self.s, self.rng, self.opts = G, A, s, rng, opts
        atol = opts.rtol * float(np.linalg.norm(A, 2)) if opts.atol is None else opts.atol
        self.atol = check_positive_float(atol, "atol", allow_zero=True)
        # Random pairs: half on one support, half on two (all on one if s = k).
        n_pairs = opts.n_pairs
        n_same = n_pairs if s == G.k else n_pairs // 2
        parts = []
        if n_same:
            parts.append(random_pair_ratios(G, A, s, n_same, rng=rng, same_support=True,
                                            return_pairs=True))  # fmt: skip
        if n_pairs - n_same:
            parts.append(random_pair_ratios(G, A, s, n_pairs - n_same, rng=rng,
                                            return_pairs=True))  # fmt: skip
        ratios = np.concatenate([p.ratios for p in parts])
        rz1 = np.concatenate([p.z1 for p in parts])
        rz2 = np.concatenate([p.z2 for p in parts])
        self.random_min = float(ratios.min())
        self.candidates = [(self.random_min, rz1[np.argmin(ratios)], rz2[np.argmin(ratios)])]

    def known(self, lower: float, upper: float) -> bool:
        """Whether upper - lower is within the tolerance of ``exact``."""
        return bool(upper - lower <= self.opts.rtol * upper + self.atol)

    def finish(self, low: _Lower) -> SRECBounds:
        """The bounds from `low` and the best explicit pair (searched for unless known)."""
        cand = sorted(self.candidates + list(low.extra), key=lambda c: c[0])
        upper, z1, z2 = cand[0]
        if not (low.certified and self.known(low.lower, upper)):
            adv = self._adversarial(cand)
            if adv.ratio < upper:
                upper, z1, z2 = adv.ratio, adv.z1, adv.z2
        lower = min(low.lower, upper) if low.certified else low.lower
        exact = bool(low.certified and self.known(lower, upper))
        return SRECBounds(
            lower=float(lower), upper=float(upper), certified=low.certified, exact=exact,
            method=low.method, z1=np.asarray(z1, dtype=float), z2=np.asarray(z2, dtype=float),
            random_min=self.random_min, n_pieces=low.n_pieces, n_pairs=low.n_pairs,
            n_refined=low.n_refined, probability=low.probability, rtol=self.opts.rtol,
            atol=self.atol, n_thin=low.n_thin,
        )  # fmt: skip

    def _adversarial(self, cand: list):
        """`adversarial_ratio` started from the best well-separated explicit pairs."""
        G, opts = self.G, self.opts
        top = [c for c in cand if _well_separated(G, c[1], c[2])][: max(1, opts.restarts // 2)]
        starts = (np.array([c[1] for c in top]), np.array([c[2] for c in top])) if top else None
        return adversarial_ratio(
            G, self.A, self.s, rng=self.rng, restarts=opts.restarts, max_iter=opts.max_iter,
            screen=opts.n_pairs, starts=starts,
        )  # fmt: skip


def _union_bound_lower(G, s: int, m: int, pieces, rank: int, prob: float) -> _Lower:
    """The fallback: the union-bound guarantee, with the exact piece count where known."""
    N, thin = len(pieces), pieces.n_thin
    if pieces.complete and not thin:
        log_n = math.log(N)
    else:
        log_n = linear_piece_count_log(G.k, s, G.relu_widths) if G.relu_depth else 0.0
    lower = float(union_bound_gamma(m, log_n, rank, prob))
    return _Lower(lower, False, "union bound", N if pieces.complete else -1, 0, 0, prob, (), thin)


def _best_pairs(best_pairs: list, val, P, Q, coefs) -> list:
    """The `_WITNESSES` refined pairs with the smallest witness values so far."""
    for j in np.argsort(val)[:_WITNESSES]:
        if np.isfinite(val[j]):
            best_pairs.append((float(val[j]), int(P[j]), int(Q[j]), coefs[j]))
    return sorted(best_pairs, key=lambda c: c[0])[:_WITNESSES]


def _refine_pairs(run: _Run, pieces, rank: int) -> tuple[float, list, int, int]:
    """The piece-pair lower bound: (lower, best refined pairs, pairs evaluated, refined).

    Only pairs whose span value is near the smallest exact ratio known can be refined: the
    kernel keeps those below an upper bound on gamma* (a random pair, a piece with itself);
    if the refinement would reach beyond them, every pair is kept and it starts again.
    """
    A, opts = run.A, run.opts
    J = pieces.jacobians
    self_min = float(subspace_min_ratio(A, J, np.matmul(A, J)).min())
    threshold = min(run.random_min, self_min) * (1.0 + 1e-6)
    cones = _PairCones(pieces, A)
    for keep_below in (threshold, np.inf):
        iu, jv, span, n_evals, rest = _piece_pair_values(pieces, A, keep_below)
        order = np.argsort(span, kind="stable")
        best, best_pairs, refined, start, chunk = np.inf, [], 0, 0, _REFINE_FIRST
        spilled = False  # whether a pair left out would have been refined
        # Ties are refined too: a pair whose span value equals the best bound may hold its witness
        # (the minimiser often lies on a face shared by several pairs).
        while start < order.size and span[order[start]] <= _tie(best) and refined < opts.refine:
            step = min(chunk, opts.refine - refined)
            chunk = min(2 * chunk, _REFINE_CHUNK)
            spilled |= start + step > order.size and rest <= _tie(best)
            take = order[start : start + step]
            take = take[span[take] <= _tie(best)]
            start += step
            refined += take.size
            P, Q = iu[take], jv[take]
            lo, val, coefs = _refine_batch(cones, A, P, Q, span[take], opts.max_generators, rank)
            best = min(best, float(lo.min()))
            best_pairs = _best_pairs(best_pairs, val, P, Q, coefs)
            # A witness within the tolerance of `exact` of the bound so far (the pairs left out
            # included): more refinement could only raise the bound towards it (at gamma* = 0
            # every pair ties at 0 otherwise).
            bound = best if start >= order.size else min(best, float(span[order[start]]))
            if best_pairs and run.known(min(bound, rest), best_pairs[0][0]):
                break
        spilled |= start >= order.size and refined < opts.refine and rest <= _tie(best)
        if not spilled:
            break
    lower = best if start >= order.size else min(best, float(span[order[start]]))
    return lower, best_pairs, n_evals, refined


def _witnesses(G, A, pieces, best_pairs: list) -> tuple:
    """Explicit pairs (ratio, z1, z2) of the best refined piece pairs (the valid ones).

    Several pairs often share the minimum (a face common to adjacent pieces): the witnesses
    of the few best are built and every one that is a valid pair is kept.
    """
    extra = []
    for _, Pb, Qb, coef in best_pairs:
        pair = (
            _self_witness(G, pieces, Pb, A) if Pb == Qb else _pair_witness(G, pieces, Pb, Qb, coef)
        )
        if pair is not None:
            ratio = _ratio(G, A, *pair)
            if np.isfinite(ratio):
                extra.append((ratio, pair[0], pair[1]))
    return tuple(extra)


def srec_bounds(
    G: ReLUGenerator,
    A: np.ndarray,
    s: int,
    *,
    rng: np.random.Generator | int | None = None,
    options: SRECBoundsOptions | None = None,
    **knobs: Any,
) -> SRECBounds:
    r"""Certified lower and witnessed upper bounds on the S-REC constant of A on range_s(G).

    gamma* = inf { ||A(x1 - x2)|| / ||x1 - x2|| : x1 != x2 in range_s(G) } (S-REC with
    delta = 0, [BJPD17]_). Two bounds are computed, each with the direction it is proven in:

    **Lower (a proof).** G is affine on each of its N linear pieces (`linear_pieces`: every
    activation region of every support, enumerated exactly), so x1 - x2 for x1 in piece P and
    x2 in piece Q lies in span{J_P, J_Q, c_P - c_Q}, and

    .. math::

        \gamma^\star \ \ge\ \min_{P \le Q} \sigma_{\min}\big(A|_{\operatorname{span}\{J_P,
        J_Q, c_P - c_Q\}}\big)

    over all N (N + 1) / 2 pairs, a piece with itself included (`piece_pair_relaxation`; the
    point G(0) and codes with fewer non-zeros lie in the closures of the pieces). The pairs are
    then refined in increasing order of that value: the exact minimum over the pair's
    difference cone, generated by the differences of the two regions' vertices and by their
    recession directions (`sdlss_theory.cone_quotient.cone_min_ratio_batch`; for pairs with
    more than ``max_generators`` generators only the test whether the span's worst direction lies
    in the cone, else they keep the span value), replaces the span value, until
    the next span value is no smaller than the best refined one, or a refined pair's witness
    value is within the tolerance of ``exact`` of the bound so far (or ``refine``
    pairs were refined). The bound is the smaller of the two.

    For s = 1 without biases the range is 2k rays and gamma* has a closed form
    (`srec_one_sparse`), which is used instead: lower = upper = gamma*.

    **Upper (a witness).** The smallest ratio of an explicit pair: the witnesses of the refined
    pairs, ``n_pairs`` random pairs (half on one support), and `adversarial_ratio` started from
    the best of them (skipped once lower and upper agree). So upper <= every random-pair ratio
    by construction, and the returned pair (z1, z2) attains it.

    **Fallback.** When the pieces exceed ``max_pieces`` or the pairs ``max_pair_evals``, the lower
    bound is the union-bound guarantee `sdlss_theory.theory.union_bound_gamma` (with the exact
    piece count when it is known, the bound of `linear_piece_count_log` otherwise), which
    holds with probability ``prob`` over A and is no certificate for this A: ``certified`` is
    False.

    **Thin regions.** The enumeration leaves out regions thinner than its tolerance (1e-10,
    relative, see `linear_pieces`), and with them their affine maps; since the ratio is
    scale-free, a left-out region can hold the worst pair however thin it is. Such a region
    is detected whenever one of its extreme rays lies beyond the rounding level (1e-13) off
    the neuron's hyperplane (`sdlss_theory.pieces.Pieces.n_thin`); then nothing is certified
    and the lower bound is the union-bound fallback with the worst-case piece count.

    What is proven, when ``certified``: gamma* >= lower for this A, in floating point, for
    the pieces of G whose regions reach beyond 1e-13 (relative, in the homogenised
    coordinates of `linear_pieces`) of their bounding hyperplanes; a region thinner than that
    is below the resolution of the enumeration and can be neither kept nor detected.

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    A : array_like, shape (m, n)
        The sensing matrix.
    s : int
        Sparsity, 1 <= s <= k.
    rng : numpy.random.Generator or int
        Source of the random and adversarial pairs (keyword-only).
    options : SRECBoundsOptions, optional
        The budgets and tolerances (default ``SRECBoundsOptions()``).
    **knobs
        Fields of `SRECBoundsOptions` by keyword (``n_pairs``, ``restarts``, ``max_iter``,
        ``max_pieces``, ``max_pair_evals``, ``refine``, ``max_generators``, ``prob``,
        ``rtol``, ``atol``, ``closed_form``), replacing those of `options`.

    Returns
    -------
    SRECBounds
        lower, upper, certified, exact, the witness pair and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([6, 10, 20], rng)
    >>> A = gaussian_matrix(12, 20, rng)
    >>> b = srec_bounds(G, A, 1, rng=rng)
    >>> b.certified, b.exact, b.lower <= b.upper
    (True, True, True)
    """
    opts = _build_options(SRECBoundsOptions, options, knobs, "srec_bounds")
    rng = check_rng(rng)
    G = _check_generator(G)
    A = _check_matrix(A, G)
    s = check_sparsity(s, G.k)
    if G.output != "linear":
        raise ValueError(
            f"srec_bounds needs a linear output layer; this generator's output is {G.output!r}"
        )
    run = _Run(G, A, s, rng, opts)
    bias_free = _is_bias_free(G)
    if s == 1 and bias_free and opts.closed_form:
        exact1 = srec_one_sparse(G, A)
        witness = (_ratio(G, A, exact1.z1, exact1.z2), exact1.z1, exact1.z2)
        return run.finish(_Lower(exact1.value, True, "closed form", 2 * G.k, extra=(witness,)))

    rank = 2 * s + (0 if bias_free else 1)
    pieces = linear_pieces(G, s, max_pieces=opts.max_pieces)
    N = len(pieces)
    # Regions thinner than the enumeration's tolerance were left out (n_thin): the pieces miss
    # affine maps, so no piece-pair bound is a proof, and N is no piece count.
    if pieces.n_thin or not pieces.complete or N * (N + 1) // 2 > opts.max_pair_evals:
        return run.finish(_union_bound_lower(G, s, A.shape[0], pieces, rank, opts.prob))
    lower, best_pairs, n_evals, refined = _refine_pairs(run, pieces, rank)
    extra = _witnesses(G, A, pieces, best_pairs)
    return run.finish(
        _Lower(max(lower, 0.0), True, "piece pairs", N, n_evals, refined, 1.0, extra)
    )
