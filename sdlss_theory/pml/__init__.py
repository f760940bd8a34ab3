r"""Learning the prior: proximal meta-learning (PML, Algorithm 1 of SDLSS) and the DCS baseline.

The generator :math:`G_\theta` (an MLP k -> widths -> n, ReLU hidden layers, sigmoid or linear
output) is trained so that a *fixed, small* number T of latent steps reconstructs a signal
from its measurements. Per example x of a minibatch, with y = A x:

.. math::

    z_0 = P_s(\xi),\ \xi \sim \mathcal N(0, I_k), \qquad
    z_{t+1} = P_s\!\left(z_t - \beta\, \nabla_z \lVert y - A G_\theta(z_t) \rVert_2^2\right),
    \quad t = 0, \dots, T-1,

and the outer loss, differentiated through the T unrolled steps (as in MAML and DCS), is

.. math::

    \mathcal L = \underbrace{\tfrac1B \textstyle\sum_b \lVert y_b - A G_\theta(z_T^{(b)})
    \rVert_2^2}_{L_G}
    + \lambda\, \underbrace{\tfrac1B \textstyle\sum_b \tfrac13\left[r(\hat x_b, x_{0,b})
    + r(\hat x_b, x_b) + r(x_{0,b}, x_b)\right]}_{L_A},
    \qquad r(x_1, x_2) = \left(\lVert A(x_1 - x_2)\rVert_2 + \delta
    - \gamma \lVert x_1 - x_2 \rVert_2\right)^2,

with :math:`\hat x = G_\theta(z_T)` (reconstruction) and :math:`x_0 = G_\theta(z_0)` (sample).
With :math:`\gamma = 1, \delta = 0` (the defaults) r is exactly the RIP loss of Deep Compressed
Sensing [2]_ over the same three pairs (data, reconstructions, samples). The sparsity term
:math:`\lVert z \rVert_0` of the SDLSS objective is the constant s after :math:`P_s`, so it
has no gradient and is dropped. :math:`P_s` is piecewise linear: autograd differentiates
through the kept entries with the support mask held constant (computed from a stable argsort
of :math:`|z|`, ties to the smaller index, as `sdlss_theory.hard_threshold`); likewise the
ReLU masks are constants (derivative 0 at 0). The step :math:`\beta = e^{\log \beta}` is
learned unless fixed; A is a fixed Gaussian N(0, 1/m) matrix or learned (DCS-style).

The DCS baseline (``method="dcs"``) is the same trainer with a dense latent: no :math:`P_s`
(s = k), plain gradient steps, and DCS's RIP loss (:math:`\gamma=1, \delta=0`). DCS itself also
projects z onto the unit sphere after each step; neither method here does (see docs/pml.md).

At test time the trained network is exported as a `ReLUGenerator`; `reconstruct` runs
`latent_iht` / `latent_niht` / `latent_gd` on it (T steps at the learned beta reproduce the
training inner loop exactly; more steps, the automatic step and restarts give the CSGM-style
reconstruction [3]_).

References
----------
.. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [2] Y. Wu, M. Rosca and T. Lillicrap, "Deep compressed sensing", ICML 2019.
.. [3] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
   models", ICML 2017.
.. [4] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.

The package: `PMLConfig` (:mod:`.config`), the outer loss and its hand-derived gradient
(:mod:`.network`, private), `PMLTrainer` (:mod:`.trainer`), `reconstruct`
(:mod:`.reconstruction`) and the image metrics `mse`, `psnr`, `relative_error`
(:mod:`.metrics`); every public name is importable from ``sdlss_theory.pml``.
"""

from sdlss_theory.pml.baselines import PCAPrior
from sdlss_theory.pml.config import PMLConfig
from sdlss_theory.pml.metrics import mse, psnr, relative_error
from sdlss_theory.pml.reconstruction import RECOVER_OPTIONS, reconstruct
from sdlss_theory.pml.trainer import PMLTrainer

__all__ = [
    "PCAPrior",
    "PMLConfig",
    "PMLTrainer",
    "RECOVER_OPTIONS",
    "mse",
    "psnr",
    "reconstruct",
    "relative_error",
]
