"""The quick rebuild's collection and package (quick.py): the last collection with the
changed sections' rows replaced, then zipped deflating only the chunks that changed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
from collections.abc import Iterable
from pathlib import Path

from . import zipwrite
from .anki import Note, derived_id, notetype_ids, unique_ids
from .model import DeckHead
from .package import (
    create_exclusive,
    package_bytes,
    read_regular,
    scratch_collection,
    signals_held,
)
from .quickread import MAX_FILE, Read
from .quickstate import SectionState, State, hold

NAME = "collection.anki2"
_COUNTERS = (24, 40, 92)  # the header's write counters, set as database.py sets them
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # a zip entry's local header


def zipped(state: State, deck_dir: Path, out_dir: Path, read: Read,
           sections: list[SectionState], changed: set[str],
           rows: tuple[list[Note], list[int], dict[str, int]], mods: dict[str, int],
           head: DeckHead) -> tuple[bytes, str | None, tuple[int, int, list[int]],
                                    dict[str, bytes]]:
    """The package, the name of its collection kept in the cache folder (None if none
    could be kept), the collection's length, CRC and chunk sizes, and the media's
    digests; ``read``: the last package and collection (quickread.py). Raises ValueError
    when the last collection is not the one the state and the last package describe."""
    old, old_package = read.collection, read.package
    (signature, _, _, _, _, _, crc, size, length, named, extra) = _LOCAL.unpack_from(
        old_package)
    start = _LOCAL.size + named + extra
    if (signature != b"PK\x03\x04" or old_package[_LOCAL.size:_LOCAL.size + named]
            != NAME.encode() or (crc, length) != (state.crc, state.length)
            or (read.collection_crc, len(old)) != (crc, length)
            or size != sum(state.chunks)):
        raise ValueError("the last collection is not the package's")
    chunks, offset = [], start
    for chunk in state.chunks:
        chunks.append(old_package[offset:offset + chunk])
        offset += chunk
    # Every chunk but the last ends with a full flush's empty stored block: sizes that add
    # up but cut elsewhere would splice parts of two chunks into the new package.
    if not all(chunk.endswith(b"\x00\x00\xff\xff") for chunk in chunks[:-1]):
        raise ValueError("the chunk sizes do not cut the package where it was cut")
    owned: list[Path] = []
    try:
        fd, result = create_exclusive(out_dir, scratch_collection(state.deck_id), owned)
        os.close(fd)  # VACUUM INTO writes into an empty file
        _update(read.database, result, state, sections, changed, rows, mods, head)
        packed: dict[str, bytes] = {}
        made = read_regular(result, MAX_FILE)
        with zipwrite.primed(NAME, old, chunks):
            package = package_bytes(made, {k: Path(v) for k, v in state.media.items()},
                                    packed)
        kept = hold(result, deck_dir, out_dir)
        return package, kept, zipwrite.written[NAME], packed
    finally:
        with signals_held():  # as database.py
            for file in owned:
                with contextlib.suppress(OSError):
                    file.unlink()
                    Path(f"{file}-journal").unlink(missing_ok=True)


def _update(connection: sqlite3.Connection, result: Path, state: State,
            sections: list[SectionState], changed: set[str],
            rows: tuple[list[Note], list[int], dict[str, int]], mods: dict[str, int],
            head: DeckHead) -> None:
    """The last collection (``connection``: a copy in memory, closed here) with the rows
    of the notes that changed replaced and every other card's position moved as its
    section moved, laid out into ``result``."""
    notes, gone, positions = rows
    try:
        # As database.py: VACUUM INTO syncs its file as the source's setting says (a
        # scratch file: the package written from it is what is synced).
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA temp_store = MEMORY")
        connection.executemany("DELETE FROM notes WHERE id = ?", [(n,) for n in gone])
        connection.executemany("DELETE FROM cards WHERE nid = ?", [(n,) for n in gone])
        # Cards of unchanged sections keep their rows but for their position (`due`):
        # negated while moved, so that a moved row is never taken for one still to move.
        shifts = []
        old_start = new_start = 0
        for before, after in zip(state.sections, sections, strict=True):
            if before.name not in changed and old_start != new_start:
                shifts.append((new_start - old_start, old_start + 1,
                               old_start + len(before.cards)))
            old_start += len(before.cards)
            new_start += len(after.cards)
        connection.executemany("UPDATE cards SET due = -(due + ?) WHERE due BETWEEN ? AND ?",
                               shifts)
        if shifts:
            connection.execute("UPDATE cards SET due = -due WHERE due < 0")
        note_rows, card_rows = _rows(state, sections, notes, positions, mods, head)
        connection.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", note_rows)
        connection.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               card_rows)
        connection.commit()
        connection.execute("VACUUM INTO ?", (os.fspath(result.absolute()),))
    finally:
        connection.close()
    fd = os.open(result, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        for offset in _COUNTERS:
            os.pwrite(fd, (1).to_bytes(4, "big"), offset)
    finally:
        os.close(fd)


def _rows(state: State, sections: list[SectionState], notes: list[Note],
          positions: dict[str, int], mods: dict[str, int], head: DeckHead
          ) -> tuple[Iterable[tuple[object, ...]], Iterable[tuple[object, ...]]]:
    """The notes' rows and their cards' rows, as database._rows makes them."""
    names = [head.name, *(s.subdeck for s in sections)]
    deck_ids = unique_ids((name, derived_id(state.deck_id, "deck", name)) for name in names)
    model_ids = {key: number for number, key in notetype_ids(state.deck_id).items()}
    note_rows = [(n.note_id, n.guid, model_ids[n.notetype], mods[n.guid], -1,
                  f" {' '.join(n.tags)} ", "\x1f".join(n.fields), n.fields[0], 0, 0, "")
                 for n in notes]
    card_rows = [(n.note_id + o, n.note_id, deck_ids[n.subdeck], o, mods[n.guid], -1, 0, 0,
                  positions[n.card_id], 0, 0, 0, 0, 0, 0, 0, 0, "")
                 for n in notes for o in n.ords]
    return note_rows, card_rows
