"""`sdlss report`: one HTML page and one Markdown page of every study.

The fast tests parse the page's structure; the slow test opens it in headless Chromium (the
distribution's package) and checks a screenshot for the studies' sections and the figure.
"""

import dataclasses
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

import simulations
from sdlss_theory.sweep import study_report
from sdlss_theory.sweep.report import changed_settings
from simulations._cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STUDY_BLUE = (0x00, 0x72, 0xB2)  # h2 of a study with a run
NEVER_GREY = (0x88, 0x88, 0x88)  # h2 of a study never run


class _Page(HTMLParser):
    """Sections (id -> list of h3 ids, images, text) of the report page."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current = None
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            self.current = {"h3": [], "img": [], "text": []}
            self.sections[attrs["id"]] = self.current
        elif self.current is not None and tag == "h3":
            self.current["h3"].append(attrs.get("id"))
        elif self.current is not None and tag == "img":
            self.current["img"].append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current["text"].append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """iht_success run at its quick preset with 3 trials, every other study never run."""
    root = tmp_path_factory.mktemp("site")
    results, out = root / "results", root / "report"
    argv = ["run", "iht_success", "--quick", "--trials", "3", "--no-progress",
            "--out", str(results / "iht_success")]  # fmt: skip
    assert main(argv) == 0
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    return results, out


def test_the_page_lists_every_study_with_its_sections(site):
    results, out = site
    page = _Page()
    page.feed((out / "index.html").read_text())
    names = list(simulations.studies())
    assert list(page.sections) == [f"study-{n}" for n in names]
    assert page.scripts == 0  # a static page
    ran = page.sections["study-iht_success"]
    assert ran["h3"] == [f"iht_success-{part}" for part in
                         ("estimand", "settings", "figure", "tables", "verdicts", "provenance")]
    (img,) = ran["img"]
    assert img == "figures/iht_success.png" and (out / img).stat().st_size > 10_000
    assert (out / "figures" / "iht_success.pdf").exists()
    for name in names[1:]:
        if name != "iht_success":
            text = " ".join(page.sections[f"study-{name}"]["text"])
            assert "Never run" in text and f"sdlss run {name} --quick" in text


def test_the_page_shows_what_show_prints(site):
    results, out = site
    study = simulations.studies()["iht_success"]
    report = study_report(study, results / "iht_success")
    html = (out / "index.html").read_text()
    section = html.split('id="study-iht_success"')[1].split("</section>")[0]
    # The summary's intervals as sdlss show prints them, and the fitted transition.
    for row in report.table("summary").rows:
        rate = f"{row['success_rate']:.2f} [{row['success_lo']:.2f}, {row['success_hi']:.2f}]"
        assert rate in section
    # The estimand comes from the study module's docstring.
    assert "IHT (Blumensath &amp; Davies 2009)" in section
    # Settings that differ from the defaults, against the configuration classes themselves.
    stored = json.loads((results / "iht_success" / "config.json").read_text())["config"]
    defaults = dataclasses.asdict(study.config())
    differ = {k for k, v in stored.items() if np.asarray(v).tolist() != np.asarray(
        defaults[k]).tolist()}  # fmt: skip
    assert differ == set(changed_settings(study, study.config.quick().__class__(**{
        **dataclasses.asdict(study.config.quick()), "trials": 3})))  # fmt: skip
    assert "trials" in differ
    settings = section.split('id="iht_success-settings"')[1].split("<h3")[0]
    assert set(re.findall(r"<code>(\w+)</code>", settings)) == differ
    prov = section.split('id="iht_success-provenance"')[1]
    assert "git revision" in prov and "seed" in prov and "finished" in prov


def test_the_markdown_variant(site):
    results, out = site
    md = (out / "report.md").read_text()
    for name in simulations.studies():
        assert f"\n## {name}\n" in md
    part = md.split("\n## iht_success\n")[1].split("\n## ")[0]
    for heading in ("Estimand", "Settings that differ from the defaults", "Figure",
                    "Tables (`sdlss show iht_success`)", "Verdicts (the study's report hook)",
                    "Provenance"):  # fmt: skip
        assert f"\n### {heading}\n" in part
    assert "![figure of iht_success](figures/iht_success.png)" in part
    tables = [b for b in part.split("\n\n") if b.startswith("| ")]
    for table in tables:
        lines = table.splitlines()
        assert re.fullmatch(r"\|(---:?\|)+", lines[1]), lines[1]


def _long_runs(pixels: np.ndarray, colour) -> np.ndarray:
    """Rows with more than 300 pixels of `colour` (a heading's background or a frame's edge,
    not a curve or a glyph)."""
    match = np.all(np.abs(pixels[:, :, :3].astype(int) - colour) <= 6, axis=2)
    return match.sum(axis=1) > 300


def _bands(pixels: np.ndarray, colour) -> int:
    """Number of separate horizontal bands of rows containing a long run of `colour`."""
    rows = _long_runs(pixels, colour)
    return int(np.count_nonzero(rows[1:] & ~rows[:-1]) + rows[0])


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_page_in_a_headless_browser(site, tmp_path):
    from PIL import Image

    results, out = site
    shot = tmp_path / "page.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         "--window-size=1280,9000", f"--screenshot={shot}",
         (out / "index.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    # One blue heading band for the study with a run, a grey one for each study never run.
    assert _bands(pixels, STUDY_BLUE) == 1
    assert _bands(pixels, NEVER_GREY) == len(simulations.studies()) - 1
    # The figure was drawn by the browser: its frame (2 px, #cc79a7) is two long horizontal
    # edges, with the drawn figure (dark axes, text and curves) between them.
    pink = (0xCC, 0x79, 0xA7)
    assert _bands(pixels, pink) == 2
    edges = np.flatnonzero(_long_runs(pixels, pink))
    top, bottom = edges[0], edges[-1]
    assert bottom - top > 150
    inside = pixels[top + 2 : bottom - 1]
    assert np.all(inside < 90, axis=2).sum() > 2000
    # Below the one study with a run (the third heading), not before it.
    blue = np.flatnonzero(_long_runs(pixels, STUDY_BLUE))
    assert blue[0] < top


@pytest.mark.slow
def test_figures_drawn_in_parallel_are_the_same_files(site, tmp_path):
    results, out = site
    argv = ["report", "--results", str(results), "--out", str(tmp_path), "--n-jobs", "2"]
    assert main(argv) == 0
    for path in sorted(out.rglob("*")):
        if path.is_file():
            assert (tmp_path / path.relative_to(out)).read_bytes() == path.read_bytes(), path
