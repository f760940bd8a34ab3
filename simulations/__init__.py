"""Monte Carlo studies, one module each; run them with ``sdlss`` or ``python -m simulations``.

A study module defines a configuration dataclass (deriving from
:class:`sdlss_theory.sweep.StudyConfig`, with a ``quick()`` preset), a ``grid(config)``, a
module-level ``trial(params, rng)`` and ``STUDY = Study(name=<module name>, ...)``. Modules of
this package whose names do not start with an underscore are discovered automatically; see
``docs/sweeps.md``.
"""

from __future__ import annotations

import importlib
import pkgutil

from sdlss_theory.sweep import Study

__all__ = ["get_study", "studies"]


def studies() -> dict[str, Study]:
    """Return every registered study by name, sorted by name."""
    found: dict[str, Study] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        study = getattr(module, "STUDY", None)
        if not isinstance(study, Study):
            raise TypeError(f"simulations/{info.name}.py must define STUDY = Study(...)")
        if study.name != info.name:
            raise ValueError(
                f"simulations/{info.name}.py defines a study named {study.name!r}; "
                "a study is named after its module"
            )
        found[study.name] = study
    return found


def get_study(name: str) -> Study:
    """Return the study called `name` (KeyError listing the known ones otherwise)."""
    known = studies()
    if name not in known:
        raise KeyError(f"unknown study {name!r}; known studies: {', '.join(known) or 'none'}")
    return known[name]
