"""The trainer's safeguards: data-mean output bias, gradient clipping, divergence guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdlss_theory.activations import ACTIVATIONS, OUTPUTS
from sdlss_theory.pml import PMLConfig, PMLTrainer
from sdlss_theory.pml.guard import (
    BACKOFF,
    GUARD_EVERY,
    GUARD_WINDOW,
    MAX_BACKOFFS,
    DivergenceGuard,
    TrainingDiverged,
)
from sdlss_theory.pml.network import OUTPUT_MARGIN, output_bias_for


def _cfg(**kw):
    base = dict(k=5, widths=(8,), n=6, m=3, s=2, T=2, batch_size=8, lr=1e-2)
    base.update(kw)
    return PMLConfig(**base)


def _data(N=40, n=6, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (N, n))


@pytest.mark.parametrize("name", [a for a in ACTIVATIONS if ACTIVATIONS[a].inverse is not None])
@given(u=st.floats(0.02, 0.98))
def test_inverse_inverts_the_activation(name, u):
    act = ACTIVATIONS[name]
    lo, hi = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(name, (-3.0, 3.0))
    out = lo + u * (hi - lo)
    assert act.value(act.inverse(out)) == pytest.approx(out, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("output", OUTPUTS)
def test_data_mean_bias_makes_the_zero_weight_generator_output_the_clipped_mean(output):
    x = _data()
    if output == "tanh":
        x = 2 * x - 1
    x[:, 0] = 1.0 if output != "linear" else x[:, 0]  # a saturated pixel is clipped
    trainer = PMLTrainer(_cfg(output=output, output_bias="data_mean"), x, rng=0)
    last = len(trainer.config.dims) - 2
    trainer.params[f"W{last}"][:] = 0.0  # the output is then the activation of the bias
    out = trainer.forward(np.zeros((1, 5)))[0]
    lo, hi = {"sigmoid": (0, 1), "tanh": (-1, 1)}.get(output, (-np.inf, np.inf))
    expected = np.clip(x.mean(axis=0), lo + OUTPUT_MARGIN, hi - OUTPUT_MARGIN)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert np.array_equal(output_bias_for(x.mean(axis=0), output), trainer.params[f"b{last}"])


def test_data_mean_bias_changes_nothing_else():
    x = _data()
    a = PMLTrainer(_cfg(), x, rng=3)
    b = PMLTrainer(_cfg(output_bias="data_mean"), x, rng=3)
    last = f"b{len(a.config.dims) - 2}"
    for name in a.params:
        if name != last:
            assert np.array_equal(a.params[name], b.params[name])
    assert np.array_equal(a.A, b.A)


def test_clip_norm_bounds_the_gradient_given_to_adam(monkeypatch):
    seen = []
    original = PMLTrainer._adam

    def spy(self, grads):
        seen.append(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
        original(self, grads)

    monkeypatch.setattr(PMLTrainer, "_adam", spy)
    x = _data()
    free = PMLTrainer(_cfg(), x, rng=1)
    free.train(5, progress=False)
    norms = list(seen)
    seen.clear()
    clip = 0.5 * min(norms)
    PMLTrainer(_cfg(clip_norm=clip), x, rng=1).train(5, progress=False)
    assert max(norms) > clip
    np.testing.assert_allclose(seen, clip, rtol=1e-12)
    seen.clear()
    PMLTrainer(_cfg(clip_norm=10 * max(norms)), x, rng=1).train(5, progress=False)
    assert seen == norms  # a bound above every norm changes nothing


def _spiking(monkeypatch, spikes):
    """Make `_minibatch_step` report the given loss at the given steps (each trainer once)."""
    original = PMLTrainer._minibatch_step
    fired = set()

    def step(self, N, B):
        value, grads, idx, ZT = original(self, N, B)
        key = (id(self), self.step + 1)
        if self.step + 1 in spikes and key not in fired:
            fired.add(key)
            value = spikes[self.step + 1]
        return value, grads, idx, ZT

    monkeypatch.setattr(PMLTrainer, "_minibatch_step", step)


def test_guard_returns_to_the_best_snapshot_and_halves_the_learning_rate(monkeypatch):
    spike = 2 * GUARD_WINDOW + 7
    _spiking(monkeypatch, {spike: 1e6})
    trainer = PMLTrainer(_cfg(divergence_ratio=10.0), _data(), rng=2)
    trainer.train(3 * GUARD_WINDOW, progress=False)
    assert trainer.step == 3 * GUARD_WINDOW
    (event,) = trainer.events
    assert event["step"] == spike and event["loss"] == 1e6 and event["lr_scale"] == 0.5
    restored = event["restored_step"]
    assert restored % GUARD_EVERY == 0 and GUARD_WINDOW <= restored < spike
    assert trainer.lr_scale == 0.5


def test_guard_catches_a_slow_slide(monkeypatch):
    """Losses that climb by 3% a step (no single spike) are caught by the level rule."""
    original = PMLTrainer._minibatch_step
    start = 2 * GUARD_WINDOW

    def sliding(self, N, B):
        value, grads, idx, ZT = original(self, N, B)
        if self.lr_scale == 1.0 and self.step >= start:
            value *= 1.03 ** (self.step - start + 1)
        return value, grads, idx, ZT

    monkeypatch.setattr(PMLTrainer, "_minibatch_step", sliding)
    trainer = PMLTrainer(_cfg(divergence_ratio=3.0), _data(), rng=2)
    trainer.train(4 * GUARD_WINDOW, progress=False)
    (event,) = trainer.events
    # The median lags a slide by at most half a window: the snapshot is from before that.
    assert event["restored_step"] <= start + GUARD_WINDOW // 2 < event["step"]
    assert event["loss"] < 9 * trainer.guard.best_level  # not a single-loss spike: the level rule


def test_guard_reports_a_run_that_keeps_diverging(monkeypatch):
    original = PMLTrainer._minibatch_step

    def broken(self, N, B):
        value, grads, idx, ZT = original(self, N, B)
        return (np.nan if self.step >= 10 else value), grads, idx, ZT

    monkeypatch.setattr(PMLTrainer, "_minibatch_step", broken)
    trainer = PMLTrainer(_cfg(divergence_ratio=10.0), _data(), rng=2)
    with pytest.raises(TrainingDiverged, match="diverged") as info:
        trainer.train(GUARD_WINDOW, progress=False)
    assert len(info.value.events) == MAX_BACKOFFS + 1
    assert all(e["restored_step"] is None for e in info.value.events)  # no snapshot yet
    scales = [e["lr_scale"] for e in info.value.events]
    assert scales == [0.5**i for i in range(1, MAX_BACKOFFS + 2)]


def test_guard_never_fires_on_a_healthy_run_and_changes_nothing():
    x = _data()
    plain = PMLTrainer(_cfg(), x, rng=4)
    plain.train(2 * GUARD_WINDOW, progress=False)
    guarded = PMLTrainer(_cfg(divergence_ratio=10.0), x, rng=4)
    guarded.train(2 * GUARD_WINDOW, progress=False)
    assert guarded.events == []
    for name in plain.params:
        assert np.array_equal(plain.params[name], guarded.params[name])


def test_guard_state_survives_a_checkpoint(tmp_path, monkeypatch):
    """A back-off after a resume returns to the same snapshot as in an unbroken run."""
    x = _data()
    cfg = _cfg(divergence_ratio=10.0)
    _spiking(monkeypatch, {GUARD_WINDOW + 3: 1e6, 2 * GUARD_WINDOW + 25: 1e6})
    straight = PMLTrainer(cfg, x, rng=5)
    straight.train(3 * GUARD_WINDOW, progress=False)
    assert len(straight.events) == 2

    first = PMLTrainer(cfg, x, rng=5)
    first.train(2 * GUARD_WINDOW + 3, progress=False, checkpoint_path=tmp_path / "c")
    resumed = PMLTrainer.load(tmp_path / "c", x)
    assert resumed.events == first.events and resumed.lr_scale == first.lr_scale
    resumed.train(3 * GUARD_WINDOW - resumed.step, progress=False)
    assert resumed.events == straight.events
    for name in straight.params:
        assert np.array_equal(straight.params[name], resumed.params[name])


def test_bad_safeguard_options_are_refused():
    with pytest.raises(ValueError, match="output_bias must be one of"):
        _cfg(output_bias="median")
    with pytest.raises(ValueError, match="clip_norm must be finite and > 0"):
        _cfg(clip_norm=0)
    with pytest.raises(ValueError, match="divergence_ratio must be > 1"):
        _cfg(divergence_ratio=1.0)


def test_guard_constants_are_sane():
    assert BACKOFF < 1 and GUARD_WINDOW >= GUARD_EVERY >= 1 and MAX_BACKOFFS >= 1


def test_guard_rules_on_a_sequence_of_losses():
    """`DivergenceGuard` alone: the level, the snapshot, both divergence rules, the back-off."""
    guard = DivergenceGuard(3.0)
    for step in range(GUARD_WINDOW + 1):
        assert guard.admits(step, 1.0, True, lambda step=step: {"step": step})
    # The window filled at step GUARD_WINDOW - 1; the first check after it is a snapshot.
    first = GUARD_WINDOW + (-GUARD_WINDOW) % GUARD_EVERY
    assert guard.best_level == 1.0 and guard.snapshot == {"step": first}
    assert not guard.admits(first + 1, 9.5, True, dict)  # one loss above r^2 times the best
    assert guard.admits(first + 1, 8.9, True, dict)  # below r^2: taken, joins the window
    assert not guard.admits(first + 2, 1.0, False, dict)  # non-finite gradient
    restored = []
    guard.back_off(first + 2, 1.0, restored.append)
    assert restored == [{"step": first}] and len(guard.recent) == 0
    assert guard.events == [
        {"step": first + 3, "loss": 1.0, "restored_step": first, "lr_scale": BACKOFF}
    ]
    # The level rule: a window whose median exceeds r times the best level.
    for step in range(GUARD_WINDOW):
        guard.admits(step, 3.5, True, dict)
    assert not guard.admits(GUARD_WINDOW + 1, 3.5, True, dict)
    with pytest.raises(TrainingDiverged) as info:
        for _ in range(MAX_BACKOFFS):
            guard.back_off(0, 1.0, restored.append)
    assert len(info.value.events) == MAX_BACKOFFS + 1 and guard.lr_scale == BACKOFF ** 6


def test_no_guard_takes_every_finite_step_and_stops_at_the_first_non_finite_one():
    guard = DivergenceGuard(None)
    assert all(guard.admits(step, 1e30 * step, True, dict) for step in range(3 * GUARD_WINDOW))
    assert guard.snapshot is None and len(guard.recent) == 0
    with pytest.raises(FloatingPointError, match="non-finite loss or gradient at step 8"):
        guard.admits(7, float("nan"), False, dict)
