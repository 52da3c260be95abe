"""parse_cloze finds a malformed opener with one search; it must find exactly what testing
each opener-like match for the exact form `{{c1::` finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder.cloze import parse_cloze

_OPENER_LIKE = re.compile(r"\{\{\s*[cC]\s*\d+\s*:")
_EXACT = re.compile(r"\{\{c\d+::")
MALFORMED = "malformed cloze: write deletions as {{c1::answer}}"


def _malformed(text: str) -> bool:
    return any(not _EXACT.match(text, m.start()) for m in _OPENER_LIKE.finditer(text))


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="{}cC10: \t\nx", max_size=40))
def test_a_malformed_opener_is_found_as_by_testing_each_opener(text: str) -> None:
    assert (MALFORMED in parse_cloze(text)[1]) == _malformed(text)


def test_malformed_openers_next_to_exact_ones() -> None:
    for text, expected in [("{{c1::a}}", False), ("{{ c1::a}}", True), ("{{C1::a}}", True),
                           ("{{{c1::a}} {{c2:b}}", True), ("{{c1::a}}{{c2 ::b}}", True),
                           ("{{{{c1::a}}", False), ("{{c1:: {{c 2: }}", True)]:
        assert (MALFORMED in parse_cloze(text)[1]) == expected == _malformed(text), text
