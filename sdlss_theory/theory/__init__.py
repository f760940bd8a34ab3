r"""Closed-form predictors: the l1 phase transition, sample-complexity formulas, S-REC guarantees.

Three families of formulas, one module each, every name importable from
``sdlss_theory.theory``; `docs/theory.md` gives the derivations and says what each one is
for in the studies.

1. :mod:`.l1`, the l1 phase transition from the statistical dimension of the l1 descent cone
   (Amelunxen, Lotz, McCoy & Tropp 2014): `l1_psi`, `l1_statistical_dimension`,
   `l1_transition_m`, `l1_transition_interval`, `l1_phase_transition_rho`.
2. :mod:`.predictors`, sample-complexity predictors: `sdlss_measurements` (Killedar,
   Pokala & Seelamantula 2021) and `bora_measurements` (Bora, Jalal, Price & Dimakis 2017).
3. :mod:`.union_bound`, the worst-case S-REC guarantee from counting the linear pieces of
   a ReLU generator on s-sparse codes: `linear_piece_count_log`,
   `srec_guarantee_measurements`, `srec_guarantee_gamma`, `srec_failure_probability_bound`,
   the same union bound for an explicit piece count (`union_bound_measurements`,
   `union_bound_gamma`), plus the Gaussian tail bound they rest on,
   `gaussian_smin_tail_bound`.

References
----------
.. [ALMT14] D. Amelunxen, M. Lotz, M. B. McCoy and J. A. Tropp, "Living on the edge: phase
   transitions in convex programs with random data", Information and Inference 3(3),
   224-294, 2014.
.. [DT09] D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes when
   the projection radically lowers dimension", J. AMS 22(1), 1-53, 2009.
.. [DMM09] D. L. Donoho, A. Maleki and A. Montanari, "Message-passing algorithms for
   compressed sensing", PNAS 106(45), 18914-18919, 2009.
.. [KPS21] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [BJPD17] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using
   generative models", ICML 2017.
.. [DS01] K. R. Davidson and S. J. Szarek, "Local operator theory, random matrices and
   Banach spaces", Handbook of the Geometry of Banach Spaces I, 2001, Thm II.13.
.. [Ver12] R. Vershynin, "Introduction to the non-asymptotic analysis of random matrices",
   in Compressed Sensing: Theory and Applications, CUP 2012, Thm 5.32, Prop 5.34,
   Cor 5.35.
"""

from sdlss_theory.theory.l1 import (
    l1_phase_transition_rho,
    l1_psi,
    l1_statistical_dimension,
    l1_transition_interval,
    l1_transition_m,
)
from sdlss_theory.theory.predictors import bora_measurements, sdlss_measurements
from sdlss_theory.theory.union_bound import (
    gaussian_smin_tail_bound,
    linear_piece_count_log,
    srec_failure_probability_bound,
    srec_guarantee_gamma,
    srec_guarantee_measurements,
    union_bound_gamma,
    union_bound_measurements,
)

__all__ = [
    "bora_measurements",
    "gaussian_smin_tail_bound",
    "l1_phase_transition_rho",
    "l1_psi",
    "l1_statistical_dimension",
    "l1_transition_interval",
    "l1_transition_m",
    "linear_piece_count_log",
    "sdlss_measurements",
    "srec_failure_probability_bound",
    "srec_guarantee_gamma",
    "srec_guarantee_measurements",
    "union_bound_gamma",
    "union_bound_measurements",
]
