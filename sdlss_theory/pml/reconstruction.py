"""`reconstruct`: latent recovery of a batch of signals with a (trained) generator."""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import as_float_array, check_int
from sdlss_theory.generator import ReLUGenerator

_SOLVERS = ("iht", "niht", "gd", "recover")

#: The `latent_recover` options of every study's reconstruction, the same for every prior
#: (the teacher included). A learned generator never fits y exactly, so with the solver's
#: defaults its beam search (1024 wide) and support search run on every problem: 5.3 s per
#: problem against 23 ms without them (a learned k = 16 -> 32 -> 64 network, m = 16; mean
#: error 0.817 against 0.821). Of the 2k greedy seeds, 8 are kept: on the digits
#: (k = 32 -> 128 -> 64, s = 8, m = 16) 0.25 s per image against 1.25 s, and 17.6 dB
#: against 16.7 dB (the extra seeds fit y better with the wrong code). The seeds are for
#: sparse codes only: with s = k (DCS) the solver's dense preset (random starts, no seeds)
#: is kept, as growing 8 seeds to all k coordinates costs k refits each and reconstructs
#: worse (docs/benchmarks.md, "Reconstruction at MNIST size"), and without its sign-flip
#: search (`DENSE_OVERRIDES`). docs/pml.md.
RECOVER_OPTIONS: dict = {"beam": 0, "exhaustive": 0, "seeds": 8}

#: With s = k: no seeds, and no swap search (for a dense code only sign flips, each a
#: Gauss-Newton refit): on a DCS generator trained on MNIST (k = 100 -> 500 -> 500 -> 784,
#: m = 100 >= k, so the search is not switched off as it is for s > m) the search took over
#: 3 minutes per image, while 200 gradient-descent steps with 2 restarts reached relative
#: error 0.27 in 0.21 s; latent_recover was chosen for none of the 75 MNIST-trained
#: generators of the paper presets' first 36 learned trials and the MNIST tuning.
DENSE_OVERRIDES: dict = {"seeds": None, "max_swaps": 0}


def reconstruct(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    *,
    s: int | None = None,
    solver: str = "iht",
    steps: int = 5,
    step: float | str = "auto",
    restarts: int = 1,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
    options: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Reconstruct a batch of signals from measurements with a (trained) generator.

    Row by row, runs `latent_iht` (SDLSS), `latent_niht`, or `latent_gd` (dense: DCS / CSGM)
    for exactly `steps` iterations (``tol=0``) and keeps the best of `restarts` starts; or
    `latent_recover` (``solver="recover"``: greedy seeds, Gauss-Newton on the support and
    the swap search; with s = k its dense mode, Gauss-Newton from random starts with the
    negation check), with ``options`` (default `RECOVER_OPTIONS`, with `DENSE_OVERRIDES`
    when s = k).

    With ``steps = T``, ``step = beta`` (the learned step) and the same starting noise this is
    the training inner loop of `PMLTrainer` (the library projects the start by
    :math:`P_s` first, as the trainer does). Larger `steps`, ``step="auto"`` and several
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
    solver : {"iht", "niht", "gd", "recover"}
        The latent solver.
    steps : int
        Iterations per restart (unused by ``"recover"``).
    step : float or "auto"
        Step size for ``"iht"`` and ``"gd"`` (see `LatentIHT`); ``"niht"`` chooses its own.
    restarts : int
        Starts per signal; the one with the smallest residual is kept.
    z0 : array_like, shape (B, k), optional
        The first start of each signal (the remaining restarts are drawn from `rng`).
    rng : numpy.random.Generator or int, optional
        Needed when starts must be drawn (always for ``"recover"``).
    options : dict, optional
        Keyword options of `latent_recover` (``"recover"`` only).

    Returns
    -------
    x_hat : ndarray, shape (B, n)
    z_hat : ndarray, shape (B, k)
    """
    from sdlss_theory._validation import check_rng
    from sdlss_theory.solvers import latent_gd, latent_iht, latent_niht, latent_recover

    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    y = as_float_array(y, "y", ndim=(2,))
    steps = check_int(steps, "steps", minimum=1)
    if solver != "gd" and s is None:
        raise ValueError(f"solver={solver!r} needs the sparsity s")
    if z0 is not None:
        z0 = as_float_array(z0, "z0", ndim=(2,))
        if z0.shape != (y.shape[0], G.k):
            raise ValueError(f"z0 must have shape {(y.shape[0], G.k)}, got {z0.shape}")
    if rng is not None:
        rng = check_rng(rng)
    if solver == "recover":
        if rng is None:
            raise ValueError("solver='recover' needs rng")
        if options is None:
            options = dict(RECOVER_OPTIONS)
            if s == G.k:
                options.update(DENSE_OVERRIDES)
        options = dict(options)
    elif options is not None:
        raise ValueError("options are for solver='recover' only")
    x_hat = np.empty((y.shape[0], G.n))
    z_hat = np.empty((y.shape[0], G.k))
    for i in range(y.shape[0]):
        start = None if z0 is None else z0[i]
        common = dict(max_iter=steps, tol=0.0, starts=restarts, z0=start, rng=rng)
        if solver == "recover":
            res = latent_recover(G, A, y[i], s, z0=start, rng=rng, **options)
        elif solver == "iht":
            res = latent_iht(G, A, y[i], s, step=step, **common)
        elif solver == "niht":
            res = latent_niht(G, A, y[i], s, **common)
        else:
            res = latent_gd(G, A, y[i], step=step, **common)
        x_hat[i], z_hat[i] = res.x, res.z
    return x_hat, z_hat
