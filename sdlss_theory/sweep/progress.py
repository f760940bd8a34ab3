"""Progress reporting: a tqdm bar on a terminal, plain periodic lines otherwise, or nothing."""

from __future__ import annotations

import sys
import time
from typing import Literal, TextIO

__all__ = ["Progress", "make_progress"]

ProgressMode = Literal["auto", "bar", "lines", "none"]


class Progress:
    """Base progress reporter: counts finished and failed tasks, prints nothing."""

    def __init__(self, total: int, initial: int = 0, desc: str = "") -> None:
        self.total = total
        self.initial = initial
        self.n = initial
        self.failed = 0
        self.desc = desc

    def update(self, done: int = 1, failed: int = 0) -> None:
        """Record `done` more finished tasks, of which `failed` raised."""
        self.n += done
        self.failed += failed

    def close(self) -> None:
        """Finish the report."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _TqdmProgress(Progress):
    def __init__(self, total: int, initial: int = 0, desc: str = "", file=None) -> None:
        from tqdm.auto import tqdm

        super().__init__(total, initial, desc)
        self._bar = tqdm(
            total=total,
            initial=initial,
            desc=desc,
            unit="task",
            file=file,
            dynamic_ncols=True,
            smoothing=0.1,
        )

    def update(self, done: int = 1, failed: int = 0) -> None:
        super().update(done, failed)
        if failed:
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self._bar.update(done)

    def close(self) -> None:
        self._bar.close()


def _fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


class _LineProgress(Progress):
    """One line every `interval` seconds (and at the end): counts, rate, ETA, failures."""

    def __init__(
        self,
        total: int,
        initial: int = 0,
        desc: str = "",
        file: TextIO | None = None,
        interval: float = 10.0,
    ) -> None:
        super().__init__(total, initial, desc)
        self._file = file if file is not None else sys.stderr
        self._interval = interval
        self._start = time.perf_counter()
        self._last = self._start

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._start
        run = self.n - self.initial
        rate = run / elapsed if elapsed > 0 else 0.0
        eta = _fmt_seconds((self.total - self.n) / rate) if rate > 0 else "?"
        pct = 100.0 * self.n / self.total if self.total else 100.0
        prefix = f"{self.desc}: " if self.desc else ""
        return (
            f"{prefix}{self.n}/{self.total} tasks ({pct:.0f}%), {rate:.3g} tasks/s, "
            f"elapsed {_fmt_seconds(elapsed)}, ETA {eta}, {self.failed} failed"
        )

    def update(self, done: int = 1, failed: int = 0) -> None:
        super().update(done, failed)
        now = time.perf_counter()
        if now - self._last >= self._interval:
            self._last = now
            print(self._line(), file=self._file, flush=True)

    def close(self) -> None:
        print(self._line(), file=self._file, flush=True)


def make_progress(
    total: int,
    *,
    initial: int = 0,
    desc: str = "",
    mode: ProgressMode = "auto",
    file: TextIO | None = None,
    interval: float = 10.0,
) -> Progress:
    """Return a progress reporter.

    Parameters
    ----------
    total : int
        Number of tasks in the study.
    initial : int
        Tasks already done (resumed from the store).
    desc : str
        Label (the study's name).
    mode : {"auto", "bar", "lines", "none"}
        ``"auto"`` draws a tqdm bar if `file` (default stderr) is a terminal and prints plain
        lines every `interval` seconds otherwise; ``"none"`` prints nothing.
    file : text stream, optional
        Where to write; default ``sys.stderr``.
    interval : float
        Seconds between plain lines.

    Returns
    -------
    Progress
        An object with ``update(done, failed)`` and ``close()``; also a context manager.
    """
    stream = file if file is not None else sys.stderr
    if mode == "auto":
        mode = "bar" if getattr(stream, "isatty", lambda: False)() else "lines"
    if mode == "none":
        return Progress(total, initial, desc)
    if mode == "bar":
        return _TqdmProgress(total, initial, desc, file=stream)
    if mode == "lines":
        return _LineProgress(total, initial, desc, file=stream, interval=interval)
    raise ValueError(f"mode must be 'auto', 'bar', 'lines' or 'none', got {mode!r}")
