"""The error_bound study: smoke run on a tiny grid, per-trial consistency, helpers, figure.

Assertions are properties of the stored results and certificates, never numbers from a
previous run: the best approximation is exact and no worse than z* (error ||e||) and z_hat
(error err); eps is >= 0; c_needed and the success flags follow their definitions; the per-A
inequality of the proof holds in every certified trial (it is a theorem); the perturbation is
orthogonal to the tangent space; no two texts of the figure overlap.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _figure_text import draw_and_check  # noqa: E402
from _study_helpers import draw_figure, ok_rows, run_into  # noqa: E402

from figures import error_bound as figure_module  # noqa: E402
from sdlss_theory import ReLUGenerator, sparse_latents  # noqa: E402
from simulations import error_bound as study_module  # noqa: E402

STUDY = study_module.STUDY
Config = study_module.Config
TINY = dict(
    trials=3,
    k=4,
    widths=(6,),
    n=16,
    s=2,
    m=(4, 12),
    e_level=(0.0, 0.1),
    noise=(0.0, 0.05),
    n_pairs=20,
    restarts=2,
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = Config(**TINY)
    results = tmp_path_factory.mktemp("eb")
    out, report = run_into(STUDY, config, results)
    return config, results, report, ok_rows(out)


def test_tiny_grid_runs_and_summarises(tiny_run):
    config, _, report, rows = tiny_run
    assert report.n_failed == 0 and report.n_nonfinite == 0
    cells = {(r["m"], r["e_level"], r["noise"]) for r in report.summary}
    assert cells == {(m, e, w) for m in config.m for e in config.e_level for w in config.noise}
    assert len(rows) == config.trials * len(cells)
    for row in report.summary:
        assert row["n_ok"] == config.trials
        assert row["success_lo"] <= row["success_rate"] <= row["success_hi"]


def test_per_trial_quantities_follow_their_definitions(tiny_run):
    config, _, _, rows = tiny_run
    for r in rows:
        slack = config.slack_tol * r["x_norm"]
        assert r["best_exact"] and r["certified"]
        # the exact best approximation is no worse than z* and than z_hat
        assert r["best_err"] <= r["e_norm"] + 1e-9 * r["x_norm"]
        assert r["best_err"] <= r["err"] + 1e-9 * r["x_norm"]
        assert r["eps"] >= 0 and r["eta"] >= 0
        if r["noise"] == 0:
            assert r["eta"] == 0
        holds = r["err"] <= config.c_fixed * r["best_err"] + 3 * r["eta"] + 2 * r["eps"] + slack
        assert r["success"] == holds
        if r["zero_best"]:
            assert r["c_needed"] is None and r["tau"] is None
        else:
            c = max(0.0, (r["err"] - 2 * r["eps"] - 3 * r["eta"]) / r["best_err"])
            assert r["c_needed"] == pytest.approx(c, rel=1e-12, abs=1e-15)
        assert r["gamma_lower"] <= r["gamma_upper"] + 1e-12
        if r["gamma_lower"] > 0:
            assert r["proof_holds"] is True  # a theorem for every A with S-REC(gamma_lower, 0)
        else:
            assert r["proof_holds"] is None


def test_perturbation_is_orthogonal_to_the_tangent_space():
    rng = np.random.default_rng(1)
    G = ReLUGenerator.random([8, 16, 24], rng, bias=True)
    z = sparse_latents(1, 8, 3, rng)[0]
    e = study_module.off_range_perturbation(G, z, 0.7, rng)
    S = np.flatnonzero(z)
    basis = np.column_stack([G.jacobian(z)[:, S], G(z)])
    assert math.isclose(np.linalg.norm(e), 0.7, rel_tol=1e-12)
    assert np.max(np.abs(basis.T @ e)) <= 1e-10 * np.linalg.norm(basis)
    assert not np.any(study_module.off_range_perturbation(G, z, 0.0, rng))


def test_quantile_interval_brackets_the_estimate():
    values = np.arange(1.0, 201.0)
    est, lo, hi = figure_module.quantile_interval(values, 0.95)
    assert est == 190.0  # the smallest value exceeded by at most 5% of 200 values
    assert lo <= est <= hi
    assert all(math.isnan(v) for v in figure_module.quantile_interval(np.array([]), 0.9))


def test_exponential_decay_fit_recovers_the_rate_from_expected_counts():
    m = np.arange(5, 45, 5, dtype=float)
    a, b = 2.0, 0.15
    n = np.full(m.size, 10**7)
    k = np.round(n * a * np.exp(-b * m))
    fit = figure_module.fit_exponential_decay(m, k, n)
    assert fit["b_lo"] <= b <= fit["b_hi"]
    assert math.isclose(fit["b"], b, rel_tol=1e-3)
    assert math.isclose(fit["a"], a, rel_tol=1e-2)
    assert math.isnan(figure_module.fit_exponential_decay(m, np.zeros(m.size), n)["b"])


def test_figure_from_the_stored_tiny_result(tiny_run):
    _, results, _, _ = tiny_run
    paths = draw_figure(STUDY.name, results, results / "figs")
    assert {p.suffix for p in paths} == {".pdf", ".png"}
    fig, overlaps = draw_and_check(figure_module, results / STUDY.name)
    plt.close(fig)
    assert not overlaps, overlaps


def test_page_numbers_count_the_stored_trials(tiny_run):
    _, results, _, rows = tiny_run
    text = figure_module.page_numbers(str(results))
    lines = text.splitlines()
    n_cert = sum(bool(r["certified"]) for r in rows)
    n_exact = sum(bool(r["best_exact"]) for r in rows)
    assert lines[0] == (f"{len(rows)} trials; certified {n_cert}; best approximation exact "
                        f"{n_exact}")  # fmt: skip
    for m in TINY["m"]:
        here = [r for r in rows if r["m"] == m]
        fails = sum(not r["success"] for r in here)
        assert any(line.startswith(f"m = {m}: fails at C = 6 in {fails} of {len(here)},")
                   for line in lines)  # fmt: skip
    on = [r for r in rows if r["e_level"] == 0]
    hit = sum(r["rel_err"] <= 1e-6 for r in on)
    assert f"e = 0: recovered (relative error <= 1e-6) in {hit} of {len(on)};" in text


def test_documented_constant_and_config_checks():
    assert Config().c_fixed == study_module.C_THEOREM == 6.0
    config = Config.quick()
    assert len(STUDY.cells(config)) * config.trials <= 100
    with pytest.raises(ValueError, match="s must be"):
        Config(s=0)
    with pytest.raises(ValueError, match="every m"):
        Config(n=20, m=(30,))


@pytest.mark.slow
def test_quick_preset_runs(tmp_path):
    config = Config.quick()
    out, report = run_into(STUDY, config, tmp_path, n_jobs=2)
    assert report.n_failed == 0
    rows = ok_rows(out)
    assert all(r["proof_holds"] is not False for r in rows)
