"""The recovery benchmark study: paired draws, scoring, the 50% points, the generated docs."""

from pathlib import Path

import numpy as np
import pytest

from sdlss_theory.experiment import draw_problem
from sdlss_theory.sweep import run_study, task_rng
from simulations import recovery_benchmark as rb

REPO = Path(__file__).resolve().parents[1]


def tiny(**changes):
    base = dict(
        trials=2,
        sections=("transition",),
        configurations=("default", "oracle"),
        k=6,
        hidden=(12,),
        n=16,
        depth=(2,),
        s=(2,),
        m=(2, 4, 8),
    )
    return rb.Config(**{**base, **changes})


def test_configurations_share_every_draw():
    cells = rb.grid(tiny())
    assert rb.STUDY.paired == ("configuration",)
    by_config = {}
    for cell in cells:
        # The documented construction: the seed of the cell without its configuration.
        shared = {k: v for k, v in cell.items() if k != "configuration"}
        expected = task_rng(0, shared, 1).standard_normal(2)
        np.testing.assert_array_equal(rb.STUDY.task_rng(0, cell, 1).standard_normal(2), expected)
        rng = rb.STUDY.task_rng(0, cell, 1)
        p = draw_problem(cell["dims"], cell["s"], cell["m"], rng)
        key = (cell["m"],)
        draw = (p.G.weights[0], p.A, p.z_star, rng.standard_normal(3))
        by_config.setdefault(key, []).append(draw)
    assert all(len(draws) == 2 for draws in by_config.values())  # default and oracle
    for draws in by_config.values():
        first = draws[0]
        for other in draws[1:]:
            for a, b in zip(first, other, strict=True):
                np.testing.assert_array_equal(a, b)
    # Another trial or another m is another draw.
    cell = cells[0]
    a = rb.STUDY.task_rng(0, cell, 0).standard_normal(3)
    b = rb.STUDY.task_rng(0, cell, 1).standard_normal(3)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, rb.STUDY.task_rng(0, cells[1], 0).standard_normal(3))


def test_trial_outcomes_are_exclusive_and_the_oracle_succeeds_with_enough_measurements(tmp_path):
    report = run_study(rb.STUDY, tiny(), tmp_path, progress="none")
    assert report.n_failed == 0
    rows = report.summary
    for row in rows:
        total = row["success_rate"] + row["ident_failure_mean"] + row["opt_failure_mean"]
        assert total == pytest.approx(1.0)
    oracle_at_8 = [r for r in rows if r["configuration"] == "oracle" and r["m"] == 8]
    assert oracle_at_8[0]["success_rate"] == 1.0


def test_m50_is_the_logistic_fit_or_the_interpolated_crossing():
    m = np.array([1.0, 2.0, 4.0, 8.0])
    n = np.full(4, 10)
    # Complete separation between m = 2 and 4: the fit's midpoint (`fit_transition`).
    assert rb.m50(m, np.array([0, 0, 10, 10]), n) == pytest.approx(3.0)
    assert rb.m50(m, np.array([10, 10, 10, 10]), n) == -np.inf
    assert rb.m50(m, np.array([0, 1, 2, 3]), n) == np.inf
    smooth = rb.m50(m, np.array([1, 3, 7, 9]), n)
    assert 2.0 < smooth < 4.0


def test_the_docs_tables_are_generated_from_the_stored_summaries():
    docs = (REPO / "docs" / "benchmarks.md").read_text()
    data = sorted((REPO / "docs" / "data" / "recovery_benchmark").glob("*.csv"))
    assert data and "<!-- recovery_benchmark:transition -->" in docs
    assert rb.render_docs(docs, data) == docs
