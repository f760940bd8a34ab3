"""The parser of ``sdlss`` / ``python -m simulations``: subcommands, options and their types.

Each flag's type refuses a bad value with a message of its own (one line, exit status 2:
:class:`figures.UsageError` through :class:`figures.Parser`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from figures import Parser, add_figure_arguments

__all__ = ["EXIT_USAGE", "PROG", "REPORT", "RESULTS", "SUBCOMMANDS", "build_parser"]

PROG = "python -m simulations"
EXIT_USAGE = 2
SUBCOMMANDS = ("list", "run", "all", "figures", "show", "report")
REPORT = Path("report")
RESULTS = Path("results")


# -- argument types: each flag's own message ---------------------------------------------------
def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _at_least(minimum: int, what: str):
    """An argparse type: an integer >= `minimum`, refused with a message naming `what`."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be >= {minimum}, got {value}")
        return value

    return parse


_trials = _at_least(1, "the trials per cell")
_seed = _at_least(0, "the root seed")
_min_workers = _at_least(1, "the number of workers")
_threads = _at_least(1, "the BLAS threads per task")


def _checkpoint_seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"the checkpoint interval must be >= 0 seconds (0: off), got {text}"
        )
    return value or None


def _n_jobs(text: str) -> int:
    value = _integer(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"the parallel jobs must be >= 1, or -1 for all cores, got {value}"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"the timeout must be a positive number, got {text}")
    return value


# -- the parser ----------------------------------------------------------------------------------
def _run_options(parent: argparse.ArgumentParser, *, all_studies: bool) -> None:
    """The options of ``run`` and ``all``, in the order ``--help`` lists them."""
    _config_options(parent, all_studies=all_studies)
    _parallel_options(parent)
    _output_options(parent, all_studies=all_studies)


def _config_options(parent: argparse.ArgumentParser, *, all_studies: bool) -> None:
    """The configuration: preset, file, assignments, trials, seed."""
    parent.add_argument("--quick", action="store_true", help="use the quick preset (seconds)")
    parent.add_argument(
        "--preset",
        metavar="NAME",
        help="use a named preset of the study instead of its defaults (e.g. paper; "
        "`sdlss list` names each study's presets); --quick is --preset quick",
    )
    # 'all' refuses --config and --set with a message of its own (each study has its own keys).
    hidden = argparse.SUPPRESS if all_studies else None
    parent.add_argument(
        "--config", metavar="FILE.toml", help=hidden or "read config values from TOML"
    )
    parent.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=hidden or "override one config field (repeatable), e.g. --set m=20,40,60",
    )
    parent.add_argument("--trials", type=_trials, metavar="N", help="trials per cell")
    parent.add_argument("--seed", type=_seed, metavar="N", help="root seed (default 0)")


def _parallel_options(parent: argparse.ArgumentParser) -> None:
    """Jobs, backend and the dask cluster."""
    parent.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="N",
        help="parallel jobs (-1: all cores, or all dask workers; default 1)",
    )
    parent.add_argument(
        "--backend",
        choices=("loky", "dask", "sequential"),
        help="joblib backend (default: loky, or sequential for one job)",
    )
    dask = parent.add_argument_group("dask clusters")
    dask.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="the address of a running dask scheduler, tcp://host:8786 (implies --backend "
        "dask); without it and --scheduler-file, --backend dask starts a local cluster",
    )
    dask.add_argument(
        "--scheduler-file",
        metavar="FILE",
        help="a dask scheduler file, as written by dask-mpi, dask-jobqueue or 'dask scheduler "
        "--scheduler-file' (implies --backend dask; waited for up to --scheduler-timeout)",
    )
    dask.add_argument(
        "--scheduler-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="how long to wait for the scheduler file, the scheduler and --min-workers "
        "(default 10)",
    )
    dask.add_argument(
        "--min-workers",
        type=_min_workers,
        default=None,
        metavar="N",
        help="wait until N workers have joined the scheduler before starting (default 1)",
    )


def _output_options(parent: argparse.ArgumentParser, *, all_studies: bool) -> None:
    """Where results go, what to redo, failures, progress, threads, checkpoints."""
    if all_studies:
        parent.add_argument(
            "--out",
            metavar="DIR",
            help="the parent of the study folders (default ./results)",
        )
        parent.add_argument(
            "--figures-out",
            metavar="DIR",
            help="where the figures go (default ./figures/out)",
        )
    else:
        parent.add_argument("--out", metavar="DIR", help="output folder (default ./results/STUDY)")
    parent.add_argument(
        "--fresh",
        action="store_true",
        help="start over: the existing store is renamed store.<time>.sqlite, never deleted",
    )
    parent.add_argument(
        "--fail-fast", action="store_true", help="stop at the first trial that raises"
    )
    parent.add_argument(
        "--retry-errors", action="store_true", help="run again the tasks stored as errors"
    )
    parent.add_argument(
        "--trials-csv", action="store_true", help="also write trials.csv (one row per task)"
    )
    parent.add_argument("--no-progress", action="store_true", help="print no progress")
    parent.add_argument(
        "--threads",
        type=_threads,
        default=None,
        metavar="N",
        help="BLAS threads per task (default: cores // min(n-jobs, tasks to run); 1 with dask)",
    )
    parent.add_argument(
        "--checkpoint-every",
        type=_checkpoint_seconds,
        default=60.0,
        metavar="SECONDS",
        help="long tasks (training) save their state every SECONDS under OUT/checkpoints, so "
        "that a killed run resumes them (0: off; default 60)",
    )


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """Return the parser of the command line (list, run, all, figures, show, report)."""
    parser = Parser(
        prog=prog,
        description=(
            "Monte Carlo studies of compressed sensing with sparse-latent generative priors. "
            "Results go to ./results/STUDY/ and figures to ./figures/out/, under the folder "
            "you run the command from (--out and --figures-out choose others). Re-running a "
            "study resumes it: finished tasks are not recomputed."
        ),
        epilog=f"'{prog} COMMAND --help' describes each command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("list", help="list the studies", description="List the studies.")

    run = sub.add_parser(
        "run",
        help="run one study",
        description=(
            "Run a study into ./results/STUDY/ (store.sqlite, summary.csv, config.toml), or "
            "into --out DIR. Re-running the same command resumes."
        ),
    )
    run.add_argument("study", help="a study name (see 'list')")
    _run_options(run, all_studies=False)

    every = sub.add_parser(
        "all",
        help="run every study, then draw every figure",
        description=(
            "Run every study into ./results/STUDY/ (or under --out DIR), then draw every figure "
            "into ./figures/out/ (or --figures-out DIR)."
        ),
    )
    _run_options(every, all_studies=True)

    figures = sub.add_parser(
        "figures",
        help="draw figures from stored results",
        description=(
            "Draw a study's figure (or every figure) from ./results/STUDY/ into "
            "./figures/out/STUDY.pdf and .png. Never simulates."
        ),
    )
    add_figure_arguments(figures)

    _add_show_parser(sub)
    _add_report_parser(sub)
    return parser


def _add_show_parser(sub) -> None:
    """The ``show`` subcommand's parser."""
    from sdlss_theory.sweep.render import FORMATS

    show = sub.add_parser(
        "show",
        help="print a run's summary, fitted transitions and provenance",
        description=(
            "Print what a study's run found, read from its store: the summary (the study's "
            "axes, success rates with Wilson intervals), the fitted 50%% transitions, the "
            "study's own tables, the runs and their provenance (package versions, git "
            "revision, seed, command line, threads, times, tasks done / errors / pending)."
        ),
    )
    show.add_argument("study", help="a study name (see 'list')")
    show.add_argument(
        "--out", metavar="DIR", help="the study's output folder (default ./results/STUDY)"
    )
    show.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (aligned, default), csv (one section, raw values), json (everything), "
        "markdown, latex (booktabs tables with captions and labels)",
    )
    show.add_argument(
        "--section",
        metavar="NAME",
        help="print one section only: summary, transitions, runs, provenance, or one of the "
        "study's own tables (csv prints the summary unless this names another)",
    )
    show.add_argument(
        "--columns",
        metavar="COL,COL",
        help="the summary columns to print: parameters, summary.csv columns, the success "
        "metric (its rate and interval) or a metric (its median)",
    )
    show.add_argument(
        "--all-columns", action="store_true", help="print every column of the summary"
    )


def _add_report_parser(sub) -> None:
    """The ``report`` subcommand's parser."""
    report = sub.add_parser(
        "report",
        help="write one HTML page (and a Markdown variant) of every study",
        description=(
            "Write ./report/index.html (one static file, its figures in ./report/figures/) and "
            "./report/report.md: every study with its estimand, the settings that differ from "
            "its defaults, the show tables, the figure, the verdicts of its report hook and the "
            "provenance; studies never run are listed as such. Reads ./results/STUDY/ only."
        ),
    )
    report.add_argument(
        "--results",
        default=str(RESULTS),
        metavar="DIR",
        help="folder holding the study folders (default ./results)",
    )
    report.add_argument(
        "--out", default=str(REPORT), metavar="DIR", help="output folder (default ./report)"
    )
    report.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="N",
        help="draw the figures in N processes (-1: all cores; default 1)",
    )
