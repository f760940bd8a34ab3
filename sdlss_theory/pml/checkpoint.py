"""The files of a `PMLTrainer` checkpoint: ``<path>.npz`` (arrays) and ``<path>.json`` (the rest).

Format version 3: the ``.npz`` holds ``step``, ``param/<name>``, ``adam_m/<name>``,
``adam_v/<name>``, ``fixed_A`` (a fixed A), ``codes`` (persistent codes) and the guard's
snapshot (``snap/...``, `DivergenceGuard.state_arrays`); the ``.json`` holds ``version``,
``config`` (`PMLConfig.to_dict`), ``step``, ``eval_seed``, ``rng`` (the bit generator's name
and state), ``history``, ``guard`` (`DivergenceGuard.state_meta`) and fingerprints of
``x_train`` and ``x_val``. `PMLTrainer.save` and `PMLTrainer.load` are the public doors.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from sdlss_theory.pml.config import PMLConfig
from sdlss_theory.pml.guard import DivergenceGuard
from sdlss_theory.pml.network import param_shapes

__all__ = [
    "CHECKPOINT_VERSION",
    "check_fingerprint",
    "checkpoint_files",
    "fingerprint",
    "read",
    "set_state",
    "state_of",
    "write",
]

CHECKPOINT_VERSION = 3


def checkpoint_files(path: str | os.PathLike) -> tuple[Path, Path]:
    """``<path>.npz`` and ``<path>.json``: the two files of a checkpoint."""
    stem = Path(path)
    return stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")


def fingerprint(x: np.ndarray) -> str:
    """The first 16 hex digits of the SHA-256 of `x` as C-ordered float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes()).hexdigest()[:16]


def write(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> tuple[Path, Path]:
    """Write `arrays` to ``<path>.npz`` and `meta` (plus the version) to ``<path>.json``.

    Each file is written to a temporary name and renamed over the old one, so a process
    killed while saving leaves the previous checkpoint readable (or, killed between the two
    renames, a pair whose steps differ, which `read` refuses).
    """
    npz, js = checkpoint_files(path)
    npz.parent.mkdir(parents=True, exist_ok=True)
    tmp_npz, tmp_js = npz.with_name(npz.name + ".tmp"), js.with_name(js.name + ".tmp")
    with open(tmp_npz, "wb") as fh:
        np.savez(fh, **arrays)
    tmp_js.write_text(json.dumps({"version": CHECKPOINT_VERSION, **meta}, indent=1))
    os.replace(tmp_npz, npz)
    os.replace(tmp_js, js)
    return npz, js


def read(path: str | os.PathLike) -> tuple[dict, PMLConfig, dict[str, np.ndarray]]:
    """The metadata, the configuration and the arrays of the checkpoint at `path`.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        If the version is not `CHECKPOINT_VERSION`, or the two files are of different steps.
    """
    npz, js = checkpoint_files(path)
    for f in (npz, js):
        if not f.is_file():
            raise FileNotFoundError(f"checkpoint file {f} not found")
    meta = json.loads(js.read_text())
    if meta.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"{js}: unsupported checkpoint version {meta.get('version')!r} "
            f"(this version reads {CHECKPOINT_VERSION})"
        )
    cfg = dict(meta["config"])
    cfg["widths"] = tuple(cfg["widths"])
    with np.load(npz) as data:
        if "step" in data and int(data["step"]) != int(meta["step"]):
            raise ValueError(
                f"checkpoint {npz} (step {int(data['step'])}) and {js} (step "
                f"{meta['step']}) are of different steps: the run stopped while saving"
            )
        arrays = {k: np.array(v) for k, v in data.items()}
    return meta, PMLConfig(**cfg), arrays


def check_fingerprint(x: np.ndarray, expected: str | None, name: str, path) -> None:
    """Refuse data `x` whose fingerprint is not `expected` (None: nothing to check)."""
    if expected is not None and fingerprint(x) != expected:
        what = "training" if name == "x_train" else "validation"
        raise ValueError(f"{name} differs from the {what} data of checkpoint {path}")


def state_of(trainer) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the metadata of a `PMLTrainer`'s checkpoint (arguments of `write`)."""
    arrays: dict[str, np.ndarray] = {"step": np.array(trainer.step)}
    arrays.update({f"param/{k}": v for k, v in trainer.params.items()})
    arrays.update({f"adam_m/{k}": v for k, v in trainer.adam_m.items()})
    arrays.update({f"adam_v/{k}": v for k, v in trainer.adam_v.items()})
    if trainer._fixed_A is not None:
        arrays["fixed_A"] = trainer._fixed_A
    if trainer.codes is not None:
        arrays["codes"] = trainer.codes
    # The guard's best state, so that a resumed run backs off alike.
    arrays.update(trainer.guard.state_arrays())
    meta = {
        "config": trainer.config.to_dict(),
        "step": trainer.step,
        "eval_seed": trainer.eval_seed,
        "rng": {
            "bit_generator": type(trainer.rng.bit_generator).__name__,
            "state": trainer.rng.bit_generator.state,
        },
        "history": trainer.history,
        "guard": trainer.guard.state_meta(),
        "x_train": fingerprint(trainer.x_train),
        "x_val": None if trainer.x_val is None else fingerprint(trainer.x_val),
    }
    return arrays, meta


def set_state(trainer, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Put a freshly built `PMLTrainer` of the same configuration into the saved state."""
    trainer.rng.bit_generator.state = meta["rng"]["state"]
    names = list(param_shapes(trainer.config))
    trainer.params = {k: arrays[f"param/{k}"] for k in names}
    trainer.adam_m = {k: arrays[f"adam_m/{k}"] for k in names}
    trainer.adam_v = {k: arrays[f"adam_v/{k}"] for k in names}
    trainer._fixed_A = arrays.get("fixed_A")
    trainer.codes = arrays.get("codes")
    trainer.eval_seed = int(meta["eval_seed"])
    trainer.step = int(meta["step"])
    trainer.history = list(meta["history"])
    trainer.guard = DivergenceGuard.from_checkpoint(
        trainer.config.divergence_ratio, meta["guard"], arrays, names
    )
