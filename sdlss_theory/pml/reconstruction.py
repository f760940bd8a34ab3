"""`reconstruct`: latent recovery of a batch of signals with a (trained) generator."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.generator import ReLUGenerator

__all__ = ["RECOVER_OPTIONS", "ReconstructOptions", "reconstruct"]

#: `reconstruct`'s solver names and the `SOLVERS` entry each one runs.
SOLVER_NAMES = MappingProxyType(
    {"iht": "latent_iht", "niht": "latent_niht", "gd": "latent_gd", "recover": "latent_recover"}
)

#: The `latent_recover` options of every study's reconstruction, the same for every prior
#: (the teacher included): no beam search and no support search (a learned generator never
#: fits y exactly, so with the solver's defaults both would run on every problem), and 8 of
#: the 2k greedy seeds. The seeds are for sparse codes only: with s = k (DCS) the solver's
#: dense preset (random starts, no seeds) is kept (`DENSE_OVERRIDES`). Above
#: `SWAP_SEARCH_MAX_K` the swap search is off. The measurements behind these choices are in
#: docs/pml.md ("Reconstruction and the baselines").
RECOVER_OPTIONS: dict = {"beam": 0, "exhaustive": 0, "seeds": 8}

#: The largest latent size k at which the swap search runs (it runs only where s <= m; for
#: s > m the solver turns it off itself): at the MNIST sizes it costs minutes per image and
#: did not give the strongest reconstruction, on the digits (k <= 64) and the teacher it finds
#: the exact code where Gauss-Newton alone does not (docs/pml.md, "Reconstruction and the
#: baselines", has the measurements).
SWAP_SEARCH_MAX_K = 64

#: With s = k: no seeds (the dense preset's random starts).
DENSE_OVERRIDES: dict = {"seeds": None}


@dataclasses.dataclass(frozen=True)
class ReconstructOptions:
    """The settings of `reconstruct`, checked at construction (the solvers' pattern)."""

    #: The latent solver: ``"iht"`` (`latent_iht`, SDLSS), ``"niht"`` (`latent_niht`),
    #: ``"gd"`` (`latent_gd`, dense: DCS / CSGM) or ``"recover"`` (`latent_recover`).
    solver: str = "iht"
    #: Iterations per start, run to the end (``tol=0``); unused by ``"recover"``.
    steps: int = 5
    #: The step size of ``"iht"`` and ``"gd"`` (a float, or ``"auto"``: see `LatentIHT`).
    step: float | str = "auto"
    #: Starts per signal (the first one `z0`'s row, if given); the one with the smallest
    #: residual is kept. Unused by ``"recover"``.
    restarts: int = 1
    #: The options of `latent_recover` (``"recover"`` only); None: `RECOVER_OPTIONS`,
    #: with `DENSE_OVERRIDES` when s = k and no swap search when k > `SWAP_SEARCH_MAX_K`.
    recover_options: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.solver not in SOLVER_NAMES:
            raise ValueError(f"solver must be one of {tuple(SOLVER_NAMES)}, got {self.solver!r}")
        object.__setattr__(self, "steps", check_int(self.steps, "steps", minimum=1))
        object.__setattr__(self, "restarts", check_int(self.restarts, "restarts", minimum=1))
        if self.recover_options is not None:
            if self.solver != "recover":
                raise ValueError("recover_options are for solver='recover' only")
            object.__setattr__(
                self, "recover_options", MappingProxyType(dict(self.recover_options))
            )

    def solver_options(self, s: int | None, k: int) -> dict[str, Any]:
        """The keyword options of the `SOLVERS` entry, for sparsity `s` of a latent size `k`."""
        if self.solver == "recover":
            if self.recover_options is not None:
                return dict(self.recover_options)
            options = dict(RECOVER_OPTIONS)
            if s == k:
                options.update(DENSE_OVERRIDES)
            if k > SWAP_SEARCH_MAX_K:
                options["max_swaps"] = 0
            return options
        options = {"max_iter": self.steps, "tol": 0.0, "starts": self.restarts}
        if self.solver != "niht":
            options["step"] = self.step
        return options


def reconstruct(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    *,
    s: int | None = None,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    options: ReconstructOptions | None = None,
    **keywords: Any,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Reconstruct a batch of signals from measurements with a (trained) generator.

    Row by row, runs the solver of `ReconstructOptions` (``solver``), built once through
    `SOLVERS`: `latent_iht` (SDLSS), `latent_niht` or `latent_gd` (dense: DCS / CSGM) for
    exactly ``steps`` iterations (``tol=0``), keeping the best of ``restarts`` starts; or
    `latent_recover` (``solver="recover"``: greedy seeds, Gauss-Newton on the support and
    the swap search; with s = k its dense mode, Gauss-Newton from random starts with the
    negation check), with ``recover_options`` (default `RECOVER_OPTIONS`, with
    `DENSE_OVERRIDES` when s = k and no swap search when k > `SWAP_SEARCH_MAX_K`).

    With ``steps = T``, ``step = beta`` (the learned step) and the same starting noise this is
    the training inner loop of `PMLTrainer` (the library projects the start by
    :math:`P_s` first, as the trainer does). Larger ``steps``, ``step="auto"`` and several
    restarts give the CSGM-style reconstruction of Bora et al.

    Parameters
    ----------
    G : ReLUGenerator
        The generator (e.g. `PMLTrainer.generator`).
    A : array_like, shape (m, n)
        The sensing matrix.
    y : array_like, shape (B, m)
        Measurements, one row per signal.
    s : int, optional
        Sparsity for ``"iht"``, ``"niht"`` and ``"recover"`` (required there; unused by
        ``"gd"``).
    z0 : array_like, shape (B, k), optional
        The first start of each signal (the remaining restarts are drawn from `rng`).
    rng : numpy.random.Generator or int, optional
        Needed when starts must be drawn (always for ``"recover"``).
    options : ReconstructOptions, optional
        The settings (default: `ReconstructOptions()`), updated by `keywords`.
    **keywords
        Fields of `ReconstructOptions`: ``solver``, ``steps``, ``step``, ``restarts``,
        ``recover_options``.

    Returns
    -------
    x_hat : ndarray, shape (B, n)
    z_hat : ndarray, shape (B, k)
    """
    from sdlss_theory.solvers import make_solver

    options = _options(options, keywords)
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    y = as_float_array(y, "y", ndim=(2,))
    if options.solver != "gd" and s is None:
        raise ValueError(f"solver={options.solver!r} needs the sparsity s")
    if z0 is not None:
        z0 = as_float_array(z0, "z0", ndim=(2,))
        if z0.shape != (y.shape[0], G.k):
            raise ValueError(f"z0 must have shape {(y.shape[0], G.k)}, got {z0.shape}")
    if rng is not None:
        rng = check_rng(rng)
    elif options.solver == "recover":
        raise ValueError("solver='recover' needs rng")
    name = SOLVER_NAMES[options.solver]
    solver = make_solver(name, G, A, s, **options.solver_options(s, G.k))
    x_hat = np.empty((y.shape[0], G.n))
    z_hat = np.empty((y.shape[0], G.k))
    for i in range(y.shape[0]):
        res = solver.solve(y[i], z0=None if z0 is None else z0[i], rng=rng)
        x_hat[i], z_hat[i] = res.x, res.z
    return x_hat, z_hat


def _options(options: ReconstructOptions | None, keywords: dict) -> ReconstructOptions:
    """`options` (or the defaults) updated by `keywords`, with errors naming what is wrong."""
    fields = {f.name for f in dataclasses.fields(ReconstructOptions)}
    unknown = sorted(set(keywords) - fields)
    if unknown:
        raise TypeError(
            f"reconstruct got unknown options {unknown}; its options are {sorted(fields)}"
        )
    if options is None:
        return ReconstructOptions(**keywords)
    if not isinstance(options, ReconstructOptions):
        raise TypeError(
            f"options must be a ReconstructOptions, got {type(options).__name__} "
            "(latent_recover's options go in recover_options=)"
        )
    return dataclasses.replace(options, **keywords) if keywords else options
