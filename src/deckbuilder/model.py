"""The checked deck: frozen values that every later stage reads and none changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import Location, plural


class Card(NamedTuple):
    """One card as written. A NamedTuple, immutable like the frozen dataclass it was:
    made once per card by the check and again by each cache entry decoded, it costs a
    quarter of one. Equal and hashed as that dataclass was: by every field but
    ``positions`` (two cards alike but for where their values sit are equal)."""

    id: str
    kind: str  # "basic", "reverse" or "cloze"
    front: str  # the cloze text for a cloze card
    back: str  # empty for a cloze card
    extra: str
    source: str
    tags: tuple[str, ...]  # every tag: deck, section, automatic section tag and the card's own
    location: Location
    # (key, line less the card's line, column) of each value: cards written alike share
    # one tuple (a dict of positions per card was a fifth of a 100,000-card deck's memory)
    positions: tuple[tuple[str, int, int], ...] = ()  # not compared (see __eq__)
    lint_off: tuple[str, ...] = ()
    cloze_numbers: tuple[int, ...] = ()  # a cloze card's deletion numbers, c1 = 1, sorted

    def __eq__(self, other: object) -> bool:  # a Card equals only a Card, as before
        return type(other) is Card and self[:8] == other[:8] and self[9:] == other[9:]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((self[:8], self[9:]))

    def at(self, key: str, default: Location | None = None) -> Location:
        """Where the card's ``key`` is written (else ``default``, else the card's id)."""
        for name, line, column in self.positions:
            if name == key:
                return Location(self.location.path, self.location.line + line, column)
        return default or self.location

    @property
    def anki_cards(self) -> int:
        """How many cards Anki makes of this note."""
        return len(self.cloze_numbers) if self.kind == "cloze" else 1 + (self.kind == "reverse")


@dataclass(frozen=True)
class Section:
    number: int
    stem: str  # the file name without its extension, e.g. 01-foundations
    title: str
    source: str
    path: str
    cards: tuple[Card, ...]
    location: Location

    @property
    def label(self) -> str:
        """The number as the file name writes it, at least two digits: Anki sorts deck
        names as text, and each label depends on its own file alone, so adding a section
        never renames the others."""
        return self.stem.split("-", 1)[0].rjust(2, "0")


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
    description_at: Location | None = None  # where deck.yaml writes the description
    # deck.yaml's `options:` (deckoptions.Options), None when it has none
    options: tuple[tuple[str, Any], ...] | None = None


@dataclass(frozen=True)
class Deck:
    """deck.yaml's settings and the checked sections."""

    head: DeckHead
    sections: tuple[Section, ...]
    path: str
    description_html: str = ""  # rendered, its media checked and renamed like a card's

    @property
    def name(self) -> str:
        return self.head.name

    @property
    def id(self) -> str:
        return self.head.id

    @property
    def description(self) -> str:
        return self.head.description

    @property
    def html(self) -> bool:
        return self.head.html

    @property
    def lint(self) -> dict[str, float]:
        return self.head.lint

    @property
    def cards(self) -> list[Card]:
        return [card for section in self.sections for card in section.cards]

    def counts(self) -> str:
        """'17 sections, 122 notes, 159 cards': what Anki will show."""
        cards = self.cards
        return (f"{plural(len(self.sections), 'section')}, {plural(len(cards), 'note')}, "
                f"{plural(sum(card.anki_cards for card in cards), 'card')}")

    def subdeck(self, section: Section) -> str:
        """The section's deck name in Anki, ``Deck::01 Title``."""
        return f"{self.name}::{section.label} {section.title}"

    def section_tag(self, section: Section) -> str:
        return section_tag(self.id, section.stem)


def section_tag(deck_id: str, stem: str) -> str:
    """The automatic tag of a section's cards, e.g. nato-collective-security::01-foundations."""
    return f"{deck_id}::{stem}"
