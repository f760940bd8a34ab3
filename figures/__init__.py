"""Figures, one module per study, drawn from stored results only: ``sdlss figures``.

A figure module ``figures/<study>.py`` defines ``plot(summary, config) -> Figure`` where
`summary` holds the columns of ``results/<study>/summary.csv`` (see
:func:`sdlss_theory.sweep.read_summary_csv`) and `config` the study's configuration read from
``config.json``. The runner (``sdlss figures`` or ``python -m figures``) applies the paper
style and writes ``./figures/out/<study>.pdf`` and ``.png`` under the current folder. A figure
never simulates, and no two of its text elements may overlap
(:func:`sdlss_theory.plotting.layout_problems`). A module whose ``plot`` takes a ``trials``
argument also receives the per-task rows (parameters, trial, metrics) of finished tasks.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["figure_modules"]


def figure_modules() -> dict[str, ModuleType]:
    """Return the figure modules by study name, sorted by name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not callable(getattr(module, "plot", None)):
            raise TypeError(f"figures/{info.name}.py must define plot(summary, config)")
        found[info.name] = module
    return found
