"""The lock's card lines read at once (lock.py) against reading them line by line."""

from __future__ import annotations

import random

import pytest

from deckbuilder.anki import note_guid
from deckbuilder.lock import CardEntry, Lock, _Reader, parse_lock


def _by_lines(text: str, deck_id: str | None) -> tuple[Lock, list[object]]:
    """The lock as the line-by-line reader alone reads it (the reference)."""
    from deckbuilder.conflicts import conflict_markers
    from deckbuilder.errors import Location, Problem
    from deckbuilder.lock import MERGE_CONFLICT

    text = text.removeprefix("\ufeff")
    markers = set(conflict_markers(text))
    reader = _Reader("deck.lock", deck_id, markers)
    reader.problems += [Problem(Location("deck.lock", n, 1), MERGE_CONFLICT) for n in markers]
    reader.read(text.split("\n"), 1)
    return reader.lock, reader.problems


def _lock(cards: int, seed: int) -> str:
    rng = random.Random(seed)
    lock = Lock("demo")
    for number in range(cards):
        card_id = f"card-{rng.randrange(10**6)}-{number}"
        lock.cards[card_id] = CardEntry(note_guid("demo", card_id), rng.randrange(1, 2**41),
                                        rng.choice(["basic", "cloze", "reverse"]),
                                        f"{rng.getrandbits(64):016x}", rng.randrange(10**9, 2**31),
                                        f"Demo::{rng.randrange(1, 30):02d} Part")
    return lock.text()


MUTATIONS = [
    ("none", lambda lines, rng: lines),
    ("empty id", lambda lines, rng: _field(lines, rng, 1, "")),
    ("16-digit note id", lambda lines, rng: _field(lines, rng, 3, "1234567890123456")),
    ("note id past 2**53", lambda lines, rng: _field(lines, rng, 3, str(2**53))),
    ("12-digit mod", lambda lines, rng: _field(lines, rng, 6, "253402300799")),
    ("mod past the year 9999", lambda lines, rng: _field(lines, rng, 6, "253402300800")),
    ("non-ASCII digits", lambda lines, rng: _field(lines, rng, 6, "١٢٣")),
    ("unknown notetype", lambda lines, rng: _field(lines, rng, 4, "typing")),
    ("a field too many", lambda lines, rng: _field(lines, rng, 7, "Demo\tmore")),
    ("id twice", lambda lines, rng: [*lines, lines[-1]]),
    ("CRLF line", lambda lines, rng: _at(lines, rng, lambda line: line + "\r")),
    ("comment among cards", lambda lines, rng: _at(lines, rng, lambda line: "# note\n" + line)),
    ("blank line among cards", lambda lines, rng: _at(lines, rng, lambda line: "\n" + line)),
    ("no final line break", lambda lines, rng: lines),
    ("no deck line", lambda lines, rng: [line for line in lines if not line.startswith("deck")]),
    ("another deck", lambda lines, rng: [("deck\tother" if line.startswith("deck") else line)
                                        for line in lines]),
    ("BOM", lambda lines, rng: ["\ufeff" + lines[0], *lines[1:]]),
    ("no header", lambda lines, rng: [line for line in lines if line.startswith("card\t")]),
    ("no header, first id again", lambda lines, rng: [
        *(cards := [line for line in lines if line.startswith("card\t")]), cards[0]]),
    ("conflict", lambda lines, rng: _at(lines, rng, lambda line: "<<<<<<< ours\n" + line
                                        + "\n=======\n" + line + "\n>>>>>>> theirs")),
]


def _field(lines: list[str], rng: random.Random, index: int, value: str) -> list[str]:
    return _at(lines, rng, lambda line: "\t".join(
        value if i == index else part for i, part in enumerate(line.split("\t"))))


def _at(lines: list[str], rng: random.Random, change: object) -> list[str]:
    cards = [i for i, line in enumerate(lines) if line.startswith("card\t")]
    at = rng.choice(cards)
    return [*lines[:at], change(lines[at]), *lines[at + 1:]]  # type: ignore[operator]


@pytest.mark.parametrize("name", [name for name, _ in MUTATIONS])
@pytest.mark.parametrize("deck_id", ["demo", None])
def test_read_at_once_is_read_line_by_line(name: str, deck_id: str | None) -> None:
    change = dict(MUTATIONS)[name]
    for seed in range(5):
        rng = random.Random(seed)
        lines = _lock(1 + seed * 40, seed).split("\n")[:-1]
        text = "\n".join(change(lines, rng)) + ("" if name == "no final line break" else "\n")
        lock, problems = parse_lock(text, "deck.lock", deck_id)
        assert (lock, problems) == _by_lines(text, deck_id), (name, seed)
        if name == "none":
            assert len(lock.cards) == 1 + seed * 40 and not problems


def test_a_well_formed_lock_is_read_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast reading is taken (else the comparison above could pass without it)."""
    from deckbuilder import lock as module

    read: list[int] = []
    original = module._Reader.read
    monkeypatch.setattr(module._Reader, "read", lambda self, lines, first: (
        read.append(len(lines)), original(self, lines, first))[-1])
    text = _lock(200, 1)
    lock, problems = parse_lock(text, "deck.lock", "demo")
    assert len(lock.cards) == 200 and not problems
    assert read == [len(text[:text.find("\ncard\t")].split("\n"))]  # the head alone
