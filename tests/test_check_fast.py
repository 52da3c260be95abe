"""The card check's fast path (check._plain_card) takes a card only when the full check
finds nothing wrong with it: a text that skips the expressions must be one they accept."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder import schema
from deckbuilder.check import _plain_card
from deckbuilder.errors import Problems
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
