"""Figures from stored results: the paper style, byte-reproducible PDFs, the figures runner."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figures._cli import main as figures_main  # noqa: E402
from sdlss_theory.plotting import (  # noqa: E402
    OKABE_ITO,
    figure_size,
    paper_style,
    plot_rate,
    save_figure,
    style_path,
)
from sdlss_theory.sweep import wilson_interval  # noqa: E402
from simulations._cli import main as simulations_main  # noqa: E402


def test_paper_style_settings():
    assert style_path().is_file()
    with paper_style():
        rc = matplotlib.rcParams
        assert rc["pdf.fonttype"] == 42 and rc["ps.fonttype"] == 42
        assert rc["text.usetex"] is False
        cycle = rc["axes.prop_cycle"].by_key()
        colours = [c.upper().lstrip("#") for c in cycle["color"]]
        assert colours == [c.lstrip("#") for c in OKABE_ITO[: len(colours)]]
        # every curve differs from the others in line style or marker (greyscale-safe)
        pairs = list(zip(cycle["linestyle"], cycle["marker"], strict=True))
        assert len(set(pairs)) == len(pairs) and len(set(cycle["marker"])) == len(pairs)
    assert figure_size("column")[0] == 3.5 and figure_size(2.0, 0.5) == (2.0, 1.0)
    assert figure_size("page")[0] == figure_size("text")[0] == 7.16
    with pytest.raises(ValueError):
        figure_size("wide")


def _draw():
    with paper_style():
        fig, ax = plt.subplots()
        x = np.array([10, 20, 30, 40])
        k, n = np.array([0, 3, 8, 10]), 10
        lo, hi = wilson_interval(k, n)
        line = plot_rate(ax, x, k / n, lo, hi, label="rate")
        ax.set_xlabel("$m$")
        ax.legend()
    return fig, line


def test_save_figure_is_byte_reproducible_with_truetype_fonts(tmp_path):
    paths = []
    for name in ("a", "b"):
        fig, _ = _draw()
        paths.append(save_figure(fig, tmp_path / name))
        plt.close(fig)
    (pdf_a, png_a), (pdf_b, png_b) = paths
    assert pdf_a.read_bytes() == pdf_b.read_bytes()
    assert png_a.read_bytes() == png_b.read_bytes()
    pdf = pdf_a.read_bytes()
    assert b"/CreationDate" not in pdf
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # embedded TrueType, no Type 3


def test_plot_rate_draws_the_band_in_the_line_colour():
    fig, line = _draw()
    ax = fig.axes[0]
    (band,) = ax.collections
    assert np.allclose(band.get_facecolor()[0][:3], matplotlib.colors.to_rgb(line.get_color()))
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_rate(ax, [1, 2], [0.5], [0.4], [0.6])


def test_figures_runner_reads_results_and_is_reproducible(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["iht_success", "--quick", "--trials", "3", "--no-progress"]
    assert simulations_main(argv) == 0
    for out in ("one", "two"):
        assert figures_main(["iht_success", "--results", "results", "--out", out]) == 0
    for ext in ("pdf", "png"):
        one = (tmp_path / "one" / f"iht_success.{ext}").read_bytes()
        assert one == (tmp_path / "two" / f"iht_success.{ext}").read_bytes()
    capsys.readouterr()
    # No results: one clear line, exit 2, nothing written.
    assert figures_main(["iht_success", "--results", "nowhere", "--out", "three"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no results for iht_success" in err[0]
    assert figures_main(["nope", "--out", "three"]) == 2
    assert not (tmp_path / "three").exists()


def test_figures_go_under_the_current_folder_by_default(tmp_path, monkeypatch, capsys):
    """Outside a clone too: ./results in, ./figures/out out (the --help says so)."""
    monkeypatch.chdir(tmp_path)
    assert simulations_main(["iht_success", "--quick", "--trials", "2", "--no-progress"]) == 0
    assert figures_main(["iht_success"]) == 0
    assert (tmp_path / "figures" / "out" / "iht_success.pdf").is_file()
    assert simulations_main(["figures", "iht_success", "--out", "elsewhere"]) == 0
    assert (tmp_path / "elsewhere" / "iht_success.png").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        figures_main(["--help"])
    assert "./figures/out" in capsys.readouterr().out
