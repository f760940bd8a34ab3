r"""Estimating the S-REC constant of a sensing matrix on the range of a sparse-latent generator.

A matrix A in R^{m x n} satisfies the set-restricted eigenvalue condition
S-REC(S, gamma, delta) on a set S if ([BJPD17]_)

.. math:: \|A(x_1 - x_2)\| \ge \gamma \|x_1 - x_2\| - \delta \qquad \forall x_1, x_2 \in S.

Here S = range_s(G) = {G(z) : ||z||_0 <= s}, the union of C(k, s) sub-manifolds of the SDLSS
model ([KPS21]_). With delta = 0 the best constant is

.. math:: \gamma^\star = \inf_{x_1 \ne x_2 \in S} \frac{\|A(x_1 - x_2)\|}{\|x_1 - x_2\|},

Every estimator here says in which direction it is proven:

* `srec_bounds`: a **proven lower bound** (every linear piece of G enumerated by
  `sdlss_theory.pieces.linear_pieces`, sigma_min of A on the span of every pair of pieces,
  the lowest pairs refined to the exact minimum over their difference cone) and an **upper
  bound witnessed** by an explicit pair; ``exact`` when they agree. Beyond its budget, or when
  the enumeration left out a region thinner than its tolerance, the lower bound is the
  union-bound guarantee, which holds only with a stated probability.
* `srec_one_sparse`: the **exact** value for s = 1 without biases (the range is 2k rays), in
  closed form.
* `random_pair_ratios`: the ratio for random pairs. For a difference vector fixed
  independently of A it is distributed exactly as sqrt(chi^2_m / m) (`chi_ratio_law`); a
  minimum over random pairs only bounds gamma* from above.
* `adversarial_ratio`: minimise the ratio over (z1, z2) by projected gradient with P_s, from
  several starts; it finds actual pairs, so it too bounds gamma* from above.
* `piece_pair_relaxation`: sigma_min of A on the span of two pieces' differences, a lower
  bound for the pairs of *those two* pieces; minimised over a sample of piece pairs it bounds
  gamma* in neither direction.
* The theorem's worst-case union bound lives in `sdlss_theory.theory`
  (`srec_guarantee_gamma`, `union_bound_gamma`, `linear_piece_count_log`).

`smallest_delta` converts evaluated pairs into the smallest delta that makes a target gamma
hold on them.

Modules, by job: `sampling` (random pairs, the chi law, `smallest_delta`), `adversarial`
(the ratio objective and the projected-gradient search), `relaxation` (linear pieces, the
piece-pair relaxation, the exact refinement over difference cones), `one_sparse` (the closed
form at s = 1), `pairs` (the span value of every piece pair, by the kernel
`sdlss_theory._kernels.pairs` or the NumPy reference) and `bounds` (`srec_bounds` and its
options `SRECBoundsOptions`).

References
----------
.. [BJPD17] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using
   generative models", ICML 2017.
.. [KPS21] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [HV18] P. Hand and V. Voroninski, "Global guarantees for enforcing deep generative
   priors by empirical risk", COLT 2018.
"""

from sdlss_theory.srec.adversarial import (
    AdversarialOptions,
    AdversarialResult,
    adversarial_ratio,
    ratio_objective,
    ratio_objective_grad,
)
from sdlss_theory.srec.bounds import SRECBounds, SRECBoundsOptions, srec_bounds
from sdlss_theory.srec.one_sparse import RayPairResult, srec_one_sparse
from sdlss_theory.srec.relaxation import LinearPiece, linear_piece, piece_pair_relaxation
from sdlss_theory.srec.sampling import (
    PairRatios,
    chi_ratio_law,
    ks_against_chi_law,
    random_pair_ratios,
    sample_pairs,
    smallest_delta,
)

__all__ = [
    "AdversarialOptions",
    "AdversarialResult",
    "LinearPiece",
    "PairRatios",
    "RayPairResult",
    "SRECBounds",
    "SRECBoundsOptions",
    "adversarial_ratio",
    "chi_ratio_law",
    "ks_against_chi_law",
    "linear_piece",
    "piece_pair_relaxation",
    "random_pair_ratios",
    "ratio_objective",
    "ratio_objective_grad",
    "sample_pairs",
    "smallest_delta",
    "srec_bounds",
    "srec_one_sparse",
]
