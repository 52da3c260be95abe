"""The author's Anki collection through the official library: open, read, back up, import.

Everything here is a thin, typed layer over ``anki.collection.Collection``; what to
change is decided in ``syncplan``, in what order it is done in ``sync``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .anki import notetype_ids  # the only notes sync ever changes or removes
from .errors import CollectionLocked

# A programmatic import stores its options as the user's import defaults (verified with
# anki 26.9): they are saved before an import and put back after it.
IMPORT_DEFAULTS = ("mergeNotetypes", "withScheduling", "withDeckConfigs", "updateNotes",
                   "updateNotetypes")


@dataclass(frozen=True, slots=True)
class StoredNote:
    id: int
    guid: str
    mid: int
    mod: int  # seconds
    fields: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoredCard:
    id: int
    nid: int
    ord: int
    did: int
    odid: int  # the home deck of a card in a filtered deck, else 0

    @property
    def home(self) -> int:
        return self.odid or self.did


@dataclass(frozen=True)
class StoredNotetype:
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]
    css: str
    is_cloze: bool


@dataclass(frozen=True)
class Snapshot:
    """What sync needs to know of the collection: this deck's notes, their cards, decks."""

    notes: dict[str, StoredNote]  # by GUID, only notes of this deck's notetypes
    foreign_guids: dict[str, int]  # GUID -> notetype id, for notes of other notetypes
    cards: list[StoredCard]  # cards of ``notes``
    others: set[int]  # home decks of every other card
    decks: dict[int, str]  # every deck, id -> name
    notetypes: dict[str, StoredNotetype]  # this deck's notetypes in the collection, by key
    schema: int
    filtered: frozenset[int] = frozenset()  # ids of the filtered decks


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Any]:
    """The collection, held open (Anki desktop cannot open it meanwhile) and always closed."""
    from anki.collection import Collection
    from anki.errors import AnkiException

    _must_be_a_collection(path)
    try:
        col = Collection(str(path))
    except AnkiException as exc:
        if "already open" in str(exc):
            raise _locked(path) from None
        reason = "not an Anki collection" if "NotADatabase" in str(exc) else str(exc)
        raise CollectionLocked(f"cannot open {path}: {reason}") from None
    try:
        yield col
    finally:
        col.close()


def _locked(path: Path) -> CollectionLocked:
    return CollectionLocked(f"{path} is open in Anki: close Anki or switch profile, then "
                            "run again")


def _must_be_a_collection(path: Path) -> None:
    """Refuse a file that is not already an Anki collection: Anki's library would turn
    any SQLite file (or an empty one) into a collection, inside the user's own database."""
    try:
        connection = sqlite3.connect(path, timeout=0)
        try:
            tables = {name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            connection.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise _locked(path) from None
        raise CollectionLocked(f"cannot open {path}: {exc}") from None
    except sqlite3.DatabaseError:
        raise CollectionLocked(f"cannot open {path}: not an Anki collection") from None
    if not {"col", "notes", "cards", "revlog"} <= tables:
        raise CollectionLocked(f"cannot open {path}: not an Anki collection (it lacks "
                               "Anki's tables); nothing was written")


def snapshot(col: Any, deck_id: str) -> Snapshot:
    ours = notetype_ids(deck_id)
    notes: dict[str, StoredNote] = {}
    foreign: dict[str, int] = {}
    for nid, guid, mid, mod, flds, tags in col.db.all(
            "select id, guid, mid, mod, flds, tags from notes"):
        if mid in ours:
            notes[guid] = StoredNote(nid, guid, mid, mod, tuple(flds.split("\x1f")),
                                     tuple(tags.split()))
        else:
            foreign[guid] = mid
    note_ids = {note.id for note in notes.values()}
    cards, others = [], set()
    for row in col.db.all("select id, nid, ord, did, odid from cards"):
        if row[1] in note_ids:
            cards.append(StoredCard(*row))
        else:
            others.add(row[4] or row[3])
    decks = {d.id: d.name for d in col.decks.all_names_and_ids()}
    filtered = frozenset(did for did in decks if col.decks.is_filtered(did))
    notetypes = {}
    for mid, key in ours.items():
        nt = col.models.get(mid)
        if nt:
            notetypes[key] = StoredNotetype(
                nt["name"], tuple(f["name"] for f in nt["flds"]),
                tuple((t["name"], t["qfmt"], t["afmt"]) for t in nt["tmpls"]), nt["css"],
                nt["type"] == 1)
    return Snapshot(notes, foreign, cards, others, decks, notetypes,
                    col.db.scalar("select scm from col"), filtered)


def backup(col: Any, folder: Path) -> Path | None:
    """A .colpkg that Anki's own restore finds; None when an identical one already exists."""
    folder.mkdir(parents=True, exist_ok=True)
    if not col.create_backup(backup_folder=str(folder), force=True, wait_for_completion=True):
        return None
    # Named by the second: two backups in one second share a name, so take the newest.
    return max(folder.glob("*.colpkg"), key=lambda path: path.stat().st_mtime_ns)


def import_package(col: Any, package: Path, merge_notetypes: bool) -> None:
    """Import without scheduling or presets: notes if newer, notetypes always; the user's
    import defaults are restored afterwards, even when the import fails."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Update

    saved = {key: col.get_config(key, None) for key in IMPORT_DEFAULTS}
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(package.resolve()),
            options=ImportAnkiPackageOptions(
                merge_notetypes=merge_notetypes,
                update_notes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
                update_notetypes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS,
                with_scheduling=False,
                with_deck_configs=False,
            ),
        ))
    finally:
        col.models._clear_cache()  # the Python notetype cache is stale after an import
        restore_defaults(col, saved)


def add_missing_media(col: Any, package: Path) -> list[str]:
    """Write the package's media files the collection lacks. A note that only changed is
    updated directly, without an import, so a file it now names (a changed file has a new,
    content-addressed name) would otherwise never arrive; an existing name is never
    rewritten, since the same name is the same content."""
    present = set(os.listdir(col.media.dir()))
    added = []
    with zipfile.ZipFile(package) as archive:
        names = json.loads(archive.read("media"))
        for member, name in sorted(names.items()):
            if name not in present:
                col.media.write_data(name, archive.read(member))
                added.append(name)
    return added


def restore_defaults(col: Any, saved: dict[str, Any]) -> None:
    for key, value in saved.items():
        if col.get_config(key, None) == value:
            continue
        if value is None:
            col.remove_config(key)
        else:
            col.set_config(key, value)


def change_notetype(col: Any, note_ids: list[int], old: int, new: int) -> None:
    """Give notes another notetype (a full sync): fields and templates mapped by name, so
    the front card keeps its reviews; a template with no match loses its cards."""
    info = col.models.change_notetype_info(old_notetype_id=old, new_notetype_id=new)
    request = info.input
    request.note_ids.extend(note_ids)
    col.models.change_notetype_of_notes(request)
    col.models._clear_cache()


def set_home_deck(col: Any, cards: list[StoredCard], deck_id: int) -> None:
    """Move cards; one in a filtered deck stays there and gets its new home deck, where
    it returns when the filtered deck is emptied."""
    normal = [card.id for card in cards if not card.odid]
    if normal:
        col.set_deck(normal, deck_id)
    for stored in cards:
        if stored.odid:
            card = col.get_card(stored.id)
            card.odid = deck_id
            col.update_card(card)


def synced_digests(col: Any, deck_id: str) -> dict[str, str]:
    """What the last sync left in the collection: each of the deck's notes' content digest,
    by GUID (empty before the first sync). Kept in the collection's own config, so it
    travels with the collection and never depends on when the lock was last built."""
    value = col.get_config(_record_key(deck_id), None)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def remember_synced(col: Any, deck_id: str, digests: dict[str, str]) -> None:
    """Record ``digests``; nothing is written when they are already recorded, so a sync
    with nothing to do leaves the collection's ``mod`` alone."""
    if synced_digests(col, deck_id) != digests:
        col.set_config(_record_key(deck_id), digests)


def _record_key(deck_id: str) -> str:
    return f"deckbuilder:{deck_id}:synced"


def sync_preset(col: Any, preset_id: int, name: str, options: tuple[tuple[str, Any], ...],
                deck_names: list[str], write: bool) -> list[str]:
    """Make the deck's preset hold ``options`` and every deck of ``deck_names`` use it
    (only ``write`` changes anything); returns what changed, or would. A new preset copies
    the collection's Default for what ``options`` leaves out. Adding, updating and
    assigning a preset forces no one-way sync (measured: the schema stamp stays)."""
    from .deckoptions import apply, new_preset, value

    changes = []
    preset = col.decks.get_config(preset_id)
    if preset is None or preset["id"] != preset_id:  # a missing id gives Anki's Default
        preset = new_preset(col.decks.get_config(1), preset_id, name, options)
        changes.append(f"preset '{name}' added")
    else:
        before = {key: value(preset, key) for key, _ in options}
        changes += [f"preset '{preset['name']}': {key} {before[key]} -> {value(preset, key)}"
                    for key in apply(preset, options)]
    if write and changes:
        col.decks.update_config(preset)
    for deck_name in deck_names:
        did = col.decks.id_for_name(deck_name)
        deck = col.decks.get(did) if did else None
        if deck and not deck.get("dyn") and deck["conf"] != preset_id:
            changes.append(f"'{deck_name}' put on the preset")
            if write:
                deck["conf"] = preset_id
                col.decks.save(deck)
    return changes
