"""Latent (SDLSS) and classical sparse-recovery solvers, one contract for all (`_base`)."""

from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.classical import (
    IHT,
    NIHT,
    BasisPursuit,
    basis_pursuit,
    iht,
    niht,
)
from sdlss_theory.solvers.latent import (
    LatentGD,
    LatentIHT,
    LatentNIHT,
    latent_gd,
    latent_iht,
    latent_niht,
)
from sdlss_theory.solvers.recover import LatentRecover, RecoverOptions, latent_recover

__all__ = [
    "IHT",
    "NIHT",
    "BasisPursuit",
    "LatentGD",
    "LatentIHT",
    "LatentNIHT",
    "LatentRecover",
    "RecoverOptions",
    "RecoveryResult",
    "basis_pursuit",
    "iht",
    "latent_gd",
    "latent_iht",
    "latent_niht",
    "latent_recover",
    "niht",
]
