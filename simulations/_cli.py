"""The command line: ``sdlss`` (the console command) and ``python -m simulations``.

::

    sdlss list                      the studies
    sdlss run STUDY [options]       run one study into ./results/STUDY/ (resumes)
    sdlss all [options]             every study, then every figure
    sdlss figures [STUDY]           draw figures from stored results into ./figures/out/
    sdlss show STUDY [options]      print what a run found, and its provenance
    sdlss report [--out DIR]        one HTML page (and report.md) of every study

``python -m simulations`` takes the same subcommands, and ``python -m simulations STUDY
[options]`` stands for ``run STUDY``. Every usage error, and every store that cannot be used,
is one line on stderr with exit status 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import sys
import time
from pathlib import Path

from figures._cli import Parser, UsageError, add_figure_arguments
from sdlss_theory.sweep import (
    ConfigError,
    ConfigMismatchError,
    StoreBusyError,
    StoreError,
    Study,
    TrialFailedError,
    apply_overrides,
    check_output_folder,
    config_from_toml,
    dask_client,
    parse_assignments,
    run_study,
)

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
    parent.add_argument("--quick", action="store_true", help="use the quick preset (seconds)")
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
    """Return the parser of the command line (subcommands list, run, all, figures, show)."""
    from sdlss_theory.sweep.render import FORMATS

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

    _add_report_parser(sub)
    return parser


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


# -- run -----------------------------------------------------------------------------------------
def _build_config(study: Study, args: argparse.Namespace):
    config = study.config.quick() if args.quick else study.config()
    if args.config:
        config = config_from_toml(config, args.config)
    overrides: dict = parse_assignments(args.assignments)
    if args.trials is not None:
        overrides["trials"] = args.trials
    if args.seed is not None:
        overrides["seed"] = args.seed
    return apply_overrides(config, overrides)


def _resolve_backend(args: argparse.Namespace) -> str | None:
    if args.scheduler and args.scheduler_file:
        raise UsageError("give --scheduler or --scheduler-file, not both")
    cluster = (
        "--scheduler" if args.scheduler else "--scheduler-file" if args.scheduler_file else ""
    )
    if cluster and args.backend not in (None, "dask"):
        raise UsageError(f"{cluster} needs --backend dask, not --backend {args.backend}")
    if args.min_workers is not None and not cluster:
        raise UsageError("--min-workers needs --scheduler or --scheduler-file")
    if args.scheduler_timeout is not None and not (cluster or args.backend == "dask"):
        raise UsageError("--scheduler-timeout needs --scheduler, --scheduler-file or dask")
    if cluster:
        return "dask"
    if args.backend == "sequential" and args.n_jobs != 1:
        raise UsageError(
            f"--backend sequential runs one job, not --n-jobs {args.n_jobs}; drop --n-jobs "
            "or use --backend loky"
        )
    if args.backend is None:
        return "sequential" if args.n_jobs == 1 else "loky"
    return args.backend


def _plan(study: Study, args: argparse.Namespace, out: Path):
    """Validate everything that can be validated without writing anything."""
    config = _build_config(study, args)
    try:
        study.cells(config)  # the grid must build
    except (ValueError, TypeError) as exc:
        raise UsageError(f"invalid configuration of {study.name}: {exc}") from None
    if args.fresh:
        store = out / "store.sqlite"
        if store.exists():
            from sdlss_theory.sweep import ResultStore

            with ResultStore(store, readonly=True):
                pass  # --fresh sets aside results stores only
    else:
        check_output_folder(study, config, out)
    return config


def _run(
    study: Study, config, args: argparse.Namespace, out: Path, backend: str | None, command: str
) -> int:
    start = time.perf_counter()
    cluster = backend == "dask" and (args.scheduler or args.scheduler_file)
    report = run_study(
        study,
        config,
        out,
        n_jobs=-1 if cluster else args.n_jobs,
        backend=backend,
        fresh=args.fresh,
        fail_fast=args.fail_fast,
        retry_errors=args.retry_errors,
        progress="none" if args.no_progress else "auto",
        write_trials=args.trials_csv,
        command=command,
        threads_per_worker=args.threads,
        checkpoint_seconds=args.checkpoint_every,
    )
    elapsed = time.perf_counter() - start
    print(
        f"{study.name}: {report.n_tasks} tasks ({report.n_resumed} resumed, {report.n_run} run, "
        f"{report.n_failed} failed, {report.n_nonfinite} with non-finite metrics) in "
        f"{elapsed:.1f} s -> {out / 'summary.csv'}",
        file=sys.stderr,
    )
    if report.n_failed:
        print(
            f"{study.name}: warning: {report.n_failed} tasks raised; their tracebacks are in "
            f"{out / 'store.sqlite'} (status 'error'); --retry-errors runs them again",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_studies(args: argparse.Namespace, known: dict[str, Study], prog: str, argv) -> int:
    backend = _resolve_backend(args)
    if args.command == "all":
        if args.assignments or args.config:
            raise UsageError("'all' takes no --set or --config (each study has its own keys)")
        base = Path(args.out) if args.out else RESULTS
        targets = [(study, base / name) for name, study in known.items()]
    else:
        study = _get_study(known, args.study)
        targets = [(study, Path(args.out) if args.out else RESULTS / study.name)]
    plans = [(study, _plan(study, args, out), out) for study, out in targets]
    command = f"{prog} {shlex.join(argv)}"

    status = 0
    with contextlib.ExitStack() as stack:
        if backend == "dask":
            n_workers = (os.cpu_count() or 1) if args.n_jobs == -1 else args.n_jobs
            try:
                stack.enter_context(
                    dask_client(
                        args.scheduler,
                        scheduler_file=args.scheduler_file,
                        n_workers=n_workers,
                        timeout=args.scheduler_timeout or 10.0,
                        min_workers=args.min_workers or 1,
                    )
                )
            except (ConnectionError, ImportError) as exc:
                raise UsageError(str(exc)) from None
        try:
            for study, config, out in plans:
                status = max(status, _run(study, config, args, out, backend, command))
        except TrialFailedError as exc:
            print(f"{prog}: stopped (--fail-fast): {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                f"{prog}: interrupted; finished tasks are stored, run the same command to resume",
                file=sys.stderr,
            )
            return 130
    if args.command == "all":
        base = Path(args.out) if args.out else RESULTS
        fig_args = ["all", "--results", str(base)]
        if args.figures_out:
            fig_args += ["--out", args.figures_out]
        status = max(status, _figures(fig_args, prog))
    return status


# -- the other commands --------------------------------------------------------------------------
def _get_study(known: dict[str, Study], name: str) -> Study:
    if name not in known:
        raise UsageError(
            f"unknown study {name!r}; known studies: {', '.join(known)} (see the 'list' command)"
        )
    return known[name]


def _list(known: dict[str, Study]) -> int:
    width = max((len(n) for n in known), default=0)
    for name, study in known.items():
        print(f"{name:<{width}}  {study.description}")
    return 0


def _figures(argv: list[str], prog: str) -> int:
    from figures._cli import main as figures_main

    return figures_main(argv, prog=f"{prog} figures")


def _show(args: argparse.Namespace, known: dict[str, Study]) -> int:
    from sdlss_theory.sweep.render import format_report
    from sdlss_theory.sweep.report import study_report

    study = _get_study(known, args.study)
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


def _report_figure(name: str, results: Path, folder: Path):
    """Draw study `name`'s figure for the report: (files, the module's summary line), or None
    without results. Module level: joblib workers import it by name."""
    from figures import figure_modules
    from figures._cli import make_figure

    module = figure_modules()[name]
    doc = (module.__doc__ or "").strip().splitlines()
    try:
        # 150 dpi PNG for the page (a screen), the vector PDF beside it for print.
        paths = make_figure(name, module, results, folder, dpi=150)
    except FileNotFoundError:
        return None
    return paths, (doc[0] if doc else "")


def _report(args: argparse.Namespace, known: dict[str, Study]) -> int:
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
        delayed(_report_figure)(name, results, out / "figures") for name in names
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


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``). A first argument that is not a command
        (``list``, ``run``, ``all``, ``figures``, ``show``, ``report``) or an option is a
        study name:
        ``STUDY [options]`` means ``run STUDY [options]``.
    prog : str
        The program's name in messages.
    """
    from simulations import studies

    argv = list(sys.argv[1:] if argv is None else argv)
    typed = list(argv)  # as recorded with the run
    if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
        argv = ["run", *argv]
    try:
        args = build_parser(prog).parse_args(argv)
        if args.command == "figures":
            return _figures(argv[1:], prog)
        known = studies()
        if args.command == "list":
            return _list(known)
        if args.command == "show":
            return _show(args, known)
        if args.command == "report":
            return _report(args, known)
        return _run_studies(args, known, prog, typed)
    except (
        UsageError,
        ConfigError,
        ConfigMismatchError,
        StoreError,
        StoreBusyError,
        OSError,
    ) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def sdlss(argv: list[str] | None = None) -> int:
    """The ``sdlss`` console command (``[project.scripts]``): :func:`main` named ``sdlss``."""
    return main(argv, prog="sdlss")
