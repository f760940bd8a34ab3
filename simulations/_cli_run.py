"""``sdlss run`` and ``sdlss all``: the configuration, the backend, the checks, the runs.

Everything that can be checked without writing (the configuration, the grid, the output
folder, the backend options) is checked for every study before the first one runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path

from figures import UsageError
from sdlss_theory.sweep import (
    Study,
    TrialFailedError,
    apply_overrides,
    check_output_folder,
    config_from_toml,
    dask_client,
    parse_assignments,
    run_study,
)
from simulations._cli_commands import draw_figures, get_study
from simulations._cli_parser import RESULTS

__all__ = ["build_config", "run_studies"]


def build_config(study: Study, args: argparse.Namespace):
    """The configuration the options ask for: the preset, then ``--config``, ``--set``,
    ``--trials`` and ``--seed`` over it (a `UsageError` or `ConfigError` if invalid)."""
    if args.quick and args.preset not in (None, "quick"):
        raise UsageError(f"give --quick or --preset {args.preset}, not both")
    name = "quick" if args.quick else args.preset or "default"
    try:
        config = study.config.preset(name)
    except ValueError as err:
        raise UsageError(f"--preset: {err} (study {study.name})") from None
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
    config = build_config(study, args)
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


def run_studies(args: argparse.Namespace, known: dict[str, Study], prog: str, argv) -> int:
    """``sdlss run STUDY`` or ``sdlss all``: check every study's run, run them, (``all``:)
    draw every figure; return the exit status (0, 1 if a trial raised, 130 if interrupted)."""
    backend = _resolve_backend(args)
    if args.command == "all":
        if args.assignments or args.config:
            raise UsageError("'all' takes no --set or --config (each study has its own keys)")
        base = Path(args.out) if args.out else RESULTS
        targets = [(study, base / name) for name, study in known.items()]
    else:
        study = get_study(known, args.study)
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
        status = max(status, draw_figures(fig_args, prog))
    return status
