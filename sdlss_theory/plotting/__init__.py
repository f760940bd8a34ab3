"""Figure helpers and the packaged paper style.

Figures are drawn from stored results only (``figures/``). The style (``paper.mplstyle``)
needs no LaTeX, embeds TrueType fonts in PDFs, cycles through the Okabe-Ito colour-blind-safe
palette with a distinct line style and marker per curve (readable in greyscale), and
:func:`save_figure` writes PDFs without a creation date, so they are byte-reproducible.
:func:`layout_problems` lists the text of a drawn figure that overlaps other text, sticks
out of it or is smaller than 7 pt (the test suite requires an empty list for every figure at
both widths). Figures take their width from one place, :func:`figure_width` (the runner's
``--width``), and lay out their panels with :func:`panel_figure`, which reflows them at a
narrow width (``sdlss_theory.plotting.panels``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sdlss_theory.plotting.layout import layout_problems
from sdlss_theory.plotting.panels import (
    COLUMN_WIDTH,
    MIN_FONT_SIZE,
    PAGE_WIDTH,
    WIDTHS,
    current_width,
    figure_width,
    panel_figure,
    panel_grid,
    panel_legend,
    panel_width,
    resolve_width,
    selected_panels,
)

__all__ = [
    "COLUMN_WIDTH",
    "MIN_FONT_SIZE",
    "OKABE_ITO",
    "PAGE_WIDTH",
    "TEXT_WIDTH",
    "WIDTHS",
    "current_width",
    "figure_size",
    "figure_width",
    "layout_problems",
    "panel_figure",
    "panel_grid",
    "panel_legend",
    "panel_width",
    "paper_style",
    "plot_rate",
    "resolve_width",
    "save_figure",
    "selected_panels",
    "style_path",
    "use_paper_style",
]

#: The full text width (both columns), in inches: another name of PAGE_WIDTH.
TEXT_WIDTH = PAGE_WIDTH

#: The Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008), black first.
OKABE_ITO = (
    "#000000",
    "#E69F00",
    "#0072B2",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
)


def style_path() -> Path:
    """Return the path of the packaged ``paper.mplstyle``."""
    return Path(str(resources.files("sdlss_theory.plotting") / "paper.mplstyle"))


def use_paper_style() -> None:
    """Apply the paper style globally (``matplotlib.style.use``)."""
    import matplotlib.style

    matplotlib.style.use(style_path())


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Apply the paper style inside a ``with`` block only."""
    import matplotlib.style

    with matplotlib.style.context(style_path()):
        yield


def figure_size(width: str | float | None = None, aspect: float = 0.68) -> tuple[float, float]:
    """Return ``(width, height)`` in inches.

    Parameters
    ----------
    width : "column", "page", "text", float or None
        One IEEE column (3.5 in), the full page width (7.16 in; ``text`` is the same), or
        inches; None (the default): the current width (:func:`figure_width`, which the
        figure runner sets from ``--width``; the page width otherwise).
    aspect : float
        Height over width.
    """
    w = current_width() if width is None else resolve_width(width)
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got {aspect!r}")
    return float(w), float(w) * aspect


def save_figure(
    fig: Any, path_stem: str | Path, *, formats: Sequence[str] = ("pdf", "png"), dpi: int = 300
) -> list[Path]:
    """Save `fig` as ``<path_stem>.pdf`` and ``<path_stem>.png`` (creating the folder).

    PDFs are written without a creation date (``metadata={"CreationDate": None}``) and PNGs
    without the software tag, so the same figure gives the same bytes on every run; fonts are
    embedded as TrueType (``pdf.fonttype = 42``) whatever the current style.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path_stem : str or path-like
        Output path without extension.
    formats : sequence of str
        File formats to write.
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # TrueType (type 42) fonts even if the figure is saved outside the paper style.
    fonts = {"pdf.fonttype": 42, "ps.fonttype": 42}
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "pdf":
            metadata: dict[str, Any] | None = {"CreationDate": None, "ModDate": None}
        elif fmt == "png":
            metadata = {"Software": None}
        elif fmt == "svg":
            metadata = {"Date": None}
        else:
            metadata = None
        with matplotlib.rc_context(fonts):
            fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
        written.append(path)
    return written


def plot_rate(
    ax: Any,
    x,
    rate,
    lo,
    hi,
    *,
    label: str | None = None,
    band_alpha: float = 0.2,
    **line_kwargs: Any,
) -> Any:
    """Draw a success rate with its confidence band (e.g. Wilson 95%).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    x, rate, lo, hi : array_like
        Abscissae, rates and the band's lower and upper ends (same length).
    label : str, optional
        Legend label of the line.
    band_alpha : float
        Opacity of the band, drawn in the line's colour.
    **line_kwargs
        Passed to ``ax.plot`` (colour, line style and marker default to the style's cycle).

    Returns
    -------
    matplotlib.lines.Line2D
        The line.
    """
    x, rate, lo, hi = (np.asarray(v, dtype=np.float64) for v in (x, rate, lo, hi))
    if not x.shape == rate.shape == lo.shape == hi.shape or x.ndim != 1:
        raise ValueError("x, rate, lo and hi must be 1-D arrays of the same length")
    order = np.argsort(x, kind="stable")
    (line,) = ax.plot(x[order], rate[order], label=label, **line_kwargs)
    ax.fill_between(
        x[order], lo[order], hi[order], color=line.get_color(), alpha=band_alpha, linewidth=0
    )
    return line
