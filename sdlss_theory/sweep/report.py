"""What a finished (or running) study found, read from its store: ``sdlss show``.

:func:`study_report` rebuilds the summary from the store (the source of truth, so a run in
progress shows its finished tasks), picks the columns worth reading (those the study names in
``Study.show`` first), fits the 50% transitions along ``Study.transition``, adds the tables of
the study's ``report`` hook and collects the provenance recorded with every run.
:func:`format_report` prints it as an aligned table, CSV, JSON or Markdown.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sdlss_theory.sweep.config import ConfigError, apply_overrides
from sdlss_theory.sweep.engine import ConfigMismatchError, Study, lock_holder
from sdlss_theory.sweep.provenance import PACKAGES
from sdlss_theory.sweep.seeds import canonical_json, cell_key
from sdlss_theory.sweep.store import STORE_NAME, ResultStore
from sdlss_theory.sweep.summary import fit_transitions, summarise, summary_columns

__all__ = ["FORMATS", "ReportTable", "StudyReport", "format_report", "study_report"]

Format = Literal["table", "csv", "json", "markdown"]
FORMATS: tuple[str, ...] = ("table", "csv", "json", "markdown")
COUNT_COLUMNS = ("n_ok", "n_failed", "n_nonfinite")
#: Metrics whose medians a study that declares no ``show`` columns gets.
DEFAULT_METRICS = 4


@dataclass(frozen=True)
class ReportTable:
    """One table of a report: a name (``--section``), a title, columns and rows of raw values.

    A column ``c`` followed by ``c_lo`` and ``c_hi`` (or ``b_rate`` by ``b_lo``, ``b_hi``) is
    printed as one column ``value [lo, hi]`` in the table and Markdown formats.
    """

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class StudyReport:
    """A study's results and provenance, ready to print (see :func:`format_report`).

    Attributes
    ----------
    study, description : str
        The study's name and one-line description.
    store : Path
        The store read.
    fixed : dict
        The grid parameters that take one value in every cell (not among the columns).
    tables : list of ReportTable
        ``summary`` first, then ``transitions`` (if any), the study's own tables, ``runs``.
    provenance : dict
        Label -> value, in print order (JSON-able).
    warnings : list of str
        Things the reader should know (a report hook that raised, a declared column missing).
    """

    study: str
    description: str
    store: Path
    fixed: dict[str, Any]
    tables: list[ReportTable]
    provenance: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def table(self, name: str) -> ReportTable:
        """Return the table called `name` (KeyError naming the others otherwise)."""
        for table in self.tables:
            if table.name == name:
                return table
        names = ", ".join(t.name for t in self.tables)
        raise KeyError(f"no table {name!r} in the report of {self.study}; tables: {names}")


# -- choosing columns ----------------------------------------------------------------------------
def _expand(
    name: str, available: Sequence[str], success: str | None, boolean: Collection[str]
) -> list[str]:
    """The summary columns a ``show`` entry stands for (KeyError if none)."""
    if success is not None and name == success:
        return [f"{success}_rate", f"{success}_lo", f"{success}_hi"]
    if name in available:
        return [name]
    stat = "mean" if name in boolean else "median"
    if f"{name}_{stat}" in available:
        return [f"{name}_{stat}"]
    raise KeyError(name)


def _same(values: Sequence[Any]) -> bool:
    texts = {canonical_json({"v": v}) if v is not None else "null" for v in values}
    return len(texts) <= 1


def select_columns(
    study: Study,
    rows: Sequence[Mapping[str, Any]],
    params: Sequence[str],
    *,
    columns: Sequence[str] | None = None,
    all_columns: bool = False,
    boolean: Collection[str] = (),
) -> list[str]:
    """Return the summary columns ``show`` prints, in order.

    Parameters
    ----------
    study : Study
        Its ``show`` entries come first (unless `columns` is given).
    rows : sequence of dict
        The summary rows.
    params : sequence of str
        The grid's parameter names.
    columns : sequence of str, optional
        Exactly these entries instead of the default selection.
    all_columns : bool
        After the default selection, every other column of the summary.
    boolean : collection of str
        The boolean metrics: their name alone stands for their mean (a rate), where other
        metrics' names stand for their median.

    Raises
    ------
    KeyError
        If an entry names no column (the message lists the available ones).
    """
    available = list(rows[0]) if rows else []

    def expand(names: Sequence[str], origin: str) -> list[str]:
        out: list[str] = []
        for name in names:
            try:
                cols = _expand(name, available, study.success, boolean)
            except KeyError:
                raise KeyError(
                    f"{origin} names {name!r}, which is not a column of the {study.name} "
                    f"summary; columns: {', '.join(available)}"
                ) from None
            out += [c for c in cols if c not in out]
        return out

    if columns is not None:
        return expand(columns, "--columns")
    chosen = expand(study.show, f"study {study.name!r}: show")
    varying = [p for p in params if not _same([row.get(p) for row in rows])]
    extra = list(varying)
    if study.success is not None:
        extra.append(study.success)
    chosen += [c for c in expand(extra, "show") if c not in chosen]
    if not study.show:  # undeclared: also the medians of the first few metrics
        medians = [c for c in available if c.endswith("_median")]
        if study.metrics is not None:
            medians = [f"{m}_median" for m in study.metrics if f"{m}_median" in available]
        chosen += [c for c in medians[:DEFAULT_METRICS] if c not in chosen]
    for name in COUNT_COLUMNS:
        if name not in chosen and (name == "n_ok" or any(row.get(name) for row in rows)):
            chosen.append(name)
    if all_columns:
        chosen += [c for c in available if c not in chosen]
    return chosen


# -- the report ---------------------------------------------------------------------------------
def _boolean_metrics(records: Sequence[Any]) -> set[str]:
    """The metrics that are a bool in every finished task that has them."""
    kinds: dict[str, bool] = {}
    for rec in records:
        for name, value in (rec.metrics or {}).items():
            kinds[name] = kinds.get(name, True) and isinstance(value, bool)
    return {name for name, is_bool in kinds.items() if is_bool}


def _study_config(study: Study, meta: Mapping[str, str], path: Path):
    try:
        stored = json.loads(meta["config"])
        return apply_overrides(study.config(), stored, source=str(path))
    except (KeyError, ValueError, ConfigError) as exc:
        raise ConfigMismatchError(
            f"{path} holds a configuration that study {study.name} no longer accepts ({exc}); "
            "it was made by another version of the study"
        ) from None


def _hook_tables(study: Study, rows: list[dict], config: Mapping[str, Any]) -> list[ReportTable]:
    if study.report is None:
        return []
    result = study.report(summary_columns(rows), dict(config))
    tables = []
    for title, table_rows in dict(result).items():
        table_rows = [dict(r) for r in table_rows]
        names: list[str] = []
        for row in table_rows:
            names += [k for k in row if k not in names]
        name = "_".join(str(title).lower().split())
        tables.append(ReportTable(name, str(title), names, table_rows))
    return tables


def _transition_table(
    study: Study, rows: list[dict], varying: list[str], confidence: float
) -> ReportTable | None:
    x = study.transition
    if x is None or study.success is None or x not in varying:
        return None
    by = [p for p in varying if p != x]
    fits = fit_transitions(rows, x=x, by=by, success=study.success, confidence=confidence)
    out = []
    for fit in fits:
        row = {p: fit[p] for p in by}
        row[f"{x}_50"] = fit["x50"]
        row[f"{x}_50_lo"] = fit["x50_lo"]
        row[f"{x}_50_hi"] = fit["x50_hi"]
        row["slope"] = fit["slope"]
        row["method"] = fit["method"]
        out.append(row)
    pct = f"{100 * confidence:g}%"
    title = (
        f"Fitted 50% points along {x} (logistic maximum likelihood, {pct} interval; "
        "'separated': a jump between two grid values, 'none': no crossing in the grid)"
    )
    return ReportTable("transitions", title, [*by, f"{x}_50", f"{x}_50_lo", f"{x}_50_hi",
                                             "slope", "method"], out)  # fmt: skip


def _run_rows(runs: list[dict]) -> list[dict]:
    return [
        {
            "run": r["id"],
            "started_at": r["started_at"],
            "ended_at": r["ended_at"],
            "outcome": r["outcome"] or "running or killed",
            "trials": r["trials"],
            "resumed": r["n_resumed"],
            "run_now": r["n_run"],
            "command": r["command"],
        }
        for r in runs
    ]


def _threads_text(prov: Mapping[str, Any]) -> str:
    def threads(n: Any) -> str:
        return f"{n} thread" + ("" if n == 1 else "s")

    pools = ", ".join(
        f"{p.get('api')} {p.get('version') or '(version unknown)'} ({threads(p.get('threads'))})"
        for p in prov.get("blas", [])
    )
    text = f"{prov.get('threads_per_worker')} per worker; BLAS/OpenMP: {pools or 'none found'}"
    if prov.get("numba_threads") is not None:
        text += f"; numba: {threads(prov['numba_threads'])} (the kernels are serial)"
    return text


def _provenance(
    study: Study,
    path: Path,
    meta: Mapping[str, str],
    config: Any,
    runs: list[dict],
    counts: Mapping[str, int],
    holder: str | None,
    schema: int | None,
    records_times: tuple[str | None, str | None],
) -> dict[str, Any]:
    total, ok, errors = counts["total"], counts["ok"], counts["errors"]
    pending = total - ok - errors
    if holder is not None:
        status = f"running now ({holder})"
    elif pending == 0:
        status = "finished"
    elif runs and runs[-1]["outcome"] is None:
        status = f"incomplete: the last run was killed; {pending} tasks pending (run it again)"
    else:
        status = f"incomplete: {pending} tasks pending (run the same command to resume)"
    prov: dict[str, Any] = {
        "status": status,
        "tasks": (
            f"{ok + errors} done ({ok} ok, {errors} errors), {pending} pending, of {total} "
            f"({counts['cells']} cells x {config.trials} trials)"
        ),
        "seed": config.seed,
        "config hash": meta.get("config_hash", ""),
        "store": f"{path} (schema {schema})",
        "created": meta.get("created", ""),
    }
    if runs:
        first, last = runs[0], runs[-1]
        p = last["provenance"]
        prov["runs"] = len(runs)
        prov["started"] = first["started_at"]
        prov["ended"] = last["ended_at"] or ("running" if holder else "never (killed)")
        prov["command"] = last["command"]
        packages = p.get("packages", {})
        order = [k for k in PACKAGES if k in packages] + sorted(set(packages) - set(PACKAGES))
        prov["packages"] = ", ".join(f"{k} {packages[k]}" for k in order)
        prov["python"] = f"{p.get('python')} on {p.get('platform')}"
        prov["git revision"] = p.get("git_rev") or "none (an installed package, not a checkout)"
        prov["host"] = f"{p.get('host')} (pid {p.get('pid')})"
        prov["backend"] = f"{p.get('backend')}, n_jobs {p.get('n_jobs')}"
        prov["threads"] = _threads_text(p)
    else:  # no run recorded (a schema-1 store): the meta and the tasks' time stamps
        prov["runs"] = "not recorded (store schema 1)" if schema == 1 else "none recorded"
        prov["started"] = records_times[0] or ""
        prov["ended"] = records_times[1] or ""
        prov["packages"] = f"sdlss-theory {meta.get('package_version', 'unknown')}"
        prov["git revision"] = meta.get("git_rev") or "none"
    return prov


def study_report(
    study: Study,
    out_dir: str | Path,
    *,
    columns: Sequence[str] | None = None,
    all_columns: bool = False,
    confidence: float = 0.95,
) -> StudyReport:
    """Read a study's store and return what ``sdlss show`` prints.

    Parameters
    ----------
    study : Study
        The study (its grid rebuilds the cells of the stored configuration).
    out_dir : str or path-like
        The study's output folder (``results/<study>`` by default).
    columns : sequence of str, optional
        The summary columns to print instead of the default selection (see
        :func:`select_columns`).
    all_columns : bool
        Print every summary column, the default selection first.
    confidence : float
        Coverage of the Wilson intervals and of the transitions' intervals.

    Returns
    -------
    StudyReport

    Raises
    ------
    FileNotFoundError
        If `out_dir` holds no store.
    StoreError, StoreBusyError
        If the store cannot be read (not a database, another program's, newer, locked).
    ConfigMismatchError
        If the store holds another study's results, or a configuration the study refuses.
    KeyError
        If `columns` (or the study's ``show``) names a column the summary does not have.
    """
    out_dir = Path(out_dir)
    path = out_dir / STORE_NAME
    if not path.exists():
        raise FileNotFoundError(
            f"no results of {study.name} in {out_dir}; run: sdlss run {study.name} --quick"
        )
    with ResultStore(path, readonly=True) as store:
        meta = store.meta()
        if not meta:
            raise FileNotFoundError(f"{path} holds no results yet")
        if meta.get("study") != study.name:
            raise ConfigMismatchError(
                f"{path} holds results of study {meta.get('study')!r}, not {study.name!r}"
            )
        records = list(store.records())
        runs = store.runs()
        schema = store.schema_version
    config = _study_config(study, meta, path)
    cells = study.cells(config)
    rows = summarise(
        cells,
        records,
        trials=config.trials,
        success=study.success,
        metrics=study.metrics,
        confidence=confidence,
    )
    params: list[str] = []
    for cell in cells:
        params += [k for k in cell if k not in params]
    boolean = _boolean_metrics(records)
    chosen = select_columns(
        study, rows, params, columns=columns, all_columns=all_columns, boolean=boolean
    )
    varying = [p for p in params if not _same([row.get(p) for row in rows])]
    fixed = {p: rows[0].get(p) for p in params if p not in varying and p not in chosen}
    trials = config.trials
    pct = f"{100 * confidence:g}%"
    summary = ReportTable(
        "summary",
        f"Summary: {len(rows)} cells, {trials} trials each (success rates with Wilson {pct} "
        "intervals; a metric's name alone stands for its median, a boolean's for its rate)",
        chosen,
        [{c: row.get(c) for c in chosen} for row in rows],
    )
    tables = [summary]
    warnings: list[str] = []
    transitions = _transition_table(study, rows, varying, confidence)
    if transitions is not None:
        tables.append(transitions)
    try:
        tables += _hook_tables(study, rows, _config_dict(config))
    except Exception as exc:  # noqa: BLE001 - a study's hook must not hide the summary
        warnings.append(f"study {study.name}'s report hook raised {type(exc).__name__}: {exc}")
    if runs:
        tables.append(ReportTable("runs", "Runs", list(_run_rows(runs)[0]), _run_rows(runs)))
    keys = {cell_key(c) for c in cells}
    mine = [r for r in records if r.cell_key in keys and r.trial < trials]
    counts = {
        "total": len(cells) * trials,
        "cells": len(cells),
        "ok": sum(1 for r in mine if r.status == "ok"),
        "errors": sum(1 for r in mine if r.status == "error"),
    }
    stamps = sorted(r.finished_at for r in mine)
    provenance = _provenance(
        study,
        path,
        meta,
        config,
        runs,
        counts,
        lock_holder(out_dir),
        schema,
        (stamps[0] if stamps else None, stamps[-1] if stamps else None),
    )
    return StudyReport(study.name, study.description, path, fixed, tables, provenance, warnings)


def _config_dict(config: Any) -> dict[str, Any]:
    from sdlss_theory.sweep.config import config_to_dict

    return config_to_dict(config)


# -- formatting ---------------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt(value: Any) -> str:
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


def _display_rows(table: ReportTable) -> tuple[list[str], list[list[str]], list[bool]]:
    groups = _groups(table.columns)
    headers = [h for h, _ in groups]
    body, numeric = [], [True] * len(groups)
    for row in table.rows:
        line = []
        for j, (_, cols) in enumerate(groups):
            if len(cols) == 3:
                v, lo, hi = (row.get(c) for c in cols)
                f = _fmt_rate if cols[0].endswith("_rate") else _fmt
                if _is_missing(v):
                    text = "-"
                elif row.get("method") == "separated":
                    text = f"{f(v)} (between {f(lo)} and {f(hi)})"
                else:
                    text = f"{f(v)} [{f(lo)}, {f(hi)}]"
            else:
                v = row.get(cols[0])
                text = _fmt(v)
                if not (_is_missing(v) or isinstance(v, (int, float))) or isinstance(v, bool):
                    numeric[j] = False
            line.append(text)
        body.append(line)
    return headers, body, numeric


def _aligned(table: ReportTable) -> str:
    headers, body, numeric = _display_rows(table)
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


def _markdown_table(headers: Sequence[str], body: Sequence[Sequence[str]], numeric) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    out.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def _fixed_text(fixed: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())


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


def format_report(
    report: StudyReport, fmt: Format = "table", *, section: str | None = None
) -> str:
    """Return `report` as text.

    Parameters
    ----------
    report : StudyReport
        From :func:`study_report`.
    fmt : {"table", "csv", "json", "markdown"}
        ``table``: aligned columns for a terminal, every section; ``csv``: one table (the
        summary unless `section` names another, ``provenance`` included) with raw values;
        ``json``: everything, raw values (NaN as null); ``markdown``: every section as
        GitHub tables.
    section : str, optional
        Print only this table (``summary``, ``transitions``, ``runs``, ``provenance`` or one
        of the study's own).

    Returns
    -------
    str
        The text, ending with a newline.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    prov_table = ReportTable(
        "provenance",
        "Provenance",
        ["key", "value"],
        [{"key": k, "value": v} for k, v in report.provenance.items()],
    )
    tables = [*report.tables, prov_table]
    if section is not None:
        tables = [t for t in tables if t.name == section]
        if not tables:
            names = ", ".join(t.name for t in [*report.tables, prov_table])
            raise KeyError(f"no section {section!r} in the report; sections: {names}")
    if fmt == "csv":
        table = tables[0]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow(
                [
                    "" if _is_missing(v) else _csv_cell(v)
                    for v in (row.get(c) for c in table.columns)
                ]
            )
        return buf.getvalue()
    if fmt == "json":
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
    md = fmt == "markdown"
    out = []
    if section is None:
        head = f"{report.study}: {report.description}"
        out.append(f"## {head}" if md else head)
        out.append("")
    for table in tables:
        if table.name == "provenance":
            if md:
                out.append(f"### {table.title}\n")
                body = [[str(r["key"]), _fmt(r["value"])] for r in table.rows]
                out.append(_markdown_table(["", ""], body, [False, False]))
            else:
                out.append(table.title)
                width = max(len(str(r["key"])) for r in table.rows)
                out += [f"  {str(r['key']):<{width}}  {_fmt(r['value'])}" for r in table.rows]
            out.append("")
            continue
        title = table.title
        if table.name == "summary" and report.fixed:
            title += f"\nFixed in every cell: {_fixed_text(report.fixed)}"
        if md:
            out.append(f"### {table.name}\n\n{title}\n")
            out.append(_markdown_table(*_display_rows(table)))
        else:
            out.append(title)
            out.append(_aligned(table))
        out.append("")
    for warning in report.warnings:
        out.append(f"warning: {warning}")
    return "\n".join(out).rstrip("\n") + "\n"


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return value
