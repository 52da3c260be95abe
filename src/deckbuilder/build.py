"""The pipeline: files -> YAML -> checked deck -> HTML -> Anki notes -> package and lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .anki import Note, collection_bytes, compile_notes
from .check import check_deck
from .errors import InvalidDeck, Problem, Problems
from .lock import LOCK_NAME, Changes, read_lock, update_lock
from .model import Deck
from .package import package_bytes, write_atomic
from .render import RenderedCard, render_deck
from .source import find_deck_files


@dataclass(frozen=True)
class Checked:
    """A deck that passed every check, rendered and ready to compile."""

    deck: Deck
    rendered: list[RenderedCard]
    media: dict[str, Path]
    warnings: list[Problem]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    deck: Deck
    notes: list[Note]
    changes: Changes
    stale: list[str]  # with check=True: why the files on disk are not what a build writes

    @property
    def card_count(self) -> int:
        return sum(len(note.ords) for note in self.notes)


def load_deck(deck_dir: Path) -> Checked:
    """Read and check the whole deck; raise InvalidDeck with every error found."""
    problems = Problems()
    files = find_deck_files(deck_dir, problems)
    if files is None:
        raise InvalidDeck(problems.errors)
    deck = check_deck(deck_dir, files, problems)
    rendered, media = render_deck(deck, problems)
    if problems.errors:
        raise InvalidDeck(problems.errors)
    return Checked(deck, rendered, media, problems.warnings)


def build_deck(deck_dir: Path, out_dir: Path, *, check: bool = False, now: int,
               allow_field_change: bool = False) -> BuildResult:
    """Build ``out_dir/<deck id>.apkg`` and the lock; with ``check``, only compare."""
    with _exclusive(deck_dir):
        checked = load_deck(deck_dir)
        deck = checked.deck
        lock_path = deck_dir / LOCK_NAME
        old_lock = read_lock(lock_path, os.path.join(str(deck_dir), LOCK_NAME))
        notes = compile_notes(deck, checked.rendered)
        lock, changes = update_lock(old_lock, notes, deck.id, now, allow_field_change)
        note_mods = {lock.cards[note.card_id].guid: lock.cards[note.card_id].mod
                     for note in notes}
        notetype_mods = {key: entry.mod for key, entry in lock.notetypes.items()}
        collection = collection_bytes(deck, notes, note_mods, notetype_mods)
        package = package_bytes(collection, checked.media)
        path = out_dir / f"{deck.id}.apkg"
        lock_text = lock.text().encode()
        if check:
            stale = [f"{shown} is not what a build writes now"
                     for shown, file, data in ((str(path), path, package),
                                               (str(lock_path), lock_path, lock_text))
                     if _read(file) != data]
            return BuildResult(path, deck, notes, changes, stale)
        write_atomic(path, package)
        if _read(lock_path) != lock_text:
            write_atomic(lock_path, lock_text)
        return BuildResult(path, deck, notes, changes, [])


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@contextlib.contextmanager
def _exclusive(deck_dir: Path) -> Iterator[None]:
    """One build of a deck at a time: a second one waits for the first to finish."""
    try:
        fd = os.open(deck_dir, os.O_RDONLY)
    except OSError:
        yield  # no folder: load_deck reports it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
