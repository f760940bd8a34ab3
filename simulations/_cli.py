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
is one line on stderr with exit status 2; both are found before anything is written. An
``OSError`` raised during a run (a full disk, a folder that cannot be written) is also one
line with status 2, and the tasks finished before it stay in the store.

The command is split by job: the parser (:mod:`simulations._cli_parser`), ``run`` and ``all``
(:mod:`simulations._cli_run`), and the commands that only read, ``list``, ``figures``,
``show`` and ``report`` (:mod:`simulations._cli_commands`); this module dispatches.
"""

from __future__ import annotations

import sys

from figures import UsageError
from sdlss_theory.sweep import ConfigError, ConfigMismatchError, StoreBusyError, StoreError
from simulations._cli_commands import draw_figures, list_studies, report, show
from simulations._cli_parser import EXIT_USAGE, PROG, SUBCOMMANDS, build_parser
from simulations._cli_run import run_studies

__all__ = ["PROG", "build_parser", "main", "sdlss"]


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
            return draw_figures(argv[1:], prog)
        known = studies()
        if args.command == "list":
            return list_studies(known)
        if args.command == "show":
            return show(args, known)
        if args.command == "report":
            return report(args, known)
        return run_studies(args, known, prog, typed)
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
