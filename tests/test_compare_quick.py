"""benchmarks/compare_quick.py: equal summaries are found equal, and every difference is named."""

import importlib.util
import math
from pathlib import Path

import pytest

from sdlss_theory.sweep import write_csv

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "compare_quick.py"
spec = importlib.util.spec_from_file_location("compare_quick", SCRIPT)
cq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cq)


def _rows(rate=0.5, cpu=1.0, **extra):
    return [
        {"m": m, **extra, "n_ok": 4, "success_rate": rate if m == 2 else 1.0, "x_mean": 0.1 + m,
         "cpu_ms_mean": cpu}  # fmt: skip
        for m in (1, 2, 3)
    ]


def _study(root: Path, name: str, rows: list[dict]) -> None:
    (root / name).mkdir(parents=True)
    write_csv(rows, root / name / "summary.csv")


def test_identical_folders_agree_and_each_difference_is_listed(tmp_path, capsys):
    before, after = tmp_path / "before", tmp_path / "after"
    _study(before, "same", _rows())
    _study(after, "same", _rows(cpu=2.0))  # a timing differs in any two runs
    assert cq.main([str(before), str(after)]) == 0
    assert "same: summary.csv identical (3 rows; timings differ as in any two runs: " \
        "cpu_ms_mean)" in capsys.readouterr().out
    assert cq.main([str(before), str(after), "--timing", "^$"]) == 1  # unless they count

    _study(before, "changed", _rows(rep=0))
    _study(after, "changed", _rows(rate=0.75))
    assert cq.compare_summaries(before / "changed" / "summary.csv",
                                after / "changed" / "summary.csv") == ([
        "column 'rep' only before (0)",
        "column 'success_rate': 1 of 3 rows differ",
        "    row 1 (m=2): 0.5 -> 0.75",
    ], [])  # fmt: skip
    _study(before, "gone", _rows())
    assert cq.main([str(before), str(after)]) == 1
    out = capsys.readouterr().out
    assert "changed: summary.csv differs" in out and f"gone: only in {before}" in out
    assert cq.main([str(before), str(after), "--studies", "same"]) == 0


def test_a_fitted_row_may_differ_only_where_the_old_fit_had_no_point():
    old = {"t": [{"s": 1, "m_50": math.nan, "method": "none"}, {"s": 2, "m_50": 3.0}]}
    new = {"t": [{"s": 1, "m_50": 2.5, "method": "firth"}, {"s": 2, "m_50": 3.0}]}
    bad, allowed = cq.compare_tables(old, new)
    assert not bad and len(allowed) == 1 and "row 0" in allowed[0]
    moved = {"t": [{"s": 1, "m_50": 2.5, "method": "firth"}, {"s": 2, "m_50": 3.5}]}
    bad, allowed = cq.compare_tables(old, moved)
    assert len(bad) == 1 and "row 1" in bad[0] and len(allowed) == 1
    assert cq.compare_tables(old, {})[0] == ["table 't' only before"]
    timed = {"t": [{"s": 1, "m_50": 1.0, "cpu_ms_mean": 0.5}]}
    assert cq.compare_tables(timed, {"t": [{"s": 1, "m_50": 1.0, "cpu_ms_mean": 0.9}]}) == ([], [])


def test_usage_errors(tmp_path):
    with pytest.raises(SystemExit):
        cq.main([str(tmp_path), str(tmp_path), "--before-code", "."])
    with pytest.raises(SystemExit):
        cq.main([str(tmp_path / "nowhere"), str(tmp_path)])
    assert cq.main([str(tmp_path), str(tmp_path)]) == 2  # no study folder at all
