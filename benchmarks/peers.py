"""Other tools that build Anki decks from text files, timed on the benchmark's deck.

``bench.py --peers`` installs each peer with pip into its own virtual environment under
``~/.cache/deckbuilder-bench/peers/NAME`` (kept for later runs), writes the generated
deck in the peer's own input format (peer_formats.py), runs the peer's build once to check
that it makes every note, and hands bench.py the command to time. A peer that does not
install, run or make every note is left out with a note saying why; without ``--peers``
nothing here runs, so the benchmark needs no network.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import peer_formats
from deckgen import DECK_NAME

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache",
             "deckbuilder-bench", "peers")
OUT = peer_formats.OUT  # emptied before each run


@dataclass(frozen=True)
class Peer:
    name: str
    spec: str  # pinned: the input written for it follows this version's documentation
    command: str  # its console script
    args: tuple[str, ...]  # run in the folder its input was written to
    write: Callable[[dict[str, Any], Path], None]
    less: str  # what it leaves out that deckbuilder does, for the report
    apkg: bool = True  # False: it writes a CrowdAnki folder instead
    extras: tuple[str, ...] = ()  # installed with it so that it runs at all


PEERS = (
    Peer("anki-librarian", "anki-librarian==0.1.2", "anki-librarian",
         ("--source-directory", "decks", "--destination-directory", OUT),
         peer_formats.anki_librarian,
         "no tags, no cloze notetype, no subdecks within a package (one package per deck "
         "folder); GUIDs from field texts",
         # ruamel.yaml 0.19 made its C parser an extra; YAML(typ="safe") uses it when present
         extras=("ruamel.yaml[oldlibyaml]",)),
    Peer("brain-brew", "brain-brew==0.3.11", "brainbrew", ("run", "recipe.yaml"),
         peer_formats.brain_brew,
         "no .apkg (a CrowdAnki folder, imported with that add-on); CSV input; no subdecks",
         apkg=False),
    Peer("markdown-anki-decks", "markdown-anki-decks==1.1.1", "mdankideck",
         ("decks", OUT, "--cloze", "--prefix", f"{DECK_NAME}::"),
         peer_formats.markdown_anki_decks,
         "no tags, no reversed cards, no source field; one package per subdeck (20); GUID "
         "from the question",
         # its typer 0.4 misreads flags under click 8.2 and later: every run prints the
         # version and stops without building
         extras=("click<8.2",)),
    Peer("anki-yaml-tool", "anki-yaml-tool==0.4.0", "anki-yaml-tool",
         ("batch-build", "--input-dir", "decks", "--pattern", "*.yaml", "--output-dir", OUT,
          "--merge", "--deck-name", DECK_NAME),
         peer_formats.anki_yaml_tool,
         "one notetype per file (60 files, merged into one package without subdecks); no "
         "cloze notetype; GUIDs from field texts; exits 0 when a file fails"),
)


@dataclass(frozen=True)
class PeerRun:
    """A peer ready to time: its command, the folder to run it in, and how to start cold."""

    name: str
    argv: list[str]
    cwd: Path
    prepare: Callable[[], None]


def runs(root: Path, notes_json: Path, log: Callable[[str], None]
         ) -> tuple[list[PeerRun], list[str]]:
    """The peers that install, run and make every note of ``notes_json``, each with its
    input written under ``root``; and one line per peer for the report."""
    data = peer_formats.load(notes_json)
    ready, report = [], []
    for peer in PEERS:
        log(f"peer {peer.name}: installing {peer.spec} (or reusing {CACHE / peer.name})")
        outcome = _trial(peer, data, root / peer.name)
        if isinstance(outcome, str):
            report.append(f"{peer.name}: left out: {outcome}")
        else:
            ready.append(outcome[0])
            report.append(f"{peer.name}: {outcome[1]}; {peer.less}")
    return ready, report


def _trial(peer: Peer, data: dict[str, Any], folder: Path) -> tuple[PeerRun, str] | str:
    """Install, write the input, run once and count the notes: a run, or why not."""
    executable = install(peer)
    if isinstance(executable, str):
        return executable
    peer.write(data, folder)
    run = PeerRun(f"{peer.name} {_label(data)} (peer)", [str(executable), *peer.args], folder,
                  partial(_empty, folder / OUT))
    run.prepare()
    try:
        done = subprocess.run(run.argv, cwd=folder, capture_output=True, text=True,
                              timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(peer.args)} did not run: {error}"
    if done.returncode:
        return f"exit {done.returncode}: {_last_line(done.stderr or done.stdout)}"
    try:
        made = count_notes(folder / OUT, peer.apkg)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, sqlite3.Error) as error:
        return f"its output could not be read: {error!r}"
    expected = peer_formats.note_count(data)
    if made != expected:
        return f"made {made} notes, not {expected}"
    where = ".apkg files" if peer.apkg else "a CrowdAnki deck.json"
    return run, f"{made} notes in {where} (checked)"


def install(peer: Peer) -> Path | str:
    """The peer's command in its own virtual environment, installed if not already; or why
    it could not be."""
    venv = CACHE / peer.name
    executable, marker = venv / "bin" / peer.command, venv / "installed"
    wanted = " ".join((peer.spec, *peer.extras))
    if executable.exists() and marker.exists() and marker.read_text() == wanted:
        return executable
    shutil.rmtree(venv, ignore_errors=True)
    for argv in ([sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--retries", "1",
                  peer.spec, *peer.extras]):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=900,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"could not install {peer.spec}: {error}"
        if done.returncode:
            return f"could not install {peer.spec}: {_last_line(done.stderr)}"
    if not executable.exists():
        return f"{peer.spec} installed no {peer.command} command"
    marker.write_text(wanted)
    return executable


def count_notes(out: Path, apkg: bool) -> int:
    """Notes in every package under ``out`` (counted in each one's collection with SQLite),
    or in the CrowdAnki folder's deck.json and its child decks."""
    if not apkg:
        return sum(_crowdanki_notes(json.loads(path.read_text(encoding="utf-8")))
                   for path in out.rglob("deck.json"))
    total = 0
    for package in sorted(out.rglob("*.apkg")):
        with zipfile.ZipFile(package) as archive, tempfile.TemporaryDirectory() as scratch:
            collection = archive.extract("collection.anki2", scratch)
            connection = sqlite3.connect(collection)
            try:
                total += connection.execute("SELECT count(*) FROM notes").fetchone()[0]
            finally:
                connection.close()
    return total


def _crowdanki_notes(deck: dict[str, Any]) -> int:
    return len(deck.get("notes", [])) + sum(_crowdanki_notes(child)
                                            for child in deck.get("children", []))


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()


def _label(data: dict[str, Any]) -> str:
    count = peer_formats.note_count(data)
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def _last_line(text: str) -> str:
    lines: Iterator[str] = (line.strip() for line in reversed(text.splitlines()))
    # the last line that says something: not a blank one or a box's border
    return next((line for line in lines if any(c.isalnum() for c in line)), "no message")[:200]
