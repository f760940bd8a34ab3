"""Layout checks of a drawn figure: overlapping, cut off or too small text.

Too small: below the paper style's 7 pt at the printed size.

A figure is drawn once with :meth:`Text.draw <matplotlib.text.Text.draw>` observed, so that
exactly the text the renderer put on the canvas is checked: tick labels of ticks outside the
view limits, empty strings and invisible artists are not drawn and not checked. Each drawn
text's extent is ``Text.get_window_extent(renderer)`` (the text alone, without an
annotation's arrow or a box patch), in display pixels.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DrawnText",
    "clipped_texts",
    "drawn_texts",
    "layout_problems",
    "overlapping_texts",
    "small_texts",
]

#: The smallest text size allowed, in points at the printed size (the paper style's ticks).
MIN_FONT_SIZE = 7.0


@dataclass(frozen=True)
class DrawnText:
    """A text element as drawn: the artist, its string and its extent in display pixels."""

    artist: Any
    text: str
    bbox: Any

    def describe(self) -> str:
        """``'<text>' (<role> of <axes>)``, for messages: which element, and where."""
        role, axes = _role(self.artist)
        where = "the figure"
        if axes is not None:
            name = axes.get_title() or axes.get_ylabel() or axes.get_xlabel()
            where = f"axes {name!r}" if name else "an untitled axes"
        return f"{self.text!r} ({role} of {where})"


def _role(artist: Any) -> tuple[str, Any]:
    """What a text element is (tick label, axis label, title, legend text, ...) and its axes."""
    fig = artist.get_figure()
    for ax in getattr(fig, "axes", []):
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            if artist is axis.label:
                return f"{name} label", ax
            if artist is axis.get_offset_text():
                return f"{name} offset text", ax
            labels = axis.get_ticklabels(which="both")
            if any(artist is t for t in labels):
                return f"{name} tick label", ax
        titles = (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None))
        if any(artist is t for t in titles):
            return "title", ax
        legend = ax.get_legend()
        if legend is not None and any(artist is t for t in legend.get_texts()):
            return "legend text", ax
    for legend in getattr(fig, "legends", []):
        if any(artist is t for t in legend.get_texts()):
            return "figure legend text", None
    return type(artist).__name__, artist.axes


@contextlib.contextmanager
def _record_text_draws() -> Iterator[list]:
    from matplotlib.text import Text

    drawn: list = []
    original = Text.draw

    def draw(self, renderer):
        result = original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return result

    Text.draw = draw
    try:
        yield drawn
    finally:
        Text.draw = original


def drawn_texts(fig: Any) -> list[DrawnText]:
    """Draw `fig` on its canvas and return every non-empty text element that was drawn.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (its layout engine, e.g. constrained layout, runs during the draw).

    Returns
    -------
    list of DrawnText
        In drawing order, each artist once.
    """
    from matplotlib.text import Text

    with _record_text_draws() as drawn:
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out, seen = [], set()
    for artist in drawn:
        if id(artist) in seen:
            continue
        seen.add(id(artist))
        bbox = Text.get_window_extent(artist, renderer)
        out.append(DrawnText(artist, artist.get_text(), bbox))
    return out


def _overlap(a: Any, b: Any) -> tuple[float, float]:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width, height


def overlapping_texts(
    fig: Any, *, tolerance: float = 0.5, texts: list[DrawnText] | None = None
) -> list[tuple[DrawnText, DrawnText]]:
    """Return the pairs of drawn text elements whose extents overlap.

    Two extents overlap when their intersection is more than `tolerance` points wide *and*
    high (touching boxes do not count).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    tolerance : float
        Overlap ignored, in points (1/72 inch).
    texts : list of DrawnText, optional
        The result of :func:`drawn_texts`, if already computed (the figure is not redrawn).

    Returns
    -------
    list of (DrawnText, DrawnText)
        Each overlapping pair once.
    """
    texts = drawn_texts(fig) if texts is None else texts
    tol = tolerance * fig.dpi / 72.0
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            width, height = _overlap(a.bbox, b.bbox)
            if width > tol and height > tol:
                pairs.append((a, b))
    return pairs


def clipped_texts(
    fig: Any, *, tolerance: float = 0.5, texts: list[DrawnText] | None = None
) -> list[DrawnText]:
    """Return the drawn text elements that stick out of the figure's canvas.

    Such text is cut off when the figure is saved at its size (and silently enlarges it when
    saved with ``bbox_inches="tight"``, so it no longer has the width it was made for).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    tolerance : float
        Overhang ignored, in points.
    texts : list of DrawnText, optional
        The result of :func:`drawn_texts`, if already computed.

    Returns
    -------
    list of DrawnText
    """
    texts = drawn_texts(fig) if texts is None else texts
    tol = tolerance * fig.dpi / 72.0
    frame = fig.bbox
    return [
        t
        for t in texts
        if t.bbox.x0 < frame.x0 - tol
        or t.bbox.y0 < frame.y0 - tol
        or t.bbox.x1 > frame.x1 + tol
        or t.bbox.y1 > frame.y1 + tol
    ]


def small_texts(
    fig: Any,
    *,
    min_size: float = MIN_FONT_SIZE,
    printed_width: float | None = None,
    texts: list[DrawnText] | None = None,
) -> list[tuple[DrawnText, float]]:
    """Return the drawn text elements smaller than `min_size` points when printed.

    A figure drawn ``w`` inches wide and printed `printed_width` inches wide scales its text
    by ``printed_width / w``; the printed size of a text is its font size times that.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    min_size : float
        The smallest printed size allowed, in points.
    printed_width : float, optional
        The width the figure is printed at, in inches (default: its own width).
    texts : list of DrawnText, optional
        The result of :func:`drawn_texts`, if already computed.

    Returns
    -------
    list of (DrawnText, float)
        Each too small text with its printed size in points.
    """
    texts = drawn_texts(fig) if texts is None else texts
    scale = 1.0 if printed_width is None else printed_width / fig.get_figwidth()
    out = []
    for t in texts:
        size = t.artist.get_fontsize() * scale
        if size < min_size - 1e-9:
            out.append((t, size))
    return out


def layout_problems(
    fig: Any, *, tolerance: float = 0.5, min_size: float | None = MIN_FONT_SIZE
) -> list[str]:
    """Describe every text overlap, text cut off by the figure's edge and text too small.

    One problem per line; an empty list means the figure's text is laid out cleanly. The
    test suite asserts this for every figure of ``figures/`` at the column and page widths.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    tolerance : float
        Overlaps and overhangs ignored, in points.
    min_size : float or None
        The smallest font size allowed at the figure's own size, in points (None: any).

    Returns
    -------
    list of str
    """
    texts = drawn_texts(fig)
    problems = [
        f"overlap: {a.describe()} and {b.describe()}"
        for a, b in overlapping_texts(fig, tolerance=tolerance, texts=texts)
    ]
    problems += [
        f"outside the figure: {t.describe()}"
        for t in clipped_texts(fig, tolerance=tolerance, texts=texts)
    ]
    if min_size is not None:
        problems += [
            f"smaller than {min_size:g} pt: {t.describe()} at {size:.3g} pt"
            for t, size in small_texts(fig, min_size=min_size, texts=texts)
        ]
    return problems
