"""The ``deckbuilder`` command group; each command lives in ``commands/``.

Heavy modules (genanki, markdown-it, watchfiles) are imported inside the commands
that need them, so ``deckbuilder --help`` starts fast.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

import click

from . import __version__
from .commands import register
from .commands.output import run_main
from .threads import HELD


class _Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Usage errors and interruptions are printed by the same Console as the rest.
        return run_main(super().main, *args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckbuilder")
def cli() -> None:
    """Compile flashcards written as YAML into Anki packages.

    A deck is a folder: deck.yaml plus one numbered YAML file per section
    (see the README for the format). Start one with `deckbuilder init`.
    """


register(cli)


def _terminated(signum: int, frame: FrameType | None) -> None:
    # As Ctrl-C does: `finally` blocks and context managers remove the temporaries.
    # A second SIGTERM during that clean-up ends the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt


def main() -> None:
    # Decks are trees of small acyclic objects: with the default thresholds the cyclic
    # collector keeps walking the growing heap (a third of a 100,000-card build).
    gc.set_threshold(100_000, 50, 100)
    # A one-off command leaves a few hundred objects of cyclic garbage whatever the
    # deck's size (about 400 for a build of 10,000 or of 30,000 cards), so the collector
    # is off: it cost a 10,000-card build 26 ms. `build --watch` lives on: it turns it on.
    gc.disable()
    signal.signal(signal.SIGTERM, _terminated)
    cli(prog_name="deckbuilder")


_ended: list[SystemExit] = []


def run() -> NoReturn:
    """The ``deckbuilder`` program: ``main``, then the process ends at once. Exiting the
    usual way frees every object one at a time (a 10,000-card build's deck, notes and
    rows: 40-50 ms of CPU) for memory the system takes back whole anyway. Every file is
    written and closed, and every thread joined, before a command returns. A process
    with work left for its exit (atexit callbacks: coverage, logging; a profiler or a
    tracer) exits the usual way."""
    code: str | int | None = 0
    try:
        try:
            main()
        finally:
            # The command is done: a Ctrl-C from here on would only turn its exit (and
            # its report of what it wrote) into a KeyboardInterrupt traceback.
            signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    except SystemExit as exc:
        code = exc.code
        # Its traceback holds the command's frames, and so what they made (Console.keep):
        # referenced until os._exit, that is never freed one object at a time.
        _ended.append(exc)
    if code is None:
        code = 0
    if type(code) is not int or _exit_has_work():
        sys.exit(code)  # a message is printed, exit 1, as Python does
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the program was started with it closed (>&-)
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)  # a closed or broken stream: reported as Python reports it
    os._exit(code)


def _exit_has_work() -> bool:
    import atexit

    # _ncallbacks is CPython's; without it, the exit is assumed to have work.
    callbacks = getattr(atexit, "_ncallbacks", lambda: 1)()
    return bool(callbacks) or sys.getprofile() is not None or sys.gettrace() is not None
