"""Merging two branches' locks: git's merge driver and the resolver of a conflicted lock.

The lock is one sorted line per card, so two branches that touch nearby cards conflict
although their changes never overlap. The merge is made per card (and per notetype):

- a side that left an entry as it was in the base takes the other side's entry,
  removal included;
- removed on one side and changed on the other: the changed entry stays;
- changed on both sides: the entry with the newer ``mod`` (the merged ``mod`` is never
  lower than either side's, and one newer than both when the two tie with different
  content, so learners of either branch see the merged card as an update).

The next build compares the merged deck with the merged lock as usual: a card whose
merged text is neither side's gets a ``mod`` newer than both.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TypeVar

from .conflicts import conflict_markers
from .errors import InvalidDeck, Location, Problem
from .lock import MAX_MOD, OUTSIDE, CardEntry, Lock, NotetypeEntry, parse_lock

Entry = TypeVar("Entry", CardEntry, NotetypeEntry)


def merge_locks(base: Lock, ours: Lock, theirs: Lock) -> Lock:
    """The three-way merge of two locks, card by card and notetype by notetype."""
    if ours.deck and theirs.deck and ours.deck != theirs.deck:
        raise InvalidDeck([Problem(Location("deck.lock"), f"the two locks belong to different "
                                                          f"decks: '{ours.deck}' and "
                                                          f"'{theirs.deck}'")])
    return Lock(ours.deck or theirs.deck,
                _merge(base.cards, ours.cards, theirs.cards),
                _merge(base.notetypes, ours.notetypes, theirs.notetypes))


def _merge(base: dict[str, Entry], ours: dict[str, Entry], theirs: dict[str, Entry]
           ) -> dict[str, Entry]:
    merged = {}
    for key in sorted(ours.keys() | theirs.keys()):
        entry = _pick(base.get(key), ours.get(key), theirs.get(key))
        if entry is not None:
            merged[key] = entry
    return merged


def _pick(base: Entry | None, ours: Entry | None, theirs: Entry | None) -> Entry | None:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    if ours is None or theirs is None:  # removed on one side, changed on the other
        return ours or theirs
    newer, older = (ours, theirs) if ours.mod >= theirs.mod else (theirs, ours)
    if newer.mod == older.mod and newer.digest != older.digest:
        return newer._replace(mod=min(newer.mod + 1, MAX_MOD))
    return newer


def merge_files(base: Path, ours: Path, theirs: Path) -> str:
    """git's merge driver (``%O %A %B``): the merged lock's text, for ``ours``."""
    return merge_locks(*(_read(path, str(path)) for path in (base, ours, theirs))).text()


def resolve_conflicted(path: Path) -> str | None:
    """The merged text of a lock that a merge left conflicted; None when it is not.

    The three versions come from git's index when the merge is still under way, so the
    result is what the merge driver would have written; otherwise from the markers
    (with diff3's base section when present, else the lines outside the conflicts).
    """
    texts = _stages(path)
    if texts is None:
        text = _text(path)
        if not conflict_markers(text):
            return None
        texts = _split_markers(text)
    return merge_locks(*(_parse(text, str(path)) for text in texts)).text()


def _read(path: Path, shown: str) -> Lock:
    return _parse(_text(path), shown)


def _text(path: Path) -> str:
    """A lock file's text; a located error when it is not a readable UTF-8 regular file
    (a pipe would never end reading)."""
    try:
        if not path.is_file():
            raise OSError("not a regular file")
        if not path.resolve().is_relative_to(path.parent.resolve()):
            raise InvalidDeck([Problem(Location(str(path)), OUTSIDE)])
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InvalidDeck([Problem(Location(str(path)),
                                   f"cannot read the lock: {reason}")]) from exc


def _parse(text: str, shown: str) -> Lock:
    lock, problems = parse_lock(text, shown)
    if problems:
        raise InvalidDeck(problems)
    return lock


def _stages(path: Path) -> tuple[str, str, str] | None:
    """Base, ours and theirs from git's index (stages 1, 2, 3), or None outside a merge."""
    texts = []
    for stage in (1, 2, 3):
        try:
            shown = subprocess.run(["git", "show", f":{stage}:./{path.name}"], cwd=path.parent,
                                   capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        if shown.returncode != 0:
            if stage == 1:  # added on both sides: no base
                texts.append("")
                continue
            return None
        texts.append(shown.stdout.decode("utf-8", "replace"))
    return texts[0], texts[1], texts[2]


def _split_markers(text: str) -> tuple[str, str, str]:
    """Base, ours and theirs rebuilt from a file with conflict markers."""
    sides: tuple[list[str], list[str], list[str]] = ([], [], [])
    state = "both"
    for line in text.splitlines(keepends=True):
        marker = line[:7]
        if marker == "<<<<<<<":
            state = "ours"
        elif marker == "|||||||" and state == "ours":
            state = "base"
        elif marker == "=======" and state in ("ours", "base"):
            state = "theirs"
        elif marker == ">>>>>>>" and state == "theirs":
            state = "both"
        else:
            chosen = {"both": (0, 1, 2), "base": (0,), "ours": (1,), "theirs": (2,)}[state]
            for index in chosen:
                sides[index].append(line)
    base, ours, theirs = ("".join(side) for side in sides)
    return base, ours, theirs
