"""`sdlss show --format latex`: booktabs tables, precision from the intervals, and they compile.

The structure is checked everywhere; where pdflatex is installed (Debian: texlive-latex-base
and texlive-latex-recommended) the output is also compiled.
"""

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

import simulations
from sdlss_theory.sweep import format_report, run_study, study_report
from sdlss_theory.sweep.examples import TOY_STUDY, ToyConfig
from sdlss_theory.sweep.render import FORMATS, RENDERERS, latex_interval, latex_number
from simulations._cli import main

PDFLATEX = shutil.which("pdflatex")


def _number(text: str) -> float:
    return float(text.strip("$"))


# -- numbers -------------------------------------------------------------------------------------
def test_interval_precision_follows_the_half_width():
    rng = np.random.default_rng(0)
    for _ in range(500):
        scale = 10.0 ** rng.integers(-4, 5)
        lo = rng.uniform(-1, 1) * scale
        hi = lo + rng.uniform(0.01, 3) * scale
        v = rng.uniform(lo, hi)
        text = latex_interval(v, lo, hi)
        m = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", text)
        assert m, text
        shown = [_number(g) for g in m.groups()]
        decimals = {len(g.strip("$").split(".")[1]) if "." in g else 0 for g in m.groups()}
        assert len(decimals) == 1, text  # one precision for the value and its interval
        (d,) = decimals
        for exact, printed in zip((v, lo, hi), shown, strict=True):
            assert abs(printed - exact) <= 0.5 * 10.0**-d + 1e-12 * scale
        # The half-width, at that precision, has one or two significant digits (two only
        # when its leading digit is 1); integer digits are never rounded away.
        half = (hi - lo) / 2
        digits = half * 10.0**d
        assert digits >= 0.95, (text, half, d)
        if d > 0:
            assert digits < 20.5, (text, half, d)


def test_the_issue_example_and_special_values():
    assert latex_interval(0.5, 0.42, 0.59) == "0.50 [0.42, 0.59]"
    assert latex_interval(40.0, 35.0, 50.0, separated=True) == "40 (between 35 and 50)"
    assert latex_interval(float("nan"), 0.1, 0.2) == "--"
    assert latex_number(None) == "--" and latex_number(float("inf")) == r"$\infty$"
    assert latex_number(-2) == "$-2$" and latex_number(20.0) == "20"
    assert latex_number(0.71234) == "0.712" and latex_number(0.1) == "0.1"
    assert latex_number(1.5e-7) == r"\ensuremath{1.5\times10^{-7}}"
    assert latex_number("a_b & 50%") == r"a\_b \& 50\%"


# -- structure -----------------------------------------------------------------------------------
def _balanced(text: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def assert_booktabs(tex: str, study: str, trials: int) -> list[str]:
    """Check every table float of `tex`; return their labels."""
    assert r"\hline" not in tex and r"\vline" not in tex
    floats = re.findall(r"\\begin\{table\}\[tbp\](.*?)\\end\{table\}", tex, re.S)
    assert floats and tex.count(r"\begin{table}") == len(floats)
    labels = []
    for body in floats:
        assert _balanced(body), body
        (caption,) = re.findall(r"\\caption\{(.*)\}\n", body)
        assert caption.startswith(f"{study}: ".replace("_", r"\_"))
        assert "Estimand: " in caption and f"{trials} trials per cell" in caption
        (label,) = re.findall(r"\\label\{(tab:[^}]*)\}", body)
        assert re.fullmatch(r"[A-Za-z0-9_:.-]+", label), label  # nothing LaTeX would expand
        labels.append(label)
        (spec,) = re.findall(r"\\begin\{tabular\}\{(.*)\}\n", body)
        assert "|" not in spec  # no vertical rules
        n_cols = len(re.findall(r"[lrc]|p\{[^}]*\}", spec.replace("@{}", "")))
        inner = body.split(r"\toprule")[1].split(r"\bottomrule")[0]
        rows = [r for r in inner.replace(r"\midrule", "").split("\\\\\n") if r.strip()]
        assert rows
        for row in rows:  # every row has one cell per column (no unescaped &)
            assert len(re.split(r"(?<!\\)&", row)) == n_cols, row
        # Nothing LaTeX would read as markup left unescaped in the cells.
        assert not re.search(r"(?<!\\)[_%#]", inner.replace(r"\textbackslash{}", "")), inner
    assert len(set(labels)) == len(labels)
    return labels


def compile_latex(tex: str, folder) -> None:
    """Run `tex` (fragments) through pdflatex inside a minimal article; fail on any error."""
    doc = "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
    (folder / "tables.tex").write_text(doc + tex + "\\end{document}\n")
    proc = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (folder / "tables.pdf").stat().st_size > 0


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    run_study(TOY_STUDY, ToyConfig(trials=6), folder, progress="none")
    return study_report(TOY_STUDY, folder)


def test_the_formats_are_the_registered_renderers():
    assert FORMATS == tuple(RENDERERS) == ("table", "markdown", "csv", "json", "latex")


def test_a_hook_table_whose_title_holds_markup(toy_report, tmp_path):
    """A report hook's title becomes a section name with %, & and spaces: escaped in the
    caption, dropped from the label."""
    import dataclasses

    from sdlss_theory.sweep.report import ReportTable

    hook = ReportTable("50%_points_&_more", "50% points & more", ["m_50"], [{"m_50": 12.5}])
    report = dataclasses.replace(toy_report, tables=[*toy_report.tables, hook])
    tex = format_report(report, "latex", section="50%_points_&_more")
    assert assert_booktabs(tex, "toy", 6) == ["tab:toy:50-_points_-_more"]
    assert r"50\% points \& more" in tex
    if PDFLATEX:
        compile_latex(tex, tmp_path)


def test_latex_tables_of_a_report(toy_report, tmp_path):
    tex = format_report(toy_report, "latex")
    labels = assert_booktabs(tex, "toy", 6)
    assert labels == ["tab:toy:summary", "tab:toy:runs", "tab:toy:provenance"]
    # The summary's rates with their intervals, at the precision the interval supports.
    summary = toy_report.table("summary")
    for row in summary.rows:
        expected = latex_interval(row["success_rate"], row["success_lo"], row["success_hi"])
        assert expected in tex
    one = format_report(toy_report, "latex", section="summary")
    assert assert_booktabs(one, "toy", 6) == ["tab:toy:summary"]
    if PDFLATEX:
        compile_latex(tex, tmp_path)


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
def test_a_broken_table_does_not_compile(tmp_path):
    """The compile check can fail: an unescaped underscore outside math mode is an error."""
    with pytest.raises(AssertionError):
        compile_latex("\\begin{tabular}{l}\\toprule a_b \\\\ \\bottomrule\\end{tabular}\n",
                      tmp_path)  # fmt: skip


def test_show_latex_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "iht_success", "--quick", "--trials", "3", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["show", "iht_success", "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    labels = assert_booktabs(tex, "iht_success", 3)
    assert labels[:2] == ["tab:iht_success:summary", "tab:iht_success:transitions"]
    assert "success [CI]" in tex and math.isfinite(len(tex))
    if PDFLATEX:
        compile_latex(tex, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(simulations.studies()))
def test_every_study_quick_preset_compiles(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", name, "--quick", "--trials", "2", "--no-progress"]) in (0, 1)
    capsys.readouterr()
    assert main(["show", name, "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert_booktabs(tex, name, 2)
    if PDFLATEX:
        compile_latex(tex, tmp_path)
