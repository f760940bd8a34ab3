"""The rooms stay small: the size limits the library and the studies are held to (issue 16).

No function takes more than 10 parameters (``self`` / ``cls`` not counted) or runs longer than
80 lines, and no module is over 600 lines, in ``sdlss_theory/`` and ``simulations/``. A
violation names the place, so that the fix (an options object, a helper, a split module) is
made where the code grew rather than by raising the limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sdlss_theory", "simulations")
MAX_PARAMS, MAX_FUNCTION_LINES, MAX_MODULE_LINES = 10, 80, 600


def _n_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    n = len(names) + (a.vararg is not None) + (a.kwarg is not None)
    return n - (bool(a.args) and a.args[0].arg in ("self", "cls"))


def violations(path: Path) -> list[str]:
    """The size limits `path` breaks, one line each."""
    source = path.read_text()
    where = path.relative_to(ROOT)
    found = []
    if (n := len(source.splitlines())) > MAX_MODULE_LINES:
        found.append(f"{where}: {n} lines (module limit {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if (n := _n_params(node)) > MAX_PARAMS:
                found.append(f"{where}:{node.lineno} {node.name}: {n} parameters")
            if (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                found.append(f"{where}:{node.lineno} {node.name}: {n} lines")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_functions_and_modules_stay_within_the_size_limits(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    problems = [v for f in files for v in violations(f)]
    assert problems == [], "\n".join(problems)


def test_the_size_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    params = ", ".join(f"a{i}" for i in range(MAX_PARAMS + 1))
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    big = tmp_path / "big.py"
    big.write_text(
        f"def wide({params}):\n    pass\n\n\nclass C:\n    def ok(self, {params[:-4]}):\n"
        f"        pass\n\n\ndef long():\n{body}\n" + "\n" * MAX_MODULE_LINES
    )
    found = violations(big)
    assert any("wide: 11 parameters" in v for v in found)
    assert any("long: 81 lines" in v for v in found)
    assert any("module limit" in v for v in found)
    assert not any(" ok:" in v for v in found)  # self is not counted
