"""A lost lock, rebuilt from the last package: every card's GUID, note id and ``mod``.

Without a lock every card would get a new ``mod``, and the next import would overwrite
every learner's own edits. The package the last build wrote holds the same facts: each
note's GUID, ``mod``, fields and tags, from which the content digest is recomputed, so
a card that has not changed since keeps its ``mod``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import TypeGuard

from .anki import note_digest, note_guid, notetype_ids
from .lock import MAX_MOD, MAX_TIME, CardEntry, Lock, NotetypeEntry
from .model import Deck
from .notetypes import NOTETYPES

MAX_COLLECTION_BYTES = 1 << 30
# What a damaged or hostile package can raise while it is unpacked and read.
_UNREADABLE = (OSError, EOFError, RuntimeError, NotImplementedError, zlib.error, KeyError,
               ValueError, TypeError, AttributeError, IndexError, zipfile.BadZipFile,
               sqlite3.Error)


def lock_from_package(path: Path, deck: Deck) -> Lock | None:
    """The lock that the build which wrote ``path`` had; None when ``path`` is not a
    readable package of this deck (a missing, foreign or damaged file is not an error:
    the build then starts afresh, as it would without a package)."""
    try:
        if not path.is_file():
            return None
        with tempfile.TemporaryDirectory(prefix="deckbuilder-") as scratch:
            database = Path(scratch) / "collection.anki2"
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("collection.anki2")
                if info.file_size > MAX_COLLECTION_BYTES:
                    return None
                # Streamed to a file, never held in memory whole (a small package can
                # unpack to a gigabyte).
                with archive.open(info) as packed, database.open("xb") as unpacked:
                    shutil.copyfileobj(packed, unpacked, 1 << 20)
            return _read_collection(database, deck)
    except _UNREADABLE:
        return None


def _read_collection(database: Path, deck: Deck) -> Lock | None:
    connection = sqlite3.connect(database.as_uri() + "?mode=ro", uri=True)
    try:
        models = json.loads(connection.execute("SELECT models FROM col").fetchone()[0])
        decks = json.loads(connection.execute("SELECT decks FROM col").fetchone()[0])
        notes = connection.execute(
            "SELECT n.id, n.guid, n.mid, n.mod, n.flds, n.tags, min(c.did) FROM notes n "
            "JOIN cards c ON c.nid = n.id GROUP BY n.id").fetchall()
    finally:
        connection.close()
    kinds = notetype_ids(deck.id)
    if not any(int(mid) in kinds for mid in models):
        return None  # another deck's package
    lock = Lock(deck.id)
    for mid, model in models.items():
        key = kinds.get(int(mid))
        if key is not None:
            lock.notetypes[key] = _notetype_entry(key, model, deck.id)
    card_ids = {note_guid(deck.id, card.id): card.id for card in deck.cards}
    for note_id, guid, mid, mod, fields, tags, did in notes:
        kind = kinds.get(mid)
        if kind is None or not (_whole(mod, 0, MAX_MOD) and _whole(note_id, 1, MAX_TIME - 1)):
            continue
        digest = note_digest(kind, fields.split("\x1f"), tags.split())
        subdeck = decks.get(str(did), {}).get("name", "")
        # A note of a card since removed: its id is unknown, its GUID is enough to report it.
        card_id = card_ids.get(guid, f"(GUID {guid})")
        lock.cards[card_id] = CardEntry(guid, note_id, kind, digest, mod, subdeck)
    return lock


def _notetype_entry(key: str, model: dict[str, object], deck_id: str) -> NotetypeEntry:
    """The notetype's entry: its current digest when the package's copy is the same."""
    notetype = NOTETYPES[key]
    fields = tuple(str(f["name"]) for f in model["flds"])  # type: ignore[attr-defined]
    templates = tuple((str(t["name"]), str(t["qfmt"]), str(t["afmt"]))
                      for t in model["tmpls"])  # type: ignore[attr-defined]
    same = (model.get("name"), fields, templates, model.get("css")) == (
        notetype.name(deck_id), notetype.fields, notetype.templates, notetype.css)
    mod = model.get("mod")
    if not _whole(mod, 0, MAX_MOD):
        raise ValueError("no mod")
    return NotetypeEntry(notetype.digest(deck_id) if same else "", mod, fields)


def _whole(value: object, low: int, high: int) -> TypeGuard[int]:
    """A whole number in range: SQLite and JSON also hold 1.5 and true."""
    return type(value) is int and low <= value <= high

