"""Figures for the column: one width setting, reflowed panels, one panel alone, 7 pt text.

The width comes from one place (`sdlss_theory.plotting.figure_width`, set by
``sdlss figures --width``); `panel_figure` reflows named panels; the layout check flags text
under 7 pt. The runner's files are checked as a reader gets them: the PDF's page width.
"""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figures import figure_modules  # noqa: E402
from figures._cli import main as figures_main  # noqa: E402
from figures._cli import output_stem  # noqa: E402
from sdlss_theory.plotting import (  # noqa: E402
    COLUMN_WIDTH,
    PAGE_WIDTH,
    current_width,
    figure_size,
    figure_width,
    layout_problems,
    panel_figure,
    panel_grid,
    paper_style,
    resolve_width,
    selected_panels,
)
from sdlss_theory.plotting.layout import small_texts  # noqa: E402
from simulations._cli import main as simulations_main  # noqa: E402


# -- the width, from one place --------------------------------------------------------------------
def test_widths_resolve_and_bad_ones_are_refused():
    assert resolve_width("column") == COLUMN_WIDTH == 3.5
    assert resolve_width("page") == resolve_width("text") == PAGE_WIDTH == 7.16
    assert resolve_width("5") == resolve_width(5) == 5.0
    for bad in ("wide", "-1", 0, float("nan"), float("inf"), 51, True, None):
        with pytest.raises(ValueError, match="width must be"):
            resolve_width(bad)


def test_figure_width_is_a_context_that_figure_size_follows():
    assert current_width() == PAGE_WIDTH
    with figure_width("column") as w:
        assert w == 3.5 and figure_size(aspect=0.5) == (3.5, 1.75)
        with figure_width(4.2):
            assert figure_size()[0] == 4.2
        assert current_width() == 3.5
    assert figure_size()[0] == PAGE_WIDTH


def test_panel_grid_reflows_to_the_width():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        width = float(rng.uniform(1.0, 12.0))
        cap = int(rng.integers(1, 6)) if rng.random() < 0.5 else None
        rows, cols = panel_grid(n, width=width, max_columns=cap)
        assert rows * cols >= n and (rows - 1) * cols < n  # every panel, no empty row
        assert 1 <= cols <= n and (cap is None or cols <= cap)
        assert cols == 1 or width / cols >= 1.4  # no panel narrower than the minimum
    assert panel_grid(6, width="column") == (3, 2)
    assert panel_grid(6, width="page", max_columns=3) == (2, 3)


def test_panel_figure_selects_reflows_and_names_its_panels():
    names = ["a", "b", "c", "g:1", "g:2"]
    with paper_style(), figure_width("column"):
        fig, axes = panel_figure(names, aspect=0.5, wide=("c",), heights={"c": 3.0})
        assert list(axes) == names and fig.get_figwidth() == 3.5
        # a, b on the first row; c alone on the second (wide), the group on the third.
        spans = {k: (ax.get_subplotspec().rowspan, ax.get_subplotspec().colspan)
                 for k, ax in axes.items()}  # fmt: skip
        assert spans["c"] == (range(1, 2), range(0, 2))
        assert spans["g:2"][0] == range(2, 3)
        assert fig.get_figheight() >= 3.0 + 2 * 1.75 * 0.5
        plt.close(fig)
        with selected_panels(["g"]):
            fig, axes = panel_figure(names)
            assert list(axes) == ["g:1", "g:2"]
            plt.close(fig)
        with selected_panels(["nope"]), pytest.raises(KeyError, match="no panel 'nope'"):
            panel_figure(names)


def test_small_text_is_found_at_its_printed_size():
    with paper_style():
        fig, ax = plt.subplots(figsize=(3.5, 2.0))
        ax.set_xlabel("at 8 pt")
        ax.text(0.5, 0.5, "tiny", fontsize=5)
    (problem,) = [p for p in layout_problems(fig) if "smaller than" in p]
    assert "'tiny'" in problem and "5 pt" in problem
    # Printed at half its width, the 8 pt label is 4 pt.
    shrunk = {t.text: size for t, size in small_texts(fig, printed_width=1.75)}
    assert shrunk["at 8 pt"] == pytest.approx(4.0)
    assert layout_problems(fig, min_size=None) == []
    plt.close(fig)


# -- the runner -----------------------------------------------------------------------------------
def _pdf_width_points(path) -> float:
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", path.read_bytes())
    (box,) = boxes
    x0, _, x1, _ = (float(v) for v in box.split())
    return x1 - x0


def test_output_stems():
    assert output_stem("s") == output_stem("s", "page") == output_stem("s", "text") == "s"
    assert output_stem("s", "column") == "s-column"
    assert output_stem("s", "5") == output_stem("s", 5.0) == "s-5in"
    assert output_stem("s", "column", "rate") == "s-rate-column"


def test_width_and_panel_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert simulations_main(["iht_success", "--quick", "--trials", "3", "--no-progress"]) == 0
    out = tmp_path / "figures" / "out"
    assert figures_main(["iht_success", "--width", "column"]) == 0
    assert figures_main(["iht_success"]) == 0
    assert figures_main(["iht_success", "--width", "column", "--panel", "rate"]) == 0
    assert simulations_main(["figures", "iht_success", "--width", "5"]) == 0
    # The printed widths: saved tight, so at most the width asked for and close to it.
    for name, inches in (("iht_success-column", 3.5), ("iht_success", 7.16),
                         ("iht_success-rate-column", 3.5), ("iht_success-5in", 5.0)):
        width = _pdf_width_points(out / f"{name}.pdf") / 72
        assert 0.9 * inches <= width <= inches + 0.01, (name, width)
        assert b"/Subtype /Image" not in (out / f"{name}.pdf").read_bytes()  # vector
    capsys.readouterr()
    assert figures_main(["iht_success", "--panel", "list"]) == 0
    assert capsys.readouterr().out.split() == list(figure_modules()["iht_success"].PANELS)
    for argv, message in (
        (["iht_success", "--panel", "nope"], "no panel 'nope' in the iht_success figure"),
        (["all", "--panel", "rate"], "--panel needs one study"),
        (["iht_success", "--width", "huge"], "width must be 'column', 'page'"),
    ):
        assert figures_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize("name", list(figure_modules()))
def test_every_module_declares_panels_and_takes_no_width_of_its_own(name):
    import inspect

    module = figure_modules()[name]
    assert module.PANELS and len(set(module.PANELS)) == len(module.PANELS)
    source = inspect.getsource(module)
    assert "panel_figure(" in source
    assert not re.search(r"figure_size\(\s*['\"]", source)  # no fixed width
    assert not re.search(r"figsize\s*=", source)
    sizes = [float(v) for v in re.findall(r"fontsize\s*=\s*([\d.]+)", source)]
    assert all(v >= 7 for v in sizes), sizes
