"""Figures, one module per study, drawn from stored results only: ``sdlss figures``.

A figure module ``figures/<study>.py`` defines ``plot(summary, config) -> Figure`` where
`summary` holds the columns of ``results/<study>/summary.csv`` (see
:func:`sdlss_theory.sweep.read_summary_csv`) and `config` the study's configuration read from
``config.json``, and ``PANELS``, the names of its panels (``--panel NAME``). The runner
(``sdlss figures`` or ``python -m figures``) applies the paper style, sets the printed width
(``--width column|page|INCHES``: :func:`sdlss_theory.plotting.figure_width`) and writes
``./figures/out/<study>.pdf`` and ``.png`` under the current folder. A module never picks a
width: it lays its panels out with :func:`sdlss_theory.plotting.panel_figure`, which reflows
them at the width asked for. A figure never simulates; no two of its text elements may
overlap, stick out, or be smaller than 7 pt (:func:`sdlss_theory.plotting.layout_problems`).
A module whose ``plot`` takes a ``trials`` argument also receives the per-task rows
(parameters, trial, metrics) of finished tasks.

The command line's pieces that ``sdlss`` shares are public here: :func:`main` (``sdlss
figures``), :func:`make_figure`, :func:`add_figure_arguments`, :class:`Parser` and
:class:`UsageError` (defined in ``figures/_cli.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from figures._cli import Parser, UsageError, add_figure_arguments, main, make_figure

__all__ = ["Parser", "UsageError", "add_figure_arguments", "figure_modules", "main", "make_figure"]


def figure_modules() -> dict[str, ModuleType]:
    """Return the figure modules by study name, sorted by name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not callable(getattr(module, "plot", None)):
            raise TypeError(f"figures/{info.name}.py must define plot(summary, config)")
        panels = getattr(module, "PANELS", None)
        if not (isinstance(panels, tuple) and panels and all(isinstance(p, str) for p in panels)):
            raise TypeError(f"figures/{info.name}.py must define PANELS, a tuple of panel names")
        found[info.name] = module
    return found
