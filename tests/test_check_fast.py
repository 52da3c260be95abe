"""The card check's fast path (check._plain_card) takes a card only when the full check
finds nothing wrong with it: a text that skips the expressions must be one they accept."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from conftest import write_deck
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder import schema
from deckbuilder.check import _plain_card
from deckbuilder.errors import InvalidDeck, Problems
from deckbuilder.load import load_deck
from deckbuilder.source import Node, SourceFile
from deckbuilder.values import ValueChecker

SOURCE = SourceFile(__file__, "01-a.yaml")  # type: ignore[arg-type]


def _card(**texts: str) -> Node:
    values = {name: Node("str", text, line, 5) for line, (name, text) in
              enumerate({"id": "a-1", **texts}.items(), start=3)}
    return Node("map", values, 3, 3)


def _full_check_passes(card: Node) -> bool:
    problems = Problems()
    checker = ValueChecker(problems)
    checker.source = SOURCE
    checker.fields(card, schema.CARD_KEYS, what="a card")
    return not problems.items


TEXTS = st.text(alphabet=string.printable + "\x00\x07\x1c\x7f\x85\xa0é\u2028", max_size=12)


@settings(max_examples=2000, deadline=None)
@given(front=TEXTS, back=TEXTS, extra=TEXTS)
def test_the_fast_path_takes_a_card_only_when_the_full_check_does(front: str, back: str,
                                                                     extra: str) -> None:
    card = _card(front=front, back=back, extra=extra)
    assert (_plain_card(card) is not None) == _full_check_passes(card)


def test_blank_and_empty_texts_and_control_characters_take_the_full_check() -> None:
    for text in ("", " ", "   ", "\t", "a\x07b", "a\x7f", "\x1c"):
        card = _card(front=text, back="answer")
        assert _plain_card(card) is None and not _full_check_passes(card), repr(text)
    for text in ("a", " a ", "What is 2 + 2?", string.punctuation):
        assert _plain_card(_card(front=text, back="answer")) is not None, text


def test_keys_in_any_order_and_cards_of_no_kind() -> None:
    assert _plain_card(_card(back="b", front="f")) is not None
    assert _plain_card(_card(cloze="{{c1::x}}", extra="e")) is not None
    assert _plain_card(_card(front="f")) is None  # no back
    assert _plain_card(_card(front="f", back="b", cloze="{{c1::x}}")) is None  # two kinds
    assert _plain_card(_card(front="f", back="b", unknown="u")) is None
    without_id = Node("map", {"front": Node("str", "f", 1, 1), "back": Node("str", "b", 2, 1)},
                      1, 1)
    assert _plain_card(without_id) is None


def _load(tmp_path: Path, sections: dict[str, str]) -> Any:
    deck = write_deck(tmp_path / "deck", {"deck.yaml": "deck: D\nid: d\ntags: [Shared]\n",
                                          **sections})
    try:
        return load_deck(deck, parallel=False)
    except InvalidDeck as exc:
        return [str(p) for p in exc.problems]


def test_cards_with_the_same_tags_each_get_their_sections_tags_and_their_problems(
        tmp_path: Path) -> None:
    cards = ("cards:\n  - {id: a, front: f, back: b, tags: [x, y]}\n"
             "  - {id: b, front: f, back: b, tags: [x, y]}\n")
    second = cards.replace("id: ", "id: 2")
    checked = _load(tmp_path / "fine", {"01-a.yaml": f"section: A\ntags: [s]\n{cards}",
                                        "02-b.yaml": f"section: B\n{second}"})
    assert [card.tags for card in checked.deck.cards] == [
        ("Shared", "s", "d::01-a", "x", "y"), ("Shared", "s", "d::01-a", "x", "y"),
        ("Shared", "d::02-b", "x", "y"), ("Shared", "d::02-b", "x", "y")]
    clash = cards.replace("[x, y]", "[x, shared]")
    found = _load(tmp_path / "clash", {"01-a.yaml": f"section: A\n{clash}"})
    assert [line.split(": ", 1)[0] for line in found] == [
        f"{tmp_path}/clash/deck/01-a.yaml:3:38", f"{tmp_path}/clash/deck/01-a.yaml:4:38"]


def test_tags_are_stored_in_nfc_and_every_vocabulary_word_is_allowed(tmp_path: Path) -> None:
    decomposed = "cafe\u0301"  # café in NFD: Anki stores the NFC form
    deck = write_deck(tmp_path / "deck", {
        "deck.yaml": "deck: D\nid: d\nvocabulary: [first, caf\u00e9, last]\n",
        "01-a.yaml": f"section: A\ncards:\n  - {{id: a, front: f, back: b, tags: [first]}}\n"
                     f"  - {{id: b, front: f, back: b, tags: [{decomposed}, last]}}\n"
                     f"  - {{id: c, front: f, back: b, tags: [{decomposed}]}}\n"})
    cards = load_deck(deck, parallel=False).deck.cards
    assert [card.tags[-1] for card in cards] == ["first", "last", "caf\u00e9"]
    assert cards[1].tags[-2] == "caf\u00e9"
    (deck / "01-a.yaml").write_text("section: A\ncards:\n"
                                    "  - {id: a, front: f, back: b, tags: [firsts]}\n")
    with pytest.raises(InvalidDeck) as raised:
        load_deck(deck, parallel=False)
    assert [p.message.split(";")[0] for p in raised.value.problems] == [
        "tag 'firsts' is not in the deck's vocabulary"]
