"""Stores that cannot be used: one line naming the file and what to do, exit 2, nothing lost."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdlss_theory.sweep import (
    STORE_NAME,
    ResultStore,
    StoreBusyError,
    StoreError,
    lock_holder,
    run_study,
)
from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig
from sdlss_theory.sweep.store import SCHEMA_VERSION
from simulations._cli import main

REPO = Path(__file__).resolve().parents[1]
RUN = ["run", "iht_success", "--quick", "--trials", "2", "--no-progress"]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(folder: Path) -> dict:
    """Every file under `folder` with its bytes and modification time."""
    return {
        p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


def _make_store(path: Path, trials: int = 300) -> None:
    run_study(TOY_STUDY, ToyConfig(trials=trials, size=2), path.parent, progress="none")


def _refused_everywhere(in_tmp, capsys, expected: str) -> None:
    """run, run --fresh, show and figures all refuse results/iht_success/store.sqlite."""
    folder = in_tmp / "results" / "iht_success"
    before = _snapshot(in_tmp)
    for argv in (RUN, [*RUN, "--fresh"], ["show", "iht_success"]):
        assert main(argv) == 2, argv
        line = _one_error_line(capsys)
        assert str(Path("results") / "iht_success" / STORE_NAME) in line, line
        assert expected in line, line
        assert "choose another --out" in line or "upgrade" in line, line
        assert _snapshot(in_tmp) == before  # nothing written, renamed or deleted
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in folder.iterdir() if (p.relative_to(in_tmp)) in before
    )


def test_a_file_that_is_not_a_database(in_tmp, capsys):
    folder = in_tmp / "results" / "iht_success"
    folder.mkdir(parents=True)
    (folder / STORE_NAME).write_bytes(b"these are somebody's notes, not a database\n" * 50)
    _refused_everywhere(in_tmp, capsys, "is not an SQLite database")


def test_a_truncated_copy_of_a_store(in_tmp, capsys):
    folder = in_tmp / "results" / "iht_success"
    _make_store(in_tmp / "toy" / STORE_NAME)
    data = (in_tmp / "toy" / STORE_NAME).read_bytes()
    assert len(data) > 100_000  # many pages, so that half of them go missing
    shutil.rmtree(in_tmp / "toy")
    folder.mkdir(parents=True)
    (folder / STORE_NAME).write_bytes(data[: len(data) // 2])
    _refused_everywhere(in_tmp, capsys, "is a damaged SQLite database")


def test_a_database_of_another_program(in_tmp, capsys):
    folder = in_tmp / "results" / "iht_success"
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / STORE_NAME) as con:
        con.execute("CREATE TABLE users (name TEXT, email TEXT)")
        con.execute("INSERT INTO users VALUES ('ada', 'ada@example.org')")
    con.close()
    _refused_everywhere(in_tmp, capsys, "is an SQLite database of another program (tables: users)")


def test_a_store_of_a_newer_schema(in_tmp, capsys):
    assert main(RUN) == 0
    capsys.readouterr()
    path = in_tmp / "results" / "iht_success" / STORE_NAME
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    _refused_everywhere(
        in_tmp,
        capsys,
        f"was written by a newer sdlss-theory (store schema 99; this version reads up to "
        f"{SCHEMA_VERSION}); upgrade",
    )


def test_the_library_raises_store_error_before_writing(tmp_path):
    path = tmp_path / STORE_NAME
    path.write_bytes(b"\x00garbage" * 100)
    before = path.read_bytes()
    for readonly in (True, False):
        with pytest.raises(StoreError, match="not an SQLite database"):
            ResultStore(path, readonly=readonly)
    with pytest.raises(StoreError, match="not an SQLite database"):
        run_study(TOY_STUDY, ToyConfig(trials=1), tmp_path, progress="none")
    with pytest.raises(StoreError, match="not an SQLite database"):
        run_study(TOY_STUDY, ToyConfig(trials=1), tmp_path, progress="none", fresh=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [STORE_NAME]


def test_a_schema_1_store_is_read_and_upgraded_on_the_next_run(tmp_path):
    _make_store(tmp_path / STORE_NAME, trials=3)
    # Make it the store an earlier version wrote: no runs table, schema_version 1.
    with sqlite3.connect(tmp_path / STORE_NAME) as con:
        con.execute("DROP TABLE runs")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        assert store.schema_version == 1 and store.runs() == []
        tasks = list(store.records())
    report = run_study(TOY_STUDY, ToyConfig(trials=4, size=2), tmp_path, progress="none")
    assert (report.n_resumed, report.n_run) == (9, 3)
    with ResultStore(tmp_path / STORE_NAME, readonly=True) as store:
        assert store.schema_version == 2 and store.meta()["schema_version"] == "2"
        (run,) = store.runs()
        after = {(r.cell_key, r.trial): r for r in store.records()}
    assert run["outcome"] == "finished" and (run["n_resumed"], run["n_run"]) == (9, 3)
    for rec in tasks:  # the old tasks are kept as they were
        assert after[(rec.cell_key, rec.trial)] == rec


def _stored_tasks(path: Path) -> int:
    """Tasks in the store of a running study (0 before it exists)."""
    try:
        with ResultStore(path, readonly=True) as store:
            return sum(store.count().values())
    except (FileNotFoundError, StoreError, StoreBusyError):
        return 0


_LONG_RUN = """
import sys
from simulations._cli import main
sys.exit(main(["run", "iht_success", "--quick", "--trials", "100000", "--no-progress"]))
"""


def test_a_store_locked_by_a_live_run(in_tmp, capsys):
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", _LONG_RUN], cwd=in_tmp, env=env)
    folder = in_tmp / "results" / "iht_success"
    try:
        deadline = time.monotonic() + 120
        while lock_holder(folder) is None or _stored_tasks(folder / STORE_NAME) < 10:
            assert proc.poll() is None, "the run ended before the test could see it"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        holder = lock_holder(folder)
        assert holder.startswith(f"pid {proc.pid} on ")
        # A second run into the same folder: one line naming the holder, nothing touched.
        store_before = (folder / STORE_NAME).stat().st_ino
        assert main(["run", "iht_success", "--quick", "--trials", "100000", "--no-progress"]) == 2
        line = _one_error_line(capsys)
        assert f"is being written by another run (pid {proc.pid} on " in line
        assert "wait for it to finish or choose another --out" in line
        assert (folder / STORE_NAME).stat().st_ino == store_before
        # `show` reads it while it runs, and says so.
        assert main(["show", "iht_success", "--section", "provenance"]) == 0
        text = capsys.readouterr().out
        assert f"running now (pid {proc.pid} on " in text
        assert " pending, of 700000 " in text
    finally:
        proc.kill()
        proc.wait()
    assert lock_holder(folder) is None  # released by the dying process
    assert main(["show", "iht_success", "--section", "provenance"]) == 0
    assert "incomplete: the last run was killed" in capsys.readouterr().out
