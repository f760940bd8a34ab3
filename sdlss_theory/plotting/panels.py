"""Figure widths and panels: the one place a figure learns how wide it is printed.

A figure module never picks its width: :func:`figure_width` (a context the figure runner
enters for ``--width column|page|INCHES``) sets it, and :func:`panel_figure` lays the
figure's named panels out at that width, reflowing them into more rows when the width holds
fewer columns of readable panels (at least :data:`MIN_PANEL_WIDTH` inches each), so that
the style's text (7-8 pt) stays at its size on paper. :func:`selected_panels` (``--panel
NAME``) keeps only some panels; a module asks :func:`panel_figure` for all of its panels and
draws those it gets back.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sdlss_theory.plotting.layout import MIN_FONT_SIZE

__all__ = [
    "COLUMN_WIDTH",
    "MIN_FONT_SIZE",
    "MIN_PANEL_WIDTH",
    "PAGE_WIDTH",
    "WIDTHS",
    "current_width",
    "figure_width",
    "panel_figure",
    "panel_grid",
    "panel_legend",
    "panel_width",
    "resolve_width",
    "selected_panels",
]

#: Width of one IEEE column and of the full text (both columns), in inches.
COLUMN_WIDTH = 3.5
PAGE_WIDTH = 7.16
#: The named widths: ``text`` is another name of ``page``.
WIDTHS = {"column": COLUMN_WIDTH, "page": PAGE_WIDTH, "text": PAGE_WIDTH}
#: The narrowest panel (axes with its tick labels) that holds 7 pt text legibly, in inches.
MIN_PANEL_WIDTH = 1.4
#: Panels narrower than this (inches) put their legends below the axes (:func:`panel_legend`),
#: and :func:`panel_figure` adds :data:`LEGEND_BELOW` inches per row for them.
NARROW_PANEL = 2.2
LEGEND_BELOW = 0.45

_WIDTH: contextvars.ContextVar[float] = contextvars.ContextVar("figure_width", default=PAGE_WIDTH)
_PANELS: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "figure_panels", default=None
)


def resolve_width(width: str | float) -> float:
    """Return a figure width in inches.

    Parameters
    ----------
    width : "column", "page", "text", float or str
        One IEEE column (3.5 in), the full page width (7.16 in; ``text`` is the same), a
        number of inches, or such a number as text (``"5"``, from a command line).

    Raises
    ------
    ValueError
        If `width` is neither a known name nor a positive finite number (at most 50 in).
    """
    if isinstance(width, str) and width in WIDTHS:
        return WIDTHS[width]
    try:
        value = float(width)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(width, bool) or not (math.isfinite(value) and 0 < value <= 50):
        raise ValueError(
            f"width must be 'column', 'page' or a positive number of inches (at most 50), "
            f"got {width!r}"
        )
    return value


def current_width() -> float:
    """The width figures are drawn at now, in inches (the page width unless set)."""
    return _WIDTH.get()


@contextlib.contextmanager
def figure_width(width: str | float) -> Iterator[float]:
    """Draw figures at `width` inside the block (see :func:`resolve_width`); yields inches."""
    token = _WIDTH.set(resolve_width(width))
    try:
        yield _WIDTH.get()
    finally:
        _WIDTH.reset(token)


@contextlib.contextmanager
def selected_panels(names: Sequence[str] | None) -> Iterator[None]:
    """Inside the block, :func:`panel_figure` keeps only the panels named (all if None)."""
    token = _PANELS.set(None if names is None else tuple(names))
    try:
        yield
    finally:
        _PANELS.reset(token)


def panel_grid(n_panels: int, *, width: float | None = None, max_columns: int | None = None,
               min_panel_width: float = MIN_PANEL_WIDTH) -> tuple[int, int]:  # fmt: skip
    """Return ``(rows, columns)`` for `n_panels` panels at `width` inches.

    As many columns as fit panels of at least `min_panel_width` inches (at most
    `max_columns`, at most `n_panels`, at least one); rows to hold every panel.
    """
    if n_panels < 1:
        raise ValueError(f"n_panels must be >= 1, got {n_panels}")
    width = current_width() if width is None else resolve_width(width)
    cols = max(1, min(n_panels, int(width // min_panel_width), max_columns or n_panels))
    return math.ceil(n_panels / cols), cols


def _places(names: Sequence[str], cols: int, wide: Sequence[str]) -> tuple[list, int]:
    """Return each panel's (row, column slice), row-major, and the number of rows.

    A wide panel takes a row of its own.
    """
    places, row, col = [], 0, 0
    for name in names:
        if name in wide:
            if col:
                row, col = row + 1, 0
            places.append((row, slice(0, cols)))
            row += 1
            continue
        places.append((row, slice(col, col + 1)))
        row, col = (row + 1, 0) if col + 1 == cols else (row, col + 1)
    return places, row + (col > 0)


def panel_figure(
    names: Sequence[str],
    *,
    aspect: float = 0.75,
    max_columns: int | None = None,
    extra_height: float = 0.0,
    wide: Sequence[str] = (),
    heights: Mapping[str, float] | None = None,
    width: str | float | None = None,
    **subplot_kw: Any,
) -> tuple[Any, dict[str, Any]]:
    """A figure at the current width with one axes per panel, reflowed into rows.

    Parameters
    ----------
    names : sequence of str
        Every panel of the figure, in reading order; only those of :func:`selected_panels`
        (if set) are made, in this order. ``GROUP:PART`` names a panel of a group (one per
        value of a parameter): selecting ``GROUP`` selects them all.
    aspect : float
        Height over width of one grid cell.
    max_columns : int, optional
        At most this many panels per row (the layout the figure was designed for).
    extra_height : float
        Inches added for figure-level text (a suptitle, a legend below the panels).
    wide : sequence of str
        Panels that take a whole row of their own (long tick labels, many categories).
    heights : mapping of str to float, optional
        The least height (inches) of the row holding a panel (one line per category).
    width : "column", "page", float, optional
        Override the current width.
    **subplot_kw
        Passed to ``Figure.add_subplot``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Constrained layout, ``width x (rows * cell height + extra_height)`` inches; a cell is
        ``width / columns`` wide and ``aspect`` times that high, plus :data:`LEGEND_BELOW`
        when narrower than :data:`NARROW_PANEL`.
    axes : dict
        Panel name -> axes, for the panels made.

    Raises
    ------
    KeyError
        If :func:`selected_panels` names a panel not in `names`.
    """
    import matplotlib.pyplot as plt

    heights = dict(heights or {})
    chosen = _PANELS.get()
    if chosen is not None:
        groups = {n.split(":")[0] for n in names}
        unknown = [p for p in chosen if p not in names and p not in groups]
        if unknown:
            raise KeyError(
                f"no panel {', '.join(map(repr, unknown))} in this figure; panels: "
                f"{', '.join(dict.fromkeys([*names, *sorted(groups)]))}"
            )
        names = [n for n in names if n in chosen or n.split(":")[0] in chosen]
    w = current_width() if width is None else resolve_width(width)
    _, cols = panel_grid(len(names), width=w, max_columns=max_columns)
    places, rows = _places(names, cols, wide)
    # Narrow panels carry their legends below the axes (panel_legend): room for them.
    below = LEGEND_BELOW if w / cols < NARROW_PANEL else 0.0
    row_heights = [(w / cols) * aspect + below] * rows
    for name, (r, _) in zip(names, places, strict=True):
        row_heights[r] = max(row_heights[r], heights.get(name, 0.0))
    fig = plt.figure(figsize=(w, sum(row_heights) + extra_height), layout="constrained")
    grid = fig.add_gridspec(rows, cols, height_ratios=row_heights)
    axes = {name: fig.add_subplot(grid[r, c], **subplot_kw)
            for name, (r, c) in zip(names, places, strict=True)}  # fmt: skip
    return fig, axes


def panel_width(ax: Any) -> float:
    """The width of the grid cells `ax` spans, in inches (its panel's share of the figure)."""
    spec = ax.get_subplotspec()
    if spec is None:
        return float(ax.figure.get_figwidth())
    span = spec.colspan.stop - spec.colspan.start
    return float(ax.figure.get_figwidth()) * span / spec.get_gridspec().ncols


def panel_legend(
    ax: Any, loc: str = "best", *, narrow: float = NARROW_PANEL, **kwargs: Any
) -> Any:
    """A legend inside the panel at `loc`, or below the panel's x label when it is narrow.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The panel.
    loc : str
        Where the legend goes in a panel at least `narrow` inches wide.
    narrow : float
        Below this panel width (:func:`panel_width`), in inches, the legend goes under the
        axes (constrained layout makes room for it), where it covers neither data nor labels.
    **kwargs
        Passed to ``Axes.legend``.
    """
    from matplotlib.transforms import ScaledTranslation

    if panel_width(ax) >= narrow:
        return ax.legend(loc=loc, **kwargs)
    # Under the tick labels (7 pt) and the x label (8 pt) with their pads: about 30 pt.
    below = ax.transAxes + ScaledTranslation(0, -32 / 72, ax.figure.dpi_scale_trans)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
                     **kwargs)  # fmt: skip
