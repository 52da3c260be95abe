"""From the rendered deck to Anki's collection: GUIDs, ids, notetypes, subdecks, rows.

Every id derives from stable names, never from the clock, so the same deck always
compiles to the same collection; ``mod`` times come from the lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .cloze import parse_cloze
from .model import Deck
from .notetypes import NOTETYPES, Notetype
from .render import RenderedCard, render_markdown

_BASE91 = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
           "!#$%&()*+,-./:;<=>?@[]^_`{|}~")
# Ids look like Anki's own (milliseconds since 2008 or so), derived from a hash.
_ID_BASE = 1_200_000_000_000
_ID_SPAN = 1 << 40


@dataclass(frozen=True)
class Note:
    card_id: str  # the author's id
    guid: str
    note_id: int
    notetype: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    subdeck: str
    ords: tuple[int, ...]  # the card ordinals Anki makes from this note
    digest: str  # a hash of all of the above that reaches Anki


def note_guid(deck_id: str, card_id: str) -> str:
    """The note's GUID: from the deck id and the card id only, so edits keep the note."""
    number = int.from_bytes(_sha(f"deckbuilder/note/{deck_id}/{card_id}")[:8], "big")
    digits = ""
    while True:
        number, digit = divmod(number, 91)
        digits = _BASE91[digit] + digits
        if not number:
            return digits


def derived_id(*names: str) -> int:
    return _ID_BASE + int.from_bytes(_sha("/".join(names))[:8], "big") % _ID_SPAN


def unique_ids(keys: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Derived ids, with the rare collision moved to the next free number in a fixed order."""
    taken: set[int] = set()
    ids = {}
    for key in sorted(set(keys)):
        number = derived_id(*key)
        while number in taken:
            number += 1
        taken.add(number)
        ids[key] = number
    return ids


def compile_notes(deck: Deck, rendered: list[RenderedCard]) -> list[Note]:
    guids = {item.card.id: note_guid(deck.id, item.card.id) for item in rendered}
    note_ids = unique_ids((deck.id, "note", guid) for guid in guids.values())
    notes = []
    for item in rendered:
        card = item.card
        if card.kind == "cloze":
            numbers = sorted({d.number for d in parse_cloze(card.front)[0]})
            ords = tuple(n - 1 for n in numbers)
        else:
            ords = (0, 1) if card.kind == "reverse" else (0,)
        tags = tuple(sorted(card.tags))
        content = [card.kind, item.fields, tags, item.subdeck]
        digest = hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]
        guid = guids[card.id]
        notes.append(Note(card.id, guid, note_ids[(deck.id, "note", guid)], card.kind,
                          item.fields, tags, item.subdeck, ords, digest))
    return notes


def subdecks(deck: Deck) -> list[str]:
    return [deck.name] + [deck.subdeck(section) for section in deck.sections]


def collection_bytes(deck: Deck, notes: list[Note], note_mods: dict[str, int],
                     notetype_mods: dict[str, int]) -> bytes:
    """The package's SQLite database, built in memory with genanki's schema."""
    import itertools
    import sqlite3

    import genanki

    deck_ids = unique_ids((deck.id, "deck", name) for name in subdecks(deck))
    decks = [genanki.Deck(deck_ids[(deck.id, "deck", name)], name,
                          render_markdown(deck.description, deck.html) if i == 0 else "")
             for i, name in enumerate(subdecks(deck))]
    models = {key: _model(nt, deck.id, notetype_mods[key]) for key, nt in NOTETYPES.items()}
    for model in models.values():
        decks[0].add_model(model)
    card_ids = unique_ids((deck.id, "card", note.guid, str(o)) for note in notes for o in note.ords)
    note_rows, card_rows = [], []
    for position, note in enumerate(notes, start=1):
        note_id = note.note_id
        mod = note_mods[note.guid]
        note_rows.append((note_id, note.guid, models[note.notetype].model_id, mod, -1,
                          f" {' '.join(note.tags)} ", "\x1f".join(note.fields), note.fields[0],
                          0, 0, ""))
        deck_id = deck_ids[(deck.id, "deck", note.subdeck)]
        for ord_ in note.ords:
            card_id = card_ids[(deck.id, "card", note.guid, str(ord_))]
            card_rows.append((card_id, note_id, deck_id, ord_, mod, -1, 0, 0, position,
                              0, 0, 0, 0, 0, 0, 0, 0, ""))
    connection = sqlite3.connect(":memory:")
    try:
        cursor = connection.cursor()
        genanki.Package(decks).write_to_db(cursor, 0, itertools.count(1))
        cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", note_rows)
        cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           card_rows)
        connection.commit()
        return bytes(connection.serialize())
    finally:
        connection.close()


def _model(notetype: Notetype, deck_id: str, mod: int) -> Any:
    import genanki

    class _Model(genanki.Model):  # type: ignore[misc]
        """genanki's model with its own ``mod``, so unchanged notetypes stay unchanged."""

        def to_json(self, timestamp: float, deck_id: int) -> dict[str, object]:
            data: dict[str, object] = super().to_json(timestamp, deck_id)
            data["mod"] = mod
            return data

    return _Model(
        derived_id(deck_id, "notetype", notetype.key),
        notetype.name(deck_id),
        fields=[{"name": name} for name in notetype.fields],
        templates=[{"name": name, "qfmt": q, "afmt": a} for name, q, a in notetype.templates],
        css=notetype.css,
        model_type=genanki.Model.CLOZE if notetype.is_cloze else genanki.Model.FRONT_BACK,
    )


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
