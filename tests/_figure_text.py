"""A check for the study tests: no two visible text elements of a figure overlap."""

from __future__ import annotations

import itertools

from matplotlib.text import Text


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of visible, non-empty Text artists whose rendered bounding boxes intersect."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # Tick labels exist for ticks outside the view too; only those the axis draws count.
    all_ticks, drawn_ticks = set(), set()
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = (id(tick.label1), id(tick.label2))
                all_ticks.update(labels)
                loc = tick.get_loc()
                if loc is not None and lo - slack <= loc <= hi + slack:
                    drawn_ticks.update(labels)
    boxes, seen = [], set()
    for text in fig.findobj(match=Text):
        if id(text) in seen or not text.get_visible() or not str(text.get_text()).strip():
            continue
        if id(text) in all_ticks and id(text) not in drawn_ticks:
            continue
        seen.add(id(text))
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            boxes.append((text.get_text(), box))
    out = []
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        inter = box_a.intersection(box_a, box_b)
        if inter is not None and inter.width > 1 and inter.height > 1:
            out.append((a, b))
    return out


def draw_and_check(module, folder):
    """Draw `module`'s figure from the stored results in `folder`; return (fig, overlaps)."""
    import inspect
    import json

    from sdlss_theory.plotting import paper_style
    from sdlss_theory.sweep import STORE_NAME, ResultStore, read_summary_csv
    from sdlss_theory.sweep.summary import trials_table

    summary = read_summary_csv(folder / "summary.csv")
    config = json.loads((folder / "config.json").read_text())["config"]
    extra = {}
    if "trials" in inspect.signature(module.plot).parameters:
        with ResultStore(folder / STORE_NAME, readonly=True) as store:
            extra["trials"] = [r for r in trials_table(store.records()) if r["status"] == "ok"]
    with paper_style():
        fig = module.plot(summary, config, **extra)
        return fig, overlapping_texts(fig)
