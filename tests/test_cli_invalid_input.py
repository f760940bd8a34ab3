"""Random invalid command lines: exit 2, one line on stderr naming the problem, nothing written.

The CLI runs in-process on values drawn by hypothesis: `--set` assignments of the wrong type or
out of range, TOML files that are broken or hold bad values, and flag combinations that make
no sense. Each is drawn so that it is invalid by construction.
"""

import contextlib
import io
import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sdlss_theory.sweep.config import tomllib  # tomllib, or tomli before Python 3.11
from simulations._cli import main

# FUZZ_EXAMPLES=2000 explores more (the default run keeps to about 4 s).
SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)),
    suppress_health_check=[HealthCheck.too_slow],
)

# Fields of the studies' configurations, by type (from simulations/*.py).
INT_FIELDS = {
    "iht_success": ["n", "s", "max_iter", "seed", "trials"],
    "classical_phase_transition": ["n", "max_iter"],
    "latent_phase_transition": ["k", "n", "max_iter"],
}
INT_TUPLE_FIELDS = {
    "iht_success": ["m"],
    "classical_phase_transition": ["m", "s"],
    "latent_phase_transition": ["hidden", "depth", "s", "m", "restarts"],
}
FLOAT_FIELDS = {
    "iht_success": ["tol", "tol_success"],
    "classical_phase_transition": ["tol", "solver_tol"],
    "latent_phase_transition": ["tol", "solver_tol", "ident_tol"],
}
STUDIES = sorted(INT_FIELDS)
KNOWN = {
    name: set(INT_FIELDS[name] + INT_TUPLE_FIELDS[name] + FLOAT_FIELDS[name])
    | {"trials", "seed", "solvers", "init"}
    for name in STUDIES
}

words = st.from_regex(r"[A-Za-z][A-Za-z_]{0,7}", fullmatch=True)
fractions = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).filter(
    lambda v: not float(v).is_integer()
)


def _not_a_number(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return True


def _bad_int_text():
    return st.one_of(
        words,
        fractions.map(repr),
        st.sampled_from(["true", "false", "[1, 2]", '"7"', "", "1e400", "nan"]),
    )


def _bad_float_text():
    return st.one_of(
        words.filter(_not_a_number),
        st.sampled_from(["true", "[0.1]", '"0.1"', "", "nan", "inf", "-inf"]),
    )


def _bad_tuple_text():
    return st.one_of(
        st.sampled_from(["[]", "1,x", "[1, true]", "[1.5]", "[[1]]", ",", '["2"]']),
        st.tuples(st.integers(1, 50), words).map(lambda p: f"{p[0]},{p[1]}"),
        fractions.map(lambda v: f"2,{v!r}"),
    )


@st.composite
def bad_assignment(draw):
    """(study, --set item, a text the error line must contain)."""
    study = draw(st.sampled_from(STUDIES))
    kind = draw(st.sampled_from(["int", "float", "tuple", "unknown", "range", "malformed"]))
    if kind == "int":
        key = draw(st.sampled_from(INT_FIELDS[study]))
        return study, f"{key}={draw(_bad_int_text())}", f"'{key}'"
    if kind == "float":
        key = draw(st.sampled_from(FLOAT_FIELDS[study]))
        return study, f"{key}={draw(_bad_float_text())}", f"'{key}'"
    if kind == "tuple":
        key = draw(st.sampled_from(INT_TUPLE_FIELDS[study]))
        return study, f"{key}={draw(_bad_tuple_text())}", f"'{key}'"
    if kind == "unknown":
        key = draw(words.filter(lambda w: w not in KNOWN[study]))
        return study, f"{key}={draw(st.integers())}", f"unknown key '{key}'"
    if kind == "range":  # well-typed, refused by the configuration's own checks
        key, value = draw(
            st.sampled_from(
                [
                    ("trials", draw(st.integers(-(10**6), 0))),
                    ("seed", draw(st.integers(-(10**6), -1))),
                    ("n", draw(st.integers(-(10**6), 0))),
                    ("max_iter", draw(st.integers(-(10**6), 0))),
                ]
            )
        )
        return study, f"{key}={value}", f"{key} must be"
    item = draw(st.one_of(words, st.just("=3"), words.map(lambda w: f" ={w}")))
    return study, item, "--set expects key=value"


@contextlib.contextmanager
def _fresh_folder():
    """Run in an empty temporary folder; yield it."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(old)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def _assert_refused(argv, must_contain, folder, allowed=()):
    status, out, err = _run(argv)
    assert status == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, (argv, err)
    assert lines[0].startswith("python -m simulations") and ": error: " in lines[0]
    assert must_contain in lines[0], (argv, lines[0])
    assert "Traceback" not in err and out == ""
    assert sorted(p.name for p in folder.iterdir()) == sorted(allowed), argv


@SETTINGS
@given(bad_assignment(), st.booleans())
def test_invalid_set_values(case, legacy):
    study, item, must_contain = case
    argv = ["--quick", "--set", item]
    argv = [study, *argv] if legacy else ["run", study, *argv]
    with _fresh_folder() as folder:
        _assert_refused(argv, must_contain, folder)


@st.composite
def bad_toml(draw):
    """(study, TOML text, a text the error line must contain)."""
    study = draw(st.sampled_from(STUDIES))
    kind = draw(st.sampled_from(["syntax", "table", "type", "unknown"]))
    if kind == "syntax":
        text = draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40))
        text = draw(st.sampled_from(["n = ", "m = [1, 2", "= 3", "[x", "a b"])) + text
        try:
            tomllib.loads(text)
            assume(False)
        except tomllib.TOMLDecodeError:
            pass
        return study, text, "is not valid TOML"
    if kind == "table":
        key = draw(st.one_of(words, st.sampled_from(INT_FIELDS[study])))
        text = draw(st.sampled_from([f"[{key}]\nx = 1\n", f"{key} = {{ a = 1 }}\n"]))
        return study, text, f"tables ([{key}]) are not supported"
    if kind == "type":
        key = draw(st.sampled_from(INT_FIELDS[study] + FLOAT_FIELDS[study]))
        value = draw(st.sampled_from(['"text"', "true", "[1, 2]", "[]"]))
        return study, f"{key} = {value}\n", f"'{key}'"
    key = draw(words.filter(lambda w: w not in KNOWN[study]))
    return study, f"{key} = 1\n", f"unknown key '{key}'"


@SETTINGS
@given(bad_toml())
def test_invalid_toml_files(case):
    study, text, must_contain = case
    with _fresh_folder() as folder:
        (folder / "bad.toml").write_text(text, encoding="utf-8")
        argv = ["run", study, "--quick", "--config", "bad.toml"]
        _assert_refused(argv, must_contain, folder, allowed=["bad.toml"])


@st.composite
def bad_flags(draw):
    """(argv after the study, a text the error line must contain)."""
    options = draw(
        st.lists(st.sampled_from(["--fresh", "--trials-csv", "--fail-fast", "--retry-errors"]))
    )
    kind = draw(st.integers(0, 9))
    if kind == 0:
        flags = ["--trials", str(draw(st.integers(-(10**9), 0)))]
        must = "argument --trials"
    elif kind == 1:
        flags = ["--n-jobs", str(draw(st.one_of(st.just(0), st.integers(-(10**9), -2))))]
        must = "argument --n-jobs"
    elif kind == 2:
        flags = ["--seed", str(draw(st.integers(-(10**9), -1)))]
        must = "argument --seed"
    elif kind == 3:
        bad = draw(st.one_of(st.floats(max_value=0.0).map(repr), words.filter(_not_a_number)))
        flags = ["--scheduler", "tcp://127.0.0.1:1", f"--scheduler-timeout={bad}"]
        must = "argument --scheduler-timeout"
    elif kind == 4:
        flags = ["--scheduler-file", "s.json", "--min-workers", str(draw(st.integers(-99, 0)))]
        must = "argument --min-workers"
    elif kind == 5:
        flags = ["--backend", "sequential", "--n-jobs", str(draw(st.integers(2, 64)))]
        must = "--backend sequential runs one job"
    elif kind == 6:
        flags = ["--scheduler", "tcp://127.0.0.1:1", "--scheduler-file", "s.json"]
        must = "not both"
    elif kind == 7:
        backend = draw(st.sampled_from(["loky", "sequential"]))
        which = draw(st.sampled_from(["--scheduler", "--scheduler-file"]))
        flags = [which, "x", "--backend", backend]
        must = f"{which} needs --backend dask"
    elif kind == 8:
        flags = ["--min-workers", str(draw(st.integers(1, 99)))]
        must = "--min-workers needs --scheduler"
    else:
        flag = "--" + draw(words.filter(lambda w: w.lower() not in {"h", "he", "hel", "help"}))
        assume(flag not in {"--quick", "--config", "--set", "--trials", "--seed", "--out",
                            "--threads"})  # fmt: skip
        flags = [flag]
        must = f"unrecognized arguments: {flag}"
    argv = draw(st.permutations(options + ["--quick"]))
    return [*argv, *flags], must


@SETTINGS
@given(bad_flags(), st.sampled_from(["run", "all"]))
def test_invalid_flag_combinations(case, command):
    flags, must_contain = case
    argv = ["run", "iht_success", *flags] if command == "run" else ["all", *flags]
    with _fresh_folder() as folder:
        _assert_refused(argv, must_contain, folder)


@pytest.mark.parametrize(
    ("flags", "must"),
    [
        (["--threads", "0"], "argument --threads: the BLAS threads per task must be >= 1"),
        (["--threads", "two"], "argument --threads: expected an integer"),
        (["--checkpoint-every", "-1"], "argument --checkpoint-every: the checkpoint interval"),
        (["--checkpoint-every", "nan"], "argument --checkpoint-every: the checkpoint interval"),
        (["--checkpoint-every", "soon"], "argument --checkpoint-every: expected a number"),
    ],
)
def test_invalid_threads_and_checkpoint_interval(flags, must):
    with _fresh_folder() as folder:
        _assert_refused(["run", "iht_success", "--quick", *flags], must, folder)
