"""From the rendered deck to Anki's collection: GUIDs, ids, notetypes, subdecks, rows.

Every id derives from stable names, never from the clock, so the same deck always
compiles to the same collection; ``mod`` times come from the lock.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import Deck
from .notetypes import NOTETYPES, Notetype
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


@dataclass(frozen=True, slots=True)
class Note:
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
    digits = []
    for word in (int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big")):
        digits += (_B85_PAIRS[word // 614_125], _B85_PAIRS[word // 85 % 7225], _B85[word % 85])
    return "".join(digits)


def derived_id(*names: str) -> int:
    return _ID_BASE + int.from_bytes(_sha("/".join(names))[:8], "big") % _ID_SPAN


def notetype_ids(deck_id: str) -> dict[int, str]:
    """The deck's own notetypes, id -> key (basic, reverse, cloze)."""
    return {derived_id(deck_id, "notetype", key): key for key in NOTETYPES}


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


def compile_notes(deck: Deck, rendered: list[RenderedCard]) -> list[Note]:
    deck_id = deck.id
    subdeck = {}
    for section in deck.sections:
        name = deck.subdeck(section)
        subdeck.update(dict.fromkeys((card.id for card in section.cards), name))
    guids = {item.card.id: note_guid(deck_id, item.card.id) for item in rendered}
    note_ids = unique_ids((guid, derived_note_id(deck_id, guid)) for guid in guids.values())
    notes = []
    for item in rendered:
        card = item.card
        kind = card.kind
        if kind == "cloze":
            ords = tuple(n - 1 for n in card.cloze_numbers)
        else:
            ords = (0, 1) if kind == "reverse" else (0,)
        tags = tuple(sorted(card.tags))
        # The subdeck stays out: an import never moves existing cards, so a newer mod for
        # a move would only overwrite the learner's own edits of the note.
        digest = note_digest(kind, item.fields, tags)
        guid = guids[card.id]
        notes.append(Note(card.id, guid, note_ids[guid], kind, item.fields, tags,
                          subdeck[card.id], ords, digest))
    return notes


def subdecks(deck: Deck) -> list[str]:
    return [deck.name] + [deck.subdeck(section) for section in deck.sections]


def collection_bytes(deck: Deck, notes: list[Note], note_mods: dict[str, int],
                     notetype_mods: dict[str, int], scratch: Path | None = None) -> bytes:
    """The package's SQLite database, built with genanki's schema.

    It is built in a fresh file in ``scratch`` (default: $TMPDIR), not in memory, so a
    big deck's database is held in memory once (as the returned bytes), not twice; the
    file is always removed. Raises OutputError when it cannot be written.
    """
    import genanki

    from .errors import OutputError
    from .package import create_exclusive

    names = subdecks(deck)
    deck_ids = unique_ids((name, derived_id(deck.id, "deck", name)) for name in names)
    description = deck.description_html
    decks = [genanki.Deck(deck_ids[name], name, description if name == deck.name else "")
             for name in names]
    models = {key: _model(nt, deck.id, notetype_mods[key]) for key, nt in NOTETYPES.items()}
    for model in models.values():
        decks[0].add_model(model)
    # A card's id follows its note's; the rare clash moves on to a free number.
    card_ids = unique_ids((f"{note.guid}\x1f{o}", note.note_id + o)
                          for note in notes for o in note.ords)
    model_ids = {key: model.model_id for key, model in models.items()}
    # Rows in rowid order: SQLite appends each to the end of its table's b-tree instead
    # of splitting pages all over it (half the time, and fewer pages).
    note_rows = sorted([(note.note_id, note.guid, model_ids[note.notetype], note_mods[note.guid],
                         -1, f" {' '.join(note.tags)} ", "\x1f".join(note.fields),
                         note.fields[0], 0, 0, "") for note in notes], key=_first)
    card_rows = sorted([(card_ids[f"{note.guid}\x1f{o}"], note.note_id, deck_ids[note.subdeck], o,
                         note_mods[note.guid], -1, 0, 0, position, 0, 0, 0, 0, 0, 0, 0, 0, "")
                        for position, note in enumerate(notes, start=1) for o in note.ords],
                       key=_first)
    folder = Path(tempfile.gettempdir()) if scratch is None else scratch
    owned: list[Path] = []
    try:
        fd, database = create_exclusive(folder, "collection.anki2", owned)
        os.close(fd)
        # mode=rw: SQLite opens the empty file made above, never creates another one.
        connection = sqlite3.connect(f"{database.absolute().as_uri()}?mode=rw", uri=True)
        try:
            _fill(connection, decks, note_rows, card_rows)
        finally:
            connection.close()
        return database.read_bytes()
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise OutputError(f"cannot build the collection in {folder}: {reason}") from exc
    finally:
        for file in owned:
            file.unlink(missing_ok=True)


def _fill(connection: sqlite3.Connection, decks: list[Any], note_rows: Iterable[tuple[Any, ...]],
          card_rows: Iterable[tuple[Any, ...]]) -> None:
    import itertools
    import json

    import genanki

    connection.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to roll back
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA temp_store = MEMORY")  # index sorts never touch $TMPDIR
    cursor = connection.cursor()
    genanki.Package(decks[:1]).write_to_db(cursor, 0, itertools.count(1))
    # genanki re-reads and rewrites every deck's JSON for each deck it adds (quadratic in
    # the number of sections); add the subdecks' own JSON in one step, in the same order.
    (stored,) = cursor.execute("SELECT decks FROM col").fetchone()
    all_decks = json.loads(stored)
    all_decks.update({str(deck.deck_id): deck.to_json() for deck in decks[1:]})
    cursor.execute("UPDATE col SET decks = ?", (json.dumps(all_decks),))
    # Filling the tables before building their indexes is faster and gives the same schema.
    indexes = cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                             "sql IS NOT NULL ORDER BY name").fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", note_rows)
    cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       card_rows)
    for _, sql in indexes:
        cursor.execute(sql)
    connection.commit()


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


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
