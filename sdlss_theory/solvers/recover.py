"""`latent_recover`: sparse-latent recovery as a Python driver over the stages of `stages`."""

from __future__ import annotations

import copy
import dataclasses
from math import comb
from typing import Any

import numpy as np

from sdlss_theory._kernels.refit import context
from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.solvers import stages
from sdlss_theory.solvers._base import LatentSolver, checked_rng, functional, unit_interval
from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.stages import Beam, Plan, Refit, Row, Swaps

__all__ = ["PRESETS", "LatentRecover", "RecoverOptions", "latent_recover"]

#: The defaults that differ between sparse (s < k) and dense (s = k) problems, and those of
#: ``"wide"`` problems (s > m: more coordinates on the support than measurements), which
#: override either; every other default is the `RecoverOptions` field's. ``"seeds": None``
#: is all 2k greedy seeds. ``random_starts`` is the default number of random starts beyond
#: the seeds and ``group`` the rows refined before their swap searches (0: all); neither is
#: an option. With s > m every support of s columns fits the linearisation exactly, so the
#: swap search's ranking says nothing (no swaps), and a row grows in about m steps of
#: ``"ceil(s/m)"`` coordinates each (docs/solvers.md, "Defaults, and why").
PRESETS: dict[str, dict[str, Any]] = {
    "sparse": {
        "seeds": None, "gn_stall": 0.5, "flips": False, "random_starts": 0, "group": 2,
        "max_swaps": 20, "grow_step": 1,
    },
    "dense": {
        "seeds": 0, "gn_stall": 1.0, "flips": True, "random_starts": 8, "group": 0,
        "max_swaps": 20, "grow_step": 1,
    },
    "wide": {"max_swaps": 0, "grow_step": "ceil(s/m)"},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RecoverOptions:
    """Options of `LatentRecover`; ``None`` takes the `PRESETS` value for s < k or s = k.

    Attributes
    ----------
    seeds : int or None
        Greedy seeds (best 1-sparse fits), at most 2k; None: all 2k (s < k), 0 (s = k).
    starts : int or None
        Starting points in all: rows of ``z0``, then the seeds, then random starts
        P_s(z0), z0 ~ N(0, I_k), up to this number. None: the seeds plus 8 random starts
        when s = k, plus none when s < k.
    gn_steps : int
        Gauss-Newton steps per refit.
    grow_step : int or None
        Coordinates joining a row's support per growth step, each step followed by a refit
        (1: latent OMP). None: 1, or ceil(s/m) when s > m.
    gn_stall : float or None
        A refit also stops after a step that leaves f above gn_stall times its value
        before the step, in (0, 1] (1: never). None: 0.5 (s < k), 1 (s = k).
    negate : bool
        The negation check z <- -z if f(-z) < f(z) after every Gauss-Newton step.
    tol : float
        A refit stops after a step of length at most tol ||z||.
    max_swaps : int or None
        Swap moves per row (0: no swap search). None: 20, or 0 when s > m.
    n_screen : int
        One-element swaps refitted per swap round.
    pair_screen : int
        Two-element swaps refitted per round where nothing else improves (0: none).
    flips : bool or None
        Sign-flip moves in the swap search; None: only when s = k.
    beam : int
        Width of the beam search over growth (0: none); it runs only for 2 <= s < k and
        only where no row of the earlier stages fits y.
    beam_expand : int
        Coordinates refitted per kept row and size in the beam search.
    exhaustive : int
        The support search runs (for 2 <= s < k, where nothing earlier fits y) when there
        are at most this many supports C(k, s); 0: never.
    fit_tol : float
        A row with residual at most fit_tol ||y|| fits y and ends the search. With noise of
        norm eps, ``fit_tol = eps / ||y||`` stops at the discrepancy level; 0 runs every row.
    polish : int
        Random restarts on the best row's support where no row fits y (0: none; why that
        is the default: docs/solvers.md, "Defaults, and why").
    cert_tol : float
        Tolerance of the stationarity certificate (`RecoveryResult.certified`).
    """

    seeds: int | None = None
    starts: int | None = None
    gn_steps: int = 8
    grow_step: int | None = None
    gn_stall: float | None = None
    negate: bool = True
    tol: float = 1e-9
    max_swaps: int | None = None
    n_screen: int = 4
    pair_screen: int = 32
    flips: bool | None = None
    beam: int = 1024
    beam_expand: int = 8
    exhaustive: int = 2000
    fit_tol: float = 1e-10
    polish: int = 0
    cert_tol: float = 1e-6

    def __post_init__(self) -> None:
        ints = {"gn_steps": 1, "n_screen": 1, "pair_screen": 0, "beam": 0}
        ints |= {"beam_expand": 1, "exhaustive": 0, "polish": 0}
        for name, minimum in ints.items():
            object.__setattr__(self, name, check_int(getattr(self, name), name, minimum=minimum))
        for name, minimum in (("seeds", 0), ("starts", 0), ("max_swaps", 0), ("grow_step", 1)):
            if getattr(self, name) is not None:
                value = check_int(getattr(self, name), name, minimum=minimum)
                object.__setattr__(self, name, value)
        for name in ("tol", "fit_tol", "cert_tol"):
            value = check_positive_float(getattr(self, name), name, allow_zero=True)
            object.__setattr__(self, name, value)
        if self.gn_stall is not None:
            object.__setattr__(self, "gn_stall", unit_interval(self.gn_stall, "gn_stall"))
        object.__setattr__(self, "negate", bool(self.negate))
        if self.flips is not None:
            object.__setattr__(self, "flips", bool(self.flips))

    def resolved(self, s: int, k: int, m: int | None = None) -> RecoverOptions:
        """These options with every None replaced by its preset (`PRESETS`) for (s, k, m).

        The preset is ``"dense"`` (s = k) or ``"sparse"`` (s < k), with the ``"wide"``
        entries over it where the support has more coordinates than there are measurements
        (s > m; `m` None: never).
        """
        preset = dict(PRESETS["dense" if s == k else "sparse"])
        if m is not None and s > m:
            preset.update(PRESETS["wide"])
        seeds = self.seeds if self.seeds is not None else preset["seeds"]
        seeds = 2 * k if seeds is None else seeds
        if seeds > 2 * k:
            raise ValueError(f"seeds must be at most 2k = {2 * k}, got {seeds}")
        starts = self.starts if self.starts is not None else seeds + preset["random_starts"]
        if starts < seeds:
            raise ValueError(f"starts ({starts}) must be at least seeds ({seeds})")
        resolved = copy.copy(self)  # every value below is checked: no second validation
        if preset["grow_step"] == "ceil(s/m)":
            preset["grow_step"] = -(-s // m)
        for name in ("gn_stall", "flips", "max_swaps", "grow_step"):
            if getattr(self, name) is None:
                object.__setattr__(resolved, name, preset[name])
        object.__setattr__(resolved, "seeds", seeds)
        object.__setattr__(resolved, "starts", starts)
        return resolved


class LatentRecover(LatentSolver):
    r"""Sparse-latent recovery: greedy seeds, growth, Gauss-Newton refits, swap and beam search.

    Minimises :math:`f(z) = \lVert y - A G(z) \rVert_2^2` over :math:`\lVert z \rVert_0 \le s`
    by running starting points (*rows*) through the stages of `sdlss_theory.solvers.stages`
    until one fits y (residual at most ``fit_tol`` ||y||), and returns the row with the
    smallest residual:

    1. **Starts**: the rows of ``z0``, then ``seeds`` greedy seeds (the exact best 1-sparse
       fits :math:`t \sigma e_j` of a bias-free network, `stages.seed_rows`), then random
       starts :math:`P_s(z_0)`, :math:`z_0 \sim \mathcal N(0, I_k)`, up to ``starts``.
    2. **Growth and refit** (`stages.refine`): a row with fewer than s coordinates gains the
       one of largest :math:`|\nabla f|` outside its support, refitted each time, until it
       has s (latent OMP; ``grow_step`` coordinates at a time); then a Gauss-Newton
       refit on the support S:
       :math:`d = \arg\min_d \lVert y - F(z) - J_S d \rVert`, :math:`z_S \leftarrow z_S + t d`
       with t halved until f decreases, at most ``gn_steps`` steps, stopping after a step
       below ``tol`` ||z|| or one that leaves f above ``gn_stall`` times its value; with
       ``negate``, z <- -z after each step if f(-z) < f(z) (Huang et al.).
    3. **Swap search** (`stages.swap`): moves to supports of the same size ranked by the
       linearised fit (one Jacobian per round, Schur complements) and refitted by
       Gauss-Newton: sign flips (``flips``), the ``n_screen`` best one-element swaps, and
       where none improves the ``pair_screen`` best two-element swaps; at most
       ``max_swaps`` moves. Steps 2-3 run on two rows at a time when s < k (all rows at
       once when s = k), swap searches smallest residual first (`stages.run_rows`).
       Where s > m (more coordinates on the support than measurements) the ``"wide"``
       preset turns the swap search off (every support then fits the linearisation
       exactly, so its ranking says nothing) and grows ``grow_step`` = ceil(s/m)
       coordinates per growth step.
    4. **Beam search** (``beam``; 2 <= s < k, only if no row fits y): the ``beam`` best
       partial supports kept at every size, each grown by its ``beam_expand`` best
       coordinates (`stages.beam_rows`); its rows then run steps 2-3, with as many swap
       searches among them as the rows of step 1 had.
    5. **Support search** (``exhaustive``; 2 <= s < k, only if no row fits y and
       C(k, s) <= ``exhaustive``): every support solved as a dense problem, as the oracle
       that knows it would be, stopping at the first that fits y (`stages.support_search`).
    6. **Polish** (``polish``; only if no row fits y): random restarts on the best row's
       support, refitted (`stages.polish_rows`).

    Parameters
    ----------
    G, A, s
        As in `LatentIHT`.
    options : RecoverOptions, optional
        All options at once; keywords override its fields.
    **keywords
        Fields of `RecoverOptions`.

    Notes
    -----
    An *iteration* of a row is one step of a stage: a growth step, a refit, a swap move, a
    beam row's growth, a support solved, a polish refit; ``history`` holds the returned
    row's residual after each. ``converged``: the returned row fits y or is stationary on
    its support. ``certified``: stationary on its support S,
    :math:`\lVert (\nabla f)_S \rVert \le 2\,\mathrm{cert\_tol}\,\lVert J_S \rVert_F
    \lVert y \rVert` (and, by construction, no other row has a smaller residual).
    Extras: ``start`` (index of the returned row), ``start_residuals`` (every row's final
    residual, in the order z0, seeds, random, beam, support search, polish), ``origin``
    (the stage that made the returned row), ``support`` (its support), ``support_changes``
    (its swap moves), ``gradient_norm`` (:math:`\lVert (\nabla f)_S \rVert`).

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    .. [2] S. Foucart, "Hard thresholding pursuit: an algorithm for compressive sensing",
       SIAM J. Numer. Anal. 49(6), 2011.
    .. [3] W. Huang, P. Hand, R. Heckel and V. Voroninski, "A provably convergent scheme for
       compressive sensing under random generative priors", J. Fourier Anal. Appl. 27, 2021.
    .. [4] Y. C. Pati, R. Rezaiifar and P. S. Krishnaprasad, "Orthogonal matching pursuit",
       Asilomar 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix, latent_recover, sparse_latents
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([20, 60, 120, 200], rng)
    >>> z_true = sparse_latents(1, 20, 3, rng)[0]
    >>> A = gaussian_matrix(40, 200, rng)
    >>> result = latent_recover(G, A, A @ G(z_true), 3, rng=rng)
    >>> bool(np.linalg.norm(result.z - z_true) <= 1e-6 * np.linalg.norm(z_true))
    True
    >>> result.certified, result.extras["origin"]
    (True, 'seed')
    """

    Options = RecoverOptions

    def _set_options(self, options: Any, keywords: dict[str, Any]) -> None:
        """The options with the presets of s < k or s = k filled in, and the stage plan."""
        super()._set_options(options, keywords)
        k = self.problem.k
        self.options = o = self.options.resolved(self.s, k, self.problem.m)
        self.plan = Plan(
            Refit(o.gn_steps, o.gn_stall, o.negate, o.tol, o.grow_step),
            Swaps(o.max_swaps, o.n_screen, o.pair_screen, o.flips),
            PRESETS["dense" if self.s == k else "sparse"]["group"],
        )

    def starts(self, ctx, z0, rng) -> list[Row]:
        """The rows of z0, then the seeds, then the random starts (P_s of each)."""
        given = self.problem.check_starts(z0)
        rows = [Row.at(z, "z0") for z in self.problem.starts(self.s, 0, given, None)]
        rows += stages.seed_rows(ctx, self.options.seeds)
        n_random = max(self.options.starts - len(rows), 0)
        rows += stages.random_rows(self.problem.k, self.s, n_random, rng)
        return rows

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover z from y = A G(z), as `Solver.solve` says.

        Rows of ``z0`` are projected with P_s (and grown if sparser than s). Random starts
        and polish restarts draw from ``rng``, which is required (a missing one refused up
        front) when the options give either; the defaults for s < k draw nothing.
        """
        o, k, s = self.options, self.problem.k, self.s
        y = self.problem.check_measurements(y)
        n_given = self.problem.check_starts(z0).shape[0]
        draws = o.starts > n_given + o.seeds or o.polish > 0
        rng = checked_rng(rng, draws, "draw random starts or polish restarts")
        ctx = context(self.problem.net, y, self.plan.refit, (o.fit_tol * np.linalg.norm(y)) ** 2)
        rows = self.starts(ctx, z0, rng)
        if not rows:
            raise ValueError("no starting point: give z0, or seeds >= 1, or starts >= 1")
        stages.run_rows(ctx, rows, s, self.plan)
        best, sparse = min(rows, key=_residual), 1 < s < k
        if o.beam and best.f > ctx.fit_sq and sparse:
            beam = stages.beam_rows(ctx, s, Beam(o.beam, o.beam_expand))
            # As many swap searches among the beam's rows as the rows before them had.
            stages.run_rows(ctx, beam, s, self.plan._replace(searches=len(rows)))
            rows += beam
            best = min(rows, key=_residual)
        if best.f > ctx.fit_sq and sparse and comb(k, s) <= o.exhaustive:
            dense = self.plan._replace(
                refit=self.plan.refit._replace(stall=1.0),
                swaps=Swaps(o.max_swaps, 1, 0, True),
                group=0,
            )
            rows.append(stages.support_search(ctx, s, dense))
            best = min(best, rows[-1], key=_residual)
        if o.polish and best.f > ctx.fit_sq:
            polish = stages.polish_rows(best, o.polish, rng)
            plan = self.plan._replace(swaps=Swaps(0, 1, 0, False))
            stages.run_rows(ctx, polish, best.S.size, plan)
            rows += polish
        return self._result(ctx, rows)

    def _result(self, ctx, rows: list[Row]) -> RecoveryResult:
        f = np.array([max(row.f, 0.0) for row in rows])
        best = int(np.argmin(f))
        row = rows[best]
        stationary, grad_norm = self.problem.certificate(
            ctx.y, row.z, row.S, cert_tol=self.options.cert_tol, work=ctx.work
        )
        fitted = f[best] <= ctx.fit_sq
        if stationary:
            message = "converged: the returned point is stationary on its support"
        elif fitted:
            message = "converged: the returned point fits y to fit_tol (not certified)"
        else:
            message = (
                f"not converged: the gradient on the support is {grad_norm:.3e} "
                "> 2 cert_tol ||J_S||_F ||y||"
            )
        return RecoveryResult(
            x=self.problem.signal(row.z),
            z=row.z.copy(),
            residual=float(np.sqrt(f[best])),
            n_iter=len(row.history),
            converged=bool(stationary or fitted),
            certified=stationary,
            message=message,
            history=np.sqrt(np.maximum(row.history, 0.0)),
            extras={
                "start": best,
                "start_residuals": np.sqrt(f),
                "origin": row.origin,
                "support": row.S.copy(),
                "support_changes": row.moves,
                "gradient_norm": grad_norm,
            },
        )


def _residual(row: Row) -> float:
    return row.f


latent_recover = functional(
    "latent_recover", LatentRecover, ("G", "A", "y", "s"), "Sparse-latent recovery"
)
