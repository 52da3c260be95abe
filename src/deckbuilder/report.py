"""The change report of a build: what changed since the last one, and the Anki searches
for what an import cannot do by itself (removals, moves, renamed sections, kind changes)."""

from __future__ import annotations

from .errors import plural
from .lock import Changes


def describe_changes(changes: Changes) -> list[str]:
    """The change report, with the Anki searches for what an import cannot do by itself."""
    if not (changes.changed or changes.unchanged or changes.removed):
        return [f"first build: {plural(len(changes.added), 'card')} added"]
    counts = [(len(changes.added), "added"), (len(changes.changed), "changed"),
              (len(changes.unchanged), "unchanged"), (len(changes.removed), "removed"),
              (len(changes.moved), "moved")]
    lines = ["changes since the last build: " + ", ".join(f"{n} {w}" for n, w in counts)]
    if changes.added:
        lines.append(f"  added: {_some(changes.added)}")
    if changes.changed:
        lines.append(f"  changed: {_some(changes.changed)}")
    if changes.removed:
        lines += [f"  removed: {_some([cid for cid, _ in changes.removed])}",
                  "    Anki never deletes notes on import. To delete them, search the browser "
                  "for this and delete the notes:",
                  f"      nid:{','.join(str(e.note_id) for _, e in changes.removed)}"]
    moves: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for card_id, old, new, note_id in changes.moved:
        moves.setdefault((old, new), []).append((card_id, note_id))
    for (old, new), cards in moves.items():
        lines += [f"  moved from '{old}' to '{new}': {_some([cid for cid, _ in cards])}",
                  f"    Anki leaves their cards in the old subdeck. Search for this, select "
                  f"all and use Change Deck to '{new}':",
                  f"      nid:{','.join(str(nid) for _, nid in cards)}"]
    for old, new in changes.renamed:
        lines += [f"  section renamed: '{old}' -> '{new}'",
                  f"    Anki keeps the old subdeck and its cards. Search for this, select all, "
                  f"use Change Deck to '{new}', then delete the empty subdeck:",
                  f"      {_deck_search(old)}"]
    for card_id, old, new, note_id in changes.kind_changed:
        lines += [f"  kind changed: {card_id} from {old} to {new}",
                  "    An import never changes an existing note's type. Search for this and "
                  "use Notes > Change Note Type, or give the card a new id:",
                  f"      nid:{note_id}"]
    if changes.notetypes:
        lines.append(f"  notetypes updated (templates or style): {', '.join(changes.notetypes)}")
    if changes.renumbered:
        lines.append(f"  note ids: {plural(changes.renumbered, 'note')} renumbered into the past, "
                     "where Anki keeps them on import (GUIDs and mod times unchanged)")
    return lines


def _deck_search(name: str) -> str:
    """Anki's browser search for exactly this deck (quotes, wildcards and _ escaped)."""
    escaped = "".join("\\" + c if c in '\\"*_' else c for c in name)
    return f'"deck:{escaped}" -"deck:{escaped}::*"'


def _some(ids: list[str], most: int = 20) -> str:
    shown = ", ".join(ids[:most])
    return shown if len(ids) <= most else f"{shown} and {len(ids) - most} more"
