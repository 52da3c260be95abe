"""Which decks a sync removes: deckbuilder's own, once nothing is left in them.

A deck is a candidate when deckbuilder made it: a subdeck named in the old lock (and
the deck holding it), a section's subdeck (``Deck::NN Title``) this sync empties, or one
a sync created (recorded in the collection by id and name, ``made_decks``: a parent such
as ``Parent`` that ``deck: Parent::A`` brought along) while it keeps the name the last
sync left it (a deck the user renamed is theirs). A candidate goes only when, after
the sync, it is not filtered, no card calls it home (a card in a filtered deck counts for
its home deck) and every deck under it goes too: a deck holding anything of the user's,
or one the user made, never goes. The dry run and the real run ask the same function,
the first of the collection as the plan leaves it, the second of the collection itself,
so the dry run lists exactly what the real run removes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .anki import Note
from .collection import Snapshot
from .syncplan import Plan, section_deck

DEFAULT_DECK = 1  # Anki's own "Default": never removed (Anki refuses anyway)


def candidates(snap: Snapshot, notes: list[Note], plan: Plan, root: str,
               legacy: set[str], made: set[int]) -> set[str]:
    """Decks the plan may leave empty that deckbuilder made, by their names after the
    plan's renames; never the deck's own or a section's."""
    renamed = {old.casefold(): new for old, new in plan.renamed}

    def after(name: str) -> str:
        return renamed.get(name.casefold(), name)

    left = {after(old) for _, old, _ in plan.moved}
    removed = {nid for nid, _ in plan.removed}
    left |= {after(snap.decks.get(c.home, "")) for c in snap.cards if c.nid in removed}
    # A deck a card came back from is ours only as a section's subdeck (an older version
    # or an import by hand made it); one of the user's, even under the deck, is theirs.
    names = {name for name in left if section_deck(name, root)}
    names |= {after(name) for name in legacy}
    names |= {after(snap.decks[did]) for did in made if did in snap.decks}
    kept = {name.casefold() for name in (root, *(note.subdeck for note in notes))}
    return {name for name in names if name.casefold() not in kept}


def predicted(snap: Snapshot, notes: list[Note], plan: Plan,
              names: set[str]) -> list[str]:
    """Those of ``names`` that the real run removes once the plan is applied."""
    renamed = {old.casefold(): new for old, new in plan.renamed}
    decks = {renamed.get(name.casefold(), name) for name in snap.decks.values()}
    for note in notes:  # a section's subdeck and its parents, made by the import or a move
        parts = note.subdeck.split("::")
        decks |= {"::".join(parts[:n]) for n in range(1, len(parts) + 1)}
    homes = {note.subdeck for note in notes}  # every card of ours ends in its section's
    homes |= {renamed.get(snap.decks[d].casefold(), snap.decks[d])
              for d in snap.others if d in snap.decks}
    filtered = {renamed.get(snap.decks[d].casefold(), snap.decks[d])
                for d in snap.filtered if d in snap.decks}
    return removable(decks, filtered, homes, names - {snap.decks.get(DEFAULT_DECK, "")})


def present(snap: Snapshot, names: set[str]) -> list[str]:
    """Those of ``names`` that are empty in the collection now (after applying)."""
    homes = {snap.decks.get(card.home, "") for card in snap.cards}
    homes |= {snap.decks.get(did, "") for did in snap.others}
    filtered = {snap.decks[d] for d in snap.filtered if d in snap.decks}
    return removable(set(snap.decks.values()), filtered, homes,
                     names - {snap.decks.get(DEFAULT_DECK, "")})


def removable(decks: set[str], filtered: set[str], homes: Iterable[str],
              names: set[str]) -> list[str]:
    """Those of ``names`` among ``decks`` that hold no card (no name of ``homes``) and no
    deck that stays, and are not filtered; children first, as they must be removed."""
    busy = {name.casefold() for name in homes} | {name.casefold() for name in filtered}
    wanted = {name.casefold() for name in names}
    gone: set[str] = set()
    result = []
    for name in sorted(decks, key=lambda n: (-n.count("::"), n.casefold())):
        key = name.casefold()
        if key not in wanted or key in busy or key in gone:
            continue
        below = [d.casefold() for d in decks if d.casefold().startswith(key + "::")]
        if all(d in gone for d in below):
            gone.add(key)
            result.append(name)
    return result


def made_decks(col: Any, deck_id: str) -> set[int]:
    """The ids of the decks syncs of this deck created (a section's subdeck, the deck, a
    parent its name brought along) that still have the name the last sync left them:
    deckbuilder's own, to remove once empty. A record of another shape (damaged, or the
    bare ids of the first version) counts as none: a deck is kept, never lost."""
    value = col.get_config(_made_key(deck_id), None)
    if not isinstance(value, dict):
        return set()
    names = {deck.id: deck.name for deck in col.decks.all_names_and_ids()}
    return {int(key) for key, name in value.items()
            if isinstance(key, str) and key.isascii() and key.isdigit() and len(key) < 20
            and isinstance(name, str) and names.get(int(key)) == name}


def remember_made(col: Any, deck_id: str, decks: dict[int, str]) -> None:
    """Record ``decks`` (id -> name; only when they differ: a sync with nothing to do
    writes nothing)."""
    value = {str(did): name for did, name in sorted(decks.items())}
    if col.get_config(_made_key(deck_id), {}) != value:  # (none recorded: {})
        col.set_config(_made_key(deck_id), value)


def _made_key(deck_id: str) -> str:
    return f"deckbuilder:{deck_id}:decks"
