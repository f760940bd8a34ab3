"""Monte Carlo sweeps: seeded tasks, joblib parallelism, a resumable SQLite store, summaries.

Typical use (see ``docs/sweeps.md``)::

    from sdlss_theory.sweep import Study, StudyConfig, run_study

    report = run_study(study, study.config.quick(), "results/my_study", n_jobs=2)
"""

from sdlss_theory.sweep.checkpoints import TaskCheckpoint, current_task_checkpoint
from sdlss_theory.sweep.config import (
    ConfigError,
    StudyConfig,
    apply_overrides,
    config_from_toml,
    config_hash,
    config_to_dict,
    config_to_toml,
    parse_assignments,
)
from sdlss_theory.sweep.engine import (
    ConfigMismatchError,
    RunPlan,
    RunReport,
    StoreBusyError,
    StoreError,
    Study,
    TrialFailedError,
    auto_threads,
    check_output_folder,
    dask_client,
    lock_holder,
    run_plan,
    run_study,
)
from sdlss_theory.sweep.progress import make_progress
from sdlss_theory.sweep.render import format_report
from sdlss_theory.sweep.report import StudyReport, study_report
from sdlss_theory.sweep.seeds import canonical_json, cell_key, task_rng, task_seed_sequence
from sdlss_theory.sweep.store import STORE_NAME, ResultStore, TaskRecord
from sdlss_theory.sweep.summary import (
    read_summary_csv,
    summarise,
    summary_columns,
    wilson_interval,
    write_csv,
)
from sdlss_theory.sweep.transitions import (
    TransitionFit,
    empirical_crossing,
    fit_transition,
    fit_transitions,
    transition_point,
)

__all__ = [
    "STORE_NAME",
    "ConfigError",
    "ConfigMismatchError",
    "ResultStore",
    "RunPlan",
    "RunReport",
    "StoreBusyError",
    "StoreError",
    "Study",
    "StudyReport",
    "StudyConfig",
    "TaskCheckpoint",
    "TaskRecord",
    "TransitionFit",
    "TrialFailedError",
    "apply_overrides",
    "auto_threads",
    "canonical_json",
    "cell_key",
    "check_output_folder",
    "config_from_toml",
    "config_hash",
    "config_to_dict",
    "config_to_toml",
    "current_task_checkpoint",
    "dask_client",
    "empirical_crossing",
    "fit_transition",
    "fit_transitions",
    "format_report",
    "lock_holder",
    "make_progress",
    "parse_assignments",
    "read_summary_csv",
    "run_plan",
    "run_study",
    "study_report",
    "summarise",
    "summary_columns",
    "task_rng",
    "task_seed_sequence",
    "transition_point",
    "wilson_interval",
    "write_csv",
]
