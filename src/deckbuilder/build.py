"""Build a package: load the deck, compile notes, consult the lock, write package and lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .anki import Note, collection_bytes, compile_notes
from .load import CACHE_DIR, load_deck
from .lock import LOCK_NAME, Changes, update_lock
from .model import Deck
from .package import package_bytes, staged
from .recover import lock_from_package


@dataclass(frozen=True)
class BuildResult:
    path: Path
    deck: Deck
    notes: list[Note]
    changes: Changes
    stale: list[str]  # with check=True: why the files on disk are not what a build writes
    parts: tuple[Path, ...] = ()  # with split=True: the one-section packages
    recovered: Path | None = None  # the package the lost lock was recovered from


def build_deck(deck_dir: Path, out_dir: Path, *, check: bool = False, now: int,
               allow_field_change: bool = False, split: bool = False,
               parallel: bool = True) -> BuildResult:
    """Build ``out_dir/<deck id>.apkg`` and the lock; with ``check``, only compare.

    With ``split``, also ``out_dir/<deck id>--<section file stem>.apkg`` per section."""
    with _exclusive(deck_dir):
        checked = load_deck(deck_dir, out_dir / CACHE_DIR, write_cache=not check,
                            parallel=parallel)
        deck = checked.deck
        lock_path = deck_dir / LOCK_NAME
        path = out_dir / f"{deck.id}.apkg"
        old_lock, recovered = checked.lock, None
        if not lock_path.exists() and (recovery := lock_from_package(path, deck)) is not None:
            old_lock, recovered = recovery, path
        notes = compile_notes(deck, checked.rendered)
        lock, changes = update_lock(old_lock, notes, deck.id, now, allow_field_change)
        note_mods = {lock.cards[note.card_id].guid: lock.cards[note.card_id].mod
                     for note in notes}
        notetype_mods = {key: entry.mod for key, entry in lock.notetypes.items()}
        package = package_bytes(collection_bytes(deck, notes, note_mods, notetype_mods),
                                checked.media)
        lock_text = lock.text().encode()
        parts = _section_packages(out_dir, deck, notes, note_mods, notetype_mods,
                                  checked.media) if split else []
        # One-section packages of sections that are gone would mislead learners.
        leftovers = sorted(set(out_dir.glob(f"{deck.id}--*.apkg")) - {p for p, _ in parts})
        if check:
            found = {file: (_read(file), data)
                     for file, data in ((path, package), *parts, (lock_path, lock_text))}
            stale = [f"{file} is {'missing' if old is None else 'not what a build writes now'}"
                     for file, (old, data) in found.items() if old != data]
            stale += [f"{file} is left from a section that no longer exists"
                      for file in leftovers if split]
            return BuildResult(path, deck, notes, changes, stale, recovered=recovered)
        # All or nothing: the package never gets ahead of the lock, or the reverse.
        with staged() as stage:
            for part, data in parts:
                stage(part, data)
            stage(path, package)
            if _read(lock_path) != lock_text:
                stage(lock_path, lock_text)
        for file in leftovers if split else ():
            file.unlink()
        return BuildResult(path, deck, notes, changes, [], tuple(p for p, _ in parts), recovered)


def _section_packages(out_dir: Path, deck: Deck, notes: list[Note], note_mods: dict[str, int],
                      notetype_mods: dict[str, int], media: dict[str, Path]
                      ) -> list[tuple[Path, bytes]]:
    """One package per section, compiled like the whole deck: same GUIDs, ids, mods."""
    parts = []
    for section in deck.sections:
        chosen = [note for note in notes if note.subdeck == deck.subdeck(section)]
        used = {name: file for name, file in media.items()
                if any(name in field for note in chosen for field in note.fields)}
        collection = collection_bytes(deck, chosen, note_mods, notetype_mods)
        parts.append((out_dir / f"{deck.id}--{section.stem}.apkg",
                      package_bytes(collection, used)))
    return parts


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
