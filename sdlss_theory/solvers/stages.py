"""The stages of `latent_recover`, each a function with a small frozen options object.

A *row* is one starting point on its way through the stages: a code z (shape (k,)), its
support S (an explicit array of coordinate indices; z is zero off S) and the residual
history of the steps it took. The objective is f(z) = ||y - F(z)||^2, F(z) = A G(z); a row
*fits* y when f(z) <= fit_sq. The stages, in the order `LatentRecover` runs them:

==================  ==========================================  ======================
stage               what it does                                options
==================  ==========================================  ======================
`seed_rows`         best 1-sparse fits t sigma e_j (greedy)      count
`random_rows`       P_s(z0), z0 ~ N(0, I_k)                      count, rng
`refine`            growth to s (latent OMP), then a refit       `Refit`
`swap`              local search over supports                   `Swaps`
`run_rows`          `refine` and `swap` over rows, lazily        `Plan`
`beam_rows`         beam search over growth                      `Beam`
`support_search`    every support solved as the oracle would     `Plan` (dense)
`polish_rows`       random restarts on a row's support           count, rng
==================  ==========================================  ======================

The numerical work is done by the kernels of `sdlss_theory._kernels` (`refit`, `swap`,
`beam`); these functions order it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import NamedTuple

import numpy as np

from sdlss_theory._kernels.beam import beam_level, zobrist_keys
from sdlss_theory._kernels.network import forward, restrict_columns, workspace_size
from sdlss_theory._kernels.refit import Context, Refit, context, one_sparse_fits
from sdlss_theory._kernels.refit import refine as refine_row
from sdlss_theory._kernels.swap import Swaps, swap_search
from sdlss_theory.projection import hard_threshold

__all__ = [
    "Beam",
    "Plan",
    "Refit",
    "Row",
    "Swaps",
    "beam_rows",
    "polish_rows",
    "random_rows",
    "refine",
    "run_rows",
    "seed_rows",
    "support_search",
    "swap",
]


class Plan(NamedTuple):
    """How `run_rows` runs rows: their refit, their swap search, how many at a time.

    Attributes
    ----------
    refit : Refit
    swaps : Swaps
    group : int
        Rows refined before their swap searches run (see `run_rows`); 0: all of them.
    searches : int
        Swap searches at most in one `run_rows` (0: one per row).
    """

    refit: Refit
    swaps: Swaps
    group: int
    searches: int = 0


class Beam(NamedTuple):
    """Options of `beam_rows`: rows kept per size and coordinates tried per kept row."""

    width: int
    expand: int


@dataclass(slots=True)
class Row:
    """A starting point moving through the stages.

    Attributes
    ----------
    z : ndarray, shape (k,)
        The current code (zero off S).
    S : ndarray of int64
        The support, sorted; it has s entries once the row is grown.
    origin : str
        The stage that made the row: ``"z0"``, ``"seed"``, ``"random"``, ``"beam"``,
        ``"support_search"`` or ``"polish"``.
    f : float or None
        f(z) once the row has been run (None before).
    history : list of float
        f after each step the row took (a growth step, a refit, a swap move).
    moves : int
        Swap moves taken (support changes).
    f0 : float or None
        f at the start, where known without a network pass.
    """

    z: np.ndarray
    S: np.ndarray
    origin: str
    f: float | None = None
    history: list[float] = field(default_factory=list)
    moves: int = 0
    f0: float | None = None

    @classmethod
    def at(cls, z: np.ndarray, origin: str) -> Row:
        """A row whose support is the non-zero entries of z (a start given as a vector)."""
        z = np.ascontiguousarray(z, dtype=np.float64).copy()
        return cls(z, np.flatnonzero(z).astype(np.int64), origin)


def seed_rows(ctx: Context, count: int) -> list[Row]:
    """The `count` best of the 2k fits t sigma e_j (t >= 0, sigma = +-1), best first.

    For a bias-free ReLU network G(t sigma e_j) = t G(sigma e_j), so the best t is
    max(<y, F(sigma e_j)>, 0) / ||F(sigma e_j)||^2 in closed form (`one_sparse_fits`): the
    exact best 1-sparse fits. A fit with t = 0 is the zero code, with an empty support.
    """
    Z, f = one_sparse_fits(ctx.net, ctx.y)
    k = Z.shape[1]
    # Row i is the fit along +e_j (i < k) or -e_j, j = i mod k: one support array per row.
    supports = (np.arange(2 * k, dtype=np.int64) % k).reshape(-1, 1)
    return [
        Row(Z[i], supports[i] if Z[i, i % k] != 0.0 else supports[i, :0], "seed", f0=float(f[i]))
        for i in np.argsort(f, kind="stable")[:count]
    ]


def random_rows(k: int, s: int, count: int, rng: np.random.Generator) -> list[Row]:
    """`count` rows P_s(z0), z0 ~ N(0, I_k) drawn from `rng` (one (count, k) draw)."""
    if count == 0:
        return []
    Z = hard_threshold(rng.standard_normal((count, k)), s)
    return [Row.at(z, "random") for z in Z]


def refine(ctx: Context, row: Row, s: int) -> None:
    """Growth to s coordinates (if the row has fewer) and a Gauss-Newton refit (`refine_row`)."""
    size = row.S.size
    if size < s:
        S = np.empty(s, dtype=np.int64)
        S[:size] = row.S
        row.S = S
    trace = np.empty(s - size + 1)
    n = refine_row(ctx, row.z, row.S, size, trace)
    row.f = float(trace[n - 1])
    row.history += trace[:n].tolist()


def swap(ctx: Context, row: Row, swaps: Swaps) -> None:
    """The swap search from the row (`swap_search`): support changes that lower f."""
    trace = np.empty(max(swaps.moves, 1))
    f, n_moves = swap_search(ctx, row.z, row.S, swaps, trace)
    row.f = float(f)
    row.moves += n_moves
    row.history += trace[:n_moves].tolist()


def run_rows(ctx: Context, rows: list[Row], s: int, plan: Plan) -> None:
    """`refine` and `swap` on the rows, in order, until one fits y.

    Rows are taken ``plan.group`` at a time: the group's rows are refined, then their swap
    searches run, smallest f first; then the next group. The first row that fits y ends the
    run; the rows not reached keep the f of their start. After ``plan.searches`` swap
    searches (if not 0) the remaining rows are only refined. Each row's stages do not depend
    on the other rows, so the grouping changes how many rows run, never what a row ends at.
    """
    group = plan.group or max(len(rows), 1)
    budget = plan.searches or len(rows)
    for lo in range(0, len(rows), group):
        block = rows[lo : lo + group]
        for row in block:
            refine(ctx, row, s)
            if row.f <= ctx.fit_sq:
                return _leave(ctx, rows)
        if plan.swaps.moves == 0:
            continue
        for row in sorted(block, key=lambda r: r.f):
            if budget == 0:
                break
            budget -= 1
            swap(ctx, row, plan.swaps)
            if row.f <= ctx.fit_sq:
                return _leave(ctx, rows)
    return None


def _leave(ctx: Context, rows: list[Row]) -> None:
    """Give the rows not reached the f of their start (one batched pass where unknown)."""
    left = [row for row in rows if row.f is None]
    unknown = [row for row in left if row.f0 is None]
    if unknown:
        Z = np.array([row.z for row in unknown])
        F = forward(ctx.net, Z, np.empty(workspace_size(len(unknown), ctx.net.dims)))
        for row, f in zip(unknown, np.sum((ctx.y - F) ** 2, axis=1), strict=True):
            row.f0 = float(f)
    for row in left:
        row.f = row.f0


def beam_rows(ctx: Context, s: int, beam: Beam) -> list[Row]:
    """Beam search over growth: the ``beam.width`` best partial supports kept at every size.

    From the best 1-sparse fits with distinct coordinates (`one_sparse_fits`), each level
    grows every kept row by its ``beam.expand`` best coordinates, ranked by the linearised
    fit and refitted by Gauss-Newton (`beam_level`), and keeps the ``beam.width`` lowest
    refitted f with distinct supports. Returns the rows of the last level, best first.
    """
    Z1, f1 = one_sparse_fits(ctx.net, ctx.y)
    keep, seen = [], set()
    for i in np.argsort(f1, kind="stable"):
        nz = np.flatnonzero(Z1[i])
        if nz.size and int(nz[0]) not in seen:
            seen.add(int(nz[0]))
            keep.append(i)
        if len(keep) == beam.width:
            break
    if not keep:
        return []
    Z = np.ascontiguousarray(Z1[keep])
    S = np.array([[int(np.flatnonzero(z)[0])] for z in Z], dtype=np.int64)
    f, keys = f1[keep], zobrist_keys(Z.shape[1])
    for _ in range(1, s):
        C, CS, fC, n = beam_level(ctx, Z, S, beam.expand, keys)
        if n == 0:
            break
        order = np.argsort(fC[:n], kind="stable")[: beam.width]
        Z, S, f = C[order], CS[order], fC[order]
    return [
        Row(Z[r].copy(), S[r].copy(), "beam", history=[float(max(f[r], 0.0))])
        for r in range(Z.shape[0])
    ]


def support_search(ctx: Context, s: int, plan: Plan) -> Row:
    """Every support T (lexicographic order) solved as the support-knowing oracle would.

    On the network restricted to T (first layer's columns T), a dense problem: the 2s
    fits t sigma e_j grown to all of T, refitted and searched with ``plan`` (sign flips,
    no one-element swaps: T is every coordinate). The first T whose best row fits y ends the
    search. Returns the best row found, on the full k coordinates.
    """
    k = int(ctx.net.dims[0])
    best = Row(np.zeros(k), np.arange(s, dtype=np.int64), "support_search", f=np.inf)
    for T in combinations(range(k), s):
        cols = np.array(T, dtype=np.int64)
        sub = context(restrict_columns(ctx.net, cols), ctx.y, plan.refit, ctx.fit_sq)
        Z, _ = one_sparse_fits(sub.net, sub.y)
        rows = [Row.at(z, "support_search") for z in Z]
        run_rows(sub, rows, s, plan)
        row = min(rows, key=lambda r: r.f)
        if row.f < best.f:
            z = np.zeros(k)
            z[cols] = row.z
            best = Row(z, cols[row.S], "support_search", max(row.f, 0.0), [max(row.f, 0.0)])
        if best.f <= ctx.fit_sq:
            break
    return best


def polish_rows(row: Row, count: int, rng: np.random.Generator) -> list[Row]:
    """`count` random restarts on the row's support: z_S ~ N(0, c^2 I), c = ||z|| / sqrt(|S|)."""
    scale = np.linalg.norm(row.z) / np.sqrt(max(row.S.size, 1))
    k = row.z.size
    values = scale * rng.standard_normal((count, row.S.size))
    rows = []
    for v in values:
        z = np.zeros(k)
        z[row.S] = v
        rows.append(Row(z, row.S.copy(), "polish"))
    return rows
