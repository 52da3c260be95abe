"""From the rendered deck to Anki's collection: GUIDs, ids, notetypes, subdecks, rows.

Every id derives from stable names, never from the clock, so the same deck always
compiles to the same collection; ``mod`` times come from the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from itertools import chain, repeat
from typing import Any, NamedTuple

from .model import Deck
from .notetypes import NOTETYPES
from .render import RenderedCard

# Deck and notetype ids look like Anki's own (milliseconds since 2008 or so), derived from
# a hash. Never change them: Anki matches notetypes by id.
_ID_BASE = 1_200_000_000_000
_ID_SPAN = 1 << 40
# Note and card ids must lie in the past: on import Anki renumbers every one later than
# "now + 1 day", and the change report's `nid:` searches would miss them. Ids that
# deckbuilder 0.1 derived before its release (2026-11-25) stay as they were: every import
# of its packages kept them. The others move to 2001-09 .. 2006-01, a range 0.1 never used.
_KEEP_BELOW = 1_795_564_800_000
_NOTE_ID_BASE = 1_000_000_000_000
_NOTE_ID_SPAN = 1 << 37


class Note(NamedTuple):  # a NamedTuple: 10,000 made per build, each a third of a dataclass's cost
    card_id: str  # the author's id
    guid: str
    note_id: int
    notetype: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    subdeck: str
    ords: tuple[int, ...]  # the card ordinals Anki makes from this note
    digest: str  # a hash of what an import updates: kind, fields and tags (not the subdeck)


def note_guid(deck_id: str, card_id: str) -> str:
    """The note's GUID: from the deck id and the card id only, so edits keep the note.

    Ten base-85 characters of a SHA-256 (64 bits; no spaces or quotes). Never change
    this: a new GUID is a new note, and learners would lose their history.
    """
    return _b85(_sha(f"deckbuilder/note/{deck_id}/{card_id}")[:8])


# base64.b85encode's alphabet, by single digits and by pairs of digits.
_B85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
_B85_PAIRS = [a + b for a in _B85 for b in _B85]


def _b85(data: bytes) -> str:
    """``base64.b85encode(data).decode()`` for 8 bytes, without its per-call set-up (it
    cost more than the hash): each 32-bit word is five digits, big-endian."""
    number = int.from_bytes(data, "big")
    high, low, pairs = number >> 32, number & 0xFFFF_FFFF, _B85_PAIRS
    return (pairs[high // 614_125] + pairs[high // 85 % 7225] + _B85[high % 85]
            + pairs[low // 614_125] + pairs[low // 85 % 7225] + _B85[low % 85])


def derived_id(*names: str) -> int:
    return _ID_BASE + int.from_bytes(_sha("/".join(names))[:8], "big") % _ID_SPAN


def notetype_ids(deck_id: str) -> dict[int, str]:
    """The deck's own notetypes, id -> key (basic, reverse, cloze)."""
    return {derived_id(deck_id, "notetype", key): key for key in NOTETYPES}


def preset_id(deck_id: str) -> int:
    """The id of the deck's preset (deck.yaml's `options:`)."""
    return derived_id(deck_id, "preset")


def derived_note_id(deck_id: str, guid: str) -> int:
    """A note's id: from its GUID, in the past, so that Anki keeps it on import."""
    hashed = int.from_bytes(_sha(f"{deck_id}/note/{guid}")[:8], "big")
    if (legacy := _ID_BASE + hashed % _ID_SPAN) < _KEEP_BELOW:
        return legacy
    return _NOTE_ID_BASE + hashed % _NOTE_ID_SPAN


def note_digest(kind: str, fields: Iterable[str], tags: Iterable[str]) -> str:
    """A hash of what an import updates: kind, fields and tags (not the subdeck)."""
    content = "\x1f".join((kind, *fields, " ".join(sorted(tags))))
    return hashlib.sha256(content.encode()).hexdigest()[:16]


# A card's note as far as it depends on the card alone: its GUID, the note id it would
# like (before collisions are settled) and its digest: three SHA-256s a card, half of what
# compiling costs. A build's load makes them as it checks each section (load.py), so on
# two cores a forked child makes those of its share (forked.py).
NoteKey = tuple[str, int, str]


def note_keys(deck_id: str, rendered: Iterable[RenderedCard]
              ) -> tuple[list[str], list[int], list[str]]:
    """Each card's NoteKey, as three lists (the cheapest form for marshal)."""
    guids, numbers, digests = [], [], []
    for item in rendered:
        card = item.card
        guid = note_guid(deck_id, card.id)
        guids.append(guid)
        numbers.append(derived_note_id(deck_id, guid))
        digests.append(note_digest(card.kind, item.fields, card.tags))
    return guids, numbers, digests


def unique_ids(wanted: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Give each key its wanted id; the rare collision moves to the next free number,
    in a fixed order, so the result depends only on the set of keys."""
    pairs = list(wanted)
    ids = dict(pairs)
    if len(ids) == len(pairs) and len(set(ids.values())) == len(ids):
        return ids  # no collision (the usual case): every key keeps its number
    taken: set[int] = set()
    ids = {}
    for key, number in sorted(pairs):
        while number in taken:
            number += 1
        taken.add(number)
        ids[key] = number
    return ids


# Under `build --watch`: each rendered card's note as the last compile made it, by the
# card's identity (the cache hands a rebuild the very objects of unchanged sections), with
# the card itself (so a reused id is never mistaken), the deck id and subdeck it was
# compiled for, and the note id it wanted; None in a one-off process.
_known: dict[int, tuple[RenderedCard, str, str, int, Note]] | None = None


def keep_in_memory() -> None:
    """Remember each card's note from one compile to the next (for ``build --watch``)."""
    global _known
    if _known is None:
        _known = {}


def compile_notes(deck: Deck, rendered: list[RenderedCard],
                  keys: Iterable[NoteKey | None] = ()) -> list[Note]:
    """The cards' notes; ``keys``, beside ``rendered``, may give a card's NoteKey for this
    deck (made by ``note_keys``), which then is not made again."""
    global _known
    deck_id = deck.id
    subdeck = {}
    for section in deck.sections:
        name = deck.subdeck(section)
        subdeck.update(dict.fromkeys((card.id for card in section.cards), name))
    known = _known or {}
    found: dict[int, tuple[RenderedCard, str, str, int, Note]] = {}
    # (card, subdeck, the note made before (or None), its memory entry, its digest and
    # sorted tags)
    compiled: list[tuple[RenderedCard, str, Note | None, Any, str, tuple[str, ...]]] = []
    wanted: list[tuple[str, int]] = []  # each note's GUID and the id it would like
    for item, key in zip(rendered, chain(keys, repeat(None)), strict=False):  # keys may end
        card = item.card
        name = subdeck[card.id]
        kept = known.get(id(item)) if known else None
        if kept is not None and kept[0] is item and kept[1] == deck_id and kept[2] == name:
            note = kept[4]
            compiled.append((item, name, note, kept, "", note.tags))
            wanted.append((note.guid, kept[3]))
            continue
        tags = tuple(sorted(card.tags))
        if key is not None:
            guid, number, digest = key
        else:
            guid = note_guid(deck_id, card.id)
            number = derived_note_id(deck_id, guid)
            # The subdeck stays out of the digest: an import never moves existing cards,
            # so a newer mod for a move would only overwrite the learner's own edits.
            digest = note_digest(card.kind, item.fields, tags)
        compiled.append((item, name, None, None, digest, tags))
        wanted.append((guid, number))
    note_ids = unique_ids(wanted)
    notes = []
    for (item, name, made, kept, digest, tags), (guid, number) in zip(compiled, wanted,
                                                                       strict=True):
        if made is not None:
            if made.note_id == note_ids[guid]:
                notes.append(made)
                if _known is not None:
                    found[id(item)] = kept
                continue
            digest = made.digest  # its id moved (a collision came or went)
        card = item.card
        kind = card.kind
        if kind == "cloze":
            ords = tuple(n - 1 for n in card.cloze_numbers)
        else:
            ords = (0, 1) if kind == "reverse" else (0,)
        note = Note(card.id, guid, note_ids[guid], kind, item.fields, tags, name, ords, digest)
        notes.append(note)
        if _known is not None:
            found[id(item)] = (item, deck_id, name, number, note)
    if _known is not None:
        _known = found  # only this deck's cards: memory stays one deck's worth
    return notes


def subdecks(deck: Deck) -> list[str]:
    return [deck.name] + [deck.subdeck(section) for section in deck.sections]


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
