"""The checked deck: frozen values that every later stage reads and none changes."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Location


@dataclass(frozen=True)
class Card:
    id: str
    kind: str  # "basic", "reverse" or "cloze"
    front: str  # the cloze text for a cloze card
    back: str  # empty for a cloze card
    extra: str
    source: str
    tags: tuple[str, ...]  # every tag: deck, section, automatic section tag and the card's own
    location: Location
    fields_at: dict[str, Location] = field(default_factory=dict, compare=False, hash=False)
    lint_off: tuple[str, ...] = ()


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

    def subdeck(self, section: Section) -> str:
        """The section's deck name in Anki; the padded number keeps Anki's list in file order."""
        width = max(2, len(str(max(s.number for s in self.sections))))
        return f"{self.name}::{section.number:0{width}d} {section.title}"

    def section_tag(self, section: Section) -> str:
        return f"{self.id}::{section.stem}"
