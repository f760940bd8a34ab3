"""The network of issue 19 with one linear region as thin as we like, and a matrix that sees it.

G: R -> R^3, one hidden layer of three units with breakpoints at z = 0, a and a + d: on
[a, a + d] the output moves along v = (1, 0, 1) / sqrt(2), elsewhere along other directions.
A shrinks v by 0.1 and keeps its orthogonal complement, so the worst pair (ratio 0.1) lies in
the region of width d, and every pair elsewhere has a ratio near 0.7 or above.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory import ReLUGenerator


def thin_network(d: float, a: float = 10.0) -> ReLUGenerator:
    """The 1 -> 3 -> 3 network whose region [a, a + d] has width d."""
    W1 = np.ones((3, 1))
    W2 = np.array([[0.0, 1.0, -1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    return ReLUGenerator([W1, W2], [np.array([0.0, -a, -a - d]), np.zeros(3)])


def thin_sensing() -> np.ndarray:
    """The symmetric matrix with eigenvalue 0.1 along (1, 0, 1) / sqrt(2), 1 elsewhere."""
    v = np.array([1.0, 0.0, 1.0]) / np.sqrt(2.0)
    Q = np.linalg.qr(np.column_stack([v, np.eye(3)]))[0]
    return Q @ np.diag([0.1, 1.0, 1.0]) @ Q.T


def thin_pair_ratio(G: ReLUGenerator, A: np.ndarray, d: float, a: float = 10.0) -> float:
    """The ratio of an explicit pair inside the thin region (z = a and z = a + d / 2)."""
    dx = G(np.array([a + d / 2])) - G(np.array([a]))
    return float(np.linalg.norm(A @ dx) / np.linalg.norm(dx))
