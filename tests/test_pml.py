"""Tests of the PML / DCS trainer: gradients, training, export, checkpoints, input checks."""

from __future__ import annotations

import dataclasses

import _pml_reference as ref
import numpy as np
import pytest
from autograd import grad as ag_grad

from sdlss_theory import ReLUGenerator, synthetic_dataset
from sdlss_theory.pml import PMLConfig, PMLTrainer, mse, psnr, reconstruct, relative_error
from sdlss_theory.pml.network import outer_loss


def _tiny(method="pml", output="sigmoid", **kw):
    base = dict(k=5, widths=(7,), n=6, m=4, s=2, method=method, output=output, T=3, batch_size=8)
    base.update(kw)
    return PMLConfig(**base)


def _data(n=6, N=40, seed=0):
    return np.random.default_rng(seed).random((N, n))


# ------------------------------------------------------------------- derivatives
def _perturbed(trainer, rng, scale=0.1):
    """The trainer's parameters with non-zero biases (so every parameter matters)."""
    p = {k: v.copy() for k, v in trainer.params.items()}
    for name in p:
        if name.startswith("b") or name == "log_beta":
            p[name] = p[name] + scale * rng.standard_normal(p[name].shape)
    return p


def _margins(params, A, cfg, x, xi):
    """Smallest |ReLU pre-activation| and smallest |z| rank gap at s along the inner loop.

    Central differences are only valid when neither a ReLU nor the support of P_s changes
    between the two evaluation points, so the test asserts both margins are comfortable.
    """
    depth = len(cfg.dims) - 1
    Ws = [params[f"W{i}"] for i in range(depth)]
    bs = [params[f"b{i}"] for i in range(depth)]
    Y = x @ A.T
    betas = np.exp(np.broadcast_to(params["log_beta"], (cfg.T,)))

    def relu_margin(Z):
        h, out = Z, np.inf
        for W, b in zip(Ws[:-1], bs[:-1], strict=True):
            a = h @ W.T + b
            out = min(out, np.abs(a).min())
            h = np.maximum(a, 0)
        return out

    def rank_gap(Z):
        if not cfg.sparse:
            return np.inf
        srt = np.sort(np.abs(Z), axis=1)[:, ::-1]
        return (srt[:, cfg.s - 1] - srt[:, cfg.s]).min()

    gap = rank_gap(xi)
    Z = np.asarray(ref.project(xi, cfg.s)) if cfg.sparse else xi
    relu = relu_margin(Z)
    for t in range(cfg.T):
        U = Z - betas[t] * np.asarray(ref.latent_gradient(Ws, bs, A, Y, Z, cfg.output))
        relu = min(relu, relu_margin(U))
        gap = min(gap, rank_gap(U))
        Z = np.asarray(ref.project(U, cfg.s)) if cfg.sparse else U
    return relu, gap


_VARIANTS = [
    dict(method="pml", output="sigmoid", learn_A=True),
    dict(method="pml", output="linear", learn_A=True, beta_per_step=True),
    dict(method="pml", output="tanh", widths=(7, 6), srec_form="hinge", srec_gamma=0.8,
         srec_delta=0.3, signal_weight=0.5),
    dict(method="pml", output="linear", widths=(), learn_A=False, signal_weight=1.0),
    dict(method="pml", output="sigmoid", widths=(7, 6), learn_A=False, lam=0.0),
    dict(method="dcs", output="linear", learn_A=True, widths=(7, 6)),
    dict(method="dcs", output="sigmoid", learn_A=False),
    dict(method="dcs", output="tanh", learn_A=True, beta_per_step=True),
]  # fmt: skip


@pytest.mark.parametrize("variant", _VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_hand_derived_gradient_matches_autograd(variant):
    """The hand-derived reverse sweep against a fully traced autograd implementation.

    The reference (tests/_pml_reference.py) takes each latent gradient by nested
    `autograd.grad` and writes the loss in autograd.numpy: no code is shared.
    """
    cfg = _tiny(beta0=0.05, **variant)
    rng = np.random.default_rng(3)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    params = _perturbed(trainer, rng)
    x = _data(N=5, seed=1)
    xi = rng.standard_normal((5, cfg.k))
    value, grads = trainer.gradient(x, xi, params)
    fixed_A = None if cfg.learn_A else trainer.A
    ref_value = ref.losses(params, fixed_A, x, xi, cfg)[0]
    ref_grads = ag_grad(lambda p: ref.losses(p, fixed_A, x, xi, cfg)[0])(params)
    assert value == pytest.approx(float(ref_value), rel=1e-12)
    assert set(grads) == set(ref_grads) == set(params)
    for name, g in grads.items():
        scale = max(1.0, np.max(np.abs(ref_grads[name])))
        np.testing.assert_allclose(g, ref_grads[name], rtol=0, atol=1e-10 * scale, err_msg=name)
    parts = trainer.losses(x, xi, params)
    total = parts["L_G"] + cfg.lam * parts["L_A"] + cfg.signal_weight * parts["L_X"]
    assert parts["loss"] == pytest.approx(total, rel=1e-14)


@pytest.mark.parametrize("method", ["pml", "dcs"])
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_unrolled_gradient_matches_central_differences(method, output):
    cfg = _tiny(method, output, learn_A=True, learn_beta=True, beta0=0.05)
    rng = np.random.default_rng(3)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    params = _perturbed(trainer, rng)
    x = _data(N=5, seed=1)
    xi = rng.standard_normal((5, cfg.k))
    relu, gap = _margins(params, params["A"], cfg, x, xi)
    h = 1e-6
    assert relu > 1e-4 and gap > 1e-4, "test point too close to a kink; change the seed"
    _, g = trainer.gradient(x, xi, params)
    for _ in range(6):
        d = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        norm = np.sqrt(sum(np.sum(v * v) for v in d.values()))
        plus = {k: params[k] + h * d[k] / norm for k in params}
        minus = {k: params[k] - h * d[k] / norm for k in params}
        fd = (trainer.losses(x, xi, plus)["loss"] - trainer.losses(x, xi, minus)["loss"]) / (2 * h)
        directional = sum(np.sum(g[k] * d[k]) for k in params) / norm
        assert fd == pytest.approx(directional, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("output", ["sigmoid", "linear", "tanh"])
def test_latent_step_matches_the_generator_vjp(output):
    """One inner step against `ReLUGenerator.vjp`: z - beta 2 J^T A^T (A G(z) - y), then P_s."""
    from sdlss_theory import hard_threshold
    from sdlss_theory.pml.network import Pass

    cfg = _tiny(output=output, widths=(9, 8), n=7, k=5, m=4, s=3)
    rng = np.random.default_rng(0)
    G = ReLUGenerator.random([5, 9, 8, 7], rng, bias=True, output=output)
    params = {}
    for i, (W, b) in enumerate(zip(G.weights, G.biases, strict=True)):
        params[f"W{i}"], params[f"b{i}"] = W, b
    params["log_beta"] = np.array(np.log(0.3))
    A = rng.standard_normal((4, 7)) / 2
    Z = rng.standard_normal((6, 5))
    Y = rng.standard_normal((6, 4))
    Znew, cache = Pass(params, A, cfg.output, cfg.s).step(Z, Y, 0.3)
    g = 2 * G.vjp(Z, (G(Z) @ A.T - Y) @ A)
    np.testing.assert_allclose(cache.grad, g, rtol=1e-12, atol=1e-12)
    expected = hard_threshold(Z - 0.3 * g, 3)
    np.testing.assert_array_equal(Znew != 0, expected != 0)
    np.testing.assert_allclose(Znew, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- training
@pytest.mark.parametrize("method", ["pml", "dcs"])
def test_loss_falls_on_a_tiny_synthetic_problem(method):
    rng = np.random.default_rng(0)
    teacher = ReLUGenerator.random([4, 12, 10], rng, output="linear")
    data = synthetic_dataset(teacher, 2, 200, 50, rng)
    cfg = PMLConfig(
        k=4, widths=(12,), n=10, m=5, s=2, method=method, output="linear", T=3,
        batch_size=32, lr=1e-2,
    )  # fmt: skip
    trainer = PMLTrainer(cfg, data.x_train, rng=rng, x_val=data.x_test)
    xi = np.random.default_rng(9).standard_normal((50, 4))
    before = trainer.losses(data.x_test, xi)["loss"]
    history = trainer.train(150, progress=False, eval_every=50)
    after = trainer.losses(data.x_test, xi)["loss"]
    assert after < 0.5 * before
    assert [h["step"] for h in history] == [50, 100, 150]
    assert history[-1]["loss"] == pytest.approx(trainer.evaluate()["loss"])


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_exported_generator_reproduces_the_trainer(output):
    rng = np.random.default_rng(1)
    cfg = _tiny(output=output, widths=(7, 9), lr=1e-2)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    trainer.train(5, progress=False)
    G = trainer.generator()
    assert G.dims == cfg.dims and G.output == output
    assert any(np.any(b != 0) for b in G.biases)
    Z = rng.standard_normal((20, cfg.k))
    np.testing.assert_allclose(G(Z), trainer.forward(Z), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["pml", "dcs"])
def test_library_solver_at_learned_step_reproduces_the_inner_loop(method):
    rng = np.random.default_rng(2)
    cfg = _tiny(method=method, lr=1e-2)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    trainer.train(10, progress=False)
    x = _data(N=7, seed=5)
    xi = rng.standard_normal((7, cfg.k))
    y = x @ trainer.A.T
    solver = "iht" if method == "pml" else "gd"
    x_hat, _ = reconstruct(
        trainer.generator(), trainer.A, y, s=cfg.s, solver=solver, steps=cfg.T,
        step=trainer.beta, z0=xi,
    )  # fmt: skip
    np.testing.assert_allclose(x_hat, trainer.unrolled_reconstruction(y, xi), atol=1e-12)


def _reconstruction_problem(rng):
    """A linear-output generator 6 -> 12 -> 10, A (6 x 10), three 2-sparse signals, starts."""
    G = ReLUGenerator.random([6, 12, 10], rng, output="linear")
    A = rng.standard_normal((6, 10)) / np.sqrt(6)
    z = np.zeros((3, 6))
    z[:, :2] = rng.standard_normal((3, 2))
    return G, A, G(z) @ A.T, rng.standard_normal((3, 6))


def test_reconstruct_with_restarts_never_worse_in_residual():
    rng = np.random.default_rng(4)
    G, A, y, z0 = _reconstruction_problem(rng)
    one, _ = reconstruct(G, A, y, s=2, steps=50, z0=z0)
    many, _ = reconstruct(G, A, y, s=2, steps=50, z0=z0, restarts=5, rng=rng)
    r1 = np.linalg.norm(one @ A.T - y, axis=1)
    r5 = np.linalg.norm(many @ A.T - y, axis=1)
    assert np.all(r5 <= r1 + 1e-12)
    with pytest.raises(ValueError, match="needs the sparsity s"):
        reconstruct(G, A, y, solver="niht")
    with pytest.raises(ValueError, match="solver must be one of"):
        reconstruct(G, A, y, s=2, solver="lasso")


@pytest.mark.parametrize("solver", ["iht", "niht", "gd", "recover"])
def test_reconstruct_is_the_named_solver_run_row_by_row(solver):
    """One solver built through SOLVERS serves every row: the functional solver per row."""
    from sdlss_theory.pml import ReconstructOptions
    from sdlss_theory.solvers import latent_gd, latent_iht, latent_niht, latent_recover

    G, A, y, z0 = _reconstruction_problem(np.random.default_rng(6))
    options = ReconstructOptions(solver=solver, steps=7, step=0.05, restarts=2)
    x_hat, z_hat = reconstruct(G, A, y, s=2, z0=z0, rng=3, options=options)
    same, _ = reconstruct(G, A, y, s=2, z0=z0, rng=3, solver=solver, steps=7, step=0.05,
                          restarts=2)  # fmt: skip
    np.testing.assert_array_equal(same, x_hat)
    stream = np.random.default_rng(3)
    common = dict(max_iter=7, tol=0.0, starts=2, rng=stream)
    for i in range(3):
        if solver == "recover":
            res = latent_recover(G, A, y[i], 2, z0=z0[i], rng=stream, beam=0, exhaustive=0,
                                 seeds=8)  # fmt: skip
        elif solver == "iht":
            res = latent_iht(G, A, y[i], 2, step=0.05, z0=z0[i], **common)
        elif solver == "niht":
            res = latent_niht(G, A, y[i], 2, z0=z0[i], **common)
        else:
            res = latent_gd(G, A, y[i], step=0.05, z0=z0[i], **common)
        np.testing.assert_array_equal(res.x, x_hat[i])
        np.testing.assert_array_equal(res.z, z_hat[i])


# ---------------------------------------------------------------------- float32
#: Largest difference of a float32 gradient from the float64 one, relative to each array's
#: largest entry, accepted at a point away from ReLU kinks and support changes (float32
#: rounding is 6e-8; the T unrolled steps and the sums over the batch amplify it).
FLOAT32_GRAD_TOL = 1e-4


@pytest.mark.parametrize("variant", [_VARIANTS[0], _VARIANTS[1], _VARIANTS[2], _VARIANTS[6]],
                         ids=lambda v: "-".join(map(str, v.values())))  # fmt: skip
def test_float32_gradient_agrees_with_float64(variant):
    """The float32 sweep computes in float32 (no upcast) and agrees with float64 to
    FLOAT32_GRAD_TOL at the same (float32-representable) point."""
    cfg64 = _tiny(beta0=0.05, **variant)
    cfg32 = dataclasses.replace(cfg64, dtype="float32")
    rng = np.random.default_rng(3)
    t64 = PMLTrainer(cfg64, _data(), rng=np.random.default_rng(5))
    t32 = PMLTrainer(cfg32, _data(), rng=np.random.default_rng(5))
    assert all(p.dtype == np.float32 for p in t32.params.values())
    assert t32.A.dtype == np.float32 and t32.x_train.dtype == np.float32
    # The same draws, rounded: the initial weights and A agree to float32 rounding.
    for name, p in t64.params.items():
        np.testing.assert_allclose(t32.params[name], p, rtol=1e-7, atol=0)
    params = {k: v.astype(np.float32) for k, v in _perturbed(t64, rng).items()}
    x = _data(N=5, seed=1).astype(np.float32)
    xi = rng.standard_normal((5, cfg64.k)).astype(np.float32)
    fixed_A = params["A"] if cfg64.learn_A else t32.A
    relu, gap = _margins(
        {k: v.astype(np.float64) for k, v in params.items()}, fixed_A.astype(np.float64),
        cfg64, x.astype(np.float64), xi.astype(np.float64),
    )  # fmt: skip
    assert relu > 1e-4 and gap > 1e-4, "test point too close to a kink; change the seed"
    if not cfg64.learn_A:
        t64._fixed_A = t32.A.astype(np.float64)  # the same A in both precisions
    v64, g64 = t64.gradient(x, xi, params)
    v32, g32 = t32.gradient(x, xi, params)
    # No upcast inside the sweep: the codes it returns stay float32 (the gradient
    # accumulators would hide one, they are allocated in the parameters' dtype).
    _, _, ZT = outer_loss(params, fixed_A, x, xi, cfg32)
    assert ZT.dtype == np.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    for name, g in g64.items():
        assert g32[name].dtype == np.float32, name
        scale = np.max(np.abs(g))
        assert np.max(np.abs(g32[name] - g)) <= FLOAT32_GRAD_TOL * scale, name


def test_float32_training_keeps_its_dtype_through_a_checkpoint(tmp_path):
    cfg = _tiny(dtype="float32", learn_A=True, start="persistent", lr=1e-2)
    x = _data()
    straight = PMLTrainer(cfg, x, rng=np.random.default_rng(11))
    straight.train(6, progress=False)
    first = PMLTrainer(cfg, x, rng=np.random.default_rng(11))
    first.train(3, progress=False, checkpoint_path=tmp_path / "c")
    resumed = PMLTrainer.load(tmp_path / "c", x)
    assert resumed.config.dtype == "float32"
    resumed.train(3, progress=False)
    for name, p in straight.params.items():
        assert p.dtype == resumed.adam_m[name].dtype == resumed.adam_v[name].dtype == np.float32
        assert np.array_equal(resumed.params[name], p)
    assert resumed.codes.dtype == np.float32
    assert np.array_equal(resumed.codes, straight.codes)
    # float32 and float64 training follow each other (same draws) over a few steps.
    t64 = PMLTrainer(dataclasses.replace(cfg, dtype="float64"), x, rng=np.random.default_rng(11))
    t64.train(6, progress=False)
    for name, p in t64.params.items():
        np.testing.assert_allclose(straight.params[name], p, rtol=0,
                                   atol=1e-3 * max(1.0, np.max(np.abs(p))))  # fmt: skip


# -------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("learn", [False, True])
def test_checkpoint_resumes_bit_for_bit(tmp_path, learn):
    cfg = _tiny(learn_A=learn, learn_beta=learn, lr=1e-2)
    x, x_val = _data(), _data(N=10, seed=7)
    straight = PMLTrainer(cfg, x, rng=np.random.default_rng(11), x_val=x_val)
    straight.train(8, progress=False, eval_every=2)

    first = PMLTrainer(cfg, x, rng=np.random.default_rng(11), x_val=x_val)
    first.train(4, progress=False, eval_every=2, checkpoint_path=tmp_path / "ckpt")
    resumed = PMLTrainer.load(tmp_path / "ckpt", x, x_val=x_val)
    assert resumed.step == 4
    resumed.train(4, progress=False, eval_every=2)

    for name in straight.params:
        assert np.array_equal(resumed.params[name], straight.params[name])
        assert np.array_equal(resumed.adam_m[name], straight.adam_m[name])
        assert np.array_equal(resumed.adam_v[name], straight.adam_v[name])
    assert np.array_equal(resumed.A, straight.A)
    assert resumed.history == straight.history
    assert resumed.rng.bit_generator.state == straight.rng.bit_generator.state
    assert (tmp_path / "ckpt.npz").is_file() and (tmp_path / "ckpt.json").is_file()


def _same_state(a: PMLTrainer, b: PMLTrainer) -> None:
    """Bit for bit: parameters, Adam moments, codes, step, history, stream, guard."""
    assert a.step == b.step and a.history == b.history
    for part in ("params", "adam_m", "adam_v"):
        for name, arr in getattr(a, part).items():
            other = getattr(b, part)[name]
            assert arr.dtype == other.dtype and np.array_equal(arr, other), (part, name)
    assert np.array_equal(a.codes, b.codes) and a.codes.dtype == b.codes.dtype
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert a.events == b.events and a.lr_scale == b.lr_scale
    assert list(a.guard.recent) == list(b.guard.recent)
    assert a.guard.best_level == b.guard.best_level
    assert a.guard.snapshot["step"] == b.guard.snapshot["step"]
    for name, arr in a.guard.snapshot["params"].items():
        assert np.array_equal(arr, b.guard.snapshot["params"][name])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_checkpoint_written_before_the_guard_module_still_loads(dtype):
    """tests/data/pml_v3_*: written by the trainer of commit 1a1081a (one module then).

    Loading it gives the state a fresh run of the same configuration, data and seed reaches
    (70 steps, a full guard window, a snapshot, persistent codes, a learned A), and both go
    on alike: the format is read as it was written.
    """
    from pathlib import Path

    x = np.random.default_rng(0).uniform(0.05, 0.95, (48, 12))
    loaded = PMLTrainer.load(Path(__file__).parent / "data" / f"pml_v3_{dtype}", x[:40],
                             x_val=x[40:])  # fmt: skip
    assert loaded.config.dtype == dtype and loaded.step == 70
    assert loaded.guard.snapshot is not None
    fresh = PMLTrainer(loaded.config, x[:40], rng=7, x_val=x[40:])
    fresh.train(70, progress=False, eval_every=35)
    _same_state(loaded, fresh)
    for trainer in (loaded, fresh):
        trainer.train(15, progress=False, eval_every=35)
    _same_state(loaded, fresh)


def test_checkpoint_refuses_other_data(tmp_path):
    cfg = _tiny()
    trainer = PMLTrainer(cfg, _data(), rng=np.random.default_rng(0))
    trainer.save(tmp_path / "c")
    with pytest.raises(ValueError, match="x_train differs"):
        PMLTrainer.load(tmp_path / "c", _data(seed=3))
    with pytest.raises(FileNotFoundError, match="not found"):
        PMLTrainer.load(tmp_path / "missing", _data())


# ----------------------------------------------------------------- bad input
def test_bad_data_is_refused():
    cfg = _tiny()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"x_train must have shape \(N, n=6\)"):
        PMLTrainer(cfg, _data(n=7), rng=rng)
    with pytest.raises(ValueError, match="x_train must be 2-D"):
        PMLTrainer(cfg, np.ones(6), rng=rng)
    bad = _data()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="x_train must be finite"):
        PMLTrainer(cfg, bad, rng=rng)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="x_val must be finite"):
        PMLTrainer(cfg, _data(), rng=rng, x_val=bad)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        PMLTrainer(cfg, _data(), rng=None)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    with pytest.raises(ValueError, match="xi must have shape"):
        trainer.losses(_data(N=3), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="steps must be >= 0"):
        trainer.train(-1, progress=False)


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="needs the sparsity s"):
        PMLConfig(k=5, widths=(), n=6, m=3)
    with pytest.raises(ValueError, match="s must be <= k"):
        PMLConfig(k=5, widths=(), n=6, m=3, s=6)
    with pytest.raises(ValueError, match="method must be one of"):
        PMLConfig(k=5, widths=(), n=6, m=3, s=2, method="csgm")
    with pytest.raises(ValueError, match="RIP loss"):
        PMLConfig(k=5, widths=(), n=6, m=3, method="dcs", srec_gamma=0.5)
    with pytest.raises(ValueError, match="beta0 must be finite and > 0"):
        PMLConfig(k=5, widths=(), n=6, m=3, s=2, beta0=0)
    assert PMLConfig(k=5, widths=(), n=6, m=3, method="dcs").s == 5


def test_divergence_is_reported():
    cfg = _tiny(output="linear", beta0=1e300, learn_beta=False)
    trainer = PMLTrainer(cfg, _data(), rng=np.random.default_rng(0))
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="non-finite"):
        trainer.train(3, progress=False)


# ------------------------------------------------------------------------ metrics
def test_metrics_against_direct_formulas():
    rng = np.random.default_rng(0)
    x = rng.random((4, 64))
    x_hat = x + 0.05 * rng.standard_normal((4, 64))
    err = ((x_hat - x) ** 2).sum(axis=1) / 64
    np.testing.assert_allclose(mse(x_hat, x), err)
    np.testing.assert_allclose(psnr(x_hat, x), -10 * np.log10(err))
    np.testing.assert_allclose(psnr(x_hat, x, data_range=2.0), 10 * np.log10(4 / err))
    np.testing.assert_allclose(
        relative_error(x_hat, x), np.sqrt(err * 64) / np.sqrt((x**2).sum(axis=1))
    )
    assert psnr(x[0], x[0]) == np.inf
    assert isinstance(mse(x[0], x_hat[0]), float)
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, x[:, :10])


# ----------------------------------------------------------------- new pieces
def test_pca_prior_against_least_squares_and_exact_recovery():
    from sdlss_theory.pml import PCAPrior

    rng = np.random.default_rng(0)
    basis = rng.standard_normal((3, 12))
    x = 2.0 + rng.standard_normal((300, 3)) @ basis  # affine rank 3
    prior = PCAPrior(x)
    np.testing.assert_allclose(prior.mean, x.mean(axis=0))
    U = prior.components
    np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-12)
    A = rng.standard_normal((5, 12))
    # rank 3 and m = 5 >= 3: the affine subspace is recovered exactly
    np.testing.assert_allclose(prior.reconstruct(A, x[:7] @ A.T, 3), x[:7], atol=1e-9)
    # against an independent least-squares solve of a noisy signal at rank 2
    z = x[0] + 0.1 * rng.standard_normal(12)
    c = np.linalg.lstsq(A @ U[:, :2], A @ z - A @ prior.mean, rcond=None)[0]
    np.testing.assert_allclose(
        prior.reconstruct(A, (A @ z)[None], 2)[0], prior.mean + U[:, :2] @ c, atol=1e-12
    )
    assert np.allclose(prior.reconstruct(A, (A @ z)[None], 0)[0], prior.mean)
    rank, errors = prior.best_rank(A, x[:50])
    assert rank == 3 and errors.shape == (6,) and errors[3] < 1e-9 < errors[2]
    with pytest.raises(ValueError, match="rank must be <= 12"):
        prior.reconstruct(A, x[:2] @ A.T, 13)


def test_reconstruct_dense_recover_takes_the_dense_preset_without_seeds():
    """s = k: `RECOVER_OPTIONS` with `DENSE_OVERRIDES` (the dense preset's random starts)."""
    from sdlss_theory import latent_recover
    from sdlss_theory.pml import RECOVER_OPTIONS
    from sdlss_theory.pml.reconstruction import DENSE_OVERRIDES

    rng = np.random.default_rng(3)
    G = ReLUGenerator.random([6, 24, 30], rng, output="sigmoid")
    A = rng.standard_normal((4, 30)) / 2.0
    Y = G(rng.standard_normal((2, 6))) @ A.T
    x_hat, z_hat = reconstruct(G, A, Y, s=6, solver="recover", rng=5)
    options = {**RECOVER_OPTIONS, "seeds": None}
    assert options == {**RECOVER_OPTIONS, **DENSE_OVERRIDES}
    draws = np.random.default_rng(5)
    for i in range(2):
        r = latent_recover(G, A, Y[i], 6, rng=draws, **options)
        assert r.extras["origin"] == "random"
        np.testing.assert_array_equal(z_hat[i], r.z)
        np.testing.assert_allclose(x_hat[i], r.x, rtol=1e-12)


def test_reconstruct_recover_has_no_swap_search_above_the_size_limit():
    """k > SWAP_SEARCH_MAX_K with s <= m: `latent_recover` with ``max_swaps=0``, which differs
    from the default (swaps on) on this problem, so the rule is what ran."""
    from sdlss_theory import latent_recover
    from sdlss_theory.pml import RECOVER_OPTIONS
    from sdlss_theory.pml.reconstruction import SWAP_SEARCH_MAX_K

    rng = np.random.default_rng(4)
    k = SWAP_SEARCH_MAX_K + 1
    G = ReLUGenerator.random([k, 24, 30], rng)
    A = rng.standard_normal((20, 30)) / np.sqrt(20)
    Y = rng.standard_normal((1, 20))  # no code fits it: every stage runs
    _, z_hat = reconstruct(G, A, Y, s=3, solver="recover", rng=1)
    without = latent_recover(G, A, Y[0], 3, rng=np.random.default_rng(1), max_swaps=0,
                             **RECOVER_OPTIONS)  # fmt: skip
    np.testing.assert_array_equal(z_hat[0], without.z)
    with_swaps = latent_recover(G, A, Y[0], 3, rng=np.random.default_rng(1), **RECOVER_OPTIONS)
    assert without.extras["support_changes"] == 0 < with_swaps.extras["support_changes"]


def test_reconstruct_with_latent_recover_finds_the_teacher_codes():
    rng = np.random.default_rng(1)
    teacher = ReLUGenerator.random([8, 20, 16], rng, output="linear")
    data = synthetic_dataset(teacher, 2, 1, 4, rng)
    A = rng.standard_normal((10, 16)) / np.sqrt(10)
    x_hat, _ = reconstruct(teacher, A, data.x_test @ A.T, s=2, solver="recover", rng=0)
    assert np.max(relative_error(x_hat, data.x_test)) < 1e-8
    with pytest.raises(ValueError, match="needs rng"):
        reconstruct(teacher, A, data.x_test @ A.T, s=2, solver="recover")
    with pytest.raises(ValueError, match="recover_options are for solver='recover'"):
        reconstruct(teacher, A, data.x_test @ A.T, s=2, recover_options={"beam": 0})
    with pytest.raises(TypeError, match="must be a ReconstructOptions"):
        reconstruct(teacher, A, data.x_test @ A.T, s=2, options={"beam": 0})
    with pytest.raises(TypeError, match=r"unknown options \['beam'\]"):
        reconstruct(teacher, A, data.x_test @ A.T, s=2, beam=0)


def test_persistent_codes_are_the_inner_loops_end_and_survive_checkpoints(tmp_path):
    from sdlss_theory.pml.network import outer_loss

    cfg = _tiny(start="persistent", output="linear", lr=1e-2)
    x = _data()
    trainer = PMLTrainer(cfg, x, rng=np.random.default_rng(5))
    before = trainer.codes.copy()
    params = {k: v.copy() for k, v in trainer.params.items()}
    rng_state = trainer.rng.bit_generator.state
    trainer.train(1, progress=False)
    replay = np.random.default_rng(0)
    replay.bit_generator.state = rng_state
    batch = replay.choice(len(x), size=cfg.batch_size, replace=False)
    _, _, ZT = outer_loss(params, trainer.A, x[batch], before[batch], cfg)
    np.testing.assert_array_equal(trainer.codes[batch], ZT)
    untouched = np.setdiff1d(np.arange(len(x)), batch)
    np.testing.assert_array_equal(trainer.codes[untouched], before[untouched])
    assert np.all(np.count_nonzero(trainer.sparse_codes(), axis=1) <= cfg.s)
    trainer.save(tmp_path / "c")
    again = PMLTrainer.load(tmp_path / "c", x)
    np.testing.assert_array_equal(again.codes, trainer.codes)


def test_given_A_and_learning_rate_schedule():
    cfg = _tiny(lr=1e-2, lr_final=1e-4, anneal_steps=10)
    assert cfg.learning_rate(0) == pytest.approx(1e-2)
    assert cfg.learning_rate(5) == pytest.approx(0.5 * (1e-2 + 1e-4))
    assert cfg.learning_rate(10) == cfg.learning_rate(99) == pytest.approx(1e-4)
    A = np.random.default_rng(0).standard_normal((cfg.m, cfg.n))
    fixed = PMLTrainer(cfg, _data(), rng=1, A=A)
    np.testing.assert_array_equal(fixed.A, A)
    learned = PMLTrainer(dataclasses.replace(cfg, learn_A=True), _data(), rng=1, A=A)
    np.testing.assert_array_equal(learned.params["A"], A)
    with pytest.raises(ValueError, match="A must have shape"):
        PMLTrainer(cfg, _data(), rng=1, A=A[:, :3])
    with pytest.raises(ValueError, match="anneal_steps"):
        _tiny(lr_final=1e-4)
    with pytest.raises(ValueError, match="beta_per_step needs learn_beta"):
        _tiny(beta_per_step=True, learn_beta=False)
    with pytest.raises(ValueError, match="output must be one of"):
        _tiny(output="softplus")


# ------------------------------------------------------------------------ studies
def _tiny_study(module, parent, **overrides):
    from _study_helpers import run_into

    config = dataclasses.replace(module.Config.quick(), **overrides)
    out, report = run_into(module.STUDY, config, parent)
    return config, out, report


_TINY = dict(draws=2, widths=(8,), steps=4, n_eval=5, n_select=3, long_steps=3, restarts=1)


# One study end to end in the default run (the sparse and the dense latent, two references);
# the other four share its code paths and run with `-m slow`.
_SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pml_psnr_vs_m", marks=_SLOW),
        "pml_sparsity",
        pytest.param("pml_synthetic", marks=_SLOW),
        pytest.param("pml_tuning", marks=_SLOW),
        pytest.param("pml_training", marks=_SLOW),
    ],
)
def test_study_tiny_grid_runs_and_draws(tmp_path, name):
    import importlib

    from _study_helpers import draw_figure, ok_rows

    module = importlib.import_module(f"simulations.{name}")
    overrides = dict(_TINY)
    if name == "pml_psnr_vs_m":
        overrides.update(m=(4, 6), k=8, s=(2,), learned_A_s=(2,), n_show=2,
                         methods=("sdlss", "dcs_learned_A", "pca", "pca_top"))  # fmt: skip
    elif name == "pml_sparsity":
        overrides.update(s=(2, 8), k=8, references=("dcs", "pca"))
    elif name == "pml_synthetic":
        overrides.update(m=(4,), n_train=40, n_val=10, n_test=10)
    elif name == "pml_tuning":
        overrides.update(k=8, s=(2, 4), beta0s=(0.3,), n_tune=4, n_val=10)
    else:
        overrides.update(n_train=40, n_val=10, n_test=10, eval_every=2, n_curve=3)
    config, out, report = _tiny_study(module, tmp_path, **overrides)
    assert report.n_failed == 0
    rows = ok_rows(out)
    assert len(rows) == len(module.grid(config)) * config.trials
    for row in rows:
        assert row["rel_error"] >= 0
        if row["method"] in ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A", "variant"):
            assert row["beta"] > 0 and row["rel_error_T"] >= 0
            assert row["solver"] in ("recover", "iht", "gd")
    assert {r["draw"] for r in rows} == set(range(config.draws))
    if name == "pml_psnr_vs_m":
        assert all(len(r["true0_0"]) == 128 for r in rows if r["draw"] == 0)
        assert len({r["true0_0"] for r in rows if r["draw"] == 0}) == 1
        assert {r["lam"] for r in rows if r["method"] == "sdlss"} == {3.0}  # the tuned values
    if name == "pml_training":
        curves = [r for r in rows if r["method"] == "variant"]
        assert all(f"curve_val_error_{config.steps}" in r for r in curves)
    paths = draw_figure(name, tmp_path, tmp_path)
    assert all(p.stat().st_size > 0 for p in paths)


def test_synthetic_cells_draw_the_teachers_data_for_every_method(monkeypatch):
    """Every cell (DCS's dense latent included) trains and tests on the teacher's s-sparse
    data; ``s`` is only the sparsity of the prior's reconstruction."""
    import simulations.pml_synthetic as mod

    config = mod.Config(**_TINY, m=(4,), n_train=40, n_val=10, n_test=10, learner_s=(2, 5),
                        methods=("sdlss", "dcs", "teacher", "pca"))  # fmt: skip
    seen = []

    class Stop(Exception):
        pass

    def record(k, widths, n, s, *rest):
        seen.append(s)
        raise Stop

    monkeypatch.setattr(mod, "teacher_split", record)
    cells = mod.grid(config)
    for cell in cells:
        with pytest.raises(Stop):
            mod.trial(cell, np.random.default_rng(0))
    assert seen == [config.s] * len(cells)
    sparsities = sorted((c["method"], c["s"]) for c in cells if c["draw"] == 0)
    assert sparsities == [("dcs", config.k), ("pca", config.s), ("sdlss", 2), ("sdlss", 5),
                          ("teacher", config.s)]  # fmt: skip
    with pytest.raises(ValueError, match="learner_s"):
        mod.Config(learner_s=(3, config.k + 1))


def test_paired_draws_share_A_across_methods():
    from simulations._pml_common import draw_matrix

    p = {"pair_seed": 0, "draw": 1, "m": 5}
    np.testing.assert_array_equal(draw_matrix(p, 9), draw_matrix({**p, "method": "x"}, 9))
    assert not np.array_equal(draw_matrix(p, 9), draw_matrix({**p, "draw": 2}, 9))


def test_hyper_entries_parse_and_refuse_bad_ones():
    from simulations._pml_common import TrainingConfig, parse_hyper

    cfg = TrainingConfig(hyper=("dcs:lr=0.01,T=3", "sdlss:lam=2", "dcs@3:lr=0.001"))
    assert cfg.method_params("dcs")["lr"] == 0.01 and cfg.method_params("dcs")["T"] == 3
    assert cfg.method_params("dcs", 3)["lr"] == 0.001 and cfg.method_params("dcs", 3)["T"] == 3
    assert cfg.method_params("dcs", 8)["lr"] == 0.01
    assert cfg.method_params("sdlss")["lam"] == 2.0 and cfg.method_params("sdlss")["lr"] == 3e-3
    assert parse_hyper(("none",)) == {}
    with pytest.raises(ValueError, match="hyper entries look like"):
        TrainingConfig(hyper=("pca:lr=1",))
    with pytest.raises(ValueError, match="keys are"):
        TrainingConfig(hyper=("dcs:momentum=1",))
    with pytest.raises(ValueError, match="hyper entries look like"):
        TrainingConfig(hyper=("dcs@x:lr=1",))
    # An integer key is not truncated: T=3.5 is refused, T=4.0 is 4.
    with pytest.raises(ValueError, match="T must be an integer, got '3.5'"):
        parse_hyper(("dcs:T=3.5",))
    assert parse_hyper(("dcs:T=4.0",)) == {"dcs": {"T": 4}}
    with pytest.raises(ValueError, match="lr must be a number"):
        parse_hyper(("dcs:lr=fast",))


def test_hex_images_round_trip():
    from simulations.pml_psnr_vs_m import CHUNK, from_hex, get_image, put_image, to_hex

    img = np.random.default_rng(0).random(64)
    assert np.max(np.abs(from_hex(to_hex(img)) - img)) <= 0.5 / 255 + 1e-15
    big = np.random.default_rng(1).random(784)
    row: dict = {}
    put_image(row, "rec0", big)
    assert all(len(v) <= CHUNK for v in row.values()) and len(row) == 8
    np.testing.assert_array_equal(get_image(row, "rec0"), from_hex(to_hex(big)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["pml_psnr_vs_m", "pml_sparsity", "pml_synthetic", "pml_tuning", "pml_training"]
)
def test_study_quick_preset(tmp_path, name):
    import importlib

    from sdlss_theory.sweep import run_study

    module = importlib.import_module(f"simulations.{name}")
    report = run_study(module.STUDY, module.Config.quick(), tmp_path, n_jobs=2, progress="none")
    assert report.n_failed == 0 and report.n_nonfinite == 0


@pytest.mark.parametrize("name", ["pml_psnr_vs_m", "pml_sparsity"])
def test_paper_presets_are_reached_by_name(name):
    import importlib

    from simulations._cli import build_parser
    from simulations._cli_run import build_config

    module = importlib.import_module(f"simulations.{name}")
    args = build_parser().parse_args(["run", name, "--preset", "paper", "--set", "data_folder=D"])
    config = build_config(module.STUDY, args)
    assert config == dataclasses.replace(module.Config.paper(), data_folder="D")
    assert config.dataset == "mnist" and not config.download  # nothing downloaded unasked
    assert config.dtype == "float32" and config.divergence_ratio > 1
    # Each learned method trains with its tuned hyper-parameters and the same budget.
    from simulations._pml_common import MNIST_TUNED, MNIST_TUNED_K784

    # Tuned on MNIST (pml_tuning): at k = 100 for pml_psnr_vs_m, at k = 784 for pml_sparsity.
    tuned_on_mnist = MNIST_TUNED if name == "pml_psnr_vs_m" else MNIST_TUNED_K784
    assert config.hyper[: len(tuned_on_mnist)] == tuned_on_mnist
    cells = [c for c in module.grid(config) if c["method"] in ("sdlss", "dcs")]
    assert len({(c["steps"], c["batch_size"], c["T"]) for c in cells}) == 1
    for c in cells:
        tuned = config.method_params(c["method"], c["m"])
        assert all(c[key] == value for key, value in tuned.items())


def test_unknown_or_clashing_presets_are_refused(tmp_path, capsys):
    from simulations._cli import main

    assert main(["run", "iht_success", "--preset", "paper", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--preset" in err and "'default', 'quick'" in err and "iht_success" in err
    args = ["run", "pml_sparsity", "--quick", "--preset", "paper", "--out", str(tmp_path / "b")]
    assert main(args) == 2
    assert "--quick or --preset paper" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written


def test_image_studies_read_mnist_idx_files(tmp_path):
    """The MNIST path end to end: small IDX files (28 x 28) in a folder the user names."""
    import gzip
    import struct

    from _study_helpers import ok_rows

    import simulations.pml_psnr_vs_m as module

    rng = np.random.default_rng(0)
    folder = tmp_path / "idx"
    folder.mkdir()
    for kind, count in (("train", 40), ("t10k", 10)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        head = struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28)
        (folder / f"{kind}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(head + images.tobytes())
        )
        (folder / f"{kind}-labels-idx1-ubyte").write_bytes(
            struct.pack(">BBBBI", 0, 0, 8, 1, count) + labels.tobytes()
        )
    config = dataclasses.replace(
        module.Config.quick(), dataset="mnist", data_folder=str(folder), n_val=10, m=(20,),
        k=6, s=(2,), learned_A_s=(2,), widths=(8,), steps=3, n_eval=4, n_select=2, n_show=1,
        draws=1, long_steps=2, restarts=1, methods=("sdlss", "pca"),
    )  # fmt: skip
    from _study_helpers import run_into

    out, report = run_into(module.STUDY, config, tmp_path)
    assert report.n_failed == 0
    rows = ok_rows(out)
    assert {r["method"] for r in rows} == {"sdlss", "pca"}
    from simulations.pml_psnr_vs_m import get_image

    assert all(get_image(r, "true0").size == 784 for r in rows)
    missing = dataclasses.replace(config, data_folder=str(tmp_path / "nowhere"))
    out2, report2 = run_into(module.STUDY, missing, tmp_path / "b")
    assert report2.n_failed == len(module.grid(missing))


def test_sparsity_schedule_runs_from_s_initial_down_to_s():
    from sdlss_theory.pml.network import outer_loss

    cfg = _tiny(k=8, s=2, s_initial=8, s_anneal_steps=4, start="persistent", lr=1e-2)
    assert [cfg.sparsity(t) for t in range(6)] == [8, 6, 4, 3, 2, 2]
    x = _data()
    trainer = PMLTrainer(cfg, x, rng=np.random.default_rng(2))
    start, params, state = trainer.codes.copy(), trainer.params, trainer.rng.bit_generator.state
    params = {k: v.copy() for k, v in params.items()}
    trainer.train(1, progress=False)
    replay = np.random.default_rng(0)
    replay.bit_generator.state = state
    batch = replay.choice(len(x), size=cfg.batch_size, replace=False)
    _, _, ZT = outer_loss(params, trainer.A, x[batch], start[batch], cfg, s=8)
    np.testing.assert_array_equal(trainer.codes[batch], ZT)  # step 0 ran with s = 8
    trainer.train(5, progress=False)
    assert np.all(np.count_nonzero(trainer.sparse_codes(), axis=1) <= 2)
    with pytest.raises(ValueError, match="s_initial must lie in"):
        _tiny(k=8, s=2, s_initial=9, s_anneal_steps=4)
    with pytest.raises(ValueError, match="s_anneal_steps"):
        _tiny(k=8, s=2, s_initial=8)


@pytest.mark.parametrize("output", ["linear", "sigmoid", "tanh"])
@pytest.mark.parametrize("method", ["pml", "dcs"])
def test_autograd_primitives_compose_to_the_hand_derived_gradient(output, method):
    """A loss written in autograd.numpy over the primitives gives the fused sweep's gradient."""
    import autograd.numpy as anp

    from sdlss_theory.pml.network import outer_loss, support_mask
    from sdlss_theory.pml.primitives import generator, latent_step

    cfg = _tiny(method, output, learn_A=True, widths=(7, 6), beta0=0.05)
    rng = np.random.default_rng(4)
    trainer = PMLTrainer(cfg, _data(), rng=rng)
    params = _perturbed(trainer, rng)
    x = _data(N=5, seed=2)
    xi = rng.standard_normal((5, cfg.k))
    z0 = xi * support_mask(xi, cfg.s) if cfg.sparse else xi
    depth = len(cfg.dims) - 1

    def loss(p):
        layers = [p[f"{kind}{i}"] for i in range(depth) for kind in ("W", "b")]
        A = p["A"]
        Y = anp.dot(x, A.T)
        z = z0
        for _ in range(cfg.T):
            z = latent_step(z, p["log_beta"], Y, A, *layers, output=output, s=cfg.s)
        x_hat = generator(z, *layers, output=output)
        x_0 = generator(z0, *layers, output=output)

        def norms(D):
            return anp.sqrt(anp.sum(D * D, axis=1) + 1e-12)

        def r(D):
            return (norms(anp.dot(D, A.T)) - norms(D)) ** 2

        L_G = anp.mean(anp.sum((anp.dot(x_hat, A.T) - Y) ** 2, axis=1))
        L_A = anp.mean((r(x_hat - x_0) + r(x_hat - x) + r(x_0 - x)) / 3.0)
        return L_G + cfg.lam * L_A

    value = loss(params)
    grads = ag_grad(loss)(params)
    hand_losses, hand, _ = outer_loss(params, params["A"], x, xi, cfg)
    assert float(value) == pytest.approx(hand_losses["loss"], rel=1e-12)
    for name, g in hand.items():
        scale = max(1.0, np.max(np.abs(g)))
        np.testing.assert_allclose(grads[name], g, rtol=0, atol=1e-10 * scale, err_msg=name)


def test_keep_best_restores_the_best_evaluated_parameters():
    cfg = _tiny(lr=5e-2)
    x = _data()
    seen = []

    def record(tr):  # a held-out number that is smallest at step 4 of 8
        seen.append({k: v.copy() for k, v in tr.params.items()})
        return {"score": abs(tr.step - 4)}

    trainer = PMLTrainer(cfg, x, rng=np.random.default_rng(0))
    trainer.train(8, progress=False, eval_every=2, evaluation=record, keep_best="score")
    assert trainer.best_step == 4
    for name, value in seen[1].items():  # the second evaluation, at step 4
        np.testing.assert_array_equal(trainer.params[name], value)
    with pytest.raises(ValueError, match="keep_best needs eval_every"):
        trainer.train(2, progress=False, keep_best="score")
    with pytest.raises(KeyError, match="not a key"):
        trainer.train(2, progress=False, eval_every=1, keep_best="nothing")
