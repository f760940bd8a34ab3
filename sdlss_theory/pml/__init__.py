r"""Learning the prior: proximal meta-learning (PML, Algorithm 1 of SDLSS), the DCS baseline, PCA.

The generator :math:`G_\theta` (an MLP k -> widths -> n, ReLU hidden layers, any output of
`sdlss_theory.activations`) is trained so that a *fixed, small* number T of latent steps
reconstructs a signal from its measurements. Per example x of a minibatch, with y = A x:

.. math::

    z_{t+1} = P_s\!\left(z_t - \beta_t\, \nabla_z \lVert y - A G_\theta(z_t) \rVert_2^2\right),
    \quad t = 0, \dots, T-1,

from :math:`z_0 = P_s(\xi)`, :math:`\xi \sim \mathcal N(0, I_k)` (or a stored code per
training signal: warm starts), and the outer loss, differentiated through the T unrolled
steps (as in MAML and DCS), is

.. math::

    \mathcal L = \tfrac1B \textstyle\sum_b \lVert y_b - A G_\theta(z_T^{(b)}) \rVert_2^2
    + \lambda\, \tfrac1B \textstyle\sum_b \tfrac13\left[\phi(t(\hat x_b, x_{0,b}))
    + \phi(t(\hat x_b, x_b)) + \phi(t(x_{0,b}, x_b))\right] + \mu L_X,

with :math:`t(x_1, x_2) = \lVert A(x_1 - x_2)\rVert + \delta - \gamma\lVert x_1 -
x_2\rVert`, :math:`\phi(t) = t^2` (DCS's RIP loss [2]_ for :math:`\gamma = 1, \delta = 0`)
or :math:`\min(t, 0)^2` (the one-sided S-REC hinge), :math:`\hat x = G(z_T)`,
:math:`x_0 = G(z_0)`, and an optional signal-domain term :math:`L_X` (a departure from
Algorithm 1). The gradient is derived by hand (:mod:`.network`: one reverse sweep, each
latent step's vector-Jacobian product with its second-order terms, A W_d folded once per step
for a linear output) and checked against a fully traced autograd implementation.

The DCS baseline (``method="dcs"``) is the same trainer with a dense latent (s = k) and
DCS's RIP loss. `PCAPrior` is the linear prior every learned prior is measured against.
`reconstruct` runs `latent_recover`, `latent_iht`, `latent_niht` or `latent_gd` on a trained
network (with one shared learned beta, T latent IHT or gradient steps at that beta reproduce
the training inner loop; with ``beta_per_step`` the T steps take one call per step, as
`PMLTrainer.unrolled_reconstruction` does).

References
----------
.. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [2] Y. Wu, M. Rosca and T. Lillicrap, "Deep compressed sensing", ICML 2019.
.. [3] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
   models", ICML 2017.
.. [4] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.

The package: `PMLConfig` (:mod:`.config`), the outer loss and its hand-derived gradient
(:mod:`.network`, private), one latent step and G's forward pass as autograd primitives for
custom losses (:mod:`.primitives`: ``latent_step``, ``generator``), `PMLTrainer`
(:mod:`.trainer`: Adam, evaluation, export; a call's schedule in :mod:`.schedule`, the
checkpoint files in :mod:`.checkpoint`), the divergence guard and `TrainingDiverged`
(:mod:`.guard`), `reconstruct`, `ReconstructOptions` and `RECOVER_OPTIONS`
(:mod:`.reconstruction`), `PCAPrior` (:mod:`.baselines`) and the image metrics `mse`,
`psnr`, `relative_error` (:mod:`.metrics`); every public name (but the primitives) is
importable from ``sdlss_theory.pml``.
"""

from sdlss_theory.pml.baselines import PCAPrior
from sdlss_theory.pml.config import PMLConfig
from sdlss_theory.pml.guard import TrainingDiverged
from sdlss_theory.pml.metrics import mse, psnr, relative_error
from sdlss_theory.pml.reconstruction import RECOVER_OPTIONS, ReconstructOptions, reconstruct
from sdlss_theory.pml.trainer import PMLTrainer

__all__ = [
    "PCAPrior",
    "PMLConfig",
    "PMLTrainer",
    "RECOVER_OPTIONS",
    "ReconstructOptions",
    "TrainingDiverged",
    "mse",
    "psnr",
    "reconstruct",
    "relative_error",
]
