"""The exact minimum over a pair's difference cone through simplicial parts of its pieces.

`srec_bounds` refines a pair of pieces exactly by examining the faces of their difference
cone, up to ``max_generators`` generators. At s = 3 most bias-free pieces have more extreme
directions than that; the pair is then split into parts of 1 + 2s generators
(`simplicial_split`), whose least minimum is the pair's. Checked here against the whole cone
examined face by face (a large ``max_generators``, no split) and against the cover property
of the split itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import nnls

from sdlss_theory import ReLUGenerator, gaussian_matrix, srec
from sdlss_theory.srec.relaxation import simplicial_split


def _pointed_cone(rng, r, s):
    """r rays of a pointed cone in R^s: positive directions around a random axis."""
    axis = rng.standard_normal(s)
    axis /= np.linalg.norm(axis)
    R = rng.standard_normal((r, s)) * 0.6 + axis
    return R[R @ axis > 0.05]


@pytest.mark.parametrize("s", [2, 3, 4])
def test_simplicial_split_covers_the_cone_with_parts_of_s_rays(s):
    rng = np.random.default_rng(s)
    for _ in range(20):
        R = _pointed_cone(rng, 9, s)
        parts = simplicial_split(R)
        assert parts is not None and parts.shape[1] == min(s, len(R))
        # Every point of cone(R) lies in some part: a random non-negative combination is
        # reproduced with non-negative weights on one part's rays.
        for c in rng.exponential(size=(30, len(R))):
            x = c @ R
            residuals = [nnls(R[part].T, x)[1] for part in parts]
            assert min(residuals) <= 1e-9 * np.linalg.norm(x)
        # Every part lies in the cone (its rays are rays of R).
        assert parts.min() >= 0 and parts.max() < len(R)


def test_simplicial_split_refuses_what_it_cannot_split():
    assert simplicial_split(np.array([[1.0], [-1.0]])) is None  # a line: not pointed
    coplanar = np.array([[1.0, 0, 1], [0, 1, 1], [1, 1, 2], [2, 1, 3]])  # spans a plane
    assert simplicial_split(coplanar) is None


# Networks where some pair's cone has more than 8 generators and the span's worst direction
# lies outside it, so that without the split the bracket stays open (checked below).
@pytest.mark.parametrize(
    ("widths", "m", "seed"),
    [([4, 5, 10], 8, 1),
     pytest.param([4, 6, 10], 8, 0, marks=pytest.mark.slow),
     pytest.param([4, 6, 10], 8, 2, marks=pytest.mark.slow)],
)  # fmt: skip
def test_split_refinement_equals_the_whole_cone_examined_face_by_face(
    widths, m, seed, monkeypatch
):
    from sdlss_theory.srec import relaxation

    rng = np.random.default_rng(seed)
    G = ReLUGenerator.random(widths, rng)
    A = gaussian_matrix(m, widths[-1], rng)
    split = srec.srec_bounds(G, A, 3, rng=0)  # max_generators = 8: pairs are split
    whole = srec.srec_bounds(G, A, 3, rng=0, max_generators=64)  # no pair is split
    assert split.certified and whole.certified and whole.exact
    assert split.exact
    assert split.lower == pytest.approx(whole.lower, rel=1e-9)
    assert split.upper == pytest.approx(whole.upper, rel=1e-9)
    # Without the split the same call keeps span values: a lower bound, not the minimum.
    monkeypatch.setattr(relaxation, "simplicial_split", lambda R: None)
    unsplit = srec.srec_bounds(G, A, 3, rng=0)
    assert unsplit.certified and not unsplit.exact
    assert unsplit.lower < split.lower
