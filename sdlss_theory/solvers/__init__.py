"""Latent (SDLSS) and classical sparse-recovery solvers."""

from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.classical import basis_pursuit, iht, niht
from sdlss_theory.solvers.latent import (
    LatentGD,
    LatentIHT,
    LatentNIHT,
    latent_gd,
    latent_iht,
    latent_niht,
)
from sdlss_theory.solvers.recover import LatentRecover, latent_recover

__all__ = [
    "LatentGD",
    "LatentIHT",
    "LatentNIHT",
    "LatentRecover",
    "RecoveryResult",
    "basis_pursuit",
    "iht",
    "latent_gd",
    "latent_iht",
    "latent_niht",
    "latent_recover",
    "niht",
]
