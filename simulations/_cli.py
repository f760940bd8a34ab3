"""The command line of ``python -m simulations``.

Every usage error is one line on stderr and exit status 2, with nothing written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from sdlss_theory.sweep import (
    ConfigError,
    ConfigMismatchError,
    StoreBusyError,
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


class UsageError(Exception):
    """A bad command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line instead of usage + message
        raise UsageError(f"{message} (see {PROG} --help)")


def _positive_or_all(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or -1 (all cores), got {value}")
    return value


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Run a Monte Carlo study into results/<study>/ (store.sqlite, summary.csv, "
            "config.toml). Re-running the same command resumes; finished tasks are not "
            "recomputed."
        ),
        epilog=(
            "'list' shows the studies; 'all' runs every study (add --quick for the smoke "
            "size) and then makes every figure (python -m figures all)."
        ),
    )
    parser.add_argument("study", help="a study name, 'list' or 'all'")
    parser.add_argument("--quick", action="store_true", help="use the study's quick preset")
    parser.add_argument("--config", metavar="FILE.toml", help="read config values from TOML")
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config field (repeatable), e.g. --set m=20,40,60",
    )
    parser.add_argument("--trials", type=_positive_or_all, help="trials per cell")
    parser.add_argument("--seed", type=_nonnegative, help="root seed")
    parser.add_argument(
        "--n-jobs",
        type=_positive_or_all,
        default=1,
        help="parallel jobs (-1: all cores / all dask workers; default 1)",
    )
    parser.add_argument(
        "--backend",
        choices=("loky", "dask", "sequential"),
        help="joblib backend (default: loky, or sequential for one job)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="dask scheduler address (implies --backend dask); without it "
        "--backend dask starts a local cluster on 127.0.0.1",
    )
    parser.add_argument(
        "--scheduler-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the dask scheduler (default 10)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default results/<study>; with 'all', the parent "
        "of the study folders, default results)",
    )
    parser.add_argument(
        "--figures-out",
        metavar="DIR",
        help="with 'all': where python -m figures writes (default figures/out)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over: the existing store is renamed, not deleted",
    )
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first trial that raises"
    )
    parser.add_argument(
        "--retry-errors", action="store_true", help="run again the tasks stored as errors"
    )
    parser.add_argument(
        "--trials-csv", action="store_true", help="also write trials.csv (one row per task)"
    )
    parser.add_argument("--no-progress", action="store_true", help="print no progress")
    return parser


def _build_config(study: Study, args: argparse.Namespace):
    config = study.config.quick() if args.quick else study.config()
    if args.config:
        config = config_from_toml(config, args.config)
    overrides: dict = parse_assignments(args.assignments)
    if args.trials is not None:
        if args.trials < 1:
            raise ConfigError(f"--trials must be >= 1, got {args.trials}")
        overrides["trials"] = args.trials
    if args.seed is not None:
        overrides["seed"] = args.seed
    return apply_overrides(config, overrides)


def _resolve_backend(args: argparse.Namespace) -> str | None:
    if args.scheduler and args.backend not in (None, "dask"):
        raise UsageError(f"--scheduler needs --backend dask, not --backend {args.backend}")
    if args.scheduler:
        return "dask"
    if args.backend == "sequential" and args.n_jobs != 1:
        raise UsageError("--backend sequential runs one job; drop --n-jobs or use loky")
    if args.backend is None:
        return "sequential" if args.n_jobs == 1 else "loky"
    return args.backend


def _plan(study: Study, args: argparse.Namespace, out: Path):
    """Validate everything that can be validated without writing anything."""
    config = _build_config(study, args)
    study.cells(config)  # the grid must build
    if not args.fresh:
        check_output_folder(study, config, out)
    return config


def _run(study: Study, config, args: argparse.Namespace, out: Path, backend: str | None) -> int:
    start = time.perf_counter()
    n_jobs = -1 if backend == "dask" and args.scheduler else args.n_jobs
    report = run_study(
        study,
        config,
        out,
        n_jobs=n_jobs,
        backend=backend,
        fresh=args.fresh,
        fail_fast=args.fail_fast,
        retry_errors=args.retry_errors,
        progress="none" if args.no_progress else "auto",
        write_trials=args.trials_csv,
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


def _list(known: dict[str, Study]) -> int:
    width = max((len(n) for n in known), default=0)
    for name, study in known.items():
        print(f"{name:<{width}}  {study.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from simulations import studies

    try:
        args = build_parser().parse_args(argv)
        known = studies()
        if args.study == "list":
            return _list(known)
        backend = _resolve_backend(args)
        if args.study == "all":
            if args.assignments or args.config:
                raise UsageError("'all' takes no --set or --config (each study has its own keys)")
            base = Path(args.out) if args.out else Path("results")
            targets = [(known[name], base / name) for name in known]
        else:
            if args.study not in known:
                raise UsageError(
                    f"unknown study {args.study!r}; known studies: {', '.join(known)} "
                    f"(or 'list', 'all')"
                )
            study = known[args.study]
            targets = [(study, Path(args.out) if args.out else Path("results") / study.name)]
        plans = [(study, _plan(study, args, out), out) for study, out in targets]
    except (UsageError, ConfigError, ConfigMismatchError, ValueError, TypeError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    status = 0
    with contextlib.ExitStack() as stack:
        if backend == "dask":
            n_workers = (os.cpu_count() or 1) if args.n_jobs == -1 else args.n_jobs
            try:
                stack.enter_context(
                    dask_client(
                        args.scheduler, n_workers=n_workers, timeout=args.scheduler_timeout
                    )
                )
            except (ConnectionError, ImportError) as exc:
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                return EXIT_USAGE
        try:
            for study, config, out in plans:
                status = max(status, _run(study, config, args, out, backend))
        except StoreBusyError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except TrialFailedError as exc:
            print(f"{PROG}: stopped (--fail-fast): {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                f"{PROG}: interrupted; finished tasks are stored, run the same command to resume",
                file=sys.stderr,
            )
            return 130
    if args.study == "all":
        from figures._cli import main as figures_main

        base = Path(args.out) if args.out else Path("results")
        fig_args = ["all", "--results", str(base)]
        if args.figures_out:
            fig_args += ["--out", args.figures_out]
        status = max(status, figures_main(fig_args))
    return status
