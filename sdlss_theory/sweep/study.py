"""A Monte Carlo study: what to vary, what one trial does, what to summarise and show."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdlss_theory.sweep.config import StudyConfig
from sdlss_theory.sweep.seeds import cell_key, task_seed_sequence, to_plain
from sdlss_theory.sweep.worker import Trial

__all__ = ["TRIALS_KEY", "Study"]

#: The reserved cell parameter that gives a cell its own number of trials.
TRIALS_KEY = "trials"


@dataclass(frozen=True)
class Study:
    """A Monte Carlo study: what to vary, what one trial does, what to summarise.

    Attributes
    ----------
    name : str
        Identifier (``python -m simulations <name>``; output in ``results/<name>/``).
    config : type of StudyConfig
        The configuration dataclass (defaults, ``quick()`` preset).
    grid : callable
        ``grid(config) -> list of dict``: the cells, each a dict of every parameter a trial
        needs (fixed ones included, so that a cell's key reflects all of them). Cells must be
        distinct; their order is the order of ``summary.csv``. The reserved key ``"trials"``
        (`TRIALS_KEY`), a positive int, gives a cell its own number of trials instead of
        ``config.trials``. It is not a parameter: it is removed before the cell's key, seeds,
        trial function and ``summary.csv`` see the cell, so a cell's tasks keep their seeds
        whatever its count (a count derived from ``config.trials`` grows with ``--trials``,
        and the run resumes).
    trial : callable
        ``trial(params, rng) -> dict`` of metrics (bool, int, float or short str). It must be a
        module-level function (workers import it by name) and draw all its randomness from
        `rng`.
    description : str
        One line for ``python -m simulations list``.
    success : str or None
        The boolean metric summarised as a rate with a Wilson interval.
    metrics : tuple of str, optional
        Numeric metrics summarised by mean, median and 5%/95% quantiles (default: all).
    show : tuple of str
        The columns ``sdlss show`` prints first, in order: grid parameters, columns of
        ``summary.csv`` (``rel_error_q95``), the success metric's name (its rate with the
        Wilson interval), a boolean metric's name (its mean, the rate) or another metric's
        name (its median). After them come the other parameters that vary over the grid, the
        success interval and ``n_ok``. Default: those, then the medians of the first metrics.
    transition : str or None
        The grid parameter along which ``sdlss show`` fits the 50% point of the success rate
        (:func:`~sdlss_theory.sweep.fit_transition`), once per combination of the other
        varying parameters (ignored where the grid does not vary it). Default ``None``: no
        fits, since a success rate is not a transition in every study.
    report : callable, optional
        ``report(summary, config) -> {title: rows}``: further tables for ``sdlss show`` (fitted
        constants, comparisons with a theory), each a list of dicts with the same keys.
        `summary` maps every column of ``summary.csv`` to an array (as figures receive it),
        `config` is the configuration as a dict. It must only compute from its arguments.
    paired : tuple of str
        Grid parameters along which draws are *paired*: a task's seed comes from its cell
        without these parameters (:meth:`seed_cell`), so the trials ``t`` of cells that differ
        only along them receive the same random stream (same draws of G, A, z*, same solver
        randomness), and differences along these axes are paired differences. The cell's key,
        its store rows and ``summary.csv`` keep every parameter. Each name must be a parameter
        of every cell. Default ``()``: every cell has its own streams.
    """

    name: str
    config: type[StudyConfig]
    grid: Callable[[Any], list[dict[str, Any]]]
    trial: Trial
    description: str
    success: str | None = "success"
    metrics: tuple[str, ...] | None = None
    show: tuple[str, ...] = ()
    transition: str | None = None
    report: Callable[[dict[str, np.ndarray], dict[str, Any]], Mapping[str, Any]] | None = None
    paired: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.paired, str) or not all(isinstance(a, str) for a in self.paired):
            raise TypeError(f"study {self.name!r}: paired must be a tuple of parameter names")
        object.__setattr__(self, "paired", tuple(self.paired))  # frozen: a list becomes a tuple
        if TRIALS_KEY in self.paired:
            raise ValueError(f"study {self.name!r}: {TRIALS_KEY!r} is not a parameter to pair")
        if isinstance(self.show, str) or not all(isinstance(c, str) for c in self.show):
            raise TypeError(f"study {self.name!r}: show must be a tuple of column names")
        if self.transition is not None and not isinstance(self.transition, str):
            raise TypeError(f"study {self.name!r}: transition must be a parameter name or None")
        if self.report is not None and not callable(self.report):
            raise TypeError(f"study {self.name!r}: report must be callable or None")

    def seed_cell(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the parameters a task's seed is derived from: `params` without `paired`."""
        return {key: value for key, value in params.items() if key not in self.paired}

    def task_rng(
        self, root_seed: int, params: Mapping[str, Any], trial: int
    ) -> np.random.Generator:
        """Return the generator the engine passes to this study's trial `trial` of `params`.

        ``Generator(PCG64(task_seed_sequence(root_seed, cell_key(seed_cell(params)), trial)))``:
        :func:`~sdlss_theory.sweep.task_rng` of the cell without the `paired` axes, to replay
        a stored trial by hand.
        """
        key = cell_key(self.seed_cell(to_plain(dict(params))))
        seq = task_seed_sequence(root_seed, key, trial)
        return np.random.Generator(np.random.PCG64(seq))

    def cells(self, config: StudyConfig) -> list[dict[str, Any]]:
        """Return the grid of `config` as plain dicts (``"trials"`` removed), no duplicates."""
        return [cell for cell, _ in self.cells_with_trials(config)]

    def cell_trials(self, config: StudyConfig) -> list[int]:
        """Return each cell's number of trials: its ``"trials"`` entry, else ``config.trials``."""
        return [n for _, n in self.cells_with_trials(config)]

    def cells_with_trials(self, config: StudyConfig) -> list[tuple[dict[str, Any], int]]:
        """Return ``(cell, number of trials)`` per cell of the grid of `config`.

        Raises
        ------
        ValueError
            If the grid is empty, holds duplicate cells (``"trials"`` aside), a cell's
            ``"trials"`` is not an int >= 1, or lacks one of the `paired` parameters.
        """
        out = []
        for c in self.grid(config):
            cell = to_plain(dict(c))
            n = cell.pop(TRIALS_KEY, config.trials)
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(
                    f"study {self.name!r}: a cell's {TRIALS_KEY!r} must be an int >= 1, got "
                    f"{n!r} in {cell!r}"
                )
            missing = [a for a in self.paired if a not in cell]
            if missing:
                raise ValueError(
                    f"study {self.name!r}: the paired axis {missing[0]!r} is not a parameter "
                    f"of the cell {cell!r}"
                )
            out.append((cell, n))
        if not out:
            raise ValueError(f"study {self.name!r}: the grid is empty")
        keys = [cell_key(c) for c, _ in out]
        if len(set(keys)) != len(keys):
            raise ValueError(f"study {self.name!r}: the grid holds duplicate cells")
        return out
