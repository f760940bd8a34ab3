"""The MNIST ``paper`` presets: their hyper-parameters are what the stored MNIST tuning chose.

The tuning run itself needs MNIST; its summary is stored in docs/data/paper/pml_tuning, so
the choice is recomputed here from the stored numbers (`pml_tuning.chosen`), not copied.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simulations import pml_psnr_vs_m, pml_sparsity, pml_tuning
from simulations._pml_common import LEARNED, MNIST_TUNED, PAPER_BETA0_AT_10, parse_hyper

STORED = Path(__file__).resolve().parent.parent / "docs/data/paper/pml_tuning/summary.csv"


def test_mnist_tuned_is_the_stored_tuning_runs_choice():
    with STORED.open() as f:
        rows = [{**row, "psnr": float(row["psnr_mean"])} for row in csv.DictReader(f)]
    for row in rows:
        for key in ("lr", "beta0", "lam"):
            row[key] = float(row[key])
    assert {row["dataset"] for row in rows} == {"mnist"}
    stored_config = pml_tuning.Config.paper()
    assert {int(row["steps"]) for row in rows} == {stored_config.steps}
    choice = pml_tuning.chosen(rows)
    tuned = parse_hyper(MNIST_TUNED)
    assert set(choice) == set(tuned) == set(LEARNED)
    for method, values in choice.items():
        assert {key: values[key] for key in ("lr", "beta0", "lam", "T")} == pytest.approx(
            tuned[method]
        )


@pytest.mark.parametrize("study", [pml_psnr_vs_m, pml_sparsity])
def test_paper_presets_train_with_the_mnist_choice_and_a_capped_beta0_at_m_10(study):
    config = study.Config.paper()
    tuned = parse_hyper(MNIST_TUNED)
    for method in LEARNED:
        at_25 = config.method_params(method, 25)
        assert {key: at_25[key] for key in tuned[method]} == pytest.approx(tuned[method])
        at_10 = config.method_params(method, 10)
        assert at_10["beta0"] == min(tuned[method]["beta0"], PAPER_BETA0_AT_10)
        assert {k: v for k, v in at_10.items() if k != "beta0"} == {
            k: v for k, v in at_25.items() if k != "beta0"
        }
