"""Compare two results folders of ``sdlss all --quick``, study by study: same numbers or not.

    python benchmarks/compare_quick.py BEFORE_DIR AFTER_DIR
    python benchmarks/compare_quick.py BEFORE AFTER --before-code /tmp/before --after-code .

BEFORE_DIR and AFTER_DIR are the ``--out`` folders of two runs (``results/`` by default), each
holding one folder per study. For every study found in either:

* ``summary.csv`` is compared as text, cell by cell (the engine writes floats with ``repr``,
  so equal text is equal numbers, bit for bit): the columns only one side has, a different
  number of rows, and every column whose values differ, with the rows where they do. Timing
  metrics (columns matching ``--timing``, by default ``train_time_*``, ``rec_time_*``,
  ``cpu_ms_*``, ``wall_time_*``) differ between any two runs: they are named on one line and
  do not count as a difference;
* with ``--before-code`` and ``--after-code`` (two checkouts of the code that made each
  folder), the tables ``sdlss show STUDY --format json`` prints from each checkout (the fitted
  transition points and the study's own tables; runs and provenance aside) are compared
  row by row, timing fields aside: a row may differ only where the BEFORE row misses a
  value (a fit that returned no point: NaN, null or method ``none``). Such rows are listed
  as allowed.

``--studies NAME ...`` compares those studies only.

Exit status: 0 if every study's summary and tables agree (allowed differences aside), 1 if
anything differs, 2 for a usage error. Nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

IGNORED_SECTIONS = ("study", "description", "store", "fixed", "summary", "runs", "provenance")
SHOWN = 5  # differing rows printed per column or table
#: Columns of measured times: they differ between any two runs of the same code.
TIMING = r"(time|cpu_ms|seconds)(_mean|_median|_q05|_q95)$"


def studies_in(folder: Path) -> set[str]:
    """The study folders of a results folder: those holding a ``summary.csv``."""
    return {p.parent.name for p in folder.glob("*/summary.csv")}


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV file's header and rows, every value as its text."""
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def compare_summaries(before: Path, after: Path, timing: str = TIMING) -> tuple:
    """(differences, timing columns that differ) between two ``summary.csv`` files.

    No differences: the same text, cell by cell, in every column but the timing ones (the
    columns whose names match the regular expression `timing`).
    """
    (cols_b, rows_b), (cols_a, rows_a) = read_rows(before), read_rows(after)
    out, timed = [], []
    for side, only in (("before", [c for c in cols_b if c not in cols_a]),
                       ("after", [c for c in cols_a if c not in cols_b])):  # fmt: skip
        rows = rows_b if side == "before" else rows_a
        for c in only:
            values = sorted({r[c] for r in rows})
            shown = values[0] if len(values) == 1 else f"{len(values)} values"
            out.append(f"column {c!r} only {side} ({shown})")
    if len(rows_b) != len(rows_a):
        return [*out, f"{len(rows_b)} rows before, {len(rows_a)} after"], timed
    common = [c for c in cols_b if c in cols_a]
    if [c for c in cols_a if c in cols_b] != common:
        out.append("the common columns are in another order")
    params = common[: common.index("n_ok")] if "n_ok" in common else []
    params = [p for p in params if len({r[p] for r in rows_b}) > 1]  # the grid's axes
    for c in common:
        bad = [i for i, (b, a) in enumerate(zip(rows_b, rows_a, strict=True)) if b[c] != a[c]]
        if not bad:
            continue
        if re.search(timing, c):
            timed.append(c)
            continue
        out.append(f"column {c!r}: {len(bad)} of {len(rows_b)} rows differ")
        for i in bad[:SHOWN]:
            where = ", ".join(f"{p}={rows_b[i][p]}" for p in params if p != c)
            out.append(f"    row {i} ({where}): {rows_b[i][c]} -> {rows_a[i][c]}")
    return out, timed


def show_tables(code: Path, study: str, folder: Path) -> dict[str, list[dict]]:
    """``sdlss show STUDY --format json`` run in checkout `code`: its tables, by section."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "simulations", "show", study, "--out",
               str(folder.resolve()), "--format", "json"]  # fmt: skip
    done = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} in {code}: {done.stderr.strip()}")
    shown = json.loads(done.stdout)
    return {
        name: section["rows"]
        for name, section in shown.items()
        if name not in IGNORED_SECTIONS and isinstance(section, dict) and "rows" in section
    }


def missing(value) -> bool:
    """A value a fit leaves when it returns no point: null, NaN or the method ``none``."""
    return value is None or value == "none" or (isinstance(value, float) and math.isnan(value))


def compare_tables(
    before: dict[str, list[dict]], after: dict[str, list[dict]], timing: str = TIMING
) -> tuple:
    """(differences, allowed differences) between two studies' ``show`` tables (the fields
    whose names match `timing` aside)."""

    def untimed(row: dict) -> str:
        return json.dumps({k: v for k, v in row.items() if not re.search(timing, k)},
                          sort_keys=True)  # fmt: skip

    bad, allowed = [], []
    for name in sorted(before.keys() | after.keys()):
        if name not in before or name not in after:
            bad.append(f"table {name!r} only {'before' if name in before else 'after'}")
            continue
        rows_b, rows_a = before[name], after[name]
        if len(rows_b) != len(rows_a):
            bad.append(f"table {name!r}: {len(rows_b)} rows before, {len(rows_a)} after")
            continue
        for i, (b, a) in enumerate(zip(rows_b, rows_a, strict=True)):
            if untimed(b) == untimed(a):
                continue
            line = f"table {name!r} row {i}: {b} -> {a}"
            (allowed if any(missing(v) for v in b.values()) else bad).append(line)
    return bad, allowed


def compare(
    before: Path, after: Path, before_code: Path | None = None, after_code: Path | None = None,
    timing: str = TIMING, studies: list[str] | None = None,
) -> int:
    """Print the comparison of every study (or of `studies`); return 0 if nothing differs,
    else 1."""
    names = sorted(studies or (studies_in(before) | studies_in(after)))
    if not names:
        print(f"no study folder with a summary.csv in {before} or {after}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        if name not in studies_in(before) or name not in studies_in(after):
            print(f"{name}: only in {before if name in studies_in(before) else after}")
            status = 1
            continue
        diffs, timed = compare_summaries(before / name / "summary.csv",
                                         after / name / "summary.csv", timing)  # fmt: skip
        allowed = []
        if before_code is not None and after_code is not None:
            bad, allowed = compare_tables(show_tables(before_code, name, before / name),
                                          show_tables(after_code, name, after / name),
                                          timing)  # fmt: skip
            diffs += bad
        rows = len(read_rows(before / name / "summary.csv")[1])
        verdict = "differs" if diffs else "identical"
        extra = f", {len(allowed)} fitted rows allowed to differ" if allowed else ""
        if timed:
            extra += f"; timings differ as in any two runs: {', '.join(timed)}"
        print(f"{name}: summary.csv {verdict} ({rows} rows{extra})")
        for line in diffs + [f"allowed (the old fit had no point): {x}" for x in allowed]:
            print(f"  {line}")
        status = max(status, int(bool(diffs)))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="results folder of the BEFORE run")
    parser.add_argument("after", type=Path, help="results folder of the AFTER run")
    parser.add_argument("--before-code", type=Path, help="checkout that made BEFORE")
    parser.add_argument("--after-code", type=Path, help="checkout that made AFTER")
    parser.add_argument(
        "--timing", default=TIMING, metavar="REGEX",
        help=f"columns of measured times, not compared (default {TIMING!r})",
    )  # fmt: skip
    parser.add_argument("--studies", nargs="+", metavar="NAME", help="these studies only")
    args = parser.parse_args(argv)
    if (args.before_code is None) != (args.after_code is None):
        parser.error("give both --before-code and --after-code, or neither")
    for folder in (args.before, args.after):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    return compare(args.before, args.after, args.before_code, args.after_code, args.timing,
                   args.studies)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
