"""Progress of long work: a status line on a real terminal (a pty), nothing when piped or -q."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ERASE = "\r\x1b[2K"


@pytest.fixture(scope="module")
def big_deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's generated deck of 40,000 notes: a cold lint takes seconds."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    deck = tmp_path_factory.mktemp("progress") / "cards"
    deckgen.write_deck(40_000, deck)
    return deck


def start(args: list[str], cwd: Path, terminal: bool) -> tuple[subprocess.Popen[bytes], int]:
    """deckbuilder with stdout and stderr on a new pty (or on pipes); the pty's master."""
    # No colours: every escape sequence in the output is then the status line's.
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100", "NO_COLOR": "1"}
    if not terminal:
        return subprocess.Popen([sys.executable, "-m", "deckbuilder", *args], cwd=cwd, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE), -1
    master, slave = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "deckbuilder", *args], cwd=cwd, env=env,
                             stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    return child, master


def read_all(master: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_long_lint_shows_progress_on_a_terminal_only(big_deck: Path) -> None:
    cwd = big_deck.parent
    lint = ["lint", big_deck.name]
    # Three cold lints at once (no build folder, so no cache): on a terminal, piped, -q.
    on_terminal, master = start(lint, cwd, terminal=True)
    quiet, quiet_master = start([*lint, "-q"], cwd, terminal=True)
    piped, _ = start(lint, cwd, terminal=False)
    outputs: dict[str, str] = {}
    reader = threading.Thread(target=lambda: outputs.update(quiet=read_all(quiet_master)))
    reader.start()
    shown = read_all(master)
    out, err = piped.communicate(timeout=600)
    reader.join(timeout=600)
    assert on_terminal.wait(timeout=600) == 0 and quiet.wait(timeout=600) == 0
    assert piped.returncode == 0

    # On the terminal: the line appears, says what is being done and how far, is redrawn
    # in place, and is erased before the warnings are printed.
    assert re.search(re.escape(ERASE) + r"lint: checking the deck \(\d+ s\)", shown)
    assert shown.count(ERASE + "lint: ") >= 2  # redrawn
    warnings = shown.split("\r\n")
    assert any(": warning: " in line for line in warnings)
    for line in warnings:
        if ": warning: " in line:
            assert line.rsplit(ERASE, 1)[-1].startswith(big_deck.name + "/"), repr(line)
    assert shown.rstrip("\r\n").endswith("files")  # the summary, after the last erase
    assert "\x1b" not in shown.rsplit(ERASE, 1)[-1]

    # Piped (a log, CI) and with -q: no status line, not even an escape.
    assert "\x1b" not in err.decode() and "\r" not in err.decode()
    assert b": warning: " in err and not out.strip()
    assert "\x1b" not in outputs["quiet"] and "lint:" not in outputs["quiet"]
    assert ": warning: " in outputs["quiet"]
