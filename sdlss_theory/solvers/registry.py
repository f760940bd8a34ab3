"""The latent solvers by name, and the known-support ("oracle") solver.

`SOLVERS` maps each name a study or a configuration file may use to a constructor with one
signature, ``SOLVERS[name](G, A, s, **options)`` -> a `LatentSolver` (``latent_gd`` ignores
``s``: it does not threshold). `make_solver` looks a name up with an error that lists the
names. `oracle` builds the solver that knows the support of z*: a lower reference for every
sparse-latent solver, since it only has |S| unknowns.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np

from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.solvers._base import LatentSolver, Solver
from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.latent import LatentGD, LatentIHT, LatentNIHT
from sdlss_theory.solvers.recover import LatentRecover

__all__ = ["SOLVERS", "Oracle", "make_solver", "oracle"]


def _latent_gd(G: ReLUGenerator, A: np.ndarray, s: int | None = None, **options: Any) -> LatentGD:
    """`LatentGD` under the registry's signature (dense: `s` is ignored)."""
    return LatentGD(G, A, **options)


#: Latent solvers by name: ``SOLVERS[name](G, A, s, **options)`` builds the solver, whose
#: ``solve(y, z0=None, rng=None)`` returns a `RecoveryResult`.
SOLVERS: MappingProxyType[str, Callable[..., LatentSolver]] = MappingProxyType(
    {
        "latent_iht": LatentIHT,
        "latent_niht": LatentNIHT,
        "latent_recover": LatentRecover,
        "latent_gd": _latent_gd,
    }
)


def make_solver(
    name: str, G: ReLUGenerator, A: np.ndarray, s: int, **options: Any
) -> LatentSolver:
    """The solver `name` of `SOLVERS` for the problem (G, A, s) with `options`.

    Raises
    ------
    ValueError
        If `name` is not in `SOLVERS` (the message lists the names).
    """
    if name not in SOLVERS:
        raise ValueError(f"solver must be one of {sorted(SOLVERS)}, got {name!r}")
    return SOLVERS[name](G, A, s, **options)


class Oracle(Solver):
    """The known-support solver: a solver of `SOLVERS` on G restricted to the support S.

    The unknowns are the |S| coordinates of z on S (`ReLUGenerator.restrict`: the first
    layer's columns S), so there is no support to find; the returned code is lifted back to
    R^k (zeros off S), with ``x = G(z)`` and ``residual = ||y - A x||`` recomputed on the full
    generator. It needs the support of the truth, so it is a reference, not a method: it
    bounds from below the measurements a solver of the same objective needs once the
    support is found.

    Parameters
    ----------
    G : ReLUGenerator
        The generator, latent size k.
    A : ndarray, shape (m, n)
        The measurement matrix.
    support : array_like of int
        The known support S: distinct indices in [0, k).
    solver : str
        A name of `SOLVERS`, run on the restricted problem with s = |S| (default
        ``latent_recover``, which then gets ``seeds=2|S|``, its greedy seeds, unless
        `options` sets them).
    **options
        The options of that solver.

    Notes
    -----
    Extras: the restricted solver's, plus ``support`` (S, sorted).
    """

    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        support: Any,
        *,
        solver: str = "latent_recover",
        **options: Any,
    ):
        S = np.unique(np.asarray(support, dtype=np.int64).ravel())
        if S.size == 0 or S[0] < 0 or S[-1] >= G.k or S.size != np.size(support):
            raise ValueError(
                f"support must be distinct indices in [0, k={G.k}), got {np.asarray(support)}"
            )
        if solver == "latent_recover":
            options.setdefault("seeds", 2 * S.size)
        self.G, self.A, self.support = G, A, S
        self.inner = make_solver(solver, G.restrict(S), A, S.size, **options)
        self.options = self.inner.options

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover z from y = A G(z) with z supported on S.

        ``z0``, if given, holds codes on S (shape ``(|S|,)`` or ``(R, |S|)``); ``rng`` as
        the restricted solver needs it.
        """
        result = self.inner.solve(y, z0=z0, rng=rng)
        z = np.zeros(self.G.k)
        z[self.support] = result.z
        x = self.G(z)
        return RecoveryResult(
            x=x,
            z=z,
            residual=float(np.linalg.norm(np.asarray(y, dtype=np.float64) - self.A @ x)),
            n_iter=result.n_iter,
            converged=result.converged,
            certified=result.certified,
            message=result.message,
            history=result.history,
            extras={**result.extras, "support": self.support},
        )


def oracle(
    G: ReLUGenerator,
    support: Any,
    A: np.ndarray,
    *,
    solver: str = "latent_recover",
    **options: Any,
) -> Oracle:
    """The known-support solver for G and `support` with the measurement matrix `A`.

    ``oracle(G, S, A, **options).solve(y, rng=rng)``; see `Oracle` for the parameters.
    """
    return Oracle(G, A, support, solver=solver, **options)
