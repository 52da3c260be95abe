"""The checked deck: frozen values that every later stage reads and none changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .errors import Location


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    kind: str  # "basic", "reverse" or "cloze"
    front: str  # the cloze text for a cloze card
    back: str  # empty for a cloze card
    extra: str
    source: str
    tags: tuple[str, ...]  # every tag: deck, section, automatic section tag and the card's own
    location: Location
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False,
                                                  hash=False)  # key -> (line, column)
    lint_off: tuple[str, ...] = ()
    cloze_numbers: tuple[int, ...] = ()  # a cloze card's deletion numbers, c1 = 1, sorted

    def at(self, key: str, default: Location | None = None) -> Location:
        """Where the card's ``key`` is written (else ``default``, else the card's id)."""
        position = self.positions.get(key)
        if position is None:
            return default or self.location
        return Location(self.location.path, *position)

    @property
    def fields_at(self) -> dict[str, Location]:
        return {key: self.at(key) for key in self.positions}


@dataclass(frozen=True)
class Section:
    number: int
    stem: str  # the file name without its extension, e.g. 01-foundations
    title: str
    source: str
    path: str
    cards: tuple[Card, ...]
    location: Location


@dataclass(frozen=True)
class DeckHead:
    """What deck.yaml says."""

    name: str
    id: str
    description: str
    html: bool
    tags: tuple[str, ...]
    vocabulary: tuple[str, ...] | None
    lint: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Deck:
    name: str
    id: str
    description: str
    html: bool
    sections: tuple[Section, ...]
    path: str
    lint: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    @property
    def cards(self) -> list[Card]:
        return [card for section in self.sections for card in section.cards]

    @cached_property
    def _number_width(self) -> int:
        return max(2, len(str(max((s.number for s in self.sections), default=0))))

    def subdeck(self, section: Section) -> str:
        """The section's deck name in Anki; the padded number keeps Anki's list in file order."""
        return f"{self.name}::{section.number:0{self._number_width}d} {section.title}"

    def section_tag(self, section: Section) -> str:
        return f"{self.id}::{section.stem}"
