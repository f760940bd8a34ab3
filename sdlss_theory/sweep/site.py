"""One page of every study: ``sdlss report`` (static HTML, and a Markdown variant).

:func:`collect_entries` reads every study's store (:func:`~sdlss_theory.sweep.report.load_run`,
:func:`~sdlss_theory.sweep.report.summarise_run`) and :func:`write_site` renders the
entries with Jinja2 templates (``templates/report.html.j2``, ``templates/report.md.j2``) into
``index.html`` (one file, inline CSS, no JavaScript) and ``report.md``, beside a ``figures/``
folder that the caller's figure function fills. For each study the page shows its estimand,
the settings that differ from its defaults, the ``show`` tables, the figure, the verdicts of
its report hook and the provenance; studies without a stored run are listed as never run.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdlss_theory.sweep.engine import ConfigMismatchError, Study
from sdlss_theory.sweep.render import (
    display_rows,
    fixed_text,
    format_value,
    markdown_grid,
)
from sdlss_theory.sweep.report import ReportTable, StudyReport, load_run, summarise_run
from sdlss_theory.sweep.store import StoreBusyError, StoreError

__all__ = ["FigureFunction", "SiteEntry", "collect_entries", "write_site"]

#: ``figure(study, folder) -> (files written, caption)`` or None when the study has no figure.
FigureFunction = Callable[[str, Path], "tuple[list[Path], str] | None"]
#: Tables the ``show`` command prints before the study's own (the report hook's).
SHOW_TABLES = ("summary", "transitions", "runs")
#: Tables longer than this are folded (``<details>``) in both variants.
FOLD_ROWS = 30


@dataclass(frozen=True)
class SiteEntry:
    """One study on the page.

    Attributes
    ----------
    name, description : str
        The study's name and one-line description.
    status : {"run", "never run", "unreadable"}
        Whether a stored run was found and read.
    report : StudyReport or None
        What ``sdlss show`` prints, for a study with a run.
    message : str
        Why a study has no report (never run: the command that runs it; unreadable: the error).
    figures : list of Path
        The figure files (relative to the page's folder), PNG first.
    caption : str
        What the figure shows (the figure module's summary line).
    """

    name: str
    description: str
    status: str
    report: StudyReport | None = None
    message: str = ""
    figures: list[Path] = field(default_factory=list)
    caption: str = ""

    @property
    def show_tables(self) -> list[ReportTable]:
        """The summary, the fitted transitions and the runs."""
        return [t for t in self.report.tables if t.name in SHOW_TABLES] if self.report else []

    @property
    def verdict_tables(self) -> list[ReportTable]:
        """The tables of the study's report hook (its verdicts)."""
        return [t for t in self.report.tables if t.name not in SHOW_TABLES] if self.report else []


def collect_entries(
    studies: Mapping[str, Study],
    results: str | Path,
    out: str | Path,
    *,
    figure: FigureFunction | None = None,
) -> list[SiteEntry]:
    """Read every study's store under `results` and draw its figure into ``out/figures``.

    Parameters
    ----------
    studies : mapping of str to Study
        Every study, in page order.
    results : str or path-like
        The folder holding ``<study>/store.sqlite``.
    out : str or path-like
        The page's folder; figures go to ``out/figures/``.
    figure : callable, optional
        ``figure(name, folder) -> (paths, caption)`` or None; exceptions other than
        FileNotFoundError propagate.

    Returns
    -------
    list of SiteEntry
        One per study, in the order of `studies`.
    """
    results, out = Path(results), Path(out)
    entries = []
    for name, study in studies.items():
        try:
            report = summarise_run(load_run(study, results / name))
        except FileNotFoundError:
            entries.append(SiteEntry(name, study.description, "never run",
                                     message=f"sdlss run {name} --quick"))  # fmt: skip
            continue
        except (StoreError, StoreBusyError, ConfigMismatchError) as exc:
            entries.append(SiteEntry(name, study.description, "unreadable", message=str(exc)))
            continue
        files: list[Path] = []
        caption = ""
        if figure is not None:
            try:
                drawn = figure(name, out / "figures")
            except FileNotFoundError:
                drawn = None
            if drawn is not None:
                paths, caption = drawn
                paths = sorted(paths, key=lambda p: p.suffix != ".png")
                files = [p.relative_to(out) if p.is_relative_to(out) else p for p in paths]
        entries.append(SiteEntry(name, study.description, "run", report, "", files, caption))
    return entries


# -- tables as HTML and Markdown -----------------------------------------------------------------
def html_table(table: ReportTable) -> str:
    """`table` as an HTML table (intervals merged as in ``sdlss show``), escaped."""
    headers, body, numeric = display_rows(table)
    align = ['class="num"' if num else "" for num in numeric]
    head = "".join(f"<th {a}>{html.escape(h)}</th>" for h, a in zip(headers, align, strict=True))
    rows = [
        "<tr>" + "".join(f"<td {a}>{html.escape(c)}</td>"
                         for c, a in zip(line, align, strict=True)) + "</tr>"  # fmt: skip
        for line in body
    ]
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + (
        "\n</tbody>\n</table>"
    )


def markdown_table(table: ReportTable) -> str:
    """`table` as a GitHub Markdown table."""
    return markdown_grid(*display_rows(table))


def _pairs(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(k), format_value(v)) for k, v in mapping.items()]


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("sdlss_theory.sweep", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def write_site(
    entries: Sequence[SiteEntry],
    out: str | Path,
    *,
    title: str = "sdlss-theory: every study",
    generator: str = "",
) -> dict[str, Path]:
    """Render `entries` into ``out/index.html`` and ``out/report.md``.

    Parameters
    ----------
    entries : sequence of SiteEntry
        From :func:`collect_entries`.
    out : str or path-like
        The folder (created).
    title : str
        The page's title.
    generator : str
        One line naming what made the page (package version, revision), shown at the top.

    Returns
    -------
    dict
        ``{"html": path, "markdown": path}``.
    """
    import markupsafe

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    env.filters["html_table"] = lambda t: markupsafe.Markup(html_table(t))
    env.filters["markdown_table"] = markdown_table
    env.filters["pairs"] = _pairs
    env.filters["fixed_text"] = fixed_text
    env.filters["fmt"] = format_value
    context = {
        "title": title,
        "generator": generator,
        "entries": list(entries),
        "fold_rows": FOLD_ROWS,
        "n_run": sum(e.status == "run" for e in entries),
    }
    paths = {"html": out / "index.html", "markdown": out / "report.md"}
    for kind, template in (("html", "report.html.j2"), ("markdown", "report.md.j2")):
        text = env.get_template(template).render(**context)
        paths[kind].write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return paths
