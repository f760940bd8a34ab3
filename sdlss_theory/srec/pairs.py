"""The span value of every pair of linear pieces: the first pass of `srec_bounds`.

For two pieces P <= Q of G (`sdlss_theory.pieces.linear_pieces`), the pair's span value is
sigma_min of A on span{J_P, J_Q, c_P - c_Q} (range(J_P) for P = Q), a lower bound on the
ratio ||A(x1 - x2)|| / ||x1 - x2|| over x1 in P, x2 in Q. `piece_pair_values` computes it for
all N (N + 1) / 2 pairs: by the Cholesky route of `subspace_min_ratio` in the numba kernels
`sdlss_theory._kernels.pairs` (and, where that route does not apply, by `subspace_min_ratio`'s
rank-revealing SVD path), skipping with a Schur-complement test the pairs that lie above a
threshold, and keeping at most `KEEP_MAX` of the smallest values.
`piece_pair_values_numpy` is the reference it is tested and benchmarked against (batched
`subspace_min_ratio` on every pair); ``USE_KERNEL = False`` makes `piece_pair_values` use it.

The error analysis of both routes is in the docstring of `sdlss_theory.srec.bounds`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sdlss_theory._kernels import pairs as pair_kernels
from sdlss_theory.cone_quotient import GRAM_FLOOR, TINY_COLUMN, subspace_min_ratio
from sdlss_theory.pieces import Pieces

__all__ = ["KEEP_MAX", "USE_KERNEL", "PairValues", "piece_pair_values", "piece_pair_values_numpy"]

# Piece pairs one call of the pair kernel covers (memory: 16 bytes each for its output).
_PAIR_BLOCK = 1 << 21
#: Span values by the numba kernel (True) or by the NumPy reference (False: tests and
#: benchmarks switch it to compare the two routes).
USE_KERNEL = True
#: Pairs `piece_pair_values` keeps at most (the smallest values; 24 bytes each), so that a
#: loose threshold on many pieces cannot exhaust memory; `srec_bounds` keeps at least twice
#: its refine budget.
KEEP_MAX = 16_000_000
# (gram_floor, tiny) of the pair kernels: those of `subspace_min_ratio`'s Cholesky route.
_TOLS = (GRAM_FLOOR, TINY_COLUMN)


def piece_pair_values_numpy(pieces: Pieces, A: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """sigma_min of A on span{J_P, J_Q, c_P - c_Q} for every unordered pair P <= Q (NumPy).

    The reference route of `piece_pair_values` (same `pieces` and `A`): batched
    `subspace_min_ratio`, `chunk` pairs at a time.

    Returns
    -------
    ndarray, shape (N (N + 1) / 2,)
        The span values, in row-major order of the pairs (those of ``numpy.triu_indices``).
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


class PairValues(NamedTuple):
    """The piece pairs P <= Q kept by `piece_pair_values` (values <= threshold; see there)."""

    iu: np.ndarray
    jv: np.ndarray
    values: np.ndarray
    n_total: int
    rest: float


def _trim(kept: list, rest: float, keep_max: int) -> tuple[list, float]:
    """The `keep_max` smallest of the kept (iu, jv, values), in order, and the new rest.

    rest is lowered to the smallest value dropped.
    """
    iu, jv, val = (np.concatenate(part) for part in zip(*kept, strict=True))
    if val.size <= keep_max:
        return [(iu, jv, val)], rest
    sel = np.argpartition(val, keep_max - 1)[:keep_max]
    drop = np.ones(val.size, dtype=bool)
    drop[sel] = False
    rest = min(rest, float(val[drop].min()))
    sel.sort()
    return [(iu[sel], jv[sel], val[sel])], rest


def piece_pair_values(
    pieces: Pieces, A: np.ndarray, threshold: float = np.inf, *, kernel: bool | None = None,
    keep_max: int | None = None,
) -> PairValues:
    """Span values of the piece pairs P <= Q that are at most `threshold`.

    The value of a pair is sigma_min of A on span{J_P, J_Q, c_P - c_Q} (range(J_P) for
    P = Q), by the Cholesky route of `subspace_min_ratio` in the numba kernel
    `sdlss_theory._kernels.pairs.pair_value` and, where that route does not apply, by
    `subspace_min_ratio` itself (its rank-revealing SVD path). With a finite `threshold`
    the kernel `pruned_span_values` skips the pairs a Schur-complement test shows to lie
    above it (`_prune_prep`), without evaluating them. ``kernel=False`` (or
    ``USE_KERNEL = False``) computes every value with `piece_pair_values_numpy`
    instead, the reference. At most `keep_max` pairs (default ``KEEP_MAX``) are kept:
    the smallest values, the others count in ``rest``.

    Parameters
    ----------
    pieces : Pieces
        The linear pieces of G (`linear_pieces`).
    A : ndarray, shape (m, n)
        The sensing matrix.
    threshold : float
        Keep the pairs whose value is at most this (all by default).
    kernel : bool, optional
        The numba route (True) or the NumPy reference (False); default `USE_KERNEL`.
    keep_max : int, optional
        Pairs kept at most (default `KEEP_MAX`).

    Returns
    -------
    PairValues
        ``iu, jv``: the pairs kept (values <= threshold), in row-major order of (P, Q);
        ``values``: their values; ``n_total``: N (N + 1) / 2, the pairs covered; ``rest``:
        a lower bound on the values left out: their smallest, or threshold (1 - 1e-8) for
        those the test skipped (inf when none was left out).
    """
    N = len(pieces)
    n_total = N * (N + 1) // 2
    if not (USE_KERNEL if kernel is None else kernel):
        iu, jv = np.triu_indices(N, 0)
        values = piece_pair_values_numpy(pieces, A)
        keep = values <= threshold
        rest = float(values[~keep].min(initial=np.inf))
        return PairValues(iu[keep], jv[keep], values[keep], n_total, rest)
    blocks = _pair_blocks(pieces, A)
    prep = _prune_prep(blocks, A, threshold) if np.isfinite(threshold) else None
    lengths = N - np.arange(N)  # pairs per row P: Q = P, ..., N - 1
    size = max(min(n_total, _PAIR_BLOCK), int(lengths[0]) if N else 0)
    out = np.empty(size, dtype=np.int64), np.empty(size)
    keep_max = KEEP_MAX if keep_max is None else keep_max
    kept, count, rest = [], 0, np.inf
    p0 = 0
    while p0 < N:
        p1 = _block_rows(lengths, p0, size)
        P, Q, v, skipped = _block_values(pieces, A, blocks, prep, (p0, p1), lengths, out)
        if skipped:
            rest = min(rest, threshold * (1.0 - 1e-8))
        keep = v <= threshold
        rest = min(rest, float(v[~keep].min(initial=np.inf)))
        kept.append((P[keep], Q[keep], v[keep]))
        count += int(keep.sum())
        if count > 2 * keep_max:
            kept, rest = _trim(kept, rest, keep_max)
            count = kept[0][2].size
        p0 = p1
    if not kept:
        kept = [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))]
    kept, rest = _trim(kept, rest, keep_max)
    iu, jv, val = kept[0]
    return PairValues(iu, jv, val, n_total, rest)


def _block_values(pieces, A, blocks, prep, rows: tuple[int, int], lengths, out) -> tuple:
    """(P, Q, values, skipped) of the pairs of the rows p0 <= P < p1 that the kernel writes.

    Every pair (``prep`` None), or those the pruning test of `_prune_prep` does not skip
    (``skipped``: whether it skipped any); the values the Cholesky route leaves to the SVD
    path (NaN) are filled by `_svd_fill`. ``out``: the kernel's position and value buffers.
    """
    p0, p1 = rows
    out_pos, out_val = out
    biased = bool(np.any(pieces.offsets))
    if prep is None:
        written = pair_kernels.pair_span_values(blocks, biased, rows, _TOLS, out_val)
        pos = np.arange(written)
    else:
        written = pair_kernels.pruned_span_values(
            blocks, prep[0], biased, rows, (*_TOLS, prep[1]), out_pos, out_val
        )
        pos = out_pos[:written].copy()
    v = out_val[:written].copy()
    starts = np.concatenate([[0], np.cumsum(lengths[p0:p1])])
    P = p0 + np.searchsorted(starts, pos, side="right") - 1
    Q = P + pos - starts[P - p0]
    todo = np.flatnonzero(np.isnan(v))
    if todo.size:
        sub = v[todo]
        _svd_fill(pieces, A, P[todo], Q[todo], biased, sub)
        v[todo] = sub
    return P, Q, v, written < int(starts[-1])
