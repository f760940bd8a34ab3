"""Progress reporting: plain lines off a terminal, nothing with mode="none"."""

import io

from sdlss_theory.sweep import make_progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_lines_when_not_a_terminal():
    out = io.StringIO()
    with make_progress(10, initial=4, desc="study", file=out, interval=0.0) as progress:
        progress.update(3)
        progress.update(3, failed=1)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3  # one per update (interval 0) and the final one
    assert lines[-1].startswith("study: 10/10 tasks (100%)")
    assert "ETA" in lines[0] and lines[-1].endswith("1 failed")


def test_bar_on_a_terminal_and_silence_on_request():
    out = _Tty()
    with make_progress(5, file=out, desc="s") as progress:
        progress.update(5)
    assert "5/5" in out.getvalue()
    quiet = io.StringIO()
    with make_progress(5, file=quiet, mode="none") as progress:
        progress.update(5)
    assert quiet.getvalue() == ""
