"""``sdlss list``, ``sdlss figures``, ``sdlss show`` and ``sdlss report``: commands that read.

None of them simulates: they list the studies, or read stored results.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from figures import UsageError, make_figure
from figures import main as figures_main
from sdlss_theory.sweep import Study
from simulations._cli_parser import RESULTS

__all__ = ["draw_figures", "get_study", "list_studies", "report", "report_figure", "show"]


def get_study(known: dict[str, Study], name: str) -> Study:
    """The study called `name` among `known` (a `UsageError` naming the known ones if none)."""
    if name not in known:
        raise UsageError(
            f"unknown study {name!r}; known studies: {', '.join(known)} (see the 'list' command)"
        )
    return known[name]


def list_studies(known: dict[str, Study]) -> int:
    """``sdlss list``: one line per study, its description and its named presets."""
    width = max((len(n) for n in known), default=0)
    for name, study in known.items():
        extra = [p for p in study.config.PRESETS if p != "quick"]
        presets = f" [presets: {', '.join(extra)}]" if extra else ""
        print(f"{name:<{width}}  {study.description}{presets}")
    return 0


def draw_figures(argv: list[str], prog: str) -> int:
    """``sdlss figures ARGS``: the figures' own command line under the name `prog` figures."""
    return figures_main(argv, prog=f"{prog} figures")


def show(args: argparse.Namespace, known: dict[str, Study]) -> int:
    """``sdlss show STUDY``: print a stored run's report in ``--format``, writing nothing."""
    from sdlss_theory.sweep.render import format_report
    from sdlss_theory.sweep.report import study_report

    study = get_study(known, args.study)
    out = Path(args.out) if args.out else RESULTS / study.name
    columns = None
    if args.columns is not None:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        if not columns:
            raise UsageError("--columns expects column names separated by commas")
    try:
        report = study_report(study, out, columns=columns, all_columns=args.all_columns)
        text = format_report(report, args.format, section=args.section)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    sys.stdout.write(text)
    return 0


def report_figure(name: str, results: Path, folder: Path):
    """Draw study `name`'s figure for the report: (files, the module's summary line), or None
    without results. Module level: joblib workers import it by name."""
    from figures import figure_modules

    module = figure_modules()[name]
    doc = (module.__doc__ or "").strip().splitlines()
    try:
        # 150 dpi PNG for the page (a screen), the vector PDF beside it for print.
        paths = make_figure(name, module, results, folder, dpi=150)
    except FileNotFoundError:
        return None
    return paths, (doc[0] if doc else "")


def report(args: argparse.Namespace, known: dict[str, Study]) -> int:
    """``sdlss report``: every study's figure (``--n-jobs`` processes), then the site."""
    from joblib import Parallel, delayed

    from figures import figure_modules
    from sdlss_theory.sweep.provenance import git_revision, package_version
    from sdlss_theory.sweep.site import collect_entries, write_site

    start = time.perf_counter()
    results, out = Path(args.results), Path(args.out)
    # The revision before anything is written (writing into a checkout would make it dirty).
    generator = (
        f"Made by sdlss report from {results} (sdlss-theory {package_version()}, "
        f"git revision {git_revision() or 'none'})."
    )
    # The figures first, in parallel with --n-jobs (each is drawn from its stored summary).
    names = [n for n in figure_modules() if n in known and (results / n / "summary.csv").exists()]
    drawn = Parallel(n_jobs=args.n_jobs)(
        delayed(report_figure)(name, results, out / "figures") for name in names
    )
    figures = dict(zip(names, drawn, strict=True))
    entries = collect_entries(known, results, out, figure=lambda name, _: figures.get(name))
    paths = write_site(entries, out, generator=generator)
    n_run = sum(e.status == "run" for e in entries)
    print(
        f"report: {n_run} of {len(entries)} studies with a run -> {paths['html']}, "
        f"{paths['markdown']} in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0
