"""The trainer's divergence guard (`PMLConfig.divergence_ratio`): watch the loss, back off.

`DivergenceGuard` decides, step by step, whether `PMLTrainer` takes an Adam step or returns
to its best snapshot with a smaller learning rate; `TrainingDiverged` is raised when it has
backed off more often than `MAX_BACKOFFS`. The guard's state (the learning-rate factor, the
events, the window of recent losses, the best level and the snapshot) travels in the
trainer's checkpoints, so a resumed run backs off as an unbroken one does.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "BACKOFF",
    "GUARD_EVERY",
    "GUARD_WINDOW",
    "MAX_BACKOFFS",
    "DivergenceGuard",
    "TrainingDiverged",
]

#: The divergence guard (`PMLConfig.divergence_ratio`): the window of recent minibatch
#: losses whose median is the training's current level, how often (in steps) that level is
#: compared with the best one so far (a new best is snapshotted), the learning-rate factor of
#: one back-off, and the number of back-offs after which training gives up.
GUARD_WINDOW = 50
GUARD_EVERY = 10
BACKOFF = 0.5
MAX_BACKOFFS = 5

#: The parts of a snapshot that hold one array per parameter (plus ``step`` and ``codes``).
SNAPSHOT_PARTS = ("params", "adam_m", "adam_v")


class TrainingDiverged(FloatingPointError):
    """Training diverged more often than the guard allows; ``events`` lists each back-off."""

    def __init__(self, message: str, events: list[dict]) -> None:
        super().__init__(message)
        self.events = list(events)


class DivergenceGuard:
    r"""The divergence guard of one training run, with ratio r = `ratio` (None: no guard).

    The training's level is the median of the last `GUARD_WINDOW` accepted minibatch losses
    (once the window is full). Every `GUARD_EVERY` steps a level at or below the best one
    so far becomes the best, and the trainer's state is snapshotted. A step diverges when
    its loss or gradient is not finite, its loss exceeds :math:`r^2` times the best level,
    or the level exceeds r times the best level; the trainer then returns to the snapshot
    (when there is one), the learning-rate factor `lr_scale` is multiplied by `BACKOFF`,
    the event is recorded in `events`, and after more than `MAX_BACKOFFS` events
    `TrainingDiverged` is raised. Without a ratio a non-finite step raises
    `FloatingPointError` and every finite one is taken.

    Parameters
    ----------
    ratio : float or None
        r > 1 (checked by `PMLConfig`), or None.
    lr_scale : float
        The factor of the learning rate (1 at the start of a run).
    events : list of dict, optional
        The back-offs so far: ``step`` (the step that diverged), ``loss``,
        ``restored_step`` (None without a snapshot) and ``lr_scale`` (after the back-off).

    Attributes
    ----------
    recent : collections.deque
        The last accepted losses (at most `GUARD_WINDOW`).
    best_level : float
        The best level so far (inf before the first full window).
    snapshot : dict or None
        The trainer's state at the best level: ``step``, ``params``, ``adam_m``, ``adam_v``
        (dicts of arrays) and ``codes`` (array or None).
    """

    def __init__(
        self, ratio: float | None, lr_scale: float = 1.0, events: list | None = None
    ) -> None:
        self.ratio = ratio
        self.lr_scale = lr_scale
        self.events: list[dict] = list(events or [])
        self.recent: collections.deque = collections.deque(maxlen=GUARD_WINDOW)
        self.best_level = math.inf
        self.snapshot: dict | None = None

    def admits(
        self, step: int, value: float, finite: bool, state: Callable[[], dict]
    ) -> bool:
        """Whether the step after `step`, of loss `value`, is taken (False: back off).

        ``finite`` says whether the loss and the gradient are finite; ``state()`` returns a
        copy of the trainer's state, taken when a new best level is reached.
        """
        if self.ratio is None:
            if not finite:
                raise FloatingPointError(
                    f"non-finite loss or gradient at step {step + 1} (loss={value}); "
                    "lower beta0 or lr, or set divergence_ratio"
                )
            return True
        # The level (median of the last GUARD_WINDOW losses) once the window is full.
        level = float(np.median(self.recent)) if len(self.recent) == GUARD_WINDOW else None
        if level is not None and step % GUARD_EVERY == 0 and level <= self.best_level:
            self.best_level = level
            self.snapshot = state()
        r = self.ratio
        best = self.best_level
        if not finite or value > r * r * best or (level is not None and level > r * best):
            return False
        self.recent.append(float(value))
        return True

    def back_off(self, step: int, value: float, restore: Callable[[dict], None]) -> None:
        """Back off after the step following `step` diverged with loss `value`.

        ``restore(snapshot)`` returns the trainer to the snapshot (not called without one).

        Raises
        ------
        TrainingDiverged
            After more than `MAX_BACKOFFS` back-offs (the trainer is restored first).
        """
        event = {"step": step + 1, "loss": float(value), "restored_step": None}
        if self.snapshot is not None:
            restore(self.snapshot)
            event["restored_step"] = self.snapshot["step"]
        self.lr_scale *= BACKOFF
        event["lr_scale"] = self.lr_scale
        self.events.append(event)
        self.recent.clear()
        if len(self.events) > MAX_BACKOFFS:
            raise TrainingDiverged(
                f"training diverged {len(self.events)} times (last at step {event['step']}, "
                f"loss {value:.4g}); learning rate now {self.lr_scale:g} x lr",
                self.events,
            )

    # -- checkpoints ---------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """The snapshot's arrays, keyed as a checkpoint's ``.npz`` stores them."""
        snap = self.snapshot
        arrays: dict[str, np.ndarray] = {}
        if snap is not None:
            for part in SNAPSHOT_PARTS:
                arrays.update({f"snap/{part}/{k}": v for k, v in snap[part].items()})
            if snap["codes"] is not None:
                arrays["snap/codes"] = snap["codes"]
        return arrays

    def state_meta(self) -> dict:
        """The rest of the state, as a checkpoint's ``.json`` stores it under ``guard``."""
        return {
            "lr_scale": self.lr_scale,
            "events": self.events,
            "recent": list(self.recent),
            "best_level": self.best_level,
            "snapshot_step": None if self.snapshot is None else self.snapshot["step"],
        }

    @classmethod
    def from_checkpoint(
        cls, ratio: float | None, meta: dict, arrays: dict, names: list[str]
    ) -> DivergenceGuard:
        """The guard saved by `state_meta` and `state_arrays` (parameter names `names`)."""
        guard = cls(ratio, meta["lr_scale"], meta["events"])
        guard.recent.extend(meta["recent"])
        guard.best_level = meta["best_level"]
        if meta["snapshot_step"] is not None:
            guard.snapshot = {
                "step": meta["snapshot_step"],
                **{part: {k: arrays[f"snap/{part}/{k}"] for k in names}
                   for part in SNAPSHOT_PARTS},
                "codes": arrays.get("snap/codes"),
            }  # fmt: skip
        return guard
