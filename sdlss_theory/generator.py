"""An explicit d-layer ReLU generator with hand-derived derivatives.

G(z) = sigma(W_d h_{d-1} + b_d),  h_i = relu(W_i h_{i-1} + b_i),  h_0 = z.

Every derivative is a backward (or forward) recursion through the ReLU masks
D_i = diag(1[W_i h_{i-1} + b_i > 0]); docs/derivations.md writes them out:

    J_G(z)       = S' W_d D_{d-1} W_{d-1} ... D_1 W_1,     S' = diag(sigma'(a_d))
    J_G(z)^T v   : g_d = S' v,  g_i = D_i W_{i+1}^T g_{i+1},  result W_1^T g_1
    dW_i         = g_i h_{i-1}^T,  db_i = g_i   (for <v, G(z)>)

The ReLU derivative at exactly 0 is taken as 0 (the mask is a > 0), the same
convention as autograd and every deep learning library.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.activations import ACTIVATIONS, OUTPUTS

__all__ = ["ReLUGenerator"]


_INITS = ("hand", "he")


class ReLUGenerator:
    """A fully connected ReLU network G: R^k -> R^n with explicit weights.

    G(z) = sigma(W_d relu(W_{d-1} ... relu(W_1 z + b_1) ... + b_{d-1}) + b_d),
    with a ReLU after every layer but the last and an output activation sigma
    that is the identity (``"linear"``), the logistic sigmoid or tanh.

    Parameters
    ----------
    weights : sequence of array_like
        ``W_1, ..., W_d``; ``W_i`` has shape ``(n_i, n_{i-1})`` with ``n_0 = k``.
    biases : sequence of array_like, optional
        ``b_1, ..., b_d``, ``b_i`` of shape ``(n_i,)``. Zeros when omitted.
    output : {"linear", "sigmoid", "tanh"}
        The last layer's activation.

    Notes
    -----
    ``z`` may be one latent of shape ``(k,)`` or a batch of shape ``(B, k)``;
    outputs follow the same convention. The derivatives (`vjp`, `jvp`,
    `jacobian`, `param_vjp`) are derived by hand; docs/derivations.md gives
    the recursions, and the tests check them against autograd and central
    differences.

    References
    ----------
    .. [1] P. Hand and V. Voroninski, "Global guarantees for enforcing deep
       generative priors by empirical risk", COLT 2018.
    .. [2] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven
       latent space sampling for generative prior based compressive sensing",
       ICASSP 2021.

    Examples
    --------
    >>> import numpy as np
    >>> G = ReLUGenerator.random([20, 60, 120, 200], np.random.default_rng(0))
    >>> G.k, G.n, G.depth, G.max_width
    (20, 200, 3, 200)
    >>> G(np.zeros(20)).shape
    (200,)
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray] | None = None,
        output: str = "linear",
    ) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got {output!r}")
        if isinstance(weights, np.ndarray) or len(weights) == 0:
            raise ValueError("weights must be a non-empty list of 2-D arrays W_1, ..., W_d")
        self.weights = [
            as_float_array(w, f"weights[{i}]", ndim=(2,)) for i, w in enumerate(weights)
        ]
        for i in range(1, len(self.weights)):
            prev, cur = self.weights[i - 1].shape, self.weights[i].shape
            if cur[1] != prev[0]:
                raise ValueError(
                    f"weights[{i}] must have {prev[0]} columns to follow weights[{i - 1}] "
                    f"of shape {prev}, got shape {cur}"
                )
        if biases is None:
            self.biases = [np.zeros(w.shape[0]) for w in self.weights]
        else:
            if len(biases) != len(self.weights):
                raise ValueError(
                    f"biases must hold one vector per layer ({len(self.weights)}), "
                    f"got {len(biases)}"
                )
            self.biases = [
                as_float_array(b, f"biases[{i}]", ndim=(1,)) for i, b in enumerate(biases)
            ]
            for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                if b.shape != (w.shape[0],):
                    raise ValueError(f"biases[{i}] must have shape {(w.shape[0],)}, got {b.shape}")
        self.output = output
        self._output_activation = ACTIVATIONS[output]

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(
        cls,
        dims: Sequence[int],
        rng: np.random.Generator,
        *,
        bias: bool = False,
        output: str = "linear",
        init: str = "hand",
    ) -> ReLUGenerator:
        """Draw a generator with i.i.d. Gaussian weights.

        Parameters
        ----------
        dims : sequence of int
            ``[k, n_1, ..., n_d]``: the latent size, then each layer's output size.
        rng : numpy.random.Generator
            The source of randomness.
        bias : bool
            Draw biases too (with the same variance as the layer's weights);
            otherwise they are zero.
        output : {"linear", "sigmoid", "tanh"}
            The last layer's activation.
        init : {"hand", "he"}
            ``"hand"``: W_i entries N(0, 1/n_i), the convention of Hand &
            Voroninski (2018) under which each layer is near-isometric on the
            positive part. ``"he"``: N(0, 2/n_{i-1}) (He et al. 2015), which
            keeps the activations' scale constant through ReLU layers.

        Returns
        -------
        ReLUGenerator
        """
        if isinstance(dims, (str, bytes)) or len(dims) < 2:
            raise ValueError(f"dims must list at least [k, n], got {dims!r}")
        dims = [check_int(d, f"dims[{i}]", minimum=1) for i, d in enumerate(dims)]
        rng = check_rng(rng)
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        weights, biases = [], []
        for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
            std = np.sqrt(1.0 / fan_out) if init == "hand" else np.sqrt(2.0 / fan_in)
            weights.append(std * rng.standard_normal((fan_out, fan_in)))
            biases.append(std * rng.standard_normal(fan_out) if bias else np.zeros(fan_out))
        return cls(weights, biases, output=output)

    def premultiply(self, A: np.ndarray) -> ReLUGenerator:
        """Return the generator z -> A G(z), for a linear output layer.

        With a linear output, A G(z) = (A W_d) h_{d-1}(z) + A b_d, so the
        composition is again a ReLU generator whose last layer is (A W_d, A b_d).
        Forming it once per problem lets a solver iterate without touching n.

        Parameters
        ----------
        A : array_like, shape (m, n)
            The sensing matrix.

        Returns
        -------
        ReLUGenerator
            The generator of ``A G(z)``, with ``m`` outputs.
        """
        if self.output != "linear":
            raise ValueError(
                "premultiply needs a linear output layer; "
                f"this generator's output is {self.output!r}"
            )
        A = as_float_array(A, "A", ndim=(2,))
        if A.shape[1] != self.n:
            raise ValueError(
                f"A must have {self.n} columns (the generator's n), got shape {A.shape}"
            )
        weights = [*self.weights[:-1], A @ self.weights[-1]]
        biases = [*self.biases[:-1], A @ self.biases[-1]]
        return ReLUGenerator(weights, biases, output="linear")

    def pack(self, A: np.ndarray | None = None):
        """The map z -> G(z), or z -> A G(z), packed for the numba kernels.

        With a linear output and an A, A is folded into the last layer (`premultiply`:
        A G(z) = (A W_d) h_{d-1}(z) + A b_d); with another output, A is appended as one more
        linear layer. Every layer's activation code comes from `sdlss_theory.activations`.

        Parameters
        ----------
        A : array_like, shape (m, n), optional
            The sensing matrix.

        Returns
        -------
        PackedNetwork
            ``(flat, w_off, b_off, dims, codes)``, see `sdlss_theory._kernels.network`.
        """
        from sdlss_theory._kernels.network import pack_network

        relu = [ACTIVATIONS["relu"].code] * (self.depth - 1)
        output = ACTIVATIONS[self.output].code
        if A is None:
            return pack_network(self.weights, self.biases, [*relu, output])
        A = as_float_array(A, "A", ndim=(2,))
        if A.shape[1] != self.n:
            raise ValueError(
                f"A must have shape (m, {self.n}) to follow G (n={self.n}), got {A.shape}"
            )
        if self.output == "linear":  # the layers of `premultiply`, not checked again
            weights = [*self.weights[:-1], A @ self.weights[-1]]
            return pack_network(weights, [*self.biases[:-1], A @ self.biases[-1]], [*relu, output])
        linear = ACTIVATIONS["linear"].code
        weights, biases = [*self.weights, A], [*self.biases, np.zeros(A.shape[0])]
        return pack_network(weights, biases, [*relu, output, linear])

    def restrict(self, support) -> ReLUGenerator:
        """Return the generator z_S -> G(z) with z zero off the latent coordinates S.

        The first layer keeps the columns S (the support-knowing oracle's generator).

        Parameters
        ----------
        support : array_like of int
            Distinct latent coordinates, in the order of z_S.

        Returns
        -------
        ReLUGenerator
            A generator with ``len(support)`` latent coordinates.

        Examples
        --------
        >>> import numpy as np
        >>> G = ReLUGenerator.random([5, 8, 6], np.random.default_rng(0))
        >>> z = np.array([0.0, 1.5, 0.0, -2.0, 0.0])
        >>> bool(np.allclose(G.restrict([1, 3])(np.array([1.5, -2.0])), G(z)))
        True
        """
        S = np.asarray(support)
        if S.ndim != 1 or not np.issubdtype(S.dtype, np.integer):
            raise TypeError(f"support must be a 1-D array of integers, got {support!r}")
        if S.size == 0 or np.unique(S).size != S.size or S.min() < 0 or S.max() >= self.k:
            raise ValueError(
                f"support must hold distinct coordinates in [0, {self.k}), got {support!r}"
            )
        return ReLUGenerator(
            [self.weights[0][:, S], *self.weights[1:]], self.biases, output=self.output
        )

    # ------------------------------------------------------------------ sizes
    @property
    def k(self) -> int:
        """The latent dimension."""
        return self.weights[0].shape[1]

    @property
    def n(self) -> int:
        """The output dimension."""
        return self.weights[-1].shape[0]

    @property
    def depth(self) -> int:
        """The number of layers d (weight matrices)."""
        return len(self.weights)

    @property
    def dims(self) -> tuple[int, ...]:
        """``(k, n_1, ..., n_d)`` with ``n_d = n``."""
        return (self.k, *(w.shape[0] for w in self.weights))

    @property
    def widths(self) -> tuple[int, ...]:
        """The layers' output sizes ``(n_1, ..., n_d)``."""
        return self.dims[1:]

    @property
    def max_width(self) -> int:
        """The widest layer, the output layer included (``max(widths)``)."""
        return max(self.widths)

    @property
    def relu_widths(self) -> tuple[int, ...]:
        """The widths of the ReLU layers ``(n_1, ..., n_{L-1})``: every layer but the output."""
        return self.widths[:-1]

    @property
    def relu_depth(self) -> int:
        """The d of the theory: the number of ReLU layers (``depth - 1``).

        The SDLSS sample complexity m = O(s d log(k h / s)) and the piece count
        (`sdlss_theory.theory.linear_piece_count_log`) count the layers that cut the latent
        space into linear pieces; the linear output layer adds none.
        """
        return len(self.weights) - 1

    @property
    def relu_width(self) -> int:
        """The h of the theory: the widest ReLU layer (0 for a network without one)."""
        return max(self.relu_widths, default=0)

    def __repr__(self) -> str:
        dims = ", ".join(map(str, self.dims))
        return f"ReLUGenerator(dims=[{dims}], output={self.output!r})"

    # ------------------------------------------------------------------ evaluation
    def _check_latent(self, z, name: str = "z") -> tuple[np.ndarray, bool]:
        z = as_float_array(z, name, ndim=(1, 2))
        if z.shape[-1] != self.k:
            raise ValueError(
                f"{name} must have shape ({self.k},) or (B, {self.k}) for this generator "
                f"(k={self.k}), got {z.shape}"
            )
        return np.atleast_2d(z), z.ndim == 1

    def _check_like(self, v, name: str, size: int, batch: int, single: bool) -> np.ndarray:
        v = as_float_array(v, name, ndim=(1, 2))
        expected = (size,) if single else (batch, size)
        if v.shape != expected:
            raise ValueError(f"{name} must have shape {expected} to match z, got {v.shape}")
        return np.atleast_2d(v)

    def _trace_with(self, z, other, name: str, size: int):
        """Check `z` and a batch `other` of vectors of length `size` that goes with it; trace z.

        Returns ``single``, `other` as a 2-D batch, and the layer inputs, ReLU masks and output
        of the forward pass (`_trace`).
        """
        Z, single = self._check_latent(z)
        other = self._check_like(other, name, size, Z.shape[0], single)
        return single, other, *self._trace(Z)

    def _trace(self, Z: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Forward pass on a batch, keeping each layer's input and ReLU mask."""
        inputs, masks = [Z], []
        h = Z
        for W, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            a = h @ W.T + b
            mask = a > 0
            h = np.where(mask, a, 0.0)
            masks.append(mask)
            inputs.append(h)
        out = self._output_activation.value(h @ self.weights[-1].T + self.biases[-1])
        return inputs, masks, out

    def _output_scale(self, out: np.ndarray) -> np.ndarray | None:
        derivative = self._output_activation.derivative
        return None if derivative is None else derivative(out)

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Evaluate G(z).

        Parameters
        ----------
        z : array_like, shape (k,) or (B, k)

        Returns
        -------
        ndarray, shape (n,) or (B, n)
        """
        Z, single = self._check_latent(z)
        out = self._trace(Z)[2]
        return out[0] if single else out

    __call__ = forward

    def activation_pattern(self, z: np.ndarray) -> list[np.ndarray]:
        """The on/off state of every ReLU at z: it names the linear piece z lies on.

        Parameters
        ----------
        z : array_like, shape (k,) or (B, k)

        Returns
        -------
        list of bool ndarray
            One mask per hidden layer, shape ``(n_i,)`` or ``(B, n_i)``;
            True where ``W_i h_{i-1} + b_i > 0``.
        """
        Z, single = self._check_latent(z)
        masks = self._trace(Z)[1]
        return [m[0] for m in masks] if single else masks

    # ------------------------------------------------------------------ derivatives
    def _backward(self, masks, out, V) -> list[np.ndarray]:
        """g_i, the gradient of <V, G> with respect to each layer's pre-activation."""
        scale = self._output_scale(out)
        g = V if scale is None else V * scale
        grads = [g]
        for W, mask in zip(self.weights[:0:-1], masks[::-1], strict=True):
            g = (g @ W) * mask
            grads.append(g)
        return grads[::-1]

    def vjp(self, z: np.ndarray, v: np.ndarray) -> np.ndarray:
        """J_G(z)^T v, the gradient of <v, G(z)> with respect to z.

        Recursion: g_d = sigma'(a_d) * v, g_i = D_i W_{i+1}^T g_{i+1}, result W_1^T g_1.

        Parameters
        ----------
        z : array_like, shape (k,) or (B, k)
        v : array_like, shape (n,) or (B, n)

        Returns
        -------
        ndarray, shape (k,) or (B, k)
        """
        single, V, _, masks, out = self._trace_with(z, v, "v", self.n)
        result = self._backward(masks, out, V)[0] @ self.weights[0]
        return result[0] if single else result

    def jvp(self, z: np.ndarray, u: np.ndarray) -> np.ndarray:
        """J_G(z) u, the directional derivative of G at z along u.

        Recursion: t_0 = u, t_i = D_i W_i t_{i-1}, result sigma'(a_d) * W_d t_{d-1}.

        Parameters
        ----------
        z, u : array_like, shape (k,) or (B, k)
            The point and the direction (a batch pairs its rows).

        Returns
        -------
        ndarray, shape (n,) or (B, n)
        """
        single, U, _, masks, out = self._trace_with(z, u, "u", self.k)
        t = U
        for W, mask in zip(self.weights[:-1], masks, strict=True):
            t = (t @ W.T) * mask
        t = t @ self.weights[-1].T
        scale = self._output_scale(out)
        if scale is not None:
            t = t * scale
        return t[0] if single else t

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """J_G(z) = sigma'(a_d) W_d D_{d-1} W_{d-1} ... D_1 W_1, at one z.

        Parameters
        ----------
        z : array_like, shape (k,)

        Returns
        -------
        ndarray, shape (n, k)
        """
        z = as_float_array(z, "z", ndim=(1,))
        Z, _ = self._check_latent(z)
        _, masks, out = self._trace(Z)
        J = self.weights[0]
        for W, mask in zip(self.weights[1:], masks, strict=True):
            J = W @ (J * mask[0][:, None])
        scale = self._output_scale(out)
        return J if scale is None else J * scale[0][:, None]

    def param_vjp(self, z: np.ndarray, v: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients of <v, G(z)> with respect to every weight and bias.

        dW_i = sum_batch g_i h_{i-1}^T and db_i = sum_batch g_i, with g_i from the
        backward recursion of `vjp`.

        Parameters
        ----------
        z, v
            As in `vjp`.

        Returns
        -------
        weight_grads, bias_grads : list of ndarray
            Shaped like `weights` and `biases`, summed over the batch.
        """
        single, V, inputs, masks, out = self._trace_with(z, v, "v", self.n)
        grads = self._backward(masks, out, V)
        weight_grads = [g.T @ h for g, h in zip(grads, inputs, strict=True)]
        bias_grads = [g.sum(axis=0) for g in grads]
        return weight_grads, bias_grads
