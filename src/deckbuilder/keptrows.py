"""The notes' and cards' rows under ``build --watch``, made again only for notes that
changed: compile_notes hands a rebuild the very Note objects of unchanged cards, so a
note's rows are remembered by its identity (with the note itself, so a reused id is never
mistaken) together with everything else they derive from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .anki import Note, unique_ids

Row = tuple[Any, ...]


def kept_rows(notes: list[Note], note_mods: dict[str, int], model_ids: dict[str, int],
               deck_ids: dict[str, int]) -> tuple[list[Row], list[Row]]:
    """The rows database._rows makes, in lists, each note's made again only when the note,
    its position, mod, notetype or deck changed since the last collection."""
    global _made
    fresh: dict[int, _NoteRows] = {}
    made = [_note_rows(note, position, model_ids[note.notetype], note_mods[note.guid],
                       deck_ids[note.subdeck], fresh)
            for position, note in enumerate(notes, start=1)]
    _made = fresh  # only this deck's notes: memory stays one deck's worth
    wanted = [pair for rows in made for pair in rows.wanted]
    card_ids = unique_ids(wanted)
    clash = card_ids != dict(wanted)  # rare: then some cards take other ids
    # Ids are unique, so sorting the rows sorts them by id (and tuples of ints sort fast).
    note_rows = sorted([rows.note for rows in made])
    card_rows = sorted([row for rows in made
                        for row in (rows.cards_with(card_ids) if clash else rows.cards)])
    return note_rows, card_rows


@dataclass(frozen=True, slots=True)
class _NoteRows:
    """A note's row and its cards' rows, for a note at a position, with a mod, in a deck."""

    key: tuple[Note, int, int, int, int]  # the note, its position, model id, mod, deck id
    note: Row
    wanted: list[tuple[str, int]]  # each card's key and the id it would like
    cards: list[Row]  # with the wanted ids

    def cards_with(self, card_ids: dict[str, int]) -> list[Row]:
        """The cards' rows with the ids they were given (the wanted ones but for a clash)."""
        if all(card_ids[key] == wanted for key, wanted in self.wanted):
            return self.cards
        return [(card_ids[key], *row[1:]) for (key, _), row in zip(self.wanted, self.cards,
                                                                    strict=True)]


# Each note's rows by the note's identity, from the last collection made.
_made: dict[int, _NoteRows] = {}


def _note_rows(note: Note, position: int, model_id: int, mod: int, deck_id: int,
               fresh: dict[int, _NoteRows]) -> _NoteRows:
    key = (note, position, model_id, mod, deck_id)
    if (kept := _made.get(id(note))) is not None and kept.key[0] is note \
            and kept.key[1:] == key[1:]:
        fresh[id(note)] = kept
        return kept
    note_id = note.note_id
    wanted = [(f"{note.guid}\x1f{o}", note_id + o) for o in note.ords]
    rows = _NoteRows(
        key,
        (note_id, note.guid, model_id, mod, -1, f" {' '.join(note.tags)} ",
         "\x1f".join(note.fields), note.fields[0], 0, 0, ""),
        wanted,
        [(card_id, note_id, deck_id, o, mod, -1, 0, 0, position, 0, 0, 0, 0, 0, 0, 0, 0, "")
         for (_, card_id), o in zip(wanted, note.ords, strict=True)])
    fresh[id(note)] = rows
    return rows
