r"""The number of linear pieces of a ReLU generator on s-sparse codes, without storing them.

`count_pieces` counts the pieces that `sdlss_theory.pieces.linear_pieces` enumerates: on each
support S (|S| = s) the activation regions of positive volume of z_S -> G(z), one piece per
activation pattern. The same search tree is walked (the same region splits with the same
tolerances, `sdlss_theory.pieces._split`), depth first and support by support, keeping only
the patterns of the current support's leaves: no Jacobians, vertices or interior points. The
walk runs in the numba kernel `sdlss_theory._kernels.regions.walk_support` (about 10^5
pieces per second on one core; the pure-Python walk, `_Tree.python_support_count`, is kept
as its reference and runs when `_WALK_KERNEL` is False).

**Exact count.** Every support's tree is walked; a leaf is a cell of the initial fan of
R^s (s + 1 simplicial cones) cut by every neuron's hyperplane, and the patterns of the
leaves of a support are its pieces (a region split by the fan counts once).

**Estimate 1 (a sample of supports).** Supports drawn uniformly without replacement, each
counted exactly: C(k, s) times their mean count is an **unbiased** estimator of the total,
reported with the Student-t interval (finite-population corrected). A support's count is a
sum over many regions, so these counts are light-tailed and the interval's coverage is close
to nominal from a few dozen supports.

**Estimate 2 (Knuth's random probes),** for supports too large to count [Knu75]_: a probe
draws a support uniformly (weight C(k, s)), a cell of the fan uniformly (weight s + 1), and
at each split one of the two sides (weight 2); at its leaf it returns the product of the
weights divided by the number w of fan cells in which the leaf's pattern has a region (found
by descending each other fan cell along that pattern). Each region of a support is the union
of exactly w leaves, so the expected value of a probe is sum over leaves of 1 / w = the
number of pieces: the probe is **unbiased**. The mean of n independent probes is reported
with the Student-t interval mean +- t_{n-1} sd / sqrt(n): asymptotic, and the probes are
heavy-tailed (rare deep paths carry large weights), so the interval under-covers unless n is
large (2000 probes on a network of 177,789 pieces gave [110,680, 159,236]).

References
----------
.. [Knu75] D. E. Knuth, "Estimating the efficiency of backtrack programs", Mathematics of
   Computation 29 (1975) 121-136.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sdlss_theory._kernels import regions
from sdlss_theory._kernels.network import pack_network
from sdlss_theory._validation import check_int, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pieces import (
    RANK_TOL,
    TOL,
    PieceBudgetExceeded,
    _initial_regions,
    _split,
    check_generator_and_sparsity,
)

__all__ = ["PieceCount", "count_pieces"]

# Probes of the pilot of method="auto", and how far above the budget its mean must be for the
# exact walk to be skipped.
_PILOT = 64
_PILOT_FACTOR = 4.0
# The exact walk runs in the numba kernel (False: the pure-Python walk, the kernel's reference).
_WALK_KERNEL = True
# Leaves one kernel call may hold (an unbounded walk stops here: 16 bytes and more per leaf).
_MAX_LEAVES = 2**40


@dataclass(frozen=True)
class PieceCount:
    """The number of linear pieces of G on s-sparse codes (see `count_pieces`).

    Attributes
    ----------
    value : float
        The count (exact) or the estimate.
    lower, upper : float
        The count itself when `exact`; otherwise the confidence interval of the estimate.
    exact : bool
        Whether `value` is the exact count of `linear_pieces`.
    method : str
        ``"exact"`` (every support walked), ``"support sample"`` (supports drawn at random,
        each counted exactly) or ``"knuth probes"`` (random root-to-leaf probes).
    probes : int
        Knuth probes drawn (the pilot of ``method="auto"`` included; 0 if none).
    supports : int
        Supports counted exactly (C(k, s) for an exact count).
    confidence : float
        The interval's nominal coverage (1.0 for an exact count).
    """

    value: float
    lower: float
    upper: float
    exact: bool
    method: str
    probes: int
    supports: int
    confidence: float


class _Tree:
    """The search tree of `linear_pieces` for one generator, walked without storing pieces."""

    def __init__(self, G: ReLUGenerator, s: int) -> None:
        self.G = G
        self.s = s
        self.hidden = len(G.weights) - 1
        self.fan = _initial_regions(s)
        self.net = pack_network(G.weights, G.biases, [0] * len(G.weights))
        self.fan_arrays = regions.initial_fan(s)

    def root(self, S: tuple[int, ...]) -> np.ndarray:
        """[W_1S | b_1]: the homogeneous pre-activation of layer 1 on support S."""
        return np.hstack([self.G.weights[0][:, list(S)], self.G.biases[0][:, None]])

    def next_layer(self, Mq: np.ndarray, final: np.ndarray, layer: int) -> np.ndarray:
        post = Mq * final[:, None]
        nxt = self.G.weights[layer + 1] @ post
        nxt[:, -1] += self.G.biases[layer + 1]
        return nxt

    def node(self, region, Mq, norms, start, mask):
        """Split the node at its first mixed neuron >= start.

        Returns ("leaf", final mask) when no neuron from `start` on cuts the region, or
        ("split", j, head mask, plus, minus) with the two sides (None when empty).
        """
        F = region.V @ Mq.T
        tol = TOL * norms
        pos = F > tol
        on = pos.any(axis=0)
        mixed = on & (F < -tol).any(axis=0)
        mixed[:start] = False
        idx = np.flatnonzero(mixed)
        if idx.size == 0:
            final = mask.copy()
            final[start:] = on[start:]
            return ("leaf", final)
        j = int(idx[0])
        plus, minus = _split(region, Mq[j], F[:, j], tol[j])
        head = mask.copy()
        head[start:j] = on[start:j]
        return ("split", j, head, plus, minus)

    def support_count(self, S: tuple[int, ...], budget: float) -> int:
        """The number of distinct patterns of the leaves of support S (stops above budget).

        The walk runs in the numba kernel `_kernels.regions.walk_support` (the pure-Python
        walk, `python_support_count`, when `_WALK_KERNEL` is False). A region is a leaf in
        at most s + 1 fan cells, so more than (s + 1) budget leaves mean more than `budget`
        pieces, and the kernel stops there.
        """
        if self.hidden == 0:
            return 1
        if not _WALK_KERNEL:
            return self.python_support_count(S, budget)
        cap = _MAX_LEAVES if math.isinf(budget) else int(min((self.s + 1) * budget + 1,
                                                             _MAX_LEAVES))  # fmt: skip
        net = self.net
        words, _, _, _, _, complete = regions.walk_support(
            np.ascontiguousarray(self.root(S)), net, self.fan_arrays, TOL, RANK_TOL, 0.0, False,
            cap,
        )  # fmt: skip
        if not complete:
            return int(budget) + 1
        return _distinct_rows(words)

    def python_support_count(self, S: tuple[int, ...], budget: float) -> int:
        """`support_count` by the pure-Python walk (the reference of the kernel)."""
        if self.hidden == 0:
            return 1
        keys: set[bytes] = set()
        first = self.root(S)
        nfirst = np.linalg.norm(first, axis=1)
        stack = [(r, first, nfirst, 0, np.zeros(first.shape[0], dtype=bool), 0, ())
                 for r in self.fan]  # fmt: skip
        while stack:
            region, Mq, norms, start, mask, layer, masks = stack.pop()
            out = self.node(region, Mq, norms, start, mask)
            if out[0] == "leaf":
                final = out[1]
                if layer + 1 == self.hidden:
                    keys.add(np.packbits(np.concatenate((*masks, final))).tobytes())
                    if len(keys) > budget:
                        return len(keys)
                else:
                    nxt = self.next_layer(Mq, final, layer)
                    stack.append((region, nxt, np.linalg.norm(nxt, axis=1), 0,
                                  np.zeros(nxt.shape[0], dtype=bool), layer + 1,
                                  (*masks, final)))  # fmt: skip
                continue
            _, j, head, plus, minus = out
            for child, state in ((plus, True), (minus, False)):
                if child is None:
                    continue
                m2 = head.copy()
                m2[j] = state
                stack.append((child, Mq, norms, j + 1, m2, layer, masks))
        return len(keys)

    def _descend(self, region, S, rng, target=None):
        """One root-to-leaf path from a fan cell: random sides, or the sides of `target`.

        Returns (weight, masks, leaf region), or None when `target` has no region here.
        """
        Mq = self.root(S)
        norms = np.linalg.norm(Mq, axis=1)
        start, mask, layer, masks, weight = 0, np.zeros(Mq.shape[0], dtype=bool), 0, [], 1.0
        while True:
            out = self.node(region, Mq, norms, start, mask)
            if out[0] == "leaf":
                final = out[1]
                if target is not None and not np.array_equal(final, target[layer]):
                    return None
                masks.append(final)
                if layer + 1 == self.hidden:
                    return weight, masks, region
                Mq = self.next_layer(Mq, final, layer)
                norms = np.linalg.norm(Mq, axis=1)
                start, mask, layer = 0, np.zeros(Mq.shape[0], dtype=bool), layer + 1
                continue
            _, j, head, plus, minus = out
            if target is not None:
                if not np.array_equal(head[start:j], target[layer][start:j]):
                    return None
                state = bool(target[layer][j])
                child = plus if state else minus
                if child is None:
                    return None
            else:
                sides = [(c, st) for c, st in ((plus, True), (minus, False)) if c is not None]
                weight *= len(sides)
                child, state = sides[int(rng.integers(len(sides)))] if len(sides) > 1 else sides[0]
            mask = head.copy()
            mask[j] = state
            region, start = child, j + 1

    def probe(self, rng: np.random.Generator) -> float:
        """One Knuth probe: an unbiased estimate of the number of pieces."""
        k, s = self.G.k, self.s
        S = tuple(sorted(int(i) for i in rng.choice(k, size=s, replace=False)))
        weight = float(math.comb(k, s))
        if self.hidden == 0:
            return weight
        cell = int(rng.integers(len(self.fan)))
        w, masks, leaf = self._descend(self.fan[cell], S, rng)
        weight *= len(self.fan) * w
        # A region that meets another fan cell with positive volume crosses the boundary of
        # this one, so its leaf here has a facet (>= s rays) on one of the cell's s bounding
        # hyperplanes (the first s inequalities); without one, w = 1.
        if not np.any(leaf.act[:, :s].sum(axis=0) >= s):
            return weight
        shared = 1 + sum(
            self._descend(self.fan[i], S, rng, target=masks) is not None
            for i in range(len(self.fan))
            if i != cell
        )
        return weight / shared


def _distinct_rows(words: np.ndarray) -> int:
    """The number of distinct rows of a 2-d array (its rows compared as raw bytes)."""
    if words.shape[0] == 0:
        return 0
    rows = np.ascontiguousarray(words).view(np.dtype((np.void, words.itemsize * words.shape[1])))
    return int(np.unique(rows).size)


def _t_interval(x: np.ndarray, confidence: float, fpc: float = 1.0):
    """The mean of x and its Student-t interval mean +- t sd / sqrt(n), times `fpc`.

    `fpc` is the finite-population correction of a sample drawn without replacement.
    """
    mean = float(x.mean())
    half = 0.0
    if x.size > 1:
        t = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 1))
        half = t * float(x.std(ddof=1)) / math.sqrt(x.size) * fpc
    return mean, max(mean - half, 0.0), mean + half


def _probe_estimate(tree: _Tree, probes: int, rng, confidence: float):
    return _t_interval(np.array([tree.probe(rng) for _ in range(probes)]), confidence)


def _support_estimate(tree: _Tree, n_supports: int, rng, confidence: float, budget: float):
    """C(k, s) times the mean exact count of supports drawn without replacement.

    Returns (value, lower, upper, supports drawn), or None when a drawn support alone has
    more than `budget` pieces.
    """
    k, s = tree.G.k, tree.s
    total = math.comb(k, s)
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < n_supports:
        chosen.add(tuple(sorted(int(i) for i in rng.choice(k, size=s, replace=False))))
    counts = []
    for S in sorted(chosen):
        c = tree.support_count(S, budget)
        if c > budget:
            return None
        counts.append(c)
    x = total * np.array(counts, dtype=float)
    fpc = math.sqrt((total - n_supports) / (total - 1)) if total > 1 else 0.0
    return (*_t_interval(x, confidence, fpc), n_supports)


def count_pieces(
    G: ReLUGenerator,
    s: int,
    *,
    max_pieces: int = 1_000_000,
    method: str = "auto",
    supports: int = 32,
    probes: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> PieceCount:
    r"""The number of linear pieces of G on s-sparse codes: exact, or estimated with an interval.

    The pieces are those of `sdlss_theory.pieces.linear_pieces` (every activation region of
    positive volume of every support, one per pattern), so that ``count_pieces(G, s).value ==
    len(linear_pieces(G, s))`` when the count is exact; they are counted without being
    stored (module docstring).

    ``method="exact"`` walks every support. ``"supports"`` counts `supports` supports drawn
    at random and returns C(k, s) times their mean with its interval (raises
    `PieceBudgetExceeded` if one of them has more than `max_pieces` pieces). ``"probes"``
    draws `probes` Knuth probes (module docstring). ``"auto"`` (default) draws 64 probes as a
    pilot; unless their mean exceeds 4 `max_pieces` it walks every support, and when the
    pilot or the walk exceeds `max_pieces` it returns the support sample, or the probes when
    a sampled support alone exceeds `max_pieces`.

    Parameters
    ----------
    G : ReLUGenerator
        A generator with a linear output layer.
    s : int
        Sparsity, 1 <= s <= k.
    max_pieces : int
        Budget of the exact count (``"auto"``; with ``"exact"`` the walk is not bounded), and
        of one sampled support.
    method : {"auto", "exact", "supports", "probes"}
        As above.
    supports : int
        Supports of the support sample, >= 2 (all C(k, s) of them: the exact count).
    probes : int
        Knuth probes of the probe estimate, >= 2.
    confidence : float
        Nominal coverage of the interval, in (0, 1).
    rng : numpy.random.Generator or int
        Source of the probes (required unless ``method="exact"``).

    Returns
    -------
    PieceCount
        value, lower, upper, exact, method, probes, supports, confidence.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator
    >>> G = ReLUGenerator.random([4, 6, 5], np.random.default_rng(0))
    >>> count_pieces(G, 1, method="exact").value   # bias-free, s = 1: two rays per coordinate
    8.0
    """
    s = check_generator_and_sparsity(G, s)
    _check_options(method, confidence)
    run = _Run(
        _Tree(G, s),
        check_int(max_pieces, "max_pieces", minimum=1),
        check_int(supports, "supports", minimum=2),
        check_int(probes, "probes", minimum=2),
        confidence,
        None if method == "exact" else check_rng(rng),
    )
    return run.count(method)


def _check_options(method: str, confidence: float) -> None:
    if method not in ("auto", "exact", "supports", "probes"):
        raise ValueError(
            f"method must be 'auto', 'exact', 'supports' or 'probes', got {method!r}"
        )
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")


@dataclass
class _Run:
    """One call of `count_pieces`: its tree, budgets and source of randomness."""

    tree: _Tree
    max_pieces: int
    supports: int
    probes: int
    confidence: float
    rng: np.random.Generator | None

    def by_probes(self, pilot: int = 0) -> PieceCount:
        est = _probe_estimate(self.tree, self.probes, self.rng, self.confidence)
        return PieceCount(*est, False, "knuth probes", pilot + self.probes, 0, self.confidence)

    def by_supports(self, pilot: int = 0) -> PieceCount | None:
        """The support sample, or None (every support asked for, or one over the budget)."""
        if self.supports >= math.comb(self.tree.G.k, self.tree.s):
            return None
        est = _support_estimate(self.tree, self.supports, self.rng, self.confidence,
                                self.max_pieces)  # fmt: skip
        if est is None:
            return None
        return PieceCount(*est[:3], False, "support sample", pilot, est[3], self.confidence)

    def count(self, method: str) -> PieceCount:
        if method == "probes":
            return self.by_probes()
        if method == "supports":
            out = self.by_supports()
            if out is not None:
                return out
            if self.supports < math.comb(self.tree.G.k, self.tree.s):
                raise PieceBudgetExceeded(
                    f"a sampled support has more than max_pieces = {self.max_pieces} pieces"
                )
            method = "exact"  # every support asked for: the exact count
        pilot = 0
        if method == "auto":
            # A few probes first: a count far above the budget is not walked at all.
            pilot = min(self.probes, _PILOT)
            guess = _probe_estimate(self.tree, pilot, self.rng, self.confidence)[0]
            if guess > _PILOT_FACTOR * self.max_pieces:
                return self.by_supports(pilot) or self.by_probes(pilot)
        budget = math.inf if method == "exact" else self.max_pieces
        total = 0
        G, s = self.tree.G, self.tree.s
        for S in itertools.combinations(range(G.k), s):
            total += self.tree.support_count(S, budget - total)
            if total > budget:
                return self.by_supports(pilot) or self.by_probes(pilot)
        n_all = math.comb(G.k, s)
        return PieceCount(float(total), float(total), float(total), True, "exact", pilot, n_all,
                          1.0)  # fmt: skip
