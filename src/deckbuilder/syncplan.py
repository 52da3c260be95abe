"""What a sync would change in the author's collection, decided before anything is written.

The plan compares three things for each of this deck's notes, matched by GUID (never by
note id, which Anki may renumber): the note in the collection, the note the deck
compiles to now, and the card's line in the lock as it was before this sync built
(what deckbuilder last compiled, with its ``mod``).

The rule for edits made in Anki: every sync records in the collection's config the
digest of each note it left there (``collection.remember_synced``). A note whose content
in the collection differs from that record was edited in Anki: if the deck still
compiles to the record, the edit is kept and listed; if the deck changed too, it is a
conflict, refused without --overwrite-anki-edits. Any other difference is the deck
moving ahead of the collection, and the note is updated. Content means what an import
updates: kind, fields and tags (``anki.note_digest``). Builds between two syncs do not
matter. Before the first sync there is no record: the lock's entry stands in, and an edit
counts when its note's ``mod`` is newer than the lock's.

Only notes of this deck's own notetypes are ever planned for change or removal.

Anything that would change the collection's schema, and so force a one-way sync of
every device, is listed as such: a notetype whose fields or templates differ from the
deck's, and a note whose kind changed (basic, reverse, cloze are separate notetypes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .anki import Note, note_digest, notetype_ids
from .collection import Snapshot, StoredCard, StoredNote
from .errors import plural
from .lock import Lock
from .model import Deck
from .notetypes import NOTETYPES

BIG_REMOVAL = 10  # notes; or more than a tenth of the deck's notes in the collection


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)  # card ids
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited in Anki, unchanged in the deck
    conflicts: list[str] = field(default_factory=list)  # edited in Anki and in the deck
    kind_changed: list[tuple[str, str, str]] = field(default_factory=list)  # id, from, to
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # id, from, to
    renamed: list[tuple[str, str]] = field(default_factory=list)  # subdeck names
    removed: list[tuple[int, str]] = field(default_factory=list)  # note id, card id or text
    notetypes: list[str] = field(default_factory=list)  # keys whose text or CSS changed
    reshaped: list[str] = field(default_factory=list)  # keys whose fields or templates did
    full_sync: list[str] = field(default_factory=list)  # why the schema would change
    foreign: list[str] = field(default_factory=list)  # card ids whose GUID another owns
    empty_cards: int = 0  # cards of ours left empty (a removed cloze number or side)
    empty_decks: list[str] = field(default_factory=list)  # deckbuilder's, left empty
    deck_candidates: set[str] = field(default_factory=set)  # see syncdecks.candidates
    deck_notes: int = 0  # this deck's notes in the collection now

    @property
    def needs_import(self) -> bool:
        return bool(self.added or self.notetypes or self.reshaped or self.kind_changed)

    @property
    def empty(self) -> bool:
        return not (self.needs_import or self.updated or self.conflicts or self.moved
                    or self.renamed or self.removed or self.full_sync or self.empty_cards
                    or self.empty_decks)

    @property
    def big_removal(self) -> bool:
        return len(self.removed) > BIG_REMOVAL or len(self.removed) * 10 > self.deck_notes


def plan_sync(snap: Snapshot, deck: Deck, notes: list[Note], old_lock: Lock,
              legacy_subdecks: set[str], synced: dict[str, str]) -> Plan:
    """The plan; ``legacy_subdecks`` are subdecks deckbuilder made before (from the lock),
    ``synced`` the digests the last sync recorded (by GUID)."""
    plan = Plan(deck_notes=len(snap.notes))
    for key, stored in sorted(snap.notetypes.items()):
        nt = NOTETYPES[key]
        if (stored.fields, len(stored.templates), stored.is_cloze) != (
                nt.fields, len(nt.templates), nt.is_cloze):
            plan.reshaped.append(key)
            plan.full_sync.append(f"notetype '{stored.name}' would change its fields or "
                                  "templates")
        elif (stored.name, stored.templates, stored.css) != (
                nt.name(deck.id), nt.templates, nt.css):
            plan.notetypes.append(key)
    kinds = notetype_ids(deck.id)
    for note in notes:
        stored_note = snap.notes.get(note.guid)
        if stored_note is None:
            if note.guid in snap.foreign_guids:
                plan.foreign.append(note.card_id)
            else:
                plan.added.append(note.card_id)
            continue
        kind = kinds[stored_note.mid]
        before = old_lock.cards.get(note.card_id)
        stored_digest = note_digest(kind, stored_note.fields, seen_tags(stored_note.tags, note))
        reference = synced.get(note.guid)
        if reference is not None:  # what the last sync put there: exact, whatever the times
            edited = stored_digest != reference
        else:  # never synced: the lock's entry, and an edit newer than it
            reference = before.digest if before else None
            edited = bool(before and stored_digest != before.digest
                          and stored_note.mod > before.mod)
        if kind != note.notetype:
            plan.kind_changed.append((note.card_id, kind, note.notetype))
            plan.full_sync.append(f"card '{note.card_id}' would change from {kind} to "
                                  f"{note.notetype}")
            if edited:
                plan.conflicts.append(note.card_id)
        elif same_content(stored_note, note, kind):
            continue
        elif edited:
            (plan.kept if note.digest == reference else plan.conflicts).append(note.card_id)
        else:
            plan.updated.append(note.card_id)
    guids = {note.guid for note in notes}
    known = {entry.guid: card_id for card_id, entry in old_lock.cards.items()}
    plan.removed = sorted((n.id, known.get(guid) or repr(n.fields[0][:40]))
                          for guid, n in snap.notes.items() if guid not in guids)
    plan.renamed = renamed_subdecks(snap, notes, legacy_subdecks, deck.name)
    renamed = dict(plan.renamed)
    for card, note in cards_of(snap, notes):
        home = snap.decks.get(card.home, "")
        if card.ord in note.ords and not same_deck(renamed.get(home, home), note.subdeck):
            plan.moved.append((note.card_id, home, note.subdeck))
    plan.moved = sorted(set(plan.moved))
    plan.empty_cards = len(extra_cards(snap, notes))
    return plan


# Tags Anki itself adds to a note: Mark Note's, and the one a card that keeps lapsing gets.
ANKI_OWN_TAGS = frozenset({"marked", "leech"})


def seen_tags(stored: tuple[str, ...], note: Note) -> list[str]:
    """A stored note's tags as the deck sees them: Anki's own tags are the learner's state,
    not an edit, so the deck's say stands for them (a marked note is not edited)."""
    return ([t for t in stored if t.casefold() not in ANKI_OWN_TAGS]
            + [t for t in note.tags if t.casefold() in ANKI_OWN_TAGS])


def same_content(stored: StoredNote, note: Note, kind: str) -> bool:
    """Fields equal, tags equal ignoring case (Anki gives a tag the case it already has)
    and Anki's own tags."""
    return (kind == note.notetype and stored.fields == note.fields
            and {t.casefold() for t in seen_tags(stored.tags, note)}
            == {t.casefold() for t in note.tags})


def same_deck(name: str, other: str) -> bool:
    """Whether Anki takes the two names for one deck: its deck names ignore case."""
    return name.casefold() == other.casefold()


def cards_of(snap: Snapshot, notes: list[Note]) -> list[tuple[StoredCard, Note]]:
    by_id = {snap.notes[note.guid].id: note for note in notes if note.guid in snap.notes}
    return [(card, by_id[card.nid]) for card in snap.cards if card.nid in by_id]


def extra_cards(snap: Snapshot, notes: list[Note]) -> list[int]:
    """Cards of this deck's notes that the deck no longer makes (a removed cloze number or
    reverse side): the ones Anki's Empty Cards would list, found without rendering every
    card of the collection. A note always keeps the cards the deck makes."""
    return sorted(card.id for card, note in cards_of(snap, notes) if card.ord not in note.ords)


# How a section's subdeck's own name starts: '<deck>::NN Title'.
SECTION = re.compile(r"[0-9]{2,} ")


def section_deck(name: str, root: str) -> bool:
    """Whether ``name`` is named as the deck ``root``'s section subdecks are: so made by
    deckbuilder (an older version, or an import by hand) where neither the lock nor the
    collection's record says so. The user's own decks under the deck are named freely."""
    parent, _, own = name.rpartition("::")
    return parent.casefold() == root.casefold() and SECTION.match(own) is not None


def renamed_subdecks(snap: Snapshot, notes: list[Note], legacy: set[str],
                     root: str) -> list[tuple[str, str]]:
    """Subdecks to rename: a subdeck of deckbuilder's (in the old lock, or named as a
    section's under the deck) that holds only our cards, all of which now belong in one
    subdeck that the collection does not have yet (a renamed section). Any other way,
    cards are moved."""
    names = {name.casefold() for name in snap.decks.values()}
    wanted = {note.subdeck.casefold() for note in notes}
    targets: dict[str, set[str]] = {}
    for card, note in cards_of(snap, notes):
        home = snap.decks.get(card.home, "")
        if home.casefold() not in wanted:
            targets.setdefault(home, set()).add(note.subdeck)
    renamed = []
    taken: set[str] = set()
    for old, new in sorted(targets.items()):
        target = next(iter(new))
        ours = old in legacy or section_deck(old, root)  # never a deck of the user's
        if (len(new) == 1 and target.casefold() not in names | taken and ours
                and not any(n.startswith(old.casefold() + "::") for n in names)
                and old not in {snap.decks.get(d) for d in snap.others}):
            renamed.append((old, target))
            taken.add(target.casefold())
    return renamed


def describe_plan(plan: Plan, applied: bool) -> list[str]:
    """The report, in the words of `build`'s: what changed (or would, with --dry-run)."""
    if plan.empty:
        kept = (f" (edited in Anki and kept: {_some(plan.kept)})" if plan.kept else "")
        return [f"nothing to do: the collection already matches the deck{kept}"]
    verb = "" if applied else "would be "
    counts = [(len(plan.added), "added"), (len(plan.updated), "updated"),
              (len(plan.moved), "moved"), (len(plan.renamed), "renamed"),
              (len(plan.removed), "removed"), (len(plan.kept), "Anki-side edits kept"),
              (len(plan.conflicts), "conflicts")]
    lines = [("synced: " if applied else "plan: ") + ", ".join(f"{n} {w}" for n, w in counts)]
    for label, items in (("added", plan.added), ("updated", plan.updated)):
        if items:
            lines.append(f"  {verb}{label}: {_some(items)}")
    for card_id, old, new in plan.moved:
        lines.append(f"  {verb}moved: {card_id} from '{old}' to '{new}'")
    for old, new in plan.renamed:
        lines.append(f"  subdeck {verb}renamed: '{old}' -> '{new}'")
    if plan.removed:
        lines.append(f"  {verb}removed: {plural(len(plan.removed), 'note')}: "
                     + _some([text for _, text in plan.removed]))
    if plan.kept:
        lines.append(f"  edited in Anki and kept (the deck did not change them): "
                     f"{_some(plan.kept)}")
    if plan.conflicts:
        lines.append(f"  edited in Anki and in the deck: {_some(plan.conflicts)}")
    for card_id, old, new in plan.kind_changed:
        lines.append(f"  kind {verb}changed: {card_id} from {old} to {new}")
    if plan.notetypes:
        lines.append(f"  notetypes {verb}updated (templates or style): "
                     f"{', '.join(plan.notetypes)}")
    if not applied:  # a real run reports what it removed (commands/sync.py)
        if plan.empty_cards:
            lines.append(f"  empty cards would be removed: {plan.empty_cards}")
        lines += [f"  empty subdeck would be removed: '{name}'" for name in plan.empty_decks]
    return lines


def refusals(plan: Plan, allow_full_sync: bool, overwrite: bool) -> list[str]:
    """Why the plan must not be applied as asked; empty when it may."""
    reasons = []
    if plan.foreign:
        reasons.append(f"the GUIDs of {_some(plan.foreign)} belong to notes of another "
                       "notetype in the collection; sync never changes those")
    if plan.full_sync and not allow_full_sync:
        reasons += plan.full_sync
        reasons.append("this changes the collection's schema: the next sync of every device "
                       "would be a one-way upload or download that discards the other side's "
                       "unsynced changes. Pass --allow-full-sync to do it anyway")
    if plan.conflicts and not overwrite:
        reasons.append(f"edited both in Anki and in the deck: {_some(plan.conflicts)}. "
                       "Copy the Anki edit into the deck, or pass --overwrite-anki-edits")
    return reasons


def _some(items: list[str], most: int = 20) -> str:
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"
