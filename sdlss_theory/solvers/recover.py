"""Latent recovery that searches supports: greedy seeds, Gauss-Newton on the support, swaps.

`latent_recover` / `LatentRecover` solve min ||y - A G(z)||^2 over s-sparse z by a
pipeline each of whose stages is an option (documented and measured in docs/solvers.md).
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from sdlss_theory._kernels import recover as recover_kernels
from sdlss_theory._kernels.network import workspace_size
from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.solvers._driver import PackedProblem, check_sparsity
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["LatentRecover", "latent_recover"]

# Random starts when s = k and none are asked for (greedy growth to k coordinates is slow).
DENSE_RESTARTS = 8
# Gauss-Newton stall factor when s < k (measured: same successes at 2-5x less time; for
# s = k it cost successes, so the dense default is 1, no stall; docs/solvers.md).
GN_STALL = 0.5
# Starts processed per stage when s < k (measured: 2 beats 1, 3, 4 and all; docs/solvers.md).
LAZY_GROUP = 2


class LatentRecover:
    r"""Sparse-latent recovery by greedy seeds, Gauss-Newton on the support and swap search.

    Minimises :math:`f(z) = \lVert y - A G(z) \rVert_2^2` over :math:`\lVert z \rVert_0 \le s`.
    Every start (row) runs the same pipeline; the row with the smallest residual is returned.

    1. **Starts.** ``seeds`` greedy seeds: the best fits :math:`t\,\sigma e_j` (:math:`t \ge 0`,
       :math:`\sigma = \pm 1`) of all 2k signed coordinate vectors, in closed form
       :math:`t = \max(\langle y, F(\sigma e_j)\rangle, 0) / \lVert F(\sigma e_j)\rVert^2`
       (for a bias-free ReLU network :math:`G(t \sigma e_j) = t\, G(\sigma e_j)`, so these are
       the exact best 1-sparse fits), the ``seeds`` lowest residuals kept. Then ``restarts``
       random starts :math:`P_s(z_0)`, :math:`z_0 \sim \mathcal N(0, I_k)`, after the rows of
       ``z0`` if given.
    2. **Growth** (latent OMP). A start with fewer than s non-zeros gains the coordinate of
       largest :math:`|\nabla f|` outside its support, then is refitted (step 3), until it has s.
    3. **Gauss-Newton on the support** S: :math:`d = \arg\min_d \lVert y - F(z) - J_S d \rVert`
       (least squares on the s Jacobian columns), :math:`z_S \leftarrow z_S + t d` with t halved
       until f decreases, at most ``gn_steps`` steps, ending early after a step that leaves
       f above ``gn_stall`` times its previous value. With ``negate`` each accepted step is
       followed by the negation check of Huang, Hand, Heckel & Voroninski: z <- -z if
       f(-z) < f(z) (random ReLU networks have a spurious critical region near a negative
       multiple of the truth).
    4. **Latent HTP** (``htp_iters`` > 0): the normalised gradient step
       :math:`P_s(z + \mu g)`, :math:`\mu = \lVert g_\Gamma\rVert^2 / \lVert J g_\Gamma\rVert^2`
       (halved until f decreases), then step 3 on the new support; repeated until f stops
       decreasing.
    5. **Swap search** (``max_swaps`` > 0): at z, every one-element swap
       :math:`T = S \setminus \{j\} \cup \{l\}` is ranked by its linearised fit
       :math:`\min_u \lVert b - J_T u \rVert`, :math:`b = y - F(z) + J_S z_S` (one Jacobian,
       no network pass per swap); the ``n_screen`` best are refitted by step 3 from three
       starts each, and the best refit replaces z if it lowers f; where none does, the
       ``pair_screen`` best two-element swaps (ranked alike) are refitted. Repeated until no
       screened move improves or after ``max_swaps`` moves.
    6. **Beam search over growth** (``beam`` > 0, only for 2 <= s < k and only when no start
       fits y to ``fit_tol`` after steps 2-5): the ``beam`` best partial supports are kept
       at every size instead of one greedy path per seed. From the ``beam`` best 1-sparse
       fits (distinct coordinates), each kept z ranks every coordinate l outside its
       support S by the linearised fit :math:`\min_u \lVert b - J_{S \cup \{l\}} u \rVert`
       (as in step 5), its ``beam_expand`` best are refitted by step 3, and the ``beam``
       lowest refitted residuals (distinct supports) are kept; at size s the beam's rows
       run steps 3 and 5 like the other starts and join the rows.
    7. **Support search** (``exhaustive``; only for 2 <= s < k, where no row fits y to
       ``fit_tol`` after step 6 and :math:`\binom{k}{s}` <= ``exhaustive``): each support
       T in turn (lexicographic order) is solved as a dense problem on the generator
       restricted to T, as the support-knowing oracle does: the 2s greedy seeds on T grown
       to all of T, Gauss-Newton and sign flips (``gn_stall`` 1). The first support that
       fits y ends it; otherwise the best fit found joins the rows. Near m = s + 1 the
       linearised rankings of steps 5 and 6 say little, and for small s solving every
       support is affordable (C(20, 3) = 1140 supports).

    Parameters
    ----------
    G : ReLUGenerator
        The generator.
    A : ndarray, shape (m, n)
        The sensing matrix.
    s : int
        The latent sparsity, ``1 <= s <= k``.
    seeds : int or None
        Greedy seeds (0 to use random starts only); at most 2k. None (default): all 2k when
        s < k, none when s = k (growing 2k seeds to k coordinates costs k refits each).
    restarts : int or None
        Random starts in addition to the seeds and the rows of ``z0``. None (default): 0
        when s < k, 8 when s = k (the dense problem: random starts, Gauss-Newton and the
        negation check, as in Huang et al.).
    gn_steps : int
        Gauss-Newton steps per refit.
    gn_stall : float or None
        A refit also stops after a Gauss-Newton step that leaves f above ``gn_stall`` times
        its value before the step, in (0, 1]; 1: never (all ``gn_steps`` steps unless the
        step is below ``tol``). On the right support Gauss-Newton converges fast, so a
        slow step marks a refit that is not worth finishing. None (default): 0.5 when
        s < k (2-5x less time; at most 2 of 30 successes lost in the hardest cells, within
        the noise, and won back by the wider beam), 1 when s = k (there the
        stall cost successes: 3 layers, k = 30, m = 40: 17/20 against 20/20;
        docs/solvers.md).
    htp_iters : int
        Latent HTP steps per start (0: none).
    n_screen : int
        Swaps refitted per round of the swap search.
    swap_starts : {1, 2, 3}
        Gauss-Newton starts per screened swap (the linearised fit u; then +c; then -c).
    max_swaps : int
        Swaps per start (0: no swap search).
    swap_rows : int or None
        How many starts run the swap search in all; None (default): all.
    group : int or None
        Starts processed per stage, in start order (the seeds by their 1-sparse residual):
        steps 2-4 on the ``group`` starts of a stage, then the swap search on them, smallest
        residual first, then the next stage; the search ends at the first start that fits y
        to ``fit_tol``. 1 is the lazy order (each start's whole pipeline before the next
        one begins); a group of all the starts the eager one (steps 2-4 on every start,
        then swap searches best first). Each start's pipeline does not depend on the
        others, so every grouping gives the same residual on every start it finishes;
        small groups finish fewer. None (default): 1 when s < k; all the starts when s = k
        (random starts differ widely there, and the best refitted one is worth flipping
        first).
    pair_screen : int
        Two-element swaps in the swap search (0: none). When no screened one-element swap
        lowers f, every two-element swap :math:`T = S \setminus \{j_1, j_2\} \cup
        \{l_1, l_2\}` is ranked by the same linearised fit and the ``pair_screen`` best are
        refitted by step 3 from their linear fit; the best replaces z if it lowers f, and
        the one-element search goes on from there.
    beam : int
        Width of the beam search over growth (step 6; 0: none). It runs only where no
        other start fits y, so it costs nothing where the greedy seeds succeed; where it
        runs it costs about ``beam * beam_expand * s`` refits (about 0.5 s at k = 20,
        s = 8, depth 3). Wider beams kept paying up to 1024 (docs/benchmarks.md).
    beam_expand : int
        Coordinates refitted per kept support and size in the beam search.
    exhaustive : int
        Support search (step 7): where no row fits y after the beam search and there are
        at most this many supports (C(k, s); 0: never), every support T is solved as the
        oracle that knows it would be, stopping at the first that fits y. The default
        2000 covers s <= 3 (and s >= k - 3) at k = 20.
    grow_try : int
        Growth rule (step 2). 0 (default): OMP, the coordinate of largest |gradient|
        joins. q > 0: the q candidates with the best linearised fit are each refitted
        and the best kept (OLS-style; measured no gain, docs/solvers.md).
    flips : bool or None
        Sign-flip moves in the swap search: for each j in S, z_j <- -z_j and
        z_j <- -sign(z_j) c, refitted by step 3 (with s = k the swap search has only these).
        None (default): only when s = k (for s < k they bought nothing measurable).
    negate : bool
        The negation check after every Gauss-Newton step.
    tol : float
        A Gauss-Newton refit stops when its step is at most tol ||z||.
    fit_tol : float
        A start whose residual reaches fit_tol ||y|| ends the search: the remaining starts
        are skipped or cut short (their residual is reported where they stopped).
        Noise-free data are fitted to rounding error; with noise of norm eps,
        ``fit_tol = eps / ||y||`` stops at the discrepancy level, and ``fit_tol = 0`` runs
        every start.
    polish : int
        If the best start does not reach fit_tol, this many random restarts on its support
        (z_S ~ N(0, c^2 I), c = ||z|| / sqrt(s)), refitted by Gauss-Newton; they join the
        rows (and ``restart_residuals``). Needs ``rng``.
    cert_tol : float
        The returned point is *stationary on its support* when
        :math:`\lVert (\nabla f)_S \rVert \le 2\,\mathrm{cert\_tol}\, \lVert J_S\rVert_F
        \lVert y \rVert`.

    Notes
    -----
    The result's ``certified`` is True when the returned row is stationary on its support
    and its residual is at most every other row's (the second holds by construction);
    ``gradient_norm`` is :math:`\lVert (\nabla f)_S \rVert`; ``support_changes`` counts the
    support changes of the returned row (HTP steps that changed it, and swaps); ``n_iter``
    counts its accepted Gauss-Newton, HTP and swap steps; ``history`` holds its residual at
    the start and at the end.

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    .. [2] S. Foucart, "Hard thresholding pursuit: an algorithm for compressive sensing",
       SIAM J. Numer. Anal. 49(6), 2011.
    .. [3] W. Huang, P. Hand, R. Heckel and V. Voroninski, "A provably convergent scheme for
       compressive sensing under random generative priors", J. Fourier Anal. Appl. 27, 2021
       (arXiv:1812.04176, 2018).
    .. [4] Y. C. Pati, R. Rezaiifar and P. S. Krishnaprasad, "Orthogonal matching pursuit",
       Asilomar 1993.
    """

    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        s: int,
        *,
        seeds: int | None = None,
        restarts: int | None = None,
        gn_steps: int = 8,
        htp_iters: int = 0,
        n_screen: int = 4,
        swap_starts: int = 3,
        max_swaps: int = 20,
        swap_rows: int | None = None,
        group: int | None = None,
        pair_screen: int = 32,
        flips: bool | None = None,
        grow_try: int = 0,
        beam: int = 1024,
        beam_expand: int = 8,
        gn_stall: float | None = None,
        exhaustive: int = 2000,
        negate: bool = True,
        tol: float = 1e-9,
        fit_tol: float = 1e-10,
        polish: int = 8,
        cert_tol: float = 1e-6,
    ):
        self.problem = PackedProblem.latent(G, A)
        self.G = G
        k = self.problem.k
        self.s = check_sparsity(s, k)
        dense = self.s == k
        if seeds is None:
            seeds = 0 if dense else 2 * k
        if restarts is None:
            restarts = DENSE_RESTARTS if dense else 0
        self.seeds = check_int(seeds, "seeds", minimum=0)
        if self.seeds > 2 * k:
            raise ValueError(f"seeds must be at most 2k = {2 * k}, got {seeds}")
        self.restarts = check_int(restarts, "restarts", minimum=0)
        self.gn_steps = check_int(gn_steps, "gn_steps", minimum=1)
        self.htp_iters = check_int(htp_iters, "htp_iters", minimum=0)
        self.n_screen = check_int(n_screen, "n_screen", minimum=1)
        self.swap_starts = check_int(swap_starts, "swap_starts", minimum=1)
        if self.swap_starts > 3:
            raise ValueError(f"swap_starts must be 1, 2 or 3, got {swap_starts}")
        self.max_swaps = check_int(max_swaps, "max_swaps", minimum=0)
        self.swap_rows = (
            None if swap_rows is None else check_int(swap_rows, "swap_rows", minimum=1)
        )
        self.flips = dense if flips is None else bool(flips)
        if group is None:
            group = None if dense else LAZY_GROUP
        self.pair_screen = check_int(pair_screen, "pair_screen", minimum=0)
        self.group = None if group is None else check_int(group, "group", minimum=1)
        self.grow_try = check_int(grow_try, "grow_try", minimum=0)
        self.beam = check_int(beam, "beam", minimum=0)
        self.beam_expand = check_int(beam_expand, "beam_expand", minimum=1)
        if gn_stall is None:
            gn_stall = 1.0 if dense else GN_STALL
        self.gn_stall = check_positive_float(gn_stall, "gn_stall")
        if self.gn_stall > 1.0:
            raise ValueError(f"gn_stall must be in (0, 1], got {gn_stall}")
        self.exhaustive = check_int(exhaustive, "exhaustive", minimum=0)
        self.negate = bool(negate)
        self.tol = check_positive_float(tol, "tol", allow_zero=True)
        self.fit_tol = check_positive_float(fit_tol, "fit_tol", allow_zero=True)
        self.polish = check_int(polish, "polish", minimum=0)
        self.cert_tol = check_positive_float(cert_tol, "cert_tol", allow_zero=True)

    def starts(self, y: np.ndarray, z0, rng) -> np.ndarray:
        """The rows of z0, then the greedy seeds, then the random starts."""
        k, s = self.problem.k, self.s
        rows = []
        if z0 is not None:
            rows.append(self.problem.starts(s, 1, z0, None))
        if self.seeds:
            Z, f = recover_kernels.one_sparse_fits(*self.problem.packed, y)
            rows.append(Z[np.argsort(f, kind="stable")[: self.seeds]])
        if self.restarts:
            rows.append(self.problem.starts(s, self.restarts, None, rng))
        if not rows:
            raise ValueError(
                "no starting point: give z0, or seeds >= 1, or restarts >= 1 (with rng)"
            )
        return np.ascontiguousarray(np.vstack(rows).reshape(-1, k))

    def _run_rows(self, packed, y, Z, fit_sq, **changed):
        """`recover_rows` on the rows of Z (in place) with this solver's settings.

        ``changed`` overrides some of them for a stage (polish, support search); returns
        (f, support_changes, steps) per row.
        """
        o = dict(
            s=self.s,
            htp_iters=self.htp_iters,
            n_screen=self.n_screen,
            swap_starts=self.swap_starts,
            max_swaps=self.max_swaps,
            swap_rows=Z.shape[0] if self.swap_rows is None else self.swap_rows,
            flips=self.flips,
            grow_try=self.grow_try,
            group=Z.shape[0] if self.group is None else self.group,
            pair_screen=self.pair_screen,
            stall=self.gn_stall,
        )
        o.update(changed)
        return recover_kernels.recover_rows(
            *packed,
            y,
            Z,
            o["s"],
            self.gn_steps,
            o["htp_iters"],
            o["n_screen"],
            o["swap_starts"],
            o["max_swaps"],
            o["swap_rows"],
            self.negate,
            float(self.tol),
            float(fit_sq),
            o["flips"],
            o["grow_try"],
            o["group"],
            o["pair_screen"],
            float(o["stall"]),
        )

    def beam_rows(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of the beam search over growth and their squared residuals, best first.

        The beam starts from the ``beam`` best 1-sparse fits with distinct supports and is
        grown to s by `sdlss_theory._kernels.recover.beam_growth`.
        """
        packed = self.problem.packed
        Z1, f1 = recover_kernels.one_sparse_fits(*packed, y)
        keep, seen = [], set()
        for i in np.argsort(f1, kind="stable"):
            nz = np.flatnonzero(Z1[i])
            if nz.size and int(nz[0]) not in seen:
                seen.add(int(nz[0]))
                keep.append(i)
            if len(keep) == self.beam:
                break
        if not keep:
            return np.empty((0, self.problem.k)), np.empty(0)
        Zb, fb = recover_kernels.beam_growth(
            *packed,
            y,
            np.ascontiguousarray(Z1[keep]),
            self.s,
            self.beam,
            self.beam_expand,
            self.gn_steps,
            self.negate,
            float(self.tol),
            float(self.gn_stall),
        )
        return np.ascontiguousarray(Zb), np.maximum(fb, 0.0)

    def support_search(self, y: np.ndarray, fit_sq: float) -> tuple[np.ndarray, float, int]:
        """Step 7: every support T solved as a dense problem; (z, f, steps) of the best.

        Stops at the first T whose fit reaches ``fit_sq``.
        """
        k, s = self.problem.k, self.s
        best_z, best_f, best_steps = np.zeros(k), np.inf, 0
        for T in combinations(range(k), s):
            cols = np.array(T)
            sub = self.problem.restricted(cols)
            rows = np.ascontiguousarray(recover_kernels.one_sparse_fits(*sub.packed, y)[0])
            # As the oracle on T: a dense problem, seeds grown to all of T, flips, no stall.
            f, _, steps = self._run_rows(
                sub.packed,
                y,
                rows,
                fit_sq,
                htp_iters=0,
                n_screen=1,
                swap_starts=1,
                swap_rows=rows.shape[0],
                flips=True,
                grow_try=0,
                group=rows.shape[0],
                pair_screen=0,
                stall=1.0,
            )
            i = int(np.argmin(f))
            if f[i] < best_f:
                best_f, best_steps = float(max(f[i], 0.0)), int(steps[i])
                best_z = np.zeros(k)
                best_z[cols] = rows[i]
            if best_f <= fit_sq:
                break
        return best_z, best_f, best_steps

    def solve(
        self,
        y: np.ndarray,
        *,
        z0: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> RecoveryResult:
        """Recover z from y = A G(z).

        Parameters
        ----------
        y : ndarray, shape (m,)
            The measurements.
        z0 : ndarray, shape (k,) or (R, k), optional
            Extra starting points (projected with P_s; grown if sparser than s).
        rng : numpy.random.Generator, optional
            Needed when ``restarts`` >= 1, and for ``polish`` restarts when the best start
            does not fit y to ``fit_tol``.

        Returns
        -------
        RecoveryResult
            With ``certified``, ``gradient_norm`` and ``support_changes`` filled in.
        """
        y = self.problem.check_measurements(y)
        Z = self.starts(y, z0, rng)
        packed = self.problem.packed
        y_norm = float(np.linalg.norm(y))
        start_residuals = np.linalg.norm(self.problem.forward(Z) - y, axis=1)
        swap_rows = Z.shape[0] if self.swap_rows is None else self.swap_rows
        fit_sq = (self.fit_tol * y_norm) ** 2
        f, changes, steps = self._run_rows(packed, y, Z, fit_sq)
        if self.beam and f.min() > fit_sq and 1 < self.s < self.problem.k:
            # No start fits y: beam search over growth, its rows through the same pipeline.
            Zb, fb0 = self.beam_rows(y)
            if Zb.shape[0]:
                fb, changes_b, steps_b = self._run_rows(packed, y, Zb, fit_sq, swap_rows=swap_rows)
                start_residuals = np.concatenate([start_residuals, np.sqrt(fb0)])
                Z = np.vstack([Z, Zb])
                f = np.concatenate([f, fb])
                changes = np.concatenate([changes, changes_b])
                steps = np.concatenate([steps, steps_b])
        k = self.problem.k
        if (
            self.exhaustive
            and f.min() > fit_sq
            and 1 < self.s < k
            and comb(k, self.s) <= self.exhaustive
        ):
            # Still no fit: solve every support as the oracle would (small C(k, s) only).
            z_e, f_e, steps_e = self.support_search(y, fit_sq)
            start_residuals = np.append(start_residuals, y_norm)
            Z = np.vstack([Z, z_e])
            f = np.append(f, f_e)
            changes = np.append(changes, 0)
            steps = np.append(steps, steps_e)
        best = int(np.argmin(f))
        if self.polish and f[best] > fit_sq:
            # Random restarts on the winner's support: Gauss-Newton only, rows kept apart.
            if rng is None:
                raise ValueError(
                    "rng is required for polish restarts: pass rng=np.random.default_rng(seed) "
                    "or polish=0"
                )
            support = np.flatnonzero(Z[best])
            scale = np.linalg.norm(Z[best]) / np.sqrt(max(support.size, 1))
            P = np.zeros((self.polish, self.problem.k))
            P[:, support] = scale * check_rng(rng).standard_normal((self.polish, support.size))
            fp, _, steps_p = self._run_rows(
                packed,
                y,
                P,
                fit_sq,
                s=support.size,
                htp_iters=0,
                n_screen=1,
                swap_starts=1,
                max_swaps=0,
                swap_rows=1,
                flips=False,
                grow_try=0,
                group=self.polish,
                pair_screen=0,
            )
            Z = np.vstack([Z, P])
            f = np.concatenate([f, fp])
            changes = np.concatenate([changes, np.zeros(self.polish, dtype=changes.dtype)])
            steps = np.concatenate([steps, steps_p])
            start_residuals = np.concatenate(
                [start_residuals, np.linalg.norm(self.problem.forward(P) - y, axis=1)]
            )
            best = int(np.argmin(f))
        residuals = np.sqrt(np.maximum(f, 0.0))
        z = Z[best].copy()
        H = np.empty(workspace_size(1, packed[3]))
        grad_norm, scale = recover_kernels.support_gradient_norm(*packed, y, z, H)
        stationary = bool(grad_norm <= 2.0 * self.cert_tol * scale * y_norm)
        certified = stationary and bool(residuals[best] <= residuals.min())
        if stationary:
            message = "converged: the returned point is stationary on its support"
        else:
            message = (
                "not certified: the gradient on the support is "
                f"{grad_norm:.3e} > 2 cert_tol ||J_S||_F ||y||"
            )
        return RecoveryResult(
            x=self.G(z),
            z=z,
            residual=float(residuals[best]),
            n_iter=int(steps[best]),
            converged=stationary,
            message=message,
            history=np.array([start_residuals[best], residuals[best]]),
            restart=best,
            restart_residuals=residuals,
            certified=certified,
            gradient_norm=float(grad_norm),
            support_changes=int(changes[best]),
        )


def latent_recover(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    s: int,
    *,
    seeds: int | None = None,
    restarts: int | None = None,
    gn_steps: int = 8,
    htp_iters: int = 0,
    n_screen: int = 4,
    swap_starts: int = 3,
    max_swaps: int = 20,
    swap_rows: int | None = None,
    group: int | None = None,
    pair_screen: int = 32,
    flips: bool | None = None,
    grow_try: int = 0,
    beam: int = 1024,
    beam_expand: int = 8,
    gn_stall: float | None = None,
    exhaustive: int = 2000,
    negate: bool = True,
    tol: float = 1e-9,
    fit_tol: float = 1e-10,
    polish: int = 8,
    cert_tol: float = 1e-6,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> RecoveryResult:
    """Sparse-latent recovery: ``LatentRecover(G, A, s, ...).solve(y, z0=z0, rng=rng)``.

    Parameters
    ----------
    G : ReLUGenerator
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
    seeds, restarts, gn_steps, htp_iters, n_screen, swap_starts, max_swaps, swap_rows, group,
    pair_screen, flips, grow_try, beam, beam_expand, gn_stall, exhaustive, negate, tol,
    fit_tol, polish, cert_tol
        See `LatentRecover`.
    z0, rng
        See `LatentRecover.solve`.

    Returns
    -------
    RecoveryResult

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix, sparse_latents
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([20, 60, 120, 200], rng)
    >>> z_true = sparse_latents(1, 20, 3, rng)[0]
    >>> A = gaussian_matrix(40, 200, rng)
    >>> result = latent_recover(G, A, A @ G(z_true), 3)
    >>> bool(np.linalg.norm(result.z - z_true) <= 1e-6 * np.linalg.norm(z_true))
    True
    >>> result.certified
    True
    """
    solver = LatentRecover(
        G,
        A,
        s,
        seeds=seeds,
        restarts=restarts,
        gn_steps=gn_steps,
        htp_iters=htp_iters,
        n_screen=n_screen,
        swap_starts=swap_starts,
        max_swaps=max_swaps,
        swap_rows=swap_rows,
        group=group,
        pair_screen=pair_screen,
        flips=flips,
        grow_try=grow_try,
        beam=beam,
        beam_expand=beam_expand,
        gn_stall=gn_stall,
        exhaustive=exhaustive,
        negate=negate,
        tol=tol,
        fit_tol=fit_tol,
        polish=polish,
        cert_tol=cert_tol,
    )
    return solver.solve(y, z0=z0, rng=rng)
