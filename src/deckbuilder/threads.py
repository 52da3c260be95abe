"""Threads deckbuilder starts beside the command's own, none of which takes a signal."""

from __future__ import annotations

import signal
import threading

HELD = frozenset({signal.SIGINT, signal.SIGTERM})  # what the CLI turns into Ctrl-C


def start(thread: threading.Thread) -> None:
    """Start ``thread`` with Ctrl-C and SIGTERM blocked in it for its whole life (a thread
    is born with the signal mask of the one that starts it, so none can reach it even
    before it runs). The system hands a signal sent to the process to any thread that does
    not block it, and Python then interrupts the main thread at once: while another thread
    was alive (the status line on a terminal, the quick rebuild's hashing while its files
    are renamed), ``package.signals_held`` held nothing, and a Ctrl-C was taken between
    the lock's rename and the package's. Blocked here, it waits for the main thread."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
