"""The shared recovery-experiment helpers: solver registry, oracle, problem draw, score."""

import dataclasses

import numpy as np
import pytest

from sdlss_theory import (
    SOLVERS,
    Oracle,
    ReLUGenerator,
    gaussian_matrix,
    latent_gd,
    latent_iht,
    latent_niht,
    latent_recover,
    make_solver,
    oracle,
    sparse_latents,
)
from sdlss_theory.experiment import (
    RecoveryProblem,
    classify_failure,
    draw_problem,
    nonzero_sparse_code,
    score_recovery,
)


def test_draw_problem_draws_g_then_a_nonzero_code_then_a():
    dims, s, m = [8, 6, 20], 2, 5
    p = draw_problem(dims, s, m, np.random.default_rng(7))
    # The same draws by hand, in the documented order.
    rng = np.random.default_rng(7)
    G = ReLUGenerator.random(dims, rng)
    while True:
        z = sparse_latents(1, 8, s, rng)[0]
        if np.any(G(z) != 0):
            break
    A = gaussian_matrix(m, 20, rng)
    np.testing.assert_array_equal(p.G.weights[0], G.weights[0])
    np.testing.assert_array_equal(p.z_star, z)
    np.testing.assert_array_equal(p.A, A)
    np.testing.assert_array_equal(p.y, A @ G(z))
    np.testing.assert_array_equal(p.support, np.flatnonzero(z))
    assert np.count_nonzero(p.z_star) == s and np.any(p.x_star != 0)
    noisy = draw_problem(dims, s, m, np.random.default_rng(7), snr_db=20.0)
    np.testing.assert_array_equal(noisy.A, A)
    assert not np.array_equal(noisy.y, p.y)


def test_a_degenerate_generator_fails_loudly():
    # A zero first layer without biases: G(z) = 0 for every z, so no signal can be drawn.
    G = ReLUGenerator([np.zeros((6, 4)), np.ones((5, 6))])
    with pytest.raises(RuntimeError, match="degenerate"):
        nonzero_sparse_code(G, 2, np.random.default_rng(0), max_redraws=3)


def _linear_problem():
    # Depth 1 (a linear map W): another code z* + d with A W d = 0 fits y exactly.
    rng = np.random.default_rng(3)
    G = ReLUGenerator([rng.standard_normal((12, 6))])
    z_star = np.zeros(6)
    z_star[[1, 4]] = [1.0, -2.0]
    A = gaussian_matrix(4, 12, rng)
    x_star = G(z_star)
    return RecoveryProblem(G, A, z_star, x_star, A @ x_star), rng


def test_score_recovery_classifies_each_outcome():
    p, rng = _linear_problem()
    exact = score_recovery(p, p.z_star)
    assert exact["success"] and exact["support_match"]
    assert exact["rel_error"] == 0.0 and exact["latent_error"] == 0.0
    assert not (exact["ident_failure"] or exact["opt_failure"])
    # A null-space direction of A W: fits y as well as z*, far from x*.
    d = np.linalg.svd(p.A @ p.G.weights[0])[2][-1]
    other = score_recovery(p, p.z_star + d)
    assert other["ident_failure"] and not other["opt_failure"] and not other["success"]
    assert other["rel_residual"] < 1e-12
    wrong = score_recovery(p, np.zeros(6))
    assert wrong["opt_failure"] and not wrong["ident_failure"]
    assert wrong["rel_error"] == pytest.approx(1.0) and wrong["rel_residual"] == 1.0
    with pytest.raises(ValueError, match="z_hat"):
        score_recovery(p, np.zeros(5))


def test_classify_failure_compares_with_the_truths_residual():
    assert classify_failure(True, 5.0, 0.0, 1.0, 1e-6) == "none"
    # With noise the truth does not fit exactly: fitting as well as it is identifiability.
    assert classify_failure(False, 0.30, 0.30, 1.0, 0.0) == "identifiability"
    assert classify_failure(False, 0.31, 0.30, 1.0, 1e-3) == "optimisation"
    assert classify_failure(False, 0.31, 0.30, 1.0, 2e-2) == "identifiability"


@pytest.fixture(scope="module")
def problem():
    return draw_problem([10, 30, 60], 2, 12, np.random.default_rng(5))


@pytest.mark.parametrize(
    ("name", "functional", "options"),
    [
        ("latent_iht", latent_iht, dict(starts=2, max_iter=50)),
        ("latent_niht", latent_niht, dict(starts=2, max_iter=50)),
        ("latent_recover", latent_recover, dict()),
        ("latent_gd", latent_gd, dict(starts=2, max_iter=50)),
    ],
)
def test_registry_builds_the_named_solver(problem, name, functional, options):
    p = problem
    built = make_solver(name, p.G, p.A, 2, **options)
    assert name in SOLVERS
    a = built.solve(p.y, rng=np.random.default_rng(1))
    args = (p.G, p.A, p.y) if name == "latent_gd" else (p.G, p.A, p.y, 2)
    b = functional(*args, rng=np.random.default_rng(1), **options)
    np.testing.assert_array_equal(a.z, b.z)
    assert a.residual == b.residual


def test_unknown_solver_names_are_listed():
    p = draw_problem([4, 8], 1, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="latent_recover"):
        make_solver("lasso", p.G, p.A, 1)


def test_oracle_is_the_solver_on_the_restricted_generator_lifted(problem):
    p = problem
    S = p.support
    result = oracle(p.G, S, p.A).solve(p.y, rng=np.random.default_rng(2))
    assert np.all(result.z[np.setdiff1d(np.arange(10), S)] == 0)
    np.testing.assert_array_equal(result.x, p.G(result.z))
    assert result.residual == pytest.approx(np.linalg.norm(p.y - p.A @ result.x))
    np.testing.assert_array_equal(result.extras["support"], S)
    # The same as latent_recover on G restricted to S with 2|S| seeds.
    direct = latent_recover(p.G.restrict(S), p.A, p.y, S.size, seeds=2 * S.size, rng=2)
    np.testing.assert_array_equal(result.z[S], direct.z)
    # Twelve measurements for two unknowns: the oracle recovers x*.
    assert score_recovery(p, result.z)["success"]
    gd = Oracle(p.G, p.A, S, solver="latent_gd", starts=2, max_iter=30)
    assert gd.solve(p.y, rng=0).z.shape == (10,)
    for bad in ([1, 1], [10], []):
        with pytest.raises(ValueError, match="support"):
            Oracle(p.G, p.A, bad)


def test_the_docs_recovery_study_example_runs(tmp_path, monkeypatch):
    import importlib
    import re
    import sys
    from pathlib import Path

    from sdlss_theory.sweep import run_study

    text = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text()
    section = text.split("## Adding a recovery study", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    assert len(code.splitlines()) < 100
    (tmp_path / "my_recovery.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("my_recovery")
    try:
        config = dataclasses.replace(module.Config.quick(), trials=2, m=(2, 16))
        report = run_study(module.STUDY, config, tmp_path / "out", progress="none")
    finally:
        sys.modules.pop("my_recovery", None)
    rows = {(r["solver"], r["m"]): r for r in report.summary}
    assert len(rows) == 6 and all(r["n_failed"] == 0 for r in rows.values())
    # Sixteen measurements for two unknowns: the oracle recovers every signal.
    assert rows["oracle", 16]["success_rate"] == 1.0
