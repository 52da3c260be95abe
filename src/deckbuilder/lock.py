"""The lock: what each card and notetype looked like when it last changed, and when.

Anki updates a note on import only when the package's ``mod`` is newer than its own,
so an unchanged card must keep its old ``mod`` (a learner's edit on the phone wins)
and a changed one must get a strictly newer one. The lock remembers both, one line
per card, sorted, so that its diffs read like the deck's.
"""

from __future__ import annotations

import functools
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .anki import Note, note_guid
from .conflicts import conflict_markers
from .errors import BadSetting, InvalidDeck, Location, Problem, Problems, RefusedChange
from .lockahead import ahead
from .notetypes import NOTETYPES

LOCK_NAME = "deck.lock"
VERSION = "1"
HEADER = (
    "# deckbuilder lock: written by `deckbuilder build`, commit it beside the deck.\n"
    "# It keeps each card's Anki mod time, so a rebuilt package updates exactly the\n"
    "# cards that changed and never overwrites a learner's own edits. Do not edit.\n"
)


# NamedTuples: one entry per card is made at every build, at a third of a frozen
# dataclass's cost.
class CardEntry(NamedTuple):
    guid: str
    note_id: int
    kind: str
    digest: str
    mod: int
    subdeck: str


class NotetypeEntry(NamedTuple):
    digest: str
    mod: int
    fields: tuple[str, ...]


@dataclass
class Lock:
    deck: str = ""  # the deck id it was written for; empty in locks written before 0.2
    cards: dict[str, CardEntry] = field(default_factory=dict)
    notetypes: dict[str, NotetypeEntry] = field(default_factory=dict)

    def text(self) -> str:
        lines = [HEADER, f"version\t{VERSION}\n"]
        if self.deck:
            lines.append(f"deck\t{self.deck}\n")
        for key, nt in sorted(self.notetypes.items()):
            lines.append(f"notetype\t{key}\t{nt.digest}\t{nt.mod}\t{','.join(nt.fields)}\n")
        cards = self.cards
        global _lines
        known = _lines or {}
        fresh: dict[str, tuple[CardEntry, str]] = {}
        for card_id in sorted(cards):
            c = cards[card_id]
            kept = known.get(card_id) if known else None
            if kept is not None and kept[0] is c:
                line = kept[1]
            else:
                line = (f"card\t{card_id}\t{c.guid}\t{c.note_id}\t{c.kind}\t{c.digest}\t"
                        f"{c.mod}\t{c.subdeck}\n")
            lines.append(line)
            if _lines is not None:
                fresh[card_id] = (c, line)
        if _lines is not None:
            _lines = fresh  # only this lock's cards
        return "".join(lines)


def read_lock(path: Path, shown: str, deck_id: str | None = None,
              problems: Problems | None = None) -> Lock:
    """The lock at ``path`` (empty when there is none). What is wrong with it goes to
    ``problems``, located; without ``problems`` it is raised as InvalidDeck."""
    found = Problems() if problems is None else problems
    lock = _read_lock(path, shown, deck_id, found)
    if problems is None and found.errors:
        raise InvalidDeck(found.errors)
    return lock


# The last lock parsed or written, by its text, where and for which deck; only in a
# long-lived process (`build --watch`): parsing 10,000 lines takes longer than a rebuild's
# other steps for one edit.
_kept: dict[tuple[str, str, str | None], tuple[Lock, list[Problem]]] | None = None


# Under `build --watch`: each card's line of the last lock text made, with its entry, by
# card id; an entry kept from the last lock (update_lock keeps unchanged ones) keeps it.
_lines: dict[str, tuple[CardEntry, str]] | None = None


def keep_in_memory() -> None:
    """Parse each lock text once (for ``build --watch``); see ``remember``."""
    global _kept, _lines
    if _kept is None:
        _kept = {}
    if _lines is None:
        _lines = {}


def remember(lock: Lock, data: bytes, shown: str) -> None:
    """Record that ``data``, the lock a build wrote, reads back as ``lock``."""
    if _kept is not None:  # decoded only here: a one-off build never needs the text
        _kept.clear()
        _kept[data.decode(), shown, lock.deck] = (lock, [])


def _read_lock(path: Path, shown: str, deck_id: str | None, problems: Problems) -> Lock:
    if not path.exists():
        return Lock()
    try:
        if not path.is_file():  # a pipe would never end reading
            raise OSError("not a regular file")
        if not path.resolve().is_relative_to(path.parent.resolve()):
            # A repository's link to ~/.git-credentials: never read, so never excerpted.
            problems.error(Location(shown), OUTSIDE)
            return Lock()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        problems.error(Location(shown), f"cannot read the lock: {reason}")
        return Lock()
    if _kept is not None and (kept := _kept.get((text, shown, deck_id))):
        problems.extend(kept[1])
        return kept[0]
    lock, found = parse_lock(text, shown, deck_id)
    found += ahead(lock, text.removeprefix("\ufeff"), shown)  # (kept: a limit only grows)
    if _kept is not None:
        _kept.clear()
        _kept[text, shown, deck_id] = (lock, found)
    problems.extend(found)
    return lock


def parse_lock(text: str, shown: str, deck_id: str | None = None) -> tuple[Lock, list[Problem]]:
    """The lock in ``text`` and its problems, each located.

    With ``deck_id``, a lock written for another deck is an error: its ``deck`` line, or
    for a lock written before that line existed, its GUIDs say whose it is.
    """
    text = text.removeprefix("\ufeff")  # saved by an editor or merge tool that adds a BOM
    markers = set(conflict_markers(text))
    reader = _Reader(shown, deck_id, markers)
    for number in markers:
        reader.problems.append(Problem(Location(shown, number, 1), MERGE_CONFLICT))
    # The card lines (from the first on: the rest of a lock) are read at once when every
    # one is well-formed, in a quarter of the time; otherwise line by line, which says
    # what is wrong and where.
    body = text.find("\ncard\t") + 1 if not markers else 0
    head = text[:body - 1].split("\n") if body else text.split("\n")
    reader.read(head, 1)
    lock = reader.lock
    if body:
        # (not when the first line was a card line already: a lock without its header)
        at_once = not lock.cards and (lock.deck or deck_id is None)
        cards = _cards_at_once(text[body:]) if at_once else None
        if cards is not None:
            lock.cards = cards
        else:
            reader.read(text[body:].split("\n"), len(head) + 1)
    return lock, reader.problems


# A card line as a build writes it, numbers in range by their length (note ids below
# 10**15 < MAX_TIME, mods below 10**11 < MAX_MOD); anything else is read line by line.
@functools.cache
def _card_line() -> re.Pattern[str]:
    """Compiled on first use (0.25 ms): not every command that imports this module reads a
    lock."""
    return re.compile("^card\t([^\t\n\r]+)\t([^\t\n\r]*)\t([0-9]{1,15})\t("
                      + "|".join(map(re.escape, sorted(NOTETYPES)))
                      + ")\t([^\t\n\r]*)\t([0-9]{1,11})\t([^\t\n\r]*)\n", re.M)


def _cards_at_once(body: str) -> dict[str, CardEntry] | None:
    """Every line of ``body`` as a card, when each is a well-formed card line and no id
    comes twice; else None."""
    found = _card_line().findall(body)
    if len(found) != body.count("\n") or not body.endswith("\n"):
        return None  # a line of another shape: each match is one whole line
    cards = {card_id: CardEntry(guid, int(note_id), kind, digest, int(mod), subdeck)
             for card_id, guid, note_id, kind, digest, mod, subdeck in found}
    return cards if len(cards) == len(found) else None


class _Reader:
    """Lock lines read one at a time, each problem at its line."""

    def __init__(self, shown: str, deck_id: str | None, markers: set[int]) -> None:
        self.lock = Lock()
        self.problems: list[Problem] = []
        self.seen: dict[str, int] = {}
        self.shown, self.deck_id, self.markers = shown, deck_id, markers

    def read(self, lines: list[str], first: int) -> None:
        lock, problems, seen, shown = self.lock, self.problems, self.seen, self.shown
        deck_id, markers = self.deck_id, self.markers
        for number, line in enumerate(lines, start=first):
            line = line.removesuffix("\r")  # a checkout with CRLF line ends
            if not line or line.startswith("#") or number in markers:
                continue
            parts = line.split("\t")
            try:
                _read_line(parts, lock)
            except (ValueError, IndexError):
                problems.append(Problem(Location(shown, number, 1), DAMAGED))
                continue
            where = Location(shown, number, 1)
            if parts[0] == "deck" and deck_id is not None and lock.deck != deck_id:
                # Most often deck.yaml's id was edited: restoring the lock would not help.
                problems.append(Problem(where, f"this lock was written for the deck "
                                               f"'{lock.deck}', not '{deck_id}': if you "
                                               f"changed the id in deck.yaml, put "
                                               f"'{lock.deck}' back (a new id makes every "
                                               f"card a new note, without its reviews); "
                                               f"otherwise {RESTORE}"))
            if parts[0] != "card" or markers:  # both sides of a conflict list the same cards
                continue
            card_id = parts[1]
            if card_id in seen:
                problems.append(Problem(where, f"card '{card_id}' is listed twice (also on "
                                               f"line {seen[card_id]}); {RESTORE}"))
            seen.setdefault(card_id, number)
            if deck_id is not None and not lock.deck and lock.cards[card_id].guid != \
                    note_guid(deck_id, card_id):
                problems.append(Problem(where, f"card '{card_id}' has a GUID of another "
                                               f"deck: this lock was not written for "
                                               f"'{deck_id}'; {RESTORE}"))


RESTORE = "restore deck.lock from version control"
OUTSIDE = (f"a link to a file outside the deck folder: a lock is read only from the deck's "
           f"own files, so that a repository cannot show a file of your computer; {RESTORE}")
DAMAGED = f"damaged lock line; {RESTORE}"
MERGE_CONFLICT = ("merge conflict in the lock: run `deckbuilder merge-lock --resolve` on it, "
                  "or set up the merge driver (see the README); do not edit or delete it")


def _read_line(parts: list[str], lock: Lock) -> None:
    kind = parts[0]
    if kind == "version" and parts[1:] == [VERSION]:
        return
    if kind == "deck" and len(parts) == 2 and parts[1]:
        lock.deck = parts[1]
    elif kind == "notetype" and len(parts) == 5:
        lock.notetypes[parts[1]] = NotetypeEntry(parts[2], _mod(parts[3]),
                                                 tuple(parts[4].split(",")))
    elif kind == "card" and len(parts) == 8 and parts[4] in NOTETYPES:
        lock.cards[parts[1]] = CardEntry(parts[2], _number(parts[3]), parts[4], parts[5],
                                         _mod(parts[6]), parts[7])
    else:
        raise ValueError(kind)


MAX_TIME = 2**53  # ids and times stay exact in every client's integer types


# A mod is seconds since 1970. Far below MAX_TIME, so that a mod read back can always be
# made one newer and still be read back; 253,402,300,799 is the last second of year 9999.
MAX_MOD = 253_402_300_799


def _mod(text: str) -> int:
    if _number(text) > MAX_MOD:
        raise ValueError(text)
    return int(text)


def _number(text: str) -> int:
    """A lock number: ASCII digits only, in range."""
    if not (text.isascii() and text.isdigit()) or int(text) >= MAX_TIME:
        raise ValueError(text)
    return int(text)


def build_time() -> int:
    """Now, or SOURCE_DATE_EPOCH (seconds since 1970) for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:  # unset or empty (as the reproducible-builds spec reads an empty value)
        return int(time.time())
    try:
        return _number(epoch)
    except ValueError:
        raise BadSetting(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, "
                         f"not '{epoch}'") from None


@dataclass
class Changes:
    """What a build changes against the lock: the change report."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[tuple[str, CardEntry]] = field(default_factory=list)
    moved: list[tuple[str, str, str, int]] = field(default_factory=list)  # id, from, to, note id
    renamed: list[tuple[str, str]] = field(default_factory=list)
    kind_changed: list[tuple[str, str, str, int]] = field(default_factory=list)
    notetypes: list[str] = field(default_factory=list)  # notetypes updated
    renumbered: int = 0  # notes whose id moved (ids Anki would have rewritten)


def update_lock(old: Lock, notes: list[Note], deck_id: str, now: int,
                allow_field_change: bool = False) -> tuple[Lock, Changes]:
    """The new lock (mods included) and the changes since the old one."""
    new = Lock(deck_id)
    changes = Changes()
    for key, nt in sorted(NOTETYPES.items()):
        prior = old.notetypes.get(key)
        if prior and prior.fields != nt.fields and not allow_field_change:
            raise RefusedChange(
                f"notetype '{key}' would change its fields from {', '.join(prior.fields)} to "
                f"{', '.join(nt.fields)}. Anki would then make a copy of the notetype and stop "
                "updating the notes learners already have. Pass --allow-field-change to do it "
                "anyway.")
        digest = nt.digest(deck_id)
        if prior and prior.digest == digest:
            new.notetypes[key] = prior
        else:
            new.notetypes[key] = NotetypeEntry(digest, _later(now, prior), nt.fields)
            if prior:
                changes.notetypes.append(key)
    old_cards, new_cards, unchanged = old.cards, new.cards, changes.unchanged
    added, fresh = changes.added, _later(now, None)
    for note in notes:
        before = old_cards.get(note.card_id)
        if before is None:  # a new card (every card of a first build)
            added.append(note.card_id)
            new_cards[note.card_id] = CardEntry(note.guid, note.note_id, note.notetype,
                                                note.digest, fresh, note.subdeck)
            continue
        if before.digest == note.digest and before.guid == note.guid \
                and before.note_id == note.note_id and before.subdeck == note.subdeck \
                and before.kind == note.notetype:
            unchanged.append(note.card_id)  # all as it was (and its lock line too)
            new_cards[note.card_id] = before
            continue
        same = (before.digest, before.guid) == (note.digest, note.guid)
        if same:
            unchanged.append(note.card_id)
        else:
            changes.changed.append(note.card_id)
            if before.kind != note.notetype:
                changes.kind_changed.append((note.card_id, before.kind, note.notetype,
                                             before.note_id))
        changes.renumbered += before.note_id != note.note_id
        if before.subdeck != note.subdeck:
            changes.moved.append((note.card_id, before.subdeck, note.subdeck, note.note_id))
        # An unchanged note keeps its mod, so a learner's own edits of it survive.
        mod = before.mod if same else _later(now, before)
        new_cards[note.card_id] = CardEntry(note.guid, note.note_id, note.notetype,
                                            note.digest, mod, note.subdeck)
    changes.removed = sorted((cid, old.cards[cid]) for cid in old.cards.keys() - new.cards.keys())
    changes.renamed = _renamed_sections(old, new)
    renamed_from = {old_name for old_name, _ in changes.renamed}
    changes.moved = [m for m in changes.moved if m[1] not in renamed_from]
    return new, changes


def _later(now: int, before: CardEntry | NotetypeEntry | None) -> int:
    """A mod newer than any earlier one, even for two builds in the same second (and
    never past MAX_MOD, so that the lock can always be read back)."""
    return min(max(now, before.mod + 1) if before else now, MAX_MOD)


def _renamed_sections(old: Lock, new: Lock) -> list[tuple[str, str]]:
    """Subdecks whose every remaining card now sits in one subdeck that did not exist."""
    old_decks = {e.subdeck for e in old.cards.values()}
    new_decks = {e.subdeck for e in new.cards.values()}
    renamed = []
    for gone in sorted(old_decks - new_decks):
        targets = {new.cards[cid].subdeck for cid, e in old.cards.items()
                   if e.subdeck == gone and cid in new.cards}
        if len(targets) == 1 and (target := targets.pop()) not in old_decks:
            renamed.append((gone, target))
    return renamed
