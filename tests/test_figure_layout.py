"""Figures fit for a paper: no two drawn text elements overlap, none sticks out of the figure,
none is smaller than 7 pt, at the column width (3.5 in) and at the page width (7.16 in).

`sdlss_theory.plotting.layout_problems` is checked against figures with planted faults, then
applied to the figures of `figures/` drawn from real stored results: in the default run the
figures of iht_success, classical_phase_transition and latent_phase_transition at their quick
presets (2 trials per cell); in the slow run every figure module (whatever study it belongs
to) at its quick preset, each of its panels alone, and those three also at their default
(paper) presets.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figures import figure_modules  # noqa: E402
from figures._cli import layout_problems as figure_problems  # noqa: E402
from sdlss_theory.plotting import figure_size, layout_problems, paper_style  # noqa: E402
from sdlss_theory.plotting.layout import (  # noqa: E402
    clipped_texts,
    drawn_texts,
    overlapping_texts,
)
from simulations import studies  # noqa: E402
from simulations._cli import main  # noqa: E402

MINE = ["classical_phase_transition", "iht_success", "latent_phase_transition"]


# -- the check itself -------------------------------------------------------------------------
def _clean_figure():
    with paper_style():
        fig, ax = plt.subplots(figsize=figure_size("column"))
        ax.plot([1, 2, 3], [1, 4, 9], label="squares")
        ax.set_xlabel("$m$")
        ax.set_ylabel("value")
        ax.set_title("a clean figure")
        ax.legend(loc="upper left")
    return fig


def test_a_clean_figure_has_no_problems():
    fig = _clean_figure()
    texts = {t.text for t in drawn_texts(fig)}
    assert {"squares", "$m$", "value", "a clean figure"} <= texts
    assert layout_problems(fig) == []
    plt.close(fig)


def test_overlapping_texts_are_found_and_named():
    fig = _clean_figure()
    ax = fig.axes[0]
    ax.text(2, 5, "first note", ha="center")
    ax.text(2, 5, "second note", ha="center")  # drawn on top of the first
    pairs = overlapping_texts(fig)
    assert [(a.text, b.text) for a, b in pairs] == [("first note", "second note")]
    (problem,) = layout_problems(fig)
    assert problem.startswith("overlap: 'first note'") and "'second note'" in problem
    plt.close(fig)


def test_a_legend_on_a_tick_label_is_found():
    """The srec_constants fault: a legend placed over the axis' tick labels."""
    with paper_style():
        fig, ax = plt.subplots(figsize=figure_size("column"))
        ax.plot([0, 1], [0, 1], label="one A per trial")
        ax.set_yticks([0.0, 0.4, 0.8])
        ax.legend(loc="center right", bbox_to_anchor=(0.02, 0.4))  # ends on the "0.4" label
    problems = layout_problems(fig)
    assert any("legend text" in p and "y tick label" in p for p in problems), problems
    plt.close(fig)


def test_crowded_tick_labels_are_found_and_hidden_ticks_ignored():
    with paper_style():
        fig, ax = plt.subplots(figsize=(2.0, 1.5))
        ax.set_xticks(np.arange(0, 200, 5), [f"{v}" for v in range(0, 200, 5)])
        ax.set_xlim(0, 200)
    assert any("x tick label" in p for p in layout_problems(fig))
    ax.set_xlim(0, 12)  # ticks 0, 5, 10 drawn; the other 37 labels are not
    assert [t.text for t in drawn_texts(fig) if t.text.isdigit()] == ["0", "5", "10"]
    assert layout_problems(fig) == []
    plt.close(fig)


def test_text_outside_the_figure_is_found():
    fig = _clean_figure()
    fig.text(0.98, 0.5, "a long note that runs off the page")
    (clipped,) = clipped_texts(fig)
    assert clipped.text == "a long note that runs off the page"
    assert layout_problems(fig) == [
        "outside the figure: 'a long note that runs off the page' (Text of the figure)"
    ]
    plt.close(fig)


# -- every figure, from stored results --------------------------------------------------------
def _results(tmp_path_factory, name: str, *extra: str):
    """Run study `name` by the CLI (quick preset unless told otherwise) into a fresh folder."""
    folder = tmp_path_factory.mktemp(name)
    argv = ["run", name, *extra, "--no-progress", "--out", str(folder / name)]
    assert main(argv) in (0, 1)  # 1: some trials raised; the figure must still be drawn
    return folder


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Study name -> a folder with its quick-preset results (2 trials per cell), run once."""
    runs: dict[str, object] = {}

    def get(name: str):
        if name not in runs:
            runs[name] = _results(tmp_path_factory, name, "--quick", "--trials", "2")
        return runs[name]

    return get


def assert_clean_layout(name: str, results, width="page", panel=None) -> None:
    """Draw figure `name` from `results/<name>` as it is saved, at `width` (one panel if
    given); require no text problem (overlap, cut off, under 7 pt)."""
    problems = figure_problems(name, figure_modules()[name], results, width=width, panel=panel)
    where = f"{name} at {width}" + (f", panel {panel}" if panel else "")
    assert problems == [], f"{where}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("width", ["column", "page"])
@pytest.mark.parametrize("name", MINE)
def test_figures_at_their_quick_presets(name, width, quick):
    assert_clean_layout(name, quick(name), width)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(figure_modules()))
def test_every_figure_at_its_quick_preset(name, quick):
    assert name in studies()  # a figure belongs to a study
    for width in ("column", "page"):
        assert_clean_layout(name, quick(name), width)
    for panel in figure_modules()[name].PANELS:  # each panel alone, in one column
        try:
            assert_clean_layout(name, quick(name), "column", panel)
        except KeyError:  # a panel this run has no data for (pml_tuning's methods)
            continue


@pytest.mark.slow
@pytest.mark.parametrize("width", ["column", "page"])
@pytest.mark.parametrize("name", MINE)
def test_figures_at_their_default_presets(name, width, tmp_path_factory):
    assert_clean_layout(name, _results(tmp_path_factory, name, "--trials", "1"), width)
