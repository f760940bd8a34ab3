"""Render a :class:`~sdlss_theory.sweep.report.StudyReport` as text: ``sdlss show --format``.

One renderer per format, registered in :data:`RENDERERS` by the :func:`renderer` decorator:
``table`` (aligned columns for a terminal), ``csv`` (one table, raw values), ``json``
(everything, raw values), ``markdown`` (GitHub tables) and ``latex`` (booktabs tables with
captions and labels, numbers rounded to the precision their intervals support). A new format
is one decorated function; :func:`format_report` picks the sections and calls it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from sdlss_theory.sweep.report import ReportTable, StudyReport

__all__ = [
    "FORMATS",
    "RENDERERS",
    "display_rows",
    "fixed_text",
    "format_report",
    "format_value",
    "latex_escape",
    "latex_interval",
    "latex_number",
    "markdown_grid",
    "provenance_table",
    "renderer",
]

#: ``renderer(report, tables, whole) -> str``: `tables` are the sections to print (the
#: provenance last when asked for), `whole` is True when no ``--section`` was chosen.
Renderer = Callable[[StudyReport, Sequence[ReportTable], bool], str]
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register the decorated function as the renderer of format `name`."""

    def register(func: Renderer) -> Renderer:
        RENDERERS[name] = func
        return func

    return register


# -- values as text ------------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: Any) -> str:
    """A value as ``sdlss show`` prints it: ``-`` when missing, 4 significant digits."""
    if _is_missing(value):
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value.is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _fmt_rate(value: Any) -> str:
    return "-" if _is_missing(value) else f"{value:.2f}"


def _groups(columns: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Display columns: (header, raw columns), merging value/lo/hi triples."""
    out, i = [], 0
    while i < len(columns):
        c = columns[i]
        base = c[: -len("_rate")] if c.endswith("_rate") else c
        nxt = columns[i + 1 : i + 3]
        if nxt == [f"{base}_lo", f"{base}_hi"]:
            out.append(
                (f"{base} [CI]" if c.endswith("_rate") else f"{c} [CI]", columns[i : i + 3])
            )
            i += 3
        else:
            out.append((c, [c]))
            i += 1
    return out


def _interval_text(row: Mapping[str, Any], cols: Sequence[str], f: Callable[[Any], str]) -> str:
    v, lo, hi = (row.get(c) for c in cols)
    if _is_missing(v):
        return "-"
    if row.get("method") == "separated":
        return f"{f(v)} (between {f(lo)} and {f(hi)})"
    return f"{f(v)} [{f(lo)}, {f(hi)}]"


def display_rows(
    table: ReportTable, cell: Callable[[Mapping[str, Any], list[str]], str] | None = None
) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, body text and which display columns are numeric (right-aligned)."""
    groups = _groups(table.columns)
    headers = [h for h, _ in groups]
    body, numeric = [], [True] * len(groups)
    for row in table.rows:
        line = []
        for j, (_, cols) in enumerate(groups):
            if len(cols) != 3:
                v = row.get(cols[0])
                if not (_is_missing(v) or isinstance(v, (int, float))) or isinstance(v, bool):
                    numeric[j] = False
            if cell is not None:
                line.append(cell(row, cols))
            elif len(cols) == 3:
                f = _fmt_rate if cols[0].endswith("_rate") else format_value
                line.append(_interval_text(row, cols, f))
            else:
                line.append(format_value(row.get(cols[0])))
        body.append(line)
    return headers, body, numeric


def fixed_text(fixed: Mapping[str, Any]) -> str:
    """``name = value, ...``: the parameters fixed in every cell."""
    return ", ".join(f"{k} = {format_value(v)}" for k, v in fixed.items())


def _plain(value: Any) -> Any:
    """JSON-able value: NaN becomes None, numpy scalars Python scalars."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return value


def provenance_table(report: StudyReport) -> ReportTable:
    """The provenance as a two-column table (key, value)."""
    rows = [{"key": k, "value": v} for k, v in report.provenance.items()]
    return ReportTable("provenance", "Provenance", ["key", "value"], rows)


def _summary_title(report: StudyReport, table: ReportTable) -> str:
    if table.name == "summary" and report.fixed:
        return f"{table.title}\nFixed in every cell: {fixed_text(report.fixed)}"
    return table.title


# -- the renderers -------------------------------------------------------------------------------
def _aligned(table: ReportTable) -> str:
    headers, body, numeric = display_rows(table)
    widths = [max([len(h)] + [len(r[j]) for r in body]) for j, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  " + "  ".join(parts).rstrip()

    out = [line(headers), "  " + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    return "\n".join(out)


def _finish(out: list[str], report: StudyReport) -> str:
    out += [f"warning: {warning}" for warning in report.warnings]
    return "\n".join(out).rstrip("\n") + "\n"


@renderer("table")
def render_table(report: StudyReport, tables: Sequence[ReportTable], whole: bool) -> str:
    """Aligned columns for a terminal; numbers right-aligned, intervals ``v [lo, hi]``."""
    out = [f"{report.study}: {report.description}", ""] if whole else []
    for table in tables:
        if table.name == "provenance":
            out.append(table.title)
            width = max(len(str(r["key"])) for r in table.rows)
            out += [f"  {str(r['key']):<{width}}  {format_value(r['value'])}" for r in table.rows]
        else:
            out += [_summary_title(report, table), _aligned(table)]
        out.append("")
    return _finish(out, report)


def markdown_grid(headers: Sequence[str], body: Sequence[Sequence[str]], numeric) -> str:
    """A GitHub table: numeric columns right-aligned, ``|`` escaped."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    out.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(out)


@renderer("markdown")
def render_markdown(report: StudyReport, tables: Sequence[ReportTable], whole: bool) -> str:
    """Every section as a GitHub table under a ``###`` heading."""
    out = [f"## {report.study}: {report.description}", ""] if whole else []
    for table in tables:
        if table.name == "provenance":
            out.append(f"### {table.title}\n")
            body = [[str(r["key"]), format_value(r["value"])] for r in table.rows]
            out.append(markdown_grid(["", ""], body, [False, False]))
        else:
            out.append(f"### {table.name}\n\n{_summary_title(report, table)}\n")
            out.append(markdown_grid(*display_rows(table)))
        out.append("")
    return _finish(out, report)


@renderer("csv")
def render_csv(report: StudyReport, tables: Sequence[ReportTable], whole: bool) -> str:
    """One table (the first of `tables`: the summary unless a section was chosen), raw values."""
    table = tables[0]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        values = (row.get(c) for c in table.columns)
        writer.writerow(["" if _is_missing(v) else _csv_cell(v) for v in values])
    return buf.getvalue()


@renderer("json")
def render_json(report: StudyReport, tables: Sequence[ReportTable], whole: bool) -> str:
    """Everything, raw values (NaN and infinities as null)."""
    data: dict[str, Any] = {
        "study": report.study,
        "description": report.description,
        "store": str(report.store),
        "fixed": report.fixed,
    }
    for table in tables:
        if table.name == "provenance":
            data["provenance"] = report.provenance
        else:
            data[table.name] = {"title": table.title, "columns": table.columns,
                                "rows": table.rows}  # fmt: skip
    if report.warnings:
        data["warnings"] = report.warnings
    return json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"


# -- LaTeX ---------------------------------------------------------------------------------------
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex_escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped (for text mode, any engine)."""
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    # Characters outside ASCII would need inputenc/fontenc choices of the paper: spell them.
    return out.encode("ascii", "replace").decode("ascii")


def _interval_decimals(lo: float, hi: float) -> int | None:
    """Decimals that the interval [lo, hi] supports (None for an empty interval).

    The half-width rounded to one significant digit (two when its leading digit is 1), as
    uncertainties are quoted; never fewer than 0 decimals (integer digits are kept).
    """
    half = (hi - lo) / 2
    if not (math.isfinite(half) and half > 0):
        return None
    exponent = math.floor(math.log10(half))
    leading = half / 10.0**exponent
    return max(0, -exponent + (1 if round(leading, 6) < 2 else 0))


def latex_number(value: Any, decimals: int | None = None, *, digits: int = 3) -> str:
    r"""A number as plain LaTeX (no siunitx).

    Fixed decimals, or `digits` significant digits (trailing zeros dropped, as ``%g``, and
    ``\ensuremath{m\times10^{e}}`` when tiny or huge); ``$\infty$`` for infinities, ``--``
    when missing.

    Parameters
    ----------
    value : int, float or None
        The number (a bool or text is escaped as text).
    decimals : int, optional
        Decimal places (from an interval: :func:`latex_interval`).
    digits : int
        Significant digits when `decimals` is not given.
    """
    if _is_missing(value):
        return "--"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return latex_escape(format_value(value))
    value = float(value) if not isinstance(value, (int, np.integer)) else int(value)
    if isinstance(value, int):
        return f"${value}$" if value < 0 else str(value)
    if math.isinf(value):
        return r"$\infty$" if value > 0 else r"$-\infty$"
    if decimals is None:
        if value == 0 or value.is_integer() and abs(value) < 1e6:
            return latex_number(int(value))
        text = f"{value:.{digits}g}"  # significant digits, trailing zeros dropped
        if "e" in text:
            mantissa, exponent = text.split("e")
            return rf"\ensuremath{{{mantissa}\times10^{{{int(exponent)}}}}}"
    else:
        text = f"{value:.{decimals}f}"
    return f"${text}$" if text.startswith("-") else text


def latex_interval(value: Any, lo: Any, hi: Any, *, separated: bool = False) -> str:
    """``v [lo, hi]``, the three numbers rounded to the decimals the interval supports.

    ``v (between lo and hi)`` for a separated transition, ``--`` when `value` is missing.
    """
    if _is_missing(value):
        return "--"
    decimals = None
    if not (_is_missing(lo) or _is_missing(hi)):
        decimals = _interval_decimals(float(lo), float(hi))
    v, a, b = (latex_number(x, decimals) for x in (value, lo, hi))
    if separated:
        return f"{v} (between {a} and {b})"
    return f"{v} [{a}, {b}]"


def _latex_cell(row: Mapping[str, Any], cols: list[str]) -> str:
    if len(cols) == 3:
        v, lo, hi = (row.get(c) for c in cols)
        return latex_interval(v, lo, hi, separated=row.get("method") == "separated")
    return latex_number(row.get(cols[0]))


def _latex_caption(report: StudyReport, table: ReportTable) -> str:
    estimand = report.estimand or report.description
    first = estimand.split(". ")[0].rstrip(".")
    trials = f"{report.trials} trials per cell" if report.trials else "trials not recorded"
    text = f"{report.study}: {table.title.rstrip('.')}. Estimand: {first}. {trials}."
    if table.name == "summary" and report.fixed:
        text += f" Fixed in every cell: {fixed_text(report.fixed)}."
    return latex_escape(text)


def _latex_table(report: StudyReport, table: ReportTable) -> str:
    if table.name == "provenance":
        headers = ["", ""]
        body = [[latex_escape(str(r["key"])), latex_escape(format_value(r["value"]))]
                for r in table.rows]  # fmt: skip
        spec = r"@{}lp{0.7\linewidth}@{}"
    else:
        headers, body, numeric = display_rows(table, _latex_cell)
        headers = [latex_escape(h) for h in headers]
        spec = "@{}" + "".join("r" if num else "l" for num in numeric) + "@{}"
    # A label holds letters, digits and - _ : . only (a hook's title may hold % or spaces).
    label = re.sub(r"[^A-Za-z0-9_:.-]+", "-", f"tab:{report.study}:{table.name}").strip("-")
    out = [
        r"\begin{table}[tbp]",
        r"\centering\small",
        rf"\caption{{{_latex_caption(report, table)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    if any(headers):
        out += [" & ".join(headers) + r" \\", r"\midrule"]
    out += [" & ".join(line) + r" \\" for line in body]
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out)


@renderer("latex")
def render_latex(report: StudyReport, tables: Sequence[ReportTable], whole: bool) -> str:
    r"""Booktabs tables (``\toprule``, ``\midrule``, ``\bottomrule``, no vertical rules).

    One ``table`` float per section with a caption (study, estimand, trials per cell) and a
    label ``tab:STUDY:SECTION``; needs ``\usepackage{booktabs}`` in the preamble.
    """
    out = [f"% {report.study}: `sdlss show --format latex`; needs \\usepackage{{booktabs}}"]
    for table in tables:
        out += ["", _latex_table(report, table)]
    out += [f"% warning: {latex_escape(w)}" for w in report.warnings]
    return "\n".join(out) + "\n"


#: The formats, in the order ``--format`` lists them.
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def format_report(report: StudyReport, fmt: str = "table", *, section: str | None = None) -> str:
    """Return `report` as text.

    Parameters
    ----------
    report : StudyReport
        From :func:`~sdlss_theory.sweep.report.study_report`.
    fmt : str
        A key of :data:`RENDERERS`: ``table`` (aligned columns for a terminal, every section),
        ``csv`` (one table, the summary unless `section` names another, ``provenance``
        included, raw values), ``json`` (everything, raw values, NaN as null), ``markdown``
        (every section as GitHub tables), ``latex`` (every section as a booktabs table).
    section : str, optional
        Print only this table (``summary``, ``transitions``, ``runs``, ``provenance`` or one
        of the study's own).

    Returns
    -------
    str
        The text, ending with a newline.

    Raises
    ------
    ValueError
        If `fmt` is not a registered format.
    KeyError
        If `section` names no table (the message lists them).
    """
    if fmt not in RENDERERS:
        raise ValueError(f"fmt must be one of {', '.join(RENDERERS)}, got {fmt!r}")
    tables = [*report.tables, provenance_table(report)]
    if section is not None:
        chosen = [t for t in tables if t.name == section]
        if not chosen:
            names = ", ".join(t.name for t in tables)
            raise KeyError(f"no section {section!r} in the report; sections: {names}")
        tables = chosen
    return RENDERERS[fmt](report, tables, section is None)
