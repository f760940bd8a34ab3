"""Seeds derived from parameters, and typed configuration overrides / TOML round trips."""

import dataclasses
from typing import Literal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdlss_theory.sweep import (
    ConfigError,
    StudyConfig,
    apply_overrides,
    canonical_json,
    cell_key,
    config_from_toml,
    config_hash,
    config_to_toml,
    parse_assignments,
    task_rng,
    task_seed_sequence,
)

params_st = st.dictionaries(
    st.text(min_size=1, max_size=5),
    st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.text(max_size=5),
        st.lists(st.integers(0, 100), max_size=3),
    ),
    max_size=5,
)


@given(params_st)
def test_cell_key_ignores_key_order(params):
    reordered = dict(reversed(list(params.items())))
    assert cell_key(params) == cell_key(reordered)
    assert canonical_json(params) == canonical_json(reordered)


def test_numpy_scalars_key_like_python_scalars():
    assert cell_key({"m": np.int64(40), "p": np.float64(0.5), "b": np.bool_(True)}) == cell_key(
        {"m": 40, "p": 0.5, "b": True}
    )
    assert cell_key({"w": (60, 120)}) == cell_key({"w": [60, 120]})


def test_distinct_cells_get_distinct_streams():
    keys = {cell_key({"m": m, "s": s}) for m in range(50) for s in range(10)}
    assert len(keys) == 500
    a = task_rng(0, {"m": 1}, 0).standard_normal(8)
    b = task_rng(0, {"m": 2}, 0).standard_normal(8)
    c = task_rng(0, {"m": 1}, 1).standard_normal(8)
    d = task_rng(1, {"m": 1}, 0).standard_normal(8)
    for other in (b, c, d):
        assert not np.allclose(a, other)
    np.testing.assert_array_equal(a, task_rng(0, {"m": 1}, 0).standard_normal(8))


def test_seed_sequence_layout():
    key = cell_key({"m": 3})
    seq = task_seed_sequence(7, key, 5)
    assert seq.entropy == 7
    assert seq.spawn_key == (*(int(key[i : i + 8], 16) for i in range(0, 32, 8)), 5)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="finite"):
        cell_key({"x": float("nan")})
    with pytest.raises(TypeError, match="object"):
        cell_key({"x": object()})
    with pytest.raises(ValueError, match="cell key"):
        task_seed_sequence(0, "abc", 0)


@dataclasses.dataclass(frozen=True)
class _Cfg(StudyConfig):
    n: int = 10
    tol: float = 1e-3
    m: tuple[int, ...] = (1, 2)
    solver: Literal["iht", "niht"] = "iht"
    label: str = "x"
    flag: bool = False
    widths: tuple[float, ...] = (0.5,)

    @classmethod
    def quick(cls):
        return cls(trials=3)


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("n", "40", 40),
        ("tol", "1e-6", 1e-6),
        ("tol", "2", 2.0),
        ("m", "20,40,60", (20, 40, 60)),
        ("m", "[20, 40]", (20, 40)),
        ("m", "7", (7,)),
        ("solver", "niht", "niht"),
        ("label", "true", "true"),
        ("flag", "true", True),
        ("widths", "1,2.5", (1.0, 2.5)),
    ],
)
def test_overrides_are_typed(key, text, expected):
    cfg = apply_overrides(_Cfg(), parse_assignments([f"{key}={text}"]))
    value = getattr(cfg, key)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("n", "1.5"),
        ("n", "abc"),
        ("tol", "x"),
        ("m", "1,x"),
        ("solver", "cosamp"),
        ("flag", "1"),
        ("trials", "0"),
    ],
)
def test_bad_values_are_refused(key, text):
    with pytest.raises(ConfigError, match=key if key != "trials" else "trials"):
        apply_overrides(_Cfg(), {key: text})


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown key 'nn'.*valid keys: trials, seed, n, tol"):
        apply_overrides(_Cfg(), {"nn": "1"})
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["n"])


def test_toml_round_trip(tmp_path):
    cfg = _Cfg(n=7, tol=0.25, m=(3, 5), solver="niht", label='a "b"', flag=True, seed=3)
    path = tmp_path / "c.toml"
    path.write_text(config_to_toml(cfg, header="a comment"))
    assert config_from_toml(_Cfg(), path) == cfg
    path.write_text("n = 1\nbogus = 2\n")
    with pytest.raises(ConfigError, match="bogus"):
        config_from_toml(_Cfg(), path)
    with pytest.raises(ConfigError, match="not found"):
        config_from_toml(_Cfg(), tmp_path / "missing.toml")


def test_config_hash_ignores_trials_only():
    base = config_hash("s", _Cfg())
    assert config_hash("s", _Cfg(trials=500)) == base
    assert config_hash("s", _Cfg(n=11)) != base
    assert config_hash("s", _Cfg(seed=1)) != base
    assert config_hash("t", _Cfg()) != base
