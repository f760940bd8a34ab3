"""Helpers of the study tests: run a study into a temporary folder and read its stored rows."""

from __future__ import annotations

import importlib
from pathlib import Path

from figures._cli import make_figure
from sdlss_theory.sweep import STORE_NAME, ResultStore, RunReport, Study, StudyConfig, run_study
from sdlss_theory.sweep.summary import trials_table


def run_into(
    study: Study, config: StudyConfig, parent: Path, *, n_jobs: int = 1
) -> tuple[Path, RunReport]:
    """Run `study` at `config` into ``parent / study.name`` without a progress bar.

    Returns the study's folder (``parent`` is what ``figures._cli.make_figure`` reads) and
    the run's report.
    """
    out = Path(parent) / study.name
    return out, run_study(study, config, out, n_jobs=n_jobs, progress="none")


def draw_figure(name: str, results: Path, out: Path) -> list[Path]:
    """Draw ``figures/<name>.py`` from the stored results in ``results / name`` into `out`.

    Returns the files written (PDF and PNG).
    """
    module = importlib.import_module(f"figures.{name}")
    return make_figure(name, module, Path(results), Path(out))


def ok_rows(out: Path) -> list[dict]:
    """The per-trial rows (parameters, trial, metrics) of the finished tasks stored in `out`."""
    with ResultStore(Path(out) / STORE_NAME, readonly=True) as store:
        return [r for r in trials_table(store.records()) if r["status"] == "ok"]
