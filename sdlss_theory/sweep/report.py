"""What a finished (or running) study found, read from its store: ``sdlss show``.

Three steps, each its own function:

* :func:`load_run` reads the store once (meta, tasks, runs, the stored configuration);
* :func:`summarise_run` turns that into a :class:`StudyReport`: the summary rebuilt from the
  tasks (the store is the source of truth, so a run in progress shows its finished tasks), the
  columns worth reading (those the study names in ``Study.show`` first), the 50% transitions
  fitted along ``Study.transition``, the tables of the study's ``report`` hook and the
  provenance recorded with every run;
* :func:`sdlss_theory.sweep.render.format_report` renders it (aligned table, CSV, JSON,
  Markdown, LaTeX: one renderer per format).

:func:`study_report` is the first two in one call.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdlss_theory.sweep.config import ConfigError, apply_overrides, config_to_dict
from sdlss_theory.sweep.engine import ConfigMismatchError, Study, lock_holder
from sdlss_theory.sweep.provenance import PACKAGES
from sdlss_theory.sweep.seeds import canonical_json, cell_key
from sdlss_theory.sweep.store import STORE_NAME, ResultStore
from sdlss_theory.sweep.summary import summarise, summary_columns
from sdlss_theory.sweep.transitions import fit_transitions

__all__ = [
    "ReportTable",
    "StoredRun",
    "StudyReport",
    "changed_settings",
    "load_run",
    "study_estimand",
    "study_report",
    "summarise_run",
]

COUNT_COLUMNS = ("n_ok", "n_failed", "n_nonfinite")
#: Metrics whose medians a study that declares no ``show`` columns gets.
DEFAULT_METRICS = 4


@dataclass(frozen=True)
class ReportTable:
    """One table of a report: a name (``--section``), a title, columns and rows of raw values.

    A column ``c`` followed by ``c_lo`` and ``c_hi`` (or ``b_rate`` by ``b_lo``, ``b_hi``) is
    printed as one column ``value [lo, hi]`` in the table, Markdown and LaTeX formats.
    """

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class StudyReport:
    """A study's results and provenance, ready to print (``render.format_report``).

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
    trials : int, str or None
        Trials per cell of the stored configuration (``"20 to 60"`` where cells have their
        own counts).
    estimand : str
        What the study estimates (:func:`study_estimand`).
    changed : dict
        The settings that differ from the study's defaults: name -> (value, default)
        (:func:`changed_settings`).
    """

    study: str
    description: str
    store: Path
    fixed: dict[str, Any]
    tables: list[ReportTable]
    provenance: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    trials: int | str | None = None
    estimand: str = ""
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def table(self, name: str) -> ReportTable:
        """Return the table called `name` (KeyError naming the others otherwise)."""
        for table in self.tables:
            if table.name == name:
                return table
        names = ", ".join(t.name for t in self.tables)
        raise KeyError(f"no table {name!r} in the report of {self.study}; tables: {names}")


@dataclass(frozen=True)
class StoredRun:
    """What a study's store holds, read once by :func:`load_run`.

    Attributes
    ----------
    study : Study
        The study the store belongs to.
    out_dir, path : Path
        The study's folder and its store.
    meta : dict
        The store's meta table (study name, configuration JSON, hash, creation time).
    config : StudyConfig
        The stored configuration, rebuilt by the study's configuration class.
    records : list of TaskRecord
        Every stored task.
    runs : list of dict
        The runs recorded in the store, oldest first (empty for a schema-1 store).
    schema : int or None
        The store's schema version.
    holder : str or None
        The process holding the study's lock (a run in progress), if any.
    """

    study: Study
    out_dir: Path
    path: Path
    meta: dict[str, str]
    config: Any
    records: list[Any]
    runs: list[dict[str, Any]]
    schema: int | None
    holder: str | None


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



def _status(run: StoredRun, counts: Mapping[str, Any]) -> str:
    pending = counts["total"] - counts["ok"] - counts["errors"]
    if run.holder is not None:
        return f"running now ({run.holder})"
    if pending == 0:
        return "finished"
    if run.runs and run.runs[-1]["outcome"] is None:
        return f"incomplete: the last run was killed; {pending} tasks pending (run it again)"
    return f"incomplete: {pending} tasks pending (run the same command to resume)"


def _provenance(run: StoredRun, counts: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance table: status, tasks, seed, store, and what the last run recorded."""
    total, ok, errors = counts["total"], counts["ok"], counts["errors"]
    meta, runs, config = run.meta, run.runs, run.config
    prov: dict[str, Any] = {
        "status": _status(run, counts),
        "tasks": (
            f"{ok + errors} done ({ok} ok, {errors} errors), {total - ok - errors} pending, of "
            f"{total} ({counts['cells']} cells x {counts['per_cell']} trials)"
        ),
        "seed": config.seed,
        "config hash": meta.get("config_hash", ""),
        "store": f"{run.path} (schema {run.schema})",
        "created": meta.get("created", ""),
    }
    if runs:
        first, last = runs[0], runs[-1]
        p = last["provenance"]
        prov["runs"] = len(runs)
        prov["started"] = first["started_at"]
        prov["ended"] = last["ended_at"] or ("running" if run.holder else "never (killed)")
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
        stamps = sorted(r.finished_at for r in counts["records"])
        prov["runs"] = "not recorded (store schema 1)" if run.schema == 1 else "none recorded"
        prov["started"] = stamps[0] if stamps else ""
        prov["ended"] = stamps[-1] if stamps else ""
        prov["packages"] = f"sdlss-theory {meta.get('package_version', 'unknown')}"
        prov["git revision"] = meta.get("git_rev") or "none"
    return prov


def _per_cell(trials: Sequence[int]) -> int | str:
    """The trials per cell: one number, or ``"lo to hi"`` where cells have their own."""
    lo, hi = min(trials), max(trials)
    return lo if lo == hi else f"{lo} to {hi}"


def _task_counts(
    run: StoredRun, cells: Sequence[Mapping[str, Any]], trials: Sequence[int]
) -> dict[str, Any]:
    """Tasks of the stored configuration: total, cells, ok, errors (and their records)."""
    limit = {cell_key(c): n for c, n in zip(cells, trials, strict=True)}
    mine = [r for r in run.records if r.trial < limit.get(r.cell_key, 0)]
    return {
        "total": sum(trials),
        "cells": len(cells),
        "per_cell": _per_cell(trials),
        "ok": sum(1 for r in mine if r.status == "ok"),
        "errors": sum(1 for r in mine if r.status == "error"),
        "records": mine,
    }


# -- load -> summarise ---------------------------------------------------------------------------
def load_run(study: Study, out_dir: str | Path) -> StoredRun:
    """Read a study's store once: meta, configuration, tasks, runs and the lock's holder.

    Parameters
    ----------
    study : Study
        The study (its configuration class rebuilds the stored configuration).
    out_dir : str or path-like
        The study's output folder (``results/<study>`` by default).

    Returns
    -------
    StoredRun

    Raises
    ------
    FileNotFoundError
        If `out_dir` holds no store, or an empty one.
    StoreError, StoreBusyError
        If the store cannot be read (not a database, another program's, newer, locked).
    ConfigMismatchError
        If the store holds another study's results, or a configuration the study refuses.
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
    return StoredRun(
        study, out_dir, path, dict(meta), config, records, runs, schema, lock_holder(out_dir)
    )


def summarise_run(
    run: StoredRun,
    *,
    columns: Sequence[str] | None = None,
    all_columns: bool = False,
    confidence: float = 0.95,
) -> StudyReport:
    """Summarise a loaded run into what ``sdlss show`` prints.

    Parameters
    ----------
    run : StoredRun
        From :func:`load_run`.
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
        Success rates are estimates with Wilson intervals, transitions logistic estimates with
        their intervals; the other columns are the stored metrics' statistics.

    Raises
    ------
    KeyError
        If `columns` (or the study's ``show``) names a column the summary does not have.
    """
    study, config = run.study, run.config
    cells, trials = zip(*study.cells_with_trials(config), strict=True)
    rows = summarise(cells, run.records, trials=trials, success=study.success,
                     metrics=study.metrics, confidence=confidence)  # fmt: skip
    params: list[str] = []
    for cell in cells:
        params += [k for k in cell if k not in params]
    chosen = select_columns(study, rows, params, columns=columns, all_columns=all_columns,
                            boolean=_boolean_metrics(run.records))  # fmt: skip
    varying = [p for p in params if not _same([row.get(p) for row in rows])]
    fixed = {p: rows[0].get(p) for p in params if p not in varying and p not in chosen}
    pct = f"{100 * confidence:g}%"
    tables = [
        ReportTable(
            "summary",
            f"Summary: {len(rows)} cells, {_per_cell(trials)} trials each (success rates with "
            f"Wilson {pct} intervals; a metric's name alone stands for its median, a boolean's "
            "for its rate)",
            chosen,
            [{c: row.get(c) for c in chosen} for row in rows],
        )
    ]
    warnings: list[str] = []
    transitions = _transition_table(study, rows, varying, confidence)
    if transitions is not None:
        tables.append(transitions)
    try:
        tables += _hook_tables(study, rows, config_to_dict(config))
    except Exception as exc:  # noqa: BLE001 - a study's hook must not hide the summary
        warnings.append(f"study {study.name}'s report hook raised {type(exc).__name__}: {exc}")
    if run.runs:
        run_rows = _run_rows(run.runs)
        tables.append(ReportTable("runs", "Runs", list(run_rows[0]), run_rows))
    provenance = _provenance(run, _task_counts(run, cells, trials))
    return StudyReport(study.name, study.description, run.path, fixed, tables, provenance,
                       warnings, _per_cell(trials), study_estimand(study),
                       changed_settings(study, config))  # fmt: skip


def study_report(
    study: Study,
    out_dir: str | Path,
    *,
    columns: Sequence[str] | None = None,
    all_columns: bool = False,
    confidence: float = 0.95,
) -> StudyReport:
    """Read a study's store and return what ``sdlss show`` prints.

    ``summarise_run(load_run(study, out_dir), ...)``: see :func:`load_run` (its errors:
    FileNotFoundError, StoreError, StoreBusyError, ConfigMismatchError) and
    :func:`summarise_run` (KeyError for an unknown column).
    """
    run = load_run(study, out_dir)
    return summarise_run(run, columns=columns, all_columns=all_columns, confidence=confidence)


# -- what a study is about -----------------------------------------------------------------------
def _module_docstring(study: Study) -> str:
    module = sys.modules.get(getattr(study.trial, "__module__", "") or "")
    doc = getattr(module, "__doc__", None)
    if doc is None and module is not None:  # a module run as a script has no __doc__ kept
        try:
            doc = ast.get_docstring(ast.parse(inspect.getsource(module)))
        except (OSError, TypeError, SyntaxError):
            doc = None
    return inspect.cleandoc(doc or "")


def study_estimand(study: Study) -> str:
    """What `study` estimates, from its module's docstring.

    The paragraph that starts with ``Estimand`` (its label dropped), or else the docstring's
    first two paragraphs (summary line and the model), or else the study's description.

    Returns
    -------
    str
        One paragraph, on one line.
    """
    paragraphs = [" ".join(p.split()) for p in _module_docstring(study).split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    for p in paragraphs:
        if p.lower().startswith("estimand"):
            return p[len("estimand") :].lstrip(".: ")
    if paragraphs:
        return " ".join(paragraphs[:2])
    return study.description


def changed_settings(study: Study, config: Any) -> dict[str, tuple[Any, Any]]:
    """The settings of `config` that differ from `study`'s defaults.

    Returns
    -------
    dict
        Setting name -> ``(value, default)``, in the configuration's field order; values as
        :func:`~sdlss_theory.sweep.config.config_to_dict` gives them (JSON-able).
    """
    values, defaults = config_to_dict(config), config_to_dict(study.config())
    return {
        k: (v, defaults.get(k))
        for k, v in values.items()
        if canonical_json({"v": v}) != canonical_json({"v": defaults.get(k)})
    }
