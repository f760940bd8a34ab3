"""`TrainSchedule`: when one `PMLTrainer.train` call evaluates and saves, and its best state."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from sdlss_theory._validation import check_int, check_positive_float

__all__ = ["TrainSchedule"]


@dataclasses.dataclass
class TrainSchedule:
    """One `PMLTrainer.train` call's schedule (checked) and its best evaluation so far."""

    eval_every: int | None
    checkpoint_every: int | None
    checkpoint_path: str | os.PathLike | None
    checkpoint_seconds: float | None
    evaluation: Callable | None
    keep_best: str | None
    best: tuple[float, int, dict] | None = None
    saved_at: float = dataclasses.field(default_factory=time.monotonic)

    @classmethod
    def checked(
        cls, eval_every, checkpoint_every, checkpoint_path, checkpoint_seconds, evaluation,
        keep_best,
    ) -> TrainSchedule:  # fmt: skip
        """The plan of `train`'s arguments, each checked (see `PMLTrainer.train`)."""
        if keep_best is not None and eval_every is None:
            raise ValueError("keep_best needs eval_every")
        if eval_every is not None:
            eval_every = check_int(eval_every, "eval_every", minimum=1)
        if checkpoint_every is not None:
            checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_every needs checkpoint_path")
        if checkpoint_seconds is not None:
            checkpoint_seconds = check_positive_float(checkpoint_seconds, "checkpoint_seconds")
            if checkpoint_path is None:
                raise ValueError("checkpoint_seconds needs checkpoint_path")
        return cls(
            eval_every, checkpoint_every, checkpoint_path, checkpoint_seconds, evaluation,
            keep_best,
        )  # fmt: skip

    def consider(self, record: dict, trainer) -> None:
        """Keep the trainer's parameters if `record` is the best evaluation for `keep_best`."""
        if self.keep_best is None:
            return
        if self.keep_best not in record:
            raise KeyError(
                f"keep_best={self.keep_best!r} is not a key of the evaluation records"
            )
        value = record[self.keep_best]
        if self.best is None or value < self.best[0]:
            params = {k: v.copy() for k, v in trainer.params.items()}
            self.best = (value, trainer.step, params)

    def saved(self) -> None:
        """Note a checkpoint written now (the clock of `checkpoint_seconds` restarts)."""
        self.saved_at = time.monotonic()

    def save_due(self, step: int) -> bool:
        """Whether a checkpoint is due after `step` (every so many steps, or seconds)."""
        if self.checkpoint_every is not None and step % self.checkpoint_every == 0:
            return True
        return (
            self.checkpoint_seconds is not None
            and time.monotonic() - self.saved_at >= self.checkpoint_seconds
        )

