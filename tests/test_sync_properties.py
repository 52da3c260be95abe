"""Random edit sequences, in the deck and in Anki, each followed by `sync`: the invariants hold.

After every sync: the deck's GUIDs are the collection's (of this deck's notetypes), every
card sits in its section's subdeck with the ordinals the deck makes, every note has the
deck's content unless it was edited in Anki and not changed in the deck since, every
surviving card keeps its scheduling and history, the stock note is untouched, and a
second sync changes nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from conftest import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync import assert_follows_deck, new_collection, open_col, ours, reviews

from deckbuilder.anki import note_guid
from deckbuilder.build import build_deck

OPS = st.lists(st.tuples(st.sampled_from(["edit", "add", "remove", "move", "rename", "kind",
                                          "cloze", "anki"]), st.integers(0, 50)),
               min_size=1, max_size=4)


class Model:
    """The deck as data: two sections, each a title and a list of cards."""

    def __init__(self) -> None:
        self.titles = {"01-a": "Alpha", "02-b": "Beta"}
        self.cards: dict[str, list[dict[str, Any]]] = {
            "01-a": [{"id": "k1", "kind": "basic", "back": "one"},
                     {"id": "k2", "kind": "reverse", "back": "two"},
                     {"id": "k3", "kind": "cloze", "numbers": 2}],
            "02-b": [{"id": "k4", "kind": "basic", "back": "four"},
                     {"id": "k5", "kind": "basic", "back": "five"}]}
        self.next = 6

    def all(self) -> list[tuple[str, dict[str, Any]]]:
        return [(stem, card) for stem, cards in sorted(self.cards.items()) for card in cards]

    def apply(self, op: str, n: int) -> str | None:
        """Change the deck; returns the card id to edit in Anki for "anki"."""
        stem, card = self.all()[n % len(self.all())]
        cards = self.cards[stem]
        if op == "edit" and card["kind"] != "cloze":
            card["back"] += "+"
        elif op == "add":
            cards.append({"id": f"k{self.next}", "kind": "basic", "back": "new"})
            self.next += 1
        elif op == "remove" and len(cards) > 1:
            cards.remove(card)
        elif op == "move" and len(cards) > 1:
            cards.remove(card)
            self.cards["02-b" if stem == "01-a" else "01-a"].append(card)
        elif op == "rename":
            self.titles[stem] += " x"
        elif op == "kind" and card["kind"] != "cloze":
            card["kind"] = "basic" if card["kind"] == "reverse" else "reverse"
        elif op == "cloze" and card["kind"] == "cloze":
            card["numbers"] = 3 - card["numbers"]
        elif op == "anki":
            return str(card["id"])
        return None

    def write(self, deck: Path) -> None:
        for stem, cards in self.cards.items():
            lines = [f"section: {self.titles[stem]}", "cards:"]
            for card in cards:
                lines.append(f"  - id: {card['id']}")
                if card["kind"] == "cloze":
                    text = " ".join(f"{{{{c{i}::w{i}}}}}" for i in range(1, card["numbers"] + 1))
                    lines.append(f'    cloze: "{text} and more"')
                else:
                    lines += [f"    front: front of {card['id']}", f"    back: {card['back']}"]
                    if card["kind"] == "reverse":
                        lines.append("    reverse: true")
            (deck / f"{stem}.yaml").write_text("\n".join(lines) + "\n")


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(OPS, min_size=1, max_size=4))
def test_random_edits_keep_the_invariants(steps: list[list[tuple[str, int]]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="deckbuilder-sync-"))
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        _run_steps(root, steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def _run_steps(root: Path, steps: list[list[tuple[str, int]]]) -> None:
    model = Model()
    deck = root / "cards"
    deck.mkdir()
    (deck / "deck.yaml").write_text("deck: Sync Deck\nid: sync-deck\n")
    path = root / "profile" / "collection.anki2"
    new_collection(path)
    col = open_col(path)
    stock = col.new_note(col.models.by_name("Basic"))
    stock["Front"] = "mine"
    col.add_note(stock, col.decks.id("Sync Deck::01 Alpha", create=True))
    stock_row = col.db.first("select * from notes where id = ?", stock.id)
    col.close()
    # Builds lie in the past, so an edit made in Anki now is always newer than the lock.
    epoch = int(time.time()) - 10_000
    edited: dict[str, str] = {}  # card id -> the deck's digest when it was edited in Anki
    before: dict[int, tuple[Any, ...]] = {}
    synced: dict[str, str] = {}  # card id -> digest at the last sync
    for number, ops in enumerate([[], *steps]):
        anki_edits = [cid for op, n in ops if (cid := model.apply(op, n))]
        model.write(deck)
        built = build_deck(deck, root / "out", check=True, now=0)
        digests = {note.card_id: note.digest for note in built.notes}
        if anki_edits:
            col = open_col(path)
            notes = ours(col)
            for card_id in anki_edits:
                guid = note_guid("sync-deck", card_id)
                if guid in notes:
                    note = notes[guid]
                    note.fields[1] += " (mine)"
                    col.update_note(note)
                    edited[card_id] = synced[card_id]  # the deck may change it too
            before = reviews(col)
            col.close()
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch + number)
        result = run("sync", deck, "--collection", path, "--out", root / "out", "--yes",
                     "--allow-full-sync", "--overwrite-anki-edits", "--no-backup")
        assert result.exit_code == 0, result.output
        edited = {cid: d for cid, d in edited.items() if digests.get(cid) == d}
        synced = digests
        col = open_col(path)
        try:
            notes = assert_follows_deck(col, built.notes, kept=set(edited))
            for card_id in edited:
                assert notes[note_guid("sync-deck", card_id)].fields[1].endswith(" (mine)")
            after = reviews(col)
            assert {c: after[c] for c in set(before) & set(after)} == {
                c: before[c] for c in set(before) & set(after)}
            assert col.db.first("select * from notes where id = ?", stock.id) == stock_row
            before, modified = after, col.mod
        finally:
            col.close()
        again = run("sync", deck, "--collection", path, "--out", root / "out", "--no-backup")
        assert again.exit_code == 0, again.output
        assert "nothing to do" in again.output, again.output
        col = open_col(path)
        assert col.mod == modified
        col.close()
