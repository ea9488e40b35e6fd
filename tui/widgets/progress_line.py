"""Progress of work a thread worker does in steps, on one line, and the way to stop it.

``ProgressLine`` shows "[██████░░░░░░] 4,500 of 20,000 active member(s) · 22%": a bar of
block characters and the counts in words, so it reads the same without colour (NO_COLOR).
It is hidden until the first report and hidden again by ``clear``.

``progress_reporter`` makes the ``progress(done, total)`` callback a store use case takes
(e.g. ``preview_mapping_change``) from inside a ``@work(thread=True)`` method: each call
first checks whether the worker was cancelled (the operator typed on, or closed the screen,
which cancels the screen's workers) and raises ``WorkStopped`` if so, which stops the use
case between two steps; otherwise it hands the counts on (to post a message to the UI
thread: widgets are never touched from the worker).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static
from textual.worker import get_current_worker

from store.domain.display import percent_done

Progress = Callable[[int, int], None]

BAR_CELLS = 20


class WorkStopped(Exception):
    """The worker was cancelled: the use case stops at its next progress report."""


def progress_reporter(report: Callable[[int, int], object]) -> Progress:
    """A progress callback for the current thread worker: stops it once cancelled, else
    passes ``(done, total)`` to ``report``."""
    worker = get_current_worker()

    def progress(done: int, total: int) -> None:
        if worker.is_cancelled:
            raise WorkStopped
        report(done, total)

    return progress


def progress_text(done: int, total: int, noun: str) -> str:
    """ "[████░░░░] 4,500 of 20,000 NOUN · 22%" (pure; the percentage is rounded down, so
    100% means done)."""
    done = max(0, min(done, total))
    filled = BAR_CELLS * done // total if total else BAR_CELLS
    percent = percent_done(done, total)
    bar = "█" * filled + "░" * (BAR_CELLS - filled)
    return f"[{bar}] {done:,} of {total:,} {noun} · {percent}%"


class ProgressLine(Static):
    """One line of progress, hidden while there is nothing to report."""

    DEFAULT_CSS = """
    ProgressLine {
        height: 1;
        width: 1fr;
    }
    """

    def __init__(self, noun: str, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self.noun = noun
        self.done: int | None = None
        self.total: int | None = None
        self.display = False

    def show_progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self.update(Text(progress_text(done, total, self.noun)))
        self.display = True

    def clear(self) -> None:
        self.done = self.total = None
        self.update("")
        self.display = False
