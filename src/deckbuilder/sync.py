"""`sync`: make the author's own Anki collection equal the deck, every review kept.

The order: build (every check of `build`; nothing is written yet), open the collection
(refused while Anki has it open), plan (``syncplan``), refuse what needs consent, then
build for real, back up, and apply: rename subdecks, import the package, update notes
the import left behind, move cards, remove notes, empty cards and emptied subdecks;
the user's import defaults are restored, and the result is verified against the deck.

An interrupted run converges when run again: every step is derived from what the
collection holds, not from what the previous run did.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .anki import Note, notetype_ids, preset_id, subdecks
from .build import BuildResult, build_deck
from .collection import (
    Snapshot,
    add_missing_media,
    backup,
    change_notetype,
    import_package,
    opened,
    remember_synced,
    set_home_deck,
    snapshot,
    sync_preset,
    synced_digests,
)
from .errors import SyncFailed, SyncRefused
from .lock import LOCK_NAME, Lock, read_lock
from .model import Deck
from .syncdecks import candidates, made_decks, predicted, present, remember_made
from .syncplan import (
    ANKI_OWN_TAGS,
    SECTION,
    Plan,
    cards_of,
    extra_cards,
    plan_sync,
    refusals,
    same_content,
    same_deck,
)


@dataclass(frozen=True)
class SyncOptions:
    dry_run: bool = False
    backup_dir: Path | None = None  # default: the profile's backups/ folder
    no_backup: bool = False
    allow_full_sync: bool = False
    overwrite_anki_edits: bool = False
    yes: bool = False  # consent to big removals


@dataclass
class SyncResult:
    plan: Plan
    applied: bool
    backup: Path | None = None
    cards_removed: int = 0  # empty cards (a removed cloze number or reverse side)
    decks_removed: list[str] = field(default_factory=list)
    preset: list[str] = field(default_factory=list)  # deck.yaml's options: what changed
    # The build that writes (or, in a dry run, would write) a package and lock that differ
    # from those on disk: its change report holds the searches learners need.
    built: BuildResult | None = None


def sync_deck(deck_dir: Path, collection: Path, out_dir: Path, now: int,
              options: SyncOptions, confirm: Callable[[Plan], bool]) -> SyncResult:
    """Sync the deck in ``deck_dir`` into ``collection``; ``confirm`` is asked before a big
    removal when ``options.yes`` is not set. Raises SyncRefused with the collection and
    the lock untouched, CollectionLocked, InvalidDeck, or SyncFailed after verifying."""
    old_lock = read_lock(deck_dir / LOCK_NAME, os.path.join(str(deck_dir), LOCK_NAME))
    # Subdecks deckbuilder made, and their deck: a section's is '<deck>::NN Title'. A lock
    # line naming any other deck (by hand, or a hostile repository's) never gets that
    # deck, or its parent, renamed or removed.
    legacy = {entry.subdeck for entry in old_lock.cards.values()
              if SECTION.match(entry.subdeck.rpartition("::")[2])}
    legacy |= {name.rpartition("::")[0] for name in legacy} - {""}
    # Nothing is written before the plan is agreed, but for the cache of checked
    # sections, which the real build below then reads instead of checking them again.
    checked = build_deck(deck_dir, out_dir, check=True, now=now,
                         allow_field_change=options.allow_full_sync, cache=True)
    with opened(collection) as col:
        synced = synced_digests(col, checked.deck.id)
        plan = _plan(col, checked, old_lock, legacy, synced)
        reasons = refusals(plan, options.allow_full_sync, options.overwrite_anki_edits)
        if reasons:
            raise SyncRefused("\n".join(reasons))
        if options.dry_run:
            return SyncResult(plan, applied=False, preset=_preset(col, checked.deck, False),
                              built=checked if checked.stale else None)
        if plan.empty:  # the package and lock are still brought up to date, as by `build`
            built = build_deck(deck_dir, out_dir, now=now,
                               allow_field_change=options.allow_full_sync) \
                if checked.stale else None
            remember_synced(col, checked.deck.id, _record(checked.notes, plan, synced, old_lock))
            return SyncResult(plan, applied=False, preset=_preset(col, checked.deck, True),
                              built=built)
        if plan.big_removal and not options.yes and not confirm(plan):
            raise SyncRefused(f"this would remove {len(plan.removed)} of the deck's "
                              f"{plan.deck_notes} notes from the collection; pass --yes "
                              "to do it")
        built = build_deck(deck_dir, out_dir, now=now,
                           allow_field_change=options.allow_full_sync)
        plan = _plan(col, built, old_lock, legacy, synced)
        schema = col.db.scalar("select scm from col")
        result = SyncResult(plan, applied=True, built=built if checked.stale else None)
        from anki.errors import AnkiException

        made = made_decks(col, built.deck.id)  # by the names they have before any rename
        before = {d.id for d in col.decks.all_names_and_ids()}
        try:
            if not options.no_backup:
                folder = options.backup_dir or collection.parent / "backups"
                try:
                    result.backup = backup(col, folder)
                except (AnkiException, OSError) as exc:  # before any change: say so
                    raise SyncFailed(f"cannot back up the collection into {folder}: "
                                     f"{getattr(exc, 'strerror', None) or exc}; nothing in "
                                     "it was changed (choose another --backup-dir)") from exc
            _apply(col, built, plan, options, result)
            result.preset = _preset(col, built.deck, True)
        except (AnkiException, OSError) as exc:
            where = f"; the backup is {result.backup}" if result.backup else ""
            raise SyncFailed(f"Anki stopped the sync: {exc}{where}. Run it again to finish; "
                             "every step starts from what the collection holds") from exc
        finally:  # the decks this sync made are deckbuilder's, even when it stopped early
            with contextlib.suppress(AnkiException, OSError):
                remember_made(col, built.deck.id, {
                    d.id: d.name for d in col.decks.all_names_and_ids()
                    if d.id in made or d.id not in before})
        problems = verify(col, built.deck, built.notes, plan, schema,
                          options.allow_full_sync)
        problems += [f"deck options not applied: {left}"
                     for left in _preset(col, built.deck, False)]
        if problems:
            where = f"; the backup is {result.backup}" if result.backup else ""
            raise SyncFailed("the collection does not match the deck after syncing"
                             f"{where}:\n" + "\n".join(problems))
        remember_synced(col, built.deck.id, _record(built.notes, plan, synced, old_lock))
        return result


def _record(notes: list[Note], plan: Plan, synced: dict[str, str],
            old_lock: Lock) -> dict[str, str]:
    """What this sync leaves in the collection, as the next one will compare: the deck's
    digest of every note, but for an Anki-side edit kept, whose reference stays what
    deckbuilder last put there (so that it is still known as an edit)."""
    kept = set(plan.kept)
    record = {}
    for note in notes:
        prior = synced.get(note.guid) or (old_lock.cards[note.card_id].digest
                                          if note.card_id in old_lock.cards else None)
        record[note.guid] = prior if note.card_id in kept and prior else note.digest
    return record


def _plan(col: Any, built: BuildResult, old_lock: Lock, legacy: set[str],
          synced: dict[str, str]) -> Plan:
    snap = snapshot(col, built.deck.id)
    plan = plan_sync(snap, built.deck, built.notes, old_lock, legacy, synced)
    plan.deck_candidates = candidates(snap, built.notes, plan, built.deck.name, legacy,
                                      made_decks(col, built.deck.id))
    plan.empty_decks = predicted(snap, built.notes, plan, plan.deck_candidates)
    return plan


def _preset(col: Any, deck: Deck, write: bool) -> list[str]:
    """deck.yaml's options into the deck's preset, which an import never updates."""
    if deck.head.options is None:
        return []
    return sync_preset(col, preset_id(deck.id), deck.name, deck.head.options, subdecks(deck),
                       write)


def _apply(col: Any, built: BuildResult, plan: Plan, options: SyncOptions,
           result: SyncResult) -> None:
    deck, notes = built.deck, built.notes
    for old, new in plan.renamed:
        col.decks.rename(col.decks.id_for_name(old), new)
    # Anki's own tags, read before the import gives an updated note the deck's tags (the
    # few notes that may have one: LIKE ignores ASCII case).
    own_tags = {guid: [t for t in tags.split() if t.casefold() in ANKI_OWN_TAGS]
                for guid, tags in col.db.all("select guid, tags from notes where tags like "
                                             "'%marked%' or tags like '%leech%'")}
    if plan.needs_import:  # an updated note takes the package's tags
        import_package(col, built.path, merge_notetypes=bool(plan.reshaped))
    _change_kinds(col, deck, notes, plan)
    _update_notes(col, snapshot(col, deck.id), notes, plan, options.overwrite_anki_edits,
                  own_tags)
    add_missing_media(col, built.path)
    _move_cards(col, snapshot(col, deck.id), notes)
    if plan.removed:
        col.remove_notes(sorted(nid for nid, _ in plan.removed))
    cards = extra_cards(snapshot(col, deck.id), notes)
    if cards:
        col.remove_cards_and_orphaned_notes(cards)
    result.cards_removed = len(cards)
    for name in present(snapshot(col, deck.id), plan.deck_candidates):  # children first
        col.decks.remove([col.decks.id_for_name(name)])
        result.decks_removed.append(name)


def _change_kinds(col: Any, deck: Deck, notes: list[Note], plan: Plan) -> None:
    """Notes whose kind changed get the new notetype (only with --allow-full-sync)."""
    if not plan.kind_changed:
        return
    snap = snapshot(col, deck.id)
    ids = {key: mid for mid, key in notetype_ids(deck.id).items()}
    by_id = {note.card_id: note for note in notes}
    groups: dict[tuple[int, int], list[int]] = {}
    for card_id, old, new in plan.kind_changed:
        stored = snap.notes.get(by_id[card_id].guid)
        if stored and stored.mid == ids[old]:
            groups.setdefault((ids[old], ids[new]), []).append(stored.id)
    for (old_id, new_id), note_ids in sorted(groups.items()):
        change_notetype(col, note_ids, old_id, new_id)


def _update_notes(col: Any, snap: Snapshot, notes: list[Note], plan: Plan,
                  overwrite: bool, own_tags: dict[str, list[str]]) -> None:
    """Update directly what the import did not: it compares times to the second, so a
    note edited in the same second as the build, or newer than the package, is skipped.
    Anki's own tags (``own_tags``, by GUID, from before the import) are kept."""
    wanted = set(plan.updated) | {card_id for card_id, _, _ in plan.kind_changed}
    if overwrite:
        wanted |= set(plan.conflicts)
    changed = []
    for note in notes:
        stored = snap.notes.get(note.guid)
        if stored is None:
            continue
        lost = [t for t in own_tags.get(note.guid, ())
                if t.casefold() not in {kept.casefold() for kept in stored.tags}]
        if not lost and (note.card_id not in wanted or same_content(stored, note,
                                                                     note.notetype)):
            continue
        anki_note = col.get_note(stored.id)
        if note.card_id in wanted:
            anki_note.fields = list(note.fields)
            anki_note.tags = list(note.tags)
        anki_note.tags += [t for t in own_tags.get(note.guid, ())
                           if t.casefold() not in {k.casefold() for k in anki_note.tags}]
        changed.append(anki_note)
    if changed:
        col.update_notes(changed)
    kind_ids = [snap.notes[n.guid].id for n in notes
                if n.card_id in {c for c, _, _ in plan.kind_changed} and n.guid in snap.notes]
    if kind_ids:  # a note that became a reverse needs its second card
        col.after_note_updates(kind_ids, mark_modified=False, generate_cards=True)


def _move_cards(col: Any, snap: Snapshot, notes: list[Note]) -> None:
    """Every card to its section's subdeck."""
    moves: dict[str, list[Any]] = {}
    for card, note in cards_of(snap, notes):
        home = snap.decks.get(card.home, "")
        if not same_deck(home, note.subdeck) and card.ord in note.ords:  # not one to go
            moves.setdefault(note.subdeck, []).append(card)
    for name, cards in sorted(moves.items()):
        set_home_deck(col, cards, col.decks.id(name, create=True))


def verify(col: Any, deck: Deck, notes: list[Note], plan: Plan, schema: int,
           full_sync_allowed: bool) -> list[str]:
    """What differs between the collection and the deck after a sync (empty: nothing)."""
    snap = snapshot(col, deck.id)
    problems = []
    missing = {n.guid for n in notes} - set(snap.notes)
    extra = set(snap.notes) - {n.guid for n in notes}
    if missing or extra:
        problems.append(f"{len(missing)} notes missing and {len(extra)} left over")
    kinds = notetype_ids(deck.id)
    kept = set(plan.kept)
    for note in notes:
        stored = snap.notes.get(note.guid)
        if stored and note.card_id not in kept and not same_content(
                stored, note, kinds[stored.mid]):
            problems.append(f"card '{note.card_id}' does not have the deck's content")
    ords: dict[str, set[int]] = {}
    for card, note in cards_of(snap, notes):
        ords.setdefault(note.card_id, set()).add(card.ord)
        if not same_deck(snap.decks.get(card.home, ""), note.subdeck):
            problems.append(f"a card of '{note.card_id}' is not in '{note.subdeck}'")
    problems += [f"'{note.card_id}' has cards {sorted(ords.get(note.card_id, ()))}, the deck "
                 f"makes {list(note.ords)}" for note in notes
                 if note.guid in snap.notes and ords.get(note.card_id) != set(note.ords)]
    if snap.schema != schema and not full_sync_allowed:
        problems.append("the schema stamp moved: the next sync would be a full one")
    return problems
