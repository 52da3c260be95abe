"""The package's SQLite collection: built whole, or (under ``build --watch``) updated
from the one the last rebuild made.

Either way it is written out with ``VACUUM INTO``, which lays every table and index out
afresh in key order, and the header's counters are set to fixed values: so the bytes
depend only on the rows, and a rebuild that rewrites only the rows that changed gives
exactly the bytes a cold build gives.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from . import deckoptions
from .anki import Note, derived_id, preset_id, subdecks, unique_ids
from .errors import OutputError
from .genankiload import load_genanki
from .keptrows import Row, kept_rows
from .model import Deck
from .notetypes import NOTETYPES, Notetype
from .package import create_exclusive, scratch_collection, signals_held

# Header fields that count writes (file change counter, version-valid-for, schema cookie):
# they tell how the file was made, not what it holds.
_COUNTERS = (24, 40, 92)
# The last collection made, in a long-lived process (`build --watch`): see keep_in_memory.
_kept: Collection | None = None
_remember = False


class Collection(NamedTuple):  # made at every start: not a dataclass (0.3 ms)
    """A collection's bytes and the rows it holds, by id."""

    data: bytes
    notes: list[Row]
    cards: list[Row]


def keep_in_memory() -> None:
    """Start the next rebuild from the last collection made (for ``build --watch``)."""
    global _remember
    _remember = True


def kept() -> Collection | None:
    """The collection ``keep`` was last given, if this process keeps one."""
    return _kept


def keep(made: Collection) -> None:
    global _kept
    if _remember:
        _kept = made


def collection_bytes(deck: Deck, notes: list[Note], note_mods: dict[str, int],
                     notetype_mods: dict[str, int], scratch: Path | None = None) -> bytes:
    """The package's SQLite database, built from nothing (see ``collection``)."""
    return collection(deck, notes, note_mods, notetype_mods, scratch).data


def collection(deck: Deck, notes: list[Note], note_mods: dict[str, int],
               notetype_mods: dict[str, int], scratch: Path | None = None,
               previous: Collection | None = None) -> Collection:
    """The package's SQLite database, with genanki's schema (see ``collection_file``)."""
    with collection_file(deck, notes, note_mods, notetype_mods, scratch, previous,
                         read=True) as (_, made):
        return made


@contextlib.contextmanager
def collection_file(deck: Deck, notes: list[Note], note_mods: dict[str, int],
                    notetype_mods: dict[str, int], scratch: Path | None = None,
                    previous: Collection | None = None, read: bool = False,
                    meanwhile: Callable[[], None] = lambda: None
                    ) -> Iterator[tuple[Path, Collection]]:
    """The package's SQLite database as a file, removed on leaving, and its rows.

    With ``previous`` (a collection this function made), only the rows that differ are
    written before the result is laid out: the bytes are those of a build from nothing.
    The work happens in fresh files in ``scratch`` (default: $TMPDIR). The Collection
    holds the file's bytes with ``read``, or in a long-lived process (for the next
    rebuild): a package zipped from the file never holds them (50 MB at 100,000 cards).
    ``meanwhile`` is called once the rows are in, when SQLite goes on without the GIL
    (index builds, VACUUM INTO): a thread it starts has this process's Python to itself.
    Raises OutputError when the files cannot be written.
    """
    decks, note_rows, card_rows = _rows(deck, notes, note_mods, notetype_mods)
    # Rows are kept (as lists) only for the next rebuild of a long-lived process.
    note_list: list[Row] = list(note_rows) if _remember else []
    card_list: list[Row] = list(card_rows) if _remember else []
    if _remember:
        note_rows, card_rows = note_list, card_list
    if scratch is None:
        import tempfile  # only here: a build gives its own folder

        scratch = Path(tempfile.gettempdir())
    folder = scratch
    owned: list[Path] = []
    try:
        try:
            fd, work = create_exclusive(folder, scratch_collection(deck.id), owned)
            with os.fdopen(fd, "wb") as handle:  # never reopened by name: see create_exclusive
                handle.write(previous.data if previous else b"")
            connection = None
            if previous is not None and _remember:
                connection = _updated(work, previous, decks, note_list, card_list)
            if connection is None:
                os.truncate(work, 0)  # start from nothing
                connection = _open(work)
                _fill(connection, decks, note_rows, card_rows, varying=not _remember,
                      meanwhile=meanwhile)
            else:
                meanwhile()
            try:
                # After either path: an update copies the col row of a cold build, options-less.
                deckoptions.write(connection, preset_id(deck.id), deck.name, deck.head.options)
                fd, result = create_exclusive(folder, scratch_collection(deck.id), owned)
                os.close(fd)  # VACUUM INTO writes into an empty file
                connection.execute("VACUUM INTO ?", (os.fspath(result.absolute()),))
            finally:
                connection.close()
            fd = os.open(result, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:  # in the file, so that the bytes are read (and held) once
                for offset in _COUNTERS:
                    os.pwrite(fd, (1).to_bytes(4, "big"), offset)
            finally:
                os.close(fd)
            data = result.read_bytes() if read or _remember else b""
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise OutputError(f"cannot build the collection in {folder}: {reason}") from exc
        # The rows are kept only for the next rebuild of a long-lived process: a big
        # deck's rows take as much memory as its collection.
        yield result, Collection(data, note_list, card_list)
    finally:
        with signals_held():  # a Ctrl-C in the clean-up left the other file behind
            for file in owned:
                file.unlink(missing_ok=True)
                # and SQLite's journal, which a write the disk had no room for leaves
                Path(f"{file}-journal").unlink(missing_ok=True)


def _updated(work: Path, previous: Collection, decks: list[Any], note_rows: list[Row],
             card_rows: list[Row]) -> sqlite3.Connection | None:
    """``work`` (a copy of ``previous``) updated to hold the rows; None when it cannot be."""
    connection = None
    try:
        connection = _open(work)
        if _update(connection, decks, note_rows, card_rows, previous):
            return connection
    except sqlite3.Error:
        pass  # not a database, or a damaged one
    if connection is not None:
        connection.close()
    return None


def _open(path: Path) -> sqlite3.Connection:
    # mode=rw: SQLite opens the file made for it, never creates another one.
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True)
    connection.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to roll back
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA temp_store = MEMORY")  # index sorts never touch $TMPDIR
    return connection


def _rows(deck: Deck, notes: list[Note], note_mods: dict[str, int],
          notetype_mods: dict[str, int]) -> tuple[list[Any], Iterable[Row], Iterable[Row]]:
    """genanki's decks (with the notetypes), and the notes' and cards' rows by id: whole
    when kept (for ``build --watch``), else only the columns that vary (see _fill)."""
    genanki = load_genanki()

    names = subdecks(deck)
    deck_ids = unique_ids((name, derived_id(deck.id, "deck", name)) for name in names)
    description = deck.description_html
    decks = [genanki.Deck(deck_ids[name], name, description if name == deck.name else "")
             for name in names]
    models = {key: _model(nt, deck.id, notetype_mods[key]) for key, nt in NOTETYPES.items()}
    for model in models.values():
        decks[0].add_model(model)
    model_ids = {key: model.model_id for key, model in models.items()}
    if _remember:
        note_list, card_list = kept_rows(notes, note_mods, model_ids, deck_ids)
        return decks, note_list, card_list
    # Rows in rowid order: SQLite appends each to the end of its table's b-tree instead
    # of splitting pages all over it (half the time, and fewer pages). The notes' positions
    # in id order; their cards, made in that order, are then nearly sorted already.
    note_ids = [note.note_id for note in notes]
    order = sorted(range(len(notes)), key=note_ids.__getitem__)
    # A card's id follows its note's; the rare clash moves on to a free number (keyed
    # by GUID and ordinal). Without a clash, that is each card's own number.
    cards = [(note_ids[position] + o, position, o)
             for position in order for o in notes[position].ords]
    if len(set(map(itemgetter(0), cards))) != len(cards):
        card_ids = unique_ids((f"{note.guid}\x1f{o}", note.note_id + o)
                              for note in notes for o in note.ords)
        cards = [(card_ids[f"{notes[position].guid}\x1f{o}"], position, o)
                 for _, position, o in cards]
    # Only the order is sorted: the rows themselves are made one at a time as SQLite
    # takes them (a big deck's rows take as much memory as its collection), except when
    # they are kept. Only the columns that vary (see _VARYING).
    note_rows: Iterable[Row] = (
        (note.note_id, note.guid, model_ids[note.notetype], note_mods[note.guid],
         f" {' '.join(note.tags)} ", "\x1f".join(note.fields), note.fields[0])
        for note in map(notes.__getitem__, order))
    cards.sort(key=itemgetter(0))  # by id alone (ids are distinct): 2.4x quicker at 100k
    card_rows: Iterable[Row] = (
        (card_id, notes[position].note_id, deck_ids[notes[position].subdeck], o,
         note_mods[notes[position].guid], position + 1)
        for card_id, position, o in cards)
    return decks, note_rows, card_rows


# The rows of a build from nothing carry only the columns that vary; every new note and
# card has the same usn (-1), csum, flags, type, queue, intervals... (0) and data (''),
# written here as SQL literals: the same rows (keptrows.py makes them whole), 7 ms less
# at 10,000 cards than binding them a row at a time.
_VARYING = {"notes": "?,?,?,?,-1,?,?,?,0,0,''", "cards": "?,?,?,?,?,-1,0,0,?,0,0,0,0,0,0,0,0,''"}
_WHOLE = {"notes": ",".join("?" * 11), "cards": ",".join("?" * 18)}


def _fill(connection: sqlite3.Connection, decks: list[Any], note_rows: Iterable[Row],
          card_rows: Iterable[Row], varying: bool = False,
          meanwhile: Callable[[], None] = lambda: None) -> None:
    """The collection's tables and rows; ``varying``: the rows hold only the columns
    that vary (see _VARYING), else whole rows. ``meanwhile``: see collection_file."""
    import json

    genanki = load_genanki()

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
    marks = _VARYING if varying else _WHOLE
    _insert_all(cursor, "notes", marks["notes"], note_rows)
    _insert_all(cursor, "cards", marks["cards"], card_rows)
    meanwhile()
    for _, sql in indexes:
        cursor.execute(sql)
    connection.commit()


# Rows go to SQLite this many at a time, as one INSERT of as many VALUES: run once a row,
# the statement cost a 10,000-card build 5 ms more (each run binds, steps, resets and
# lets go of the GIL; sqlite3 caches the one statement of 64 rows).
_ROWS_AT_ONCE = 64


def _insert_all(cursor: sqlite3.Cursor, table: str, marks: str, rows: Iterable[Row]) -> None:
    """Insert ``rows`` (values for the ``?`` in ``marks``) in order, a few at a time."""
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    at_once = max(1, min(_ROWS_AT_ONCE, limit // max(1, marks.count("?"))))
    values = f"({marks})"
    statement = f"INSERT INTO {table} VALUES{','.join([values] * at_once)}"
    left = iter(rows)
    while chunk := list(itertools.islice(left, at_once)):
        if len(chunk) < at_once:  # the last few
            statement = f"INSERT INTO {table} VALUES{','.join([values] * len(chunk))}"
        cursor.execute(statement, list(itertools.chain.from_iterable(chunk)))


def _update(connection: sqlite3.Connection, decks: list[Any], note_rows: list[Row],
            card_rows: list[Row], previous: Collection) -> bool:
    """Make the collection in ``connection`` hold exactly what ``_fill`` writes; False
    (nothing to keep) when it is not a collection of the same layout, or not one at all."""
    target = sqlite3.connect(":memory:")
    try:
        _fill(target, decks, [], [])  # the schema, settings and col row of a cold build
        if _layout(connection) != _layout(target):
            return False
        tables = [name for (name,) in target.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            if table not in ("notes", "cards"):  # small: copied whole
                rows = target.execute(f'SELECT * FROM "{table}"').fetchall()
                connection.execute(f'DELETE FROM "{table}"')
                _insert(connection, table, rows)
        _sync(connection, "notes", note_rows, previous.notes)
        _sync(connection, "cards", card_rows, previous.cards)
        connection.commit()
        return True
    except (sqlite3.Error, TypeError):
        return False  # not a database, a damaged one, or rows of the wrong types
    finally:
        target.close()


def _layout(connection: sqlite3.Connection) -> list[Any]:
    """What two collections must share for rows to be moved from one to the other."""
    schema = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                "ORDER BY type, name").fetchall()
    settings = [connection.execute(f"PRAGMA {name}").fetchone() for name in
                ("page_size", "encoding", "auto_vacuum", "user_version", "application_id")]
    return [schema, settings]


def _sync(connection: sqlite3.Connection, table: str, rows: list[Row],
          held: list[Row]) -> None:
    """Delete, add and rewrite rows so that ``table``, which holds ``held``, holds
    exactly ``rows``."""
    # By id: an unchanged row is most often the very tuple kept (see _kept_rows), which
    # compares at once, where hashing every row would read every field.
    old = {row[0]: row for row in held}
    changed = [row for row in rows if (kept := old.pop(row[0], None)) is not row
               and kept != row]
    connection.executemany(f"DELETE FROM {table} WHERE id = ?", [(key,) for key in old])
    _insert(connection, table, changed, "INSERT OR REPLACE")


def _insert(connection: sqlite3.Connection, table: str, rows: list[Row],
            verb: str = "INSERT") -> None:
    if rows:
        marks = ",".join("?" * len(rows[0]))
        connection.executemany(f'{verb} INTO "{table}" VALUES({marks})', rows)


def _model(notetype: Notetype, deck_id: str, mod: int) -> Any:
    genanki = load_genanki()

    class _Model(genanki.Model):  # type: ignore[misc,name-defined]
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
