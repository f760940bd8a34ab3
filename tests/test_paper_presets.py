"""The MNIST ``paper`` presets: their hyper-parameters are what the stored MNIST tuning chose.

The tuning run itself needs MNIST; its summary is stored in docs/data/paper/pml_tuning, so
the choice is recomputed here from the stored numbers (`pml_tuning.chosen`), not copied.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simulations import pml_psnr_vs_m, pml_sparsity, pml_tuning
from simulations._pml_common import (
    LEARNED,
    MNIST_TUNED,
    MNIST_TUNED_K784,
    PAPER_BETA0_AT_10,
    parse_hyper,
)

DATA = Path(__file__).resolve().parent.parent / "docs/data/paper"


@pytest.mark.parametrize(
    ("folder", "preset", "tuned"),
    [("pml_tuning", "paper", MNIST_TUNED),
     ("pml_tuning_k784", "paper_sparsity", MNIST_TUNED_K784)],
)  # fmt: skip
def test_mnist_tuned_is_the_stored_tuning_runs_choice(folder, preset, tuned):
    with (DATA / folder / "summary.csv").open() as f:
        rows = [{**row, "psnr": float(row["psnr_mean"])} for row in csv.DictReader(f)]
    for row in rows:
        for key in ("lr", "beta0", "lam"):
            row[key] = float(row[key])
    assert {row["dataset"] for row in rows} == {"mnist"}
    stored_config = pml_tuning.Config.preset(preset)
    assert {int(row["steps"]) for row in rows} == {stored_config.steps}
    assert {int(row["k"]) for row in rows} == {stored_config.k}
    assert {int(row["s"]) for row in rows if row["method"] == "sdlss"} == set(stored_config.s)
    choice = pml_tuning.chosen(rows)
    tuned = parse_hyper(tuned)
    assert set(choice) == set(tuned) == set(stored_config.methods)
    for method, values in choice.items():
        assert {key: values[key] for key in ("lr", "beta0", "lam", "T")} == pytest.approx(
            tuned[method]
        )


def test_tuning_picks_one_setting_by_its_mean_over_the_sparsities():
    # lr 3e-3 is best at s = 100 but collapses at s = 784: the mean over s rejects it.
    rows = [
        {"method": "sdlss", "lr": lr, "beta0": 0.1, "lam": 3.0, "T": 5, "s": s, "psnr": p}
        for lr, s, p in [(3e-3, 100, 13.0), (3e-3, 784, 5.0), (1e-3, 100, 12.5), (1e-3, 784, 12.0)]
    ] + [{"method": "pca", "psnr": 99.0}]
    assert pml_tuning.chosen(rows) == {
        "sdlss": {"lr": 1e-3, "beta0": 0.1, "lam": 3.0, "T": 5, "psnr": 12.25}
    }


def test_sparsity_tuning_preset_trains_sdlss_at_both_ends_of_the_sweep():
    config = pml_tuning.Config.paper_sparsity()
    cells = [c for c in pml_tuning.grid(config) if c["method"] != "pca"]
    sweep = pml_sparsity.Config.paper()
    assert config.k == sweep.k and config.m == sweep.m and config.dataset == sweep.dataset
    assert {c["s"] for c in cells if c["method"] == "sdlss"} == {min(sweep.s), max(sweep.s)}
    combos = {(c["method"], c["lr"], c["beta0"], c["lam"]) for c in cells}
    assert len(combos) == 2 * len(config.lrs) * len(config.beta0s) * len(config.lams)
    assert max(config.beta0s) <= PAPER_BETA0_AT_10  # the m = 10 cap of the paper presets


def test_psnr_preset_trains_with_the_mnist_choice_and_a_capped_beta0_at_m_10():
    config = pml_psnr_vs_m.Config.paper()
    tuned = parse_hyper(MNIST_TUNED)
    for method in LEARNED:
        at_25 = config.method_params(method, 25)
        assert {key: at_25[key] for key in tuned[method]} == pytest.approx(tuned[method])
        at_10 = config.method_params(method, 10)
        assert at_10["beta0"] == min(tuned[method]["beta0"], PAPER_BETA0_AT_10)
        assert {k: v for k, v in at_10.items() if k != "beta0"} == {
            k: v for k, v in at_25.items() if k != "beta0"
        }


def test_sparsity_preset_trains_with_the_choice_made_at_its_own_k_and_m():
    config = pml_sparsity.Config.paper()
    tuned = parse_hyper(MNIST_TUNED_K784)
    tuning = pml_tuning.Config.paper_sparsity()
    assert (tuning.k, tuning.m) == (config.k, config.m)
    cells = pml_sparsity.grid(config)
    for cell in cells:
        if cell["method"] in tuned:
            assert {key: cell[key] for key in tuned[cell["method"]]} == pytest.approx(
                tuned[cell["method"]]
            )
    assert {c["method"] for c in cells} >= set(tuned)
