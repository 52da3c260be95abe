"""Progress of long work, on a terminal only.

A command opens a status line (``Console.progress``) around its work; the work says
what it is doing (``phase``) and how far it is (``advance``). A background thread
draws the line on stderr once the work has taken a second and redraws it a few times a
second; the line is erased when the work ends and before anything else is printed, so
it never mixes with results or problems. When stderr is not a terminal (a pipe, a log,
CI) or with ``-q``, nothing is started and ``phase`` and ``advance`` do nothing: the
library calls them freely and never prints.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import TextIO

DELAY = 1.0  # seconds of work before the line appears: quick commands never show it
INTERVAL = 0.25  # seconds between redraws
THREAD = "deckbuilder-progress"  # the thread's name: a fork may leave it behind
_ERASE = "\r\x1b[2K"  # back to the line's start, then clear it

_current: StatusLine | None = None


def phase(text: str) -> None:
    """What the work does now ("checking 100 section files"); resets the count."""
    if _current is not None:
        _current.set(text, 0, 0)


def advance(done: int, total: int) -> None:
    """How far the current phase is: ``done`` of ``total`` items."""
    if _current is not None:
        _current.done, _current.total = done, total


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Erase the line, if one is shown, and hold it back while something else is printed."""
    line = _current
    if line is None:
        yield
        return
    with line.lock:
        line.erase()
        yield


@contextlib.contextmanager
def shown(stream: TextIO, label: str, enabled: bool = True) -> Iterator[None]:
    """A status line ``label: phase done of total (3 s)`` on ``stream`` while inside,
    only when ``enabled`` and ``stream`` is a terminal."""
    global _current
    if not enabled or _current is not None or not _is_terminal(stream):
        yield
        return
    line = StatusLine(stream, label)
    _current = line
    line.start()
    try:
        yield
    finally:
        _current = None
        line.stop()


def _hold() -> None:
    if _current is not None:
        _current.lock.acquire()


def _release() -> None:
    if _current is not None:
        _current.lock.release()


# Big decks are checked in forked workers: fork only between two draws, so no child
# starts with the line half written or an import half done (the children never draw:
# the thread stays behind, and a child leaves with os._exit, never stopping the line).
os.register_at_fork(before=_hold, after_in_parent=_release, after_in_child=_release)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class StatusLine:
    """One line of stderr, redrawn by a daemon thread until ``stop``."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.text = ""
        self.done = self.total = 0
        self.began = time.monotonic()
        self.visible = False
        self.lock = threading.Lock()  # held to draw, and by whoever prints meanwhile
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD, daemon=True)

    def start(self) -> None:
        from .threads import start

        start(self._thread)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
        with self.lock:
            self.erase()

    def set(self, text: str, done: int, total: int) -> None:
        self.text, self.done, self.total = text, done, total

    def erase(self) -> None:
        """Erase the line if it is shown; the caller holds ``lock``."""
        if self.visible:
            self._write(_ERASE)
            self.visible = False

    def _run(self) -> None:
        if self._stopped.wait(DELAY):
            return
        while not self._stopped.is_set():
            self._draw()
            self._stopped.wait(INTERVAL)

    def _draw(self) -> None:
        how_far = f" {self.done:,} of {self.total:,}" if self.total else ""
        text = (f"{self.label}: {self.text or 'working'}{how_far} "
                f"({time.monotonic() - self.began:.0f} s)")
        with self.lock:  # everything this thread does that a fork must not cut in half
            import shutil  # here, not at the top: every command imports this module

            width = shutil.get_terminal_size().columns - 1  # the last column would wrap
            self._write(_ERASE + text[:width])
            self.visible = True

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the work goes on
            pass
