"""The cloze check's shortcuts. parse_cloze finds a malformed opener with one search: it
must find exactly what testing each opener-like match for the exact form `{{c1::` finds.
simple_numbers reads the common form alone: only where parse_cloze finds nothing wrong."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder.cloze import parse_cloze, simple_numbers

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


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(sorted({d.number for d in parse_cloze(text)[0]}))


@settings(max_examples=4000, deadline=None)
@given(st.text(alphabet="{}c12390: \t\nx\u00a0", max_size=40)
       | st.lists(st.sampled_from(["{{c1::", "{{c2::", "{{c3::", "{{c10::", "{{c0::", "a", " ",
                                   "::", "}}", "}", "{", ":", "b\u2003", "{{ c1::"]),
                  max_size=12).map("".join))
def test_the_simple_form_is_taken_only_when_parse_cloze_finds_nothing_wrong(text: str) -> None:
    numbers = simple_numbers(text)
    if numbers is not None:
        assert parse_cloze(text)[1] == [] and numbers == _numbers(text), text


def test_common_cloze_texts_take_the_simple_form() -> None:
    for text, numbers in [("The {{c1::Treaty}} was signed in {{c2::1949::year}}.", (1, 2)),
                          ("{{c2::b}} then {{c1::a}} and {{c1::again}}", (1, 2)),
                          ("a} {{c1:: x :: hint}} }", (1,)), ("{{c1::a:b}}", (1,))]:
        assert simple_numbers(text) == numbers == _numbers(text), text
    for text in ["{{c1::}}", "{{c1:: ::h}}", "{{c2::a}}", "{{c1::a}", "{{c1::{b}}}", "x",
                 "{{c1::a}} {{c3::b}}", "{{c10::a}}", "{{c01::a}}", "{{C1::a}}", "{x}",
                 "{{c1::a}} {{ c2::b}}", "{{c0::a}} {{c1::b}}"]:
        assert simple_numbers(text) is None, text
