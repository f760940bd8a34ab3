"""The built wheel: the library, the studies and the figures, and the `sdlss` console command.

The fast test checks what the wheel is made from without building it (the package
discovery of pyproject.toml and the console command); the slow ones build the wheel from a
copy of the sources and read it, and install it into a fresh virtual environment
(dependencies from PyPI) and use the command from an empty folder, as a new user would.
"""

import configparser
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "sdlss_theory", "simulations", "figures")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "out", "results", "*.egg-info")


def _can_build_offline() -> bool:
    """True when this environment can build the wheel without an isolated build environment.

    setuptools builds wheels by itself from 70.1; before that it needs the `wheel` package
    (a fresh Python 3.11 venv has setuptools 65 and no `wheel`).
    """
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    if (major, minor) >= (70, 1):
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return major >= 64


def build_wheel(dest: Path) -> Path:
    """Build the wheel from a copy of the sources (the checkout is left untouched)."""
    src = dest / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=IGNORE)
        else:
            shutil.copy2(path, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dest), "."]
    if _can_build_offline():  # else pip fetches setuptools from PyPI into an isolated build
        cmd.insert(4, "--no-build-isolation")
    subprocess.run(cmd, cwd=src, check=True, capture_output=True, text=True, timeout=600)
    (wheel,) = dest.glob("sdlss_theory-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_package_discovery_covers_the_library_the_studies_and_the_figures():
    """What the wheel is built from, without building it: setuptools' package discovery with
    pyproject.toml's settings finds every package folder, and the console command runs."""
    from setuptools import find_packages

    from sdlss_theory.sweep.config import tomllib  # tomli before Python 3.11

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    found = set(find_packages(str(REPO), include=find["include"]))
    folders = {
        path.parent.relative_to(REPO).as_posix().replace("/", ".")
        for package in ("sdlss_theory", "simulations", "figures")
        for path in (REPO / package).rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    assert found == folders
    assert config["project"]["scripts"] == {"sdlss": "simulations._cli:sdlss"}
    from simulations._cli import sdlss

    assert sdlss(["list"]) == 0


@pytest.mark.slow
def test_the_wheel_holds_the_studies_the_figures_and_the_console_command(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = configparser.ConfigParser()
        scripts.read_string(zf.read(entry_points).decode())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in zf.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
    assert dict(scripts["console_scripts"]) == {"sdlss": "simulations._cli:sdlss"}
    for package in ("sdlss_theory", "simulations", "figures"):
        for path in (REPO / package).rglob("*.py"):
            if "__pycache__" not in path.parts and "out" not in path.parts:
                assert path.relative_to(REPO).as_posix() in names, path
    assert "sdlss_theory/plotting/paper.mplstyle" in names
    # sdlss report: its templates, and Jinja2 with a plain install.
    for template in (REPO / "sdlss_theory" / "sweep" / "templates").glob("*.j2"):
        assert template.relative_to(REPO).as_posix() in names, template
    assert any(r.lower().startswith("jinja2") and "extra ==" not in r for r in requires)
    assert {"simulations/__main__.py", "figures/__main__.py"} <= names
    assert not any(n.startswith(("tests/", "results/", "figures/out/")) for n in names)
    assert not any("__pycache__" in n for n in names)
    # `sdlss all` runs the digits studies: their data must come with a plain install.
    assert any(r.startswith("scikit-learn") and "extra ==" not in r for r in requires)

    # The entry point names a function that runs the command line.
    module_name, func = scripts["console_scripts"]["sdlss"].split(":")
    module = __import__(module_name, fromlist=[func])
    assert getattr(module, func)(["list"]) == 0


def _run(cmd, cwd, env, timeout=900):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_fresh_venv_install_runs_from_an_empty_folder(wheel, tmp_path):
    """pip install <wheel> into a new venv, then `sdlss` from an empty folder (no checkout)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path, env)

    empty = tmp_path / "empty"
    empty.mkdir()
    code = "import simulations; print(simulations.__file__)"
    where = _run([str(python), "-c", code], empty, env)
    assert Path(where.stdout.strip()).is_relative_to(env_dir)  # the installed copy, not REPO

    listed = _run([str(bindir / "sdlss"), "list"], empty, env).stdout.splitlines()
    assert any(line.startswith("iht_success ") for line in listed)
    _run([str(bindir / "sdlss"), "run", "iht_success", "--quick", "--no-progress"], empty, env)
    out = empty / "results" / "iht_success"
    assert (out / "summary.csv").is_file() and (out / "store.sqlite").is_file()

    shown = _run([str(bindir / "sdlss"), "show", "iht_success"], empty, env).stdout
    assert "Summary: 7 cells, 20 trials each" in shown and "Fitted 50% points along m" in shown
    assert "none (an installed package, not a checkout)" in shown

    _run([str(bindir / "sdlss"), "figures", "iht_success"], empty, env)
    _run([str(bindir / "sdlss"), "report"], empty, env)
    page = (empty / "report" / "index.html").read_text()
    assert 'id="study-iht_success"' in page and "Never run" in page
    assert (empty / "report" / "figures" / "iht_success.png").is_file()
    assert (empty / "figures" / "out" / "iht_success.pdf").is_file()
    # The module forms work too.
    _run([str(python), "-m", "simulations", "list"], empty, env)
    _run([str(python), "-m", "figures", "list"], empty, env)
    assert sorted(p.name for p in empty.iterdir()) == ["figures", "report", "results"]
