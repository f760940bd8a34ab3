"""The command line of ``python -m figures`` (and ``sdlss figures``): stored results in, PDF
and PNG out.

Results are read from ``./results/STUDY/`` and figures written to ``./figures/out/``, both
under the current folder unless ``--results`` / ``--out`` say otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import sys
from pathlib import Path

PROG = "python -m figures"
DEFAULT_RESULTS = Path("results")
DEFAULT_OUT = Path("figures") / "out"


class UsageError(Exception):
    """A bad command line: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """One line per error, and no abbreviated options (a new option must not change an old
    command's meaning)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (see {self.prog} --help)")


#: The parser class the ``sdlss`` command shares (simulations/_cli.py).
Parser = _Parser


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description=(
            "Draw a study's figure from ./results/STUDY/summary.csv (never simulates) into "
            "./figures/out/STUDY.pdf and .png, under the current folder."
        ),
    )
    add_figure_arguments(parser)
    return parser


def add_figure_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``python -m figures`` and ``sdlss figures``."""
    parser.add_argument("study", nargs="?", default="all", help="a study name, 'list' or 'all'")
    parser.add_argument(
        "--results",
        default=str(DEFAULT_RESULTS),
        metavar="DIR",
        help="folder holding the study folders (default ./results)",
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        metavar="DIR",
        help="output folder (default ./figures/out)",
    )
    parser.add_argument(
        "--width",
        type=_width,
        default="page",
        metavar="column|page|INCHES",
        help="printed width: one IEEE column (3.5 in), the page (7.16 in, default) or inches; "
        "panels reflow into more rows when narrow, text stays >= 7 pt. Files other than the "
        "page width are named STUDY-column.pdf, STUDY-5in.pdf",
    )
    parser.add_argument(
        "--panel",
        metavar="NAME",
        help="draw one panel alone (STUDY-NAME.pdf); 'list' prints a study's panels",
    )


def _width(text: str) -> str:
    from sdlss_theory.plotting import resolve_width

    try:
        resolve_width(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def output_stem(name: str, width: str | float = "page", panel: str | None = None) -> str:
    """The file name (without extension) of study `name`'s figure at `width`, or of a panel.

    ``STUDY`` at the page width, ``STUDY-column`` at the column width, ``STUDY-5in`` at 5
    inches; ``-PANEL`` before the width's suffix for one panel.
    """
    from sdlss_theory.plotting import WIDTHS, resolve_width

    stem = name if panel is None else f"{name}-{panel}"
    if width in WIDTHS:
        return stem if WIDTHS[width] == WIDTHS["page"] else f"{stem}-{width}"
    return f"{stem}-{resolve_width(width):g}in"


def load_results(name: str, module, results: Path) -> tuple[dict, dict, dict]:
    """Read what ``figures/<name>.py``'s ``plot`` takes: (summary, config, extra keywords).

    Raises
    ------
    FileNotFoundError
        If ``results/<name>/summary.csv`` is missing.
    StoreError, StoreBusyError
        If the figure reads per-task rows and the store cannot be read.
    """
    from sdlss_theory.sweep import read_summary_csv

    folder = results / name
    summary_path = folder / "summary.csv"
    if not summary_path.exists():
        raise FileNotFoundError(
            f"no results for {name} in {folder}; run: sdlss run {name} --quick"
        )
    summary = read_summary_csv(summary_path)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())["config"] if config_path.exists() else {}
    extra = {}
    if "trials" in inspect.signature(module.plot).parameters:
        # Figures that draw per-trial data (scatter, QQ plots) read it from the store.
        from sdlss_theory.sweep import STORE_NAME, ResultStore
        from sdlss_theory.sweep.summary import trials_table

        with ResultStore(folder / STORE_NAME, readonly=True) as store:
            extra["trials"] = [
                row for row in trials_table(store.records()) if row["status"] == "ok"
            ]
    return summary, config, extra


@contextlib.contextmanager
def _drawn(name: str, module, results: Path, width: str | float, panel: str | None):
    """Draw study `name`'s figure at `width` (one panel if given) inside the paper style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sdlss_theory.plotting import figure_width, paper_style, selected_panels

    summary, config, extra = load_results(name, module, results)
    # Inside the style: ticks made during the draw take the style's sizes, as when saved.
    with paper_style(), figure_width(width), selected_panels(None if panel is None else [panel]):
        fig = module.plot(summary, config, **extra)
        try:
            yield fig
        finally:
            plt.close(fig)


def layout_problems(
    name: str, module, results: Path, *, width: str | float = "page", panel: str | None = None
) -> list[str]:
    """Draw study `name`'s figure from its stored results as it is saved (paper style, at
    `width`) and return its text problems (:func:`sdlss_theory.plotting.layout_problems`):
    empty if no two text elements overlap, none sticks out of the figure and none is smaller
    than 7 pt."""
    from sdlss_theory.plotting import layout_problems as problems_of

    with _drawn(name, module, results, width, panel) as fig:
        return problems_of(fig)


def make_figure(
    name: str,
    module,
    results: Path,
    out: Path,
    *,
    width: str | float = "page",
    panel: str | None = None,
    formats: tuple[str, ...] = ("pdf", "png"),
    dpi: int = 300,
) -> list[Path]:
    """Draw one study's figure (or one panel) at `width` from its stored results; return the
    files written (:func:`output_stem` names them; `dpi` is the PNG's resolution)."""
    from sdlss_theory.plotting import save_figure

    with _drawn(name, module, results, width, panel) as fig:
        return save_figure(fig, out / output_stem(name, width, panel), formats=formats, dpi=dpi)


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    """Run the command line; return the exit status.

    0: every figure asked for was drawn (``all`` skips studies without results); 2: a usage
    error, missing results for the one study asked for, or a store that cannot be read.
    """
    from figures import figure_modules
    from sdlss_theory.sweep import StoreBusyError, StoreError

    try:
        args = build_parser(prog).parse_args(argv)
        modules = figure_modules()
        if args.study == "list":
            for name, module in modules.items():
                doc = (module.__doc__ or "").strip().splitlines()
                print(f"{name}  {doc[0] if doc else ''}")
            return 0
        if args.study == "all":
            names = list(modules)
        elif args.study in modules:
            names = [args.study]
        else:
            raise UsageError(
                f"no figure for {args.study!r}; figures exist for: {', '.join(modules)}"
            )
        results, out = Path(args.results), Path(args.out)
        if args.panel is not None and args.study == "all":
            raise UsageError("--panel needs one study, not 'all'")
        if args.panel == "list":
            print("\n".join(modules[args.study].PANELS))
            return 0
        panels = modules[args.study].PANELS if args.study in modules else ()
        if args.panel is not None and args.panel.split(":")[0] not in panels:
            raise UsageError(f"no panel {args.panel!r} in the {args.study} figure; panels: "
                             f"{', '.join(panels)}")  # fmt: skip
        if args.study != "all" and not (results / args.study / "summary.csv").exists():
            raise UsageError(
                f"no results for {args.study} in {results / args.study}; run: "
                f"sdlss run {args.study} --quick"
            )
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        try:
            paths = make_figure(name, modules[name], results, out, width=args.width,
                                panel=args.panel)  # fmt: skip
        except FileNotFoundError as exc:
            print(f"{prog}: skipped {name}: {exc}", file=sys.stderr)
            continue
        except (StoreError, StoreBusyError) as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            status = 2
            continue
        except KeyError as exc:  # a --panel the figure of this run does not have
            print(f"{prog}: error: {exc.args[0]}", file=sys.stderr)
            status = 2
            continue
        print(f"{name}: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return status
