"""Card and Location are NamedTuples for speed; they keep the dataclasses' behaviour."""

from __future__ import annotations

import dataclasses
from operator import eq, ne

import pytest

from deckbuilder.errors import Location, Problem, in_order
from deckbuilder.model import Card

CARD = Card("a-1", "basic", "Front?", "Back", "", "Book", ("t",), Location("s.yaml", 3, 5),
            (("id", 0, 9), ("front", 1, 12)), ("rule",), ())


def test_cards_equal_but_for_where_their_values_sit_are_equal_and_hash_alike() -> None:
    moved = CARD._replace(positions=(("id", 0, 9), ("front", 2, 5)))
    assert eq(moved, CARD) and not ne(moved, CARD) and hash(moved) == hash(CARD)
    assert len({moved, CARD}) == 1


@pytest.mark.parametrize("field", [f for f in Card._fields if f != "positions"])
def test_cards_differing_in_any_other_field_differ(field: str) -> None:
    value = getattr(CARD, field)
    other = (Location("s.yaml", 4, 5) if field == "location"
             else ("x",) if isinstance(value, tuple) else f"{value}x")
    changed = CARD._replace(**{field: other})
    assert ne(changed, CARD) and not eq(changed, CARD)


def test_a_card_equals_only_a_card_and_cannot_change() -> None:
    plain = tuple(CARD)  # both ways: `==` and `!=`, the Card's own and the tuple's
    assert ne(CARD, plain) and ne(plain, CARD) and not eq(CARD, plain) and not eq(plain, CARD)
    with pytest.raises(AttributeError):
        CARD.front = "changed"  # type: ignore[misc]
    assert not dataclasses.is_dataclass(CARD)  # nothing may rely on dataclasses.replace


def test_locations_order_and_print_as_before() -> None:
    places = [Location("b.yaml", 1, 1), Location("a.yaml", 2, 1), Location("a.yaml", 1, 9),
              Location("a.yaml", 1, 2)]
    assert sorted(places) == [places[3], places[2], places[1], places[0]]
    assert str(Location("a.yaml", 3, 4)) == "a.yaml:3:4" and str(Location("a.yaml")) == "a.yaml"
    assert f"{Location('a.yaml', 3, 4)}" == "a.yaml:3:4"
    problems = [Problem(Location("a.yaml", 2, 1), "m"), Problem(Location("a.yaml", 1, 1), "m"),
                Problem(Location("a.yaml", 1, 1), "m")]
    assert in_order(problems) == [problems[1], problems[0]]
    with pytest.raises(AttributeError):
        places[0].line = 2  # type: ignore[misc]
